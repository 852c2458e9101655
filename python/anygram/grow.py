"""A living index: add documents, take documents down, compact shards, read the log.

Every change writes new files, then commits the index's next *generation* (a new manifest,
atomically, after fsync); an :class:`~anygram.Index` already open keeps answering from its
generation until :meth:`~anygram.Index.refresh` (a server refreshes on its own). Changes take
the index's lock, so they apply one after the other. See ARCHITECTURE.md, "A living index".

>>> import anygram, json, pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.jsonl").write_text(json.dumps({"text": "to be or not to be"}) + "\\n")
>>> _ = (d / "b.jsonl").write_text(json.dumps({"text": "let it be", "url": "x"}) + "\\n")
>>> _ = anygram.build([d / "a.jsonl"], d / "idx", quiet=True)
>>> index = anygram.Index(d / "idx")
>>> _ = anygram.add(d / "idx", [d / "b.jsonl"], quiet=True)
>>> index.count("be")["count"], index.refresh(), index.count("be")["count"]
(2, True, 3)
>>> anygram.takedown(d / "idx", where={"metadata.url": "x"})["removed"]
[1]
>>> index.refresh(), index.count("be")["count"], index.num_docs
(True, 2, 1)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import _core
from .build import build, discover_inputs, parse_size
from .errors import InvalidArgumentError
from .tokenizers import Tokenizer, from_manifest

__all__ = ["add", "compact", "log", "takedown"]

#: Where an add builds its documents before they join the index (inside the index, so the
#: shards move in by a rename).
INCOMING = "incoming"


def _manifest(index: Path) -> dict[str, Any]:
    return dict(json.loads((index / "manifest.json").read_text()))


def _add_key(index: Path, inputs: Sequence[Path], options: dict[str, Any]) -> str:
    """Names an add by its inputs (path, size, modification time) and options: a killed add run
    again resumes its build, and an add already committed is recognized."""
    files = discover_inputs(inputs, options.get("file_glob"), options.get("exclude", ()))
    facts = {
        "index": os.fspath(index.resolve()),
        "files": [(os.fspath(f.path.resolve()), f.size, f.path.stat().st_mtime_ns) for f in files],
        "options": options,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def add(
    index: str | os.PathLike[str],
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    text_field: str = "text",
    metadata_fields: Sequence[str] | None = None,
    mem_budget: int | str = "8GiB",
    workers: int | None = None,
    on_error: str = "fail",
    file_glob: str | None = None,
    exclude: Sequence[str] = (),
    input_format: str | None = None,
    max_shard_tokens: int | None = None,
    tokenizer: Tokenizer | None = None,
    allow_duplicate: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Adds the documents of ``inputs`` to the index at ``index`` and returns its new manifest.

    The documents are built as new shards with the index's own tokenizer, by the same builder
    as :func:`anygram.build` (so it costs what building them alone costs), then join the index
    in one new generation; their numbers follow every number given out before. Options are
    :func:`anygram.build`'s. A killed add run again resumes its build; an add whose inputs
    (same files, sizes and times, same options) were already added is refused unless
    ``allow_duplicate``. ``tokenizer`` is needed only for an index built with a custom Python
    tokenizer.
    """
    start = time.perf_counter()
    root = Path(index)
    manifest = _manifest(root)
    tok = tokenizer if tokenizer is not None else from_manifest(root, manifest["tokenizer"])
    paths = [Path(inputs)] if isinstance(inputs, (str, os.PathLike)) else [Path(p) for p in inputs]
    options = {
        "text_field": text_field,
        "metadata_fields": list(metadata_fields) if metadata_fields is not None else None,
        "on_error": on_error,
        "file_glob": file_glob,
        "exclude": list(exclude),
        "input_format": input_format,
        "max_shard_tokens": max_shard_tokens,
    }
    key = _add_key(root, paths, options)
    if not allow_duplicate:
        for entry in log(root):
            if (entry["event"].get("info") or {}).get("key") == key:
                raise InvalidArgumentError(
                    f"these inputs were already added to {root} (generation "
                    f"{entry['generation']}); pass allow_duplicate=True (--allow-duplicate) to "
                    "add them again"
                )
    staging = root / INCOMING / key
    staging.parent.mkdir(exist_ok=True)
    # A build killed half-way resumes in place (same key); one that finished but was not
    # adopted is rebuilt (overwrite), since the adoption may have moved some of its shards.
    if (staging / "manifest.json").exists():
        shutil.rmtree(staging)
    built = build(
        paths,
        staging,
        tokenizer=tok,
        text_field=text_field,
        metadata_fields=metadata_fields,
        mem_budget=mem_budget,
        workers=workers,
        on_error=on_error,
        file_glob=file_glob,
        exclude=exclude,
        input_format=input_format,
        max_shard_tokens=max_shard_tokens,
        quiet=quiet,
        # The index's kind and its parameters: the new shards are of the same kind.
        kind=manifest.get("kind", "sa"),
        sa_sample=(manifest.get("fm") or {}).get("sa_sample"),
        isa_sample=(manifest.get("fm") or {}).get("isa_sample"),
        fold_case=bool(manifest.get("fold_case", False)),
    )
    info = {
        "key": key,
        "inputs": [os.fspath(p) for p in paths],
        "build_seconds": built["build"].get("seconds"),
        "seconds": round(time.perf_counter() - start, 3),
    }
    new = json.loads(_core.grow_adopt(os.fspath(root), os.fspath(staging), json.dumps(info)))
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):  # empty unless another add is building
        staging.parent.rmdir()
    if not quiet:
        lo, hi = new["event"]["docs"]
        print(
            f"added documents {lo:,}..{hi - 1:,} as {len(new['event']['shards_added'])} "
            f"shard(s): {root} is at generation {new['generation']}",
            file=sys.stderr,
        )
    return dict(new)


def _where_docs(index: Any, where: Mapping[str, str]) -> list[int]:
    docs: set[int] | None = None
    for field, value in where.items():
        path = field.split(".")
        if not field or not all(path):
            raise InvalidArgumentError(f"bad field path {field!r} (e.g. metadata.url)")
        found = set(index._core.docs_where(path, str(value)))
        docs = found if docs is None else docs & found
    return sorted(docs or ())


def takedown(
    index: str | os.PathLike[str],
    doc_ix: Sequence[int] = (),
    *,
    where: Mapping[str, str] | None = None,
    match: Sequence[str | Sequence[int]] = (),
    reason: str | None = None,
    workers: int | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Takes documents down from the index at ``index``: from the next generation on, every
    query answers exactly as if they had never been indexed. Returns ``{"removed", "already",
    "generation"}`` once the new generation is durable (fsync).

    Documents are chosen by number (``doc_ix``), by metadata (``where={"metadata.url":
    "https://..."}``: the metadata line's value at that key path equals the text; several
    fields must all match), and/or by content (``match``: texts or token ids; every document
    containing one is taken down). A number never given out is an error (nothing changes);
    an already taken-down document is reported in ``already``. ``dry_run`` only reports what
    would go. The shards holding the documents are rewritten without them (see
    ARCHITECTURE.md); their numbers stay taken (a later document never reuses one).
    """
    from .index import Index

    root = Path(index)
    ids = {int(d) for d in doc_ix}
    if where or match:
        opened = Index(root)
        if where:
            ids |= set(_where_docs(opened, where))
        for q in match:
            ids |= set(opened._core.docs_containing(opened._ids(q)))
    if any(d < 0 for d in ids):
        raise InvalidArgumentError("document numbers are non-negative")
    chosen = sorted(ids)
    if dry_run:
        return {"removed": [], "already": [], "would_remove": chosen, "generation": None}
    info = {"reason": reason, "where": dict(where or {}), "match": [str(q) for q in match]}
    out = _core.grow_takedown(
        os.fspath(root), chosen, json.dumps(info), workers or os.cpu_count() or 1
    )
    return dict(json.loads(out))


def compact(
    index: str | os.PathLike[str],
    *,
    max_shards: int | None = None,
    mem_budget: int | str = "8GiB",
    workers: int | None = None,
) -> dict[str, Any]:
    """Merges neighbouring small shards of the index at ``index`` (the smallest pairs first, as
    log-structured stores merge their tiers) until at most ``max_shards`` remain (default: as
    few as a build with ``mem_budget`` would make), each merged shard within the memory budget.
    Crash-safe (a new generation or none) and resumable (run again, it keeps the merged shards
    it had finished). Returns the manifest afterwards."""
    if max_shards is not None and max_shards < 1:
        raise InvalidArgumentError(f"max_shards must be at least 1, not {max_shards}")
    start = time.perf_counter()
    before = _manifest(Path(index))
    out = _core.grow_compact(
        os.fspath(index),
        max_shards,
        parse_size(mem_budget),
        workers or os.cpu_count() or 1,
        json.dumps({"max_shards": max_shards, "shards_before": len(before["shards"])}),
    )
    m = dict(json.loads(out))
    m["compact_seconds"] = round(time.perf_counter() - start, 3)
    return m


def log(index: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every generation of the index, oldest first: ``{generation, event, num_docs, num_tokens,
    num_shards, taken_down}``; ``event`` says what changed (``op``: build, add, takedown,
    compact), when (``time``, Unix seconds), which documents and shards."""
    return list(json.loads(_core.grow_log(os.fspath(index))))


def tiers(shard_tokens: Sequence[int]) -> list[int]:
    """Each shard's size tier: 0 for shards at least a quarter of the largest, 1 for a
    sixteenth, and so on."""
    largest = max(shard_tokens, default=0)
    return [int(_core.grow_tier(t, largest)) for t in shard_tokens]
