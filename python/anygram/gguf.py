"""A Hugging Face ``tokenizer.json`` from a GGUF model's own vocabulary.

An index meant to sit next to a neural model must tokenize exactly as that model does. GGUF
files (llama.cpp) carry the tokenizer as metadata: ``tokenizer.ggml.model``, ``.pre``,
``.tokens``, ``.token_type``, ``.merges`` and the special-token ids. This module turns the
byte-level BPE kind (``tokenizer.ggml.model == "gpt2"``) into a ``tokenizer.json`` that the
``tokenizers`` library loads and that ``anygram build --tokenizer`` accepts, with ids equal to
llama.cpp's. Anything it cannot reproduce exactly (SentencePiece ``"llama"`` vocabularies, a
``tokenizer.ggml.pre`` not in :data:`PRE_TOKENIZERS`) raises
:class:`~anygram.errors.UnsupportedTokenizerError` instead of producing different ids.

Public functions (the ``anygram export-tokenizer MODEL.gguf OUT.json`` command calls the second):

- ``tokenizer_json_from_gguf(path) -> dict``: the ``tokenizer.json`` content;
- ``export_gguf_tokenizer(gguf_path, out_path, *, config=True) -> dict``: writes it to
  ``out_path`` atomically and, with ``config``, HF's ``tokenizer_config.json`` next to it
  (``bos_token``, ``eos_token``, ``unk_token``, ``pad_token``, ``add_bos_token``,
  ``add_eos_token``), since ``tokenizer.json`` has no field for them (``tokenizers`` rejects
  unknown keys); returns :func:`gguf_special_tokens` plus ``"tokenizer_json"`` and
  ``"tokenizer_config"`` paths;
- ``gguf_special_tokens(path) -> dict``: ``{bos,eos,unk,pad}_token_id`` (``None`` if absent),
  the matching ``*_token`` strings, ``add_bos_token``/``add_eos_token``.

Needs the ``gguf`` package (``pip install 'anygram[gguf]'``), imported only when called.

How the pieces map (llama.cpp's ``llama-vocab.cpp``):

- every token goes into the BPE vocabulary under its GGUF id; merges keep their order (rank);
- control tokens (type 3) and unknown/unused ones (2, 5) become special added tokens,
  user-defined ones (4) non-special added tokens, so both are split out of the text first, as
  llama.cpp does with ``special=True`` (with ``special=False`` it matches only user-defined ones);
- ``tokenizer.ggml.pre`` picks the pre-tokenizer from :data:`PRE_TOKENIZERS`; the llama-3 family
  also sets ``ignore_merges`` (a piece that is a whole token is not merged), as llama.cpp does;
- the decoder is ``ByteLevel``; a ``TemplateProcessing`` post-processor adds bos/eos only when
  the GGUF says the model adds them (anygram encodes with ``add_special_tokens=False`` anyway).

llama.cpp's ``"default"`` pre-tokenizer (also what it uses for a missing or unknown name) is *not*
plain GPT-2 (it first isolates punctuation runs, then splits numbers into groups of three), so it
is refused rather than approximated.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import TokenizerError, UnsupportedTokenizerError

__all__ = [
    "PRE_TOKENIZERS",
    "export_gguf_tokenizer",
    "gguf_special_tokens",
    "tokenizer_json_from_gguf",
]

_GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
# Regexes as the models' own tokenizer.json files write them (llama.cpp spells the
# case-insensitive contractions out by hand because its engine lacks `(?i:`).
_LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _byte_level(use_regex: bool) -> dict[str, Any]:
    return {
        "type": "ByteLevel",
        "add_prefix_space": False,
        "trim_offsets": True,
        "use_regex": use_regex,
    }


def _split_then_bytes(regex: str) -> dict[str, Any]:
    return {
        "type": "Sequence",
        "pretokenizers": [
            {
                "type": "Split",
                "pattern": {"Regex": regex},
                "behavior": "Isolated",
                "invert": False,
            },
            _byte_level(use_regex=False),
        ],
    }


_GPT2 = _byte_level(use_regex=True)
_DIGITS_GPT2 = {
    "type": "Sequence",
    "pretokenizers": [{"type": "Digits", "individual_digits": True}, _byte_level(True)],
}
_LLAMA3 = _split_then_bytes(_LLAMA3_REGEX)
_QWEN2 = _split_then_bytes(_QWEN2_REGEX)

# tokenizer.ggml.pre -> (HF pre_tokenizer, ignore_merges, add_bos default); llama.cpp's
# `llama_vocab::impl::load` name table and `llm_tokenizer_bpe` regexes.
PRE_TOKENIZERS: dict[str, tuple[dict[str, Any], bool, bool]] = {
    **{
        name: (_GPT2, False, False)
        for name in (
            "gpt2",
            "gpt-2",
            "phi-2",
            "jina-es",
            "jina-de",
            "gigachat",
            "jina-v2-es",
            "jina-v2-de",
            "a.x-4.0",
            "mellum",
            "mpt",
            "olmo",
            "jais",
            "trillion",
            "exaone4",
        )
    },
    # regexes ["\p{N}", GPT-2] = Digits(individual_digits=True) then ByteLevel
    **{
        name: (_DIGITS_GPT2, False, False)
        for name in (
            "smollm",
            "starcoder",
            "refact",
            "codeshell",
            "command-r",
            "exaone",
            "minerva-7b",
        )
    },
    **{
        name: (_LLAMA3, True, True)
        for name in (
            "llama3",
            "llama-v3",
            "llama-bpe",
            "falcon3",
            "falcon-h1",
            "pixtral",
            "midm-2.0",
            "lfm2",
        )
    },
    "dbrx": (_LLAMA3, False, False),
    "smaug-bpe": (_LLAMA3, False, False),
    **{
        name: (_QWEN2, False, False)
        for name in ("qwen2", "deepseek-r1-qwen", "kormo", "megrez", "stablelm2")
    },
}

# llama.cpp's LLAMA_TOKEN_TYPE_*
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6


def _reader(path: str | os.PathLike[str]) -> Any:
    try:
        from gguf import GGUFReader
    except ImportError as e:
        raise TokenizerError(
            "reading a GGUF file needs the 'gguf' package: pip install 'anygram[gguf]'"
        ) from e
    p = Path(path)
    if not p.is_file():
        raise TokenizerError(f"{p}: no such GGUF file")
    try:
        return GGUFReader(str(p))
    except Exception as e:  # gguf raises ValueError, struct.error, ... on bad files
        raise TokenizerError(f"{p}: not a readable GGUF file: {e}") from e


def _field(reader: Any, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def _str(v: Any) -> str:
    return v.decode("utf-8", errors="replace") if isinstance(v, (bytes, bytearray)) else str(v)


class _Vocab:
    """The tokenizer metadata of one GGUF file, checked."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        r = _reader(path)
        self.path = Path(path)
        self.model = _str(_field(r, "tokenizer.ggml.model", ""))
        self.pre = _str(_field(r, "tokenizer.ggml.pre", "default"))
        if self.model != "gpt2":
            kind = {
                "llama": "a SentencePiece (llama) vocabulary",
                "": "no tokenizer.ggml.model",
            }.get(self.model, f"tokenizer.ggml.model {self.model!r}")
            raise UnsupportedTokenizerError(
                f"{self.path}: {kind}; only byte-level BPE GGUF vocabularies "
                "(tokenizer.ggml.model 'gpt2') can be exported"
            )
        if self.pre not in PRE_TOKENIZERS:
            why = (
                "llama.cpp's 'default' pre-tokenizer is not plain GPT-2 and is not replicated"
                if self.pre == "default"
                else "unknown to anygram's table"
            )
            raise UnsupportedTokenizerError(
                f"{self.path}: pre-tokenizer tokenizer.ggml.pre={self.pre!r} ({why}); "
                f"supported: {', '.join(sorted(PRE_TOKENIZERS))}"
            )
        tokens = _field(r, "tokenizer.ggml.tokens")
        merges = _field(r, "tokenizer.ggml.merges")
        if not tokens or merges is None:
            raise TokenizerError(f"{self.path}: GGUF without tokenizer.ggml.tokens/merges")
        # llama.cpp names empty tokens this way; keep ids aligned with it.
        self.tokens = [_str(t) or f"[EMPTY_{i}]" for i, t in enumerate(tokens)]
        types = _field(r, "tokenizer.ggml.token_type")
        self.types = [int(t) for t in types] if types is not None else [_NORMAL] * len(tokens)
        if len(self.types) != len(self.tokens):
            raise TokenizerError(f"{self.path}: token_type and tokens differ in length")
        if len(set(self.tokens)) != len(self.tokens):
            raise TokenizerError(f"{self.path}: the vocabulary lists a token twice")
        self.merges = [_str(m) for m in merges]
        self.ids: dict[str, int | None] = {}
        for name, key in (
            ("bos", "bos_token_id"),
            ("eos", "eos_token_id"),
            ("unk", "unknown_token_id"),
            ("pad", "padding_token_id"),
        ):
            v = _field(r, f"tokenizer.ggml.{key}")
            # llama.cpp ignores out-of-range ids (keeps its default); so do we.
            self.ids[name] = int(v) if v is not None and 0 <= int(v) < len(tokens) else None
        pre_tok, self.ignore_merges, bos_default = PRE_TOKENIZERS[self.pre]
        self.pre_tokenizer = pre_tok
        add_bos = _field(r, "tokenizer.ggml.add_bos_token")
        add_eos = _field(r, "tokenizer.ggml.add_eos_token")
        self.add_bos = bool(add_bos) if add_bos is not None else bos_default
        self.add_eos = bool(add_eos) if add_eos is not None else False

    def token(self, name: str) -> str | None:
        i = self.ids[name]
        return None if i is None else self.tokens[i]


def _post_processor(v: _Vocab) -> dict[str, Any] | None:
    """bos/eos around each sequence, as llama.cpp adds them when ``add_special_tokens``."""
    bos = v.ids["bos"] if v.add_bos else None
    eos = v.ids["eos"] if v.add_eos else None
    if bos is None and eos is None:
        return None

    def template(part: str, type_id: int) -> list[dict[str, Any]]:
        seq: list[dict[str, Any]] = []
        if bos is not None:
            seq.append({"SpecialToken": {"id": v.tokens[bos], "type_id": type_id}})
        seq.append({"Sequence": {"id": part, "type_id": type_id}})
        if eos is not None:
            seq.append({"SpecialToken": {"id": v.tokens[eos], "type_id": type_id}})
        return seq

    special = {
        v.tokens[i]: {"id": v.tokens[i], "ids": [i], "tokens": [v.tokens[i]]}
        for i in (bos, eos)
        if i is not None
    }
    return {
        "type": "TemplateProcessing",
        "single": template("A", 0),
        "pair": template("A", 0) + template("B", 1),
        "special_tokens": special,
    }


def _build(v: _Vocab) -> dict[str, Any]:
    added = []
    for i, (tok, typ) in enumerate(zip(v.tokens, v.types, strict=True)):
        if typ in (_CONTROL, _UNKNOWN, _UNUSED, _USER_DEFINED):
            special = typ != _USER_DEFINED
            added.append(
                {
                    "id": i,
                    "content": tok,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": special,
                }
            )
    merges = []
    for m in v.merges:
        a, sep, b = m.partition(" ")
        if not sep or not a or not b:
            raise TokenizerError(f"{v.path}: malformed merge {m!r}")
        merges.append([a, b])
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": json.loads(json.dumps(v.pre_tokenizer)),
        "post_processor": _post_processor(v),
        "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": True,
            "trim_offsets": True,
            "use_regex": True,
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": v.ignore_merges,
            "vocab": {tok: i for i, tok in enumerate(v.tokens)},
            "merges": merges,
        },
    }


def tokenizer_json_from_gguf(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The Hugging Face ``tokenizer.json`` content of a byte-level BPE GGUF file.

    Raises :class:`~anygram.errors.UnsupportedTokenizerError` for vocabularies whose ids it
    cannot reproduce (SentencePiece, unknown ``tokenizer.ggml.pre``) and
    :class:`~anygram.errors.TokenizerError` for unreadable files or a missing ``gguf`` package.
    """
    return _build(_Vocab(path))


def _special(v: _Vocab) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("bos", "eos", "unk", "pad"):
        out[f"{name}_token_id"] = v.ids[name]
        out[f"{name}_token"] = v.token(name)
    out["add_bos_token"] = v.add_bos
    out["add_eos_token"] = v.add_eos
    return out


def gguf_special_tokens(path: str | os.PathLike[str]) -> dict[str, Any]:
    """bos/eos/unk/pad ids and strings of a GGUF vocabulary, and whether the model adds bos/eos."""
    return _special(_Vocab(path))


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def export_gguf_tokenizer(
    gguf_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *, config: bool = True
) -> dict[str, Any]:
    """Write the GGUF file's ``tokenizer.json`` to ``out_path`` (atomically: a temporary file in
    the same directory, then a rename) and, with ``config``, ``tokenizer_config.json`` next to it.

    Returns :func:`gguf_special_tokens` plus the written paths (``"tokenizer_json"``,
    ``"tokenizer_config"``, the latter ``None`` without ``config``).
    """
    v = _Vocab(gguf_path)
    out = Path(out_path)
    _write_atomic(out, json.dumps(_build(v), ensure_ascii=False, indent=1) + "\n")
    info = _special(v)
    info["tokenizer_json"] = str(out)
    info["tokenizer_config"] = None
    if config:
        cfg_path = out.parent / "tokenizer_config.json"
        cfg = {k: info[k] for k in ("add_bos_token", "add_eos_token")}
        for name in ("bos", "eos", "unk", "pad"):
            if info[f"{name}_token"] is not None:
                cfg[f"{name}_token"] = info[f"{name}_token"]
        cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
        cfg["clean_up_tokenization_spaces"] = False
        _write_atomic(cfg_path, json.dumps(cfg, ensure_ascii=False, indent=1) + "\n")
        info["tokenizer_config"] = str(cfg_path)
    return info
