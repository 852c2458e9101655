"""A build killed at any moment never leaves an index that opens; re-running the same command
then builds it cleanly."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import anygram
import pytest
from anygram.errors import IndexNotFoundError

from tests.conftest import write_jsonl

BUILD = """
import sys, anygram
kind = sys.argv[3] if len(sys.argv) > 3 else "sa"
anygram.build([sys.argv[1]], sys.argv[2], quiet=True, workers=2, mem_budget="12MiB", kind=kind)
"""


def _corpus(tmp_path: Path) -> Path:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    docs = [{"text": " ".join(rng.choices(words, k=400))} for _ in range(2500)]
    return write_jsonl(tmp_path / "c.jsonl", docs)


def _run(src: Path, out: Path, kind: str = "sa") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", BUILD, str(src), str(out), kind])


def _kill_when_written(src: Path, out: Path, marker: Path, kind: str = "sa") -> None:
    """Starts the build and SIGKILLs it once `marker` exists; skips the test if the build
    finished first."""
    proc = _run(src, out, kind)
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (out / "manifest.json").exists():
        pytest.skip("the build finished before it could be killed")


def test_killed_builds_never_look_valid_and_rerun_works(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    out = tmp_path / "idx"
    # How long a whole build takes here, to spread the kills over it.
    t = time.perf_counter()
    assert _run(src, tmp_path / "reference").wait() == 0
    full = time.perf_counter() - t
    reference = anygram.Index(tmp_path / "reference")
    killed = 0
    for frac in (0.1, 0.3, 0.5, 0.7, 0.85, 0.95):
        proc = _run(src, out)
        time.sleep(full * frac)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed += 1
            if (out / "manifest.json").exists():
                # The kill came after the commit: then the index must be whole.
                assert anygram.Index(out, verify=True).num_docs == reference.num_docs
                (out / "manifest.json").unlink()
                (out / "BUILDING").write_text("")
            else:
                with pytest.raises(IndexNotFoundError):
                    anygram.Index(out)
        else:
            proc.wait()
            (out / "manifest.json").unlink(missing_ok=True)
            (out / "BUILDING").write_text("")
    assert killed >= 3
    # Re-running the same command over the remains finishes a correct index.
    assert _run(src, out).wait() == 0
    index = anygram.Index(out, verify=True)
    assert index.num_shards > 1
    for q in ["alpha beta", "theta theta theta", "eta", "nope"]:
        assert index.count(q) == reference.count(q)


@pytest.mark.parametrize("kind", ["sa", "fm"])
def test_rerun_keeps_the_shards_a_killed_build_finished(tmp_path: Path, kind: str) -> None:
    src = _corpus(tmp_path)
    assert _run(src, tmp_path / "reference", kind).wait() == 0
    reference = anygram.Index(tmp_path / "reference")
    out = tmp_path / "idx"
    # Kill it as soon as its second shard is finished (and before the whole build is).
    _kill_when_written(src, out, out / "shard-00001" / "shard.json", kind)
    done = len(list(out.glob("shard-*/shard.json")))
    assert done >= 1
    m = anygram.build([src], out, quiet=True, workers=2, mem_budget="12MiB", kind=kind)
    assert m["build"]["resumed_shards"] == done
    assert anygram.Index(out).info()["kind"] == [kind]
    index = anygram.Index(out, verify=True)
    assert index.num_shards == reference.num_shards
    for q in ["alpha beta", "theta theta theta", "eta", "nope", ""]:
        assert index.count(q) == reference.count(q)
    assert [d["text"] for d in index.get_docs_by_ixs(range(0, index.num_docs, 97))] == [
        d["text"] for d in reference.get_docs_by_ixs(range(0, reference.num_docs, 97))
    ]
    # No resume records are left in a finished index.
    assert not list(out.glob("shard-*/shard.json"))


def test_a_different_build_does_not_resume(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    out = tmp_path / "idx"
    _kill_when_written(src, out, out / "shard-00000" / "shard.json")
    m = anygram.build([src], out, quiet=True, workers=2, mem_budget="16MiB")  # other shard size
    assert m["build"]["resumed_shards"] == 0
