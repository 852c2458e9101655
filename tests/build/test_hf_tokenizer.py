"""Indexes built with a Hugging Face tokenizer.json: ids equal the `tokenizers` library's, text
queries are tokenized with the stored copy, and documents decode back to text."""

from __future__ import annotations

from pathlib import Path

import anygram
import pytest
from anygram.errors import TokenizerError

from tests.conftest import brute_count, train_bpe, write_jsonl

tokenizers = pytest.importorskip("tokenizers")

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "def main():\n    return 0\n",
    "Ünïcödé and emoji 😀 <|endoftext|> too",
    "",
    "the the the quick quick",
]


def _train(path: Path) -> Path:
    return train_bpe(path, TEXTS)


def test_hf_tokenizer_index(tmp_path: Path) -> None:
    tok_path = _train(tmp_path / "tokenizer.json")
    hf = tokenizers.Tokenizer.from_file(str(tok_path))
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in TEXTS])
    m = anygram.build([src], tmp_path / "idx", tokenizer=tok_path, quiet=True)
    assert m["token_width"] == "u16"
    tok_path.unlink()  # the index carries its own copy
    index = anygram.Index(tmp_path / "idx")
    docs = [hf.encode(t, add_special_tokens=False).ids for t in TEXTS]
    for i, want in enumerate(docs):
        got = index.get_doc_by_ix(i, max_disp_len=10_000)
        assert got["token_ids"] == want
        assert got["text"] == TEXTS[i]
    for q in ["quick", "the quick", " jumps over", "😀", "nowhere"]:
        ids = hf.encode(q, add_special_tokens=False).ids
        assert index.count(q)["count"] == brute_count(docs, ids)
        assert index.count(ids)["count"] == brute_count(docs, ids)


def test_tampered_tokenizer_copy_is_detected(tmp_path: Path) -> None:
    tok_path = _train(tmp_path / "tokenizer.json")
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in TEXTS])
    anygram.build([src], tmp_path / "idx", tokenizer=tok_path, quiet=True)
    copy = tmp_path / "idx" / "tokenizer" / "tokenizer.json"
    copy.write_text(copy.read_text().replace('"the"', '"teh"', 1) + " ")
    index = anygram.Index(tmp_path / "idx")
    assert index.count([1, 2])["count"] >= 0  # id queries need no tokenizer
    with pytest.raises(TokenizerError, match="differs"):
        index.count("the")


def test_broken_tokenizer_file(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{}")
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "x"}])
    with pytest.raises(TokenizerError, match="cannot load"):
        anygram.build([src], tmp_path / "idx", tokenizer=bad, quiet=True)


def test_fast_engine_path_is_used_for_byte_level_bpe(tmp_path: Path) -> None:
    tok_path = _train(tmp_path / "tokenizer.json")
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in TEXTS])
    m = anygram.build([src], tmp_path / "idx", tokenizer=tok_path, quiet=True)
    assert m["tokenizer"]["engine"] == "anygram-bpe"


def test_other_tokenizers_fall_back_to_the_tokenizers_library(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(TEXTS, trainer=trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in TEXTS])
    m = anygram.build([src], tmp_path / "idx", tokenizer=path, quiet=True)
    assert m["tokenizer"]["engine"] == "tokenizers"
    index = anygram.Index(tmp_path / "idx")
    docs = [tok.encode(t, add_special_tokens=False).ids for t in TEXTS]
    assert index.count("the quick")["count"] == brute_count(
        docs, tok.encode("the quick", add_special_tokens=False).ids
    )


def test_tiktoken_file(tmp_path: Path) -> None:
    import base64

    # A tiny rank file: every byte, then a few merges (ranks in merge order).
    ranks = [bytes([b]) for b in range(256)] + [b"th", b"the", b" t", b" the", b"qu", b"ck"]
    path = tmp_path / "tiny_cl100k.tiktoken"
    path.write_text("".join(f"{base64.b64encode(t).decode()} {i}\n" for i, t in enumerate(ranks)))
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in TEXTS])
    m = anygram.build([src], tmp_path / "idx", tokenizer=path, quiet=True)
    assert m["tokenizer"]["kind"] == "tiktoken" and m["tokenizer"]["pattern"] == "cl100k"
    index = anygram.Index(tmp_path / "idx")
    assert index.tokenize("the") == [257]
    for i, t in enumerate(TEXTS):
        assert index.get_doc_by_ix(i, max_disp_len=10_000)["text"] == t
    docs = [index.tokenize(t) for t in TEXTS]
    assert index.count(" the")["count"] == brute_count(docs, index.tokenize(" the"))


def test_eos_comes_from_tokenizer_config_beside_the_file(tmp_path: Path) -> None:
    import json

    tok_path = _train(tmp_path / "tokenizer.json")
    eos = tokenizers.Tokenizer.from_file(str(tok_path)).token_to_id("<|endoftext|>")
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in TEXTS])
    anygram.build([src], tmp_path / "plain", tokenizer=tok_path, quiet=True)
    assert anygram.Index(tmp_path / "plain").eos_token_id == 65535  # no config: the separator
    config = tmp_path / "tokenizer_config.json"
    config.write_text(json.dumps({"eos_token": {"content": "<|endoftext|>"}}))
    anygram.build([src], tmp_path / "idx", tokenizer=tok_path, quiet=True)
    index = anygram.Index(tmp_path / "idx")
    assert index.eos_token_id == eos
    last = tokenizers.Tokenizer.from_file(str(tok_path)).encode(TEXTS[0]).ids[-2:]
    assert eos in index.ntd(last)["result_by_token_id"]  # the document end, under eos
    config.write_text(json.dumps({"eos_token": "<|nope|>"}))
    with pytest.raises(TokenizerError, match="nope"):
        anygram.build([src], tmp_path / "bad", tokenizer=tok_path, quiet=True)
