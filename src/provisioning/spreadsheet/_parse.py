"""From a row's fields to a record: a careful path that explains, a fast path that builds.

The careful path (:func:`parse_row`) parses every cell with :func:`parse_cell`,
collects every problem of the row and builds the record through its public
constructor. The fast path (:func:`compile_builder`) is generated per file layout, the
way attrs generates ``__init__``: straight-line code that builds a record with no
checks beyond the rules' own and returns ``None`` at the first doubt, which sends the
row to the careful path. A test holds the two to the same answers.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .._fields import field_specs
from .._twin import unfrozen_twin
from .._validators import EMAIL, ID_MAX_LENGTH, id_problem
from ..exceptions import InvalidValueError
from ..records import (
    EMAIL_MAX_LENGTH,
    CustomFields,
    is_valid_email,
    normalize_email,
)
from ._codes import ErrorCode
from ._dates import DateOrder, fast_date, parse_date
from ._errors import CellProblem
from ._header import Layout
from ._templates import Column, ColumnType, Template

__all__ = ["BOOLEANS", "MISSING", "Layout", "Parsed", "compile_builder", "parse_cell", "parse_row"]

#: What a yes/no column accepts, compared in lower case.
BOOLEANS: Mapping[str, bool] = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
}

_EMPTY_CUSTOM = CustomFields()
#: How many distinct date texts the fast path remembers (about 130 bytes each).
DATE_CACHE_SIZE = 16_384
MISSING = object()


def _choice_map(column: Column) -> dict[str, Any]:
    return {(str(c.value) if isinstance(c, enum.Enum) else c).lower(): c for c in column.choices}


@functools.cache
def _pattern(pattern: str) -> Callable[[str], re.Match[str] | None]:
    return re.compile(pattern).fullmatch


def parse_cell(column: Column, text: str, date_order: DateOrder | None) -> Any:
    """The value of one trimmed cell, ``MISSING`` when empty; raise ``CellProblem``."""
    if not text:
        if column.required:
            raise CellProblem(
                ErrorCode.MISSING_VALUE, f"{column.header} is required and may not be empty"
            )
        return MISSING
    kind = column.kind
    if kind is ColumnType.TEXT:
        if column.pattern is not None and _pattern(column.pattern)(text) is None:
            raise CellProblem(
                ErrorCode.INVALID_VALUE,
                f"{text!r} does not match the pattern {column.pattern!r} of {column.header}",
            )
        if column.normalise is not None:
            try:
                return column.normalise(text)
            except ValueError as exc:
                raise CellProblem(
                    ErrorCode.INVALID_VALUE, f"{text!r} is refused by {column.header}: {exc}"
                ) from None
        return text
    if kind is ColumnType.EMAIL:
        email = normalize_email(text)
        if not is_valid_email(email):
            why = (
                f"longer than {EMAIL_MAX_LENGTH} characters"
                if len(email) > EMAIL_MAX_LENGTH
                else "expected name@domain.tld with an ASCII name and domain"
            )
            raise CellProblem(ErrorCode.INVALID_EMAIL, f"{text!r} is not a valid email: {why}")
        return email
    if kind is ColumnType.DATE:
        return parse_date(text, date_order)
    if kind is ColumnType.BOOLEAN:
        value = BOOLEANS.get(text.lower())
        if value is None:
            raise CellProblem(
                ErrorCode.INVALID_BOOLEAN,
                f"{text!r} is not a yes/no value: use true/false, yes/no, y/n or 1/0",
            )
        return value
    choice = _choice_map(column).get(text.lower(), MISSING)
    if choice is MISSING:
        allowed = ", ".join(repr(c) for c in column.choice_values)
        raise CellProblem(
            ErrorCode.INVALID_CHOICE, f"{text!r} is not one of {allowed} for {column.header}"
        )
    return choice


@attrs.frozen
class Parsed:
    """What the careful path made of one row: a record, or the problems found."""

    record: Any
    #: ``(file column index, code, message)`` for each problem.
    problems: tuple[tuple[int, ErrorCode, str], ...]


_ID_FIELDS: dict[type[Any], frozenset[str]] = {}


def _id_fields(record_type: type[Any]) -> frozenset[str]:
    """The identifier fields of ``record_type`` (a subclass of a model class too)."""
    ids = _ID_FIELDS.get(record_type)
    if ids is None:
        specs = field_specs(record_type)
        ids = _ID_FIELDS[record_type] = frozenset(s.name for s in specs if s.role == "identifier")
    return ids


def parse_row(
    template: Template[Any], layout: Layout, fields: list[str], date_order: DateOrder | None
) -> Parsed:
    """Parse every cell of a row of the right length, collecting every problem."""
    values: dict[str, Any] = {}
    custom: dict[str, str] = {}
    problems: list[tuple[int, ErrorCode, str]] = []
    ids = _id_fields(template.record_type)
    for index, (slot, raw) in enumerate(zip(layout, fields, strict=True)):
        text = raw.strip()
        if slot is None:
            if text:
                message = (
                    f"column {index + 1} has no header but holds {text!r}; name the column "
                    "or empty it"
                )
                problems.append((index, ErrorCode.VALUE_WITHOUT_HEADER, message))
            continue
        if isinstance(slot, str):
            if text:
                custom[slot] = text
            continue
        try:
            value = parse_cell(slot, text, date_order)
        except CellProblem as problem:
            problems.append((index, problem.code, problem.message))
            continue
        if value is MISSING:
            continue
        if slot.field in ids and (why := id_problem(value, controls=False)) is not None:
            too_long = len(value) > ID_MAX_LENGTH
            code = ErrorCode.VALUE_TOO_LONG if too_long else ErrorCode.INVALID_VALUE
            problems.append((index, code, f"{slot.header} {why}"))
            continue
        if slot.field is None:
            custom[slot.header] = value
        else:
            values[slot.field] = value
    if problems:
        return Parsed(None, tuple(problems))
    if custom:
        values["custom"] = custom
    try:
        return Parsed(template.record_type(**values), ())
    except InvalidValueError as exc:  # pragma: no cover - the cell rules cover the invariants
        return Parsed(None, ((0, ErrorCode.INVALID_VALUE, str(exc)),))


def _converted_default(attribute: attrs.Attribute[Any]) -> Any:
    default: Any = attribute.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    converter: Any = attribute.converter
    if converter is None:
        return default
    if isinstance(converter, attrs.Converter):
        call: Any = converter  # attrs.Converter: value, instance, field
        return call(default, None, attribute)
    return converter(default)


def _cell_code(
    i: int, slot: Column | str | None, ns: dict[str, Any], ids: frozenset[str]
) -> list[str]:
    """The fast-path lines for file column ``i``: leave ``v{i}`` set, or return None.

    ``v{i}`` starts as the raw cell; it ends as the value, or ``BAD`` when an optional
    cell is empty and the field's default applies. An id (``ids``) that is long or holds
    anything unprintable goes to the careful path, which explains or accepts it.
    """
    lines = _cell_lines(i, slot, ns)
    if isinstance(slot, Column) and slot.field in ids:
        v = f"v{i}"
        lines.append(
            f"    if {v} and {v} is not BAD and (len({v}) > IDMAX or not {v}.isprintable()): "
            "return None"
        )
    return lines


def _cell_lines(i: int, slot: Column | str | None, ns: dict[str, Any]) -> list[str]:
    v = f"v{i}"
    if slot is None:
        return [f"    if {v}.strip(): return None"]
    if isinstance(slot, str):
        ns[f"h{i}"] = slot
        return [f"    {v} = {v}.strip()", f"    if {v}: custom[h{i}] = {v}"]
    kind = slot.kind
    if kind is ColumnType.TEXT and slot.normalise is not None:
        # A host's own normaliser: any refusal sends the row to the careful path.
        ns[f"n{i}"] = slot.normalise
        lines = [
            f"    {v} = {v}.strip()",
            f"    if not {v}: {'return None' if slot.required else f'{v} = BAD'}",
        ]
        if slot.pattern is not None:
            ns[f"p{i}"] = _pattern(slot.pattern)
            lines.append(f"    elif p{i}({v}) is None: return None")
        lines += [
            "    else:",
            "        try:",
            f"            {v} = n{i}({v})",
            "        except ValueError:",
            "            return None",
        ]
        if slot.field is None:
            ns[f"h{i}"] = slot.header
            lines.append(f"    if {v} is not BAD: custom[h{i}] = {v}")
        return lines
    if kind is ColumnType.TEXT and slot.pattern is None and not slot.required:
        # The common case: trimmed text, empty is None (the field's default). Most such
        # cells are empty, so the test comes before the call.
        lines = [f"    {v} = {v} and {v}.strip() or None"]
        if slot.field is None:
            ns[f"h{i}"] = slot.header
            lines.append(f"    if {v}: custom[h{i}] = {v}")
        return lines
    lines = [f"    {v} = {v}.strip()" if slot.required else f"    if {v}: {v} = {v}.strip()"]
    empty = "return None" if slot.required else f"{v} = BAD"
    if kind is ColumnType.TEXT:
        if slot.pattern is not None:
            ns[f"p{i}"] = _pattern(slot.pattern)
            lines.append(f"    if {v} and p{i}({v}) is None: return None")
        lines.append(f"    if not {v}: {empty}")
    elif kind is ColumnType.EMAIL:
        # normalize_email, then is_valid_email with its two halves checked apart: the
        # domain (the costly half) repeats across rows and is remembered.
        lines += [
            f"    if not {v}: {empty}",
            "    else:",
            f"        l, a, d = {v}.rpartition('@')",
            "        if not a: return None",
            "        if not d.islower():",
            "            d = d.lower()",
            f"            {v} = l + '@' + d",
            "        ok = DOMAINS.get(d)",
            "        if ok is None: ok = domain_ok(d)",
            f"        if not ok or len({v}) > MAXLEN or local_match(l) is None: return None",
        ]
    elif kind is ColumnType.DATE:
        # ISO 8601 inline; other forms repeat from row to row, so a bounded cache of
        # text -> date saves their parse.
        lines += [
            f"    if not {v}: {empty}",
            f"    elif len({v}) == 10 and {v}[4] == '-':",
            "        try:",
            f"            {v} = fromiso({v})",
            "        except ValueError:",
            "            return None",
            "    else:",
            f"        x = DATES.get({v})",
            "        if x is None:",
            f"            x = fast_date({v}, DAYFIRST)",
            "            if x is None: return None",
            "            if len(DATES) >= DATES_MAX: DATES.clear()",
            f"            DATES[{v}] = x",
            f"        {v} = x",
        ]
    else:
        ns[f"m{i}"] = BOOLEANS if kind is ColumnType.BOOLEAN else _choice_map(slot)
        lines += [
            f"    if not {v}: {empty}",
            "    else:",
            f"        {v} = m{i}.get({v}.lower())",
            f"        if {v} is None: return None",
        ]
    if slot.field is None:
        ns[f"h{i}"] = slot.header
        lines.append(f"    if {v} is not BAD: custom[h{i}] = {v}")
    return lines


def _direct(slot: Column, field: str, record_type: type[Any]) -> bool:
    """Whether the cell's value goes to its field as it is (never ``BAD``)."""
    if slot.required:
        return True
    attribute = attrs.fields_dict(record_type)[field]
    return (
        slot.kind is ColumnType.TEXT
        and slot.pattern is None
        and slot.normalise is None
        and _converted_default(attribute) is None
    )


# The email rule (records.is_valid_email) is one pattern, LOCAL@DOMAIN, in which
# neither half can hold "@": a value matches it exactly when its text before the last
# "@" matches LOCAL and the text after matches DOMAIN. A test holds this to the rule.
_LOCAL, _AT, _DOMAIN = EMAIL.pattern.partition("@")
if "@" in _DOMAIN or not _AT:  # pragma: no cover - the rule changed shape
    raise ImportError("_validators.EMAIL is no longer LOCAL@DOMAIN; update _parse.py")
_local_match = re.compile(_LOCAL).fullmatch
_domain_match = re.compile(_DOMAIN).fullmatch
_DOMAINS: dict[str, bool] = {}
_DOMAINS_MAX = 65_536


def _domain_ok(domain: str) -> bool:
    """Whether a lower-case domain passes the email rule, remembered (bounded)."""
    ok = _domain_match(domain) is not None
    if len(_DOMAINS) >= _DOMAINS_MAX:
        _DOMAINS.clear()
    _DOMAINS[domain] = ok
    return ok


@functools.lru_cache(maxsize=64)
def compile_builder(
    template: Template[Any], layout: Layout, date_order: DateOrder | None
) -> Callable[[list[str]], Any]:
    """Generate the fast path for one file layout: fields in, record or ``None`` out.

    ``None`` means "not sure": the careful path then parses the row and explains.
    Every record field is set, from its column or from its (converted) default, on an
    :func:`unfrozen_twin` instance that then becomes the frozen class, so no converter
    or validator runs twice.
    """
    record_type = template.record_type
    ns: dict[str, Any] = {
        "new": object.__new__,
        "RT": record_type,
        "TWIN": unfrozen_twin(record_type),
        "BAD": MISSING,
        "local_match": _local_match,
        "domain_ok": _domain_ok,
        "DOMAINS": _DOMAINS,
        "fast_date": fast_date,
        "fromiso": dt.date.fromisoformat,
        "DATES": {},
        "DATES_MAX": DATE_CACHE_SIZE,
        "CustomFields": CustomFields.trusted,
        "IDMAX": ID_MAX_LENGTH,
        "EMPTY": _EMPTY_CUSTOM,
        "MAXLEN": EMAIL_MAX_LENGTH,
        "DAYFIRST": None if date_order is None else date_order is DateOrder.DAY_FIRST,
    }
    has_custom = any(isinstance(s, str) or (s is not None and s.field is None) for s in layout)
    lines = ["def build(f):"]
    # One unpacking instead of an index per cell; the caller checked the width.
    lines.append("    " + "".join(f"v{i}, " for i in range(len(layout))) + "= f")
    if has_custom:
        lines.append("    custom = {}")
    ids = _id_fields(record_type)
    for i, slot in enumerate(layout):
        lines += _cell_code(i, slot, ns, ids)
    cells = {s.field: (f"v{i}", _direct(s, s.field, record_type)) for i, s in enumerate(layout)
             if isinstance(s, Column) and s.field}  # fmt: skip
    lines.append("    r = new(TWIN)")
    for attribute in attrs.fields(record_type):
        name = attribute.name
        if attribute.default is not attrs.NOTHING:
            ns[f"d_{name}"] = _converted_default(attribute)
        if name == "custom" and has_custom:
            value = "CustomFields(custom) if custom else EMPTY"
        elif name in cells:
            v, direct = cells[name]
            value = v if direct else f"d_{name} if {v} is BAD else {v}"
        else:
            value = f"d_{name}"
        lines.append(f"    r.{name} = {value}")
    lines += ["    r.__class__ = RT", "    return r"]
    source = "\n".join(lines) + "\n"
    code = compile(source, f"<provisioning fast path for {template.name}>", "exec")
    exec(code, ns)  # noqa: S102 - our own generated source, as attrs generates __init__
    build: Callable[[list[str]], Any] = ns["build"]
    build.__source__ = source  # type: ignore[attr-defined]
    return build
