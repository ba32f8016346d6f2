"""Reader.key_line: where the valid row with a key starts, asked of the duplicate index."""

from __future__ import annotations

import io

from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    ErrorCode,
    RowError,
    read,
)

HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,Title"


def _file(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\r\n".join(lines) + "\r\n").encode("utf-8"))


def _codes(items: list[object]) -> list[str]:
    return [str(i.code) if isinstance(i, RowError) else "record" for i in items]


def test_key_line_is_the_line_a_valid_rows_key_starts_on() -> None:
    """Physical lines, from 1 with the header: a quoted line break and blank lines count."""
    reader = read(
        _file(
            HEADER,
            "1001,Ada,Lovelace,ada@example.com,Acme,",  # line 2
            '1002,Grace,Hopper,grace@example.com,Acme,"Rear',  # lines 3-4
            'Admiral"',
            "",  # line 5, blank
            " 1003 ,Alan,Turing,alan@example.com,Acme,",  # line 6, its key padded
            "1004,Bad,Email,not-an-email,Acme,",  # line 7, an error
            "1001,Again,Lovelace,again@example.com,Acme,",  # line 8, a repeated key
            "1005,Repeats,Email,ADA@example.com,Acme,",  # line 9, a repeated email
            "1006,,Missing,first@example.com,Acme,",  # line 10, a missing first name
            '1007,"Bad"x,Quotes,quotes@example.com,Acme,',  # line 11, bad quoting
            "1008,Mary,Somerville,mary@example.com,Acme,",  # line 12
        ),
        COMMUNITY_UPLOAD_USERS,
    )
    items: list[object] = list(reader)
    assert _codes(items) == [
        "record",
        "record",
        "record",
        ErrorCode.INVALID_EMAIL.value,
        ErrorCode.DUPLICATE_KEY.value,
        ErrorCode.DUPLICATE_EMAIL.value,
        ErrorCode.MISSING_VALUE.value,
        ErrorCode.BAD_QUOTING.value,
        "record",
    ]
    assert [reader.key_line(k) for k in ("1001", "1002", "1003", "1008")] == [2, 3, 6, 12]
    # A key no valid row has: unknown, or the key of a row that failed.
    for key in ("9999", "1004", "1005", "1006", "1007", "", "100", "10011"):
        assert reader.key_line(key) is None, key


def test_key_line_ignores_whitespace_around_the_key() -> None:
    """A key asked with spaces, tabs or a line break around it is the key trimmed."""
    reader = read(
        _file(HEADER, "  1001\t,Ada,Lovelace,ada@example.com,Acme,"), COMMUNITY_UPLOAD_USERS
    )
    list(reader)
    for asked in ("1001", " 1001", "1001 ", "\t1001\r\n", "\u00a01001\u2003"):
        assert reader.key_line(asked) == 2, repr(asked)
    # Inside the key, whitespace counts: keys are compared exactly.
    assert reader.key_line("10 01") is None
    assert reader.key_line("1001x") is None


def test_key_line_knows_only_the_rows_read_so_far() -> None:
    """Before a row is read its key has no line; the index grows as the file is read."""
    reader = read(
        _file(
            HEADER,
            "1001,Ada,Lovelace,ada@example.com,Acme,",
            "1002,Grace,Hopper,grace@example.com,Acme,",
        ),
        COMMUNITY_UPLOAD_USERS,
    )
    assert reader.key_line("1001") is None
    next(reader)
    assert (reader.key_line("1001"), reader.key_line("1002")) == (2, None)
    next(reader)
    assert (reader.key_line("1001"), reader.key_line("1002")) == (2, 3)


def test_key_line_is_none_for_a_template_keyed_by_email() -> None:
    """A Marketing template keyed by the email has no key index of its own."""
    reader = read(_file("Email,MemberId", "ada@example.com,M-1"), MARKETING_ENTERPRISE)
    assert len(list(reader)) == 1
    for asked in ("ada@example.com", "M-1"):
        assert reader.key_line(asked) is None
    by_id = read(_file("Email,MemberId", "ada@example.com,M-1"), MARKETING_ENTERPRISE_BY_MEMBER_ID)
    assert len(list(by_id)) == 1
    assert by_id.key_line(" M-1 ") == 2
