"""Uploads inside the file size cap that once cost gigabytes or minutes (the record cap,
header cells, blank rows wider than the header, runs of blank lines)."""

from __future__ import annotations

import io

import pytest

from provisioning.exceptions import InvalidValueError, SpreadsheetError
from provisioning.records import UserRecord
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    DEFAULT_MAX_RECORD_SIZE,
    ErrorCode,
    HeaderError,
    RowError,
    read,
    read_all,
)

HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName"
ADA = "1001,Ada,Lovelace,ada@example.com,Analytical Engines"
BOB = "1002,Bob,Byte,bob@example.com,Acme"


def _bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def test_default_record_cap_is_one_mebibyte() -> None:
    assert DEFAULT_MAX_RECORD_SIZE == 1 << 20


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "10"])
def test_a_bad_record_cap_is_refused(value: object) -> None:
    with pytest.raises(InvalidValueError, match="max_record_size"):
        read(_bytes(HEADER + "\n"), COMMUNITY_UPLOAD_USERS, max_record_size=value)  # type: ignore[arg-type]


def test_a_huge_single_cell_header_is_a_header_error_naming_the_cap() -> None:
    """40 MB of one header cell: refused after about the cap, not held whole."""
    data = _bytes("x" * 40_000_000 + "\n" + ADA + "\n")
    with pytest.raises(HeaderError) as caught:
        read(data, COMMUNITY_UPLOAD_USERS)
    (problem,) = caught.value.problems
    assert (problem.code, problem.line) == (ErrorCode.RECORD_TOO_LARGE, 1)
    assert "max_record_size" in problem.message
    # The stream was not read to its end.
    assert data.tell() < 4 * DEFAULT_MAX_RECORD_SIZE


def test_a_header_cell_over_the_field_cap_is_a_header_error() -> None:
    data = _bytes("x" * 40_000 + "," + HEADER + "\n" + ADA + "\n")
    with pytest.raises(HeaderError) as caught:
        read(data, COMMUNITY_UPLOAD_USERS)
    (problem,) = caught.value.problems
    assert (problem.code, problem.line) == (ErrorCode.FIELD_TOO_LARGE, 1)
    assert "max_field_size" in problem.message
    assert "40,000" in problem.message


def test_a_quoted_multi_line_header_over_the_cap_is_a_header_error() -> None:
    cell = '"' + "a\n" * 600 + '"'
    data = _bytes(",".join([cell] * 20) + "\n" + ADA + "\n")
    with pytest.raises(HeaderError) as caught:
        read(data, COMMUNITY_UPLOAD_USERS, max_record_size=10_000)
    assert [p.code for p in caught.value.problems] == [ErrorCode.RECORD_TOO_LARGE]


def test_a_line_of_forty_million_commas_is_refused_with_its_line() -> None:
    """Not materialised as 40 million fields; the rows before it are handed out first."""
    data = _bytes(HEADER + "\n" + ADA + "\n" + "," * 40_000_000 + "\n" + BOB + "\n")
    reader = read(data, COMMUNITY_UPLOAD_USERS)
    seen: list[UserRecord | RowError] = []
    with pytest.raises(SpreadsheetError) as caught:
        seen.extend(reader)
    assert (caught.value.code, caught.value.line) == (ErrorCode.RECORD_TOO_LARGE, 3)
    assert [r.key for r in seen if not isinstance(r, RowError)] == ["1001"]
    assert not reader.summary.complete
    assert data.tell() < 4 * DEFAULT_MAX_RECORD_SIZE


def test_a_row_of_only_commas_wider_than_the_header_is_too_many_fields() -> None:
    """Such a row used to count as blank, so the file was valid."""
    report = read_all(
        _bytes(HEADER + "\n" + "," * 5000 + "\n" + ADA + "\n"), COMMUNITY_UPLOAD_USERS
    )
    (error,) = report.errors
    assert (error.code, error.line, error.record) == (ErrorCode.TOO_MANY_FIELDS, 2, 1)
    assert "5,001 fields" in error.message
    assert not report.ok
    assert report.summary.blank == 0


def test_a_row_of_empty_cells_up_to_the_header_width_is_still_blank() -> None:
    report = read_all(_bytes(HEADER + "\n,,,,\n,,\n" + ADA + "\n"), COMMUNITY_UPLOAD_USERS)
    assert report.ok
    assert report.summary.blank == 2


def test_a_quoted_multi_line_record_over_the_cap_is_a_file_error() -> None:
    cells = ['"' + "b\n" * 400 + '"'] * 5
    data = _bytes(HEADER + "\n" + ADA + "\n" + ",".join(cells) + "\n" + BOB + "\n")
    reader = read(data, COMMUNITY_UPLOAD_USERS, max_record_size=2_000)
    with pytest.raises(SpreadsheetError) as caught:
        list(reader)
    assert (caught.value.code, caught.value.line) == (ErrorCode.RECORD_TOO_LARGE, 3)


def test_a_line_over_a_configured_cap_is_refused() -> None:
    data = _bytes(HEADER + "\n" + ADA + "," + "x" * 300 + "\n")
    with pytest.raises(SpreadsheetError) as caught:
        list(read(data, COMMUNITY_UPLOAD_USERS, max_record_size=200))
    assert (caught.value.code, caught.value.line) == (ErrorCode.RECORD_TOO_LARGE, 2)


def test_a_record_up_to_the_cap_is_read() -> None:
    row = ADA + " " * (200 - len(ADA) - 1) + "\n"
    report = read_all(_bytes(HEADER + "\n" + row), COMMUNITY_UPLOAD_USERS, max_record_size=200)
    assert report.ok


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_millions_of_blank_lines_are_counted_and_keep_line_numbers(newline: str) -> None:
    """Runs of blank lines are skipped in bulk; counts and later line numbers hold."""
    blanks = 3_000_000
    text = HEADER + newline + ADA + newline + newline * blanks + "1003,C,D,bad,Co" + newline + BOB
    reader = read(_bytes(text + newline), COMMUNITY_UPLOAD_USERS)
    items = list(reader)
    (error,) = [i for i in items if isinstance(i, RowError)]
    assert (error.code, error.line, error.record) == (
        ErrorCode.INVALID_EMAIL,
        blanks + 3,
        blanks + 2,
    )
    summary = reader.summary
    assert (summary.blank, summary.rows, summary.lines) == (blanks, blanks + 3, blanks + 4)
    assert summary.valid == 2


def test_blank_lines_inside_a_quoted_value_stay_in_it() -> None:
    """A run of blank lines inside a quoted value is part of the value and its lines."""
    text = (
        HEADER + "\n" + '1001,Ada,Lovelace,ada@example.com,"Engines\n\n\n\nLtd"\n\n\n' + BOB + "\n"
    )
    report = read_all(_bytes(text), COMMUNITY_UPLOAD_USERS)
    assert report.ok
    assert report.records[0].company_name == "Engines\n\n\n\nLtd"
    assert (report.summary.blank, report.summary.lines) == (2, 9)


def test_an_unclosed_quote_over_blank_lines_names_its_lines() -> None:
    text = HEADER + "\n" + '1001,Ada,Lovelace,ada@example.com,"Engines\n' + "\n" * 5
    (error,) = read_all(_bytes(text), COMMUNITY_UPLOAD_USERS).errors
    assert (error.code, error.line) == (ErrorCode.UNCLOSED_QUOTE, 2)
    assert "5 line(s)" in error.message


def test_a_file_of_more_bad_rows_than_the_cap_is_refused_there() -> None:
    """Millions of bad rows once cost gigabytes of RowErrors: past the cap, the file stops."""
    bad = "\n".join(f"{n},Ada,Lovelace,not-an-email,AE" for n in range(5))
    reader = read(_bytes(f"{HEADER}\n{ADA}\n{bad}\n"), COMMUNITY_UPLOAD_USERS, max_problem_rows=3)
    seen: list[object] = []
    with pytest.raises(SpreadsheetError) as caught:
        seen.extend(reader)
    assert caught.value.code is ErrorCode.TOO_MANY_PROBLEMS
    assert caught.value.line == 6  # the fourth bad row
    assert str(caught.value).startswith("more than 3 rows have errors (the last on line 6)")
    errors = [item for item in seen if isinstance(item, RowError)]
    assert [e.line for e in errors] == [3, 4, 5]
    assert len([item for item in seen if isinstance(item, UserRecord)]) == 1


def test_repeated_rows_count_once_each_toward_the_cap() -> None:
    """A row that repeats a key and an email is one bad row, not two."""
    rows = "\n".join([ADA] * 4)
    with pytest.raises(SpreadsheetError) as caught:
        read_all(_bytes(f"{HEADER}\n{rows}\n"), COMMUNITY_UPLOAD_USERS, max_problem_rows=2)
    assert caught.value.code is ErrorCode.TOO_MANY_PROBLEMS
    assert caught.value.line == 5
    report = read_all(_bytes(f"{HEADER}\n{rows}\n"), COMMUNITY_UPLOAD_USERS, max_problem_rows=3)
    assert report.summary.invalid == 3


@pytest.mark.parametrize("value", [0, -1, True, 2.5])
def test_a_bad_problem_cap_is_refused(value: object) -> None:
    with pytest.raises(InvalidValueError, match="max_problem_rows"):
        read(_bytes(HEADER + "\n"), COMMUNITY_UPLOAD_USERS, max_problem_rows=value)  # type: ignore[arg-type]
