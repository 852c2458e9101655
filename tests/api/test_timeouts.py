"""A query's ``timeout`` stops the engine's own work and raises QueryTimeoutError."""

from __future__ import annotations

from pathlib import Path

import anygram
import pytest
from anygram.errors import InvalidArgumentError, QueryTimeoutError


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> anygram.Index:
    d: Path = tmp_path_factory.mktemp("timeouts")
    (d / "c.jsonl").write_text(
        "".join(f'{{"text": "to be or not to be {i}"}}\n' for i in range(50))
    )
    anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
    return anygram.Index(d / "idx")


@pytest.mark.parametrize(
    "call",
    [
        lambda ix, t: ix.score("to be or not", timeout=t),
        lambda ix, t: ix.count_cnf("to AND be", timeout=t),
        lambda ix, t: ix.find_cnf("to AND be", timeout=t),
        lambda ix, t: ix.search_docs_cnf("to AND be", timeout=t),
        lambda ix, t: ix.creativity("to be or not", timeout=t),
        lambda ix, t: ix.attribute("to be or not", timeout=t),
        lambda ix, t: ix.next_token_summary("to be", timeout=t),
    ],
)
def test_a_spent_budget_stops_the_engine(index: anygram.Index, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryTimeoutError):
        call(index, 0)
    assert call(index, 60) is not None
    with pytest.raises(InvalidArgumentError):
        call(index, "soon")


def test_generate_stops_at_its_deadline(index: anygram.Index) -> None:
    import time

    r = index.generate("to be", 50, seed=1, deadline=time.monotonic() - 1)
    assert r["stop"] == "deadline"
    assert r["token_ids"] == []
