"""A plan's lists of changes: held in memory while short, written to a temporary file after.

A plan of a million changes does not hold a million records. :class:`Spill` keeps the
first ``hold`` items of a list in memory and writes the rest, in batches, to an
anonymous temporary file (deleted when the list goes), as rows of plain values that
:mod:`marshal` writes and reads fast. Reading it back decodes one batch at a time, so
any number of readers may go through it at once, each with its own place.

A list that never grew past ``hold`` becomes a plain tuple (:meth:`Spill.seal`), so a
small plan is exactly what it always was.
"""

from __future__ import annotations

import marshal
import os
import tempfile
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from itertools import compress
from operator import ne
from typing import IO, Any, Generic, TypeVar, overload

from .._rows import row_codec
from .._twin import unfrozen_twin
from ..audit import ROW_CODEC, FieldChange
from ..records import Contact, ContactKey, UserRecord
from ..spreadsheet import ErrorCode, RowError, Severity
from ._results import Update

__all__ = [
    "BATCH",
    "Spill",
    "change_rows_changes",
    "contact_change_rows_changes",
    "contact_spill",
    "contact_update_row_contact",
    "contact_update_spill",
    "error_spill",
    "record_spill",
    "string_spill",
    "update_spill",
]

_T = TypeVar("_T")

#: Items per batch written to (and read back from) the file.
BATCH = 4096

# The audit trail's plain values: an update's event is worked out from its spilled row.
_CODEC = ROW_CODEC
_encode_record = _CODEC.encode
_decode_record = _CODEC.decode
_INDEXES = range(len(_CODEC.columns))


def _encode_update(update: Update) -> tuple[Any, Any]:
    # The new record whole, the old one as the fields it differs in: (index, old value,
    # new value), those picked out without a Python loop over every field. The new value
    # is there again so that the changes alone are what an audit event needs.
    new = _encode_record(update.new)
    old = _encode_record(update.old)
    return new, tuple([(i, old[i], new[i]) for i in compress(_INDEXES, map(ne, old, new))])


def _decode_update(row: tuple[Any, Any]) -> Update:
    new, diff = row
    old = list(new)
    for index, value, _new in diff:
        old[index] = value
    return Update(_decode_record(old), _decode_record(new))


_FIELD_NAMES = tuple(ROW_CODEC.columns)


def update_row_changes(row: tuple[Any, Any]) -> tuple[str, tuple[FieldChange, ...]]:
    """A spilled update's key and changed fields (plain values), without making records."""
    new, diff = row
    return new[0], tuple(FieldChange(_FIELD_NAMES[i], old, value) for i, old, value in diff)


def _update_changes(row: tuple[Any, Any]) -> tuple[str, tuple[tuple[int, Any, Any], ...]]:
    # What an update's audit event needs, written beside its row: the key and each
    # changed field as (index, old, new), so that the events are made without reading
    # (and unmarshalling) the whole records again.
    return row[0][0], row[1]


def _row_changes(
    row: tuple[str, Any], names: tuple[str, ...]
) -> tuple[str, tuple[FieldChange, ...]]:
    key, diff = row
    new = _new_change
    changes = []
    for i, old, value in diff:
        change: Any = new(_ChangeTwin)
        change.field = names[i]
        change.old = old
        change.new = value
        change.__class__ = FieldChange
        changes.append(change)
    return key, tuple(changes)


def change_rows_changes(row: tuple[str, Any]) -> tuple[str, tuple[FieldChange, ...]]:
    """:func:`update_row_changes` of what :meth:`Spill.change_rows` gives."""
    return _row_changes(row, _FIELD_NAMES)


# FieldChange built as the reader builds rows: its values are the plan's own, and a
# FieldChange has no converter or validator to skip (tests hold it to the constructor).
_ChangeTwin = unfrozen_twin(FieldChange)
_new_change = object.__new__


def update_row_record(row: tuple[Any, Any]) -> UserRecord:
    """A spilled update's new record, without making the old one."""
    return _decode_record(row[0])


def _same(value: _T) -> _T:
    return value


class Spill(Sequence[_T], Generic[_T]):
    """A list appended to in order, its tail kept in a temporary file past ``hold`` items.

    ``key`` names an item (a record's key): :meth:`discard` leaves items out by key
    afterwards, which is how a plan drops the few rows found in conflict only once the
    whole file is read.
    """

    def __init__(
        self,
        encode: Callable[[_T], Any],
        decode: Callable[[Any], _T],
        key: Callable[[_T], str],
        hold: int,
        side: Callable[[Any], tuple[str, Any]] | None = None,
    ) -> None:
        self._encode, self._decode, self._key, self._hold = encode, decode, key, hold
        #: Made of each encoded row and written beside it (a key first): what
        #: :meth:`change_rows` reads without reading the rows themselves.
        self._side = side
        #: (offset, size) of each batch's side rows.
        self._side_batches: list[tuple[int, int]] = []
        self._head: list[_T] = []
        self._buffer: list[Any] = []
        self._file: IO[bytes] | None = None
        #: (offset, size) of each batch written.
        self._batches: list[tuple[int, int]] = []
        self._end = 0
        self._count = 0
        self._gone: set[str] = set()
        self._sealed = False

    def append(self, item: _T) -> None:
        """Add ``item`` at the end (until the list is sealed)."""
        if self._sealed:
            raise TypeError("a plan's list of changes is read-only")
        self._count += 1
        if self._file is None and len(self._head) < self._hold:
            self._head.append(item)
            return
        self._buffer.append(self._encode(item))
        if len(self._buffer) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        data = marshal.dumps(self._buffer)
        side = b"" if self._side is None else marshal.dumps(list(map(self._side, self._buffer)))
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="provisioning-plan-")  # noqa: SIM115
                # Closed (and so deleted) when the list goes, with no warning on the way.
                weakref.finalize(self, self._file.close)
            self._file.write(data)
            self._file.write(side)
        except OSError as exc:
            folder = tempfile.gettempdir()
            raise OSError(
                exc.errno,
                f"cannot write a plan's temporary file in {folder} ({exc.strerror or exc}); "
                "a plan of many changes needs room there: set TMPDIR to a folder that has it",
            ) from exc
        self._batches.append((self._end, len(data)))
        self._side_batches.append((self._end + len(data), len(side)))
        self._end += len(data) + len(side)
        self._buffer = []

    def discard(self, keys: Collection[str], found: int) -> None:
        """Leave out the ``found`` items whose key is one of ``keys`` (the caller counted
        them as it appended them)."""
        if self._sealed:
            raise TypeError("a plan's list of changes is read-only")
        self._gone.update(keys)
        self._count -= found

    def seal(self) -> Sequence[_T]:
        """The list, finished: a tuple when it stayed in memory, else this spill, read-only."""
        self._flush()
        if self._file is not None:
            self._file.flush()
        self._sealed = True
        if self._file is None:
            gone, key = self._gone, self._key
            return tuple(i for i in self._head if key(i) not in gone) if gone else tuple(self._head)
        return self

    @property
    def spilled(self) -> bool:
        """Whether part of the list is in a file."""
        return self._file is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[_T]:
        gone, key = self._gone, self._key
        items = self._all()
        return (i for i in items if key(i) not in gone) if gone else items

    def rows(self) -> Iterator[Any]:
        """The items as their encoded rows (what the file holds), in order: no decoding."""
        gone, key, encode = self._gone, self._key, self._encode
        for item in self._head:
            if not gone or key(item) not in gone:
                yield encode(item)
        if self._file is None:
            return
        fd = self._file.fileno()
        for offset, size in self._batches:
            batch = marshal.loads(os.pread(fd, size, offset))  # noqa: S302 - our own file
            if gone:
                batch = [row for row in batch if self._row_key(row) not in gone]
            yield from batch

    def change_rows(self) -> Iterator[tuple[str, Any]]:
        """The side rows (see ``side``) of the items, in order, without reading the rows."""
        side = self._side
        if side is None:
            raise TypeError("this list keeps no side rows")
        gone, key, encode = self._gone, self._key, self._encode
        for item in self._head:
            if not gone or key(item) not in gone:
                yield side(encode(item))
        if self._file is None:
            return
        fd = self._file.fileno()
        for offset, size in self._side_batches:
            batch = marshal.loads(os.pread(fd, size, offset))  # noqa: S302 - our own file
            if gone:
                batch = [row for row in batch if row[0] not in gone]
            yield from batch

    def _row_key(self, row: Any) -> str:
        return str(self._key(self._decode(row)))  # rare: only rows left out afterwards

    def _all(self) -> Iterator[_T]:
        yield from self._head
        if self._file is None:
            return
        assert self._sealed, "a spill is read only once sealed"
        decode, fd = self._decode, self._file.fileno()
        for offset, size in self._batches:
            # Our own anonymous file, written above: no one else can have put bytes in it.
            yield from map(decode, marshal.loads(os.pread(fd, size, offset)))  # noqa: S302

    @overload
    def __getitem__(self, index: int) -> _T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[_T]: ...

    def __getitem__(self, index: int | slice) -> _T | Sequence[_T]:
        # Read from the start: a spilled list is for going through, not for jumping in.
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("spilled list index out of range")
        for position, item in enumerate(self):
            if position == index:
                return item
        raise IndexError("spilled list index out of range")  # pragma: no cover - counted

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        if len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} items, {len(self) - len(self._head)} of them in a temporary file>"


def _encode_error(e: RowError) -> tuple[Any, ...]:
    return (e.record, e.line, e.column, e.code.value, e.message, e.value, e.severity.value, e.row)


def _decode_error(row: tuple[Any, ...]) -> RowError:
    record, line, column, code, message, value, severity, cells = row
    return RowError(
        record=record,
        line=line,
        column=column,
        code=ErrorCode(code),
        message=message,
        value=value,
        severity=Severity(severity),
        row=cells,
    )


def _no_key(_item: object) -> str:
    return ""


def error_spill(hold: int) -> Spill[RowError]:
    """A spill of row problems (never left out afterwards)."""
    return Spill(_encode_error, _decode_error, _no_key, hold)


def record_spill(hold: int) -> Spill[UserRecord]:
    """A spill of records, by their LegacyContactKey."""
    return Spill(_encode_record, _decode_record, _record_key, hold)


def update_spill(hold: int) -> Spill[Update]:
    """A spill of updates (a stored record and what the file makes of it)."""
    return Spill(_encode_update, _decode_update, _update_key, hold, side=_update_changes)


def string_spill(hold: int) -> Spill[str]:
    """A spill of keys."""
    return Spill(_same, _same, _same, hold)


def _record_key(record: UserRecord) -> str:
    return record.legacy_contact_key


def _update_key(update: Update) -> str:
    return update.new.legacy_contact_key


# -- Marketing contacts ----------------------------------------------------------------

#: Contacts as rows of the plain values an audit event keeps (those of
#: :func:`provisioning.audit.contact_changes`), so that a spilled update's changes are
#: the event's without making contacts again.
_CONTACT_CODEC = row_codec(Contact, empty=None, dates="iso", flags="bool", mappings="dict")
_encode_contact = _CONTACT_CODEC.encode
_decode_contact = _CONTACT_CODEC.decode
_CONTACT_NAMES = tuple(_CONTACT_CODEC.columns)
_CONTACT_INDEXES = range(len(_CONTACT_NAMES))


def contact_spill(hold: int, key: ContactKey) -> Spill[Contact]:
    """A spill of contacts, by their key under ``key``."""
    return Spill(_encode_contact, _decode_contact, key.of, hold)


def _encode_contact_update(update: Any) -> tuple[str, Any, Any]:
    # As a record's update: the new contact whole, the old one as the fields it differs in.
    new = _encode_contact(update.new)
    old = _encode_contact(update.old)
    diff = tuple([(i, old[i], new[i]) for i in compress(_CONTACT_INDEXES, map(ne, old, new))])
    return update.key, new, diff


def _contact_update_changes(row: tuple[str, Any, Any]) -> tuple[str, Any]:
    return row[0], row[2]


def contact_update_spill(hold: int, make: Callable[[str, Contact, Contact], _T]) -> Spill[_T]:
    """A spill of contact updates (``ContactUpdate``, made by ``make(key, old, new)``)."""

    def decode(row: tuple[str, Any, Any]) -> _T:
        key, new, diff = row
        old = list(new)
        for index, value, _new in diff:
            old[index] = value
        return make(key, _decode_contact(old), _decode_contact(new))

    return Spill(_encode_contact_update, decode, _update_key_of, hold, side=_contact_update_changes)


def _update_key_of(update: Any) -> str:
    return str(update.key)


def contact_update_row_contact(row: tuple[str, Any, Any]) -> Contact:
    """A spilled contact update's new contact, without making the old one."""
    return _decode_contact(row[1])


def contact_change_rows_changes(row: tuple[str, Any]) -> tuple[str, tuple[FieldChange, ...]]:
    """A contact update's key and changed fields, from what :meth:`Spill.change_rows` gives."""
    return _row_changes(row, _CONTACT_NAMES)
