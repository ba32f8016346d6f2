"""Applying a plan: one commit, a stale plan refused, the history, the receipt and events."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from _upload_helpers import (
    ADMIN,
    DEACTIVATED,
    ENABLED,
    NOW,
    TENANT,
    plan,
    snapshot,
    store,
    user,
    users,
)

import provisioning as pv
from provisioning.adapters import MemoryRepository
from provisioning.repository import ChangeSet, UploadEntry

TEN = [str(n) for n in range(10)]


def _file() -> list[pv.UserRecord]:
    """Against ``_stored()``: 1 updated, 1 deactivated by status, 1 reactivated, 1 new, 8
    unchanged; 9 is missing, and a full import deactivates it."""
    return [
        user("0"),
        user("1", title="Dr"),
        user("2", status=DEACTIVATED),
        user("3"),
        *users("4", "5", "6", "7", "8"),
        user("10"),
        *users("11", "12"),
    ]


def _stored() -> list[pv.UserRecord]:
    """Records 0 to 9, 11 and 12; 3 is deactivated."""
    return [*users("0", "1", "2"), user("3", status=DEACTIVATED), *users(*TEN[4:], "11", "12")]


class _CountingRepository(MemoryRepository):
    """A memory store that keeps every change set committed through it."""

    def __init__(self) -> None:
        super().__init__()
        self.committed: list[ChangeSet] = []

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        revision = super().commit(tenant_id, change_set, expected_revision)
        self.committed.append(change_set)
        return revision


def test_a_plan_is_applied_through_one_commit() -> None:
    """All or nothing: creates, updates, deactivations and reactivations in one change set."""
    repo = _CountingRepository()
    store(_stored(), repo)
    p = plan(_file(), repo, file_digest="sha256:f1")
    receipt = pv.apply_plan(p, repo, now=NOW)
    (change_set,) = repo.committed[1:]
    assert change_set.creates == (user("10"),)
    assert change_set.updates == (
        user("1", title="Dr"),
        user("2", status=DEACTIVATED),
        user("9", status=DEACTIVATED),
        user("3"),
    )
    assert change_set.upload == attrs.evolve(receipt.entry, id=None)
    assert receipt.revision == 2 == repo.revision(TENANT.id)


def test_the_store_holds_exactly_what_the_plan_said() -> None:
    """UPLOAD_SINGLE_SOURCE: after applying, each record is the plan's new version."""
    repo = store(_stored())
    p = plan(_file(), repo)
    pv.apply_plan(p, repo, now=NOW)
    assert sorted(repo.records(TENANT.id), key=lambda r: int(r.legacy_contact_key)) == [
        user("0"),
        user("1", title="Dr"),
        user("2", status=DEACTIVATED),
        user("3"),
        *users("4", "5", "6", "7", "8"),
        user("9", status=DEACTIVATED),
        user("10"),
        *users("11", "12"),
    ]


def test_applying_the_same_file_twice_changes_nothing_the_second_time() -> None:
    """Idempotence: the second plan of the same file is all unchanged."""
    repo = store(_stored())
    pv.apply_plan(plan(_file(), repo), repo, now=NOW)
    again = plan(_file(), repo)
    assert again.counts == pv.UploadCounts(rows=12, unchanged=12)
    assert again.unchanged == ("0", "1", "2", "3", "4", "5", "6", "7", "8", "10", "11", "12")
    assert again.applicable


def test_the_upload_lands_in_the_history() -> None:
    """STANDALONE_ONE_TIME_UPLOAD: the history records actor, time, digest, mode and counts."""
    repo = store(_stored())
    p = plan(_file(), repo, file_digest="sha256:f1")
    receipt = pv.apply_plan(p, repo, now=NOW)
    assert repo.uploads(TENANT.id) == (
        UploadEntry(
            id=2,
            tenant_id="acme",
            actor_id="sa-1",
            at=NOW,
            file_digest="sha256:f1",
            mode="full",
            product="community",
            counts={
                "rows": 12,
                "errors": 0,
                "created": 1,
                "updated": 1,
                "unchanged": 8,
                "deactivated": 2,
                "reactivated": 1,
                "conflicts": 0,
            },
        ),
    )
    assert receipt.entry == repo.uploads(TENANT.id)[0]
    assert receipt.counts == p.counts
    assert (receipt.tenant_id, receipt.at, receipt.plan) == ("acme", NOW, p)


def test_a_plan_without_a_digest_is_recorded_as_not_given() -> None:
    """The history entry always names a digest; an unknown one says so."""
    repo = MemoryRepository()
    pv.apply_plan(plan(users("1"), repo, mode="partial"), repo, now=NOW)
    assert repo.uploads(TENANT.id)[0].file_digest == "not given"
    assert repo.uploads(TENANT.id)[0].mode is pv.UploadMode.PARTIAL


def test_the_time_defaults_to_now_in_utc() -> None:
    """No hidden clock in the rules; the history's time is stamped at the edge, in UTC."""
    repo = MemoryRepository()
    before = dt.datetime.now(dt.UTC)
    receipt = pv.apply_plan(plan(users("1"), repo), repo)
    assert receipt.at.tzinfo is dt.UTC
    assert before <= receipt.at <= dt.datetime.now(dt.UTC)


def test_the_receipt_gives_one_event_per_change_with_the_actor() -> None:
    """Domain events for the host's audit log: created, updated, deactivated, reactivated."""
    repo = store(_stored())
    receipt = pv.apply_plan(plan(_file(), repo), repo, now=NOW)
    to_deactivated = (pv.FieldChange("status", ENABLED, DEACTIVATED),)
    assert list(receipt.events()) == [
        pv.RecordEvent(pv.EventKind.CREATED, "acme", "10", "sa-1", NOW),
        pv.RecordEvent(
            pv.EventKind.UPDATED, "acme", "1", "sa-1", NOW, (pv.FieldChange("title", None, "Dr"),)
        ),
        pv.RecordEvent(pv.EventKind.DEACTIVATED, "acme", "2", "sa-1", NOW, to_deactivated),
        pv.RecordEvent(pv.EventKind.DEACTIVATED, "acme", "9", "sa-1", NOW, to_deactivated),
        pv.RecordEvent(
            pv.EventKind.REACTIVATED,
            "acme",
            "3",
            "sa-1",
            NOW,
            (pv.FieldChange("status", DEACTIVATED, ENABLED),),
        ),
    ]
    assert str(receipt) == (
        "applied to acme at revision 2: 12 rows, 0 errors, 1 created, 1 updated, 8 unchanged, "
        "2 deactivated, 1 reactivated, 0 conflicts"
    )


def test_a_stale_plan_raises_a_conflict_and_changes_nothing() -> None:
    """ConflictError: another writer committed after the plan was made; nothing is written."""
    repo = store(_stored())
    stale = plan(_file(), repo)
    pv.apply_plan(plan([user("0", title="Prof")], repo, mode="partial"), repo, now=NOW)
    before = snapshot(repo)
    with pytest.raises(pv.ConflictError) as caught:
        pv.apply_plan(stale, repo, now=NOW)
    error = caught.value
    assert (error.tenant_id, error.expected, error.actual) == ("acme", 1, 2)
    assert str(error) == (
        "tenant 'acme' is at revision 2, not 1: the store changed since the plan was made; "
        "nothing was written"
    )
    assert snapshot(repo) == before


def test_a_plan_applies_once() -> None:
    """ConflictError: applying a plan made it stale; the second attempt writes nothing."""
    repo = store(_stored())
    p = plan(_file(), repo)
    pv.apply_plan(p, repo, now=NOW)
    before = snapshot(repo)
    with pytest.raises(pv.ConflictError):
        pv.apply_plan(p, repo, now=NOW)
    assert snapshot(repo) == before


def test_a_refused_plan_is_not_applied() -> None:
    """RefusedError names the refusing rules; nothing is written."""
    repo = store(_stored())
    refused = plan(_file(), repo, actor=pv.Actor(id="m-1", role="member"))
    before = snapshot(repo)
    with pytest.raises(pv.RefusedError) as caught:
        pv.apply_plan(refused, repo, now=NOW)
    assert caught.value.rules == ("UPLOAD_SUPER_ADMIN_ONLY",)
    assert str(caught.value) == (
        "the upload to acme is refused: UPLOAD_SUPER_ADMIN_ONLY: only a Super Admin may "
        "upload records, not a member"
    )
    assert not isinstance(caught.value, pv.SafeguardError)
    assert snapshot(repo) == before


def test_tenants_are_isolated() -> None:
    """A plan for one tenant neither reads nor writes another's records."""
    repo = store(_stored())
    other = pv.Tenant(id="globex", name="Globex", products={"community": "spreadsheet_upload"})
    p = pv.plan_upload(other, ADMIN, users("0", "1"), repo, as_of=NOW.date())
    assert [r.legacy_contact_key for r in p.creates] == ["0", "1"]
    before = snapshot(repo)
    pv.apply_plan(p, repo, now=NOW)
    assert snapshot(repo) == before
    assert repo.count("globex") == 2
