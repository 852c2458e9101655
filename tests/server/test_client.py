"""anygram.Client: the Index methods over a live server, answering as the Index itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anygram
import pytest
from anygram.errors import InvalidArgumentError, InvalidQueryError, TokenOutOfRangeError

from .conftest import LiveServer

CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("count", ("the cat",), {}),
    ("count", ([116, 104, 101],), {}),
    ("count", ("cat AND dog",), {}),  # text is read as the exact tokens, as Index does
    ("find", ("sat on",), {}),
    ("prob", ("the c", "a"), {}),
    ("prob", ([116, 104], 101), {}),
    ("ntd", ("natural ",), {}),
    ("ntd", ("a",), {"max_support": 5}),
    ("infgram_prob", ("zzz the ", 99), {}),
    ("infgram_ntd", ("qqq natural",), {}),
    ("search_docs", ("sat",), {"maxnum": 2}),
    ("get_doc_by_rank", (0, 3), {}),
    ("get_doc_by_ptr", (0, 40), {"max_disp_len": 10}),
    ("get_doc_by_ix", (2,), {}),
    ("count_cnf", ("cat AND sat",), {}),
    ("count_cnf", ([[[99, 97, 116]], [[100, 111, 103], [109, 97, 116]]],), {}),
    ("find_cnf", ("the AND sat",), {}),
    ("search_docs_cnf", ("the AND sat",), {"maxnum": 2, "seed": 1}),
    ("creativity", ("the cat sat on a log",), {}),
    ("score", ("the cat sat",), {}),
    ("attribute", ("the cat sat on the mat",), {"min_len": 3}),
    ("generate", ("the ", 12), {"seed": 4}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
def test_client_answers_as_the_index(
    server: LiveServer, index_dir: Path, method: str, args: Any, kwargs: Any
) -> None:
    client = anygram.Client(server.url, "demo")
    want = getattr(anygram.Index(index_dir), method)(*args, **kwargs)
    got = getattr(client, method)(*args, **kwargs)
    if method == "generate":
        want = {k: want[k] for k in got}
    if method == "search_docs_cnf":  # the server sends spans as highlighted text pieces
        for docs in (want["documents"], got["documents"]):
            for d in docs:
                assert d.pop("spans")
    assert got == want


def test_client_errors_are_typed(server: LiveServer) -> None:
    client = anygram.Client(server.url, "demo")
    with pytest.raises(InvalidQueryError):
        client.count([100000])
    with pytest.raises(InvalidArgumentError, match="unknown index"):
        anygram.Client(server.url, "missing").count("a")
    assert issubclass(TokenOutOfRangeError, InvalidQueryError)
