"""``anygram eval``: the ∞-gram model on held-out text. Next-token accuracy (the argmax of
:meth:`Index.infgram_ntd`), accuracy and share of tokens by effective n, and perplexity.

Every token of every document is scored, the first one too (with the empty context, as
:meth:`Index.score` does). **Perplexity floor**: the ∞-gram probability of a token is 0 when it
never follows the longest matching suffix of its context, which would make perplexity
infinite; such tokens count with the probability ``floor`` instead, by default
``1 / (num_tokens + num_docs)`` — one occurrence among all the index's continuations. The share
of such tokens and the perplexity over the others are reported too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import _core
from .errors import InvalidArgumentError
from .index import Index
from .progress import progress as progress_bar

__all__ = ["buckets", "default_floor", "evaluate", "plot", "read_heldout"]


def read_heldout(paths: Sequence[str | Path], text_field: str = "text") -> list[str]:
    """Documents of held-out files: JSONL (one JSON object per line, text under
    ``text_field``), or any other file as one plain-text document."""
    docs: list[str] = []
    for p in map(Path, paths):
        if p.suffix == ".jsonl":
            with open(p, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    obj = json.loads(line)
                    if not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
                        raise InvalidArgumentError(f"{p}:{n}: no string field {text_field!r}")
                    docs.append(obj[text_field])
        else:
            docs.append(p.read_text(encoding="utf-8"))
    return docs


def default_floor(index: Index) -> float:
    """The probability a zero-probability token counts with: one occurrence among all the
    index's continuations, ``1 / (tokens + documents)``."""
    return 1.0 / max(1, index.num_tokens + index.num_docs)


def evaluate(
    index: Index,
    documents: Iterable[str | Sequence[int]],
    floor: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Accuracy, accuracy by effective n and perplexity of the ∞-gram model on ``documents``
    (texts or token-id sequences); see the module docstring for the floor.

    The argmax at a position is the most frequent token of ``infgram_ntd`` of the whole
    preceding context (:meth:`Index.next_token_summary`'s ``mode``: one engine call per
    document, positions on the thread pool). Documents longer than the engine's query limit are
    scored in pieces.
    """
    if floor is None:
        floor = default_floor(index)
    if not 0 < floor <= 1:
        raise InvalidArgumentError(f"floor must be in (0, 1], not {floor}")
    docs = [index.tokenize(d) if isinstance(d, str) else list(d) for d in documents]
    step = _core.MAX_QUERY_TOKENS
    pieces = [d[i : i + step] for d in docs for i in range(0, len(d), step)]
    total = sum(map(len, pieces))

    by_n: dict[int, list[int]] = {}  # effective n -> [tokens, correct]
    correct = zeros = 0
    log_sum = log_sum_nonzero = 0.0
    with progress_bar(total, "eval", unit="tok", quiet=not progress) as bar:
        for ids in pieces:
            r = index.score(ids)
            modes = index.next_token_summary(ids)["mode"]
            for t, p, n, mode in zip(ids, r["prob"], r["suffix_len"], modes, strict=True):
                hit = mode == t
                slot = by_n.setdefault(n + 1, [0, 0])
                slot[0] += 1
                slot[1] += hit
                correct += hit
                if p > 0:
                    log_sum += math.log(p)
                    log_sum_nonzero += math.log(p)
                else:
                    zeros += 1
                    log_sum += math.log(floor)
            bar.update(len(ids))
    return {
        "documents": len(docs),
        "tokens": total,
        "accuracy": correct / total if total else None,
        "perplexity": math.exp(-log_sum / total) if total else None,
        "floor": floor,
        "zero_prob_tokens": zeros,
        "zero_prob_share": zeros / total if total else None,
        "perplexity_nonzero": (
            math.exp(-log_sum_nonzero / (total - zeros)) if total > zeros else None
        ),
        "by_effective_n": {
            str(n): {"tokens": c[0], "share": c[0] / total, "accuracy": c[1] / c[0]}
            for n, c in sorted(by_n.items())
        },
    }


def buckets(result: dict[str, Any], last: int = 16) -> list[tuple[str, int, float, float]]:
    """``(label, tokens, share, accuracy)`` per effective n below ``last``, then one bucket
    ``"{last}+"`` for the long tail (rare and scattered one by one)."""
    rows: dict[str, list[int]] = {}
    for n, v in result["by_effective_n"].items():
        label = n if int(n) < last else f"{last}+"
        slot = rows.setdefault(label, [0, 0])
        slot[0] += v["tokens"]
        slot[1] += round(v["accuracy"] * v["tokens"])
    total = max(1, result["tokens"])
    return [(k, t, t / total, c / t) for k, (t, c) in rows.items()]


def plot(result: dict[str, Any], path: str | Path) -> bool:
    """Accuracy and share of tokens by effective n, as a PNG; False (nothing written) when
    matplotlib (the ``plot`` extra) is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = buckets(result)
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(xs, [r[2] for r in rows], color="#c6dbef", label="share of tokens")
    ax.plot(xs, [r[3] for r in rows], "o-", color="#08519c", label="accuracy")
    ax.set_xticks(list(xs), [r[0] for r in rows])
    ax.set_xlabel("effective n (longest matching suffix + 1)")
    ax.set_ylim(0, 1)
    ax.set_title(
        f"∞-gram next-token accuracy {result['accuracy']:.1%}, {result['tokens']:,} tokens"
        if result["accuracy"] is not None
        else "no tokens"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
