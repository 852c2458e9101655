"""The public Index API: fields, text and id queries, documents, threads, infini-gram names."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import anygram
import pytest
from anygram.errors import InvalidQueryError, TokenOutOfRangeError

TEXTS = ["to be or not to be", "be quick", "", "b", "the end"]


def test_count_and_find_fields(build_texts) -> None:
    index = build_texts(TEXTS)
    assert index.count("to be") == {"count": 2, "approx": False}
    assert index.count([98, 101]) == {"count": 3, "approx": False}
    found = index.find("be")
    assert found["cnt"] == 3
    assert len(found["segment_by_shard"]) == 1
    lo, hi = found["segment_by_shard"][0]
    assert hi - lo == 3
    assert index.count("") == {"count": sum(len(t) for t in TEXTS), "approx": False}
    assert index.count("absent")["count"] == 0
    # A match never crosses documents: "be" + "be quick" would be "bebe".
    assert index.count("ebe")["count"] == 0


def test_documents(build_texts) -> None:
    index = build_texts(TEXTS)
    doc = index.get_doc_by_ix(1)
    assert doc["text"] == "be quick"
    assert doc["doc_len"] == 8 and doc["disp_len"] == 8 and doc["needle_offset"] == 0
    assert json.loads(doc["metadata"]) == {"path": "c1.jsonl", "linenum": 1, "metadata": {"i": 1}}
    assert index.get_doc_by_ix(2)["token_ids"] == []
    lo, hi = index.find("quick")["segment_by_shard"][0]
    d = index.get_doc_by_rank(0, lo, max_disp_len=4)
    assert d["doc_ix"] == 1 and d["disp_len"] == 4
    assert d["text"][d["needle_offset"] :].startswith("qu")
    same = index.get_doc_by_ptr(0, d["doc_start_ptr"] + 3, max_disp_len=4)
    assert same["token_ids"] == d["token_ids"]
    many = index.get_docs_by_ranks([(0, r) for r in range(lo, hi)], max_disp_len=100)
    assert [m["doc_ix"] for m in many] == [1]
    assert [x["text"] for x in index.get_docs_by_ixs([0, 4])] == [TEXTS[0], TEXTS[4]]
    assert index.get_total_doc_cnt() == len(TEXTS)
    res = index.search_docs("be", maxnum=2)
    assert res["cnt"] == 3 and len(res["documents"]) == 2


def test_bad_queries_raise_typed_errors(build_texts) -> None:
    index = build_texts(TEXTS)
    with pytest.raises(TokenOutOfRangeError):
        index.count([255])
    with pytest.raises(ValueError):  # TokenOutOfRangeError is a ValueError too
        index.count([-1])
    with pytest.raises(InvalidQueryError):
        index.count([True])
    with pytest.raises(InvalidQueryError):
        index.count(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError):
        index.count(3.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError):
        index.get_doc_by_rank(0, 10**9)
    with pytest.raises(InvalidQueryError):
        index.get_doc_by_rank(5, 0)
    with pytest.raises(InvalidQueryError):
        index.get_doc_by_ix(len(TEXTS))
    with pytest.raises(InvalidQueryError):
        index.get_doc_by_ptr(0, 10**9)
    with pytest.raises(InvalidQueryError):
        index.get_doc_by_rank(0, -1)


def test_huge_query_is_answered(build_texts) -> None:
    index = build_texts(TEXTS)
    assert index.count([97] * 100_000)["count"] == 0


def test_threads_share_one_index(build_texts) -> None:
    index = build_texts(["abcabcabd " * 50, "bca" * 30])
    queries = ["abc", "bca", "ab", "d ", "x", "abcabcabd abc"]
    want = {q: index.count(q)["count"] for q in queries}
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(200):
                for q in queries:
                    assert index.count(q)["count"] == want[q]
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(worker) for _ in range(8)]:
            f.result()
    assert not errors


def test_gil_is_released_during_queries(build_texts) -> None:
    """Another Python thread makes progress *inside* one long engine call: it records when it
    runs, and some of those moments fall in the middle of the call. With the GIL held through
    the call, the other thread could not run there at all."""
    import random
    import time

    rng = random.Random(0)
    text = "".join(rng.choice("ab ") for _ in range(20000))
    index = build_texts([text])
    seen: list[float] = []
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            seen.append(time.perf_counter())
            if len(seen) > 2_000_000:
                del seen[: len(seen) // 2]

    n = 50_000
    ids = [rng.choice(b"ab ") for _ in range(n)]
    t = threading.Thread(target=spin)
    t.start()
    try:
        while True:  # one engine call long enough to be measured (at least 0.2 s)
            start = time.perf_counter()
            index._core.score(ids, eos_token_id=255)
            end = time.perf_counter()
            if end - start >= 0.2 or n > 20_000_000:
                break
            ids = ids * 4
            n *= 4
    finally:
        stop.set()
        t.join()
    margin = (end - start) / 4
    inside = [x for x in seen if start + margin < x < end - margin]
    assert inside, f"no progress during a {end - start:.2f} s engine call"


def test_load_to_ram_and_several_indexes(tmp_path) -> None:
    from tests.conftest import write_jsonl

    a = write_jsonl(tmp_path / "a.jsonl", [{"text": "hello world"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"text": "hello there"}, {"text": "world"}])
    anygram.build([a], tmp_path / "ia", quiet=True)
    anygram.build([b], tmp_path / "ib", quiet=True)
    union = anygram.Index([tmp_path / "ia", tmp_path / "ib"], load_to_ram=True)
    assert union.num_shards == 2 and union.num_docs == 3
    assert union.count("hello")["count"] == 2
    assert union.count("world")["count"] == 2
    assert [d["text"] for d in union.get_docs_by_ixs([0, 1, 2])] == [
        "hello world",
        "hello there",
        "world",
    ]
    assert len(union.find("world")["segment_by_shard"]) == 2


def test_infini_gram_constructor_arguments_are_accepted(build_texts, tmp_path) -> None:
    index = build_texts(["abc"])
    path = index._paths[0]
    same = anygram.Index(
        path,
        eos_token_id=254,
        vocab_size=255,
        version=4,
        token_dtype="u8",
        ds_prefetch_depth=0,
        sa_prefetch_depth=0,
        od_prefetch_depth=0,
    )
    assert same.count("abc")["count"] == 1
    with pytest.raises(anygram.errors.InvalidArgumentError):
        anygram.Index(path, token_dtype="u16")
    with pytest.raises(TypeError):
        anygram.Index(path, no_such_option=1)


def test_info(build_texts) -> None:
    index = build_texts(TEXTS)
    info = index.info()
    assert info["num_docs"] == len(TEXTS)
    assert info["format_version"] == 1
    assert info["tokenizer"]["kind"] == "bytes"
    assert info["token_dtype"] == "u8"
    assert info["size_bytes"] > 0


def test_id_sequences_of_every_kind(build_texts) -> None:
    import numpy as np

    index = build_texts(TEXTS)
    want = index.count("be")["count"]
    assert index.count((98, 101))["count"] == want
    assert index.count(np.array([98, 101], dtype=np.uint16))["count"] == want
    assert index.count(np.array([98, 101], dtype=np.int64))["count"] == want
    assert index.count(range(98, 100))["count"] == index.count("bc")["count"]
    with pytest.raises(TokenOutOfRangeError, match="-5"):
        index.count(np.array([-5]))
    with pytest.raises(TokenOutOfRangeError, match="99999999999"):
        index.count([99999999999])
    with pytest.raises(InvalidQueryError, match="not float"):
        index.count([1.0])
    with pytest.raises(InvalidQueryError, match="longer than the limit"):
        index.count([1] * (anygram._core.MAX_QUERY_TOKENS + 1))


def test_absurd_numbers_are_query_errors(build_texts) -> None:
    index = build_texts(TEXTS)
    assert index.get_doc_by_ix(0, max_disp_len=10**30)["text"] == TEXTS[0]
    for call in (
        lambda: index.get_doc_by_rank(0, 10**30),
        lambda: index.get_doc_by_ptr(10**30, 0),
        lambda: index.get_doc_by_ix(2**64),
        lambda: index.get_docs_by_ranks([(0, 2**70)]),
    ):
        with pytest.raises(InvalidQueryError):
            call()


def test_populate_opens_the_same_index(build_texts) -> None:
    index = build_texts(TEXTS)
    populated = anygram.Index(index._paths[0], populate=True)
    assert populated.count("be") == index.count("be")
