"""A causal LM through ``transformers`` (PyTorch), from a local directory, as a
:class:`~anygram.lm.neural.NeuralLM`. Nothing is downloaded: the model is loaded with
``local_files_only=True``. Build the index with the model's ``tokenizer.json``
(``anygram build ... --tokenizer MODEL_DIR/tokenizer.json``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["TransformersLM"]


class TransformersLM:
    """Whole next-token distributions from a local ``AutoModelForCausalLM``; every call is
    conditioned on ``bos_token_id`` first (default: the model config's BOS, else 0)."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        bos_token_id: int | None = None,
        device: str = "cpu",
        **model_kwargs: Any,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM
        except ImportError as e:
            raise ImportError(
                "TransformersLM needs torch and transformers: pip install torch transformers"
            ) from e
        self._torch = torch
        self._model = AutoModelForCausalLM.from_pretrained(
            str(model_path), local_files_only=True, **model_kwargs
        ).to(device)
        self._model.eval()
        self._device = device
        cfg = self._model.config
        self.vocab_size = int(cfg.vocab_size)
        if bos_token_id is None:
            bos_token_id = cfg.bos_token_id if cfg.bos_token_id is not None else 0
        self.bos_token_id = int(bos_token_id)
        self.n_ctx = int(getattr(cfg, "max_position_embeddings", 0) or 1 << 30)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        torch = self._torch
        if len(ids) + 1 > self.n_ctx:
            raise InvalidArgumentError(
                f"{len(ids)} tokens do not fit the model's context of {self.n_ctx} (with BOS)"
            )
        if len(ids) and (int(np.min(ids)) < 0 or int(np.max(ids)) >= self.vocab_size):
            raise InvalidArgumentError(f"token ids must be in [0, {self.vocab_size})")
        x = torch.tensor([[self.bos_token_id, *(int(t) for t in ids)]], device=self._device)
        with torch.no_grad():
            logits = self._model(x).logits[0, : len(ids)]
            out = torch.log_softmax(logits.float(), dim=-1)
        return np.asarray(out.cpu().numpy())
