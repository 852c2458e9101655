#!/usr/bin/env python3
"""Attribution: ``attribute`` of a 500-token held-out text, infini-gram 2.6.0 vs anygram on the
same index in the same run, plus a parity check of every query.

Inputs (same seed for both engines): 500-token windows at random positions of the held-out split
(``CORPUS/heldout/heldout.jsonl``, documents never indexed, tokenized with the index's tokenizer
and concatenated). Two settings: ``min_len 1, max_cnt 1000`` (every maximal span, the heavy case)
and ``min_len 4, max_cnt 10`` (OLMoTrace-like: long, rare spans). No delimiters, no word-start
restriction (infini-gram needs a ``bow_ids`` file for it).

Configurations: ``ig-best`` (``load_to_ram=True``, prefetch depths 0,
``precompute_unigram_logprobs=True`` so its log-prob sums are real), ``ag-mmap`` (anygram's
default) and ``ag-ram``. anygram returns the first ``max_docs=10`` occurrences of a span,
infini-gram all of them (at most ``max_cnt``). Page cache warm; every query answered once by
every configuration (the parity round), then ``--timed`` queries per setting timed ``--reps``
times, configurations interleaved in a rotating order, GC off.

Parity: the ``(l, r, count)`` lists must be equal; each anygram occurrence must be one of
infini-gram's (its byte pointers divided by the token width), and the unigram log-prob sums must
agree to 1e-6 relative once infini-gram's denominator is accounted for (it counts the document
separators as tokens: ``ln(tokens / (tokens + documents))`` per span token).

Examples (from the repo root)::

    python benchmarks/bench_attribute.py --kinds u16
    python benchmarks/bench_attribute.py --kinds both --queries 20 --timed 20
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import time
from pathlib import Path
from typing import Any

import _common as C
import numpy as np
from bench_count import CONFIGS as COUNT_CONFIGS

CONFIGS = ("ig-best", "ag-mmap", "ag-ram")
LENGTH = 500
SETTINGS = {"min_len 1, max_cnt 1000": (1, 1000), "min_len 4, max_cnt 10": (4, 10)}


def open_ig(kind: str, path: Path):
    from infini_gram.engine import InfiniGramEngine

    k = C.KINDS[kind]
    return InfiniGramEngine(
        index_dir=str(path),
        eos_token_id=k["ig_eos"],
        vocab_size=k["ig_vocab_size"],
        token_dtype=k["ig_token_dtype"],
        precompute_unigram_logprobs=True,
        **COUNT_CONFIGS["ig-best"][1],
    )


def call(eng, config: str, ids: list[int], setting: str) -> dict:
    min_len, max_cnt = SETTINGS[setting]
    if config.startswith("ig"):
        return eng.attribute(ids, [], min_len, max_cnt, False)
    return eng.attribute(ids, min_len=min_len, max_cnt=max_cnt)


def run_kind(kind: str, work: Path, corpus: Path, args) -> dict[str, Any]:
    width = np.dtype(C.KINDS[kind]["dtype"]).itemsize
    dirs = C.index_dirs(work, kind)
    C.warm_page_cache(dirs.values())
    import anygram

    engines: dict[str, Any] = {
        "ig-best": open_ig(kind, dirs["infinigram"]),
        "ag-mmap": anygram.Index(str(dirs["anygram"])),
        "ag-ram": anygram.Index(str(dirs["anygram"]), load_to_ram=True),
    }
    ntok, ndocs = engines["ag-mmap"].num_tokens, engines["ag-mmap"].num_docs
    with open(corpus / "heldout" / "heldout.jsonl", encoding="utf-8") as f:
        stream = [t for line in f for t in engines["ag-mmap"].tokenize(json.loads(line)["text"])]
    rng = np.random.default_rng(args.seed)
    inputs = []
    for _ in range(args.queries):
        p = int(rng.integers(0, len(stream) - LENGTH))
        inputs.append(stream[p : p + LENGTH])

    parity: dict[str, Any] = {}
    for setting in SETTINGS:
        compared, diffs, spans = 0, [], 0
        for ids in inputs:
            ig = call(engines["ig-best"], "ig-best", ids, setting)["spans"]
            ag = call(engines["ag-ram"], "ag-ram", ids, setting)["spans"]
            assert ag == call(engines["ag-mmap"], "ag-mmap", ids, setting)["spans"]
            compared += 1
            spans += len(ag)
            key = [(s["l"], s["r"], s["count"]) for s in ig]
            if key != [(s["l"], s["r"], s["count"]) for s in ag]:
                diffs.append(
                    {"why": "spans", "ig": key[:5], "ag": [(s["l"], s["r"]) for s in ag][:5]}
                )
                continue
            for a, b in zip(ig, ag, strict=True):
                ig_ptrs = {d["ptr"] // width for d in a["docs"]}
                if not {d["ptr"] for d in b["docs"]} <= ig_ptrs:
                    diffs.append({"why": "occurrences", "span": (b["l"], b["r"])})
                    break
                # infini-gram's unigram total counts document separators as tokens
                shift = b["length"] * math.log(ntok / (ntok + ndocs))
                want = b["unigram_logprob_sum"] + shift
                if not math.isclose(a["unigram_logprob_sum"], want, rel_tol=1e-6):
                    diffs.append(
                        {
                            "why": "unigram_logprob_sum",
                            "ig": a["unigram_logprob_sum"],
                            "ag": b["unigram_logprob_sum"],
                        }
                    )
                    break
        parity[setting] = {
            "compared": compared,
            "spans": spans,
            "differences": len(diffs),
            "listed": diffs[:10],
        }
        print(
            f"[{kind}] parity {setting}: {compared} inputs, {spans} spans, "
            f"{len(diffs)} differences",
            flush=True,
        )

    timing: dict[str, dict[str, list[int]]] = {}
    pc = time.perf_counter_ns
    gc.disable()
    try:
        for setting in SETTINGS:
            for qi, ids in enumerate(inputs[: args.timed]):
                for rep in range(args.reps):
                    s = (qi + rep) % len(CONFIGS)
                    for c in CONFIGS[s:] + CONFIGS[:s]:
                        t0 = pc()
                        call(engines[c], c, ids, setting)
                        t1 = pc()
                        timing.setdefault(setting, {}).setdefault(c, []).append(t1 - t0)
    finally:
        gc.enable()
    stats = {g: {c: C.summarize_ns(v) for c, v in byc.items()} for g, byc in timing.items()}
    return {"parity": parity, "latency": stats}


def render(results: dict, meta: dict) -> str:
    lines = [f"# Attribution, {LENGTH} tokens ({meta['machine'].get('cpu_model', '')})", ""]
    for kind, r in results.items():
        lines += [
            f"## {C.KINDS[kind]['label']}",
            "",
            "| setting | ig-best median / p99 (ms) | ag-mmap median / p99 | ag-ram median / p99 "
            "| ag-mmap / ig median | ag-ram / ig median |",
            "|---|---|---|---|---|---|",
        ]
        for g, byc in r["latency"].items():
            ms = {c: (byc[c]["median_us"] / 1e3, byc[c]["p99_us"] / 1e3) for c in CONFIGS}
            cells = [f"{ms[c][0]:.2f} / {ms[c][1]:.2f}" for c in CONFIGS]
            ig = byc["ig-best"]["median_us"]
            lines.append(
                f"| {g} | "
                + " | ".join(cells)
                + f" | {byc['ag-mmap']['median_us'] / ig:.3f}"
                + f" | {byc['ag-ram']['median_us'] / ig:.3f} |"
            )
        lines += ["", "| parity | inputs | spans | differences |", "|---|---|---|---|"]
        for g, p in r["parity"].items():
            lines.append(f"| {g} | {p['compared']} | {p['spans']} | {p['differences']} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    C.add_common_args(p, reps_default=3, reps_help="timed calls per input and configuration")
    p.add_argument("--queries", type=int, default=50, help="parity inputs per setting")
    p.add_argument("--timed", type=int, default=30, help="timed inputs per setting")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    return C.run_kinds_and_report(args, run_kind, render, "bench_attribute")


if __name__ == "__main__":
    raise SystemExit(main())
