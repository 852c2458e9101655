"""The index and the model must share a tokenizer: a draft is token ids, and the same id must
mean the same text to both. The index's vocabulary is read from the tokenizer file copied into
it; the model's from its GGUF (through :mod:`anygram.gguf`, the same export that built the
index's tokenizer), from a ``tokenizer.json``, or from a ``{token: id}`` mapping (a Hugging Face
tokenizer's ``get_vocab()``)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TokenizerMismatchError

if TYPE_CHECKING:
    from ..index import Index

__all__ = ["check_tokenizer", "gguf_vocab", "index_vocab"]


def _vocab_of_tokenizer_json(doc: Mapping[str, Any]) -> dict[str, int]:
    vocab = dict(doc.get("model", {}).get("vocab", {}))
    for added in doc.get("added_tokens", []):
        vocab[added["content"]] = int(added["id"])
    return vocab


def index_vocab(index: Index) -> dict[str, int] | None:
    """``{token: id}`` of the index's tokenizer, or None for a byte-level index (ids are bytes)
    or a tokenizer without a ``tokenizer.json`` vocabulary."""
    desc = json.loads(index._core.tokenizer_json)
    if desc.get("kind") != "hf":
        return None
    path = Path(index._paths[0]) / desc["file"]
    with open(path, encoding="utf-8") as f:
        return _vocab_of_tokenizer_json(json.load(f))


def gguf_vocab(path: str | os.PathLike[str]) -> dict[str, int]:
    """``{token: id}`` of a GGUF model, with llama.cpp's ids (needs the ``gguf`` package)."""
    from ..gguf import tokenizer_json_from_gguf

    return _vocab_of_tokenizer_json(tokenizer_json_from_gguf(path))


def _model_vocab(model: Any) -> dict[str, int]:
    if isinstance(model, Mapping):
        return {str(k): int(v) for k, v in model.items()}
    if isinstance(model, (str, os.PathLike)):
        p = Path(model)
        if p.suffix == ".json":
            with open(p, encoding="utf-8") as f:
                return _vocab_of_tokenizer_json(json.load(f))
        return gguf_vocab(p)
    if hasattr(model, "get_vocab"):  # a Hugging Face tokenizer
        return {str(k): int(v) for k, v in model.get_vocab().items()}
    if hasattr(model, "model_path"):  # a llama_cpp.Llama
        return gguf_vocab(model.model_path)
    raise TypeError(
        "give the model's vocabulary as a GGUF or tokenizer.json path, a {token: id} mapping, "
        f"a Hugging Face tokenizer or a llama_cpp.Llama, not {type(model).__name__}"
    )


def check_tokenizer(index: Index, model: Any) -> None:
    """Raises :class:`~anygram.errors.TokenizerMismatchError` unless ``model``'s vocabulary
    (a GGUF or ``tokenizer.json`` path, a ``{token: id}`` mapping, a Hugging Face tokenizer or
    a ``llama_cpp.Llama``) is the index's, id for id."""
    mine = index_vocab(index)
    theirs = _model_vocab(model)
    if mine is None:
        raise TokenizerMismatchError(
            f"the index is tokenized as {json.loads(index._core.tokenizer_json).get('kind')!r}, "
            f"not with the model's vocabulary of {len(theirs)} tokens; build it with the "
            "model's tokenizer (anygram export-tokenizer MODEL.gguf tokenizer.json, then "
            "anygram build ... --tokenizer tokenizer.json)"
        )
    if mine == theirs:
        return
    by_id = {v: k for k, v in theirs.items()}
    for tok, i in sorted(mine.items(), key=lambda kv: kv[1]):
        if by_id.get(i) != tok:
            raise TokenizerMismatchError(
                f"the index and the model have different tokenizers: id {i} is {tok!r} in the "
                f"index and {by_id.get(i)!r} in the model ({len(mine)} and {len(theirs)} "
                "tokens); build the index with the model's tokenizer"
            )
    raise TokenizerMismatchError(
        f"the model has {len(theirs) - len(mine)} tokens the index does not know "
        f"({len(theirs)} against {len(mine)}); build the index with the model's tokenizer"
    )
