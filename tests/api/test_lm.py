"""prob / ntd / infgram_prob / infgram_ntd against brute force (hypothesis), every token width,
one shard and several; probabilities compared exactly as fractions of counts. Plus the
arguments: text or ids, eos id, max_support, exact, typed errors."""

from __future__ import annotations

from fractions import Fraction

import anygram
import pytest
from anygram.errors import InvalidQueryError, TokenOutOfRangeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CharTokenizer, brute_ntd, build_index

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _prompts(docs: list[list[int]]) -> list[list[int]]:
    qs: list[list[int]] = [[]]
    for d in docs:
        for i in range(len(d)):
            for n in (1, 2, 4):
                if i + n <= len(d):
                    qs.append(d[i : i + n])
        qs.append([*d[-3:], d[0] if d else 0])
    return qs[:120]


def _check(index: anygram.Index, docs: list[list[int]]) -> None:
    eos = index.eos_token_id
    for q in _prompts(docs):
        want = brute_ntd(docs, q, eos)
        total = sum(want.values())
        got = index.ntd(q, exact=True)
        assert got["prompt_cnt"] == total and got["approx"] is False
        by_id = got["result_by_token_id"]
        assert {k: v["cont_cnt"] for k, v in by_id.items()} == dict(want), q
        for k, v in by_id.items():
            assert Fraction(v["prob"]) == Fraction(want[k] / total)  # correctly rounded ratio
        for cont in [*want, 0]:
            p = index.prob(q, cont)
            assert (p["prompt_cnt"], p["cont_cnt"]) == (total, want.get(cont, 0))
            assert p["prob"] == (want.get(cont, 0) / total if total else -1.0)
        # Back-off: the longest suffix that occurs.
        n = next(n for n in range(len(q), -1, -1) if brute_ntd(docs, q[len(q) - n :], eos))
        suffix_want = brute_ntd(docs, q[len(q) - n :], eos)
        inf = index.infgram_ntd(q, exact=True)
        assert inf["suffix_len"] == n
        assert {k: v["cont_cnt"] for k, v in inf["result_by_token_id"].items()} == dict(suffix_want)
        c = next(iter(suffix_want))
        ip = index.infgram_prob(q, c)
        assert ip["suffix_len"] == n
        assert (ip["prompt_cnt"], ip["cont_cnt"]) == (sum(suffix_want.values()), suffix_want[c])


@SETTINGS
@given(st.lists(st.text(alphabet="ab", max_size=25), min_size=1, max_size=8))
def test_bytes_tiny_alphabet(texts: list[str]) -> None:
    index = build_index(texts, "bytes", max_shard_tokens=40)
    assert index.eos_token_id == 255  # no eos in the manifest: the separator value
    _check(index, [list(t.encode()) for t in texts])


@SETTINGS
@given(
    st.lists(st.text(alphabet="abc ", max_size=20), min_size=1, max_size=8),
    st.sampled_from([200, 300, 70_000]),
)
def test_every_token_width(texts: list[str], vocab: int) -> None:
    tok = CharTokenizer(vocab, alphabet="abc ")
    index = build_index(texts, tok, max_shard_tokens=50, eos_token_id=0)
    _check(index, [tok.encode(t) for t in texts])


def test_text_queries_and_document_ends() -> None:
    index = build_index(["to be or not to be", "to be"], "bytes", eos_token_id=0)
    r = index.ntd("to be")
    assert r["prompt_cnt"] == 3
    assert {k: v["cont_cnt"] for k, v in r["result_by_token_id"].items()} == {0: 2, 32: 1}
    assert index.prob("to be", 0) == {"prob": 2 / 3, "prompt_cnt": 3, "cont_cnt": 2}
    assert index.prob("to", " ")["cont_cnt"] == 3
    assert index.prob("zzz", "a")["prob"] == -1.0
    inf = index.infgram_prob("let it be", " ")
    assert inf["suffix_len"] == len(" be") and inf["cont_cnt"] == 1
    assert index.infgram_ntd("xyz to be")["suffix_len"] == len(" to be")
    assert index.infgram_ntd("xyz to be")["suffix_ids"] == list(b" to be")
    assert index.infgram_prob("let it be", " ")["suffix_ids"] == list(b" be")


def test_sampling_above_max_support_and_exact() -> None:
    index = build_index(["ab" * 300 + "ac" * 200], "bytes", max_support=10)
    a = ord("a")
    sampled = index.ntd("a")
    assert sampled["approx"] is True and sampled["prompt_cnt"] == 500
    exact = index.ntd("a", exact=True)
    assert exact["approx"] is False
    counts = {k: v["cont_cnt"] for k, v in exact["result_by_token_id"].items()}
    assert counts == {ord("b"): 300, ord("c"): 200}
    assert index.ntd([a], max_support=10**30)["approx"] is False  # huge: exact, no crash
    assert index.infgram_ntd("xa", max_support=1)["approx"] is True


def test_invalid_arguments_raise_typed_errors() -> None:
    index = build_index(["abc"], "bytes")
    with pytest.raises(InvalidQueryError):
        index.ntd("a", max_support=0)
    with pytest.raises(InvalidQueryError):
        index.prob("a", True)  # type: ignore[arg-type]
    with pytest.raises(TokenOutOfRangeError):
        index.prob("a", -1)
    with pytest.raises(TokenOutOfRangeError):
        index.prob("a", 256)
    with pytest.raises(TokenOutOfRangeError):
        index.infgram_prob([300], 1)
    with pytest.raises(InvalidQueryError):
        index.prob("a", "bc")  # two tokens
    with pytest.raises(TokenOutOfRangeError):
        build_index(["a"], "bytes", eos_token_id=-1)
    # The eos id is a valid continuation even outside the vocabulary.
    assert index.prob("c", 255) == {"prob": 1.0, "prompt_cnt": 1, "cont_cnt": 1}
