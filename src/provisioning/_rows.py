"""Row codecs: a record to a row of column values and back, generated from the model.

A store keeps one column per field of :class:`~provisioning.UserRecord` (or
:class:`~provisioning.Contact`). :func:`row_codec` writes, once, the two functions
that turn a record into a tuple of column values and a row back into a record, from
the model's own fields: a field added to the model is encoded and decoded with no edit
here or in an adapter. The SQLite adapter uses one; a host writing its own adapter
may too.

>>> import datetime as dt
>>> import provisioning as pv
>>> codec = row_codec(pv.UserRecord)
>>> ada = pv.UserRecord(legacy_contact_key="1001", first_name="Ada", last_name="Lovelace",
...                     email="ada@example.com", company_name="Analytical Engines",
...                     birthday=dt.date(1815, 12, 10), is_member=True)
>>> row = codec.encode(ada)
>>> row[:3], row[codec.columns.index("birthday")], row[codec.columns.index("is_member")]
(('1001', 'Ada', 'Lovelace'), '1815-12-10', 1)
>>> codec.decode(row) == ada
True
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Literal, TypeVar

import attrs

from ._fields import FieldKind, FieldSpec, compile_function, field_specs
from ._twin import unfrozen_twin
from .exceptions import InvalidValueError
from .records import CustomFields

__all__ = ["RowCodec", "row_codec"]

_T = TypeVar("_T")

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


@attrs.frozen
class RowCodec(Generic[_T]):
    """A record type's row encoding: its columns, ``encode`` and ``decode``.

    ``encode(*leading, record)`` returns the ``leading`` values (a tenant id, say) then one
    value per column; ``decode(row)`` takes one value per column and trusts them: rows
    are written by ``encode`` from valid records, so no converter or validator runs
    again. A row that is not a record (a file changed behind the store's back) makes
    ``decode`` raise ``KeyError``, ``ValueError``, ``TypeError`` or ``AttributeError``;
    :meth:`problem` then says which column and why.
    """

    record_type: type[_T]
    #: The column names, the record's field names in declaration order.
    columns: tuple[str, ...]
    encode: Callable[..., tuple[Any, ...]] = attrs.field(repr=False)
    decode: Callable[[Iterable[Any]], _T] = attrs.field(repr=False)
    _specs: tuple[FieldSpec, ...] = attrs.field(repr=False, alias="specs")
    _readers: dict[str, Callable[[Any], Any]] = attrs.field(repr=False, alias="readers")

    @property
    def required(self) -> frozenset[str]:
        """The columns that always hold a value (the rest may be empty)."""
        return frozenset(
            s.name for s in self._specs if s.required or s.kind in (FieldKind.ENUM, FieldKind.TEXT)
        )

    def read(self, column: str, value: object) -> Any:
        """One column's value as the record holds it, read as :attr:`decode` reads it:
        ``KeyError`` for no such column, and what ``decode`` raises for a value it
        would refuse (:meth:`problem` of a row says which and why)."""
        return self._readers[column](value)

    def problem(self, row: object) -> str | None:
        """Why ``row`` is not a record (the first column that cannot be read, and why),
        or ``None`` when it is one: exactly when :attr:`decode` would raise."""
        if not isinstance(row, Iterable) or isinstance(row, str | bytes | Mapping):
            return f"it is not a row of values: {type(row).__name__}"
        row = tuple(row)
        if len(row) != len(self.columns):
            return f"it has {len(row)} columns, not {len(self.columns)}"
        for spec, value in zip(self._specs, row, strict=True):
            try:
                self._readers[spec.name](value)
            except (KeyError, ValueError, TypeError, RecursionError):
                return f"{spec.name} {value!r:.200} is not {_EXPECTED[spec.kind](spec)}"
        return None


_EXPECTED: dict[FieldKind, Callable[[FieldSpec], str]] = {
    FieldKind.DATE: lambda _s: "an ISO date (YYYY-MM-DD)",
    FieldKind.MAPPING: lambda _s: "a JSON object of text values",
    FieldKind.FLAG: lambda _s: "a yes/no value",
    FieldKind.ENUM: lambda s: _enum_words(s.enum),
    FieldKind.TEXT: lambda _s: "non-empty text",
    FieldKind.OPTIONAL_TEXT: lambda _s: "non-empty text or nothing",
}


def _enum_words(enum: type[Any] | None) -> str:
    """``RecordStatus`` -> ``"a record status (Enabled, Deactivated, ...)"``."""
    assert enum is not None
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", enum.__name__).lower()
    return f"a {words} ({', '.join(str(m.value) for m in enum)})"


def row_codec(
    record_type: type[_T],
    *,
    empty: Literal["", None] = None,
    dates: Literal["iso", "date"] = "iso",
    flags: Literal["int", "bool"] = "int",
    mappings: Literal["json", "dict"] = "json",
    leading: int = 0,
) -> RowCodec[_T]:
    """The row codec of ``record_type``, written from its fields.

    ``empty`` is what an absent optional value is written as: ``None``, or ``""`` for
    SQLite, whose driver binds ``None`` slowly (its SQL then turns ``""`` into ``NULL``
    with ``NULLIF``); ``dates`` writes dates as ISO text or ``date`` objects; ``flags`` yes/no
    values as ``1``/``0`` or ``True``/``False``; ``mappings`` custom columns as JSON text
    or a ``dict``. An enum is written as its value. ``encode`` takes ``leading`` extra
    values first and puts them first in the row. Reading, ``None`` is an absent value.
    """
    _check_options(record_type, empty=empty, dates=dates, flags=flags, mappings=mappings)
    if type(leading) is not int or not 0 <= leading <= _MOST_LEADING:
        raise InvalidValueError(
            f"leading must be a whole number from 0 to {_MOST_LEADING}, got {leading!r}",
            field="leading",
        )
    specs = field_specs(record_type)
    ns: dict[str, Any] = {
        "_new": object.__new__,
        "_Twin": unfrozen_twin(record_type),
        "_cls": record_type,
        "_EMPTY": empty,
        "_dumps": _dumps,
        "_loads": json.loads,
        "_FLAG_IN": {None: empty, True: 1, False: 0} if flags == "int" else {},
        "_NO_CUSTOM": _NO_CUSTOM,
        "_str": str,
    }
    readers: dict[str, Callable[[Any], Any]] = {}
    out: list[str] = []
    into: list[str] = []
    for n, spec in enumerate(specs):
        kind, value, c, read = spec.kind, f"r.{spec.name}", f"c{n}", f"_read{n}"
        reader = _reader(spec, dates=dates, flags=flags, mappings=mappings)
        if empty == "" and spec.kind is not FieldKind.TEXT and spec.kind is not FieldKind.ENUM:
            reader = _blank_is_none(reader)  # what encode writes for an absent value
        readers[spec.name] = ns[read] = reader
        # Each value is read by a plain expression when it is what encode writes, and by
        # its strict reader otherwise, which returns it or raises (see problem()).
        if kind is FieldKind.TEXT:
            out.append(value)
            into.append(f"{c} if ({c}.__class__ is _str and {c}) else {read}({c})")
        elif kind is FieldKind.OPTIONAL_TEXT:
            out.append(value if empty is None else f"{value} or _EMPTY")
            into.append(f"{c} if {c} is None or ({c}.__class__ is _str and {c}) else {read}({c})")
        elif kind is FieldKind.DATE:
            if dates == "iso":
                out.append(f"(_v.isoformat() if (_v := {value}) is not None else _EMPTY)")
            else:
                out.append(value if empty is None else f"({value} or _EMPTY)")
            into.append(f"None if {c} is None else {read}({c})")
        elif kind is FieldKind.FLAG:
            out.append(f"_FLAG_IN[{value}]" if flags == "int" else value)
            into.append(f"None if {c} is None else {read}({c})")
        elif kind is FieldKind.ENUM:
            assert spec.enum is not None
            ns[f"_enum{n}"] = {str(m.value): m for m in spec.enum}
            # A member's value by a dict lookup: ``.value`` goes through enum's descriptor.
            ns[f"_value{n}"] = {m: m.value for m in spec.enum}
            out.append(f"_value{n}[{value}]")
            into.append(f"_enum{n}[{c}]")
        elif mappings == "json":  # and from here on, FieldKind.MAPPING
            out.append(f"(_dumps(dict(_v)) if (_v := {value}) else _EMPTY)")
            into.append(f"_NO_CUSTOM if {c} is None else {read}({c})")
        else:
            out.append(f"(dict(_v) if (_v := {value}) else _EMPTY)")
            into.append(f"_NO_CUSTOM if {c} is None else {read}({c})")
    params = [f"l{i}" for i in range(leading)]
    encode_src = (
        f"def encode({', '.join([*params, 'r'])}):\n"
        f"    return ({''.join(p + ', ' for p in params)}{', '.join(out)},)\n"
    )
    names = ", ".join(f"c{n}" for n in range(len(specs)))
    lines = [
        "def decode(row):",
        f"    ({names},) = row",
        "    r = _new(_Twin)",
        *(f"    r.{spec.name} = {code}" for spec, code in zip(specs, into, strict=True)),
        "    r.__class__ = _cls",
        "    return r",
        "",
    ]
    encode = compile_function("encode", encode_src, ns)
    decode = compile_function("decode", "\n".join(lines), ns)
    columns = tuple(spec.name for spec in specs)
    return RowCodec(record_type, columns, encode, decode, specs=specs, readers=readers)


_NO_CUSTOM = CustomFields()
_MOST_LEADING = 16
_OPTIONS: dict[str, tuple[object, ...]] = {
    "empty": ("", None),
    "dates": ("iso", "date"),
    "flags": ("int", "bool"),
    "mappings": ("json", "dict"),
}


def _check_options(record_type: object, **options: object) -> None:
    """Refuse a record type with no fields of ours, or an option of no known style."""
    if not (isinstance(record_type, type) and attrs.has(record_type)):
        raise InvalidValueError(
            f"record_type must be a record class such as UserRecord, got {record_type!r}",
            field="record_type",
        )
    try:
        field_specs(record_type)
    except TypeError as exc:
        raise InvalidValueError(
            f"record_type {record_type.__name__} has a field no store column can hold: {exc}",
            field="record_type",
        ) from None
    for name, value in options.items():
        allowed = _OPTIONS[name]
        if value not in allowed or type(value) not in {type(a) for a in allowed}:
            shown = ", ".join(repr(a) for a in allowed)
            raise InvalidValueError(f"{name} must be one of {shown}, got {value!r}", field=name)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FLAG_INTS: dict[object, bool] = {1: True, 0: False}
_FLAG_BOOLS: dict[object, bool] = {True: True, False: False}


def _reader(spec: FieldSpec, *, dates: str, flags: str, mappings: str) -> Callable[[Any], Any]:
    """The strict reader of one column: its value in the record, or an exception."""
    kind = spec.kind
    if kind is FieldKind.TEXT:
        return _text
    if kind is FieldKind.OPTIONAL_TEXT:
        return _optional_text
    if kind is FieldKind.DATE:
        return _iso_day if dates == "iso" else _day
    if kind is FieldKind.FLAG:
        table = _FLAG_INTS if flags == "int" else _FLAG_BOOLS
        return lambda value: None if value is None else _flag(table, value)
    if kind is FieldKind.ENUM:
        assert spec.enum is not None
        return {str(m.value): m for m in spec.enum}.__getitem__
    return _json_object if mappings == "json" else _mapping


def _blank_is_none(reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: reader(None if value == "" else value)


def _text(value: object) -> str:
    if type(value) is not str or not value:
        raise TypeError(value)
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _iso_day(value: object) -> dt.date | None:
    return None if value is None else _parse_day(value)


@functools.lru_cache(maxsize=1 << 16)
def _parse_day(value: object) -> dt.date:
    # Cached: a tenant's members share few dates (a renewal day, a joining season), and a
    # million rows hold two or three each. Errors are not cached; they are raised again.
    if type(value) is not str or not _ISO_DAY.fullmatch(value):
        raise ValueError(value)
    return dt.date.fromisoformat(value)


def _day(value: object) -> dt.date | None:
    if value is None:
        return None
    if type(value) is not dt.date:
        raise TypeError(value)
    return value


def _flag(table: dict[object, bool], value: object) -> bool:
    if type(value) not in (int, bool):
        raise TypeError(value)
    return table[value]


def _json_object(value: object) -> CustomFields:
    if value is None:
        return _NO_CUSTOM
    if type(value) is not str:
        raise TypeError(value)
    try:
        data = json.loads(value)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return _mapping(data)


def _mapping(value: object) -> CustomFields:
    if value is None:
        return _NO_CUSTOM
    if not isinstance(value, dict):
        raise TypeError(value)
    try:
        return CustomFields(value) if value else _NO_CUSTOM
    except InvalidValueError as exc:
        raise ValueError(str(exc)) from None
