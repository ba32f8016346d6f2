"""Excel workbooks (.xlsx) as lines for the reader: the extra ``xlsx`` (python-calamine).

A workbook is compressed, so its size on disk says little about what it unpacks to: a
zip bomb of a few kilobytes unpacks to gigabytes, and a sheet with two cells far apart
makes calamine allocate every cell between them. So before calamine sees the workbook,
its zip directory is checked (the sizes it declares, within ``max_uncompressed_size``)
and every part is unpacked once, in chunks, by the standard library, which holds each
part to its declared size; each worksheet's used range (its last row and column) is
read on the way and held to ``max_rows`` and a cap on cells. Only then does calamine
load the chosen sheet.

Each row is handed to the reader as one line of delimited text (a value holding the
delimiter, a quote or a line break quoted), so every check and error code is the CSV
reader's. Numbers that are whole (``100000.0``, how a spreadsheet stores an id) become
``"100000"``; a date cell becomes ``YYYY-MM-DD``, which the reader takes without any
day/month order; true/false cells become ``true``/``false``.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any
from xml.etree import ElementTree as ET
from xml.parsers import expat

from ..exceptions import SpreadsheetError
from ._codes import ErrorCode
from ._options import OptionNames

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_MAX_UNCOMPRESSED_SIZE",
    "MAX_CELLS",
    "WorkbookFound",
    "WorkbookLines",
    "column_letter",
]

#: Excel's own limit on the rows of a sheet.
DEFAULT_MAX_ROWS = 1_048_576
#: 200 MB: the most a workbook may unpack to (its parts' declared sizes, all together).
DEFAULT_MAX_UNCOMPRESSED_SIZE = 200_000_000
#: The most cells a sheet's used range may span, empty ones included (calamine holds
#: each one): 20 million, e.g. 740,000 rows of the template's 27 columns.
MAX_CELLS = 20_000_000
#: The most parts a workbook may hold.
_MAX_PARTS = 10_000
_CHUNK = 1 << 20
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A cell's or a row's reference in a worksheet part: r="C14" / r="14".
#: A cell reference: its column letters and its row number.
_REFERENCE = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_INSTALL = "pip install -e '.[xlsx]' in a clone of the project"


class WorkbookFound(Exception):  # noqa: N818 - a signal from the line source to the reader
    """The stream is a workbook, not text: ``head`` holds the bytes read from it so far."""

    def __init__(self, head: bytes) -> None:
        super().__init__("a workbook")
        self.head = head


def is_workbook(head: bytes) -> bool:
    """Whether the start of a file is a zip (xlsx, xlsb, ods) or an OLE file (xls)."""
    return head.startswith((_ZIP, _OLE))


def column_letter(index: int) -> str:
    """Excel's name of the 0-based column ``index``: A, ..., Z, AA, ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: bytes) -> int:
    index = 0
    for byte in letters:
        index = index * 26 + byte - 64
    return index - 1


def _refuse(
    message: str, code: ErrorCode = ErrorCode.WORKBOOK, line: int | None = 1
) -> SpreadsheetError:
    return SpreadsheetError(message, code=code, line=line)


def _float_text(value: float) -> str:
    # Ids and counts are stored as floats: 100000.0 is the id "100000".
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _datetime_text(value: dt.datetime) -> str:
    if value.time() == dt.time():
        return value.date().isoformat()
    return value.isoformat(sep=" ")


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


#: How a cell of each type calamine gives becomes text, by its exact type.
_TEXTS: dict[type, Any] = {
    str: str,
    float: _float_text,
    dt.date: dt.date.isoformat,
    dt.datetime: _datetime_text,
    bool: _bool_text,
    int: str,
}


def _text(value: Any) -> str:
    """A cell's value as the text a CSV export of it would hold."""
    convert = _TEXTS.get(value.__class__)
    if convert is not None:
        return convert(value)  # type: ignore[no-any-return]
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _bool_text(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class WorkbookLines:
    """The rows of one sheet of an .xlsx workbook, as lines the reader parses.

    Iterate once; ``header_row`` is the sheet row of the first line (the header),
    ``sheet`` the sheet's name. Raises :class:`~provisioning.SpreadsheetError` (code
    ``workbook``, or ``file_too_large``) when the workbook cannot be read or breaks a cap.
    """

    def __init__(
        self,
        head: bytes,
        stream: IO[Any],
        *,
        delimiter: str,
        sheet: str | None,
        max_file_size: int | None,
        max_uncompressed_size: int,
        max_rows: int,
        max_columns: int,
        names: OptionNames,
    ) -> None:
        try:
            import python_calamine  # noqa: PLC0415 - the optional extra, imported when needed
        except ImportError:
            raise _refuse(
                "this is an Excel workbook, and reading workbooks needs the extra 'xlsx' "
                f"(python-calamine): {_INSTALL}; or in Excel use File > Save As > CSV UTF-8 "
                "and upload that file"
            ) from None
        self._calamine = python_calamine
        self._delimiter = delimiter
        self._names = names
        self._max_rows = max_rows
        self._max_columns = max_columns
        self.encoding = "xlsx"
        self.asked: str | None = None
        self.guess = None
        data = self._read_whole(head, stream, max_file_size)
        if data.startswith(_OLE):
            raise _refuse(
                "this is an Excel 97-2003 workbook (.xls), which is not read: in Excel use "
                "File > Save As > Excel Workbook (.xlsx), or CSV UTF-8"
            )
        ranges = self._check_zip(data, max_uncompressed_size)
        self.sheet, used = self._choose(data, sheet, ranges)
        #: The sheet's name as a cell reference writes it: quoted unless a plain name.
        self._quoted = self.sheet
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", self.sheet):
            self._quoted = "'" + self.sheet.replace("'", "''") + "'"
        self._check_range(used)
        self.header_row = 1
        self.first_column = 0
        self._data = data

    # -- before calamine -------------------------------------------------------------------

    @staticmethod
    def _read_whole(head: bytes, stream: IO[Any], limit: int | None) -> bytes:
        """The workbook's bytes, within ``limit`` (a zip is read from its end)."""
        parts = [head]
        size = len(head)
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if limit is not None and size > limit:
                raise _refuse(
                    f"the workbook is larger than the limit of {limit:,} bytes (max_file_size)",
                    ErrorCode.FILE_TOO_LARGE,
                )
            parts.append(chunk)
        if limit is not None and size > limit:
            raise _refuse(
                f"the workbook is larger than the limit of {limit:,} bytes (max_file_size)",
                ErrorCode.FILE_TOO_LARGE,
            )
        return b"".join(parts)

    def _check_zip(self, data: bytes, cap: int) -> dict[str, tuple[int, int]]:
        """Check the zip's declared and real sizes; each worksheet part's used range
        (rows, columns), by its part name."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise _refuse(
                f"the file is not a valid workbook (a broken zip: {exc}): in Excel use File > "
                "Save As > Excel Workbook (.xlsx), or CSV UTF-8"
            ) from None
        with archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            if "xl/workbook.bin" in names or "content.xml" in names:
                kind = ".xlsb" if "xl/workbook.bin" in names else ".ods"
                raise _refuse(
                    f"this is a {kind} workbook, which is not read: save it as an Excel "
                    "Workbook (.xlsx), or as CSV UTF-8"
                )
            if "xl/workbook.xml" not in names:
                raise _refuse("the file is a zip archive but not an Excel workbook (.xlsx)")
            if len(infos) > _MAX_PARTS:
                raise _refuse(f"the workbook has {len(infos):,} parts; the limit is {_MAX_PARTS:,}")
            declared = sum(i.file_size for i in infos)
            if declared > cap:
                raise _refuse(
                    f"the workbook unpacks to {declared:,} bytes; the limit is {cap:,} "
                    "(max_uncompressed_size): it is refused unread"
                )
            ranges: dict[str, tuple[int, int]] = {}
            for info in infos:
                ranges[info.filename] = self._unpack(archive, info)
        return ranges

    @staticmethod
    def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
        """Unpack one part in chunks (held to its declared size by zipfile, which raises
        when it holds more); a worksheet's last row and column (1-based, 0 if none).

        A worksheet is measured by :class:`_Scan`, at the speed of the regular
        expression engine, when every row and cell is written the usual way; the first
        one that is not sends the part to the XML parser (:class:`_Extent`), which
        measures any well-formed sheet.
        """
        sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
        scan = _Scan() if sheet else None
        try:
            with archive.open(info) as part:
                while chunk := part.read(_CHUNK):
                    if scan is not None and not scan.feed(chunk):
                        break
            if scan is None:
                return 0, 0
            if scan.done():
                return scan.rows, scan.columns
            extent = _Extent()
            parser = extent.parser()
            with archive.open(info) as part:
                while chunk := part.read(_CHUNK):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise _refuse(f"the workbook's part {info.filename} cannot be read: {exc}") from None
        except (expat.ExpatError, ValueError) as exc:
            raise _refuse(
                f"the workbook's sheet {info.filename} is not well-formed: {exc}"
            ) from None
        return extent.rows, extent.columns

    def _choose(
        self, data: bytes, sheet: str | None, ranges: dict[str, tuple[int, int]]
    ) -> tuple[str, tuple[int, int]]:
        """The sheet to read and its used range: the one named, or the only visible one."""
        sheets = self._sheets(data)
        visible = [name for name, (_, hidden) in sheets.items() if not hidden]
        if sheet is None:
            if len(visible) != 1:
                listing = ", ".join(repr(n) for n in visible) or "none"
                raise _refuse(
                    f"the workbook has {len(visible)} visible sheets ({listing}): name the one "
                    f"to read with {self._names.with_sheet(visible[0] if visible else 'Sheet1')}",
                    ErrorCode.SHEET,
                )
            sheet = visible[0]
        if sheet not in sheets:
            listing = ", ".join(repr(n) for n in sheets)
            raise _refuse(
                f"the workbook has no sheet {sheet!r}; its sheets: {listing}", ErrorCode.SHEET
            )
        part, _ = sheets[sheet]
        return sheet, ranges.get(part, (0, 0))

    @staticmethod
    def _sheets(data: bytes) -> dict[str, tuple[str, bool]]:
        """Each sheet's name: its part and whether it is hidden, in workbook order."""
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            try:
                book = ET.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314 - checked sizes, no DTD use
                links = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
            except (KeyError, ET.ParseError) as exc:
                raise _refuse(f"the workbook's list of sheets cannot be read: {exc}") from None
        targets = {
            link.get("Id"): (link.get("Target") or "").lstrip("/")
            for link in links.iter(f"{_PKG}Relationship")
        }
        found: dict[str, tuple[str, bool]] = {}
        for entry in book.iter(f"{_MAIN}sheet"):
            target = targets.get(entry.get(f"{_REL}id"), "")
            part = target if target.startswith("xl/") else f"xl/{target}"
            found[entry.get("name") or ""] = (part, entry.get("state") in ("hidden", "veryHidden"))
        return found

    def _check_range(self, used: tuple[int, int]) -> None:
        rows, columns = used
        if rows > self._max_rows:
            raise _refuse(
                f"sheet {self.sheet!r} has rows up to row {rows:,}; the limit is "
                f"{self._max_rows:,} rows (max_rows): it is refused unread",
                ErrorCode.FILE_TOO_LARGE,
            )
        if rows * columns > MAX_CELLS:
            raise _refuse(
                f"sheet {self.sheet!r} spans {rows:,} rows by {columns:,} columns "
                f"({column_letter(max(columns - 1, 0))}{rows}): more than {MAX_CELLS:,} "
                "cells; delete the cells far from the data (Ctrl+End shows the last one)",
                ErrorCode.FILE_TOO_LARGE,
            )

    # -- the rows --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[str]:
        calamine = self._calamine
        try:
            book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(self._data))
            sheet = book.get_sheet_by_name(self.sheet)
        except calamine.CalamineError as exc:
            raise _refuse(f"the workbook cannot be read: {exc}") from None
        self._data = b""
        start = sheet.start
        top = 0 if start is None else start[0]
        self.first_column = 0 if start is None else start[1]
        rows = iter(sheet.iter_rows())
        # Rows above the data are empty; calamine may or may not hand them out.
        for row in rows:
            if any(cell != "" for cell in row):
                self.header_row = top + 1
                yield self._line(row)
                break
        else:
            return
        delimiter = self._delimiter
        special = re.compile("[" + re.escape(delimiter) + '"\r\n]')
        # A line needs quoting only when a cell holds a quote, a break or the delimiter.
        breaks = re.compile('["\r\n]').search
        texts = _TEXTS.get
        text = _text
        count = 1
        for row in rows:
            count += 1
            if count > self._max_rows:  # calamine's range is bounded already; belt and braces
                raise _refuse(
                    f"sheet {self.sheet!r} has more than {self._max_rows:,} rows (max_rows)",
                    ErrorCode.FILE_TOO_LARGE,
                    top + count,
                )
            cells = [c if c.__class__ is str else (texts(c.__class__) or text)(c) for c in row]
            if not any(cells):
                yield "\n"
                continue
            line = delimiter.join(cells)
            if breaks(line) is not None or line.count(delimiter) != len(cells) - 1:
                line = delimiter.join(
                    '"' + c.replace('"', '""') + '"' if special.search(c) else c for c in cells
                )
            yield line + "\n"

    def _line(self, row: list[Any]) -> str:
        delimiter = self._delimiter
        cells = [_text(c) for c in row]
        special = re.compile("[" + re.escape(delimiter) + '"\r\n]')
        return (
            delimiter.join(
                '"' + c.replace('"', '""') + '"' if special.search(c) else c for c in cells
            )
            + "\n"
        )

    def cell(self, column: int | None, line: int) -> str:
        """Excel's reference of the cell at 0-based ``column`` of sheet row ``line``
        (the whole row when ``column`` is ``None``), with the sheet: ``Members!C14``."""
        name = self._quoted
        if column is None:
            return f"{name}!{line}:{line}"
        return f"{name}!{column_letter(column + self.first_column)}{line}"


#: A row or cell start tag not written the usual way (``<row r="14"``, ``<c r="C14"``,
#: no namespace prefix, one space, double quotes, the reference first): the scan leaves
#: such a sheet to the XML parser. Each pattern starts with a literal, which the regular
#: expression engine finds fast.
_UNUSUAL = (
    re.compile(rb'<c(?=[\s/>])(?! r="[A-Z]{1,3}[0-9]{1,7}")'),
    re.compile(rb'<row(?=[\s/>])(?! r="[0-9]{1,7}")'),
    re.compile(rb":(?:c|row)[\s/>]"),  # a prefixed tag, <x:c or <x:row
)
_ROW_REFERENCE = re.compile(rb'<row r="([0-9]{1,7})"')
_CELL_REFERENCE = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')


@functools.cache
def _past(letters: bytes, digits: bytes) -> re.Pattern[bytes]:
    """A cell reference past column ``letters`` or past row ``digits``: longer, or as
    long and greater at the first place it differs (references have no leading zero)."""

    def greater(text: bytes, alphabet: bytes, longest: int) -> list[bytes]:
        one = b"[" + alphabet[:1] + b"-" + alphabet[-1:] + b"]"
        ways = [one + b"{%d,%d}" % (len(text) + 1, longest)] if len(text) < longest else []
        for i, char in enumerate(text):
            higher = alphabet[alphabet.index(char) + 1 :]
            if higher:
                rest = len(text) - i - 1
                ways.append(
                    re.escape(text[:i])
                    + b"["
                    + higher[:1]
                    + b"-"
                    + higher[-1:]
                    + b"]"
                    + (one + b"{%d}" % rest if rest else b"")
                )
        return ways

    letters_past = greater(letters, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 3) or [b"(?!)"]
    digits_past = greater(digits, b"0123456789", 7) or [b"(?!)"]
    return re.compile(
        b'<c r="(?:(?:'
        + b"|".join(letters_past)
        + b')[0-9]{1,7}"|[A-Z]{1,3}(?:'
        + b"|".join(digits_past)
        + b')")'
    )


class _Scan:
    """A sheet's last row and column (1-based), from the references of its row and cell
    tags, found by regular expressions chunk by chunk; :meth:`feed` says ``False`` (and
    the scan gives up) at the first row or cell tag written any other way.

    Every row or cell tag is either matched by ``_UNUSUAL`` or begins ``<row r="N"`` /
    ``<c r="LN"``, so none is missed; a tag inside a comment or CDATA section counts
    too, which can only make the measure larger than calamine's. Cells are looked at
    one by one only in a chunk with a cell past the column or row measured so far (in
    a usual sheet: the first chunk); the others are searched for one, in C. A chunk is
    cut after its last ``<``, so no tag is split between two.
    """

    def __init__(self) -> None:
        self.rows = self.columns = 0
        self._carry = b""
        self._unusual = False

    def feed(self, chunk: bytes) -> bool:
        data = self._carry + chunk
        cut = data.rfind(b"<")
        if cut < 0:
            cut = len(data)
        self._carry = data[cut:]
        return self._measure(data[:cut])

    def done(self) -> bool:
        """Whether the whole sheet was measured (``False``: leave it to the parser)."""
        return self._measure(self._carry + b" ") and not self._unusual

    def _measure(self, data: bytes) -> bool:
        if self._unusual or any(p.search(data) is not None for p in _UNUSUAL):
            self._unusual = True
            return False
        rows = _ROW_REFERENCE.findall(data)
        if rows:
            last = max(map(int, rows))
            self.rows = max(self.rows, last)
        letters = column_letter(self.columns - 1).encode() if self.columns else b""
        if _past(letters, str(self.rows).encode()).search(data) is None:
            return True
        cells = _CELL_REFERENCE.findall(data)
        widest = max({cell[0] for cell in cells}, key=lambda c: (len(c), c))
        self.columns = max(self.columns, _column_index(widest) + 1)
        last = max(map(int, {cell[1] for cell in cells}))
        self.rows = max(self.rows, last)
        return True


class _Extent:
    """A sheet's last row and column (1-based), measured by an XML parser as it streams:
    every cell counts, whatever its quoting, spacing or namespace prefix, with or without
    a reference (a row or cell without one follows the one before, as Excel reads it)."""

    def __init__(self) -> None:
        self.rows = self.columns = 0
        self._row = self._column = 0

    def parser(self) -> Any:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartElementHandler = self._start
        # No document type: no entity of any kind is expanded.
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        return parser

    @staticmethod
    def _refuse_doctype(*_args: object) -> None:
        raise ValueError("a sheet declares a document type")

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        local = name.rpartition(" ")[2]
        if local == "row":
            given = attributes.get("r")
            self._row = int(given) if given is not None and given.isdigit() else self._row + 1
            self._column = 0
            self.rows = max(self.rows, self._row)
        elif local == "c":
            given = attributes.get("r")
            match = _REFERENCE.fullmatch(given) if given is not None else None
            if match is not None:
                self._column = _column_index(match.group(1).encode()) + 1
                self.rows = max(self.rows, int(match.group(2)))
            else:
                self._column += 1
            self.columns = max(self.columns, self._column)
