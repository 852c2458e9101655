"""Every error a careless user or a damaged index can cause is an ``anygram.errors`` class,
never a bare ``UnicodeEncodeError``, ``KeyError``, ``AttributeError``, ``OverflowError``,
``TypeError`` or a pyarrow traceback: one test walks each case found (issue 11), and the index
files' own cases (the tokenizer copy, duplicate shards, special inputs, rebuilds)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anygram
import pytest
from anygram.errors import (
    AnygramError,
    AnygramFileNotFoundError,
    CorruptIndexError,
    CorruptTokenizerError,
    InvalidArgumentError,
    InvalidInputError,
    InvalidQueryError,
    TokenizerError,
    TokenOutOfRangeError,
)

from tests.conftest import train_bpe, write_jsonl

DOCS = [{"text": "the cat sat on the mat"}, {"text": "the dog sat on the log"}]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("typed")
    anygram.build([write_jsonl(d / "c.jsonl", DOCS)], d / "idx", quiet=True)
    return d / "idx"


@pytest.fixture(scope="module")
def hf_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tokenizers")
    d = tmp_path_factory.mktemp("hf")
    tok = train_bpe(d / "tokenizer.json", [x["text"] for x in DOCS] * 3)
    anygram.build([write_jsonl(d / "c.jsonl", DOCS)], d / "idx", tokenizer=tok, quiet=True)
    return d / "idx"


def copy_with_manifest(src: Path, dest: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    shutil.copytree(src, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    change(manifest)
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return dest


QUERY_CASES: list[tuple[str, Callable[[anygram.Index], Any], type[AnygramError]]] = [
    ("lone surrogate, count", lambda ix: ix.count("\ud800"), InvalidQueryError),
    ("lone surrogate, boolean", lambda ix: ix.count_cnf("\udfff AND cat"), InvalidQueryError),
    ("lone surrogate, tokenize", lambda ix: ix.tokenize("a\ud83d"), InvalidQueryError),
    ("maxnum=None", lambda ix: ix.search_docs("the", maxnum=None), InvalidQueryError),
    ("maxnum=-1", lambda ix: ix.search_docs("the", maxnum=-1), InvalidQueryError),
    ("decode([256]) on bytes", lambda ix: ix.decode([256]), TokenOutOfRangeError),
    ("decode([-1])", lambda ix: ix.decode([-1]), TokenOutOfRangeError),
    ("decode(['a'])", lambda ix: ix.decode(["a"]), InvalidQueryError),
    ("tokenize(b'x')", lambda ix: ix.tokenize(b"x"), InvalidQueryError),
]


@pytest.mark.parametrize(("case", "call", "error"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
def test_query_mistakes_are_typed(
    index_dir: Path, case: str, call: Callable[[anygram.Index], Any], error: type[AnygramError]
) -> None:
    with pytest.raises(error):
        call(anygram.Index(index_dir))


def test_huge_min_len_keeps_no_span(index_dir: Path) -> None:
    """``min_len=2**64`` was an OverflowError; a span that long cannot exist."""
    assert anygram.Index(index_dir).attribute("the cat sat", min_len=2**64) == {"spans": []}


@pytest.mark.parametrize(
    ("case", "tokenizer", "message"),
    [
        ("no file", {"kind": "hf"}, "names no file"),
        ("file not text", {"kind": "hf", "file": 5}, "names no file"),
        ("description a string", "hf", "not an object"),
        ("description a number", 7, "not an object"),
        ("absolute path", {"kind": "hf", "file": "/etc/passwd"}, "outside the index"),
        ("parent path", {"kind": "tiktoken", "file": "../../etc/passwd"}, "outside the index"),
    ],
)
def test_bad_manifest_tokenizers_are_typed(
    index_dir: Path, tmp_path: Path, case: str, tokenizer: Any, message: str
) -> None:
    """A manifest whose tokenizer entry lacks its file or has the wrong type, or points outside
    the index directory (it once opened ``/etc/passwd``), is a damaged index."""

    def change(m: dict[str, Any]) -> None:
        m["tokenizer"] = tokenizer

    bad = copy_with_manifest(index_dir, tmp_path / "idx", change)
    index = anygram.Index(bad)  # ids still work: the tokenizer loads on first text
    assert index.count([116])["count"] > 0
    with pytest.raises(CorruptTokenizerError, match=message) as e:
        index.count("the")
    assert isinstance(e.value, CorruptIndexError) and isinstance(e.value, TokenizerError)
    with pytest.raises(CorruptTokenizerError, match=message):
        anygram.Index(bad, verify=True)


def test_a_symlink_out_of_the_index_is_refused(hf_index: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    shutil.copytree(hf_index, idx)
    copy = idx / "tokenizer" / "tokenizer.json"
    outside = tmp_path / "elsewhere.json"
    shutil.move(copy, outside)
    copy.symlink_to(outside)
    with pytest.raises(CorruptTokenizerError, match="outside the index"):
        anygram.Index(idx, verify=True)


def test_verify_checks_the_tokenizer_copy(hf_index: Path, tmp_path: Path) -> None:
    """``Index(verify=True)`` and ``anygram info --verify`` used to pass a flipped byte in, or
    the deletion of, the index's tokenizer file."""
    flipped = tmp_path / "flipped"
    shutil.copytree(hf_index, flipped)
    copy = flipped / "tokenizer" / "tokenizer.json"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    anygram.Index(flipped)  # without verify, opening reads no tokenizer
    with pytest.raises(CorruptTokenizerError, match="differs"):
        anygram.Index(flipped, verify=True)
    gone = tmp_path / "gone"
    shutil.copytree(hf_index, gone)
    (gone / "tokenizer" / "tokenizer.json").unlink()
    with pytest.raises(CorruptTokenizerError, match="missing"):
        anygram.Index(gone, verify=True)
    anygram.Index(hf_index, verify=True)  # the intact index passes

    from anygram.cli import main

    assert main(["info", str(flipped), "--verify"]) == 2
    assert main(["info", str(hf_index), "--verify"]) == 0


def test_the_same_shard_twice_is_refused(index_dir: Path, tmp_path: Path) -> None:
    """``Index([dir, dir + "/"])`` once counted every token twice (16 for 8)."""
    n = anygram.Index(index_dir).count("the")["count"]
    for spelling in [str(index_dir) + "/", os.path.join(index_dir, "."), index_dir]:
        with pytest.raises(InvalidArgumentError, match="same index directory"):
            anygram.Index([index_dir, spelling])
    link = tmp_path / "link"
    link.symlink_to(index_dir)
    with pytest.raises(InvalidArgumentError, match="same index directory"):
        anygram.Index([index_dir, link])

    def twice(m: dict[str, Any]) -> None:
        m["shards"] = [m["shards"][0], {**m["shards"][0], "dir": "./" + m["shards"][0]["dir"]}]
        m["num_tokens"] *= 2
        m["num_docs"] *= 2

    dup = copy_with_manifest(index_dir, tmp_path / "dup", twice)
    with pytest.raises(CorruptIndexError, match="same directory"):
        anygram.Index(dup)
    assert anygram.Index(index_dir).count("the")["count"] == n


def test_a_rebuild_is_detected(index_dir: Path, tmp_path: Path) -> None:
    """An open index keeps answering from its mapped files after its directory is rebuilt (a
    build never rewrites a file in place); ``changed_on_disk`` tells that a reopen would see
    the new build."""
    idx = tmp_path / "idx"
    shutil.copytree(index_dir, idx)
    index = anygram.Index(idx)
    before = index.count("the")["count"]
    assert not index.changed_on_disk()
    src = write_jsonl(tmp_path / "new.jsonl", [{"text": "the the the the"}])
    anygram.build([src], idx, overwrite=True, quiet=True)
    assert index.changed_on_disk()
    assert index.count("the")["count"] == before
    assert anygram.Index(idx).count("the")["count"] == 4


# ------------------------------------------------------------------ build inputs


def test_corrupt_parquet_is_typed(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really parquet PAR1")
    with pytest.raises(InvalidInputError, match=r"bad\.parquet: not a readable Parquet"):
        anygram.build([bad], tmp_path / "idx", quiet=True)


def test_dangling_symlink_is_typed(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    write_jsonl(d / "ok.jsonl", DOCS)
    (d / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    with pytest.raises(AnygramFileNotFoundError, match=r"gone\.jsonl is a dangling symlink"):
        anygram.build([d], tmp_path / "idx", quiet=True)
    with pytest.raises(AnygramFileNotFoundError, match="dangling"):
        anygram.build([d / "gone.jsonl"], tmp_path / "idx", quiet=True)


def test_special_files_are_refused(tmp_path: Path) -> None:
    """A FIFO used to hang the build, ``/dev/zero`` to grow it past its memory budget."""
    d = tmp_path / "in"
    d.mkdir()
    write_jsonl(d / "ok.jsonl", DOCS)
    os.mkfifo(d / "pipe.jsonl")
    with pytest.raises(InvalidInputError, match=r"pipe\.jsonl is not a regular file"):
        anygram.build([d], tmp_path / "idx", quiet=True)
    with pytest.raises(InvalidInputError, match="not a regular file"):
        anygram.build([d / "pipe.jsonl"], tmp_path / "idx", quiet=True)
    with pytest.raises(InvalidInputError, match="/dev/zero is not a regular file"):
        anygram.build(["/dev/zero"], tmp_path / "idx", quiet=True)


def test_no_line_grows_past_the_memory_budget(tmp_path: Path) -> None:
    """One line longer than the budget is a malformed document named by file and line; with
    ``on_error="skip"`` it is skipped and the rest indexed."""
    src = tmp_path / "c.jsonl"
    long = json.dumps({"text": "x" * 300_000})
    src.write_text(f'{{"text": "first"}}\n{long}\n{{"text": "last"}}\n')
    with pytest.raises(InvalidInputError, match=r"c\.jsonl:2: line longer than 200000 bytes"):
        anygram.build([src], tmp_path / "a", mem_budget=200_000, quiet=True)
    m = anygram.build([src], tmp_path / "b", mem_budget=200_000, on_error="skip", quiet=True)
    assert m["num_docs"] == 2 and m["build"]["skipped_documents"] == 1


def test_standard_input_is_the_one_special_file_allowed(tmp_path: Path) -> None:
    """``-`` reads JSONL from standard input (a pipe: not a regular file, named explicitly)."""
    import subprocess
    import sys

    lines = "".join(json.dumps(d) + "\n" for d in DOCS)
    out = tmp_path / "idx"
    cmd = [sys.executable, "-m", "anygram", "build", "-", "-o", str(out), "--quiet"]
    proc = subprocess.run(cmd, input=lines, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    index = anygram.Index(out)
    assert index.num_docs == 2 and index.count("sat on the")["count"] == 2
    assert json.loads(index.get_doc_by_ix(0)["metadata"])["path"] == "<stdin>"
