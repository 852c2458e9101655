"""Long engine calls that Ctrl-C can stop.

Python delivers SIGINT to the main thread only when it runs Python code, and an engine call
that has released the GIL (sorting a shard: seconds) does not return until it is done; so Ctrl-C
used to take effect only afterwards, with the index finished. Here the call runs on a daemon
thread while the main thread waits in short slices: Ctrl-C raises at once, the engine is told to
stop (``cancel``: it never commits what it was doing), and the daemon thread does not hold up
the interpreter's exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["run_interruptible"]

T = TypeVar("T")

#: Seconds between checks for Ctrl-C (and progress updates) while the engine works.
POLL = 0.05


def run_interruptible(
    fn: Callable[..., T],
    *args: Any,
    cancel: Callable[[], None],
    tick: Callable[[], None] | None = None,
) -> T:
    """``fn(*args)``, run on a daemon thread; on Ctrl-C (KeyboardInterrupt in the waiting main
    thread) ``cancel()`` is called and the interrupt raised without waiting for ``fn``.
    ``tick`` runs every :data:`POLL` seconds meanwhile (for progress bars)."""
    result: list[T] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            result.append(fn(*args))
        except BaseException as e:  # handed to the waiting thread
            error.append(e)

    thread = threading.Thread(target=work, name="anygram-engine", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(POLL)
            if tick is not None:
                tick()
    except KeyboardInterrupt:
        cancel()
        raise
    if error:
        raise error[0]
    return result[0]
