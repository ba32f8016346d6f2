"""Writing files, blank templates and error reports; templates and their Table Schema."""

from __future__ import annotations

import datetime as dt
import io

import attrs
import pytest

from provisioning.exceptions import InvalidValueError
from provisioning.records import Contact, RecordStatus, SubscriptionStatus, UserRecord
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    ERROR_REPORT_COLUMNS,
    MARKETING_ENTERPRISE,
    MARKETING_PROFESSIONAL,
    Column,
    ColumnType,
    ErrorCode,
    Template,
    neutralise,
    read,
    read_all,
    write,
    write_error_report,
)

ADA = UserRecord(
    legacy_contact_key="1001",
    first_name="Ada",
    last_name="Lovelace",
    email="ada@example.com",
    company_name="Engines, Analytical",
    member_since=dt.date(2015, 12, 10),
    is_member=False,
    phone1="+44 20 7946 0958",
)


def _written(records: list[UserRecord], **kw: object) -> str:
    out = io.StringIO(newline="")
    write(records, out, COMMUNITY_UPLOAD_USERS, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def test_write_formats_values_for_the_template() -> None:
    """Dates ISO 8601, yes/no as true/false, choices as spelt, None empty, CRLF rows."""
    lines = _written([ADA]).split("\r\n")
    assert lines[0] == ",".join(COMMUNITY_UPLOAD_USERS.headers)
    assert lines[1] == (
        '1001,Ada,Lovelace,ada@example.com,"Engines, Analytical",,,,,,,2015-12-10,,,,,,,,,'
        "'+44 20 7946 0958,,,,false,Enabled"
    )
    assert lines[2] == ""


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+44 1", "'+44 1"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("''+x", "'''+x"),
        ("'quoted'", "'quoted'"),
        ("O'Brien", "O'Brien"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(value: str, written: str) -> None:
    """Formula triggers get one apostrophe (OWASP); so do apostrophes before a trigger."""
    assert neutralise(value) == written


def test_formula_safety_can_be_turned_off() -> None:
    """formula_safe=False writes values as they are, on request only."""
    assert "'+44" not in _written([ADA], formula_safe=False)
    assert ",+44 20 7946 0958," in _written([ADA], formula_safe=False)


def test_values_without_a_column_are_never_dropped() -> None:
    """A custom field or non-default value the template has no column for is an error."""
    with pytest.raises(InvalidValueError, match="custom fields \\['Chapter'\\]"):
        _written([attrs.evolve(ADA, custom={"Chapter": "London"})])
    opted_out = Contact(email="a@example.com", subscription=SubscriptionStatus.OPTED_OUT)
    with pytest.raises(InvalidValueError, match="no column for 'subscription'"):
        write([opted_out], io.StringIO(), MARKETING_ENTERPRISE)
    with pytest.raises(InvalidValueError, match="is a Contact"):
        write([opted_out], io.StringIO(), COMMUNITY_UPLOAD_USERS)  # type: ignore[misc]


def test_extra_columns_carry_custom_values() -> None:
    """extra_columns writes custom values a template does not name (e.g. read as unknown)."""
    record = attrs.evolve(ADA, custom={"Chapter": "London"})
    text = _written([record], extra_columns=["Chapter"])
    reader = read(io.StringIO(text, newline=""), COMMUNITY_UPLOAD_USERS)
    items = list(reader)
    assert reader.extra_columns == ("Chapter",)
    assert items[-1] == record


def test_write_blank_with_an_example_row() -> None:
    """A blank template: the header, and on request one example row people can copy."""
    out = io.StringIO(newline="")
    COMMUNITY_UPLOAD_USERS.write_blank(out, example=True)
    header, example, _ = out.getvalue().split("\r\n")
    assert header.split(",")[:5] == [
        "LegacyContactKey",
        "FirstName",
        "LastName",
        "EmailAddress",
        "CompanyName",
    ]
    assert example.startswith("1001,Ada,Lovelace,ada@example.com,Analytical Engines")
    # The example row is itself a valid upload.
    report = read_all(io.StringIO(out.getvalue(), newline=""), COMMUNITY_UPLOAD_USERS)
    assert report.problems == ()
    assert report.records[0].phone1 == "+44 20 7946 0958"


def test_write_blank_professional_is_tab_delimited() -> None:
    """The Professional template writes tab-delimited text."""
    out = io.StringIO(newline="")
    MARKETING_PROFESSIONAL.write_blank(out)
    assert out.getvalue() == "Email\tFirstName\tLastName\r\n"


def test_error_report_has_each_failed_row_once_as_it_came() -> None:
    """error_* columns first, then the row exactly as read; one line per failed row."""
    data = io.StringIO(
        "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,Phone1\r\n"
        "1,Ada,,bad,X,+1 555\r\n"
        "2,Bob,Smith,bob@example.com,X,\r\n"
        "3,=cmd(),Jones,c@example.com,X,\r\n"
        "4,Dan,Day,bob@EXAMPLE.com,X\r\n",
        newline="",
    )
    reader = read(data, COMMUNITY_UPLOAD_USERS)
    out = io.StringIO(newline="")
    assert write_error_report(reader, out, COMMUNITY_UPLOAD_USERS) == 2
    lines = out.getvalue().split("\r\n")
    assert lines[0] == ",".join(
        [
            *ERROR_REPORT_COLUMNS,
            *COMMUNITY_UPLOAD_USERS.required_headers,
            "Phone1",
        ]
    )
    assert lines[1] == (
        "2,LastName; EmailAddress,missing_value; invalid_email,LastName is required and may "
        "not be empty; 'bad' is not a valid email: expected name@domain.tld with an ASCII "
        "name and domain,1,Ada,,bad,X,'+1 555"
    )
    assert (
        lines[2]
        == "5,,too_few_fields,the row has 5 fields but the header has 6,4,Dan,Day,bob@EXAMPLE.com,X"
    )
    assert lines[3] == ""


def test_error_report_can_include_warnings() -> None:
    """include_warnings adds rows that loaded with warnings; formula values stay escaped."""
    data = io.StringIO(
        "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\r\n"
        "3,=cmd(),Jones,c@example.com,X\r\n",
        newline="",
    )
    problems = read_all(data, COMMUNITY_UPLOAD_USERS).problems
    out = io.StringIO(newline="")
    assert write_error_report(problems, out, COMMUNITY_UPLOAD_USERS) == 0
    assert write_error_report(problems, out, COMMUNITY_UPLOAD_USERS, include_warnings=True) == 1
    assert "'=cmd()" in out.getvalue()
    assert ErrorCode.FORMULA_LIKE in out.getvalue()


def test_templates_check_themselves() -> None:
    """A template that could not work is refused, every problem named."""
    with pytest.raises(InvalidValueError) as caught:
        Template(
            name="broken",
            record_type=UserRecord,
            key="Id",
            email="EmailAddress",
            delimiter='"',
            columns=(
                Column(header="EmailAddress", field="email"),
                Column(header="EmailAddress", field="nope"),
                Column(header="When", kind=ColumnType.DATE),
            ),
        )
    message = str(caught.value)
    for part in (
        "column 'EmailAddress' appears twice",
        "'nope', which is not a field of UserRecord",
        "custom column 'When' must be TEXT or CHOICE",
        "no column maps to the required field 'legacy_contact_key'",
        "column 'EmailAddress' must be required",
        "the key column 'Id' is not one of the columns",
        "delimiter must be one character",
    ):
        assert part in message


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"header": " Name"}, "surrounding spaces"),
        ({"header": "A", "kind": ColumnType.CHOICE}, "without choices"),
        ({"header": "A", "pattern": "("}, "invalid pattern"),
    ],
)
def test_columns_check_themselves(kwargs: dict[str, object], says: str) -> None:
    """A column that could never match is refused at once."""
    with pytest.raises(InvalidValueError, match=says):
        Column(**kwargs)  # type: ignore[arg-type]


def test_a_custom_column_pattern_is_enforced() -> None:
    """A host column with a pattern reports values that do not match it."""
    template = COMMUNITY_UPLOAD_USERS.extend(Column(header="Chapter", pattern=r"[A-Z]{3}"))
    data = io.StringIO(
        "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,Chapter\r\n"
        "1,Ada,L,a@example.com,X,LON\r\n2,Bob,L,b@example.com,X,London\r\n",
        newline="",
    )
    report = read_all(data, template)
    assert [r.custom for r in report.records] == [{"Chapter": "LON"}]
    assert [(p.column, p.code) for p in report.problems] == [("Chapter", ErrorCode.INVALID_VALUE)]


def test_vendor_required_headers_are_exact() -> None:
    """The Community template requires exactly the vendor's five headers (the domain reference)."""
    assert COMMUNITY_UPLOAD_USERS.required_headers == (
        "LegacyContactKey",
        "FirstName",
        "LastName",
        "EmailAddress",
        "CompanyName",
    )
    assert {c.source for c in COMMUNITY_UPLOAD_USERS.columns if c.required} == {"vendor"}
    assert {c.source for c in COMMUNITY_UPLOAD_USERS.columns if not c.required} == {"ours"}
    assert COMMUNITY_UPLOAD_USERS.column("Status").choice_values == tuple(
        s.value
        for s in RecordStatus
        if s is not RecordStatus.DELETED  # no file sets it
    )
    with pytest.raises(KeyError):
        COMMUNITY_UPLOAD_USERS.column("Nope")


def test_table_schema() -> None:
    """to_table_schema() describes the file for Frictionless tools."""
    schema = COMMUNITY_UPLOAD_USERS.to_table_schema()
    assert schema["primaryKey"] == ["LegacyContactKey"]
    assert schema["missingValues"] == [""]
    fields = {f["name"]: f for f in schema["fields"]}
    assert list(fields) == list(COMMUNITY_UPLOAD_USERS.headers)
    assert schema["name"] == "upload-users"
    assert schema["title"] == "Upload Users"
    assert schema["fieldsMatch"] == "partial"
    assert fields["LegacyContactKey"]["constraints"] == {
        "required": True,
        "unique": True,
        "maxLength": 255,
        "pattern": r"[\s\S]*\S[\s\S]*",
    }
    assert fields["EmailAddress"]["format"] == "email"
    assert fields["MemberSince"]["type"] == "date"
    assert "true" in fields["IsMember"]["trueValues"]
    assert "No" in fields["IsMember"]["falseValues"]
    enum = fields["Status"]["constraints"]["enum"]
    assert {e.lower() for e in enum} == {
        s.value.lower() for s in RecordStatus if s is not RecordStatus.DELETED
    }
    assert {"Enabled", "enabled", "ENABLED"} <= set(enum)
    assert "constraints" not in fields["Title"]
    assert MARKETING_PROFESSIONAL.to_table_schema()["x-delimiter"] == "\t"


def _chapter_code(text: str) -> str:
    if len(text) > 3:
        raise ValueError("a chapter code has at most three letters")
    return text.upper()


def test_a_custom_column_normaliser_runs_on_read() -> None:
    """A host's normaliser shapes values, and its ValueError is an invalid_value error."""
    template = COMMUNITY_UPLOAD_USERS.extend(Column(header="Chapter", normalise=_chapter_code))
    data = io.StringIO(
        "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,Chapter\r\n"
        "1,Ada,L,a@example.com,X, lon \r\n2,Bob,L,b@example.com,X,London\r\n"
        "3,Cy,L,c@example.com,X,\r\n",
        newline="",
    )
    report = read_all(data, template)
    assert [dict(r.custom) for r in report.records] == [{"Chapter": "LON"}, {}]
    assert [(p.record, p.column, p.code) for p in report.problems] == [
        (2, "Chapter", ErrorCode.INVALID_VALUE)
    ]
    assert "at most three letters" in report.problems[0].message


def test_templates_differing_only_in_a_normaliser_are_not_confused() -> None:
    """Each template gets its own fast path, even when only a normaliser differs."""
    upper = COMMUNITY_UPLOAD_USERS.extend(Column(header="Chapter", normalise=str.upper))
    lower = COMMUNITY_UPLOAD_USERS.extend(Column(header="Chapter", normalise=str.lower))
    text = (
        "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,Chapter\r\n"
        "1,Ada,L,a@example.com,X,Lon\r\n"
    )
    for template, expected in ((upper, "LON"), (lower, "lon")):
        (record,) = read_all(io.StringIO(text, newline=""), template).records
        assert record.custom == {"Chapter": expected}
