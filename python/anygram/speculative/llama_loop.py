"""A model cache over llama.cpp's low-level API for :func:`~anygram.speculative.generate_greedy`.

llama-cpp-python's high-level generation with a draft model needs ``logits_all=True``, i.e.
logits for every prompt position too; here a call asks for logits only where they are used:
the prompt's last position, and every position of a verification batch (the pending token and
its draft). Positions past ``n_past`` (rejected draft tokens) are dropped from the KV cache
before each batch. Needs ``pip install llama-cpp-python``.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["LlamaForward"]


class LlamaForward:
    """``forward(ids, n_past, last_only) -> logits rows`` for a GGUF model (one sequence)."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        n_ctx: int = 4096,
        n_batch: int = 512,
        n_threads: int | None = None,
        **llama_kwargs: Any,
    ) -> None:
        if not Path(model_path).is_file():
            raise FileNotFoundError(f"no GGUF model at {model_path}")
        try:
            import llama_cpp
        except ImportError as e:
            raise ImportError(
                "generation with a GGUF model needs llama-cpp-python: pip install llama-cpp-python"
            ) from e
        self._lib = llama_cpp
        threads = n_threads or os.cpu_count() or 1
        self.llm = llama_cpp.Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_batch=n_batch,
            n_ubatch=n_batch,
            n_threads=threads,
            # Batches (prompts, verification) on as many threads as single tokens: the
            # default (every core) made batches 10x slower on a loaded machine.
            n_threads_batch=threads,
            logits_all=False,
            verbose=False,
            **llama_kwargs,
        )
        self.model_path = str(model_path)
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        self.n_vocab = int(self.llm.n_vocab())
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)

    def __del__(self) -> None:
        batch = getattr(self, "_batch", None)
        if batch is not None:
            self._lib.llama_batch_free(batch)
            self._batch = None

    def __call__(self, ids: Sequence[int], n_past: int, last_only: bool) -> np.ndarray:
        lib, ctx, b = self._lib, self.llm.ctx, self._batch
        if n_past + len(ids) > self.n_ctx:
            raise InvalidArgumentError(
                f"{n_past + len(ids)} tokens do not fit the model's context of {self.n_ctx}"
            )
        lib.llama_memory_seq_rm(lib.llama_get_memory(ctx), 0, n_past, -1)
        rows: list[np.ndarray] = []
        for start in range(0, len(ids), self.n_batch):
            chunk = ids[start : start + self.n_batch]
            last_chunk = start + self.n_batch >= len(ids)
            b.n_tokens = len(chunk)
            for i, t in enumerate(chunk):
                b.token[i] = int(t)
                b.pos[i] = n_past + start + i
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = 0
                b.logits[i] = (not last_only) or (last_chunk and i == len(chunk) - 1)
            if lib.llama_decode(ctx, b) != 0:
                raise RuntimeError("llama_decode failed")
            n_out = len(chunk) if not last_only else int(last_chunk)
            if n_out:
                ptr = lib.llama_get_logits(ctx)
                flat = np.ctypeslib.as_array(
                    ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(n_out * self.n_vocab,)
                )
                rows.append(flat.reshape(n_out, self.n_vocab).copy())
        return np.concatenate(rows) if rows else np.zeros((0, self.n_vocab), dtype=np.float32)
