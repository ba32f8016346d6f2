"""Row errors, the header error, and the summary that ends a read."""

from __future__ import annotations

from typing import Any

import attrs

from .._twin import unfrozen_twin
from ..exceptions import SpreadsheetError
from ._codes import ErrorCode, Severity

__all__ = ["CellProblem", "HeaderError", "ReadSummary", "RowError", "row_error"]


class CellProblem(Exception):  # noqa: N818 - internal signal, never escapes the reader
    """Raised by a column's parser; the reader turns it into a :class:`RowError`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@attrs.frozen(kw_only=True)
class RowError:
    """One problem of one row (or of the header), reported instead of raised.

    ``record`` counts data rows from 1 (0 is the header row); ``line`` is the physical
    line of the file, from 1, where the offending cell starts. The two differ once a
    quoted value holds a line break. ``column`` is the header of the offending cell, or
    ``None`` when the problem is the row as a whole (a ragged or badly quoted row).
    """

    #: The 1-based data row; 0 for the header row.
    record: int
    #: The 1-based physical line where the offending cell (or the row) starts.
    line: int
    #: The column header, or ``None`` for the whole row.
    column: str | None
    #: A stable code; see :class:`ErrorCode`.
    code: ErrorCode
    #: What is wrong and how to fix it, for a person.
    message: str
    #: The raw value as it came, untrimmed ("" when the row as a whole is at fault).
    value: str = ""
    severity: Severity = Severity.ERROR
    #: The row's fields exactly as they came (the raw line for unparsable rows).
    row: tuple[str, ...] = attrs.field(default=(), repr=False)
    #: In a workbook, the sheet and cell (``Members!C14``; ``Members!14:14`` for the row
    #: as a whole); ``None`` in a CSV file.
    cell: str | None = None

    @property
    def is_error(self) -> bool:
        """Whether the row yields no record (an error or a vendor skip)."""
        return self.severity is not Severity.WARNING

    def __str__(self) -> str:
        where = f"line {self.line}" if self.cell is None else f"cell {self.cell}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where} (record {self.record}): {self.severity} {self.code}: {self.message}"


def row_error(  # noqa: PLR0917 - one call per warning on the hot path: positional
    record: int,
    line: int,
    column: str | None,
    code: ErrorCode,
    message: str,
    value: str,
    severity: Severity,
    row: tuple[str, ...],
    cell: str | None = None,
) -> RowError:
    """Build a :class:`RowError` from trusted values, without attrs' ``__init__``.

    The reader makes one per warning, which can be one per row of a large file (and, for
    a workbook, one more naming the cell).
    """
    error: Any = object.__new__(unfrozen_twin(RowError))
    error.record = record
    error.line = line
    error.column = column
    error.code = code
    error.message = message
    error.value = value
    error.severity = severity
    error.row = row
    error.cell = cell
    error.__class__ = RowError
    built: RowError = error
    return built


class HeaderError(SpreadsheetError):
    """The header row breaks the template; ``problems`` lists every problem found.

    ``code`` is ``"header"``; each problem is a :class:`RowError` with ``record=0``.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = ErrorCode.HEADER,
        line: int | None = 1,
        column: str | None = None,
        problems: tuple[RowError, ...] = (),
    ) -> None:
        super().__init__(message, code=code, line=line, column=column)
        self._context["problems"] = problems
        #: Every header problem: missing, repeated, inexact and blank columns.
        self.problems = problems

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_header_error, (self.message, dict(self._context)))


def _rebuild_header_error(message: str, context: dict[str, Any]) -> HeaderError:
    return HeaderError(message, **context)


@attrs.frozen(kw_only=True)
class ReadSummary:
    """What a read saw: counts of rows by outcome, and whether it reached the end."""

    #: Physical lines read, header included.
    lines: int = 0
    #: Data rows read, blank ones included (the last record number).
    rows: int = 0
    #: Rows that yielded a record.
    valid: int = 0
    #: Rows that yielded no record because of an error.
    invalid: int = 0
    #: Rows that yielded no record because a vendor rule skips them.
    skipped: int = 0
    #: Rows reported as repeating an earlier key or email.
    duplicates: int = 0
    #: Warnings reported (header warnings included).
    warnings: int = 0
    #: Rows with no value at all; they yield nothing and are not errors.
    blank: int = 0
    #: Whether the whole file was read.
    complete: bool = False

    @property
    def ok(self) -> bool:
        """Whether the whole file was read and no row was invalid or skipped."""
        return self.complete and self.invalid == 0 and self.skipped == 0
