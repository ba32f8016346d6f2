"""OptionNames: a message that suggests a reader option names it as the caller can type it."""

from __future__ import annotations

import io

import pytest

from provisioning import InvalidValueError, SpreadsheetError
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    HeaderError,
    OptionNames,
    read,
    read_all,
)

_HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName"
_UK = _HEADER + ",MemberSince\r\n1001,Ada,Lovelace,ada@example.com,Engines,03/04/2015\r\n"
_FORM = OptionNames(
    date_order="the 'Dates' menu",
    lenient_headers="'Accept loose headers' ticked",
    max_file_size="a larger limit in Settings",
)


def test_python_names_by_default() -> None:
    """Without option_names, an ambiguous date suggests the Python argument."""
    (error,) = read_all(io.StringIO(_UK, newline=""), COMMUNITY_UPLOAD_USERS).errors
    assert error.message.endswith(
        "read the file with date_order=DateOrder.DAY_FIRST or DateOrder.MONTH_FIRST"
    )


def test_a_host_names_its_own_options() -> None:
    """A host's front end passes its own words; no Python name reaches its users."""
    report = read_all(io.StringIO(_UK, newline=""), COMMUNITY_UPLOAD_USERS, option_names=_FORM)
    assert report.errors[0].message.endswith("read the file with the 'Dates' menu")
    loose = io.StringIO(_UK.replace("EmailAddress", "emailaddress"), newline="")
    with pytest.raises(HeaderError) as caught:
        read(loose, COMMUNITY_UPLOAD_USERS, option_names=_FORM)
    assert caught.value.problems[0].message.endswith(
        "read with 'Accept loose headers' ticked to accept it"
    )
    big = io.StringIO(_UK * 3, newline="")
    with pytest.raises(SpreadsheetError, match="pass a larger limit in Settings to read it"):
        list(read(big, COMMUNITY_UPLOAD_USERS, max_file_size=150, option_names=_FORM))


def test_values_are_quoted_as_the_caller_quotes() -> None:
    """A suggestion with a value writes it with ``quote``: repr in Python, a shell's own."""
    assert OptionNames().with_sheet("Members 2024") == "sheet='Members 2024'"
    shell = OptionNames(sheet="--sheet {}", quote=lambda v: f'"{v}"')
    assert shell.with_sheet("Members 2024") == '--sheet "Members 2024"'


def test_option_names_must_be_option_names() -> None:
    """Anything else is refused naming the argument."""
    with pytest.raises(InvalidValueError, match="option_names"):
        read(io.StringIO(_UK), COMMUNITY_UPLOAD_USERS, option_names="--date-order")  # type: ignore[arg-type]
