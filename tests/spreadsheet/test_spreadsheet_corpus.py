"""The bad-file corpus: every file in corpus/ and exactly what reading it reports.

Each row problem is pinned as (record, line, column, code, severity); each file-level
failure as (code, line) and, for a header, its problems. Line and record differ on
purpose in several files (a quoted value holding a line break, CR-only line endings).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import attrs
import pytest

from provisioning.exceptions import SpreadsheetError
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    MARKETING_PROFESSIONAL,
    DateOrder,
    ErrorCode,
    HeaderError,
    RowError,
    Severity,
    Template,
    read,
)

CORPUS = Path(__file__).parent / "corpus"
C = ErrorCode
ERROR, SKIPPED, WARNING = Severity.ERROR, Severity.SKIPPED, Severity.WARNING

Problem = tuple[int, int, str | None, ErrorCode, Severity]


@attrs.frozen
class Case:
    """What reading one corpus file must report."""

    problems: tuple[Problem, ...] = ()
    records: int = 0
    template: Template[Any] = COMMUNITY_UPLOAD_USERS
    options: dict[str, Any] = attrs.field(factory=dict)
    #: For a file that cannot be read: (code, line) of the SpreadsheetError.
    raises: tuple[ErrorCode, int] | None = None
    #: A text the message of the first problem (or of the error) must contain.
    says: str = ""
    #: For a workbook: each problem's sheet and cell (``Members!C14``), in order.
    cells: tuple[str | None, ...] | None = None


DAY_FIRST = {"date_order": DateOrder.DAY_FIRST}

CASES: dict[str, Case] = {
    # -- values ---------------------------------------------------------------------------
    "missing_value.csv": Case(((1, 2, "LastName", C.MISSING_VALUE, ERROR),), says="required"),
    "blank_key.csv": Case(((2, 3, "LegacyContactKey", C.MISSING_VALUE, ERROR),), records=1),
    "invalid_email.csv": Case(((1, 2, "EmailAddress", C.INVALID_EMAIL, ERROR),)),
    "email_ip_literal.csv": Case(((2, 3, "EmailAddress", C.INVALID_EMAIL, ERROR),), records=1),
    "ambiguous_date.csv": Case(
        ((1, 2, "Birthday", C.AMBIGUOUS_DATE, ERROR),), says="DateOrder.DAY_FIRST"
    ),
    "impossible_date.csv": Case(((1, 2, "Birthday", C.INVALID_DATE, ERROR),), says="day"),
    "two_digit_year.csv": Case(((1, 2, "Birthday", C.INVALID_DATE, ERROR),), options=DAY_FIRST),
    "date_in_wrong_order.csv": Case(
        ((1, 2, "Birthday", C.INVALID_DATE, ERROR),), options=DAY_FIRST, says="month"
    ),
    "date_with_time.csv": Case(
        ((1, 2, "Birthday", C.INVALID_DATE, ERROR),), options=DAY_FIRST, says="time of day"
    ),
    "incomplete_date.csv": Case(
        ((1, 2, "Birthday", C.INVALID_DATE, ERROR),), options=DAY_FIRST, says="missing"
    ),
    "invalid_boolean.csv": Case(((1, 2, "IsMember", C.INVALID_BOOLEAN, ERROR),)),
    "invalid_status.csv": Case(((1, 2, "Status", C.INVALID_CHOICE, ERROR),), says="'Enabled'"),
    "field_too_large.csv": Case(((1, 2, "Title", C.FIELD_TOO_LARGE, ERROR),), says="32,767"),
    "formula_like.csv": Case(((1, 2, "FirstName", C.FORMULA_LIKE, WARNING),), records=1),
    "value_without_header.csv": Case(
        ((0, 1, None, C.BLANK_HEADER, WARNING), (2, 3, None, C.VALUE_WITHOUT_HEADER, ERROR)),
        records=1,
    ),
    "unknown_column.csv": Case(((0, 1, "Chapter", C.UNKNOWN_COLUMN, WARNING),), records=1),
    # -- rows -----------------------------------------------------------------------------
    "too_few_fields.csv": Case(((2, 3, None, C.TOO_FEW_FIELDS, ERROR),), records=1),
    "too_many_fields.csv": Case(((1, 2, None, C.TOO_MANY_FIELDS, ERROR),), says="quoted"),
    "bad_quoting.csv": Case(((2, 3, None, C.BAD_QUOTING, ERROR),), records=2),
    "unclosed_quote.csv": Case(((2, 3, None, C.UNCLOSED_QUOTE, ERROR),), records=1),
    "record_vs_line.csv": Case(((2, 4, "EmailAddress", C.INVALID_EMAIL, ERROR),), records=1),
    "error_after_newline_in_cell.csv": Case(((1, 3, "EmailAddress", C.INVALID_EMAIL, ERROR),)),
    "cr_only_lines.csv": Case(((3, 5, "EmailAddress", C.INVALID_EMAIL, ERROR),), records=2),
    "duplicate_key.csv": Case(
        ((3, 4, "LegacyContactKey", C.DUPLICATE_KEY, ERROR),), records=2, says="line 2"
    ),
    "duplicate_email_case.csv": Case(
        ((2, 3, "EmailAddress", C.DUPLICATE_EMAIL, ERROR),), records=1, says="line 2"
    ),
    # -- Marketing: the vendor skips and loads the rest -----------------------------------
    "marketing_duplicate_email.csv": Case(
        ((2, 3, "Email", C.DUPLICATE_EMAIL, SKIPPED),),
        records=1,
        template=MARKETING_ENTERPRISE,
        says="line 2",
    ),
    "marketing_invalid_email.csv": Case(
        ((1, 2, "Email", C.INVALID_EMAIL, SKIPPED),), records=1, template=MARKETING_ENTERPRISE
    ),
    "marketing_duplicate_member_id.csv": Case(
        ((2, 3, "MemberId", C.DUPLICATE_KEY, SKIPPED),),
        records=1,
        template=MARKETING_ENTERPRISE_BY_MEMBER_ID,
    ),
    "professional_ragged.txt": Case(
        ((1, 2, None, C.TOO_FEW_FIELDS, ERROR),), records=1, template=MARKETING_PROFESSIONAL
    ),
    # -- the header -----------------------------------------------------------------------
    "missing_column.csv": Case(
        ((0, 1, "CompanyName", C.MISSING_COLUMN, ERROR),), raises=(C.HEADER, 1)
    ),
    "misspelt_required_column.csv": Case(
        ((0, 1, "EmailAddress", C.MISSING_COLUMN, ERROR),),
        raises=(C.HEADER, 1),
        says="'EmailAdress'",
    ),
    "inexact_header_case.csv": Case(
        ((0, 1, "Emailaddress", C.INEXACT_HEADER, ERROR),),
        raises=(C.HEADER, 1),
        says="did you mean 'EmailAddress'?",
    ),
    "inexact_header_space.csv": Case(
        ((0, 1, "First Name", C.INEXACT_HEADER, ERROR),),
        raises=(C.HEADER, 1),
        says="did you mean 'FirstName'?",
    ),
    "duplicate_column.csv": Case(
        ((0, 1, "LastName", C.DUPLICATE_COLUMN, ERROR),), raises=(C.HEADER, 1), says="3 and 6"
    ),
    "professional_given_commas.txt": Case(
        ((0, 1, "Email", C.MISSING_COLUMN, ERROR),),
        raises=(C.HEADER, 1),
        template=MARKETING_PROFESSIONAL,
        says="tab-delimited",
    ),
    # -- the file -------------------------------------------------------------------------
    "empty.csv": Case(raises=(C.EMPTY_FILE, 1)),
    "bom_only.csv": Case(raises=(C.EMPTY_FILE, 1)),
    "latin1.csv": Case(raises=(C.ENCODING, 3), records=1, says="CSV UTF-8"),
    "truncated_utf8.csv": Case(raises=(C.ENCODING, 3), records=1),
    "utf16_odd_bytes.csv": Case(raises=(C.ENCODING, 3), records=1, says="utf-16-le"),
    "utf16_without_bom.csv": Case(raises=(C.NUL_BYTE, 1), says="UTF-16"),
    # Excel's plain "CSV": Windows-1252, read only when the caller says so (or allows a guess).
    "cp1252_names.csv": Case(raises=(C.ENCODING, 3), records=1, says="encoding='cp1252'"),
    "cp1252_names.csv#cp1252": Case(records=2, options={"encoding": "cp1252"}),
    "cp1252_names.csv#auto": Case(
        ((0, 3, None, C.ENCODING_GUESSED, WARNING),),
        records=2,
        options={"encoding": "auto"},
        says="read as Windows-1252 (cp1252), a guess allowed by encoding='auto'; e.g. 'Zoë'",
    ),
    "cp1252_undefined_byte.csv": Case(
        raises=(C.ENCODING, 3), records=1, options={"encoding": "auto"}, says="neither"
    ),
    "mixed_utf8_cp1252.csv": Case(
        raises=(C.ENCODING, 4), records=2, options={"encoding": "auto"}, says="mixes encodings"
    ),
    "utf16le_without_bom_names.csv": Case(raises=(C.NUL_BYTE, 1), says="UTF-16"),
    "utf16le_without_bom_names.csv#utf-16": Case(records=2, options={"encoding": "utf-16"}),
    "utf16le_without_bom_names.csv#auto": Case(
        ((0, 3, None, C.ENCODING_GUESSED, WARNING),),
        records=2,
        options={"encoding": "auto"},
        says="read as UTF-16 LE",
    ),
    "nul_in_row.csv": Case(raises=(C.NUL_BYTE, 3), records=1),
    "workbook.csv": Case(raises=(C.WORKBOOK, 1), says="Save As"),
    "too_large.csv": Case(raises=(C.FILE_TOO_LARGE, 2), options={"max_file_size": 100}),
    # -- workbooks (.xlsx, written once by _xlsx.py): the same codes, with their cells ----
    # A formula cell gives the value Excel computed; a text that looks like one warns.
    "workbook_formula_cell.xlsx": Case(
        ((2, 3, "FirstName", C.FORMULA_LIKE, WARNING),),
        records=2,
        cells=("Members!B3",),
        says="'='",
    ),
    # Merged header cells F1:G1 leave G1 blank: a blank header, and a value under it.
    "workbook_merged_header.xlsx": Case(
        (
            (0, 1, "Notes", C.UNKNOWN_COLUMN, WARNING),
            (0, 1, None, C.BLANK_HEADER, WARNING),
            (1, 2, None, C.VALUE_WITHOUT_HEADER, ERROR),
        ),
        cells=("Members!F1", "Members!1:1", "Members!G2"),
    ),
    # A hidden sheet (a list of choices, say) is not asked about: the visible one is read.
    "workbook_hidden_sheet.xlsx": Case(
        ((2, 3, "LastName", C.MISSING_VALUE, ERROR),), records=1, cells=("Members!C3",)
    ),
    # A date typed as text is text: ambiguous without an order; a date cell needs none.
    "workbook_date_as_text.xlsx": Case(
        ((1, 2, "MemberSince", C.AMBIGUOUS_DATE, ERROR),),
        cells=("Members!F2",),
        says="DateOrder.DAY_FIRST",
    ),
    "workbook_date_as_text.xlsx#day_first": Case(records=1, options=DAY_FIRST),
}


def test_corpus_is_large_and_fully_described() -> None:
    """At least 30 distinct defects, and every file in corpus/ has its expectations here."""
    files = {p.name for p in CORPUS.iterdir()}
    assert files == {name.partition("#")[0] for name in CASES}
    assert len(CASES) >= 30


def _problem(error: RowError) -> Problem:
    return (error.record, error.line, error.column, error.code, error.severity)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file(name: str) -> None:
    """The file reports exactly its problems, where they are, and loads what it should."""
    case = CASES[name]
    # "file#variant": the same file read with other options.
    data = io.BytesIO((CORPUS / name.partition("#")[0]).read_bytes())
    items: list[object] = []
    error: SpreadsheetError | None = None
    try:
        items.extend(read(data, case.template, **case.options))
    except SpreadsheetError as exc:
        error = exc
    row_errors = [i for i in items if isinstance(i, RowError)]
    records = [i for i in items if isinstance(i, case.template.record_type)]
    messages: list[str] = [e.message for e in row_errors]
    if case.raises is None:
        assert error is None
    else:
        assert error is not None
        assert (error.code, error.line) == case.raises
        messages.append(error.message)
        if isinstance(error, HeaderError):
            row_errors = list(error.problems)
            messages = [p.message for p in error.problems]
    assert tuple(_problem(e) for e in row_errors) == case.problems
    if case.cells is not None:
        assert tuple(e.cell for e in row_errors) == case.cells
    elif name.endswith(".csv"):
        assert all(e.cell is None for e in row_errors)
    assert len(records) == case.records
    assert all(messages)
    if case.says:
        assert case.says in messages[0]


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("cp1252_names.csv", "cp1252"),
        ("cp1252_names.csv", "auto"),
        ("utf16le_without_bom_names.csv", "utf-16"),
        ("utf16le_without_bom_names.csv", "utf-16-le"),
        ("utf16le_without_bom_names.csv", "auto"),
    ],
)
def test_regional_files_read_their_names_unmangled(name: str, encoding: str) -> None:
    """Excel's plain CSV (Windows-1252) and UTF-16 LE without a BOM, read as told: the
    names come out as written, not as mojibake."""
    data = io.BytesIO((CORPUS / name).read_bytes())
    records = [
        i
        for i in read(data, COMMUNITY_UPLOAD_USERS, encoding=encoding)
        if not isinstance(i, RowError)
    ]
    assert [(r.first_name, r.last_name, r.company_name) for r in records] == [
        ("Ada", "Lovelace", "Analytical Engines"),
        ("Zoë", "Müller", "Café Société"),
    ]


def test_a_workbook_date_cell_needs_no_order_and_text_takes_one() -> None:
    """In the same row, a date cell is read as it is and a date typed as text by the order."""
    data = (CORPUS / "workbook_date_as_text.xlsx").read_bytes()
    records = [
        i
        for i in read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, date_order=DateOrder.DAY_FIRST)
        if not isinstance(i, RowError)
    ]
    assert [(r.member_since, r.birthday) for r in records] == [
        (dt.date(2015, 4, 3), dt.date(1990, 12, 10))
    ]
