"""attribute and score over HTTP (served when the installed Index has them)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.server.test_api import COMMON, err, ok


@pytest.fixture(autouse=True)
def _needs_attribute(client: httpx.Client) -> None:
    if "attribute" not in client.get("/query_types").json():
        pytest.skip("this engine has no attribute")


def test_attribute(client: httpx.Client) -> None:
    text = "We love natural language processing"
    r = ok(client, query_type="attribute", query=text, min_len=5)
    assert {"spans"} | COMMON == set(r)
    assert r["token_ids"] == list(text.encode())
    longest = max(r["spans"], key=lambda s: s["length"])
    assert longest["text"] == text[longest["l"] : longest["r"]]
    assert "natural language processing" in longest["text"]
    for span in r["spans"]:
        assert set(span) >= {"l", "r", "length", "count", "unigram_logprob_sum", "docs", "text"}
        assert span["length"] == span["r"] - span["l"] >= 5
        assert 0 < len(span["docs"]) <= min(10, span["count"])


def test_attribute_options_and_documents(client: httpx.Client) -> None:
    r = ok(
        client,
        query_type="attribute",
        query="the cat sat on the log",
        min_len=3,
        max_cnt=1,
        max_docs=1,
        return_docs=True,
        max_disp_len=100,
        enforce_bow=True,
        rank_by="length",
        max_spans=2,
    )
    spans: list[dict[str, Any]] = r["spans"]
    assert 0 < len(spans) <= 2
    assert [s["length"] for s in spans] == sorted((s["length"] for s in spans), reverse=True)
    for span in spans:
        assert span["count"] <= 1 and len(span["docs"]) == 1
        doc = span["docs"][0]["document"]
        marked = [t for t, label in doc["spans"] if label == "0"]
        assert marked == [span["text"]]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"min_len": 0}, "min_len"),
        ({"max_docs": 101}, "max_docs"),
        ({"rank_by": "random"}, "rank_by"),
        ({"span_density": 2.0}, "span_density"),
        ({"delim_ids": [1.5]}, "delim_ids"),
        ({"return_docs": True, "max_docs": 100, "max_disp_len": 10_000}, "return_docs"),
    ],
)
def test_attribute_errors(client: httpx.Client, body: dict[str, Any], needle: str) -> None:
    assert needle in err(client, 400, query_type="attribute", query="the cat sat", **body)


def test_score(client: httpx.Client) -> None:
    if "score" not in client.get("/query_types").json():
        pytest.skip("this engine has no score")
    text = "the cat"
    r = ok(client, query_type="score", query=text)
    assert len(r["prob"]) == len(r["effective_n"]) == len(r["tokens"]) == len(text)
    last = ok(client, query_type="infgram_prob", query=text)
    assert r["prob"][-1] == pytest.approx(last["prob"])
