"""The cyclic garbage collector, paused while a bulk loop makes millions of objects.

Planning or committing a million records makes millions of short-lived objects (rows,
records, events), none of them in a reference cycle: reference counting frees each as
soon as it is done with. The cyclic collector still runs every few hundred
allocations, and each of its full passes walks every object the process holds; a host
holding a million parsed rows pays for walking them again and again (a third of the
time of applying a million changes, measured). :func:`collector_paused` switches the
collector off for the length of such a loop and back on after, when it was on before
the first of the loops running at once (in any thread) began.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["collector_paused"]

_lock = threading.Lock()
_running = 0  # loops in progress that paused the collector
_was_enabled = False  # whether it was on when the first of them began


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The block runs with the cyclic garbage collector off (reference counting still
    frees what it makes); it is on again after, if it was on before."""
    global _running, _was_enabled  # noqa: PLW0603 - one collector per process
    with _lock:
        if _running == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _was_enabled:
                gc.enable()
