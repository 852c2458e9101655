"""The engine's sampler (shared by every generation path) refuses malformed input clearly."""

from __future__ import annotations

import math

import pytest
from anygram import _core
from anygram.errors import InvalidArgumentError


def test_sampler_draws_by_weight_and_ties_to_the_smaller_id() -> None:
    s = _core.Sampler(1)
    assert s.sample([5, 3, 9], [2.0, 2.0, 1.0], temperature=0) == 3
    assert s.sample([1], [0.0], temperature=1.0) is None
    draws = [s.sample([0, 1], [3.0, 1.0], temperature=1.0) for _ in range(4000)]
    assert abs(draws.count(0) / 4000 - 0.75) < 0.05


@pytest.mark.parametrize("temperature", [-1.0, math.nan, math.inf])
def test_bad_temperatures_are_refused(temperature: float) -> None:
    with pytest.raises(InvalidArgumentError):
        _core.Sampler(0).sample([1, 2], [1.0, 1.0], temperature=temperature)


def test_ids_and_weights_must_pair_up() -> None:
    with pytest.raises(InvalidArgumentError, match="2 ids but 1 weights"):
        _core.Sampler(0).sample([1, 2], [1.0], temperature=1.0)
