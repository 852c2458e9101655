#!/usr/bin/env python3
"""``anygram serve`` while two clients flood it with slow queries: a third client's cheap
``count`` latency (issue 11: p99 <= 50 ms).

Starts ``anygram serve`` on an index, then for ``--duration`` seconds:

- flooder A (from 127.0.0.2) keeps ``--conns`` connections each sending a ``/batch`` of
  ``--batch`` slow queries, closed loop;
- flooder B (from 127.0.0.3) keeps ``--conns`` connections each sending one slow query, closed
  loop;
- the cheap client (from 127.0.0.4) sends ``count`` queries of random 1–8 token n-grams from
  the index, one at a time, and records each latency (request sent → answer parsed).

The slow query is a boolean count of the index's four most frequent tokens, AND-ed (a clause of
millions of occurrences, sampled at the server's largest ``max_clause_freq``): its latency
alone is measured first and reported. The cheap client's latency alone (no flood) is the
baseline. Each client has its own loopback address because the server's fair queue tells
clients apart by address (Linux routes 127/8 to lo).

Without an ``--index``, a synthetic byte-level corpus of ``--corpus-mb`` MB (Zipf-distributed
words) is built once under ``bench-data/work/starve-u8``.

Example (from the repo root)::

    python benchmarks/bench_starvation.py --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C
from bench_server import Conn, make_queries, serving


def synthetic_index(work: Path, megabytes: int) -> Path:
    """A byte-level index of Zipf-distributed words (built once)."""
    import anygram

    out = work / "starve-u8"
    if (out / "manifest.json").exists():
        return out
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    letters = "etaoinshrdlucmfwypvbgk"
    vocab = ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(5000)]
    weights = [1 / (r + 1) for r in range(len(vocab))]
    src = work / "starve-corpus.jsonl"
    with open(src, "w") as f:
        written = 0
        while written < megabytes << 20:
            text = " ".join(rng.choices(vocab, weights, k=rng.randint(50, 400)))
            line = json.dumps({"text": text}) + "\n"
            f.write(line)
            written += len(line)
    anygram.build([src], out, quiet=True)
    return out


def slow_query(index_path: Path) -> list[list[list[int]]]:
    """The four most frequent tokens (by their unigram count), one clause each."""
    import anygram

    index = anygram.Index(index_path)
    counts = [(index.count([t])["count"], t) for t in range(index.vocab_size)]
    top = [t for _, t in sorted(counts, reverse=True)[:4]]
    return [[[t]] for t in top]


async def timed(conn: Conn, body: bytes, path: str = "/") -> tuple[float, int]:
    took, status, _ = await timed_answer(conn, body, path)
    return took, status


async def timed_answer(conn: Conn, body: bytes, path: str = "/") -> tuple[float, int, bytes]:
    t0 = time.perf_counter()
    status, data = await conn.post(body, path)
    return time.perf_counter() - t0, status, data


async def cheap_client(port: int, queries: list[Any], until: float) -> list[float]:
    conn = Conn(port, "127.0.0.4")
    lat: list[float] = []
    i = 0
    try:
        while time.perf_counter() < until:
            body = {"index": "bench", "query_type": "count", "query_ids": queries[i % len(queries)]}
            took, status = await timed(conn, json.dumps(body).encode())
            assert status == 200, status
            lat.append(took)
            i += 1
    finally:
        await conn.close()
    return lat


async def flooder(
    port: int, local: str, body: bytes, path: str, until: float, statuses: list[int]
) -> None:
    conn = Conn(port, local)
    try:
        while time.perf_counter() < until:
            _, status, data = await timed_answer(conn, body, path)
            if path == "/batch" and status == 200:  # each query's own status
                statuses.extend(a.get("status", 200) for a in json.loads(data))
            else:
                statuses.append(status)
    finally:
        await conn.close()


async def run(args: argparse.Namespace, port: int, index_path: Path) -> dict[str, Any]:
    load_before = [round(x, 1) for x in os.getloadavg()]
    cheap = make_queries(index_path, 2000, 1, 8, seed=5)
    slow = {"index": "bench", "query_type": "count_cnf", "query_ids": slow_query(index_path)}
    slow_body = json.dumps(slow).encode()
    alone = Conn(port, "127.0.0.5")
    slow_alone = sorted([(await timed(alone, slow_body))[0] for _ in range(5)])
    await alone.close()
    baseline = sorted(await cheap_client(port, cheap, time.perf_counter() + 5))
    until = time.perf_counter() + args.duration
    a_status: list[int] = []
    b_status: list[int] = []
    batch = json.dumps([slow] * args.batch).encode()
    floods = []
    for _ in range(args.conns):
        a = flooder(port, "127.0.0.2", batch, "/batch", until, a_status)
        b = flooder(port, "127.0.0.3", slow_body, "/", until, b_status)
        floods += [asyncio.create_task(a), asyncio.create_task(b)]
    await asyncio.sleep(1.0)  # the flood takes every thread it may before measuring
    lat = sorted(await cheap_client(port, cheap, until))
    await asyncio.gather(*floods)

    def stats(v: list[float]) -> dict[str, float]:
        return {
            "n": len(v),
            "p50_ms": C.percentile(v, 50) * 1e3,
            "p99_ms": C.percentile(v, 99) * 1e3,
            "max_ms": v[-1] * 1e3,
        }

    return {
        "slow_query_alone_ms": [x * 1e3 for x in slow_alone],
        "cheap_alone": stats(baseline),
        "cheap_under_flood": stats(lat),
        "flood_batch_queries": {s: a_status.count(s) for s in set(a_status)},
        "flood_requests": {s: b_status.count(s) for s in set(b_status)},
        "load_before": load_before,
        "load_after": [round(x, 1) for x in os.getloadavg()],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--index", type=Path, default=None)
    p.add_argument("--corpus-mb", type=int, default=64)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--conns", type=int, default=8, help="connections per flooding client")
    p.add_argument("--batch", type=int, default=64, help="slow queries per batch (flooder A)")
    p.add_argument("--threads", type=int, default=None, help="server query threads")
    p.add_argument("--out", type=Path, default=C.DEFAULT_WORK / "bench_starvation.json")
    args = p.parse_args()
    index_path = args.index or synthetic_index(C.DEFAULT_WORK, args.corpus_mb)
    extra = ["--no-access-log", *(["--threads", str(args.threads)] if args.threads else [])]
    with serving(f"bench={index_path}", extra) as (port, _, cmd, _log):
        result = asyncio.run(run(args, port, index_path))
    data = {"machine": C.machine_info(), "command": " ".join(sys.argv), "server": cmd, **result}
    rows = [
        ["cheap count, alone", *result["cheap_alone"].values()],
        ["cheap count, two clients flooding", *result["cheap_under_flood"].values()],
    ]
    md = C.md_table(["client", "requests", "p50 ms", "p99 ms", "max ms"], rows, digits=2)
    md += (
        f"\n\nslow query alone (ms): {', '.join(f'{x:.0f}' for x in result['slow_query_alone_ms'])}"
        f"; flood answers by status: batched queries {result['flood_batch_queries']}, "
        f"single requests {result['flood_requests']}; load average before and after "
        f"{result['load_before']} / {result['load_after']}\n"
    )
    C.write_results(args.out, data, md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
