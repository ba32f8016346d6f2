"""The base of the library's small immutable, hashable mappings."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

__all__ = ["FrozenMap"]


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A mapping that cannot change: lookups through a dict, hash and equality by items.

    Subclasses build their dict and call :meth:`_freeze` once. ``EQUALS_MAPPINGS`` says
    whether the mapping also equals a plain mapping with the same items.
    """

    __slots__ = ("_items", "_map")
    EQUALS_MAPPINGS: ClassVar[bool] = True

    _map: dict[K, V]
    _items: tuple[tuple[K, V], ...]

    def _freeze(self, items: dict[K, V], order: Callable[[tuple[K, V]], Any] | None = None) -> None:
        self._map = items
        self._items = tuple(sorted(items.items(), key=order))

    def __getitem__(self, key: K) -> V:
        return self._map[key]

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __iter__(self) -> Iterator[K]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._items == other._items
        if self.EQUALS_MAPPINGS and isinstance(other, Mapping):
            return self._map == dict(other)
        return NotImplemented
