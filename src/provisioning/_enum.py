"""The base of the library's enums: ``str`` is the value, hashing is by identity."""

from __future__ import annotations

import enum

__all__ = ["ValueEnum"]


class ValueEnum(enum.Enum):
    """An enum whose ``str`` is its value.

    Members are singletons compared by identity, so they hash by identity too: the
    rules engine looks members up in dicts and sets on every decision, and the default
    ``Enum.__hash__`` is a Python-level call.
    """

    __hash__ = object.__hash__

    def __str__(self) -> str:
        return str(self._value_)
