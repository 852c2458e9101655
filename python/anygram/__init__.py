"""anygram: exact n-gram search and unbounded-n language models over any text corpus.

>>> import anygram
>>> {"Index", "build", "AnygramError"} <= set(anygram.__all__)
True
"""

from __future__ import annotations

import os as _os

# libsais sorts suffixes on OpenMP threads. OpenMP's default "active" waiting spins on every
# core; when the machine is busy with anything else, the spinning threads steal the cores the
# sort needs (measured: 42 s instead of 5 s for 100 MB on 2 busy cores). Passive waiting costs
# little on an idle machine. Must be set before the engine library loads; a user's own setting
# wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import errors
from ._core import __version__
from .build import build
from .errors import AnygramError
from .index import Index
from .tokenizers import load_tokenizer

__all__ = ["AnygramError", "Index", "__version__", "build", "errors", "load_tokenizer"]
