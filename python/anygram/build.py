"""The build pipeline: input files in, a finished index directory out.

Python walks the inputs, shows progress and reads Parquet; the engine reads JSONL and text,
tokenizes (in parallel), builds suffix arrays and writes files. The loop here runs once per
batch of several megabytes, never per document or token (except Parquet metadata rows).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from . import _core
from .errors import (
    AnygramFileNotFoundError,
    AnygramIOError,
    InvalidArgumentError,
    InvalidInputError,
)
from .index_options import IndexOptions
from .interrupt import run_interruptible
from .progress import progress
from .tokenizers import Tokenizer, load_tokenizer

__all__ = ["IndexOptions", "InputFile", "build", "discover_inputs", "parse_size"]

T = TypeVar("T")

#: The input name that means standard input (the only input that need not be a regular file).
STDIN = "-"

#: Text read per engine call: large enough to amortize the call, small enough for smooth progress.
BATCH_BYTES = 16 << 20

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSED_SUFFIXES = ("", ".gz", ".zst", ".zstd")
TEXT_SUFFIXES = (".txt", ".text", ".md", ".rst")
PARQUET_SUFFIX = ".parquet"


@dataclass(frozen=True)
class InputFile:
    path: Path
    #: Name recorded in each document's metadata: relative to the input directory given.
    display: str
    kind: str  # "jsonl", "text" or "parquet"
    size: int
    #: Only bytes ``[start, end)`` of the file (a build plan's slice of an uncompressed JSONL
    #: file, cut at line starts), whose first line is line ``first_line`` (0-based) of the file;
    #: ``end`` None: the whole file. ``size`` is then the slice's.
    start: int = 0
    end: int | None = None
    first_line: int = 0

    def byte_range(self) -> tuple[int, int, int] | None:
        return None if self.end is None else (self.start, self.end, self.first_line)


def parse_size(value: int | str) -> int:
    """Bytes from ``8GiB``, ``500MB``, ``1.5G`` or a plain integer.

    >>> parse_size("8GiB"), parse_size("500MB"), parse_size(1024)
    (8589934592, 500000000, 1024)
    """
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)(i?)[bB]?\s*", value)
    if not m:
        raise InvalidArgumentError(f"cannot read {value!r} as a size (e.g. 8GiB, 500MB)")
    number, unit, binary = m.groups()
    base = 1024 if binary or not unit else 1000
    power = " KMGT".index(unit.upper()) if unit else 0
    return int(float(number) * base**power)


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    for c in COMPRESSED_SUFFIXES:
        for j in JSONL_SUFFIXES:
            if name.endswith(j + c):
                return "jsonl"
    if name.endswith(PARQUET_SUFFIX):
        return "parquet"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    return None


INPUT_FORMATS = ("text", "jsonl", "parquet")


def discover_inputs(
    inputs: Iterable[str | os.PathLike[str]],
    file_glob: str | None = None,
    exclude: Sequence[str] = (),
    input_format: str | None = None,
) -> list[InputFile]:
    """Every input file, directories walked recursively in sorted order.

    In directories, files are taken by suffix (JSONL, plain/.gz/.zst; Parquet; .txt/.md/.rst)
    or, with ``file_glob``, every file whose name matches it (read as text unless its suffix
    says otherwise). A file named explicitly is read as text when its suffix is unknown.
    ``input_format`` (``"text"``, ``"jsonl"`` or ``"parquet"``) reads every file taken in that
    format, whatever its suffix.
    """
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise InvalidArgumentError(
            f"input format must be one of {', '.join(INPUT_FORMATS)}, not {input_format!r}"
        )
    files = _discover(inputs, file_glob, exclude)
    if input_format is None:
        return files
    return [InputFile(f.path, f.display, input_format, f.size) for f in files]


def _discover(
    inputs: Iterable[str | os.PathLike[str]], file_glob: str | None, exclude: Sequence[str]
) -> list[InputFile]:
    files: list[InputFile] = []
    for given in inputs:
        if os.fspath(given) == STDIN:  # JSONL unless a format is given; never resumable
            files.append(InputFile(Path(STDIN), "<stdin>", "jsonl", 0))
            continue
        root = Path(given)
        if not root.is_dir():
            files.append(InputFile(root, root.name, _kind(root) or "text", _regular_size(root)))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = Path(dirpath).relative_to(root)
            dirnames[:] = sorted(
                d for d in dirnames if not _excluded((rel_dir / d).as_posix(), exclude)
            )
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if _excluded((rel_dir / name).as_posix(), exclude):
                    continue
                if file_glob is not None:
                    if not fnmatch.fnmatch(name, file_glob):
                        continue
                    kind = _kind(p) or "text"
                else:
                    found = _kind(p)
                    if found is None:
                        continue
                    kind = found
                display = p.relative_to(root).as_posix()
                files.append(InputFile(p, display, kind, _regular_size(p)))
    return files


def _regular_size(path: Path) -> int:
    """The size of an input, which must be a regular file: a FIFO would block the build, a
    device such as ``/dev/zero`` never ends, a dangling symlink has nothing to read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise AnygramFileNotFoundError(
                f"input {path} is a dangling symlink (to {os.readlink(path)})"
            ) from None
        raise InvalidArgumentError(f"input {path} does not exist") from None
    except OSError as e:
        raise AnygramIOError(f"input {path}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInputError(
            f"input {path} is not a regular file (a FIFO, device or socket); inputs must be "
            "regular files"
        )
    return st.st_size


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, pat) for pat in patterns)


def _parquet_batches(
    f: InputFile,
    text_field: str,
    metadata_fields: Sequence[str] | None,
    skipped: list[str] | None,
) -> Iterator[tuple[list[str], list[str], int]]:
    """Batches of (texts, metadata JSON, bytes) of a Parquet file. A row whose text is not a
    string (a null cell) raises, or with ``skipped`` not None is described there and left
    out."""
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise InvalidArgumentError(
            f"{f.path}: reading Parquet needs pyarrow: pip install 'anygram[parquet]'"
        ) from e
    pf = pq.ParquetFile(f.path)
    names = pf.schema_arrow.names
    if text_field not in names:
        raise InvalidInputError(f"{f.path}: no column {text_field!r} (columns: {names})")
    keep = (
        [n for n in names if n != text_field]
        if metadata_fields is None
        else [n for n in metadata_fields if n in names]
    )
    row = 0
    for batch in pf.iter_batches(batch_size=8192, columns=[text_field, *keep]):
        cols = batch.to_pydict()
        texts = []
        metas = []
        for i, text in enumerate(cols[text_field]):
            if not isinstance(text, str):
                what = "null" if text is None else type(text).__name__
                problem = f"{f.path}: row {row + i}: {text_field!r} is {what}, not a string"
                if skipped is None:
                    raise InvalidInputError(problem)
                skipped.append(problem)
                continue
            texts.append(text)
            meta = {k: cols[k][i] for k in keep}
            metas.append(
                json.dumps(
                    {"path": f.display, "linenum": row + i, "metadata": meta},
                    ensure_ascii=False,
                    default=str,
                )
            )
        row += batch.num_rows
        yield texts, metas, batch.nbytes


def _readable_parquet(f: InputFile, batches: Iterator[T]) -> Iterator[T]:
    """``batches``, with pyarrow's errors on a damaged file as an error naming the file."""
    try:
        yield from batches
    except Exception as e:
        if isinstance(e, OSError) or type(e).__module__.startswith("pyarrow"):
            raise InvalidInputError(f"{f.path}: not a readable Parquet file ({e})") from None
        raise


def _progress(total: int, quiet: bool) -> Any:
    return progress(
        total,
        "reading + tokenizing",
        unit="B",
        quiet=quiet,
        unit_scale=True,
        unit_divisor=1024,
        smoothing=0.1,
    )


def _resume_key(files: Sequence[InputFile], tok: Tokenizer, **options: Any) -> str:
    """Names a build by everything that decides its shards: the input files (path, size,
    modification time), the tokenizer and the options. A killed build re-run with the same key
    keeps its finished shards."""
    import hashlib

    facts = {
        "files": [
            (os.fspath(f.path), f.size, f.path.stat().st_mtime_ns, f.byte_range()) for f in files
        ],
        "tokenizer": tok.describe(),
        "options": options,
        "anygram": _core.__version__,
        "format": _core.FORMAT_VERSION,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def _postfix(bar: Any, builder: Any, since: float, name: str) -> None:
    docs = builder.docs_added
    rate = docs / max(time.perf_counter() - since, 1e-9)
    bar.set_postfix_str(f"{docs:,} docs, {rate:,.0f} docs/s, {name[-30:]}", refresh=False)


def _finish_with_progress(builder: Any, info_json: str, quiet: bool) -> str:
    """Runs the engine's last phase (sorting and writing the remaining shards, then the
    manifest) while a bar shows shards written and time elapsed; Ctrl-C stops it at once and
    leaves a resumable build, never a finished index (see :mod:`anygram.interrupt`)."""
    if quiet:
        return str(run_interruptible(builder.finish, info_json, cancel=builder.cancel))
    total = builder.shards_sealed + (1 if builder.docs_added else 0)
    with progress(
        max(total, builder.shards_sealed),
        "sorting suffixes + writing",
        unit="shard",
        bar_format="{desc}: {n}/{total} shards [{elapsed}]",
    ) as bar:
        manifest = run_interruptible(
            builder.finish,
            info_json,
            cancel=builder.cancel,
            tick=lambda: bar.update(builder.shards_written - bar.n),
        )
        bar.update(bar.total - bar.n)
    return str(manifest)


def build(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Sequence[InputFile],
    output: str | os.PathLike[str],
    *,
    tokenizer: str | os.PathLike[str] | Tokenizer = "bytes",
    text_field: str = "text",
    metadata_fields: Sequence[str] | None = None,
    mem_budget: int | str = "8GiB",
    workers: int | None = None,
    on_error: str = "fail",
    overwrite: bool = False,
    file_glob: str | None = None,
    exclude: Sequence[str] = (),
    input_format: str | None = None,
    max_shard_tokens: int | None = None,
    quiet: bool = False,
    kind: str = "sa",
    sa_sample: int | None = None,
    isa_sample: int | None = None,
    fold_case: bool = False,
    index_options: IndexOptions | None = None,
) -> dict[str, Any]:
    """Builds an index of ``inputs`` at ``output`` and returns its manifest.

    Parameters
    ----------
    inputs
        Files or directories (walked recursively): JSONL (plain, ``.gz``, ``.zst``), Parquet,
        plain text (one document per file). Or a list of :class:`InputFile` already found (a
        build plan's slices: see :mod:`anygram.distributed.plan`).
    output
        Index directory to create. It is valid only once the build finishes: a killed build
        leaves a directory that does not open, and re-running the same command restarts it.
    tokenizer
        ``"bytes"`` (UTF-8 bytes, default) or the path of a ``tokenizer.json``.
    text_field, metadata_fields
        The JSON field / Parquet column holding the text, and the fields kept as metadata (all
        others by default).
    mem_budget
        Memory the build may use (e.g. ``"8GiB"``); larger corpora are cut into shards.
    workers
        Threads for tokenizing and suffix sorting (default: all cores).
    file_glob, exclude
        In directories, take only files whose name matches ``file_glob``; skip relative paths
        matching any ``exclude`` pattern (e.g. ``"site-packages"``).
    input_format
        ``"text"``, ``"jsonl"`` or ``"parquet"``: read every input file in this format, whatever
        its suffix (default: by suffix; unknown suffixes are text).
    on_error
        ``"fail"`` stops at the first malformed document (naming file and line); ``"skip"``
        skips it and reports it at the end.
    kind, sa_sample, isa_sample
        ``"sa"`` (suffix array over the stored tokens, the fastest; default) or ``"fm"``
        (FM-index, the smallest: the text is kept only inside it), with the FM kind's sampling
        rates (default 32 and 64: larger is smaller, slower to locate and extract).
    fold_case
        Index the text case-folded (Unicode simple case folding, byte lengths kept; byte-level
        tokenizer only): text queries are folded too, documents come back as written.
    index_options
        The same as one :class:`~anygram.index_options.IndexOptions` (instead of ``kind``, ...).
    """
    start = time.perf_counter()
    if index_options is None:
        index_options = IndexOptions.make(
            kind, sa_sample=sa_sample, isa_sample=isa_sample, fold_case=fold_case
        )
    if index_options.fold_case and tokenizer != "bytes":
        raise InvalidArgumentError(
            "fold_case needs the byte-level tokenizer ('bytes'): folding keeps byte positions, "
            "which a subword tokenizer's do not"
        )
    if on_error not in ("fail", "skip"):
        raise InvalidArgumentError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out = Path(output)
    # An index written inside an input directory must never be read back as input.
    if inputs and all(isinstance(i, InputFile) for i in inputs):
        found: list[InputFile] = list(inputs)  # type: ignore[arg-type]
    else:
        found = discover_inputs(inputs, file_glob, exclude, input_format)  # type: ignore[arg-type]
    files = [f for f in found if not f.path.resolve().is_relative_to(out.resolve())]
    if not files:
        given = [os.fspath(i.path if isinstance(i, InputFile) else i) for i in inputs]
        raise InvalidInputError(f"no input files found in {given}")
    tok = load_tokenizer(tokenizer)
    encoder, encoder_path = tok.engine_encoder()
    n_workers = workers or os.cpu_count() or 1
    budget = parse_size(mem_budget)
    key: str | None = None  # standard input cannot be read again: such a build starts over
    if not any(os.fspath(f.path) == STDIN for f in files):
        key = _resume_key(
            files,
            tok,
            text_field=text_field,
            metadata_fields=list(metadata_fields) if metadata_fields is not None else None,
            on_error=on_error,
            mem_budget=budget,
            workers=n_workers,
            max_shard_tokens=max_shard_tokens,
            input_format=input_format,
            index=index_options.to_dict(),
        )
    builder = _core.IndexBuilder(
        str(out),
        tok.vocab_size,
        json.dumps(tok.describe()),
        encoder,
        budget,
        n_workers,
        max_shard_tokens=max_shard_tokens,
        overwrite=overwrite,
        encoder_path=encoder_path,
        resume_key=key,
        index_options_json=index_options.to_json(),
    )
    if builder.resumed_shards and not quiet:
        print(
            f"resuming an interrupted build: {builder.resumed_shards} finished shard(s) kept",
            file=sys.stderr,
        )
    tok.copy_into(out)

    def add(method: Any, *args: Any) -> Any:
        """An engine call of the reading loop (which may wait for a shard's sort), stoppable by
        Ctrl-C."""
        return run_interruptible(method, *args, cancel=builder.cancel)

    skipped: list[str] = []
    n_skipped = 0
    text_bytes = 0
    bar = _progress(sum(f.size for f in files), quiet)
    loop_start = time.perf_counter()
    try:
        for f in files:
            _postfix(bar, builder, loop_start, f.display)
            done_before = bar.n
            if f.kind == "parquet":
                bad: list[str] | None = [] if on_error == "skip" else None
                batches = _parquet_batches(f, text_field, metadata_fields, bad)
                for texts, metas, nbytes in _readable_parquet(f, batches):
                    if encoder == "external":
                        add(builder.add_token_documents, tok.encode_batch(texts), metas)
                    else:
                        add(builder.add_texts, texts, metas)
                    text_bytes += sum(len(t) for t in texts)
                    bar.update(min(nbytes, max(0, f.size - (bar.n - done_before))))
                bar.update(f.size - (bar.n - done_before))
                n_skipped += len(bad or [])
                skipped.extend((bad or [])[: max(0, 100 - len(skipped))])
                continue
            reader = _core.DocumentReader(
                str(f.path),
                f.display,
                f.kind,
                text_field,
                metadata_fields,
                on_error,
                max_line_bytes=budget,  # no line may grow past the memory budget
                byte_range=f.byte_range(),
            )
            while True:
                if encoder == "external":
                    texts, metas = reader.read_batch(BATCH_BYTES)
                    if not texts:
                        break
                    add(builder.add_token_documents, tok.encode_batch(texts), metas)
                    text_bytes += sum(len(t) for t in texts)
                else:
                    docs, nbytes = add(builder.add_from_reader, reader, BATCH_BYTES)
                    if docs == 0:
                        break
                    text_bytes += nbytes
                _postfix(bar, builder, loop_start, f.display)
                bar.update(reader.file_bytes_read - (bar.n - done_before))
            bar.update(f.size - (bar.n - done_before))
            n_skipped += reader.skipped
            skipped.extend(reader.skipped_examples[: max(0, 100 - len(skipped))])
    except InvalidInputError as e:
        skip = (
            "skip malformed documents with --on-error skip (on_error='skip'), "
            if on_error == "fail"
            else ""
        )
        raise InvalidInputError(
            f"{e}\nThe unfinished index was left at {out}: run the same build again once the "
            f"input is fixed (a build resumes where it can and never opens unfinished), {skip}"
            f"or delete {out}."
        ) from e
    finally:
        bar.close()
    info = {
        "inputs": [os.fspath(i.path if isinstance(i, InputFile) else i) for i in inputs],
        "files": len(files),
        "input_bytes": sum(f.size for f in files),
        "text_bytes": text_bytes,
        "skipped_documents": n_skipped,
        "read_and_tokenize_seconds": round(time.perf_counter() - loop_start, 3),
        "skipped_examples": skipped,
        "options": {
            "tokenizer": str(tokenizer) if not hasattr(tokenizer, "kind") else tok.kind,
            "text_field": text_field,
            "metadata_fields": list(metadata_fields) if metadata_fields is not None else None,
            "mem_budget": parse_size(mem_budget),
            "workers": n_workers,
            "on_error": on_error,
            "input_format": input_format,
            **index_options.to_dict(),
        },
        "anygram_version": _core.__version__,
    }
    finish_start = time.perf_counter()
    manifest: dict[str, Any] = json.loads(_finish_with_progress(builder, json.dumps(info), quiet))
    seconds = time.perf_counter() - start
    manifest["build"]["seconds"] = round(seconds, 3)
    manifest["build"]["finish_seconds"] = round(time.perf_counter() - finish_start, 3)
    if not quiet:
        mb = text_bytes / 1e6
        print(
            f"indexed {manifest['num_docs']:,} documents, {manifest['num_tokens']:,} tokens "
            f"({mb:,.1f} MB of text) into {len(manifest['shards'])} shard(s) at {out} "
            f"in {seconds:.1f} s ({mb / max(seconds, 1e-9):,.1f} MB/s)",
            file=sys.stderr,
        )
    if n_skipped:  # even with quiet: data left out is never silent
        print(f"anygram: skipped {n_skipped} malformed document(s), e.g.:", file=sys.stderr)
        for s in skipped[:5]:
            print(f"  {s}", file=sys.stderr)
    return manifest
