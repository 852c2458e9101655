"""CLI pieces for the neural side: ``anygram interpolate``, ``anygram export-tokenizer`` and the
``--gguf`` / ``--hf`` / ``--neural`` options of ``anygram generate``. numpy, scipy and the
model packages are imported only when a command runs."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from .cli_args import nonneg, positive
from .errors import AnygramFileNotFoundError, InvalidArgumentError

__all__ = [
    "add_model_args",
    "add_neural_args",
    "add_parsers",
    "load_neural",
    "run_export_tokenizer",
    "run_generate_model",
    "run_interpolate",
]


def add_neural_args(p: argparse.ArgumentParser, required: bool) -> None:
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--gguf", metavar="MODEL.gguf", help="a GGUF model (needs llama-cpp-python)")
    g.add_argument("--hf", metavar="DIR", help="a local transformers causal LM directory")
    g.add_argument(
        "--neural",
        metavar="MODULE:FACTORY",
        help="a zero-argument function returning an anygram.lm.NeuralLM "
        "(MODULE is an importable name or a .py file)",
    )
    p.add_argument(
        "--bos-id",
        type=nonneg,
        default=None,
        help="token every neural call is conditioned on first (default: the model's BOS; "
        "0 for SmolLM2's <|endoftext|>)",
    )
    p.add_argument("--n-ctx", type=positive, default=2048, help="GGUF context size")
    p.add_argument(
        "--threads", type=positive, default=None, help="GGUF threads (default: all cores)"
    )
    p.add_argument(
        "--window", type=positive, default=1024, help="most tokens of context the neural model sees"
    )


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        metavar="MODEL.gguf",
        default=None,
        help="generate greedily with this GGUF model (needs llama-cpp-python); the positional "
        "argument is then the prompt",
    )
    p.add_argument(
        "--draft-index",
        metavar="INDEX",
        default=None,
        help="with --model: draft tokens from this index (built with the model's tokenizer) "
        "and verify them in one batch (speculative decoding; same greedy output)",
    )
    p.add_argument(
        "--draft-max", type=positive, default=16, help="with --draft-index: most draft tokens"
    )
    p.add_argument(
        "--draft-min-prob",
        default="auto",
        help="with --draft-index: draft a token only if it is at least this likely to be "
        "accepted (a number in (0, 1]); 'auto' (the default) times the model's batches first "
        "and takes 1.2 x what a drafted token costs in decoding steps (0.7 for a Q4_1 model "
        "on a CPU, far less on a GPU)",
    )


def run_generate_model(args: argparse.Namespace) -> int:
    """``anygram generate --model MODEL.gguf [--draft-index INDEX] PROMPT``: greedy decoding by
    the model, with drafts from the index verified in batches."""
    if not args.model:
        raise InvalidArgumentError("--draft-index drafts for a model: give --model MODEL.gguf")
    if args.gguf or args.hf or args.neural or args.mixture or args.weight is not None:
        raise InvalidArgumentError(
            "--model generates with the model alone: drop --gguf/--hf/--neural/--mixture/--weight"
        )
    if args.temperature not in (None, 0.0) or args.top_k is not None or args.seed is not None:
        raise InvalidArgumentError(
            "--model decodes greedily: --temperature/--top-k/--seed do not apply"
        )
    if args.prompt is not None:
        raise InvalidArgumentError(
            "with --model, give only the prompt (the index goes to --draft-index)"
        )
    min_prob = _min_prob_arg(args.draft_min_prob)
    if not Path(args.model).is_file():
        raise AnygramFileNotFoundError(f"no GGUF model at {args.model}")
    import time

    from .speculative import Drafter, check_tokenizer, generate_greedy
    from .speculative.price import measure_draft_price, min_prob_for

    index = None
    if args.draft_index:
        from .index import Index

        index = Index(args.draft_index)
        check_tokenizer(index, args.model)
    try:
        from .speculative.llama_loop import LlamaForward

        model = LlamaForward(args.model, n_ctx=args.n_ctx, n_threads=args.threads)
    except ImportError as e:
        raise InvalidArgumentError(str(e)) from e
    prompt_text: str = args.index
    ids = model.llm.tokenize(prompt_text.encode(), add_bos=False, special=False)
    bos = model.llm.token_bos() if args.bos_id is None else args.bos_id
    prompt = ([bos] if bos is not None and bos >= 0 else []) + list(ids)
    eos = model.llm.token_eos()
    drafter = None
    if index is not None:
        if min_prob is None:
            min_prob = min_prob_for(measure_draft_price(model, prompt))
        drafter = Drafter(index, max_tokens=args.draft_max, min_prob=min_prob)
    t0 = time.perf_counter()
    r = generate_greedy(model, prompt, args.max_new_tokens, drafter=drafter, eos_token_id=eos)
    seconds = time.perf_counter() - t0
    out = [t for t in r["token_ids"] if t != eos]
    text = model.llm.detokenize(out).decode("utf-8", errors="replace")
    if args.json:
        r.pop("gaps")
        r.update(text=text, seconds=seconds, tokens_per_second=len(r["token_ids"]) / seconds)
        if drafter is not None:
            r["draft_min_prob"] = min_prob
        print(json.dumps(r, ensure_ascii=False))
    else:
        print(prompt_text + text)
    return 0


def _min_prob_arg(value: str) -> float | None:
    """``--draft-min-prob``: None for 'auto' (measured on the model), else a number in (0, 1]."""
    if value == "auto":
        return None
    try:
        p = float(value)
    except ValueError:
        p = float("nan")
    if not 0.0 < p <= 1.0:
        raise InvalidArgumentError(f"--draft-min-prob must be 'auto' or in (0, 1], not {value!r}")
    return p


def load_neural(args: argparse.Namespace) -> Any:
    """The neural model the options name, or None; a missing package or file is an
    :class:`InvalidArgumentError` (the CLI prints it, no traceback)."""
    try:
        return _load_neural(args)
    except ImportError as e:
        raise InvalidArgumentError(str(e)) from e
    except FileNotFoundError as e:
        raise AnygramFileNotFoundError(str(e)) from e


def _load_neural(args: argparse.Namespace) -> Any:
    if args.gguf:
        from .lm import LlamaCppLM

        if args.window + 1 > args.n_ctx:
            raise InvalidArgumentError(
                f"--window {args.window} needs --n-ctx of at least {args.window + 1}"
            )
        return LlamaCppLM(
            args.gguf, n_ctx=args.n_ctx, bos_token_id=args.bos_id, n_threads=args.threads
        )
    if args.hf:
        from .lm import TransformersLM

        return TransformersLM(args.hf, bos_token_id=args.bos_id)
    if args.neural:
        module, _, name = args.neural.rpartition(":")
        if not module or not name:
            raise InvalidArgumentError(f"--neural wants MODULE:FACTORY, not {args.neural!r}")
        if module.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(module).stem, module)
            if spec is None or spec.loader is None:
                raise InvalidArgumentError(f"cannot import {module}")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        else:
            mod = importlib.import_module(module)
        factory = getattr(mod, name, None)
        if not callable(factory):
            raise InvalidArgumentError(f"{module} has no function {name!r}")
        return factory()
    return None


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "interpolate",
        help="mix the ∞-gram model with a neural LM: fit weights on dev, perplexity on test",
    )
    p.add_argument("index", help="index directory (built with the neural model's tokenizer)")
    p.add_argument("heldout", nargs="+", help="JSONL files (or plain-text files, one document)")
    p.add_argument("--text-field", default="text", help="JSONL field holding the text")
    add_neural_args(p, required=True)
    p.add_argument("--test-every", type=positive, default=2, help="every k-th document is test")
    p.add_argument(
        "--max-dev-tokens", type=positive, default=None, help="fit on at most this many tokens"
    )
    p.add_argument(
        "--max-test-tokens", type=positive, default=None, help="test on at most this many tokens"
    )
    p.add_argument(
        "--max-doc-tokens",
        type=positive,
        default=None,
        help="score only each document's first tokens",
    )
    p.add_argument(
        "--schemes", default="paper,buckets,gated", help="comma-separated: paper, buckets, gated"
    )
    p.add_argument("--out", default=None, help="write the report as JSON here")
    p.add_argument("--save-mixture", default=None, help="write the best fitted mixture here (JSON)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser(
        "export-tokenizer",
        help="write a GGUF model's tokenizer as tokenizer.json (to build an index with it)",
    )
    p.add_argument("gguf", help="GGUF model file")
    p.add_argument("out", help="tokenizer.json to write")


def run_interpolate(args: argparse.Namespace) -> int:
    from .evaluate import read_heldout
    from .index import Index
    from .lm import interpolation_report

    index = Index(args.index)
    neural = load_neural(args)
    schemes = [s.strip() for s in args.schemes.split(",") if s.strip()]
    report, mixtures = interpolation_report(
        index,
        neural,
        read_heldout(args.heldout, args.text_field),
        test_every=args.test_every,
        max_dev_tokens=args.max_dev_tokens,
        max_test_tokens=args.max_test_tokens,
        window=args.window,
        schemes=schemes,
        progress=not args.quiet,
        max_doc_tokens=args.max_doc_tokens,
    )
    report["index"] = args.index
    report["heldout"] = list(args.heldout)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(
        f"{report['test_tokens']:,} test tokens ({report['dev_tokens']:,} dev): neural alone "
        f"perplexity {report['neural_perplexity']:.3f}, ∞-gram alone "
        f"{report['infgram_perplexity']:.1f} (floor {report['infgram_floor']:.3g})"
    )
    for s, r in report["mixtures"].items():
        print(f"  {s:8} {r['perplexity']:.3f}  ({-r['reduction']:+.1%} vs neural alone)")
    if args.save_mixture and "best" in report:
        mixtures[report["best"]].save(args.save_mixture)
        print(f"mixture ({report['best']}): {args.save_mixture}")
    return 0


def run_export_tokenizer(args: argparse.Namespace) -> int:
    from .gguf import export_gguf_tokenizer

    info = export_gguf_tokenizer(args.gguf, args.out)
    print(
        f"{args.out}: eos {info.get('eos_token')!r} ({info.get('eos_token_id')}), "
        f"bos {info.get('bos_token')!r} ({info.get('bos_token_id')})",
        file=sys.stdout,
    )
    return 0
