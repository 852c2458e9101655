#!/usr/bin/env python3
"""``count`` latency: infini-gram 2.6.0 vs anygram on the same indexes, same queries, same run.

Queries (same seed for both engines): for every length n in 1, 2, 4, 8, 16, 32, ``--queries``
n-grams taken at uniformly random positions of the indexed token stream that do not cross a
document boundary (so every one occurs), plus ``--queries`` *absent* 8-grams: random sequences of
token ids that occur in the corpus, kept only when every engine counts 0. The token stream is
read from infini-gram's ``tokenized.0`` (or from anygram's documents with ``--only anygram``).

Engine configurations, all opened in this one process:

* ``ig-best``: ``InfiniGramEngine(..., load_to_ram=True, ds/sa/od_prefetch_depth=0)``
* ``ig-default``: ``InfiniGramEngine(...)`` (mmap, prefetch depths 1/3/3: madvise per step)
* ``ag-mmap``: ``anygram.Index(path)`` (memory-mapped, the default)
* ``ag-ram``: ``anygram.Index(path, load_to_ram=True)``
* ``ag-populate``: ``anygram.Index(path, populate=True)`` (mapped, page tables filled at open)

Warm: the index files are read once into the page cache and every query runs once on every
configuration before timing. Then, for each query, ``--reps`` rounds in which every configuration
answers it once, in an order that rotates from round to round (interleaving cancels machine
noise that drifts over time); each call is timed with ``time.perf_counter_ns`` around the Python
call, garbage collection off. Reported per length and configuration: median, p99 and mean in
µs over all calls, and the median ratio to ``ig-best``. Every configuration must return the same
count for every query; mismatches are listed.

Cold (``--cold-reps`` fresh processes per configuration, before the warm phase): the index files
are evicted from the page cache with ``posix_fadvise(POSIX_FADV_DONTNEED)`` (``--no-evict`` to
skip), then a new Python process imports the engine, opens the index (timed) and runs one 8-gram
``count`` (the first query, timed), then the same query again and a second query. Without root on
the host the global caches cannot be dropped; fadvise drops the clean page-cache pages of these
files that no process maps, which is what a freshly started server on an index not read lately
sees. With ``load_to_ram=True`` the open reads every file, so the open time carries the I/O.

Examples (from the repo root)::

    python benchmarks/bench_count.py                      # all four configurations, u8 and u16
    python benchmarks/bench_count.py --only infinigram
    python benchmarks/bench_count.py --kinds u16 --queries 500 --reps 20
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

CONFIGS = {
    "ig-best": (
        "infinigram",
        {
            "load_to_ram": True,
            "ds_prefetch_depth": 0,
            "sa_prefetch_depth": 0,
            "od_prefetch_depth": 0,
        },
    ),
    "ig-default": ("infinigram", {}),
    "ag-mmap": ("anygram", {}),
    "ag-ram": ("anygram", {"load_to_ram": True}),
    "ag-populate": ("anygram", {"populate": True}),
}
LENGTHS = (1, 2, 4, 8, 16, 32)
ABSENT_LEN = 8


def open_engine(config: str, kind: str, path: Path):
    eng, kw = CONFIGS[config]
    k = C.KINDS[kind]
    if eng == "infinigram":
        from infini_gram.engine import InfiniGramEngine

        return InfiniGramEngine(
            index_dir=str(path),
            eos_token_id=k["ig_eos"],
            vocab_size=k["ig_vocab_size"],
            token_dtype=k["ig_token_dtype"],
            **kw,
        )
    import anygram

    return anygram.Index(str(path), **kw)


# --------------------------------------------------------------------------------------------
# queries


def token_stream(dirs: dict[str, Path], kind: str, engines: list[str]) -> np.ndarray:
    """The indexed tokens with a separator before every document (infini-gram's v4 stream)."""
    k = C.KINDS[kind]
    ig = dirs["infinigram"] / "tokenized.0"
    if ig.exists():
        return np.fromfile(ig, dtype=np.dtype(k["dtype"]).newbyteorder("<"))
    if "anygram" not in engines:
        raise SystemExit(f"no index at {dirs['infinigram']}: run bench_build.py first")
    import anygram

    idx = anygram.Index(str(dirs["anygram"]))
    parts = []
    for i in range(idx.num_docs):
        parts.append(np.array([k["sep"]], dtype=k["dtype"]))
        parts.append(C.token_array(C.full_doc(idx, i)["token_ids"], k["dtype"]))
    return np.concatenate(parts)


def sample_queries(
    toks: np.ndarray, sep: int, n_per: int, seed: int
) -> list[tuple[str, list[int]]]:
    """(group, ids) pairs: n-grams at random positions within documents, in a shuffled order."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, list[int]]] = []
    T = len(toks)
    for n in LENGTHS:
        got = 0
        while got < n_per:
            p = int(rng.integers(0, T - n + 1))
            g = toks[p : p + n]
            if np.any(g == sep):
                continue  # crosses a document boundary (or is the separator): resample
            out.append((str(n), [int(x) for x in g]))
            got += 1
    return out


def absent_candidates(toks: np.ndarray, sep: int, n: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed + 1)
    vocab = np.unique(toks)
    vocab = vocab[vocab != sep]
    return [[int(x) for x in rng.choice(vocab, ABSENT_LEN)] for _ in range(n)]


# --------------------------------------------------------------------------------------------
# cold child


def cold_child(config: str, kind: str, path: str, queries: str) -> None:
    """Runs in a fresh process: time import+open, the first query, then two more."""
    q = json.loads(queries)
    t0 = time.perf_counter_ns()
    if CONFIGS[config][0] == "infinigram":
        import infini_gram.engine  # noqa: F401
    else:
        import anygram  # noqa: F401
    t1 = time.perf_counter_ns()
    eng = open_engine(config, kind, Path(path))
    t2 = time.perf_counter_ns()
    r1 = eng.count(q[0])
    t3 = time.perf_counter_ns()
    r2 = eng.count(q[0])
    t4 = time.perf_counter_ns()
    r3 = eng.count(q[1])
    t5 = time.perf_counter_ns()
    print(
        json.dumps(
            {
                "import_ms": (t1 - t0) / 1e6,
                "open_ms": (t2 - t1) / 1e6,
                "first_us": (t3 - t2) / 1e3,
                "again_us": (t4 - t3) / 1e3,
                "second_us": (t5 - t4) / 1e3,
                "counts": [r1["count"], r2["count"], r3["count"]],
            }
        )
    )


def run_cold(
    configs: list[str],
    kind: str,
    dirs: dict[str, Path],
    queries: list[list[int]],
    reps: int,
    evict: bool,
) -> dict:
    res: dict = {}
    for config in configs:
        path = dirs[CONFIGS[config][0]]
        runs = []
        for _ in range(reps):
            if evict:
                C.evict_from_page_cache([path])
            resident = C.resident_bytes([path])
            cp = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--cold-child",
                    config,
                    "--kinds",
                    kind,
                    "--cold-path",
                    str(path),
                    "--cold-queries",
                    json.dumps(queries),
                ],
                capture_output=True,
                text=True,
            )
            if cp.returncode != 0:
                runs.append(
                    {"error": cp.stderr.strip().splitlines()[-1:] or [f"rc={cp.returncode}"]}
                )
                continue
            runs.append(
                {
                    **json.loads(cp.stdout.strip().splitlines()[-1]),
                    "resident_before_bytes": resident,
                }
            )
        ok = [r for r in runs if "error" not in r]
        med = {}
        for key in (
            "import_ms",
            "open_ms",
            "first_us",
            "again_us",
            "second_us",
            "resident_before_bytes",
        ):
            vals = sorted(r[key] for r in ok if r.get(key) is not None)
            med[key] = C.percentile(vals, 50) if vals else None
        res[config] = {"runs": runs, "median": med}
        print(f"  cold {config}: {med}", file=sys.stderr)
    return res


# --------------------------------------------------------------------------------------------
# warm


def run_warm(engines: dict, queries: list[tuple[str, list[int]]], reps: int) -> tuple[dict, list]:
    names = list(engines)
    samples: dict[str, dict[str, list[int]]] = {c: {} for c in names}
    mismatches = []
    # warm-up round: every query once on every configuration; counts compared
    for group, ids in queries:
        counts = {c: engines[c].count(ids)["count"] for c in names}
        if len(set(counts.values())) > 1:
            mismatches.append({"group": group, "ids": ids, "counts": counts})
    pc = time.perf_counter_ns
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for qi, (group, ids) in enumerate(queries):
            for rep in range(reps):
                k = (qi + rep) % len(names)
                for c in names[k:] + names[:k]:
                    eng = engines[c]
                    t0 = pc()
                    eng.count(ids)
                    t1 = pc()
                    samples[c].setdefault(group, []).append(t1 - t0)
    finally:
        if gc_was:
            gc.enable()
    stats = {c: {g: C.summarize_ns(v) for g, v in samples[c].items()} for c in names}
    return stats, mismatches


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    C.add_common_args(
        p, reps_default=10, reps_help="timed calls per query and configuration (default 10)"
    )
    p.add_argument(
        "--queries",
        type=int,
        default=200,
        help="queries per n-gram length and absent (default 200)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"subset of {','.join(CONFIGS)}")
    p.add_argument(
        "--cold-reps", type=int, default=3, help="fresh processes per configuration (0 = skip cold)"
    )
    p.add_argument(
        "--no-evict", action="store_true", help="cold runs without posix_fadvise(DONTNEED)"
    )
    p.add_argument("--cold-child", help=argparse.SUPPRESS)
    p.add_argument("--cold-path", help=argparse.SUPPRESS)
    p.add_argument("--cold-queries", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.cold_child:
        cold_child(args.cold_child, C.kind_list(args.kinds)[0], args.cold_path, args.cold_queries)
        return 0

    work = args.work_dir.resolve()
    engines = C.engines_list(args.only)
    configs = [c for c in args.configs.split(",") if c in CONFIGS and CONFIGS[c][0] in engines]
    if any(c not in CONFIGS for c in args.configs.split(",")):
        raise SystemExit(f"--configs: choose from {list(CONFIGS)}")
    if "anygram" in engines:
        try:
            import anygram  # noqa: F401
        except ImportError as e:
            raise SystemExit(f"anygram is not importable ({e}); use --only infinigram") from None
    machine = C.machine_info()
    print(
        f"machine: {machine['nproc']} cpus, {C.gib(machine['mem_total_bytes']):.1f} GiB, "
        f"{machine['cpu_model']}; load {machine['loadavg']}",
        file=sys.stderr,
    )
    results: dict = {
        "machine": machine,
        "args": {k: str(v) for k, v in vars(args).items()},
        "kinds": {},
    }

    for kind in C.kind_list(args.kinds):
        dirs = C.index_dirs(work, kind)
        for e in engines:
            if not dirs[e].is_dir():
                raise SystemExit(f"no {e} index at {dirs[e]}: run benchmarks/bench_build.py first")
        k = C.KINDS[kind]
        toks = token_stream(dirs, kind, engines)
        queries = sample_queries(toks, k["sep"], args.queries, args.seed)
        cands = absent_candidates(toks, k["sep"], args.queries * 2, args.seed)
        kr: dict = {"index_dirs": {e: str(dirs[e]) for e in engines}, "stream_tokens": len(toks)}
        results["kinds"][kind] = kr
        del toks

        # cold first (no engine of this process maps the files yet)
        cold_q = [q for g, q in queries if g == str(ABSENT_LEN)][:2]
        if args.cold_reps > 0:
            print(
                f"[{kind}] cold runs ({args.cold_reps} per configuration, "
                f"evict={not args.no_evict})",
                file=sys.stderr,
            )
            kr["cold"] = run_cold(configs, kind, dirs, cold_q, args.cold_reps, not args.no_evict)
            kr["cold_queries"] = cold_q

        # warm
        warmed = C.warm_page_cache([dirs[e] for e in engines])
        opened, open_ms = {}, {}
        for c in configs:
            t0 = time.perf_counter()
            opened[c] = open_engine(c, kind, dirs[CONFIGS[c][0]])
            open_ms[c] = (time.perf_counter() - t0) * 1e3
        absent = []
        for ids in cands:
            if len(absent) == args.queries:
                break
            cs = {c: opened[c].count(ids)["count"] for c in configs}
            if all(v == 0 for v in cs.values()):
                absent.append(("absent", ids))
        queries_all = queries + absent
        random.Random(args.seed).shuffle(queries_all)  # groups interleaved in time too
        print(
            f"[{kind}] warm: {len(queries_all)} queries x {args.reps} reps "
            f"x {len(configs)} configurations "
            f"(page cache warmed with {warmed / 1e6:.0f} MB)",
            file=sys.stderr,
        )
        t0 = time.perf_counter()
        stats, mism = run_warm(opened, queries_all, args.reps)
        kr.update(
            {
                "open_ms_warm": open_ms,
                "warm": stats,
                "mismatches": mism,
                "n_mismatches": len(mism),
                "n_queries": {
                    g: sum(1 for x, _ in queries_all if x == g)
                    for g in [str(n) for n in LENGTHS] + ["absent"]
                },
                "warm_s": time.perf_counter() - t0,
            }
        )
        if mism:
            print(f"[{kind}] COUNT MISMATCHES: {len(mism)} (first: {mism[0]})", file=sys.stderr)
        del opened
        gc.collect()

    results["anygram_ext_at_end"] = C.anygram_ext_info()
    if results["anygram_ext_at_end"] != machine["anygram_ext"]:
        print("warning: anygram's extension was rebuilt during this run", file=sys.stderr)
    md = render(results, configs)
    print(md)
    C.write_results(args.out or (work / "bench_count.json"), results, md)
    return 0


def render(results: dict, configs: list[str]) -> str:
    m = results["machine"]
    a = results["args"]
    out = [
        f"`count` latency, µs (median / p99 / mean over queries × {a['reps']} reps); "
        f"{m['nproc']} CPUs, "
        f"{C.gib(m['mem_total_bytes']):.1f} GiB RAM, {m['cpu_model']}; "
        f"infini-gram {m['infini_gram']}, "
        f"anygram {m['anygram']} (git {m['git_rev']}).",
        "",
    ]
    groups = [str(n) for n in LENGTHS] + ["absent"]
    for kind, kr in results["kinds"].items():
        out.append(
            f"**{C.KINDS[kind]['label']}** ({C.fmt(kr['stream_tokens'])} tokens incl. separators; "
            f"count mismatches: {kr['n_mismatches']})"
        )
        out.append("")
        ratio_cols = [c for c in configs if c.startswith("ag-")] if "ig-best" in configs else []
        headers = ["n", "queries"] + configs + [f"{c} / ig-best (median)" for c in ratio_cols]
        rows = []
        for g in groups:
            row = [g if g != "absent" else f"absent ({ABSENT_LEN})", kr["n_queries"].get(g, 0)]
            for c in configs:
                s = kr["warm"].get(c, {}).get(g)
                row.append(
                    f"{s['median_us']:.1f} / {s['p99_us']:.1f} / {s['mean_us']:.1f}"
                    if s and s["n"]
                    else None
                )
            for c in ratio_cols:
                s, b = kr["warm"].get(c, {}).get(g), kr["warm"]["ig-best"].get(g)
                row.append(C.ratio(s and s["median_us"], b and b["median_us"]))
            rows.append(row)
        out.append(C.md_table(headers, rows, digits=2))
        out.append("")
        if "cold" in kr:
            evicted = (
                "" if a["no_evict"] == "True" else " after posix_fadvise(DONTNEED) on the files"
            )
            out.append(f"Cold, median of {a['cold_reps']} fresh processes{evicted}:")
            out.append("")
            rows = []
            for c, v in kr["cold"].items():
                med = v["median"]
                errs = [r["error"] for r in v["runs"] if "error" in r]
                rows.append(
                    [
                        c,
                        C.mib(med["resident_before_bytes"]),
                        med["import_ms"],
                        med["open_ms"],
                        med["first_us"],
                        med["again_us"],
                        med["second_us"],
                        "; ".join(map(str, errs)) or "",
                    ]
                )
            out.append(
                C.md_table(
                    [
                        "config",
                        "index MiB in page cache before",
                        "import ms",
                        "open ms",
                        "first count µs",
                        "same again µs",
                        "next count µs",
                        "errors",
                    ],
                    rows,
                    digits=1,
                )
            )
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
