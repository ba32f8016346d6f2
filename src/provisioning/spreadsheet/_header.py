"""Header matching: a file's header row against a template, as a pure function.

:func:`match_header` takes the header's cells and says which template column each one
is (the layout) and what is wrong or doubtful about them (the problems). It reads no
stream and keeps no state; the reader calls it once, with the cells of the first row.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import attrs

from .._validators import header_problem
from ._codes import ErrorCode, Severity
from ._errors import HeaderError, RowError
from ._options import OptionNames
from ._source import count_breaks
from ._templates import Column, Template

__all__ = ["SUGGESTIONS", "HeaderMatch", "Layout", "match_header"]

#: The file's columns in file order: a template column, an unknown header (kept in
#: ``custom``), or ``None`` for a blank header.
Layout = tuple[Column | str | None, ...]

#: How many unknown columns get a "did you mean" suggestion (each costs a fuzzy search).
SUGGESTIONS = 20

_PYTHON = OptionNames()

_DELIMITERS = {",": "comma-separated", "\t": "tab-delimited", ";": "semicolon-separated"}


@attrs.frozen
class HeaderMatch:
    """What a header row makes of a template: the layout, and the problems found.

    ``problems`` are in header order (missing required columns last); the errors among
    them refuse the file, the warnings are reported before its first row. When the
    header has more than ``max_columns`` columns, ``problems`` is that one error and
    ``layout`` is empty: no column was looked at.
    """

    #: Each header cell as the template column it is, an unknown header, or ``None``.
    layout: Layout
    problems: tuple[RowError, ...] = ()

    @property
    def errors(self) -> tuple[RowError, ...]:
        """The problems that refuse the file."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[RowError, ...]:
        """The problems that only warn."""
        return tuple(p for p in self.problems if p.severity is not Severity.ERROR)

    def error(self, template: Template[Any]) -> HeaderError | None:
        """The :class:`HeaderError` that lists every error, or ``None`` when there is none."""
        errors = self.errors
        if not errors:
            return None
        listing = "; ".join(f"{p.code}: {p.message}" for p in errors)
        return HeaderError(
            f"the header row does not fit the {template.name!r} template: {listing}",
            problems=errors,
        )


def _oversized(
    cells: list[str], *, max_columns: int, max_field_size: int | None, line: int
) -> tuple[RowError, ...]:
    """Too many columns, or cells too long: refused before any per-column work."""
    if len(cells) > max_columns:
        # A header of 200,000 columns costs no more than its length.
        message = (
            f"the header has {len(cells):,} columns; the limit is {max_columns:,} (max_columns)"
        )
        return (
            RowError(
                record=0, line=line, column=None, code=ErrorCode.TOO_MANY_COLUMNS, message=message
            ),
        )
    if max_field_size is None:
        return ()
    large = [i for i, cell in enumerate(cells) if len(cell) > max_field_size]
    if not large:
        return ()
    starts = _cell_starts(cells, line)
    return tuple(
        RowError(
            record=0,
            line=starts[index],
            column=None,
            code=ErrorCode.FIELD_TOO_LARGE,
            message=f"header cell {index + 1} has {len(cells[index]):,} characters; "
            f"the limit is {max_field_size:,} (max_field_size)",
            value=cells[index][:40] + "...",
        )
        for index in large
    )


def match_header(
    header: Sequence[str],
    template: Template[Any],
    *,
    lenient: bool,
    max_columns: int,
    max_field_size: int | None = None,
    line: int = 1,
    names: OptionNames = _PYTHON,
) -> HeaderMatch:
    """Match the cells of a header row against ``template``.

    Each cell is a template column (its exact header, or, differing only in case or
    spaces, an ``inexact_header`` problem: a warning when ``lenient``, else an error),
    an unknown column (a warning, with a "did you mean" for the first few), or blank (a
    warning). A column named twice and a required column absent are errors. ``line`` is
    the physical line the header starts on; a problem names the line its cell starts on.
    ``names`` is how a message names the reader's options (Python arguments by default).
    A header cell longer than ``max_field_size`` characters is a ``field_too_large``
    error; like too many columns, it is refused before any other check.
    """
    cells = list(header)
    oversized = _oversized(cells, max_columns=max_columns, max_field_size=max_field_size, line=line)
    if oversized:
        return HeaderMatch((), oversized)
    exact = {c.header: c for c in template.columns}
    known = list(exact)
    loose = {_loose(c.header): c for c in template.columns}
    row = tuple(cells)
    # The physical line each cell starts on (a quoted header cell may hold line breaks).
    starts = _cell_starts(cells, line)
    problems: list[RowError] = []
    layout: list[Column | str | None] = []
    seen: dict[str, int] = {}
    suggestions = SUGGESTIONS

    def problem(
        column: str | None, code: ErrorCode, message: str, value: str, *, warn: bool, index: int
    ) -> None:
        severity = Severity.WARNING if warn else Severity.ERROR
        problems.append(
            RowError(
                record=0,
                line=starts[index],
                column=column,
                code=code,
                message=message,
                value=value,
                severity=severity,
                row=row,
            )
        )

    for index, raw in enumerate(cells):
        if not raw.strip():
            message = f"column {index + 1} has no header; its values must be empty"
            problem(None, ErrorCode.BLANK_HEADER, message, raw, warn=True, index=index)
            layout.append(None)
            continue
        slot: Column | str | None = exact.get(raw)
        if slot is None and (near := loose.get(_loose(raw))) is not None:
            slot = near
            if lenient:
                message = f"header {raw!r} was read as {near.header!r} (lenient headers)"
            else:
                message = (
                    f"header {raw!r} differs from {near.header!r} only in case or "
                    f"spaces: did you mean {near.header!r}? Headers must match "
                    f"exactly; read with {names.lenient_headers} to accept it"
                )
            problem(raw, ErrorCode.INEXACT_HEADER, message, raw, warn=lenient, index=index)
        if slot is None:
            # A custom field's name is a header a file can be written with: trimmed, on
            # one line (what Column and CustomFields accept).
            slot = raw.strip()
            found = _custom_name_problems(raw, slot, template)
            for code, message, warn in found:
                problem(raw, code, message, raw, warn=warn, index=index)
            if any(not warn for _, _, warn in found):
                layout.append(None)
                continue
            close: list[str] = []
            if suggestions:
                suggestions -= 1
                close = difflib.get_close_matches(raw, known, n=1)
            message = (
                f"column {raw!r} is not in the {template.name!r} template; its values "
                "are kept in custom" + (f" (did you mean {close[0]!r}?)" if close else "")
            )
            problem(raw, ErrorCode.UNKNOWN_COLUMN, message, raw, warn=True, index=index)
        name = slot.header if isinstance(slot, Column) else slot
        if name in seen:
            message = (
                f"column {name!r} appears twice, as columns {seen[name] + 1} and "
                f"{index + 1}; keep one"
            )
            problem(raw, ErrorCode.DUPLICATE_COLUMN, message, raw, warn=False, index=index)
        seen.setdefault(name, index)
        layout.append(slot)
    problems.extend(
        RowError(
            record=0,
            line=line,
            column=column.header,
            code=ErrorCode.MISSING_COLUMN,
            message=_missing(column, cells, template),
            value="",
            severity=Severity.ERROR,
            row=row,
        )
        for column in template.columns
        if column.required and column.header not in seen
    )
    return HeaderMatch(tuple(layout), tuple(problems))


def _custom_name_problems(
    raw: str, name: str, template: Template[Any]
) -> list[tuple[ErrorCode, str, bool]]:
    """What is wrong with an unknown header ``raw`` as the custom field ``name`` (trimmed):
    each problem's code, message and whether it is only a warning."""
    found: list[tuple[ErrorCode, str, bool]] = []
    if name != raw:
        message = f"header {raw!r} has surrounding spaces; its values are kept as {name!r}"
        found.append((ErrorCode.INEXACT_HEADER, message, True))
    if (bad := header_problem(name)) is not None:
        message = (
            f"column {raw!r} is not in the {template.name!r} template and its header "
            f"{bad}, so its values cannot be kept in custom; rename the column"
        )
        found.append((ErrorCode.UNKNOWN_COLUMN, message, False))
    return found


def _loose(header: str) -> str:
    return "".join(header.split()).casefold()


def _cell_starts(cells: list[str], line: int) -> list[int]:
    """The physical line each cell of a (maybe multi-line) header starts on, in one pass."""
    starts, at = [], line
    for cell in cells:
        starts.append(at)
        if "\n" in cell or "\r" in cell:
            at += count_breaks(cell)
    return starts


def _missing(column: Column, cells: list[str], template: Template[Any]) -> str:
    """The message for a missing required column, with the likeliest cause."""
    headers = set(template.headers)
    others = [h for h in dict.fromkeys(cells) if h not in headers]
    close = difflib.get_close_matches(column.header, others, n=1)
    hint = f" (is {close[0]!r} meant to be it?)" if close else ""
    if len(cells) == 1:
        hint = _delimiter_hint(cells[0], template.delimiter) or hint
    return f"required column {column.header!r} is missing{hint}"


def _delimiter_hint(header: str, delimiter: str) -> str:
    """A hint when a one-column header holds another delimiter (the wrong file kind)."""
    for other, kind in _DELIMITERS.items():
        if other != delimiter and other in header:
            expected = _DELIMITERS.get(delimiter, f"separated by {delimiter!r}")
            return f" (the file looks {kind}; this template's files are {expected})"
    return ""
