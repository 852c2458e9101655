"""Text queries as people type them: one reading rule (boolean only with AND/OR, a quoted
phrase is that phrase, anything else the text typed) and, on BPE indexes, a phrase counted at a
word start with and without the leading space."""

from __future__ import annotations

import anygram
import pytest
from anygram.query_language import QueryReading, query_reading
from anygram.text_query import count_text, phrase_variants, search_text
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import brute_count, train_bpe, write_jsonl

_WORDS = st.text(alphabet="abc ()\"\\'", max_size=12)


def _one_quoted_phrase(text: str) -> str | None:
    """The phrase if ``text`` is one double-quoted phrase (``\\"`` and ``\\\\`` escaped), else
    None: the oracle, written apart from the lexer."""
    inner = text.strip()
    if len(inner) < 2 or inner[0] != '"':
        return None
    out, i = [], 1
    while i < len(inner):
        c = inner[i]
        if c == "\\" and i + 1 < len(inner) and inner[i + 1] in '"\\':
            out.append(inner[i + 1])
            i += 2
        elif c == '"':
            return "".join(out) if i == len(inner) - 1 and out else None
        else:
            out.append(c)
            i += 1
    return None


@given(_WORDS)
def test_text_without_operators_is_a_phrase(text: str) -> None:
    r = query_reading(text)
    assert r.kind == "phrase"
    phrase = _one_quoted_phrase(text)
    assert r.text == (text if phrase is None else phrase)


_PLAIN = st.text(alphabet="abc ()'", max_size=12)  # no quotes: an operator is outside them


@given(_PLAIN, st.sampled_from(["AND", "OR"]), _PLAIN)
def test_an_operator_outside_quotes_makes_a_boolean_query(a: str, op: str, b: str) -> None:
    assert query_reading(f"{a} {op} {b}").kind == "boolean"
    assert query_reading(f'"{a} {op} {b}"').kind == "phrase"


@given(_WORDS, st.booleans())
def test_the_user_decides(text: str, boolean: bool) -> None:
    r = query_reading(text, boolean)
    assert r == QueryReading("boolean" if boolean else "phrase", text)


@pytest.mark.parametrize(
    ("text", "kind", "searched"),
    [
        ("(self)", "phrase", "(self)"),
        ('"hello"', "phrase", "hello"),
        ('  "new york"  ', "phrase", "new york"),
        ('"quoted" text', "phrase", '"quoted" text'),
        ('"cat AND dog"', "phrase", "cat AND dog"),
        ("cat AND dog", "boolean", "cat AND dog"),
        ('"new york" AND (city OR state)', "boolean", '"new york" AND (city OR state)'),
        ("a AND (b", "boolean", "a AND (b"),  # parsed, so the error says where
        ('"unterminated', "phrase", '"unterminated'),
        ("ANDROID or order", "phrase", "ANDROID or order"),
    ],
)
def test_readings(text: str, kind: str, searched: str) -> None:
    assert query_reading(text) == QueryReading(kind, searched)  # type: ignore[arg-type]


def test_byte_index_counts_what_was_typed(build_texts) -> None:
    index = build_texts(['x (self) self "hello" hello', "self"])
    assert count_text(index, "(self)")["count"] == 1
    assert count_text(index, '"hello"')["count"] == 2
    assert count_text(index, '"hello"', boolean=False)["count"] == 1
    assert count_text(index, "self OR hello")["reading"]["kind"] == "boolean"
    # On bytes the spaced form contains the plain one: one form, no double count.
    assert [v["text"] for v in phrase_variants(index, "self")] == ["self"]
    found = search_text(index, "(self)", maxnum=5)
    assert found["cnt"] == 1
    (doc,) = found["documents"]
    a, b, _ = doc["spans"][0]
    assert bytes(doc["token_ids"][a:b]) == b"(self)"


TEXTS = [
    "Apache License, Version 2.0 is a license.",
    "Licensed under the Apache License, Version 2.0 (the License).",
    "See the Apache License for details; Apache License text.",
    "Apache",
]


@pytest.fixture(scope="module")
def bpe_index(tmp_path_factory: pytest.TempPathFactory) -> anygram.Index:
    pytest.importorskip("tokenizers")
    d = tmp_path_factory.mktemp("bpe")
    tok = train_bpe(d / "tokenizer.json", TEXTS)
    src = write_jsonl(d / "c.jsonl", [{"text": t} for t in TEXTS])
    anygram.build([src], d / "idx", tokenizer=tok, quiet=True)
    return anygram.Index(d / "idx")


@pytest.mark.parametrize(
    "query", ["Apache License", "Apache License, Version 2.0", "License", "Apache"]
)
def test_bpe_phrase_counts_with_and_without_the_leading_space(
    bpe_index: anygram.Index, query: str
) -> None:
    docs = [bpe_index.tokenize(t) for t in TEXTS]
    plain, spaced = bpe_index.tokenize(query), bpe_index.tokenize(" " + query)
    assert plain != spaced[1:]  # BPE: the space is folded into the first word
    r = count_text(bpe_index, query)
    by_text = {v["text"]: v for v in r["variants"]}
    assert by_text[query]["count"] == brute_count(docs, plain)
    assert by_text[" " + query]["count"] == brute_count(docs, spaced)
    assert r["count"] == brute_count(docs, plain) + brute_count(docs, spaced)
    assert "with and without the leading space" in r["reading"]["description"]
    exact = count_text(bpe_index, query, exact_tokens=True)
    assert exact["count"] == brute_count(docs, plain) and len(exact["variants"]) == 1


def test_bpe_nested_forms_count_once(bpe_index: anygram.Index) -> None:
    # An unseen word: the space stays its own token, so the spaced form contains the plain one.
    assert bpe_index.tokenize(" nowhere")[1:] == bpe_index.tokenize("nowhere")
    r = count_text(bpe_index, "nowhere")
    assert [v["text"] for v in r["variants"]] == ["nowhere"]


def test_bpe_documents_of_both_forms(bpe_index: anygram.Index) -> None:
    found = search_text(bpe_index, "Apache License", maxnum=10)
    assert found["cnt"] == count_text(bpe_index, "Apache License")["count"] == 4
    marked = {
        bpe_index.decode(d["token_ids"][a:b]).strip()
        for d in found["documents"]
        for a, b, _ in d["spans"]
    }
    assert marked == {"Apache License"}
    assert len(found["documents"]) == 4
