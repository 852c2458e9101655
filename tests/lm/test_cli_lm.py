"""``anygram interpolate`` and ``anygram generate --neural`` on a small corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from anygram.cli import main

from ..conftest import write_jsonl
from .test_mixture import _texts

TOY = str(Path(__file__).with_name("toy_neural.py")) + ":make"


@pytest.fixture(scope="module")
def index_and_heldout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import anygram

    d = tmp_path_factory.mktemp("cli-lm")
    train = _texts(200, 1)
    src = write_jsonl(d / "c.jsonl", [{"text": t} for t in train])
    anygram.build([src], d / "idx", quiet=True)
    held = write_jsonl(d / "held.jsonl", [{"text": t} for t in _texts(20, 3) + train[:6]])
    return d / "idx", held


def test_interpolate_reports_and_saves_the_mixture(
    index_and_heldout: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx, held = index_and_heldout
    out, mix = tmp_path / "r.json", tmp_path / "m.json"
    args = [str(idx), str(held), "--neural", TOY, "--out", str(out), "--save-mixture", str(mix)]
    assert main(["interpolate", *args, "--quiet"]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["test_tokens"] > 0
    for s in ("paper", "buckets", "gated"):
        assert f"{report['mixtures'][s]['perplexity']:.3f}" in printed
        assert report["mixtures"][s]["perplexity"] < report["neural_perplexity"]
    assert json.loads(mix.read_text())["scheme"] == report["best"]
    gen = ["generate", str(idx), "the cat", "--neural", TOY, "--mixture", str(mix)]
    assert main([*gen, "--seed", "1", "--json", "--max-new-tokens", "8"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert len(r["weight"]) == len(r["token_ids"]) <= 8


def test_neural_options_are_checked(
    index_and_heldout: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    idx, held = index_and_heldout
    assert main(["generate", str(idx), "the", "--neural", TOY]) == 2
    assert "--mixture FILE or --weight" in capsys.readouterr().err
    assert main(["generate", str(idx), "the", "--weight", "0.5"]) == 2
    assert "need a neural model" in capsys.readouterr().err
    assert (
        main(["generate", str(idx), "the", "--neural", "nosuchmodule_xyz:make", "--weight", "1"])
        == 2
    )
    assert "nosuchmodule_xyz" in capsys.readouterr().err
    assert main(["generate", str(idx), "the", "--gguf", "/nonexistent.gguf", "--weight", "1"]) == 2
    assert "error" in capsys.readouterr().err
    assert (
        main(["interpolate", str(idx), str(held), "--neural", TOY, "--schemes", "magic", "--quiet"])
        == 2
    )
    assert "magic" in capsys.readouterr().err
