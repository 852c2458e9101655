"""Idle, silent and slow connections cannot lock new clients out (issue: 800 idle connections
held 800 file descriptors and, under a lower descriptor limit, new clients were refused).

The server runs ``anygram serve``'s protocol (``anygram.server.protocol``) with a small cap and
a one-second read deadline; each test takes about a second."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import anygram
import httpx
import pytest
from anygram.server import create_app
from anygram.server.protocol import guarded_protocol

from tests.server.conftest import LiveServer

#: Asserts on wall-clock time: `make test` runs these alone, after the parallel pass.
pytestmark = pytest.mark.timing

CAP = 20
READ_TIMEOUT = 1.0


@pytest.fixture
def guarded(index_dir: Path) -> Iterator[LiveServer]:
    app = create_app({"demo": anygram.Index(index_dir)})
    protocol = guarded_protocol(read_timeout=READ_TIMEOUT, max_connections=CAP)
    with LiveServer(app, http=protocol, limit_concurrency=CAP) as s:
        yield s


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def _open_idle(port: int, n: int, first_bytes: bytes = b"") -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if first_bytes:
            s.sendall(first_bytes)
        socks.append(s)
    return socks


def test_idle_connections_do_not_stop_new_clients(guarded: LiveServer) -> None:
    """Five times the cap of connections that never send a byte (or stop halfway through their
    headers): a new client is still answered at once, idle ones are closed to make room, and the
    server never holds more than the cap."""
    idle = _open_idle(guarded.port, 3 * CAP) + _open_idle(
        guarded.port, 2 * CAP, b"POST / HTTP/1.1\r\nHost: x\r\n"
    )
    try:
        time.sleep(0.1)
        t0 = time.perf_counter()
        r = httpx.post(
            guarded.url + "/",
            json={"index": "demo", "query_type": "count", "query": "the"},
            timeout=5,
        )
        assert r.status_code == 200, r.text
        assert time.perf_counter() - t0 < READ_TIMEOUT / 2  # not after the deadline
        assert len(guarded.server.server_state.connections) <= CAP
        assert sum(_closed_by_server(s) for s in idle) >= 4 * CAP
    finally:
        for s in idle:
            s.close()


def test_silent_and_slow_clients_are_disconnected_at_the_read_deadline(
    guarded: LiveServer,
) -> None:
    """A client that sends nothing, and one that sends its request a byte every 0.05 s (each
    byte used to restart uvicorn's keep-alive timer), are both closed after the deadline; a
    client that sends its request in time is answered and kept alive."""
    silent = socket.create_connection(("127.0.0.1", guarded.port))
    slow = socket.create_connection(("127.0.0.1", guarded.port))
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    t0 = time.monotonic()
    try:
        for b in request[:-2]:  # never the final blank line
            slow.sendall(bytes([b]))
            time.sleep(0.05)
    except OSError:  # closed by the server meanwhile
        pass
    time.sleep(max(0.0, t0 + READ_TIMEOUT + 0.3 - time.monotonic()))
    try:
        assert _closed_by_server(silent)
        assert _closed_by_server(slow)
    finally:
        silent.close()
        slow.close()
    with httpx.Client(base_url=guarded.url) as c:  # a normal client: two requests, one socket
        assert c.get("/health").status_code == 200
        time.sleep(0.2)
        assert c.get("/health").status_code == 200
