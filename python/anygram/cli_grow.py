"""The commands that change a live index: ``add``, ``takedown``, ``compact``, and ``log``."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

from .cli_args import UsageError, add_input_arguments, nonneg, positive

__all__ = ["HANDLERS", "add_parsers"]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "add",
        help="add documents to an index (new shards, same tokenizer; numbers continue)",
    )
    p.add_argument("index", help="the index directory")
    p.add_argument("inputs", nargs="+", help="files or directories, as for build")
    add_input_arguments(p)
    p.add_argument(
        "--allow-duplicate",
        action="store_true",
        help="add inputs even if the same files were added before",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    p = sub.add_parser(
        "takedown",
        help="remove documents from every answer, durably (as if never indexed)",
        description="Take documents down: from the next generation on, every query answers as "
        "if they had never been indexed. Returns once the change is on disk.",
    )
    p.add_argument("index", help="the index directory")
    p.add_argument(
        "--doc-ix", type=nonneg, nargs="+", default=[], help="document numbers to take down"
    )
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="documents whose metadata has VALUE at FIELD (a key path such as metadata.url); "
        "repeat to require several",
    )
    p.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="QUERY",
        help="every document containing this text (its exact tokens); repeatable",
    )
    p.add_argument("--reason", default=None, help="recorded in the log")
    p.add_argument("--dry-run", action="store_true", help="only list the documents chosen")
    p.add_argument("--workers", type=positive, default=None, help="threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "compact",
        help="merge small shards (size tiers), bounding the shard count",
    )
    p.add_argument("index", help="the index directory")
    p.add_argument(
        "--max-shards",
        type=positive,
        default=None,
        help="merge until at most this many shards remain (default: as few as a build makes)",
    )
    p.add_argument("--mem-budget", default="8GiB", help="memory for one merged shard's build")
    p.add_argument("--workers", type=positive, default=None, help="threads (default: all cores)")

    p = sub.add_parser("log", help="what changed in an index, generation by generation")
    p.add_argument("index", help="the index directory")
    p.add_argument("--json", action="store_true", help="print JSON")


def _run_add(args: argparse.Namespace) -> int:
    from .grow import add

    add(
        args.index,
        args.inputs,
        text_field=args.text_field,
        metadata_fields=args.metadata_fields,
        mem_budget=args.mem_budget,
        workers=args.workers,
        on_error=args.on_error,
        file_glob=args.file_glob,
        exclude=args.exclude,
        input_format=args.format,
        allow_duplicate=args.allow_duplicate,
        quiet=args.quiet,
    )
    return 0


def _run_takedown(args: argparse.Namespace) -> int:
    from .grow import takedown

    where: dict[str, str] = {}
    for spec in args.where:
        field, sep, value = spec.partition("=")
        if not sep or not field:
            raise UsageError(f"--where takes FIELD=VALUE, not {spec!r}")
        where[field] = value
    if not (args.doc_ix or where or args.match):
        raise UsageError("say which documents: --doc-ix, --where or --match")
    r = takedown(
        args.index,
        args.doc_ix,
        where=where,
        match=args.match,
        reason=args.reason,
        workers=args.workers,
        dry_run=args.dry_run,
    )
    if args.json:
        print(json.dumps(r))
    elif args.dry_run:
        print(f"would take down {len(r['would_remove'])} document(s): {r['would_remove']}")
    else:
        print(
            f"took down {len(r['removed'])} document(s) {r['removed']}; "
            f"{len(r['already'])} already taken down; generation {r['generation']}"
        )
    return 0


def _run_compact(args: argparse.Namespace) -> int:
    from .grow import compact

    m = compact(
        args.index, max_shards=args.max_shards, mem_budget=args.mem_budget, workers=args.workers
    )
    print(
        f"{args.index}: {len(m['shards'])} shard(s), generation {m['generation']} "
        f"({m['compact_seconds']:.1f} s)",
        file=sys.stderr,
    )
    return 0


def _run_log(args: argparse.Namespace) -> int:
    from .grow import log

    entries = log(args.index)
    if args.json:
        print(json.dumps(entries, indent=1))
        return 0
    for e in entries:
        ev = e["event"]
        when = (
            datetime.datetime.fromtimestamp(ev["time"], datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M:%S UTC"
            )
            if "time" in ev
            else "-"
        )
        what = ev.get("op", "?")
        docs = ev.get("docs") or []
        if what == "add" and len(docs) == 2:
            what += f" documents {docs[0]}..{docs[1] - 1}"
        elif what == "takedown":
            what += f" {len(docs)} document(s) {docs[:10]}{' ...' if len(docs) > 10 else ''}"
        elif what == "compact":
            merged, into = len(ev.get("shards_removed", [])), len(ev.get("shards_added", []))
            what += f" {merged} shards into {into}"
        print(
            f"generation {e['generation']:>4}  {when}  {what}  -> {e['num_docs']:,} docs, "
            f"{e['num_tokens']:,} tokens, {e['num_shards']} shard(s), "
            f"{e['taken_down']} taken down"
        )
    return 0


HANDLERS = {"add": _run_add, "takedown": _run_takedown, "compact": _run_compact, "log": _run_log}
