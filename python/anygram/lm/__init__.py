"""The ∞-gram model mixed with a neural LM (infini-gram paper §6, and a better gate).

``P(x | context) = λ·P∞(x | context) + (1 − λ)·P_neural(x | context)``, where ``λ`` depends on
the context only: its effective n, whether the ∞-gram estimate is sparse, the suffix's count
and, when the neural model gives whole distributions, how sure it is. The weights are fitted
on a dev split by maximum likelihood (:func:`fit_mixture`); :func:`interpolation_report`
reports perplexity of the neural model alone and mixed on a test split.

The neural side is any :class:`NeuralLM` callable (token ids → log-probabilities), or one of
the adapters :class:`LlamaCppLM` (GGUF, ``llama-cpp-python``) and :class:`TransformersLM`
(local ``transformers`` model). The index must be built with the neural model's tokenizer.
Needs numpy and scipy (the ``lm`` extra).

Example, with a toy bigram model standing in for the neural one::

    import numpy as np, anygram
    from anygram.lm import score_documents, fit_mixture, perplexity

    index = anygram.Index("my-index")
    V = index.vocab_size
    table = np.log(np.full((V, V), 1.0 / V))      # log P(next | previous)

    def bigram(ids):                              # row i: distribution after ids[:i]
        prev = np.concatenate([[0], ids[:-1]])
        return table[prev]

    dev = score_documents(index, bigram, dev_texts)
    test = score_documents(index, bigram, test_texts)
    mix = fit_mixture(dev, "gated")
    print(perplexity(test.neural_logprob), perplexity(mix.logprob(test)))
"""

from __future__ import annotations

from .features import TokenFeatures, score_documents
from .generate import generate_mixed, mixed_distribution
from .hf_model import TransformersLM
from .llama_cpp_model import LlamaCppLM
from .mixture import BUCKET_EDGES, SCHEMES, Mixture, fit_mixture, perplexity
from .neural import NeuralLM, log_softmax
from .report import fit_and_report, interpolation_report, split_documents

__all__ = [
    "BUCKET_EDGES",
    "SCHEMES",
    "LlamaCppLM",
    "Mixture",
    "NeuralLM",
    "TokenFeatures",
    "TransformersLM",
    "fit_and_report",
    "fit_mixture",
    "generate_mixed",
    "interpolation_report",
    "log_softmax",
    "mixed_distribution",
    "perplexity",
    "score_documents",
    "split_documents",
]
