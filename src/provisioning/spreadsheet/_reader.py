"""The streaming reader: records and row errors in file order, in constant memory."""

from __future__ import annotations

import csv
import inspect
import re
from collections.abc import Iterator
from operator import attrgetter
from typing import IO, Any, Generic, TypedDict, Unpack

import attrs

from .._pandas import data_frame
from .._validators import check_type, to_enum
from ..exceptions import InvalidValueError, SpreadsheetError
from ..records import normalize_email
from ._codes import ErrorCode, Severity
from ._dates import AMBIGUOUS_HINT, DateOrder
from ._errors import HeaderError, ReadSummary, RowError, row_error
from ._header import Layout, match_header
from ._options import OptionNames
from ._parse import compile_builder, parse_row
from ._source import LineSource, blank_run, count_breaks, encoding_name, physical_lines
from ._templates import Column, R, Template
from ._workbook import (
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_UNCOMPRESSED_SIZE,
    WorkbookFound,
    WorkbookLines,
    cell_texts,
)

__all__ = [
    "DEFAULT_MAX_COLUMNS",
    "DEFAULT_MAX_FIELD_SIZE",
    "DEFAULT_MAX_FILE_SIZE",
    "DEFAULT_MAX_PROBLEM_ROWS",
    "DEFAULT_MAX_RECORD_SIZE",
    "ReadReport",
    "Reader",
    "read",
    "read_all",
]

#: 50 MB, the upload limit of comparable platforms (see the domain reference, docs/domain.md).
DEFAULT_MAX_FILE_SIZE = 50_000_000

#: The columns of :meth:`ReadReport.to_records`, in order.
PROBLEM_COLUMNS = ("record", "line", "cell", "column", "code", "severity", "message", "value")
#: Excel's own limit on the characters of one cell.
DEFAULT_MAX_FIELD_SIZE = 32_767
#: The most columns a header may have; the vendor's template has 27.
DEFAULT_MAX_COLUMNS = 1_000
#: 1 MiB: the most characters one record (one line, or the lines of a quoted multi-line
#: record) may have. The vendor's 27 columns each full to Excel's cell limit fit.
DEFAULT_MAX_RECORD_SIZE = 1 << 20
#: Rows with errors a read reports before it refuses the file (``too_many_problems``):
#: each one is kept by whoever collects them, so a file of millions of bad rows is
#: refused here, in bounded memory.
DEFAULT_MAX_PROBLEM_ROWS = 100_000

#: What a spreadsheet runs as a formula when a cell starts with it (OWASP, CWE-1236).
FORMULA_TRIGGERS = "=+-@\t\r"
# A value our writer escaped: one apostrophe added before a trigger (or before
# apostrophes that precede one, so the escape can be undone exactly).
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")


class _RecordTooLarge(Exception):  # noqa: N818 - internal signal, never escapes the reader
    """Raised by :class:`_Feed` when a multi-line record passes the record size limit."""


class _Feed:
    """Hands the CSV parser one line we chose, then the lines after it if it asks.

    The lines a record takes after its first one are kept in ``taken``; ``size`` counts
    the record's characters, and :class:`_RecordTooLarge` stops it past ``limit``.
    """

    __slots__ = ("ended", "first", "limit", "lines", "size", "taken")

    def __init__(self, lines: Iterator[str], limit: int) -> None:
        self.lines = lines
        self.first: str | None = None
        self.taken: list[str] = []
        self.ended = False
        self.size = 0
        self.limit = limit

    def start(self, first: str) -> None:
        """Begin a record with the line ``first``."""
        self.first = first
        self.taken.clear()
        self.size = len(first)

    def taken_lines(self) -> int:
        """How many physical lines the record took after its first one."""
        return physical_lines(self.taken) if self.taken else 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        first = self.first
        if first is not None:
            self.first = None
            return first
        try:
            line = next(self.lines)
        except StopIteration:
            self.ended = True
            raise
        self.taken.append(line)
        self.size += len(line)
        if self.size > self.limit:
            raise _RecordTooLarge
        return line


def _cell_line(fields: list[str], index: int, start: int) -> int:
    """The physical line where cell ``index`` of a row starting on ``start`` begins."""
    return start + count_breaks("".join(fields[:index]))


def _check_limits(*, sheet: object, **limits: object) -> None:
    """Refuse a sheet that is no name, and limits that are not whole numbers 1 or more."""
    if sheet is not None and (not isinstance(sheet, str) or not sheet):
        raise InvalidValueError(
            f"sheet must be a sheet's name or None, got {sheet!r}", field="sheet"
        )
    for name, limit in limits.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidValueError(
                f"{name} must be a whole number, 1 or more, got {limit!r}", field=name
            )


def _row_line(fields: list[str], index: int, start: int) -> int:
    """A workbook's row is one line, whatever line breaks its cells hold."""
    return start


class Reader(Generic[R]):
    """Read an upload file: iterate for records and :class:`RowError` values in file order.

    The header is read and checked when the reader is made, so a file whose header
    breaks the template raises :class:`HeaderError` at once. Each data row then yields
    its warnings (and errors) followed by its record, if it has one. Memory stays flat
    whatever the file's size: records are never kept, and the only state that grows is
    the duplicate index, under 200 bytes a row.

    :attr:`summary` counts what was seen so far; ``summary.complete`` turns true once
    the file has been read to the end. A :class:`~provisioning.SpreadsheetError` may
    still be raised during iteration when the stream itself is broken (undecodable
    bytes, a NUL character, the size limit): records yielded before it are from a file
    that cannot be taken whole.
    """

    #: A workbook's rows after the header, as calamine gives their cells.
    _cells: Iterator[list[Any]]

    def __init__(
        self,
        stream: IO[Any],
        template: Template[R],
        *,
        date_order: DateOrder | None = None,
        lenient_headers: bool = False,
        max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
        max_field_size: int = DEFAULT_MAX_FIELD_SIZE,
        max_columns: int = DEFAULT_MAX_COLUMNS,
        max_record_size: int = DEFAULT_MAX_RECORD_SIZE,
        max_problem_rows: int = DEFAULT_MAX_PROBLEM_ROWS,
        option_names: OptionNames | None = None,
        encoding: str | None = None,
        sheet: str | None = None,
        max_uncompressed_size: int = DEFAULT_MAX_UNCOMPRESSED_SIZE,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        if isinstance(stream, str | bytes) or not callable(getattr(stream, "read", None)):
            raise InvalidValueError(
                "read() takes a text or binary stream, not a path or the file's content; "
                "open the file yourself (open(path, 'rb')) or wrap text in io.StringIO; got "
                f"{type(stream).__name__}",
                field="stream",
            )
        check_type(template, Template, "template", "a Template")
        if date_order is not None:
            date_order = to_enum(DateOrder, date_order, "date_order")
        if lenient_headers is not True and lenient_headers is not False:
            raise InvalidValueError(
                f"lenient_headers must be True or False, got {lenient_headers!r}",
                field="lenient_headers",
            )
        size: object = max_file_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise InvalidValueError(
                f"max_file_size must be a whole number, 0 or more, or None, got {max_file_size!r}",
                field="max_file_size",
            )
        field_size: object = max_field_size
        if isinstance(field_size, bool) or not isinstance(field_size, int) or field_size < 1:
            raise InvalidValueError(
                f"max_field_size must be a whole number, 1 or more, got {max_field_size!r}",
                field="max_field_size",
            )
        _check_limits(
            sheet=sheet,
            max_columns=max_columns,
            max_record_size=max_record_size,
            max_problem_rows=max_problem_rows,
            max_uncompressed_size=max_uncompressed_size,
            max_rows=max_rows,
        )
        try:
            encoding = encoding_name(encoding)
        except ValueError as exc:
            raise InvalidValueError(str(exc), field="encoding") from None
        option_names = OptionNames() if option_names is None else option_names
        check_type(option_names, OptionNames, "option_names", "an OptionNames")
        if max_field_size > csv.field_size_limit():
            raise InvalidValueError(
                f"max_field_size {max_field_size:,} is above the csv module's limit of "
                f"{csv.field_size_limit():,}; raise that first with csv.field_size_limit()",
                field="max_field_size",
            )
        self.template: Template[R] = template
        self.date_order = date_order
        self._lenient = lenient_headers
        self._max_field = max_field_size
        self._max_columns = max_columns
        self._max_record = max_record_size
        self._max_problem_rows = max_problem_rows
        self._names = option_names
        self._stream = stream
        self._workbook: WorkbookLines | None = None
        self._workbook_options = {
            "sheet": sheet,
            "max_file_size": max_file_size,
            "max_uncompressed_size": max_uncompressed_size,
            "max_rows": max_rows,
        }
        self._cell_line = _cell_line
        self._source = LineSource(
            stream,
            max_file_size=max_file_size,
            max_line=max_record_size,
            names=option_names,
            encoding=encoding,
        )
        self._lines = iter(self._source)
        self._feed = _Feed(self._lines, max_record_size)
        self._csv = csv.reader(self._feed, delimiter=template.delimiter, strict=True)
        self._counts = dict.fromkeys(
            ("lines", "rows", "valid", "invalid", "skipped", "duplicates", "warnings", "blank"), 0
        )
        self._complete = False
        self._header_warnings: list[RowError] = []
        #: The header row exactly as the file has it.
        self.header: tuple[str, ...] = ()
        #: Each file column as the template column it is, an unknown header, or None.
        self.layout: Layout = ()
        self._key_at = self._email_at = 0
        #: The duplicate index: 64-bit hashes of the keys and emails of the valid rows
        #: read so far, each to the line its row starts on.
        self._keys: dict[int, int] = {}
        self._emails: dict[int, int] = {}
        self._read_header()
        self._iterator: Iterator[R | RowError] = self._rows()
        if self._workbook is not None:
            self._iterator = self._with_cells(self._sheet_rows())

    # -- public --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[R | RowError]:
        return self._iterator

    def __next__(self) -> R | RowError:
        return next(self._iterator)

    @property
    def sheet(self) -> str | None:
        """The sheet read, for a workbook (``None`` for a CSV file)."""
        return None if self._workbook is None else self._workbook.sheet

    @property
    def encoding(self) -> str:
        """The encoding the file was read in (``utf-8``, ``utf-16-le``, ``cp1252``...;
        ``xlsx`` for a workbook).

        With ``encoding="auto"`` it may change while the file is read: the reader
        reads UTF-8 until bytes that are not, then (if every byte before them was ASCII)
        Windows-1252, and reports an ``encoding_guessed`` warning before those rows.
        """
        return "xlsx" if self._workbook is not None else self._source.encoding

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Headers the template does not know; their values are kept in ``custom``."""
        return tuple(s for s in self.layout if isinstance(s, str))

    @property
    def started(self) -> bool:
        """Whether anything was read from the reader yet (a warning, an error or a record)."""
        return inspect.getgeneratorstate(self._iterator) != inspect.GEN_CREATED  # type: ignore[arg-type]

    def key_line(self, key: str) -> int | None:
        """The line where the valid row read so far with this LegacyContactKey starts.

        ``None`` when no valid row has it (yet). The reader already keeps this index to
        find repeated keys, so asking costs no memory: a planner uses it to know which
        stored records a file leaves out. It holds 64-bit hashes, not the keys: two keys
        share a hash with odds of about one in 10^19 a pair. Always ``None`` for a
        template whose key is the email.
        """
        if self.template.key == self.template.email:
            return None
        return self._keys.get(hash(key.strip()))

    def email_line(self, email: str) -> int | None:
        """The line where the valid row read so far with this email (ignoring case) starts.

        ``None`` when no valid row has it (yet). The same duplicate index as
        :meth:`key_line`, by email: a Marketing planner keyed by email asks it which
        stored contacts the file leaves out.

        >>> import io
        >>> import provisioning as pv
        >>> reader = pv.read(io.StringIO("Email\\nAda@Example.com\\n"), pv.MARKETING_PROFESSIONAL)
        >>> _ = list(reader)
        >>> reader.email_line("ada@example.com"), reader.email_line("bob@example.com")
        (2, None)
        """
        return self._emails.get(hash(normalize_email(email).lower()))

    @property
    def last_record(self) -> int:
        """The data row number (from 1, as a :class:`RowError`'s ``record``) of the record
        just yielded; a planner reads it to say which row each outcome is for."""
        return self._counts["rows"]

    @property
    def summary(self) -> ReadSummary:
        """What has been read so far; ``complete`` once the end of the file is reached."""
        return ReadSummary(**self._counts, complete=self._complete)

    # -- the header ----------------------------------------------------------------------

    def _read_header(self) -> None:
        header_line = 1
        try:
            try:
                first = next(self._lines)
            except WorkbookFound as found:
                first = self._open_workbook(found.head)
            if self._workbook is not None:
                header_line = self._workbook.header_row
            elif self._workbook_options["sheet"] is not None:
                raise SpreadsheetError(
                    f"{self._names.with_sheet(str(self._workbook_options['sheet']))} names a "
                    "sheet of a workbook, but this file is text (CSV)",
                    code=ErrorCode.SHEET,
                    line=1,
                )
            cells = self._split_header(first)
        except StopIteration:
            raise SpreadsheetError(
                "the file is empty: there is no header row", code=ErrorCode.EMPTY_FILE, line=1
            ) from None
        except SpreadsheetError as exc:
            if exc.code != ErrorCode.RECORD_TOO_LARGE:
                raise
            raise self._header_too_large() from None
        match = match_header(
            cells,
            self.template,
            lenient=self._lenient,
            max_columns=self._max_columns,
            max_field_size=self._max_field,
            names=self._names,
            line=header_line,
        )
        self.header = tuple(cells)
        self._counts["lines"] = self._line = (
            header_line + (blank_run(first) or 1) - 1 + self._feed.taken_lines()
        )
        error = match.error(self.template)
        if error is not None:
            if self._workbook is not None:
                problems = tuple(self._header_cell(p, cells) for p in error.problems)
                raise HeaderError(
                    str(error).replace(
                        " template: ", f" template (sheet {self._workbook.sheet!r}): ", 1
                    ),
                    problems=problems,
                )
            raise error
        self.layout = match.layout
        self._header_warnings = list(match.warnings)
        if self._workbook is not None:
            self._header_warnings = [self._header_cell(p, cells) for p in match.warnings]

    def _open_workbook(self, head: bytes) -> str:
        """Read the stream as a workbook from here on; the header row's line."""
        options: Any = self._workbook_options
        book = WorkbookLines(
            head,
            self._stream,
            delimiter=self.template.delimiter,
            sheet=options["sheet"],
            max_file_size=options["max_file_size"],
            max_uncompressed_size=options["max_uncompressed_size"],
            max_rows=options["max_rows"],
            max_columns=self._max_columns,
            names=self._names,
        )
        self._workbook = book
        self._cell_line = _row_line
        self._cells = book.rows()
        header = book.line(next(self._cells))
        self._lines = iter(())
        self._feed = _Feed(iter((header,)), self._max_record)
        self._csv = csv.reader(self._feed, delimiter=self.template.delimiter, strict=True)
        return header

    def _header_cell(self, problem: RowError, cells: list[str]) -> RowError:
        """A header problem with its cell: the one holding its value, else the row."""
        book = self._workbook
        assert book is not None  # workbooks only
        index = None
        if problem.column is not None and problem.value in cells:
            # A repeated column is reported at its second cell.
            found = [i for i, c in enumerate(cells) if c == problem.value]
            index = found[-1] if problem.code is ErrorCode.DUPLICATE_COLUMN else found[0]
        return attrs.evolve(problem, cell=book.cell(index, problem.line))

    def _with_cells(self, items: Iterator[R | RowError]) -> Iterator[R | RowError]:
        """A workbook's items, each problem with its sheet and cell (``Members!C14``)."""
        book = self._workbook
        assert book is not None  # workbooks only
        by_header = {s.header if isinstance(s, Column) else s: i for i, s in enumerate(self.layout)}
        blanks = [i for i, s in enumerate(self.layout) if s is None]
        for item in items:
            problem: Any = item
            if item.__class__ is not RowError or problem.cell is not None or not problem.record:
                yield item
                continue
            index = by_header.get(problem.column) if problem.column is not None else None
            if problem.code is ErrorCode.VALUE_WITHOUT_HEADER:
                index = next((i for i in blanks if problem.row[i] == problem.value), None)
            # A copy with its cell, built as the reader builds warnings (attrs.evolve runs
            # every validator again, once per problem of a large sheet).
            yield row_error(
                problem.record,
                problem.line,
                problem.column,
                problem.code,
                problem.message,
                problem.value,
                problem.severity,
                problem.row,
                book.cell(index, problem.line),
            )

    def _split_header(self, first: str) -> list[str]:
        if '"' not in first:
            return first.rstrip("\r\n").split(self.template.delimiter)
        self._feed.start(first)
        try:
            return next(self._csv)
        except _RecordTooLarge:
            raise self._header_too_large() from None
        except csv.Error as exc:
            raise SpreadsheetError(
                f"the header row cannot be parsed: {exc}", code=ErrorCode.BAD_QUOTING, line=1
            ) from None

    def _header_too_large(self) -> HeaderError:
        message = (
            f"the header row is longer than the limit of {self._max_record:,} characters "
            "(max_record_size); a header names the columns, each in a few words"
        )
        problem = RowError(
            record=0, line=1, column=None, code=ErrorCode.RECORD_TOO_LARGE, message=message
        )
        return HeaderError(
            f"the header row does not fit the {self.template.name!r} template: "
            f"{problem.code}: {message}",
            problems=(problem,),
        )

    # -- the rows ------------------------------------------------------------------------

    def _rows(self) -> Iterator[R | RowError]:  # noqa: PLR0915 - the hot loop, kept flat
        template = self.template
        layout = self.layout
        counts = self._counts
        for warning in self._header_warnings:
            counts["warnings"] += 1
            yield warning
        source = self._source
        # Only encoding="auto" may guess; a guess is reported before the rows it read.
        guessing = source.asked == "auto"
        if guessing and source.guess is not None:
            guessing = False
            yield self._guessed()
        width = len(layout)
        delimiter = template.delimiter
        build = compile_builder(template, layout, self.date_order)
        # A cell needs a careful look when it may start with a formula trigger or an
        # escape apostrophe: at the start of the line, or after a delimiter (and an
        # opening quote). The pattern over-matches a little; the look itself is exact.
        # A cell can start with "\r" only inside a multi-line record, which always gets
        # the careful look; a tab starts a cell only where it is not the delimiter.
        triggers = "'" + FORMULA_TRIGGERS.replace("\r", "").replace(delimiter, "")
        # A line starting with a break is blank, or a run of blank lines (LineSource).
        starts = triggers + "\r\n"
        care = re.compile(re.escape(delimiter) + "[" + re.escape(triggers) + "]")
        search = care.search
        finditer = care.finditer
        max_field = self._max_field
        feed = self._feed
        parse_csv = self._csv
        inspect = self._inspect
        key_of, email_of = self._unique_getters()
        keys, emails = self._keys, self._emails
        line = self._line
        record = 0
        valid = 0
        for text in self._lines:
            if guessing and source.guess is not None:
                guessing = False
                yield self._guessed()
            record += 1
            start = line + 1
            if '"' in text:
                feed.start(text)
                try:
                    fields = next(parse_csv)
                except _RecordTooLarge:
                    counts["rows"] = record
                    counts["lines"] = start
                    raise self._record_too_large(start) from None
                except csv.Error as exc:
                    line = start + feed.taken_lines()
                    counts["rows"] = record
                    counts["lines"] = line
                    self._failed("invalid", start)
                    yield self._quote_error(exc, record, start, text)
                    if feed.ended:
                        break
                    continue
                line = start + feed.taken_lines()
                # Without its quotes the line shows every cell start after a delimiter.
                careful = (
                    bool(feed.taken)
                    or text.lstrip('"')[:1] in triggers
                    or search(text.replace('"', "")) is not None
                    or len(text) > max_field
                )
            else:
                line = start
                fields = text.split(delimiter)
                fields[-1] = fields[-1].rstrip("\r\n")
                careful = text[:1] in starts or search(text) is not None or len(text) > max_field
            if careful or len(fields) != width:
                if text[:1] in "\r\n":  # one blank line, or a run of them
                    blanks = blank_run(text)
                    counts["blank"] += blanks
                    record += blanks - 1
                    line = start + blanks - 1
                    continue
                cells = None
                if '"' not in text and len(text) <= max_field:
                    # Only the cells the pattern points at need a look.
                    cells = [text.count(delimiter, 0, m.start()) + 1 for m in finditer(text)]
                    if text[:1] in triggers:
                        cells.insert(0, 0)
                outcome = inspect(fields, record, start, width, cells)
                if outcome is None:  # a blank row: no value, nothing lost
                    counts["blank"] += 1
                    continue
                fields, notes, failed = outcome
                for note in notes:
                    if note.severity is Severity.WARNING:
                        counts["warnings"] += 1
                    yield note
                if failed:
                    self._failed("invalid", start)
                    continue
            item = build(fields)
            if item is None:
                parsed = parse_row(template, layout, fields, self.date_order)
                if parsed.record is None:
                    if not any(f.strip() for f in fields):
                        counts["blank"] += 1
                        continue
                    found = list(parsed.problems)
                    found += self._repeats(fields, *self._seen(fields, found, keys, emails))
                    yield from self._problems(found, fields, record, start)
                    continue
                item = parsed.record
            # Uniqueness (duplicate_key, duplicate_email): the key exactly, the email ignoring case.
            # The index keeps 64-bit hashes, not the values, to keep memory flat.
            email_hash = hash(email_of(item).lower())
            seen_email = emails.get(email_hash)
            if key_of is None:
                seen_key = key_hash = None
            else:
                key_hash = hash(key_of(item))
                seen_key = keys.get(key_hash)
            if seen_key is not None or seen_email is not None:
                found = self._repeats(fields, seen_key, seen_email)
                yield from self._problems(found, fields, record, start)
                continue
            emails[email_hash] = start
            if key_hash is not None:
                keys[key_hash] = start
            valid += 1
            counts["valid"] = valid
            counts["rows"] = record
            yield item
        if guessing and source.guess is not None:
            yield self._guessed()
        counts["rows"] = record
        counts["lines"] = line
        counts["valid"] = valid
        self._complete = True

    def _sheet_rows(self) -> Iterator[R | RowError]:  # noqa: PLR0915 - the hot loop, kept flat
        """A workbook's rows, as :meth:`_rows` reads lines: each row's cells come as
        calamine gives them, so no line is joined, split or unquoted; a cell gets the
        careful look when it may start with a formula trigger or an escape, or is long."""
        template = self.template
        layout = self.layout
        counts = self._counts
        for warning in self._header_warnings:
            counts["warnings"] += 1
            yield warning
        width = len(layout)
        build = compile_builder(template, layout, self.date_order)
        triggers = "'" + FORMULA_TRIGGERS
        # The cells joined by line breaks: a cell starts at the start or after a break.
        care = re.compile("\n[" + re.escape(triggers) + "]")
        search = care.search
        finditer = care.finditer
        breaks = width - 1
        max_field = self._max_field
        inspect = self._inspect
        key_of, email_of = self._unique_getters()
        keys, emails = self._keys, self._emails
        texts = cell_texts(width)
        line = self._line
        record = 0
        valid = 0
        for cells in self._cells:
            record += 1
            line += 1
            start = line
            fields = texts(cells)
            joined = "\n".join(fields)
            if (
                joined[:1] in triggers
                or search(joined) is not None
                or len(joined) > max_field
                or len(fields) != width
            ):
                if not any(fields):  # an empty row: no value, nothing lost
                    counts["blank"] += 1
                    continue
                look: list[int] | None = None
                if len(joined) <= max_field and joined.count("\n") == breaks:
                    # No cell holds a line break: the pattern points at the cells to look at.
                    look = [joined.count("\n", 0, m.start()) + 1 for m in finditer(joined)]
                    if joined[:1] in triggers:
                        look.insert(0, 0)
                outcome = inspect(fields, record, start, width, look)
                if outcome is None:
                    counts["blank"] += 1
                    continue
                fields, notes, failed = outcome
                for note in notes:
                    if note.severity is Severity.WARNING:
                        counts["warnings"] += 1
                    yield note
                if failed:
                    self._failed("invalid", start)
                    continue
            item = build(fields)
            if item is None:
                parsed = parse_row(template, layout, fields, self.date_order)
                if parsed.record is None:
                    if not any(f.strip() for f in fields):
                        counts["blank"] += 1
                        continue
                    found = list(parsed.problems)
                    found += self._repeats(fields, *self._seen(fields, found, keys, emails))
                    yield from self._problems(found, fields, record, start)
                    continue
                item = parsed.record
            email_hash = hash(email_of(item).lower())
            seen_email = emails.get(email_hash)
            if key_of is None:
                seen_key = key_hash = None
            else:
                key_hash = hash(key_of(item))
                seen_key = keys.get(key_hash)
            if seen_key is not None or seen_email is not None:
                found = self._repeats(fields, seen_key, seen_email)
                yield from self._problems(found, fields, record, start)
                continue
            emails[email_hash] = start
            if key_hash is not None:
                keys[key_hash] = start
            valid += 1
            counts["valid"] = valid
            counts["rows"] = record
            yield item
        counts["rows"] = record
        counts["lines"] = line
        counts["valid"] = valid
        self._complete = True

    def _guessed(self) -> RowError:
        """The warning that the file's encoding was guessed, naming it and an example."""
        guess = self._source.guess
        assert guess is not None  # only called once there is one
        self._counts["warnings"] += 1
        return RowError(
            record=0,
            line=guess.line,
            column=None,
            code=ErrorCode.ENCODING_GUESSED,
            message=guess.message(self._names),
            value=guess.example,
            severity=Severity.WARNING,
        )

    def _unique_getters(self) -> tuple[Any, Any]:
        template = self.template
        by_header = {s.header: i for i, s in enumerate(self.layout) if isinstance(s, Column)}
        self._key_at, self._email_at = by_header[template.key], by_header[template.email]
        key_column = template.column(template.key)
        email_column = template.column(template.email)
        key_of = None if template.key == template.email else attrgetter(key_column.field or "")
        return key_of, attrgetter(email_column.field or "")

    def _seen(
        self,
        fields: list[str],
        found: list[tuple[int, ErrorCode, str]],
        keys: dict[int, int],
        emails: dict[int, int],
    ) -> tuple[int | None, int | None]:
        """For a row that failed on other cells: do its key and email repeat a loaded row?"""
        bad = {index for index, _, _ in found}
        seen_key = seen_email = None
        if self._email_at not in bad:
            seen_email = emails.get(hash(normalize_email(fields[self._email_at]).lower()))
        if self.template.key != self.template.email and self._key_at not in bad:
            seen_key = keys.get(hash(fields[self._key_at].strip()))
        return seen_key, seen_email

    def _severity(self, code: ErrorCode) -> Severity:
        return Severity.SKIPPED if code in self.template.skip_codes else Severity.ERROR

    def _inspect(
        self,
        fields: list[str],
        record: int,
        start: int,
        width: int,
        cells: list[int] | None,
    ) -> tuple[list[str], list[RowError], bool] | None:
        """The careful look at a row: blank, ragged, too large, formula-like, escaped.

        ``cells`` limits the look to those cells (``None``: all of them). Returns
        ``None`` for a blank row, else the fields to parse (escapes undone), the problems
        to report, and whether the row has failed already.
        """
        row = tuple(fields)
        if len(fields) != width:
            # A row of empty cells is blank; one with more cells than the header is not
            # (a line of a million commas is no blank row).
            if len(fields) < width and not any(f.strip() for f in fields):
                return None
            code = ErrorCode.TOO_FEW_FIELDS if len(fields) < width else ErrorCode.TOO_MANY_FIELDS
            extra = self.template.delimiter.join(fields[width:])
            hint = ""
            if any(f.strip() for f in fields[width:]):
                hint = "; a value holding the delimiter must be quoted"
            elif extra:
                hint = "; the cells past the header's are empty: delete those columns"
            message = f"the row has {len(fields):,} fields but the header has {width:,}{hint}"
            error = RowError(
                record=record,
                line=start,
                column=None,
                code=code,
                message=message,
                value=extra,
                row=row,
            )
            return fields, [error], True
        notes: list[RowError] = []
        failed = False
        out = fields
        max_field = self._max_field
        for index in range(width) if cells is None else cells:
            raw = fields[index]
            if not raw:
                continue
            if len(raw) > max_field:
                message = (
                    f"the value has {len(raw):,} characters; the limit is {max_field:,} "
                    "(max_field_size)"
                )
                code, severity, failed = ErrorCode.FIELD_TOO_LARGE, Severity.ERROR, True
            elif raw[0] in FORMULA_TRIGGERS:
                message = (
                    f"{raw!r} starts with {raw[0]!r}, which a spreadsheet runs as a formula; "
                    "it is kept as text, and escaped when written"
                )
                code, severity = ErrorCode.FORMULA_LIKE, Severity.WARNING
            else:
                trimmed = raw.strip()
                if trimmed[:1] == "'" and _ESCAPED.match(trimmed):
                    if out is fields:
                        out = list(fields)
                    out[index] = trimmed[1:]
                continue
            line = start if cells is not None else self._cell_line(fields, index, start)
            column = self._column_name(index)
            notes.append(row_error(record, line, column, code, message, raw, severity, row))
        return out, notes, failed

    def _column_name(self, index: int) -> str | None:
        slot = self.layout[index]
        if slot is None:
            return None
        return slot.header if isinstance(slot, Column) else slot

    def _problems(
        self,
        found: list[tuple[int, ErrorCode, str]],
        fields: list[str],
        record: int,
        start: int,
    ) -> list[RowError]:
        """The RowErrors of a failed row; counts it as invalid or skipped."""
        row = tuple(fields)
        errors = [
            RowError(
                record=record,
                line=self._cell_line(fields, index, start),
                column=self._column_name(index),
                code=code,
                message=(
                    message.replace(AMBIGUOUS_HINT, self._names.date_order)
                    if code is ErrorCode.AMBIGUOUS_DATE
                    else message
                ),
                value=fields[index],
                severity=self._severity(code),
                row=row,
            )
            for index, code, message in found
        ]
        if any(e.code in (ErrorCode.DUPLICATE_KEY, ErrorCode.DUPLICATE_EMAIL) for e in errors):
            self._counts["duplicates"] += 1
        self._failed(
            "invalid" if any(e.severity is Severity.ERROR for e in errors) else "skipped", start
        )
        return errors

    def _failed(self, outcome: str, line: int) -> None:
        """Count a row that yields no record; past the cap, refuse the file."""
        counts = self._counts
        counts[outcome] += 1
        if counts["invalid"] + counts["skipped"] > self._max_problem_rows:
            raise SpreadsheetError(
                f"more than {self._max_problem_rows:,} rows have errors (the last on line "
                f"{line}); the file is refused there, unread past that line (the limit is "
                "max_problem_rows)",
                code=ErrorCode.TOO_MANY_PROBLEMS,
                line=line,
            )

    def _repeats(
        self, fields: list[str], seen_key: int | None, seen_email: int | None
    ) -> list[tuple[int, ErrorCode, str]]:
        """A row's duplicate_key and duplicate_email problems, naming the first line."""
        template = self.template
        marketing = ErrorCode.DUPLICATE_EMAIL in template.skip_codes
        found = []
        for seen, code, at, what in (
            (seen_key, ErrorCode.DUPLICATE_KEY, self._key_at, template.key),
            (seen_email, ErrorCode.DUPLICATE_EMAIL, self._email_at, template.email),
        ):
            if seen is not None:
                skipped = "skipped: " if code in template.skip_codes else ""
                case = " (ignoring case)" if code is ErrorCode.DUPLICATE_EMAIL else ""
                rule = (
                    f"Marketing loads only the first row of each {what}"
                    if marketing
                    else "each must be unique in the file"
                )
                message = (
                    f"{skipped}{what} {fields[at].strip()!r}{case} repeats line {seen}; {rule}"
                )
                found.append((at, code, message))
        return found

    def _record_too_large(self, start: int) -> SpreadsheetError:
        return SpreadsheetError(
            f"the record starting on line {start} is longer than the limit of "
            f"{self._max_record:,} characters (max_record_size); usually a quote that "
            "is never closed",
            code=ErrorCode.RECORD_TOO_LARGE,
            line=start,
        )

    def _quote_error(self, exc: csv.Error, record: int, start: int, text: str) -> RowError:
        feed = self._feed
        message = str(exc)
        if message.startswith("field larger than field limit"):
            raise SpreadsheetError(
                f"a value starting on line {start} is longer than "
                f"{csv.field_size_limit():,} characters; usually a quote that is never "
                "closed",
                code=ErrorCode.FIELD_TOO_LARGE,
                line=start,
            )
        if feed.ended:
            return RowError(
                record=record,
                line=start,
                column=None,
                code=ErrorCode.UNCLOSED_QUOTE,
                message=f"a quoted value that starts on line {start} is never closed; the "
                f"{feed.taken_lines()} line(s) after it were read into it and are not "
                "rows. Close the quote, or double the quotes inside the value",
                value=text,
                row=(text,),
            )
        where = start + feed.taken_lines()
        raw = text + "".join(feed.taken)
        return RowError(
            record=record,
            line=where,
            column=None,
            code=ErrorCode.BAD_QUOTING,
            message=f"the row cannot be parsed ({message}): a value with quotes inside must "
            'be quoted whole, with each inner quote doubled (""), e.g. "5"" screen"',
            value=raw,
            row=(raw,),
        )


def read(
    stream: IO[Any],
    template: Template[R],
    *,
    date_order: DateOrder | None = None,
    lenient_headers: bool = False,
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
    max_field_size: int = DEFAULT_MAX_FIELD_SIZE,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_record_size: int = DEFAULT_MAX_RECORD_SIZE,
    max_problem_rows: int = DEFAULT_MAX_PROBLEM_ROWS,
    option_names: OptionNames | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    max_uncompressed_size: int = DEFAULT_MAX_UNCOMPRESSED_SIZE,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Reader[R]:
    """Read an upload file from a text or binary stream; iterate the result.

    Yields each row's problems (:class:`RowError`) followed by its record, in file
    order; see :class:`Reader`. Binary streams may be UTF-8 (with or without a BOM) or
    UTF-16 with a BOM; open text streams with ``newline=""``. ``encoding`` names another
    for a binary stream: ``utf-8``, ``utf-8-sig`` (the same: a BOM is skipped),
    ``utf-16`` (without a BOM: little-endian, unless the bytes show big-endian),
    ``utf-16-le``, ``utf-16-be``, ``cp1252`` (Excel's plain "CSV" on Windows),
    ``latin-1``, or ``auto``: UTF-8, or a guess (Windows-1252, or UTF-16 without a BOM)
    reported as an ``encoding_guessed`` warning naming the encoding and a value it read.
    A file that is not in the encoding read raises ``encoding``; it is never mangled.

    An Excel workbook (.xlsx; the extra ``xlsx``) is read as well, from a binary
    stream: ``sheet`` names the sheet to read (needed when it has several visible
    ones). Every problem then also names its cell (``RowError.cell``, ``Members!C14``);
    ``line`` is the sheet's row. Before the workbook is opened it is held to
    ``max_file_size``, to ``max_uncompressed_size`` bytes unpacked (200 MB) and to
    ``max_rows`` rows (Excel's 1,048,576); a breach raises ``file_too_large`` or
    ``workbook``.

    ``date_order`` declares how non-ISO dates are written (without it they are errors);
    ``lenient_headers`` accepts headers that differ only in case or spaces;
    ``max_file_size`` (bytes, or characters for a text stream; ``None`` for no limit) and
    ``max_field_size`` (characters) bound what is read; a header with more than
    ``max_columns`` columns raises :class:`HeaderError` (code ``too_many_columns``).
    A line, or a quoted multi-line record, over ``max_record_size`` characters (1 MiB)
    raises :class:`~provisioning.SpreadsheetError` with code ``record_too_large`` (in
    the header row: a :class:`HeaderError` problem). More than ``max_problem_rows`` rows
    without a record (100,000) raise :class:`~provisioning.SpreadsheetError` with code
    ``too_many_problems``, so the problems of a file always fit in memory.
    ``option_names`` is how messages name these options where they suggest one
    (:class:`OptionNames`; Python arguments by default).
    """
    return Reader(
        stream,
        template,
        date_order=date_order,
        lenient_headers=lenient_headers,
        max_file_size=max_file_size,
        max_field_size=max_field_size,
        max_columns=max_columns,
        max_record_size=max_record_size,
        max_problem_rows=max_problem_rows,
        option_names=option_names,
        encoding=encoding,
        sheet=sheet,
        max_uncompressed_size=max_uncompressed_size,
        max_rows=max_rows,
    )


@attrs.frozen(kw_only=True)
class ReadReport(Generic[R]):
    """A whole small file at once: its records, its problems and the summary."""

    records: tuple[R, ...]
    #: Every problem, warnings included, in file order.
    problems: tuple[RowError, ...]
    summary: ReadSummary
    #: The header row exactly as the file has it.
    header: tuple[str, ...]

    @property
    def errors(self) -> tuple[RowError, ...]:
        """The problems that cost a row its record (errors and vendor skips)."""
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[RowError, ...]:
        """The problems of rows whose record was still yielded."""
        return tuple(p for p in self.problems if not p.is_error)

    @property
    def ok(self) -> bool:
        """Whether every row yielded a record."""
        return self.summary.ok

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per problem, in file order, so problems group by ``code``.

        Each has ``record``, ``line``, ``cell`` (a workbook's ``Members!C14``, else
        ``None``), ``column``, ``code``, ``severity``, ``message`` and ``value``.
        """
        return [
            {
                "record": p.record,
                "line": p.line,
                "cell": p.cell,
                "column": p.column,
                "code": p.code.value,
                "severity": p.severity.value,
                "message": p.message,
                "value": p.value,
            }
            for p in self.problems
        ]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame``: one row per problem; needs pandas
        (the extra ``pandas``). The records themselves are in :attr:`records`."""
        return data_frame(self.to_records(), PROBLEM_COLUMNS)


class ReadOptions(TypedDict, total=False):
    """The keyword options of :func:`read`, for :func:`read_all` to pass on."""

    date_order: DateOrder | None
    lenient_headers: bool
    max_file_size: int | None
    max_field_size: int
    max_columns: int
    max_record_size: int
    max_problem_rows: int
    option_names: OptionNames | None
    encoding: str | None
    sheet: str | None
    max_uncompressed_size: int
    max_rows: int


def read_all(
    stream: IO[Any], template: Template[R], **options: Unpack[ReadOptions]
) -> ReadReport[R]:
    """Read a small file whole into a :class:`ReadReport`; the options are :func:`read`'s."""
    reader = read(stream, template, **options)
    records: list[R] = []
    problems: list[RowError] = []
    for item in reader:
        if isinstance(item, RowError):
            problems.append(item)
        else:
            records.append(item)
    return ReadReport(
        records=tuple(records),
        problems=tuple(problems),
        summary=reader.summary,
        header=reader.header,
    )
