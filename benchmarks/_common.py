"""Shared helpers for the end-to-end benchmarks in this folder.

Paths, the two indexes' parameters, timing and percentiles, peak memory of a process tree,
machine facts, and writing results as JSON plus a Markdown table. Only the standard library,
``numpy`` and ``psutil`` are used here; ``infini_gram`` and ``anygram`` are imported lazily by
the scripts so that either side can run alone (``--only``).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO / "bench-data" / "corpus"
DEFAULT_WORK = REPO / "bench-data" / "work"
SHARED_CORPUS_DIR = Path(os.environ.get("ANYGRAM_SHARED_CORPUS", "/work/shared/corpus"))
IG_OFFLINE_INDEXER = SHARED_CORPUS_DIR / "infinigram_index_offline.py"

ENGINES = ("infinigram", "anygram")

# The two index kinds every benchmark runs on. ``ig_*`` are the arguments of infini-gram's
# indexer and engine; ``ag_tokenizer`` is anygram's ``--tokenizer`` (None = the corpus'
# tokenizer.json). Separator values are infini-gram's v4 document separators.
KINDS: dict[str, dict[str, Any]] = {
    "u8": {
        "label": "byte-level (u8)",
        "dtype": "uint8",
        "sep": 0xFF,
        "ig_token_dtype": "u8",
        "ig_vocab_size": 255,
        "ig_eos": 254,
        "ag_tokenizer": "bytes",
    },
    "u16": {
        "label": "BPE 32k (u16)",
        "dtype": "uint16",
        "sep": 0xFFFF,
        "ig_token_dtype": "u16",
        "ig_vocab_size": 65535,
        "ig_eos": 0,  # <|endoftext|> is id 0 in the shared tokenizer
        "ag_tokenizer": None,
    },
}


def kind_list(arg: str) -> list[str]:
    """Index kinds named by ``--kinds``: ``both``, ``u8`` (= ``bytes``), ``u16`` (= ``bpe``)."""
    alias = {"bytes": "u8", "u8": "u8", "bpe": "u16", "u16": "u16"}
    if arg == "both":
        return ["u8", "u16"]
    out = []
    for a in arg.split(","):
        if a not in alias:
            raise SystemExit(f"unknown index kind {a!r} (use u8|bytes, u16|bpe or both)")
        out.append(alias[a])
    return out


def engines_list(only: str | None) -> list[str]:
    if only is None or only == "both":
        return list(ENGINES)
    if only not in ENGINES:
        raise SystemExit(f"--only must be one of {ENGINES} (got {only!r})")
    return [only]


def index_dirs(work: Path, kind: str) -> dict[str, Path]:
    """Where each engine's index of ``kind`` lives under the work dir.

    infini-gram finds its files by substring match on the whole path, so none of these paths may
    contain 'tokenized', 'table', 'offset', 'metadata', 'metaoff' or 'unigram'.
    """
    return {"infinigram": work / f"ig-{kind}", "anygram": work / f"ag-{kind}"}


def add_common_args(p, *, reps_default: int, reps_help: str) -> None:
    p.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="corpus dir made by make_corpus.py (holds data/ and tokenizer.json)",
    )
    p.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK,
        help="where indexes, logs and results go (default bench-data/work)",
    )
    p.add_argument("--only", choices=ENGINES, default=None, help="run one engine only")
    p.add_argument("--kinds", default="both", help="u8|bytes, u16|bpe or both (default both)")
    p.add_argument("--reps", type=int, default=reps_default, help=reps_help)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON result file (default WORK_DIR/<script>.json; .md written beside it)",
    )


def check_ig_path(path: Path) -> None:
    bad = [
        w
        for w in ("tokenized", "table", "offset", "metadata", "metaoff", "unigram")
        if w in str(path)
    ]
    if bad:
        raise SystemExit(
            f"infini-gram discovers files by substring: path {path} must not contain {bad}"
        )


# --------------------------------------------------------------------------------------------
# timing and statistics


def percentile(sorted_vals: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (same as numpy's default) of an already sorted sequence."""
    if not sorted_vals:
        return float("nan")
    k = (len(sorted_vals) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def summarize_ns(samples_ns: Iterable[int]) -> dict[str, float]:
    """median / p99 / mean / min / n of nanosecond samples, reported in microseconds."""
    s = sorted(samples_ns)
    if not s:
        return {
            "n": 0,
            "median_us": float("nan"),
            "p99_us": float("nan"),
            "mean_us": float("nan"),
            "min_us": float("nan"),
        }
    return {
        "n": len(s),
        "median_us": percentile(s, 50) / 1e3,
        "p99_us": percentile(s, 99) / 1e3,
        "mean_us": sum(s) / len(s) / 1e3,
        "min_us": s[0] / 1e3,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or a != a or b != b:
        return None
    return a / b


# --------------------------------------------------------------------------------------------
# peak memory of a process tree


@dataclass
class RunResult:
    cmd: list[str]
    returncode: int
    wall_s: float
    peak_tree_rss: int  # max over 50 ms samples of the sum of RSS over the process tree
    max_single_rss: int  # largest RSS of a single process of the tree in the same samples
    cpu_s: float  # user + system CPU time of the command and all its waited-for descendants
    samples: int
    log: str


def run_measured(
    cmd: list[str], *, env: dict[str, str] | None = None, log_path: Path, interval: float = 0.05
) -> RunResult:
    """Run ``cmd`` to completion; measure wall time and peak memory of its whole process tree.

    Every ``interval`` seconds psutil lists the child and all its descendants (multiprocessing
    workers, the ``rust_indexing`` helpers, anygram's threads live in one process) and sums their
    RSS; the peak of that sum is reported. RSS counts shared pages (fork copy-on-write, file pages
    mapped by several processes) once per process, so the sum is an upper bound of the real
    footprint; a process living less than 50 ms can be missed. ``max_single_rss`` is the largest
    RSS of any single process in the same samples, a lower bound. ``cpu_s`` is the user + system
    CPU time of the whole tree (``getrusage(RUSAGE_CHILDREN)`` before/after; it covers every
    descendant that was waited for, which pools and ``popen`` do), less sensitive than wall time
    to other jobs on the machine. Output goes to ``log_path``.
    """
    import psutil

    log_path.parent.mkdir(parents=True, exist_ok=True)
    peak = 0
    single = 0
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    n = 0
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        root = psutil.Process(proc.pid)
        while True:
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                single = max(single, rss)
            peak = max(peak, total)
            n += 1
            if proc.poll() is not None:
                break
            time.sleep(interval)
        wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return RunResult(cmd, proc.returncode, wall, peak, single, cpu, n, str(log_path))


def dir_bytes(path: Path) -> tuple[int, dict[str, int]]:
    """Apparent size of all regular files under ``path`` (total, per relative file name)."""
    per: dict[str, int] = {}
    for root, _dirs, files in os.walk(path):
        for f in files:
            fp = Path(root) / f
            if fp.is_file() and not fp.is_symlink():
                per[str(fp.relative_to(path))] = fp.stat().st_size
    return sum(per.values()), dict(sorted(per.items()))


def evict_from_page_cache(paths: Iterable[Path]) -> int:
    """posix_fadvise(POSIX_FADV_DONTNEED) every file under ``paths``; returns files touched.

    Writes dirty pages back first, then drops the page-cache pages of those files (no root needed
    for files we can read; pages still mapped by a live process stay). Not the same as dropping
    all caches: the host below this VM may still cache the disk blocks.
    """
    n = 0
    for top in paths:
        top = Path(top)
        files = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        for f in files:
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fdatasync(fd)  # dirty pages (a freshly built index) are not dropped otherwise
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                n += 1
            finally:
                os.close(fd)
    return n


def resident_bytes(paths: Iterable[Path]) -> int | None:
    """Bytes of the files under ``paths`` in the page cache (util-linux ``fincore``), or None."""
    exe = shutil.which("fincore")
    if exe is None:
        return None
    files = []
    for top in paths:
        top = Path(top)
        files += [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
    if not files:
        return 0
    try:
        out = subprocess.run(
            [exe, "--bytes", "--noheadings", "--output", "RES", *map(str, files)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return sum(int(x) for x in out.split())
    except (subprocess.CalledProcessError, ValueError):
        return None


def warm_page_cache(paths: Iterable[Path]) -> int:
    """Read every file under ``paths`` once so it is in the page cache; returns bytes read."""
    total = 0
    for top in paths:
        top = Path(top)
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for f in files:
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 24):
                    total += len(chunk)
    return total


# --------------------------------------------------------------------------------------------
# engines


def anygram_cli() -> list[str] | None:
    """The command that runs anygram's CLI, or None if anygram is not installed."""
    exe = shutil.which("anygram")
    if exe:
        return [exe]
    try:
        import importlib.util

        if importlib.util.find_spec("anygram") is not None:
            return [sys.executable, "-m", "anygram"]
    except (ImportError, ValueError):
        pass
    return None


HUGE_DISP_LEN = 1 << 40


def full_doc(index, doc_ix: int) -> dict:
    """``index.get_doc_by_ix(doc_ix, max_disp_len=<huge>)``: the whole document.

    Falls back to smaller "huge" values if the binding takes a narrower integer type.
    """
    global HUGE_DISP_LEN
    while True:
        try:
            return index.get_doc_by_ix(doc_ix, max_disp_len=HUGE_DISP_LEN)
        except (OverflowError, ValueError, TypeError):
            if HUGE_DISP_LEN <= (1 << 31) - 1:
                raise
            HUGE_DISP_LEN = (1 << 31) - 1


def token_array(ids, dtype: str):
    """Token ids as a little-endian numpy array, whether a list, an array or raw bytes came back."""
    import numpy as np

    dt = np.dtype(dtype).newbyteorder("<")
    if isinstance(ids, (bytes, bytearray, memoryview)):
        return np.frombuffer(ids, dtype=dt)
    return np.asarray(ids, dtype=dt)


def package_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


def anygram_ext_info() -> str | None:
    """Path and modification time of anygram's compiled extension: the tree is rebuilt often, and
    the git revision alone does not tell which build a result was measured with."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("anygram._core")
        if spec is None or spec.origin is None:
            return None
        st = os.stat(spec.origin)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))
        return f"{spec.origin} ({st.st_size:,} bytes, built {stamp})"
    except Exception:
        return None


def git_rev() -> str | None:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except Exception:
        return None


def machine_info() -> dict[str, Any]:
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((x.split(":", 1)[1].strip() for x in f if x.startswith("model name")), None)
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = next((int(x.split()[1]) * 1024 for x in f if x.startswith("MemTotal")), None)
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_total_bytes": mem,
        "cpu_model": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
        "infini_gram": package_version("infini-gram"),
        "anygram": package_version("anygram"),
        "anygram_ext": anygram_ext_info(),
        "git_rev": git_rev(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


# --------------------------------------------------------------------------------------------
# output


def fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if v != v:
            return "–"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 1) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(fmt(c, digits) for c in r) + " |")
    return "\n".join(lines)


def run_kinds_and_report(args: Any, run_kind: Any, render: Any, name: str) -> int:
    """The common end of a benchmark: ``run_kind(kind, work, corpus, args)`` for every index kind
    asked for, then the Markdown table printed and JSON + Markdown written (default
    ``WORK_DIR/<name>.json``)."""
    work = args.work_dir.resolve()
    results = {
        kind: run_kind(kind, work, args.corpus.resolve(), args) for kind in kind_list(args.kinds)
    }
    meta = {"machine": machine_info(), "reps": args.reps, "args": vars(args)}
    md = render(results, meta)
    print(md)
    write_results(args.out or work / f"{name}.json", {"meta": meta, "results": results}, md)
    return 0


def write_results(out: Path, data: dict[str, Any], markdown: str) -> None:
    """Write ``data`` as JSON to ``out`` and ``markdown`` beside it (same stem, ``.md``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        json.dump(data, f, indent=1, default=str)
        f.write("\n")
    with open(out.with_suffix(".md"), "w") as f:
        f.write(markdown + "\n")
    print(f"\nwrote {out} and {out.with_suffix('.md')}", file=sys.stderr)


def gib(n: int | float | None) -> float | None:
    return None if n is None or n < 0 else n / 2**30


def mib(n: int | float | None) -> float | None:
    return None if n is None or n < 0 else n / 2**20
