"""The command line as a user meets it: queries read as typed, options anywhere, clean errors
(``anygram:`` prefix, exit 2, no traceback), and help for every option."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from anygram.cli import _build_parser, _commands, main

from tests.conftest import write_jsonl


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    src = write_jsonl(
        d / "c.jsonl",
        [
            {"text": 'x (self) self and "hello" hello'},
            {"text": "the Apache License, Version 2.0"},
        ],
    )
    assert main(["build", str(src), "-o", str(d / "idx"), "--quiet"]) == 0
    return d / "idx"


def _count(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["count", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_queries_are_read_as_typed(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = _count(capsys, str(index), "(self)")
    assert r["count"] == 1 and r["reading"]["kind"] == "phrase"
    assert _count(capsys, str(index), '"hello"')["count"] == 2
    assert _count(capsys, str(index), '"quoted" text')["count"] == 0  # no error: the text
    assert _count(capsys, str(index), "--phrase", '"hello"')["count"] == 1
    r = _count(capsys, str(index), "self OR hello")
    assert r["count"] == 4 and r["reading"]["kind"] == "boolean"
    assert _count(capsys, str(index), "--boolean", "(self)")["count"] == 2
    # The plain answer says how a query that is not just its text was read.
    assert main(["count", str(index), '"hello"']) == 0
    assert capsys.readouterr().out.splitlines() == ["2", '  read as the phrase "hello"']
    assert main(["count", str(index), "self"]) == 0
    assert capsys.readouterr().out.splitlines() == ["2"]


def test_options_anywhere(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _count(capsys, str(index), "Apache License")["count"] == 1
    assert main(["count", "--json", str(index), "Apache License"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 1
    assert main(["docs", str(index), "--limit", "1", "hello", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cnt"] == 2


def test_usage_line_names_the_query(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["count", "--help"]) == 0
    assert "INDEX [INDEX ...] QUERY" in capsys.readouterr().out.splitlines()[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "x.jsonl", "-o", "out", "--workers", "0"],
        ["build", "x.jsonl", "-o", "out", "--workers", "two"],
        ["docs", "idx", "q", "--limit", "-1"],
        ["serve", "--index", "a=b", "--port", "70000"],
        ["serve", "--index", "a=b", "--timeout", "nan"],
        ["generate", "idx", "p", "--max-new-tokens", "0"],
        ["contamination", "idx", "b.jsonl", "--dirty", "1.5"],
        ["count", "idx"],
        ["serve", "--index", "nope"],
        ["nosuchcommand"],
    ],
)
def test_bad_values_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("anygram: error: ")
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import anygram

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"anygram {anygram.__version__}"


def test_every_option_has_help() -> None:
    for name, parser in _commands(_build_parser()).items():
        assert parser.description or name, name
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"anygram {name} {action.option_strings or action.dest}"


def test_contamination_help_is_prose(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contamination", "--help"]) == 0
    out = capsys.readouterr().out
    assert "``" not in out and not out.rstrip().endswith(":")
    assert "dirty when the share is at least 0.8" in " ".join(out.split())


def test_a_closed_pipe_is_no_traceback(index: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "anygram", "info", str(index)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader (`| head`) is gone before anything is written
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert err == ""


def test_a_missing_extra_is_named(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    for name in [m for m in sys.modules if m.startswith("anygram.lm")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "numpy", None)  # import numpy raises ModuleNotFoundError
    heldout = write_jsonl(tmp_path / "h.jsonl", [{"text": "self"}])
    code = main(["interpolate", str(index), str(heldout), "--neural", "m:f"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        "anygram: error: this needs numpy, from the [lm] extra: pip install 'anygram[lm]'"
    )
