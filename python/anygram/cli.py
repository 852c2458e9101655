"""The ``anygram`` command line: build, count, docs, info, verify, demo, serve, generate, eval,
and the commands that change a live index (add, takedown, compact, log)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from . import cli_grow, cli_lm, contamination, dedup_report
from .cli_args import (
    Parser,
    UsageError,
    add_input_arguments,
    nonneg,
    nonneg_float,
    port,
    positive,
    positive_float,
)
from .errors import AnygramError, IndexExistsError, InvalidArgumentError
from .limits import DEFAULTS, MAX_CLAUSES, MAX_TERMS_PER_CLAUSE, SERVER

__all__ = ["main"]


def _add_build(sub: Any) -> None:
    p = sub.add_parser("build", help="index JSONL / Parquet / text files")
    _build_arguments(p)
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="build on a Ray cluster (ADDRESS, e.g. 'auto'; none: start or join one as ray.init() "
        "does): one task per shard of a plan (see anygram plan), then the manifest",
    )
    p.add_argument("--shards", type=positive, default=None, help="with --ray: shards to plan")
    p.add_argument(
        "--shard-bytes", default=None, help="with --ray: input bytes per shard (e.g. 2GiB)"
    )

    p = sub.add_parser(
        "plan",
        help="plan a build as independent shard steps (for Ray, Slurm or local processes)",
        description="Writes INDEX/plan.json: each shard's input byte ranges (cut at document "
        "boundaries), the tokenizer and the build options. Then run 'anygram build-shard PLAN "
        "--shard-id N' for every shard (any order, any machine sharing the files), and "
        "'anygram finish PLAN'.",
    )
    _build_arguments(p)
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--shards", type=positive, default=None, help="number of shards")
    size.add_argument("--shard-bytes", default=None, help="input bytes per shard (e.g. 2GiB)")

    p = sub.add_parser("build-shard", help="build one shard of a plan (idempotent)")
    p.add_argument("plan", help="the plan file (or the index directory holding plan.json)")
    p.add_argument("--shard-id", type=nonneg, required=True, help="the shard to build")
    p.add_argument("--workers", type=positive, default=None, help="threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = sub.add_parser("finish", help="write the index of a plan whose shards are all built")
    p.add_argument("plan", help="the plan file (or the index directory holding plan.json)")


def _build_arguments(p: Any) -> None:
    """The arguments of ``build`` and ``plan``: a plan carries every build option."""
    p.add_argument("inputs", nargs="+", help="files or directories (walked recursively)")
    p.add_argument("-o", "--output", required=True, help="index directory to create")
    p.add_argument(
        "--tokenizer", default="bytes", help="'bytes' (default) or a tokenizer.json path"
    )
    add_input_arguments(p)
    p.add_argument(
        "--kind",
        choices=["sa", "fm"],
        default="sa",
        help="sa: suffix array, the fastest (default); fm: FM-index, the smallest (the text is "
        "kept only inside it)",
    )
    p.add_argument(
        "--sa-sample",
        type=positive,
        default=None,
        help="fm kind: sample every Nth text position (default 32; a locate takes at most N-1 "
        "steps; a power of two builds fastest; larger is smaller and slower to locate and extract)",
    )
    p.add_argument(
        "--isa-sample",
        type=positive,
        default=None,
        help="fm kind: a shortcut every N steps of the samples' inverse permutation (default "
        "64; finding where a document's text starts reads about 2N samples; larger is smaller)",
    )
    p.add_argument(
        "--fold-case",
        action="store_true",
        help="case-insensitive index (byte-level tokenizer): Unicode simple case folding of the "
        "indexed text and of queries; documents are shown as written",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing index (or a directory left by a build that did not finish)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress output (a summary of skipped documents is still printed)",
    )


#: The usage line of count and docs: options may come anywhere, the query is the last argument.
_QUERY_USAGE = (
    "%(prog)s [options] INDEX [INDEX ...] QUERY\n"
    "       %(prog)s [options] INDEX [INDEX ...] --ids ID [ID ...]"
)


def _add_query_common(p: Any) -> None:
    p.add_argument(
        "index",
        nargs="+",
        metavar="INDEX ... QUERY",
        help="index directories (several are queried together), then the query (unless --ids)",
    )
    kind = p.add_mutually_exclusive_group()
    kind.add_argument(
        "--boolean",
        action="store_const",
        const=True,
        default=None,
        help="read the query as a boolean query (default: only when it uses AND or OR)",
    )
    kind.add_argument(
        "--phrase",
        dest="boolean",
        action="store_const",
        const=False,
        help="read the query as the exact text typed, AND, OR, quotes and all",
    )
    p.add_argument(
        "--exact-tokens",
        action="store_true",
        help="search only the tokens of the text as typed (default on BPE tokenizers: also the "
        "form after a space, as words mid-sentence are tokenized)",
    )
    p.add_argument(
        "--load-to-ram", action="store_true", help="read the index into memory instead of mmap"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--ids", type=int, nargs="+", default=None, metavar="ID", help="query as token ids"
    )


def _split_index_and_query(args: argparse.Namespace) -> tuple[list[str], str | list[int]]:
    """The last positional is the query unless --ids was given."""
    if args.ids is not None:
        return args.index, args.ids
    if len(args.index) < 2:
        raise UsageError("give an index and a query (or --ids)")
    return args.index[:-1], args.index[-1]


def _build_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`anygram.build` options of a ``build`` or ``plan`` command (one place, so a
    plan records every option a build takes)."""
    return {
        "tokenizer": args.tokenizer,
        "text_field": args.text_field,
        "metadata_fields": args.metadata_fields,
        "mem_budget": args.mem_budget,
        "on_error": args.on_error,
        "file_glob": args.file_glob,
        "exclude": args.exclude,
        "input_format": args.format,
        "kind": args.kind,
        "sa_sample": args.sa_sample,
        "isa_sample": args.isa_sample,
        "fold_case": args.fold_case,
    }


def _plan_size(args: argparse.Namespace) -> dict[str, Any]:
    from .build import parse_size

    if args.shards is None and args.shard_bytes is None:  # one shard per memory budget
        return {"shard_bytes": max(1, parse_size(args.mem_budget) // 6)}
    if args.shards is not None and args.shard_bytes is not None:
        raise UsageError("give --shards or --shard-bytes, not both")
    return {"shards": args.shards, "shard_bytes": args.shard_bytes}


def _cmd_plan(args: argparse.Namespace) -> int:
    from .distributed.plan import make_plan

    plan = make_plan(
        args.inputs,
        args.output,
        overwrite=args.overwrite,
        **_plan_size(args),
        **_build_options(args),
    )
    if not args.quiet:
        for i, (slices, mem) in enumerate(zip(plan.shards, plan.memory, strict=True)):
            size = sum(s["size"] for s in slices)
            print(
                f"shard {i}: {len(slices)} slice(s), {_fmt_bytes(size)}, memory {_fmt_bytes(mem)}"
            )
        print(
            f"plan written to {plan.path}: run 'anygram build-shard {plan.path} --shard-id N' "
            f"for N in 0..{len(plan.shards) - 1}, then 'anygram finish {plan.path}'"
        )
    return 0


def _cmd_build_shard(args: argparse.Namespace) -> int:
    from .distributed.plan import build_shard

    r = build_shard(args.plan, args.shard_id, workers=args.workers, quiet=args.quiet)
    if not args.quiet:
        print(json.dumps(r))
    return 0


def _cmd_finish(args: argparse.Namespace) -> int:
    from .distributed.plan import finish

    m = finish(args.plan)
    print(
        f"finished {m['num_docs']:,} documents, {m['num_tokens']:,} tokens in "
        f"{len(m['shards'])} shard(s)",
        file=sys.stderr,
    )
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import build

    if args.ray is not None:
        from .distributed.plan import make_plan
        from .distributed.ray_build import run_on_ray

        plan = make_plan(
            args.inputs,
            args.output,
            overwrite=args.overwrite,
            **_plan_size(args),
            **_build_options(args),
        )
        run_on_ray(plan, args.ray or None, workers=args.workers, quiet=args.quiet)
        return 0
    if args.shards is not None or args.shard_bytes is not None:
        raise UsageError(
            "--shards and --shard-bytes plan a build: use them with --ray or anygram plan"
        )
    try:
        build(
            args.inputs,
            args.output,
            workers=args.workers,
            overwrite=args.overwrite,
            quiet=args.quiet,
            **_build_options(args),
        )
    except IndexExistsError:
        raise IndexExistsError(
            f"{args.output} already holds an index: add --overwrite to replace it"
        ) from None
    return 0


def _describe(query: str | list[int], result: dict[str, Any]) -> str:
    """How the query was read, when it is not simply the text typed: a boolean query, a quoted
    phrase, or the forms of a phrase on a BPE index with each one's count."""
    reading = result.get("reading")
    variants = result.get("variants") or []
    if reading is None:
        return ""
    if reading["kind"] == "phrase" and reading["text"] == query and len(variants) < 2:
        return ""
    lines = [f"  read as the {reading['description']}"]
    for v in variants if len(variants) > 1 else []:
        lines.append(f"  {json.dumps(v['text'], ensure_ascii=False)}: {v['count']}")
    return "\n".join(lines)


def _cmd_count(args: argparse.Namespace) -> int:
    from .index import Index
    from .text_query import count_text

    paths, query = _split_index_and_query(args)
    index = Index(paths, load_to_ram=args.load_to_ram)
    t = time.perf_counter()
    if isinstance(query, str):
        result = count_text(index, query, boolean=args.boolean, exact_tokens=args.exact_tokens)
    else:
        result = index.count(query)
        result["token_ids"] = list(query)
    result["latency_ms"] = round((time.perf_counter() - t) * 1e3, 3)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{result['count']}{' (approximate)' if result['approx'] else ''}")
    if text := _describe(query, result):
        print(text)
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    from .index import Index
    from .snippet import snippet
    from .text_query import search_text

    paths, query = _split_index_and_query(args)
    index = Index(paths, load_to_ram=args.load_to_ram)
    if isinstance(query, str):
        found = search_text(
            index,
            query,
            boolean=args.boolean,
            exact_tokens=args.exact_tokens,
            maxnum=args.limit,
            max_disp_len=args.max_disp_len,
            offset=args.offset,
            seed=args.seed,
        )
    else:
        found = index.search_docs(query, maxnum=args.limit, max_disp_len=args.max_disp_len)
        for doc in found["documents"]:
            doc["spans"] = [(doc["needle_offset"], doc["needle_offset"] + len(query), 0)]
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
        return 0
    approx = " (approximate)" if found.get("approx") else ""
    print(f"{found['cnt']} occurrence(s){approx}; showing {len(found['documents'])}")
    if text := _describe(query, found):
        print(text)
    for doc in found["documents"]:
        print(f"\n--- document {doc['doc_ix']} ({doc['doc_len']} tokens) {doc['metadata']}")
        spans = [(a, b) for a, b, _ in doc["spans"]]
        print(snippet(index, doc, spans, color=sys.stdout.isatty()))
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
    print(f"generation:     {', '.join(str(g) for g in info['generations'])}")
    print(f"tokens:         {info['num_tokens']:,}")
    print(f"documents:      {info['num_docs']:,}")
    print(f"shards:         {info['num_shards']}")
    print(f"token width:    {info['token_dtype']} (vocabulary {info['vocab_size']:,})")
    print(f"tokenizer:      {json.dumps(info['tokenizer'])}")
    for opts in info["index_options"]:
        fm = opts.get("fm")
        rates = f" (sa_sample {fm['sa_sample']}, isa_sample {fm['isa_sample']})" if fm else ""
        fold = ", case-folded" if opts["fold_case"] else ""
        print(f"kind:           {opts['kind']}{rates}{fold}")
    print(
        f"size:           {_fmt_bytes(info['size_bytes'])} "
        f"({info['bytes_per_token']:.2f} bytes/token)"
    )
    for s in info["shards"]:
        print(
            f"  {s['dir']}: {s['tokens']:,} tokens, {s['docs']:,} docs, "
            f"{_fmt_bytes(s['bytes'])}, tier {s['tier']}"
        )
    gone = [d for ds in info["takedown"] for d in ds]
    if gone:
        shown = ", ".join(str(d) for d in gone[:20]) + (" ..." if len(gone) > 20 else "")
        print(f"taken down:     {len(gone):,} document(s): {shown}")
    if args.verify:
        print("checksums:      all files verified")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(out=args.out, rebuild=args.rebuild)


def _cmd_serve(args: argparse.Namespace) -> int:
    from .server import Limits, ServerConfig, serve

    indexes: dict[str, str] = {}
    specs = list(args.index) + [f"{os.path.basename(os.path.normpath(p))}={p}" for p in args.paths]
    if not specs:
        raise UsageError("give an index to serve (INDEX, or --index NAME=PATH)")
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--index takes NAME=PATH, not {spec!r}")
        if name in indexes:
            raise UsageError(f"index name {name!r} given twice")
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
        max_exact_clause_freq=args.max_exact_clause_freq,
        caps=caps,
    )
    config = ServerConfig(
        limits=limits,
        timeout=args.timeout,
        max_body_bytes=args.max_body_bytes,
        cors_origins=args.cors_origin,
        max_connections=args.max_connections,
        request_read_timeout=args.request_read_timeout,
    )
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
        forwarded_allow_ips=args.forwarded_allow_ips,
        ray_address=args.ray,
    )
    return 0


def _add_lm(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="sample a continuation from the ∞-gram model (or, with --model, a GGUF model's "
        "greedy one, drafted from --draft-index)",
    )
    p.add_argument("index", help="index directory (with --model: the prompt)")
    p.add_argument("prompt", nargs="?", default=None, help="text to continue")
    p.add_argument(
        "--max-new-tokens",
        type=positive,
        default=DEFAULTS["max_new_tokens"],
        help=f"tokens to generate (default {DEFAULTS['max_new_tokens']})",
    )
    p.add_argument(
        "--temperature", type=nonneg_float, default=None, help="0: most frequent token (default 1)"
    )
    p.add_argument(
        "--top-k", type=positive, default=None, help="sample among the K most frequent tokens"
    )
    p.add_argument("--seed", type=nonneg, default=None, help="same seed, same text")
    p.add_argument("--json", action="store_true", help="token ids and suffix lengths too")
    cli_lm.add_neural_args(p, required=False)
    cli_lm.add_model_args(p)
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

    if args.model or args.draft_index:
        return cli_lm.run_generate_model(args)
    if args.prompt is None:
        raise InvalidArgumentError("generate wants INDEX PROMPT (or --model MODEL.gguf PROMPT)")
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
        temperature=1.0 if args.temperature is None else args.temperature,
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


#: The extra that provides each optional module, for "pip install 'anygram[EXTRA]'" hints.
_EXTRA_OF_MODULE = {
    "numpy": "lm",
    "scipy": "lm",
    "matplotlib": "plot",
    "pyarrow": "parquet",
    "tokenizers": "hf",
    "gguf": "gguf",
    "fastapi": "server",
    "fastapi_offline": "server",
    "uvicorn": "server",
    "starlette": "server",
    "pydantic": "server",
}


def _missing_extra(e: ImportError) -> str | None:
    """What to install for an optional module that is missing (here or as the cause)."""
    for err in (e, e.__cause__):
        top = (getattr(err, "name", None) or "").partition(".")[0]
        if isinstance(err, ModuleNotFoundError) and top in _EXTRA_OF_MODULE:
            extra = _EXTRA_OF_MODULE[top]
            return f"this needs {top}, from the [{extra}] extra: pip install 'anygram[{extra}]'"
    return None


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = Parser(prog="anygram", description="Exact n-gram search over any text corpus.")
    parser.add_argument("--version", action="version", version=f"anygram {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_build(sub)

    p = sub.add_parser(
        "count",
        usage=_QUERY_USAGE,
        help="count a phrase or a boolean query: anygram count INDEX 'a AND (b OR c)'",
        description="Count a phrase, or a boolean query when it uses AND / OR.",
    )
    _add_query_common(p)

    p = sub.add_parser(
        "docs", usage=_QUERY_USAGE, help="documents containing a phrase or a boolean query"
    )
    _add_query_common(p)
    p.add_argument("--limit", type=positive, default=5, help="documents to show (default 5)")
    p.add_argument(
        "--max-disp-len", type=positive, default=200, help="tokens shown around the match"
    )
    p.add_argument("--offset", type=nonneg, default=0, help="skip this many hits")
    p.add_argument("--seed", type=nonneg, default=None, help="random order of hits, fixed by SEED")

    p = sub.add_parser("info", help="tokens, documents, shards, sizes, tokenizer, format")
    p.add_argument("index", nargs="+", help="index directories (several are described together)")
    p.add_argument("--verify", action="store_true", help="also check every file's checksum")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("demo", help="index Python's standard library and run sample queries")
    p.add_argument("--out", default=None, help="where to put the demo index")
    p.add_argument(
        "--rebuild", action="store_true", help="build the demo index again even if it exists"
    )

    p = sub.add_parser("serve", help="HTTP API (infini-gram's format) and web page")
    p.add_argument(
        "--index",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="serve the index at PATH as NAME (repeatable); clients see only NAME",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--workers", type=positive, default=1, help="server processes (default 1)")
    p.add_argument("--threads", type=positive, default=None, help="query threads per process")
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=SERVER.timeout,
        help=f"seconds per request, queue wait included (504 after; default {SERVER.timeout:g})",
    )
    p.add_argument(
        "--max-body-bytes", type=positive, default=1 << 20, help="request body cap in bytes"
    )
    p.add_argument(
        "--max-query-tokens", type=positive, default=SERVER.max_query_tokens, help="longest query"
    )
    p.add_argument(
        "--max-clauses", type=positive, default=MAX_CLAUSES, help="AND clauses per boolean query"
    )
    p.add_argument(
        "--max-terms-per-clause",
        type=positive,
        default=MAX_TERMS_PER_CLAUSE,
        help="OR terms per clause",
    )
    p.add_argument("--max-diff-tokens", type=positive, default=None, help="cap on the AND window")
    p.add_argument(
        "--max-clause-freq", type=positive, default=None, help="cap on the sampling threshold"
    )
    p.add_argument(
        "--max-exact-clause-freq",
        type=positive,
        default=SERVER.max_exact_clause_freq,
        help="answer exact boolean queries only when no clause occurs more often",
    )
    p.add_argument(
        "--max-new-tokens", type=positive, default=None, help="cap on generate's max_new_tokens"
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let web pages from ORIGIN call the API (repeatable; '*' for any); off by default",
    )
    p.add_argument(
        "--max-connections",
        type=positive,
        default=SERVER.max_connections,
        help="open connections at most (idle ones are closed first)",
    )
    p.add_argument(
        "--request-read-timeout",
        type=positive_float,
        default=SERVER.request_read_timeout,
        help="seconds a client has to send a whole request",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="reverse proxies trusted for X-Forwarded-For (default 127.0.0.1)",
    )
    p.add_argument(
        "--load-to-ram", action="store_true", help="read the indexes into memory instead of mmap"
    )
    p.add_argument("--no-access-log", action="store_true", help="do not log each request")
    p.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="answer from Ray actors on the cluster at ADDRESS (e.g. 'auto') instead of this "
        "process (pip install 'anygram[ray]')",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="INDEX",
        help="index directories to serve, each under its directory name (as --index)",
    )
    _add_lm(sub)

    contamination.add_parser(sub)
    dedup_report.add_parser(sub)
    cli_lm.add_parsers(sub)
    cli_grow.add_parsers(sub)
    return parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, Parser]:
    return next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Options may come anywhere among a command's arguments (``count IDX --json "a b"``)."""
    commands = _commands(parser)
    if argv and argv[0] in commands:
        args = commands[argv[0]].parse_intermixed_args(argv[1:])
        args.command = argv[0]
        return args
    return parser.parse_args(argv)


_HANDLERS = {
    "build": _cmd_build,
    "plan": _cmd_plan,
    "build-shard": _cmd_build_shard,
    "finish": _cmd_finish,
    "count": _cmd_count,
    "docs": _cmd_docs,
    "info": _cmd_info,
    "demo": _cmd_demo,
    "serve": _cmd_serve,
    "contamination": contamination.run,
    "dedup": dedup_report.run,
    "generate": _cmd_generate,
    "eval": _cmd_eval,
    "interpolate": cli_lm.run_interpolate,
    "export-tokenizer": cli_lm.run_export_tokenizer,
    **cli_grow.HANDLERS,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = _parse(parser, list(sys.argv[1:] if argv is None else argv))
    except SystemExit as e:  # --help, --version, usage errors: the code, for in-process callers
        return e.code if isinstance(e.code, int) else 2
    try:
        code = _HANDLERS[args.command](args)
        sys.stdout.flush()  # a closed pipe raises here, inside the handler below
        return code
    except UsageError as e:
        _commands(parser)[args.command].report(str(e))
        return 2
    except AnygramError as e:
        print(f"anygram: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        hint = _missing_extra(e)
        if hint is None:
            raise
        print(f"anygram: error: {hint}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as a command killed by SIGPIPE does;
        # stdout goes to /dev/null so Python's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("anygram: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
