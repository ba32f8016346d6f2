"""Turn a text or binary stream into physical lines, enforcing the file-level rules.

Lines are split only at ``\\r\\n``, ``\\r`` and ``\\n`` (as ``newline=""`` does) and keep
their endings, so the CSV parser sees exactly what the file holds and line numbers are
physical lines. Binary streams are decoded here: by default UTF-8 with or without a BOM,
UTF-16 with a BOM; UTF-32 is recognised and refused. An ``encoding`` the caller names is
used instead (:data:`ENCODINGS`); ``auto`` allows a guess, which :attr:`LineSource.guess`
then describes. Undecodable bytes, NUL characters and files over the size limit raise
:class:`~provisioning.SpreadsheetError` naming the line, as does a line longer than the
line limit (``max_line``), before it is held whole.

A run of blank lines (nothing but line breaks) is handed out as one string holding
them all, so a file of millions of empty lines costs no Python work per line; the
reader counts the breaks in it (see :func:`blank_run`).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Generator, Iterator
from itertools import chain
from typing import IO, Any

import attrs

from ..exceptions import SpreadsheetError
from ._codes import ErrorCode
from ._options import OptionNames
from ._workbook import WorkbookFound, is_workbook

__all__ = ["ENCODINGS", "Guess", "LineSource", "encoding_name"]

#: The encodings a caller may name, as the reader calls them (any name Python's codecs
#: know for one of them is taken), and ``auto``: UTF-8, else a guess.
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1", "auto")
_CANONICAL = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "utf-16": "utf-16",
    "utf-16-le": "utf-16-le",
    "utf-16-be": "utf-16-be",
    "cp1252": "cp1252",
    "iso8859-1": "latin-1",
}
_DESCRIBED = {
    "utf-8": "UTF-8",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "cp1252": "Windows-1252 (cp1252)",
    "latin-1": "Latin-1",
}
# Where the example of a guessed value ends.
_VALUE_END = re.compile(r'[,;\t"\r\n]')

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


def encoding_name(name: object) -> str | None:
    """The reader's name for the encoding ``name`` (``None`` for ``None``), or ``ValueError``."""
    if name is None:
        return None
    if isinstance(name, str):
        if name.strip().lower() == "auto":
            return "auto"
        try:
            found = _CANONICAL.get(codecs.lookup(name).name)
        except LookupError:
            found = None
        if found is not None:
            return found
    raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)} (or None), got {name!r}")


def _utf16_order(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``head`` looks like UTF-16 text without a
    byte-order mark (a NUL beside each ASCII character), else ``None``."""
    sample = head[:256]
    if len(sample) < 4 or len(sample) % 2:
        sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if not odd.strip(b"\0") and b"\0" not in even:
        return "utf-16-le"
    if not even.strip(b"\0") and b"\0" not in odd:
        return "utf-16-be"
    return None


@attrs.frozen
class Guess:
    """An encoding the reader guessed (``encoding='auto'``), and where it shows."""

    #: The encoding the file was read in from then on.
    encoding: str
    #: The first line whose text the guess changed (1 when the whole file was guessed).
    line: int
    #: A value on that line as the guess reads it ("" when every character is ASCII).
    example: str

    def message(self, names: OptionNames) -> str:
        """What the guess was, for the warning the reader reports."""
        described = _DESCRIBED.get(self.encoding, self.encoding)
        seen = f"; e.g. {self.example!r} on line {self.line}" if self.example else ""
        return (
            f"the file is not UTF-8: it was read as {described}, a guess allowed by "
            f"{names.with_encoding('auto')}{seen}. Check the names it changed, and read it "
            f"with {names.with_encoding(self.encoding)} to say so, or save it as CSV UTF-8"
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


def _example(text: str, at: int | None = None) -> str:
    """The value around the first character of ``text`` that is not ASCII (at ``at``)."""
    if at is None:
        at = next((i for i, c in enumerate(text) if not c.isascii()), -1)
        if at < 0:
            return ""
    start = max((m.end() for m in _VALUE_END.finditer(text, max(at - 200, 0), at)), default=0)
    end = _VALUE_END.search(text, at)
    return text[max(start, at - 200) : end.start() if end else at + 200].strip()


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
        encoding: str | None = None,
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
        #: The encoding asked for (a name of :func:`encoding_name`), or ``None``.
        self.asked = encoding_name(encoding)
        #: The encoding guessed (``auto`` only), once it is.
        self.guess: Guess | None = None
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
        decode: Callable[[Any, bool], str] | None = None
        if isinstance(first, bytes):
            first = self._start(first)
            decode = codecs.getincrementaldecoder(self.encoding)("strict").decode
        else:
            if self.asked is not None:
                asked = self._names.with_encoding(self.asked)
                raise SpreadsheetError(
                    f"the stream is text, decoded already, so {asked} cannot apply: open the "
                    "file in binary ('rb') to choose its encoding",
                    code=ErrorCode.ENCODING,
                    line=1,
                )
            if first.startswith("\ufeff"):
                first = first[1:]  # a text stream opened as "utf-8" keeps Excel's BOM
        carry = ""
        data: str | bytes = first
        # With encoding="auto", a file read as UTF-8 may turn out to be Windows-1252 on
        # its first bytes that are not UTF-8: as long as every byte before them was ASCII,
        # which both read alike.
        guessing = self.asked == "auto" and self.encoding == "utf-8"
        ascii_before = True
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
                    text = decode(data, final)
                except UnicodeDecodeError as exc:
                    if not (guessing and ascii_before and exc.object[: exc.start].isascii()):
                        yield from self._undecodable(exc, carry, mixed=guessing)
                    decode, text = yield from self._guess_cp1252(data, final, carry)
                    guessing = False
                if guessing and ascii_before and not data.isascii():
                    ascii_before = False
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

    def _start(self, first: bytes) -> bytes:
        """Choose the encoding from what was asked and the file's start; the start
        without its byte-order mark."""
        if is_workbook(first):
            raise WorkbookFound(first)  # the reader reads it as a workbook
        if (utf32 := _utf32(first)) is not None:
            raise SpreadsheetError(
                f"the file is UTF-32 ({utf32}), which is not read: save it as CSV UTF-8",
                code=ErrorCode.ENCODING,
                line=1,
            )
        asked = self.asked
        found = next(((bom, enc) for bom, enc in _BOMS if first.startswith(bom)), None)
        if found is not None:
            bom, marked = found
            family = marked.split("-le")[0].split("-be")[0]
            if asked not in (None, "auto", family, marked):
                raise SpreadsheetError(
                    f"the file starts with a {_DESCRIBED.get(marked, marked)} byte-order mark, "
                    f"so it is not {_DESCRIBED.get(asked, asked)}: read it with "
                    f"{self._names.with_encoding(family)}, or without naming an encoding",
                    code=ErrorCode.ENCODING,
                    line=1,
                )
            self.encoding = marked
            return first[len(bom) :]
        if asked in ("utf-16", "auto"):
            order = _utf16_order(first)
            if order is not None:
                self.encoding = order
                if asked == "auto":
                    text = first.decode(order, "replace")
                    at = next((i for i, c in enumerate(text) if not c.isascii()), None)
                    line = 1 if at is None else 1 + count_breaks(text[:at])
                    self.guess = Guess(order, line, "" if at is None else _example(text, at))
                return first
            if asked == "utf-16":
                self.encoding = "utf-16-le"  # no mark: Windows' own order
                return first
        if asked not in (None, "auto"):
            self.encoding = asked
        return first

    def _undecodable(
        self, exc: UnicodeDecodeError, carry: str, *, mixed: bool = False, neither: bool = False
    ) -> Iterator[list[str]]:
        """Hand out the complete lines before the bytes ``exc`` names, then raise for them
        (or for a NUL character before them: a UTF-16 file without its mark)."""
        head = carry + exc.object[: exc.start].decode(self.encoding, "replace")
        if "\x00" in head:
            yield from self._complete_lines(head[: head.index("\x00")])
            raise self._nul_error()
        yield from self._complete_lines(head)
        if neither:
            line = self.lines_done + 1
            raise SpreadsheetError(
                f"line {line} holds bytes that are neither UTF-8 nor Windows-1252 "
                f"({exc.object[exc.start : exc.end].hex(' ')}): save the file as CSV UTF-8",
                code=ErrorCode.ENCODING,
                line=line,
            )
        raise self._decode_error(exc, mixed=mixed)

    def _guess_cp1252(
        self, data: Any, final: bool, carry: str
    ) -> Generator[list[str], None, tuple[Callable[[Any, bool], str], str]]:
        """Read on in Windows-1252 from this chunk (every byte before it was ASCII):
        returns the decoder and the chunk's text; hands out lines only when it fails."""
        self.encoding = "cp1252"
        decode = codecs.getincrementaldecoder("cp1252")("strict").decode
        try:
            text = decode(data, final)
        except UnicodeDecodeError as exc:
            yield from self._undecodable(exc, carry, neither=True)
        where = carry + text
        at = next(i for i, c in enumerate(where) if not c.isascii())
        line = self.lines_done + 1 + count_breaks(where[:at])
        self.guess = Guess("cp1252", line, _example(where, at))
        return decode, text

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

    def _decode_error(self, exc: UnicodeDecodeError, *, mixed: bool = False) -> SpreadsheetError:
        line = self.lines_done + 1
        bad = exc.object[exc.start : exc.end].hex(" ")
        names = self._names
        if mixed:
            hint = (
                "lines before it hold UTF-8 that is not ASCII, so the file mixes encodings "
                "and no guess is safe; save it as CSV UTF-8, or if it is Windows-1252 "
                f"throughout, read it with {names.with_encoding('cp1252')}"
            )
        elif self.encoding == "utf-8" and self.asked is None:
            hint = (
                "save the file as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8); if it "
                "is Excel's plain CSV (Windows-1252), read it with "
                f"{names.with_encoding('cp1252')}, or with {names.with_encoding('auto')} "
                "to let the reader guess"
            )
        elif self.asked is not None:
            hint = f"it is not in the encoding asked for ({names.with_encoding(self.asked)})"
        else:
            hint = f"the byte-order mark says {self.encoding}, but the file is not"
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
