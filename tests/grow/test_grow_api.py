"""add / takedown / compact / log: numbering, generations, snapshots, errors, files kept."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anygram
import pytest
from anygram.cli import main
from anygram.errors import (
    CorruptIndexError,
    IncompatibleFormatError,
    InvalidArgumentError,
    InvalidQueryError,
)


def _corpus(path: Path, texts: list[str], tag: str) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "url": f"{tag}{i}"}) + "\n" for i, t in enumerate(texts))
    )
    return path


@pytest.fixture
def grown(tmp_path: Path) -> Path:
    idx = tmp_path / "idx"
    anygram.build(_corpus(tmp_path / "a.jsonl", ["to be", "or not", "to be"], "a"), idx, quiet=True)
    return idx


def test_add_continues_numbers_and_a_reader_keeps_its_snapshot(grown: Path, tmp_path: Path) -> None:
    old = anygram.Index(grown)
    m = anygram.add(grown, _corpus(tmp_path / "b.jsonl", ["be it", "let it be"], "b"), quiet=True)
    assert m["generation"] == 1 and m["event"]["docs"] == [3, 5]
    assert old.count("be")["count"] == 2 and old.generation == 0  # its snapshot
    assert old.reopened() is not None and old.count("be")["count"] == 2
    assert old.refresh() and old.count("be")["count"] == 4 and old.generation == 1
    assert old.refresh() is False
    assert [old.get_doc_by_ix(i)["text"] for i in range(5)] == [
        "to be",
        "or not",
        "to be",
        "be it",
        "let it be",
    ]
    with pytest.raises(InvalidArgumentError, match="already added"):
        anygram.add(grown, tmp_path / "b.jsonl", quiet=True)
    anygram.add(grown, tmp_path / "b.jsonl", allow_duplicate=True, quiet=True)
    assert anygram.Index(grown).num_docs == 7


def test_takedown_choices_noops_and_errors(grown: Path, tmp_path: Path) -> None:
    anygram.add(grown, _corpus(tmp_path / "b.jsonl", ["be it", "let it be"], "b"), quiet=True)
    r = anygram.takedown(grown, where={"metadata.url": "a1"})
    assert (r["removed"], r["already"], r["generation"]) == ([1], [], 2)
    r = anygram.takedown(grown, [1], match=["let it"])
    assert (r["removed"], r["already"]) == ([4], [1])
    r = anygram.takedown(grown, [1, 4])  # nothing new: no new generation
    assert (r["removed"], r["already"], r["generation"]) == ([], [1, 4], 3)
    with pytest.raises(InvalidArgumentError, match="no document numbered 9"):
        anygram.takedown(grown, [0, 9])
    index = anygram.Index(grown)
    assert index.get_doc_by_ix(0)["text"] == "to be"  # the failed takedown changed nothing
    assert index.num_docs == 3 and index.count("not")["count"] == 0
    with pytest.raises(InvalidQueryError, match="document 4 was taken down"):
        index.get_doc_by_ix(4)
    assert [index.get_doc_by_ix(i)["doc_ix"] for i in (0, 2, 3)] == [0, 2, 3]
    with pytest.raises(InvalidArgumentError, match="without documents"):
        anygram.takedown(grown, [0, 2, 3])
    info = index.info()
    assert info["takedown"] == [[1, 4]] and info["format_version"] == 2
    assert info["generations"] == [3] and info["doc_slots"] == 5


def test_compact_merges_small_shards_keeps_numbers_and_collects_old_files(
    grown: Path, tmp_path: Path
) -> None:
    for i in range(4):
        anygram.add(grown, _corpus(tmp_path / f"b{i}.jsonl", [f"doc {i}"], f"b{i}"), quiet=True)
    anygram.takedown(grown, [4])
    index = anygram.Index(grown)
    assert index.num_shards == 4  # document 4 was its shard's only one: the shard is gone
    before = {i: index.get_doc_by_ix(i)["text"] for i in (0, 1, 2, 3, 5, 6)}
    m = anygram.compact(grown, max_shards=2)
    assert len(m["shards"]) == 2 and m["event"]["op"] == "compact"
    index.refresh()
    assert index.num_shards == 2
    assert {i: index.get_doc_by_ix(i)["text"] for i in before} == before
    assert anygram.compact(grown, max_shards=2)["generation"] == m["generation"]  # nothing to do
    # Files: the current and the previous generation's shards only.
    prev = json.loads((grown / "generations" / f"{m['generation'] - 1:08}.json").read_text())
    kept = {s["dir"] for s in m["shards"]} | {s["dir"] for s in prev["shards"]}
    assert {p.name for p in grown.iterdir() if p.name.startswith("shard-")} == kept
    ops = [e["event"]["op"] for e in anygram.log(grown)]
    assert ops == ["build", "add", "add", "add", "add", "takedown", "compact"]


def test_cli_commands(grown: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _corpus(tmp_path / "b.jsonl", ["be it", "it be"], "b")
    assert main(["add", str(grown), str(tmp_path / "b.jsonl"), "-q"]) == 0
    assert main(["takedown", str(grown), "--where", "metadata.url=b0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["removed"] == [3]
    assert main(["takedown", str(grown)]) == 2
    assert main(["compact", str(grown), "--max-shards", "1"]) == 0
    assert main(["log", str(grown)]) == 0
    out = capsys.readouterr().out
    assert "takedown 1 document(s) [3]" in out and "compact" in out
    assert main(["info", str(grown)]) == 0
    out = capsys.readouterr().out
    assert "generation:     3" in out and "taken down:     1 document(s): 3" in out


def test_version_two_is_refused_by_a_reader_of_version_one_only(grown: Path) -> None:
    """A manifest with takedowns says format 2 (a version-1 reader would misnumber documents
    after a gap); this release reads both; a newer one is refused."""
    anygram.takedown(grown, [1])
    m = json.loads((grown / "manifest.json").read_text())
    assert m["format_version"] == 2
    m["format_version"] = 99
    (grown / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IncompatibleFormatError):
        anygram.Index(grown)


def test_a_custom_tokenizer_index_grows_with_its_tokenizer(tmp_path: Path) -> None:
    from tests.conftest import CharTokenizer

    tok = CharTokenizer(300)
    idx = tmp_path / "idx"
    anygram.build(_corpus(tmp_path / "a.jsonl", ["ab ab"], "a"), idx, tokenizer=tok, quiet=True)
    anygram.add(idx, _corpus(tmp_path / "b.jsonl", ["ba"], "b"), tokenizer=tok, quiet=True)
    index = anygram.Index(idx, tokenizer=tok)
    assert index.count("ab")["count"] == 2 and index.count("b")["count"] == 3
    assert os.path.isdir(idx / "generations")


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(takedown=[1, 1]),  # not ascending
        lambda m: m.update(takedown=[0, 1, 7]),  # a number never given out
        lambda m: m["shards"][1].update(doc_base=2),  # slots that do not add up
        lambda m: m["shards"][0].update(doc_base=1),  # the first shard not from 0
    ],
)
def test_inconsistent_document_numbers_are_a_corrupt_index(
    grown: Path, tmp_path: Path, edit: Any
) -> None:
    anygram.add(grown, _corpus(tmp_path / "b.jsonl", ["be it", "it be"], "b"), quiet=True)
    anygram.takedown(grown, [1])
    path = grown / "manifest.json"
    m = json.loads(path.read_text())
    edit(m)
    path.write_text(json.dumps(m))
    with pytest.raises(CorruptIndexError):
        anygram.Index(grown)
