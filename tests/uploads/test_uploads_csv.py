"""The whole flow: a CSV file through spreadsheet.read into plan_upload, then apply."""

from __future__ import annotations

import hashlib
import io

import attrs
import pytest
from _upload_helpers import DEACTIVATED, NOW, TENANT, plan, store, update_keys, user, users

import provisioning as pv
from provisioning.adapters import SqliteRepository
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, ErrorCode, RowError, read, write

HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,Title,Status\r\n"
REQUIRED = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\r\n"


def csv_of(*lines: str, header: str = HEADER) -> bytes:
    """An upload file: the header, then each line."""
    return (header + "".join(f"{line}\r\n" for line in lines)).encode("utf-8")


def _reader(data: bytes) -> pv.spreadsheet.Reader[pv.UserRecord]:
    return read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)


def test_a_csv_file_is_read_planned_and_applied() -> None:
    """UPLOAD_CSV_ONLY: the file the template describes becomes the plan, then the store."""
    data = csv_of(
        "1,First1,Last,user1@example.com,Acme,,",
        "2,First2,Last,user2@example.com,Acme,Dr,",
        "3,First3,Last,user3@example.com,Acme,,Deactivated",
        "4,First4,Last,user4@example.com,Acme,,Enabled",
        "5,Ada,Lovelace,ada@example.com,Analytical Engines,,",
    )
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with SqliteRepository(":memory:") as repo:
        store([*users("1", "2", "3"), user("4", status=DEACTIVATED)], repo)
        p = plan(_reader(data), repo, file_digest=digest, overrides="mass_deactivation")
        assert p.counts == pv.UploadCounts(
            rows=5, created=1, updated=1, unchanged=1, deactivated=1, reactivated=1
        )
        assert p.creates == (
            pv.UserRecord(
                legacy_contact_key="5",
                first_name="Ada",
                last_name="Lovelace",
                email="ada@example.com",
                company_name="Analytical Engines",
            ),
        )
        assert [str(c) for u in p.updates for c in u.changes] == ["title: None -> 'Dr'"]
        receipt = pv.apply_plan(p, repo, now=NOW)
        assert repo.uploads(TENANT.id)[-1].file_digest == digest
        assert receipt.revision == 2
        again = plan(_reader(data), repo)
        assert again.counts == pv.UploadCounts(rows=5, unchanged=5)


def test_a_written_file_plans_the_same_as_its_records() -> None:
    """spreadsheet.write then read: the plan of the file is the plan of the records."""
    stored = [*users("1", "2", "3"), user("4", status=DEACTIVATED)]
    rows = [
        user("1", title="Dr", city="Zürich"),
        user("2"),
        user("4"),
        user("9", "Nine@Example.com"),
    ]
    buffer = io.StringIO(newline="")
    write(rows, buffer, COMMUNITY_UPLOAD_USERS)
    from_file = plan(_reader(buffer.getvalue().encode("utf-8")), store(stored))
    # The file has every template column; only the custom values, which it has no
    # column for, keep their stored (empty) values.
    assert from_file.kept_fields == ("custom",)
    assert attrs.evolve(from_file, kept_fields=()) == plan(rows, store(stored))
    assert update_keys(from_file.deactivations) == ["3"]


def test_a_stored_record_whose_row_has_errors_is_not_deactivated() -> None:
    """SAFEGUARD_ROW_ERRORS: applying the valid rows only never deactivates a row in error."""
    data = csv_of(
        "1,First1,Last,user1@example.com,Acme,,",
        "2,First2,Last,not-an-email,Acme,,",  # user 2's row, with a typo
        "3,First3,Last,user3@example.com,Acme,,",
        "4,First4,Last,user4@example.com,Acme,,",
    )
    repo = store(users("1", "2", "3", "4", "5"))
    p = plan(_reader(data), repo, overrides="row_errors")
    assert [e.code for e in p.row_errors] == [ErrorCode.INVALID_EMAIL]
    assert p.unreadable == ("2",)
    assert update_keys(p.deactivations) == ["5"]
    assert p.summary().splitlines()[-3:-1] == [
        (
            "  [warning] SAFEGUARD_ROW_ERRORS: 1 row problem(s) in the file; apply the valid "
            "rows only by overriding 'row_errors' (overridden)"
        ),
        "  1 stored record(s) whose rows have errors are left as they are",
    ]
    pv.apply_plan(p, repo, now=NOW)
    assert repo.get(TENANT.id, "2") == user("2")


def test_the_key_of_a_row_in_error_is_found_wherever_its_column_is() -> None:
    """SAFEGUARD_ROW_ERRORS: the key column is found by its header, not its position."""
    header = "EmailAddress,FirstName,LastName,CompanyName,LegacyContactKey\r\n"
    data = csv_of(
        "user1@example.com,First1,Last,Acme,1",
        "user2@example.com,,Last,Acme,2",  # a missing first name
        header=header,
    )
    p = plan(_reader(data), store(users("1", "2")), overrides="row_errors")
    assert [e.code for e in p.row_errors] == [ErrorCode.MISSING_VALUE]
    assert p.unreadable == ("2",)
    assert p.deactivations == ()


def test_a_new_key_in_a_row_in_error_is_not_listed() -> None:
    """SAFEGUARD_ROW_ERRORS: only stored records are left as they are; a new row is just out."""
    data = csv_of("1,First1,Last,user1@example.com,Acme,,", "9,First9,Last,bad,Acme,,")
    p = plan(_reader(data), store(users("1")), overrides="row_errors")
    assert p.unreadable == ()
    assert p.creates == ()


def test_rows_in_error_from_a_plain_iterable_spare_their_records_too() -> None:
    """SAFEGUARD_ROW_ERRORS: without the reader too, the pieces of a row in error spare its key."""
    error = RowError(
        record=2,
        line=3,
        column="EmailAddress",
        code=ErrorCode.INVALID_EMAIL,
        message="bad",
        value="bad",
        row=("2", "First2", "Last", "bad", "Acme"),
    )
    p = plan([user("1"), error], store(users("1", "2", "3", "4", "5")), overrides="row_errors")
    assert p.unreadable == ("2",)
    assert update_keys(p.deactivations) == ["3", "4", "5"]


def test_a_repeated_key_in_a_file_is_a_row_error_and_its_record_stays() -> None:
    """duplicate_key: the reader reports the repeat; the first row is planned."""
    data = csv_of(
        "1,First1,Last,user1@example.com,Acme,Dr,",
        "1,First1,Last,other@example.com,Acme,Prof,",
        "2,First2,Last,user2@example.com,Acme,,",
    )
    p = plan(_reader(data), store(users("1", "2")))
    assert [e.code for e in p.row_errors] == [ErrorCode.DUPLICATE_KEY]
    assert p.held_by == {pv.Safeguard.ROW_ERRORS}
    assert [str(c) for u in p.updates for c in u.changes] == ["title: None -> 'Dr'"]
    assert p.counts.rows == 3


def test_a_file_whose_header_breaks_the_template_is_refused_before_planning() -> None:
    """UPLOAD_CSV_ONLY: a header error is raised by the reader; nothing is planned."""
    with pytest.raises(pv.spreadsheet.HeaderError):
        _reader(b"Key,First\r\n1,Ada\r\n")


def test_a_file_without_a_status_column_keeps_every_stored_status() -> None:
    """DEACTIVATE_NOT_DELETE: a file with no Status column reactivates and approves nobody."""
    stored = [user("1", status=DEACTIVATED), user("2", status="Pending Approval"), user("3")]
    data = csv_of(
        "1,First1,Last,user1@example.com,Acme",
        "2,First2,Last,user2@example.com,Acme",
        "3,First3,Last,user3@example.com,Acme",
        header=REQUIRED,
    )
    p = plan(_reader(data), store(stored))
    assert (p.counts.unchanged, p.counts.reactivated, p.counts.updated) == (3, 0, 0)
    assert "status" in p.kept_fields


def test_a_column_left_out_keeps_the_stored_values() -> None:
    """A trimmed template clears nothing: a field with no column keeps its stored value."""
    repo = store([user("1", city="London", title="Dr")])
    p = plan(_reader(csv_of("1,First1,Last,user1@example.com,Acme", header=REQUIRED)), repo)
    assert p.counts.unchanged == 1
    assert repo.get(TENANT.id, "1") == user("1", city="London", title="Dr")


def test_a_badly_quoted_row_spares_its_record_in_a_full_import() -> None:
    """SAFEGUARD_ROW_ERRORS: a row the reader cannot split still names its key."""
    data = csv_of(
        "1,First1,Last,user1@example.com,Acme,,",
        '2,"First2"x,Last,user2@example.com,Acme,,',
        "3,First3,Last,user3@example.com,Acme,,",
    )
    p = plan(_reader(data), store(users("1", "2", "3")), overrides="row_errors")
    assert p.unreadable == ("2",)
    assert p.deactivations == ()


def test_an_extra_column_makes_the_custom_values_the_files() -> None:
    """A column the template does not know is custom data: the file's values replace them."""
    data = csv_of(
        "1,First1,Last,user1@example.com,Acme,North", header=REQUIRED[:-2] + ",Chapter\r\n"
    )
    p = plan(_reader(data), store([user("1", custom={"Tier": "Gold"})]))
    assert "custom" not in p.kept_fields
    (change,) = p.updates
    assert change.new.custom == {"Chapter": "North"}
