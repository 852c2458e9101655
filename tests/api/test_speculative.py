"""Speculative decoding with index drafts: greedy output with drafts equals plain greedy output.

The model is a deterministic numpy n-gram table (float64 logits from the last two tokens, ties
broken by fixed noise), so its batched and one-token logits agree exactly, and it often agrees
with the corpus, so many drafts are accepted: the equality is tested with drafts that matter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from anygram import Index, build
from anygram.errors import InvalidArgumentError, TokenizerMismatchError, TokenOutOfRangeError
from anygram.speculative import (
    Drafter,
    LlamaCppDraftModel,
    check_tokenizer,
    draft_function,
    draft_price,
    generate_greedy,
    measure_draft_price,
    min_prob_for,
)
from hypothesis import given, settings
from hypothesis import strategies as st

TEXTS = [
    "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n",
    "for i in range(10):\n    print(i)\n",
    "the cat sat on the mat. the dog sat on the log. the cat ran.",
    "In the beginning was the word, and the word was with the text.",
    "static int count(struct list *l) { return l->n; }\n",
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    work = tmp_path_factory.mktemp("spec")
    (work / "c.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    build([work / "c.jsonl"], work / "idx", quiet=True)
    return Index(work / "idx")


class TableModel:
    """Logits after a position from the last three tokens: 4-gram counts of the corpus plus
    fixed noise below 1, as float64; positions are independent, so batching changes nothing."""

    def __init__(self) -> None:
        counts: dict[tuple[int, ...], np.ndarray] = {}
        for t in TEXTS:
            b = t.encode()
            for i in range(3, len(b)):
                counts.setdefault(tuple(b[i - 3 : i]), np.zeros(255))[b[i]] += 1
        self.counts = counts
        # 255 outputs: the byte-level index's vocabulary (255 is its document separator).
        self.noise = np.random.default_rng(7).random((256, 255))
        self.cache: list[int] = []
        self.calls = 0

    def row(self, ctx: Sequence[int]) -> np.ndarray:
        prev = ctx[-1] if ctx else 0
        key = tuple([0, 0, 0, *ctx][-3:])
        return self.counts.get(key, np.zeros(255)) + self.noise[prev]

    def __call__(self, ids: Sequence[int], n_past: int, last_only: bool) -> np.ndarray:
        self.calls += 1
        assert n_past <= len(self.cache)
        self.cache = self.cache[:n_past] + list(ids)
        first = n_past + len(ids) - 1 if last_only else n_past
        return np.stack([self.row(self.cache[: p + 1]) for p in range(first, len(self.cache))])


def prompts() -> st.SearchStrategy[list[int]]:
    from_corpus = st.tuples(st.sampled_from(TEXTS), st.integers(0, 40), st.integers(1, 25)).map(
        lambda x: list(x[0].encode()[x[1] : x[1] + x[2]]) or [32]
    )
    return st.one_of(from_corpus, st.lists(st.integers(0, 254), min_size=1, max_size=12))


@settings(max_examples=60, deadline=None)
@given(
    prompt=prompts(),
    max_new=st.integers(1, 40),
    max_tokens=st.integers(0, 12),
    tokens_per_match=st.sampled_from([0.5, 1.0, 4.0]),
    min_prob=st.sampled_from([0.05, 0.3, 1.0]),
    use_context=st.booleans(),
)
def test_greedy_with_drafts_is_plain_greedy(
    index: Index,
    prompt: list[int],
    max_new: int,
    max_tokens: int,
    tokens_per_match: float,
    min_prob: float,
    use_context: bool,
) -> None:
    plain = generate_greedy(TableModel(), prompt, max_new)
    drafter = Drafter(
        index,
        max_tokens=max_tokens,
        tokens_per_match=tokens_per_match,
        min_prob=min_prob,
        use_context=use_context,
    )
    model = TableModel()
    spec = generate_greedy(model, prompt, max_new, drafter=drafter)
    assert spec["token_ids"] == plain["token_ids"]
    assert spec["gaps"] == plain["gaps"]
    assert spec["steps"] + 1 == model.calls
    assert drafter.stats["accepted"] <= drafter.stats["drafted"]


def test_drafts_are_accepted_and_save_model_calls(index: Index) -> None:
    prompt = list(b"def add(a, b):\n    ret")
    plain_model, spec_model = TableModel(), TableModel()
    plain = generate_greedy(plain_model, prompt, 30)
    drafter = Drafter(index, max_tokens=16)
    spec = generate_greedy(spec_model, prompt, 30, drafter=drafter)
    assert spec["token_ids"] == plain["token_ids"]
    assert bytes(plain["token_ids"]).startswith(b"urn a + b")
    assert spec["accepted"] >= 10 and spec_model.calls < plain_model.calls / 2
    # The drafter read the acceptances off the contexts it was given.
    assert drafter.stats["accepted"] >= 10 and drafter.stats["drafts"] >= 1


class TargetModel(TableModel):
    """A model that writes a fixed text: the corpus' code with every third byte an "x", so
    every index draft is wrong at its first token."""

    PROMPT: ClassVar[list[int]] = list(b"def add(a, b):\n    ")
    TARGET: ClassVar[list[int]] = [
        ord("x") if i % 3 == 2 else b for i, b in enumerate(TEXTS[0].encode()[19:])
    ]

    def row(self, ctx: Sequence[int]) -> np.ndarray:
        out = np.zeros(255)
        i = len(ctx) - len(self.PROMPT)
        out[self.TARGET[i] if 0 <= i < len(self.TARGET) else 0] = 1.0
        return out


def test_calibration_stops_drafts_the_model_rejects(index: Index) -> None:
    n = len(TargetModel.TARGET)
    want = generate_greedy(TargetModel(), TargetModel.PROMPT, n)["token_ids"]
    assert want == TargetModel.TARGET
    runs = {}
    for calibrate in (True, False):
        d = Drafter(index, min_prob=0.5, calibrate=calibrate, use_context=False)
        spec = generate_greedy(TargetModel(), TargetModel.PROMPT, n, drafter=d)
        assert spec["token_ids"] == want
        assert spec["accepted"] < spec["drafted"] / 4  # the drafts are wrong
        runs[calibrate] = spec["drafted"]
    # Calibrated, the drafter soon stops offering them (and tries again now and then).
    assert 0 < runs[True] < runs[False] / 2, runs


def test_draft_tree_and_adapters(index: Index) -> None:
    d = Drafter(index, max_tokens=6, branching=3, min_prob=0.01)
    tree = d.draft_tree(list(b"the "))
    assert tree["source"] == "corpus" and tree["match_len"] == 4
    assert tree["parents"][0] == -1 and len(tree["token_ids"]) == 6
    assert all(p < i for i, p in enumerate(tree["parents"]))
    firsts = {tree["token_ids"][i] for i, p in enumerate(tree["parents"]) if p == -1}
    # "cat" and "word" follow "the " twice each (of 9): their paths (2/9 each) beat "b" (1/9).
    assert firsts == {ord("c"), ord("w")} and tree["probs"] == [2 / 9] * 6
    # numpy contexts (the llama.cpp interface) and lists draft the same.
    ctx = list(b"for i in ran")
    want = Drafter(index).draft(ctx)
    assert bytes(want) == b"ge(10):\n    print(i)\n"[: len(want)] and want
    got = LlamaCppDraftModel(Drafter(index))(np.array(ctx, dtype=np.intc))
    assert got.dtype == np.intc and got.tolist() == want
    assert draft_function(Drafter(index))(ctx) == want


def test_bad_input_is_refused(index: Index) -> None:
    with pytest.raises(InvalidArgumentError):
        Drafter(index, min_prob=0.0)
    with pytest.raises(InvalidArgumentError):
        Drafter(index, branching=0)
    with pytest.raises(TokenOutOfRangeError):
        Drafter(index).draft([1, 2, 300])
    with pytest.raises(TokenOutOfRangeError):
        Drafter(index).draft(np.array([1, -2], dtype=np.int32))


def test_tokenizer_mismatch_is_refused(index: Index, tmp_path: Path) -> None:
    # A byte-level index shares no vocabulary with a BPE model.
    with pytest.raises(TokenizerMismatchError, match="export-tokenizer"):
        check_tokenizer(index, {"a": 0, "b": 1})
    pytest.importorskip("tokenizers")
    vocab = {chr(ord("a") + i): i for i in range(26)}
    doc = {
        "version": "1.0",
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": vocab, "merges": []},
    }
    tok = tmp_path / "tokenizer.json"
    tok.write_text(json.dumps(doc))
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "abcabc"}) + "\n")
    build([tmp_path / "c.jsonl"], tmp_path / "bpe", tokenizer=str(tok), quiet=True)
    bpe = Index(tmp_path / "bpe")
    check_tokenizer(bpe, dict(vocab))
    check_tokenizer(bpe, tok)
    swapped = {**vocab, "a": 1, "b": 0}
    with pytest.raises(TokenizerMismatchError, match="id 0 is 'a' in the index and 'b'"):
        check_tokenizer(bpe, swapped)
    with pytest.raises(TokenizerMismatchError, match="1 tokens the index does not know"):
        check_tokenizer(bpe, {**vocab, "zz": 26})
    with pytest.raises(TokenizerMismatchError):
        LlamaCppDraftModel(Drafter(bpe), swapped)


def test_draft_price_is_a_drafted_tokens_share_of_a_step() -> None:
    # A pass of n tokens costs 7 ms + 12 ms per token: a drafted token is 12/19 of a step.
    line = {n: 0.007 + 0.012 * n for n in (1, 2, 5, 9)}
    assert draft_price(line) == pytest.approx(12 / 19)
    assert draft_price({1: 0.02, 9: 0.02}) == 0.01  # batches for free: the floor
    assert draft_price({1: 0.01, 9: 0.5}) == 1.0  # dearer than one-token passes: the ceiling
    # Not linear (Q8_0 on a CPU): a short draft costs a step, a long one 0.4 per token.
    assert draft_price({1: 0.015, 2: 0.030, 9: 0.015 + 8 * 0.006}) == pytest.approx(0.7)
    assert min_prob_for(12 / 19) == pytest.approx(1.2 * 12 / 19)
    assert (min_prob_for(0.01), min_prob_for(1.0)) == (0.05, 0.95)
    for bad in ({1: 0.02}, {0: 0.01, 1: 0.02}, {2: 0.01, 9: 0.02}):
        with pytest.raises(InvalidArgumentError):
            draft_price(bad)


def test_measured_price_leaves_generation_unchanged(index: Index) -> None:
    model = TableModel()
    prompt = list(b"def add(a, b):")
    price = measure_draft_price(model, prompt, reps=2)
    assert 0.01 <= price <= 1.0
    drafter = Drafter(index, min_prob=min_prob_for(price))
    spec = generate_greedy(model, prompt, 20, drafter=drafter)
    assert spec["token_ids"] == generate_greedy(TableModel(), prompt, 20)["token_ids"]
