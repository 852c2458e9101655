"""Building as a user meets it: input formats named by the user, malformed rows skipped (Parquet
too) and always summarized, an unfinished build that says what to do, one progress line per
phase when stderr is not a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import anygram
import pytest
from anygram.cli import main
from anygram.errors import AnygramFileNotFoundError, InvalidInputError

from tests.conftest import write_jsonl


def test_parquet_null_text_is_skipped_or_named(tmp_path: Path, capsys) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": ["alpha", None, "gamma"], "id": [1, 2, 3]}), src)
    with pytest.raises(InvalidInputError, match=r"row 1: 'text' is null"):
        anygram.build([src], tmp_path / "fail", quiet=True)
    m = anygram.build([src], tmp_path / "skip", quiet=True, on_error="skip")
    assert m["num_docs"] == 2 and m["build"]["skipped_documents"] == 1
    index = anygram.Index(tmp_path / "skip")
    assert [json.loads(index.get_doc_by_ix(i)["metadata"])["metadata"]["id"] for i in (0, 1)] == [
        1,
        3,
    ]
    # The summary of what was skipped is printed even with --quiet.
    out = str(tmp_path / "cli")
    assert main(["build", str(src), "-o", out, "--quiet", "--on-error", "skip"]) == 0
    err = capsys.readouterr().err
    assert "skipped 1 malformed document(s)" in err and "row 1" in err


def test_the_user_names_the_format(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "pretty.json").write_text('{\n  "text": "hello"\n}\n')
    (data / "lines.txt").write_text('{"text": "from jsonl"}\n')
    with pytest.raises(InvalidInputError):  # by suffix: .json is JSONL, and this is not
        anygram.build([data / "pretty.json"], tmp_path / "a", quiet=True)
    m = anygram.build([data], tmp_path / "b", quiet=True, file_glob="*", input_format="text")
    assert m["num_docs"] == 2
    assert main(["build", str(data / "lines.txt"), "-o", str(tmp_path / "c"), "--quiet",
                 "--format", "jsonl"]) == 0  # fmt: skip
    assert anygram.Index(tmp_path / "c").get_doc_by_ix(0)["text"] == "from jsonl"
    assert main(["build", str(data), "-o", str(tmp_path / "d"), "--format", "csv"]) == 2
    assert "invalid choice: 'csv'" in capsys.readouterr().err


def test_a_failed_build_says_what_to_do_and_overwrite_clears_it(tmp_path: Path, capsys) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "fine"}, "{oops"])
    out = tmp_path / "idx"
    assert main(["build", str(bad), "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("anygram: error: ") and "bad.jsonl:2" in err
    assert f"unfinished index was left at {out}" in err and "--on-error skip" in err
    assert (out / "BUILDING").exists()
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": "fine"}])
    assert main(["build", str(good), "-o", str(out), "--quiet", "--overwrite"]) == 0
    assert anygram.Index(out).num_docs == 1 and not (out / "BUILDING").exists()
    assert main(["build", str(good), "-o", str(out), "--quiet"]) == 2
    assert "add --overwrite to replace it" in capsys.readouterr().err


def test_a_missing_tokenizer_file_is_no_such_file(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "c.jsonl", [{"text": "x"}])
    with pytest.raises(AnygramFileNotFoundError, match="no such file"):
        anygram.build([good], tmp_path / "i", tokenizer=tmp_path / "missing.json", quiet=True)


def test_progress_is_one_line_per_phase_off_a_terminal(tmp_path: Path, capsys) -> None:
    good = write_jsonl(tmp_path / "c.jsonl", [{"text": "some text"}] * 3)
    anygram.build([good], tmp_path / "i")
    err = capsys.readouterr().err  # captured: not a terminal
    assert "\r" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("reading + tokenizing: ") and "3 docs" in lines[0]
    assert lines[1].startswith("sorting suffixes + writing: 1 shard in ")
    assert lines[2].startswith("indexed 3 documents")
