"""Converters and validators shared by the model classes and the public functions.

Every check here raises :class:`~provisioning.InvalidValueError` naming the field (or
parameter) at fault, so a bad value is refused where it enters, never later in a store
or a writer. They cost an ``isinstance`` or two: the hot paths (the spreadsheet reader,
stores decoding rows) build records by trusted construction and do not call them.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

import attrs

from .exceptions import InvalidValueError

__all__ = [
    "EMAIL",
    "ID_MAX_LENGTH",
    "check_day",
    "check_revision_number",
    "check_tenant_id",
    "check_type",
    "enum_values",
    "enums",
    "header_problem",
    "id_problem",
    "identifier",
    "is_bool",
    "nonempty",
    "optional_text",
    "strip",
    "text",
    "text_problem",
    "to_enum",
]

_E = TypeVar("_E", bound=enum.Enum)
_T = TypeVar("_T")

#: The exact email rule, documented in docs/upload-files.md: an ASCII local part of
#: RFC 5322 "atext" characters in dot-separated runs, "@", then two or more DNS labels
#: (letters, digits, inner hyphens; IDNs in their xn-- form) ending in an alphabetic
#: top-level label. Quoted local parts and IP-literal domains are refused.
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
)

#: The most characters a tenant id, an actor id or a record key may have.
ID_MAX_LENGTH = 255

# What a text value may not hold: NUL (a spreadsheet file never holds it, so an export
# could not be read back) and lone surrogates (no UTF-8 file can hold them).
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")
# What an id may not hold besides: any control character (C0, DEL, C1).
_NOT_IN_ID = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _kind(value: object) -> str:
    return type(value).__name__


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a text value (it could not be written and read back)."""
    found = _UNWRITABLE.search(value)
    if found is None:
        return None
    return (
        f"holds the character {found.group()!r} at position {found.start()}, which no "
        "upload file can hold"
    )


def id_problem(value: str, *, controls: bool = True) -> str | None:
    """Why ``value`` (trimmed) cannot be an id: too long, or a character it may not hold.

    ``controls`` refuses every control character; without it (record keys, which the
    spreadsheet codec round-trips whatever they hold) only what :func:`text_problem`
    refuses.
    """
    if len(value) > ID_MAX_LENGTH:
        return f"has {len(value):,} characters; the limit is {ID_MAX_LENGTH}"
    if not controls:
        return text_problem(value)
    found = _NOT_IN_ID.search(value)
    if found is None:
        return None
    return f"holds the control character {found.group()!r} at position {found.start()}"


def header_problem(name: str) -> str | None:
    """Why ``name`` cannot be a column header (a template's, or a custom field's name).

    A header is non-empty, has no surrounding whitespace and no line break or NUL: what
    :class:`~provisioning.spreadsheet.Column` accepts and the reader keeps as a name.
    """
    if not name.strip():
        return "is empty"
    if name != name.strip():
        return "has surrounding whitespace"
    for character in "\r\n\x00":
        if character in name:
            return f"holds the character {character!r}"
    return None


def check_type(value: object, kind: type[_T], field: str, what: str) -> _T:
    """Return ``value`` if it is a ``kind``, else raise naming ``field`` and ``what`` it is."""
    if not isinstance(value, kind):
        raise InvalidValueError(
            f"{field} must be {what}, got {_kind(value)} {value!r}", field=field
        )
    return value


def _string(value: object, field: str) -> str:
    if type(value) is not str and not isinstance(value, str):
        raise InvalidValueError(
            f"{field} must be a string, got {_kind(value)} {value!r}", field=field
        )
    return value


def text(field: str, *, required: bool = True, file: bool = True) -> Callable[[object], str]:
    """A converter: a string, trimmed; with ``file``, one an upload file can hold."""

    def convert(value: object) -> str:
        result = _string(value, field).strip()
        if required and not result:
            raise InvalidValueError(f"{field} must not be empty", field=field)
        if file and (problem := text_problem(result)) is not None:
            raise InvalidValueError(f"{field} {problem}", field=field)
        return result

    return convert


def optional_text(field: str) -> Callable[[object], str | None]:
    """A converter: ``None`` or a string, trimmed; empty becomes ``None``."""

    def convert(value: object) -> str | None:
        if value is None:
            return None
        result = _string(value, field).strip()
        if (problem := text_problem(result)) is not None:
            raise InvalidValueError(f"{field} {problem}", field=field)
        return result or None

    return convert


def identifier(field: str, *, controls: bool = True) -> Callable[[object], str]:
    """A converter: a non-empty id, trimmed, of at most ``ID_MAX_LENGTH`` characters;
    see :func:`id_problem` for ``controls``."""

    def convert(value: object) -> str:
        result = _string(value, field).strip()
        if not result:
            raise InvalidValueError(f"{field} must not be empty", field=field)
        if (problem := id_problem(result, controls=controls)) is not None:
            raise InvalidValueError(f"{field} {problem}", field=field)
        return result

    return convert


def is_bool(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Refuse anything but ``True`` or ``False`` (``None`` too), naming the field."""
    if value is not True and value is not False:
        raise InvalidValueError(
            f"{attribute.name} must be True or False, got {_kind(value)} {value!r}",
            field=attribute.name,
        )


def strip(value: str) -> str:
    """Trim surrounding whitespace."""
    return value.strip()


def nonempty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    """Refuse an empty string, naming the field."""
    if not value:
        raise InvalidValueError(f"{attribute.name} must not be empty", field=attribute.name)


def enum_values(cls: type[enum.Enum]) -> str:
    """The values of ``cls``, for a message: ``'a', 'b', 'c'``."""
    return ", ".join(repr(m.value) for m in cls)


def to_enum(cls: type[_E], value: object, field: str) -> _E:
    """Return ``value`` as a member of ``cls``, or raise naming the allowed values."""
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except (ValueError, TypeError):
        raise InvalidValueError(
            f"{field}: {value!r} is not one of {enum_values(cls)}", field=field
        ) from None


def enums(cls: type[_E], values: object, field: str) -> tuple[_E, ...]:
    """Each of ``values`` as a member of ``cls``; one member or string alone works too."""
    if isinstance(values, cls | str):
        return (to_enum(cls, values, field),)
    if not isinstance(values, Iterable) or isinstance(values, Mapping | bytes):
        raise InvalidValueError(
            f"{field} must be an iterable of {cls.__name__} values, got {_kind(values)} {values!r}",
            field=field,
        )
    return tuple(to_enum(cls, v, field) for v in values)


def check_day(value: object, field: str) -> dt.date:
    """Return ``value`` if it is a date (a day, so not a datetime), else raise."""
    if type(value) is dt.date:
        return value
    if isinstance(value, dt.datetime):
        raise InvalidValueError(
            f"{field} must be a date, got the datetime {value!r}; {field} is a day: "
            "pass value.date()",
            field=field,
        )
    if not isinstance(value, dt.date):
        raise InvalidValueError(
            f"{field} must be a datetime.date, got {_kind(value)} {value!r}", field=field
        )
    return value


def check_tenant_id(value: object, field: str = "tenant_id") -> str:
    """Return ``value`` if it can be a :class:`~provisioning.Tenant`'s id, else raise.

    The rules of ``Tenant.id``: a non-empty string of at most ``ID_MAX_LENGTH``
    characters with no control character; and, since a tenant's id is stored trimmed,
    no surrounding whitespace. Every repository method taking a tenant id checks it.
    """
    if (
        type(value) is str
        and 0 < len(value) <= ID_MAX_LENGTH
        and _NOT_IN_ID.search(value) is None
        and not value[0].isspace()
        and not value[-1].isspace()
    ):
        return value
    result = _string(value, field)
    if not result.strip():
        raise InvalidValueError(f"{field} must not be empty, got {result!r}", field=field)
    if (problem := id_problem(result)) is not None:
        raise InvalidValueError(f"{field} {problem}", field=field)
    raise InvalidValueError(
        f"{field} {result!r} has surrounding whitespace, which no tenant's id has", field=field
    )


def check_revision_number(value: object, field: str = "expected_revision") -> int:
    """Return ``value`` if it is a revision: an ``int`` (not a bool), 0 or more."""
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValueError(
            f"{field} must be a revision, an int 0 or more, got {_kind(value)} {value!r}",
            field=field,
        )
    return int(value)


def check_strings(value: object, field: str) -> list[str]:
    """A collection of strings (keys or emails) as a list; one string alone is refused."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidValueError(
            f"{field} must be a collection of strings, got {type(value).__name__} {value!r:.80}",
            field=field,
        )
    items = list(value)
    for item in items:
        if type(item) is not str:
            check_type(item, str, field, "strings")
    return items


#: The most records one page may ask for.
MOST_PER_PAGE: Final = 100_000


def check_page(after: object, limit: object) -> tuple[str | None, int]:
    """``after`` (a key or ``None``) and ``limit`` (1 to :data:`MOST_PER_PAGE`), checked."""
    if after is not None:
        after = check_type(after, str, "after", "a key (a string) or None")
    if type(limit) is not int or not 1 <= limit <= MOST_PER_PAGE:
        raise InvalidValueError(
            f"limit must be a whole number from 1 to {MOST_PER_PAGE:,}, got {limit!r:.80}",
            field="limit",
        )
    return after, limit
