"""Writing upload files, blank templates and error reports: formula-safe by default."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import IO, Any

import attrs

from .._validators import check_type
from ..exceptions import InvalidValueError
from ._errors import RowError
from ._parse import _converted_default
from ._reader import _ESCAPED, FORMULA_TRIGGERS, Reader
from ._templates import Column, ColumnType, R, Template

__all__ = ["ERROR_REPORT_COLUMNS", "neutralise", "write", "write_blank", "write_error_report"]

#: The columns an error report puts before each failed row.
ERROR_REPORT_COLUMNS = ("error_line", "error_column", "error_code", "error_message")


def neutralise(value: str) -> str:
    """Escape a value a spreadsheet would run as a formula by prefixing an apostrophe.

    A value starting with ``= + - @``, a tab or a carriage return (OWASP, CWE-1236), or
    with apostrophes before one of those, gets one more apostrophe; the reader removes
    exactly one, so ``read(write(x)) == x``.
    """
    if type(value) is not str:
        check_type(value, str, "value", "a string")
    if value and (value[0] in FORMULA_TRIGGERS or (value[0] == "'" and _ESCAPED.match(value))):
        return "'" + value
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _cell_getter(column: Column) -> Callable[[Any], str]:
    if column.field is None:
        header = column.header
        return lambda record: record.custom.get(header, "")
    get = attrgetter(column.field)
    if column.kind is ColumnType.TEXT or column.kind is ColumnType.EMAIL:
        return lambda record: get(record) or ""
    return lambda record: _text(get(record))


def _unwritten_fields(template: Template[Any]) -> list[tuple[str, Any]]:
    mapped = {c.field for c in template.columns}
    return [
        (a.name, _converted_default(a))
        for a in attrs.fields(template.record_type)
        if a.name not in mapped and a.name != "custom"
    ]


def _check_text_stream(stream: object) -> None:
    if isinstance(stream, io.RawIOBase | io.BufferedIOBase) or not callable(
        getattr(stream, "write", None)
    ):
        raise InvalidValueError(
            f"stream must be a text stream (open the file with newline=''), got "
            f"{type(stream).__name__} {stream!r:.80}",
            field="stream",
        )
    mode = getattr(stream, "mode", "")
    if isinstance(mode, str) and "b" in mode:
        raise InvalidValueError(
            f"stream must be a text stream, not one opened in binary mode {mode!r}",
            field="stream",
        )


def write(
    records: Iterable[R],
    stream: IO[str],
    template: Template[R],
    *,
    formula_safe: bool = True,
    extra_columns: Sequence[str] = (),
) -> int:
    """Write ``records`` as ``template``'s file to a text stream; return the rows written.

    Open the stream with ``newline=""``; rows end with ``\\r\\n`` as Excel's do. Dates
    are ISO 8601, yes/no values ``true``/``false``. Values a spreadsheet would run as a
    formula are escaped (see :func:`neutralise`) unless ``formula_safe=False``.
    Custom values go to the template's custom columns and to ``extra_columns``.

    Nothing is dropped silently: a record whose value has no column to go to (a custom
    field not in the template, a non-default field the template lacks) raises
    :class:`~provisioning.InvalidValueError` naming the record and the field. So does a
    custom field, or one of ``extra_columns``, named as one of the template's headers.
    """
    if isinstance(records, str | bytes | Mapping) or not isinstance(records, Iterable):
        raise InvalidValueError(
            f"records must be an iterable of records, got {type(records).__name__} {records!r:.80}",
            field="records",
        )
    _check_text_stream(stream)
    check_type(template, Template, "template", "a Template")
    formula_safe = bool(check_type(formula_safe, bool, "formula_safe", "True or False"))
    if isinstance(extra_columns, str) or not isinstance(extra_columns, Iterable):
        raise InvalidValueError(
            f"extra_columns must be a sequence of headers, got {extra_columns!r}",
            field="extra_columns",
        )
    extra_columns = tuple(extra_columns)
    for extra in extra_columns:
        check_type(extra, str, "extra_columns", "a sequence of headers (strings)")
    taken = set(template.headers)
    for extra in extra_columns:
        if extra in taken:
            raise InvalidValueError(
                f"extra_columns: {extra!r} is already a column of the {template.name!r} "
                "template (or repeated); the file would have it twice",
                field="extra_columns",
            )
        taken.add(extra)
    writer = csv.writer(stream, delimiter=template.delimiter, lineterminator="\r\n")
    escape = neutralise if formula_safe else str
    header = (*template.headers, *extra_columns)
    writer.writerow([escape(h) for h in header])
    getters = [_cell_getter(c) for c in template.columns]
    getters += [_cell_getter(Column(header=h)) for h in extra_columns]
    custom_headers = {c.header for c in template.columns if c.field is None} | set(extra_columns)
    field_headers = {c.header for c in template.columns if c.field is not None}
    unwritten = _unwritten_fields(template)
    record_type = template.record_type
    count = 0
    for count, record in enumerate(records, start=1):
        if type(record) is not record_type:
            raise InvalidValueError(
                f"record {count} is a {type(record).__name__}; the {template.name!r} template "
                f"writes {record_type.__name__} records",
                field="records",
            )
        for name, default in unwritten:
            if getattr(record, name) != default:
                raise InvalidValueError(
                    f"record {count} has {name}={getattr(record, name)!r}, but the "
                    f"{template.name!r} template has no column for {name!r}; it would be lost",
                    field=name,
                )
        lost = [k for k in record.custom if k not in custom_headers]
        clashing = [k for k in lost if k in field_headers]
        if clashing:
            raise InvalidValueError(
                f"record {count} has the custom field {clashing[0]!r}, the header of one of "
                f"the {template.name!r} template's own columns; the file would have that "
                "column twice",
                field="custom",
            )
        if lost:
            raise InvalidValueError(
                f"record {count} has custom fields {lost!r} that neither the template nor "
                "extra_columns has a column for; they would be lost",
                field="custom",
            )
        writer.writerow([escape(get(record)) for get in getters])
    return count


def write_blank(template: Template[Any], stream: IO[str], *, example: bool = False) -> None:
    """Write ``template``'s header row, and with ``example=True`` one example row."""
    check_type(template, Template, "template", "a Template")
    _check_text_stream(stream)
    writer = csv.writer(stream, delimiter=template.delimiter, lineterminator="\r\n")
    writer.writerow(template.headers)
    if example:
        writer.writerow([neutralise(c.example) for c in template.columns])


def write_error_report(
    problems: Iterable[object],
    stream: IO[str],
    template: Template[Any],
    *,
    header: Sequence[str] | None = None,
    include_warnings: bool = False,
    formula_safe: bool = True,
) -> int:
    """Write the rows that failed, as they came, after ``error_*`` columns; return the rows.

    ``problems`` is any iterable of :class:`RowError` (other items are passed over), so a
    :class:`Reader` can be given directly, in which case its file header is used. Each
    failed row is written once, its problems joined with ``"; "``: ``error_line`` (the
    line of its first problem), ``error_column``, ``error_code``, ``error_message``, then the
    row's own fields, exactly as read (formula-like values escaped unless
    ``formula_safe=False``). Rows whose record was yielded with only warnings are left
    out unless ``include_warnings``. Fix the rows, delete the four ``error_*`` columns
    and upload the file again.
    """
    if isinstance(problems, str | bytes) or not isinstance(problems, Iterable):
        raise InvalidValueError(
            f"problems must be an iterable of RowError values, got {type(problems).__name__}",
            field="problems",
        )
    _check_text_stream(stream)
    check_type(template, Template, "template", "a Template")
    if header is None:
        header = problems.header if isinstance(problems, Reader) else template.headers
    if isinstance(header, str) or not isinstance(header, Sequence):
        raise InvalidValueError(
            f"header must be a sequence of header cells, got {type(header).__name__}",
            field="header",
        )
    header = [check_type(cell, str, "header", "header cells (strings)") for cell in header]
    escape = neutralise if formula_safe else str
    writer = csv.writer(stream, delimiter=template.delimiter, lineterminator="\r\n")
    writer.writerow([*ERROR_REPORT_COLUMNS, *(escape(h) for h in header)])
    count = 0
    group: list[RowError] = []

    def flush() -> int:
        if not group or not (include_warnings or any(p.is_error for p in group)):
            return 0
        chosen = group if include_warnings else [p for p in group if p.is_error]
        columns = dict.fromkeys(p.column or "" for p in chosen)
        writer.writerow(
            [
                str(min(p.line for p in chosen)),
                "; ".join(c for c in columns if c),
                "; ".join(str(p.code) for p in chosen),
                "; ".join(p.message for p in chosen),
                *(escape(v) for v in chosen[0].row),
            ]
        )
        return 1

    for item in problems:
        if not isinstance(item, RowError):
            continue
        if group and item.record != group[0].record:
            count += flush()
            group = []
        group.append(item)
    count += flush()
    return count
