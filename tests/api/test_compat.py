"""Every index format version ever written still opens (tiny indexes committed per version)."""

from __future__ import annotations

from pathlib import Path

import anygram

from tests.conftest import CharTokenizer

COMPAT = Path(__file__).resolve().parent.parent / "data" / "compat"


def test_format_v1_opens_and_answers() -> None:
    tok = CharTokenizer(12, alphabet="abcdefghij ")
    index = anygram.Index(COMPAT / "v1", tokenizer=tok, verify=True)
    assert index.num_docs == 4
    assert index.count("ab")["count"] == 6
    assert index.count("ab ")["count"] == 2
    assert index.count("")["count"] == len("abc abd abe") + len("j") + len("ab ab ab")
    assert index.get_doc_by_ix(3)["text"] == "ab ab ab"
    assert index.get_doc_by_ix(1)["token_ids"] == []
    assert index.info()["format_version"] == 1


def test_format_v2_fm_opens_and_answers() -> None:
    """Version 2: the FM-index kind (same documents as v1)."""
    tok = CharTokenizer(12, alphabet="abcdefghij ")
    index = anygram.Index(COMPAT / "v2-fm", tokenizer=tok, verify=True)
    assert index.info()["format_version"] == 2 and index.info()["kind"] == ["fm"]
    assert index.count("ab")["count"] == 6
    assert index.count("ab ")["count"] == 2
    assert index.get_doc_by_ix(3)["text"] == "ab ab ab"
    assert index.get_doc_by_ix(0)["text"] == "abc abd abe"
    assert index.search_docs("abe")["documents"][0]["needle_offset"] == 8


def test_format_v2_opens_and_answers() -> None:
    """Version 2: documents taken down (numbers with a gap), written by an add and a takedown."""
    tok = CharTokenizer(12, alphabet="abcdefghij ")
    index = anygram.Index(COMPAT / "v2-takedown", tokenizer=tok, verify=True)
    assert index.info()["format_version"] == 2 and index.info()["takedown"] == [[2]]
    assert index.num_docs == 4 and index.generation == 2
    assert index.count("ab")["count"] == 6 and index.count("j")["count"] == 1
    texts = [index.get_doc_by_ix(i)["text"] for i in (0, 1, 3, 4)]
    assert texts == ["abc abd abe", "", "ab ab ab", "ja"]


def test_format_v4_fm_opens_and_answers() -> None:
    """Version 4: the FM-index kind with its metadata in blocks (`meta.blocks`), boosted rank
    layout 4 and `fm.samples` naming its Elias-Fano sample rate (same documents as v1)."""
    tok = CharTokenizer(12, alphabet="abcdefghij ")
    index = anygram.Index(COMPAT / "v4-fm", tokenizer=tok, verify=True)
    assert index.info()["format_version"] == 4 and index.info()["kind"] == ["fm"]
    assert index.count("ab")["count"] == 6
    assert index.count("ab ")["count"] == 2
    assert index.get_doc_by_ix(3)["text"] == "ab ab ab"
    assert index.get_doc_by_ix(1)["token_ids"] == []
    assert index.get_doc_by_ix(2)["metadata"] == '{"linenum":2,"metadata":{},"path":"c.jsonl"}'
    assert index.search_docs("abe")["documents"][0]["needle_offset"] == 8
