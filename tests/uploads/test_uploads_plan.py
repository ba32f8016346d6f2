"""What a plan holds: creates, field-level updates, unchanged rows, deactivations, conflicts."""

from __future__ import annotations

import datetime as dt

import pytest
from _upload_helpers import (
    ADMIN,
    AS_OF,
    DEACTIVATED,
    ENABLED,
    NOW,
    TENANT,
    keys,
    plan,
    snapshot,
    store,
    update_keys,
    user,
    users,
)

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.repository import Repository
from provisioning.spreadsheet import ErrorCode, RowError

PENDING = pv.RecordStatus.PENDING_APPROVAL


def no_changes(p: pv.UploadPlan) -> bool:
    """Whether the plan changes nothing at all."""
    return not (p.creates or p.updates or p.deactivations or p.reactivations)


# -- creates, updates, unchanged ---------------------------------------------------------


def test_new_keys_are_created_as_the_file_has_them() -> None:
    """UPLOAD_SINGLE_SOURCE: a row whose key is not stored creates that exact record."""
    rows = [user("1", title="Dr"), user("2", city="Lyon")]
    p = plan(rows, MemoryRepository())
    assert p.creates == tuple(rows)
    assert (p.updates, p.unchanged, p.deactivations, p.reactivations) == ((), (), (), ())
    assert p.revision == 0
    assert p.applicable


def test_changed_rows_are_updates_with_each_field_old_and_new() -> None:
    """UPLOAD_SINGLE_SOURCE: an update lists every changed field, in field order."""
    old = user("1", city="Paris", member_since=dt.date(2020, 1, 1))
    new = user("1", title="Dr", city="Lyon", member_since=dt.date(2020, 1, 1), is_member=True)
    p = plan([new], store([old]))
    (update,) = p.updates
    assert (update.key, update.old, update.new) == ("1", old, new)
    assert update.changes == (
        pv.FieldChange("title", None, "Dr"),
        pv.FieldChange("city", "Paris", "Lyon"),
        pv.FieldChange("is_member", None, True),
    )
    assert [str(c) for c in update.changes] == [
        "title: None -> 'Dr'",
        "city: 'Paris' -> 'Lyon'",
        "is_member: None -> True",
    ]


def test_field_changes_print_plain_values() -> None:
    """A change prints text quoted, a status by name, a date in ISO 8601, custom as a dict."""
    old = user("1", member_since=dt.date(2020, 1, 2), custom={"Chapter": "North"})
    new = user("1", status=DEACTIVATED, is_member=False)
    (update,) = plan([new], store([old]), mode="partial").deactivations
    assert [str(c) for c in update.changes] == [
        "member_since: 2020-01-02 -> None",
        "is_member: None -> False",
        "status: 'Enabled' -> 'Deactivated'",
        "custom: {'Chapter': 'North'} -> {}",
    ]


def test_an_omitted_optional_value_is_cleared() -> None:
    """UPLOAD_SINGLE_SOURCE: the file carries the whole record; a blank field is cleared."""
    p = plan([user("1")], store([user("1", title="Dr", custom={"Chapter": "North"})]))
    (update,) = p.updates
    assert update.changes == (
        pv.FieldChange("title", "Dr", None),
        pv.FieldChange("custom", pv.CustomFields({"Chapter": "North"}), pv.CustomFields()),
    )


def test_identical_rows_are_unchanged() -> None:
    """UPLOAD_SINGLE_SOURCE: a row equal to its stored record changes nothing."""
    p = plan(users("1", "2"), store(users("1", "2")))
    assert p.unchanged == ("1", "2")
    assert no_changes(p)


def test_an_email_changing_only_in_case_is_an_update_not_a_conflict() -> None:
    """UPLOAD_IDENTITY_CONFLICT: a record keeps its own email whatever its case."""
    p = plan([user("1", "User1@example.com")], store(users("1")))
    assert [u.changes for u in p.updates] == [
        (pv.FieldChange("email", "user1@example.com", "User1@example.com"),)
    ]
    assert p.conflicts == ()


# -- deactivations and reactivations -----------------------------------------------------


def test_full_import_deactivates_stored_enabled_records_missing_from_the_file() -> None:
    """DEACTIVATE_NOT_DELETE: a full import deactivates the missing records, never deletes."""
    stored = [*users("1", "2", "3", "4", "5", "6"), user("7", status=DEACTIVATED)]
    stored.append(user("8", status=PENDING))
    p = plan(users("1", "2", "3", "4", "5"), store(stored))
    (gone,) = p.deactivations
    assert (gone.key, gone.old) == ("6", stored[5])
    assert gone.new == user("6", status=DEACTIVATED)
    assert gone.changes == (pv.FieldChange("status", ENABLED, DEACTIVATED),)
    repo = store(stored)
    pv.apply_plan(plan(users("1", "2", "3", "4", "5"), repo), repo, now=NOW)
    assert repo.count(TENANT.id) == 8
    assert repo.get(TENANT.id, "6") == user("6", status=DEACTIVATED)
    assert repo.get(TENANT.id, "7") == stored[6]
    assert repo.get(TENANT.id, "8") == stored[7]


def test_partial_import_never_deactivates_missing_records() -> None:
    """UploadMode.PARTIAL: a partial import adds or replaces only the rows it has."""
    p = plan(users("1"), store(users("1", "2", "3")), mode="partial")
    assert p.mode is pv.UploadMode.PARTIAL
    assert p.deactivations == ()
    assert p.unchanged == ("1",)
    assert p.tripped == frozenset()


def test_a_status_column_deactivates_in_either_mode() -> None:
    """DEACTIVATE_NOT_DELETE: a row saying Deactivated deactivates its record, even partial."""
    stored = users("1", "2", "3", "4", "5", "6")
    stored.append(user("7", status=PENDING))
    for mode in ("full", "partial"):
        rows = [*users("2", "3", "4", "5", "6"), user("1", status=DEACTIVATED)]
        rows.append(user("7", status=DEACTIVATED))
        p = plan(rows, store(stored), mode=mode)
        assert update_keys(p.deactivations) == ["1", "7"]
        assert [u.changes for u in p.deactivations] == [
            (pv.FieldChange("status", ENABLED, DEACTIVATED),),
            (pv.FieldChange("status", PENDING, DEACTIVATED),),
        ]
        assert p.updates == ()


def test_a_deactivated_record_listed_as_enabled_is_reactivated() -> None:
    """DEACTIVATE_NOT_DELETE: deactivation is reversible; the file reactivates the record."""
    old = user("1", status=DEACTIVATED)
    p = plan([user("1", title="Dr")], store([old]))
    (back,) = p.reactivations
    assert back.changes == (
        pv.FieldChange("title", None, "Dr"),
        pv.FieldChange("status", DEACTIVATED, ENABLED),
    )
    assert p.updates == p.deactivations == ()


def test_a_deactivated_record_staying_deactivated_is_an_update() -> None:
    """DEACTIVATE_NOT_DELETE: a changed field of a deactivated record is a plain update."""
    p = plan([user("1", status=DEACTIVATED, title="Dr")], store([user("1", status=DEACTIVATED)]))
    assert update_keys(p.updates) == ["1"]
    assert p.deactivations == p.reactivations == ()


def test_a_pending_record_set_to_enabled_is_an_update_not_a_reactivation() -> None:
    """DEACTIVATE_NOT_DELETE: only a deactivated record is reactivated."""
    p = plan([user("1")], store([user("1", status=PENDING)]))
    assert [u.changes for u in p.updates] == [(pv.FieldChange("status", PENDING, ENABLED),)]
    assert p.reactivations == ()


# -- conflicts ---------------------------------------------------------------------------


def test_a_row_taking_a_stored_email_of_another_key_is_a_conflict() -> None:
    """UPLOAD_IDENTITY_CONFLICT: reported with the owner's key, never merged or taken over."""
    row = user("9", "USER1@example.com")
    p = plan([*users("1", "2"), row], store(users("1", "2")))
    assert p.conflicts == (
        pv.Conflict(
            row,
            "1",
            "email 'USER1@example.com' belongs to the stored record '1'; the row is not "
            "applied (no merge, no takeover)",
            "identity_conflict",
        ),
    )
    assert p.conflicts[0].key == "9"
    assert p.creates == ()
    assert p.tripped == {pv.Safeguard.IDENTITY_CONFLICT}


def test_an_update_taking_another_records_email_is_a_conflict_and_not_deactivated() -> None:
    """UPLOAD_IDENTITY_CONFLICT: the conflicting row's record stays as it is, even in full."""
    stored = users("1", "2", "3", "4", "5")
    rows = [user("1", "user2@example.com"), *users("2", "3", "4", "5")]
    p = plan(rows, store(stored))
    assert [(c.key, c.owner_key) for c in p.conflicts] == [("1", "2")]
    assert no_changes(p)
    assert p.unchanged == ("2", "3", "4", "5")


def test_two_keys_swapping_emails_in_one_file_is_not_a_conflict() -> None:
    """UPLOAD_IDENTITY_CONFLICT: an email the file moves away is free to take."""
    rows = [user("1", "user2@example.com"), user("2", "user1@example.com")]
    p = plan(rows, store(users("1", "2")))
    assert p.conflicts == ()
    assert update_keys(p.updates) == ["1", "2"]
    assert p.applicable


def test_three_keys_rotating_emails_is_not_a_conflict() -> None:
    """UPLOAD_IDENTITY_CONFLICT: a rotation frees each email it takes."""
    rows = [
        user("1", "user2@example.com"),
        user("2", "user3@example.com"),
        user("3", "user1@example.com"),
    ]
    p = plan(rows, store(users("1", "2", "3")))
    assert p.conflicts == ()
    assert len(p.updates) == 3


def test_a_new_row_may_take_an_email_its_owner_gives_up() -> None:
    """UPLOAD_IDENTITY_CONFLICT: the owner moves to another email in the same file."""
    rows = [user("1", "new1@example.com"), user("9", "user1@example.com")]
    p = plan(rows, store(users("1")))
    assert p.conflicts == ()
    assert keys(p.creates) == ["9"]
    assert update_keys(p.updates) == ["1"]


def test_a_conflict_cascades_to_the_row_that_needed_its_email() -> None:
    """UPLOAD_IDENTITY_CONFLICT: a dropped move keeps its old email taken, so the taker fails."""
    rows = [
        user("1", "user2@example.com"),  # takes 2's email, and 2 stays: conflict
        user("2"),
        user("9", "user1@example.com"),  # needed 1 to move away: conflict in turn
        user("8", "user9@example.com"),  # nothing to do with it: created
    ]
    p = plan(rows, store(users("1", "2")))
    assert [(c.key, c.owner_key) for c in p.conflicts] == [("1", "2"), ("9", "1")]
    assert keys(p.creates) == ["8"]
    assert p.unchanged == ("2",)
    assert p.updates == ()


def test_a_deactivated_owner_keeps_its_email() -> None:
    """UPLOAD_IDENTITY_CONFLICT: a deactivated record still owns its email."""
    stored = [user("1", status=DEACTIVATED), *users("2", "3", "4", "5")]
    p = plan([user("9", "user1@example.com")], store(stored), mode="partial")
    assert [(c.key, c.owner_key) for c in p.conflicts] == [("9", "1")]


def test_two_rows_claiming_one_new_email_conflict_with_each_other() -> None:
    """UPLOAD_IDENTITY_CONFLICT: one email, one record; the second claimant is reported."""
    rows = [user("8", "same@example.com"), user("9", "Same@example.com")]
    p = plan(rows, MemoryRepository())
    assert keys(p.creates) == ["8"]
    assert p.conflicts == (
        pv.Conflict(
            rows[1],
            "8",
            "email 'Same@example.com' is also claimed by '8' in this file",
            "identity_conflict",
        ),
    )


@pytest.mark.parametrize("stored_count", [2, 100], ids=["index", "asked"])
def test_conflicts_are_the_same_whether_owners_are_indexed_or_asked(stored_count: int) -> None:
    """UPLOAD_IDENTITY_CONFLICT: few claims ask the store; many use an index; same answer."""
    stored = [user(str(n)) for n in range(stored_count)]
    rows = [user("new", "USER1@example.com"), user("0", "user1@example.com")]
    p = plan(rows, store(stored), mode="partial")
    assert [(c.key, c.owner_key) for c in p.conflicts] == [("new", "1"), ("0", "1")]


def test_a_repeated_key_is_reported_and_its_first_row_applies() -> None:
    """duplicate_key: duplicate ids in one file; the first row wins, the rest conflict."""
    first, second = user("1", title="Dr"), user("1", title="Prof")
    p = plan([first, second, user("2")], store(users("1")), mode="partial")
    assert [u.new for u in p.updates] == [first]
    assert p.conflicts == (
        pv.Conflict(
            second, "1", "LegacyContactKey '1' appears more than once in the file", "duplicate_key"
        ),
    )
    assert p.counts.rows == 3
    assert p.tripped == {pv.Safeguard.IDENTITY_CONFLICT}


# -- password notices --------------------------------------------------------------------


def _sso(go_live: dt.date) -> pv.Tenant:
    return pv.Tenant(
        id="acme",
        name="Acme",
        products={"community": "spreadsheet_upload"},
        sso=pv.SsoSetup(
            protocol="saml_2_0",
            identity_provider="Acme AMS",
            identifier_is_legacy_contact_key=True,
            saml_signed=True,
            go_live=go_live,
            requested_on=dt.date(2026, 8, 1),
        ),
    )


def test_new_users_are_told_to_set_a_password() -> None:
    """Without SSO (SSO_UPLOAD_CONDITIONAL): after an upload, new users create a password."""
    p = plan([user("1", title="Dr"), user("2"), user("3")], store(users("1")), mode="partial")
    assert p.password_notices == ("2", "3")


def test_only_new_users_who_can_sign_in_are_told() -> None:
    """Without SSO: a user created deactivated or pending sets no password yet."""
    rows = [user("1"), user("2", status=DEACTIVATED), user("3", status=PENDING), user("4")]
    p = plan(rows, MemoryRepository())
    assert keys(p.creates) == ["1", "2", "3", "4"]
    assert p.password_notices == ("1", "4")


def test_no_password_notices_once_sso_is_in_effect() -> None:
    """SSO_UPLOAD_CONDITIONAL: users of a site with SSO in effect sign in through the IdP."""
    p = plan(users("1", "2"), MemoryRepository(), tenant=_sso(dt.date(2026, 10, 1)))
    assert keys(p.creates) == ["1", "2"]
    assert p.password_notices == ()


def test_password_notices_until_sso_goes_live() -> None:
    """SSO_UPLOAD_CONDITIONAL: an eligible SSO before its go-live date is not in effect yet."""
    p = plan(users("1"), MemoryRepository(), tenant=_sso(dt.date(2027, 1, 11)))
    assert p.password_notices == ("1",)


# -- counts and reports ------------------------------------------------------------------


def _mixed() -> tuple[pv.UploadPlan, Repository]:
    stored = [*users(*"123456789"), user("10", status=DEACTIVATED), user("13")]
    repo = store(stored)
    rows: list[pv.UserRecord | RowError] = [
        user("1"),
        user("2", title="Dr"),
        user("3", status=DEACTIVATED),
        *users("4", "5", "6", "7", "8", "13"),
        user("10"),
        user("11", "user1@example.com"),
        user("12"),
        RowError(
            record=12,
            line=13,
            column="EmailAddress",
            code=ErrorCode.INVALID_EMAIL,
            message="not an email address",
            value="nope",
        ),
    ]
    p = plan(rows, repo, overrides={"row_errors", "identity_conflict"}, file_digest="sha256:f")
    return p, repo


def test_counts_add_up() -> None:
    """Every row and every change is counted once."""
    p, _ = _mixed()
    assert p.counts == pv.UploadCounts(
        rows=13,
        errors=1,
        created=1,
        updated=1,
        unchanged=7,
        deactivated=2,
        reactivated=1,
        conflicts=1,
    )
    assert p.counts.as_dict() == {
        "rows": 13,
        "errors": 1,
        "created": 1,
        "updated": 1,
        "unchanged": 7,
        "deactivated": 2,
        "reactivated": 1,
        "conflicts": 1,
    }
    assert update_keys(p.deactivations) == ["3", "9"]


def test_summary_gives_verdict_counts_findings_and_notices() -> None:
    """SAFEGUARD_ROW_ERRORS and UPLOAD_IDENTITY_CONFLICT: overridden findings are warnings."""
    p, _ = _mixed()
    assert p.summary() == (
        "upload to acme (community, full) by sa-1: ready to apply\n"
        "  13 rows, 1 errors, 1 created, 1 updated, 7 unchanged, 2 deactivated, "
        "1 reactivated, 1 conflicts\n"
        "  [warning] SAFEGUARD_ROW_ERRORS: 1 row problem(s) in the file; apply the valid rows "
        "only by overriding 'row_errors' (overridden)\n"
        "  [warning] UPLOAD_IDENTITY_CONFLICT: 1 row(s) conflict with stored identities and "
        "are left out (overridden)\n"
        "  1 new user(s) will be told to set a password"
    )


def test_to_records_lists_each_change_conflict_and_row_error() -> None:
    """One flat dict per change, conflict and row error, in that order, each with its code."""
    p, _ = _mixed()
    assert p.to_records() == [
        {"kind": "created", "key": "12", "line": None, "code": None, "detail": ""},
        {
            "kind": "updated",
            "key": "2",
            "line": None,
            "code": None,
            "detail": "title: None -> 'Dr'",
        },
        {
            "kind": "deactivated",
            "key": "3",
            "line": None,
            "code": None,
            "detail": "status: 'Enabled' -> 'Deactivated'",
        },
        {
            "kind": "deactivated",
            "key": "9",
            "line": None,
            "code": None,
            "detail": "status: 'Enabled' -> 'Deactivated'",
        },
        {
            "kind": "reactivated",
            "key": "10",
            "line": None,
            "code": None,
            "detail": "status: 'Deactivated' -> 'Enabled'",
        },
        {
            "kind": "conflict",
            "key": "11",
            "line": None,
            "code": "identity_conflict",
            "detail": "email 'user1@example.com' belongs to the stored record '1'; the row is "
            "not applied (no merge, no takeover)",
        },
        {
            "kind": "row_error",
            "key": None,
            "line": 13,
            "code": "invalid_email",
            "detail": "line 13, column 'EmailAddress' (record 12): error invalid_email: "
            "not an email address",
        },
    ]


def test_changes_come_created_updated_deactivated_reactivated() -> None:
    """Plan.changes() walks every change with its kind and key."""
    p, _ = _mixed()
    assert [(kind, key) for kind, key, _ in p.changes()] == [
        ("created", "12"),
        ("updated", "2"),
        ("deactivated", "3"),
        ("deactivated", "9"),
        ("reactivated", "10"),
    ]


def test_html_shows_the_verdict_counts_and_findings_escaped() -> None:
    """The notebook view: a table of counts and findings, HTML-escaped."""
    p, _ = _mixed()
    html = p._repr_html_()
    assert "upload to acme: ready" in html
    assert "<td>reactivated</td><td>1</td>" in html.replace("\n", "")
    assert "SAFEGUARD_ROW_ERRORS" in html
    assert "&#x27;row_errors&#x27;" in html
    assert "'row_errors'" not in html
    held = plan([], store(users("1")))
    assert "upload to acme: held" in held._repr_html_()


def test_the_plan_is_a_dry_run() -> None:
    """Planning writes nothing: the store is exactly as it was."""
    p, repo = _mixed()
    before = snapshot(repo)
    plan([user("99"), *users("1", "2")], repo, overrides="mass_deactivation")
    assert snapshot(repo) == before
    assert p.revision == 1


def test_plans_are_made_against_sqlite_the_same_way() -> None:
    """The planner only reads through the Repository protocol: SQLite plans alike."""
    p, _ = _mixed()
    with SqliteRepository(":memory:") as sqlite:
        stored = [
            *users("1", "2", "3", "4", "5", "6", "7", "8", "9"),
            user("10", status=DEACTIVATED),
            user("13"),
        ]
        store(stored, sqlite)
        rows: list[pv.UserRecord | RowError] = [
            user("1"),
            user("2", title="Dr"),
            user("3", status=DEACTIVATED),
            *users("4", "5", "6", "7", "8", "13"),
            user("10"),
            user("11", "user1@example.com"),
            user("12"),
            p.row_errors[0],
        ]
        on_sqlite = plan(
            rows, sqlite, overrides={"row_errors", "identity_conflict"}, file_digest="sha256:f"
        )
    assert on_sqlite == p


def test_the_plan_names_its_actor_day_and_digest() -> None:
    """The plan records who, when and which file, for the history."""
    p, _ = _mixed()
    assert (p.tenant_id, p.actor, p.as_of, p.file_digest) == ("acme", ADMIN, AS_OF, "sha256:f")
    assert p.product is pv.Product.COMMUNITY
