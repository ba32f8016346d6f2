"""Invariants of planning and applying, for any stored set and any file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from _upload_helpers import NOW, TENANT, plan, store
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.testing import user_records
from provisioning.uploads._plan import _same, _with_status

ALL = tuple(pv.Safeguard)
STATUSES = (
    pv.RecordStatus.ENABLED,
    pv.RecordStatus.DEACTIVATED,
    pv.RecordStatus.PENDING_APPROVAL,
)

# Few keys and few emails, so that files repeat keys, reuse and swap emails.
_keys = st.sampled_from([str(n) for n in range(8)])
_emails = st.builds(
    lambda n, shout: f"user{n}@example.com".upper() if shout else f"user{n}@example.com",
    st.integers(0, 7),
    st.booleans(),
)
_records = st.builds(
    lambda key, email, title, status: pv.UserRecord(
        legacy_contact_key=key,
        first_name="First",
        last_name="Last",
        email=email,
        company_name="Acme",
        title=title,
        status=status,
    ),
    _keys,
    _emails,
    st.sampled_from([None, "Dr", "Prof"]),
    st.sampled_from(STATUSES),
)
stored_sets = st.lists(
    _records, max_size=8, unique_by=(lambda r: r.legacy_contact_key, lambda r: r.email_key)
)
files = st.lists(_records, max_size=10)
modes = st.sampled_from(pv.UploadMode)


def _applied_keys(p: pv.UploadPlan) -> list[str]:
    return [key for _, key, _ in p.changes()] + list(p.unchanged)


def _repeat(conflict: pv.Conflict) -> bool:
    return conflict.message.endswith("appears more than once in the file")


@given(stored_sets, files, modes)
def test_each_key_is_in_one_kind_of_change_at_most(
    stored: list[pv.UserRecord], rows: list[pv.UserRecord], mode: pv.UploadMode
) -> None:
    """The plan never both creates and updates a key, nor changes a key twice."""
    p = plan(rows, store(stored), mode=mode, overrides=ALL)
    applied = _applied_keys(p)
    assert len(applied) == len(set(applied))
    stored_keys = {r.legacy_contact_key for r in stored}
    assert not {r.legacy_contact_key for r in p.creates} & stored_keys
    # A conflict is left out, unless it is the repeat of a key whose first row applies.
    assert not {c.key for c in p.conflicts if not _repeat(c)} & set(applied)


@given(stored_sets, files, modes)
def test_every_row_is_accounted_for_once(
    stored: list[pv.UserRecord], rows: list[pv.UserRecord], mode: pv.UploadMode
) -> None:
    """Each valid row is created, updated, unchanged, (de/re)activated or a conflict."""
    p = plan(rows, store(stored), mode=mode, overrides=ALL)
    stored_keys = {r.legacy_contact_key for r in stored}
    file_keys = {r.legacy_contact_key for r in rows}
    from_file = [u for u in p.deactivations if u.key in file_keys]
    assert p.counts.rows == len(rows)
    assert len(rows) == (
        len(p.creates)
        + len(p.updates)
        + len(p.unchanged)
        + len(from_file)
        + len(p.reactivations)
        + len(p.conflicts)
    )
    missing = [u for u in p.deactivations if u.key not in file_keys]
    assert all(u.key in stored_keys and u.old.status is pv.RecordStatus.ENABLED for u in missing)
    if mode is pv.UploadMode.PARTIAL:
        assert missing == []
    else:
        enabled = {r.legacy_contact_key for r in stored if r.status is pv.RecordStatus.ENABLED}
        assert {u.key for u in missing} == enabled - file_keys


@given(stored_sets, files, modes)
def test_applying_then_planning_the_same_file_again_changes_nothing(
    stored: list[pv.UserRecord], rows: list[pv.UserRecord], mode: pv.UploadMode
) -> None:
    """Idempotence: the plan is a valid change set, and the second plan is all unchanged."""
    repo = store(stored)
    first = plan(rows, repo, mode=mode, overrides=ALL)
    pv.apply_plan(first, repo, now=NOW)  # never a ChangeSetError: conflicts were left out
    for kind, key, change in first.changes():
        new = change if kind == "created" else change.new  # type: ignore[union-attr]
        assert repo.get(TENANT.id, key) == new
    again = plan(rows, repo, mode=mode, overrides=ALL)
    assert again.counts == pv.UploadCounts(
        rows=len(rows),
        unchanged=len(rows) - len(first.conflicts),
        conflicts=len(first.conflicts),
    )
    assert [c.key for c in again.conflicts] == [c.key for c in first.conflicts]


@given(stored_sets, files, modes)
def test_records_the_plan_does_not_name_stay_as_they_were(
    stored: list[pv.UserRecord], rows: list[pv.UserRecord], mode: pv.UploadMode
) -> None:
    """Nothing is written outside the plan; nothing is ever deleted."""
    repo = store(stored)
    p = plan(rows, repo, mode=mode, overrides=ALL)
    pv.apply_plan(p, repo, now=NOW)
    named = {key for _, key, _ in p.changes()}
    for record in stored:
        if record.legacy_contact_key not in named:
            assert repo.get(TENANT.id, record.legacy_contact_key) == record
    assert repo.count(TENANT.id) == len(stored) + len(p.creates)


@given(stored_sets, files, modes)
def test_sqlite_and_memory_plan_alike(
    stored: list[pv.UserRecord], rows: list[pv.UserRecord], mode: pv.UploadMode
) -> None:
    """The planner depends on the Repository protocol only: both adapters give one plan."""
    with SqliteRepository(":memory:") as sqlite:
        on_sqlite = plan(rows, store(stored, sqlite), mode=mode, overrides=ALL)
        in_memory = plan(rows, store(stored, MemoryRepository()), mode=mode, overrides=ALL)
        assert on_sqlite == in_memory
        pv.apply_plan(on_sqlite, sqlite, now=NOW)
        assert plan(rows, sqlite, mode=mode, overrides=ALL).counts.unchanged == (
            on_sqlite.counts.rows - on_sqlite.counts.conflicts
        )


@given(user_records(custom_keys=("Chapter", "Region")), st.sampled_from(pv.RecordStatus))
def test_a_status_copy_is_the_record_evolved(
    record: pv.UserRecord, status: pv.RecordStatus
) -> None:
    """The planner's trusted copy equals attrs.evolve and is a frozen UserRecord."""
    copy = _with_status(record, status)
    assert copy == attrs.evolve(record, status=status)
    for field in attrs.fields(pv.UserRecord):
        expected = status if field.name == "status" else getattr(record, field.name)
        assert getattr(copy, field.name) is expected
    assert type(copy) is pv.UserRecord
    assert hash(copy) == hash(attrs.evolve(record, status=status))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        copy.title = "changed"  # type: ignore[misc]


_FULL = pv.UserRecord(
    legacy_contact_key="1",
    first_name="Ada",
    last_name="Lovelace",
    email="ada@example.com",
    company_name="Analytical Engines",
    prefix="Ms",
    middle_name="Augusta",
    suffix="II",
    informal_name="Ada",
    title="Countess",
    member_id="M1",
    member_since=dt.date(2020, 1, 1),
    member_expires_on=dt.date(2030, 1, 1),
    birthday=dt.date(1815, 12, 10),
    address1="1 St James's Square",
    address2="Flat 2",
    city="London",
    state="LDN",
    postal_code="SW1Y 4JU",
    country="GB",
    phone1="555-0100",
    phone1_type="Work",
    phone2="555-0101",
    phone2_type="Home",
    is_member=True,
    status=pv.RecordStatus.ENABLED,
    custom={"Chapter": "North"},
)
_OTHER: dict[str, Any] = {
    "member_since": dt.date(2021, 1, 1),
    "member_expires_on": dt.date(2031, 1, 1),
    "birthday": dt.date(1816, 1, 1),
    "email": "other@example.com",
    "is_member": False,
    "status": pv.RecordStatus.DEACTIVATED,
    "custom": {"Chapter": "South"},
}


@pytest.mark.parametrize("field", [a.name for a in attrs.fields(pv.UserRecord)])
def test_the_planners_comparison_sees_a_change_in_any_field(field: str) -> None:
    """A row differing from its stored record in one field only is never unchanged."""
    changed = attrs.evolve(_FULL, **{field: _OTHER.get(field, "other")})
    assert changed != _FULL
    assert not _same(_FULL, changed)
    assert not _same(changed, _FULL)
    assert _same(_FULL, attrs.evolve(_FULL))


@given(_records, _records)
def test_the_planners_comparison_is_equality(a: pv.UserRecord, b: pv.UserRecord) -> None:
    """The planner's comparison agrees with == on any two records."""
    assert _same(a, b) == (a == b)
