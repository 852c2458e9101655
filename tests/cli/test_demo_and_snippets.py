"""The demo's sample queries occur in what it indexes; snippets read from a word start to a word
end, the match marked."""

from __future__ import annotations

from anygram.build import discover_inputs
from anygram.demo import QUERIES, SNIPPET_QUERY, STDLIB_SELECTION, stdlib_dir
from anygram.snippet import snippet


def test_demo_queries_occur_in_the_files_it_indexes() -> None:
    files = discover_inputs([stdlib_dir()], **STDLIB_SELECTION)
    texts = [f.path.read_bytes().decode("utf-8", "replace") for f in files]
    for q in [*QUERIES, SNIPPET_QUERY]:
        assert any(q in t for t in texts), q


def test_snippets_start_and_end_at_a_word(build_texts) -> None:
    index = build_texts(["alpha bravo charlie delta echo foxtrot golf hotel india"])
    q = "echo"
    doc = index.search_docs(q, maxnum=1, max_disp_len=20)["documents"][0]
    start = doc["needle_offset"]
    text = snippet(index, doc, [(start, start + len(q))])
    assert doc["disp_offset"] > 0 and doc["text"][0] not in " "  # the window cuts a word
    assert text == "delta [[echo]]"  # "lie " and " foxtr" were partial words
    assert snippet(index, doc, [(start, start + len(q))], color=True).count("\x1b[1;31m") == 1
    whole = index.search_docs(q, maxnum=1, max_disp_len=1000)["documents"][0]
    at = whole["needle_offset"]
    assert snippet(index, whole, [(at, at + 4)]) == (  # not cut: nothing dropped
        "alpha bravo charlie delta [[echo]] foxtrot golf hotel india"
    )
