"""Turn a text or binary stream into physical lines, enforcing the file-level rules.

Lines are split only at ``\\r\\n``, ``\\r`` and ``\\n`` (as ``newline=""`` does) and keep
their endings, so the CSV parser sees exactly what the file holds and line numbers are
physical lines. Binary streams are decoded here: UTF-8 with or without a BOM, UTF-16
with a BOM; UTF-32 is recognised and refused. Undecodable bytes, NUL characters and
files over the size limit raise :class:`~provisioning.SpreadsheetError` naming the line,
as does a line longer than the line limit (``max_line``), before it is held whole.

A run of blank lines (nothing but line breaks) is handed out as one string holding
them all, so a file of millions of empty lines costs no Python work per line; the
reader counts the breaks in it (see :func:`blank_run`).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from itertools import chain
from typing import IO, Any

from ..exceptions import SpreadsheetError
from ._codes import ErrorCode
from ._options import OptionNames

__all__ = ["LineSource"]

CHUNK = 1 << 20
# Characters str.splitlines() breaks at that CSV does not.
_OTHER_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
# A line that is not blank, or a run of blank lines (after the break ending the line
# before it): line breaks only.
_ITEM = re.compile(r"[^\r\n]+(?:\r\n|\r|\n)?|[\r\n]+")
# Lines shorter than this on average: look for runs of blank lines.
_DENSE = 32
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _utf32(head: bytes) -> str | None:
    """How the start of a file shows it is UTF-32, or ``None``.

    Checked before the UTF-16 marks, as UTF-32's little-endian one starts with UTF-16's.
    A text file's first character is never NUL, so three NUL bytes beside it are UTF-32.
    """
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "its byte-order mark says so"
    if len(head) >= 4 and (
        (head[0] and head[1:4] == b"\0\0\0") or (head[:3] == b"\0\0\0" and head[3])
    ):
        return "without a byte-order mark"
    return None


def split_lines(text: str) -> list[str]:
    """Split at CSV line breaks only, keeping each line's ending."""
    if any(c in text for c in _OTHER_BREAKS):
        return _LINE.findall(text)
    return text.splitlines(keepends=True)


def split_items(text: str) -> tuple[list[str], int]:
    """Split like :func:`split_lines`, but keep runs of blank lines as one string each
    when the lines are short on average (as blank lines make them).

    Returns the items and how many physical lines they are. Files of ordinary rows take
    the plain split: looking for blank lines would cost more than splitting.
    """
    lines = split_lines(text)
    if len(lines) * _DENSE <= len(text):
        return lines, len(lines)
    items: list[str] = _ITEM.findall(text)
    return items, physical_lines(items)


def physical_lines(items: list[str]) -> int:
    """How many physical lines ``items`` (as :func:`split_items` gives them) are."""
    return sum(blank_run(item) or 1 for item in items)


def blank_run(text: str) -> int:
    """How many blank lines ``text`` is when it is a run of them (a string of line breaks
    only, as :class:`LineSource` hands them out), else 0. A lone blank line is 1."""
    if text[:1] not in ("\r", "\n"):
        return 0
    if len(text) == 1 or text == "\r\n":
        return 1
    return count_breaks(text)


def count_breaks(text: str) -> int:
    """How many line breaks ``text`` holds (``\\r\\n`` counts once)."""
    return text.count("\r") + text.count("\n") - text.count("\r\n")


def _split(text: str, *, final: bool) -> tuple[list[str], int, str]:
    """The complete lines of ``text``, how many physical lines they are, and the rest."""
    lines, count = split_items(text)
    carry = ""
    if lines and not final and not lines[-1].endswith("\n"):
        # An unfinished line, or one ending in "\r" whose "\n" may come next.
        carry = lines.pop()
        count -= blank_run(carry) or 1
        if len(carry) > 1 and carry[0] == "\r":
            # A run of blank lines: only its last "\r" may be unfinished.
            lines.append(carry[:-1])
            count += blank_run(carry[:-1])
            carry = "\r"
    return lines, count, carry


class LineSource:
    """The physical lines of one stream, read in chunks; iterate once.

    ``encoding`` is known after the first chunk; ``lines_done`` counts the lines handed
    out so far, which is what the error messages of the stream itself count from. A
    line (its ending included) longer than ``max_line`` characters raises
    ``record_too_large`` as soon as that is known: at most ``max_line`` plus one chunk
    is ever held.
    """

    def __init__(
        self,
        stream: IO[Any],
        *,
        max_file_size: int | None,
        max_line: int | None = None,
        chunk: int = CHUNK,
        names: OptionNames | None = None,
    ) -> None:
        if isinstance(stream, str | bytes):
            raise TypeError(
                "read() takes a text or binary stream, not a path or the file's content; "
                "open the file yourself (open(path, 'rb')) or wrap text in io.StringIO"
            )
        self._stream = stream
        self._max = max_file_size
        self._max_line = max_line
        self._chunk = chunk
        self._names = names or OptionNames()
        self.encoding = "utf-8"
        self.lines_done = 0
        self._size = 0
        self._binary = False

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(self._chunks())

    def _first(self) -> str | bytes:
        data = self._stream.read(self._chunk)
        if isinstance(data, bytes):
            self._binary = True
            # Read on until a BOM can be told apart (raw streams may return less).
            while len(data) < 4:
                more = self._stream.read(self._chunk)
                if not more:
                    break
                data += more
        return data  # type: ignore[no-any-return]

    def _chunks(self) -> Iterator[list[str]]:
        first = self._first()
        if not first:
            raise SpreadsheetError(
                "the file is empty: there is no header row", code=ErrorCode.EMPTY_FILE, line=1
            )
        decode = None
        if isinstance(first, bytes):
            if first.startswith(b"PK\x03\x04"):
                raise SpreadsheetError(
                    "this is an Excel workbook (.xlsx), not a CSV file (UPLOAD_CSV_ONLY): in "
                    "Excel use File > Save As > CSV UTF-8 and upload that file",
                    code=ErrorCode.WORKBOOK,
                    line=1,
                )
            if (utf32 := _utf32(first)) is not None:
                raise SpreadsheetError(
                    f"the file is UTF-32 ({utf32}), which is not read: save it as CSV UTF-8",
                    code=ErrorCode.ENCODING,
                    line=1,
                )
            for bom, encoding in _BOMS:
                if first.startswith(bom):
                    self.encoding = encoding
                    first = first[len(bom) :]
                    break
            decode = codecs.getincrementaldecoder(self.encoding)("strict").decode
        elif first.startswith("\ufeff"):
            first = first[1:]  # a text stream opened as "utf-8" keeps Excel's BOM
        carry = ""
        data: str | bytes = first
        while True:
            final = not data
            if (over := self._over_limit(data)) is not None:
                head = (
                    data[:over]
                    if isinstance(data, str)
                    else data[:over].decode(self.encoding, "replace")
                )
                yield from self._complete_lines(carry + head)
                raise self._size_error()
            if decode is not None:
                try:
                    text = decode(data, final)  # type: ignore[arg-type]
                except UnicodeDecodeError as exc:
                    head = exc.object[: exc.start].decode(self.encoding, "replace")
                    yield from self._complete_lines(carry + head)
                    raise self._decode_error(exc) from None
            else:
                text = data  # type: ignore[assignment]
            if "\x00" in text:
                # Every line before the NUL's is handed out first, then the error.
                yield from self._complete_lines(carry + text[: text.index("\x00")])
                raise self._nul_error()
            text = carry + text
            lines, count, carry = _split(text, final=final)
            if self._max_line is not None and len(text) > self._max_line:
                yield from self._check_lengths(lines, carry)
            self.lines_done += count
            if lines:
                yield lines
            if final:
                return
            data = self._stream.read(self._chunk)

    def _check_lengths(self, lines: list[str], carry: str) -> Iterator[list[str]]:
        """Raise ``record_too_large`` for the first line over the line limit (or for the
        unfinished line, once it is over), after handing out the lines before it."""
        limit = self._max_line
        assert limit is not None  # only called with a limit
        if (not lines or max(map(len, lines)) <= limit) and len(carry) <= limit:
            return
        for index, line in enumerate(lines):
            if len(line) > limit and line[0] not in "\r\n":
                before = lines[:index]
                self.lines_done += physical_lines(before)
                if before:
                    yield before
                raise self._line_error()
        if len(carry) > limit:
            self.lines_done += physical_lines(lines)
            if lines:
                yield lines
            raise self._line_error()

    def _line_error(self) -> SpreadsheetError:
        line = self.lines_done + 1
        return SpreadsheetError(
            f"line {line} is longer than the limit of {self._max_line:,} characters "
            "(max_record_size): the file is not a spreadsheet's CSV export, or a row in "
            "it is far too large",
            code=ErrorCode.RECORD_TOO_LARGE,
            line=line,
        )

    def _complete_lines(self, text: str) -> Iterator[list[str]]:
        """Hand out the complete lines of ``text``: those before a failing line."""
        lines = split_lines(text)
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines.pop()
        self.lines_done += len(lines)
        if lines:
            yield lines

    def _over_limit(self, data: str | bytes) -> int | None:
        """Where in ``data`` the size limit is passed, or ``None``."""
        self._size += len(data)
        if self._max is None or self._size <= self._max:
            return None
        return max(len(data) - (self._size - self._max), 0)

    def _size_error(self) -> SpreadsheetError:
        line = self.lines_done + 1
        unit = "bytes" if self._binary else "characters"
        return SpreadsheetError(
            f"the file is larger than the limit of {self._max:,} {unit}; it passes the "
            f"limit on line {line}: pass {self._names.max_file_size} to read it",
            code=ErrorCode.FILE_TOO_LARGE,
            line=line,
        )

    def _decode_error(self, exc: UnicodeDecodeError) -> SpreadsheetError:
        line = self.lines_done + 1
        bad = exc.object[exc.start : exc.end].hex(" ")
        hint = (
            "save the file as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)"
            if self.encoding == "utf-8"
            else f"the byte-order mark says {self.encoding}, but the file is not"
        )
        return SpreadsheetError(
            f"line {line} holds bytes that are not valid {self.encoding} ({bad}): {hint}",
            code=ErrorCode.ENCODING,
            line=line,
        )

    def _nul_error(self) -> SpreadsheetError:
        line = self.lines_done + 1
        hint = (
            "the file looks like UTF-16 without a byte-order mark, or is not a text file"
            if self._binary
            else "text files never hold it"
        )
        return SpreadsheetError(
            f"line {line} holds a NUL character: {hint}; save it as CSV UTF-8",
            code=ErrorCode.NUL_BYTE,
            line=line,
        )
