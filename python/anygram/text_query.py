"""Text queries as people type them, for the API, the CLI and the server.

A text query is read by :func:`anygram.query_language.query_reading` (boolean only with AND/OR,
a quoted phrase is that phrase, anything else the text as typed). A phrase is then searched in
the forms a word takes in the corpus: BPE tokenizers (GPT-2, Llama 3, ...) fold the space before
a word into its first token, so ``"Apache License"`` mid-sentence is the tokens of
``" Apache License"``, not of ``"Apache License"``. By default a phrase counts at a word start
both with and without the leading space (the answer lists each form's count); with
``exact_tokens=True`` only the tokens of the text as given. On the byte tokenizer, and any
tokenizer where the spaced form contains the plain one, the two are the same search and only
the plain form is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .query_language import QueryReading, query_reading

if TYPE_CHECKING:
    from .index import Index

__all__ = ["count_text", "describe_reading", "phrase_variants", "search_text"]


def _contains(haystack: Sequence[int], needle: Sequence[int]) -> bool:
    n = len(needle)
    return any(list(haystack[i : i + n]) == list(needle) for i in range(len(haystack) - n + 1))


def phrase_variants(index: Index, text: str, exact_tokens: bool = False) -> list[dict[str, Any]]:
    """The forms a phrase is searched in: ``[{"text", "token_ids"}, ...]`` — the text as given
    and, unless ``exact_tokens`` or the text already starts with whitespace, the text after a
    space when its tokens differ (and neither form's tokens contain the other's, which would
    count one occurrence twice)."""
    ids = index.tokenize(text)
    plain = {"text": text, "token_ids": ids}
    if exact_tokens or not text or text[0].isspace():
        return [plain]
    spaced = index.tokenize(" " + text)
    if _contains(spaced, ids) or _contains(ids, spaced):
        return [plain]
    return [plain, {"text": " " + text, "token_ids": spaced}]


def describe_reading(
    reading: QueryReading, variants: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """How a query was read, for answers: ``{"kind", "text", "description"}``."""
    out: dict[str, Any] = {"kind": reading.kind, "text": reading.text}
    out["description"] = reading.describe()
    if variants is not None and len(variants) > 1:
        out["description"] += " at a word start, with and without the leading space"
    return out


def count_text(
    index: Index,
    text: str,
    *,
    boolean: bool | None = None,
    exact_tokens: bool = False,
    **cnf_options: Any,
) -> dict[str, Any]:
    """Occurrences of a text query: ``{"count", "approx", "reading"}``, and for a phrase its
    ``token_ids`` and ``variants``.

    ``reading`` says how the text was read (``kind``, ``text``, ``description``); a phrase
    lists in ``variants``, each form searched with its ``text``, ``token_ids`` and
    ``count`` (``count`` is their sum). ``cnf_options`` go to :meth:`Index.count_cnf`.

    >>> import anygram, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "c.jsonl").write_text('{"text": "x (self) self"}\\n')
    >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
    >>> r = count_text(anygram.Index(d / "idx"), "(self)")
    >>> r["count"], r["reading"]["description"]
    (1, 'phrase "(self)"')
    """
    reading = query_reading(text, boolean)
    if reading.kind == "boolean":
        result = index.count_cnf(reading.text, **cnf_options)
        result["reading"] = describe_reading(reading, None)
        return result
    variants = phrase_variants(index, reading.text, exact_tokens)
    for v in variants:
        v["count"] = index.count(v["token_ids"])["count"]
    return {
        "count": sum(v["count"] for v in variants),
        "approx": False,
        "token_ids": variants[0]["token_ids"],
        "reading": describe_reading(reading, variants),
        "variants": variants,
    }


def search_text(
    index: Index,
    text: str,
    *,
    boolean: bool | None = None,
    exact_tokens: bool = False,
    maxnum: int = 1,
    max_disp_len: int | None = None,
    offset: int = 0,
    seed: int | None = None,
    **cnf_options: Any,
) -> dict[str, Any]:
    """Documents matching a text query, read as in :func:`count_text`:
    ``{"cnt", "approx", "documents", "reading", "variants"?}``; every document has ``spans``,
    the ``(start, end, clause)`` token offsets of the matches in its window."""
    reading = query_reading(text, boolean)
    if reading.kind == "boolean":
        found = index.search_docs_cnf(
            reading.text, maxnum, max_disp_len, offset=offset, seed=seed, **cnf_options
        )
        found["reading"] = describe_reading(reading, None)
        return found
    variants = phrase_variants(index, reading.text, exact_tokens)
    if len(variants) == 1 and offset == 0 and seed is None:
        ids = variants[0]["token_ids"]
        found = index.search_docs(ids, maxnum, max_disp_len)
        for doc in found["documents"]:
            doc["spans"] = [(doc["needle_offset"], doc["needle_offset"] + len(ids), 0)]
        variants[0]["count"] = found["cnt"]
    else:
        # Every form is a term of one OR clause: one engine call pages through all of them.
        clause = [v["token_ids"] for v in variants]
        found = index.search_docs_cnf(
            [clause], maxnum, max_disp_len, offset=offset, seed=seed, **cnf_options
        )
        for v in variants:
            v["count"] = index.count(v["token_ids"])["count"]
        found["cnt"], found["approx"] = sum(v["count"] for v in variants), False
    found["reading"] = describe_reading(reading, variants)
    found["variants"] = variants
    return found
