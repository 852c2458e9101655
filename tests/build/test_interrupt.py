"""Ctrl-C during a build stops it within a second and leaves the resumable state, never a
finished index (the engine's last phase used to run on for seconds and commit)."""

from __future__ import annotations

import _thread
import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import anygram
import pytest
from anygram import _core
from anygram.errors import AnygramError, IndexNotFoundError
from anygram.interrupt import run_interruptible

from tests.conftest import write_jsonl

#: Asserts on wall-clock time: `make test` runs these alone, after the parallel pass.
pytestmark = pytest.mark.timing


def _sigint_default() -> None:
    """Ctrl-C as in a terminal, also when the tests run in a background job (where the shell
    started them with SIGINT ignored, which children inherit)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_interrupts_a_long_engine_call_at_once() -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    cancelled = threading.Event()
    threading.Timer(0.2, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_interruptible(cancelled.wait, 30, cancel=cancelled.set)
    assert time.monotonic() - t0 < 1.0
    assert cancelled.is_set()
    assert run_interruptible(sum, [1, 2], cancel=cancelled.set) == 3
    with pytest.raises(ZeroDivisionError):
        run_interruptible(lambda: 1 / 0, cancel=cancelled.set)
    signal.signal(signal.SIGINT, previous)


def test_a_cancelled_builder_never_commits_and_the_build_resumes(tmp_path: Path) -> None:
    out = tmp_path / "idx"
    desc = json.dumps({"kind": "bytes", "vocab_size": 255})
    builder = _core.IndexBuilder(str(out), 255, desc, "bytes", 1 << 30, 1)
    builder.add_texts(["the cat sat"], ['{"path": "x", "linenum": 0, "metadata": {}}'])
    builder.cancel()
    with pytest.raises(AnygramError, match="interrupted"):
        builder.add_texts(["more"], ['{"path": "x", "linenum": 1, "metadata": {}}'])
    with pytest.raises(AnygramError, match="interrupted"):
        builder.finish("{}")
    assert not (out / "manifest.json").exists() and (out / "BUILDING").exists()
    with pytest.raises(IndexNotFoundError, match="did not finish"):
        anygram.Index(out)
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "the cat sat"}])
    anygram.build([src], out, quiet=True)  # re-running the build over the remains
    assert anygram.Index(out).count("cat")["count"] == 1


def test_sigint_during_the_last_phase_stops_within_a_second(tmp_path: Path) -> None:
    """The CLI build of one ~8 MB shard, interrupted as soon as its reading phase ends (its
    one-line summary on a non-terminal stderr) and the last phase, sorting and writing, begins:
    it exits within a second (code 130), the directory does not open, and re-running completes
    it."""
    rng = random.Random(3)
    words = [f"w{i}" for i in range(500)]
    docs = [{"text": " ".join(rng.choices(words, k=300))} for _ in range(8000)]
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    out = tmp_path / "idx"
    cmd = [sys.executable, "-m", "anygram", "build", str(src), "-o", str(out), "--workers", "1"]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, bufsize=1, preexec_fn=_sigint_default
    )
    assert proc.stderr is not None
    seen = ""
    while "reading + tokenizing:" not in seen:
        chunk = proc.stderr.read(64)
        if not chunk:
            break
        seen += chunk
    if proc.poll() is not None or "reading + tokenizing:" not in seen:
        pytest.skip("the build ended before its last phase could be interrupted")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=30)
    took = time.monotonic() - t0
    proc.stderr.close()
    assert not (out / "manifest.json").exists(), "the build committed after Ctrl-C"
    assert code == 130 and took < 1.0, (code, took)
    with pytest.raises(IndexNotFoundError):
        anygram.Index(out)
    anygram.build([src], out, quiet=True, workers=1)
    assert anygram.Index(out, verify=True).num_docs == len(docs)
