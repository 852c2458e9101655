"""Attribution from Python: infini-gram's semantics checked by a brute force on byte-level text
(one token per character), delimiters, whole words (bytes, explicit ``bow_ids``, BPE-style
vocabularies), ranking and density caps, document windows, typed errors. The engine's
exactness over widths and shards is proven by the Rust oracle
(crates/anygram-core/tests/attribution_oracle.rs)."""

from __future__ import annotations

import math

import anygram
import pytest
from anygram.attribution import byte_word_starts, rank_spans, word_start_ids
from anygram.errors import InvalidQueryError, TokenOutOfRangeError

from tests.conftest import CharTokenizer, scratch_dir, write_jsonl

TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "a quick brown cat sleeps. the lazy dog barks",
    "foxes jump over fences, dogs do not",
]


@pytest.fixture(scope="module")
def index() -> anygram.Index:
    tmp = scratch_dir()
    src = write_jsonl(tmp / "c.jsonl", [{"text": t} for t in TEXTS])
    anygram.build([src], tmp / "idx", quiet=True, max_shard_tokens=60)
    return anygram.Index(tmp / "idx")


def _count(s: str) -> int:
    return sum(1 for t in TEXTS for i in range(len(t)) if t.startswith(s, i))


def brute(
    text: str,
    min_len: int,
    max_cnt: int,
    delims: str = "",
    bow: list[bool] | None = None,
) -> list[tuple[int, int, int]]:
    """infini-gram 2.6's compute_interesting_spans, written on strings."""
    n, out, last_r = len(text), [], 0
    for l in range(n):  # noqa: E741 (infini-gram's name)
        if bow is not None and not bow[l]:
            continue
        k = max(k for k in range(n - l + 1) if k == 0 or _count(text[l : l + k]) > 0)
        for pos in range(k - 1):
            if text[l + pos] in delims:
                k = pos + 1
                break
        if bow is not None:
            while k > 0 and not (l + k == n or bow[l + k]):
                k -= 1
        if k < min_len:
            continue
        c = _count(text[l : l + k])
        if c > max_cnt or l + k <= last_r:
            continue
        last_r = l + k
        out.append((l, l + k, c))
    return out


INPUTS = [
    "my quick brown fox jumps over a lazy dog. the lazy dog barks",
    "foxes jump over the quick brown cat",
    "zzz",
    "",
]


@pytest.mark.parametrize("text", INPUTS)
@pytest.mark.parametrize(("min_len", "max_cnt"), [(1, 10**9), (4, 10**9), (3, 1)])
def test_matches_brute_force(index, text, min_len, max_cnt) -> None:
    got = index.attribute(text, min_len=min_len, max_cnt=max_cnt)["spans"]
    assert [(s["l"], s["r"], s["count"]) for s in got] == brute(text, min_len, max_cnt)
    for s in got:
        assert s["length"] == s["r"] - s["l"]
        assert len(s["docs"]) == min(10, s["count"])


@pytest.mark.parametrize("text", INPUTS)
def test_delimiters_and_whole_words(index, text) -> None:
    got = index.attribute(text, min_len=2, delim_ids=[ord(" "), ord(".")])["spans"]
    assert [(s["l"], s["r"], s["count"]) for s in got] == brute(text, 2, 10**9, " .")
    mask = [bool(b) for b in byte_word_starts(list(text.encode()))]
    got = index.attribute(text, min_len=2, enforce_bow=True)["spans"]
    assert [(s["l"], s["r"], s["count"]) for s in got] == brute(text, 2, 10**9, "", mask)
    for s in got:  # no word is cut in two
        assert s["l"] == 0 or not (text[s["l"] - 1].isalnum() and text[s["l"]].isalnum())
        assert s["r"] == len(text) or not (text[s["r"] - 1].isalnum() and text[s["r"]].isalnum())


def test_byte_word_starts() -> None:
    assert list(byte_word_starts(list(b"ab cd,e"))) == [1, 0, 1, 1, 0, 1, 1]
    assert byte_word_starts([]) == b""
    # UTF-8 letters are never split
    assert list(byte_word_starts(list("é".encode()))) == [1, 0]


def test_explicit_bow_ids_and_custom_tokenizer(tmp_path) -> None:
    tok = CharTokenizer(1000)
    texts = ["abc abd", "ab cab"]
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in texts])
    anygram.build([src], tmp_path / "idx", tokenizer=tok, quiet=True)
    ix = anygram.Index(tmp_path / "idx", tokenizer=tok)
    ids = tok.encode("cab abd")
    bow = [tok.ids["a"]]  # words start at "a" only
    got = ix.attribute(ids, min_len=1, enforce_bow=True, bow_ids=bow)["spans"]
    for s in got:
        assert ids[s["l"]] in bow
        assert s["r"] == len(ids) or ids[s["r"]] in bow
    assert [(s["l"], s["r"]) for s in got] == [(1, 4), (4, 7)]


def test_word_start_ids_from_vocabulary() -> None:
    vocab = ["the", " cat", "Ġx", ".", "s", "\n"]

    def decode(ids: list[int]) -> str:
        return "".join(vocab[i].replace("Ġ", " ") for i in ids)

    assert word_start_ids(decode, len(vocab)) == [1, 2, 3, 5]


def test_ranking_and_caps(index) -> None:
    text = INPUTS[0]
    base = index.attribute(text, min_len=2)["spans"]
    by_len = index.attribute(text, min_len=2, rank_by="length")["spans"]
    assert [s["length"] for s in by_len] == sorted((s["length"] for s in base), reverse=True)
    rare = index.attribute(text, min_len=2, rank_by="unigram_logprob")["spans"]
    sums = [s["unigram_logprob_sum"] for s in rare]
    assert sums == sorted(sums)
    capped = index.attribute(text, min_len=2, rank_by="length", span_density=0.05)["spans"]
    assert capped == by_len[: math.ceil(0.05 * len(text))]
    assert index.attribute(text, min_len=2, max_spans=1)["spans"] == base[:1]
    for s in base:
        total = index.num_tokens
        want = sum(math.log(_count(ch) / total) for ch in text[s["l"] : s["r"]])
        assert s["unigram_logprob_sum"] == pytest.approx(want)
    assert rank_spans([], 10, "length", 0.5) == []


def test_documents(index) -> None:
    spans = index.attribute("the lazy dog", min_len=5, max_docs=1, return_docs=True)["spans"]
    assert [(s["l"], s["r"], s["count"]) for s in spans] == [(0, 12, 2)]
    (d,) = spans[0]["docs"]
    doc = d["document"]
    off = doc["needle_offset"]
    assert doc["text"][off : off + 12] == "the lazy dog"
    assert index.attribute("the lazy dog", max_docs=0)["spans"][0]["docs"] == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_len": 0},
        {"min_len": True},
        {"max_cnt": -1},
        {"max_docs": -1},
        {"rank_by": "magic"},
        {"span_density": -0.5},
        {"max_spans": -1},
    ],
)
def test_bad_arguments(index, kwargs) -> None:
    with pytest.raises(InvalidQueryError):
        index.attribute("the lazy dog", **kwargs)


def test_bad_ids(index) -> None:
    with pytest.raises(TokenOutOfRangeError):
        index.attribute([10**6])
    with pytest.raises(InvalidQueryError):
        index.attribute(b"abc")  # type: ignore[arg-type]
