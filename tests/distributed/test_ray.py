"""Serving an index from Ray actors: every query type answers as the local engine does over
the same shards; a killed actor is restarted and the query retried; timeouts and a shard down
are typed errors."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import anygram
import pytest
from anygram.errors import (
    CorruptIndexError,
    IndexNotFoundError,
    QueryTimeoutError,
    ShardUnavailableError,
    TokenOutOfRangeError,
)

ray = pytest.importorskip("ray")

pytestmark = [
    pytest.mark.timeout(120),
    # Ray's own imports and threads warn (deprecations); they say nothing about anygram.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

LIGHT = {"num_cpus": 0.1}


@pytest.fixture(scope="module")
def both(ray_cluster: Any, sharded: Path) -> tuple[anygram.Index, anygram.Index]:
    local = anygram.Index(sharded)
    assert local.num_shards >= 4
    remote = anygram.Index.on_ray(sharded, shards_per_actor=2, actor_options=LIGHT)
    return local, remote


QUERIES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("count", ("the cat",), {}),
    ("count", ("not there",), {}),
    ("count", ([],), {}),
    ("find", ("and a",), {}),
    ("prob", ("the", " "), {}),
    ("ntd", ("the ",), {}),
    ("ntd", ("a",), {"max_support": 10}),
    ("ntd", ("a",), {"exact": True}),
    ("infgram_prob", ("xyz the c", "a"), {}),
    ("infgram_ntd", ("zzz and a ",), {}),
    ("search_docs", ("cat",), {"maxnum": 7}),
    ("get_doc_by_rank", (1, 3), {}),
    ("get_doc_by_ptr", (2, 10), {}),
    ("get_doc_by_ix", (117,), {}),
    ("get_docs_by_ixs", ([0, 50, 199],), {}),
    ("count_cnf", ("cat AND dog",), {}),
    ("count_cnf", ("the AND (cat OR bird)",), {"max_clause_freq": 20}),
    ("find_cnf", ("cat AND dog",), {}),
    ("search_docs_cnf", ("dog AND rug",), {"maxnum": 3, "seed": 5}),
    ("count_cnf", ("cat AND sat",), {"scope": "document"}),
    ("creativity", ("the cat sat on the question",), {}),
    ("attribute", ("the cat sat on the mat and a bird",), {"min_len": 3}),
    ("score", ("to be or not to be, the cat",), {}),
    ("next_token_summary", ("the cat and a dog",), {}),
    ("generate", ("the ", 30), {"seed": 3}),
    ("generate", ("a c", 10), {"temperature": 0}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), QUERIES, ids=[q[0] for q in QUERIES])
def test_every_query_type_answers_as_the_local_engine(
    both: tuple[anygram.Index, anygram.Index], method: str, args: Any, kwargs: Any
) -> None:
    local, remote = both
    want = getattr(local, method)(*args, **kwargs)
    assert getattr(remote, method)(*args, **kwargs) == want


def test_contamination_report_is_the_same(
    both: tuple[anygram.Index, anygram.Index], tmp_path: Path
) -> None:
    from anygram.contamination import check

    local, remote = both
    texts = ["the cat sat on the mat", "never in the corpus at all"]
    items = [{"line": i, "id": None, "text": t} for i, t in enumerate(texts)]
    want = check(local, items, window=5, progress=False)
    assert check(remote, items, window=5, progress=False) == want


def test_errors_keep_their_class(both: tuple[anygram.Index, anygram.Index]) -> None:
    _, remote = both
    with pytest.raises(TokenOutOfRangeError):
        remote.count([300])
    with pytest.raises(QueryTimeoutError):
        remote.count_cnf("the AND a", exact=True, timeout=0.0)
    # The index keeps answering after errors.
    assert remote.count("cat")["count"] > 0


def test_a_killed_actor_is_restarted_and_the_query_retried(
    both: tuple[anygram.Index, anygram.Index],
) -> None:
    local, remote = both
    runner = remote.backend.runner
    queries = ["the", "cat", "and a", "o", "dog sat"]
    want = [local.count(q) for q in queries]
    pid = ray.get(runner.actors[0].pid.remote())
    before = runner.direct[0]
    assert before is not None  # queries take the direct connection, Ray the failures
    for i in range(40):
        if i == 5:
            os.kill(pid, signal.SIGKILL)  # mid-stream
        assert remote.count(queries[i % 5]) == want[i % 5]
        assert remote.ntd(queries[i % 5]) == local.ntd(queries[i % 5])
    assert ray.get(runner.actors[0].pid.remote()) != pid
    assert runner.direct[0] is not None and runner.direct[0].address != before.address


def test_a_shard_down_for_good_is_an_error_not_a_partial_sum(
    ray_cluster: Any, sharded: Path
) -> None:
    remote = anygram.Index.on_ray(
        sharded, shards_per_actor=3, actor_options={**LIGHT, "max_restarts": 0}
    )
    assert remote.count("the") == anygram.Index(sharded).count("the")
    actor = remote.backend.runner.actors[1]
    pid = ray.get(actor.pid.remote())
    ray.kill(actor, no_restart=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # ray.kill returns before the process is gone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with pytest.raises(ShardUnavailableError):
        remote.count("the")


def test_opening_errors_come_from_the_shards(
    ray_cluster: Any, sharded: Path, tmp_path: Path
) -> None:
    import shutil

    with pytest.raises(IndexNotFoundError):
        anygram.Index.on_ray(tmp_path / "none", actor_options=LIGHT)
    broken = tmp_path / "broken"
    shutil.copytree(sharded, broken)
    (broken / "shard-00001" / "docs.bin").write_bytes(b"\0" * 8)
    with pytest.raises(CorruptIndexError):
        anygram.Index.on_ray(broken, shards_per_actor=2, actor_options=LIGHT)


def test_a_build_on_ray_is_the_same_index_as_a_local_one(
    ray_cluster: Any, sharded: Path, tmp_path: Path
) -> None:
    from anygram.cli import main
    from anygram.distributed.plan import make_plan, run_local
    from anygram.distributed.ray_build import run_on_ray

    from .test_plan import index_files

    corpus = sharded.parent / "c.jsonl"
    on_ray = make_plan([corpus], tmp_path / "ray", shards=3)
    run_on_ray(on_ray, cpus_per_task=0.5)
    run_local(make_plan([corpus], tmp_path / "local", shards=3))
    assert index_files(tmp_path / "ray") == index_files(tmp_path / "local")
    # The command line's build --ray: a plan, one task per shard, the manifest.
    args = ["build", str(corpus), "-o", str(tmp_path / "cli"), "--shards", "3", "--quiet"]
    assert main([*args, "--ray", ray_cluster.address]) == 0
    cli, local = index_files(tmp_path / "cli"), index_files(tmp_path / "local")
    manifests = [json.loads(f.pop("manifest.json")) for f in (cli, local)]
    for m in manifests:  # the build facts name the options as given (the CLI gives them all)
        m.pop("build")
    assert cli == local and manifests[0] == manifests[1]
    served = anygram.Index.on_ray(tmp_path / "ray", actor_options=LIGHT)
    assert served.count("the cat") == anygram.Index(sharded).count("the cat")


def test_serve_ray_answers_over_http_as_the_local_engine(
    ray_cluster: Any, sharded: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from tests.server.test_serve_cli import free_port

    local = anygram.Index(sharded)
    port = free_port()
    cmd = [sys.executable, "-m", "anygram", "serve", "--port", str(port), "--no-access-log"]
    log = open(tmp_path / "log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*cmd, "--ray", ray_cluster.address, str(sharded)], stderr=log)
    url = f"http://127.0.0.1:{port}"
    client = anygram.Client(url, sharded.name, timeout=5)
    try:
        deadline = time.monotonic() + 90  # a Ray driver joining a busy machine is slow to start
        while True:
            assert proc.poll() is None, (tmp_path / "log").read_text()
            try:
                client.count("a")
                break
            except ShardUnavailableError:  # not listening yet
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        for q in ["the cat", "and a", "zzz"]:
            assert client.count(q) == local.count(q)
            assert client.infgram_ntd(q) == local.infgram_ntd(q)
        assert client.search_docs("dog", maxnum=3) == local.search_docs("dog", maxnum=3)
        assert (
            client.generate("the ", 20, seed=2)["token_ids"]
            == (local.generate("the ", 20, seed=2)["token_ids"])
        )
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_a_shard_server_stops_at_its_deadline(sharded: Path) -> None:
    """What an actor does when a query's time is up: its engine stops and says so (no Ray
    needed: a runner hands the rounds to a shard server whose time is already up)."""
    from anygram import _core

    local = anygram.Index(sharded)
    server = _core.ShardServer([str(sharded)], list(range(local.num_shards)))
    timeouts: list[float | None] = []

    class Runner:
        def run(self, jobs: list[tuple[int, bytes]], timeout: float | None) -> list[bytes]:
            timeouts.append(timeout)
            return server.run(jobs, None if timeout is None else 0.0)

    class Backend:
        def open(self, paths: list[str], **options: bool) -> Any:
            return _core.remote_index(paths, Runner())

    index = anygram.Index(sharded, backend=Backend())
    assert index.count("cat") == local.count("cat")  # no deadline: answered
    with pytest.raises(QueryTimeoutError):
        index.count_cnf("the AND a", exact=True, timeout=30.0)
    assert timeouts[-1] is not None and 0 < timeouts[-1] <= 30.0  # the time left travels
