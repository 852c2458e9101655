"""Boolean (CNF) queries and creativity over HTTP: infini-gram's request format (triply nested
``query_ids``, text with AND/OR routed to the ``_cnf`` methods), paging, highlighting, errors
and limits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.server.test_api import COMMON, err, ok, q

NLP = "natural language processing"
DL = "deep learning"


def nested(*clauses: list[str]) -> list[list[list[int]]]:
    return [[list(t.encode()) for t in clause] for clause in clauses]


# ------------------------------------------------------------------ infini-gram's examples


def test_infini_gram_cnf_count_example(client: httpx.Client) -> None:
    """infini-gram's documented CNF request, sent unchanged but the index name: a ``count``
    whose text has AND is a ``count_cnf``; token_ids and tokens are triply nested."""
    payload = {"index": "demo", "query_type": "count", "query": f"{NLP} AND {DL}"}
    r = client.post("/", json=payload).json()
    assert set(r) == {"count", "approx", "latency", "token_ids", "tokens", "reading"}
    assert r["reading"]["kind"] == "boolean"
    assert r["count"] == 1 and r["approx"] is False
    assert r["token_ids"] == nested([NLP], [DL])
    assert ["".join(t) for clause in r["tokens"] for t in clause] == [NLP, DL]


def test_infini_gram_cnf_query_ids_example(client: httpx.Client) -> None:
    by_ids = ok(client, query_type="count", query_ids=nested([NLP], [DL]))
    assert by_ids["count"] == 1 and by_ids["token_ids"] == nested([NLP], [DL])
    either = ok(client, query_type="count", query_ids=nested(["cat", "dog"], ["sat on"]))
    assert either["count"] == 2


def test_infini_gram_cnf_search_docs_example(client: httpx.Client) -> None:
    r = ok(client, query_type="search_docs", query=f"{NLP} AND {DL}", maxnum=1, max_disp_len=100)
    assert {"cnt", "approx", "idxs", "documents", "message"} | COMMON <= set(r)
    assert r["cnt"] == 1 and len(r["documents"]) == 1
    doc = r["documents"][0]
    for f in ("doc_ix", "doc_len", "disp_len", "metadata", "token_ids", "spans"):
        assert f in doc
    assert "".join(t for t, _ in doc["spans"]) == doc["text"]
    marked = {label: t for t, label in doc["spans"] if label is not None}
    assert marked == {"0": NLP, "1": DL}  # each clause with its own label
    assert json.loads(doc["metadata"])["metadata"]["url"] == "nlp"


# ------------------------------------------------------------------ each CNF query type


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("cat OR dog", 3),
        ("(cat OR dog) AND sat", 2),
        ('"the cat" AND mat', 1),
        ("natural language AND fun", 1),
        ("cat AND log", 0),
    ],
)
def test_count_cnf(client: httpx.Client, query: str, count: int) -> None:
    assert ok(client, query_type="count_cnf", query=query)["count"] == count
    assert ok(client, query_type="count", query=query)["count"] == count


def test_count_cnf_flat_ids_is_one_term(client: httpx.Client) -> None:
    r = ok(client, query_type="count_cnf", query_ids=list(b"cat"))
    assert r["count"] == 2 and r["token_ids"] == [[list(b"cat")]]


def test_scope_and_exact(client: httpx.Client) -> None:
    window = ok(client, query_type="count_cnf", query="cat AND mat", max_diff_tokens=5)
    doc = ok(
        client, query_type="count_cnf", query="cat AND mat", max_diff_tokens=5, scope="document"
    )
    assert window["count"] == 0 and doc["count"] == 1
    assert ok(client, query_type="count_cnf", query="the", exact=True)["approx"] is False


def test_find_cnf_then_get_doc_by_ptr_highlights_every_clause(client: httpx.Client) -> None:
    cnf = nested(["cat", "dog"], ["sat on"])
    found = ok(client, query_type="find_cnf", query_ids=cnf)
    assert {"cnt", "approx", "ptrs_by_shard"} | COMMON == set(found)
    assert found["cnt"] == 2
    also = ok(client, query_type="find", query="(cat OR dog) AND sat on")
    assert also["ptrs_by_shard"] == found["ptrs_by_shard"]
    for ptr in found["ptrs_by_shard"][0]:
        doc = ok(client, query_type="get_doc_by_ptr", s=0, ptr=ptr, query_ids=cnf)
        labels = {label for _, label in doc["spans"] if label is not None}
        assert labels == {"0", "1"}
        assert "".join(t for t, _ in doc["spans"]) == doc["text"]


def test_search_docs_cnf_pages(client: httpx.Client) -> None:
    query = "the"
    first = ok(client, query_type="search_docs_cnf", query=query, maxnum=3)
    total = first["total"]
    assert total == first["cnt"] > 3 and first["offset"] == 0
    seen = [d["doc_ix"] for d in first["documents"]]
    rest = ok(client, query_type="search_docs_cnf", query=query, maxnum=10, offset=3)
    assert rest["offset"] == 3 and len(rest["documents"]) == total - 3
    seen += [d["doc_ix"] for d in rest["documents"]]
    assert len(seen) == total
    for doc in first["documents"] + rest["documents"]:
        assert [t for t, label in doc["spans"] if label == "0"]


def test_search_docs_cnf_seed(client: httpx.Client) -> None:
    def page(offset: int, seed: int) -> list[Any]:
        r = ok(client, query_type="search_docs_cnf", query="a", maxnum=3, offset=offset, seed=seed)
        return r["idxs"]  # type: ignore[no-any-return]

    assert page(0, 7) == page(0, 7)
    assert not set(map(str, page(0, 7))) & set(map(str, page(3, 7)))


def test_and_or_are_words_for_other_types(client: httpx.Client) -> None:
    r = ok(client, query_type="ntd", query="cat OR")
    assert r["prompt_cnt"] == 0 and r["token_ids"] == list(b"cat OR")


def test_creativity(client: httpx.Client) -> None:
    r = ok(client, query_type="creativity", query="the cat sat xyz")
    assert {"rs"} | COMMON == set(r)
    assert len(r["rs"]) == len(r["token_ids"]) == len("the cat sat xyz")
    assert r["rs"][0] == len("the cat sat ")  # "the cat sat " occurs, "the cat sat x" does not


def test_query_types_listed(client: httpx.Client) -> None:
    types = client.get("/query_types").json()
    assert {"count_cnf", "find_cnf", "search_docs_cnf", "creativity"} <= set(types)
    spec = client.get("/openapi.json").json()
    enum = spec["components"]["schemas"]["QueryRequest"]["properties"]["query_type"]["enum"]
    assert {"count_cnf", "search_docs_cnf"} <= set(enum)


def test_batch_mixes_cnf_and_plain(client: httpx.Client) -> None:
    reqs = [
        {"index": "demo", "query_type": "count", "query": "cat OR dog"},
        {"index": "demo", "query_type": "count", "query": "cat"},
        {"index": "demo", "query_type": "count", "query": "cat AND (dog"},
    ]
    a, b, c = client.post("/batch", json=reqs).json()
    assert a["count"] == 3 and b["count"] == 2
    assert c["status"] == 400 and c["position"] == 8


# ------------------------------------------------------------------ errors and limits


@pytest.mark.parametrize(
    ("query", "position"),
    [("a AND (b", 6), ("AND b", 0), ("a AND", 5), ('a AND "b', 6), ("(a AND b)", 3)],
)
def test_parse_errors_are_400_with_the_position(
    client: httpx.Client, query: str, position: int
) -> None:
    for qt in ("count", "count_cnf", "search_docs"):
        r = q(client, query_type=qt, query=query)
        assert r.status_code == 400, r.text
        body = r.json()
        assert set(body) == {"error", "position"} and body["position"] == position
        assert f"position {position}" in body["error"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"query_type": "ntd", "query_ids": [[[97]]]}, "boolean"),
        ({"query_type": "prob", "query_ids": [[[97]], [[98]]]}, "boolean"),
        ({"query_type": "count_cnf", "query_ids": [[[97]]] * 5}, "clauses"),
        ({"query_type": "count_cnf", "query_ids": [[[97]] * 5]}, "terms"),
        ({"query_type": "count_cnf", "query": "a AND b AND c AND d AND e"}, "clauses"),
        ({"query_type": "count_cnf", "query": "a OR b OR c OR d OR e"}, "terms"),
        ({"query_type": "count_cnf", "query_ids": [[[]]]}, "empty"),
        ({"query_type": "count_cnf", "query_ids": [[]]}, "empty"),
        ({"query_type": "count_cnf", "query": "a", "max_diff_tokens": 1001}, "max_diff_tokens"),
        ({"query_type": "count_cnf", "query": "a", "max_clause_freq": 500_001}, "max_clause"),
        ({"query_type": "count_cnf", "query": "a", "max_diff_tokens": 0}, "max_diff_tokens"),
        ({"query_type": "count_cnf", "query": "a", "scope": "page"}, "scope"),
        ({"query_type": "search_docs_cnf", "query": "a", "seed": -1}, "seed"),
        ({"query_type": "search_docs_cnf", "query": "a", "offset": 2**63}, "offset"),
        ({"query_type": "count_cnf"}, "query"),
        ({"query_type": "count", "query_ids": [1, [[2]]]}, "query_ids"),
    ],
)
def test_bad_cnf_queries_are_400(client: httpx.Client, body: dict[str, Any], needle: str) -> None:
    r = q(client, **body)
    assert r.status_code == 400, r.text
    data = r.json()
    assert set(data) <= {"error", "position"} and needle in data["error"]
    parse_error = "query" in body and needle in ("clauses", "terms")
    assert ("position" in data) == parse_error


def test_configured_cnf_limits(strict: httpx.Client) -> None:
    assert ok(strict, query_type="count", query="a AND b")["count"] >= 0
    r = q(strict, query_type="count", query="a AND b AND c")
    assert r.status_code == 400 and r.json()["position"] == 12
    assert "limit" in err(strict, 400, query_type="count_cnf", query_ids=[[[97], [98], [99]]])
    assert "limit of 50" in err(strict, 400, query_type="count_cnf", query="a", max_diff_tokens=51)
    # the token limit counts every term of every clause
    assert "limit of 20" in err(
        strict, 400, query_type="count_cnf", query_ids=nested(["x" * 11], ["y" * 10])
    )
