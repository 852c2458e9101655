"""Contamination: window shares checked against a brute force (character windows on a byte-level
index, token n-grams on a custom-tokenizer index), labels and thresholds, matching documents of
dirty items, the JSON and HTML reports (matplotlib PNG and the CSS fallback), the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import anygram
import pytest
from anygram import contamination as C
from anygram.cli import main
from anygram.errors import InvalidArgumentError

from tests.conftest import CharTokenizer, write_jsonl

CORPUS = [
    "the quick brown fox jumps over the lazy dog near the riverbank at dawn",
    "question: what is the capital of france? answer: paris is the capital",
    "héllo wörld, ünïcode text is stored as utf-8 bytes in a byte-level index",
]
ITEMS = [
    {"id": "a", "question": "what is the capital of france? answer: paris"},  # all inside
    {"id": "b", "question": "the quick brown fox jumps over a sleepy cat today"},  # half
    {"id": "c", "question": "completely unrelated words that never occur anywhere"},
    {"id": "d", "question": "héllo wörld, ünïcode"},  # shorter than the window
    {"id": "e", "question": ""},
]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> anygram.Index:
    tmp = tmp_path_factory.mktemp("contam")
    src = write_jsonl(tmp / "c.jsonl", [{"text": t} for t in CORPUS])
    anygram.build([src], tmp / "idx", quiet=True, max_shard_tokens=80)
    return anygram.Index(tmp / "idx")


@pytest.fixture
def bench(tmp_path) -> Path:
    return write_jsonl(tmp_path / "bench.jsonl", ITEMS)


def brute_share(text: str, w: int, stride: int = 1) -> tuple[int, int]:
    occurs = lambda s: any(s in t for t in CORPUS)  # noqa: E731
    if len(text) == 0:
        return 0, 0
    if len(text) <= w:
        return 1, int(occurs(text))
    starts = range(0, len(text) - w + 1, stride)
    return len(starts), sum(occurs(text[i : i + w]) for i in starts)


@pytest.mark.parametrize(("window", "stride"), [(10, 1), (20, 3), (50, 1)])
def test_char_windows_match_brute_force(index, bench, window, stride) -> None:
    items = C.load_items(bench, ["question"])
    rep = C.check(index, items, window=window, stride=stride, progress=False)
    assert rep["unit"] == "characters"
    for it, row in zip(items, rep["items"], strict=True):
        n, found = brute_share(it["text"], window, stride)
        assert (row["windows"], row["found"]) == (n, found), it
        assert row["share"] == (found / n if n else 0.0)
        assert row["label"] == C.label(row["share"])


def test_labels_summary_and_documents(index, bench) -> None:
    rep = C.check(index, C.load_items(bench), window=10, progress=False)
    by_id = {r["id"]: r for r in rep["items"]}
    assert by_id["a"]["label"] == "dirty" and by_id["a"]["share"] == 1.0
    assert by_id["b"]["label"] == "suspicious"
    assert by_id["c"]["label"] == "clean"
    assert by_id["d"]["label"] == "dirty"
    assert by_id["e"]["windows"] == 0 and by_id["e"]["label"] == "clean"
    docs = by_id["a"]["documents"]
    assert docs and docs[0]["doc_ix"] == 1 and "capital of france" in docs[0]["text"]
    assert "documents" not in by_id["c"]
    s = rep["summary"]
    assert (s["items"], s["clean"], s["suspicious"], s["dirty"]) == (5, 2, 1, 2)
    assert sum(s["histogram"]["counts"]) == 5
    assert rep["thresholds"] == {"dirty": 0.8, "suspicious": 0.2}
    json.dumps(rep)


def test_label_thresholds() -> None:
    assert [C.label(x) for x in (0.0, 0.19, 0.2, 0.79, 0.8, 1.0)] == [
        "clean",
        "clean",
        "suspicious",
        "suspicious",
        "dirty",
        "dirty",
    ]
    assert C.label(0.5, dirty=0.5, suspicious=0.1) == "dirty"


def test_token_ngrams(tmp_path) -> None:
    tok = CharTokenizer(1000)
    corpus = ["abcdefghij", "jihgfedcba"]
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in corpus])
    anygram.build([src], tmp_path / "idx", tokenizer=tok, quiet=True)
    ix = anygram.Index(tmp_path / "idx", tokenizer=tok)
    items = [{"line": 1, "id": None, "text": "abcd  ghij"}]
    rep = C.check(ix, items, window=3, progress=False)
    assert rep["unit"] == "tokens"
    # windows: abc bcd "cd " "d  " "  g" " gh" ghi hij: -> abc bcd ghi hij found
    assert (rep["items"][0]["windows"], rep["items"][0]["found"]) == (8, 4)
    assert C.check(ix, items, progress=False)["window"] == 13


def test_default_fields_and_lists(tmp_path) -> None:
    p = write_jsonl(
        tmp_path / "b.jsonl",
        [{"text": "t1", "question": "q"}, {"question": "q2"}, {"choices": ["x", "y"]}, "[1]"],
    )
    items = C.load_items(p)
    assert [i["text"] for i in items] == ["t1", "q2", "", "[1]"]
    assert C.load_items(p, ["choices", "question"])[2]["text"] == "x\ny"
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(InvalidArgumentError, match=r"bad\.jsonl:1"):
        C.load_items(tmp_path / "bad.jsonl")


@pytest.mark.parametrize(
    "kwargs", [{"window": 0}, {"stride": -1}, {"dirty": 0.1, "suspicious": 0.5}]
)
def test_bad_arguments(index, kwargs) -> None:
    with pytest.raises(InvalidArgumentError):
        C.check(index, [], progress=False, **kwargs)


def test_html_css_fallback_and_png(index, bench) -> None:
    rep = C.check(index, C.load_items(bench), window=10, progress=False)
    page = C.render_html(rep, plot="css")
    assert 'class="hist"' in page and "<img" not in page
    assert "capital of france" in page and "&lt;" not in page.split("<body>")[0]
    pytest.importorskip("matplotlib")
    page = C.render_html(rep, plot="png")
    assert "data:image/png;base64," in page


def test_cli(index, bench, tmp_path, capsys) -> None:
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    args = [str(index._paths[0]), str(bench), "--field", "question", "--window", "10"]
    rc = main(["contamination", *args, "--out", str(out), "--html", str(page), "--quiet"])
    assert rc == 0
    assert "5 items: 2 clean, 1 suspicious, 2 dirty" in capsys.readouterr().out
    rep = json.loads(out.read_text())
    assert rep["benchmark"].endswith("bench.jsonl") and len(rep["items"]) == 5
    assert page.read_text().startswith("<!doctype html>")
    assert main(["contamination", *args, "--stride", "0", "--quiet"]) == 2
