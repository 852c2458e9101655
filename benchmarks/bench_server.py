#!/usr/bin/env python3
"""``anygram serve`` under load: throughput and latency of POST / requests on loopback.

Starts ``anygram serve`` (one worker process, access log on, written to a file) on an index, then
for each query type and each level of concurrency (1, 8, 64 clients by default) runs closed-loop
clients for ``--duration`` seconds: every client keeps one HTTP/1.1 keep-alive connection and
sends its next request as soon as the previous answer arrived. The clients are a minimal asyncio
HTTP client in this process (hand-written requests, Content-Length responses), so that the
client side costs little of the machine's CPU, which the server shares.

Queries are n-grams of 1–8 tokens cut at random positions from random documents of the index
(``query_ids``, so every one occurs and no tokenizer runs); ``infgram_prob`` queries are 8–32
tokens. ``count_cnf`` / ``search_docs_cnf`` queries are two AND-ed clauses of 2–6 tokens each,
cut from one document less than 50 tokens apart (so most occur, within infini-gram's default
``max_diff_tokens`` of 100), as triply nested ``query_ids``. Every response must be a 200
whose answer has the query type's main field; any other answer is a failed request and is
reported (the run fails if there is one).

Reported per query type and level: requests, failed, requests/s, latency p50 / p99 / max in ms
(client side, request sent → answer parsed), and the server process's RSS at start, end and
maximum of the level (sampled every 0.25 s) — memory must stay flat.

Examples (from the repo root)::

    python benchmarks/bench_server.py                                   # the shared u8 index
    python benchmarks/bench_server.py --index bench-data/work/ag-u16 --duration 20
    python benchmarks/bench_server.py --types count --clients 1 8 64 --duration 40
    python benchmarks/bench_server.py --types count_cnf search_docs_cnf --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

import _common as C

MAIN_FIELD = {
    "count": "count",
    "find": "cnt",
    "prob": "prob",
    "infgram_prob": "prob",
    "ntd": "prompt_cnt",
    "count_cnf": "count",
    "search_docs_cnf": "cnt",
}
CNF_TYPES = ("count_cnf", "search_docs_cnf")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_cnf_queries(index_path: Path, n: int, seed: int) -> list[Any]:
    """Two clauses of one term each, cut from one document at most 50 tokens apart."""
    import anygram

    index = anygram.Index(index_path)
    rng = random.Random(seed)
    out: list[Any] = []
    while len(out) < n:
        ids = index.get_doc_by_ix(rng.randrange(index.num_docs), max_disp_len=2000)["token_ids"]
        a, b = rng.randint(2, 6), rng.randint(2, 6)
        if len(ids) < a + b + 50:
            continue
        at = rng.randrange(len(ids) - a - b - 50 + 1)
        gap = rng.randrange(50)
        out.append([[list(ids[at : at + a])], [list(ids[at + a + gap : at + a + gap + b])]])
    return out


def make_queries(index_path: Path, n: int, lo: int, hi: int, seed: int) -> list[list[int]]:
    import anygram

    index = anygram.Index(index_path)
    rng = random.Random(seed)
    out: list[list[int]] = []
    while len(out) < n:
        doc = index.get_doc_by_ix(rng.randrange(index.num_docs), max_disp_len=2000)
        ids = doc["token_ids"]
        k = rng.randint(lo, hi)
        if len(ids) < k:
            continue
        at = rng.randrange(len(ids) - k + 1)
        out.append(list(ids[at : at + k]))
    return out


class Conn:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for this benchmark;
    ``local`` is the client's own address (the server tells clients apart by address)."""

    def __init__(self, port: int, local: str | None = None) -> None:
        self.port = port
        self.local = local
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes, path: str = "/") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", self.port, local_addr=(self.local, 0) if self.local else None
            )
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(v)
            for k, _, v in (x.partition(":") for x in lines[1:])
            if k.lower() == "content-length"
        )
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()


async def run_level(
    port: int, index: str, qtype: str, queries: list[Any], clients: int, duration: float
) -> dict[str, Any]:
    lat: list[float] = []
    failures: list[str] = []
    field = MAIN_FIELD.get(qtype, "latency")
    deadline = time.perf_counter() + duration

    async def client(k: int) -> None:
        conn = Conn(port)
        i = k
        try:
            while time.perf_counter() < deadline:
                body = json.dumps(
                    {"index": index, "query_type": qtype, "query_ids": queries[i % len(queries)]}
                ).encode()
                i += clients
                t0 = time.perf_counter()
                try:
                    status, data = await conn.post(body)
                    ok = status == 200 and field in json.loads(data)
                except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                    status, data, ok = 0, str(e).encode(), False
                    await conn.close()
                    conn = Conn(port)
                lat.append(time.perf_counter() - t0)
                if not ok:
                    failures.append(f"{status}: {data[:200]!r}")
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "query_type": qtype,
        "clients": clients,
        "requests": len(lat),
        "failed": len(failures),
        "failures": failures[:5],
        "wall_s": wall,
        "rps": len(lat) / wall,
        "p50_ms": C.percentile(lat, 50) * 1e3,
        "p99_ms": C.percentile(lat, 99) * 1e3,
        "max_ms": lat[-1] * 1e3 if lat else float("nan"),
    }


def rss_tree(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


async def sample_memory(proc: psutil.Process, out: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        out.append(rss_tree(proc))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


async def bench(
    args: argparse.Namespace, port: int, server: psutil.Process
) -> list[dict[str, Any]]:
    rows = []
    for qtype in args.types:
        lo, hi = (8, 32) if qtype.startswith("infgram") else (1, 8)
        queries: list[Any]
        if qtype in CNF_TYPES:
            queries = make_cnf_queries(args.index, args.queries, seed=7)
        else:
            queries = make_queries(args.index, args.queries, lo, hi, seed=7)
        # warm-up: every query once (page cache, first-call costs), not measured
        await run_level(port, "bench", qtype, queries, 8, min(3.0, args.duration))
        for clients in args.clients:
            mem: list[int] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_memory(server, mem, stop))
            row = await run_level(port, "bench", qtype, queries, clients, args.duration)
            stop.set()
            await sampler
            row |= {"rss_start_mib": C.mib(mem[0]), "rss_end_mib": C.mib(mem[-1])}
            row["rss_max_mib"] = C.mib(max(mem))
            rows.append(row)
            print(
                f"{qtype:>13} {clients:>3} clients: {row['rps']:8.0f} req/s  "
                f"p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms  "
                f"failed {row['failed']}  RSS {row['rss_start_mib']:.0f}→{row['rss_end_mib']:.0f}"
                f" MiB (max {row['rss_max_mib']:.0f})",
                file=sys.stderr,
            )
    return rows


@contextlib.contextmanager
def serving(
    index_spec: str, extra: list[str]
) -> Iterator[tuple[int, subprocess.Popen[bytes], list[str], Path]]:
    """``anygram serve --index index_spec *extra`` on a free port, its stderr in a log file,
    until the block ends: ``(port, process, command, log)``."""
    cli = C.anygram_cli()
    assert cli is not None, "anygram is not installed"
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="anygram-serve-", suffix=".log")[1])
    cmd = [*cli, "serve", "--index", index_spec, "--port", str(port), *extra]
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(log.read_text()) from None
                time.sleep(0.1)
        yield port, proc, cmd, log
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--index", type=Path, default=C.DEFAULT_WORK / "ag-u8")
    p.add_argument("--types", nargs="+", default=["count"], help="query types to load")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64])
    p.add_argument("--duration", type=float, default=20.0, help="seconds per level")
    p.add_argument("--queries", type=int, default=2000, help="distinct queries per type")
    p.add_argument("--threads", type=int, default=None, help="server query threads")
    p.add_argument("--out", type=Path, default=C.DEFAULT_WORK / "bench_server.json")
    args = p.parse_args()
    if not (args.index / "manifest.json").exists():
        print(f"no anygram index at {args.index} (see benchmarks/README.md)", file=sys.stderr)
        return 2
    extra = ["--threads", str(args.threads)] if args.threads else []
    with serving(f"bench={args.index}", extra) as (port, proc, cmd, log):
        rows = asyncio.run(bench(args, port, psutil.Process(proc.pid)))
    log_lines = len(log.read_text().splitlines())
    os.unlink(log)
    machine = C.machine_info()
    data = {"machine": machine, "command": " ".join(sys.argv), "server": cmd, "rows": rows}
    data["access_log_lines"] = log_lines
    md = C.md_table(
        [
            "query",
            "clients",
            "requests",
            "failed",
            "req/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "RSS start→end MiB",
            "RSS max MiB",
        ],
        [
            [
                r["query_type"],
                r["clients"],
                r["requests"],
                r["failed"],
                r["rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["max_ms"],
                f"{r['rss_start_mib']:.0f}→{r['rss_end_mib']:.0f}",
                r["rss_max_mib"],
            ]
            for r in rows
        ],
        digits=2,
    )
    C.write_results(args.out, data, md)
    print(md)
    return 1 if any(r["failed"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
