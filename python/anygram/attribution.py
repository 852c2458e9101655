"""Attribution helpers behind :meth:`anygram.Index.attribute`: which positions begin a word,
and ranking / capping of the spans the engine returns.

Word starts (``enforce_bow=True``):

* explicit ``bow_ids``: positions holding one of these ids begin words (infini-gram's
  ``bow_ids_path``);
* byte-level indexes: a word boundary is at the input's start and next to every ASCII
  whitespace or punctuation byte (before and after it), so spans never cut a word in two;
  bytes >= 0x80 count as letters, so UTF-8 characters are never split either;
* BPE (Hugging Face, tiktoken): tokens whose text starts with whitespace (``Ġ``/``▁``
  tokens decode to a leading space) or with ASCII punctuation begin words; the set is computed
  once per index from the vocabulary.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

from .errors import InvalidQueryError

__all__ = ["RANKINGS", "byte_word_starts", "rank_spans", "word_start_ids"]

#: Orders of :meth:`anygram.Index.attribute`'s spans: input order (infini-gram's), longest
#: first, or rarest first (lowest unigram log-probability sum, OLMoTrace's choice).
RANKINGS = ("position", "length", "unigram_logprob")

_SEPARATOR_BYTES = (string.whitespace + string.punctuation).encode("ascii")
_CLASS = bytes(1 if b in _SEPARATOR_BYTES else 0 for b in range(256))


def byte_word_starts(ids: Sequence[int]) -> bytes:
    """Word-start mask (one byte per position, nonzero = boundary) of a byte-level input,
    computed with bytes operations (no per-byte Python loop)."""
    data = bytes(ids)
    n = len(data)
    if n == 0:
        return b""
    cls = data.translate(_CLASS)
    prev = b"\x01" + cls[:-1]
    mask = int.from_bytes(cls, "big") | int.from_bytes(prev, "big")
    return mask.to_bytes(n, "big")


def word_start_ids(decode: Any, vocab_size: int) -> list[int]:
    """Ids of the BPE tokens that begin a word: their text starts with whitespace or
    punctuation. ``decode`` maps a list of ids to text."""
    out = []
    for i in range(vocab_size):
        try:
            text = decode([i])
        except Exception:  # an id some tokenizers cannot decode alone (special tokens)
            continue
        if text[:1] and (text[0].isspace() or text[0] in string.punctuation):
            out.append(i)
    return out


def rank_spans(
    spans: list[dict[str, Any]],
    n_tokens: int,
    rank_by: str = "position",
    span_density: float | None = None,
    max_spans: int | None = None,
) -> list[dict[str, Any]]:
    """Orders the spans by ``rank_by`` and keeps the first ``max_spans`` and at most
    ``ceil(span_density * n_tokens)`` of them (OLMoTrace keeps 0.05 per token, rarest first)."""
    if rank_by not in RANKINGS:
        raise InvalidQueryError(f"rank_by must be one of {RANKINGS}, not {rank_by!r}")
    if rank_by == "length":
        spans = sorted(spans, key=lambda s: (-s["length"], s["l"]))
    elif rank_by == "unigram_logprob":
        spans = sorted(spans, key=lambda s: (s["unigram_logprob_sum"], s["l"]))
    limit = len(spans)
    if span_density is not None:
        if isinstance(span_density, bool) or not (
            isinstance(span_density, (int, float)) and span_density >= 0
        ):
            raise InvalidQueryError(
                f"span_density must be a non-negative number, not {span_density!r}"
            )
        limit = min(limit, math.ceil(span_density * n_tokens))
    if max_spans is not None:
        if isinstance(max_spans, bool) or not isinstance(max_spans, int) or max_spans < 0:
            raise InvalidQueryError(f"max_spans must be a non-negative integer, not {max_spans!r}")
        limit = min(limit, max_spans)
    return spans[:limit]
