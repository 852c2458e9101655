#!/usr/bin/env python3
"""Language-model queries: ``prob``, ``ntd``, ``infgram_prob``, ``infgram_ntd`` latency, infini-gram
2.6.0 vs anygram on the same indexes in the same run, plus a parity check of every query.

Queries (same seed for both engines):

* ``prob``: prompts of 1, 2, 4, 8 and 16 tokens at random positions inside documents of the
  indexed stream, the continuation being the token that follows there (or the eos id at a
  document end).
* ``ntd``: prompts of 1, 2 and 16 tokens, drawn the same way.
* ``infgram_prob`` / ``infgram_ntd``: 100-token contexts at random positions of the held-out split
  (``CORPUS/heldout/heldout.jsonl``, documents never indexed), tokenized with the index's
  tokenizer, continuation = the held-out next token.

Configurations: ``ig-best`` (``load_to_ram=True``, prefetch depths 0, infini-gram's fastest),
``ag-mmap`` (anygram's default) and ``ag-ram``; anygram is opened with infini-gram's
``eos_token_id`` so that both report document ends under the same id. Page cache warm: files read
once, every query answered once by every configuration (the parity round), then ``--timed``
queries per group timed ``--reps`` times, configurations interleaved in a rotating order, GC off.

Parity (``--queries`` per type, default 1000): equal ``prompt_cnt`` / ``cont_cnt`` /
``suffix_len`` and probabilities within 1e-9; ``ntd`` compared when infini-gram answers exactly
(prompt count <= max_support). Every difference is listed with its explanation where it is a
known infini-gram defect: (a) its ``prob(prompt, eos)`` counts only literal eos tokens, not the
document ends its own ``ntd`` reports under that id; (b) its ``ntd`` gives ``P(eos) = 1`` for a
prompt that ends the last document and also occurs before some document's end (probed on
purpose with suffixes of the last document). anygram's ``ntd(max_support=10**9)`` on the most
frequent token (which aborts infini-gram's process) is timed on anygram alone.

Examples (from the repo root)::

    python benchmarks/bench_lm.py                       # u8 and u16, both engines
    python benchmarks/bench_lm.py --kinds u16 --queries 200 --timed 50
    python benchmarks/bench_lm.py --score --kinds u16   # score() vs infgram_prob per position
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path
from typing import Any

import _common as C
import numpy as np
from bench_count import open_engine, token_stream

CONFIGS = ("ig-best", "ag-mmap", "ag-ram")
PROB_LENGTHS = (1, 2, 4, 8, 16)
NTD_LENGTHS = (1, 2, 4, 8, 16)
NTD_TIMED = ("1", "2", "16")
CONTEXT = 100
TOL = 1e-9


def doc_windows(toks: np.ndarray, sep: int, n: int, count: int, rng) -> list[tuple[list[int], int]]:
    """``count`` (prompt, position after it) pairs: n tokens inside one document."""
    out: list[tuple[list[int], int]] = []
    while len(out) < count:
        p = int(rng.integers(1, len(toks) - n))
        g = toks[p : p + n]
        if np.any(g == sep):
            continue
        out.append(([int(x) for x in g], p + n))
    return out


def next_id(toks: np.ndarray, at: int, sep: int, eos: int) -> int:
    return eos if at >= len(toks) or int(toks[at]) == sep else int(toks[at])


def make_queries(kind: str, toks: np.ndarray, heldout: list[list[int]], args) -> dict:
    k = C.KINDS[kind]
    sep, eos = k["sep"], k["ig_eos"]
    rng = np.random.default_rng(args.seed)
    q: dict[str, list[tuple[str, list[int], int | None]]] = {}
    per = -(-args.queries // len(PROB_LENGTHS))
    q["prob"] = [
        (str(n), w, next_id(toks, at, sep, eos))
        for n in PROB_LENGTHS
        for w, at in doc_windows(toks, sep, n, per, rng)
    ]
    # twice as many: the 1- and 2-token prompts are mostly above max_support (not compared)
    per = -(-2 * args.queries // len(NTD_LENGTHS))
    q["ntd"] = [
        (str(n), w, None) for n in NTD_LENGTHS for w, _ in doc_windows(toks, sep, n, per, rng)
    ]
    long_docs = [d for d in heldout if len(d) > CONTEXT]
    ctx = []
    for _ in range(args.queries):
        d = long_docs[int(rng.integers(0, len(long_docs)))]
        p = int(rng.integers(0, len(d) - CONTEXT))
        ctx.append((str(CONTEXT), d[p : p + CONTEXT], d[p + CONTEXT]))
    q["infgram_prob"] = ctx
    q["infgram_ntd"] = [(g, w, None) for g, w, _ in ctx]
    # Known-defect probes: suffixes of the shard's last document (infini-gram's P(eos)=1 bug).
    last = toks[int(np.nonzero(toks == sep)[0][-1]) + 1 :]
    q["ntd_last_doc"] = [
        ("last-doc", [int(x) for x in last[-n:]], None)
        for n in (1, 2, 3, 4, 6, 8)
        if n <= len(last)
    ]
    return q


def call(eng, qtype: str, ids: list[int], cont: int | None, max_support: int) -> dict:
    if qtype == "prob":
        return eng.prob(ids, cont)
    if qtype == "infgram_prob":
        return eng.infgram_prob(ids, cont)
    if qtype in ("ntd", "ntd_last_doc"):
        return eng.ntd(ids, max_support=max_support)
    return eng.infgram_ntd(ids, max_support=max_support)


def dist(r: dict) -> dict[int, tuple[int, float]]:
    return {int(t): (v["cont_cnt"], v["prob"]) for t, v in r["result_by_token_id"].items()}


def compare(qtype: str, ig: dict, ag: dict, cont: int | None, eos: int, exact: bool) -> str | None:
    """None when equal, else a short description of the difference. Distributions are compared
    when infini-gram's is ``exact``; otherwise only its ``P(eos) = 1`` defect is checked."""
    if "error" in ig:
        return f"infini-gram error: {ig['error']}"
    diffs = []
    for key in ("prompt_cnt", "cont_cnt", "suffix_len"):
        if key in ig and ig[key] != ag[key]:
            diffs.append(f"{key} {ig[key]} vs {ag[key]}")
    if "prob" in ig and abs(ig["prob"] - ag["prob"]) > TOL:
        diffs.append(f"prob {ig['prob']:.6g} vs {ag['prob']:.6g}")
    if "result_by_token_id" in ig and not exact:
        if dist(ig).get(eos, (0, 0.0))[1] == 1.0 and dist(ag).get(eos, (0, 0.0))[1] != 1.0:
            diffs.append(f"sampled P(eos) 1 vs {dist(ag).get(eos, (0, 0.0))[1]:.4g}")
    elif "result_by_token_id" in ig:
        a, b = dist(ig), dist(ag)
        for t in sorted(set(a) | set(b)):
            ca, pa = a.get(t, (0, 0.0))
            cb, pb = b.get(t, (0, 0.0))
            if ca != cb or abs(pa - pb) > TOL:
                diffs.append(f"token {t}: {ca} ({pa:.4g}) vs {cb} ({pb:.4g})")
    if not diffs:
        return None
    msg = "; ".join(diffs[:6])
    if qtype in ("prob", "infgram_prob") and cont == eos:
        msg = "[ig counts literal eos only, not document ends] " + msg
    if "result_by_token_id" in ig and dist(ig).get(eos, (0, 0.0))[1] == 1.0:
        msg = "[ig P(eos)=1 bug: prompt ends the last document] " + msg
    return msg


def run_kind(kind: str, work: Path, corpus: Path, args) -> dict[str, Any]:
    k = C.KINDS[kind]
    dirs = C.index_dirs(work, kind)
    C.warm_page_cache(dirs.values())
    toks = token_stream(dirs, kind, list(C.ENGINES))
    import anygram

    ag0 = anygram.Index(str(dirs["anygram"]), eos_token_id=k["ig_eos"])
    with open(corpus / "heldout" / "heldout.jsonl", encoding="utf-8") as f:
        heldout = [ag0.tokenize(json.loads(line)["text"]) for line in f]
    queries = make_queries(kind, toks, heldout, args)
    engines = {}
    for c in CONFIGS:
        if c.startswith("ag"):
            kw = {"load_to_ram": True} if c == "ag-ram" else {}
            engines[c] = anygram.Index(str(dirs["anygram"]), eos_token_id=k["ig_eos"], **kw)
        else:
            engines[c] = open_engine(c, kind, dirs["infinigram"])
    ms = args.max_support
    parity: dict[str, Any] = {}
    for qtype, qs in queries.items():
        diffs, compared, approx, same_sample = [], 0, 0, 0
        for group, ids, cont in qs:
            ig = call(engines["ig-best"], qtype, ids, cont, ms)
            ag = call(engines["ag-ram"], qtype, ids, cont, ms)
            assert ag == call(engines["ag-mmap"], qtype, ids, cont, ms)
            exact = "result_by_token_id" not in ig or ig["prompt_cnt"] <= ms
            if exact:
                compared += 1
            else:
                approx += 1
                same_sample += dist(ig) == dist(ag)
            d = compare(qtype, ig, ag, cont, k["ig_eos"], exact)
            if d is not None:
                diffs.append({"group": group, "ids": ids[-12:], "cont": cont, "diff": d})
        parity[qtype] = {
            "queries": compared,
            "above_max_support": approx,
            "same_sample": same_sample,
            "differences": len(diffs),
            "listed": diffs[:20],
        }
        print(f"[{kind}] parity {qtype}: {compared} queries, {len(diffs)} differences", flush=True)

    # latency: --timed queries per group, --reps rounds, configurations rotating
    timing: dict[str, dict[str, dict[str, list[int]]]] = {}
    pc = time.perf_counter_ns
    gc.disable()
    try:
        for qtype in ("prob", "ntd", "infgram_prob", "infgram_ntd"):
            groups: dict[str, list] = {}
            for g, ids, cont in queries[qtype]:
                if qtype == "ntd" and g not in NTD_TIMED:
                    continue
                groups.setdefault(g, [])
                if len(groups[g]) < args.timed:
                    groups[g].append((ids, cont))
            for g, qs in groups.items():
                for qi, (ids, cont) in enumerate(qs):
                    for rep in range(args.reps):
                        s = (qi + rep) % len(CONFIGS)
                        for c in CONFIGS[s:] + CONFIGS[:s]:
                            t0 = pc()
                            call(engines[c], qtype, ids, cont, ms)
                            t1 = pc()
                            timing.setdefault(qtype, {}).setdefault(g, {}).setdefault(c, []).append(
                                t1 - t0
                            )
    finally:
        gc.enable()
    stats = {
        qt: {g: {c: C.summarize_ns(v) for c, v in byc.items()} for g, byc in byg.items()}
        for qt, byg in timing.items()
    }
    # anygram alone: the huge max_support that aborts infini-gram, exact and default
    top = int(np.bincount(toks[toks != k["sep"]].astype(np.int64)).argmax())
    extra = {}
    for label, kw in (
        ("ntd(top token, max_support=10**9)", {"max_support": 10**9}),
        ("ntd(top token, exact=True)", {"exact": True}),
        ("ntd(top token) default", {}),
    ):
        t0 = pc()
        r = engines["ag-ram"].ntd([top], **kw)
        extra[label] = {
            "ms": (pc() - t0) / 1e6,
            "prompt_cnt": r["prompt_cnt"],
            "distinct": len(r["result_by_token_id"]),
            "approx": r["approx"],
        }
    return {"parity": parity, "latency": stats, "anygram_only": extra, "top_token": top}


def render(results: dict, meta: dict) -> str:
    out = [
        f"LM query latency, µs (median / p99 over `--timed` queries × {meta['reps']} reps); "
        f"{meta['machine']['nproc']} CPUs, {meta['machine']['cpu_model']}; "
        f"infini-gram {meta['machine']['infini_gram']}, load average before "
        f"{meta['machine']['loadavg'][0]:.2f}",
        "",
    ]
    for kind, r in results.items():
        out.append(f"**{C.KINDS[kind]['label']}**")
        out.append("")
        rows = []
        for qt, byg in r["latency"].items():
            for g, byc in byg.items():
                ig = byc["ig-best"]
                row: list[Any] = [qt, g]
                for c in CONFIGS:
                    row.append(f"{C.fmt(byc[c]['median_us'])} / {C.fmt(byc[c]['p99_us'])}")
                ag = byc["ag-ram"]
                row.append(C.fmt(C.ratio(ag["median_us"], ig["median_us"]), 3))
                row.append(C.fmt(C.ratio(ag["p99_us"], ig["p99_us"]), 3))
                rows.append(row)
        out.append(
            C.md_table(["query", "prompt", *CONFIGS, "ag-ram/ig median", "ag-ram/ig p99"], rows)
        )
        out.append("")
        prow = [
            [qt, p["queries"], p["differences"], p["above_max_support"], p["same_sample"]]
            for qt, p in r["parity"].items()
        ]
        heads = ["parity", "compared exactly", "differences", "ig approx", "identical sample"]
        out.append(C.md_table(heads, prow))
        out.append("")
        for qt, p in r["parity"].items():
            for d in p["listed"][:5]:
                out.append(f"- {qt} `{d['ids']}` → {d['diff']}")
        for label, e in r["anygram_only"].items():
            out.append(
                f"- anygram {label} (token {r['top_token']}): {e['ms']:.1f} ms, "
                f"prompt_cnt {e['prompt_cnt']:,}, {e['distinct']} next tokens, approx {e['approx']}"
            )
        out.append("")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    C.add_common_args(p, reps_default=3, reps_help="timed calls per query and configuration")
    p.add_argument("--queries", type=int, default=1000, help="parity queries per type")
    p.add_argument("--timed", type=int, default=100, help="timed queries per type and group")
    p.add_argument("--max-support", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    return C.run_kinds_and_report(args, run_kind, render, "bench_lm")


# ----------------------------------------------------------------- score() (issue 3)


def _score_docs(ix: Any, docs: list[list[int]]) -> None:
    for d in docs:
        ix.score(d)


def _prob_per_position(ix: Any, docs: list[list[int]]) -> None:
    for d in docs:
        for i, t in enumerate(d):
            ix.infgram_prob(d[:i], t)


def _prob_per_position_100(ix: Any, docs: list[list[int]]) -> None:
    for d in docs:
        for i, t in enumerate(d):
            ix.infgram_prob(d[max(0, i - CONTEXT) : i], t)


def score_case(kind: str, work: Path, corpus: Path, args) -> dict[str, Any]:
    """``score()`` per token against ``infgram_prob`` once per position, anygram alone: the first
    ``--score-doc-tokens`` tokens of held-out documents until ``--score-tokens`` tokens, each
    document scored whole (one call) and token by token with its full preceding context
    (``ctx=all``) or the last 100 tokens of it (``ctx=100``, the other queries' context
    length); one untimed warm-up round, then ``--reps`` rounds, each method over all documents
    in turn, the order rotating, GC off. Every position's answer of ``score()`` is checked equal
    to ``infgram_prob``'s (full context) first."""
    import anygram

    dirs = C.index_dirs(work, kind)
    C.warm_page_cache([dirs["anygram"]])
    out: dict[str, Any] = {}
    for label, kw in (("ag-mmap", {}), ("ag-ram", {"load_to_ram": True})):
        ix = anygram.Index(str(dirs["anygram"]), **kw)
        docs: list[list[int]] = []
        total = 0
        with open(corpus / "heldout" / "heldout.jsonl", encoding="utf-8") as f:
            for line in f:
                if total >= args.score_tokens:
                    break
                ids = ix.tokenize(json.loads(line)["text"])[: args.score_doc_tokens]
                docs.append(ids)
                total += len(ids)
        mismatches = 0
        for d in docs:
            r = ix.score(d)
            for i, t in enumerate(d):
                p = ix.infgram_prob(d[:i], t)
                got = (r["prob"][i], r["prompt_cnt"][i], r["cont_cnt"][i], r["suffix_len"][i])
                mismatches += got != (p["prob"], p["prompt_cnt"], p["cont_cnt"], p["suffix_len"])
        pc = time.perf_counter_ns

        # Method-major rounds, the order rotating from round to round: each method runs over
        # all documents at once, so none inherits caches the other just warmed on the same
        # document (interleaving per document favoured whichever ran second).
        methods = [
            ("score", _score_docs),
            ("infgram_prob ctx=all", _prob_per_position),
            ("infgram_prob ctx=100", _prob_per_position_100),
        ]
        ns = {name: 0 for name, _ in methods}
        gc.disable()
        try:
            _score_docs(ix, docs)  # warm-up round, not timed
            _prob_per_position(ix, docs)
            for rep in range(args.reps):
                for name, fn in methods[rep % 3 :] + methods[: rep % 3]:
                    t0 = pc()
                    fn(ix, docs)
                    ns[name] += pc() - t0
        finally:
            gc.enable()
        n = total * args.reps
        us = {k: v / n / 1e3 for k, v in ns.items()}
        effn = [e for d in docs for e in ix.score(d)["effective_n"]]
        out[label] = {
            "documents": len(docs),
            "tokens": total,
            "mismatches": mismatches,
            "us_per_token": us,
            "speedup_vs_ctx_all": us["infgram_prob ctx=all"] / us["score"],
            "speedup_vs_ctx_100": us["infgram_prob ctx=100"] / us["score"],
            "mean_effective_n": sum(effn) / max(1, len(effn)),
        }
        print(f"[{kind}] score {label}: {out[label]}", flush=True)
    return out


def render_score(results: dict, meta: dict) -> str:
    rows = []
    for kind, byc in results.items():
        for c, r in byc.items():
            us = r["us_per_token"]
            rows.append(
                [
                    C.KINDS[kind]["label"],
                    c,
                    f"{r['tokens']:,} ({r['documents']} docs)",
                    C.fmt(us["score"], 2),
                    C.fmt(us["infgram_prob ctx=all"], 2),
                    C.fmt(us["infgram_prob ctx=100"], 2),
                    f"{r['speedup_vs_ctx_all']:.1f}× / {r['speedup_vs_ctx_100']:.1f}×",
                    r["mismatches"],
                ]
            )
    heads = [
        "index",
        "open",
        "held-out tokens",
        "score() µs/token",
        "infgram_prob µs/token (ctx all)",
        "(ctx 100)",
        "speed-up",
        "mismatches",
    ]
    return (
        f"score() per token, {meta['reps']} reps; {meta['machine']['nproc']} CPUs, "
        f"load average before {meta['machine']['loadavg'][0]:.2f}\n\n" + C.md_table(heads, rows)
    )


def main_score() -> int:
    import sys

    p = argparse.ArgumentParser(description=score_case.__doc__)
    C.add_common_args(p, reps_default=3, reps_help="rounds over the held-out tokens")
    p.add_argument("--score-tokens", type=int, default=20_000)
    p.add_argument("--score-doc-tokens", type=int, default=1_000)
    args = p.parse_args([a for a in sys.argv[1:] if a != "--score"])
    return C.run_kinds_and_report(args, score_case, render_score, "bench_lm_score")


if __name__ == "__main__":
    import sys

    # `--score`: the score() case alone (anygram only, no infini-gram needed).
    raise SystemExit(main_score() if "--score" in sys.argv[1:] else main())
