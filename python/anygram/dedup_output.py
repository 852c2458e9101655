"""Writing what ``anygram dedup`` found: each input deduplicated in its own format, or the
ranges as JSONL (``report_only``).

Everything is written under ``OUT.partial-PID`` and renamed to ``OUT`` once complete (an
existing ``OUT`` is replaced only with ``overwrite``, after the new one is whole), so an
interrupted dedup never leaves an ``OUT`` that looks finished. Inputs are only read.

JSONL files are rewritten by the engine (other fields kept byte for byte, in their order);
Parquet files by pyarrow with their schema and every other column; text files whole. Each
document is matched to the index by its number in input order, and its text length is checked
against the index's, so an ``--index`` of other data is caught, not applied.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .build import InputFile, _readable_parquet
from .dedup import REPORT_NAME
from .errors import IndexExistsError, InvalidArgumentError, InvalidInputError

__all__ = ["check_output", "remove_ranges", "write_outputs"]


def check_output(
    out: Path,
    inputs: Sequence[str | os.PathLike[str]],
    files: Sequence[InputFile],
    overwrite: bool,
    report_only: bool,
) -> None:
    """Refuses an output that would replace an input, hold one, or sit inside an input
    directory (where the next run would read it as input), and one that exists (without
    ``overwrite``)."""
    target = out.resolve()
    for given in inputs:
        root = Path(given).resolve()
        if root.is_dir() and target.is_relative_to(root):
            raise InvalidArgumentError(
                f"the output {out} is inside the input directory {given}: choose another output"
            )
    for f in files:
        src = f.path.resolve()
        if target == src or src.is_relative_to(target):
            raise InvalidArgumentError(
                f"the output {out} would replace or hold the input {f.path}: dedup never writes "
                "over its inputs; choose another output"
            )
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise IndexExistsError(f"{out} already exists (pass --overwrite to replace it)")
        if (
            not report_only
            and out.is_dir()
            and any(out.iterdir())
            and not (out / REPORT_NAME).is_file()
        ):
            raise InvalidArgumentError(
                f"{out} is not empty and holds no dedup output: refusing to replace it"
            )


def remove_ranges(text: str, ranges: Sequence[Sequence[int]]) -> str:
    """``text`` without the byte ``ranges`` of its UTF-8 (sorted, on character boundaries).

    >>> remove_ranges("héllo world", [[1, 3], [6, 12]])
    'hllo'
    """
    data = text.encode("utf-8")
    kept, at = [], 0
    for a, b in ranges:
        kept.append(data[at:a])
        at = b
    kept.append(data[at:])
    return b"".join(kept).decode("utf-8")


def _replace(out: Path, partial: Path) -> None:
    """Puts the finished ``partial`` at ``out``; an old ``out`` goes only once the new one is
    whole."""
    if out.exists() or out.is_symlink():
        old = out.with_name(f"{out.name}.old-{os.getpid()}")
        out.rename(old)
        partial.rename(out)
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    else:
        partial.rename(out)


def _by_doc(result: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {d["doc"]: d for d in result["documents"]}


def write_outputs(
    run: Any,
    result: dict[str, Any],
    files: Sequence[InputFile],
    out: Path,
    corpus: Path,
    *,
    text_field: str,
    drop_empty: bool,
    on_error: str,
    max_line_bytes: int,
    report_only: bool,
    overwrite: bool,
) -> None:
    """Writes the deduplicated inputs (or the ranges) at ``out``; adds each file's counts to
    ``result["files"]``."""
    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
    try:
        if report_only:
            with open(partial, "w", encoding="utf-8") as f:
                for d in result["documents"]:
                    f.write(json.dumps(d, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
        else:
            _write_files(
                run, result, files, partial, text_field, drop_empty, on_error, max_line_bytes
            )
            manifest = json.loads((corpus / "manifest.json").read_text("utf-8"))
            seen = sum(f.get("docs", 0) for f in result["files"].values())
            if seen != manifest["num_docs"]:
                raise InvalidInputError(
                    f"the inputs hold {seen} documents, the index {manifest['num_docs']}: the "
                    "index was not built from these inputs"
                )
            (partial / REPORT_NAME).write_text(
                json.dumps(result, ensure_ascii=False, indent=1), "utf-8"
            )
        _replace(out, partial)
    finally:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        elif partial.exists():
            partial.unlink()


def _write_files(
    run: Any,
    result: dict[str, Any],
    files: Sequence[InputFile],
    partial: Path,
    text_field: str,
    drop_empty: bool,
    on_error: str,
    max_line_bytes: int,
) -> None:
    displays = [f.display for f in files]
    if len(set(displays)) != len(displays):
        dup = next(d for d in displays if displays.count(d) > 1)
        raise InvalidArgumentError(
            f"two inputs would be written as {dup}: give their common parent directory instead"
        )
    by_doc = _by_doc(result)
    first_doc = 0
    for f in files:
        dest = partial / f.display
        dest.parent.mkdir(parents=True, exist_ok=True)
        if f.kind == "jsonl":
            stats = dict(
                run.rewrite_jsonl(
                    str(f.path),
                    str(dest),
                    first_doc,
                    text_field,
                    drop_empty,
                    on_error,
                    max_line_bytes,
                )
            )
        elif f.kind == "parquet":
            stats = _rewrite_parquet(f, dest, first_doc, by_doc, text_field, drop_empty, on_error)
        else:
            stats = _rewrite_text(f, dest, first_doc, by_doc, drop_empty, on_error)
        first_doc += stats["docs"]
        entry = result["files"].setdefault(
            f.display, {"docs_changed": 0, "docs_emptied": 0, "bytes_removed": 0}
        )
        entry.update(
            {
                "docs": stats["docs"],
                "text_bytes": stats["text_bytes"],
                "docs_dropped": stats["docs_dropped"],
                "skipped": stats["skipped"],
                "removed_share": stats["bytes_removed"] / max(stats["text_bytes"], 1),
            }
        )


def _checked(d: dict[str, Any], text: str, where: str) -> str:
    """``text`` without its ranges, after checking it is the text the index holds."""
    n = len(text.encode("utf-8"))
    if n != d["len"]:
        raise InvalidInputError(
            f"{where}: the text has {n} bytes where the index's document {d['doc']} has "
            f"{d['len']}: the index was not built from these inputs with this tokenizer"
        )
    return remove_ranges(text, d["ranges"])


def _rewrite_text(
    f: InputFile,
    dest: Path,
    first_doc: int,
    by_doc: dict[int, dict[str, Any]],
    drop_empty: bool,
    on_error: str,
) -> dict[str, Any]:
    stats = {"docs": 0, "text_bytes": 0, "bytes_removed": 0, "docs_dropped": 0, "skipped": 0}
    raw = f.path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if on_error == "fail":
            raise InvalidInputError(f"{f.path}:1: not valid UTF-8 ({e})") from None
        stats["skipped"] = 1
        return stats
    stats.update(docs=1, text_bytes=len(raw))
    d = by_doc.get(first_doc)
    kept = _checked(d, text, str(f.path)) if d else text
    stats["bytes_removed"] = len(raw) - len(kept.encode("utf-8"))
    if not kept and d and drop_empty:
        stats["docs_dropped"] = 1
        return stats
    dest.write_text(kept, "utf-8")
    return stats


def _rewrite_parquet(
    f: InputFile,
    dest: Path,
    first_doc: int,
    by_doc: dict[int, dict[str, Any]],
    text_field: str,
    drop_empty: bool,
    on_error: str,
) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    stats = {"docs": 0, "text_bytes": 0, "bytes_removed": 0, "docs_dropped": 0, "skipped": 0}
    pf = pq.ParquetFile(f.path)
    schema = pf.schema_arrow
    if text_field not in schema.names:
        raise InvalidInputError(f"{f.path}: no column {text_field!r} (columns: {schema.names})")
    col = schema.names.index(text_field)
    row = 0
    with pq.ParquetWriter(dest, schema) as writer:
        for batch in _readable_parquet(f, pf.iter_batches(batch_size=8192)):
            texts = batch.column(col).to_pylist()
            keep_rows, new = [], []
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    if on_error == "fail":
                        what = "null" if text is None else type(text).__name__
                        raise InvalidInputError(
                            f"{f.path}: row {row + i}: {text_field!r} is {what}, not a string"
                        )
                    stats["skipped"] += 1
                    keep_rows.append(False)
                    new.append(text)
                    continue
                doc = first_doc + stats["docs"]
                stats["docs"] += 1
                nbytes = len(text.encode("utf-8"))
                stats["text_bytes"] += nbytes
                d = by_doc.get(doc)
                kept = _checked(d, text, f"{f.path}: row {row + i}") if d else text
                stats["bytes_removed"] += nbytes - len(kept.encode("utf-8"))
                empty = d is not None and not kept and drop_empty
                stats["docs_dropped"] += empty
                keep_rows.append(not empty)
                new.append(kept)
            row += batch.num_rows
            table = pa.Table.from_batches([batch]).set_column(
                col, schema.field(col), pa.array(new, type=schema.field(col).type)
            )
            writer.write_table(table.filter(pa.array(keep_rows, type=pa.bool_())))
    return stats
