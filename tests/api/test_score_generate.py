"""Index.score against brute force at every position (hypothesis), every token width, one shard
and several; Index.generate: determinism, greedy and top-k, only continuations that exist,
stopping at a document end, argument errors."""

from __future__ import annotations

import anygram
import pytest
from anygram.errors import AnygramError, TokenOutOfRangeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CharTokenizer, brute_ntd, build_index

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check_score(index: anygram.Index, docs: list[list[int]], ids: list[int]) -> None:
    eos = index.eos_token_id
    r = index.score(ids)
    assert r["token_ids"] == ids
    for i, t in enumerate(ids):
        ctx = ids[:i]
        n = next(n for n in range(len(ctx), -1, -1) if brute_ntd(docs, ctx[len(ctx) - n :], eos))
        want = brute_ntd(docs, ctx[len(ctx) - n :], eos)
        total = sum(want.values())
        assert r["suffix_len"][i] == n and r["effective_n"][i] == n + 1, (ids, i)
        assert (r["prompt_cnt"][i], r["cont_cnt"][i]) == (total, want[t]), (ids, i)
        assert r["prob"][i] == want[t] / total
        assert index.infgram_prob(ctx, t) == {
            "prob": r["prob"][i],
            "prompt_cnt": total,
            "cont_cnt": want[t],
            "suffix_len": n,
            "suffix_ids": ctx[len(ctx) - n :],
        }
        assert r["sparse"][i] == (len(want) == 1)


@SETTINGS
@given(
    st.lists(st.text(alphabet="ab", max_size=25), min_size=1, max_size=8),
    st.text(alphabet="abc", max_size=40),
)
def test_score_bytes_tiny_alphabet(texts: list[str], text: str) -> None:
    index = build_index(texts, "bytes", max_shard_tokens=40)
    docs = [list(t.encode()) for t in texts]
    _check_score(index, docs, list(text.encode()))
    _check_score(index, docs, docs[0])


@SETTINGS
@given(
    st.lists(st.text(alphabet="abc ", max_size=20), min_size=1, max_size=8),
    st.text(alphabet="abc ", max_size=30),
    st.sampled_from([200, 300, 70_000]),
)
def test_score_every_token_width(texts: list[str], text: str, vocab: int) -> None:
    tok = CharTokenizer(vocab, alphabet="abc ")
    # eos 0 is also a real token here: its counts add up, as in infgram_prob.
    index = build_index(texts, tok, max_shard_tokens=50, eos_token_id=0)
    _check_score(index, [tok.encode(t) for t in texts], tok.encode(text))


def test_score_text_numpy_and_errors() -> None:
    np = pytest.importorskip("numpy")
    index = build_index(["to be or not to be"], "bytes")
    r = index.score("to be")
    assert r["effective_n"] == [1, 2, 3, 4, 5]
    assert index.score(np.array(list(b"to be"), dtype=np.uint16))["prob"] == r["prob"]
    assert index.score("")["prob"] == []
    assert index.score("zz")["prob"] == [0.0, 0.0]
    with pytest.raises(TokenOutOfRangeError):
        index.score([1, 256])


def test_generate_deterministic_greedy_and_topk() -> None:
    index = build_index(["the cat sat on the mat", "the cat ate the rat", "the dog sat"], "bytes")
    a = index.generate("the ", 20, seed=7)
    assert a == index.generate("the ", 20, seed=7)
    assert a["stop"] in ("eos", "length")
    greedy = index.generate("the c", 30, temperature=0)
    assert greedy == index.generate("the c", 30, top_k=1, seed=1)
    assert greedy["text"] == "at ate the rat"  # ties: smallest id and greedy["stop"] == "eos"
    # Every sampled token follows the context's longest suffix in the index.
    for seed in range(5):
        ctx = list(b"the ")
        g = index.generate(ctx, 15, temperature=2.0, top_k=3, seed=seed)
        assert len(g["token_ids"]) == len(g["suffix_len"]) <= 15
        for t in g["token_ids"]:
            assert index.infgram_prob(ctx, t)["cont_cnt"] > 0
            ctx.append(t)
    assert index.generate("the", 0)["token_ids"] == []
    import time

    late = index.generate("the ", 20, seed=7, deadline=time.monotonic() - 1)
    assert late["token_ids"] == [] and late["stop"] == "deadline"
    assert index.generate("the ", 20, seed=7, deadline=time.monotonic() + 60) == a


def test_generate_bad_arguments() -> None:
    index = build_index(["abc"], "bytes")
    for kwargs in (
        {"max_new_tokens": -1},
        {"max_new_tokens": 2, "temperature": -1.0},
        {"max_new_tokens": 2, "temperature": float("nan")},
        {"max_new_tokens": 2, "top_k": 0},
        {"max_new_tokens": 2, "seed": -3},
    ):
        with pytest.raises(AnygramError):
            index.generate("a", **kwargs)  # type: ignore[arg-type]
