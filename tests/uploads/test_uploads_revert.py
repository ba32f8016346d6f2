"""Reverting an applied upload: its changes go back, its new records are deactivated."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from _upload_helpers import (
    ADMIN,
    AS_OF,
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
from hypothesis import given
from hypothesis import strategies as st
from test_uploads_properties import ALL, files, modes, stored_sets

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.adapters import sqlite as adapter
from provisioning.audit import AuditEvent, AuditKind, Channel
from provisioning.repository import (
    AuditLog,
    ChangeSet,
    Repository,
    UploadEntry,
    UploadMode,
)
from provisioning.testing._contract import AuditRepository
from provisioning.uploads._plan import HOLD
from provisioning.uploads._revert import UploadEventReader, reverted_already

ADAPTERS = ("memory", "sqlite")
#: How many changes of each kind a plan holds in memory before it spills to a file.
holds = st.sampled_from([0, 1, HOLD])
PENDING = pv.RecordStatus.PENDING_APPROVAL
#: When the revert is applied, and when the revert of the revert is: after the upload.
LATER = NOW + dt.timedelta(hours=1)
LATEST = NOW + dt.timedelta(hours=2)
STANDALONE = pv.Tenant(id="acme", name="Acme", products={"community": "standalone"})
INTEGRATION = pv.Tenant(
    id="acme", name="Acme", products={"community": "standard_integration"}, integration="imis"
)


@contextlib.contextmanager
def _opened(kind: str) -> Iterator[AuditRepository]:
    if kind == "memory":
        yield MemoryRepository()
        return
    with SqliteRepository(":memory:") as repo:
        yield repo


@pytest.fixture(params=ADAPTERS)
def repo(request: pytest.FixtureRequest) -> Iterator[AuditRepository]:
    """A new store of each reference adapter."""
    with _opened(request.param) as opened:
        yield opened


def _records(repo: Repository) -> dict[str, pv.UserRecord]:
    return {r.legacy_contact_key: r for r in repo.records(TENANT.id)}


def _trail(repo: AuditRepository) -> list[AuditEvent]:
    return list(repo.events(TENANT.id))


def _everything(repo: AuditRepository) -> tuple[object, ...]:
    """Records, revision, history and audit trail of the tenant."""
    return (*snapshot(repo), _trail(repo))


def _revert(
    upload_id: int,
    repo: Repository,
    *,
    tenant: pv.Tenant = TENANT,
    actor: pv.Actor = ADMIN,
    **options: Any,
) -> pv.UploadPlan:
    """``plan_revert`` as of :data:`AS_OF`."""
    return pv.plan_revert(tenant, actor, upload_id, repo, as_of=AS_OF, **options)


def _upload(
    rows: Sequence[pv.UserRecord],
    repo: Repository,
    *,
    now: dt.datetime = NOW,
    **options: Any,
) -> pv.Receipt:
    """Plan and apply ``rows``, every safeguard overridden unless told otherwise."""
    options.setdefault("overrides", ALL)
    return pv.apply_plan(plan(rows, repo, **options), repo, now=now)


def _stored() -> list[pv.UserRecord]:
    """Records 1 to 6; 5 is deactivated, 6 pending approval."""
    return [*users("1", "2", "3", "4"), user("5", status=DEACTIVATED), user("6", status=PENDING)]


def _file() -> list[pv.UserRecord]:
    """Against ``_stored()``, partial: 1 unchanged, 2 given a title and a city, 3 and 4 swap
    emails (4 becomes a member), 5 reactivated, 6 approved, 7 and 8 new (8 pending)."""
    return [
        user("1"),
        user("2", title="Dr", city="Oslo"),
        user("3", "user4@example.com"),
        user("4", "user3@example.com", is_member=True),
        user("5"),
        user("6"),
        user("7", member_since=dt.date(2020, 1, 31), custom={"Chapter": "North"}),
        user("8", status=PENDING),
    ]


def _uploaded(repo: AuditRepository) -> pv.Receipt:
    """``_stored()`` at revision 1, then ``_file()`` applied as upload 2."""
    store(_stored(), repo)
    receipt = _upload(_file(), repo, mode="partial")
    assert receipt.revision == 2
    return receipt


# -- the round trip ----------------------------------------------------------------------------


def test_a_revert_puts_the_records_back_and_deactivates_the_new_ones(
    repo: AuditRepository,
) -> None:
    """Changed records as they were before the upload (emails swapped back, status, flags,
    text); the records it created are deactivated, never deleted."""
    receipt = _uploaded(repo)
    revert = _revert(receipt.revision, repo, overrides="mass_deactivation")
    assert revert.applicable, revert.summary()
    assert (revert.channel, revert.mode, revert.file_digest) == (
        Channel.REVERT,
        UploadMode.PARTIAL,
        "revert:2",
    )
    assert (revert.revision, revert.conflicts, revert.creates) == (2, (), ())
    assert sorted(u.key for u in revert.updates) == ["2", "3", "4", "6"]
    assert sorted(u.key for u in revert.deactivations) == ["5", "7", "8"]
    done = pv.apply_plan(revert, repo, now=LATER)
    assert done.revision == 3
    after = _records(repo)
    assert {k: after[k] for k in "123456"} == {r.legacy_contact_key: r for r in _stored()}
    assert after["7"] == attrs.evolve(_file()[6], status=DEACTIVATED)
    assert after["8"] == attrs.evolve(_file()[7], status=DEACTIVATED)
    assert repo.count(TENANT.id) == 8
    assert repo.get_by_email(TENANT.id, "user3@example.com") == user("3")


def test_the_revert_is_held_by_the_safeguards_as_an_upload_is(repo: AuditRepository) -> None:
    """Taking 3 of 7 Enabled records out of Enabled trips SAFEGUARD_MASS_DEACTIVATION; the
    held plan writes nothing."""
    receipt = _uploaded(repo)
    before = _everything(repo)
    revert = _revert(receipt.revision, repo)
    assert revert.held_by == {pv.Safeguard.MASS_DEACTIVATION}
    assert revert.rules == (pv.RuleId.SAFEGUARD_MASS_DEACTIVATION,)
    with pytest.raises(pv.SafeguardError):
        pv.apply_plan(revert, repo, now=LATER)
    assert _everything(repo) == before


def test_the_reverts_events_and_history_entry(repo: AuditRepository) -> None:
    """One event per change, channel revert, stamped with the revert's own upload id and
    REVERT_UPLOAD; the history entry is a partial upload with the digest "revert:2"."""
    receipt = _uploaded(repo)
    uploaded = list(repo.events(TENANT.id, upload_id=receipt.revision))
    assert {e.channel for e in uploaded} == {Channel.UPLOAD}
    assert len(uploaded) == 7  # 1 is unchanged
    revert = _revert(receipt.revision, repo, overrides="mass_deactivation")
    done = pv.apply_plan(revert, repo, now=LATER)
    events = list(repo.events(TENANT.id, upload_id=done.revision))
    assert _trail(repo) == [*uploaded, *events]
    assert {e.channel for e in events} == {Channel.REVERT}
    assert sorted(str(e.key) for e in events) == sorted(str(e.key) for e in uploaded)
    for event in events:
        assert (event.revision, event.upload_id) == (3, 3)
        assert (event.actor_id, event.role, event.at) == (ADMIN.id, pv.Role.SUPER_ADMIN, LATER)
        assert pv.RuleId.REVERT_UPLOAD in event.rules
    kinds = {e.key: e.kind for e in events}
    assert kinds == {
        "2": AuditKind.UPDATED,
        "3": AuditKind.UPDATED,
        "4": AuditKind.UPDATED,
        "6": AuditKind.UPDATED,
        "5": AuditKind.DEACTIVATED,
        "7": AuditKind.DEACTIVATED,
        "8": AuditKind.DEACTIVATED,
    }
    back = {e.key: {c.field: (c.old, c.new) for c in e.changes} for e in events}
    assert back["2"] == {"title": ("Dr", None), "city": ("Oslo", None)}
    assert back["4"] == {
        "email": ("user3@example.com", "user4@example.com"),
        "is_member": (True, None),
    }
    assert back["7"] == {"status": ("Enabled", "Deactivated")}
    assert back["8"] == {"status": ("Pending Approval", "Deactivated")}
    *_, entry = repo.uploads(TENANT.id)
    assert entry == done.entry
    assert (entry.file_digest, entry.mode, entry.product) == (
        "revert:2",
        UploadMode.PARTIAL,
        pv.Product.COMMUNITY,
    )
    assert (entry.id, entry.audited, entry.actor_id, entry.at) == (3, True, ADMIN.id, LATER)


def test_a_revert_of_the_revert_restores_the_upload(repo: AuditRepository) -> None:
    """The revert is an upload like any other: reverting it brings the upload's state back."""
    receipt = _uploaded(repo)
    uploaded = _records(repo)
    first = pv.apply_plan(
        _revert(receipt.revision, repo, overrides="mass_deactivation"), repo, now=LATER
    )
    second = _revert(first.revision, repo)
    assert second.file_digest == "revert:3"
    assert second.applicable, second.summary()
    assert sorted(u.key for u in second.reactivations) == ["5", "7"]
    done = pv.apply_plan(second, repo, now=LATEST)
    assert _records(repo) == uploaded
    assert [e.file_digest for e in repo.uploads(TENANT.id)] == [
        "not given",
        "revert:2",
        "revert:3",
    ]
    assert {e.channel for e in repo.events(TENANT.id, upload_id=done.revision)} == {Channel.REVERT}
    # Each is reverted once: again is refused, naming the reverts that did it and the
    # upload to revert now (the last revert, not the first one, which is reverted too).
    with pytest.raises(pv.RefusedError, match="reverted already, by upload 3") as again:
        _revert(receipt.revision, repo)
    assert again.value.rules == ("REVERT_UPLOAD",)
    assert str(again.value) == (
        "REVERT_UPLOAD: upload 2 was reverted already, by upload 3, which upload 4 "
        "reverted, so upload 2's changes are back; revert upload 4 to undo them again"
    )
    with pytest.raises(pv.RefusedError, match="revert upload 4 to have upload 3's changes"):
        _revert(first.revision, repo)


def _revert_entry(upload_id: int, target: int) -> UploadEntry:
    return UploadEntry(
        tenant_id=TENANT.id,
        actor_id=ADMIN.id,
        at=NOW,
        file_digest=f"revert:{target}",
        mode="partial",
        id=upload_id,
    )


@given(st.integers(min_value=1, max_value=6))
def test_reverted_already_names_the_last_revert_of_the_chain(length: int) -> None:
    """Upload 1 reverted by 2, 2 by 3...: the refusal names the last one, and whether
    reverting it brings upload 1's changes back or undoes them again."""
    entries = [_revert_entry(n + 1, n) for n in range(1, length + 1)]
    unrelated = _revert_entry(50, 40)
    refused = reverted_already(1, [unrelated, *reversed(entries)])
    assert refused is not None
    assert refused.rules == ("REVERT_UPLOAD",)
    said = str(refused)
    assert said.startswith("REVERT_UPLOAD: upload 1 was reverted already, by upload 2")
    assert said.count("which upload") == length - 1
    last = length + 1
    if length % 2:
        assert said.endswith(f"; revert upload {last} to have upload 1's changes back")
    else:
        assert said.endswith(f"; revert upload {last} to undo them again")
    assert "upload 50" not in said
    assert reverted_already(last, entries) is None


def test_an_upload_that_changed_nothing_reverts_to_nothing(repo: AuditRepository) -> None:
    """No event, nothing to undo: an empty plan, which applies as an empty commit."""
    store(_stored(), repo)
    receipt = _upload(_stored(), repo, mode="partial")
    assert list(repo.events(TENANT.id, upload_id=receipt.revision)) == []
    revert = _revert(receipt.revision, repo)
    assert revert.applicable
    assert list(revert.changes()) == []
    before = _records(repo)
    pv.apply_plan(revert, repo, now=LATER)
    assert _records(repo) == before


@pytest.mark.parametrize("hold", [0, 2])
def test_spilled_plans_write_and_revert_the_same_events(repo: AuditRepository, hold: int) -> None:
    """An upload and its revert planned with their changes spilled to a file write the
    events, and leave the records, that plans held in memory write and leave."""
    reference = MemoryRepository()
    for target, kept in ((repo, hold), (reference, HOLD)):
        store(_stored(), target)
        receipt = _upload(_file(), target, mode="partial", hold=kept)
        revert = _revert(receipt.revision, target, overrides=ALL, hold=kept)
        pv.apply_plan(revert, target, now=LATER)
    assert _trail(repo) == _trail(reference)
    assert _records(repo) == _records(reference)


# -- any stored set, any file ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ADAPTERS)
@given(stored_sets, files, modes, holds)
def test_a_revert_undoes_any_upload(
    kind: str,
    stored: list[pv.UserRecord],
    rows: list[pv.UserRecord],
    mode: pv.UploadMode,
    hold: int,
) -> None:
    """Every record as before the upload, each record it created deactivated, except
    where a created record now holds the email a changed record had: that record is left
    as the upload made it, reported as a conflict that holds the plan. The same whether
    the plans hold their changes in memory or spill them to a file."""
    with _opened(kind) as repo:
        store(stored, repo)
        before = _records(repo)
        upload = plan(rows, repo, mode=mode, overrides=ALL, hold=hold)
        receipt = pv.apply_plan(upload, repo, now=NOW)
        uploaded = _records(repo)
        created = {r.legacy_contact_key: r for r in upload.creates}
        revert = _revert(receipt.revision, repo, overrides=ALL, hold=hold)
        assert revert.applicable
        pv.apply_plan(revert, repo, now=LATER)
        after = _records(repo)
        left = {c.key for c in revert.conflicts}
        taken = {r.email_key for r in created.values()} & {r.email_key for r in before.values()}
        assert bool(left) == bool(taken)
        assert (pv.Safeguard.IDENTITY_CONFLICT in revert.tripped) == bool(left)
        assert left <= before.keys()
        assert set(after) == before.keys() | created.keys()
        for key, record in before.items():
            assert after[key] == (uploaded[key] if key in left else record)
        for key, record in created.items():
            assert after[key] == attrs.evolve(record, status=DEACTIVATED)
        assert {e.channel for e in repo.events(TENANT.id, upload_id=receipt.revision + 1)} <= {
            Channel.REVERT
        }


@pytest.mark.parametrize("kind", ADAPTERS)
@given(stored_sets, files, modes)
def test_a_revert_of_the_revert_of_any_upload_restores_it(
    kind: str, stored: list[pv.UserRecord], rows: list[pv.UserRecord], mode: pv.UploadMode
) -> None:
    """Revert the upload, then revert the revert: every record as the upload left it."""
    with _opened(kind) as repo:
        store(stored, repo)
        receipt = _upload(rows, repo, mode=mode)
        uploaded = _records(repo)
        first = pv.apply_plan(_revert(receipt.revision, repo, overrides=ALL), repo, now=LATER)
        second = _revert(first.revision, repo, overrides=ALL)
        assert second.conflicts == ()
        pv.apply_plan(second, repo, now=LATEST)
        assert _records(repo) == uploaded


# -- changed since -----------------------------------------------------------------------------


def test_a_record_changed_by_a_later_upload_is_left_and_listed(repo: AuditRepository) -> None:
    """A later upload's change is never undone: its record is a conflict, left as it is;
    the other records go back."""
    receipt = _uploaded(repo)
    later = _upload([user("2", title="Prof"), user("7", city="Bergen")], repo, mode="partial")
    assert later.revision == 3
    kept = _records(repo)
    revert = _revert(receipt.revision, repo, overrides="mass_deactivation")
    assert sorted(c.key for c in revert.conflicts) == ["2", "7"]
    for conflict in revert.conflicts:
        assert conflict.record == kept[conflict.key]
        assert "changed again after upload 2" in conflict.message
        assert conflict.code == "changed_since"
    assert not {key for _, key, _ in revert.changes()} & {"2", "7"}
    pv.apply_plan(revert, repo, now=LATEST)
    after = _records(repo)
    assert (after["2"], after["7"]) == (kept["2"], kept["7"])
    assert after["3"] == user("3")
    assert after["8"].status is DEACTIVATED


def test_an_upload_is_reverted_once(repo: AuditRepository) -> None:
    """Once reverted, reverting the same upload again is refused, naming the revert (a
    second revert would only find every record changed since, and move the revision)."""
    receipt = _uploaded(repo)
    done = pv.apply_plan(_revert(receipt.revision, repo, overrides=ALL), repo, now=LATER)
    revision = repo.revision(TENANT.id)
    with pytest.raises(pv.RefusedError, match=f"by upload {done.revision}"):
        _revert(receipt.revision, repo, overrides=ALL)
    assert repo.revision(TENANT.id) == revision


def test_a_refused_attempt_is_no_change(repo: AuditRepository) -> None:
    """A refusal recorded since the upload does not make its record a conflict."""
    receipt = _uploaded(repo)
    refusal = AuditEvent(
        at=LATER,
        tenant_id=TENANT.id,
        key="2",
        actor_id="m-1",
        role="member",
        channel="self",
        kind="refused",
        rules=("ROLE_PERMISSIONS",),
    )
    repo.commit(TENANT.id, ChangeSet(creates=[user("9")]), 2)
    repo.record_refusal(TENANT.id, refusal)  # at revision 3, after the upload
    revert = _revert(receipt.revision, repo, overrides=ALL)
    assert revert.conflicts == ()
    assert "2" in {u.key for u in revert.updates}


def test_a_later_commit_stamped_before_the_upload_is_still_a_conflict(
    repo: AuditRepository,
) -> None:
    """What came later is told by the revision, not by the clock of whoever committed
    (apply_plan's ``now``, another host's clock): its change is left, and listed."""
    receipt = _uploaded(repo)
    _upload([user("2", title="Prof")], repo, mode="partial", now=NOW - dt.timedelta(minutes=1))
    revert = _revert(receipt.revision, repo, overrides=ALL)
    assert [c.key for c in revert.conflicts] == ["2"]
    pv.apply_plan(revert, repo, now=LATER)
    assert _records(repo)["2"] == user("2", title="Prof")


# -- who may revert, and what ------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in pv.Role if r is not pv.Role.SUPER_ADMIN])
def test_only_a_super_admin_reverts(repo: AuditRepository, role: pv.Role) -> None:
    """Any other role gets a refused plan naming REVERT_UPLOAD; applying it raises
    RefusedError and writes nothing."""
    receipt = _uploaded(repo)
    before = _everything(repo)
    actor = pv.Actor(id="someone", role=role)
    revert = _revert(receipt.revision, repo, actor=actor)
    assert revert.refused
    assert revert.rules == (pv.RuleId.REVERT_UPLOAD,)
    assert (revert.channel, revert.file_digest, list(revert.changes())) == (
        Channel.REVERT,
        "revert:2",
        [],
    )
    with pytest.raises(pv.RefusedError) as caught:
        pv.apply_plan(revert, repo, now=LATER)
    assert pv.RuleId.REVERT_UPLOAD in caught.value.rules
    assert _everything(repo) == before


def test_a_tenant_under_a_standard_integration_cannot_revert(repo: AuditRepository) -> None:
    """Records come from the integrated system: the Super Admin's revert is refused."""
    receipt = _uploaded(repo)
    before = _everything(repo)
    revert = _revert(receipt.revision, repo, tenant=INTEGRATION)
    assert revert.refused
    assert revert.rules == (pv.RuleId.INTEGRATION_SOURCE_OF_TRUTH,)
    with pytest.raises(pv.RefusedError):
        pv.apply_plan(revert, repo, now=LATER)
    assert _everything(repo) == before


def test_an_unknown_upload_is_not_found(repo: AuditRepository) -> None:
    """An id no upload of the tenant has (a plain commit's revision, a revision to come,
    another tenant's upload): NotFoundError naming it."""
    receipt = _uploaded(repo)
    repo.commit("globex", ChangeSet(upload=attrs.evolve(receipt.entry, tenant_id="globex")), 0)
    for missing in (1, 3, 99):
        with pytest.raises(pv.NotFoundError) as caught:
            _revert(missing, repo)
        assert (caught.value.kind, caught.value.key) == ("upload", str(missing))
    other = attrs.evolve(TENANT, id="initech")
    with pytest.raises(pv.NotFoundError):
        _revert(receipt.revision, repo, tenant=other)


@pytest.mark.parametrize("upload_id", [0, -1, True, 1.0, "2", None])
def test_an_upload_id_is_a_whole_number_from_one(repo: AuditRepository, upload_id: Any) -> None:
    """InvalidValueError for anything else."""
    _uploaded(repo)
    with pytest.raises(pv.InvalidValueError):
        _revert(upload_id, repo)


def test_a_marketing_upload_is_not_reverted(repo: AuditRepository) -> None:
    """Only Community uploads are reverted: RefusedError naming REVERT_UPLOAD."""
    entry = UploadEntry(
        tenant_id=TENANT.id,
        actor_id=ADMIN.id,
        at=NOW,
        file_digest="sha256:m",
        mode="full",
        product="marketing",
    )
    revision = repo.commit(TENANT.id, ChangeSet(upload=entry), 0)
    with pytest.raises(pv.RefusedError) as caught:
        _revert(revision, repo)
    assert caught.value.rules == (pv.RuleId.REVERT_UPLOAD,)


def _schema_one_file(path: Path) -> None:
    """A file as schema version 1 wrote it: record 1001, upload 1 (before the audit trail)."""
    with sqlite3.connect(path) as con:
        for statement in adapter._MIGRATIONS[0]:
            con.execute(statement)
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        con.execute("INSERT INTO schema_version VALUES (1)")
        con.execute("INSERT INTO revisions VALUES ('acme', 1)")
        con.execute(
            "INSERT INTO records (tenant_id, email_key, legacy_contact_key, first_name,"
            " last_name, email, company_name, status) VALUES ('acme', 'user1001@example.com',"
            " '1001', 'First1001', 'Last', 'user1001@example.com', 'Acme', 'Enabled')"
        )
        con.execute(
            "INSERT INTO uploads (tenant_id, revision, actor_id, at, file_digest, mode,"
            " product, counts) VALUES ('acme', 1, 'sa-1', '2026-01-01T00:00:00+00:00',"
            " 'sha256:0', 'full', 'community', '{}')"
        )
    con.close()


def test_an_upload_from_before_the_audit_trail_is_refused(tmp_path: Path) -> None:
    """A store migrated from schema 1 does not know what its uploads changed: RefusedError
    naming REVERT_UPLOAD, nothing written; an upload applied since reverts."""
    path = tmp_path / "store.db"
    _schema_one_file(path)
    with SqliteRepository(path) as repo:
        (old,) = repo.uploads(TENANT.id)
        assert (old.id, old.audited) == (1, False)
        before = _everything(repo)
        with pytest.raises(pv.RefusedError) as caught:
            _revert(1, repo)
        assert caught.value.rules == (pv.RuleId.REVERT_UPLOAD,)
        assert "REVERT_UPLOAD" in str(caught.value)
        assert _everything(repo) == before
        receipt = _upload([user("1001", title="Dr")], repo, mode="partial")
        revert = _revert(receipt.revision, repo)
        pv.apply_plan(revert, repo, now=LATER)
        assert repo.get(TENANT.id, "1001") == user("1001")


class _NoTrail:
    """A Repository that keeps no audit trail: a memory store seen through the protocol."""

    def __init__(self, inner: MemoryRepository) -> None:
        self._inner = inner

    def get(self, tenant_id: str, key: str) -> pv.UserRecord | None:
        return self._inner.get(tenant_id, key)

    def get_by_email(self, tenant_id: str, email: str) -> pv.UserRecord | None:
        return self._inner.get_by_email(tenant_id, email)

    def records(self, tenant_id: str) -> Iterator[pv.UserRecord]:
        return self._inner.records(tenant_id)

    def count(self, tenant_id: str) -> int:
        return self._inner.count(tenant_id)

    def revision(self, tenant_id: str) -> int:
        return self._inner.revision(tenant_id)

    def uploads(self, tenant_id: str) -> Sequence[UploadEntry]:
        return self._inner.uploads(tenant_id)

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        return self._inner.commit(tenant_id, change_set, expected_revision)


def test_a_repository_without_an_audit_trail_cannot_revert() -> None:
    """InvalidValueError: with no record of what the upload changed, nothing is undone."""
    inner = MemoryRepository()
    repo = _NoTrail(inner)
    assert isinstance(repo, Repository)
    assert not isinstance(repo, AuditLog)
    store(_stored(), repo)
    receipt = _upload(_file(), repo, mode="partial")
    assert receipt.entry.audited is False
    with pytest.raises(pv.InvalidValueError) as caught:
        _revert(receipt.revision, repo)
    assert caught.value.field == "repository"


# -- stale plans -------------------------------------------------------------------------------


def test_a_revert_planned_before_another_commit_is_stale(repo: AuditRepository) -> None:
    """A commit between planning and applying: ConflictError, nothing written; planned
    again, the revert applies."""
    receipt = _uploaded(repo)
    revert = _revert(receipt.revision, repo, overrides=ALL)
    repo.commit(TENANT.id, ChangeSet(creates=[user("9")]), repo.revision(TENANT.id))
    before = _everything(repo)
    with pytest.raises(pv.ConflictError) as caught:
        pv.apply_plan(revert, repo, now=LATER)
    assert (caught.value.expected, caught.value.actual) == (2, 3)
    assert _everything(repo) == before
    again = _revert(receipt.revision, repo, overrides=ALL)
    assert again.revision == 3
    pv.apply_plan(again, repo, now=LATER)
    assert _records(repo)["2"] == user("2")


def test_a_revert_planned_before_a_refusal_still_applies(repo: AuditRepository) -> None:
    """A refused attempt does not move the revision: the plan is not stale."""
    receipt = _uploaded(repo)
    revert = _revert(receipt.revision, repo, overrides=ALL)
    refusal = AuditEvent(
        at=LATER,
        tenant_id=TENANT.id,
        key=None,
        actor_id="m-1",
        role="member",
        channel="self",
        kind="refused",
    )
    repo.record_refusal(TENANT.id, refusal)
    assert pv.apply_plan(revert, repo, now=LATER).revision == 3


# -- a standalone site -------------------------------------------------------------------------


def test_reverting_a_standalone_sites_initial_upload_deactivates_everyone_it_created(
    repo: AuditRepository,
) -> None:
    """The one-time initial upload undone: every record it created deactivated, which
    trips SAFEGUARD_MASS_DEACTIVATION unless overridden."""
    receipt = _upload(users("1", "2", "3"), repo, tenant=STANDALONE, mode="full", overrides=())
    assert receipt.revision == 1
    before = _everything(repo)
    held = _revert(receipt.revision, repo, tenant=STANDALONE)
    assert not held.refused
    assert held.held_by == {pv.Safeguard.MASS_DEACTIVATION}
    assert pv.RuleId.SAFEGUARD_MASS_DEACTIVATION in held.rules
    assert sorted(u.key for u in held.deactivations) == ["1", "2", "3"]
    with pytest.raises(pv.SafeguardError):
        pv.apply_plan(held, repo, now=LATER)
    assert _everything(repo) == before
    revert = _revert(receipt.revision, repo, tenant=STANDALONE, overrides="mass_deactivation")
    assert revert.applicable
    pv.apply_plan(revert, repo, now=LATER)
    assert [r.status for r in _records(repo).values()] == [DEACTIVATED] * 3
    assert [e.file_digest for e in repo.uploads(TENANT.id)] == ["not given", "revert:1"]


def test_a_protected_super_admin_account_is_not_deactivated_silently(
    repo: AuditRepository,
) -> None:
    """The acting Super Admin's own record, created by the upload: deactivating it trips
    SAFEGUARD_SUPER_ADMIN, as an upload would."""
    receipt = _upload([user(ADMIN.id), *users("1", "2")], repo, mode="partial")
    revert = _revert(receipt.revision, repo, overrides="mass_deactivation")
    assert pv.Safeguard.SUPER_ADMIN in revert.held_by
    assert _records(repo)[ADMIN.id].status is ENABLED


# -- one ordered read -------------------------------------------------------------------------


class _WithoutUploadEvents:
    """A SQLite store seen without ``upload_events``: the revert looks records up itself."""

    def __init__(self, inner: SqliteRepository) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "upload_events":
            raise AttributeError(name)
        return getattr(self._inner, name)


@pytest.mark.parametrize("hold", [0, HOLD])
def test_sqlite_reads_an_uploads_events_with_their_records_as_a_lookup_would(hold: int) -> None:
    """upload_events gives each event of the upload, in order, with the record its key
    names now (None for none); a revert planned through it is the one planned by looking
    the records up, conflicts (changed since, invalid before) included."""
    with SqliteRepository(":memory:") as repo:
        receipt = _uploaded(repo)
        _upload([user("2", title="Prof")], repo, mode="partial")
        events = list(repo.events(TENANT.id, upload_id=receipt.revision))
        assert events
        assert list(repo.upload_events(TENANT.id, receipt.revision)) == [
            (e, repo.get(TENANT.id, e.key) if e.key is not None else None) for e in events
        ]
        assert list(repo.upload_events(TENANT.id, receipt.revision + 5)) == []
        plain = _WithoutUploadEvents(repo)
        assert not isinstance(plain, UploadEventReader)
        assert isinstance(repo, UploadEventReader)
        joined = _revert(receipt.revision, repo, overrides=ALL, hold=hold)
        looked_up = _revert(receipt.revision, plain, overrides=ALL, hold=hold)
        assert [c.code for c in joined.conflicts] == ["changed_since"]
        assert joined == looked_up
        assert list(joined.changes()) == list(looked_up.changes())
        for wrong in (-1, None, "2"):
            with pytest.raises(pv.InvalidValueError, match="upload_id must be an int"):
                repo.upload_events(TENANT.id, wrong)  # type: ignore[arg-type]
