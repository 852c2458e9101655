"""The query types the server answers: one table entry each, mapping an HTTP request onto an
:class:`~anygram.Index` method.

Adding a query type is adding an entry to :data:`QUERY_TYPES`: the ``Index`` method's name and,
for each of its arguments, where the value comes from (the query's token ids, a part of them, or
a request field). Entries whose method the installed ``Index`` lacks are left out at start-up,
so the server offers exactly what the engine can do. Nothing here computes anything the engine
does; this module only moves values between JSON and ``Index`` and adds infini-gram's
presentation fields (``tokens``, ``spans``, ``longest_suffix``, ...).
"""

from __future__ import annotations

import functools
import inspect
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InvalidQueryError
from ..index import Index

__all__ = [
    "CNF",
    "CONT",
    "DEADLINE",
    "IDS",
    "NEEDLE_LEN",
    "PROMPT",
    "QUERY_TYPES",
    "QueryType",
    "available",
    "cnf_spans",
    "decode_tokens",
    "takes_timeout",
]

#: Argument sources that are not request fields: the query's token ids, all of them but the last
#: (a prompt), or the last one alone (the continuation); :data:`CNF`: the query as a boolean
#: query, infini-gram's triply nested token ids (clauses of terms of ids).
IDS = "<ids>"
PROMPT = "<prompt>"
CONT = "<cont>"
CNF = "<cnf>"
#: Not from the request: when the server's per-request timeout runs out (a ``time.monotonic``
#: value), for methods that can stop early (``generate``) instead of keeping their thread.
DEADLINE = "<deadline>"
#: The searched n-gram's length: the request's ``needle_len``, else the query's length (0
#: without a query). Kinds whose ranks mark where occurrences end (FM) need it to locate.
NEEDLE_LEN = "<needle_len>"
_FROM_QUERY = (IDS, PROMPT, CONT, CNF)

#: Request fields that take numbers; a limit (see ``Limits``) may give them a default and a cap.
NUMERIC_FIELDS = (
    "maxnum",
    "max_disp_len",
    "max_support",
    "s",
    "rank",
    "ptr",
    "doc_ix",
    "max_clause_freq",
    "max_diff_tokens",
    "offset",
    "seed",
    "min_len",
    "max_cnt",
    "max_docs",
    "max_spans",
    "max_new_tokens",
    "top_k",
)

#: Request fields passed on only when the request gives them (the method's default otherwise).
OPTIONAL_FIELDS = (
    "offset",
    "seed",
    "exact",
    "scope",
    "min_len",
    "max_cnt",
    "max_spans",
    "top_k",
)


@dataclass(frozen=True)
class QueryType:
    """How one ``query_type`` maps onto ``Index``.

    ``args`` maps each keyword argument of the method to its source: :data:`IDS`,
    :data:`PROMPT`, :data:`CONT`, or the name of a request field. ``result`` says what comes
    back (``"plain"`` dict, one ``"doc"``, or ``{"documents": [...]}`` as ``"docs"``), for the
    highlighting spans. ``extra`` adds presentation fields computed from the result. ``cnf``
    names the query type a boolean query of this type goes to (infini-gram's API sends a
    ``count`` of ``"a AND b"`` to ``count_cnf``).
    """

    method: str
    args: Mapping[str, str]
    result: Literal["plain", "doc", "docs"] = "plain"
    cnf: str | None = None
    extra: Callable[[Index, list[int], dict[str, Any]], None] | None = None
    description: str = ""
    query: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "query", any(v in _FROM_QUERY for v in self.args.values()))

    @property
    def takes_cnf(self) -> bool:
        return CNF in self.args.values()


@functools.cache
def _has_timeout(fn: Callable[..., Any]) -> bool:
    try:
        return "timeout" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def takes_timeout(method: Callable[..., Any]) -> bool:
    """Whether an ``Index`` method takes ``timeout=`` (seconds; the engine stops at it)."""
    return _has_timeout(getattr(method, "__func__", method))


def decode_tokens(index: Index, ids: list[int]) -> list[str]:
    """Each token decoded on its own (infini-gram's ``tokens``), in one call to the tokenizer
    (the engine's BPE, or ``tokenizers``); byte tokens that are not a whole UTF-8 character are
    shown as ``<0xNN>`` rather than a replacement character. A custom tokenizer without
    ``decode_each`` is called per token."""
    tok = index.tokenizer
    each = getattr(tok, "decode_each", None)
    if each is not None:
        return list(each(ids))
    return [tok.decode([i]) for i in ids]


def _ntd_tokens(index: Index, ids: list[int], result: dict[str, Any]) -> None:
    """infini-gram's ``token`` in each next-token entry (``<eos>`` for the document end)."""
    eos = getattr(index, "eos_token_id", None)
    for tid, entry in result.get("result_by_token_id", {}).items():
        if isinstance(entry, dict):
            t = int(tid)
            entry["token"] = "<eos>" if t == eos else decode_tokens(index, [t])[0]


def _longest_suffix(index: Index, ids: list[int], result: dict[str, Any]) -> None:
    prompt = ids[:-1] if "cont_cnt" in result else ids
    n = int(result.get("suffix_len", 0))
    result["longest_suffix"] = index.decode(prompt[len(prompt) - n :]) if n else ""


def _attribute_extra(index: Index, ids: list[int], result: dict[str, Any]) -> None:
    """Each span's ``text``; each returned document's ``spans``, the span marked."""
    for span in result.get("spans", []):
        span["text"] = index.decode(ids[span["l"] : span["r"]])
        for d in span.get("docs", []):
            doc = d.get("document")
            if isinstance(doc, dict):
                doc["spans"] = spans(index, doc, span["length"])


def _infgram_ntd_extra(index: Index, ids: list[int], result: dict[str, Any]) -> None:
    _ntd_tokens(index, ids, result)
    _longest_suffix(index, ids, result)


def _generate_extra(index: Index, ids: list[int], result: dict[str, Any]) -> None:
    """``Index.generate``'s ``token_ids`` are the new tokens: they go to ``new_token_ids`` (with
    ``new_tokens``, each decoded on its own), as ``token_ids``/``tokens`` are the query's on
    every type."""
    new = result.pop("token_ids")
    result["new_token_ids"] = new
    result["new_tokens"] = decode_tokens(index, new)


_CNF_ARGS = {"cnf": CNF, "max_clause_freq": "max_clause_freq", "max_diff_tokens": "max_diff_tokens"}

QUERY_TYPES: dict[str, QueryType] = {
    "count": QueryType(
        "count",
        {"input_ids": IDS},
        cnf="count_cnf",
        description="occurrences of the n-gram (an AND/OR query: count_cnf): count, approx",
    ),
    "find": QueryType(
        "find",
        {"input_ids": IDS},
        cnf="find_cnf",
        description="count and suffix-array range per shard: cnt, segment_by_shard",
    ),
    "prob": QueryType(
        "prob",
        {"prompt_ids": PROMPT, "cont_id": CONT},
        description="P(last token | the ones before): prompt_cnt, cont_cnt, prob",
    ),
    "ntd": QueryType(
        "ntd",
        {"prompt_ids": IDS, "max_support": "max_support"},
        extra=_ntd_tokens,
        description="next-token distribution: prompt_cnt, result_by_token_id, approx",
    ),
    "infgram_prob": QueryType(
        "infgram_prob",
        {"prompt_ids": PROMPT, "cont_id": CONT},
        extra=_longest_suffix,
        description="∞-gram probability of the last token: ... suffix_len, longest_suffix",
    ),
    "infgram_ntd": QueryType(
        "infgram_ntd",
        {"prompt_ids": IDS, "max_support": "max_support"},
        extra=_infgram_ntd_extra,
        description="∞-gram next-token distribution: ... suffix_len, longest_suffix",
    ),
    "search_docs": QueryType(
        "search_docs",
        {"input_ids": IDS, "maxnum": "maxnum", "max_disp_len": "max_disp_len"},
        result="docs",
        cnf="search_docs_cnf",
        description="up to maxnum documents holding the n-gram (an AND/OR query: "
        "search_docs_cnf): cnt, approx, idxs, documents",
    ),
    "count_cnf": QueryType(
        "count_cnf",
        {**_CNF_ARGS, "exact": "exact", "scope": "scope"},
        description="occurrences of a boolean query (AND of ORs): count, approx",
    ),
    "find_cnf": QueryType(
        "find_cnf",
        {**_CNF_ARGS, "exact": "exact", "scope": "scope"},
        description="a boolean query's hits: cnt, approx, ptrs_by_shard (for get_doc_by_ptr)",
    ),
    "search_docs_cnf": QueryType(
        "search_docs_cnf",
        {
            **_CNF_ARGS,
            "maxnum": "maxnum",
            "max_disp_len": "max_disp_len",
            "exact": "exact",
            "scope": "scope",
            "offset": "offset",
            "seed": "seed",
        },
        result="docs",
        description="a page (offset, maxnum; random order by seed) of the documents holding a "
        "boolean query, every clause match marked: cnt, approx, total, idxs, documents",
    ),
    "attribute": QueryType(
        "attribute",
        {
            "input_ids": IDS,
            "min_len": "min_len",
            "max_cnt": "max_cnt",
            "delim_ids": "delim_ids",
            "enforce_bow": "enforce_bow",
            "max_docs": "max_docs",
            "return_docs": "return_docs",
            "max_disp_len": "max_disp_len",
            "rank_by": "rank_by",
            "span_density": "span_density",
            "max_spans": "max_spans",
        },
        extra=_attribute_extra,
        description="maximal spans of the query found in the index, with their occurrences: "
        "spans [{l, r, length, count, unigram_logprob_sum, docs, text}]",
    ),
    "score": QueryType(
        "score",
        {"input_ids": IDS},
        description="∞-gram probability of every token given the ones before: prob, "
        "effective_n, suffix_len, prompt_cnt, cont_cnt (lists)",
    ),
    "creativity": QueryType(
        "creativity",
        {"input_ids": IDS},
        description="rs[l] = l + length of the longest prefix of the query from l in the index",
    ),
    "generate": QueryType(
        "generate",
        {
            "prompt": IDS,
            "max_new_tokens": "max_new_tokens",
            "temperature": "temperature",
            "top_k": "top_k",
            "seed": "seed",
            "deadline": DEADLINE,
        },
        extra=_generate_extra,
        description="a continuation of the query sampled from the ∞-gram model (temperature, "
        "top_k, seed): new_token_ids, new_tokens, text, suffix_len, stop",
    ),
    "get_doc_by_rank": QueryType(
        "get_doc_by_rank",
        {"s": "s", "rank": "rank", "max_disp_len": "max_disp_len", "needle_len": NEEDLE_LEN},
        result="doc",
        description="the document of occurrence rank (from find) in shard s",
    ),
    "get_doc_by_ptr": QueryType(
        "get_doc_by_ptr",
        {"s": "s", "ptr": "ptr", "max_disp_len": "max_disp_len"},
        result="doc",
        description="the document at token position ptr of shard s",
    ),
    "get_doc_by_ix": QueryType(
        "get_doc_by_ix",
        {"doc_ix": "doc_ix", "max_disp_len": "max_disp_len"},
        result="doc",
        description="document doc_ix (global number), its first max_disp_len tokens",
    ),
}


def available(index_class: type = Index) -> dict[str, QueryType]:
    """The entries of :data:`QUERY_TYPES` whose method ``index_class`` has."""
    return {k: q for k, q in QUERY_TYPES.items() if callable(getattr(index_class, q.method, None))}


def split_prompt(ids: list[int]) -> tuple[list[int], int]:
    """A ``prob``-style query: the last token is the continuation, the rest the prompt."""
    if not ids:
        raise InvalidQueryError("this query type needs at least one token (the continuation)")
    return ids[:-1], ids[-1]


def spans(index: Index, doc: dict[str, Any], needle_len: int) -> list[list[str | None]]:
    """infini-gram's ``spans``: the document window as ``[text, label]`` pieces, label ``"0"``
    on the match (at ``needle_offset``) and ``None`` elsewhere."""
    ids = doc["token_ids"]
    at = doc.get("needle_offset")
    if not needle_len or at is None or at >= len(ids):
        return [[index.decode(ids), None]]
    end = min(len(ids), at + needle_len)
    out: list[list[str | None]] = []
    if at > 0:
        out.append([index.decode(ids[:at]), None])
    out.append([index.decode(ids[at:end]), "0"])
    if end < len(ids):
        out.append([index.decode(ids[end:]), None])
    return out


def _pieces(
    index: Index, ids: list[int], marks: list[tuple[int, int, int]]
) -> list[list[str | None]]:
    """``ids`` cut at the marks (``(start, end, clause)``, token offsets; overlaps are cut at
    the earlier mark's end) as infini-gram's ``[text, label]`` pieces, label the clause number
    as a string, ``None`` between matches."""
    out: list[list[str | None]] = []
    at = 0
    for start, end, clause in sorted(marks):
        start = max(start, at)
        end = min(end, len(ids))
        if end <= start:
            continue
        if start > at:
            out.append([index.decode(ids[at:start]), None])
        out.append([index.decode(ids[start:end]), str(clause)])
        at = end
    if at < len(ids) or not out:
        out.append([index.decode(ids[at:]), None])
    return out


def _find_all(hay: bytes, needle: bytes, width: int) -> list[int]:
    """Token offsets of every occurrence of ``needle`` in ``hay`` (both packed ``width`` bytes
    per token, overlapping ones included), left to right: a C-speed ``bytes.find`` per
    occurrence, never a loop per token."""
    out: list[int] = []
    at = hay.find(needle)
    while at >= 0:
        if at % width == 0:  # else it straddles two tokens: not a match of whole tokens
            out.append(at // width)
        at = hay.find(needle, at + 1)
    return out


def _scan_terms(ids: list[int], cnf: list[list[list[int]]]) -> list[tuple[int, int, int]]:
    """Every occurrence of every term of ``cnf`` in ``ids`` as ``(start, end, clause)``, earlier
    clauses first and no token marked twice (infini-gram's server scans the same way)."""
    packed = array("I", ids).tobytes()
    free = bytearray(b"\x01") * len(ids)  # tokens not yet marked
    marks: list[tuple[int, int, int]] = []
    for c, clause in enumerate(cnf):
        for term in clause:
            n = len(term)
            if not n:
                continue
            end = 0  # a term's marks do not overlap each other
            for p in _find_all(packed, array("I", term).tobytes(), 4):
                if p >= end and free.count(1, p, p + n) == n:  # C, not per token in Python
                    marks.append((p, p + n, c))
                    free[p : p + n] = bytes(n)
                    end = p + n
    return marks


def cnf_spans(
    index: Index,
    ids: list[int],
    marks: list[tuple[int, int, int]] | None,
    cnf: list[list[list[int]]],
) -> list[list[str | None]]:
    """The ``spans`` of a document for a boolean query: the engine's marks when it gave them,
    else every occurrence of every term in the window, scanned (clause order first, as
    infini-gram's server does)."""
    if marks is None:
        marks = _scan_terms(ids, cnf)
    return _pieces(index, ids, [tuple(m) for m in marks])  # type: ignore[misc]
