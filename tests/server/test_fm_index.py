"""The server and the web page serve an FM index unchanged: every query type answers as on the
suffix-array index of the same documents (ranks aside), and ``get_doc_by_rank`` places the
match from the query's length."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anygram
import httpx
import pytest
from anygram.server import create_app

from tests.conftest import write_jsonl
from tests.server.conftest import DOCS, LiveServer

#: One request of every kind the page sends (the find/rank pair is checked on its own).
REQUESTS: list[dict[str, Any]] = [
    {"query_type": "count", "query": "natural language"},
    {"query_type": "count", "query": "absent words"},
    {"query_type": "search_docs", "query": "the cat", "maxnum": 10},
    {"query_type": "prob", "query": "the ca"},
    {"query_type": "ntd", "query": "the "},
    {"query_type": "infgram_prob", "query": "a big cat"},
    {"query_type": "infgram_ntd", "query": "zzz the"},
    {"query_type": "score", "query": "the cat sat"},
    {"query_type": "creativity", "query": "the cat sat on the log"},
    {"query_type": "attribute", "query": "the dog sat on the mat", "min_len": 4},
    {"query_type": "generate", "query": "the ", "max_new_tokens": 8, "seed": 3},
    {"query_type": "count_cnf", "query": "cat AND sat"},
    {"query_type": "search_docs_cnf", "query": "natural AND fun", "maxnum": 5},
    {"query_type": "get_doc_by_ix", "doc_ix": 5},
    {"query_type": "get_doc_by_ptr", "s": 0, "ptr": 50, "max_disp_len": 20},
]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, httpx.Client]]:
    d = tmp_path_factory.mktemp("fm-server")
    src = write_jsonl(d / "corpus.jsonl", DOCS)
    anygram.build([src], d / "sa", quiet=True)
    anygram.build([src], d / "fm", quiet=True, kind="fm", sa_sample=4, isa_sample=8)
    app = create_app({"sa": anygram.Index(d / "sa"), "fm": anygram.Index(d / "fm")})
    with LiveServer(app) as s, httpx.Client(base_url=s.url, timeout=30) as c:
        yield {"client": c}


def _ask(c: httpx.Client, index: str, body: dict[str, Any]) -> dict[str, Any]:
    r = c.post("/", json={"index": index, **body})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    out.pop("latency")
    return out


def test_every_query_type_answers_as_on_the_sa_index(both: dict[str, httpx.Client]) -> None:
    c = both["client"]
    for body in REQUESTS:
        sa, fm = _ask(c, "sa", body), _ask(c, "fm", body)
        if body["query_type"] == "search_docs":  # the same documents, in each kind's rank order
            for r in (sa, fm):
                r["documents"].sort(key=lambda d: (d["doc_ix"], d["disp_offset"]))
                r["idxs"], r["message"] = len(r["idxs"]), r["message"].split(".")[0]
        if body["query_type"] == "attribute":
            for r in (sa, fm):
                for span in r["spans"]:
                    span["docs"] = sorted(span["docs"], key=lambda d: (d["s"], d["ptr"]))
        assert sa == fm, body["query_type"]


def test_get_doc_by_rank_marks_the_match(both: dict[str, httpx.Client]) -> None:
    c = both["client"]
    found = _ask(c, "fm", {"query_type": "find", "query": "language"})
    lo, hi = found["segment_by_shard"][0]
    assert hi - lo == 3
    for rank in range(lo, hi):
        body = {"query_type": "get_doc_by_rank", "s": 0, "rank": rank, "query": "language"}
        doc = _ask(c, "fm", {**body, "max_disp_len": 30})
        assert [text for text, label in doc["spans"] if label == "0"] == ["language"]
    page = c.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    names = {i["name"] for i in c.get("/indexes").json()}
    assert names == {"sa", "fm"}
