"""Tokenizer adapters: what turns text into the token ids an index stores, and back.

Three kinds, named by ``tokenizer=`` when building:

- ``"bytes"`` (default): one token per UTF-8 byte; needs nothing. Ids are ``0..254`` (UTF-8
  never contains the byte 0xFF, which the index uses as its document separator).
- a path to a Hugging Face ``tokenizer.json``: ids are exactly
  ``tokenizers.Tokenizer.from_file(path).encode(text, add_special_tokens=False).ids``.
- any object with the :class:`Tokenizer` methods (a custom tokenizer; tokenizes in Python).

The tokenizer file is copied into the index, so an index always carries the tokenizer its text
queries need.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

from .errors import TokenizerError, UnknownTokenizerError

__all__ = ["ByteTokenizer", "HFTokenizer", "Tokenizer", "from_manifest", "load_tokenizer"]

TOKENIZER_DIR = "tokenizer"


class Tokenizer(Protocol):
    """What anygram needs of a tokenizer."""

    kind: str
    vocab_size: int

    def encode(self, text: str) -> list[int]: ...

    def encode_batch(self, texts: list[str]) -> list[list[int]]: ...

    def decode(self, ids: list[int]) -> str: ...

    def describe(self) -> dict[str, Any]:
        """The manifest entry (kind, file, checksum) that lets an index find this tokenizer."""
        ...

    def engine_encoder(self) -> tuple[str, str | None]:
        """How the engine tokenizes during builds: ``("bytes", None)``, ``("external", None)``
        (Python tokenizes), or an engine tokenizer kind with its file."""
        ...

    def copy_into(self, index_dir: Path) -> None:
        """Copies the tokenizer's file into the index."""
        ...


class ByteTokenizer:
    """UTF-8 bytes as tokens."""

    kind = "bytes"
    vocab_size = 255

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [list(t.encode("utf-8")) for t in texts]

    def decode(self, ids: list[int]) -> str:
        return bytes(ids).decode("utf-8", errors="replace")

    def describe(self) -> dict[str, Any]:
        return {"kind": "bytes", "vocab_size": self.vocab_size}

    def engine_encoder(self) -> tuple[str, str | None]:
        return ("bytes", None)

    def copy_into(self, index_dir: Path) -> None:
        pass

    def __repr__(self) -> str:
        return "ByteTokenizer()"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class HFTokenizer:
    """A Hugging Face ``tokenizer.json`` (read with the ``tokenizers`` library)."""

    kind = "hf"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            from tokenizers import Tokenizer as _HF
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise TokenizerError(
                "a tokenizer.json needs the 'tokenizers' package: pip install 'anygram[hf]'"
            ) from e
        try:
            self._tok = _HF.from_file(str(self.path))
        except Exception as e:
            raise TokenizerError(f"{self.path}: cannot load tokenizer.json: {e}") from e
        self.vocab_size = int(self._tok.get_vocab_size(with_added_tokens=True))
        self.sha256 = _sha256(self.path)

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids, skip_special_tokens=False))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "hf",
            "file": f"{TOKENIZER_DIR}/tokenizer.json",
            "sha256": self.sha256,
            "vocab_size": self.vocab_size,
            "source": str(self.path),
        }

    def engine_encoder(self) -> tuple[str, str | None]:
        return ("external", None)

    def copy_into(self, index_dir: Path) -> None:
        dest = index_dir / TOKENIZER_DIR
        dest.mkdir(exist_ok=True)
        shutil.copyfile(self.path, dest / "tokenizer.json")

    def __repr__(self) -> str:
        return f"HFTokenizer({str(self.path)!r})"


def load_tokenizer(spec: str | os.PathLike[str] | Tokenizer) -> Tokenizer:
    """A tokenizer from a name or path: ``"bytes"`` or a ``tokenizer.json`` path.

    >>> load_tokenizer("bytes").encode("hé")
    [104, 195, 169]
    """
    if not isinstance(spec, (str, os.PathLike)):
        return spec
    s = os.fspath(spec)
    if s == "bytes":
        return ByteTokenizer()
    p = Path(s)
    if p.is_file() and p.suffix == ".json":
        return HFTokenizer(p)
    if not p.exists():
        raise UnknownTokenizerError(
            f"unknown tokenizer {s!r}: use 'bytes' or the path of a tokenizer.json file"
        )
    raise UnknownTokenizerError(
        f"{s}: not a tokenizer anygram can read (expected a Hugging Face tokenizer.json)"
    )


def from_manifest(index_dir: Path, desc: dict[str, Any]) -> Tokenizer:
    """The tokenizer an index was built with, from the copy stored inside it."""
    kind = desc.get("kind")
    if kind == "bytes":
        return ByteTokenizer()
    if kind == "hf":
        path = index_dir / desc["file"]
        if not path.is_file():
            raise TokenizerError(f"{path}: the index's tokenizer file is missing")
        if desc.get("sha256") and _sha256(path) != desc["sha256"]:
            raise TokenizerError(
                f"{path}: tokenizer file differs from the one the index was built with"
            )
        return HFTokenizer(path)
    if kind == "custom":
        raise TokenizerError(
            f"this index was built with a custom tokenizer ({desc.get('name')!r}): pass it as "
            "Index(..., tokenizer=...) to query with text, or query with token ids"
        )
    raise UnknownTokenizerError(f"index uses tokenizer kind {kind!r}, unknown to this anygram")
