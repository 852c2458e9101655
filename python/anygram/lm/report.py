"""``anygram interpolate``: fit the mixtures on a dev split of held-out documents and report
perplexity on the test split — the neural model alone, the ∞-gram model alone (with
:mod:`anygram.evaluate`'s floor), and each mixing scheme with its fitted weights."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from ..evaluate import default_floor
from .features import TokenFeatures, score_documents
from .mixture import BUCKET_EDGES, SCHEMES, Mixture, _bucket, fit_mixture, perplexity
from .neural import NeuralLM

if TYPE_CHECKING:
    from ..index import Index

__all__ = ["fit_and_report", "interpolation_report", "split_documents"]


def split_documents(documents: Sequence[Any], test_every: int = 2) -> tuple[list[Any], list[Any]]:
    """Split by document, deterministically: every ``test_every``-th document (the 2nd, 4th,
    ... for 2) is test, the others dev."""
    if test_every < 2:
        raise InvalidArgumentError(f"test_every must be at least 2, not {test_every}")
    dev = [d for i, d in enumerate(documents) if i % test_every != test_every - 1]
    test = [d for i, d in enumerate(documents) if i % test_every == test_every - 1]
    return dev, test


def _infgram_perplexity(f: TokenFeatures, floor: float) -> float:
    return perplexity(np.log(np.maximum(f.infgram_prob, floor)))


def _by_bucket(f: TokenFeatures, mixed: np.ndarray) -> list[dict[str, Any]]:
    b = _bucket(f.effective_n)
    out = []
    for bi, lo in enumerate(BUCKET_EDGES):
        sel = b == bi
        if not sel.any():
            continue
        hi = BUCKET_EDGES[bi + 1] - 1 if bi + 1 < len(BUCKET_EDGES) else None
        out.append(
            {
                "effective_n": f"{lo}" if hi == lo else f"{lo}-{hi if hi else ''}",
                "tokens": int(sel.sum()),
                "sparse_share": float(f.sparse[sel].mean()),
                "neural_perplexity": perplexity(f.neural_logprob[sel]),
                "mixed_perplexity": perplexity(mixed[sel]),
            }
        )
    return out


def fit_and_report(
    dev: TokenFeatures,
    test: TokenFeatures,
    schemes: Sequence[str] = SCHEMES,
    floor: float = 1e-9,
) -> tuple[dict[str, Any], dict[str, Mixture]]:
    """Fit each scheme on ``dev``, report on ``test`` (both from :func:`score_documents`);
    returns the report and the fitted mixtures."""
    neural = perplexity(test.neural_logprob)
    out: dict[str, Any] = {
        "dev_tokens": len(dev),
        "test_tokens": len(test),
        "test_documents": len(np.unique(test.doc)),
        "neural_perplexity": neural,
        "infgram_perplexity": _infgram_perplexity(test, floor),
        "infgram_floor": floor,
        "sparse_share": float(test.sparse.mean()) if len(test) else math.nan,
        "mixtures": {},
    }
    best: tuple[float, str, np.ndarray] | None = None
    mixtures: dict[str, Mixture] = {}
    for scheme in schemes:
        m = mixtures[scheme] = fit_mixture(dev, scheme)
        lp = m.logprob(test)
        ppl = perplexity(lp)
        out["mixtures"][scheme] = {
            "perplexity": ppl,
            "reduction": 1.0 - ppl / neural,
            "dev_perplexity": perplexity(m.logprob(dev)),
            "mean_weight": float(m.weights(test).mean()),
            "params": m.params,
        }
        if best is None or ppl < best[0]:
            best = (ppl, scheme, lp)
    if best is not None:
        out["best"] = best[1]
        out["by_effective_n"] = _by_bucket(test, best[2])
    return out, mixtures


def interpolation_report(
    index: Index,
    neural: NeuralLM,
    documents: Sequence[str | Sequence[int]],
    test_every: int = 2,
    max_dev_tokens: int | None = None,
    max_test_tokens: int | None = None,
    window: int = 1024,
    schemes: Sequence[str] = SCHEMES,
    progress: bool = True,
    max_doc_tokens: int | None = None,
) -> tuple[dict[str, Any], dict[str, Mixture]]:
    """Split ``documents`` (:func:`split_documents`), score both splits with both models
    (:func:`score_documents`, whose limits these are), fit every scheme on dev and report on
    test. Returns the report and the fitted mixtures."""
    for s in schemes:
        if s not in SCHEMES:
            raise InvalidArgumentError(f"unknown mixing scheme {s!r}; one of {', '.join(SCHEMES)}")
    dev_docs, test_docs = split_documents(documents, test_every)
    if not dev_docs or not test_docs:
        raise InvalidArgumentError(
            f"{len(documents)} held-out documents: at least {test_every} are needed to have "
            "both a dev and a test split"
        )
    dev = score_documents(
        index, neural, dev_docs, window, max_dev_tokens, progress, "dev", max_doc_tokens
    )
    test = score_documents(
        index, neural, test_docs, window, max_test_tokens, progress, "test", max_doc_tokens
    )
    floor = default_floor(index)
    report, mixtures = fit_and_report(dev, test, schemes, floor)
    report["window"] = window
    report["max_doc_tokens"] = max_doc_tokens
    return report, mixtures
