"""Excel workbooks (.xlsx) as rows for the reader: the extra ``xlsx`` (python-calamine).

A workbook is compressed, so its size on disk says little about what it unpacks to: a
zip bomb of a few kilobytes unpacks to gigabytes, a sheet with two cells far apart makes
calamine set room aside for every cell between them, and a shared-strings table that
claims billions of strings makes it set room aside for those; the process ends. So
before calamine sees the workbook, its zip directory is checked (the sizes it declares,
within ``max_uncompressed_size``), every part is unpacked once, in chunks, held to its
declared size, the chosen sheet's used range is measured as calamine places cells
(:func:`measure_sheet`) and held to ``max_rows`` and a cap on cells, and the strings'
claimed count to what their bytes can hold. calamine then opens a workbook rebuilt from
those checked parts alone, under the names it looks for (:func:`_rebuild`), so it reads
what was measured and nothing else; a large sheet goes in pieces, which a thread has
calamine load while the rows of those before are read.

Each row is handed to the reader as one line of delimited text (a value holding the
delimiter, a quote or a line break quoted), so every check and error code is the CSV
reader's. Numbers that are whole (``100000.0``, how a spreadsheet stores an id) become
``"100000"``; a date cell becomes ``YYYY-MM-DD``, which the reader takes without any
day/month order; true/false cells become ``true``/``false``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import itertools
import os
import posixpath
import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple
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


@functools.cache
def cell_texts(width: int) -> Callable[[list[Any]], list[str]]:
    """A function giving a row of ``width`` cells as text, each as a CSV export of it
    would hold (a text cell as it is); rows of other widths go cell by cell."""
    names = [f"c{i}" for i in range(width)]
    lines = [f"def convert(row, T={_text.__name__}):"]
    lines.append(
        f"    if len(row) != {width}: return [c if c.__class__ is str else T(c) for c in row]"
    )
    if names:
        lines.append("    " + ", ".join(names) + ", = row")
        lines += [f"    if {c}.__class__ is not str: {c} = T({c})" for c in names]
    lines.append("    return [" + ", ".join(names) + "]")
    namespace: dict[str, Any] = {_text.__name__: _text}
    exec(compile("\n".join(lines) + "\n", "<workbook cell texts>", "exec"), namespace)  # noqa: S102 - our own generated source
    convert: Callable[[list[Any]], list[str]] = namespace["convert"]
    return convert


class WorkbookLines:
    """One sheet of an .xlsx workbook, checked, for the reader: :meth:`rows` once.

    ``header_row`` is the sheet row of the first line (the header),
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
        parts = _unpack(data, max_uncompressed_size)
        del data
        self.sheet, part = self._choose(parts, sheet)
        #: The sheet's name as a cell reference writes it: quoted unless a plain name.
        self._quoted = self.sheet
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", self.sheet):
            self._quoted = "'" + self.sheet.replace("'", "''") + "'"
        strings = parts.get("xl/sharedstrings.xml", b"")
        _check_strings(strings)
        document = parts[part]
        measure = measure_sheet(document)
        if measure.rounded and not self._fits(measure):
            measure = measure_sheet(document, precise=True)
        self._check_range((measure.rows, measure.columns))
        self._columns = measure.columns
        pieces = _split(document, measure)
        #: What calamine opens, written when the rows are asked for (see :func:`_open`).
        self._book = (pieces, strings, parts.get("xl/styles.xml"), self._date1904(parts))
        self.header_row = 1
        self.first_column = 0

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

    def _choose(self, parts: dict[str, bytes], sheet: str | None) -> tuple[str, str]:
        """The sheet to read and its part: the one named, or the only visible one."""
        sheets = self._sheets(parts)
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
        if part not in parts:
            raise _refuse(f"the workbook's sheet {sheet!r} has no part (it names {part!r})")
        return sheet, part

    @staticmethod
    def _sheets(parts: dict[str, bytes]) -> dict[str, tuple[str, bool]]:
        """Each sheet's name: its part (as :func:`_unpack` names it) and whether it is
        hidden, in workbook order."""
        try:
            book = _xml(parts["xl/workbook.xml"])
            links = _xml(parts["xl/_rels/workbook.xml.rels"])
        except KeyError as exc:
            raise _refuse(f"the workbook's list of sheets cannot be read: no part {exc}") from None
        targets = {
            link.get("Id"): link.get("Target") or "" for link in links.iter(f"{_PKG}Relationship")
        }
        found: dict[str, tuple[str, bool]] = {}
        for entry in book.iter(f"{_MAIN}sheet"):
            target = targets.get(entry.get(f"{_REL}id"), "")
            if target.startswith("/"):
                part = _part_name(target)
            else:
                part = _part_name(posixpath.normpath("xl/" + target))
            found[entry.get("name") or ""] = (part, entry.get("state") in ("hidden", "veryHidden"))
        return found

    @staticmethod
    def _date1904(parts: dict[str, bytes]) -> bool:
        """Whether the workbook counts dates from 1904 (Excel for Mac's old default)."""
        book = _xml(parts["xl/workbook.xml"])
        return any(
            e.get("date1904") in ("1", "true")
            for e in book.iter()
            if str(e.tag).rpartition("}")[2] == "workbookPr"
        )

    def _fits(self, measure: Measure) -> bool:
        rows, columns = measure.rows, measure.columns
        return rows <= self._max_rows and rows * columns <= MAX_CELLS

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

    def rows(self) -> Iterator[list[Any]]:
        """The sheet's rows as calamine gives their cells, from the header row on; a row
        of the sheet that has no cell is an empty list. Sets ``header_row`` and
        ``first_column`` before the first row."""
        calamine = self._calamine
        try:
            book = _open(calamine, *self._book)
        except calamine.CalamineError as exc:
            raise _refuse(f"the workbook cannot be read: {exc}") from None
        del self._book
        names = book.sheet_names
        loader = _Loader(book, names, calamine.CalamineError)
        try:
            yield from self._assemble(loader)
        finally:
            loader.stop()

    def _assemble(self, loader: _Loader) -> Iterator[list[Any]]:
        """The pieces' rows as the one sheet they were cut from: empty rows where no
        piece has one, each row as wide as the used range (the header piece's, when every
        cell of the sheet lies within it)."""
        sheets = loader.sheets()
        first = next(sheets, None)
        if first is None:
            return
        pending: list[Any] = [first]
        if first.start is None or first.start[1] != 0 or first.end[1] + 1 < self._columns:
            # A later piece may reach further left or right: wait for them all.
            pending += list(sheets)
        spans = [(s.start[1], s.end[1]) for s in pending if s.start is not None]
        if not spans:
            pending = []
        left = min((a for a, _ in spans), default=0)
        right = max((b for _, b in spans), default=-1)
        width = right - left + 1
        self.first_column = left
        row = -1  # the sheet row (0-based) of the last row handed out
        header = True
        for sheet in itertools.chain(pending, sheets):
            if sheet.start is None:
                continue
            top, start = sheet.start
            if sheet.end[0] >= self._max_rows:  # the measure holds this; belt and braces
                raise _refuse(
                    f"sheet {self.sheet!r} has more than {self._max_rows:,} rows (max_rows)",
                    ErrorCode.FILE_TOO_LARGE,
                    self._max_rows + 1,
                )
            pad_left = [""] * (start - left)
            pad_right = [""] * (width - sheet.width - (start - left))
            if not header:
                for _ in range(top - row - 1):
                    yield []
            # iter_rows() hands out the empty rows above the data too; a later piece's
            # rows come whole from to_python(), which starts at its data, unless there
            # are so many (a cell far below the others) that one at a time holds less.
            if top and sheet.height <= _WHOLE_PIECE_ROWS:
                source = iter(sheet.to_python())
            else:
                source = itertools.islice(sheet.iter_rows(), top, None)
            if pad_left or pad_right:
                source = (pad_left + cells + pad_right for cells in source)
            row = top - 1
            if header:
                # Rows above the data are empty; calamine may or may not hand them out.
                for cells in source:
                    row += 1
                    if any(cell != "" for cell in cells):
                        header = False
                        self.header_row = row + 1
                        yield cells
                        break
            yield from source
            row = sheet.end[0]

    def line(self, row: list[Any]) -> str:
        """A row as one line of delimited text (the header's, which the reader splits)."""
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


# -- the parts -------------------------------------------------------------------------------


def _part_name(name: str) -> str:
    """A part's name as calamine looks it up: ``/`` for ``\\``, no leading ``/``, lower case."""
    return name.replace("\\", "/").lstrip("/").lower()


def _unpack(data: bytes, cap: int) -> dict[str, bytes]:
    """Every part of the workbook, unpacked, by :func:`_part_name`; the zip's declared
    sizes are checked first (within ``cap`` together), and each part is unpacked in
    chunks, held to its declared size. Two parts with one name are refused: a reader
    could take either."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise _refuse(
            f"the file is not a valid workbook (a broken zip: {exc}): in Excel use File > "
            "Save As > Excel Workbook (.xlsx), or CSV UTF-8"
        ) from None
    with archive:
        infos = archive.infolist()
        names = {_part_name(i.filename) for i in infos}
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
        if len(names) != len(infos):
            raise _refuse("the workbook holds two parts with one name (ignoring case)")
        declared = sum(i.file_size for i in infos)
        if declared > cap:
            raise _refuse(
                f"the workbook unpacks to {declared:,} bytes; the limit is {cap:,} "
                "(max_uncompressed_size): it is refused unread"
            )
        parts: dict[str, bytes] = {}
        for info in infos:
            chunks = []
            try:
                with archive.open(info) as part:
                    while chunk := part.read(_CHUNK):
                        chunks.append(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise _refuse(
                    f"the workbook's part {info.filename} cannot be read: {exc}"
                ) from None
            parts[_part_name(info.filename)] = b"".join(chunks)
    return parts


def _xml(data: bytes) -> ET.Element:
    """A small part parsed, without any document type (so no entity is ever expanded)."""
    if b"<!DOCTYPE" in data:
        raise _refuse("a part of the workbook declares a document type, which is not read")
    try:
        return ET.fromstring(data)  # noqa: S314 - no document type: checked above
    except ET.ParseError as exc:
        raise _refuse(f"the workbook's list of sheets cannot be read: {exc}") from None


# ``uniqueCount="..."`` however it is spaced, quoted or signed.
_UNIQUE_COUNT = re.compile(rb"""uniqueCount\s*=\s*["']\s*\+?([0-9]+)""")


def _check_strings(strings: bytes) -> None:
    """Refuse a shared-strings table that claims more strings than its bytes can hold:
    calamine sets room aside for the claimed count up front, and a huge one ends the
    process."""
    most = len(strings) // 4 + 16  # each string is at least <si/>
    for claim in _UNIQUE_COUNT.findall(strings):
        if int(claim) > most:
            raise _refuse(
                f"the workbook's shared strings claim {int(claim):,} strings (uniqueCount) "
                f"in {len(strings):,} bytes: the table is broken or hostile, and is refused "
                "unread"
            )


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/></Types>'
)
_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _open(
    calamine: Any,
    pieces: list[tuple[bytes, memoryview, bytes]],
    strings: bytes,
    styles: bytes | None,
    date1904: bool,
) -> Any:
    """calamine's workbook of the checked parts (:func:`_rebuild`). On Linux it is
    written to an anonymous file in memory that calamine opens by path, reading each
    piece when it loads it; elsewhere calamine copies it from a buffer."""
    try:
        fd = os.memfd_create("provisioning-workbook", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # not Linux
        fd = -1
    if fd >= 0:
        try:
            with open(fd, "wb", closefd=False) as memory:
                _rebuild(memory, pieces, strings, styles, date1904)
            path = f"/proc/self/fd/{fd}"
            if Path(path).exists():
                return calamine.CalamineWorkbook.from_path(path)
        finally:
            os.close(fd)
    buffer = io.BytesIO()
    _rebuild(buffer, pieces, strings, styles, date1904)
    buffer.seek(0)
    return calamine.CalamineWorkbook.from_filelike(buffer)


def _rebuild(
    out: IO[bytes],
    pieces: list[tuple[bytes, memoryview, bytes]],
    strings: bytes,
    styles: bytes | None,
    date1904: bool,
) -> None:
    """The workbook calamine opens, written here: the sheet's pieces (sheets ``1``,
    ``2``...), the shared strings and styles as they were checked, under the names
    calamine looks for, so it reads what was measured and nothing else."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{_DOCUMENT}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        entries = "".join(
            f'<sheet name="{n}" sheetId="{n}" r:id="rId{n}"/>' for n in range(1, len(pieces) + 1)
        )
        epoch = '<workbookPr date1904="1"/>' if date1904 else ""
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
            f'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{_DOCUMENT}">{epoch}'
            f"<sheets>{entries}</sheets></workbook>",
        )
        links = "".join(
            f'<Relationship Id="rId{n}" Type="{_DOCUMENT}/worksheet" '
            f'Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(pieces) + 1)
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELATIONSHIPS}">'
            f"{links}</Relationships>",
        )
        if strings:
            z.writestr("xl/sharedStrings.xml", strings)
        if styles is not None:
            z.writestr("xl/styles.xml", styles)
        for n, (opening, body, closing) in enumerate(pieces, 1):
            info = zipfile.ZipInfo(f"xl/worksheets/sheet{n}.xml", (1980, 1, 1, 0, 0, 0))
            info.file_size = len(opening) + len(body) + len(closing)
            with z.open(info, "w") as piece:
                piece.write(opening)
                piece.write(body)
                piece.write(closing)


# -- the sheet's used range ------------------------------------------------------------------


class Measure(NamedTuple):
    """A sheet's used range at most, as calamine would take it: its last row and column
    (1-based; 0 when it has no cell); whether every cell was written the plain way (then
    the sheet may be cut into pieces at its rows); whether ``rows`` was rounded up (to
    199,999 for 100,001 rows: :func:`measure_sheet` with ``precise=True`` says exactly)."""

    rows: int
    columns: int
    plain: bool
    rounded: bool = False


#: A cell start tag not written ``<c r="C14"``: a cell without a reference (placed after
#: the one before it), or with one written another way (then the parser measures it).
_ODD_CELL = re.compile(rb'<c(?=[\s/>])(?! r="[A-Z]{1,3}[0-9]{1,7}")')
#: A tag with a namespace prefix, ``<x:c`` or ``<x:row``.
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
#: An attribute named ``r`` anywhere but first in ``<c `` or ``<row ``: calamine reads
#: any of them (the last one wins), in any spacing or quoting.
_OTHER_R = re.compile(rb"r(?<![\w:.\-\x80-\xff]r)(?<!<c r)(?<!<row r)\s*=")
_LAST_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')


def measure_sheet(document: bytes, *, precise: bool = False) -> Measure:
    """The used range of a worksheet part, at least as large as calamine's.

    A sheet with no prefixed tag and no attribute named ``r`` but the first of a cell or
    row tag is measured by regular expressions, at the speed of their engine: the
    header's and the last cell's column and row are taken as a guess, then one search
    looks for a cell tag that is not written ``<c r="C14"`` within that column and the
    row rounded up (so that the pattern stays short). When there is none, that is the
    measure; ``precise`` (or a cell past the guess) looks cell by cell past the guess
    instead (:func:`_past`). A tag inside a comment or CDATA section counts too, which
    can only make the measure larger. Any other sheet is measured by an XML parser as
    calamine reads it (:class:`_Extent`).
    """
    if _PREFIXED.search(document) is not None or _OTHER_R.search(document) is not None:
        return _parsed(document)
    rows = columns = 0
    last = document.rfind(b'<c r="')
    if last >= 0:
        # The widest row is usually the header, the deepest the last.
        found = _LAST_CELL.match(document, last)
        head = _LAST_CELL.findall(document, 0, 1 << 16)
        for letters, digits in [*head, *([found.groups()] if found else [])]:
            columns = max(columns, _column_index(letters) + 1)
            rows = max(rows, int(digits))
    if not precise:
        rounded, beyond = _beyond(columns, rows)
        if beyond.search(document) is None:
            return Measure(rounded, columns, plain=True, rounded=rounded != rows)
    if _ODD_CELL.search(document) is not None:
        return _parsed(document)
    at = 0
    for _ in range(1 << 16):
        past = _past(column_letter(columns - 1).encode() if columns else b"", b"%d" % rows)
        hit = past.search(document, at)
        if hit is None:
            return Measure(rows, columns, plain=True)
        letters, digits = _LAST_CELL.match(document, hit.start()).groups()  # type: ignore[union-attr]
        columns = max(columns, _column_index(letters) + 1)
        rows = max(rows, int(digits))
        at = hit.end()
    return _parsed(document)  # pragma: no cover - 65,536 cells each past the one before


def _parsed(document: bytes) -> Measure:
    extent = _Extent()
    extent.measure(document)
    return Measure(extent.rows, extent.columns, plain=False)


def _up_to(text: bytes, alphabet: bytes) -> bytes:
    """A pattern for the strings over ``alphabet`` (its letters in order) that are no
    longer than ``text`` and, as long, not greater: at most ``text`` as a number."""
    one = b"[" + alphabet[:1] + b"-" + alphabet[-1:] + b"]"
    ways = [one + b"{1,%d}" % (len(text) - 1)] if len(text) > 1 else []
    for i, char in enumerate(text):
        lower = alphabet[: alphabet.index(char)]
        if lower:
            rest = len(text) - i - 1
            ways.append(
                re.escape(text[:i])
                + b"["
                + lower[:1]
                + b"-"
                + lower[-1:]
                + b"]"
                + (one + b"{%d}" % rest if rest else b"")
            )
    ways.append(re.escape(text))
    return b"(?:" + b"|".join(ways) + b")"


@functools.cache
def _beyond(columns: int, rows: int) -> tuple[int, re.Pattern[bytes]]:
    """``rows`` rounded up to its first digit (100,001 to 199,999), and a pattern for a
    cell tag that is not ``<c r="C14"`` within ``columns`` and that many rows."""
    if not columns or not rows:
        return rows, re.compile(rb"<c(?=[\s/>])")
    digits = b"%d" % rows
    size, first = len(digits), int(digits[:1])
    letters = _up_to(column_letter(columns - 1).encode(), b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    # At most ``top``, the row rounded up to a digit then nines: fewer digits, or as many
    # and a first one no higher (a leading zero only makes a number smaller).
    if first == 9:
        top = 10**size - 1
        numbers = b"[0-9]{1,%d}" % size
    else:
        top = (first + 1) * 10 ** (size - 1) - 1
        shorter = b"[0-9]{1,%d}|" % (size - 1) if size > 1 else b""
        rest = b"[0-9]{%d}" % (size - 1) if size > 1 else b""
        numbers = b"(?:" + shorter + b"[0-%d]" % first + rest + b")"
    return top, re.compile(rb'<c(?! r="' + letters + numbers + rb'")(?=[\s/>])')


@functools.cache
def _past(letters: bytes, digits: bytes) -> re.Pattern[bytes]:
    """A plain cell reference past column ``letters`` or past row ``digits``: longer, or
    as long and greater at the first place it differs (no leading zeros: a reference with
    one is not plain)."""

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


def _reference(value: str) -> tuple[int, int | None] | None:
    """A reference as calamine reads it: (0-based row, 0-based column or ``None`` when it
    has no letters); ``None`` when calamine refuses it. Letters of either case, any
    number of them, then digits, any number of them (leading zeros too)."""
    match = _ANY_REFERENCE.fullmatch(value)
    if match is None:
        return None
    letters, digits = match.groups()
    row = int(digits) - 1
    if row < 0:
        return None
    column = 0
    for char in letters.upper():
        column = column * 26 + ord(char) - 64
    return row, (column - 1 if letters else None)


_ANY_REFERENCE = re.compile(r"([A-Za-z]*)([0-9]+)")


class _Extent:
    """A sheet's last row and column (1-based), measured by an XML parser as it streams,
    placing cells as calamine does: a row's ``r`` sets the row (its letters ignored), a
    cell's ``r`` its row and column (letters of either case, any number); a cell without
    one follows the one before it in its row, a row without one follows the one before.
    Every element named ``row`` or ``c`` counts, in any namespace and anywhere in the
    part, which can only make the measure larger."""

    def __init__(self) -> None:
        self.rows = self.columns = 0
        self._row = self._column = 0  # calamine's next position, 0-based

    def measure(self, document: bytes) -> None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        # No document type: no entity of any kind is expanded.
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        try:
            for at in range(0, max(len(document), 1), _CHUNK):
                parser.Parse(document[at : at + _CHUNK], False)
            parser.Parse(b"", True)
        except (expat.ExpatError, ValueError) as exc:
            raise _refuse(f"the workbook's sheet is not well-formed: {exc}") from None

    @staticmethod
    def _refuse_doctype(*_args: object) -> None:
        raise ValueError("a sheet declares a document type")

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        local = name.rpartition(" ")[2]
        if local == "row":
            given = attributes.get("r")
            place = _reference(given) if given is not None else None
            if place is not None:
                self._row = place[0]
            # A row without cells takes no room in calamine; counted all the same.
            self.rows = max(self.rows, self._row + 1)
        elif local == "c":
            given = attributes.get("r")
            place = _reference(given) if given is not None else None
            row, column = self._row, self._column
            if place is not None and place[1] is not None:
                row, column = place[0], place[1]
                self._column = column
            self._column += 1
            self.rows = max(self.rows, row + 1)
            self.columns = max(self.columns, column + 1)

    def _end(self, name: str) -> None:
        if name.rpartition(" ")[2] == "row":
            self._row += 1
            self._column = 0


# -- the pieces ------------------------------------------------------------------------------

#: A piece of at most this many rows is made into Python values at once.
_WHOLE_PIECE_ROWS = 65_536
#: A sheet of more than this many bytes is cut into pieces of about this size, which
#: calamine loads one after the other while the rows of those before are read.
PIECE_SIZE = 8 << 20
_MAX_PIECES = 16


def _split(document: bytes, measure: Measure) -> list[tuple[bytes, memoryview, bytes]]:
    """A plain sheet cut at row boundaries into documents of about :data:`PIECE_SIZE`
    bytes (the first three smaller), each the sheet's start, some of its rows and the
    end of its data (as those three parts). Every cell of a plain sheet names its own
    place, so the pieces hold the cells where the whole sheet does; the measure, taken
    over every byte, holds for each piece."""
    whole = memoryview(document)
    if not measure.plain:
        return [(b"", whole, b"")]
    opening = document.find(b"<sheetData>")
    closing = document.find(b"</sheetData>", opening)
    if opening < 0 or closing < 0:
        return [(b"", whole, b"")]
    begin = opening + len(b"<sheetData>")
    # python-calamine reads a sheet's merged cells with each load, parsing the sheet
    # again up to its first mergeCells element: an empty one before the data ends that
    # second pass at once (the merges are not used here).
    start = document[:opening] + b"<mergeCells/>" + document[opening:begin]
    end = b"</sheetData></worksheet>"
    if len(document) <= PIECE_SIZE:
        return [(start, whole[begin:closing], end)]
    # The first pieces are small, so that rows are read while the next ones load.
    total = closing - begin
    steps = [PIECE_SIZE >> 3, PIECE_SIZE >> 2, PIECE_SIZE >> 1]
    step = max(PIECE_SIZE, -(-(total - sum(steps)) // (_MAX_PIECES - len(steps))))
    pieces = []
    at = begin
    offset = 0
    for size in itertools.chain(steps, itertools.repeat(step)):
        offset += max(size, 1)
        if offset >= total:
            break
        cut = document.find(b"</row><row ", begin + offset, closing)
        if cut < 0:
            break
        cut += len(b"</row>")
        if cut > at:
            pieces.append((start, whole[at:cut], end))
            at = cut
    pieces.append((start, whole[at:closing], end))
    return pieces


class _Loader:
    """Loads the pieces in a thread (calamine lets go of the interpreter while it reads),
    at most two ahead of the one whose rows are being read."""

    def __init__(self, book: Any, names: list[str], error: type[Exception]) -> None:
        self._book = book
        self._names = names
        self._error = error
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        if len(names) > 1:
            self._thread = threading.Thread(target=self._run, name="calamine", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        for name in self._names:
            try:
                item: Any = self._book.get_sheet_by_name(name)
            except BaseException as exc:
                # Handed to the reading thread, which raises it (a panic in calamine
                # comes as a BaseException).
                item = exc
            while not self._stopped.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException) or self._stopped.is_set():
                break
        with contextlib.suppress(Exception):
            self._book.close()

    def sheets(self) -> Iterator[Any]:
        """Each piece loaded, in order; raises the workbook error calamine met."""
        for name in self._names:
            if self._thread is None:
                try:
                    item = self._book.get_sheet_by_name(name)
                except self._error as exc:
                    raise _refuse(f"the workbook cannot be read: {exc}") from None
            else:
                item = self._next()
            if isinstance(item, self._error):
                raise _refuse(f"the workbook cannot be read: {item}") from None
            if isinstance(item, BaseException):
                raise item
            yield item

    def _next(self) -> Any:
        """The next piece from the thread, which hands on anything it met."""
        thread = self._thread
        assert thread is not None  # only with a thread
        while True:
            try:
                return self._queue.get(timeout=0.5)
            except queue.Empty:
                if not thread.is_alive() and self._queue.empty():  # pragma: no cover
                    raise _refuse("the workbook cannot be read: its loader ended") from None

    def stop(self) -> None:
        """Let the thread end (it stops after the piece it is loading)."""
        self._stopped.set()
