"""The command line's argument parser class and value types: every usage error is reported as
``anygram: error: ...`` with exit code 2, and numbers out of range are refused when parsed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = [
    "Parser",
    "UsageError",
    "nonneg",
    "nonneg_float",
    "port",
    "positive",
    "positive_float",
    "share",
]


class UsageError(Exception):
    """A command line that makes no sense: reported with the usage line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """Usage errors as ``anygram: error: COMMAND: ...`` with exit code 2, like every other
    error of the command line."""

    def report(self, message: str) -> None:
        """The usage line, then the error."""
        self.print_usage(sys.stderr)
        command = self.prog.removeprefix("anygram").strip()
        print(f"anygram: error: {command + ': ' if command else ''}{message}", file=sys.stderr)

    def error(self, message: str) -> NoReturn:
        self.report(message)
        self.exit(2)


def _number(kind: Callable[[str], Any], low: float, strict: bool, what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not (value > low if strict else value >= low):  # NaN is refused too
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


positive = _number(int, 0, True, "a positive integer")
nonneg = _number(int, 0, False, "a non-negative integer")
positive_float = _number(float, 0.0, True, "a positive number")
nonneg_float = _number(float, 0.0, False, "a non-negative number")


def share(text: str) -> float:
    value: float = nonneg_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share (0 to 1)")
    return value


def port(text: str) -> int:
    value: int = nonneg(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return value


def add_input_arguments(p: Any, *, metadata: bool = True) -> None:
    """How input files are read and indexed: the options ``build``, ``plan``, ``add`` and
    ``dedup`` share (one definition, so they read inputs alike)."""
    p.add_argument("--text-field", default="text", help="JSON field / Parquet column of the text")
    if metadata:
        p.add_argument(
            "--metadata-fields",
            nargs="*",
            default=None,
            help="fields kept as metadata (default: all)",
        )
    p.add_argument("--mem-budget", default="8GiB", help="memory for indexing (default 8GiB)")
    p.add_argument("--workers", type=positive, default=None, help="threads (default: all cores)")
    p.add_argument(
        "--on-error",
        choices=["fail", "skip"],
        default="fail",
        help="malformed documents: stop (default) or skip and report",
    )
    p.add_argument(
        "--glob",
        dest="file_glob",
        default=None,
        help="in directories, take files matching this name pattern (e.g. '*.py')",
    )
    p.add_argument(
        "--exclude",
        nargs="*",
        default=(),
        help="skip paths (relative to an input directory) matching these patterns",
    )
    p.add_argument(
        "--format",
        choices=["text", "jsonl", "parquet"],
        default=None,
        help="read every input file in this format (default: by suffix; unknown suffixes are "
        "text, one document per file)",
    )
