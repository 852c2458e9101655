"""Boolean search and creativity from Python: text queries and id CNFs, both scopes, exact and
sampled, documents with spans, paging and seeded sampling, typed errors for bad input. The
engine's exactness is proven by the Rust oracle (crates/anygram-core/tests/cnf_oracle.rs);
here a small brute force checks the Python path end to end."""

from __future__ import annotations

import json

import anygram
import pytest
from anygram.errors import InvalidQueryError, QueryParseError, TokenOutOfRangeError
from anygram.query_language import QueryLimits

from tests.conftest import scratch_dir, write_jsonl

TEXTS = [
    "new york is a big city in the state of new york",
    "york is a city in england",
    "the state of the art",
    "new york city",
    "a city and a state far apart " + "x " * 60 + "new york",
]


@pytest.fixture(scope="module")
def index() -> anygram.Index:
    tmp = scratch_dir()
    src = write_jsonl(tmp / "c.jsonl", [{"text": t, "n": i} for i, t in enumerate(TEXTS)])
    anygram.build([src], tmp / "idx", quiet=True, max_shard_tokens=200)
    return anygram.Index(tmp / "idx")


def _starts(text: str, term: str) -> list[int]:
    return [i for i in range(len(text)) if text.startswith(term, i)]


def brute(cnf: list[list[str]], d: int, scope: str) -> int:
    """The engine's semantics on byte-level text (one token per character here)."""
    totals = [sum(len(_starts(t, term)) for t in TEXTS for term in c) for c in cnf]
    if 0 in totals:
        return 0
    order = sorted(range(len(cnf)), key=lambda c: totals[c])
    n = 0
    for text in TEXTS:
        m = [sorted(p for term in c for p in _starts(text, term)) for c in cnf]
        anchor = m[order[0]]
        if scope == "document":
            n += bool(anchor) and all(m)
            continue
        for p in anchor:
            lo, hi, alive = p, p, True
            for c in order[1:]:
                left = [x for x in m[c] if x < hi and x + d >= lo]
                right = [x for x in m[c] if lo <= x <= hi + d]
                if not left and not right:
                    alive = False
                    break
                lo = min([lo, *left[-1:]])
                hi = max([hi, *right[:1]])
            n += alive
    return n


QUERIES = [
    [["new york"]],
    [["new york"], ["city", "state"]],
    [["york"], ["city"], ["state"]],
    [["new york"], ["england"]],
    [["city"], ["new york"]],
    [["state", "art"], ["of"]],
]


@pytest.mark.parametrize("cnf", QUERIES)
@pytest.mark.parametrize("d", [1, 5, 30, 100])
@pytest.mark.parametrize("scope", ["window", "document"])
def test_counts_match_brute_force(index, cnf, d, scope) -> None:
    want = brute(cnf, d, scope)
    for exact in (True, False):
        got = index.count_cnf(cnf, max_diff_tokens=d, exact=exact, scope=scope)
        assert got == {"count": want, "approx": False}
    found = index.find_cnf(cnf, max_diff_tokens=d, exact=True, scope=scope)
    assert found["cnt"] == want == sum(len(p) for p in found["ptrs_by_shard"])
    assert len(found["ptrs_by_shard"]) == index.num_shards
    for ps in found["ptrs_by_shard"]:
        assert ps == sorted(ps)


def test_text_ids_and_query_language_agree(index) -> None:
    text = '"new york" AND (city OR state)'
    by_text = index.count_cnf(text)
    ids = [[index.tokenize("new york")], [index.tokenize("city"), index.tokenize("state")]]
    assert index.count_cnf(ids) == by_text == index.count_cnf([["new york"], ["city", "state"]])
    assert by_text["count"] == brute([["new york"], ["city", "state"]], 100, "window")


def test_sampling_sets_approx_exactly_when_it_happens(index) -> None:
    cnf = [[" "], ["a"]]  # spaces and a's are frequent
    n_space = index.count(" ")["count"]
    exact = index.count_cnf(cnf, exact=True)
    assert not exact["approx"]
    assert index.count_cnf(cnf, max_clause_freq=10_000) == exact
    sampled = index.count_cnf(cnf, max_clause_freq=3)
    assert sampled["approx"]
    assert index.count_cnf(cnf, max_clause_freq=3, exact=True) == exact
    # One clause is counted exactly, sampling or not.
    assert index.count_cnf([[" "]], max_clause_freq=3) == {"count": n_space, "approx": False}
    assert index.find_cnf([[" "]], max_clause_freq=3)["approx"]


def test_search_docs_cnf_documents_spans_paging(index) -> None:
    q = '"new york" AND (city OR state)'
    r = index.search_docs_cnf(q, maxnum=10, max_disp_len=40)
    assert r["total"] == r["cnt"] == index.count_cnf(q)["count"]
    assert r["idxs"] == list(range(r["total"]))
    for doc in r["documents"]:
        meta = json.loads(doc["metadata"])
        assert TEXTS[meta["metadata"]["n"]] == TEXTS[doc["doc_ix"]]
        text = doc["text"]
        assert len(doc["token_ids"]) == doc["disp_len"] <= 40
        clauses = {c for _, _, c in doc["spans"]}
        assert 0 in clauses
        for start, end, c in doc["spans"]:
            piece = text[start:end]
            terms = [["new york"], ["city", "state"]][c]
            assert any(t.startswith(piece) for t in terms), (piece, c)
        # every full match in the window is a span
        for c, terms in enumerate([["new york"], ["city", "state"]]):
            for t in terms:
                for p in _starts(text, t):
                    assert (p, p + len(t), c) in [tuple(s) for s in doc["spans"]]
    # Paging in index order: pages concatenate.
    pages = [index.search_docs_cnf(q, maxnum=1, offset=o)["idxs"] for o in range(r["total"])]
    assert [p[0] for p in pages] == r["idxs"]
    assert index.search_docs_cnf(q, maxnum=5, offset=r["total"])["documents"] == []
    # Seeded random order: reproducible, a permutation across pages.
    a = index.search_docs_cnf(q, maxnum=r["total"], seed=7)["idxs"]
    assert a == index.search_docs_cnf(q, maxnum=r["total"], seed=7)["idxs"]
    assert sorted(a) == r["idxs"]
    halves = index.search_docs_cnf(q, maxnum=1, seed=7, offset=1)["idxs"]
    assert halves == a[1:2]


def test_document_scope_counts_documents(index) -> None:
    r = index.search_docs_cnf("apart AND york", maxnum=5, scope="document")
    assert r["cnt"] == 1
    assert index.count_cnf("apart AND york")["count"] == 0  # 60+ tokens apart
    assert r["documents"][0]["doc_ix"] == 4


def test_creativity(index) -> None:
    rs = index.creativity("new york zzz")["rs"]
    text = "new york zzz"
    for i, r in enumerate(rs):
        assert any(t.find(text[i:r]) >= 0 for t in TEXTS)
        assert r == len(text) or not any(text[i : r + 1] in t for t in TEXTS)
    assert index.creativity([])["rs"] == []
    with pytest.raises(TokenOutOfRangeError):
        index.creativity([10**6])


@pytest.mark.parametrize(
    "bad",
    [
        [],
        [[]],
        [[""]],
        [["a"], []],
        "a AND",
        "(a OR b",
        "a AND b AND c AND d AND e",
        [["a"]] * 5,
        [["a", "b", "c", "d", "e"]],
        [[[1, 2], 3]],
        b"abc",
        [[b"a"]],
    ],
)
def test_bad_queries_raise(index, bad) -> None:
    with pytest.raises(InvalidQueryError):
        index.count_cnf(bad)


def test_bad_options_raise(index) -> None:
    for kw in (
        {"max_diff_tokens": 0},
        {"max_diff_tokens": 10**6},
        {"max_clause_freq": 0},
        {"max_clause_freq": 10**9},
        {"max_diff_tokens": True},
        {"scope": "sentence"},
    ):
        with pytest.raises(InvalidQueryError):
            index.count_cnf("a AND b", **kw)
    with pytest.raises(InvalidQueryError):
        index.search_docs_cnf("a", maxnum=-1)
    with pytest.raises(QueryParseError) as e:
        index.find_cnf('"new york" AND (city OR')
    assert e.value.position == len('"new york" AND (city OR')


def test_limits_are_configurable(index) -> None:
    many = " AND ".join("abcdef")
    with pytest.raises(QueryParseError):
        index.count_cnf(many)
    free = anygram.Index(
        index._paths, query_limits=QueryLimits(max_clauses=None, max_diff_tokens=None)
    )
    assert free.count_cnf(many, max_diff_tokens=10**6)["count"] >= 0
