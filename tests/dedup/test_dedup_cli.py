"""``anygram dedup`` on the command line: every input format written back in its own format
with the other fields kept, malformed input as ``anygram build`` treats it, inputs never
modified, and an interrupted run leaving no output that looks complete."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from anygram import dedup_output
from anygram.cli import main

LINE = "a paragraph that appears twice in the corpus, long enough to be a duplicate"
TEXTS = [f"first: {LINE}", "unrelated text", f"{LINE} (copied)", LINE]


def _jsonl(path: Path, texts: list[str] = TEXTS) -> Path:
    body = "".join(
        json.dumps({"id": i, "text": t, "meta": {"k": [i]}}) + "\n" for i, t in enumerate(texts)
    )
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(body.encode()))
    elif path.suffix == ".zst":
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(body.encode()))
    else:
        path.write_text(body)
    return path


def _read_jsonl(path: Path) -> list[dict]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    elif path.suffix == ".zst":
        import zstandard

        data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return [json.loads(x) for x in data.decode().splitlines() if x.strip()]


@pytest.mark.parametrize("name", ["c.jsonl", "c.jsonl.gz", "c.jsonl.zst"])
def test_jsonl_outputs_keep_format_and_fields(tmp_path: Path, name: str) -> None:
    src = _jsonl(tmp_path / name)
    before = src.read_bytes()
    out = tmp_path / "out"
    assert main(["dedup", str(src), "-o", str(out), "--min-len", "30", "--quiet"]) == 0
    assert src.read_bytes() == before
    rows = _read_jsonl(out / name)
    # The first copy stays; the later ones lose it; the last document is left empty: dropped.
    assert [r["text"] for r in rows] == [TEXTS[0], TEXTS[1], " (copied)"]
    assert [(r["id"], r["meta"]) for r in rows] == [
        (0, {"k": [0]}),
        (1, {"k": [1]}),
        (2, {"k": [2]}),
    ]
    report = json.loads((out / "dedup-report.json").read_text())
    assert report["files"][name]["docs_dropped"] == 1


def test_keep_none_keep_empty_and_report_only(tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    args = ["dedup", str(src), "-o", str(out), "--min-len", "30", "--keep", "none", "--quiet"]
    assert main([*args, "--keep-empty", "--html", str(tmp_path / "r.html")]) == 0
    assert [r["text"] for r in _read_jsonl(out / "c.jsonl")] == [
        "first: ",
        TEXTS[1],
        " (copied)",
        "",
    ]
    assert "Dedup report" in (tmp_path / "r.html").read_text()
    ranges = tmp_path / "ranges.jsonl"
    assert main([*args[:3], str(ranges), *args[4:], "--report-only"]) == 0
    got = [json.loads(x) for x in ranges.read_text().splitlines()]
    assert [(d["doc"], d["linenum"], d["ranges"]) for d in got] == [
        (0, 0, [[7, 7 + len(LINE)]]),
        (2, 2, [[0, len(LINE)]]),
        (3, 3, [[0, len(LINE)]]),
    ]


def test_parquet_and_text_inputs(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pa.table({"text": TEXTS[:2], "score": [0.5, 1.5]}), data / "a.parquet")
    (data / "b.txt").write_text(TEXTS[2])
    (data / "c.txt").write_text("nothing repeated here")
    out = tmp_path / "out"
    html = str(tmp_path / "r.html")
    args = ["dedup", str(data), "-o", str(out), "--min-len", "30", "--quiet", "--html", html]
    assert main(args) == 0
    table = pq.read_table(out / "a.parquet")
    assert table.column("text").to_pylist() == TEXTS[:2]
    assert table.column("score").to_pylist() == [0.5, 1.5]
    assert (out / "b.txt").read_text() == " (copied)"
    # A file with nothing removed is reported with zero counts.
    report = json.loads((out / "dedup-report.json").read_text())
    assert report["files"]["c.txt"]["bytes_removed"] == 0
    assert report["files"]["b.txt"]["bytes_removed"] == len(LINE)


def test_malformed_input_fails_or_is_skipped_as_in_build(tmp_path: Path, capsys) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text(_jsonl(tmp_path / "ok.jsonl").read_text() + "{not json\n")
    out = tmp_path / "out"
    assert main(["dedup", str(src), "-o", str(out), "--min-len", "30", "--quiet"]) == 2
    assert "c.jsonl:5" in capsys.readouterr().err
    assert not out.exists()
    skip = ["dedup", str(src), "-o", str(out), "--min-len", "30", "--on-error", "skip", "--quiet"]
    assert main(skip) == 0
    assert len(_read_jsonl(out / "c.jsonl")) == 3


def test_outputs_that_would_touch_inputs_are_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "data").mkdir()
    src = _jsonl(tmp_path / "data" / "c.jsonl")
    for bad in [tmp_path / "data", tmp_path / "data" / "out", src]:
        assert main(["dedup", str(tmp_path / "data"), "-o", str(bad), "--quiet"]) == 2
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    assert main(["dedup", str(src), "-o", str(tmp_path / "taken"), "--quiet"]) == 2
    assert main(["dedup", str(src), "-o", str(tmp_path / "taken"), "--overwrite", "--quiet"]) == 2
    assert (tmp_path / "taken" / "x").read_text() == "x"
    assert src.read_text() == _jsonl(tmp_path / "again.jsonl").read_text()


def test_an_interrupted_dedup_leaves_nothing_that_looks_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _jsonl(data / "a.jsonl")
    (data / "b.txt").write_text(LINE)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dedup_output, "_rewrite_text", interrupted)
    out = tmp_path / "out"
    assert main(["dedup", str(data), "-o", str(out), "--min-len", "30", "--quiet"]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    # An earlier complete output is kept whole when the new run is interrupted.
    monkeypatch.undo()
    assert main(["dedup", str(data), "-o", str(out), "--min-len", "30", "--quiet"]) == 0
    done = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(done) == ["a.jsonl", "dedup-report.json"]  # b.txt was all duplicate
    monkeypatch.setattr(dedup_output, "_rewrite_text", interrupted)
    assert main(["dedup", str(data), "-o", str(out), "--overwrite", "--quiet"]) == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]


def test_an_existing_index_is_reused_and_a_wrong_one_refused(tmp_path: Path, capsys) -> None:
    import anygram

    src = _jsonl(tmp_path / "c.jsonl")
    anygram.build([src], tmp_path / "idx", quiet=True)
    out = tmp_path / "out"
    args = ["dedup", str(src), "-o", str(out), "--min-len", "30", "--quiet"]
    assert main([*args, "--index", str(tmp_path / "idx")]) == 0
    assert [r["text"] for r in _read_jsonl(out / "c.jsonl")][-1] == " (copied)"
    other = _jsonl(tmp_path / "other.jsonl", [t + "!" for t in TEXTS])
    anygram.build([other], tmp_path / "idx2", quiet=True)
    assert main([*args, "--overwrite", "--index", str(tmp_path / "idx2")]) == 2
    assert "not built from these inputs" in capsys.readouterr().err
