"""A GGUF model through ``llama-cpp-python`` as a :class:`~anygram.lm.neural.NeuralLM`.

Install with ``pip install llama-cpp-python`` (it builds llama.cpp from source: about 12 minutes
on 2 cores). The index must be built with the model's own tokenizer: export it with
``anygram export-tokenizer MODEL.gguf tokenizer.json`` and build with
``anygram build ... --tokenizer tokenizer.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["LlamaCppLM"]


class LlamaCppLM:
    """Whole next-token distributions from a GGUF model.

    Every call is conditioned on ``bos_token_id`` first (default: the model's BOS token; pass
    the id that starts plain text, e.g. 0 ``<|endoftext|>`` for SmolLM2). Consecutive calls
    whose inputs share a prefix reuse the model's cache for it, so generation costs one new
    token per step. ``n_ctx`` bounds the input: at most ``n_ctx - 1`` ids per call.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        n_ctx: int = 2048,
        bos_token_id: int | None = None,
        n_threads: int | None = None,
        n_batch: int = 512,
        **llama_kwargs: Any,
    ) -> None:
        if not Path(model_path).is_file():
            raise FileNotFoundError(f"no GGUF model at {model_path}")
        try:
            import llama_cpp
        except ImportError as e:
            raise ImportError(
                "LlamaCppLM needs llama-cpp-python: pip install llama-cpp-python"
            ) from e
        self._llm = llama_cpp.Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_batch=n_batch,
            n_threads=n_threads or os.cpu_count() or 1,
            logits_all=True,
            verbose=False,
            **llama_kwargs,
        )
        self.n_ctx = n_ctx
        self.vocab_size = int(self._llm.n_vocab())
        self.bos_token_id = int(self._llm.token_bos() if bos_token_id is None else bos_token_id)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        full = [self.bos_token_id, *(int(t) for t in ids)]
        if len(full) > self.n_ctx:
            raise InvalidArgumentError(
                f"{len(ids)} tokens do not fit the model's context of {self.n_ctx} (with BOS); "
                "use a smaller window"
            )
        if len(ids) and (int(np.min(ids)) < 0 or int(np.max(ids)) >= self.vocab_size):
            raise InvalidArgumentError(f"token ids must be in [0, {self.vocab_size})")
        llm = self._llm
        cached = llm.input_ids[: llm.n_tokens].tolist()
        keep = 0
        for a, b in zip(cached, full, strict=False):
            if a != b:
                break
            keep += 1
        # Rows come from positions 0 .. len(ids) - 1; the last token only needs evaluating
        # when a later call asks for its row, so the cache may stop one short.
        need = len(full) - 1
        if keep < need:
            llm.n_tokens = keep
            llm.eval(full[keep:need] if need > keep else [])
        # Logits, float32: the caller normalizes (see anygram.lm.neural.row_stats).
        return np.array(llm.scores[: len(ids)], dtype=np.float32)
