"""Damaged or foreign indexes: each gives a clear AnygramError subclass, never a crash."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import anygram
import pytest
from anygram.errors import (
    AnygramError,
    CorruptIndexError,
    IncompatibleFormatError,
    IndexMismatchError,
    IndexNotFoundError,
)

from tests.conftest import CharTokenizer, write_jsonl

SHARD_FILES = ["tokens.bin", "sa.bin", "docs.bin", "prefix.bin", "meta.jsonl", "meta.idx"]
FM_FILES = ["fm.bwt", "fm.samples", "meta.blocks"]
#: Every file of each kind (the FM kind's docs.bin is the SA kind's, tested there; its metadata
#: is compressed in blocks, meta.blocks).
KIND_FILES = [("sa", f) for f in SHARD_FILES] + [("fm", f) for f in FM_FILES]


def _build(tmp_path: Path, kind: str) -> Path:
    src = write_jsonl(
        tmp_path / "c.jsonl",
        [{"text": f"document {i}: the quick brown fox {i % 7}"} for i in range(50)],
    )
    out = tmp_path / "idx"
    fm = {"sa_sample": 4, "isa_sample": 8} if kind == "fm" else {}
    anygram.build([src], out, quiet=True, kind=kind, **fm)
    return out


@pytest.fixture(params=["sa", "fm"])
def index_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return _build(tmp_path, request.param)


def _exercise(path: Path, verify: bool = False) -> None:
    index = anygram.Index(path, verify=verify)
    for q in ["the", "quick brown", "fox 3", "x"]:
        index.count(q)
        found = index.find(q)
        for s, (lo, hi) in enumerate(found["segment_by_shard"]):
            for r in range(lo, min(hi, lo + 5)):
                index.get_doc_by_rank(s, r, 50)
    for i in range(index.num_docs):
        index.get_doc_by_ix(i, 50)


def test_missing_directory() -> None:
    with pytest.raises(IndexNotFoundError) as e:
        anygram.Index("/nonexistent/index")
    assert isinstance(e.value, FileNotFoundError)


def test_missing_manifest(index_dir: Path) -> None:
    (index_dir / "manifest.json").unlink()
    with pytest.raises(IndexNotFoundError, match=r"manifest\.json is missing"):
        anygram.Index(index_dir)


def test_corrupt_manifest(index_dir: Path) -> None:
    (index_dir / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptIndexError, match="not valid JSON"):
        anygram.Index(index_dir)
    (index_dir / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(CorruptIndexError, match="not an anygram manifest"):
        anygram.Index(index_dir)


def test_manifest_fields_that_disagree(index_dir: Path) -> None:
    m = json.loads((index_dir / "manifest.json").read_text())
    m["num_tokens"] += 1
    (index_dir / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(CorruptIndexError, match="totals"):
        anygram.Index(index_dir)


def test_newer_format_version(index_dir: Path) -> None:
    m = json.loads((index_dir / "manifest.json").read_text())
    m["format_version"] = 99
    m["some_future_field"] = {"x": 1}
    (index_dir / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IncompatibleFormatError, match="version 99"):
        anygram.Index(index_dir)


def test_fm_manifest_that_claims_an_older_version_or_another_kind(tmp_path: Path) -> None:
    """An FM index with metadata in blocks needs format version 4 (a version 3 reader would look
    for meta.jsonl, a version 2 reader for fm.sa, a version 1 reader for tokens.bin); a manifest
    that says 3, 2 or 1, names an
    unknown kind, loses its sampling rates, changes them or calls its FM files a suffix array's
    is refused as corrupt."""
    index_dir = _build(tmp_path, "fm")
    path = index_dir / "manifest.json"
    good = json.loads(path.read_text())
    assert good["format_version"] == 4 and good["kind"] == "fm"
    edits: list[tuple[str, Any]] = [
        ("format_version", 3),
        ("format_version", 2),
        ("format_version", 1),
        ("kind", "bwt"),
        ("kind", "sa"),
        ("fm", None),
        ("fm", {"sa_sample": 0, "isa_sample": 64}),
        ("fm", {"sa_sample": 8, "isa_sample": 8}),
        ("fm", {"sa_sample": 4, "isa_sample": 16}),
    ]
    for field, value in edits:
        m = dict(good)
        if value is None:
            del m[field]
        else:
            m[field] = value
        path.write_text(json.dumps(m))
        with pytest.raises(CorruptIndexError):
            anygram.Index(index_dir)
    path.write_text(json.dumps(good))
    _exercise(index_dir, verify=True)


@pytest.mark.parametrize(("kind", "name"), KIND_FILES)
def test_missing_file(tmp_path: Path, kind: str, name: str) -> None:
    index_dir = _build(tmp_path, kind)
    (index_dir / "shard-00000" / name).unlink()
    with pytest.raises(CorruptIndexError, match="missing"):
        anygram.Index(index_dir)


@pytest.mark.parametrize(("kind", "name"), KIND_FILES)
def test_truncated_file(tmp_path: Path, kind: str, name: str) -> None:
    index_dir = _build(tmp_path, kind)
    p = index_dir / "shard-00000" / name
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptIndexError, match="truncated"):
        anygram.Index(index_dir)


def test_wrong_token_width(index_dir: Path) -> None:
    """A manifest claiming u16 over a u8 token file."""
    m = json.loads((index_dir / "manifest.json").read_text())
    m["token_width"] = "u16"
    (index_dir / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(CorruptIndexError):
        anygram.Index(index_dir)


@pytest.mark.parametrize(("kind", "name"), KIND_FILES)
def test_bit_flips_never_crash(tmp_path: Path, kind: str, name: str) -> None:
    """Random bit flips: opening and querying either works (garbage in, garbage out) or raises
    an AnygramError; with verify=True every flip is caught by the checksums."""
    index_dir = _build(tmp_path, kind)
    rng = random.Random(name)
    p = index_dir / "shard-00000" / name
    original = p.read_bytes()
    for trial in range(12):
        data = bytearray(original)
        for _ in range(1 + trial % 4):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        p.write_bytes(bytes(data))
        with contextlib.suppress(AnygramError):
            _exercise(index_dir)
        with pytest.raises(CorruptIndexError):
            anygram.Index(index_dir, verify=True)
    p.write_bytes(original)
    _exercise(index_dir, verify=True)


def test_indexes_with_different_tokenizers_do_not_mix(index_dir: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "o.jsonl", [{"text": "abc"}])
    anygram.build([src], tmp_path / "other", tokenizer=CharTokenizer(300), quiet=True)
    with pytest.raises(IndexMismatchError):
        anygram.Index([index_dir, tmp_path / "other"])


def test_index_opened_from_a_copy(index_dir: Path, tmp_path: Path) -> None:
    """An index is a self-contained directory: it can be moved."""
    moved = tmp_path / "moved"
    shutil.copytree(index_dir, moved)
    os.utime(moved)
    assert anygram.Index(moved).count("quick")["count"] == 50
