"""The write path for one record: decided as decide() decides, committed with its event."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import provisioning as pv
from provisioning import writes
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.repository import Repository

NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
DAY = NOW.date()
SITE = pv.Tenant(
    id="harbor",
    name="Harbor",
    products={"community": "standalone"},
    account_requests="auto_approve",
)
UPLOADS = pv.Tenant(id="rb", name="Riverbend", products={"community": "spreadsheet_upload"})
ADMIN = pv.Actor(id="sa-1", role="super_admin")
SCENARIOS = [s for s in pv.scenarios() if s.product is pv.Product.COMMUNITY]


def user(key: str, **fields: object) -> pv.UserRecord:
    values: dict[str, object] = {
        "first_name": "First",
        "last_name": "Last",
        "email": f"user{key}@example.org",
        "company_name": "Acme",
        **fields,
    }
    return pv.UserRecord(legacy_contact_key=key, **values)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "sqlite"])
def repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    if request.param == "memory":
        yield MemoryRepository()
        return
    with SqliteRepository(":memory:") as store:
        yield store


@pytest.mark.parametrize(
    ("policy", "verify", "status"),
    [
        ("auto_approve", False, pv.RecordStatus.ENABLED),
        ("admin_approval", False, pv.RecordStatus.PENDING_APPROVAL),
        ("admin_approval", True, pv.RecordStatus.PENDING_VERIFICATION),
        ("auto_approve", True, pv.RecordStatus.PENDING_VERIFICATION),
    ],
)
def test_a_registration_follows_the_sites_policy(
    repo: Repository, policy: str, verify: bool, status: pv.RecordStatus
) -> None:
    site = pv.Tenant(
        id="harbor",
        name="Harbor",
        products={"community": "standalone"},
        account_requests=pv.AccountRequests(policy=policy, email_verification=verify),
    )
    result = writes.register(site, user("1001", status="Enabled"), repo, now=NOW)
    assert result.record.status is status
    assert repo.get("harbor", "1001") == result.record
    assert result.revision == repo.revision("harbor") == 1
    (event,) = repo.events("harbor")  # type: ignore[attr-defined]
    assert (event.kind, event.channel, event.actor_id, event.role) == (
        pv.AuditKind.CREATED,
        pv.Channel.REGISTRATION,
        "1001",
        pv.Role.MEMBER,
    )
    assert "STANDALONE_ACCOUNT_REQUESTS" in event.rules


def test_a_refused_write_raises_with_its_decision_writes_nothing_and_is_audited(
    repo: Repository,
) -> None:
    with pytest.raises(pv.RefusedError) as caught:
        writes.create_user(UPLOADS, ADMIN, user("1"), repo, now=NOW)
    assert caught.value.rules == ("UPLOAD_SINGLE_SOURCE",)
    decision = caught.value.decision
    assert decision is not None
    assert not decision.allowed
    assert repo.count("rb") == 0
    assert repo.revision("rb") == 0
    (event,) = repo.events("rb")  # type: ignore[attr-defined]
    assert (event.kind, event.key, event.rules) == (
        pv.AuditKind.REFUSED,
        "1",
        ("UPLOAD_SINGLE_SOURCE",),
    )


def test_admin_edit_deactivate_and_own_edit_are_audited_field_by_field(repo: Repository) -> None:
    writes.create_user(SITE, ADMIN, user("7"), repo, now=NOW)
    edited = writes.edit_user(SITE, ADMIN, "7", {"title": "Dr", "city": "Oslo"}, repo, now=NOW)
    assert [(c.field, c.old, c.new) for c in edited.event.changes] == [
        ("title", None, "Dr"),
        ("city", None, "Oslo"),
    ]
    own = writes.edit_own_profile(SITE, pv.Actor(id="7", role="member"), {"city": "Bergen"}, repo)
    assert own.event.channel is pv.Channel.SELF
    off = writes.deactivate_user(SITE, ADMIN, "7", repo, now=NOW)
    assert off.record.status is pv.RecordStatus.DEACTIVATED
    kinds = [e.kind.value for e in repo.events("harbor", key="7")]  # type: ignore[attr-defined]
    assert kinds == ["created", "updated", "updated", "deactivated"]
    with pytest.raises(pv.InvalidValueError, match="deactivated already"):
        writes.deactivate_user(SITE, ADMIN, "7", repo)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"status": "Enabled"}, "status"),
        ({"legacy_contact_key": "9"}, "legacy_contact_key"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_an_edit_is_checked_as_a_record_is(
    repo: Repository, values: dict[str, object], field: str
) -> None:
    writes.create_user(SITE, ADMIN, user("7"), repo)
    with pytest.raises(pv.InvalidValueError) as caught:
        writes.edit_user(SITE, ADMIN, "7", values, repo)
    assert field in str(caught.value)
    assert repo.revision("harbor") == 1


def test_a_missing_record_and_a_taken_key_are_errors(repo: Repository) -> None:
    with pytest.raises(pv.NotFoundError):
        writes.edit_user(SITE, ADMIN, "404", {"title": "Dr"}, repo)
    writes.create_user(SITE, ADMIN, user("7"), repo)
    with pytest.raises(pv.InvalidValueError, match="stored already"):
        writes.create_user(SITE, ADMIN, user("7", title="Dr"), repo)


def test_a_write_makes_a_saved_upload_plan_stale(repo: Repository) -> None:
    site = pv.Tenant(id="rb", name="Riverbend", products={"community": "spreadsheet_upload"})
    plan = pv.plan_upload(site, ADMIN, [user("1")], repo, as_of=DAY)
    writes_site = pv.Tenant(id="rb", name="Riverbend", products={"community": "standalone"})
    writes.create_user(writes_site, ADMIN, user("2"), repo)
    with pytest.raises(pv.ConflictError):
        pv.apply_plan(plan, repo)


def test_two_registrations_at_once_both_succeed(tmp_path: object) -> None:
    path = f"{tmp_path}/store.db"
    SqliteRepository(path).close()
    errors: list[BaseException] = []

    def register(key: str) -> None:
        with SqliteRepository(path) as store:
            try:
                for n in range(10):
                    writes.register(SITE, user(f"{key}-{n}"), store)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=register, args=(k,)) for k in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with SqliteRepository(path) as store:
        assert store.count("harbor") == 20
        assert store.revision("harbor") == 20


def test_an_edit_of_a_record_changed_meanwhile_conflicts(repo: Repository) -> None:
    """The second of two edits of one record finds it changed: ConflictError, no lost update."""
    writes.create_user(SITE, ADMIN, user("7"), repo)
    original_get = repo.get
    calls = {"n": 0}

    def racing_get(tenant_id: str, key: str) -> pv.UserRecord | None:
        calls["n"] += 1
        if calls["n"] == 2:  # after the write read the record, another edit lands
            writes.edit_user(SITE, ADMIN, "7", {"title": "Prof"}, repo)
        return original_get(tenant_id, key)

    repo.get = racing_get  # type: ignore[method-assign]
    with pytest.raises(pv.ConflictError):
        writes.edit_user(SITE, ADMIN, "7", {"title": "Dr"}, repo)
    repo.get = original_get  # type: ignore[method-assign]
    stored = repo.get("harbor", "7")
    assert stored is not None
    assert stored.title == "Prof"


_ACTIONS = {
    pv.Action.ADMIN_CREATE_USER: "create",
    pv.Action.ADMIN_EDIT_USER: "edit",
    pv.Action.DEACTIVATE_USER: "deactivate",
    pv.Action.EDIT_OWN_PROFILE: "own",
    pv.Action.SELF_REGISTER: "register",
    pv.Action.APPROVE_REQUEST: "approve",
    pv.Action.REJECT_REQUEST: "reject",
    pv.Action.VERIFY_EMAIL: "verify",
    pv.Action.REACTIVATE_USER: "reactivate",
    pv.Action.DELETE_PERSONAL_DATA: "delete",
    pv.Action.INTEGRATION_SYNC: "push",
}
#: The status a record needs for each verb to have something to do.
_BEFORE = {
    "approve": "Pending Approval",
    "reject": "Pending Approval",
    "verify": "Pending Verification",
    "reactivate": "Deactivated",
}


def test_every_action_that_changes_a_record_has_a_write_path() -> None:
    changing = set(pv.Action) - {
        pv.Action.LOCAL_LOGIN,
        pv.Action.SSO_LOGIN,
        pv.Action.CHANGE_METHOD,
        pv.Action.INITIAL_UPLOAD,  # uploads: plan_upload
        pv.Action.SUBSEQUENT_UPLOAD,
        pv.Action.REVERT_UPLOAD,  # plan_revert
    }
    assert changing == set(_ACTIONS)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(SCENARIOS),
    st.sampled_from(sorted(pv.Role, key=str)),
    st.sampled_from(sorted(_ACTIONS, key=str)),
)
def test_the_write_path_refuses_exactly_when_decide_refuses(
    scenario: pv.rules.Scenario, role: pv.Role, action: pv.Action
) -> None:
    tenant = scenario.tenant
    own = action in {pv.Action.SELF_REGISTER, pv.Action.VERIFY_EMAIL}
    actor = pv.Actor(id="7", role="member" if own else role)
    repo = MemoryRepository()
    verb = _ACTIONS[action]
    if action is not pv.Action.ADMIN_CREATE_USER and action is not pv.Action.SELF_REGISTER:
        stored = user("7", status=_BEFORE.get(verb, "Enabled"))
        repo.commit(tenant.id, pv.repository.ChangeSet(creates=[stored]), 0)
    expected = pv.decide(tenant, actor, action, as_of=DAY)
    refused: pv.RefusedError | None = None
    try:
        if verb == "create":
            writes.create_user(tenant, actor, user("7"), repo, as_of=DAY)
        elif verb == "edit":
            writes.edit_user(tenant, actor, "7", {"title": "Dr"}, repo, as_of=DAY)
        elif verb == "deactivate":
            writes.deactivate_user(tenant, actor, "7", repo, as_of=DAY)
        elif verb == "own":
            writes.edit_own_profile(tenant, actor, {"title": "Dr"}, repo, as_of=DAY)
        elif verb == "approve":
            writes.approve_request(tenant, actor, "7", repo, as_of=DAY)
        elif verb == "reject":
            writes.reject_request(tenant, actor, "7", repo, as_of=DAY)
        elif verb == "verify":
            writes.verify_email(tenant, "7", repo, as_of=DAY)
        elif verb == "reactivate":
            writes.reactivate_user(tenant, actor, "7", repo, as_of=DAY)
        elif verb == "delete":
            writes.delete_personal_data(tenant, actor, "7", repo, as_of=DAY)
        elif verb == "push":
            off = writes.PushOperation(op="deactivate", record={"LegacyContactKey": "7"})
            writes.push(tenant, actor, [off], repo, as_of=DAY)
        else:
            writes.register(tenant, user("7"), repo, as_of=DAY)
    except pv.RefusedError as exc:
        refused = exc
    assert (refused is None) == expected.allowed
    if refused is not None:
        assert refused.decision == expected


def test_a_request_is_verified_then_approved_or_rejected(repo: Repository) -> None:
    site = pv.Tenant(
        id="harbor",
        name="Harbor",
        products={"community": "standalone"},
        account_requests=pv.AccountRequests(policy="admin_approval", email_verification=True),
    )
    writes.register(site, user("1"), repo)
    writes.register(site, user("2"), repo)
    with pytest.raises(pv.InvalidValueError, match="nothing to approve"):
        writes.approve_request(site, ADMIN, "1", repo)
    assert writes.verify_email(site, "1", repo).record.status is pv.RecordStatus.PENDING_APPROVAL
    writes.verify_email(site, "2", repo)
    assert writes.approve_request(site, ADMIN, "1", repo).record.status is pv.RecordStatus.ENABLED
    rejected = writes.reject_request(site, ADMIN, "2", repo)
    assert rejected.record.status is pv.RecordStatus.REJECTED
    assert repo.count("harbor") == 2  # a rejected request is kept
    kinds = [e.kind.value for e in repo.events("harbor", key="1")]  # type: ignore[attr-defined]
    assert kinds == ["created", "verified", "approved"]


def test_verification_enables_at_once_where_requests_are_auto_approved(repo: Repository) -> None:
    site = pv.Tenant(
        id="harbor",
        name="Harbor",
        products={"community": "standalone"},
        account_requests=pv.AccountRequests(policy="auto_approve", email_verification=True),
    )
    writes.register(site, user("1"), repo)
    assert writes.verify_email(site, "1", repo).record.status is pv.RecordStatus.ENABLED


def test_reactivation_is_explicit(repo: Repository) -> None:
    writes.create_user(SITE, ADMIN, user("7"), repo)
    with pytest.raises(pv.InvalidValueError, match="nothing to reactivate"):
        writes.reactivate_user(SITE, ADMIN, "7", repo)
    writes.deactivate_user(SITE, ADMIN, "7", repo)
    back = writes.reactivate_user(SITE, ADMIN, "7", repo)
    assert back.record.status is pv.RecordStatus.ENABLED
    assert back.event.kind is pv.AuditKind.REACTIVATED


# -- deleting a person's data -----------------------------------------------------------------


def _deleted(repo: Repository) -> writes.WriteResult:
    """Record 7 created, edited, then its person's data deleted, on the standalone site."""
    writes.create_user(SITE, ADMIN, user("7", title="Dr", city="Oslo"), repo, now=NOW)
    writes.edit_user(SITE, ADMIN, "7", {"last_name": "Byron"}, repo, now=NOW)
    writes.create_user(SITE, ADMIN, user("8"), repo, now=NOW)
    return writes.delete_personal_data(SITE, ADMIN, "7", repo, now=NOW)


def test_deleting_personal_data_keeps_a_tombstone_and_redacts_the_trail(
    repo: Repository,
) -> None:
    """The record keeps its key, status Deleted and no personal value; its earlier events
    keep their shape with every personal value redacted; another record's are untouched;
    the email is free again."""
    result = _deleted(repo)
    stored = repo.get("harbor", "7")
    assert stored == result.record
    assert stored is not None
    assert stored.status is pv.RecordStatus.DELETED
    assert "user7" not in repr(stored)
    assert "Byron" not in repr(stored)
    assert stored.title is None
    assert stored.city is None
    trail = list(repo.events("harbor"))  # type: ignore[attr-defined]
    assert [(e.key, e.kind.value) for e in trail] == [
        ("7", "created"), ("7", "updated"), ("8", "created"), ("7", "redacted")
    ]  # fmt: skip
    assert "Byron" not in repr(trail)
    assert "user7" not in repr(trail)
    assert [(c.field, c.old, c.new) for c in trail[1].changes] == [
        ("last_name", "[redacted]", "[redacted]")
    ]
    gone = {c.field: (c.old, c.new) for c in trail[3].changes}
    assert gone["status"] == ("Enabled", "Deleted")
    assert gone["title"] == ("[redacted]", None)
    assert trail[3].rules == result.event.rules
    again = writes.create_user(SITE, ADMIN, user("9", email="user7@example.org"), repo)
    assert again.record.email == "user7@example.org"


def test_nothing_brings_a_deleted_person_back(repo: Repository) -> None:
    """Edit, deactivate, reactivate, delete again: refused as errors, nothing written."""
    _deleted(repo)
    revision = repo.revision("harbor")
    with pytest.raises(pv.InvalidValueError, match="DEACTIVATE_NOT_DELETE"):
        writes.edit_user(SITE, ADMIN, "7", {"title": "Prof"}, repo)
    with pytest.raises(pv.InvalidValueError, match="DEACTIVATE_NOT_DELETE"):
        writes.deactivate_user(SITE, ADMIN, "7", repo)
    with pytest.raises(pv.InvalidValueError, match="DEACTIVATE_NOT_DELETE"):
        writes.reactivate_user(SITE, ADMIN, "7", repo)
    with pytest.raises(pv.InvalidValueError, match="DEACTIVATE_NOT_DELETE"):
        writes.delete_personal_data(SITE, ADMIN, "7", repo)
    with pytest.raises(pv.NotFoundError):
        writes.delete_personal_data(SITE, ADMIN, "nobody", repo)
    assert repo.revision("harbor") == revision


def test_a_push_or_an_upload_leaves_a_deleted_person_out(repo: Repository) -> None:
    """An upsert of a deleted person changes nothing (listed unchanged); an upload row of
    them is left out and reported, holding nothing; a full import without them touches
    nothing of theirs."""
    summit = pv.Tenant(
        id="harbor", name="Harbor", products={"community": "standard_integration"},
        integration="imis",
    )  # fmt: skip
    _deleted(repo)
    bot = pv.Actor(id="imis", role="integration")
    cells = {"LegacyContactKey": "7", "FirstName": "Ada", "LastName": "Byron",
             "EmailAddress": "ada@example.org", "CompanyName": "Acme"}  # fmt: skip
    pushed = writes.push(summit, bot, [writes.PushOperation(op="upsert", record=cells)], repo)
    assert isinstance(pushed, writes.PushResult)
    assert pushed.unchanged == ("7",)
    assert pushed.revision is None
    uploads = pv.Tenant(id="harbor", name="Harbor", products={"community": "spreadsheet_upload"})
    for mode, rows in (("partial", [user("7", last_name="Byron")]), ("full", [user("8")])):
        plan = pv.plan_upload(uploads, ADMIN, rows, repo, mode=mode, as_of=DAY)
        assert plan.applicable, plan.findings
        assert plan.counts.created + plan.counts.updated + plan.counts.deactivated == 0
        if mode == "partial":
            (left_out,) = plan.conflicts
            assert left_out.key == "7"
            assert "DEACTIVATE_NOT_DELETE" in left_out.message
    stored = repo.get("harbor", "7")
    assert stored is not None
    assert stored.status is pv.RecordStatus.DELETED


def test_a_member_cannot_set_the_facts_of_their_own_membership(repo: Repository) -> None:
    """A member's own edit may change their title, not their member id, dates, member flag
    or the host's custom columns; nothing is written."""
    writes.create_user(SITE, ADMIN, user("7"), repo)
    me = pv.Actor(id="7", role="member")
    revision = repo.revision("harbor")
    for values in (
        {"is_member": True},
        {"member_expires_on": dt.date(2099, 1, 1)},
        {"member_id": "GOLD-1", "title": "Dr"},
        {"custom": {"Chapter": "North"}},
    ):
        with pytest.raises(pv.InvalidValueError, match="organisation keeps"):
            writes.edit_own_profile(SITE, me, values, repo)
    assert repo.revision("harbor") == revision
    assert writes.edit_own_profile(SITE, me, {"title": "Dr"}, repo).record.title == "Dr"


def test_a_write_racing_a_method_switch_is_decided_again_and_refused() -> None:
    """A create decided on a standalone site, whose commit finds the site switched to
    spreadsheet upload meanwhile, is decided again on the stored tenant: refused,
    nothing written."""
    repo = MemoryRepository()
    repo.save_tenant(SITE)
    original = repo.commit
    calls = {"n": 0}

    def racing_commit(
        tenant_id: str, change_set: pv.repository.ChangeSet, expected_revision: int
    ) -> int:
        calls["n"] += 1
        if calls["n"] == 1:  # the switch lands between the decision and the commit
            writes.change_tenant(
                pv.Tenant(id="harbor", name="Harbor", products={"community": "spreadsheet_upload"}),
                repo,
                actor=ADMIN,
            )
        return original(tenant_id, change_set, expected_revision)

    repo.commit = racing_commit  # type: ignore[method-assign]
    with pytest.raises(pv.RefusedError) as refused:
        writes.create_user(SITE, ADMIN, user("7"), repo)
    assert refused.value.rules == ("UPLOAD_SINGLE_SOURCE",)
    assert repo.get("harbor", "7") is None


def test_an_edit_that_changes_nothing_writes_nothing(repo: Repository) -> None:
    """Setting a field to the value it holds is an error: no empty event, no revision."""
    writes.create_user(SITE, ADMIN, user("7", title="Dr"), repo)
    revision = repo.revision("harbor")
    with pytest.raises(pv.InvalidValueError, match="changes nothing"):
        writes.edit_user(SITE, ADMIN, "7", {"title": "Dr"}, repo)
    assert repo.revision("harbor") == revision
