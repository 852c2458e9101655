"""A :class:`~anygram.speculative.Drafter` behind the draft interfaces of other libraries.

- llama-cpp-python: ``Llama(..., draft_model=LlamaCppDraftModel(drafter, model_path))``; its
  ``LlamaDraftModel`` interface is ``__call__(input_ids: np.ndarray[np.intc]) ->
  np.ndarray[np.intc]`` (the draft after the whole context). The class is registered as a
  ``LlamaDraftModel`` when llama-cpp-python was imported first.
- Hugging Face transformers: :class:`TransformersCandidateGenerator` has the
  ``CandidateGenerator`` methods (``get_candidates(input_ids) -> (candidate_ids, None)``,
  ``update_candidate_strategy``), for a generation loop or a ``_get_candidate_generator``
  override.
- anything else: :func:`draft_function` returns ``ids -> draft ids``.

Each adapter checks the tokenizer first when given the model's (see
:func:`~anygram.speculative.check_tokenizer`); one adapter serves one sequence at a time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from .drafter import Drafter
from .tokenizer_check import check_tokenizer

__all__ = ["LlamaCppDraftModel", "TransformersCandidateGenerator", "draft_function"]


class LlamaCppDraftModel:
    """llama-cpp-python's draft-model interface over a :class:`Drafter`.

    ``model``: the GGUF path (or ``llama_cpp.Llama``) whose tokenizer the index must share;
    checked at construction unless None.
    """

    def __init__(self, drafter: Drafter, model: Any = None) -> None:
        if model is not None:
            check_tokenizer(drafter.index, model)
        self.drafter = drafter

    def __call__(self, input_ids: Any, /, **kwargs: Any) -> Any:
        import numpy as np

        return np.asarray(self.drafter.draft(input_ids), dtype=np.intc)


if "llama_cpp" in sys.modules:  # a virtual LlamaDraftModel (llama.cpp is never imported here:
    # loading it is slow, and Llama only calls its draft model)
    from llama_cpp.llama_speculative import LlamaDraftModel as _LlamaDraftModel

    _LlamaDraftModel.register(LlamaCppDraftModel)


class TransformersCandidateGenerator:
    """transformers' ``CandidateGenerator`` interface over a :class:`Drafter` (batch size 1).

    ``tokenizer``: the model's Hugging Face tokenizer (or its ``tokenizer.json`` path), checked
    against the index's at construction unless None.
    """

    def __init__(self, drafter: Drafter, tokenizer: Any = None) -> None:
        if tokenizer is not None:
            check_tokenizer(drafter.index, tokenizer)
        self.drafter = drafter

    def get_candidates(self, input_ids: Any) -> tuple[Any, None]:
        """``input_ids`` (a ``(1, n)`` tensor) followed by the draft, and no draft logits (the
        draft is deterministic; the model's own logits decide)."""
        import torch

        if input_ids.shape[0] != 1:
            from ..errors import InvalidArgumentError

            raise InvalidArgumentError("drafting from an index serves one sequence at a time")
        draft = self.drafter.draft(input_ids[0].tolist())
        if not draft:
            return input_ids, None
        tail = torch.tensor([draft], dtype=input_ids.dtype, device=input_ids.device)
        return torch.cat([input_ids, tail], dim=-1), None

    def update_candidate_strategy(self, input_ids: Any, scores: Any, num_matches: int) -> None:
        """Nothing to do: the drafter reads how much was accepted from the next context."""


def draft_function(drafter: Drafter) -> Callable[[Sequence[int]], list[int]]:
    """``ids -> draft ids`` for any other server's loop."""
    return drafter.draft
