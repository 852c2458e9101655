"""Schema-driven fuzzing: schemathesis generates requests from the OpenAPI spec of a running
server; no request may get a 5xx. Bounded (a few hundred examples) to keep CI fast."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.conftest import LiveServer

MAX_EXAMPLES = 60  # per operation; 5 operations


def test_no_server_errors(server: LiveServer, tmp_path: Path) -> None:
    st = shutil.which("schemathesis") or shutil.which("st")
    if st is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    cmd = [
        st,
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "5",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    print(out[-3000:])


BOOLEAN_TYPES = ["count", "find", "search_docs", "count_cnf", "find_cnf", "search_docs_cnf"]
WORDS = ["cat", "the", "AND", "OR", "(", ")", '"', "\\", "sat on", " ", "é", "x" * 40, "\ud800"]
#: Huge numbers, as integers and as the floats JSON writers send (integral or not).
HUGE = [2**31, 2**63, 2**64, 2**200, -(2**70), 10**400, 1e300, -1e300, 2.0**64, 5e-324]
NUMBERS = st.one_of(st.none(), st.integers(-2, 12), st.sampled_from([0, 1, 2.0, 2.5, *HUGE]))
#: Parentheses nested up to far past the parser's limit (988 once gave a RecursionError / 500).
DEEP = st.builds(
    lambda n, inner: "(" * n + inner + ")" * n,
    st.integers(0, 3000),
    st.sampled_from(["cat OR the", "a", "a AND b", "", "(", "cat OR"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    query_type=st.sampled_from(
        [
            *BOOLEAN_TYPES,
            "get_doc_by_ptr",
            "creativity",
            "ntd",
            "attribute",
            "score",
            "generate",
        ]
    ),
    text=st.one_of(st.none(), st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join), DEEP),
    ids=st.one_of(
        st.lists(st.one_of(st.integers(0, 300), st.sampled_from(HUGE)), max_size=6),
        st.lists(
            st.lists(st.lists(st.integers(0, 300), max_size=4), max_size=5), min_size=0, max_size=5
        ),
    ),
    fields=st.fixed_dictionaries(
        {},
        optional={
            "maxnum": NUMBERS,
            "max_disp_len": NUMBERS,
            "max_clause_freq": NUMBERS,
            "max_diff_tokens": NUMBERS,
            "offset": NUMBERS,
            "seed": NUMBERS,
            "s": NUMBERS,
            "ptr": NUMBERS,
            "exact": st.booleans(),
            "scope": st.sampled_from(["window", "document", "doc"]),
            "min_len": NUMBERS,
            "max_cnt": NUMBERS,
            "max_docs": NUMBERS,
            "max_spans": NUMBERS,
            "return_docs": st.booleans(),
            "enforce_bow": st.booleans(),
            "delim_ids": st.lists(st.integers(-1, 300), max_size=3),
            "rank_by": st.sampled_from(["position", "length", "unigram_logprob", "x"]),
            "span_density": st.one_of(st.none(), st.floats(-1, 2)),
            "max_new_tokens": NUMBERS,
            "temperature": st.one_of(
                st.none(), st.floats(-1, 1e300), st.sampled_from([0, 5e-324, 1e-300, 3])
            ),
            "top_k": NUMBERS,
        },
    ),
)
def test_boolean_queries_never_fail_the_server(
    server: LiveServer, query_type: str, text: str | None, ids: list[Any], fields: dict[str, Any]
) -> None:
    """Boolean queries (text in the query language, triply nested ids), paging, seeds, limits,
    attribute's and generate's options: every answer is a 200 or a 4xx with an error message,
    never a 5xx."""
    body: dict[str, Any] = {"index": "demo", "query_type": query_type, **fields}
    if text is not None:
        body["query"] = text
    else:
        body["query_ids"] = ids
    content = json.dumps(body).encode()  # ASCII escapes: a lone surrogate is valid JSON text
    headers = {"content-type": "application/json"}
    r = httpx.post(server.url + "/", content=content, headers=headers, timeout=30)
    assert r.status_code < 500, (body, r.text)
    if r.status_code != 200:
        assert r.json()["error"]
