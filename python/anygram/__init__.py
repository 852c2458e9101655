"""anygram: exact n-gram search and unbounded-n language models over any text corpus.

>>> import anygram
>>> {"Index", "build", "AnygramError"} <= set(anygram.__all__)
True
"""

from __future__ import annotations

from . import errors
from ._core import __version__
from .build import build
from .errors import AnygramError
from .index import Index
from .tokenizers import load_tokenizer

__all__ = ["AnygramError", "Index", "__version__", "build", "errors", "load_tokenizer"]
