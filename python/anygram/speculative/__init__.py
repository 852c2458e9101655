"""Draft tokens for speculative decoding from an anygram index (REST / SuffixDecoding style).

A :class:`Drafter` proposes the continuations of the context that the corpus (and the request's
own prompt and output) makes most likely; a neural model verifies them in one batched forward
pass and keeps the longest prefix it agrees with, so greedy output is the model's own. Adapters
plug the drafter into llama-cpp-python (:class:`LlamaCppDraftModel`), Hugging Face
transformers (:class:`TransformersCandidateGenerator`) and anything else
(:func:`draft_function`); :func:`check_tokenizer` refuses a model whose vocabulary is not the
index's. :mod:`anygram.speculative.llama_loop` is a greedy generation loop over llama.cpp's
low-level API that verifies drafts in one batch (``anygram generate --model ... --draft-index``);
:func:`measure_draft_price` times the model's batches to set what a draft must be worth.
"""

from __future__ import annotations

from .adapters import LlamaCppDraftModel, TransformersCandidateGenerator, draft_function
from .drafter import Drafter
from .greedy import generate_greedy
from .price import draft_price, measure_draft_price, min_prob_for
from .tokenizer_check import check_tokenizer, gguf_vocab, index_vocab

__all__ = [
    "Drafter",
    "LlamaCppDraftModel",
    "TransformersCandidateGenerator",
    "check_tokenizer",
    "draft_function",
    "draft_price",
    "generate_greedy",
    "gguf_vocab",
    "index_vocab",
    "measure_draft_price",
    "min_prob_for",
]
