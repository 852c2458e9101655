"""anygram.lm: features, fitted mixtures, generation and the report, driven by a numpy bigram
model standing in for the neural LM (no model files, no downloads)."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from anygram.errors import InvalidArgumentError
from anygram.lm import (
    Mixture,
    TokenFeatures,
    fit_and_report,
    fit_mixture,
    interpolation_report,
    mixed_distribution,
    perplexity,
    score_documents,
    split_documents,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ..conftest import build_index

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "while",
    "dogs",
    "ran",
    "far",
    "away",
    "from",
    "every",
    "red",
    "house",
]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))) for _ in range(n)]


class Bigram:
    """Add-one bigram over bytes, trained on ``texts``: row i is P(. | ids[i-1]) (row 0: after
    the start, which this model treats as a space)."""

    def __init__(self, texts: list[str], vocab: int = 256) -> None:
        counts = np.ones((vocab, vocab))
        for t in texts:
            b = list(b" " + t.encode())
            np.add.at(counts, (b[:-1], b[1:]), 1)
        self.table = np.log(counts / counts.sum(axis=1, keepdims=True))
        self.calls: list[int] = []

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        self.calls.append(len(ids))
        prev = np.concatenate([[ord(" ")], ids[:-1]]).astype(np.int64)
        return self.table[prev]


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    train = _texts(300, 1)
    held = _texts(40, 2) + train[:10]  # some held-out text repeats the corpus
    index = build_index(train, "bytes")
    return {"index": index, "train": train, "held": held, "bigram": Bigram(train)}


def test_features_match_score_and_the_model(corpus: dict[str, Any]) -> None:
    index, bigram = corpus["index"], corpus["bigram"]
    docs = corpus["held"][:6]
    f = score_documents(index, bigram, docs, window=16, progress=False)
    ids = [index.tokenize(d) for d in docs]
    assert len(f) == sum(map(len, ids))
    at = 0
    for k, d in enumerate(ids):
        r = index.score(d)
        sl = slice(at, at + len(d))
        assert f.doc[sl].tolist() == [k] * len(d)
        assert f.infgram_prob[sl].tolist() == r["prob"]
        assert f.suffix_len[sl].tolist() == r["suffix_len"]
        assert f.sparse[sl].tolist() == r["sparse"]
        prev = [ord(" "), *d[:-1]]
        rows = bigram.table[prev]
        np.testing.assert_allclose(f.neural_logprob[sl], rows[np.arange(len(d)), d], atol=1e-9)
        p = np.exp(rows)
        np.testing.assert_allclose(f.neural_entropy[sl], -(p * rows).sum(axis=1), atol=1e-9)
        np.testing.assert_allclose(f.neural_max_logprob[sl], rows.max(axis=1), atol=1e-9)
        assert f.position[sl].tolist() == list(range(len(d)))
        for i in range(len(d)):
            ntd = index.infgram_ntd(d[:i], exact=True)
            counts = {t: v["cont_cnt"] for t, v in ntd["result_by_token_id"].items()}
            mode = min(counts, key=lambda t: (-counts[t], t))
            assert f.distinct[at + i] == len(counts)
            assert f.mode[at + i] == mode
            assert f.mode_prob[at + i] == counts[mode] / ntd["prompt_cnt"]
            assert f.sole_next[at + i] == (mode if len(counts) == 1 else -1)
            h = int(f.suffix_len[at + i]) // 2
            half = index.prob(d[i - h : i] if h else [], d[i])
            assert f.half_prompt_cnt[at + i] == half["prompt_cnt"]
            assert f.half_prob[at + i] == pytest.approx(max(half["prob"], 0.0))
            got = f.neural_mode_logprob[at + i]
            assert (math.isnan(got) and mode >= 256) or got == pytest.approx(rows[i, mode])
        at += len(d)


def test_sparse_means_one_next_token(corpus: dict[str, Any]) -> None:
    index = corpus["index"]
    d = index.tokenize(corpus["held"][0])
    r = index.score(d)
    for i in range(len(d)):
        ntd = index.infgram_ntd(d[:i], exact=True)["result_by_token_id"]
        assert r["sparse"][i] == (len(ntd) == 1)
        assert r["sole_next"][i] == (next(iter(ntd)) if len(ntd) == 1 else -1)


class ContextProbe:
    """A model whose row i says how many tokens of context it saw: all mass on token i."""

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        rows = np.full((len(ids), 4096), -np.inf)
        rows[np.arange(len(ids)), np.arange(len(ids))] = 0.0
        return rows


@pytest.mark.parametrize("window", [2, 3, 8, 33])
def test_windows_give_every_token_enough_context(window: int) -> None:
    from anygram.lm.neural import neural_rows

    ids = np.arange(100, dtype=np.int64)
    seen = np.concatenate(
        [rows.argmax(axis=1) for _, rows in neural_rows(ContextProbe(), ids, window)]
    )
    assert len(seen) == len(ids)
    assert (seen < window).all()
    assert (seen[window:] >= window // 2).all()
    assert (seen[:window] == np.arange(min(window, 100))).all()


def test_per_token_logprob_models_work_without_distributions(corpus: dict[str, Any]) -> None:
    index, bigram = corpus["index"], corpus["bigram"]

    def per_token(ids: np.ndarray) -> np.ndarray:
        rows = bigram(ids)
        return rows[np.arange(len(ids)), ids]

    dev, test = split_documents(corpus["held"])
    fd = score_documents(index, per_token, dev, progress=False)
    assert not fd.has_distributions
    m = fit_mixture(fd, "gated")
    assert "entropy*sparse" not in m.params["columns"]
    ft = score_documents(index, per_token, test, progress=False)
    assert np.isfinite(m.logprob(ft)).all()


def _grid_best(a: np.ndarray, b: np.ndarray) -> float:
    grid = np.linspace(0, 1, 2001)
    return float(grid[int(np.argmax([_loglik(g, a, b) for g in grid]))])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.floats(1e-6, 1), st.booleans(), st.integers(0, 30)),
        min_size=2,
        max_size=60,
    )
)
def test_paper_weights_maximize_dev_likelihood(rows: list[tuple[float, float, bool, int]]) -> None:
    f = _features(rows)
    m = fit_mixture(f, "paper")
    for flag, key in ((True, "sparse"), (False, "dense")):
        sel = f.sparse == flag
        if not sel.any():
            continue
        a, b = f.infgram_prob[sel], np.exp(f.neural_logprob[sel])
        best = _grid_best(a, b)
        assert _loglik(m.params[key], a, b) >= _loglik(best, a, b) - 1e-6


def _loglik(g: float, a: np.ndarray, b: np.ndarray) -> float:
    return float(np.log(np.maximum(g * a + (1 - g) * b, 1e-300)).sum())


def _features(rows: list[tuple[float, float, bool, int]]) -> TokenFeatures:
    n = len(rows)
    a = np.array([r[0] for r in rows])
    b = np.array([r[1] for r in rows])
    return TokenFeatures(
        token_ids=np.zeros(n, dtype=np.int64),
        doc=np.zeros(n, dtype=np.int64),
        infgram_prob=a,
        suffix_len=np.array([r[3] for r in rows], dtype=np.int64),
        prompt_cnt=np.array([r[3] + 1 for r in rows], dtype=np.int64),
        sparse=np.array([r[2] for r in rows]),
        sole_next=np.where([r[2] for r in rows], 1, -1).astype(np.int64),
        distinct=np.where([r[2] for r in rows], 1, 3).astype(np.int64),
        mode=np.ones(n, dtype=np.int64),
        mode_prob=np.where([r[2] for r in rows], 1.0, 0.5),
        half_prob=a,
        half_prompt_cnt=np.array([r[3] + 5 for r in rows], dtype=np.int64),
        position=np.arange(n, dtype=np.int64),
        neural_logprob=np.log(b),
        neural_entropy=np.full(n, np.nan),
        neural_max_logprob=np.full(n, np.nan),
        neural_mode_logprob=np.full(n, np.nan),
    )


def test_richer_schemes_never_fit_dev_worse(corpus: dict[str, Any]) -> None:
    index, bigram = corpus["index"], corpus["bigram"]
    dev, test = split_documents(corpus["held"])
    fd = score_documents(index, bigram, dev, progress=False)
    ft = score_documents(index, bigram, test, progress=False)
    dev_ppl = {s: perplexity(fit_mixture(fd, s).logprob(fd)) for s in ("paper", "buckets", "gated")}
    assert dev_ppl["buckets"] <= dev_ppl["paper"] * (1 + 1e-9)
    assert dev_ppl["gated"] <= dev_ppl["buckets"] * (1 + 1e-6)
    report, mixtures = fit_and_report(fd, ft)
    # Held-out text that repeats the corpus: the ∞-gram helps the bigram a lot.
    assert report["mixtures"]["gated"]["perplexity"] < 0.8 * report["neural_perplexity"]
    assert report["neural_perplexity"] == pytest.approx(perplexity(ft.neural_logprob))
    assert set(mixtures) == {"paper", "buckets", "gated"}


def test_mixed_distribution_sums_to_one_and_matches_scoring(corpus: dict[str, Any]) -> None:
    index, bigram = corpus["index"], corpus["bigram"]
    dev, _ = split_documents(corpus["held"])
    fd = score_documents(index, bigram, dev, progress=False)
    doc = index.tokenize(corpus["held"][1])
    f = score_documents(index, bigram, [doc], progress=False)
    for scheme in ("paper", "buckets", "gated"):
        m = fit_mixture(fd, scheme)
        lp = m.logprob(f)
        for i in (0, 1, len(doc) // 2, len(doc) - 1):
            p, _, lam = mixed_distribution(index, bigram, m, doc[:i])
            assert p.sum() == pytest.approx(1.0)
            assert lam == pytest.approx(m.weights(f)[i])
            w = m.component_weights(f)
            np.testing.assert_allclose(w.sum(axis=1), 1.0)
            assert (w >= 0).all()
            assert math.log(p[doc[i]]) == pytest.approx(lp[i], abs=1e-9)


def test_constant_weight_one_generates_like_the_infgram_model(corpus: dict[str, Any]) -> None:
    index, bigram = corpus["index"], corpus["bigram"]
    prompt = "the cat sat"
    plain = index.generate(prompt, 20, temperature=0)
    mixed = index.generate(prompt, 20, temperature=0, neural=bigram, mixture=1.0)
    assert mixed["token_ids"] == plain["token_ids"]
    assert mixed["weight"] == [1.0] * len(mixed["token_ids"])
    a = index.generate(prompt, 30, seed=5, neural=bigram, mixture=0.5, top_k=5)
    b = index.generate(prompt, 30, seed=5, neural=bigram, mixture=0.5, top_k=5)
    assert a == b
    # λ = 0: the bigram's own greedy continuation.
    zero = index.generate("the", 5, temperature=0, neural=bigram, mixture=0.0)
    ctx = index.tokenize("the")
    for t in zero["token_ids"]:
        assert t == int(np.argmax(bigram.table[ctx[-1]]))
        ctx.append(t)


def test_mixture_and_features_round_trip(tmp_path: Any, corpus: dict[str, Any]) -> None:
    index, bigram = corpus["index"], corpus["bigram"]
    f = score_documents(index, bigram, corpus["held"][:8], progress=False)
    f.save(tmp_path / "f.npz")
    g = TokenFeatures.load(tmp_path / "f.npz")
    for name in ("infgram_prob", "neural_entropy", "sparse", "sole_next"):
        np.testing.assert_array_equal(getattr(f, name), getattr(g, name))
    m = fit_mixture(f, "gated")
    m.save(tmp_path / "m.json")
    np.testing.assert_array_equal(Mixture.load(tmp_path / "m.json").weights(f), m.weights(f))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InvalidArgumentError, match="not a saved mixture"):
        Mixture.load(tmp_path / "bad.json")


def test_report_end_to_end(corpus: dict[str, Any]) -> None:
    report, _ = interpolation_report(
        corpus["index"], corpus["bigram"], corpus["held"], max_test_tokens=500, progress=False
    )
    assert report["test_tokens"] == 500
    assert report["dev_tokens"] > 0
    for s in ("paper", "buckets", "gated"):
        r = report["mixtures"][s]
        assert r["perplexity"] < report["neural_perplexity"]
        assert r["reduction"] == pytest.approx(1 - r["perplexity"] / report["neural_perplexity"])
    assert sum(b["tokens"] for b in report["by_effective_n"]) == 500


def test_bad_input_is_refused(corpus: dict[str, Any]) -> None:
    index = corpus["index"]
    with pytest.raises(InvalidArgumentError, match="shape"):
        score_documents(index, lambda ids: np.zeros((len(ids), 3, 2)), ["abc"], progress=False)
    with pytest.raises(InvalidArgumentError, match="tokenizer"):
        score_documents(index, lambda ids: np.zeros((len(ids), 10)), ["abc"], progress=False)
    with pytest.raises(InvalidArgumentError, match="no tokens"):
        fit_mixture(TokenFeatures.empty())
    with pytest.raises(InvalidArgumentError, match="scheme"):
        fit_mixture(score_documents(index, corpus["bigram"], ["a cat"], progress=False), "magic")
    with pytest.raises(InvalidArgumentError, match="mixture"):
        index.generate("the", 3, neural=corpus["bigram"])
    with pytest.raises(InvalidArgumentError, match=r"\[0, 1\]"):
        index.generate("the", 3, neural=corpus["bigram"], mixture=1.5)
    with pytest.raises(InvalidArgumentError, match="window"):
        score_documents(index, corpus["bigram"], ["abc"], window=1, progress=False)
    from anygram.errors import TokenOutOfRangeError

    with pytest.raises(TokenOutOfRangeError):
        index.next_token_summary([1, 10**6])
    assert index.next_token_summary([])["mode"] == []
    with pytest.raises(InvalidArgumentError, match="dev and a test"):
        interpolation_report(index, corpus["bigram"], ["only one document"], progress=False)
    f = score_documents(index, corpus["bigram"], corpus["held"][:4], progress=False)
    broken = fit_mixture(f, "gated")
    broken.params["theta"] = broken.params["theta"][:1]
    with pytest.raises(InvalidArgumentError, match="shape"):
        broken.logprob(f)
    broken.params["columns"] = ["something else"]
    with pytest.raises(InvalidArgumentError, match="different features"):
        broken.logprob(f)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.0, 1.0, 0.5]) | st.floats(0, 1),
            st.floats(1e-9, 1),
            st.booleans(),
            st.integers(0, 70),
        ),
        min_size=3,
        max_size=80,
    )
)
def test_every_scheme_fits_any_dev_set(rows: list[tuple[float, float, bool, int]]) -> None:
    """Zeros, certainties and tiny neural probabilities included: weights are a distribution,
    log-probabilities finite, and each richer scheme fits dev at least as well."""
    f = _features(rows)
    nll = {}
    for scheme in ("paper", "buckets", "gated"):
        m = fit_mixture(f, scheme)
        w = m.component_weights(f)
        assert (w >= 0).all() and np.allclose(w.sum(axis=1), 1.0)
        lp = m.logprob(f)
        assert np.isfinite(lp).all()
        nll[scheme] = -float(lp.sum())
    assert nll["buckets"] <= nll["paper"] + 1e-6 * abs(nll["paper"]) + 1e-9
    assert nll["gated"] <= nll["buckets"] + 1e-6 * abs(nll["buckets"]) + 1e-9
