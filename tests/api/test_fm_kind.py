"""The FM-index kind answers every query of the ``Index`` API as the suffix-array kind does
(hypothesis: random and adversarial corpora, several sampling rates and shard counts), and is
built and described through the same front ends (``anygram build --kind fm``, ``info``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anygram
import pytest
from anygram.cli import main
from anygram.errors import InvalidArgumentError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CharTokenizer, write_jsonl

SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class IdTokenizer(CharTokenizer):
    """Characters to chosen u16 ids: 0, 0xff (the u8 separator's value, a real id here), the
    largest real id (next to the u16 separator) and a few others."""

    def __init__(self) -> None:
        super().__init__(65535)
        self.ids = {"a": 0, "b": 0xFF, "c": 0xFFFE, "d": 1, "e": 256, " ": 7}
        self.chars = {v: k for k, v in self.ids.items()}

    def describe(self) -> dict[str, Any]:
        return {"kind": "custom", "name": "adversarial-ids", "vocab_size": self.vocab_size}


#: Byte-level texts with NUL bytes, U+00FF, long one-symbol runs and empty documents.
byte_texts = st.lists(
    st.one_of(
        st.text(alphabet="ab\x00\xff é", max_size=30),
        st.sampled_from(["", "a" * 40, "\x00" * 17, "ab" * 12, "\xff" * 5]),
    ),
    min_size=1,
    max_size=8,
)
id_texts = st.lists(
    st.one_of(st.text(alphabet="abcde ", max_size=30), st.sampled_from(["", "b" * 33, "c" * 9])),
    min_size=1,
    max_size=8,
)
layouts = st.tuples(
    # sa_sample, isa_sample: powers of two take libsais' BWT mode, the others the suffix array
    st.sampled_from([(32, 64), (2, 3), (1, 1), (3, 5), (7, 2)]),
    st.sampled_from([None, 64, 100]),  # max_shard_tokens (documents are at most 60 tokens)
)


def _pair(
    tmp: Path, texts: list[str], tokenizer: Any, rates: tuple[int, int], cap: int | None
) -> tuple[anygram.Index, anygram.Index]:
    src = write_jsonl(tmp / "c.jsonl", [{"text": t, "i": i} for i, t in enumerate(texts)])
    tok = None if isinstance(tokenizer, str) else tokenizer
    out = []
    for kind, extra in (("sa", {}), ("fm", {"sa_sample": rates[0], "isa_sample": rates[1]})):
        d = tmp / kind
        anygram.build(
            [src],
            d,
            tokenizer=tokenizer,
            quiet=True,
            max_shard_tokens=cap,
            overwrite=True,
            kind=kind,
            **extra,
        )
        out.append(anygram.Index(d, tokenizer=tok))
    return out[0], out[1]


def _docs_by_position(docs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Documents as a sorted list: which ones are shown (and where) is kind-independent, the
    order of ranks is not."""
    keys = ("doc_ix", "disp_offset", "needle_offset", "token_ids", "text", "metadata")
    return sorted(tuple(json.dumps(d.get(k)) for k in keys) for d in docs)


def _answers(index: anygram.Index, ids: list[list[int]]) -> list[Any]:
    out: list[Any] = []
    text = [t for d in ids for t in d][:60]
    probes = [q for d in ids for i in range(0, len(d), 3) for q in (d[i : i + 1 + i % 4],)]
    probes += [[], [0], [0, 0, 0], text[:7]]
    for q in probes[:20]:
        out.append(("count", q, index.count(q)))
        found = index.find(q)
        segments = enumerate(found["segment_by_shard"])
        reqs = [(s, r) for s, (lo, hi) in segments for r in range(lo, hi)]
        out.append(("find", q, found["cnt"], len(reqs)))
        if q and len(reqs) <= 50:  # all of them: which ranks come first depends on the kind
            shown = index.get_docs_by_ranks(reqs, 12, needle_len=len(q))
            out.append(("by_rank", q, _docs_by_position(shown)))
            if len(reqs) <= 10:
                one = [index.get_doc_by_rank(s, r, 12, needle_len=len(q)) for s, r in reqs]
                out.append(("one_by_rank", q, _docs_by_position(one)))
            page = index.search_docs(q, maxnum=10**6, max_disp_len=9)
            out.append(("search_docs", q, page["cnt"], _docs_by_position(page["documents"])))
        for cont in (0, index.vocab_size - 1, index.eos_token_id):
            out.append(("prob", q, cont, index.prob(q, cont)))
            out.append(("infgram_prob", q, cont, index.infgram_prob(q, cont)))
        exact = index.ntd(q, exact=True)
        out.append(("ntd", q, exact))
        # Above max_support the SA kind samples as infini-gram does (its ranges are sorted by
        # next token); the FM kind counts exactly at about the same cost, and says so.
        sampled = index.ntd(q, max_support=2)
        kind = index.info()["kind"][0]
        assert sampled == exact if kind == "fm" else sampled["approx"] or sampled == exact
        out.append(("infgram_ntd", q, index.infgram_ntd(q, exact=True)))
    out.append(("score", index.score(text)))
    out.append(("creativity", index.creativity(text)))
    spans = index.attribute(text, min_len=2, return_docs=True, max_docs=10**6)["spans"]
    for span in spans:  # every occurrence, in the kind's rank order: sorted
        span["docs"].sort(key=lambda d: (d["s"], d["ptr"]))
    out.append(("attribute", spans))
    out.append(("generate", index.generate(text[:4], 15, seed=7)))
    for i in range(index.num_docs):
        out.append(("doc", i, _docs_by_position([index.get_doc_by_ix(i, 10_000)])))
    for s, info in enumerate(index.info()["shards"]):
        for ptr in range(0, info["tokens"] + info["docs"], 5):
            out.append(("ptr", s, ptr, index.get_doc_by_ptr(s, ptr, 9)))
    terms = [[0], [1], text[:2] or [0]]
    for cnf in ([[terms[0]], [terms[1]]], [[terms[0], terms[2]], [terms[1]]]):
        for scope in ("window", "document"):
            for cap in (1, 10**5):
                args: dict[str, Any] = {"max_clause_freq": cap, "max_diff_tokens": 4}
                args["scope"] = scope
                out.append(("count_cnf", cnf, scope, cap, index.count_cnf(cnf, **args)))
                out.append(("find_cnf", cnf, scope, cap, index.find_cnf(cnf, **args)))
                page = index.search_docs_cnf(cnf, maxnum=10, max_disp_len=8, **args)
                out.append(("search_docs_cnf", cnf, scope, cap, page))
    return out


def _same(sa: anygram.Index, fm: anygram.Index, ids: list[list[int]]) -> None:
    assert sa.info()["kind"] == ["sa"] and fm.info()["kind"] == ["fm"]
    assert fm.num_shards == sa.num_shards
    for a, b in zip(_answers(sa, ids), _answers(fm, ids), strict=True):
        assert a == b


@SETTINGS
@given(byte_texts, layouts)
def test_bytes_fm_answers_as_sa(tmp_path_factory: Any, texts: list[str], layout: Any) -> None:
    tmp = tmp_path_factory.mktemp("fm")
    sa, fm = _pair(tmp, texts, "bytes", *layout)
    _same(sa, fm, [list(t.encode()) for t in texts])


@SETTINGS
@given(id_texts, layouts)
def test_u16_ids_fm_answers_as_sa(tmp_path_factory: Any, texts: list[str], layout: Any) -> None:
    tmp = tmp_path_factory.mktemp("fm")
    tok = IdTokenizer()
    sa, fm = _pair(tmp, texts, tok, *layout)
    _same(sa, fm, [tok.encode(t) for t in texts])


def test_u32_ids_fm_answers_as_sa(tmp_path: Path) -> None:
    tok = CharTokenizer(100_000)
    texts = ["abcabc", "", "jjjjjjjj", "a b c d e f g h i j", "ab"]
    sa, fm = _pair(tmp_path, texts, tok, (3, 4), 20)
    assert fm.token_dtype == "u32" and fm.num_shards > 1
    _same(sa, fm, [tok.encode(t) for t in texts])


def test_cli_builds_and_describes_an_fm_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "the cat sat on the mat"}, {"text": "a"}])
    out = tmp_path / "idx"
    args = ["build", str(src), "-o", str(out), "--quiet", "--kind", "fm", "--sa-sample", "8"]
    assert main(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "fm" and manifest["fm"] == {"sa_sample": 8, "isa_sample": 64}
    assert sorted(p.name for p in (out / "shard-00000").iterdir()) == [
        "docs.bin",
        "fm.bwt",
        "fm.samples",
        "meta.blocks",
    ]
    capsys.readouterr()
    assert main(["info", str(out), "--verify"]) == 0
    assert "kind:           fm (sa_sample 8, isa_sample 64)" in capsys.readouterr().out
    assert main(["docs", str(out), "the", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["cnt"] == 2 and found["documents"][0]["text"] == "the cat sat on the mat"
    # Sampling rates belong to the fm kind.
    with pytest.raises(InvalidArgumentError, match="fm kind"):
        anygram.build([src], tmp_path / "x", kind="sa", sa_sample=8, quiet=True)
    assert main(["build", str(src), "-o", str(tmp_path / "y"), "--sa-sample", "8"]) == 2


def test_an_fm_and_an_sa_index_open_together(tmp_path: Path) -> None:
    """Kinds may mix in one Index: each shard answers through the seam."""
    a = write_jsonl(tmp_path / "a.jsonl", [{"text": "the cat"}, {"text": "the dog"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"text": "a cat and the cat"}])
    anygram.build([a], tmp_path / "sa", quiet=True)
    anygram.build([b], tmp_path / "fm", quiet=True, kind="fm")
    both = anygram.Index([tmp_path / "sa", tmp_path / "fm"])
    assert both.info()["kind"] == ["sa", "fm"]
    assert both.count("cat")["count"] == 3 and both.count("the ")["count"] == 3
    assert both.get_doc_by_ix(2)["text"] == "a cat and the cat"
