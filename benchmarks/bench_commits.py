"""Query latency of two builds of anygram on the same index, in one run (issue 9: the engine's
reshaping must not slow any query family by more than 10%).

Each build is an interpreter with its own anygram installed (e.g. two venvs, one per commit).
The script draws one fixed query set from the corpus, then alternates the two builds round by
round (a fresh process per round, the index warm in the page cache), each timing every query;
it reports per query family the median and p99 of each build and the ratio of medians.

    python benchmarks/bench_commits.py --index bench-data/work/ag-u8 \\
        --corpus bench-data/corpus --base /work/bench-old/.venv/bin/python \\
        --new /work/bench-new/.venv/bin/python --rounds 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# Runs inside each build's interpreter: times every query of the set, prints JSON.
WORKER = r"""
import json, sys, time
import anygram
spec = json.load(open(sys.argv[1]))
ix = anygram.Index(spec["index"], eos_token_id=spec["eos"])
out = {}
def timed(name, fn, args_list, per_token=None):
    times = []
    for i, a in enumerate(args_list):
        t = time.perf_counter()
        r = fn(*a)
        dt = time.perf_counter() - t
        if per_token is not None:
            dt /= max(1, per_token(r))
        times.append(dt * 1e6)
    out[name] = times
q = spec["queries"]
for _ in range(2):  # warm-up pass, then the timed one
    timed("count", lambda ids: ix.count(ids), [(x,) for x in q["count"]])
    timed("prob", lambda p, c: ix.prob(p, c), q["prob"])
    timed("ntd", lambda p: ix.ntd(p), [(x,) for x in q["ntd"]])
    timed("ntd_exact", lambda p: ix.ntd(p, exact=True), [(x,) for x in q["ntd"]])
    timed("infgram_prob", lambda p, c: ix.infgram_prob(p, c), q["infgram_prob"])
    timed("infgram_ntd", lambda p: ix.infgram_ntd(p), [(x,) for x in q["infgram_ntd"]])
    timed("score_per_token", lambda ids: ix.score(ids), [(x,) for x in q["score"]],
          per_token=lambda r: len(r["prob"]))
    timed("count_cnf", lambda c: ix.count_cnf(c), [(x,) for x in q["cnf"]])
    timed("count_cnf_exact", lambda c: ix.count_cnf(c, exact=True), [(x,) for x in q["cnf"]])
    timed("generate_per_token", lambda p: ix.generate(p, spec["gen_tokens"], seed=7),
          [(x,) for x in q["generate"]], per_token=lambda r: len(r["token_ids"]))
print(json.dumps(out))
"""


def draw_queries(corpus: Path, n: int, seed: int) -> dict[str, Any]:
    """Byte-level queries from the corpus' documents (occurring n-grams) and held-out texts."""
    rng = random.Random(seed)
    docs = []
    for f in sorted((corpus / "data").glob("*.jsonl")):
        with f.open() as fh:
            docs += [json.loads(line)["text"].encode() for line in fh]
    held = [
        json.loads(line)["text"].encode() for line in (corpus / "heldout" / "heldout.jsonl").open()
    ]

    def ngram(k: int) -> list[int]:
        d = rng.choice([x for x in docs if len(x) > k] or docs)
        i = rng.randrange(0, max(1, len(d) - k))
        return list(d[i : i + k])

    def held_span(k: int) -> list[int]:
        d = rng.choice([x for x in held if len(x) > k] or held)
        i = rng.randrange(0, max(1, len(d) - k))
        return list(d[i : i + k])

    words = sorted({w for d in docs[:400] for w in d.split() if w.isalpha() and len(w) > 3})
    return {
        "count": [ngram(k) for k in (1, 2, 4, 8, 16, 32) for _ in range(n)],
        "prob": [(p[:-1], p[-1]) for p in (ngram(9) for _ in range(n))],
        "ntd": [ngram(k) for k in (1, 2, 16) for _ in range(max(1, n // 3))],
        "infgram_prob": [(p[:-1], p[-1]) for p in (held_span(101) for _ in range(n))],
        "infgram_ntd": [held_span(100) for _ in range(n)],
        "score": [held_span(1000) for _ in range(max(1, n // 10))],
        "cnf": [
            [[list(rng.choice(words))], [list(rng.choice(words))]] for _ in range(max(1, n // 5))
        ],
        "generate": [held_span(50) for _ in range(max(1, n // 10))],
    }


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True, type=Path, help="a byte-level (u8) index")
    ap.add_argument("--corpus", required=True, type=Path, help="the shared corpus directory")
    ap.add_argument("--base", required=True, help="python of the build before the change")
    ap.add_argument("--new", required=True, help="python of the build after the change")
    ap.add_argument("--queries", type=int, default=100, help="queries per family and size")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per build")
    ap.add_argument("--gen-tokens", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write every figure as JSON")
    args = ap.parse_args()

    spec = {
        "index": str(args.index),
        "eos": 255,
        "gen_tokens": args.gen_tokens,
        "queries": draw_queries(args.corpus, args.queries, args.seed),
    }
    times: dict[str, dict[str, list[float]]] = {"base": {}, "new": {}}
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        worker = Path(tmp) / "worker.py"
        worker.write_text(WORKER)
        for r in range(args.rounds):
            order = ["base", "new"] if r % 2 == 0 else ["new", "base"]
            for build in order:
                py = args.base if build == "base" else args.new
                res = subprocess.run(
                    [py, str(worker), str(spec_path)], capture_output=True, text=True, check=True
                )
                for name, ts in json.loads(res.stdout).items():
                    times[build].setdefault(name, []).extend(ts)
    print("| query | base median µs | new median µs | new / base | base p99 | new p99 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in times["base"]:
        b, n = times["base"][name], times["new"][name]
        mb, mn = statistics.median(b), statistics.median(n)
        print(
            f"| {name} | {mb:.1f} | {mn:.1f} | {mn / mb:.2f} | "
            f"{pct(b, 0.99):.1f} | {pct(n, 0.99):.1f} |"
        )
    if args.out:
        args.out.write_text(json.dumps(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
