"""No client can starve the others: two clients flooding slow queries (one of them as a
``/batch``) hold their share of the query threads, and a third client's cheap counts start at
once instead of queueing behind them. Bounded in time: about three seconds.

Clients are told apart by address, so each one connects from its own loopback address
(127.0.0.2, .3, .4: Linux routes all of 127/8 to lo). The p99 of the cheap query under a flood
of real engine queries is measured by ``benchmarks/bench_server.py`` (RESULTS.md)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from anygram.server import Limits, ServerConfig, create_app

from tests.server.conftest import LiveServer, SlowIndex

#: Asserts on wall-clock time: `make test` runs these alone, after the parallel pass.
pytestmark = pytest.mark.timing

SLOW = 1.0  # seconds one "slow" count takes (SlowIndex)


def _client(url: str, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, timeout=30, transport=httpx.HTTPTransport(local_address=address)
    )


def test_a_cheap_client_is_not_starved_by_two_flooding_clients(index_dir: Path) -> None:
    config = ServerConfig(limits=Limits(max_batch=32), timeout=2.0, threads=4)
    slow = {"index": "demo", "query_type": "count", "query_ids": list(b"slow")}
    cheap = {"index": "demo", "query_type": "count", "query": "the"}
    with LiveServer(create_app({"demo": SlowIndex(index_dir)}, config)) as server:
        flood_answers: list[int] = []

        def flood_batch() -> None:  # one batch of 32 slow queries
            with _client(server.url, "127.0.0.2") as c:
                r = c.post("/batch", json=[slow] * 32)
                flood_answers.extend(a.get("status", 200) for a in r.json())

        def flood_requests() -> None:  # 16 slow requests at once
            def one() -> None:
                with _client(server.url, "127.0.0.3") as c:
                    flood_answers.append(c.post("/", json=slow).status_code)

            workers = [threading.Thread(target=one) for _ in range(16)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()

        flooders = [threading.Thread(target=flood_batch), threading.Thread(target=flood_requests)]
        for f in flooders:
            f.start()
        time.sleep(0.3)  # every thread the flooders may hold is taken by now
        latencies = []
        with _client(server.url, "127.0.0.4") as c:
            for _ in range(30):
                t0 = time.perf_counter()
                r = c.post("/", json=cheap)
                latencies.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
        for f in flooders:
            f.join()
    # Behind even one slow query a cheap one would wait up to a second; none did.
    assert max(latencies) < SLOW / 2, latencies
    # The flood was real: most of it timed out waiting for its share (504), some ran.
    assert flood_answers.count(504) > 16 and flood_answers.count(200) >= 2, flood_answers


@pytest.mark.parametrize(
    ("threads", "clients", "share"), [(1, 1, 1), (4, 1, 2), (4, 2, 1), (8, 2, 2), (5, 1, 3)]
)
def test_share_of_threads(threads: int, clients: int, share: int) -> None:
    from anygram.server.scheduler import FairScheduler, _Client

    s = FairScheduler(threads, 10)
    s.clients.update({str(i): _Client() for i in range(clients)})
    assert s.share() == share
    s.shutdown()


def test_a_lone_client_uses_half_the_threads(index_dir: Path) -> None:
    """Alone, a client's batch runs half the threads' worth of queries at once (the other half
    stays free for newcomers): 4 one-second queries on 4 threads take two rounds, not four."""
    config = ServerConfig(limits=Limits(max_batch=8), timeout=10, threads=4)
    slow = {"index": "demo", "query_type": "count", "query_ids": list(b"slow")}
    with LiveServer(create_app({"demo": SlowIndex(index_dir)}, config)) as server:
        t0 = time.perf_counter()
        r = httpx.post(server.url + "/batch", json=[slow] * 4, timeout=30)
        took = time.perf_counter() - t0
    assert all("count" in a for a in r.json()), r.text
    assert 2 * SLOW <= took < 3 * SLOW, took
