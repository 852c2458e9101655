"""A document window as text for a terminal: matches marked, cut at word boundaries.

A window (``max_disp_len`` tokens around a match) usually starts and ends inside a word; the
partial words at a cut edge are dropped so a snippet reads from a word start to a word end.
Matches are bold red on a terminal and ``[[...]]`` elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["snippet"]

_MARKS = {True: ("\x1b[1;31m", "\x1b[0m"), False: ("[[", "]]")}


def snippet(
    index: Any,
    doc: dict[str, Any],
    spans: Sequence[tuple[int, int]],
    color: bool = False,
) -> str:
    """``doc`` (a document from ``search_docs`` / ``search_docs_cnf``: ``token_ids``,
    ``disp_offset``, ``disp_len``, ``doc_len``) as text, every ``(start, end)`` token span
    marked; edges cut inside the document begin and end at a word."""
    ids = doc["token_ids"]
    parts: list[tuple[str, bool]] = []  # (text, is a match)
    at = 0
    for start, end in sorted(spans):
        if start < at:
            continue
        parts.append((index.decode(ids[at:start]), False))
        parts.append((index.decode(ids[start:end]), True))
        at = end
    parts.append((index.decode(ids[at:]), False))
    if doc.get("disp_offset", 0) > 0 and not parts[0][1]:
        parts[0] = (re.sub(r"^\S*\s*", "", parts[0][0], count=1), False)
    cut_end = doc.get("disp_offset", 0) + doc.get("disp_len", len(ids)) < doc.get("doc_len", 0)
    if cut_end and not parts[-1][1]:
        parts[-1] = (re.sub(r"\s*\S*$", "", parts[-1][0], count=1), False)
    start_mark, end_mark = _MARKS[color]
    return "".join(f"{start_mark}{t}{end_mark}" if hit else t for t, hit in parts)
