"""``fold_case``: case-insensitive indexes of either kind. Counts equal brute force over the
folded text, documents come back as written, both kinds agree, and what cannot be folded is
refused."""

from __future__ import annotations

from pathlib import Path

import anygram
import pytest
from anygram import _core
from anygram.errors import IndexMismatchError, InvalidArgumentError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CharTokenizer, write_jsonl

#: Cased letters of several scripts, characters whose fold changes their UTF-8 length (kept),
#: final sigma, NUL.
ALPHABET = "aAbBσΣςĆćßẞ\u212akK \x00İi\U00010400\U00010428"


def _brute(docs: list[str], q: str) -> int:
    f = [_core.fold_case(d).encode() for d in docs]
    needle = _core.fold_case(q).encode()
    return sum(1 for d in f for i in range(len(d) - len(needle) + 1) if d[i:].startswith(needle))


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(alphabet=ALPHABET, max_size=25), min_size=1, max_size=6))
def test_both_kinds_count_folded_and_return_the_original(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    tmp = tmp_path_factory.mktemp("fold")
    src = write_jsonl(tmp / "c.jsonl", [{"text": t} for t in texts])
    indexes = []
    for kind in ("sa", "fm"):
        rates = {"sa_sample": 3, "isa_sample": 2} if kind == "fm" else {}
        anygram.build([src], tmp / kind, quiet=True, kind=kind, fold_case=True, **rates)
        index = anygram.Index(tmp / kind)
        # FM shards' metadata blocks need format 4.
        assert index.fold_case and index.info()["format_version"] == (4 if kind == "fm" else 2)
        for i, t in enumerate(texts):
            assert index.get_doc_by_ix(i, 10_000)["text"] == t
        indexes.append(index)
    queries = {t[i : i + n] for t in texts for i in range(len(t)) for n in (1, 2, 4)}
    queries |= {t.upper() for t in texts if t} | {t.swapcase()[:5] for t in texts if t}
    for q in sorted(queries)[:40]:
        want = _brute(texts, q)
        for index in indexes:
            assert index.count(q)["count"] == want, q
        if q.strip():
            shown = []
            for ix in indexes:
                page = ix.search_docs(q, maxnum=1000, max_disp_len=1000)["documents"]
                shown.append(sorted((d["doc_ix"], d["needle_offset"], d["text"]) for d in page))
                n = len(q.encode())
                for d in page:  # the window is the original text, the match in place
                    at = d["needle_offset"]
                    original = bytes(d["token_ids"][at : at + n]).decode()
                    assert _core.fold_case(original) == _core.fold_case(q)
            assert shown[0] == shown[1]


def test_what_cannot_be_folded_is_refused(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "Abc"}])
    with pytest.raises(InvalidArgumentError, match="byte-level"):
        anygram.build([src], tmp_path / "x", tokenizer=CharTokenizer(300), fold_case=True)
    anygram.build([src], tmp_path / "folded", quiet=True, fold_case=True)
    anygram.build([src], tmp_path / "plain", quiet=True)
    with pytest.raises(IndexMismatchError, match="case folding"):
        anygram.Index([tmp_path / "folded", tmp_path / "plain"])
    folded = anygram.Index(tmp_path / "folded")
    assert folded.count("ABC")["count"] == folded.count("abc")["count"] == 1
    assert anygram.Index(tmp_path / "plain").count("ABC")["count"] == 0


@pytest.mark.parametrize("kind", ["sa", "fm"])
def test_a_takedown_keeps_the_other_documents_as_written(tmp_path: Path, kind: str) -> None:
    """Shards rewritten without a document are folded again from the original text."""
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in ["The Cat", "DOG", "ÄÖÜ x"]])
    anygram.build([src], tmp_path / "idx", quiet=True, kind=kind, fold_case=True)
    anygram.takedown(tmp_path / "idx", [1])
    index = anygram.Index(tmp_path / "idx", verify=True)
    assert [index.get_doc_by_ix(i)["text"] for i in (0, 2)] == ["The Cat", "ÄÖÜ x"]
    assert index.count("DOG")["count"] == 0 and index.count("äöü")["count"] == 1
