"""A grown index answers every query as a fresh build of its documents does (hypothesis).

Random sequences of build, add, takedown and compact on an index of either kind (SA, FM at
small sampling rates) with random shard sizes (so several shard counts), then every query type
compared with a fresh build of the live documents in number order (itself at another random
shard size): counts, probabilities, distributions, back-off, scores, creativity, attribution,
boolean search, documents, generation. Positions and shard numbers differ between the two
layouts, so documents are compared by content and metadata, and numbers through the map live
number -> position in the fresh build.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import anygram
import pytest
from anygram.errors import InvalidArgumentError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ALPHABET = "ab c"
SHARD_SIZES = [None, 12, 25]

texts = st.text(alphabet=ALPHABET, min_size=1, max_size=10)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(texts, min_size=1, max_size=4)),
        st.tuples(st.just("takedown"), st.lists(st.integers(0, 30), min_size=1, max_size=3)),
        st.tuples(st.just("compact"), st.sampled_from([None, 1, 2])),
    ),
    max_size=4,
)


class Corpus:
    """The documents a grown index should hold: number -> (text, uid)."""

    def __init__(self) -> None:
        self.live: dict[int, tuple[str, str]] = {}
        self.next = 0
        self.files = 0

    def write(self, work: Path, docs: list[str]) -> Path:
        path = work / f"in{self.files}.jsonl"
        self.files += 1
        with open(path, "w") as f:
            for t in docs:
                uid = f"u{self.next}"
                self.live[self.next] = (t, uid)
                self.next += 1
                f.write(json.dumps({"text": t, "uid": uid}) + "\n")
        return path


def _meta(doc: dict[str, Any]) -> str:
    return str(json.loads(doc["metadata"])["metadata"]["uid"])


def _queries(texts_: list[str]) -> list[str]:
    qs = {"a", "b", " ", "c", "ab", "ba", "a b", "cc", "abc", "zz"}
    for t in texts_[:4]:
        qs.add(t)
        qs.add(t[: len(t) // 2 + 1])
        qs.add(t[len(t) // 2 :])
    return sorted(q for q in qs if q)


def compare(grown: anygram.Index, fresh: anygram.Index, corpus: Corpus) -> None:
    numbers = sorted(corpus.live)
    assert grown.num_docs == fresh.num_docs == len(numbers)
    assert grown.num_tokens == fresh.num_tokens
    for k, n in enumerate(numbers):
        g, f = grown.get_doc_by_ix(n), fresh.get_doc_by_ix(k)
        assert g["doc_ix"] == n
        assert (g["text"], _meta(g)) == (f["text"], _meta(f)) == corpus.live[n]
    gone = [n for n in range(corpus.next) if n not in corpus.live]
    for n in gone[:3]:
        with pytest.raises(anygram.errors.InvalidQueryError, match="taken down"):
            grown.get_doc_by_ix(n)
    eos = grown.eos_token_id
    qs = _queries([t for t, _ in corpus.live.values()])
    for q in qs:
        assert grown.count(q) == fresh.count(q), q
        assert grown.find(q)["cnt"] == fresh.find(q)["cnt"]
        for c in ["a", " ", eos]:
            assert grown.prob(q, c) == fresh.prob(q, c), (q, c)
            assert grown.infgram_prob("cab " + q, c) == fresh.infgram_prob("cab " + q, c)
        assert grown.ntd(q, exact=True) == fresh.ntd(q, exact=True), q
        assert grown.infgram_ntd("b" + q, exact=True) == fresh.infgram_ntd("b" + q, exact=True)
        for name in ("score", "creativity", "next_token_summary"):
            assert getattr(grown, name)(q + " ab") == getattr(fresh, name)(q + " ab"), (name, q)
        ga = grown.attribute(q + "ca", return_docs=True, max_docs=1000)["spans"]
        fa = fresh.attribute(q + "ca", return_docs=True, max_docs=1000)["spans"]
        assert [(s["l"], s["r"], s["count"]) for s in ga] == [
            (s["l"], s["r"], s["count"]) for s in fa
        ]
        assert Counter(_meta(d["document"]) for s in ga for d in s["docs"]) == Counter(
            _meta(d["document"]) for s in fa for d in s["docs"]
        )
        gs, fs = grown.search_docs(q, maxnum=1000), fresh.search_docs(q, maxnum=1000)
        assert gs["cnt"] == fs["cnt"]
        win = lambda r: Counter((_meta(d), d["text"]) for d in r["documents"])  # noqa: E731
        assert win(gs) == win(fs), q
        assert grown.generate(q, 6, seed=3) == fresh.generate(q, 6, seed=3), q
    for cnf in ["a AND b", "ab OR c", "(a OR c) AND b"]:
        for scope in ("window", "document"):
            g = grown.count_cnf(cnf, exact=True, scope=scope)
            assert g == fresh.count_cnf(cnf, exact=True, scope=scope), (cnf, scope)
            gd = grown.search_docs_cnf(cnf, maxnum=1000, exact=True, scope=scope)
            fd = fresh.search_docs_cnf(cnf, maxnum=1000, exact=True, scope=scope)
            assert Counter(_meta(d) for d in gd["documents"]) == Counter(
                _meta(d) for d in fd["documents"]
            )


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(texts, min_size=1, max_size=5),
    steps=ops,
    sizes=st.lists(st.sampled_from(SHARD_SIZES), min_size=6, max_size=6),
)
@pytest.mark.parametrize("kind", ["sa", "fm"])
def test_grown_index_answers_as_a_fresh_build(
    tmp_path_factory: pytest.TempPathFactory,
    kind: str,
    first: list[str],
    steps: list[tuple[str, Any]],
    sizes: list[int | None],
) -> None:
    work = tmp_path_factory.mktemp("grow")
    corpus = Corpus()
    idx = work / "idx"
    fm = {"kind": "fm", "sa_sample": 2, "isa_sample": 4} if kind == "fm" else {}
    anygram.build(corpus.write(work, first), idx, max_shard_tokens=sizes[0], quiet=True, **fm)
    grown = anygram.Index(idx)
    for i, (op, arg) in enumerate(steps):
        if op == "add":
            size = sizes[1 + i % 4]
            anygram.add(idx, [corpus.write(work, arg)], max_shard_tokens=size, quiet=True)
        elif op == "takedown":
            ids = sorted({a % max(1, corpus.next) for a in arg})
            if set(corpus.live) <= set(ids):
                with pytest.raises(InvalidArgumentError, match="without documents"):
                    anygram.takedown(idx, ids)
                continue
            r = anygram.takedown(idx, ids)
            assert r["removed"] == [d for d in ids if d in corpus.live]
            assert r["already"] == [d for d in ids if d not in corpus.live]
            for d in ids:
                corpus.live.pop(d, None)
        else:
            anygram.compact(idx, max_shards=arg)
    grown.refresh()
    fresh_dir = work / "fresh"
    live = [corpus.live[n] for n in sorted(corpus.live)]
    with open(work / "fresh.jsonl", "w") as f:
        for t, uid in live:
            f.write(json.dumps({"text": t, "uid": uid}) + "\n")
    anygram.build(work / "fresh.jsonl", fresh_dir, max_shard_tokens=sizes[5], quiet=True)
    # The fresh build is of the suffix-array kind: a grown FM index must agree with it too.
    compare(grown, anygram.Index(fresh_dir), corpus)
    assert grown.info()["kind"] == [kind]
    # Reopened from scratch, the index says the same.
    compare(anygram.Index(idx, verify=True), anygram.Index(fresh_dir), corpus)
