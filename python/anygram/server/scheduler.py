"""A fair queue in front of the query threads, so that no client can starve the others.

Every engine call is a job charged to a client (its IP address; behind a reverse proxy, the
address the proxy forwards, see ``anygram serve --forwarded-allow-ips``). A ``/batch`` is one job
per query, charged to its client like single requests. Jobs wait in one queue per client; a free
thread takes the oldest job of the next client in turn (round robin).

Half the threads are kept for clients that have nothing running: a client already running a
query may start another only while fewer than ``threads - threads // 2`` are busy, and only up
to its share of those (``busy // active clients``, at least one). The default thread count is
twice the cores, so the clients running queries can still fill every core, while a newcomer
always finds a free thread: two clients flooding slow queries hold about two threads, and a
third client's cheap query starts at once instead of waiting for theirs.

A job still queued when its request times out is dropped; one already running keeps its
thread (and its client's share) until the engine returns, which it does by the deadline when
the method takes ``timeout=`` (the engine checks it inside its loops).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FairScheduler", "QueueFull"]


class QueueFull(Exception):
    """The client already has as many requests waiting as it may."""


@dataclass
class _Job:
    fn: Callable[[], Any]
    future: asyncio.Future[Any]
    deadline: float


@dataclass
class _Client:
    queue: deque[_Job] = field(default_factory=deque)
    running: int = 0


class FairScheduler:
    """Runs jobs on ``threads`` threads, round robin between clients, each client capped at its
    share. Used from one event loop (all bookkeeping runs on it, so it needs no locks)."""

    def __init__(self, threads: int, max_queued_per_client: int) -> None:
        self.threads = max(1, threads)
        self.max_queued = max_queued_per_client
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="anygram-query")
        #: Clients with queued or running jobs, in round-robin order.
        self.clients: OrderedDict[str, _Client] = OrderedDict()
        self.running = 0

    @property
    def busy_cap(self) -> int:
        """Threads that clients already running a query may fill; the rest wait for newcomers."""
        return self.threads - self.threads // 2

    def share(self) -> int:
        """Threads one client may hold now (a client with none may always take a free one)."""
        return max(1, self.busy_cap // max(1, len(self.clients)))

    def _may_start(self, c: _Client) -> bool:
        if not c.queue:
            return False
        if c.running == 0:
            return True
        return self.running < self.busy_cap and c.running < self.share()

    async def run(self, client: str, fn: Callable[[], Any], deadline: float) -> Any:
        """``fn()``'s result, run on a thread when the client's turn comes; raises
        :class:`TimeoutError` at ``deadline`` (a :func:`time.monotonic` value) and
        :class:`QueueFull` when the client has too many jobs waiting."""
        c = self.clients.get(client)
        if c is None:
            c = self.clients[client] = _Client()
        if len(c.queue) >= self.max_queued:
            raise QueueFull(f"{len(c.queue)} requests from this client are already waiting")
        job = _Job(fn, asyncio.get_running_loop().create_future(), deadline)
        c.queue.append(job)
        self._dispatch()
        try:
            return await asyncio.wait_for(
                asyncio.shield(job.future), max(0.0, deadline - time.monotonic())
            )
        except asyncio.TimeoutError:
            self._drop(client, job)
            raise TimeoutError from None

    def _drop(self, client: str, job: _Job) -> None:
        """Forgets a job whose request timed out: out of the queue if it has not started; if it
        has, its result is not wanted (its thread stays charged to the client until it ends)."""
        job.future.cancel()
        c = self.clients.get(client)
        if c is not None and job in c.queue:
            c.queue.remove(job)
            self._forget_if_idle(client, c)
            self._dispatch()

    def _forget_if_idle(self, client: str, c: _Client) -> None:
        if not c.queue and not c.running:
            del self.clients[client]

    def _dispatch(self) -> None:
        """Starts jobs while threads are free: the next client in turn under its share."""
        while self.running < self.threads:
            picked = next((n for n, c in self.clients.items() if self._may_start(c)), None)
            if picked is None:
                return
            c = self.clients[picked]
            self.clients.move_to_end(picked)  # its turn is taken
            job = c.queue.popleft()
            if job.future.done():  # its request is gone
                self._forget_if_idle(picked, c)
                continue
            c.running += 1
            self.running += 1
            done = asyncio.wrap_future(self.pool.submit(job.fn))
            done.add_done_callback(functools.partial(self._finished, picked, job))

    def _finished(self, client: str, job: _Job, f: asyncio.Future[Any]) -> None:
        self.running -= 1
        c = self.clients[client]
        c.running -= 1
        self._forget_if_idle(client, c)
        if not job.future.done():
            if f.cancelled():
                job.future.cancel()
            elif (e := f.exception()) is not None:
                job.future.set_exception(e)
            else:
                job.future.set_result(f.result())
        self._dispatch()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
