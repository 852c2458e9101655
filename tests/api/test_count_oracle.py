"""count/find/get_doc_* against brute force, on random corpora (hypothesis): tiny alphabets
that force deep repeats, empty and one-token documents, non-ASCII text, absent queries, queries
longer than any document, matches next to separators, every token width, one shard and several."""

from __future__ import annotations

import itertools

import anygram
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CharTokenizer, brute_count, build_index

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

texts_tiny = st.lists(st.text(alphabet="ab", max_size=30), min_size=1, max_size=8)
texts_unicode = st.lists(st.text(alphabet="aé€😀 \n", max_size=20), min_size=1, max_size=8)
texts_chars = st.lists(st.text(alphabet="abcdefghij ", max_size=25), min_size=1, max_size=8)


def _queries(docs: list[list[int]]) -> list[list[int]]:
    qs: list[list[int]] = [[]]
    for d in docs:
        for i in range(len(d)):
            for n in (1, 2, 3, 7):
                if i + n <= len(d):
                    qs.append(d[i : i + n])
    # Across every document boundary: last token of one doc + first of the next.
    for a, b in itertools.pairwise(docs):
        if a and b:
            qs.append([a[-1], b[0]])
    longest = max((len(d) for d in docs), default=0)
    qs.append([0] * (longest + 1))
    return qs[:300]


def _check(index: anygram.Index, docs: list[list[int]]) -> None:
    assert index.num_docs == len(docs)
    assert index.num_tokens == sum(len(d) for d in docs)
    for q in _queries(docs):
        want = brute_count(docs, q)
        assert index.count(q) == {"count": want, "approx": False}, q
        found = index.find(q)
        assert found["cnt"] == want
        for s, (lo, hi) in enumerate(found["segment_by_shard"]):
            for rank in range(lo, hi):
                doc = index.get_doc_by_rank(s, rank, max_disp_len=10_000)
                at = doc["needle_offset"]
                assert doc["token_ids"][at : at + len(q)] == q
    for i, d in enumerate(docs):
        assert index.get_doc_by_ix(i, max_disp_len=10_000)["token_ids"] == d


@SETTINGS
@given(texts_tiny)
def test_bytes_tiny_alphabet(texts: list[str]) -> None:
    index = build_index(texts, "bytes")
    assert index.token_dtype == "u8"
    _check(index, [list(t.encode()) for t in texts])


@SETTINGS
@given(texts_unicode)
def test_bytes_non_ascii_and_several_shards(texts: list[str]) -> None:
    docs = [list(t.encode()) for t in texts]
    cap = max(len(d) for d in docs) + 2
    index = build_index(texts, "bytes", max_shard_tokens=cap)
    _check(index, docs)
    # Text queries tokenize like the documents.
    for t in texts[:3]:
        if t:
            assert index.count(t)["count"] == brute_count(docs, list(t.encode()))


@SETTINGS
@given(texts_chars, st.sampled_from([200, 300, 65_535, 70_000]))
def test_every_token_width(texts: list[str], vocab: int) -> None:
    tok = CharTokenizer(vocab)
    index = build_index(texts, tok, max_shard_tokens=60)
    assert index.token_dtype == {200: "u8", 300: "u16", 65_535: "u16", 70_000: "u32"}[vocab]
    _check(index, [tok.encode(t) for t in texts])
