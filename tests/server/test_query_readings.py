"""The server reads text queries by the same rule as the CLI and the API (boolean only with
AND/OR, or when asked; a quoted phrase is that phrase) and, on BPE indexes, counts a phrase with
and without the leading space unless exact_tokens is asked for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anygram
import httpx
import pytest
from anygram.server import create_app

from tests.conftest import brute_count, train_bpe, write_jsonl
from tests.server.conftest import LiveServer

TEXTS = [
    "Apache License, Version 2.0 is a license.",
    "Licensed under the Apache License, Version 2.0 (the License).",
    "See the Apache License for details; Apache License text (self) self.",
]


@pytest.fixture(scope="module")
def bpe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, anygram.Index]]:
    pytest.importorskip("tokenizers")
    d: Path = tmp_path_factory.mktemp("bpe-server")
    tok = train_bpe(d / "tokenizer.json", TEXTS)
    anygram.build(
        [write_jsonl(d / "c.jsonl", [{"text": t} for t in TEXTS])],
        d / "idx",
        tokenizer=tok,
        quiet=True,
    )
    index = anygram.Index(d / "idx")
    with LiveServer(create_app({"bpe": index})) as s, httpx.Client(base_url=s.url) as c:
        yield c, index


def _ask(client: httpx.Client, **fields: object) -> dict:
    r = client.post("/", json={"index": "bpe", **fields})
    assert r.status_code == 200, r.text
    return r.json()


def test_count_of_both_forms(bpe: tuple[httpx.Client, anygram.Index]) -> None:
    client, index = bpe
    docs = [index.tokenize(t) for t in TEXTS]
    q = "Apache License"
    plain, spaced = index.tokenize(q), index.tokenize(" " + q)
    r = _ask(client, query_type="count", query=q)
    assert r["count"] == brute_count(docs, plain) + brute_count(docs, spaced) == 4
    assert [(v["text"], v["count"]) for v in r["variants"]] == [
        (q, brute_count(docs, plain)),
        (" " + q, brute_count(docs, spaced)),
    ]
    assert "with and without the leading space" in r["reading"]["description"]
    r = _ask(client, query_type="count", query=q, exact_tokens=True)
    assert r["count"] == brute_count(docs, plain) and r["token_ids"] == plain


def test_search_docs_pages_through_both_forms(bpe: tuple[httpx.Client, anygram.Index]) -> None:
    client, _ = bpe
    r = _ask(client, query_type="search_docs", query="Apache License", maxnum=10, offset=0)
    assert r["cnt"] == 4 and len(r["variants"]) == 2
    marked = [
        text.strip() for d in r["documents"] for text, label in d["spans"] if label is not None
    ]
    assert len(r["documents"]) == 4 and set(marked) == {"Apache License"}


def test_readings(bpe: tuple[httpx.Client, anygram.Index]) -> None:
    client, index = bpe
    r = _ask(client, query_type="count", query="(self)")
    assert r["reading"]["kind"] == "phrase" and r["count"] == 1
    r = _ask(client, query_type="count", query='"Apache"', exact_tokens=True)
    assert r["reading"]["text"] == "Apache" and r["token_ids"] == index.tokenize("Apache")
    r = _ask(client, query_type="count", query="self", boolean=True)
    assert r["reading"]["kind"] == "boolean"
    r = _ask(client, query_type="count", query="License OR self", boolean=False)
    assert r["reading"]["kind"] == "phrase" and r["count"] == 0
    r = _ask(client, query_type="count", query="License OR self")
    assert r["reading"]["kind"] == "boolean" and r["count"] > 0
