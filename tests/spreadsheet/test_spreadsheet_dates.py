"""The date rule of upload files (ours: ISO always, others by declared order)."""

from __future__ import annotations

import datetime as dt

import pytest

from provisioning.spreadsheet import DateOrder, ErrorCode
from provisioning.spreadsheet._dates import fast_date, parse_date
from provisioning.spreadsheet._errors import CellProblem

D, M = DateOrder.DAY_FIRST, DateOrder.MONTH_FIRST


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-04-03", None, dt.date(2024, 4, 3)),
        ("20240403", None, dt.date(2024, 4, 3)),
        ("2024-W14-3", None, dt.date(2024, 4, 3)),
        ("2024/04/03", None, dt.date(2024, 4, 3)),
        ("2024.4.3", M, dt.date(2024, 4, 3)),
        ("2024-04-03", D, dt.date(2024, 4, 3)),
        ("03/04/2024", D, dt.date(2024, 4, 3)),
        ("03/04/2024", M, dt.date(2024, 3, 4)),
        ("3.4.2024", D, dt.date(2024, 4, 3)),
        ("3-4-2024", M, dt.date(2024, 3, 4)),
        ("3 April 2024", D, dt.date(2024, 4, 3)),
        ("April 3, 2024", M, dt.date(2024, 4, 3)),
        ("Apr 3 2024 0:00", M, dt.date(2024, 4, 3)),
    ],
)
def test_accepted_dates(text: str, order: DateOrder | None, expected: dt.date) -> None:
    """ISO 8601 always; year-first numeric always; the rest in the declared order."""
    assert parse_date(text, order) == expected


@pytest.mark.parametrize(
    ("text", "order", "code", "why"),
    [
        ("03/04/2024", None, ErrorCode.AMBIGUOUS_DATE, "no day/month order was declared"),
        ("13/04/2024", None, ErrorCode.AMBIGUOUS_DATE, "YYYY-MM-DD"),
        ("3 April 2024", None, ErrorCode.AMBIGUOUS_DATE, "DateOrder.DAY_FIRST"),
        ("2023-02-30", None, ErrorCode.INVALID_DATE, "day is out of range"),
        ("2023/13/01", D, ErrorCode.INVALID_DATE, "month must be in 1..12"),
        ("13/04/2024", M, ErrorCode.INVALID_DATE, "month must be in 1..12"),
        ("3/4/24", D, ErrorCode.INVALID_DATE, "d/m/yyyy"),
        ("3 April 24", D, ErrorCode.INVALID_DATE, "four digits"),
        ("April 2024", D, ErrorCode.INVALID_DATE, "missing"),
        ("2024", D, ErrorCode.INVALID_DATE, "d/m/yyyy"),
        ("3 April 2024 10:30", D, ErrorCode.INVALID_DATE, "time of day"),
        ("3 April 2024 00:00 UTC", D, ErrorCode.INVALID_DATE, "time zone"),
        ("soon", D, ErrorCode.INVALID_DATE, "d/m/yyyy"),
        ("Blursday 3 2024", D, ErrorCode.INVALID_DATE, "not a valid date"),
    ],
)
def test_refused_dates(text: str, order: DateOrder | None, code: ErrorCode, why: str) -> None:
    """Anything else is an error that says why; nothing is guessed."""
    with pytest.raises(CellProblem) as caught:
        parse_date(text, order)
    assert caught.value.code == code
    assert why in caught.value.message
    assert repr(text) in caught.value.message


@pytest.mark.parametrize(
    ("text", "day_first"),
    [("2024-04-03", None), ("03/04/2024", True), ("03/04/2024", False), ("03.04.2024", True)],
)
def test_fast_dates_agree_with_the_rule(text: str, day_first: bool | None) -> None:
    """The hot path's shortcut gives parse_date's answer, or defers."""
    order = None if day_first is None else (D if day_first else M)
    assert fast_date(text, day_first) == parse_date(text, order)


@pytest.mark.parametrize(
    ("text", "day_first"),
    [("2023-02-30", None), ("03/04/2024", None), ("3/4/2024", True), ("0\uff13/04/2024", True),
     ("31/31/2024", True), ("2024-4-3x", None), ("03/04-2024", True)],
)  # fmt: skip
def test_fast_dates_defer_when_unsure(text: str, day_first: bool | None) -> None:
    """Anything unusual goes to the careful path (None)."""
    assert fast_date(text, day_first) is None
