"""Shared fixtures: small corpora written by the tests themselves (no downloads)."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anygram
import pytest

#: Indexes built outside pytest's tmp_path (inside hypothesis tests and module fixtures) go under
#: one directory per test process, removed when the process exits.
_SCRATCH = Path(tempfile.mkdtemp(prefix="anygram-tests-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)


def scratch_dir() -> Path:
    """A fresh directory that lives until the test process exits."""
    return Path(tempfile.mkdtemp(dir=_SCRATCH))


class CharTokenizer:
    """A custom tokenizer for tests: each character maps to an id from a fixed table, with a
    chosen vocabulary size so that tests reach every token width (u8, u16, u32)."""

    kind = "custom"

    def __init__(self, vocab_size: int, alphabet: str = "abcdefghij ") -> None:
        self.vocab_size = vocab_size
        # Spread the alphabet over the vocabulary so ids near its top are used too.
        step = max(1, (vocab_size - 1) // max(1, len(alphabet) - 1))
        self.ids = {c: min(vocab_size - 1, i * step) for i, c in enumerate(alphabet)}
        self.chars = {v: k for k, v in self.ids.items()}

    def encode(self, text: str) -> list[int]:
        return [self.ids[c] for c in text]

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars.get(i, "?") for i in ids)

    def describe(self) -> dict[str, Any]:
        return {"kind": "custom", "name": f"chars-{self.vocab_size}", "vocab_size": self.vocab_size}

    def engine_encoder(self) -> tuple[str, str | None]:
        return ("external", None)

    def copy_into(self, index_dir: Path) -> None:
        pass


def write_jsonl(path: Path, docs: Sequence[dict[str, Any] | str]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write((d if isinstance(d, str) else json.dumps(d, ensure_ascii=False)) + "\n")
    return path


def brute_count(docs: Sequence[Sequence[int]], q: Sequence[int]) -> int:
    if not q:
        return sum(len(d) for d in docs)
    q = list(q)
    n = len(q)
    return sum(1 for d in docs for i in range(len(d) - n + 1) if list(d[i : i + n]) == q)


def train_bpe(path: Path, texts: Sequence[str], vocab_size: int = 400) -> Path:
    """A small byte-level BPE tokenizer.json (GPT-2 style: the space before a word is part of
    the word's first token), trained on `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts) * 20, trainer=trainer)
    tok.save(str(path))
    return path


def build_index(
    texts: Sequence[str], tokenizer: Any, max_shard_tokens: int | None = None, **open_args: Any
) -> anygram.Index:
    """Builds an index of `texts` (one document each) in a fresh temporary directory and opens
    it (passing a custom tokenizer object on to the Index)."""
    tmp = scratch_dir()
    src = write_jsonl(tmp / "c.jsonl", [{"text": t} for t in texts])
    anygram.build(
        [src], tmp / "idx", tokenizer=tokenizer, quiet=True, max_shard_tokens=max_shard_tokens
    )
    tok = None if isinstance(tokenizer, str) else tokenizer
    return anygram.Index(tmp / "idx", tokenizer=tok, **open_args)


def brute_ntd(docs: Sequence[Sequence[int]], q: Sequence[int], eos: int) -> Counter[int]:
    """Continuations of every occurrence of `q`, by scanning; a document end counts as `eos`
    (so the empty prompt also occurs at each document end)."""
    q = list(q)
    out: Counter[int] = Counter()
    for d in docs:
        d = list(d)
        for i in range(len(d) - len(q) + 1):
            if d[i : i + len(q)] == q:
                out[d[i + len(q)] if i + len(q) < len(d) else eos] += 1
    return out


@pytest.fixture
def build_texts(tmp_path: Path) -> Callable[..., anygram.Index]:
    """Builds an index of the given texts (one document each) and opens it."""
    counter = [0]

    def make(texts: Sequence[str], **kwargs: Any) -> anygram.Index:
        counter[0] += 1
        src = write_jsonl(
            tmp_path / f"c{counter[0]}.jsonl", [{"text": t, "i": i} for i, t in enumerate(texts)]
        )
        out = tmp_path / f"idx{counter[0]}"
        anygram.build([src], out, quiet=True, **kwargs)
        tok = kwargs.get("tokenizer")
        return anygram.Index(out, tokenizer=tok if not isinstance(tok, (str, type(None))) else None)

    return make
