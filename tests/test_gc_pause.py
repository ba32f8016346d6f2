"""The cyclic collector is paused for the length of a bulk loop, and only then."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from provisioning._gc import collector_paused


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:  # pragma: no cover - the suite runs with the collector on
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_off_before_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_in_the_block_still_turns_it_on_again() -> None:
    gc.enable()
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_overlapping_loops_in_two_threads_turn_it_on_when_the_last_ends() -> None:
    """The second loop begins with the collector already paused by the first; it ends
    first, and must not switch it on under the first, nor leave it off at the end."""
    gc.enable()
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_done.wait(10)
            seen.append(gc.isenabled())

    worker = threading.Thread(target=first)
    worker.start()
    first_in.wait(10)
    with collector_paused():
        assert not gc.isenabled()
    second_done.set()
    worker.join(10)
    assert seen == [False]
    assert gc.isenabled()
