"""frictionless, the reference implementation of Table Schema, with our exported schema.

The schema is valid by the spec, and frictionless flags the same cells of the example
files and of the bad-file corpus as our reader does, for every rule a Table Schema can
say: required values, types and formats (emails, ISO dates, yes/no), choices, patterns,
lengths, the key's uniqueness, and rows with too few or too many cells.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from frictionless import Resource, Schema, formats, validate

from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    MARKETING_PROFESSIONAL,
    ErrorCode,
    Template,
    read_all,
)

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
EXAMPLES = HERE.parent.parent / "examples" / "data"
C = ErrorCode

#: Our codes for the rules a Table Schema can say, and so frictionless checks.
EXPRESSIBLE = {
    C.MISSING_VALUE,
    C.INVALID_EMAIL,
    C.INVALID_DATE,
    C.AMBIGUOUS_DATE,
    C.INVALID_BOOLEAN,
    C.INVALID_CHOICE,
    C.INVALID_VALUE,
    C.VALUE_TOO_LONG,
    C.DUPLICATE_KEY,
    C.TOO_FEW_FIELDS,
    C.TOO_MANY_FIELDS,
}
#: frictionless's error types for the same rules (``primary-key`` repeats the key's
#: ``unique-error``).
CELL_ERRORS = {"constraint-error", "type-error", "unique-error"}
ROW_ERRORS = {"missing-cell", "extra-cell"}

#: (file, template, encoding): the example files, and every corpus file our reader reads
#: without options (the others are refused whole, or need an option a schema cannot say).
FILES: list[tuple[Path, Template[Any], str]] = [
    (EXAMPLES / "community-upload.csv", COMMUNITY_UPLOAD_USERS, "utf-8"),
    (EXAMPLES / "marketing-contacts.csv", MARKETING_ENTERPRISE, "utf-8"),
    *(
        (CORPUS / name, COMMUNITY_UPLOAD_USERS, "utf-8")
        for name in (
            "missing_value.csv",
            "blank_key.csv",
            "invalid_email.csv",
            "email_ip_literal.csv",
            "ambiguous_date.csv",
            "impossible_date.csv",
            "invalid_boolean.csv",
            "invalid_status.csv",
            "too_few_fields.csv",
            "duplicate_key.csv",
            "duplicate_email_case.csv",
            "record_vs_line.csv",
            "error_after_newline_in_cell.csv",
            "unknown_column.csv",
        )
    ),
    (CORPUS / "cp1252_names.csv", COMMUNITY_UPLOAD_USERS, "cp1252"),
    (CORPUS / "marketing_invalid_email.csv", MARKETING_ENTERPRISE, "utf-8"),
    (CORPUS / "marketing_duplicate_email.csv", MARKETING_ENTERPRISE, "utf-8"),
    (CORPUS / "marketing_duplicate_member_id.csv", MARKETING_ENTERPRISE_BY_MEMBER_ID, "utf-8"),
    (CORPUS / "professional_ragged.txt", MARKETING_PROFESSIONAL, "utf-8"),
]

Flag = tuple[int, str | None]


def frictionless_flags(path: Path, template: Template[Any], encoding: str) -> list[dict[str, Any]]:
    """What frictionless reports for ``path``, one dict per error."""
    resource = Resource(
        # frictionless reads relative paths only, under a base path it is given.
        path=path.name,
        basepath=str(path.parent),
        format="csv",
        encoding=encoding,
        control=formats.CsvControl(delimiter=template.delimiter),
        # The schema's fieldsMatch "partial" matches a file's columns by header.
        schema=Schema.from_descriptor(template.to_table_schema()),
    )
    report = validate(resource)
    assert not report.errors, f"the resource itself failed: {report.errors}"
    keys = ["type", "rowNumber", "fieldName", "note"]
    return [dict(zip(keys, row, strict=True)) for row in report.flatten(keys)]


@pytest.mark.parametrize(("template"), [
    COMMUNITY_UPLOAD_USERS,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    MARKETING_PROFESSIONAL,
])  # fmt: skip
def test_the_schema_is_valid_by_the_spec(template: Template[Any]) -> None:
    descriptor = template.to_table_schema()
    assert descriptor["title"] == template.name
    schema = Schema.from_descriptor(descriptor)  # raises on a descriptor the spec refuses
    assert Schema.validate_descriptor(descriptor).valid
    assert schema.name == descriptor["name"]


def test_the_name_is_the_spec_s() -> None:
    assert COMMUNITY_UPLOAD_USERS.to_table_schema()["name"] == "upload-users"


@pytest.mark.parametrize(("path", "template", "encoding"), FILES, ids=[f[0].name for f in FILES])
def test_frictionless_flags_the_cells_our_reader_flags(
    path: Path, template: Template[Any], encoding: str
) -> None:
    report = read_all(io.BytesIO(path.read_bytes()), template, encoding=encoding)
    ours: set[Flag] = set()
    our_duplicate_emails: set[Flag] = set()
    for problem in report.problems:
        if problem.code is C.DUPLICATE_EMAIL:
            our_duplicate_emails.add((problem.record, problem.column))
        elif problem.code in EXPRESSIBLE:
            ours.add((problem.record, problem.column))
    theirs: set[Flag] = set()
    their_duplicate_emails: set[Flag] = set()
    for error in frictionless_flags(path, template, encoding):
        kind = error["type"]
        assert error["rowNumber"] is not None, error  # no error of the file as a whole
        record = error["rowNumber"] - 1  # frictionless counts the header as row 1
        if kind in ROW_ERRORS:
            theirs.add((record, None))
        elif kind == "unique-error" and error["fieldName"] == template.email:
            their_duplicate_emails.add((record, error["fieldName"]))
        elif kind in CELL_ERRORS:
            theirs.add((record, error["fieldName"]))
        else:
            assert kind == "primary-key", error  # the key's unique-error, again
    # A row of the wrong length is one problem to our reader (its cells are not read);
    # frictionless also flags the required cells it misses: compare such rows as rows.
    whole = {record for record, column in ours | theirs if column is None}
    assert {f for f in theirs if f[0] not in whole} == {f for f in ours if f[0] not in whole}
    assert {r for r, c in theirs if c is None} == {r for r, c in ours if c is None}
    # Emails are unique ignoring case, which a Table Schema cannot say: frictionless
    # finds the duplicates spelt the same, a part of ours.
    assert their_duplicate_emails <= our_duplicate_emails


def test_what_the_schema_cannot_say_is_described() -> None:
    email = next(
        f for f in COMMUNITY_UPLOAD_USERS.to_table_schema()["fields"] if f["name"] == "EmailAddress"
    )
    assert "ignoring case" in email["description"]
    assert email["constraints"]["unique"] is True
