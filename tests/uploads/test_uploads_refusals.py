"""Who may upload: a refused plan holds the decision and nothing else."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from _upload_helpers import ADMIN, AS_OF, NOW, TENANT, plan, snapshot, store, user, users

import provisioning as pv
from provisioning.adapters import MemoryRepository
from provisioning.repository import ChangeSet, Repository, UploadEntry

STANDALONE = pv.Tenant(id="acme", name="Acme", products={"community": "standalone"})
INTEGRATED = pv.Tenant(
    id="acme", name="Acme", products={"community": "standard_integration"}, integration="imis"
)
MARKETING_ONLY = pv.Tenant(id="acme", name="Acme", products={"marketing": "spreadsheet_upload"})


class _Unread:
    """A file that fails the test if the planner reads it."""

    def __iter__(self) -> Iterator[pv.UserRecord]:
        raise AssertionError("a refused upload must not read the file")


def unread() -> _Unread:
    """A file that must not be read."""
    return _Unread()


def only_the_decision(refused: pv.UploadPlan, tenant: pv.Tenant, actor: pv.Actor) -> None:
    """The refused plan equals a plan built from its decision alone."""
    assert refused.refused
    assert not refused.applicable
    assert refused == pv.UploadPlan(
        tenant_id=tenant.id,
        product=pv.Product.COMMUNITY,
        mode=pv.UploadMode.FULL,
        actor=actor,
        as_of=AS_OF,
        decision=refused.decision,
        file_digest="sha256:abc",
    )
    assert refused.revision is None
    assert refused.counts == pv.UploadCounts()


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("site_admin", "only a Super Admin may upload records, not a site_admin"),
        ("community_admin", "only a Super Admin may upload records, not a community_admin"),
        ("member", "only a Super Admin may upload records, not a member"),
    ],
)
def test_only_a_super_admin_may_upload(role: str, message: str) -> None:
    """UPLOAD_SUPER_ADMIN_ONLY: any other role gets a refusal naming the rule."""
    actor = pv.Actor(id="x-1", role=role)
    repo = store(users("1"))
    refused = plan(unread(), repo, actor=actor, file_digest="sha256:abc")
    only_the_decision(refused, TENANT, actor)
    assert refused.rules == ("UPLOAD_SUPER_ADMIN_ONLY",)
    assert [f.message for f in refused.decision.refusals] == [message]


def test_integrated_tenants_take_no_upload() -> None:
    """INTEGRATION_SOURCE_OF_TRUTH: the AMS/CRM is the authority, not a spreadsheet."""
    refused = plan(unread(), MemoryRepository(), tenant=INTEGRATED, file_digest="sha256:abc")
    only_the_decision(refused, INTEGRATED, ADMIN)
    assert refused.rules == ("INTEGRATION_SOURCE_OF_TRUTH",)
    assert refused.decision.refusals[0].message == (
        "uploads are not for integrated sites; records come from iMIS"
    )


def test_a_tenant_without_community_takes_no_community_upload() -> None:
    """PRODUCT_NOT_LICENSED: the method of an unlicensed product is not an upload."""
    refused = plan(unread(), MemoryRepository(), tenant=MARKETING_ONLY, file_digest="sha256:abc")
    only_the_decision(refused, MARKETING_ONLY, ADMIN)
    assert refused.rules == ("PRODUCT_NOT_LICENSED",)


def test_refusals_and_rules_come_together() -> None:
    """UPLOAD_SUPER_ADMIN_ONLY and INTEGRATION_SOURCE_OF_TRUTH: every refusal is named."""
    actor = pv.Actor(id="m-1", role="member")
    refused = plan(unread(), MemoryRepository(), tenant=INTEGRATED, actor=actor)
    assert refused.rules == ("UPLOAD_SUPER_ADMIN_ONLY", "INTEGRATION_SOURCE_OF_TRUTH")


def test_standalone_allows_the_initial_upload() -> None:
    """STANDALONE_ONE_TIME_UPLOAD: the first upload of a standalone site is allowed."""
    first = plan(users("1", "2"), MemoryRepository(), tenant=STANDALONE)
    assert first.applicable
    assert first.decision.action is pv.Action.INITIAL_UPLOAD
    assert [(f.rule, f.severity) for f in first.decision.findings] == [
        ("STANDALONE_ONE_TIME_UPLOAD", pv.Severity.INFO)
    ]


def test_standalone_refuses_a_second_upload_once_the_first_is_in_the_history() -> None:
    """STANDALONE_ONE_TIME_UPLOAD: the upload history is what makes the first one-time."""
    repo = MemoryRepository()
    pv.apply_plan(plan(users("1"), repo, tenant=STANDALONE), repo, now=NOW)
    assert len(repo.uploads(TENANT.id)) == 1
    refused = plan(unread(), repo, tenant=STANDALONE, file_digest="sha256:abc")
    only_the_decision(refused, STANDALONE, ADMIN)
    assert refused.rules == ("STANDALONE_ONE_TIME_UPLOAD",)
    assert refused.decision.action is pv.Action.SUBSEQUENT_UPLOAD
    assert refused.decision.refusals[0].message == ("standalone allows only the one initial upload")


def _after_a_marketing_upload() -> MemoryRepository:
    """A store whose history holds one Marketing upload, and no Community one."""
    repo = MemoryRepository()
    marketing = UploadEntry(
        tenant_id=TENANT.id,
        actor_id="sa-1",
        at=NOW,
        file_digest="sha256:contacts",
        mode="full",
        product="marketing",
    )
    repo.commit(TENANT.id, ChangeSet(upload=marketing), repo.revision(TENANT.id))
    return repo


def test_decide_and_the_planner_agree_once_the_initial_upload_is_applied() -> None:
    """STANDALONE_ONE_TIME_UPLOAD: the tenant as stored answers decide as the planner does."""
    repo = MemoryRepository()
    assert pv.decide(pv.tenant_as_stored(STANDALONE, repo), ADMIN, pv.Action.INITIAL_UPLOAD)
    pv.apply_plan(plan(users("1"), repo, tenant=STANDALONE), repo, now=NOW)
    stored = pv.tenant_as_stored(STANDALONE, repo)
    assert stored.initial_upload_done
    decision = pv.decide(stored, ADMIN, pv.Action.INITIAL_UPLOAD)
    assert not decision
    assert decision.rules == ("STANDALONE_ONE_TIME_UPLOAD",)
    assert plan(users("1"), repo, tenant=STANDALONE).refused


def test_the_tenant_as_stored_counts_only_community_uploads() -> None:
    """STANDALONE_ONE_TIME_UPLOAD: a Marketing upload in the history settles nothing."""
    repo = _after_a_marketing_upload()
    assert pv.tenant_as_stored(STANDALONE, repo) is STANDALONE


def test_standalone_refuses_an_upload_when_the_tenant_says_the_first_happened() -> None:
    """STANDALONE_ONE_TIME_UPLOAD: a tenant flagged initial_upload_done needs no history."""
    done = pv.Tenant(
        id="acme", name="Acme", products={"community": "standalone"}, initial_upload_done=True
    )
    refused = plan(unread(), MemoryRepository(), tenant=done)
    assert refused.rules == ("STANDALONE_ONE_TIME_UPLOAD",)


def test_upload_tenants_upload_again_and_again() -> None:
    """UPLOAD_SINGLE_SOURCE: under spreadsheet upload, every change comes by upload."""
    repo = MemoryRepository()
    for round_ in range(3):
        receipt = pv.apply_plan(plan(users(str(round_)), repo, mode="partial"), repo, now=NOW)
        assert receipt.revision == round_ + 1
    assert len(repo.uploads(TENANT.id)) == 3


def test_refused_plan_summary_and_html_name_the_rule() -> None:
    """UPLOAD_SUPER_ADMIN_ONLY: the summary and the HTML say refused and why."""
    refused = plan(unread(), MemoryRepository(), actor=pv.Actor(id="m-1", role="member"))
    assert refused.summary() == (
        "upload to acme (community, full) by m-1: refused\n"
        "  [error] UPLOAD_SUPER_ADMIN_ONLY: only a Super Admin may upload records, not a member"
    )
    assert str(refused) == refused.summary()
    html = refused._repr_html_()
    assert "upload to acme: refused" in html
    assert "UPLOAD_SUPER_ADMIN_ONLY" in html
    assert refused.to_records() == []
    assert list(refused.changes()) == []


class _FirstUploadInBetween:
    """A store where another writer commits a first upload just after the history is read."""

    def __init__(self, inner: MemoryRepository) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def uploads(self, tenant_id: str) -> Sequence[UploadEntry]:
        history = self.inner.uploads(tenant_id)
        if not history:
            entry = UploadEntry(
                tenant_id=tenant_id,
                actor_id="sa-2",
                at=NOW,
                file_digest="sha256:other",
                mode="full",
            )
            change_set = ChangeSet(creates=[user("9")], upload=entry)
            self.inner.commit(tenant_id, change_set, self.inner.revision(tenant_id))
        return history


def test_a_first_upload_committed_while_planning_makes_the_plan_stale() -> None:
    """STANDALONE_ONE_TIME_UPLOAD: of two first uploads planned at once, one lands."""
    inner = MemoryRepository()
    repo: Repository = _FirstUploadInBetween(inner)  # type: ignore[assignment]  # delegates
    planned = plan(users("1"), repo, tenant=STANDALONE, mode="partial")
    assert planned.applicable  # it saw an empty history ...
    assert planned.revision == 0  # ... at the revision read before it
    before = snapshot(inner)
    with pytest.raises(pv.ConflictError):
        pv.apply_plan(planned, inner, now=NOW)
    assert snapshot(inner) == before
    assert [e.actor_id for e in inner.uploads(TENANT.id)] == ["sa-2"]


def test_a_marketing_upload_is_not_the_community_initial_upload() -> None:
    """STANDALONE_ONE_TIME_UPLOAD: only the product's own uploads count in the history."""
    repo = _after_a_marketing_upload()
    first = plan(users("1"), repo, tenant=STANDALONE)
    assert first.applicable
    assert first.decision.action is pv.Action.INITIAL_UPLOAD


def test_an_unknown_mode_names_the_field() -> None:
    """plan_upload refuses a mode it does not know with InvalidValueError naming it."""
    with pytest.raises(pv.InvalidValueError, match="mode: 'everything' is not one of") as caught:
        plan(users("1"), MemoryRepository(), mode="everything")
    assert caught.value.field == "mode"
