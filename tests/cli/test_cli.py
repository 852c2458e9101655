"""The command line: build, count, docs, info, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from anygram.cli import main

from tests.conftest import write_jsonl


@pytest.fixture
def index(tmp_path: Path) -> Path:
    src = write_jsonl(
        tmp_path / "c.jsonl",
        [{"text": "the cat sat on the mat", "id": 1}, {"text": "the dog", "id": 2}],
    )
    out = tmp_path / "idx"
    assert main(["build", str(src), "-o", str(out), "--quiet"]) == 0
    return out


def test_count(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["count", str(index), "the"]) == 0
    assert capsys.readouterr().out.strip() == "3"
    assert main(["count", str(index), "the cat", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 1 and out["approx"] is False
    assert out["token_ids"] == list(b"the cat")
    assert main(["count", str(index), "--ids", *map(str, b"the")]) == 0
    assert capsys.readouterr().out.strip() == "3"


def test_docs(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", str(index), "the", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 occurrence(s); showing 3")
    assert "[[the]]" in out and '"id": 2' in out.replace('"id":2', '"id": 2')
    assert main(["docs", str(index), "mat", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["cnt"] == 1 and found["documents"][0]["text"] == "the cat sat on the mat"


def test_info(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(index), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "documents:      2" in out and "format version: 1" in out and "verified" in out
    assert main(["info", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num_tokens"] == len("the cat sat on the mat") + 7


def test_errors_exit_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["count", str(tmp_path / "none"), "x"]) == 2
    assert "no anygram index" in capsys.readouterr().err
    bad = write_jsonl(tmp_path / "bad.jsonl", ["{oops"])
    assert main(["build", str(bad), "-o", str(tmp_path / "o"), "--quiet"]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
    assert main(["build", str(bad), "-o", str(tmp_path / "o2"), "--tokenizer", "nope"]) == 2


def test_entry_point_runs(index: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "anygram", "count", str(index), "the"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "3"


def test_boolean_queries(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["count", str(index), "cat AND mat"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "1",
        '  read as the boolean query "cat" AND "mat"',
    ]
    assert main(["count", str(index), "cat OR dog"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "2"
    assert main(["count", "--phrase", str(index), "cat AND mat"]) == 0
    assert capsys.readouterr().out.strip() == "0"
    assert main(["docs", str(index), '"the cat" AND mat']) == 0
    out = capsys.readouterr().out
    assert "[[the cat]]" in out and "[[mat]]" in out
    assert main(["count", str(index), "(cat AND"]) == 2
    assert "position" in capsys.readouterr().err


def test_serve_passes_its_caps_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import anygram.server

    seen: dict[str, Any] = {}
    monkeypatch.setattr(anygram.server, "serve", lambda indexes, **kw: seen.update(kw))
    flags = ["--max-new-tokens", "7", "--max-diff-tokens", "9"]
    assert main(["serve", "--index", "a=/nowhere", *flags]) == 0
    caps = seen["config"].limits.caps
    assert caps["max_new_tokens"] == 7 and caps["max_diff_tokens"] == 9
    assert caps["max_clause_freq"] == anygram.server.Limits().caps["max_clause_freq"]
