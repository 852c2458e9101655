#!/usr/bin/env python3
"""anygram's FM-index against SDSL's csa_wt<wt_huff<rrr_vector<127>>, SA, ISA> (the structure of
infini-gram mini), on the same text in the same run.

The text is the shared corpus' documents as UTF-8, each followed by a 0xFF byte (infini-gram
mini's document separator; never in UTF-8). Both indexes are built from that file; then the
same query files are timed in-process by each side's program (`fm_bench`, an example of
anygram-core, and `sdsl_bench`, compiled here from `benchmarks/sdsl/sdsl_bench.cpp`):

- build: wall time, peak RSS of the process, bytes and per-component bytes;
- count of 10-byte and 100-byte substrings at random positions and of absent 10-byte strings
  (median and p99, µs; both sides must give the same counts);
- 1,000-byte extraction at random positions (same checksum on both sides);
- locate of every occurrence of 20-byte substrings that occur at most 100 times (µs per
  occurrence; the same positions on both sides);
for the sample rates 16/32, 32/64 (the default) and 64/128. The load average is recorded
around every build. With `--pypi`, the `fm-index` package from PyPI (`pip install fm-index`,
a Rust FM-index with Python bindings) builds its `MultiFMIndex` of the same documents in a
child process of the same interpreter: build seconds, peak RSS, the size of its serialized
state, and its counts of the 10-byte substrings (checked equal to anygram's).

Threads: anygram's build uses `--workers` threads for libsais (default 1: on this 2-core
machine shared with other jobs, one libsais thread is much faster than two that wait on each
other); SDSL's `construct` is sequential; `fm-index` uses rayon's default (every core).

Usage (after the setup in benchmarks/README.md):

    python3 benchmarks/bench_fm.py --corpus bench-data/corpus --work bench-data/work/fm [--pypi]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDSL_SRC = ROOT / "benchmarks" / "sdsl" / "sdsl_bench.cpp"
RATES = [(16, 32), (32, 64), (64, 128)]


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def run(cmd: list[str]) -> tuple[dict, float, int]:
    """Runs a program that prints one JSON line; returns it, wall seconds and peak RSS bytes."""
    # libsais' OpenMP threads: spin briefly, as the Python package sets it (ARCHITECTURE.md).
    env = {"GOMP_SPINCOUNT": "10000", **os.environ}
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.stdout.read(), p.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed ({status}):\n{err.decode(errors='replace')}")
    return json.loads(out), wall, usage.ru_maxrss * 1024


def make_text(corpus: Path, path: Path) -> int:
    """Documents joined by 0xFF; returns the UTF-8 bytes of the documents."""
    if path.exists():
        return path.stat().st_size - sum(1 for _ in iter_docs(corpus))
    total = 0
    with open(str(path) + ".tmp", "wb") as out:
        for text in iter_docs(corpus):
            b = text.encode()
            if b"\x00" in b:
                # SDSL's byte construction reserves 0 as its terminator.
                b = b.replace(b"\x00", b"\x01")
            out.write(b + b"\xff")
            total += len(b)
    os.replace(str(path) + ".tmp", path)
    return total


def iter_docs(corpus: Path):
    for f in sorted((corpus / "data").glob("*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)["text"]


def binaries(work: Path) -> tuple[str, str]:
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "anygram-core", "--example", "fm_bench"],
        cwd=ROOT,
        check=True,
    )
    ours = str(ROOT / "target" / "release" / "examples" / "fm_bench")
    sdsl = work / "sdsl_bench"
    if not sdsl.exists() or sdsl.stat().st_mtime < SDSL_SRC.stat().st_mtime:
        log("compiling", SDSL_SRC.name)
        subprocess.run(
            [
                "g++",
                "-O3",
                "-DNDEBUG",
                "-std=c++11",
                "-o",
                str(sdsl),
                str(SDSL_SRC),
                "-lsdsl",
                "-ldivsufsort",
                "-ldivsufsort64",
            ],
            check=True,
        )
    return ours, str(sdsl)


def substrings(text: bytes, length: int, k: int, rng: random.Random) -> list[bytes]:
    out: list[bytes] = []
    while len(out) < k:
        p = rng.randrange(len(text) - length)
        s = text[p : p + length]
        if b"\xff" not in s:
            out.append(s)
    return out


def write_patterns(path: Path, pats: list[bytes]) -> None:
    with open(path, "wb") as f:
        for p in pats:
            f.write(struct.pack("<I", len(p)) + p)


def stats_us(ns: list[int]) -> dict:
    us = sorted(x / 1000 for x in ns)
    return {
        "median_us": round(statistics.median(us), 2),
        "p99_us": round(us[min(len(us) - 1, int(0.99 * len(us)))], 2),
        "mean_us": round(statistics.fmean(us), 2),
    }


def measure(
    side: str,
    exe: str,
    sa: int,
    isa: int,
    work: Path,
    text_path: Path,
    workers: int,
    occurrences: int,
) -> dict:
    """Builds one side's index at one sample rate and times its queries."""
    idx = work / f"{side}-{sa}-{isa}"
    log(f"build {side} {sa}/{isa}")
    if side == "anygram":
        shutil.rmtree(idx, ignore_errors=True)
        cmd = [exe, "build", str(text_path), str(idx), str(sa), str(isa), str(workers)]
        pre = [exe]
        post = [str(idx)]
    else:
        cmd = [exe, "build", str(sa), str(isa), str(text_path), str(idx)]
        pre = [exe]
        post = [str(sa), str(isa), str(idx)]
    load_before = os.getloadavg()[0]
    built, wall, rss = run(cmd)
    out: dict = {
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "build_s": round(built["seconds"], 2),
        "build_wall_s": round(wall, 2),
        "peak_rss_mib": round(rss / 2**20),
        "bytes": built["bytes"],
        "components": built["components"],
        "phases": built.get("phases"),
        "counts": {},
    }
    if (sa, isa) == (32, 64):
        for name in ("count_10B", "count_100B", "count_absent_10B"):
            res, _, _ = run([*pre, "count", *post, str(work / f"{name}.q")])
            out[name] = stats_us(res["ns"])
            out["counts"][name] = res["counts"]
    res, _, _ = run([*pre, "extract", *post, str(work / "extract.r")])
    out["extract_1000B"] = stats_us(res["ns"])
    out["extract_checksum"] = res["checksum"] if side == "anygram" else res["checksum"][0]
    res, _, _ = run([*pre, "locate", *post, str(work / "locate_20B.q"), str(10**9)])
    out["locate_us_per_occurrence"] = round(sum(res["ns"]) / 1000 / max(1, occurrences), 2)
    out["locate_checksum"] = res["checksum"] if side == "anygram" else res["checksum"][0]
    return out


PYPI_CHILD = r"""
import json, struct, sys, time, resource
text_path, queries = sys.argv[1], sys.argv[2]
raw = open(text_path, "rb").read()
docs = [d.decode() for d in raw.split(b"\xff")[:-1]]
del raw
rss_docs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
from fm_index import MultiFMIndex
t0 = time.perf_counter()
index = MultiFMIndex(docs)
build_s = time.perf_counter() - t0
state = len(index.__getstate__())
pats = []
b = open(queries, "rb").read()
i = 0
while i + 4 <= len(b):
    n = struct.unpack_from("<I", b, i)[0]
    pats.append(b[i + 4 : i + 4 + n])
    i += 4 + n
ns, counts = [], []
for p in pats:
    try:
        q = p.decode()
    except UnicodeDecodeError:
        counts.append(None)
        continue
    t = time.perf_counter_ns()
    counts.append(index.count_all(q))
    ns.append(time.perf_counter_ns() - t)
print(json.dumps({"seconds": build_s, "state_bytes": state, "rss_docs": rss_docs,
                  "ns": ns, "counts": counts}))
"""


def measure_pypi(text_path: Path, work: Path, anygram_counts: list[int]) -> dict:
    """The `fm-index` package's MultiFMIndex of the same documents (see the module comment)."""
    log("build fm-index (PyPI)")
    load_before = os.getloadavg()[0]
    try:
        res, wall, rss = run(
            [sys.executable, "-c", PYPI_CHILD, str(text_path), str(work / "count_10B.q")]
        )
    except SystemExit as e:  # out of memory or a crash: say what it did
        return {"failed": str(e)[-2000:], "load_avg_1min": [round(load_before, 2)]}
    theirs = res["counts"]
    checked = [(a, t) for a, t in zip(anygram_counts, theirs, strict=True) if t is not None]
    if any(a != t for a, t in checked):
        raise SystemExit("fm-index and anygram disagree on counts of 10-byte substrings")
    return {
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "build_s": round(res["seconds"], 2),
        "build_wall_s": round(wall, 2),
        "peak_rss_mib": round(rss / 2**20),
        "rss_before_build_mib": round(res["rss_docs"] / 2**20),
        "bytes": res["state_bytes"],
        "count_10B": stats_us(res["ns"]),
        "counts_checked": len(checked),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=ROOT / "bench-data" / "corpus")
    ap.add_argument("--work", type=Path, default=ROOT / "bench-data" / "work" / "fm")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pypi", action="store_true", help="also build the PyPI fm-index package")
    ap.add_argument("--out", type=Path, help="also write the JSON results here")
    args = ap.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    text_path = work / "text.bin"
    utf8_bytes = make_text(args.corpus, text_path)
    text = text_path.read_bytes()
    ours, sdsl = binaries(work)
    rng = random.Random(12)
    q = args.queries
    sets = {
        "count_10B": substrings(text, 10, q, rng),
        "count_100B": substrings(text, 100, q, rng),
        "count_absent_10B": [
            bytes(rng.choice(b"qxzjkvQXZJ#@~") for _ in range(10)) for _ in range(q)
        ],
    }
    for name, pats in sets.items():
        write_patterns(work / f"{name}.q", pats)
    with open(work / "extract.r", "wb") as f:
        for _ in range(q):
            f.write(struct.pack("<QQ", rng.randrange(len(text) - 1000), 1000))

    # Locate: 20-byte substrings with at most 100 occurrences (both sides then locate all of
    # them, so the sums of positions must agree whatever order their ranks put them in).
    cands = substrings(text, 20, q, rng)
    write_patterns(work / "locate_cands.q", cands)
    probe = work / "anygram-32-64"
    if not (probe / "fm.json").exists():
        run([ours, "build", str(text_path), str(probe), "32", "64", str(args.workers)])
    cnt, _, _ = run([ours, "count", str(probe), str(work / "locate_cands.q")])
    loc = [(p, c) for p, c in zip(cands, cnt["counts"], strict=True) if c <= 100][: q // 2]
    write_patterns(work / "locate_20B.q", [p for p, _ in loc])
    occurrences = sum(c for _, c in loc)

    results: dict = {
        "utf8_bytes": utf8_bytes,
        "text_bytes": len(text),
        "workers": args.workers,
        "rates": {},
    }
    for sa, isa in RATES:
        r = {
            side: measure(side, exe, sa, isa, work, text_path, args.workers, occurrences)
            for side, exe in (("anygram", ours), ("sdsl", sdsl))
        }
        a, s = r["anygram"], r["sdsl"]
        for side in (a, s):
            side["x_utf8"] = round(side["bytes"] / utf8_bytes, 4)
        for key in ("counts", "extract_checksum", "locate_checksum"):
            if a.pop(key) != s.pop(key):
                raise SystemExit(f"anygram and SDSL disagree on {key} at {sa}/{isa}")
        ratios = {
            "build_s": a["build_s"] / s["build_s"],
            "peak_rss": a["peak_rss_mib"] / max(1, s["peak_rss_mib"]),
            "bytes": a["bytes"] / s["bytes"],
            "locate_per_occurrence": a["locate_us_per_occurrence"] / s["locate_us_per_occurrence"],
        }
        for k in ("count_10B", "count_100B", "count_absent_10B", "extract_1000B"):
            if k in a:
                ratios[f"{k}_median"] = a[k]["median_us"] / s[k]["median_us"]
        r["ratios_anygram_over_sdsl"] = {k: round(v, 3) for k, v in ratios.items()}
        results["rates"][f"{sa}/{isa}"] = r
        log(json.dumps(r["ratios_anygram_over_sdsl"]))
        if args.pypi and (sa, isa) == (32, 64):
            counts = run(
                [ours, "count", str(work / f"anygram-{sa}-{isa}"), str(work / "count_10B.q")]
            )
            p = measure_pypi(text_path, work, counts[0]["counts"])
            if "bytes" in p:
                p["x_utf8"] = round(p["bytes"] / utf8_bytes, 4)
                p["anygram_over_pypi"] = {
                    "build_s": round(a["build_s"] / p["build_s"], 3),
                    "peak_rss": round(a["peak_rss_mib"] / p["peak_rss_mib"], 3),
                    "bytes": round(a["bytes"] / p["bytes"], 3),
                }
            results["pypi_fm_index"] = p
            log(json.dumps(p.get("anygram_over_pypi", p)))
    text_out = json.dumps(results, indent=1)
    print(text_out)
    if args.out:
        args.out.write_text(text_out)


if __name__ == "__main__":
    main()
