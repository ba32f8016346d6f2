"""Record fields named and written as in the upload template, read as an upload row is."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Final

from ..exceptions import InvalidValueError, SpreadsheetError
from ..records import UserRecord
from ..spreadsheet import COMMUNITY_UPLOAD_USERS, RowError, read, write

__all__ = ["HEADERS", "record_from_cells"]

#: The Community template's headers, in order.
HEADERS: Final = tuple(c.header for c in COMMUNITY_UPLOAD_USERS.columns)
_BY_LOWER: Final = {h.lower(): h for h in HEADERS}


def header_of(name: str) -> str | None:
    """The template header ``name`` is (compared ignoring case), or ``None``."""
    return _BY_LOWER.get(name.strip().lower())


def record_from_cells(cells: Mapping[str, str], base: UserRecord | None = None) -> UserRecord:
    """The record an upload row with ``cells`` (by template header) makes, with the same
    checks and error codes as an upload: :class:`~provisioning.InvalidValueError`
    naming each bad cell otherwise. ``base`` fills the cells not given (a cell given as
    ``""`` clears an optional field)."""
    # The base's custom (demographic) columns are carried as the columns they were read
    # from, so a change of other fields keeps them.
    extra = sorted(base.custom) if base is not None else []
    headers = (*HEADERS, *extra)
    row: dict[str, str] = dict.fromkeys(headers, "")
    if base is not None:
        text = io.StringIO(newline="")
        write([base], text, COMMUNITY_UPLOAD_USERS, formula_safe=False, extra_columns=extra)
        row |= next(csv.DictReader(io.StringIO(text.getvalue())))
    given: dict[str, str] = {}
    for name, value in cells.items():
        header = header_of(name)
        if header is None:
            raise InvalidValueError(f"{name!r} is no column of the upload template", field=name)
        if header in given:
            # One column named twice (in two spellings): which one counts would be a guess,
            # and for the key, a write to another record than the one checked.
            raise InvalidValueError(
                f"{header} is given twice ({given[header]!r} and {name!r})", field=header
            )
        if not isinstance(value, str):
            raise InvalidValueError(
                f"{header} must be text, as in an upload file, got {value!r:.80}", field=header
            )
        given[header] = name
        row[header] = value
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerow([row[h] for h in headers])
    text.seek(0)
    try:
        found = list(read(text, COMMUNITY_UPLOAD_USERS))
    except SpreadsheetError as exc:  # a cell longer than any row may be
        raise InvalidValueError(f"the values make no row: {exc}", field="cells") from None
    errors = [e for e in found if isinstance(e, RowError) and e.is_error]
    records = [r for r in found if isinstance(r, UserRecord)]
    if errors or len(records) != 1:
        reasons = "; ".join(f"{e.column or 'the row'}: {e.code}: {e.message}" for e in errors)
        raise InvalidValueError(reasons or "the values make no record", field="cells")
    return records[0]
