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
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Generic, Literal, TypeVar

import attrs

from .._fields import FieldKind, FieldSpec, compile_function, field_specs
from .._twin import unfrozen_twin
from ..records import CustomFields

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
    decode: Callable[[Sequence[Any]], _T] = attrs.field(repr=False)
    _specs: tuple[FieldSpec, ...] = attrs.field(repr=False, alias="specs")
    _readers: dict[str, Callable[[Any], Any]] = attrs.field(repr=False, alias="readers")

    @property
    def required(self) -> frozenset[str]:
        """The columns that always hold a value (the rest may be empty)."""
        return frozenset(
            s.name for s in self._specs if s.required or s.kind in (FieldKind.ENUM, FieldKind.TEXT)
        )

    def problem(self, row: Sequence[Any]) -> str:
        """Why ``row`` is not a record: the first column that cannot be read, and why."""
        if len(row) != len(self.columns):
            return f"it has {len(row)} columns, not {len(self.columns)}"
        for spec, value in zip(self._specs, row, strict=True):
            read = self._readers.get(spec.name)
            if read is None or value is None:
                continue
            try:
                read(value)
            except (KeyError, ValueError, TypeError, AttributeError):
                return f"{spec.name} {value!r} is not {_EXPECTED[spec.kind](spec)}"
        return "it cannot be read as a record"


_EXPECTED: dict[FieldKind, Callable[[FieldSpec], str]] = {
    FieldKind.DATE: lambda _s: "an ISO date",
    FieldKind.MAPPING: lambda _s: "a JSON object",
    FieldKind.FLAG: lambda _s: "a yes/no value",
    FieldKind.ENUM: lambda s: _enum_words(s.enum),
    FieldKind.TEXT: lambda _s: "text",
    FieldKind.OPTIONAL_TEXT: lambda _s: "text",
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
    specs = field_specs(record_type)
    ns: dict[str, Any] = {
        "_new": object.__new__,
        "_Twin": unfrozen_twin(record_type),
        "_cls": record_type,
        "_EMPTY": empty,
        "_dumps": _dumps,
        "_loads": json.loads,
        "_date": dt.date.fromisoformat,
        "_FLAG_IN": {None: empty, True: 1, False: 0} if flags == "int" else {},
        "_FLAG_OUT": {1: True, 0: False},
        "_NO_CUSTOM": CustomFields(),
        "_Custom": CustomFields,
    }
    readers: dict[str, Callable[[Any], Any]] = {}
    out: list[str] = []
    into: list[str] = []
    for n, spec in enumerate(specs):
        name, kind, value = spec.name, spec.kind, f"r.{spec.name}"
        if kind is FieldKind.TEXT:
            out.append(value)
            into.append(f"c{n}")
        elif kind is FieldKind.OPTIONAL_TEXT:
            out.append(value if empty is None else f"{value} or _EMPTY")
            into.append(f"c{n}")
        elif kind is FieldKind.DATE:
            iso = dates == "iso"
            if iso:
                out.append(f"(_v.isoformat() if (_v := {value}) is not None else _EMPTY)")
                into.append(f"c{n} and _date(c{n})")
                readers[name] = dt.date.fromisoformat
            else:
                out.append(value if empty is None else f"({value} or _EMPTY)")
                into.append(f"c{n}")
        elif kind is FieldKind.FLAG:
            out.append(f"_FLAG_IN[{value}]" if flags == "int" else value)
            into.append(f"_FLAG_OUT.get(c{n})" if flags == "int" else f"c{n}")
            if flags == "int":
                readers[name] = _read_flag
        elif kind is FieldKind.ENUM:
            assert spec.enum is not None
            members = {str(m.value): m for m in spec.enum}
            ns[f"_enum{n}"] = members
            out.append(f"{value}.value")
            into.append(f"_enum{n}[c{n}]")
            readers[name] = members.__getitem__
        elif mappings == "json":  # and from here on, FieldKind.MAPPING
            out.append(f"(_dumps(dict(_v)) if (_v := {value}) else _EMPTY)")
            into.append(f"_NO_CUSTOM if c{n} is None else _Custom(_loads(c{n}))")
            readers[name] = _read_json_object
        else:
            out.append(f"(dict(_v) if (_v := {value}) else _EMPTY)")
            into.append(f"_NO_CUSTOM if not c{n} else _Custom(c{n})")
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


_FLAGS: dict[object, bool] = {1: True, 0: False}


def _read_flag(value: object) -> bool:
    return _FLAGS[value]


def _read_json_object(value: str) -> dict[str, str]:
    data = json.loads(value)
    if not isinstance(data, dict):
        raise TypeError("not an object")
    return data
