"""Every engine error variant reaches Python as its own ``anygram.errors`` class."""

from __future__ import annotations

import pytest
from anygram import _core, errors


def test_every_engine_error_variant_has_an_example() -> None:
    variants, covered = _core._error_variants()
    assert variants == covered


@pytest.mark.parametrize("i", range(len(_core._error_examples())))
def test_each_variant_raises_its_class(i: int) -> None:
    name, message = _core._error_examples()[i]
    cls = getattr(errors, name)
    assert issubclass(cls, errors.AnygramError)
    assert name in errors.__all__
    with pytest.raises(cls) as info:
        _core._raise_error_example(i)
    assert type(info.value) is cls
    assert str(info.value) == message


def test_timeouts_are_builtin_timeouts() -> None:
    assert issubclass(errors.QueryTimeoutError, TimeoutError)
