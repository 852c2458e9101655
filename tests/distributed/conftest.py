"""One small Ray cluster of two nodes for the module's tests (started by the tests, bounded in
time, torn down at the end), and a corpus indexed in several shards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anygram
import pytest

TEXTS = [
    "to be or not to be that is the question",
    "the cat sat on the mat and the dog sat on the rug",
    "a cat and a dog and a bird",
    "whether tis nobler in the mind to suffer",
    "the slings and arrows of outrageous fortune",
]


def write_corpus(path: Path, copies: int = 40) -> Path:
    with path.open("w") as f:
        for i in range(copies):
            for j, t in enumerate(TEXTS):
                f.write(json.dumps({"text": f"{t} {i % 7}", "url": f"d{i}-{j}"}) + "\n")
    return path


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """Two Ray nodes on this machine, joined by this process."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2}, shutdown_at_exit=True)
    cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the corpus in five shards."""
    d = tmp_path_factory.mktemp("ray-index")
    anygram.build([write_corpus(d / "c.jsonl")], d / "idx", quiet=True, max_shard_tokens=2000)
    return d / "idx"
