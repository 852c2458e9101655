"""A neural stand-in for CLI tests (``--neural tests/lm/toy_neural.py:make``): a uniform-ish
byte model that prefers letters, deterministic."""

from __future__ import annotations

import numpy as np


def make() -> object:
    row = np.full(256, -8.0)
    row[ord("a") : ord("z") + 1] = -2.0
    row[ord(" ")] = -1.0

    def model(ids: np.ndarray) -> np.ndarray:
        return np.tile(row, (len(ids), 1))

    return model
