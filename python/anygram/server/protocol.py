"""uvicorn's HTTP/1.1 protocol (h11) with the two guards uvicorn lacks for the open internet.

- **A request read deadline.** uvicorn's ``timeout_keep_alive`` only runs between requests and
  restarts on every byte received, so a client that connects and sends nothing, or one byte a
  second, holds its connection (and a file descriptor) forever (uvicorn issue #157). Here a
  client has ``read_timeout`` seconds, from connecting or from its previous response, to send a
  whole request, head and body; after it the connection is closed.
- **A connection cap that idle clients cannot fill.** When a new connection would pass
  ``max_connections``, the connections that have been idle longest (no request in progress) are
  closed to make room, so idle or half-open connections never lock new clients out; uvicorn's
  ``limit_concurrency`` (set to the same cap) answers 503 only when every connection is busy.

HTTP parsing stays uvicorn's and h11's; this only adds a timer and the eviction.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from ..limits import SERVER

__all__ = ["GuardedH11Protocol", "ServeProtocol", "guarded_protocol"]


class GuardedH11Protocol(H11Protocol):
    read_timeout: float = SERVER.request_read_timeout
    max_connections: int = SERVER.max_connections

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._waiting_after: object = None  # the cycle before the request awaited
        self.idle_since = time.monotonic()

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_request()
        # uvicorn's limit_concurrency (the same cap) refuses a request once the connections
        # reach the cap, this one included: keep one below it.
        excess = len(self.connections) - self.max_connections + 1
        if excess > 0:
            self._evict_idle(excess)

    def _evict_idle(self, n: int) -> None:
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedH11Protocol) and not c._busy()
        ]
        idle.sort(key=lambda c: c.idle_since)
        for c in idle[:n]:
            c._close()

    def _await_request(self) -> None:
        """Arms the deadline for the next whole request."""
        self._disarm()
        self.idle_since = time.monotonic()
        self._waiting_after = self.cycle
        self._read_timer = self.loop.call_later(self.read_timeout, self._close)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _close(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = self.cycle
        if (
            self._read_timer is not None
            and cycle is not None
            and cycle is not self._waiting_after
            and not cycle.more_body
        ):
            self._disarm()  # the whole request is in: the query's own timeout governs now

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_protocol(read_timeout: float, max_connections: int) -> type[GuardedH11Protocol]:
    """The protocol class with these settings (for a server run in this process)."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"read_timeout": read_timeout, "max_connections": max_connections},
    )


def _from_env() -> dict[str, Any]:
    spec = os.environ.get("ANYGRAM_SERVE_SPEC")
    if not spec:
        return {}
    config = json.loads(spec).get("config", {})
    return {
        "read_timeout": config.get("request_read_timeout", SERVER.request_read_timeout),
        "max_connections": config.get("max_connections", SERVER.max_connections),
    }


class ServeProtocol(GuardedH11Protocol):
    """What ``anygram serve`` runs: the settings of its ``ServerConfig``, handed to uvicorn's
    worker processes in the environment (a class is passed to them by name)."""


for _name, _value in _from_env().items():
    setattr(ServeProtocol, _name, _value)
