"""A build as a plan of independent steps, so that any executor can run it: local processes,
a Ray cluster (:mod:`anygram.distributed.ray_build`), or a Slurm array.

1. :func:`make_plan` (``anygram plan``) cuts the inputs into shards at document boundaries
   (byte ranges of uncompressed JSONL files, cut at line starts; other files whole) and writes
   ``INDEX/plan.json``: the slices of each shard, the tokenizer, and the build options, which
   travel as one opaque object handed to :func:`anygram.build` unread.
2. :func:`build_shard` (``anygram build-shard PLAN --shard-id N``) builds shard ``N`` into
   ``INDEX/parts/part-N`` with the ordinary build (crash-safe and resumable as any build) and
   then writes its done marker. It is pure and idempotent: run again, in any order, in any
   process, it finds its marker and does nothing.
3. :func:`finish` (``anygram finish PLAN``) moves every part's shards in, in plan order, and
   writes the manifest last (``anygram._core.assemble_index``).

The index is the same bytes whichever executor ran the steps, and answers as one built by
``anygram build`` from the same inputs (only the shard boundaries differ).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import _core
from ..build import STDIN, InputFile, build, discover_inputs, parse_size
from ..errors import (
    IndexExistsError,
    InvalidArgumentError,
    InvalidInputError,
)
from ..tokenizers import TIKTOKEN_PATTERNS, load_tokenizer

__all__ = ["Plan", "build_shard", "finish", "make_plan", "run_local"]

PLAN_FILE = "plan.json"
PLAN_FORMAT = "anygram-build-plan"
PARTS_DIR = "parts"

#: Peak memory of building a shard, per byte of its text (tokens, suffix array, buffers),
#: for the memory each step asks of a scheduler; the build's own mem_budget caps it.
MEMORY_PER_INPUT_BYTE = 6
MEMORY_BASE = 256 << 20

_SPLITTABLE = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class Plan:
    """A build's plan (``INDEX/plan.json``)."""

    output: str
    tokenizer: str
    #: The build options, passed to :func:`anygram.build` as they are (never read here).
    options: dict[str, Any]
    #: Per shard: its slices (:class:`~anygram.build.InputFile` fields).
    shards: list[list[dict[str, Any]]]
    #: Per shard: the memory its step asks of a scheduler, in bytes.
    memory: list[int]
    #: Every input file's (path, size, mtime_ns) when the plan was made.
    files: list[tuple[str, int, int]] = field(default_factory=list)
    anygram_version: str = _core.__version__

    @property
    def path(self) -> Path:
        return Path(self.output) / PLAN_FILE

    def slices(self, shard_id: int) -> list[InputFile]:
        self._check_id(shard_id)
        return [
            InputFile(
                Path(s["path"]),
                s["display"],
                s["kind"],
                s["size"],
                s["start"],
                s["end"],
                s["first_line"],
            )
            for s in self.shards[shard_id]
        ]

    def part_dir(self, shard_id: int) -> Path:
        return Path(self.output) / PARTS_DIR / f"part-{shard_id:05}"

    def _marker(self, shard_id: int) -> Path:
        return Path(self.output) / PARTS_DIR / f"part-{shard_id:05}.done"

    def shard_key(self, shard_id: int) -> str:
        """Names shard ``shard_id``'s step by everything that decides its bytes."""
        facts = {
            "tokenizer": self.tokenizer,
            "options": self.options,
            "slices": self.shards[shard_id],
            "anygram": self.anygram_version,
            "format": _core.FORMAT_VERSION,
        }
        text = json.dumps(facts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def done(self, shard_id: int) -> bool:
        try:
            return json.loads(self._marker(shard_id).read_text())["key"] == self.shard_key(shard_id)
        except (OSError, ValueError, KeyError):
            return False

    def _check_id(self, shard_id: int) -> None:
        if isinstance(shard_id, bool) or not 0 <= shard_id < len(self.shards):
            raise InvalidArgumentError(
                f"shard id {shard_id!r} is not in the plan "
                f"(it has shards 0..{len(self.shards) - 1})"
            )

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(PLAN_FILE + ".tmp")
        tmp.write_text(json.dumps({"format": PLAN_FORMAT, **asdict(self)}, indent=1))
        os.replace(tmp, self.path)

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Plan:
        """The plan at ``path``: a plan file, or the index directory holding ``plan.json``."""
        p = Path(path)
        if p.is_dir():
            p = p / PLAN_FILE
        try:
            raw = json.loads(p.read_text())
        except FileNotFoundError:
            raise InvalidArgumentError(
                f"no build plan at {path} (make one with anygram plan)"
            ) from None
        except (OSError, ValueError) as e:
            raise InvalidArgumentError(f"{p}: not a readable build plan ({e})") from None
        if not isinstance(raw, dict) or raw.pop("format", None) != PLAN_FORMAT:
            raise InvalidArgumentError(f"{p}: not an anygram build plan")
        raw["files"] = [tuple(f) for f in raw.get("files", [])]
        try:
            return Plan(**raw)
        except TypeError as e:
            raise InvalidArgumentError(f"{p}: not a build plan of this anygram ({e})") from None


def _tokenizer_spec(tokenizer: Any) -> str:
    """The tokenizer as every worker can load it: ``bytes``, or an absolute file path."""
    if not isinstance(tokenizer, (str, os.PathLike)):
        raise InvalidArgumentError(
            "a build plan needs a tokenizer named by a file or 'bytes' (a tokenizer object "
            "cannot travel to other processes)"
        )
    spec = os.fspath(tokenizer)
    load_tokenizer(spec)  # a bad tokenizer fails now, not in every worker
    if spec == "bytes":
        return spec
    pattern, sep, rest = spec.partition(":")
    if sep and pattern in TIKTOKEN_PATTERNS and rest:
        return f"{pattern}:{os.path.abspath(rest)}"
    return os.path.abspath(spec)


def _splittable(f: InputFile) -> bool:
    return f.kind == "jsonl" and f.path.name.lower().endswith(_SPLITTABLE)


def _next_line_start(fh: Any, at: int, size: int) -> int:
    """The first line start at or after ``at`` (``size`` if none)."""
    if at >= size:
        return size
    pos = at - 1  # a line starts right after a newline
    fh.seek(pos)
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            return size
        i = chunk.find(b"\n")
        if i >= 0:
            return pos + i + 1
        pos += len(chunk)


def _count_lines(fh: Any, start: int, end: int) -> int:
    fh.seek(start)
    n, left = 0, end - start
    while left > 0:
        chunk = fh.read(min(left, 16 << 20))
        if not chunk:
            break
        n += chunk.count(b"\n")
        left -= len(chunk)
    return n


def _cut(files: Sequence[InputFile], target: int, max_shards: int | None) -> list[list[InputFile]]:
    """Files into shards of about ``target`` bytes, in order; JSONL files cut at line starts."""
    groups: list[list[InputFile]] = [[]]
    fill = 0

    def room() -> int:
        nonlocal fill
        if fill >= target and groups[-1] and (max_shards is None or len(groups) < max_shards):
            groups.append([])
            fill = 0
        return target - fill if target > fill else 1 << 62

    for f in files:
        if not _splittable(f) or f.size == 0:
            if groups[-1] and fill + f.size > target:
                fill = max(fill, target)  # starts a new shard if one may be opened
            room()
            groups[-1].append(f)
            fill += f.size
            continue
        with open(f.path, "rb") as fh:
            pos = line = 0
            while pos < f.size:
                cut = _next_line_start(fh, pos + room(), f.size)
                lines = _count_lines(fh, pos, cut)
                whole = pos == 0 and cut == f.size
                groups[-1].append(
                    InputFile(
                        f.path,
                        f.display,
                        f.kind,
                        cut - pos,
                        pos,
                        None if whole else cut,
                        line,
                    )
                )
                fill += cut - pos
                line += lines
                pos = cut
    return [g for g in groups if g]


def make_plan(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    shards: int | None = None,
    shard_bytes: int | str | None = None,
    tokenizer: str | os.PathLike[str] = "bytes",
    file_glob: str | None = None,
    exclude: Sequence[str] = (),
    input_format: str | None = None,
    overwrite: bool = False,
    **options: Any,
) -> Plan:
    """Plans a build of ``inputs`` into ``output`` in ``shards`` shards (or shards of about
    ``shard_bytes`` of input) and writes it to ``output/plan.json``.

    ``options`` are :func:`anygram.build`'s (``text_field``, ``mem_budget``, ``on_error``, and
    any other), recorded unread and passed to each shard's build. The same inputs and
    arguments always give the same plan.
    """
    if (shards is None) == (shard_bytes is None):
        raise InvalidArgumentError("give the number of shards or the bytes per shard (not both)")
    if shards is not None and (
        isinstance(shards, bool) or not isinstance(shards, int) or shards < 1
    ):
        raise InvalidArgumentError(f"shards must be a positive integer, not {shards!r}")
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out = Path(output).absolute()
    if (out / "manifest.json").exists() and not overwrite:
        raise IndexExistsError(f"{out} already holds an index (pass overwrite to replace it)")
    if out.exists() and overwrite:
        shutil.rmtree(out)
    files = [
        f
        for f in discover_inputs(inputs, file_glob, exclude, input_format)
        if not f.path.resolve().is_relative_to(out.resolve())
    ]
    if any(os.fspath(f.path) == STDIN for f in files):
        raise InvalidArgumentError("a build plan cannot read standard input (it is read once)")
    if not files:
        raise InvalidInputError(f"no input files found in {[os.fspath(i) for i in inputs]}")
    files = [InputFile(f.path.absolute(), f.display, f.kind, f.size) for f in files]
    total = sum(f.size for f in files)
    target = (
        max(1, math.ceil(total / shards)) if shards is not None else parse_size(shard_bytes or 1)
    )
    if target < 1:
        raise InvalidArgumentError(f"shard_bytes must be positive, not {shard_bytes!r}")
    groups = _cut(files, target, shards)
    budget = parse_size(options.get("mem_budget", "8GiB"))
    options = {**options, "mem_budget": budget}
    plan = Plan(
        output=os.fspath(out),
        tokenizer=_tokenizer_spec(tokenizer),
        options=options,
        shards=[
            [
                {k: v for k, v in asdict(s).items() if k != "path"} | {"path": os.fspath(s.path)}
                for s in g
            ]
            for g in groups
        ],
        memory=[
            min(budget, MEMORY_BASE + MEMORY_PER_INPUT_BYTE * sum(s.size for s in g))
            for g in groups
        ],
        files=[(os.fspath(f.path), f.size, f.path.stat().st_mtime_ns) for f in files],
    )
    plan.write()
    return plan


def _check_inputs_unchanged(plan: Plan, shard_id: int) -> None:
    used = {os.fspath(s.path) for s in plan.slices(shard_id)}
    for path, size, mtime in plan.files:
        if path not in used:
            continue
        try:
            st = os.stat(path)
        except OSError as e:
            raise InvalidInputError(f"input {path} of the plan cannot be read: {e}") from None
        if (st.st_size, st.st_mtime_ns) != (size, mtime):
            raise InvalidInputError(
                f"input {path} changed since the plan was made: make the plan again"
            )


def build_shard(
    plan: Plan | str | os.PathLike[str],
    shard_id: int,
    *,
    workers: int | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """Builds shard ``shard_id`` of ``plan`` into its part directory and marks it done; does
    nothing if it is done (or the index finished). Returns ``{"shard_id", "key", "num_tokens",
    "num_docs", "skipped"}``."""
    if not isinstance(plan, Plan):
        plan = Plan.load(plan)
    plan._check_id(shard_id)
    marker = plan._marker(shard_id)
    if plan.done(shard_id):
        return dict(json.loads(marker.read_text()))
    finished = _finished_manifest(plan)
    if finished is not None:
        return {"shard_id": shard_id, "key": plan.shard_key(shard_id), "finished": True}
    _check_inputs_unchanged(plan, shard_id)
    part = plan.part_dir(shard_id)
    if (part / "manifest.json").exists():  # finished, but by another plan or before its marker
        shutil.rmtree(part)
    manifest = build(
        plan.slices(shard_id),
        part,
        tokenizer=plan.tokenizer,
        workers=workers,
        quiet=quiet,
        **plan.options,
    )
    record = {
        "shard_id": shard_id,
        "key": plan.shard_key(shard_id),
        "num_tokens": manifest["num_tokens"],
        "num_docs": manifest["num_docs"],
        "skipped": manifest["build"].get("skipped_documents", 0),
    }
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, marker)  # the done marker: written only once the part is complete
    return record


def _finished_manifest(plan: Plan) -> dict[str, Any] | None:
    """The index's manifest if ``finish`` already ran for this plan."""
    try:
        m = json.loads((Path(plan.output) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    same = isinstance(m, dict) and m.get("build", {}).get("plan_key") == _plan_key(plan)
    return m if same else None


def _plan_key(plan: Plan) -> str:
    keys = "".join(plan.shard_key(i) for i in range(len(plan.shards)))
    return hashlib.sha256(keys.encode()).hexdigest()


def finish(plan: Plan | str | os.PathLike[str]) -> dict[str, Any]:
    """Joins the plan's finished parts into the index and writes its manifest (last); returns
    it. Every shard must be done; run again after an interruption, it completes the job."""
    if not isinstance(plan, Plan):
        plan = Plan.load(plan)
    finished = _finished_manifest(plan)
    if finished is not None:
        return finished
    missing = [i for i in range(len(plan.shards)) if not plan.done(i)]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise InvalidArgumentError(
            f"{len(missing)} shard(s) of the plan are not built yet: {shown} "
            "(run anygram build-shard PLAN --shard-id N for each)"
        )
    out = Path(plan.output)
    load_tokenizer(plan.tokenizer).copy_into(out)
    info = {
        "inputs": sorted({p for p, _, _ in plan.files}),
        "files": len(plan.files),
        "input_bytes": sum(s for _, s, _ in plan.files),
        "options": {"tokenizer": plan.tokenizer, **plan.options},
        "plan_shards": len(plan.shards),
        "plan_key": _plan_key(plan),
        "anygram_version": plan.anygram_version,
    }
    parts = [os.fspath(plan.part_dir(i)) for i in range(len(plan.shards))]
    manifest: dict[str, Any] = json.loads(_core.assemble_index(out, parts, json.dumps(info)))
    shutil.rmtree(out / PARTS_DIR, ignore_errors=True)
    return manifest


def run_local(
    plan: Plan | str | os.PathLike[str],
    processes: int = 1,
    *,
    workers: int | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """Runs every shard step of ``plan`` as separate processes (``anygram build-shard``),
    ``processes`` at a time, then :func:`finish`."""
    if not isinstance(plan, Plan):
        plan = Plan.load(plan)
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise InvalidArgumentError(f"processes must be a positive integer, not {processes!r}")
    threads = workers or max(1, (os.cpu_count() or 1) // processes)

    def step(i: int) -> None:
        cmd = [sys.executable, "-m", "anygram", "build-shard", os.fspath(plan.path)]
        cmd += ["--shard-id", str(i), "--workers", str(threads)]
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise InvalidInputError(
                f"shard {i} of the plan failed: {r.stderr.strip() or r.returncode}"
            )

    todo = [i for i in range(len(plan.shards)) if not plan.done(i)]
    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(step, todo))
    return finish(plan)
