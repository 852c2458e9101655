"""Benchmark contamination: how much of each benchmark item occurs verbatim in the corpus.

For every item (one JSONL line; its text is the chosen fields joined by newlines) the engine
checks every window of ``window`` units, one every ``stride``: UTF-8 characters on byte-level
indexes (default 50, infini-gram mini's setting), token n-grams otherwise (default 13 tokens). An
item shorter than the window is one window, the whole item. The item's **share** is the fraction
of its windows found in the corpus, and its label follows infini-gram mini's thresholds:

* ``dirty``: share >= 0.8
* ``suspicious``: 0.2 <= share < 0.8
* ``clean``: share < 0.2

Cost: one engine call per batch of items; each item is one creativity walk (about one
suffix-array search per position), which answers all its windows at once (a window ``[a, b)``
occurs iff the longest match from ``a`` reaches ``b``), items spread over the thread pool. For
dirty items, the longest matched spans (from :meth:`anygram.Index.attribute`) and the documents
holding them are reported.

Output: a JSON report (:func:`check`), and a self-contained HTML page (:func:`render_html`) with
a histogram of the shares (a PNG made by matplotlib when it is installed, embedded as base64;
otherwise bars in plain HTML/CSS).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .cli_args import nonneg, positive, share
from .errors import InvalidArgumentError
from .progress import progress as progress_bar

__all__ = [
    "DEFAULT_FIELDS",
    "DIRTY",
    "SUSPICIOUS",
    "add_parser",
    "check",
    "label",
    "load_items",
    "render_html",
    "run",
]

#: infini-gram mini's thresholds on the share of an item's windows found in the corpus.
DIRTY = 0.8
SUSPICIOUS = 0.2
#: Fields tried, in order, when none is named: the first one an item has is its text.
DEFAULT_FIELDS = ("text", "question", "prompt", "input", "problem", "query")
_BINS = 10


def label(share: float, dirty: float = DIRTY, suspicious: float = SUSPICIOUS) -> str:
    """``"dirty"``, ``"suspicious"`` or ``"clean"`` for a share of found windows."""
    if share >= dirty:
        return "dirty"
    if share >= suspicious:
        return "suspicious"
    return "clean"


def _text(rec: Any, fields: Sequence[str] | None) -> str:
    if not isinstance(rec, dict):
        return str(rec)
    names = list(fields) if fields else [next((f for f in DEFAULT_FIELDS if f in rec), "")]
    parts: list[str] = []
    for f in names:
        v = rec.get(f)
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            parts.extend(str(x) for x in v)
        else:
            parts.append(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
    return "\n".join(parts)


def load_items(path: str | os.PathLike[str], fields: Sequence[str] | None = None) -> list[dict]:
    """The items of a JSONL benchmark: ``{"line", "id", "text"}`` each (``id`` from an ``id``
    field if present). ``fields``: the fields joined into the text (default: the first of
    :data:`DEFAULT_FIELDS` an item has)."""
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise InvalidArgumentError(f"{path}:{n}: not JSON ({e})") from e
            rid = rec.get("id") if isinstance(rec, dict) else None
            items.append({"line": n, "id": rid, "text": _text(rec, fields)})
    return items


def _batches(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _matching_docs(index: Any, ids: Sequence[int], min_len: int, max_docs: int) -> list[dict]:
    """The longest spans of a dirty item found in the corpus, each with one document."""
    spans = index.attribute(
        ids, min_len=max(1, min(min_len, len(ids))), max_docs=1, rank_by="length"
    )["spans"][:max_docs]
    reqs = [(s["docs"][0]["s"], s["docs"][0]["ptr"]) for s in spans if s["docs"]]
    docs = index.get_docs_by_ptrs(reqs, 2 * min_len + 200) if reqs else []
    out = []
    for s, d in zip([s for s in spans if s["docs"]], docs, strict=True):
        out.append(
            {
                "span": [s["l"], s["r"]],
                "count": s["count"],
                "doc_ix": d["doc_ix"],
                "metadata": d["metadata"],
                "text": d.get("text"),
            }
        )
    return out


def check(
    index: Any,
    items: Sequence[dict],
    *,
    window: int | None = None,
    stride: int = 1,
    dirty: float = DIRTY,
    suspicious: float = SUSPICIOUS,
    max_docs: int = 3,
    batch_size: int = 256,
    progress: bool = True,
) -> dict[str, Any]:
    """Contamination report of ``items`` (from :func:`load_items`) against ``index``."""
    chars = getattr(index.tokenizer, "kind", None) == "bytes"
    if window is None:
        window = 50 if chars else 13
    for name, v in (("window", window), ("stride", stride), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidArgumentError(f"{name} must be a positive integer, not {v!r}")
    if not 0 <= suspicious <= dirty <= 1:
        raise InvalidArgumentError(
            f"thresholds must satisfy 0 <= suspicious <= dirty <= 1 (got {suspicious}, {dirty})"
        )
    bar = progress_bar(len(items), "contamination", unit="item", quiet=not progress)
    rows: list[dict[str, Any]] = []
    try:
        for chunk in _batches(items, batch_size):
            ids = index.tokenizer.encode_batch([it["text"] for it in chunk])
            cov = index._core.coverage_many(ids, window=window, stride=stride, chars=chars)
            for it, toks, c in zip(chunk, ids, cov, strict=True):
                n, found, longest = c["windows"], c["found"], c["longest"]
                share = found / n if n else 0.0
                row: dict[str, Any] = {
                    "line": it["line"],
                    "id": it["id"],
                    "share": share,
                    "windows": n,
                    "found": found,
                    "longest_match": longest,
                    "label": label(share, dirty, suspicious) if n else "clean",
                    "text": it["text"],
                }
                if row["label"] == "dirty":
                    row["documents"] = _matching_docs(index, toks, window, max_docs)
                rows.append(row)
            bar.update(len(chunk))
    finally:
        bar.close()
    counts = {k: sum(r["label"] == k for r in rows) for k in ("clean", "suspicious", "dirty")}
    hist = [0] * _BINS
    for r in rows:
        hist[min(_BINS - 1, int(r["share"] * _BINS))] += 1
    return {
        "index": [str(p) for p in getattr(index, "_paths", [])],
        "unit": "characters" if chars else "tokens",
        "window": window,
        "stride": stride,
        "thresholds": {"dirty": dirty, "suspicious": suspicious},
        "summary": {
            "items": len(rows),
            **counts,
            "mean_share": sum(r["share"] for r in rows) / len(rows) if rows else 0.0,
            "histogram": {"bins": [i / _BINS for i in range(_BINS + 1)], "counts": hist},
        },
        "items": rows,
    }


def _histogram_png(counts: list[int]) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    lefts = [i / _BINS for i in range(_BINS)]
    ax.bar(lefts, counts, width=1 / _BINS, align="edge", color="#4a7bd0", edgecolor="white")
    ax.set_xlabel("share of windows found in the corpus")
    ax.set_ylabel("items")
    ax.set_xlim(0, 1)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _histogram_css(counts: list[int]) -> str:
    top = max(counts) or 1
    bars = []
    for i, c in enumerate(counts):
        h = round(150 * c / top)
        bars.append(
            f'<div class="bar" title="{i / _BINS:.1f}–{(i + 1) / _BINS:.1f}: {c}">'
            f'<span class="n">{c}</span><div style="height:{h}px"></div>'
            f'<span class="x">{i / _BINS:.1f}</span></div>'
        )
    return '<div class="hist">' + "".join(bars) + "</div>"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f4f4f4}
.dirty{background:#fde2e2}.suspicious{background:#fff4d6}.clean{background:#e9f7ec}
.hist{display:flex;align-items:flex-end;gap:4px;height:190px;margin:1em 0}
.bar{display:flex;flex-direction:column;align-items:center;width:3em;font-size:.8em}
.bar div{width:100%;background:#4a7bd0}.text{white-space:pre-wrap;max-height:8em;overflow:auto}
.doc{border-left:3px solid #c55;padding-left:6px;margin-top:6px;font-size:.9em;color:#444}
.doc code{word-break:break-all}
"""


def render_html(report: dict[str, Any], plot: str = "auto") -> str:
    """A self-contained HTML page of a :func:`check` report. ``plot``: ``"auto"`` (matplotlib
    PNG if installed, else CSS bars), ``"png"`` or ``"css"``."""
    s = report["summary"]
    counts = s["histogram"]["counts"]
    png = _histogram_png(counts) if plot in ("auto", "png") else None
    if plot == "png" and png is None:
        raise InvalidArgumentError("plot='png' needs matplotlib: pip install 'anygram[plot]'")
    hist = (
        f'<img alt="histogram of shares" src="data:image/png;base64,{png}">'
        if png
        else _histogram_css(counts)
    )
    t = report["thresholds"]
    esc = html.escape
    rows = []
    for r in sorted(report["items"], key=lambda r: -r["share"]):
        docs = ""
        for d in r.get("documents", []):
            a, b = d["span"]
            docs += (
                f'<div class="doc">corpus document {d["doc_ix"]} <code>{esc(d["metadata"])}</code>'
                f" — match of {b - a} tokens, {d['count']} occurrences:"
                f'<div class="text">{esc(d.get("text") or "")}</div></div>'
            )
        rows.append(
            f'<tr class="{r["label"]}"><td>{r["line"]}</td><td>{esc(str(r["id"] or ""))}</td>'
            f"<td>{r['label']}</td><td>{r['share']:.1%}</td><td>{r['found']} / {r['windows']}"
            f'</td><td><div class="text">{esc(r["text"])}</div>{docs}</td></tr>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>anygram contamination report</title>
<style>{_CSS}</style></head><body>
<h1>Contamination report</h1>
<p>Index: {esc(", ".join(report["index"]))}<br>Benchmark: {esc(str(report.get("benchmark", "")))}
<br>Windows: {report["window"]} {report["unit"]}, stride {report["stride"]}. Labels: dirty if at
least {t["dirty"]:.0%} of an item's windows occur in the corpus, suspicious from
{t["suspicious"]:.0%}, clean below.</p>
<table><tr><th>items</th><th>clean</th><th>suspicious</th><th>dirty</th><th>mean share</th></tr>
<tr><td>{s["items"]}</td><td>{s["clean"]}</td><td>{s["suspicious"]}</td><td>{s["dirty"]}</td>
<td>{s["mean_share"]:.1%}</td></tr></table>
<h2>Share of windows found, per item</h2>
{hist}
<h2>Items (most contaminated first)</h2>
<table><tr><th>line</th><th>id</th><th>label</th><th>share</th><th>windows found</th>
<th>text / matching documents</th></tr>
{"".join(rows)}
</table></body></html>
"""


def add_parser(sub: Any) -> None:
    """The ``anygram contamination`` subcommand."""
    p = sub.add_parser(
        "contamination",
        help="share of each benchmark item found verbatim in the corpus (clean/suspicious/dirty)",
        description=(
            "For every benchmark item (one JSONL line), the share of its windows found verbatim "
            "in the corpus. A window is 50 characters on byte-level indexes and 13 tokens "
            "otherwise, one every --stride units; an item shorter than a window is one window. "
            "An item is dirty when the share is at least 0.8, suspicious from 0.2, and clean "
            "below (infini-gram mini's thresholds; see --dirty and --suspicious). Dirty items "
            "list their longest matched spans and the documents holding them."
        ),
    )
    p.add_argument("index", help="index directory")
    p.add_argument("benchmark", help="JSONL file, one item per line")
    p.add_argument(
        "--field",
        action="append",
        default=None,
        help=f"field holding the item's text (repeatable; default: first of {DEFAULT_FIELDS})",
    )
    p.add_argument(
        "--window",
        type=positive,
        default=None,
        help="window length: characters on byte-level indexes (default 50), else tokens (13)",
    )
    p.add_argument("--stride", type=positive, default=1, help="one window every STRIDE units")
    p.add_argument("--dirty", type=share, default=DIRTY, help="dirty from this share (0.8)")
    p.add_argument(
        "--suspicious", type=share, default=SUSPICIOUS, help="suspicious from this share (0.2)"
    )
    p.add_argument("--max-docs", type=nonneg, default=3, help="matching documents per dirty item")
    p.add_argument("--out", default=None, help="write the JSON report here")
    p.add_argument("--html", default=None, help="write the HTML report here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: Any) -> int:
    """Runs ``anygram contamination`` from parsed arguments."""
    from .index import Index

    index = Index(args.index)
    items = load_items(args.benchmark, args.field)
    report = check(
        index,
        items,
        window=args.window,
        stride=args.stride,
        dirty=args.dirty,
        suspicious=args.suspicious,
        max_docs=args.max_docs,
        progress=not args.quiet,
    )
    report["benchmark"] = str(Path(args.benchmark))
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
    if args.html:
        Path(args.html).write_text(render_html(report), "utf-8")
    s = report["summary"]
    print(
        f"{s['items']} items: {s['clean']} clean, {s['suspicious']} suspicious, "
        f"{s['dirty']} dirty (mean share {s['mean_share']:.1%}; windows of "
        f"{report['window']} {report['unit']})"
    )
    return 0
