"""Per-token facts of both models over a set of documents: what the mixing weights are fitted
on and applied to.

The ∞-gram side comes from one :meth:`Index.score` call per document (engine side, no Python
loop per token): the probability, the back-off suffix length, its count and whether the estimate
is sparse. The neural side comes from a :class:`NeuralLM`: per-token log-probabilities, and, when
it returns whole distributions, their entropy, their top log-probability and the log-probability
it gives to the ∞-gram's most likely next token. The ∞-gram side also has the shape of its
next-token distribution (:meth:`Index.next_token_summary`: distinct tokens, the most frequent).
Everything a mixing weight may use depends on the context only, never on the token being
predicted, so every mixture is a proper distribution over the vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core
from ..errors import InvalidArgumentError
from ..progress import progress as progress_bar
from .neural import NeuralLM, neural_rows, row_stats

if TYPE_CHECKING:
    from ..index import Index

__all__ = ["TokenFeatures", "score_documents"]


@dataclass
class TokenFeatures:
    """One entry per scored token, concatenated over documents (``doc`` says which)."""

    token_ids: np.ndarray
    doc: np.ndarray
    #: ∞-gram probability given the whole preceding context of the document (0 when the token
    #: never follows the longest matching suffix).
    infgram_prob: np.ndarray
    suffix_len: np.ndarray
    prompt_cnt: np.ndarray
    #: The longest suffix is always followed by one token (the paper's "sparse" estimate).
    sparse: np.ndarray
    #: That token, or -1.
    sole_next: np.ndarray
    #: Distinct tokens following the longest suffix (its exact ``infgram_ntd``).
    distinct: np.ndarray
    #: The most frequent of them (ties to the smallest id) and its probability.
    mode: np.ndarray
    mode_prob: np.ndarray
    #: A second ∞-gram estimate of the token: from the suffix of half the longest one's length
    #: (more occurrences, smoother), and that suffix's count.
    half_prob: np.ndarray
    half_prompt_cnt: np.ndarray
    #: Tokens of context before this one in its document (as far as it was scored).
    position: np.ndarray
    neural_logprob: np.ndarray
    #: Entropy (nats) of the neural next-token distribution; NaN when the model gives only
    #: per-token log-probabilities.
    neural_entropy: np.ndarray
    #: The neural model's highest log-probability at the position (NaN as above).
    neural_max_logprob: np.ndarray
    #: The neural log-probability of ``mode``, the ∞-gram's most likely token (NaN as above).
    neural_mode_logprob: np.ndarray

    def __len__(self) -> int:
        return len(self.token_ids)

    @property
    def effective_n(self) -> np.ndarray:
        return self.suffix_len + 1

    @property
    def has_distributions(self) -> bool:
        """The neural model returned whole distributions (entropy and friends are known)."""
        return len(self) > 0 and not bool(np.isnan(self.neural_entropy).all())

    def select(self, mask: np.ndarray) -> TokenFeatures:
        return TokenFeatures(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    def save(self, path: str | Path) -> None:
        """As a ``.npz`` archive (reload with :meth:`load`): fit mixtures without rescoring."""
        np.savez_compressed(path, **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: str | Path) -> TokenFeatures:
        with np.load(path) as z:
            return cls(**{f.name: z[f.name] for f in fields(cls)})

    @classmethod
    def concat(cls, parts: Sequence[TokenFeatures]) -> TokenFeatures:
        if not parts:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    @classmethod
    def empty(cls) -> TokenFeatures:
        ints = {"token_ids", "doc", "suffix_len", "prompt_cnt", "sole_next", "distinct", "mode"}
        ints |= {"position", "half_prompt_cnt"}
        return cls(
            **{
                f.name: np.zeros(
                    0, dtype=np.int64 if f.name in ints else bool if f.name == "sparse" else float
                )
                for f in fields(cls)
            }
        )


def _infgram_part(index: Index, ids: list[int]) -> dict[str, np.ndarray]:
    """The ∞-gram facts of one document; longer ones than the engine takes in one query are
    scored in pieces (each piece's context starts at the piece)."""
    step = _core.MAX_QUERY_TOKENS
    keys: tuple[str, ...] = ("prob", "suffix_len", "prompt_cnt", "sole_next", "distinct")
    keys += ("mode", "mode_cnt", "half_prompt_cnt", "half_cont_cnt")
    cols: dict[str, list[Any]] = {k: [] for k in keys}
    for start in range(0, len(ids), step):
        piece = ids[start : start + step]
        r = {**index.score(piece), **index.next_token_summary(piece)}
        for k in cols:
            cols[k].extend(r[k])
    sole = np.asarray(cols["sole_next"], dtype=np.int64)
    prompt_cnt = np.asarray(cols["prompt_cnt"], dtype=np.int64)
    return {
        "infgram_prob": np.asarray(cols["prob"], dtype=np.float64),
        "suffix_len": np.asarray(cols["suffix_len"], dtype=np.int64),
        "prompt_cnt": prompt_cnt,
        "sparse": sole >= 0,
        "sole_next": sole,
        "distinct": np.asarray(cols["distinct"], dtype=np.int64),
        "mode": np.asarray(cols["mode"], dtype=np.int64),
        "mode_prob": np.asarray(cols["mode_cnt"], dtype=np.float64) / np.maximum(prompt_cnt, 1),
        "half_prob": np.asarray(cols["half_cont_cnt"], dtype=np.float64)
        / np.maximum(np.asarray(cols["half_prompt_cnt"], dtype=np.float64), 1),
        "half_prompt_cnt": np.asarray(cols["half_prompt_cnt"], dtype=np.int64),
        "position": np.arange(len(ids), dtype=np.int64),
    }


def _neural_part(
    neural: NeuralLM, ids: list[int], mode: np.ndarray, window: int
) -> dict[str, np.ndarray]:
    n = len(ids)
    lp = np.full(n, np.nan)
    ent = np.full(n, np.nan)
    top = np.full(n, np.nan)
    mode_lp = np.full(n, np.nan)
    arr = np.asarray(ids, dtype=np.int64)
    for start, rows in neural_rows(neural, arr, window):
        end = start + len(rows)
        tok = arr[start:end]
        if rows.ndim == 1:
            lp[start:end] = rows
            continue
        lp[start:end], ent[start:end], top[start:end], mode_lp[start:end] = row_stats(
            rows, tok, mode[start:end]
        )
    return {
        "neural_logprob": lp,
        "neural_entropy": ent,
        "neural_max_logprob": top,
        "neural_mode_logprob": mode_lp,
    }


def _documents(index: Index, documents: Sequence[str | Sequence[int]]) -> Iterator[list[int]]:
    for d in documents:
        yield index.tokenize(d) if isinstance(d, str) else [int(t) for t in d]


def score_documents(
    index: Index,
    neural: NeuralLM | None,
    documents: Sequence[str | Sequence[int]],
    window: int = 1024,
    max_tokens: int | None = None,
    progress: bool = True,
    desc: str = "score",
    max_doc_tokens: int | None = None,
) -> TokenFeatures:
    """Both models' facts for every token of ``documents`` (texts, tokenized with the index's
    tokenizer, or token ids in the index's vocabulary — which must be the neural model's).

    The neural model sees at most ``window`` tokens of context: longer documents are scored in
    overlapping windows advancing by ``window // 2``, so every token after the first window has
    at least that much context. ``max_tokens`` stops after that many tokens (whole documents
    first; the last one cut short); ``max_doc_tokens`` keeps only each document's first tokens
    (many documents, short contexts). Without a neural model the neural columns are NaN.
    """
    if window < 2:
        raise InvalidArgumentError(f"window must be at least 2, not {window}")
    for name, v in (("max_tokens", max_tokens), ("max_doc_tokens", max_doc_tokens)):
        if v is not None and v < 0:
            raise InvalidArgumentError(f"{name} must be >= 0, not {v}")
    parts: list[TokenFeatures] = []
    total = 0
    with progress_bar(max_tokens, desc, unit="tok", quiet=not progress) as bar:
        for k, ids in enumerate(_documents(index, documents)):
            if max_doc_tokens is not None:
                ids = ids[:max_doc_tokens]
            if max_tokens is not None:
                ids = ids[: max_tokens - total]
            if not ids:
                if max_tokens is not None and total >= max_tokens:
                    break
                continue
            inf = _infgram_part(index, ids)
            if neural is not None:
                neu = _neural_part(neural, ids, inf["mode"], window)
            else:
                neu = {
                    k: np.full(len(ids), np.nan)
                    for k in (
                        "neural_logprob",
                        "neural_entropy",
                        "neural_max_logprob",
                        "neural_mode_logprob",
                    )
                }
            parts.append(
                TokenFeatures(
                    token_ids=np.asarray(ids, dtype=np.int64),
                    doc=np.full(len(ids), k, dtype=np.int64),
                    **inf,
                    **neu,
                )
            )
            total += len(ids)
            bar.update(len(ids))
    return TokenFeatures.concat(parts)
