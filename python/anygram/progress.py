"""Progress output for long phases (build, eval, contamination, interpolate).

On a terminal, a tqdm bar that redraws in place. Anywhere else (a log file, CI, a pipe) redrawing
writes a line per refresh full of carriage returns, so the phase is counted silently and one line
with its totals is printed when it ends.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["PhaseLine", "progress"]


def _amount(n: float, unit: str) -> str:
    if unit != "B":
        return f"{n:,.0f} {unit}"
    for prefix in ("", "Ki", "Mi", "Gi"):
        if n < 1024 or prefix == "Gi":
            return f"{n:,.1f} {prefix}B" if prefix else f"{n:,.0f} B"
        n /= 1024
    return f"{n:,.1f} GiB"  # pragma: no cover - the loop returns


class PhaseLine:
    """The part of a tqdm bar the phases use (``n``, ``total``, ``update``,
    ``set_postfix_str``, ``close``, a context manager), printing one line when closed."""

    def __init__(self, total: float | None, desc: str, unit: str, quiet: bool) -> None:
        self.n: float = 0
        self.total = total
        self.desc = desc
        self.unit = unit
        self.quiet = quiet
        self.postfix = ""
        self.start = time.perf_counter()
        self.closed = False

    def update(self, n: float = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def close(self) -> None:
        if self.closed or self.quiet:
            self.closed = True
            return
        self.closed = True
        done = _amount(self.n, self.unit)
        if self.total is not None and self.total != self.n:
            done += f" of {_amount(self.total, self.unit)}"
        extra = f" ({self.postfix})" if self.postfix else ""
        elapsed = time.perf_counter() - self.start
        print(f"{self.desc}: {done} in {elapsed:.1f} s{extra}", file=sys.stderr, flush=True)

    def __enter__(self) -> PhaseLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    total: float | None, desc: str, unit: str = "it", quiet: bool = False, **tqdm_args: Any
) -> Any:
    """A tqdm bar on stderr when it is a terminal, else a :class:`PhaseLine`."""
    if quiet or not sys.stderr.isatty():
        return PhaseLine(total, desc, unit, quiet)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, **tqdm_args)
