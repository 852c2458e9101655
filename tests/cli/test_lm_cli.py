"""`anygram generate` and `anygram eval` (accuracy, by effective n, perplexity floor, JSON, plot
or its absence), and anygram.evaluate against brute force on small corpora."""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from pathlib import Path

import anygram
import pytest
from anygram.cli import main
from anygram.evaluate import evaluate

from tests.conftest import write_jsonl

DOCS = ["the cat sat on the mat", "the cat ate the rat", "a dog sat on a log"]
HELDOUT = ["the cat sat on a log", "a rat ate the mat", "zq"]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in DOCS])
    anygram.build([src], tmp_path / "idx", quiet=True)
    return tmp_path / "idx"


def _brute(docs: list[bytes], q: bytes) -> Counter[int]:
    out: Counter[int] = Counter()
    for d in docs:
        for i in range(len(d) - len(q) + 1):
            if d[i : i + len(q)] == q:
                out[d[i + len(q)] if i + len(q) < len(d) else 255] += 1
    return out


def _expected(floor: float) -> dict:
    docs = [d.encode() for d in DOCS]
    rows: dict[int, list[int]] = {}
    hits = total = 0
    log_sum = 0.0
    for text in HELDOUT:
        b = text.encode()
        for i, t in enumerate(b):
            n = next(n for n in range(i, -1, -1) if _brute(docs, b[i - n : i]))
            c = _brute(docs, b[i - n : i])
            best = min(c, key=lambda k: (-c[k], k))
            p = c[t] / sum(c.values())
            log_sum += math.log(p if p > 0 else floor)
            rows.setdefault(n + 1, [0, 0])
            rows[n + 1][0] += 1
            rows[n + 1][1] += best == t
            hits += best == t
            total += 1
    return {"accuracy": hits / total, "perplexity": math.exp(-log_sum / total), "rows": rows}


def test_evaluate_matches_brute_force(index: Path) -> None:
    ix = anygram.Index(index)
    floor = 1 / (ix.num_tokens + ix.num_docs)
    r = evaluate(ix, HELDOUT, progress=False)
    want = _expected(floor)
    assert r["tokens"] == sum(len(t) for t in HELDOUT) and r["floor"] == floor
    assert r["accuracy"] == pytest.approx(want["accuracy"])
    assert r["perplexity"] == pytest.approx(want["perplexity"])
    assert {
        int(n): [v["tokens"], round(v["accuracy"] * v["tokens"])]
        for n, v in r["by_effective_n"].items()
    } == want["rows"]
    assert r["zero_prob_tokens"] > 0  # "zq": never seen
    assert evaluate(ix, [], progress=False)["accuracy"] is None


def test_cli_eval_json_and_plot(
    index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = write_jsonl(tmp_path / "h.jsonl", [{"body": t} for t in HELDOUT])
    out, png = tmp_path / "r.json", tmp_path / "p.png"
    argv = ["eval", str(index), str(held), "--text-field", "body", "--out", str(out)]
    assert main([*argv, "--plot", str(png), "--quiet"]) == 0
    r = json.loads(out.read_text())
    assert r["tokens"] == sum(len(t) for t in HELDOUT)
    captured = capsys.readouterr()
    assert "accuracy" in captured.out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not png.exists()
        assert "matplotlib is not installed" in captured.err
    else:
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_eval_without_matplotlib(
    index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    held = tmp_path / "h.txt"
    held.write_text(HELDOUT[0])
    png = tmp_path / "p.png"
    assert main(["eval", str(index), str(held), "--plot", str(png), "--quiet"]) == 0
    assert not png.exists()
    assert "matplotlib is not installed" in capsys.readouterr().err
    # A JSONL line without the text field is an error, not a crash.
    bad = write_jsonl(tmp_path / "b.jsonl", [{"x": 1}])
    assert main(["eval", str(index), str(bad), "--quiet"]) == 2


def test_cli_generate(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(index), "the c", "--temperature", "0"]) == 0
    assert capsys.readouterr().out == "the cat ate the rat\n"
    argv = ["generate", str(index), "the ", "--seed", "3", "--json", "--max-new-tokens", "5"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert len(first["token_ids"]) <= 5


def test_cli_generate_with_a_model_refuses_bad_options(
    index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "m.gguf"
    fake.write_bytes(b"")
    cases = {
        ("--draft-index", str(index), "hi"): "give --model",
        ("--model", str(tmp_path / "none.gguf"), "hi"): "no GGUF model",
        ("--model", str(fake), "--temperature", "1", "hi"): "greedily",
        ("--model", str(fake), "--draft-index", str(index), str(index), "hi"): "only the prompt",
        ("--model", str(fake), "--gguf", str(fake), "hi"): "model alone",
        ("--model", str(fake), "--draft-index", str(index), "--draft-min-prob", "2", "hi"): (
            "--draft-min-prob must be 'auto' or in (0, 1]"
        ),
        (str(index),): "INDEX PROMPT",
    }
    for argv, message in cases.items():
        assert main(["generate", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("anygram: error:") and message in err, (argv, err)
