#!/usr/bin/env python3
"""``anygram dedup`` on the shared corpus: time, peak memory and what is removed.

For each tokenizer (byte-level; the corpus' 32k BPE ``tokenizer.json``) and each ``--min-len``,
runs the whole command end to end, as a user would, in a measured child process::

    anygram dedup CORPUS/data -o OUT --min-len K [--tokenizer T] --mem-budget B --overwrite

(indexing the inputs under the budget, finding the duplicates, writing every JSONL file back and
the report). Reported per run: wall time, CPU time, peak RSS of the process tree (psutil, every
50 ms; ``_common.run_measured``), throughput in MB of text per second per core, the number of
shards the budget gave, and the share of each source's text removed (from the run's
``dedup-report.json``). One extra run at a small budget shows the cost of exact cross-shard
matching.

Lee et al. (2022)'s ``deduplicate-text-datasets`` is not on crates.io or in Debian (it is a
GitHub repository), so it cannot be built here; its published figure (Wiki-40B, 4 GB in 2.3
minutes on 96 cores: about 0.30 MB/s per core) is the reference.

Example (from the repo root)::

    python benchmarks/bench_dedup.py --corpus /tmp/fm-corpus \
        --tokenizer /tmp/dedup-bench/tokenizer.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

#: Lee et al.'s published throughput: 4 GB (Wiki-40B) in 2.3 min on 96 cores.
LEE_MB_PER_S_PER_CORE = 4000 / (2.3 * 60) / 96


def run_one(
    corpus: Path,
    work: Path,
    name: str,
    min_len: int,
    tokenizer: str | None,
    budget: str,
    keep: str,
    cores: int,
) -> dict[str, Any]:
    out = work / f"out-{name}"
    cli = C.anygram_cli()
    if cli is None:
        raise SystemExit("anygram is not installed")
    cmd = [*cli, "dedup", str(corpus / "data"), "-o", str(out), "--min-len", str(min_len)]
    cmd += ["--mem-budget", budget, "--keep", keep, "--overwrite", "--quiet"]
    cmd += ["--work-dir", str(work)]
    if tokenizer:
        cmd += ["--tokenizer", tokenizer]
    load_before = os.getloadavg()[0]
    r = C.run_measured(cmd, log_path=work / f"{name}.log")
    if r.returncode != 0:
        raise SystemExit(f"{name} failed, see {r.log}")
    report = json.loads((out / "dedup-report.json").read_text())
    text = sum(f.get("text_bytes", 0) for f in report["files"].values())
    removed = sum(f["bytes_removed"] for f in report["files"].values())
    return {
        "command": " ".join(cmd),
        "wall_s": r.wall_s,
        "cpu_s": r.cpu_s,
        "load_before_after": [load_before, os.getloadavg()[0]],
        "peak_rss_gib": C.gib(r.peak_tree_rss),
        "max_single_rss_gib": C.gib(r.max_single_rss),
        "budget": budget,
        "text_mb": text / 1e6,
        "mb_per_s_per_core": text / 1e6 / r.wall_s / cores,
        # Per CPU-second: what a core does, whatever else shares the machine.
        "mb_per_cpu_s": text / 1e6 / max(r.cpu_s, 1e-9),
        "seconds": report.get("seconds"),
        "engine_seconds": report.get("engine_seconds"),
        "removed_share": removed / max(text, 1),
        "docs_changed": report["summary"]["docs_changed"],
        "docs_dropped": sum(f.get("docs_dropped", 0) for f in report["files"].values()),
        "per_source": {
            Path(k).stem: round(f.get("removed_share", 0.0), 4)
            for k, f in sorted(report["files"].items())
        },
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=Path("/tmp/fm-corpus"))
    p.add_argument("--work-dir", type=Path, default=C.DEFAULT_WORK / "dedup")
    p.add_argument("--tokenizer", default=None, help="BPE tokenizer.json (default CORPUS/...)")
    p.add_argument("--min-lens", default="50,100")
    p.add_argument("--kinds", default="both", help="u8|bytes, u16|bpe or both")
    p.add_argument("--mem-budget", default="4GiB", help="budget of the main runs")
    p.add_argument("--small-budget", default="256MiB", help="budget of the cross-shard run")
    p.add_argument("--keep", default="first", choices=["first", "none"])
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus.resolve()
    cores = len(os.sched_getaffinity(0))
    bpe = args.tokenizer or str(corpus / "tokenizer.json")
    runs: dict[str, Any] = {}
    for kind in C.kind_list(args.kinds):
        tok = None if kind == "u8" else bpe
        for k in [int(x) for x in args.min_lens.split(",")]:
            name = f"{kind}-k{k}"
            runs[name] = run_one(corpus, work, name, k, tok, args.mem_budget, args.keep, cores)
            print(name, json.dumps(runs[name]), file=sys.stderr)
    if args.small_budget:
        name = "u8-k50-small-budget"
        runs[name] = run_one(corpus, work, name, 50, None, args.small_budget, args.keep, cores)
        print(name, json.dumps(runs[name]), file=sys.stderr)
    rows = [
        [
            name,
            r["budget"],
            r["wall_s"],
            r["cpu_s"],
            r["peak_rss_gib"],
            r["mb_per_s_per_core"],
            r["mb_per_cpu_s"],
            r["mb_per_cpu_s"] / LEE_MB_PER_S_PER_CORE,
            f"{r['removed_share']:.2%}",
            ", ".join(f"{s} {v:.1%}" for s, v in r["per_source"].items()),
        ]
        for name, r in runs.items()
    ]
    md = C.md_table(
        [
            "run",
            "budget",
            "wall s",
            "CPU s",
            "peak RSS GiB",
            "MB/s/core (wall)",
            "MB/CPU-s",
            "× Lee et al. (CPU)",
            "removed",
            "removed per source",
        ],
        rows,
        digits=2,
    )
    meta = {
        "machine": C.machine_info(),
        "cores": cores,
        "lee_mb_per_s_per_core": LEE_MB_PER_S_PER_CORE,
    }
    print(md)
    C.write_results(args.out or work / "bench_dedup.json", {"meta": meta, "runs": runs}, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
