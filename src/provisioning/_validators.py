"""Converters and validators shared by the model classes."""

from __future__ import annotations

import enum
from typing import TypeVar

import attrs

from .exceptions import InvalidValueError

_E = TypeVar("_E", bound=enum.Enum)


def strip(value: str) -> str:
    """Trim surrounding whitespace."""
    return value.strip()


def nonempty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    """Refuse an empty string, naming the field."""
    if not value:
        raise InvalidValueError(f"{attribute.name} must not be empty", field=attribute.name)


def to_enum(cls: type[_E], value: object, field: str) -> _E:
    """Return ``value`` as a member of ``cls``, or raise naming the allowed values."""
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise InvalidValueError(
            f"{field}: {value!r} is not one of {allowed}", field=field
        ) from None
