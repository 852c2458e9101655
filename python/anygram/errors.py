"""Exceptions raised by anygram.

Every error anygram raises derives from :class:`AnygramError`; each also derives from the builtin
that fits, so ``except ValueError`` or ``except FileNotFoundError`` work as expected. The engine
(``anygram._core``) raises these same classes.
"""

from __future__ import annotations

__all__ = [
    "AnygramError",
    "AnygramFileNotFoundError",
    "AnygramIOError",
    "AnygramPermissionError",
    "CorruptIndexError",
    "CorruptTokenizerError",
    "IncompatibleFormatError",
    "IndexExistsError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidInputError",
    "InvalidQueryError",
    "QueryParseError",
    "QueryTimeoutError",
    "ShardUnavailableError",
    "TokenOutOfRangeError",
    "TokenizerError",
    "TokenizerMismatchError",
    "UnknownTokenizerError",
    "UnsupportedTokenizerError",
]


class AnygramError(Exception):
    """Base class of every anygram error."""


class AnygramIOError(AnygramError, OSError):
    """An operating-system error on a named file."""


class AnygramFileNotFoundError(AnygramIOError, FileNotFoundError):
    """A file that should exist does not."""


class AnygramPermissionError(AnygramIOError, PermissionError):
    """A file anygram may not read or write."""


class IndexNotFoundError(AnygramError, FileNotFoundError):
    """No finished index at the path: never built, or a build that did not finish."""


class CorruptIndexError(AnygramError, ValueError):
    """A file of the index is missing, truncated, or disagrees with the manifest."""


class IncompatibleFormatError(AnygramError, ValueError):
    """The index was written in a format version this anygram cannot read."""


class IndexMismatchError(AnygramError, ValueError):
    """Indexes opened together were built with different tokenizers or token widths."""


class IndexExistsError(AnygramError, FileExistsError):
    """The output path already holds an index (pass ``overwrite=True`` to replace it)."""


class InvalidQueryError(AnygramError, ValueError):
    """A query that cannot be answered as asked."""


class TokenOutOfRangeError(InvalidQueryError):
    """A token id outside the index's vocabulary."""


class InvalidInputError(AnygramError, ValueError):
    """A malformed input document (the message names file and line)."""


class InvalidArgumentError(AnygramError, ValueError):
    """An option that makes no sense."""


class TokenizerError(AnygramError, ValueError):
    """The tokenizer could not be loaded or applied."""


class TokenizerMismatchError(TokenizerError):
    """A model and an index that must share a tokenizer do not: the same id would mean
    different text (``anygram.speculative`` refuses to draft for such a model)."""


class UnsupportedTokenizerError(TokenizerError):
    """A tokenizer feature the engine's fast BPE path does not cover (anygram falls back to the
    ``tokenizers`` library where it can)."""


class UnknownTokenizerError(TokenizerError):
    """The tokenizer named is neither ``bytes`` nor a tokenizer file anygram can read."""


class QueryTimeoutError(AnygramError, TimeoutError):
    """A query ran past its time budget (``timeout=``); the engine stopped its work."""


class ShardUnavailableError(AnygramError, ConnectionError):
    """A shard's server (e.g. a Ray actor) is down and its restarts and retries are spent: the
    answer would miss that shard's part, so none is given."""


class InternalError(AnygramError, RuntimeError):
    """A broken invariant inside anygram: a bug, please report it."""


class CorruptTokenizerError(CorruptIndexError, TokenizerError):
    """The index's copy of its tokenizer is missing, altered, outside the index directory, or
    misdescribed in the manifest."""


class QueryParseError(InvalidQueryError):
    """A boolean query's text could not be parsed; ``position`` is the 0-based character offset
    of the problem (see :mod:`anygram.query_language`)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position
