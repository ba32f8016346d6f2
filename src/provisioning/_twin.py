"""Trusted construction of frozen attrs instances, for the reader's hot path."""

from __future__ import annotations

from typing import Any

__all__ = ["unfrozen_twin"]

_TWINS: dict[type[Any], type[Any]] = {}


def unfrozen_twin(cls: type[Any]) -> type[Any]:
    """A subclass of the frozen attrs class ``cls`` that allows plain attribute stores.

    The hot path fills a twin instance with plain (fast) stores, then assigns its
    ``__class__`` to ``cls``: the twin adds no slot, so the layouts are the same and the
    result is an ordinary, frozen ``cls`` instance. Only values that already passed
    ``cls``'s converters and validators may be stored this way; tests hold every such
    builder to the class's own constructor. Overriding both ``__setattr__`` and
    ``__delattr__`` with ``object``'s is what lets CPython use its generic attribute
    store (attrs defines both on frozen classes).
    """
    twin = _TWINS.get(cls)
    if twin is None:
        namespace = {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": __name__,
            "__doc__": f"{cls.__name__} with plain stores; see unfrozen_twin().",
        }
        twin = _TWINS[cls] = type(f"_Unfrozen{cls.__name__}", (cls,), namespace)
    return twin
