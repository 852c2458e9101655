"""``generate`` over HTTP: the same tokens as ``Index.generate``, the query's own fields kept,
the server's limits, timeout and batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anygram
import httpx
import pytest

from tests.server.test_api import COMMON, err, ok

NEW = {"new_token_ids", "new_tokens", "text", "suffix_len", "stop"}


@pytest.fixture(scope="module")
def index(index_dir: Path) -> anygram.Index:
    return anygram.Index(index_dir)


def test_listed(client: httpx.Client) -> None:
    assert "generate" in client.get("/query_types").json()


def test_fields(client: httpx.Client) -> None:
    r = ok(client, query_type="generate", query="the c", max_new_tokens=8, seed=1)
    assert set(r) == NEW | COMMON
    assert r["token_ids"] == list(b"the c") and r["tokens"] == list("the c")  # the query's
    assert 0 < len(r["new_token_ids"]) <= 8
    assert len(r["suffix_len"]) == len(r["new_token_ids"])
    assert r["stop"] in ("eos", "length")
    assert "".join(r["new_tokens"]) == r["text"] == bytes(r["new_token_ids"]).decode()


@pytest.mark.parametrize("prompt", ["the ", "natural", "I love", "zzz", ""])
def test_temperature_zero_is_index_generate(
    client: httpx.Client, index: anygram.Index, prompt: str
) -> None:
    want = index.generate(prompt, 30, temperature=0)
    for body in ({"query": prompt}, {"query_ids": list(prompt.encode())}):
        r = ok(client, query_type="generate", max_new_tokens=30, temperature=0, **body)
        assert r["new_token_ids"] == want["token_ids"]
        assert (r["text"], r["suffix_len"], r["stop"]) == (
            want["text"],
            want["suffix_len"],
            want["stop"],
        )
    # an integer temperature is a number too; top_k=1 is greedy whatever the seed
    greedy = {"query_type": "generate", "query": prompt, "max_new_tokens": 30}
    by_k = ok(client, **greedy, top_k=1, seed=9)["new_token_ids"]
    assert by_k == ok(client, **greedy, temperature=0)["new_token_ids"] == want["token_ids"]


@pytest.mark.parametrize(
    "opts",
    [{"seed": 0}, {"seed": 7, "temperature": 2.5}, {"seed": 123, "top_k": 2, "temperature": 0.5}],
)
def test_seeded_is_reproducible(
    client: httpx.Client, index: anygram.Index, opts: dict[str, Any]
) -> None:
    a = ok(client, query_type="generate", query="the ", max_new_tokens=40, **opts)
    b = ok(client, query_type="generate", query="the ", max_new_tokens=40, **opts)
    assert a["new_token_ids"] == b["new_token_ids"]
    want = index.generate("the ", 40, **opts)
    assert a["new_token_ids"] == want["token_ids"] and a["stop"] == want["stop"]


def test_default_length_and_cap(client: httpx.Client) -> None:
    """Default 50 new tokens, at most 1000 (``Limits``: ``defaults`` and ``caps``)."""
    r = ok(client, query_type="generate", query="the ", temperature=0)
    assert len(r["new_token_ids"]) <= 50
    assert r["stop"] == "eos" or len(r["new_token_ids"]) == 50
    assert ok(client, query_type="generate", query="a", max_new_tokens=0)["new_token_ids"] == []
    msg = err(client, 400, query_type="generate", query="the", max_new_tokens=1001)
    assert "max_new_tokens" in msg and "limit of 1000" in msg


def test_configured_limit(strict: httpx.Client) -> None:
    """The strict server: default 3, cap 5 new tokens; prompts under the query-token limit."""
    r = ok(strict, query_type="generate", query="the ", temperature=0)
    assert len(r["new_token_ids"]) <= 3
    assert len(ok(strict, query_type="generate", query="the ", max_new_tokens=5)["text"]) <= 5
    assert "limit of 5" in err(strict, 400, query_type="generate", query="the", max_new_tokens=6)
    assert "limit of 20" in err(strict, 400, query_type="generate", query="x" * 21)


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"temperature": -0.5}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": "1.0"}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"temperature": [1]}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"top_k": -3}, "top_k"),
        ({"max_new_tokens": -1}, "max_new_tokens"),
        ({"max_new_tokens": 2.5}, "max_new_tokens"),
        ({"max_new_tokens": "3"}, "max_new_tokens"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"query_ids": [999]}, "999"),
        ({"query_ids": [[[97]]]}, "boolean"),
    ],
)
def test_bad_fields_are_400(client: httpx.Client, fields: dict[str, Any], needle: str) -> None:
    body = {"query": "the", **fields}
    if "query_ids" in fields:
        del body["query"]
    assert needle in err(client, 400, query_type="generate", **body)


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_temperature_is_400(client: httpx.Client, value: bytes) -> None:
    body = b'{"index": "demo", "query_type": "generate", "query": "a", "temperature": %s}' % value
    r = client.post("/", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "temperature" in r.json()["error"]


def test_needs_a_query(client: httpx.Client) -> None:
    assert "query" in err(client, 400, query_type="generate", max_new_tokens=3)


def test_batch(client: httpx.Client, index: anygram.Index) -> None:
    one = {"index": "demo", "query_type": "generate", "query": "the ", "max_new_tokens": 20}
    reqs = [
        {**one, "seed": 5},
        {**one, "seed": 5},
        {**one, "temperature": 0},
        {**one, "max_new_tokens": 5000},
        {**one, "query_type": "count"},
    ]
    r = client.post("/batch", json=reqs)
    assert r.status_code == 200, r.text
    a, b, c, d, e = r.json()
    want = index.generate("the ", 20, seed=5)["token_ids"]
    assert a["new_token_ids"] == b["new_token_ids"] == want
    assert c["new_token_ids"] == index.generate("the ", 20, temperature=0)["token_ids"]
    assert d["status"] == 400 and "limit of 1000" in d["error"]  # a limit: that item fails
    assert e["count"] == index.count("the ")["count"]
    # a field the schema rejects fails the whole batch, naming the item
    r = client.post("/batch", json=[one, {**one, "temperature": -1}])
    assert r.status_code == 400 and "1.temperature" in r.json()["error"]


def test_timeout_is_504(strict: httpx.Client) -> None:
    """Generation runs in the thread pool under the per-request timeout like any query."""
    assert "0.3 s" in err(strict, 504, query_type="generate", query="slow", max_new_tokens=2)
    assert ok(strict, query_type="generate", query="the ", max_new_tokens=2)["new_token_ids"]


def test_timed_out_generate_stops_at_the_deadline(strict: httpx.Client) -> None:
    """The thread of a request that timed out stops generating at the server's deadline
    instead of running on to max_new_tokens."""
    import time

    from tests.server.conftest import SlowIndex

    SlowIndex.last_slow_generate = None
    err(strict, 504, query_type="generate", query="slow", max_new_tokens=5)
    for _ in range(50):
        if SlowIndex.last_slow_generate is not None:
            break
        time.sleep(0.05)
    r = SlowIndex.last_slow_generate
    # (the server has since moved the new tokens to new_token_ids)
    assert r is not None and r["stop"] == "deadline" and r["suffix_len"] == []


def test_openapi_schema(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    schema = spec["components"]["schemas"]["QueryRequest"]
    props = schema["properties"]
    assert "generate" in props["query_type"]["enum"]

    def types(p: dict[str, Any]) -> dict[str, Any]:
        return {s["type"]: s for s in p["anyOf"]}

    assert types(props["temperature"])["number"]["minimum"] == 0
    assert types(props["top_k"])["integer"]["minimum"] == 1
    assert types(props["max_new_tokens"])["integer"]["minimum"] == 0
    assert "default 50, at most 1000" in props["max_new_tokens"]["description"]
    assert any(e["query_type"] == "generate" for e in schema["examples"])
