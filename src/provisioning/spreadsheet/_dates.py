"""Dates in upload files: ISO 8601 always; other forms only with a declared order.

The rule (ours; see the domain reference, docs/domain.md):

1. Any ISO 8601 calendar date that :meth:`datetime.date.fromisoformat` accepts
   (``2024-04-03``, ``20240403``, ``2024-W14-3``) is read as such, whatever the order.
2. A year-first numeric date (``2024/04/03``, ``2024.4.3``) is year, month, day.
3. Every other form needs a declared :class:`DateOrder`; without one it is an
   ``ambiguous_date`` error, never a guess, even when only one reading is possible.
4. With an order: a numeric ``d/m/yyyy`` or ``m/d/yyyy`` (``/``, ``.`` or ``-``) is read
   in that order; a form with a month name (``3 April 2024``, ``Apr 3, 2024``) is
   parsed by python-dateutil with that order.
5. The year has four digits; a day, month or year may not be missing; a time of day
   other than midnight is refused rather than dropped.
"""

from __future__ import annotations

import datetime as dt
import enum
import re

from dateutil import parser as _dateutil

from ._codes import ErrorCode
from ._errors import CellProblem
from ._options import OptionNames

__all__ = ["AMBIGUOUS_HINT", "DateOrder", "parse_date"]

#: How an ``ambiguous_date`` message names the option that declares the order; the
#: reader puts the option's name for its caller in its place (:class:`OptionNames`).
AMBIGUOUS_HINT = OptionNames().date_order


class DateOrder(enum.Enum):
    """The day/month order of non-ISO dates in a file, declared by whoever made it."""

    #: ``31/12/2024``: day, month, year (most of the world).
    DAY_FIRST = "day_first"
    #: ``12/31/2024``: month, day, year (the United States).
    MONTH_FIRST = "month_first"

    def __str__(self) -> str:
        return self.value


_fromiso = dt.date.fromisoformat
_ISO_SHAPE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
_YEAR_FIRST = re.compile(r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})", re.ASCII)
_YEAR_LAST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})", re.ASCII)
_NUMERIC = re.compile(r"[\d/.\- ]+", re.ASCII)
_MONTH_NAME = re.compile(r"[A-Za-z]{3}")
_DIGIT = re.compile(r"\d", re.ASCII)
_FOUR_DIGIT_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)", re.ASCII)
# Two defaults that differ in every date part: a part missing from the text shows up
# as a difference between the two parses.
_DEFAULT_A = dt.datetime(2000, 1, 1)  # noqa: DTZ001 - a placeholder, never a moment
_DEFAULT_B = dt.datetime(2001, 2, 2)  # noqa: DTZ001 - a placeholder, never a moment


def _invalid(text: str, why: str) -> CellProblem:
    return CellProblem(ErrorCode.INVALID_DATE, f"{text!r} is not a valid date: {why}")


def _make(text: str, year: str, month: str, day: str) -> dt.date:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError as exc:
        raise _invalid(text, str(exc)) from None


def parse_date(text: str, order: DateOrder | None = None) -> dt.date:
    """Read a trimmed, non-empty date by the rule above, or raise ``CellProblem``."""
    try:
        return _fromiso(text)
    except ValueError:
        pass
    if _ISO_SHAPE.fullmatch(text):
        # ISO-shaped but impossible, e.g. 2023-02-30: say why rather than guess.
        _make(text, text[:4], text[5:7], text[8:10])
    if match := _YEAR_FIRST.fullmatch(text):
        return _make(text, match[1], match[3], match[4])
    if order is None:
        raise CellProblem(
            ErrorCode.AMBIGUOUS_DATE,
            f"{text!r} is not an ISO 8601 date (YYYY-MM-DD) and no day/month order was "
            "declared; write it as YYYY-MM-DD or read the file with " + AMBIGUOUS_HINT,
        )
    if match := _YEAR_LAST.fullmatch(text):
        first, second = match[1], match[3]
        day, month = (first, second) if order is DateOrder.DAY_FIRST else (second, first)
        return _make(text, match[4], month, day)
    if _NUMERIC.fullmatch(text) or not _MONTH_NAME.search(text) or not _DIGIT.search(text):
        raise _invalid(text, "expected YYYY-MM-DD, or d/m/yyyy in the declared order")
    if not _FOUR_DIGIT_YEAR.search(text):
        raise _invalid(text, "the year must have four digits")
    dayfirst = order is DateOrder.DAY_FIRST
    try:
        first = _dateutil.parse(text, dayfirst=dayfirst, default=_DEFAULT_A)
        second = _dateutil.parse(text, dayfirst=dayfirst, default=_DEFAULT_B)
    except (ValueError, OverflowError) as exc:
        raise _invalid(text, str(exc)) from None
    if first.date() != second.date():
        raise _invalid(text, "the day, month or year is missing")
    if first.tzinfo is not None or first.time() != dt.time():
        raise _invalid(text, "a date may not carry a time of day or a time zone")
    return first.date()


def fast_date(text: str, day_first: bool | None) -> dt.date | None:
    """The common forms of :func:`parse_date` without its checks; ``None`` otherwise.

    ``day_first`` is ``None`` when no order was declared. Used on the hot path only;
    a ``None`` sends the row to the careful path, which explains the problem.
    """
    if len(text) != 10:
        return None
    sep = text[2]
    if text[4] == "-":
        try:
            return _fromiso(text)
        except ValueError:
            return None
    if day_first is None or sep not in "/.-" or text[5] != sep:
        return None
    head, mid, year = text[:2], text[3:5], text[6:]
    if not (head + mid + year).isdecimal() or not (head + mid + year).isascii():
        return None
    try:
        if day_first:
            return dt.date(int(year), int(mid), int(head))
        return dt.date(int(year), int(head), int(mid))
    except ValueError:
        return None
