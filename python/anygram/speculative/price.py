"""What a drafted token costs on the model at hand, which sets a :class:`Drafter`'s ``min_prob``.

A forward pass of ``n`` tokens costs about ``a + b n``; a one-token decoding step ``a + b``. A
drafted token adds ``b``, i.e. ``price = b / (a + b)`` of a step, and pays only if the model
accepts it with a chance above that price times the tokens per step-cost that drafts already
reach. On this project's 2-core CPU the price is about 0.7 for SmolLM2-135M in Q4_1, and in Q8_0 1.0
for a one-token draft but 0.4 per token of a long one (llama.cpp's batched kernels); on a GPU it
is far lower: so it is measured, not assumed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["RATE", "draft_price", "measure_draft_price", "min_prob_for"]

# Tokens per unit of step cost that index drafts reach (1.0-1.4 in the benchmark): a drafted
# token pays when its acceptance chance exceeds price * RATE. The best threshold in replays of
# the benchmark's prompts moves with the machine: 1.1-1.3 times a price of ~0.7 on an AVX2
# build, 1.8 times a price of 0.33 on an AVX-512 one (benchmarks/RESULTS.md, issue 16: there
# 1.2 times gives 1.30x against the best 1.39x on code), because the corpus' counts overstate
# how often the model agrees, most at low thresholds. Pass min_prob to override.
RATE = 1.2


def draft_price(seconds: Mapping[int, float]) -> float:
    """What a drafted token costs as a share of a one-token pass, from ``{n: seconds of a
    forward pass of n tokens}`` (n = 1 and at least one more size): for each batch of
    ``n > 1`` tokens its cost over a one-token pass per drafted token, averaged over the
    sizes, clipped to [0.01, 1]. For passes costing ``a + b n`` that is ``b / (a + b)``;
    llama.cpp's Q8_0 batches are not linear (a 2-token pass costs as much as two 1-token
    passes on this CPU, a 9-token one 4.7), hence several sizes: a short draft and a long
    one."""
    if 1 not in seconds or len(seconds) < 2 or min(seconds) < 1 or seconds[1] <= 0:
        raise InvalidArgumentError(
            "draft_price needs the time of a one-token pass and of a larger one"
        )
    one = seconds[1]
    shares = [(t - one) / ((n - 1) * one) for n, t in seconds.items() if n > 1]
    return float(min(1.0, max(0.01, float(np.mean(shares)))))


def measure_draft_price(
    forward: Callable[[Sequence[int], int, bool], Any],
    context: Sequence[int],
    *,
    sizes: Sequence[int] = (1, 2, 9),
    reps: int = 7,
) -> float:
    """Times forward passes of each size (logits for every token, as a verification batch
    asks) after ``context`` (at most its first 64 tokens are used) and returns the median over
    ``reps`` rounds of each round's :func:`draft_price`. A round's passes run back to back, so
    a load that comes and goes scales them alike: taking each size's least time separately
    instead gave prices from 0.23 to 0.52 for the same model on a shared 2-core machine. The
    passes go after the context in the model's cache; a generation that starts at position 0
    drops them."""
    ctx = [int(t) for t in context][:64] or [0]
    forward(ctx, 0, True)
    prices: list[float] = []
    for _ in range(max(1, reps)):
        round_seconds: dict[int, float] = {}
        for n in sizes:
            ids = (ctx * (n // len(ctx) + 1))[:n]
            t0 = time.perf_counter()
            forward(ids, len(ctx), False)
            round_seconds[n] = time.perf_counter() - t0
        prices.append(draft_price(round_seconds))
    return float(np.median(prices))


def min_prob_for(price: float, rate: float = RATE) -> float:
    """The ``min_prob`` for a measured price: ``price * rate``, kept in [0.05, 0.95] (below,
    drafts grow to their length limit; above, a draft would need certainty)."""
    return float(min(0.95, max(0.05, price * rate)))
