#!/usr/bin/env python3
"""``anygram contamination`` on a synthetic benchmark whose answer is known: 300-character items
cut from held-out documents (never indexed), from indexed documents, and half of each.

Items (seed ``--seed``): ``--heldout`` pieces of ``CORPUS/heldout/heldout.jsonl``, ``--indexed``
pieces of the first 2000 documents of each ``CORPUS/data/*.jsonl`` file, ``--mixed`` items of 150
indexed + 150 held-out characters. Reported per index: windows checked, the time of
:func:`anygram.contamination.check` (median of ``--reps``, after one warm-up run) and of
:func:`~anygram.contamination.render_html`, and the labels by item origin (indexed should be
dirty, mixed suspicious, held-out mostly clean).

Examples (from the repo root)::

    python benchmarks/bench_contamination.py --kinds both
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import _common as C

LEN = 300


def make_items(corpus: Path, args) -> list[dict[str, Any]]:
    rng = random.Random(args.seed)
    with open(corpus / "heldout" / "heldout.jsonl", encoding="utf-8") as f:
        held = [t for t in (json.loads(line)["text"] for line in f) if len(t) > LEN]
    indexed = []
    for path in sorted((corpus / "data").glob("*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= 2000:
                    break
                t = json.loads(line)["text"]
                if len(t) > LEN:
                    indexed.append(t)

    def piece(t: str, n: int) -> str:
        p = rng.randrange(0, len(t) - n)
        return t[p : p + n]

    items = []
    for origin, n in (("heldout", args.heldout), ("indexed", args.indexed), ("mixed", args.mixed)):
        for _ in range(n):
            if origin == "heldout":
                text = piece(rng.choice(held), LEN)
            elif origin == "indexed":
                text = piece(rng.choice(indexed), LEN)
            else:
                text = piece(rng.choice(indexed), LEN // 2) + piece(rng.choice(held), LEN // 2)
            items.append({"line": len(items) + 1, "id": f"{origin}-{len(items)}", "text": text})
    return items


def run_kind(kind: str, work: Path, items: list[dict[str, Any]], args) -> dict[str, Any]:
    import anygram
    from anygram import contamination

    index = anygram.Index(str(C.index_dirs(work, kind)["anygram"]))
    contamination.check(index, items, progress=False)
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        report = contamination.check(index, items, progress=False)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    contamination.render_html(report)
    html_s = time.perf_counter() - t0
    labels: dict[str, dict[str, int]] = {}
    for it in report["items"]:
        origin = it["id"].split("-")[0]
        labels.setdefault(origin, {}).setdefault(it["label"], 0)
        labels[origin][it["label"]] += 1
    return {
        "window": report["window"],
        "unit": report["unit"],
        "windows": sum(it["windows"] for it in report["items"]),
        "check_s": statistics.median(times),
        "html_s": html_s,
        "labels": labels,
    }


def render(results: dict[str, Any], n: int) -> str:
    lines = [
        f"# Contamination, {n} items of {LEN} characters",
        "",
        "| index | window | windows | check (s) | html (s) | labels by origin |",
        "|---|---|---|---|---|---|",
    ]
    for kind, r in results.items():
        lab = "; ".join(
            f"{o}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
            for o, c in r["labels"].items()
        )
        lines.append(
            f"| {C.KINDS[kind]['label']} | {r['window']} {r['unit']} | {r['windows']:,} | "
            f"{r['check_s']:.3f} | {r['html_s']:.3f} | {lab} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    C.add_common_args(p, reps_default=3, reps_help="timed runs of check() per index")
    p.add_argument("--heldout", type=int, default=500)
    p.add_argument("--indexed", type=int, default=200)
    p.add_argument("--mixed", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    work = args.work_dir.resolve()
    items = make_items(args.corpus.resolve(), args)
    results = {kind: run_kind(kind, work, items, args) for kind in C.kind_list(args.kinds)}
    meta = {"machine": C.machine_info(), "args": vars(args)}
    md = render(results, len(items))
    print(md)
    C.write_results(
        args.out or work / "bench_contamination.json", {"meta": meta, "results": results}, md
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
