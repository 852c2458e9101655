"""Exact-substring deduplication and decontamination of training data (``anygram dedup``).

Every substring of at least ``min_len`` tokens (bytes for the default tokenizer) that occurs
more than once in the corpus, within or across documents but never across a document end, is
removed from every occurrence but the first (``keep="first"``) or from all of them
(``keep="none"``, the behaviour of Lee et al.'s ``deduplicate-text-datasets``). With
``against``, what is removed instead is every such substring that also occurs in the given
evaluation sets (decontamination).

The engine does the work (``crates/anygram-core/src/dedup/``): the corpus is indexed shard by
shard under the memory budget (or an existing index of it is reused), duplicates inside a shard
come from its suffix and LCP arrays, and across shards from matching statistics against the
other shards' indexes, so the answer is exact whatever the budget. Ranges come back as byte
offsets of each document's UTF-8 text (widened to whole characters). Python only walks files and
writes Parquet and text outputs, once per document at most, never per token.

>>> import json, pathlib, tempfile
>>> work = pathlib.Path(tempfile.mkdtemp())
>>> line = "the same sentence, long enough to count as a duplicate"
>>> _ = (work / "c.jsonl").write_text(
...     json.dumps({"text": f"{line}. one", "id": 1}) + "\\n"
...     + json.dumps({"text": f"two: {line}", "id": 2}) + "\\n")
>>> found = dedup([work / "c.jsonl"], min_len=20, quiet=True)
>>> [(r["doc"], r["ranges"]) for r in found["documents"]]
[(1, [[5, 59]])]
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import _core
from .build import STDIN, InputFile, build, discover_inputs, parse_size
from .errors import InvalidArgumentError, InvalidInputError, TokenizerError
from .interrupt import run_interruptible
from .tokenizers import Tokenizer, from_manifest, load_tokenizer

__all__ = ["KEEP", "dedup"]

#: Which occurrences a duplicate is removed from.
KEEP = ("first", "none")

#: Name of the JSON report written next to deduplicated files.
REPORT_NAME = "dedup-report.json"


def _is_index(path: Path) -> bool:
    return (path / "manifest.json").is_file()


@contextlib.contextmanager
def _scratch(parent: Path | None) -> Iterator[Path]:
    """A temporary directory (for the indexes dedup builds), removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix=".anygram-dedup-", dir=parent))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _index_tokenizer(index_dir: Path) -> Tokenizer:
    manifest = json.loads((index_dir / "manifest.json").read_text("utf-8"))
    return from_manifest(index_dir, manifest["tokenizer"])


def dedup(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str] | None = None,
    *,
    min_len: int = 50,
    keep: str = "first",
    tokenizer: str | os.PathLike[str] | Tokenizer | None = None,
    against: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    index: str | os.PathLike[str] | None = None,
    drop_empty: bool = True,
    report_only: bool = False,
    text_field: str = "text",
    mem_budget: int | str = "8GiB",
    workers: int | None = None,
    on_error: str = "fail",
    file_glob: str | None = None,
    exclude: Sequence[str] = (),
    input_format: str | None = None,
    overwrite: bool = False,
    top_spans: int = 20,
    work_dir: str | os.PathLike[str] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Finds (and with ``output``, removes) the repeated substrings of ``inputs``.

    Parameters
    ----------
    inputs
        Files or directories, as for :func:`anygram.build` (JSONL plain/.gz/.zst, Parquet,
        text files).
    output
        ``None``: only return the ranges. Else a directory to create holding each input file
        deduplicated, in its own format and under its own relative name, with every other field
        kept, and ``dedup-report.json``; with ``report_only``, a JSONL file of the ranges
        instead. Written under a temporary name and renamed when complete, so an interrupted
        run leaves nothing that looks finished. Inputs are never modified.
    min_len
        Shortest repeated substring removed, in tokens (bytes for the byte-level tokenizer).
    keep
        ``"first"``: keep each duplicate's first occurrence (in input order); ``"none"``:
        remove every occurrence.
    tokenizer
        ``"bytes"`` (default), a ``tokenizer.json`` or tiktoken file (byte-level BPE, run by the
        engine). With ``index``, the index's own tokenizer is used.
    against
        Evaluation sets (an index directory, or files indexed with the same tokenizer):
        remove only the substrings of at least ``min_len`` that occur there.
    index
        An existing anygram index of exactly these inputs (same files, order, text field and
        tokenizer), used instead of building one.
    drop_empty
        Leave out documents with nothing left (else they are kept with empty text).
    mem_budget, workers, on_error, file_glob, exclude, input_format, text_field
        As for :func:`anygram.build`.

    Returns
    -------
    dict
        ``documents``: every document with something to remove, in order: ``doc`` (its number
        in input order), ``path``, ``linenum``, ``len`` (bytes of text) and ``ranges``
        (``[start, end)`` byte offsets of the UTF-8 text); ``files``: per input file, documents
        and bytes removed; ``histogram`` of removed range lengths; ``top_spans``, the most
        repeated spans; and the options.
    """
    if keep not in KEEP:
        raise InvalidArgumentError(f"keep must be 'first' or 'none', not {keep!r}")
    if isinstance(min_len, bool) or not isinstance(min_len, int) or min_len < 1:
        raise InvalidArgumentError(f"min_len must be a positive integer, not {min_len!r}")
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out = Path(output) if output is not None else None
    files = discover_inputs(inputs, file_glob, exclude, input_format)
    if not files:
        raise InvalidInputError(f"no input files found in {[os.fspath(i) for i in inputs]}")
    if any(os.fspath(f.path) == STDIN for f in files):
        raise InvalidArgumentError(
            "dedup reads its inputs twice (to index them, then to write them out): standard "
            "input cannot be one of them"
        )
    if out is not None:
        from .dedup_output import check_output

        check_output(out, inputs, files, overwrite, report_only)
    budget = parse_size(mem_budget)
    n_workers = workers or os.cpu_count() or 1
    parent = Path(work_dir) if work_dir is not None else None
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[phase] = round(now - clock, 3)
        clock = now

    with _scratch(parent) as scratch:
        if index is not None:
            corpus = Path(index)
            if not _is_index(corpus):
                raise InvalidArgumentError(f"--index {corpus}: not an anygram index")
            tok = _index_tokenizer(corpus)
            if tokenizer is not None and not _same(load_tokenizer(tokenizer), tok):
                raise TokenizerError(
                    f"the index at {corpus} was built with another tokenizer than {tokenizer}"
                )
        else:
            corpus = scratch / "corpus"
            tok = load_tokenizer(tokenizer if tokenizer is not None else "bytes")
            build(
                inputs,
                corpus,
                tokenizer=tok,
                text_field=text_field,
                metadata_fields=[],
                mem_budget=budget,
                workers=n_workers,
                on_error=on_error,
                file_glob=file_glob,
                exclude=exclude,
                input_format=input_format,
                quiet=quiet,
            )
        lap("index")
        against_dirs = _against_index(against, tok, scratch, budget, n_workers, quiet)
        lap("index_against")
        kind, path = tok.engine_encoder()
        run = _core.Dedup(
            [str(corpus)],
            min_len,
            keep,
            [str(d) for d in against_dirs] if against_dirs is not None else None,
            kind,
            path,
            n_workers,
            top_spans,
        )
        run_interruptible(run.run, cancel=run.cancel)
        lap("find")
        from .dedup_report import report

        result = report(run, corpus, tok, min_len=min_len, keep=keep, against=against)
        result["seconds"] = seconds
        result["engine_seconds"] = {p: round(t, 3) for p, t in run.seconds()}
        lap("report")
        if out is not None:
            from .dedup_output import write_outputs

            write_outputs(
                run,
                result,
                files,
                out,
                corpus,
                text_field=text_field,
                drop_empty=drop_empty,
                on_error=on_error,
                max_line_bytes=budget,
                report_only=report_only,
                overwrite=overwrite,
            )
            lap("write")
    return result


def _against_index(
    against: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    tok: Tokenizer,
    scratch: Path,
    budget: int,
    workers: int,
    quiet: bool,
) -> list[Path] | None:
    """The evaluation sets as index directories: given ones as they are, files indexed (into
    ``scratch``) with the corpus's tokenizer."""
    if against is None:
        return None
    given = [against] if isinstance(against, (str, os.PathLike)) else list(against)
    if not given:
        raise InvalidArgumentError("--against needs at least one index or file")
    indexes = [Path(g) for g in given if _is_index(Path(g))]
    files: list[InputFile] = discover_inputs(
        [g for g in given if not _is_index(Path(g))], None, (), None
    )
    if files:
        built = scratch / "against"
        build(
            [f.path for f in files],
            built,
            tokenizer=tok,
            metadata_fields=[],
            mem_budget=budget,
            workers=workers,
            quiet=quiet,
        )
        indexes.append(built)
    return indexes  # the engine refuses an index with another tokenizer than the corpus's


def _same(a: Tokenizer, b: Tokenizer) -> bool:
    """Do two tokenizers tokenize alike (whatever file each was loaded from)?"""
    where = ("file", "source", "path", "engine")
    strip = lambda t: {k: v for k, v in t.describe().items() if k not in where}  # noqa: E731
    return strip(a) == strip(b)
