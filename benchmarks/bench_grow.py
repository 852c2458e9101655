"""A living index on the shared 100 MB corpus (issue 14): add, many adds then compaction,
takedown, against fresh builds.

1. **add 1%** (66 documents, ~1 MB) to a copy of the 100 MB byte-level index, against building
   those documents alone (median of ``--reps`` each, alternating).
2. **100 adds of 1%** (100 slices of a seeded shuffle of the corpus' documents), then
   ``compact``; query medians (count, prob, ntd, infgram_prob, infgram_ntd, search_docs) of
   the grown index before and after compaction against a fresh build of the same documents
   (the corpus plus the 100 slices), measured in alternating rounds.
3. **takedown of 1,000 documents**: its time, then count and infgram_prob medians against the
   index without the takedown.

    python benchmarks/bench_grow.py --index /work/benchidx/ag-u8 --corpus /tmp/fm-corpus \\
        --work /tmp/grow-bench --out benchmarks/results/grow.json

The given index is copied, never modified. Needs ~3 GB of disk under ``--work``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anygram


def _slices(corpus: Path, work: Path, n: int, seed: int) -> list[Path]:
    lines: list[str] = []
    for f in sorted((corpus / "data").glob("*.jsonl")):
        lines.extend(f.read_text(encoding="utf-8").splitlines())
    random.Random(seed).shuffle(lines)
    per = len(lines) // 100
    out = []
    (work / "slices").mkdir(parents=True, exist_ok=True)
    for k in range(n):
        p = work / "slices" / f"s{k:03}.jsonl"
        p.write_text("\n".join(lines[k * per : (k + 1) * per]) + "\n", encoding="utf-8")
        out.append(p)
    return out


def _queries(corpus: Path, n: int, seed: int) -> list[bytes]:
    data = (corpus / "all.txt").read_bytes()
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        at = rng.randrange(len(data) - 64)
        q = data[at : at + rng.randint(1, 20)]
        if b"\xff" not in q:
            out.append(q)
    return out


QUERY_TYPES = ("count", "prob", "ntd", "infgram_prob", "infgram_ntd", "search_docs")


def _one(index: anygram.Index, qt: str, ids: list[int]) -> None:
    if qt == "count":
        index.count(ids)
    elif qt == "prob":
        index.prob(ids[:-1], ids[-1])
    elif qt == "ntd":
        index.ntd(ids)
    elif qt == "infgram_prob":
        index.infgram_prob(ids + [32] * 4, 101)
    elif qt == "infgram_ntd":
        index.infgram_ntd(ids + [32] * 4)
    else:
        index.search_docs(ids, maxnum=1, max_disp_len=20)


def _medians(
    indexes: dict[str, anygram.Index], queries: list[bytes], types: tuple[str, ...], rounds: int
) -> dict[str, dict[str, float]]:
    """Median µs per query type and index, the indexes alternating round by round so machine
    load hits them alike."""
    samples: dict[str, dict[str, list[float]]] = {n: {t: [] for t in types} for n in indexes}
    ids = [list(q) for q in queries]
    for ix in indexes.values():  # warm the pages every index will touch
        for q in ids:
            ix.count(q)
    for r in range(rounds):
        order = list(indexes.items())
        if r % 2:
            order.reverse()
        for name, ix in order:
            for t in types:
                for q in ids:
                    t0 = time.perf_counter_ns()
                    _one(ix, t, q)
                    samples[name][t].append((time.perf_counter_ns() - t0) / 1e3)
    return {
        n: {t: round(statistics.median(v), 2) for t, v in s.items()} for n, s in samples.items()
    }


def _timed(f: Any, *args: Any, **kw: Any) -> float:
    t0 = time.perf_counter()
    f(*args, **kw)
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, default=Path("/work/benchidx/ag-u8"))
    p.add_argument("--corpus", type=Path, default=Path("/tmp/fm-corpus"))
    p.add_argument("--work", type=Path, default=Path("/tmp/grow-bench"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--adds", type=int, default=100)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--takedown", type=int, default=1000)
    p.add_argument("--skip", nargs="*", default=[], choices=["add", "adds", "takedown"])
    args = p.parse_args()
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "load_before": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    slices = _slices(args.corpus, work, args.adds, seed=14)
    queries = _queries(args.corpus, args.queries, seed=14)
    grown = work / "grown"
    print("copying the index ...", file=sys.stderr)
    shutil.copytree(args.index, grown)

    if "add" not in args.skip:
        build_s, add_s = [], []
        for r in range(args.reps):
            out = work / f"alone{r}"
            build_s.append(_timed(anygram.build, slices[r], out, quiet=True))
            shutil.rmtree(out)
            add_s.append(_timed(anygram.add, grown, slices[r], quiet=True))
        result["add_1pct"] = {
            "slice_bytes": [s.stat().st_size for s in slices[: args.reps]],
            "build_alone_s": build_s,
            "add_s": add_s,
            "ratio_of_medians": round(statistics.median(add_s) / statistics.median(build_s), 2),
        }
        print(json.dumps(result["add_1pct"]), file=sys.stderr)

    if "adds" not in args.skip:
        done = len(anygram.Index(grown).info()["shards"]) - 1
        t0 = time.perf_counter()
        for k in range(done, args.adds):
            anygram.add(grown, slices[k], quiet=True)
        adds_s = time.perf_counter() - t0
        before = anygram.Index(grown)
        print(f"{before.num_shards} shards after the adds; fresh build ...", file=sys.stderr)
        fresh = work / "fresh"
        inputs = [*sorted((args.corpus / "data").glob("*.jsonl")), *slices[: args.adds]]
        fresh_s = _timed(anygram.build, inputs, fresh, quiet=True)
        shards_before = before.num_shards
        uncompacted = _medians(
            {"grown": before, "fresh": anygram.Index(fresh)}, queries[:100], ("count",), 1
        )
        del before
        compact_s = _timed(anygram.compact, grown)
        after, fresh_ix = anygram.Index(grown), anygram.Index(fresh)
        assert after.num_tokens == fresh_ix.num_tokens and after.num_docs == fresh_ix.num_docs
        med = _medians({"compacted": after, "fresh": fresh_ix}, queries, QUERY_TYPES, args.rounds)
        result["adds_then_compact"] = {
            "adds": args.adds,
            "adds_total_s": round(adds_s, 1),
            "shards_before_compaction": shards_before,
            "count_median_us_uncompacted_vs_fresh": uncompacted,
            "compact_s": round(compact_s, 1),
            "shards_after": after.num_shards,
            "fresh_build_s": round(fresh_s, 1),
            "median_us": med,
            "ratio": {t: round(med["compacted"][t] / med["fresh"][t], 3) for t in QUERY_TYPES},
        }
        print(json.dumps(result["adds_then_compact"]), file=sys.stderr)
        del after, fresh_ix
        shutil.rmtree(fresh)
        shutil.rmtree(grown)

    if "takedown" not in args.skip:
        down = work / "down"
        shutil.copytree(args.index, down)
        n = anygram.Index(down).num_docs
        victims = sorted(random.Random(14).sample(range(n), args.takedown))
        takedown_s = _timed(anygram.takedown, down, victims)
        med = _medians(
            {"taken_down": anygram.Index(down), "original": anygram.Index(args.index)},
            queries,
            ("count", "infgram_prob"),
            args.rounds,
        )
        result["takedown"] = {
            "documents": args.takedown,
            "takedown_s": round(takedown_s, 1),
            "median_us": med,
            "ratio": {
                t: round(med["taken_down"][t] / med["original"][t], 3)
                for t in ("count", "infgram_prob")
            },
        }
        print(json.dumps(result["takedown"]), file=sys.stderr)
        shutil.rmtree(down)
    result["load_after"] = os.getloadavg()
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
