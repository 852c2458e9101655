"""The report of ``anygram dedup`` (JSON and a self-contained HTML page, drawn like the
contamination report) and its command line.

The report counts per source file the documents touched, emptied and dropped and the bytes
removed (with the share of the file's text when the files were written), the histogram of the
removed ranges' lengths (bytes, bins doubling from ``min_len``), and the most repeated spans
(occurrences within one shard of the index, at least ``min_len`` tokens, shown decoded).
"""

from __future__ import annotations

import base64
import html
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cli_args import add_input_arguments, nonneg, positive
from .contamination import _CSS
from .errors import InvalidArgumentError
from .tokenizers import Tokenizer

__all__ = ["add_parser", "render_html", "report", "run"]

#: Documents whose metadata is read per engine call.
_META_BATCH = 4096


def _histogram(lengths: Sequence[int], min_len: int) -> dict[str, list[int]]:
    """Counts of ``lengths`` in bins ``[min_len * 2^i, min_len * 2^(i+1))``."""
    edges = [min_len]
    top = max(lengths, default=min_len)
    while edges[-1] <= top:
        edges.append(edges[-1] * 2)
    counts = [0] * (len(edges) - 1)
    for n in lengths:
        i = max(0, min(len(counts) - 1, (max(n, min_len) // min_len).bit_length() - 1))
        counts[i] += 1
    return {"edges": edges, "counts": counts}


def report(
    run: Any,
    corpus: Path,
    tok: Tokenizer,
    *,
    min_len: int,
    keep: str,
    against: Any,
) -> dict[str, Any]:
    """The ranges of a finished ``_core.Dedup`` run with their documents' source, per-file
    counts, the length histogram and the most repeated spans."""
    from .index import Index

    docs, lens, ranges = run.ranges()
    index = Index(corpus)
    documents: list[dict[str, Any]] = []
    files: dict[str, dict[str, Any]] = {}
    for at in range(0, len(docs), _META_BATCH):
        chunk = docs[at : at + _META_BATCH]
        for i, d in enumerate(index.get_docs_by_ixs(chunk, 0)):
            k = at + i
            meta = json.loads(d["metadata"])
            rs = [[a, b] for a, b in ranges[k]]
            removed = sum(b - a for a, b in rs)
            documents.append(
                {
                    "doc": docs[k],
                    "path": meta.get("path"),
                    "linenum": meta.get("linenum"),
                    "len": lens[k],
                    "ranges": rs,
                }
            )
            f = files.setdefault(
                str(meta.get("path")), {"docs_changed": 0, "docs_emptied": 0, "bytes_removed": 0}
            )
            f["docs_changed"] += 1
            f["docs_emptied"] += removed == lens[k]
            f["bytes_removed"] += removed
    lengths = [b - a for d in documents for a, b in d["ranges"]]
    spans = []
    for count, length, ids in run.spans():
        try:
            text: str | None = tok.decode(list(ids))
        except Exception:  # a custom tokenizer may not decode; the ids are still reported
            text = None
        spans.append({"count": count, "tokens": length, "text": text})
    return {
        "index": [str(corpus)],
        "min_len": min_len,
        "keep": keep,
        "mode": "decontaminate" if against is not None else "dedup",
        "against": None if against is None else [str(a) for a in _as_list(against)],
        "tokenizer": tok.describe(),
        "summary": {
            "docs_changed": len(documents),
            "docs_emptied": sum(f["docs_emptied"] for f in files.values()),
            "bytes_removed": sum(lengths),
            "ranges": len(lengths),
        },
        "files": files,
        "histogram": _histogram(lengths, min_len),
        "top_spans": spans,
        "documents": documents,
    }


def _as_list(x: Any) -> list[Any]:
    return [x] if isinstance(x, (str, Path)) else list(x)


def _plot_png(hist: dict[str, list[int]]) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    edges, counts = hist["edges"], hist["counts"]
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.bar(range(len(counts)), counts, color="#4a7bd0", edgecolor="white")
    ax.set_xticks(
        range(len(counts)), [f"{edges[i]}–{edges[i + 1] - 1}" for i in range(len(counts))]
    )
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.set_xlabel("removed range length (bytes)")
    ax.set_ylabel("ranges")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plot_css(hist: dict[str, list[int]]) -> str:
    edges, counts = hist["edges"], hist["counts"]
    top = max(counts, default=0) or 1
    bars = [
        f'<div class="bar" title="{edges[i]}–{edges[i + 1] - 1} bytes: {c}">'
        f'<span class="n">{c}</span><div style="height:{round(150 * c / top)}px"></div>'
        f'<span class="x">{edges[i]}</span></div>'
        for i, c in enumerate(counts)
    ]
    return '<div class="hist">' + "".join(bars) + "</div>"


def render_html(rep: dict[str, Any], plot: str = "auto") -> str:
    """A self-contained HTML page of a dedup report; ``plot`` as in the contamination report
    (``"auto"``: a matplotlib PNG if installed, else CSS bars; ``"png"``; ``"css"``)."""
    png = _plot_png(rep["histogram"]) if plot in ("auto", "png") else None
    if plot == "png" and png is None:
        raise InvalidArgumentError("plot='png' needs matplotlib: pip install 'anygram[plot]'")
    hist = (
        f'<img alt="histogram of removed lengths" src="data:image/png;base64,{png}">'
        if png
        else _plot_css(rep["histogram"])
    )
    esc = html.escape
    s = rep["summary"]
    file_rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{f.get('docs', '')}</td><td>{f['docs_changed']}</td>"
        f"<td>{f['docs_emptied']}</td><td>{f.get('docs_dropped', '')}</td>"
        f"<td>{f['bytes_removed']:,}</td><td>"
        + (f"{f['removed_share']:.2%}" if "removed_share" in f else "")
        + "</td></tr>"
        for name, f in sorted(rep["files"].items())
    )
    span_rows = "".join(
        f'<tr><td>{sp["count"]}</td><td>{sp["tokens"]}</td><td><div class="text">'
        f"{esc(sp['text'] if sp['text'] is not None else '(not decodable)')}</div></td></tr>"
        for sp in rep["top_spans"]
    )
    what = (
        f"substrings of at least {rep['min_len']} tokens also found in "
        f"{esc(', '.join(rep['against'] or []))}"
        if rep["mode"] == "decontaminate"
        else f"substrings of at least {rep['min_len']} tokens repeated in the corpus "
        f"(keep: {esc(rep['keep'])})"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>anygram dedup report</title>
<style>{_CSS}</style></head><body>
<h1>Dedup report</h1>
<p>Removed: {what}.</p>
<table><tr><th>documents changed</th><th>emptied</th><th>ranges</th><th>bytes removed</th></tr>
<tr><td>{s["docs_changed"]:,}</td><td>{s["docs_emptied"]:,}</td><td>{s["ranges"]:,}</td>
<td>{s["bytes_removed"]:,}</td></tr></table>
<h2>Removed range lengths</h2>
{hist}
<h2>Per source file</h2>
<table><tr><th>file</th><th>documents</th><th>changed</th><th>emptied</th><th>dropped</th>
<th>bytes removed</th><th>share of text</th></tr>{file_rows}</table>
<h2>Most repeated spans</h2>
<p>Occurrences within one shard of the index; spans shown up to 200 tokens.</p>
<table><tr><th>occurrences</th><th>tokens</th><th>text</th></tr>{span_rows}</table>
</body></html>
"""


def add_parser(sub: Any) -> None:
    """The ``anygram dedup`` subcommand."""
    p = sub.add_parser(
        "dedup",
        help="remove repeated substrings (or evaluation text, --against) from training data",
        description=(
            "Removes every substring of at least --min-len tokens (bytes by default) that occurs "
            "more than once in the inputs, within or across documents, from every occurrence but "
            "the first (--keep first) or from all (--keep none, as Lee et al.'s tool). With "
            "--against, removes instead what also occurs in the evaluation sets. Writes each "
            "input in its own format (JSONL/.gz/.zst, Parquet, text) under OUT with every other "
            "field kept, plus dedup-report.json; --report-only writes the byte ranges per "
            "document (JSONL) to OUT instead. OUT appears only once complete."
        ),
    )
    p.add_argument("inputs", nargs="+", help="files or directories (walked recursively)")
    p.add_argument("-o", "--output", required=True, help="output directory (or JSONL file)")
    p.add_argument("--min-len", type=positive, default=50, help="shortest substring removed (50)")
    p.add_argument(
        "--keep",
        choices=["first", "none"],
        default="first",
        help="which occurrence of a repeat survives: the first (default) or none",
    )
    p.add_argument("--tokenizer", default=None, help="'bytes' (default) or a tokenizer file")
    p.add_argument(
        "--against",
        nargs="+",
        default=None,
        metavar="INDEX_OR_FILE",
        help="decontaminate: remove what occurs in these evaluation sets (an index or files)",
    )
    p.add_argument("--index", default=None, help="an existing index of exactly these inputs")
    empty = p.add_mutually_exclusive_group()
    empty.add_argument(
        "--drop-empty",
        dest="drop_empty",
        action="store_true",
        default=True,
        help="drop documents left empty (the default)",
    )
    empty.add_argument(
        "--keep-empty",
        dest="drop_empty",
        action="store_false",
        help="keep documents left empty (default: drop them)",
    )
    p.add_argument("--report-only", action="store_true", help="write the ranges, not the data")
    p.add_argument("--html", default=None, help="also write the HTML report here")
    add_input_arguments(p, metadata=False)
    p.add_argument("--top-spans", type=nonneg, default=20, help="most repeated spans reported")
    p.add_argument("--work-dir", default=None, help="where the temporary index goes")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier dedup output")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: Any) -> int:
    """Runs ``anygram dedup`` from parsed arguments."""
    from .dedup import dedup

    rep = dedup(
        args.inputs,
        args.output,
        min_len=args.min_len,
        keep=args.keep,
        tokenizer=args.tokenizer,
        against=args.against,
        index=args.index,
        drop_empty=args.drop_empty,
        report_only=args.report_only,
        text_field=args.text_field,
        mem_budget=args.mem_budget,
        workers=args.workers,
        on_error=args.on_error,
        file_glob=args.file_glob,
        exclude=args.exclude,
        input_format=args.format,
        overwrite=args.overwrite,
        top_spans=args.top_spans,
        work_dir=args.work_dir,
        quiet=args.quiet,
    )
    if args.html:
        Path(args.html).write_text(render_html(rep), "utf-8")
    s = rep["summary"]
    print(
        f"{s['docs_changed']:,} documents changed ({s['docs_emptied']:,} emptied), "
        f"{s['bytes_removed']:,} bytes removed in {s['ranges']:,} ranges -> {args.output}",
        file=sys.stderr if args.quiet else sys.stdout,
    )
    return 0
