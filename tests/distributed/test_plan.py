"""A build as a plan: shard steps run as separate processes in any order (as a Slurm array
would) give the same index bytes as any other executor, and answers equal to `anygram build`'s."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import anygram
import pytest
from anygram.distributed.plan import Plan, build_shard, finish, make_plan, run_local
from anygram.errors import IndexExistsError, InvalidArgumentError, InvalidInputError

from .conftest import write_corpus


def index_files(d: Path) -> dict[str, bytes]:
    """Every file of an index directory but the plan (which names its own output)."""
    return {
        p.relative_to(d).as_posix(): p.read_bytes()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.name != "plan.json"
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("plan-inputs")
    corpus = write_corpus(d / "c.jsonl", copies=30)
    with gzip.open(d / "z.jsonl.gz", "wt") as f:  # whole: compressed files are not cut
        f.write(json.dumps({"text": "compressed cat document"}) + "\n")
    (d / "t.txt").write_text("a plain text document about a cat")
    return [corpus, d / "z.jsonl.gz", d / "t.txt"]


def cli(*args: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "anygram", *args], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr


def test_shard_steps_as_separate_processes_in_any_order_give_the_same_index(
    inputs: list[Path], tmp_path: Path
) -> None:
    cli("plan", *map(str, inputs), "-o", str(tmp_path / "slurm"), "--shards", "4", "--quiet")
    plan = Plan.load(tmp_path / "slurm")
    assert len(plan.shards) == 4
    assert any(s["end"] is not None for g in plan.shards for s in g)  # the JSONL file was cut
    for i in (2, 0, 3, 1, 2):  # any order; a repeated step does nothing
        cli("build-shard", str(plan.path), "--shard-id", str(i), "--quiet")
    cli("finish", str(tmp_path / "slurm"))

    cli("plan", *map(str, inputs), "-o", str(tmp_path / "pool"), "--shards", "4", "--quiet")
    run_local(Plan.load(tmp_path / "pool"), processes=2)
    assert index_files(tmp_path / "slurm") == index_files(tmp_path / "pool")

    planned = anygram.Index(tmp_path / "slurm", verify=True)
    ref = anygram.Index(anygram.build(inputs, tmp_path / "ref", quiet=True) and tmp_path / "ref")
    assert planned.num_shards == 4 and planned.num_docs == ref.num_docs
    for q in ["cat", "the ", "a plain", "compressed cat", "question 3"]:
        assert planned.count(q) == ref.count(q)
        assert planned.ntd(q) == ref.ntd(q)
    for ix in (0, 57, ref.num_docs - 1):
        a, b = planned.get_doc_by_ix(ix), ref.get_doc_by_ix(ix)
        assert (a["metadata"], a["token_ids"]) == (b["metadata"], b["token_ids"])


def test_the_plan_is_deterministic_and_refuses_bad_requests(
    inputs: list[Path], tmp_path: Path
) -> None:
    a = make_plan(inputs, tmp_path / "a", shard_bytes="3KB")
    b = make_plan(inputs, tmp_path / "b", shard_bytes="3KB")
    assert a.shards == b.shards and a.memory == b.memory and len(a.shards) > 2
    # Every byte of every input is in exactly one slice, in order.
    sizes: dict[str, int] = {}
    for g in a.shards:
        for s in g:
            assert s["start"] == sizes.get(s["path"], 0)
            sizes[s["path"]] = s["start"] + s["size"]
    assert sizes == {os.fspath(p.absolute()): p.stat().st_size for p in inputs}
    with pytest.raises(InvalidArgumentError):
        make_plan(inputs, tmp_path / "c")
    with pytest.raises(InvalidArgumentError):
        build_shard(a, 99)
    with pytest.raises(InvalidArgumentError, match="not built yet"):
        finish(a)


def test_a_step_is_idempotent_and_a_changed_input_is_refused(
    inputs: list[Path], tmp_path: Path
) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(inputs[0].read_bytes())
    plan = make_plan([corpus], tmp_path / "idx", shards=2)
    first = build_shard(plan, 0)
    marker = plan.part_dir(0) / "manifest.json"
    mtime = marker.stat().st_mtime_ns
    assert build_shard(plan, 0) == first and marker.stat().st_mtime_ns == mtime
    with corpus.open("a") as f:
        f.write(json.dumps({"text": "appended"}) + "\n")
    with pytest.raises(InvalidInputError, match="changed since the plan"):
        build_shard(plan, 1)
    with pytest.raises(IndexExistsError):
        anygram.build([corpus], tmp_path / "done", quiet=True)
        make_plan([corpus], tmp_path / "done", shards=2)


def test_the_plan_carries_build_options_it_does_not_know(
    inputs: list[Path], tmp_path: Path
) -> None:
    # The FM kind's options travel in the plan's opaque options, unread by the plan.
    plan = make_plan(inputs[:1], tmp_path / "fm", shards=2, kind="fm", sa_sample=8)
    assert plan.options["kind"] == "fm"
    for i in (1, 0):
        build_shard(plan, i)
    finish(plan)
    fm = anygram.Index(tmp_path / "fm", verify=True)
    ref = anygram.Index(anygram.build(inputs[:1], tmp_path / "sa", quiet=True) and tmp_path / "sa")
    assert fm.num_shards == 2
    for q in ["cat", "the ", "question 3"]:
        assert fm.count(q) == ref.count(q) and fm.ntd(q) == ref.ntd(q)


def test_an_interrupted_finish_completes_when_run_again(inputs: list[Path], tmp_path: Path) -> None:
    plan = make_plan(inputs, tmp_path / "idx", shards=3)
    for i in range(3):
        build_shard(plan, i)
    # As if finish died after moving the first part's shard: no manifest yet, the index does
    # not open, and finish run again completes the job.
    part = plan.part_dir(0)
    (part / "shard-00000").rename(tmp_path / "idx" / "shard-00000")
    with pytest.raises(anygram.errors.IndexNotFoundError):
        anygram.Index(tmp_path / "idx")
    manifest = finish(plan)
    assert finish(plan) == manifest  # and once more: nothing to do
    index = anygram.Index(tmp_path / "idx", verify=True)
    assert index.num_shards == 3 and not (tmp_path / "idx" / "parts").exists()
    assert index.count("cat") == anygram.Index(
        anygram.build(inputs, tmp_path / "r", quiet=True) and tmp_path / "r"
    ).count("cat")
