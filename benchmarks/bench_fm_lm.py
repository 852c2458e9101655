#!/usr/bin/env python3
"""The two index kinds side by side through the public API, in one run: ``anygram build`` of the
same corpus as ``--kind sa`` and ``--kind fm`` (wall time, peak RSS, every file's bytes), then
the same queries on both (median and p99 µs): count, the language-model queries (prob, ntd,
infgram_prob, infgram_ntd, score) and a document window (search_docs: locate + extract).

Usage (corpus as made by /work/shared/corpus/make_corpus.py: ``data/*.jsonl``, ``heldout/``):

    python3 benchmarks/bench_fm_lm.py --corpus bench-data/corpus --work bench-data/work/fm-lm
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def build(corpus: Path, out: Path, kind: str, workers: int) -> dict[str, Any]:
    """``anygram build`` in a child process: wall seconds, peak RSS, bytes per file name."""
    cmd = [sys.executable, "-m", "anygram", "build", str(corpus / "data"), "-o", str(out)]
    cmd += ["--kind", kind, "--workers", str(workers), "--overwrite", "--quiet"]
    env = {"GOMP_SPINCOUNT": "10000", **os.environ}
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"build {kind} failed ({status})")
    files: dict[str, int] = {}
    for f in out.rglob("*"):
        if f.is_file():
            files[f.name] = files.get(f.name, 0) + f.stat().st_size
    return {"seconds": round(wall, 2), "peak_rss": usage.ru_maxrss * 1024, "files": files}


def texts(path: Path) -> list[str]:
    out = []
    for f in sorted(path.glob("*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            out.extend(json.loads(line)["text"] for line in fh)
    return out


def pieces(docs: list[str], n: int, length: int, rng: random.Random) -> list[bytes]:
    out: list[bytes] = []
    docs = [d.encode() for d in docs if len(d.encode()) > length]
    while len(out) < n:
        d = rng.choice(docs)
        i = rng.randrange(len(d) - length)
        out.append(d[i : i + length])
    return out


def timed(f: Callable[[Any], Any], args: list[Any]) -> tuple[float, float, list[Any]]:
    for a in args:  # one untimed pass: pages of both kinds' files in memory (warm medians)
        f(a)
    times, answers = [], []
    for a in args:
        t = time.perf_counter()
        answers.append(f(a))
        times.append((time.perf_counter() - t) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], answers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    import anygram

    args.work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"load_before": os.getloadavg()}
    for kind in ("sa", "fm"):
        if not args.skip_build:
            log(f"building {kind} ...")
            result[f"build_{kind}"] = build(args.corpus, args.work / kind, kind, args.workers)
            log(json.dumps(result[f"build_{kind}"]))
    text_bytes = sum(len(t.encode()) for t in texts(args.corpus / "data"))
    result["text_bytes"] = text_bytes

    rng = random.Random(12)
    corpus_docs = texts(args.corpus / "data")
    held = texts(args.corpus / "heldout")
    n = args.queries
    q10 = [list(p) for p in pieces(corpus_docs, n, 10, rng)]
    prompts = [list(p) for p in pieces(held, n, 50, rng)]
    short = [list(p) for p in pieces(corpus_docs, n, 5, rng)]
    scored = [list(p) for p in pieces(held, max(1, n // 10), 200, rng)]
    conts = [rng.choice(b" etaoins") for _ in range(n)]

    indexes = {k: anygram.Index(args.work / k) for k in ("sa", "fm")}
    queries: dict[str, tuple[Callable[[anygram.Index], Callable[[Any], Any]], list[Any]]] = {
        "count 10 B": (lambda ix: lambda q: ix.count(q)["count"], q10),
        "prob 10 B + 1": (lambda ix: lambda q: ix.prob(q[:-1], q[-1]), q10),
        "ntd 5 B (exact)": (lambda ix: lambda q: ix.ntd(q, exact=True), short),
        "infgram_prob 50 B held-out": (
            lambda ix: lambda i: ix.infgram_prob(prompts[i], conts[i]),
            list(range(n)),
        ),
        "infgram_ntd 50 B held-out": (
            lambda ix: lambda q: ix.infgram_ntd(q, exact=True)["suffix_len"],
            prompts,
        ),
        "score 200 B held-out (per call)": (lambda ix: lambda q: ix.score(q)["prob"], scored),
        "search_docs 10 B, 1 doc, 1,000 B window": (
            lambda ix: lambda q: ix.search_docs(q, maxnum=1, max_disp_len=1000)["cnt"],
            q10,
        ),
    }
    rows = {}
    for name, (make, qs) in queries.items():
        row = {}
        answers = {}
        for kind, ix in indexes.items():
            med, p99, answers[kind] = timed(make(ix), qs)
            row[kind] = (round(med, 1), round(p99, 1))
        assert answers["sa"] == answers["fm"], f"{name}: the kinds disagree"
        rows[name] = row
        log(name, row)
    result["queries"] = rows
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
