"""Tokenizer adapters: what turns text into the token ids an index stores, and back.

Three kinds, named by ``tokenizer=`` when building:

- ``"bytes"`` (default): one token per UTF-8 byte; needs nothing. Ids are ``0..254`` (UTF-8
  never contains the byte 0xFF, which the index uses as its document separator).
- a path to a Hugging Face ``tokenizer.json``: ids are exactly
  ``tokenizers.Tokenizer.from_file(path).encode(text, add_special_tokens=False).ids``.
- a tiktoken rank file (``*.tiktoken``), with the cl100k, o200k or r50k split pattern.
- any object with the :class:`Tokenizer` methods (a custom tokenizer; tokenizes in Python).

The tokenizer file is copied into the index, so an index always carries the tokenizer its text
queries need.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from . import _core
from .errors import (
    AnygramFileNotFoundError,
    CorruptTokenizerError,
    TokenizerError,
    UnknownTokenizerError,
    UnsupportedTokenizerError,
)

__all__ = [
    "ByteTokenizer",
    "HFTokenizer",
    "TiktokenTokenizer",
    "Tokenizer",
    "from_manifest",
    "load_tokenizer",
]

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


#: How each byte token is shown alone.
_BYTE_TOKENS = [chr(i) if i < 0x80 else f"<0x{i:02X}>" for i in range(256)]


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

    def decode_each(self, ids: list[int]) -> list[str]:
        """Each token on its own (infini-gram's ``tokens``): an ASCII byte as its character,
        any other as ``<0xNN>`` (it is part of a UTF-8 character, not one)."""
        return list(map(_BYTE_TOKENS.__getitem__, ids))

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
    """A Hugging Face ``tokenizer.json``.

    Byte-level BPE tokenizers (the GPT-2 family: ``ByteLevel`` pre-tokenizer, BPE model, no
    normalizer) are encoded by the engine's own exact BPE, several times faster than the
    ``tokenizers`` library and verified id-for-id against it; anything else goes through the
    ``tokenizers`` library (``pip install 'anygram[hf]'``).
    """

    kind = "hf"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise UnknownTokenizerError(f"{self.path}: no such tokenizer file")
        self.sha256 = _sha256(self.path)
        self._fast: Any = None
        self._hf: Any = None
        self.fallback_reason: str | None = None
        try:
            self._fast = _core.Bpe("hf-bpe", str(self.path))
            self.vocab_size = int(self._fast.vocab_size)
        except UnsupportedTokenizerError as e:
            self.fallback_reason = str(e)
            self._hf = self._load_hf()
            self.vocab_size = int(self._hf.get_vocab_size(with_added_tokens=True))
        except TokenizerError as e:
            raise TokenizerError(f"{self.path}: cannot load tokenizer.json: {e}") from e
        self.eos_token_id = self._eos_from_config()

    def _eos_from_config(self) -> int | None:
        """The id of ``eos_token`` in a ``tokenizer_config.json`` beside the file (where
        Hugging Face keeps it, and where ``anygram export-tokenizer`` writes it), if any: the
        index then reports document ends under it."""
        config = self.path.with_name("tokenizer_config.json")
        if not config.is_file():
            return None
        try:
            eos = json.loads(config.read_text(encoding="utf-8")).get("eos_token")
            if isinstance(eos, dict):
                eos = eos.get("content")
            if not isinstance(eos, str):
                return None
            tok = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, AttributeError) as e:
            raise TokenizerError(f"{config}: unreadable ({e})") from e
        for added in tok.get("added_tokens") or []:
            if isinstance(added, dict) and added.get("content") == eos:
                return int(added["id"])
        vocab = (tok.get("model") or {}).get("vocab")
        if isinstance(vocab, dict) and isinstance(vocab.get(eos), int):
            return int(vocab[eos])
        raise TokenizerError(f"{config}: eos_token {eos!r} is not in {self.path.name}")

    def _load_hf(self) -> Any:
        try:
            from tokenizers import Tokenizer as _HF
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise TokenizerError(
                f"{self.path} needs the 'tokenizers' package ({self.fallback_reason}): "
                "pip install 'anygram[hf]'"
            ) from e
        try:
            return _HF.from_file(str(self.path))
        except Exception as e:
            raise TokenizerError(f"{self.path}: cannot load tokenizer.json: {e}") from e

    def encode(self, text: str) -> list[int]:
        if self._fast is not None:
            return list(self._fast.encode(text))
        return list(self._hf.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        if self._fast is not None:
            return list(self._fast.encode_batch(texts))
        return [e.ids for e in self._hf.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        if self._fast is not None:
            return bytes(self._fast.decode_bytes(ids)).decode("utf-8", errors="replace")
        return str(self._hf.decode(ids, skip_special_tokens=False))

    def decode_each(self, ids: list[int]) -> list[str]:
        """Each token decoded on its own, in one engine (or ``tokenizers``) call."""
        if self._fast is not None:
            return list(self._fast.decode_each(ids))
        return list(self._hf.decode_batch([[i] for i in ids], skip_special_tokens=False))

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": "hf",
            "file": f"{TOKENIZER_DIR}/tokenizer.json",
            "sha256": self.sha256,
            "vocab_size": self.vocab_size,
            "source": str(self.path),
            "engine": "anygram-bpe" if self._fast is not None else "tokenizers",
        }
        if self.eos_token_id is not None:
            d["eos_token_id"] = self.eos_token_id
        return d

    def engine_encoder(self) -> tuple[str, str | None]:
        if self._fast is not None:
            return ("hf-bpe", str(self.path))
        return ("external", None)

    def copy_into(self, index_dir: Path) -> None:
        dest = index_dir / TOKENIZER_DIR
        dest.mkdir(exist_ok=True)
        shutil.copyfile(self.path, dest / "tokenizer.json")

    def __repr__(self) -> str:
        return f"HFTokenizer({str(self.path)!r})"


TIKTOKEN_PATTERNS = ("cl100k", "o200k", "r50k")


class TiktokenTokenizer:
    """A tiktoken rank file (``base64(token) rank`` per line; ids are the ranks), with the split
    pattern of the named encoding (``cl100k`` by default; ``o200k``; ``r50k`` = GPT-2). Like
    tiktoken's ``encode_ordinary``: special tokens are not part of such files."""

    kind = "tiktoken"

    def __init__(self, path: str | os.PathLike[str], pattern: str | None = None) -> None:
        self.path = Path(path)
        if pattern is None:
            name = self.path.name.lower()
            pattern = next((p for p in TIKTOKEN_PATTERNS if p in name), None)
            if pattern is None:
                pattern = "r50k" if ("p50k" in name or "gpt2" in name) else "cl100k"
        if pattern not in TIKTOKEN_PATTERNS:
            raise UnknownTokenizerError(
                f"unknown tiktoken pattern {pattern!r} (use one of {TIKTOKEN_PATTERNS})"
            )
        if not self.path.is_file():
            raise UnknownTokenizerError(f"{self.path}: no such tiktoken file")
        self.pattern = pattern
        self.sha256 = _sha256(self.path)
        self._bpe = _core.Bpe(f"tiktoken-{pattern}", str(self.path))
        self.vocab_size = int(self._bpe.vocab_size)

    def encode(self, text: str) -> list[int]:
        return list(self._bpe.encode(text))

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return list(self._bpe.encode_batch(texts))

    def decode(self, ids: list[int]) -> str:
        return bytes(self._bpe.decode_bytes(ids)).decode("utf-8", errors="replace")

    def decode_each(self, ids: list[int]) -> list[str]:
        """Each token decoded on its own, in one engine call."""
        return list(self._bpe.decode_each(ids))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "tiktoken",
            "pattern": self.pattern,
            "file": f"{TOKENIZER_DIR}/{self.path.name}",
            "sha256": self.sha256,
            "vocab_size": self.vocab_size,
            "source": str(self.path),
        }

    def engine_encoder(self) -> tuple[str, str | None]:
        return (f"tiktoken-{self.pattern}", str(self.path))

    def copy_into(self, index_dir: Path) -> None:
        dest = index_dir / TOKENIZER_DIR
        dest.mkdir(exist_ok=True)
        shutil.copyfile(self.path, dest / self.path.name)

    def __repr__(self) -> str:
        return f"TiktokenTokenizer({str(self.path)!r}, pattern={self.pattern!r})"


def load_tokenizer(spec: str | os.PathLike[str] | Tokenizer) -> Tokenizer:
    """A tokenizer from a name or path.

    ``"bytes"``; a ``tokenizer.json`` path; a tiktoken file (``*.tiktoken``), optionally
    prefixed by its pattern (``"o200k:path/o200k_base.tiktoken"``); or a tokenizer object.

    >>> load_tokenizer("bytes").encode("hé")
    [104, 195, 169]
    """
    if not isinstance(spec, (str, os.PathLike)):
        return spec
    s = os.fspath(spec)
    if s == "bytes":
        return ByteTokenizer()
    pattern, _, rest = s.partition(":")
    if pattern in TIKTOKEN_PATTERNS and rest:
        return TiktokenTokenizer(rest, pattern)
    p = Path(s)
    if not p.exists() and (os.sep in s or p.suffix in (".json", ".tiktoken")):
        raise AnygramFileNotFoundError(f"tokenizer file {s}: no such file")
    if not p.exists():
        raise UnknownTokenizerError(
            f"unknown tokenizer {s!r}: use 'bytes', a tokenizer.json path or a .tiktoken file"
        )
    if p.is_file() and p.suffix == ".json":
        return HFTokenizer(p)
    if p.is_file() and p.suffix == ".tiktoken":
        return TiktokenTokenizer(p)
    raise UnknownTokenizerError(
        f"{s}: not a tokenizer anygram can read (expected a tokenizer.json or a .tiktoken file)"
    )


#: Tokenizer kinds whose manifest entry names a file copied into the index.
_FILE_KINDS = ("hf", "tiktoken")


def _stored_file(index_dir: Path, desc: dict[str, Any]) -> Path:
    """The index's copy of its tokenizer file: named by the manifest, inside the index directory
    (a path or symlink leading out of it is refused: a manifest must not open ``/etc/passwd``),
    a regular file, and the same bytes as at build (its sha256)."""
    file = desc.get("file")
    if not isinstance(file, str) or not file:
        raise CorruptTokenizerError(
            f"{index_dir}: the manifest's {desc.get('kind')!r} tokenizer names no file"
        )
    rel = PurePosixPath(file)
    path = index_dir / rel
    inside = not rel.is_absolute() and ".." not in rel.parts
    if not inside or not path.resolve().is_relative_to(index_dir.resolve()):
        raise CorruptTokenizerError(
            f"{index_dir}: the manifest's tokenizer file {file!r} is outside the index directory"
        )
    if not path.is_file():
        raise CorruptTokenizerError(f"{path}: the index's tokenizer file is missing")
    sha = desc.get("sha256")
    if sha is not None and not isinstance(sha, str):
        raise CorruptTokenizerError(f"{index_dir}: the manifest's tokenizer sha256 is not text")
    if sha and _sha256(path) != sha:
        raise CorruptTokenizerError(
            f"{path}: tokenizer file differs from the one the index was built with"
        )
    return path


def check_stored_tokenizer(index_dir: Path, desc: Any) -> None:
    """Verifies the index's copy of its tokenizer (``Index(verify=True)``, ``info --verify``)
    without loading it."""
    if not isinstance(desc, dict):
        raise CorruptTokenizerError(
            f"{index_dir}: the manifest's tokenizer is {type(desc).__name__}, not an object"
        )
    if desc.get("kind") in _FILE_KINDS:
        _stored_file(index_dir, desc)


def from_manifest(index_dir: Path, desc: dict[str, Any]) -> Tokenizer:
    """The tokenizer an index was built with, from the copy stored inside it."""
    if not isinstance(desc, dict):
        check_stored_tokenizer(index_dir, desc)  # raises: a description is an object
    kind = desc.get("kind")
    if kind == "bytes":
        return ByteTokenizer()
    if kind == "hf":
        return HFTokenizer(_stored_file(index_dir, desc))
    if kind == "tiktoken":
        return TiktokenTokenizer(_stored_file(index_dir, desc), desc.get("pattern"))
    if kind == "custom":
        raise TokenizerError(
            f"this index was built with a custom tokenizer ({desc.get('name')!r}): pass it as "
            "Index(..., tokenizer=...) to query with text, or query with token ids"
        )
    raise UnknownTokenizerError(f"index uses tokenizer kind {kind!r}, unknown to this anygram")
