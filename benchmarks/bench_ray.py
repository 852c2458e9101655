#!/usr/bin/env python3
"""What Ray adds: the fan-out's latency per query type against the local engine over the same
shards, cold and warm per-shard latency (for benchmarks/SCALE.md), and planned-build throughput
with 1, 2 and 4 workers.

1. Build: a plan of ``--build-input`` in ``--shards`` shards, run as Ray tasks on a local Ray
   cluster limited to 1, 2 and 4 CPUs (one task per shard, ``--task-threads`` threads each), and
   by ``run_local`` with as many processes; wall time and MB/s. Every build must give the same
   bytes (checked).
2. Latency: that index opened locally and on a two-node ``ray.cluster_utils.Cluster`` (one
   actor per shard, and one actor for all shards), the same queries interleaved, ``--reps``
   rounds; per query type the median and p90 (µs) and the median added by Ray.
3. Cold: per-shard ``count`` and ``infgram_prob`` right after ``posix_fadvise(DONTNEED)`` on
   ``--cold-index`` (fresh process per sample).

Usage (after the setup in benchmarks/README.md; /tmp/fm-corpus is the shared corpus):

    python3 benchmarks/bench_ray.py --build-input /tmp/fm-corpus/data/bible.jsonl \
        /tmp/fm-corpus/data/pydocs.jsonl /tmp/fm-corpus/data/gcide.jsonl \
        --work /tmp/ray-bench --cold-index /work/benchidx/ag-u8 --out /tmp/ray-bench/result.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import evict_from_page_cache


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def files_of(d: Path) -> dict[str, bytes]:
    return {
        p.relative_to(d).as_posix(): p.read_bytes()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.name != "plan.json"
    }


# ----------------------------------------------------------------------------------- build


def bench_build(args: argparse.Namespace) -> tuple[dict[str, Any], Path]:
    import ray
    from anygram.distributed.plan import make_plan, run_local
    from anygram.distributed.ray_build import run_on_ray

    inputs = [Path(p) for p in args.build_input]
    mb = sum(p.stat().st_size for p in inputs) / 1e6
    out: dict[str, Any] = {"input_mb": round(mb, 1), "shards": args.shards, "runs": []}
    reference: dict[str, bytes] | None = None
    kept = None
    for workers in (1, 2, 4):
        for how in ("ray", "local"):
            d = args.work / f"build-{how}-{workers}"
            shutil.rmtree(d, ignore_errors=True)
            plan = make_plan(inputs, d, shards=args.shards)
            t0 = time.perf_counter()
            if how == "ray":
                ray.init(num_cpus=workers, log_to_driver=False, configure_logging=False)
                t1 = time.perf_counter()
                run_on_ray(plan, workers=args.task_threads, cpus_per_task=1)
                seconds = time.perf_counter() - t1
                ray.shutdown()
            else:
                run_local(plan, processes=workers, workers=args.task_threads)
                seconds = time.perf_counter() - t0
            files = files_of(d)
            reference = reference or files
            same = files == reference
            load = os.getloadavg()[0]
            out["runs"].append(
                {
                    "executor": how,
                    "workers": workers,
                    "seconds": round(seconds, 2),
                    "mb_per_s": round(mb / seconds, 2),
                    "same_bytes": same,
                    "load": round(load, 1),
                }
            )
            log(f"build {how} x{workers}: {seconds:.1f} s, {mb / seconds:.1f} MB/s, same={same}")
            if not same:
                raise SystemExit(f"{d} differs from the first build")
            if kept is None:
                kept = d
            else:
                shutil.rmtree(d)
    assert kept is not None
    return out, kept


# ----------------------------------------------------------------------------------- queries


def make_queries(index: Any, n: int, seed: int) -> list[tuple[str, tuple, dict]]:
    """Per query type, ``n`` calls on windows of random documents (token ids)."""
    rng = random.Random(seed)
    docs = [index.get_doc_by_ix(rng.randrange(index.num_docs), 400) for _ in range(n)]

    def window(d: dict, m: int) -> list[int]:
        ids = d["token_ids"]
        if len(ids) <= m:
            return list(ids)
        i = rng.randrange(len(ids) - m)
        return list(ids[i : i + m])

    def word(d: dict) -> list[int]:
        w = [t for t in bytes(window(d, 40)).split() if len(t) >= 3]
        return list(w[0]) if w else [116, 104, 101]

    out: list[tuple[str, tuple, dict]] = []
    for d in docs:
        w8, w100 = window(d, 8), window(d, 100)
        out += [
            ("count", (w8,), {}),
            ("find", (w8,), {}),
            ("prob", (w8[:-1], w8[-1]), {}),
            ("ntd", (w8[:4],), {}),
            ("infgram_prob", (w100[:-1], w100[-1]), {}),
            ("infgram_ntd", (w100,), {}),
            ("search_docs", (w8,), {"maxnum": 1, "max_disp_len": 100}),
            ("count_cnf", ([[word(d)], [word(d)]],), {}),
            ("creativity", (w100,), {}),
            ("score", (w100,), {}),
            ("generate", (w8, 10), {"seed": 1}),
            ("get_doc_by_ix", (rng.randrange(index.num_docs), 100), {}),
        ]
    return out


def time_calls(
    indexes: dict[str, Any], calls: list[tuple[str, tuple, dict]], reps: int
) -> dict[str, dict[str, list[float]]]:
    """µs per call, per index and query type; indexes interleaved call by call."""
    samples: dict[str, dict[str, list[float]]] = {k: {} for k in indexes}
    for _ in range(reps):
        for method, a, kw in calls:
            answers = []
            for name, ix in indexes.items():
                t0 = time.perf_counter_ns()
                answers.append(getattr(ix, method)(*a, **kw))
                samples[name].setdefault(method, []).append((time.perf_counter_ns() - t0) / 1e3)
            if any(x != answers[0] for x in answers[1:]):
                raise SystemExit(f"{method}{a}: answers differ between backends")
    return samples


def pct(v: list[float], q: float) -> float:
    s = sorted(v)
    return s[min(len(s) - 1, int(q * len(s)))]


def bench_latency(args: argparse.Namespace, index_dir: Path) -> dict[str, Any]:
    import anygram
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    try:
        from anygram.distributed import RayBackend

        local = anygram.Index(index_dir)
        n = local.num_shards
        indexes = {
            "local": local,
            "ray_actor_per_shard": anygram.Index.on_ray(index_dir, shards_per_actor=1),
            "ray_one_actor": anygram.Index.on_ray(index_dir, shards_per_actor=n),
            # Ray's own actor calls only (no direct connection): what direct.py saves.
            "ray_calls_actor_per_shard": anygram.Index(
                index_dir, backend=RayBackend(shards_per_actor=1, direct=False)
            ),
            "ray_calls_one_actor": anygram.Index(
                index_dir, backend=RayBackend(shards_per_actor=n, direct=False)
            ),
        }
        calls = make_queries(local, args.queries, args.seed)
        time_calls(indexes, calls[: len(calls) // 4], 1)  # warm up
        samples = time_calls(indexes, calls, args.reps)
        floor = ray_floor(ray, args.queries * args.reps)
    finally:
        ray.shutdown()
        cluster.shutdown()
    rows = {}
    for method in samples["local"]:
        row: dict[str, Any] = {}
        for name in indexes:
            v = samples[name][method]
            row[name] = {"median": round(statistics.median(v), 1), "p90": round(pct(v, 0.9), 1)}
        for name in list(indexes)[1:]:
            row[f"added_{name}"] = round(row[name]["median"] - row["local"]["median"], 1)
        rows[method] = row
        log(method, json.dumps(row))
    return {
        "shards": local.num_shards,
        "calls_per_type": args.queries * args.reps,
        "ray_noop_call_us": floor,
        "rows": rows,
    }


class _Echo:
    def echo(self, b: bytes) -> bytes:
        return b


def ray_floor(ray: Any, n: int) -> dict[str, float]:
    """Ray's own cost of one actor call and of four in parallel (an actor that returns its
    argument), on the same cluster: the floor under what the shard servers add."""
    actors = [ray.remote(num_cpus=0, max_concurrency=8)(_Echo).remote() for _ in range(4)]
    ray.get([a.echo.remote(b"") for a in actors])
    one, four = [], []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        ray.get(actors[0].echo.remote(b"x" * 32))
        one.append((time.perf_counter_ns() - t0) / 1e3)
        t0 = time.perf_counter_ns()
        ray.get([a.echo.remote(b"x" * 32) for a in actors])
        four.append((time.perf_counter_ns() - t0) / 1e3)
    out = {
        "one_actor": round(statistics.median(one), 1),
        "four_actors": round(statistics.median(four), 1),
    }
    log("ray floor", out)
    return out


# ----------------------------------------------------------------------------------- cold

_COLD = """
import json, sys, time
import anygram
ix = anygram.Index(sys.argv[1])
q = json.loads(sys.argv[2])
t0 = time.perf_counter(); ix.count(q[:8]); a = time.perf_counter() - t0
t0 = time.perf_counter(); ix.count(q[:8]); b = time.perf_counter() - t0
t0 = time.perf_counter(); ix.infgram_prob(q[8:107], q[107]); c = time.perf_counter() - t0
t0 = time.perf_counter(); ix.infgram_prob(q[8:107], q[107]); d = time.perf_counter() - t0
print(json.dumps([a * 1e6, b * 1e6, c * 1e6, d * 1e6]))
"""


def bench_cold(args: argparse.Namespace) -> dict[str, Any]:
    import anygram

    ix = anygram.Index(args.cold_index)
    rng = random.Random(args.seed + 1)
    rows = []
    for _ in range(args.cold_samples):
        d = ix.get_doc_by_ix(rng.randrange(ix.num_docs), 1000)
        ids = d["token_ids"]
        i = rng.randrange(max(1, len(ids) - 120))
        q = list(ids[i : i + 120])
        if len(q) < 120:
            continue
        evict_from_page_cache([Path(args.cold_index)])
        r = subprocess.run(
            [sys.executable, "-c", _COLD, str(args.cold_index), json.dumps(q)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(r.stdout))
    cols = list(zip(*rows, strict=True))
    names = ["count_cold", "count_warm_again", "infgram_prob_cold", "infgram_prob_warm_again"]
    out = {n: round(statistics.median(c), 1) for n, c in zip(names, cols, strict=True)}
    out["samples"] = len(rows)
    out["tokens"] = ix.num_tokens
    log("cold", out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build-input", nargs="+", default=[], help="JSONL files to build")
    p.add_argument("--work", type=Path, required=True, help="scratch directory")
    p.add_argument("--shards", type=int, default=4, help="shards of the planned build")
    p.add_argument("--task-threads", type=int, default=1, help="threads per shard task")
    p.add_argument("--queries", type=int, default=100, help="calls per query type per round")
    p.add_argument("--reps", type=int, default=3, help="rounds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cold-index", type=Path, default=None, help="index for the cold figures")
    p.add_argument("--cold-samples", type=int, default=7)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument(
        "--index", type=Path, default=None, help="time queries on this index (no build part)"
    )
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result: dict[str, Any] = {"started": started, "load_before": os.getloadavg()}
    if args.index is not None:
        index_dir = args.index
    else:
        result["build"], index_dir = bench_build(args)
    result["latency"] = bench_latency(args, index_dir)
    if args.cold_index is not None:
        result["cold"] = bench_cold(args)
    result["load_after"] = os.getloadavg()
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
