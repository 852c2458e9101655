"""``anygram serve`` as a user runs it: a subprocess on a free port, one or two workers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(log: Path, *args: str) -> Iterator[str]:
    """Runs the server (its stderr, the log, into ``log``) until the block ends."""
    port = free_port()
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anygram", "serve", "--port", str(port), *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {log.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_with_access_log(index_dir: Path, tmp_path: Path) -> None:
    with serving(tmp_path / "log", "--index", f"demo={index_dir}") as url:
        r = httpx.post(url, json={"index": "demo", "query_type": "count", "query": "the cat"})
        assert r.status_code == 200 and r.json()["count"] == 2
        assert httpx.get(f"{url}/").text.startswith("<!doctype html>")
    lines = [ln for ln in (tmp_path / "log").read_text().splitlines() if ln.startswith("{")]
    records = [json.loads(ln) for ln in lines]
    assert any(r["query_type"] == "count" and r["status"] == 200 for r in records if "index" in r)


def test_serve_two_workers(index_dir: Path, tmp_path: Path) -> None:
    args = ("--index", f"a={index_dir}", "--workers", "2", "--no-access-log")
    with serving(tmp_path / "log", *args) as url, httpx.Client(base_url=url) as c:
        for _ in range(20):
            r = c.post("/", json={"index": "a", "query_type": "count", "query": "sat"})
            assert r.json()["count"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--index", "demo"], "NAME=PATH"),
        (["--index", "demo=/nonexistent/index"], "error"),
    ],
)
def test_serve_bad_arguments(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "anygram", "serve", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and message in proc.stderr
