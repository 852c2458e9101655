"""A real server on loopback: uvicorn in a thread on a free port, over small indexes built here."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anygram
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
import httpx
import uvicorn
from anygram.server import Limits, ServerConfig, create_app

from tests.conftest import write_jsonl

DOCS = [
    {"text": "The University of Washington is in Seattle.", "url": "uw", "lang": "en"},
    {"text": "natural language processing and deep learning", "url": "nlp"},
    {"text": "I love natural language processing; natural language is fun.", "url": "love"},
    {"text": "the cat sat on the mat", "url": "cat"},
    {"text": "the dog sat on the log", "url": "dog"},
    {"text": "héllo wörld, the cat again", "url": "unicode"},
]


class LiveServer:
    """uvicorn serving ``app`` in a daemon thread, on a port the OS picked."""

    def __init__(self, app: Any, **uvicorn_options: Any) -> None:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the proto
        # says TCP; without it every response waited ~40 ms on the client's delayed ACK.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", **uvicorn_options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, args=([self.sock],), daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


class SlowIndex(anygram.Index):
    """Counting "slow", or continuing it, takes a second: for the timeout and the
    does-not-block tests."""

    def count(self, input_ids: Any) -> dict[str, Any]:
        if list(input_ids) == list(b"slow"):
            time.sleep(1.0)
        return super().count(input_ids)

    #: What the last "slow" generate returned, after the request had timed out.
    last_slow_generate: dict[str, Any] | None = None

    def generate(self, prompt: Any, max_new_tokens: int, **kwargs: Any) -> dict[str, Any]:
        if list(prompt) != list(b"slow"):
            return super().generate(prompt, max_new_tokens, **kwargs)
        time.sleep(1.0)
        r = super().generate(prompt, max_new_tokens, **kwargs)
        SlowIndex.last_slow_generate = r
        return r


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("server")
    src = write_jsonl(d / "corpus.jsonl", DOCS)
    anygram.build([src], d / "idx", quiet=True)
    return d / "idx"


@pytest.fixture(scope="session")
def server(index_dir: Path) -> Iterator[LiveServer]:
    """Default limits; two names for the same index (switching indexes)."""
    app = create_app({"demo": anygram.Index(index_dir), "other": anygram.Index(index_dir)})
    with LiveServer(app) as s:
        yield s


@pytest.fixture(scope="session")
def strict_server(index_dir: Path) -> Iterator[LiveServer]:
    """Small limits and a short timeout, over an index whose "slow" query sleeps."""
    limits = Limits(
        max_query_tokens=20,
        max_batch=3,
        max_clauses=2,
        max_terms_per_clause=2,
        caps={
            "maxnum": 2,
            "max_disp_len": 50,
            "max_support": 10,
            "max_diff_tokens": 50,
            "max_new_tokens": 5,
        },
        defaults={"max_new_tokens": 3},
    )
    config = ServerConfig(limits=limits, timeout=0.3, max_body_bytes=2000, threads=4)
    with LiveServer(create_app({"demo": SlowIndex(index_dir)}, config)) as s:
        yield s


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture
def strict(strict_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=strict_server.url, timeout=30) as c:
        yield c
