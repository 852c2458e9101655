"""The HTTP API on a real server: every query type, every error, every limit."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import httpx
import pytest

from tests.server.conftest import DOCS

COMMON = {"token_ids", "tokens", "latency"}


def q(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/", json={"index": "demo", **body})


def ok(client: httpx.Client, **body: Any) -> dict[str, Any]:
    r = q(client, **body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def err(client: httpx.Client, status: int, **body: Any) -> str:
    r = q(client, **body)
    assert r.status_code == status, r.text
    data = r.json()
    assert set(data) == {"error"} and data["error"]
    return data["error"]  # type: ignore[no-any-return]


def brute(text: str) -> int:
    return sum(d["text"].count(text) for d in DOCS)  # (no overlapping matches in DOCS)


# ------------------------------------------------------------------ infini-gram's examples


def test_infini_gram_count_example(client: httpx.Client) -> None:
    """The request of infini-gram's API documentation, sent unchanged (but the index name)."""
    payload = {"index": "demo", "query_type": "count", "query": "University of Washington"}
    r = client.post("/", json=payload).json()
    # infini-gram's fields, plus how the text was read and the forms searched (one, on bytes)
    assert set(r) == {"count", "approx", "latency", "token_ids", "tokens", "reading", "variants"}
    assert r["reading"]["kind"] == "phrase" and len(r["variants"]) == 1
    assert r["count"] == 1 and r["approx"] is False
    assert r["token_ids"] == list(b"University of Washington")
    assert "".join(r["tokens"]) == "University of Washington"
    assert isinstance(r["latency"], float)


def test_infini_gram_find_and_get_doc_by_rank_example(client: httpx.Client) -> None:
    found = ok(client, query_type="find", query="natural language processing")
    assert {"cnt", "segment_by_shard", "reading"} | COMMON == set(found)
    assert found["cnt"] == 2
    lo, hi = found["segment_by_shard"][0]
    assert hi - lo == 2
    doc = ok(client, query_type="get_doc_by_rank", s=0, rank=lo, max_disp_len=10)
    for f in ("doc_ix", "doc_len", "disp_len", "metadata", "token_ids", "needle_offset"):
        assert f in doc
    assert doc["disp_len"] == len(doc["token_ids"]) <= 10
    assert "latency" in doc and "spans" in doc


def test_infini_gram_search_docs_example(client: httpx.Client) -> None:
    r = ok(client, query_type="search_docs", query="natural language", maxnum=2)
    assert {"cnt", "approx", "idxs", "documents", "message", "reading", "variants"} | COMMON == set(
        r
    )
    assert r["cnt"] == brute("natural language") == 3
    assert r["message"].startswith("3 occurrences found")
    assert len(r["documents"]) == 2
    for doc in r["documents"]:
        marked = [t for t, label in doc["spans"] if label is not None]
        assert marked == ["natural language"]
        assert "".join(t for t, _ in doc["spans"]) == doc["text"]
        assert json.loads(doc["metadata"])["metadata"]["url"] in ("nlp", "love")


# ------------------------------------------------------------------ each query type


@pytest.mark.parametrize("text", ["the", "the cat", "sat on the", "zebra", "é"])
def test_count(client: httpx.Client, text: str) -> None:
    r = ok(client, query_type="count", query=text)
    assert r["count"] == brute(text)
    assert r["token_ids"] == list(text.encode())


def test_count_by_ids_and_empty(client: httpx.Client) -> None:
    assert ok(client, query_type="count", query_ids=list(b"cat"))["count"] == 2
    total = sum(len(d["text"].encode()) for d in DOCS)
    assert ok(client, query_type="count", query_ids=[])["count"] == total


def test_tokens_of_partial_utf8_bytes(client: httpx.Client) -> None:
    r = ok(client, query_type="count", query="hé")
    assert r["tokens"] == ["h", "<0xC3>", "<0xA9>"]


def test_search_docs_defaults_to_one(client: httpx.Client) -> None:
    r = ok(client, query_type="search_docs", query="the cat")
    assert r["cnt"] == 2 and len(r["documents"]) == 1 and r["idxs"] == [[0, r["idxs"][0][1]]]


def test_get_doc_by_rank_highlights_the_query(client: httpx.Client) -> None:
    found = ok(client, query_type="find", query="sat on")
    lo, hi = found["segment_by_shard"][0]
    for rank in range(lo, hi):
        doc = ok(
            client,
            query_type="get_doc_by_rank",
            s=0,
            rank=rank,
            query_ids=found["token_ids"],
            max_disp_len=100,
        )
        assert [t for t, label in doc["spans"] if label == "0"] == ["sat on"]
        assert doc["token_ids"] != found["token_ids"]  # the document's own ids


def test_get_doc_by_ptr_and_ix(client: httpx.Client) -> None:
    doc = ok(client, query_type="get_doc_by_ix", doc_ix=3)
    assert doc["text"] == DOCS[3]["text"] and doc["spans"] == [[DOCS[3]["text"], None]]
    by_ptr = ok(client, query_type="get_doc_by_ptr", s=0, ptr=doc["doc_start_ptr"] + 4)
    assert by_ptr["doc_ix"] == 3


def test_switch_index_by_name(client: httpx.Client) -> None:
    r = client.post("/", json={"index": "other", "query_type": "count", "query": "the"}).json()
    assert r["count"] == brute("the")


def test_query_types_listed(client: httpx.Client) -> None:
    types = client.get("/query_types").json()
    assert {"count", "find", "search_docs", "get_doc_by_rank", "get_doc_by_ptr"} <= set(types)


def test_indexes_and_health(client: httpx.Client, index_dir: Any) -> None:
    indexes = client.get("/indexes").json()
    assert [i["name"] for i in indexes] == ["demo", "other"]
    assert indexes[0]["num_docs"] == len(DOCS) and indexes[0]["tokenizer"]["kind"] == "bytes"
    assert str(index_dir) not in json.dumps(indexes)  # paths are never shown
    assert client.get("/health").json()["status"] == "ok"


def test_openapi_schema(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/", "/batch", "/indexes", "/health"} <= set(spec["paths"])
    assert "413" in spec["paths"]["/"]["post"]["responses"]


def test_batch(client: httpx.Client) -> None:
    reqs = [
        {"index": "demo", "query_type": "count", "query": "cat"},
        {"index": "nope", "query_type": "count", "query": "cat"},
        {"index": "demo", "query_type": "count", "query_ids": [999]},
    ]
    r = client.post("/batch", json=reqs)
    assert r.status_code == 200
    a, b, c = r.json()
    assert a["count"] == 2
    assert b["status"] == 404 and "nope" in b["error"]
    assert c["status"] == 400 and "999" in c["error"]


# ------------------------------------------------------------------ errors


def test_unknown_index_is_404_and_never_a_path(client: httpx.Client, index_dir: Any) -> None:
    err(client, 404, index="nope", query_type="count", query="x")
    err(client, 404, index=str(index_dir), query_type="count", query="x")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"query_type": "frobnicate", "query": "x"}, "query_type"),
        ({"query_type": "count"}, "query"),
        ({"query_type": "count", "query": "a", "query_ids": [97]}, "not both"),
        ({"query_type": "count", "query_ids": [300]}, "300"),
        ({"query_type": "count", "query_ids": [-1]}, "-1"),
        ({"query_type": "count", "query_ids": [2**70]}, "vocabulary"),
        ({"query_type": "count", "query_ids": ["97"]}, "query_ids"),
        ({"query_type": "count", "query_ids": [True]}, "query_ids"),
        ({"query_type": "count", "query_ids": [[97], [98]]}, "query_ids"),
        ({"query_type": "count", "query": 5}, "query"),
        ({"query_type": "get_doc_by_rank", "rank": 0}, "'s'"),
        ({"query_type": "get_doc_by_rank", "s": 0, "rank": 10**6}, "rank"),
        ({"query_type": "get_doc_by_rank", "s": 7, "rank": 0}, "shard"),
        ({"query_type": "get_doc_by_rank", "s": 0, "rank": 2**64}, "rank"),
        ({"query_type": "get_doc_by_rank", "s": -1, "rank": 0}, "s"),
        ({"query_type": "get_doc_by_ix", "doc_ix": 99}, "document"),
        ({"query_type": "get_doc_by_ptr", "s": 0, "ptr": 10**9}, "pointer"),
        ({"query_type": "search_docs", "query": "a", "maxnum": 11}, "maxnum"),
        ({"query_type": "search_docs", "query": "a", "max_disp_len": 10**5}, "max_disp_len"),
    ],
)
def test_bad_queries_are_400(client: httpx.Client, body: dict[str, Any], needle: str) -> None:
    assert needle in err(client, 400, **body)


@pytest.mark.parametrize(
    "content", [b"", b"{", b"[]", b"null", b'{"index": "demo"}', b"\xff\xfe", b'"x"']
)
def test_malformed_bodies_are_400(client: httpx.Client, content: bytes) -> None:
    r = client.post("/", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()


def test_unknown_route_and_method(client: httpx.Client) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and "error" in r.json()
    r = client.get("/batch")
    assert r.status_code == 405 and "error" in r.json()


# ------------------------------------------------------------------ limits


def test_query_length_limit(strict: httpx.Client) -> None:
    assert ok(strict, query_type="count", query="x" * 20)["count"] == 0
    assert "limit of 20" in err(strict, 400, query_type="count", query="x" * 21)
    assert "limit of 20" in err(strict, 400, query_type="count", query_ids=[97] * 21)


def test_configured_caps(strict: httpx.Client) -> None:
    assert len(ok(strict, query_type="search_docs", query="the", maxnum=2)["documents"]) == 2
    assert "limit of 2" in err(strict, 400, query_type="search_docs", query="the", maxnum=3)
    doc = ok(strict, query_type="get_doc_by_ix", doc_ix=0, max_disp_len=50)
    assert doc["disp_len"] <= 50
    err(strict, 400, query_type="get_doc_by_ix", doc_ix=0, max_disp_len=51)


def test_body_too_large(strict: httpx.Client) -> None:
    big = {"index": "demo", "query_type": "count", "query": "x" * 3000}
    r = strict.post("/", json=big)
    assert r.status_code == 413 and "2000 bytes" in r.json()["error"]

    def chunks() -> Any:  # no Content-Length: the cap counts the bytes received
        yield b'{"index": "demo", "query_type": "count", "query": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    r = strict.post("/", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "error" in r.json()


def test_batch_limit(strict: httpx.Client) -> None:
    one = {"index": "demo", "query_type": "count", "query": "a"}
    assert len(strict.post("/batch", json=[one] * 3).json()) == 3
    r = strict.post("/batch", json=[one] * 4)
    assert r.status_code == 400 and "limit of 3" in r.json()["error"]


def test_timeout_is_504(strict: httpx.Client) -> None:
    assert "0.3 s" in err(strict, 504, query_type="count", query="slow")


@pytest.mark.timing  # asserts on wall-clock time: run alone
def test_slow_query_does_not_block_others(strict_server: Any) -> None:
    """While one engine call sleeps in the thread pool, other clients' requests are answered
    (the fair queue charges a query that timed out to its client until it ends, so the other
    client has its own address)."""
    slow: list[int] = []

    def run_slow() -> None:
        with httpx.Client(base_url=strict_server.url, timeout=30) as c:
            slow.append(q(c, query_type="count", query="slow").status_code)

    t = threading.Thread(target=run_slow)
    t.start()
    time.sleep(0.05)
    other = httpx.HTTPTransport(local_address="127.0.0.5")
    with httpx.Client(base_url=strict_server.url, timeout=30, transport=other) as c:
        t0 = time.perf_counter()
        for _ in range(5):
            assert ok(c, query_type="count", query="cat")["count"] == 2
        assert time.perf_counter() - t0 < 0.25
    t.join()
    assert slow == [504]


def test_access_log(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="anygram.access"):
        ok(client, query_type="count", query="cat")
        deadline = time.monotonic() + 5
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
    rec = json.loads(caplog.records[-1].getMessage())
    assert rec["status"] == 200 and rec["path"] == "/" and rec["method"] == "POST"
    assert rec["index"] == "demo" and rec["query_type"] == "count" and rec["ms"] >= 0


# ------------------------------------------------------------------ language-model queries


def test_infini_gram_prob_example(client: httpx.Client) -> None:
    r = ok(client, query_type="prob", query="natural language processing")
    assert {"prompt_cnt", "cont_cnt", "prob"} | COMMON == set(r)
    # prompt = "natural language processin", continuation = "g"
    assert r["prompt_cnt"] == r["cont_cnt"] == 2 and r["prob"] == 1.0
    assert ok(client, query_type="prob", query="zzz")["prob"] == -1.0
    assert "at least one token" in err(client, 400, query_type="prob", query_ids=[])


def test_infini_gram_ntd_example(client: httpx.Client) -> None:
    r = ok(client, query_type="ntd", query="natural language")
    assert {"prompt_cnt", "result_by_token_id", "approx"} | COMMON == set(r)
    assert r["prompt_cnt"] == 3
    dist = {e["token"]: (e["cont_cnt"], e["prob"]) for e in r["result_by_token_id"].values()}
    assert dist == {" ": (3, 1.0)}
    r = ok(client, query_type="ntd", query="the ")
    assert {e["token"] for e in r["result_by_token_id"].values()} == {"c", "d", "m", "l"}
    assert sum(e["cont_cnt"] for e in r["result_by_token_id"].values()) == r["prompt_cnt"]
    assert "limit of 1000" in err(client, 400, query_type="ntd", query="a", max_support=1001)


def test_ntd_reports_document_ends(client: httpx.Client) -> None:
    r = ok(client, query_type="ntd", query="the mat")
    (entry,) = r["result_by_token_id"].values()
    assert entry["token"] == "<eos>" and entry["cont_cnt"] == 1


def test_infini_gram_infgram_prob_example(client: httpx.Client) -> None:
    r = ok(client, query_type="infgram_prob", query="I love natural language processing")
    fields = {"prompt_cnt", "cont_cnt", "prob", "suffix_len", "suffix_ids", "longest_suffix"}
    assert fields | COMMON == set(r)
    assert r["longest_suffix"] == "I love natural language processin"  # the whole prompt
    assert r["suffix_len"] == len(r["longest_suffix"]) and r["prob"] == 1.0
    r = ok(client, query_type="infgram_prob", query="We hate natural language processing")
    assert r["longest_suffix"] == "e natural language processin"  # backed off to what occurs
    assert r["suffix_len"] == len(r["longest_suffix"]) and r["prompt_cnt"] == 1


def test_infgram_ntd(client: httpx.Client) -> None:
    r = ok(client, query_type="infgram_ntd", query="xyz the c")
    assert r["longest_suffix"] == " the c" and r["suffix_len"] == 6
    assert {e["token"] for e in r["result_by_token_id"].values()} == {"a"}
    assert r["prompt_cnt"] == 1  # only "wörld, the cat" has " the c"
