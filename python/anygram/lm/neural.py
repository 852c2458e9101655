"""The neural side of the mixture: any callable from token ids to log-probabilities.

A :class:`NeuralLM` takes a 1-D ``numpy.int64`` array ``ids`` (at most the window the caller
asks for; token ids of the index's vocabulary, which must be the model's own) and returns
either

- a ``(len(ids), V)`` array whose row ``i`` is the model's next-token distribution after
  ``ids[:i]`` (row 0: after the start of text, however the model marks it), as
  log-probabilities or unnormalized logits (rows are normalized here); ``V`` covers every id
  of the index. Whole distributions enable the entropy-aware mixture and generation; or
- a ``(len(ids),)`` array: ``log P(ids[i] | ids[:i])`` only. Enough for the paper's mixtures.

Adapters: :class:`~anygram.lm.llama_cpp_model.LlamaCppLM` (GGUF through ``llama-cpp-python``)
and :class:`~anygram.lm.hf_model.TransformersLM` (a local ``transformers`` causal LM).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["NeuralLM", "log_softmax", "neural_rows", "next_token_logprobs", "row_stats"]


class NeuralLM(Protocol):
    def __call__(self, ids: np.ndarray) -> np.ndarray: ...


def log_softmax(rows: np.ndarray) -> np.ndarray:
    """Rows of logits (or log-probabilities) as normalized log-probabilities, float64."""
    rows = np.asarray(rows, dtype=np.float64)
    top = rows.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return rows - (top + np.log(np.exp(rows - top).sum(axis=-1, keepdims=True)))


def _call(neural: NeuralLM, ids: np.ndarray) -> np.ndarray:
    out = np.asarray(neural(ids))
    if out.ndim == 1 and out.shape == (len(ids),):
        return out.astype(np.float64)
    if out.ndim == 2 and out.shape[0] == len(ids):
        if len(ids) and int(ids.max()) >= out.shape[1]:
            raise InvalidArgumentError(
                f"the neural model's distributions cover {out.shape[1]} ids but token "
                f"{int(ids.max())} occurs: the index must be built with the model's tokenizer"
            )
        return out
    raise InvalidArgumentError(
        f"the neural model returned shape {out.shape} for {len(ids)} tokens; expected "
        f"({len(ids)},) log-probabilities or ({len(ids)}, vocab) distributions"
    )


def neural_rows(neural: NeuralLM, ids: np.ndarray, window: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, rows)`` covering ``ids`` in order: rows for ``ids[start:start+len(rows)]``, each
    computed with at most ``window`` tokens of context, at least ``window // 2`` once past the
    first window. Rows are as the model returned them (not normalized: see
    :func:`row_stats`)."""
    n = len(ids)
    if n <= window:
        yield 0, _call(neural, ids)
        return
    stride = max(1, window // 2)
    yield 0, _call(neural, ids[:window])
    done = window
    while done < n:
        end = min(n, done + stride)
        ctx = end - window
        rows = _call(neural, ids[ctx:end])
        yield done, rows[done - ctx :]
        done = end


def next_token_logprobs(neural: NeuralLM, context: np.ndarray, window: int) -> np.ndarray:
    """The neural model's distribution of the token after ``context`` (its last ``window - 1``
    tokens), as normalized log-probabilities.

    The callable returns row ``i`` for ``ids[:i]``, so the next token's row needs one more
    position: the context is followed by a placeholder token whose own row is the answer."""
    if window < 2:
        raise InvalidArgumentError(f"window must be at least 2, not {window}")
    ctx = np.asarray(context, dtype=np.int64)
    ctx = ctx[max(0, len(ctx) - (window - 1)) :]
    probe = np.concatenate([ctx, np.zeros(1, dtype=np.int64)])
    rows = _call(neural, probe)
    if rows.ndim != 2:
        raise InvalidArgumentError(
            "generating with a neural model needs one that returns whole distributions"
        )
    return log_softmax(rows[-1])


def row_stats(
    rows: np.ndarray, tokens: np.ndarray, other: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From rows of logits (any normalization): the log-probability of ``tokens[i]`` in row
    ``i``, each row's entropy and top log-probability, and the log-probability of ``other[i]``
    (NaN where it is negative or outside the rows). One pass of ``exp`` over the rows, in their
    own precision (float32 logits of a 49k vocabulary are 200 KB a row)."""
    at = np.arange(len(rows))
    top = rows.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    shifted = rows - top
    e = np.exp(shifted)
    total = e.sum(axis=1, dtype=np.float64)
    # Σ p·x over the finite entries (a -inf logit has p = 0).
    px = np.einsum("ij,ij->i", e, np.where(e > 0, shifted, 0), dtype=np.float64) / total
    lse = np.log(total)  # of the shifted rows
    lp = shifted[at, tokens].astype(np.float64) - lse
    entropy = lse - px
    top_lp = -lse
    has = (other >= 0) & (other < rows.shape[1])
    other_lp = np.full(len(rows), np.nan)
    other_lp[has] = shifted[at[has], other[has]].astype(np.float64) - lse[has]
    return lp, entropy, top_lp, other_lp
