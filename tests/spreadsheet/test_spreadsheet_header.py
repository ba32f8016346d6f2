"""Header matching on its own: a pure function from header cells to a layout and problems."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    MARKETING_PROFESSIONAL,
    Column,
    ErrorCode,
    HeaderError,
    Severity,
    Template,
)
from provisioning.spreadsheet._header import SUGGESTIONS, HeaderMatch, match_header

TEMPLATES: tuple[Template[Any], ...] = (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    MARKETING_PROFESSIONAL,
)
REQUIRED = ["LegacyContactKey", "FirstName", "LastName", "EmailAddress", "CompanyName"]


def _match(
    header: Sequence[str], template: Template[Any] = COMMUNITY_UPLOAD_USERS, **kw: Any
) -> HeaderMatch:
    options: dict[str, Any] = {"lenient": False, "max_columns": 1_000, **kw}
    return match_header(header, template, **options)


def _codes(match: HeaderMatch) -> list[tuple[ErrorCode, Severity]]:
    return [(p.code, p.severity) for p in match.problems]


@st.composite
def _permuted(draw: st.DrawFn) -> tuple[Template[Any], list[str]]:
    template = draw(st.sampled_from(TEMPLATES))
    return template, draw(st.permutations(template.headers))


@given(_permuted())
def test_any_permutation_of_the_template_headers_matches(
    case: tuple[Template[Any], list[str]],
) -> None:
    template, header = case
    match = _match(header, template)
    assert match.errors == ()
    assert match.problems == ()
    assert match.error(template) is None
    assert len(match.layout) == len(header)
    for name, slot in zip(header, match.layout, strict=True):
        assert isinstance(slot, Column)
        assert slot.header == name


@given(_permuted(), st.booleans())
def test_matching_is_pure(case: tuple[Template[Any], list[str]], lenient: bool) -> None:
    """The same cells give the same answer, however often they are matched."""
    template, header = case
    header = [*header, "Nickname", " ", header[0].upper()]
    first = _match(header, template, lenient=lenient)
    assert _match(header, template, lenient=lenient) == first
    assert _match(tuple(header), template, lenient=lenient) == first


def test_only_required_columns_are_enough() -> None:
    match = _match(REQUIRED)
    assert match.problems == ()
    assert [s.header for s in match.layout if isinstance(s, Column)] == REQUIRED


def test_an_inexact_header_is_an_error_unless_lenient() -> None:
    header = [*REQUIRED[:-1], "company name"]
    strict = _match(header)
    assert _codes(strict) == [(ErrorCode.INEXACT_HEADER, Severity.ERROR)]
    assert strict.problems[0].message == (
        "header 'company name' differs from 'CompanyName' only in case or spaces: did you "
        "mean 'CompanyName'? Headers must match exactly; read with "
        "lenient_headers=True to accept it"
    )
    lenient = _match(header, lenient=True)
    assert _codes(lenient) == [(ErrorCode.INEXACT_HEADER, Severity.WARNING)]
    assert lenient.problems[0].message == (
        "header 'company name' was read as 'CompanyName' (lenient headers)"
    )
    assert lenient.errors == ()
    assert lenient.warnings == lenient.problems
    last = lenient.layout[-1]
    assert isinstance(last, Column)
    assert last.header == "CompanyName"


def test_an_unknown_column_is_kept_with_a_suggestion() -> None:
    match = _match([*REQUIRED, "FirstNme"])
    assert match.layout[-1] == "FirstNme"
    assert _codes(match) == [(ErrorCode.UNKNOWN_COLUMN, Severity.WARNING)]
    assert match.problems[0].message == (
        "column 'FirstNme' is not in the 'Upload Users' template; its values are kept in "
        "custom (did you mean 'FirstName'?)"
    )
    assert match.problems[0].column == "FirstNme"
    assert match.problems[0].record == 0


def test_only_the_first_unknown_columns_get_a_suggestion() -> None:
    extra = [f"FirstNam{i}" for i in range(SUGGESTIONS + 5)]
    match = _match([*REQUIRED, *extra])
    suggested = ["did you mean" in p.message for p in match.problems]
    assert suggested == [True] * SUGGESTIONS + [False] * 5
    # The budget is per call: a second header gets its suggestions again.
    assert "did you mean" in _match([*REQUIRED, "FirstNam"]).problems[0].message


def test_a_blank_header_warns_and_maps_to_none() -> None:
    match = _match([*REQUIRED, "  "])
    assert match.layout[-1] is None
    assert _codes(match) == [(ErrorCode.BLANK_HEADER, Severity.WARNING)]
    assert match.problems[0].message == "column 6 has no header; its values must be empty"
    assert match.problems[0].column is None


def test_a_duplicate_column_is_an_error_naming_both_columns() -> None:
    match = _match([*REQUIRED, "FirstName"])
    assert _codes(match) == [(ErrorCode.DUPLICATE_COLUMN, Severity.ERROR)]
    assert match.problems[0].message == (
        "column 'FirstName' appears twice, as columns 2 and 6; keep one"
    )


def test_a_missing_required_column_is_an_error_with_its_likely_cause() -> None:
    match = _match([*REQUIRED[:-1], "Company"])
    assert _codes(match) == [
        (ErrorCode.UNKNOWN_COLUMN, Severity.WARNING),
        (ErrorCode.MISSING_COLUMN, Severity.ERROR),
    ]
    missing = match.errors[0]
    assert missing.column == "CompanyName"
    assert missing.message == (
        "required column 'CompanyName' is missing (is 'Company' meant to be it?)"
    )


def test_a_one_column_header_with_another_delimiter_says_so() -> None:
    match = _match([";".join(REQUIRED)])
    assert {p.code for p in match.errors} == {ErrorCode.MISSING_COLUMN}
    assert all(
        p.message.endswith(
            "(the file looks semicolon-separated; this template's files are comma-separated)"
        )
        for p in match.errors
    )


def test_a_header_over_the_cap_is_one_error_and_no_layout() -> None:
    match = _match([*REQUIRED, "X", "Y"], max_columns=6)
    assert match.layout == ()
    assert _codes(match) == [(ErrorCode.TOO_MANY_COLUMNS, Severity.ERROR)]
    assert match.problems[0].message == "the header has 7 columns; the limit is 6 (max_columns)"
    assert _match([*REQUIRED, "X"], max_columns=6).errors == ()


def test_problems_name_the_line_each_cell_starts_on() -> None:
    match = _match([*REQUIRED, "Two\r\nLines", "Other", "Other"], line=3)
    assert [(p.code, p.column, p.line) for p in match.problems] == [
        (ErrorCode.UNKNOWN_COLUMN, "Two\r\nLines", 3),
        (ErrorCode.UNKNOWN_COLUMN, "Other", 4),
        (ErrorCode.UNKNOWN_COLUMN, "Other", 4),
        (ErrorCode.DUPLICATE_COLUMN, "Other", 4),
    ]


def test_the_error_lists_every_error_and_only_errors() -> None:
    match = _match(["FirstName", "FirstName", "Nickname"], template=COMMUNITY_UPLOAD_USERS)
    error = match.error(COMMUNITY_UPLOAD_USERS)
    assert isinstance(error, HeaderError)
    assert error.problems == match.errors
    assert all(p.severity is Severity.ERROR for p in error.problems)
    assert ErrorCode.UNKNOWN_COLUMN not in {p.code for p in error.problems}
    listing = "; ".join(f"{p.code}: {p.message}" for p in match.errors)
    assert error.message == (f"the header row does not fit the 'Upload Users' template: {listing}")
    assert all(p.row == ("FirstName", "FirstName", "Nickname") for p in match.problems)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_an_empty_header_misses_every_required_column(template: Template[Any]) -> None:
    match = _match([""], template)
    required = [c.header for c in template.columns if c.required]
    assert [p.column for p in match.errors] == required
    assert match.layout == (None,)
