"""``anygram demo``: indexes the Python standard library's own source files (present on every
machine with Python, no download) and runs a few queries with their timings."""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from .build import build
from .errors import IndexNotFoundError
from .index import Index
from .snippet import snippet

__all__ = ["run_demo"]

#: Queries that occur in the files indexed (a test checks it on this machine's stdlib).
QUERIES = [
    "def ",
    "import os",
    "def assertEqual(",
    "raise ValueError(",
    "return None",
    "if __name__ == '__main__':",
    "Python Software Foundation",
]

#: The query whose documents are shown.
SNIPPET_QUERY = "raise ValueError("

#: Which files of the standard library are indexed: its own modules, not tests or add-ons.
STDLIB_SELECTION: dict[str, Any] = {
    "file_glob": "*.py",
    "exclude": ["site-packages", "dist-packages", "test", "idlelib"],
}


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def _default_out() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.access(os.path.dirname(base) or ".", os.W_OK):
        base = tempfile.gettempdir()
    return Path(base) / "anygram" / "demo-stdlib"


def run_demo(out: str | None = None, rebuild: bool = False) -> int:
    stdlib = stdlib_dir()
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
        build([stdlib], index_dir, on_error="skip", overwrite=True, **STDLIB_SELECTION)
        print(f"built in {time.perf_counter() - t:.2f} s")
        index = Index(index_dir)
    tty = sys.stdout.isatty()
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
    q = SNIPPET_QUERY
    found = index.search_docs(q, maxnum=2, max_disp_len=60)
    print(f"\nwhere {q!r} occurs, e.g.:")
    for doc in found["documents"]:
        print(f"\n{json.loads(doc['metadata'])['path']}:")
        n = len(index.tokenize(q))
        marked = snippet(index, doc, [(doc["needle_offset"], doc["needle_offset"] + n)], tty)
        print("  " + marked.replace("\n", "\n  "))
    print("\nnext: anygram build YOUR_DATA -o YOUR_INDEX; anygram count YOUR_INDEX 'some text'")
    return 0
