"""``anygram demo``: indexes the Python standard library's own source files (present on every
machine with Python, no download) and runs a few queries with their timings."""

from __future__ import annotations

import os
import sysconfig
import tempfile
import time
from pathlib import Path

from .build import build
from .errors import IndexNotFoundError
from .index import Index

__all__ = ["run_demo"]

QUERIES = [
    "def ",
    "import os",
    "self.assertEqual(",
    "raise ValueError(",
    "return None",
    "if __name__ == '__main__':",
    "Copyright (c) 2001 Python Software Foundation",
    "this phrase appears nowhere in the standard library",
]


def _default_out() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.access(os.path.dirname(base) or ".", os.W_OK):
        base = tempfile.gettempdir()
    return Path(base) / "anygram" / "demo-stdlib"


def run_demo(out: str | None = None, rebuild: bool = False) -> int:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    index_dir = Path(out) if out else _default_out()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    print(f"anygram demo: indexing the Python standard library ({stdlib}, *.py files)")
    try:
        if rebuild:
            raise IndexNotFoundError("rebuild requested")
        index = Index(index_dir)
        print(f"(reusing the index at {index_dir}; pass --rebuild to build it again)")
    except IndexNotFoundError:
        t = time.perf_counter()
        build(
            [stdlib],
            index_dir,
            file_glob="*.py",
            exclude=["site-packages", "dist-packages", "test", "idlelib"],
            on_error="skip",
            overwrite=True,
        )
        print(f"built in {time.perf_counter() - t:.2f} s")
        index = Index(index_dir)
    info = index.info()
    print(
        f"\nindex: {info['num_docs']:,} files, {info['num_tokens']:,} byte tokens, "
        f"{info['size_bytes'] / 2**20:.1f} MiB on disk "
        f"({info['bytes_per_token']:.2f} bytes/token)\n"
    )
    print(f"{'query':<50} {'count':>10} {'latency':>12}")
    for q in QUERIES:
        index.count(q)  # warm the pages this query touches
        t = time.perf_counter_ns()
        reps = 50
        for _ in range(reps):
            c = index.count(q)["count"]
        us = (time.perf_counter_ns() - t) / reps / 1e3
        print(f"{q!r:<50} {c:>10,} {us:>9.1f} µs")
    q = "raise ValueError("
    found = index.search_docs(q, maxnum=1, max_disp_len=80)
    if found["documents"]:
        doc = found["documents"][0]
        print(f"\nwhere {q!r} occurs, e.g. {doc['metadata']}:")
        print("  " + doc["text"].replace("\n", "\n  "))
    print("\nnext: anygram build YOUR_DATA -o YOUR_INDEX; anygram count YOUR_INDEX 'some text'")
    return 0
