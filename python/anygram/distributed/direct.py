"""The data path between the driver and the shard-server actors: one TCP connection per actor
(kept open and pooled), carrying a round's encoded requests and answers in length-prefixed
frames. Ray still places the actors, restarts them and retries their calls: a connection that
fails falls back to the actor's Ray call (which waits for a restarted actor and retries), so the
answer is the same; only the common case skips Ray's per-call cost (about 1.8 ms per actor call
on the 2-core benchmark machine, against a few hundred µs here; benchmarks/RESULTS.md).

Frames carry no Python objects (nothing is unpickled from the network): a request is the
actor's secret token, the deadline (wall-clock seconds, NaN for none) and ``(shard, bytes)``
jobs; an answer is the answer bytes, or an error's class name and message.
"""

from __future__ import annotations

import hmac
import math
import socket
import struct
import threading
import time
from collections.abc import Callable

__all__ = ["DirectClient", "DirectServer", "Failure"]

_LEN = struct.Struct("<Q")
_REQ_HEAD = struct.Struct("<dI")  # deadline, number of jobs
_JOB = struct.Struct("<II")  # shard, request length
_U32 = struct.Struct("<I")
TOKEN_BYTES = 16
#: A frame larger than this is refused (a stray connection, not a shard message).
MAX_FRAME = 1 << 31

#: An engine error as data: its class name in anygram.errors and its message.
Failure = tuple[str, str]
Handler = Callable[[list[tuple[int, bytes]], "float | None"], "list[bytes] | Failure"]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise ConnectionError("connection closed")
        got += k
    return bytes(buf)


def _recv_frame(sock: socket.socket) -> bytes:
    (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size))
    if n > MAX_FRAME:
        raise ConnectionError(f"frame of {n} bytes refused")
    return _recv_exact(sock, n)


def _send_frame(sock: socket.socket, parts: list[bytes]) -> None:
    sock.sendall(b"".join([_LEN.pack(sum(len(p) for p in parts)), *parts]))


def _request(token: bytes, jobs: list[tuple[int, bytes]], deadline: float | None) -> list[bytes]:
    parts = [token, _REQ_HEAD.pack(math.nan if deadline is None else deadline, len(jobs))]
    for s, b in jobs:
        parts += [_JOB.pack(s, len(b)), b]
    return parts


def _parse_request(frame: bytes) -> tuple[bytes, list[tuple[int, bytes]], float | None]:
    token, pos = frame[:TOKEN_BYTES], TOKEN_BYTES
    deadline, n = _REQ_HEAD.unpack_from(frame, pos)
    pos += _REQ_HEAD.size
    jobs = []
    for _ in range(n):
        s, k = _JOB.unpack_from(frame, pos)
        pos += _JOB.size
        jobs.append((s, frame[pos : pos + k]))
        pos += k
    return token, jobs, None if math.isnan(deadline) else deadline


def _answer(out: list[bytes] | Failure) -> list[bytes]:
    if isinstance(out, tuple):
        name, message = (x.encode() for x in out)
        return [b"\1", _U32.pack(len(name)), name, _U32.pack(len(message)), message]
    parts = [b"\0", _U32.pack(len(out))]
    for b in out:
        parts += [_U32.pack(len(b)), b]
    return parts


def _parse_answer(frame: bytes) -> list[bytes] | Failure:
    pos = 1
    if frame[:1] == b"\1":
        (k,) = _U32.unpack_from(frame, pos)
        name = frame[pos + 4 : pos + 4 + k].decode()
        pos += 4 + k
        (k,) = _U32.unpack_from(frame, pos)
        return name, frame[pos + 4 : pos + 4 + k].decode()
    (n,) = _U32.unpack_from(frame, pos)
    pos += 4
    out = []
    for _ in range(n):
        (k,) = _U32.unpack_from(frame, pos)
        out.append(frame[pos + 4 : pos + 4 + k])
        pos += 4 + k
    return out


class DirectServer:
    """Listens in an actor and answers frames with ``handler`` (one thread per connection; the
    shard server releases the GIL, so connections are answered in parallel)."""

    def __init__(self, host: str, token: bytes, handler: Handler) -> None:
        self._token = token
        self._handler = handler
        self._sock = socket.create_server((host, 0))
        self.address = (host, self._sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self._sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while True:
                    token, jobs, deadline = _parse_request(_recv_frame(conn))
                    if not hmac.compare_digest(token, self._token):
                        return  # not our driver: drop the connection
                    _send_frame(conn, _answer(self._handler(jobs, deadline)))
            except (OSError, ConnectionError, struct.error):
                return


class DirectClient:
    """The driver's side of one actor's connection pool."""

    def __init__(self, address: tuple[str, int], token: bytes) -> None:
        self.address = address
        self._token = token
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    def send(self, jobs: list[tuple[int, bytes]], deadline: float | None) -> socket.socket:
        """Sends a round's jobs; the socket to read the answer from (:meth:`receive`)."""
        with self._lock:
            sock = self._idle.pop() if self._idle else None
        if sock is None:
            sock = socket.create_connection(self.address, timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.settimeout(10)
            _send_frame(sock, _request(self._token, jobs, deadline))
        except BaseException:
            sock.close()
            raise
        return sock

    def receive(self, sock: socket.socket, wait: float | None) -> list[bytes] | Failure:
        """The answer on ``sock``; ``wait``: seconds to wait at most (None: no limit), past
        which ``TimeoutError`` is raised and the connection dropped."""
        try:
            sock.settimeout(wait)
            out = _parse_answer(_recv_frame(sock))
        except BaseException:
            sock.close()
            raise
        with self._lock:
            self._idle.append(sock)
        return out

    def close(self) -> None:
        with self._lock:
            for s in self._idle:
                s.close()
            self._idle.clear()


def seconds_left(deadline: float | None, grace: float) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.time()) + grace


def node_address() -> str:
    """This node's address as Ray knows it (what other nodes reach it by)."""
    import ray

    return str(ray.util.get_node_ip_address())
