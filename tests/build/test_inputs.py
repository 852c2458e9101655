"""Input formats, metadata, malformed documents and build options."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import anygram
import pytest
from anygram.errors import (
    IndexExistsError,
    InvalidArgumentError,
    InvalidInputError,
    UnknownTokenizerError,
)

from tests.conftest import write_jsonl


def _texts(index: anygram.Index) -> list[str]:
    return [d["text"] for d in index.get_docs_by_ixs(range(index.num_docs), max_disp_len=10**6)]


def test_every_input_format_in_a_directory_tree(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    root = tmp_path / "data"
    (root / "sub" / "deeper").mkdir(parents=True)
    write_jsonl(root / "a.jsonl", [{"text": "plain jsonl", "src": "a"}])
    with gzip.open(root / "sub" / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": "gzipped", "src": "b"}) + "\n")
    (root / "sub" / "deeper" / "c.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor().compress(
            (json.dumps({"text": "zstd ünïcode", "src": "c"}) + "\n").encode()
        )
    )
    pq.write_table(
        pa.table({"text": ["parquet one", "parquet two"], "src": ["d", "e"], "n": [1, 2]}),
        root / "sub" / "d.parquet",
    )
    (root / "e.txt").write_text("a whole text file\nwith two lines\n")
    (root / "ignored.bin").write_bytes(b"\x00\x01")

    out = tmp_path / "idx"
    manifest = anygram.build([root], out, quiet=True)
    assert manifest["num_docs"] == 6
    index = anygram.Index(out)
    assert _texts(index) == [
        "plain jsonl",
        "a whole text file\nwith two lines\n",
        "gzipped",
        "parquet one",
        "parquet two",
        "zstd ünïcode",
    ]  # sorted walk: a directory's files before its subdirectories
    metas = [json.loads(d["metadata"]) for d in index.get_docs_by_ixs(range(6))]
    assert metas[0] == {"path": "a.jsonl", "linenum": 0, "metadata": {"src": "a"}}
    assert metas[2]["path"] == "sub/b.jsonl.gz"
    assert metas[5]["path"] == "sub/deeper/c.jsonl.zst"
    assert metas[4] == {"path": "sub/d.parquet", "linenum": 1, "metadata": {"src": "e", "n": 2}}
    assert index.count("parquet")["count"] == 2


def test_metadata_fields_and_text_field(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"body": "hello", "url": "u", "lang": "en", "x": 1}])
    anygram.build(
        [src], tmp_path / "idx", text_field="body", metadata_fields=["url", "lang"], quiet=True
    )
    doc = anygram.Index(tmp_path / "idx").get_doc_by_ix(0)
    assert doc["text"] == "hello"
    assert json.loads(doc["metadata"])["metadata"] == {"url": "u", "lang": "en"}


def test_malformed_line_fails_with_file_and_line(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "ok"}, "{broken", {"text": "fine"}])
    with pytest.raises(InvalidInputError, match=r"c\.jsonl:2: not valid JSON"):
        anygram.build([src], tmp_path / "idx", quiet=True)
    # The failed build left nothing that opens.
    with pytest.raises(anygram.errors.IndexNotFoundError, match="did not finish"):
        anygram.Index(tmp_path / "idx")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"text": 5}', "is not a string"),
        ('{"other": "x"}', 'no field "text"'),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_malformed_documents_are_skipped_on_request(tmp_path: Path, line: str, reason: str) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "ok"}, line, {"text": "fine"}])
    with pytest.raises(InvalidInputError, match=reason):
        anygram.build([src], tmp_path / "a", quiet=True)
    m = anygram.build([src], tmp_path / "b", quiet=True, on_error="skip")
    assert m["num_docs"] == 2
    assert m["build"]["skipped_documents"] == 1
    assert "c.jsonl:2" in m["build"]["skipped_examples"][0]


def test_invalid_utf8_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9")
    with pytest.raises(InvalidInputError, match="not valid UTF-8"):
        anygram.build([tmp_path / "bad.txt"], tmp_path / "idx", quiet=True)


def test_empty_corpus(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("\n\n")
    with pytest.raises(InvalidInputError, match="no documents"):
        anygram.build([src], tmp_path / "idx", quiet=True)
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(InvalidInputError, match="no input files"):
        anygram.build([tmp_path / "emptydir"], tmp_path / "idx2", quiet=True)


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        anygram.build([tmp_path / "nope.jsonl"], tmp_path / "idx", quiet=True)


def test_unknown_tokenizer(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "x"}])
    with pytest.raises(UnknownTokenizerError, match="unknown tokenizer 'gpt17'"):
        anygram.build([src], tmp_path / "idx", tokenizer="gpt17", quiet=True)


def test_document_too_large_for_a_shard(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "small"}, {"text": "x" * 500}])
    with pytest.raises(InvalidInputError, match=r"c\.jsonl:2: document of 500 tokens is larger"):
        anygram.build([src], tmp_path / "idx", quiet=True, max_shard_tokens=100)


def test_existing_index_is_kept_unless_overwrite(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "first"}])
    anygram.build([src], tmp_path / "idx", quiet=True)
    write_jsonl(src, [{"text": "second"}])
    with pytest.raises(IndexExistsError):
        anygram.build([src], tmp_path / "idx", quiet=True)
    assert anygram.Index(tmp_path / "idx").count("first")["count"] == 1
    anygram.build([src], tmp_path / "idx", quiet=True, overwrite=True)
    assert anygram.Index(tmp_path / "idx").count("second")["count"] == 1


def test_refuses_to_write_into_a_foreign_directory(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "x"}])
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    with pytest.raises(InvalidArgumentError, match="not empty"):
        anygram.build([src], tmp_path / "mine", quiet=True, overwrite=True)
    assert (tmp_path / "mine" / "precious.txt").read_text() == "keep me"


def test_several_shards_from_the_memory_budget(tmp_path: Path) -> None:
    docs = [{"text": f"doc {i} " + "abc" * 40} for i in range(200)]
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    m = anygram.build([src], tmp_path / "idx", quiet=True, mem_budget="40KiB", workers=2)
    assert len(m["shards"]) > 2
    index = anygram.Index(tmp_path / "idx")
    assert index.count("abc")["count"] == 200 * 40
    assert index.count("doc 1")["count"] == 111  # doc 1, 10-19, 100-199
    assert _texts(index) == [d["text"] for d in docs]


def test_sizes_parse() -> None:
    from anygram.build import parse_size

    assert parse_size("1KiB") == 1024
    assert parse_size("2 GB") == 2 * 10**9
    with pytest.raises(InvalidArgumentError):
        parse_size("lots")


def test_an_index_inside_its_input_directory_is_not_read_back(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "c.jsonl", [{"text": "only this"}])
    anygram.build([tmp_path], tmp_path / "idx", quiet=True)
    m = anygram.build([tmp_path], tmp_path / "idx", quiet=True, overwrite=True)
    assert m["num_docs"] == 1
