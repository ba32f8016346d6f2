"""Safeguards: each trips, holds the plan with its own rule id, and yields to its override."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from _upload_helpers import (
    DEACTIVATED,
    NOW,
    TENANT,
    plan,
    snapshot,
    store,
    update_keys,
    user,
    users,
)

import provisioning as pv
from provisioning.spreadsheet import ErrorCode, RowError, Severity

S = pv.Safeguard
TEN = [str(n) for n in range(10)]


def bad_row(record: int = 1, severity: Severity = Severity.ERROR) -> RowError:
    """A row error as the reader reports one."""
    return RowError(
        record=record,
        line=record + 1,
        column="EmailAddress",
        code=ErrorCode.INVALID_EMAIL,
        message="not an email address",
        value="nope",
        severity=severity,
    )


def held(p: pv.UploadPlan, *guards: pv.Safeguard) -> None:
    """The plan trips exactly ``guards``, none overridden, and apply refuses it."""
    assert p.tripped == frozenset(guards)
    assert p.held_by == frozenset(guards)
    assert not p.applicable
    assert not p.refused
    assert p.rules == tuple(f.rule for f in p.findings)
    assert {f.severity for f in p.findings} == {pv.Severity.ERROR}


def messages(p: pv.UploadPlan) -> dict[str, str]:
    """Each finding's message by rule id."""
    return {f.rule: f.message for f in p.findings}


@pytest.mark.parametrize(
    ("guard", "rule"),
    [
        (S.EMPTY_FILE, "SAFEGUARD_EMPTY_FILE"),
        (S.TRUNCATED_FILE, "SAFEGUARD_TRUNCATED_FILE"),
        (S.MASS_DEACTIVATION, "SAFEGUARD_MASS_DEACTIVATION"),
        (S.SUPER_ADMIN, "SAFEGUARD_SUPER_ADMIN"),
        (S.ROW_ERRORS, "SAFEGUARD_ROW_ERRORS"),
        (S.IDENTITY_CONFLICT, "UPLOAD_IDENTITY_CONFLICT"),
    ],
)
def test_each_safeguard_has_a_rule_of_our_own_in_the_rulebook(
    guard: pv.Safeguard, rule: str
) -> None:
    """Every safeguard is a rule of ours, documented with its override."""
    assert guard.rule == rule
    documented = pv.DEFAULT_RULEBOOK.rule(rule)
    assert documented.ours
    assert guard.value in (documented.override or "")


# -- empty and truncated files -----------------------------------------------------------


def test_an_empty_full_file_is_held() -> None:
    """SAFEGUARD_EMPTY_FILE: a full import with no valid row would deactivate everyone."""
    p = plan([], store(users("1", "2", "3")))
    held(p, S.EMPTY_FILE, S.MASS_DEACTIVATION)
    assert messages(p)["SAFEGUARD_EMPTY_FILE"] == (
        "a full import with no valid row would deactivate all 3 active stored records; "
        "override: empty_file"
    )
    assert update_keys(p.deactivations) == ["1", "2", "3"]


def test_a_file_of_row_errors_only_is_empty_too() -> None:
    """SAFEGUARD_EMPTY_FILE: rows that all fail count as no valid row."""
    p = plan([bad_row(1), bad_row(2)], store(users("1")))
    held(p, S.EMPTY_FILE, S.MASS_DEACTIVATION, S.ROW_ERRORS)


def test_an_empty_file_is_applied_once_every_guard_it_trips_is_overridden() -> None:
    """SAFEGUARD_EMPTY_FILE: the override is by name, and each tripped guard needs one."""
    repo = store(users("1", "2", "3"))
    p = plan([], repo, overrides={"empty_file"})
    assert p.held_by == {S.MASS_DEACTIVATION}
    p = plan([], repo, overrides={S.EMPTY_FILE, S.MASS_DEACTIVATION})
    assert p.applicable
    assert [f.severity for f in p.findings] == [pv.Severity.WARNING, pv.Severity.WARNING]
    assert messages(p)["SAFEGUARD_EMPTY_FILE"] == (
        "a full import with no valid row would deactivate all 3 active stored records (overridden)"
    )
    assert p.rules == ()
    pv.apply_plan(p, repo, now=NOW)
    assert {r.status for r in repo.records(TENANT.id)} == {DEACTIVATED}


def test_an_empty_partial_file_or_an_empty_store_trips_nothing() -> None:
    """SAFEGUARD_EMPTY_FILE: only a full import over stored records can empty a site."""
    assert plan([], store(users("1")), mode="partial").tripped == frozenset()
    assert plan([], store([])).tripped == frozenset()
    assert plan([], store([])).applicable
    gone = store([user(k, status=DEACTIVATED) for k in TEN])
    assert plan([], gone).tripped == frozenset()  # nobody left to deactivate


def test_a_truncated_full_file_is_held() -> None:
    """SAFEGUARD_TRUNCATED_FILE: valid rows under half the stored records look truncated."""
    repo = store(users(*TEN))
    p = plan(users("0", "1", "2", "3"), repo, overrides={"mass_deactivation"})
    assert p.tripped == {S.TRUNCATED_FILE, S.MASS_DEACTIVATION}
    assert p.held_by == {S.TRUNCATED_FILE}
    assert p.rules == ("SAFEGUARD_TRUNCATED_FILE",)
    assert messages(p)["SAFEGUARD_TRUNCATED_FILE"] == (
        "the file has 4 valid rows for 10 active stored records (less than 50%): is it "
        "truncated?; override: truncated_file"
    )
    assert plan(users("0", "1", "2", "3", "4"), repo, overrides="mass_deactivation").applicable


def test_the_truncated_share_is_a_setting() -> None:
    """SAFEGUARD_TRUNCATED_FILE: Settings.truncated_file_share moves the line."""
    book = pv.DEFAULT_RULEBOOK.with_settings(truncated_file_share=0.9, max_deactivation_share=1)
    repo = store(users(*TEN))
    p = plan(users(*TEN[:8]), repo, rulebook=book)
    held(p, S.TRUNCATED_FILE)
    assert plan(users(*TEN[:9]), repo, rulebook=book).applicable
    assert plan(users(*TEN[:8]), repo, rulebook=book, overrides=["truncated_file"]).applicable


def _long_ago(active: int, deactivated: int) -> list[pv.UserRecord]:
    """``active`` enabled records, then ``deactivated`` records deactivated long ago."""
    old = [user(f"x{n}", status=DEACTIVATED) for n in range(deactivated)]
    return [*users(*map(str, range(active))), *old]


def test_records_deactivated_long_ago_do_not_make_a_file_look_truncated() -> None:
    """SAFEGUARD_TRUNCATED_FILE: a file of every active member is whole, whatever the past."""
    repo = store(_long_ago(active=10, deactivated=30))
    assert plan(users(*TEN), repo).tripped == frozenset()
    p = plan(users(*TEN[:4]), repo, overrides="mass_deactivation")
    assert p.held_by == {S.TRUNCATED_FILE}
    assert messages(p)["SAFEGUARD_TRUNCATED_FILE"].startswith(
        "the file has 4 valid rows for 10 active stored records (less than 50%)"
    )


def test_deactivating_every_active_record_is_held_however_many_went_before() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: the share is of the Enabled records."""
    repo = store(_long_ago(active=5, deactivated=45))
    rows = [user(k, status=DEACTIVATED) for k in TEN[:5]]
    p = plan(rows, repo, mode="partial")
    held(p, S.MASS_DEACTIVATION)
    assert messages(p)["SAFEGUARD_MASS_DEACTIVATION"] == (
        "the upload would deactivate 5 of 5 Enabled stored records (more than 20%); "
        "override: mass_deactivation"
    )
    assert plan(rows[:1], repo, mode="partial").applicable  # one of five is 20%


def test_a_truncated_partial_file_is_fine() -> None:
    """SAFEGUARD_TRUNCATED_FILE: a partial import is meant to hold only some rows."""
    assert plan(users("0"), store(users(*TEN)), mode="partial").applicable


# -- mass deactivation -------------------------------------------------------------------


def test_deactivating_up_to_a_fifth_of_the_stored_records_passes() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: 20% by default, like Okta's import safeguard."""
    p = plan(users(*TEN[:8]), store(users(*TEN)))
    assert update_keys(p.deactivations) == ["8", "9"]
    assert p.applicable


def test_deactivating_more_than_a_fifth_is_held() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: three of ten is more than 20%."""
    p = plan(users(*TEN[:7]), store(users(*TEN)))
    held(p, S.MASS_DEACTIVATION)
    assert messages(p)["SAFEGUARD_MASS_DEACTIVATION"] == (
        "the upload would deactivate 3 of 10 Enabled stored records (more than 20%); "
        "override: mass_deactivation"
    )
    assert plan(users(*TEN[:7]), store(users(*TEN)), overrides="mass_deactivation").applicable


def test_deactivations_by_status_column_count_in_a_partial_import() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: a partial file saying Deactivated counts as well."""
    rows = [user(k, status=DEACTIVATED) for k in TEN[:3]]
    held(plan(rows, store(users(*TEN)), mode="partial"), S.MASS_DEACTIVATION)


def test_a_full_import_rejecting_almost_everyone_is_held() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: setting 1,000 of 1,002 users to Rejected is a lockout."""
    keys = [str(n) for n in range(1002)]
    rows = [user(k, status=pv.RecordStatus.REJECTED) for k in keys[:1000]] + users(*keys[1000:])
    p = plan(rows, store(users(*keys)))
    held(p, S.MASS_DEACTIVATION)
    assert messages(p)["SAFEGUARD_MASS_DEACTIVATION"] == (
        "the upload would take 1000 of 1002 Enabled stored records out of Enabled "
        "(1000 to Rejected) (more than 20%); override: mass_deactivation"
    )
    assert plan(rows, store(users(*keys)), overrides="mass_deactivation").applicable


def test_a_partial_import_setting_everyone_pending_is_held() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: a move back to Pending Approval counts as a lockout."""
    rows = [user(k, status=pv.RecordStatus.PENDING_APPROVAL) for k in TEN]
    p = plan(rows, store(users(*TEN)), mode="partial")
    held(p, S.MASS_DEACTIVATION)
    assert "(10 to Pending Approval)" in messages(p)["SAFEGUARD_MASS_DEACTIVATION"]


def test_every_kind_of_lockout_adds_up_toward_the_share() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: one deactivation, one rejection and one pending make 3."""
    rows = [
        user("0", status=DEACTIVATED),
        user("1", status=pv.RecordStatus.REJECTED),
        user("2", status=pv.RecordStatus.PENDING_VERIFICATION),
    ]
    p = plan(rows, store(users(*TEN)), mode="partial")
    held(p, S.MASS_DEACTIVATION)
    assert messages(p)["SAFEGUARD_MASS_DEACTIVATION"] == (
        "the upload would take 3 of 10 Enabled stored records out of Enabled "
        "(1 to Deactivated, 1 to Pending Verification, 1 to Rejected) (more than 20%); "
        "override: mass_deactivation"
    )


def test_records_already_out_of_enabled_are_no_new_lockout() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: a pending record rejected is not taken out of Enabled."""
    pending = users(*TEN, status=pv.RecordStatus.PENDING_APPROVAL)
    rows = [user(k, status=pv.RecordStatus.REJECTED) for k in TEN]
    p = plan(rows, store(pending), mode="partial")
    assert S.MASS_DEACTIVATION not in p.tripped


def test_pending_records_make_no_room_for_a_lockout() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: the share is of the Enabled records, not of all active.

    A file that first adds hundreds of Pending records must not let the next one
    deactivate a third of the people who actually sign in.
    """
    enabled = users(*TEN)
    pending = [user(f"p{n}", status=pv.RecordStatus.PENDING_APPROVAL) for n in range(90)]
    repo = store([*enabled, *pending])
    rows = [*enabled[3:], *pending]  # a full import leaving out three Enabled users
    p = plan(rows, repo)
    held(p, S.MASS_DEACTIVATION)
    assert messages(p)["SAFEGUARD_MASS_DEACTIVATION"] == (
        "the upload would deactivate 3 of 10 Enabled stored records (more than 20%); "
        "override: mass_deactivation"
    )


def test_deactivating_pending_records_is_no_lockout() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: Pending or Rejected records sign in nowhere to begin with."""
    pending = [user(str(n), status=pv.RecordStatus.PENDING_APPROVAL) for n in range(10)]
    rows = [user(str(n), status=DEACTIVATED) for n in range(5)]
    p = plan(rows, store([*pending, *users("e1", "e2", "e3", "e4", "e5")]), mode="partial")
    assert S.MASS_DEACTIVATION not in p.tripped
    assert len(p.deactivations) == 5


def test_the_deactivation_share_is_a_setting() -> None:
    """SAFEGUARD_MASS_DEACTIVATION: Settings.max_deactivation_share moves the line."""
    book = pv.DEFAULT_RULEBOOK.with_settings(max_deactivation_share=0.05)
    p = plan(users(*TEN[:9]), store(users(*TEN)), rulebook=book)
    held(p, S.MASS_DEACTIVATION)
    assert messages(p)["SAFEGUARD_MASS_DEACTIVATION"] == (
        "the upload would deactivate 1 of 10 Enabled stored records (more than 5%); "
        "override: mass_deactivation"
    )


# -- Super Admin accounts ----------------------------------------------------------------


def test_the_acting_super_admin_is_never_deactivated() -> None:
    """SAFEGUARD_SUPER_ADMIN: the actor's own account, missing from a full file, is kept."""
    repo = store([*users(*TEN), user("sa-1")])
    p = plan(users(*TEN), repo)
    held(p, S.SUPER_ADMIN)
    assert messages(p)["SAFEGUARD_SUPER_ADMIN"] == (
        "the upload would deactivate Super Admin account(s): sa-1; override: super_admin"
    )


def test_protected_keys_are_never_deactivated_by_status_either() -> None:
    """SAFEGUARD_SUPER_ADMIN: the host's Super Admin keys are guarded in any mode."""
    rows = [user("3", status=DEACTIVATED), user("7", status=DEACTIVATED)]
    p = plan(rows, store(users(*TEN)), mode="partial", protected_keys={"7", "3", "x"})
    held(p, S.SUPER_ADMIN)
    assert messages(p)["SAFEGUARD_SUPER_ADMIN"] == (
        "the upload would deactivate Super Admin account(s): 3, 7; override: super_admin"
    )
    overridden = plan(
        rows, store(users(*TEN)), mode="partial", protected_keys={"7", "3"}, overrides="super_admin"
    )
    assert overridden.applicable


class _AnyoneUploads(pv.RuleBook):
    """A host's rulebook that lets a Site Admin upload too."""

    def decide(
        self,
        tenant: pv.Tenant,
        actor: pv.Actor,
        action: pv.Action | str,
        *,
        product: pv.Product | str = pv.Product.COMMUNITY,
        as_of: dt.date | None = None,
    ) -> pv.Decision:
        admin = attrs.evolve(actor, role="super_admin")
        decision = super().decide(tenant, admin, action, product=product, as_of=as_of)
        return attrs.evolve(decision, role=actor.role)


def test_only_a_super_admins_own_id_is_protected() -> None:
    """SAFEGUARD_SUPER_ADMIN: another role's account is not a Super Admin's to guard."""
    actor = pv.Actor(id="0", role="site_admin")
    p = plan(users(*TEN[1:]), store(users(*TEN)), actor=actor, rulebook=_AnyoneUploads())
    assert p.applicable
    assert update_keys(p.deactivations) == ["0"]


# -- row errors ----------------------------------------------------------------------------


def test_row_errors_hold_the_plan() -> None:
    """SAFEGUARD_ROW_ERRORS: a file with bad rows is not applied as it is."""
    p = plan([*users("1", "2"), bad_row(3), bad_row(3)], store(users("1", "2")))
    held(p, S.ROW_ERRORS)
    assert messages(p)["SAFEGUARD_ROW_ERRORS"] == (
        "2 row problem(s) in the file; apply the valid rows only by overriding 'row_errors'; "
        "override: row_errors"
    )
    assert p.counts.rows == 3  # two problems, one row
    assert p.counts.errors == 2


def test_row_errors_overridden_apply_the_valid_rows_only() -> None:
    """SAFEGUARD_ROW_ERRORS: the override applies the valid rows; the errors stay reported."""
    repo = store(users("1"))
    p = plan([user("1", title="Dr"), bad_row(2), user("3")], repo, overrides="row_errors")
    assert p.applicable
    assert len(p.row_errors) == 1
    receipt = pv.apply_plan(p, repo, now=NOW)
    assert receipt.counts.errors == 1
    assert repo.get(TENANT.id, "1") == user("1", title="Dr")
    assert repo.count(TENANT.id) == 2


def test_warnings_and_skips_are_told_apart() -> None:
    """SAFEGUARD_ROW_ERRORS: a warning leaves its record in; an error or a skip does not."""
    p = plan([user("1"), bad_row(1, Severity.WARNING)], store([]))
    assert p.applicable
    assert p.counts.errors == 0
    skipped = plan([bad_row(2, Severity.SKIPPED)], store([]), mode="partial")
    held(skipped, S.ROW_ERRORS)


# -- conflicts and overrides ---------------------------------------------------------------


def test_identity_conflicts_hold_until_accepted() -> None:
    """UPLOAD_IDENTITY_CONFLICT: conflicts are left out, and the rest waits for a yes."""
    repo = store(users("1"))
    rows = [user("1"), user("2", "user1@example.com"), user("3")]
    p = plan(rows, repo)
    held(p, S.IDENTITY_CONFLICT)
    assert messages(p)["UPLOAD_IDENTITY_CONFLICT"] == (
        "1 row(s) conflict with stored identities and are left out; override: identity_conflict"
    )
    accepted = plan(rows, repo, overrides="identity_conflict")
    pv.apply_plan(accepted, repo, now=NOW)
    assert sorted(r.legacy_contact_key for r in repo.records(TENANT.id)) == ["1", "3"]


def test_an_unknown_override_is_refused_by_name() -> None:
    """Overrides are named safeguards; a typo is an error, not a silent no-op."""
    with pytest.raises(pv.InvalidValueError, match="unknown safeguard") as caught:
        plan([], store([]), overrides={"empty"})
    assert str(caught.value) == (
        "unknown safeguard 'empty'; known safeguards: empty_file, truncated_file, "
        "mass_deactivation, super_admin, row_errors, identity_conflict"
    )
    assert caught.value.field == "overrides"
    assert isinstance(caught.value, ValueError)


def test_one_override_may_be_given_alone() -> None:
    """A single name or Safeguard works as well as a set of them."""
    repo = store(users(*TEN))
    for one in ("mass_deactivation", S.MASS_DEACTIVATION, ["mass_deactivation"]):
        assert plan(users(*TEN[:5]), repo, overrides=one).overrides == {S.MASS_DEACTIVATION}


def test_an_override_of_a_guard_that_did_not_trip_changes_nothing() -> None:
    """An override is recorded, but only a tripped safeguard makes a finding."""
    p = plan(users("1"), store(users("1")), overrides={"super_admin"})
    assert p.overrides == {S.SUPER_ADMIN}
    assert p.tripped == frozenset()
    assert p.findings == ()
    assert p.applicable


def test_a_held_plan_is_not_applied() -> None:
    """SafeguardError names each holding safeguard and its override; nothing is written."""
    repo = store(users(*TEN))
    before = snapshot(repo)
    p = plan([bad_row(1)], repo)
    with pytest.raises(pv.SafeguardError) as caught:
        pv.apply_plan(p, repo, now=NOW)
    assert caught.value.rules == (
        "SAFEGUARD_EMPTY_FILE",
        "SAFEGUARD_MASS_DEACTIVATION",
        "SAFEGUARD_ROW_ERRORS",
    )
    assert str(caught.value) == (
        "the upload to acme is held by SAFEGUARD_EMPTY_FILE (override: empty_file); "
        "SAFEGUARD_MASS_DEACTIVATION (override: mass_deactivation); "
        "SAFEGUARD_ROW_ERRORS (override: row_errors)"
    )
    assert isinstance(caught.value, pv.RefusedError)
    assert snapshot(repo) == before


def test_a_super_admin_taken_out_of_enabled_trips_the_super_admin_safeguard() -> None:
    """SAFEGUARD_SUPER_ADMIN: a row setting a Super Admin to Pending Approval is held too."""
    repo = store([user("sa-1"), *users(*TEN)])
    admin = pv.Actor(id="sa-1", role="super_admin")
    found = plan([user("sa-1", status="Pending Approval"), *users(*TEN)], repo, actor=admin)
    assert found.held_by == {S.SUPER_ADMIN}
    (finding,) = found.findings
    assert finding.message == (
        "the upload would take Super Admin account(s) out of Enabled: sa-1 (Pending Approval); "
        "override: super_admin"
    )
