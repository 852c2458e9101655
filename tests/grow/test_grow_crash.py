"""SIGKILL at random points of add, takedown and compact: the index always opens at the
generation before or the one after, never a mix, answers exactly as that generation should,
and the same change run again finishes it (resumed).

A few seeds per change in the default run; ``-m slow`` runs many (`ANYGRAM_CRASH_SEEDS`)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anygram
import pytest

CHILD = r"""
import json, sys, anygram
op, idx, arg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
if op == "add":
    anygram.add(idx, arg, quiet=True, allow_duplicate=True, max_shard_tokens=40_000, workers=1)
elif op == "takedown":
    anygram.takedown(idx, arg, workers=1)
else:
    anygram.compact(idx, max_shards=arg, workers=1)
print("done", flush=True)
"""

QUERIES = ["the", "fox", "lazy dog", "3 ", "quick brown"]


def _docs(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "1", "2", "3"]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(5, 60))) for _ in range(n)]


def _write(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


def _state(idx: Path) -> dict[str, Any]:
    index = anygram.Index(idx, verify=True)
    docs = {}
    for n in range(index.info()["doc_slots"]):
        with contextlib.suppress(anygram.errors.InvalidQueryError):  # taken down
            docs[n] = index.get_doc_by_ix(n, max_disp_len=10_000)["text"]
    return {
        "generation": index.generation,
        "counts": [index.count(q)["count"] for q in QUERIES],
        "ntd": index.ntd("the", exact=True)["result_by_token_id"],
        "docs": docs,
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("crash")
    idx = work / "idx"
    anygram.build(
        _write(work / "a.jsonl", _docs(1500, 1)), idx, max_shard_tokens=40_000, quiet=True
    )
    for i in range(3):
        anygram.add(idx, _write(work / f"b{i}.jsonl", _docs(300, 2 + i)), quiet=True)
    _write(work / "more.jsonl", _docs(1500, 9))
    return idx


def _arg(op: str, base: Path) -> Any:
    return {
        "add": [os.fspath(base.parent / "more.jsonl")],
        "takedown": [*range(0, 1500, 7), 1600, 2000],
        "compact": 1,
    }[op]


def _run(op: str, idx: Path, arg: Any, kill_after: float | None) -> tuple[bool, float]:
    """Runs the change in a child; kills it `kill_after` seconds into the change. Whether it
    finished, and the seconds from its start to its end."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, op, os.fspath(idx), json.dumps(arg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    child.stdin.write("go\n")
    child.stdin.flush()
    if kill_after is not None:
        time.sleep(kill_after)
        child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    return "done" in out, time.perf_counter() - t0


def crash_many(op: str, base: Path, tmp: Path, seeds: int) -> dict[str, int]:
    before = _state(base)
    done = tmp / "done"
    shutil.copytree(base, done)
    finished, duration = _run(op, done, _arg(op, base), None)
    assert finished
    after = _state(done)
    assert after["generation"] == before["generation"] + 1
    outcome = {"before": 0, "after": 0}
    for seed in range(seeds):
        work = tmp / f"w{seed}"
        shutil.copytree(base, work)
        delay = random.Random(seed).uniform(0, duration * 1.1)
        _run(op, work, _arg(op, base), delay)
        state = _state(work)
        if state["generation"] == before["generation"]:
            assert state == before, (op, seed, delay)
            outcome["before"] += 1
            assert _run(op, work, _arg(op, base), None)[0]  # run again: it finishes
            state = _state(work)
        else:
            outcome["after"] += 1
        assert state == after, (op, seed, delay)
        shutil.rmtree(work)
    return outcome


@pytest.mark.parametrize("op", ["add", "takedown", "compact"])
def test_sigkill_leaves_the_previous_or_the_next_generation(
    op: str, base: Path, tmp_path: Path
) -> None:
    crash_many(op, base, tmp_path, seeds=3)


@pytest.mark.slow
@pytest.mark.parametrize("op", ["add", "takedown", "compact"])
def test_sigkill_many_seeds(op: str, base: Path, tmp_path: Path) -> None:
    seeds = int(os.environ.get("ANYGRAM_CRASH_SEEDS", "40"))
    outcome = crash_many(op, base, tmp_path, seeds)
    print(f"{op}: {seeds} kills, {outcome}")
    assert outcome["before"] > 0
