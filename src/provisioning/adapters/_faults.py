"""Fault injection for the reference adapters: fail a commit at a chosen step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from ..exceptions import InvalidValueError, RepositoryError

__all__ = ["COMMIT_STEPS", "FaultHook", "fail_at"]

#: The steps of a commit, in order, at which an adapter calls its fault hook:
#: the revision and the change set were checked; the records were written; the upload
#: entry was written; the revision was raised (the last moment before the commit lands).
COMMIT_STEPS: tuple[str, ...] = ("checked", "records", "history", "revision")

#: Called with each step's name during a commit; whatever it raises aborts the commit.
FaultHook: TypeAlias = Callable[[str], None]


def fail_at(step: str) -> FaultHook:
    """A fault hook raising :class:`~provisioning.RepositoryError` when a commit reaches ``step``.

    >>> from provisioning.adapters import MemoryRepository, fail_at
    >>> from provisioning.repository import ChangeSet
    >>> MemoryRepository(fault=fail_at("records")).commit("acme", ChangeSet(), 0)
    Traceback (most recent call last):
    provisioning.exceptions.RepositoryError: injected fault at commit step 'records'
    """
    if step not in COMMIT_STEPS:
        allowed = ", ".join(map(repr, COMMIT_STEPS))
        raise InvalidValueError(f"step must be one of {allowed}, got {step!r}", field="step")

    def hook(current: str) -> None:
        if current == step:
            raise RepositoryError(f"injected fault at commit step {step!r}")

    return hook
