"""Sampling from the interpolated model: at each step the exact ∞-gram distribution of the
whole context (:meth:`Index.infgram_ntd`) and the neural model's, mixed with the weight the
:class:`Mixture` gives that context."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError, TokenizerError
from .features import TokenFeatures
from .mixture import Mixture
from .neural import NeuralLM, next_token_logprobs

if TYPE_CHECKING:
    from ..index import Index, Query

__all__ = ["generate_mixed", "mixed_distribution"]


def _context_features(
    ntd: dict[str, Any], half: dict[str, Any], row: np.ndarray, position: int
) -> TokenFeatures:
    """The context-only facts a mixture weight uses, for one position."""
    counts = ntd["result_by_token_id"]
    sole = next(iter(counts)) if len(counts) == 1 else -1
    # The most frequent next token, ties to the smallest id (as next_token_summary).
    mode, top = min(
        ((int(t), v["cont_cnt"]) for t, v in counts.items()), key=lambda x: (-x[1], x[0])
    )
    finite = np.where(np.isfinite(row), row, 0.0)
    probs = np.exp(row)
    one = np.ones(1)
    return TokenFeatures(
        token_ids=np.zeros(1, dtype=np.int64),
        doc=np.zeros(1, dtype=np.int64),
        infgram_prob=np.zeros(1),
        suffix_len=np.array([ntd["suffix_len"]], dtype=np.int64),
        prompt_cnt=np.array([ntd["prompt_cnt"]], dtype=np.int64),
        sparse=np.array([sole >= 0]),
        sole_next=np.array([sole], dtype=np.int64),
        distinct=np.array([len(counts)], dtype=np.int64),
        mode=np.array([mode], dtype=np.int64),
        mode_prob=np.array([top / max(1, ntd["prompt_cnt"])]),
        half_prob=np.zeros(1),
        half_prompt_cnt=np.array([half["prompt_cnt"]], dtype=np.int64),
        position=np.array([position], dtype=np.int64),
        neural_logprob=np.zeros(1),
        neural_entropy=one * float(-(probs * finite).sum()),
        neural_max_logprob=one * float(row.max()),
        neural_mode_logprob=one * (float(row[mode]) if 0 <= mode < len(row) else np.nan),
    )


def mixed_distribution(
    index: Index,
    neural: NeuralLM,
    mixture: Mixture,
    context: list[int],
    window: int = 1024,
) -> tuple[np.ndarray, dict[str, Any], float]:
    """The interpolated next-token distribution after ``context`` over the neural model's
    vocabulary, with the ∞-gram answer behind it and the ∞-gram weight λ used. The half-suffix
    estimate is the exact ``ntd`` of the last ``suffix_len // 2`` tokens."""
    ntd = index.infgram_ntd(context, exact=True)
    h = ntd["suffix_len"] // 2
    half = index.ntd(context[len(context) - h :] if h else [], exact=True)
    row = next_token_logprobs(neural, np.asarray(context, dtype=np.int64), window)
    w = mixture.component_weights(_context_features(ntd, half, row, len(context)))[0]
    p = w[2] * np.exp(row)
    for weight, dist in ((w[0], ntd), (w[1], half)):
        if weight == 0:
            continue
        for tok, v in dist["result_by_token_id"].items():
            if tok >= len(p) and tok == index.eos_token_id:
                # Document ends under an id the model lacks (the separator value): dropped,
                # the rest renormalized.
                continue
            if tok >= len(p):
                raise InvalidArgumentError(
                    f"token {tok} is outside the neural model's vocabulary ({len(p)}): "
                    "the index must be built with the model's tokenizer"
                )
            p[tok] += weight * v["prob"]
    return p / p.sum(), ntd, float(w[0])


def generate_mixed(
    index: Index,
    prompt: Query,
    max_new_tokens: int,
    neural: NeuralLM,
    mixture: Mixture,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    window: int = 1024,
    deadline: float | None = None,
) -> dict[str, Any]:
    """:meth:`Index.generate` from the interpolated model (its arguments are checked there).
    Adds ``"weight"``: the λ used at each step."""
    from .. import _core
    from ..index import _seed

    sampler = _core.Sampler(_seed(seed))
    context = list(index._ids(prompt))
    eos = index.eos_token_id
    out: list[int] = []
    suffix_lens: list[int] = []
    weights: list[float] = []
    stop = "length"
    for _ in range(max_new_tokens):
        if deadline is not None and time.monotonic() >= deadline:
            stop = "deadline"
            break
        p, ntd, lam = mixed_distribution(index, neural, mixture, context, window)
        # The engine's sampler: most probable first, ties by id, top_k, temperature.
        drawn = sampler.sample(
            range(len(p)), p.tolist(), temperature=float(temperature), top_k=top_k
        )
        tok = eos if drawn is None else drawn
        if tok == eos:
            stop = "eos"
            break
        out.append(tok)
        suffix_lens.append(int(ntd["suffix_len"]))
        weights.append(lam)
        context.append(tok)
    text: str | None
    try:
        text = index.decode(out)
    except TokenizerError:
        text = None
    return {
        "token_ids": out,
        "text": text,
        "suffix_len": suffix_lens,
        "weight": weights,
        "stop": stop,
    }
