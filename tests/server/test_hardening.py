"""The server facing the open internet: its own OpenAPI examples answer, 405s name the allowed
methods, CORS is off unless configured, numbers are read as JSON writers send them, exact
boolean queries obey their cost cap, and hostile bodies get a 4xx, never a 5xx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import anygram
import httpx
import pytest
from anygram.server import Limits, ServerConfig, create_app
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.server.conftest import LiveServer


def post(client: httpx.Client | TestClient, **body: Any) -> httpx.Response:
    return client.post("/", json={"index": "demo", **body})


def test_every_openapi_example_answers(client: httpx.Client) -> None:
    """The request examples the schema shows are valid against this very server."""
    schema = client.get("/openapi.json").json()["components"]["schemas"]["QueryRequest"]
    examples = schema["examples"]
    assert len(examples) >= 10
    for example in examples:
        r = client.post("/", json=example)
        assert r.status_code == 200, (example, r.text)


def test_405_names_every_allowed_method(client: httpx.Client) -> None:
    r = client.put("/")
    assert r.status_code == 405 and r.json()["error"]
    assert r.headers["allow"] == "GET, POST"  # the page and the query API share the path
    r = client.get("/batch")
    assert (r.status_code, r.headers["allow"]) == (405, "POST")


def test_cors_is_off_by_default(client: httpx.Client) -> None:
    origin = {"Origin": "https://example.org"}
    body = {"index": "demo", "query_type": "count", "query": "a"}
    r = client.post("/", json=body, headers=origin)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    pre = {**origin, "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/", headers=pre).headers


def test_cors_origins_when_configured(index_dir: Path) -> None:
    app = create_app(
        {"demo": anygram.Index(index_dir)}, ServerConfig(cors_origins=["https://ok.example"])
    )
    with TestClient(app) as c:
        pre = {
            "Origin": "https://ok.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        r = c.options("/", headers=pre)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://ok.example"
        r = c.post(
            "/",
            json={"index": "demo", "query_type": "count", "query": "the"},
            headers={"Origin": "https://ok.example"},
        )
        assert r.headers["access-control-allow-origin"] == "https://ok.example"
        r = c.post(
            "/",
            json={"index": "demo", "query_type": "count", "query": "the"},
            headers={"Origin": "https://evil.example"},
        )
        assert "access-control-allow-origin" not in r.headers


def test_integral_floats_are_integers_and_integers_are_floats(client: httpx.Client) -> None:
    """JSON writers send 2 as 2.0 (Python's json does for floats); both mean 2. A fraction,
    a string or a boolean is refused with the field's name."""
    a = post(client, query_type="search_docs", query="the", maxnum=2).json()
    b = post(client, query_type="search_docs", query="the", maxnum=2.0).json()
    assert a["idxs"] == b["idxs"] and len(b["documents"]) == 2
    assert post(client, query_type="count", query_ids=[116.0, 104.0, 101]).json()["count"] > 0
    assert post(client, query_type="count_cnf", query_ids=[[[99.0, 97, 116]]]).status_code == 200
    r = post(client, query_type="generate", query="the", max_new_tokens=2, temperature=1)
    assert r.status_code == 200, r.text
    for bad in ({"maxnum": 2.5}, {"maxnum": "2"}, {"maxnum": True}, {"maxnum": 1e300}):
        r = post(client, query_type="search_docs", query="the", **bad)
        assert r.status_code == 400 and "maxnum" in r.json()["error"], (bad, r.text)
    r = post(client, query_type="count", query_ids=[116.5])
    assert r.status_code == 400 and "query_ids" in r.json()["error"]


def test_exact_boolean_queries_obey_their_cost_cap(index_dir: Path) -> None:
    """exact: true used to bypass every limit (4.2 s and 262 MB for one query on 46M tokens).
    It is answered, exactly, when no clause occurs more often than the cap; above, refused."""
    index = anygram.Index(index_dir)
    limits = Limits(max_exact_clause_freq=5)
    with TestClient(create_app({"demo": index}, ServerConfig(limits=limits))) as c:
        body = {"query_type": "count_cnf", "query": "cat AND mat", "exact": True}
        r = post(c, **body)
        assert r.status_code == 200, r.text
        assert r.json()["count"] == index.count_cnf("cat AND mat", exact=True)["count"]
        r = post(c, **{**body, "query": "t AND e"})  # both occur more than 5 times
        assert r.status_code == 400 and "limit of 5" in r.json()["error"]
        r = post(c, **{**body, "query": "t AND e", "exact": False})
        assert r.status_code == 200


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 200_000,
        b'{"index": "demo", "query_type": "count", "query_ids": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}",
        json.dumps(
            {"index": "demo", "query_type": "count", "query": "(" * 988 + "a OR b" + ")" * 988}
        ).encode(),
        json.dumps({"index": "demo", "query_type": "count", "query": "\ud800 AND a"}).encode(),
        json.dumps({"index": "demo", "query_type": "count", "query_ids": [2**64, 2**200]}).encode(),
        b'{"index": "demo", "query_type": "count", "query_ids": [1e400]}',
        b'{"index": "demo", "query_type": "search_docs", "query": "a", "maxnum": -1.0}',
    ],
)
def test_hostile_bodies_are_4xx(client: httpx.Client, content: bytes) -> None:
    r = client.post("/", content=content, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.json()["error"], r.text


def test_deep_nesting_names_the_limit(client: httpx.Client) -> None:
    r = post(client, query_type="count", query="(" * 988 + "a OR b" + ")" * 988)
    assert r.status_code == 400
    assert r.json() == {
        "error": "parentheses nested deeper than 32 (the limit) at position 32",
        "position": 32,
    }


def test_a_client_with_too_many_requests_waiting_gets_429(index_dir: Path) -> None:
    """Per-client queue bound: a batch counts each of its queries."""
    config = ServerConfig(limits=Limits(max_batch=8), max_queued_per_client=3, threads=1)
    with LiveServer(create_app({"demo": anygram.Index(index_dir)}, config)) as s:
        batch = [{"index": "demo", "query_type": "count", "query": "the"}] * 8
        answers = httpx.post(s.url + "/batch", json=batch, timeout=30).json()
        statuses = sorted(a.get("status", 200) for a in answers)
        assert 429 in statuses and 200 in statuses, answers


def _scan_per_token(ids: list[int], cnf: list[list[list[int]]]) -> list[tuple[int, int, int]]:
    """The server's former span scan, a Python loop per token: the oracle of the batched one."""
    marks = []
    taken = [False] * len(ids)
    for c, clause in enumerate(cnf):
        for term in clause:
            n, p = len(term), 0
            while n and p + n <= len(ids):
                if ids[p : p + n] == term and not any(taken[p : p + n]):
                    marks.append((p, p + n, c))
                    for i in range(p, p + n):
                        taken[i] = True
                    p += n
                else:
                    p += 1
    return marks


@given(
    ids=st.lists(st.sampled_from([1, 2, 3, 256, 2**32 - 2]), max_size=60),
    cnf=st.lists(
        st.lists(st.lists(st.sampled_from([1, 2, 3, 256, 2**32 - 2]), max_size=3), max_size=3),
        max_size=3,
    ),
)
def test_batched_span_scan_equals_the_per_token_scan(
    ids: list[int], cnf: list[list[list[int]]]
) -> None:
    from anygram.server.queries import _scan_terms

    assert sorted(_scan_terms(ids, cnf)) == sorted(_scan_per_token(ids, cnf))


def test_tokens_are_decoded_in_one_call(index_dir: Path) -> None:
    from anygram.server.queries import decode_tokens

    index = anygram.Index(index_dir)
    ids = list("héllo".encode())
    assert decode_tokens(index, ids) == ["h", "<0xC3>", "<0xA9>", "l", "l", "o"]


def test_bpe_tokens_are_decoded_in_one_call_like_one_by_one(tmp_path: Path) -> None:
    pytest.importorskip("tokenizers")
    from anygram.server.queries import decode_tokens

    from tests.conftest import train_bpe, write_jsonl

    texts = ["the cat sat on the mat", "héllo wörld 😀 again"]
    tok = train_bpe(tmp_path / "tokenizer.json", texts * 3)
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in texts])
    anygram.build([src], tmp_path / "idx", tokenizer=tok, quiet=True)
    index = anygram.Index(tmp_path / "idx")
    ids = index.tokenize("héllo wörld 😀 the cat")
    assert decode_tokens(index, ids) == [index.tokenizer.decode([i]) for i in ids]


class _TimedIndex(anygram.Index):
    """Records the ``timeout`` the server passes (a method that takes one is given the time
    left of the request)."""

    seen: ClassVar[list[float]] = []

    def count_cnf(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        assert timeout is not None
        _TimedIndex.seen.append(timeout)
        return super().count_cnf(*args, **kwargs)


def test_methods_that_take_a_timeout_get_the_time_left(index_dir: Path) -> None:
    config = ServerConfig(timeout=3.0)
    with TestClient(create_app({"demo": _TimedIndex(index_dir)}, config)) as c:
        r = post(c, query_type="count", query="cat AND mat")
        assert r.status_code == 200, r.text
    assert len(_TimedIndex.seen) == 1 and 2.0 < _TimedIndex.seen[0] <= 3.0
