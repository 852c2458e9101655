"""A server under load while the index grows and shrinks: no failed request, no answer mixing
two generations, and the newest generation served within a second of its commit."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import anygram
import pytest
from anygram.server import create_app
from fastapi.testclient import TestClient

#: Asserts on wall-clock time: `make test` runs these alone, after the parallel pass.
pytestmark = pytest.mark.timing


def _write(path: Path, uids: list[int]) -> Path:
    path.write_text("".join(json.dumps({"text": f"x{u}y", "uid": u}) + "\n" for u in uids))
    return path


def test_server_under_load_during_adds_takedowns_and_compaction(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    anygram.build(_write(tmp_path / "a.jsonl", [0, 1, 2]), idx, quiet=True)
    # Each generation's documents (by uid); the count of "x" tells them apart: +3 per add,
    # -1 per takedown, compaction changes nothing an answer shows.
    live = [0, 1, 2]
    expected: dict[int, set[int]] = {3: set(live)}
    app = create_app({"g": anygram.Index(idx)})
    failures: list[Any] = []
    answers: list[tuple[int, set[int]]] = []
    stop = threading.Event()

    def load(client: TestClient) -> None:
        while not stop.is_set():
            body = {"index": "g", "query_type": "search_docs", "query": "x", "maxnum": 10}
            r = client.post("/", json=body)
            if r.status_code != 200:
                failures.append((r.status_code, r.text))
                continue
            body = r.json()
            uids = {json.loads(d["metadata"])["metadata"]["uid"] for d in body["documents"]}
            answers.append((body["cnt"], uids))

    with TestClient(app) as client:
        threads = [threading.Thread(target=load, args=(client,)) for _ in range(3)]
        for t in threads:
            t.start()
        nxt = 3
        for step in range(4):
            new = [nxt, nxt + 1, nxt + 2]
            nxt += 3
            anygram.add(idx, _write(tmp_path / f"b{step}.jsonl", new), quiet=True)
            live += new
            expected[len(live)] = set(live)
            time.sleep(0.2)
            victim = live[step]  # document number == uid: numbers are never reused
            anygram.takedown(idx, [victim])
            live.remove(victim)
            expected[len(live)] = set(live)
            time.sleep(0.2)
            if step % 2:
                anygram.compact(idx, max_shards=1)
                time.sleep(0.2)
        committed = time.monotonic()
        while time.monotonic() - committed < 1.0 and (not answers or answers[-1][0] != len(live)):
            time.sleep(0.05)
        served_after = time.monotonic() - committed
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert len(answers) > 50
    for cnt, uids in answers:  # one generation per answer: its count and its documents
        assert uids <= expected[cnt] and len(uids) == min(cnt, 10), (cnt, uids)
    assert answers[-1][0] == len(live) and served_after < 1.0
    assert len({cnt for cnt, _ in answers}) >= 4  # the load saw several generations
