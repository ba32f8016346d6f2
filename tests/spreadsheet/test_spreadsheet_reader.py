"""Reading upload files: values, headers, encodings, numbering, summaries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import pickle
from collections.abc import Iterator

import pytest

from provisioning.exceptions import InvalidValueError, SpreadsheetError
from provisioning.records import Contact, RecordStatus, UserRecord
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_PROFESSIONAL,
    Column,
    ColumnType,
    DateOrder,
    ErrorCode,
    HeaderError,
    RowError,
    Severity,
    read,
    read_all,
)

HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName"
ADA = "1001,Ada,Lovelace,Ada@Example.COM,Analytical Engines"


def _file(*lines: str, newline: str = "\r\n") -> io.BytesIO:
    return io.BytesIO((newline.join(lines) + newline).encode("utf-8"))


def test_reads_a_record_with_every_optional_column() -> None:
    """Values are trimmed, typed and normalised; empty optional values are None."""
    header = HEADER + ",Title,MemberSince,Birthday,IsMember,Status,Phone1,Address2"
    row = ADA + ",  Analyst ,2015-12-10,,Yes,deactivated,,"
    report = read_all(_file(header, row), COMMUNITY_UPLOAD_USERS)
    assert report.problems == ()
    assert report.records == (
        UserRecord(
            legacy_contact_key="1001",
            first_name="Ada",
            last_name="Lovelace",
            email="Ada@example.com",
            company_name="Analytical Engines",
            title="Analyst",
            member_since=dt.date(2015, 12, 10),
            is_member=True,
            status=RecordStatus.DEACTIVATED,
        ),
    )


def test_columns_may_come_in_any_order_and_optional_ones_may_be_absent() -> None:
    """The vendor requires the headers, not their order (see the domain reference)."""
    data = _file(
        "CompanyName,EmailAddress,LastName,FirstName,LegacyContactKey",
        "Analytical Engines,ada@example.com,Lovelace,Ada,1001",
    )
    (record,) = read_all(data, COMMUNITY_UPLOAD_USERS).records
    assert (record.key, record.company_name, record.status) == (
        "1001",
        "Analytical Engines",
        RecordStatus.ENABLED,
    )


def test_summary_counts_every_outcome() -> None:
    """The summary ends the read: rows, valid, invalid, duplicates, warnings, blank."""
    data = _file(
        HEADER,
        ADA,
        ",,,,",
        "",
        "1002,Charles,Babbage,not-an-email,X",
        "1001,Augusta,King,augusta@example.com,X",
        "1003,=Mary,Somerville,mary@example.com,X",
    )
    reader = read(data, COMMUNITY_UPLOAD_USERS)
    assert not reader.summary.complete
    items = list(reader)
    summary = reader.summary
    assert (summary.rows, summary.valid, summary.invalid, summary.duplicates) == (6, 2, 2, 1)
    assert (summary.warnings, summary.blank, summary.lines, summary.complete) == (1, 2, 7, True)
    assert not summary.ok
    # Blank rows keep their record numbers: the last row is record 6.
    assert [i.record for i in items if isinstance(i, RowError)] == [4, 5, 6]


def test_problems_come_before_their_record_in_file_order() -> None:
    """A warning is yielded just before the record it belongs to."""
    data = _file(HEADER, "1,=Ada,L,a@example.com,X", "2,Bob,B,b@example.com,X")
    items = list(read(data, COMMUNITY_UPLOAD_USERS))
    assert [type(i).__name__ for i in items] == ["RowError", "UserRecord", "UserRecord"]


def test_unknown_columns_are_kept_in_custom_with_a_warning() -> None:
    """An unknown column is never dropped: its values go to custom, and it is reported."""
    reader = read(_file(HEADER + ",Chapter", ADA + ",London"), COMMUNITY_UPLOAD_USERS)
    warning, record = list(reader)
    assert isinstance(warning, RowError)
    assert (warning.code, warning.severity) == (ErrorCode.UNKNOWN_COLUMN, Severity.WARNING)
    assert isinstance(record, UserRecord)
    assert record.custom == {"Chapter": "London"}
    assert reader.extra_columns == ("Chapter",)


def test_template_custom_columns_are_read_into_custom() -> None:
    """A host's demographic columns land in custom without a warning."""
    template = COMMUNITY_UPLOAD_USERS.extend(
        Column(header="Chapter"),
        Column(header="Tier", kind=ColumnType.CHOICE, choices=("Gold", "Silver")),
    )
    report = read_all(_file(HEADER + ",Chapter,Tier", ADA + ", London ,gold"), template)
    assert report.problems == ()
    assert report.records[0].custom == {"Chapter": "London", "Tier": "Gold"}


def test_lenient_headers_accept_case_and_space_differences_with_a_warning() -> None:
    """lenient_headers=True reads 'email address' as EmailAddress, and says so."""
    header = "legacycontactkey, First Name ,LastName,email address,CompanyName"
    report = read_all(_file(header, ADA), COMMUNITY_UPLOAD_USERS, lenient_headers=True)
    assert len(report.records) == 1
    assert [(p.column, p.code, p.severity) for p in report.problems] == [
        ("legacycontactkey", ErrorCode.INEXACT_HEADER, Severity.WARNING),
        (" First Name ", ErrorCode.INEXACT_HEADER, Severity.WARNING),
        ("email address", ErrorCode.INEXACT_HEADER, Severity.WARNING),
    ]


def test_every_header_problem_is_reported_at_once() -> None:
    """A header error lists all its problems, not the first one only."""
    with pytest.raises(HeaderError) as caught:
        read(
            _file("legacycontactkey,FirstName,FirstName,EmailAddress", "x"), COMMUNITY_UPLOAD_USERS
        )
    codes = [(p.column, p.code) for p in caught.value.problems]
    assert codes == [
        ("legacycontactkey", ErrorCode.INEXACT_HEADER),
        ("FirstName", ErrorCode.DUPLICATE_COLUMN),
        ("LastName", ErrorCode.MISSING_COLUMN),
        ("CompanyName", ErrorCode.MISSING_COLUMN),
    ]
    assert caught.value.code == ErrorCode.HEADER
    assert "did you mean 'LegacyContactKey'?" in str(caught.value)


def test_header_error_pickles_with_its_problems() -> None:
    """HeaderError keeps its context through pickling, like every library error."""
    with pytest.raises(HeaderError) as caught:
        read(_file("FirstName", "x"), COMMUNITY_UPLOAD_USERS)
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own object
    assert (copy.code, copy.line, copy.problems) == (
        caught.value.code,
        caught.value.line,
        caught.value.problems,
    )


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"], ids=str
)
def test_utf8_and_utf16_with_a_bom(encoding: str) -> None:
    """UTF-8 with or without a BOM, and UTF-16 with a BOM (as Excel writes it), all read."""
    text = f"{HEADER}\r\n1001,Zoë,Müller,zoe@example.com,Société Générale\r\n"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = ("\ufeff" + text).encode(encoding)
    reader = read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
    (record,) = list(reader)
    assert isinstance(record, UserRecord)
    assert (record.first_name, record.company_name) == ("Zoë", "Société Générale")


def test_text_streams_and_an_excel_bom_in_them() -> None:
    """A text stream works too; a BOM left by encoding='utf-8' is not part of the header."""
    data = io.StringIO("\ufeff" + HEADER + "\r\n" + ADA + "\r\n", newline="")
    assert len(read_all(data, COMMUNITY_UPLOAD_USERS).records) == 1


def test_paths_and_contents_are_refused() -> None:
    """The codec takes streams: a str or bytes is refused with what to do instead."""
    for given in ("users.csv", b"LegacyContactKey"):
        with pytest.raises(InvalidValueError, match="open the file yourself") as caught:
            read(given, COMMUNITY_UPLOAD_USERS)  # type: ignore[arg-type]
        assert caught.value.field == "stream"


@pytest.fixture
def csv_default_limit() -> Iterator[int]:
    """The csv module's limit at its default (131,072): a library imported in the same
    process may have raised it (frictionless does, on import), and it is process-wide."""
    before = csv.field_size_limit(131_072)
    yield 131_072
    csv.field_size_limit(before)


@pytest.mark.usefixtures("csv_default_limit")
def test_field_limit_above_the_csv_modules_is_refused() -> None:
    """A field limit the csv module cannot honour is a clear error, not a silent cap."""
    with pytest.raises(InvalidValueError, match=r"csv\.field_size_limit"):
        read(_file(HEADER), COMMUNITY_UPLOAD_USERS, max_field_size=10**9)


@pytest.mark.usefixtures("csv_default_limit")
def test_a_field_over_the_csv_modules_own_limit_is_a_file_error() -> None:
    """A quoted value longer than csv's limit stops the read, naming where it starts."""
    data = _file(HEADER, ADA, '2,"' + "x" * 140_000 + '",L,b@example.com,X')
    with pytest.raises(SpreadsheetError) as caught:
        list(read(data, COMMUNITY_UPLOAD_USERS))
    assert (caught.value.code, caught.value.line) == (ErrorCode.FIELD_TOO_LARGE, 3)
    assert "never closed" in caught.value.message


def test_escaped_formula_values_are_read_back_without_the_escape() -> None:
    """A value our writer escaped ("'=x") reads as "=x", with no warning: it was safe."""
    report = read_all(_file(HEADER + ",Title", ADA + ",'=SUM(A1)"), COMMUNITY_UPLOAD_USERS)
    assert report.problems == ()
    assert report.records[0].title == "=SUM(A1)"


@pytest.mark.parametrize("value", ["=1+2", "+44 20 7946 0958", "-3", "@SUM(A1)", "\tx"])
def test_formula_like_values_warn_and_still_load(value: str) -> None:
    """A cell a spreadsheet would run is a warning on read; the value is kept."""
    row = f'{ADA},"{value}"'
    report = read_all(_file(HEADER + ",Phone1", row), COMMUNITY_UPLOAD_USERS)
    (warning,) = report.problems
    assert (warning.code, warning.severity, warning.value) == (
        ErrorCode.FORMULA_LIKE,
        Severity.WARNING,
        value,
    )
    assert report.records[0].phone1 == value.strip()


def test_dates_in_a_declared_order() -> None:
    """With date_order, d/m/yyyy and month names read; ISO reads regardless."""
    header = HEADER + ",MemberSince,MemberExpiresOn,Birthday"
    row = ADA + ",03/04/2015,2026-12-31,10 December 1815"
    (record,) = read_all(
        _file(header, row), COMMUNITY_UPLOAD_USERS, date_order=DateOrder.DAY_FIRST
    ).records
    assert (record.member_since, record.member_expires_on, record.birthday) == (
        dt.date(2015, 4, 3),
        dt.date(2026, 12, 31),
        dt.date(1815, 12, 10),
    )
    (us,) = read_all(
        _file(header, row), COMMUNITY_UPLOAD_USERS, date_order=DateOrder.MONTH_FIRST
    ).records
    assert us.member_since == dt.date(2015, 3, 4)


def test_every_problem_of_a_row_is_reported() -> None:
    """A row with three bad cells gets three errors, each naming its column."""
    row = "1001,Ada,,bad-email,X,maybe"
    report = read_all(_file(HEADER + ",IsMember", row), COMMUNITY_UPLOAD_USERS)
    assert [(p.column, p.code) for p in report.problems] == [
        ("LastName", ErrorCode.MISSING_VALUE),
        ("EmailAddress", ErrorCode.INVALID_EMAIL),
        ("IsMember", ErrorCode.INVALID_BOOLEAN),
    ]
    assert all(p.row == ("1001", "Ada", "", "bad-email", "X", "maybe") for p in report.problems)


def test_a_repeat_of_both_key_and_email_reports_both() -> None:
    """The second row repeats both: two errors, both naming line 2."""
    report = read_all(_file(HEADER, ADA, ADA), COMMUNITY_UPLOAD_USERS)
    assert [(p.code, p.line) for p in report.problems] == [
        (ErrorCode.DUPLICATE_KEY, 3),
        (ErrorCode.DUPLICATE_EMAIL, 3),
    ]
    assert all("line 2" in p.message for p in report.problems)
    assert report.summary.duplicates == 1


def test_keys_are_compared_exactly() -> None:
    """LegacyContactKey 'abc' and 'ABC' are different users (IdP ids may be case-sensitive)."""
    data = _file(HEADER, "abc,A,L,a@example.com,X", "ABC,B,L,b@example.com,X")
    assert len(read_all(data, COMMUNITY_UPLOAD_USERS).records) == 2


def test_tab_delimited_professional_file() -> None:
    """Marketing Professional files are tab-delimited; commas are plain text there."""
    data = _file("Email\tFirstName\tLastName", "ada@example.com\tAda, Countess\tLovelace")
    (contact,) = read_all(data, MARKETING_PROFESSIONAL).records
    assert contact == Contact(
        email="ada@example.com", first_name="Ada, Countess", last_name="Lovelace"
    )


def test_row_error_reads_well() -> None:
    """str(RowError) says where and why."""
    report = read_all(_file(HEADER, "1,A,L,nope,X"), COMMUNITY_UPLOAD_USERS)
    assert str(report.problems[0]) == (
        "line 2, column 'EmailAddress' (record 1): error invalid_email: 'nope' is not a valid "
        "email: expected name@domain.tld with an ASCII name and domain"
    )
    assert report.errors == report.problems
    assert report.warnings == ()
    assert not report.ok


def test_a_row_with_a_bad_cell_is_still_checked_for_repeats() -> None:
    """All problems of a row: a bad date and a repeated email are both reported."""
    data = _file(HEADER + ",Birthday", ADA + ",", "1002,Grace,Hopper,ADA@example.com,X,1815-02-30")
    report = read_all(data, COMMUNITY_UPLOAD_USERS)
    assert [(p.column, p.code) for p in report.problems] == [
        ("Birthday", ErrorCode.INVALID_DATE),
        ("EmailAddress", ErrorCode.DUPLICATE_EMAIL),
    ]
    assert (report.summary.invalid, report.summary.duplicates) == (1, 1)


def test_marketing_skips_are_counted_apart_from_errors() -> None:
    """A Marketing row skipped by the vendor rule is 'skipped', not 'invalid'."""
    from provisioning.spreadsheet import MARKETING_ENTERPRISE

    data = _file("Email,FirstName", "a@example.com,A", "A@example.com,B", "bad,C")
    reader = read(data, MARKETING_ENTERPRISE)
    list(reader)
    summary = reader.summary
    assert (summary.valid, summary.skipped, summary.invalid, summary.duplicates) == (1, 2, 0, 1)
    assert not summary.ok


def test_a_marketing_repeat_names_what_it_repeats() -> None:
    """A skipped repeat says the first row of each *email* (or member id) is loaded."""
    from provisioning.spreadsheet import MARKETING_ENTERPRISE, MARKETING_ENTERPRISE_BY_MEMBER_ID

    data = _file("Email,FirstName", "a@example.com,A", "A@example.com,B")
    repeat = read_all(data, MARKETING_ENTERPRISE).problems[0]
    assert repeat.message == (
        "skipped: Email 'A@example.com' (ignoring case) repeats line 2; "
        "Marketing loads only the first row of each Email"
    )
    data = _file("MemberId,Email", "M-1,a@example.com", "M-1,b@example.com")
    repeat = read_all(data, MARKETING_ENTERPRISE_BY_MEMBER_ID).problems[0]
    assert repeat.message == (
        "skipped: MemberId 'M-1' repeats line 2; Marketing loads only the first row of each "
        "MemberId"
    )


def test_unknown_column_values_are_kept_on_the_careful_path_too() -> None:
    """A row that needs the careful path keeps its unknown-column values as well."""
    data = _file(HEADER + ",Chapter", "1001,=Ada,Lovelace,ada@example.com,X,London")
    reader = read(data, COMMUNITY_UPLOAD_USERS)
    record = next(i for i in reader if isinstance(i, UserRecord))
    assert (record.first_name, dict(record.custom)) == ("=Ada", {"Chapter": "London"})
    assert reader.encoding == "utf-8"


def test_the_reader_is_its_own_iterator() -> None:
    """next(reader) works as well as a for loop."""
    reader = read(_file(HEADER, ADA), COMMUNITY_UPLOAD_USERS)
    assert isinstance(next(reader), UserRecord)
    with pytest.raises(StopIteration):
        next(reader)


def test_the_fast_path_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Date and email-domain caches are cleared when full: memory stays flat."""
    from provisioning.spreadsheet import _parse

    monkeypatch.setattr(_parse, "_DOMAINS_MAX", 2)
    monkeypatch.setattr(_parse, "_DOMAINS", {})
    monkeypatch.setattr(_parse, "DATE_CACHE_SIZE", 2)
    _parse.compile_builder.cache_clear()
    rows = [f"{n},A,B,u{n}@d{n}.example,X,0{n}/01/2000" for n in range(1, 6)]
    report = read_all(
        _file(HEADER + ",Birthday", *rows), COMMUNITY_UPLOAD_USERS, date_order=DateOrder.DAY_FIRST
    )
    _parse.compile_builder.cache_clear()
    assert [r.birthday for r in report.records] == [dt.date(2000, 1, n) for n in range(1, 6)]
    assert len(_parse._DOMAINS) <= 2


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-le", "utf-32-be"], ids=str)
def test_utf32_is_named_not_taken_for_utf16(encoding: str) -> None:
    """UTF-32 (whose little-endian BOM starts with UTF-16's) is refused as UTF-32, line 1."""
    data = f"{HEADER}\r\n{ADA}\r\n".encode(encoding)
    with pytest.raises(SpreadsheetError, match=r"^the file is UTF-32 \(") as caught:
        read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
    assert (caught.value.code, caught.value.line) == (ErrorCode.ENCODING, 1)
    assert "UTF-16" not in str(caught.value)
