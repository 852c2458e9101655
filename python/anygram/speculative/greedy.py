"""Greedy generation with drafts verified in one batch, over any model behind a small
``forward`` interface; with no drafter it is plain greedy decoding, token by token.

``forward(ids, n_past, last_only) -> rows``: the model keeps a cache of the context; the call
drops every cached position from ``n_past`` on, appends ``ids`` there, and returns the
next-token logits after each appended position (a ``(len(ids), V)`` array), or only after the
last one (``(1, V)``) when ``last_only``. :class:`~anygram.speculative.llama_loop.LlamaForward`
is one over llama.cpp. Draft tokens the model agrees with are kept, the first disagreement is
replaced by the model's token, so the output is the model's greedy output whenever batched and
one-token logits agree (exactly for a deterministic model; llama.cpp rounds batches
differently, which can flip near-ties).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .drafter import Drafter

__all__ = ["Forward", "generate_greedy"]

Forward = Callable[[Sequence[int], int, bool], Any]


def _pick(row: np.ndarray) -> tuple[int, float]:
    """The greedy token (ties to the smaller id) and its margin over the runner-up."""
    best = int(np.argmax(row))
    if row.shape[0] < 2:
        return best, float("inf")
    top2 = np.partition(row, -2)[-2:]
    return best, float(top2[1] - top2[0])


def generate_greedy(
    forward: Forward,
    prompt: Sequence[int],
    max_new_tokens: int,
    *,
    drafter: Drafter | None = None,
    eos_token_id: int | None = None,
) -> dict[str, Any]:
    """Greedy continuation of ``prompt``, verifying the drafter's drafts in batches.

    Returns ``{token_ids, gaps, steps, drafted, accepted, draft_seconds, forward_seconds,
    prefill_seconds, prefill_cpu_seconds}`` (the prompt's forward pass, wall and CPU time):
    ``gaps[i]`` is the top-2 logit margin of the row that chose ``token_ids[i]``; ``steps`` the
    model calls after the prompt; ``drafted`` / ``accepted`` the draft tokens proposed and
    kept."""
    prompt = [int(t) for t in prompt]
    out: list[int] = []
    gaps: list[float] = []
    stats = {"steps": 0, "drafted": 0, "accepted": 0, "draft_seconds": 0.0, "forward_seconds": 0.0}
    stats.update(prefill_seconds=0.0, prefill_cpu_seconds=0.0)

    def run(ids: Sequence[int], n_past: int, last_only: bool) -> np.ndarray:
        t0 = time.perf_counter()
        rows = np.asarray(forward(ids, n_past, last_only))
        stats["forward_seconds"] += time.perf_counter() - t0
        return rows

    def done() -> bool:
        return len(out) >= max_new_tokens or (eos_token_id is not None and out[-1] == eos_token_id)

    if max_new_tokens <= 0 or not prompt:
        return {"token_ids": out, "gaps": gaps, **stats}
    t0, c0 = time.perf_counter(), time.process_time()
    nxt, gap = _pick(run(prompt, 0, True)[-1])
    stats["prefill_seconds"] = time.perf_counter() - t0
    stats["prefill_cpu_seconds"] = time.process_time() - c0
    n_past = len(prompt)
    while True:
        out.append(nxt)
        gaps.append(gap)
        if done():
            break
        draft: list[int] = []
        if drafter is not None:
            t0 = time.perf_counter()
            draft = drafter.draft(prompt + out)[: max_new_tokens - len(out)]
            stats["draft_seconds"] += time.perf_counter() - t0
        rows = run([nxt, *draft], n_past, not draft)
        stats["steps"] += 1
        stats["drafted"] += len(draft)
        kept = 0
        for i, d in enumerate(draft):
            g, gap = _pick(rows[i])
            if g != d:
                break
            out.append(d)
            gaps.append(gap)
            kept += 1
            if done():
                break
        stats["accepted"] += kept
        if done():
            break
        nxt, gap = _pick(rows[kept] if draft else rows[-1])
        n_past += 1 + kept
    return {"token_ids": out, "gaps": gaps, **stats}
