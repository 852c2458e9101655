"""The ``anygram`` command line: build, count, docs, info, verify, demo, serve, generate, eval."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

from . import cli_lm, contamination
from .errors import AnygramError, InvalidArgumentError

__all__ = ["main"]


def _add_build(sub: Any) -> None:
    p = sub.add_parser("build", help="index JSONL / Parquet / text files")
    p.add_argument("inputs", nargs="+", help="files or directories (walked recursively)")
    p.add_argument("-o", "--output", required=True, help="index directory to create")
    p.add_argument(
        "--tokenizer", default="bytes", help="'bytes' (default) or a tokenizer.json path"
    )
    p.add_argument("--text-field", default="text", help="JSON field / Parquet column of the text")
    p.add_argument(
        "--metadata-fields", nargs="*", default=None, help="fields kept as metadata (default: all)"
    )
    p.add_argument("--mem-budget", default="8GiB", help="memory for the build (default 8GiB)")
    p.add_argument("--workers", type=int, default=None, help="threads (default: all cores)")
    p.add_argument(
        "--on-error",
        choices=["fail", "skip"],
        default="fail",
        help="malformed documents: stop (default) or skip and report",
    )
    p.add_argument(
        "--glob",
        dest="file_glob",
        default=None,
        help="in directories, take files matching this name pattern (e.g. '*.py')",
    )
    p.add_argument(
        "--exclude",
        nargs="*",
        default=(),
        help="skip paths (relative to an input directory) matching these patterns",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing index")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _add_query_common(p: Any) -> None:
    p.add_argument("index", nargs="+", help="index directory (several are queried together)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument(
        "--boolean", action="store_true", help="read the query as AND/OR (auto when it uses them)"
    )
    kind.add_argument("--phrase", action="store_true", help="read the query as one plain phrase")
    p.add_argument("--load-to-ram", action="store_true")
    p.add_argument("--json", action="store_true", help="print JSON")


def _split_index_and_query(args: argparse.Namespace) -> tuple[list[str], str | list[int]]:
    """The last positional is the query unless --ids was given."""
    if args.ids is not None:
        return args.index, args.ids
    if len(args.index) < 2:
        raise SystemExit("error: give an index and a query (or --ids)")
    return args.index[:-1], args.index[-1]


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import build

    build(
        args.inputs,
        args.output,
        tokenizer=args.tokenizer,
        text_field=args.text_field,
        metadata_fields=args.metadata_fields,
        mem_budget=args.mem_budget,
        workers=args.workers,
        on_error=args.on_error,
        overwrite=args.overwrite,
        file_glob=args.file_glob,
        exclude=args.exclude,
        quiet=args.quiet,
    )
    return 0


_BOOLEAN = re.compile(r"\b(AND|OR)\b|^\s*[\"(]")


def _is_boolean(args: argparse.Namespace, query: str | list[int]) -> bool:
    """A text query is boolean when it uses AND / OR or starts with a quote or a parenthesis
    (``--phrase`` forces a plain phrase, ``--boolean`` the query language)."""
    if not isinstance(query, str) or args.phrase:
        return False
    return bool(args.boolean or _BOOLEAN.search(query))


def _highlight(index: Any, ids: list[int], spans: list[tuple[int, int]]) -> str:
    """The window's text with every span marked (bold red on a terminal, [[...]] otherwise)."""
    hl = sys.stdout.isatty()
    out, at = [], 0
    for start, end in sorted(spans):
        if start < at:
            continue
        match = index.decode(ids[start:end])
        out.append(index.decode(ids[at:start]))
        out.append(f"\x1b[1;31m{match}\x1b[0m" if hl else f"[[{match}]]")
        at = end
    out.append(index.decode(ids[at:]))
    return "".join(out)


def _cmd_count(args: argparse.Namespace) -> int:
    from .index import Index

    paths, query = _split_index_and_query(args)
    index = Index(paths, load_to_ram=args.load_to_ram)
    boolean = _is_boolean(args, query)
    t = time.perf_counter()
    result = index.count_cnf(query) if boolean and isinstance(query, str) else index.count(query)
    result["latency_ms"] = round((time.perf_counter() - t) * 1e3, 3)
    if args.json:
        if not boolean:
            result["token_ids"] = index.tokenize(query) if isinstance(query, str) else list(query)
        print(json.dumps(result))
    else:
        print(f"{result['count']}{' (approximate)' if result['approx'] else ''}")
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    from .index import Index

    paths, query = _split_index_and_query(args)
    index = Index(paths, load_to_ram=args.load_to_ram)
    if _is_boolean(args, query) and isinstance(query, str):
        found = index.search_docs_cnf(
            query,
            maxnum=args.limit,
            max_disp_len=args.max_disp_len,
            offset=args.offset,
            seed=args.seed,
        )
        spans_of = [[(a, b) for a, b, _ in d["spans"]] for d in found["documents"]]
    else:
        found = index.search_docs(query, maxnum=args.limit, max_disp_len=args.max_disp_len)
        n = len(index.tokenize(query) if isinstance(query, str) else query)
        spans_of = [[(d["needle_offset"], d["needle_offset"] + n)] for d in found["documents"]]
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
        return 0
    approx = " (approximate)" if found.get("approx") else ""
    print(f"{found['cnt']} occurrence(s){approx}; showing {len(found['documents'])}")
    for doc, spans in zip(found["documents"], spans_of, strict=True):
        print(f"\n--- document {doc['doc_ix']} ({doc['doc_len']} tokens) {doc['metadata']}")
        print(_highlight(index, doc["token_ids"], spans))
    return 0


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def _cmd_info(args: argparse.Namespace) -> int:
    from .index import Index

    index = Index(args.index, verify=args.verify)
    info = index.info()
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"index:          {', '.join(info['paths'])}")
    print(f"format version: {info['format_version']}")
    print(f"tokens:         {info['num_tokens']:,}")
    print(f"documents:      {info['num_docs']:,}")
    print(f"shards:         {info['num_shards']}")
    print(f"token width:    {info['token_dtype']} (vocabulary {info['vocab_size']:,})")
    print(f"tokenizer:      {json.dumps(info['tokenizer'])}")
    print(
        f"size:           {_fmt_bytes(info['size_bytes'])} "
        f"({info['bytes_per_token']:.2f} bytes/token)"
    )
    for s in info["shards"]:
        print(f"  {s['dir']}: {s['tokens']:,} tokens, {s['docs']:,} docs, {_fmt_bytes(s['bytes'])}")
    if args.verify:
        print("checksums:      all files verified")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(out=args.out, rebuild=args.rebuild)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .server import Limits, ServerConfig, serve
    except ImportError as e:
        raise SystemExit(f"anygram: error: {e}") from None

    indexes: dict[str, str] = {}
    for spec in args.index:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"anygram: error: --index takes NAME=PATH, not {spec!r}")
        if name in indexes:
            raise SystemExit(f"anygram: error: index name {name!r} given twice")
        indexes[name] = path
    caps = {
        k: v
        for k, v in (
            ("max_diff_tokens", args.max_diff_tokens),
            ("max_clause_freq", args.max_clause_freq),
            ("max_new_tokens", args.max_new_tokens),
        )
        if v is not None
    }
    limits = Limits(
        max_query_tokens=args.max_query_tokens,
        max_clauses=args.max_clauses,
        max_terms_per_clause=args.max_terms_per_clause,
        caps=caps,
    )
    config = ServerConfig(limits=limits, timeout=args.timeout, max_body_bytes=args.max_body_bytes)
    if args.threads:
        config.threads = args.threads
    serve(
        indexes,
        host=args.host,
        port=args.port,
        workers=args.workers,
        config=config,
        load_to_ram=args.load_to_ram,
        access_log=not args.no_access_log,
    )
    return 0


def _add_lm(sub: Any) -> None:
    p = sub.add_parser("generate", help="sample a continuation from the ∞-gram model")
    p.add_argument("index", help="index directory")
    p.add_argument("prompt", help="text to continue")
    p.add_argument("--max-new-tokens", type=int, default=50)
    p.add_argument("--temperature", type=float, default=1.0, help="0: most frequent token")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--seed", type=int, default=None, help="same seed, same text")
    p.add_argument("--json", action="store_true", help="token ids and suffix lengths too")
    cli_lm.add_neural_args(p, required=False)
    w = p.add_mutually_exclusive_group()
    w.add_argument(
        "--mixture", default=None, help="with a neural model: a mixture saved by interpolate"
    )
    w.add_argument(
        "--weight", type=float, default=None, help="with a neural model: a constant ∞-gram weight"
    )

    p = sub.add_parser(
        "eval", help="next-token accuracy and perplexity of the ∞-gram model on held-out text"
    )
    p.add_argument("index", help="index directory")
    p.add_argument("heldout", nargs="+", help="JSONL files (or plain-text files, one document)")
    p.add_argument("--text-field", default="text", help="JSONL field holding the text")
    p.add_argument("--out", default=None, help="write the result as JSON here")
    p.add_argument("--plot", default=None, help="PNG of accuracy and share by effective n")
    p.add_argument(
        "--floor",
        type=float,
        default=None,
        help="probability of tokens the model gives 0 (default 1/(tokens+documents))",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_generate(args: argparse.Namespace) -> int:
    from .index import Index

    neural = cli_lm.load_neural(args)
    mixture: Any = None
    if neural is not None:
        if args.mixture:
            from .lm import Mixture

            mixture = Mixture.load(args.mixture)
        elif args.weight is not None:
            mixture = args.weight
        else:
            raise InvalidArgumentError("with a neural model, give --mixture FILE or --weight W")
    elif args.mixture or args.weight is not None:
        raise InvalidArgumentError("--mixture and --weight need a neural model (--gguf, ...)")
    r = Index(args.index).generate(
        args.prompt,
        args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        seed=args.seed,
        neural=neural,
        mixture=mixture,
        window=args.window,
    )
    if args.json:
        print(json.dumps(r, ensure_ascii=False))
    else:
        print(args.prompt + (r["text"] if r["text"] is not None else str(r["token_ids"])))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import buckets, evaluate, plot, read_heldout
    from .index import Index

    index = Index(args.index)
    result = evaluate(
        index, read_heldout(args.heldout, args.text_field), args.floor, not args.quiet
    )
    result["index"] = args.index
    result["heldout"] = list(args.heldout)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    if result["tokens"]:
        print(
            f"{result['tokens']:,} tokens in {result['documents']} documents: accuracy "
            f"{result['accuracy']:.2%}, perplexity {result['perplexity']:.2f} (floor "
            f"{result['floor']:.3g} for {result['zero_prob_share']:.1%} of tokens; "
            f"{result['perplexity_nonzero']:.2f} over the others)"
        )
        for n, _, share, acc in buckets(result):
            print(f"  n={n:>3}: {share:6.1%} of tokens, accuracy {acc:.1%}")
    else:
        print("no tokens in the held-out files")
    if args.plot:
        if plot(result, args.plot):
            print(f"plot: {args.plot}")
        else:
            print(
                "anygram: no plot: matplotlib is not installed (pip install 'anygram[plot]')",
                file=sys.stderr,
            )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="anygram", description="Exact n-gram search over any text corpus."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_build(sub)

    p = sub.add_parser(
        "count", help="count an n-gram or a boolean query: anygram count INDEX 'a AND (b OR c)'"
    )
    _add_query_common(p)
    p.add_argument("--ids", type=int, nargs="+", default=None, help="query as token ids")

    p = sub.add_parser("docs", help="documents containing an n-gram")
    _add_query_common(p)
    p.add_argument("--ids", type=int, nargs="+", default=None, help="query as token ids")
    p.add_argument("--limit", type=int, default=5, help="documents to show (default 5)")
    p.add_argument("--max-disp-len", type=int, default=200, help="tokens shown around the match")
    p.add_argument("--offset", type=int, default=0, help="boolean queries: skip this many hits")
    p.add_argument("--seed", type=int, default=None, help="boolean queries: random sample order")

    p = sub.add_parser("info", help="tokens, documents, shards, sizes, tokenizer, format")
    p.add_argument("index", nargs="+")
    p.add_argument("--verify", action="store_true", help="also check every file's checksum")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("demo", help="index Python's standard library and run sample queries")
    p.add_argument("--out", default=None, help="where to put the demo index")
    p.add_argument("--rebuild", action="store_true")

    p = sub.add_parser("serve", help="HTTP API (infini-gram's format) and web page")
    p.add_argument(
        "--index",
        action="append",
        required=True,
        metavar="NAME=PATH",
        help="serve the index at PATH as NAME (repeatable); clients see only NAME",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    p.add_argument("--threads", type=int, default=None, help="query threads per process")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (504 after)")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, help="request body cap")
    p.add_argument("--max-query-tokens", type=int, default=1000, help="longest query")
    p.add_argument("--max-clauses", type=int, default=4, help="AND clauses per boolean query")
    p.add_argument("--max-terms-per-clause", type=int, default=4, help="OR terms per clause")
    p.add_argument("--max-diff-tokens", type=int, default=None, help="cap on the AND window")
    p.add_argument(
        "--max-clause-freq", type=int, default=None, help="cap on the sampling threshold"
    )
    p.add_argument(
        "--max-new-tokens", type=int, default=None, help="cap on generate's max_new_tokens"
    )
    p.add_argument("--load-to-ram", action="store_true")
    p.add_argument("--no-access-log", action="store_true")
    _add_lm(sub)

    contamination.add_parser(sub)
    cli_lm.add_parsers(sub)

    args = parser.parse_args(argv)
    handlers = {
        "build": _cmd_build,
        "count": _cmd_count,
        "docs": _cmd_docs,
        "info": _cmd_info,
        "demo": _cmd_demo,
        "serve": _cmd_serve,
        "contamination": contamination.run,
        "generate": _cmd_generate,
        "eval": _cmd_eval,
        "interpolate": cli_lm.run_interpolate,
        "export-tokenizer": cli_lm.run_export_tokenizer,
    }
    try:
        return handlers[args.command](args)
    except AnygramError as e:
        print(f"anygram: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("anygram: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
