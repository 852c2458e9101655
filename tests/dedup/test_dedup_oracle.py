"""``anygram.dedup`` end to end against a brute-force oracle on the UTF-8 bytes: every window of
``min_len`` bytes inside one document that occurs elsewhere is removed (keep="none") or removed
unless it is the window's first occurrence (keep="first"); ranges are widened to whole
characters. Also through a BPE tokenizer: token ranges map back to the bytes they spell."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import anygram
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import train_bpe


def _widen(data: bytes, a: int, b: int) -> tuple[int, int]:
    while a > 0 and data[a] & 0xC0 == 0x80:
        a -= 1
    while b < len(data) and data[b] & 0xC0 == 0x80:
        b += 1
    return a, b


def _merge(ranges: list[tuple[int, int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for a, b in ranges:
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def oracle(texts: list[str], k: int, keep: str) -> list[tuple[int, list[list[int]]]]:
    docs = [t.encode() for t in texts]
    first: dict[bytes, tuple[int, int]] = {}
    count: dict[bytes, int] = {}
    for d, data in enumerate(docs):
        for p in range(len(data) - k + 1):
            w = data[p : p + k]
            first.setdefault(w, (d, p))
            count[w] = count.get(w, 0) + 1
    out = []
    for d, data in enumerate(docs):
        marked = [
            _widen(data, p, p + k)
            for p in range(len(data) - k + 1)
            if (count[data[p : p + k]] > 1 if keep == "none" else first[data[p : p + k]] != (d, p))
        ]
        if marked:
            out.append((d, _merge(sorted(marked))))
    return out


def _write(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "n": i}) + "\n" for i, t in enumerate(texts)))
    return path


texts_st = st.lists(
    st.text(alphabet="abé ", max_size=40)
    | st.sampled_from(["abab abab abab", "éééé", "a b a b a b a b"]),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=texts_st, k=st.integers(1, 6), keep=st.sampled_from(["first", "none"]))
def test_ranges_match_the_oracle(texts: list[str], k: int, keep: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = _write(Path(tmp) / "c.jsonl", texts)
        got = anygram.dedup([src], min_len=k, keep=keep, quiet=True, mem_budget="64MiB")
        assert [(d["doc"], d["ranges"]) for d in got["documents"]] == oracle(texts, k, keep)


def test_bpe_ranges_are_byte_ranges_of_the_text(tmp_path: Path) -> None:
    texts = [
        "the quick brown fox jumps over the lazy dog",
        "prefix: the quick brown fox jumps over the lazy dog, suffix",
        "nothing shared here at all",
    ]
    tok = train_bpe(tmp_path / "tokenizer.json", texts)
    src = _write(tmp_path / "c.jsonl", texts)
    got = anygram.dedup([src], min_len=5, tokenizer=tok, quiet=True)
    docs = {d["doc"]: d for d in got["documents"]}
    assert set(docs) == {1}
    data = texts[1].encode()
    [(a, b)] = docs[1]["ranges"]
    # Tokens, not bytes, repeat: "the" opening a text and " the" mid-sentence differ.
    assert data[a:b] == b" quick brown fox jumps over the lazy dog"
    out = tmp_path / "out"
    anygram.dedup([src], out, min_len=5, tokenizer=tok, quiet=True)
    lines = [json.loads(x) for x in (out / "c.jsonl").read_text().splitlines()]
    assert lines[0] == {"text": texts[0], "n": 0}
    assert lines[1]["text"] == (data[:a] + data[b:]).decode() and lines[1]["n"] == 1


def test_decontamination_removes_only_what_the_evaluation_set_has(tmp_path: Path) -> None:
    question = "What is the capital of France? Answer: Paris, on the Seine."
    texts = [f"blog post. {question} more words", "clean text " * 8, "clean text " * 8]
    src = _write(tmp_path / "c.jsonl", texts)
    evals = _write(tmp_path / "eval.jsonl", [question])
    got: dict[str, Any] = anygram.dedup([src], min_len=20, against=[evals], quiet=True)
    assert [(d["doc"], d["ranges"]) for d in got["documents"]] == [(0, [[11, 11 + len(question)]])]
    assert got["mode"] == "decontaminate"


def test_bad_arguments_are_typed_errors(tmp_path: Path) -> None:
    src = _write(tmp_path / "c.jsonl", ["x"])
    with pytest.raises(anygram.errors.InvalidArgumentError):
        anygram.dedup([src], min_len=0)
    with pytest.raises(anygram.errors.InvalidArgumentError):
        anygram.dedup([src], keep="last")
