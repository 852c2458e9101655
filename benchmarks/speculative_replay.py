#!/usr/bin/env python3
"""Replays drafting policies offline against the model's own greedy continuations.

``bench_speculative.py --rows`` keeps, per prompt, the prompt's and plain decoding's token ids.
Greedy verification accepts the longest prefix of a draft that equals the model's continuation,
so with those ids a policy's accepted tokens per step are known without running the model (up
to the rare rounding divergences of batched passes). Each step is charged the measured cost of
one forward pass of ``1 + k`` tokens, ``a + b (1 + k)`` (a one-token step is ``a + b``), and
the speed-up over plain decoding is ``(n - 1)(a + b) / sum of step costs`` (decoding after the
first token, as the benchmark reports it). The drafter itself runs for real (the release
build's drafting time is reported, and it is not charged).

    python benchmarks/speculative_replay.py --rows /tmp/spec5/full.jsonl \\
        --index /tmp/spec-smol-idx/index --a 6 --b 11 --policy min_prob=0.6 --policy min_prob=0.7
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def parse_policy(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in text.split(","):
        if not part:
            continue
        k, v = part.split("=")
        out[k] = float(v) if "." in v else int(v)
    return out


def pass_cost(n: int, a: float, b: float, table: dict[int, float] | None) -> float:
    """ms of a forward pass of n tokens: the line a + b n, or the measured table (batch sizes
    1 + k as the benchmark's batch-cost table has them), interpolated linearly."""
    if not table:
        return a + b * n
    sizes = sorted(table)
    return float(np.interp(n, sizes, [table[k] for k in sizes]))


def replay(
    index: Any,
    row: dict[str, Any],
    policy: dict[str, Any],
    a: float,
    b: float,
    table: dict[int, float] | None = None,
) -> dict:
    from anygram.speculative import Drafter

    kw = {
        "max_tokens": 12,
        "tokens_per_match": 1.0,
        "min_prob": 0.6,
        **{k: v for k, v in policy.items() if k not in ("rate", "cut", "gapmin")},
    }
    rate = policy.get("rate")
    if rate is not None:
        kw["calibrate"] = False
    drafter = Drafter(index, **kw)
    prompt, out = row["plain"]["prompt_ids"], row["plain"]["token_ids"]
    n = len(out)
    pos, cost, steps, drafted, accepted, draft_s, draft_cpu = 0, 0.0, 0, 0, 0, 0.0, 0.0
    times: list[float] = []
    # rate=c: the cost model. The chance that the model accepts the first i draft tokens is
    # estimated as the smaller of the counts' path probability and the measured acceptance
    # by depth (decayed counts, two optimistic pseudo-counts so a depth judged hopeless is
    # tried again), and the draft is cut where expected tokens per unit of cost is highest (a
    # drafted token costs c of a one-token step).
    depths = [[0.0, 0.0] for _ in range(64)]  # [accepted, reached]
    while pos + 1 < n:
        t0, c0 = time.perf_counter(), time.process_time()
        if rate is None:
            d = drafter.draft(prompt + out[: pos + 1])[: n - pos - 1]
        else:
            tree = drafter.draft_tree(prompt + out[: pos + 1])
            d, probs = tree["token_ids"][: n - pos - 1], tree["probs"]
            best_k, best, gain, reach = 0, 1.0, 1.0, 1.0
            for i in range(len(d)):
                dp = depths[min(i, 63)]
                reach *= (dp[0] + 2.0) / (dp[1] + 2.0)
                gain += min(reach, probs[i])
                step = pass_cost(i + 2, a, b, table) / pass_cost(1, a, b, table)
                if table is None:
                    step = 1 + rate * (i + 1)
                if gain / step > best:
                    best_k, best = i + 1, gain / step
            d, probs = d[:best_k], probs[:best_k]
        draft_s += time.perf_counter() - t0
        draft_cpu += time.process_time() - c0
        times.append(time.perf_counter() - t0)
        ok = 0
        while ok < len(d) and d[ok] == out[pos + 1 + ok]:
            ok += 1
        if "gapmin" in policy and row["plain"]["gaps"][pos] < policy["gapmin"]:
            # The model was unsure of the pending token: verify it alone.
            d, ok = [], 0
        if policy.get("cut") == 1:
            # Hindsight: every draft cut exactly where it goes wrong (no policy choosing
            # lengths from these drafts can do better).
            d = d[:ok]
        if rate is not None:
            for dp in depths:
                dp[0] *= 0.95
                dp[1] *= 0.95
            for i in range(min(len(d), ok + 1)):
                depths[min(i, 63)][1] += 1.0
                depths[min(i, 63)][0] += 1.0 if i < ok else 0.0
        cost += pass_cost(1 + len(d), a, b, table)
        steps += 1
        drafted += len(d)
        accepted += ok
        pos += 1 + ok
    plain = (n - 1) * pass_cost(1, a, b, table)
    return {
        "speedup": plain / cost if cost else 1.0,
        "steps": steps,
        "drafted": drafted,
        "accepted": accepted,
        # The first call matches the whole prompt; the rest append a few tokens each.
        "draft_ms": 1e3 * (draft_s - times[0]) / max(1, steps - 1),
        "draft_cpu_ms": 1e3 * (draft_cpu) / max(1, steps),
        "draft_ms_all": [1e3 * t for t in times[1:]],
        "cost": cost,
        "plain": plain,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=Path, required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--a", type=float, required=True, help="fixed ms of a forward pass")
    ap.add_argument("--b", type=float, required=True, help="ms per token of a forward pass")
    ap.add_argument(
        "--table",
        default=None,
        help="measured ms of a pass of n tokens, n:ms,... (overrides --a/--b and a policy's "
        "linear price)",
    )
    ap.add_argument("--policy", action="append", default=[], help="Drafter options k=v,...")
    ap.add_argument("--domains", default="code,prose")
    args = ap.parse_args()

    import anygram

    index = anygram.Index(args.index, load_to_ram=True)
    rows = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
    table = None
    if args.table:
        table = {int(k): float(v) for k, v in (p.split(":") for p in args.table.split(","))}
    for text in args.policy or [""]:
        policy = parse_policy(text)
        for domain in args.domains.split(","):
            mine = [r for r in rows if r["domain"] == domain and "prompt_ids" in r["plain"]]
            if not mine:
                continue
            res = [replay(index, r, policy, args.a, args.b, table) for r in mine]
            cost, plain = sum(r["cost"] for r in res), sum(r["plain"] for r in res)
            every = [t for r in res for t in r["draft_ms_all"]]
            steps = sum(r["steps"] for r in res)
            drafted, acc = sum(r["drafted"] for r in res), sum(r["accepted"] for r in res)
            print(
                f"{text or 'default':40s} {domain:5s} n={len(mine):3d} speedup {plain / cost:.3f} "
                f"drafted/step {drafted / steps:.2f} accepted/step {acc / steps:.2f} "
                f"acceptance {acc / max(1, drafted):.2f} "
                f"draft ms/step: mean {np.mean(every):.3f} median {np.median(every):.3f} "
                f"p99 {np.percentile(every, 99):.3f} (CPU incl. first call "
                f"{sum(r['draft_cpu_ms'] * r['steps'] for r in res) / steps:.3f})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
