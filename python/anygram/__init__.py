"""anygram: exact n-gram search and unbounded-n language models over any text corpus.

>>> import anygram
>>> {"Index", "build", "AnygramError"} <= set(anygram.__all__)
True
"""

from __future__ import annotations

import os as _os

# libsais sorts suffixes on OpenMP threads. OpenMP's default "active" waiting spins for a long
# time on every core; when the machine is busy with anything else, the spinning threads steal
# the cores the sort needs (measured: 42 s instead of 5 s for 100 MB on 2 busy cores). A short
# spin (libgomp's GOMP_SPINCOUNT) keeps that from happening and, unlike fully passive waiting,
# costs nothing on an idle machine (3.0 s against 3.8 s passive for the same sort). Must be set
# before the engine library loads; the user's own OpenMP settings win.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from . import errors
from ._core import __version__
from .build import build
from .client import Client
from .dedup import dedup
from .errors import AnygramError, QueryParseError
from .grow import add, compact, log, takedown
from .index import Index
from .query_language import parse_query
from .tokenizers import load_tokenizer

__all__ = [
    "AnygramError",
    "Client",
    "Index",
    "QueryParseError",
    "__version__",
    "add",
    "build",
    "compact",
    "dedup",
    "errors",
    "load_tokenizer",
    "log",
    "parse_query",
    "takedown",
]
