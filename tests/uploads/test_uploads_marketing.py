"""Marketing uploads: contact files planned and applied as Community ones are, by their rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository

DAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
ADMIN = pv.Actor(id="sa-1", role="super_admin")
PRO = pv.Tenant(
    id="acme",
    name="Acme",
    products={"marketing": "spreadsheet_upload"},
    marketing_edition="professional",
)
BY_ID = pv.Tenant(
    id="acme",
    name="Acme",
    products={"marketing": "spreadsheet_upload"},
    marketing_key="member_id",
)
PRO_FILE = (
    "Email\tFirstName\tLastName\r\n"
    "ada@example.com\tAda\tLovelace\r\n"
    "bob@example\tBob\tBad\r\n"
    "ADA@example.com\tAda\tAgain\r\n"
    "cy@example.com\tCy\t\r\n"
)


@pytest.fixture(params=["memory", "sqlite"])
def repo(request: pytest.FixtureRequest) -> Iterator[pv.repository.Repository]:
    """A new store: in memory, and SQLite."""
    if request.param == "memory":
        yield MemoryRepository()
    else:
        with SqliteRepository() as sqlite:
            yield sqlite


def _rows(tenant: pv.Tenant, text: str) -> pv.Reader[pv.Contact]:
    return pv.read(io.StringIO(text, newline=""), pv.contact_template(tenant))


def _plan(
    tenant: pv.Tenant, text: str, repo: pv.repository.Repository, **options: object
) -> pv.ContactPlan:
    return pv.plan_contacts(tenant, ADMIN, _rows(tenant, text), repo, as_of=DAY, **options)  # type: ignore[arg-type]


def test_the_tenant_picks_the_contact_file() -> None:
    """MARKETING_CONTACT_KEY: Professional is tab-delimited by email; Enterprise CSV by
    email or member id, as the tenant says."""
    enterprise = pv.Tenant(id="a", name="A", products={"marketing": "spreadsheet_upload"})
    assert pv.contact_template(PRO) is pv.MARKETING_PROFESSIONAL
    assert pv.contact_template(enterprise) is pv.MARKETING_ENTERPRISE
    assert pv.contact_template(BY_ID) is pv.MARKETING_ENTERPRISE_BY_MEMBER_ID


def test_professional_contacts_are_keyed_by_email_only() -> None:
    """MARKETING_CONTACT_KEY: a Professional tenant keyed by member id is refused."""
    with pytest.raises(pv.InvalidValueError, match="MARKETING_CONTACT_KEY"):
        pv.Tenant(
            id="a",
            name="A",
            products={"marketing": "spreadsheet_upload"},
            marketing_edition="professional",
            marketing_key="member_id",
        )


def test_a_professional_file_is_planned_applied_and_stored(
    repo: pv.repository.Repository,
) -> None:
    """Skipped rows (repeated, invalid emails) are reported, hold nothing; the rest lands."""
    plan = _plan(PRO, PRO_FILE, repo)
    assert plan.applicable, plan
    assert plan.counts == pv.ContactCounts(rows=4, skipped=2, created=2)
    assert [e.code for e in plan.row_errors] == [
        pv.ErrorCode.INVALID_EMAIL,
        pv.ErrorCode.DUPLICATE_EMAIL,
    ]
    receipt = pv.apply_plan(plan, repo, now=NOW)
    assert (receipt.revision, receipt.entry.product) == (1, pv.Product.MARKETING)
    assert dict(receipt.entry.counts)["skipped"] == 2
    assert isinstance(repo, pv.repository.ContactStore)
    assert [k for k, _ in repo.contacts("acme")] == ["ada@example.com", "cy@example.com"]
    assert repo.count("acme") == 0  # no Community record
    again = _plan(PRO, PRO_FILE, repo)
    assert again.counts == pv.ContactCounts(rows=4, skipped=2, unchanged=2)


def test_each_contact_change_is_audited_with_its_product(repo: pv.repository.Repository) -> None:
    """The audit trail keeps one event per contact change, product marketing."""
    pv.apply_plan(_plan(PRO, PRO_FILE, repo), repo, now=NOW)
    changed = PRO_FILE.replace("Ada\tLovelace", "Augusta\tLovelace")
    receipt = pv.apply_plan(_plan(PRO, changed, repo), repo, now=NOW)
    assert isinstance(repo, pv.repository.AuditLog)
    events = list(repo.events("acme", key="ada@example.com"))
    assert [(e.kind, e.product, e.upload_id) for e in events] == [
        (pv.AuditKind.CREATED, pv.Product.MARKETING, 1),
        (pv.AuditKind.UPDATED, pv.Product.MARKETING, 2),
    ]
    assert [str(c) for c in events[1].changes] == ["first_name: 'Ada' -> 'Augusta'"]
    assert [(e.kind.value, e.key) for e in receipt.events()] == [("updated", "ada@example.com")]


def test_only_a_super_admin_uploads_contacts(repo: pv.repository.Repository) -> None:
    """UPLOAD_SUPER_ADMIN_ONLY holds for Marketing too: the plan is refused, not applied."""
    site = pv.Actor(id="x", role="site_admin")
    plan = pv.plan_contacts(PRO, site, _rows(PRO, PRO_FILE), repo, as_of=DAY)
    assert plan.refused
    assert plan.rules == (pv.RuleId.UPLOAD_SUPER_ADMIN_ONLY,)
    with pytest.raises(pv.RefusedError):
        pv.apply_plan(plan, repo)


def test_a_contact_file_keeps_each_subscription(repo: pv.repository.Repository) -> None:
    """MARKETING_SUBSCRIPTION_UPLOADS: an unsubscribed contact stays unsubscribed."""
    gone = pv.Contact(email="ada@example.com", first_name="Ada", subscription="unsubscribed")
    changes = pv.repository.ContactChanges(creates=[gone])
    repo.commit("acme", pv.repository.ChangeSet(contacts=changes), 0)
    plan = _plan(PRO, "Email\tFirstName\r\nada@example.com\tAugusta\r\n", repo)
    (update,) = plan.updates
    assert update.new.subscription is pv.SubscriptionStatus.UNSUBSCRIBED
    assert [c.field for c in update.changes] == ["first_name"]


def test_a_full_import_keeps_the_contacts_it_leaves_out(repo: pv.repository.Repository) -> None:
    """MARKETING_LEFT_OUT_KEPT: a full import changes no contact its file leaves out."""
    pv.apply_plan(_plan(PRO, PRO_FILE, repo), repo, now=NOW)
    plan = _plan(PRO, "Email\r\nzed@example.com\r\n", repo, mode="full")
    assert plan.applicable
    assert (plan.counts.created, plan.counts.unsubscribed, plan.left_out) == (1, 0, 2)
    assert [f.rule for f in plan.findings] == [pv.RuleId.MARKETING_LEFT_OUT_KEPT]


def test_a_host_may_have_a_full_import_unsubscribe_and_be_held(
    repo: pv.repository.Repository,
) -> None:
    """Settings.marketing_full_unsubscribes: left-out contacts are unsubscribed, and the
    mass-deactivation safeguard holds the import as it holds a Community one."""
    pv.apply_plan(_plan(PRO, PRO_FILE, repo), repo, now=NOW)
    book = pv.DEFAULT_RULEBOOK.with_settings(marketing_full_unsubscribes=True)
    plan = _plan(PRO, "Email\r\nzed@example.com\r\n", repo, rulebook=book)
    assert plan.held_by == {pv.Safeguard.MASS_DEACTIVATION}
    assert [u.key for u in plan.unsubscribes] == ["ada@example.com", "cy@example.com"]
    assert "would unsubscribe 2 of 2 subscribed stored contacts" in str(plan)
    plan = _plan(
        PRO, "Email\r\nzed@example.com\r\n", repo, rulebook=book, overrides="mass_deactivation"
    )
    pv.apply_plan(plan, repo, now=NOW)
    assert isinstance(repo, pv.repository.ContactStore)
    assert [c.subscription.value for _, c in repo.contacts("acme")] == [
        "unsubscribed",
        "unsubscribed",
        "subscribed",
    ]
    partial = _plan(PRO, "Email\r\nzed@example.com\r\n", repo, rulebook=book, mode="partial")
    assert partial.unsubscribes == ()


def test_by_member_id_an_email_another_contact_keeps_is_a_conflict(
    repo: pv.repository.Repository,
) -> None:
    """UPLOAD_IDENTITY_CONFLICT: no row takes over another contact's email."""
    first = "Email,MemberId\r\nada@example.com,M1\r\nbob@example.com,M2\r\n"
    pv.apply_plan(_plan(BY_ID, first, repo), repo, now=NOW)
    second = "Email,MemberId\r\nada@example.com,M3\r\nann@example.com,M1\r\nbob@example.com,M4\r\n"
    plan = _plan(BY_ID, second, repo, mode="partial")
    # M1 moves to another email, so M3 may take ada's; M4 may not take M2's.
    assert [(c.key, c.owner_key, c.code) for c in plan.conflicts] == [
        ("M4", "M2", "identity_conflict")
    ]
    assert plan.held_by == {pv.Safeguard.IDENTITY_CONFLICT}
    plan = _plan(BY_ID, second, repo, mode="partial", overrides="identity_conflict")
    pv.apply_plan(plan, repo, now=NOW)
    assert isinstance(repo, pv.repository.ContactStore)
    assert [(k, c.email) for k, c in repo.contacts("acme")] == [
        ("M1", "ann@example.com"),
        ("M2", "bob@example.com"),
        ("M3", "ada@example.com"),
    ]


def test_rows_with_errors_hold_the_plan(repo: pv.repository.Repository) -> None:
    """SAFEGUARD_ROW_ERRORS: a by-member-id row without its member id holds the plan."""
    plan = _plan(BY_ID, "Email,MemberId\r\nada@example.com,\r\nbob@example.com,M2\r\n", repo)
    assert plan.held_by == {pv.Safeguard.ROW_ERRORS}
    assert plan.counts.errors == 1


def test_a_reader_of_another_file_is_refused(repo: pv.repository.Repository) -> None:
    """The file must be the tenant's contact file (MARKETING_CONTACT_KEY)."""
    rows = pv.read(io.StringIO("Email\r\nada@example.com\r\n"), pv.MARKETING_ENTERPRISE)
    with pytest.raises(pv.InvalidValueError, match="MARKETING_CONTACT_KEY"):
        pv.plan_contacts(PRO, ADMIN, rows, repo, as_of=DAY)


def test_plain_contacts_repeating_an_email_are_left_out() -> None:
    """Input that is no reader: of repeated emails only the first row is loaded."""
    rows = [pv.Contact(email="ada@example.com"), pv.Contact(email="ADA@example.com")]
    plan = pv.plan_contacts(PRO, ADMIN, rows, MemoryRepository(), as_of=DAY)
    assert plan.counts.created == 1
    assert [c.code for c in plan.conflicts] == ["duplicate_key"]


def test_a_store_without_contacts_is_refused() -> None:
    """A repository that keeps no contacts cannot take a Marketing plan."""

    class NoContacts:
        def __init__(self) -> None:
            self._inner = MemoryRepository()

        def __getattr__(self, name: str) -> object:
            if name in {"contacts", "get_contacts", "contact_email_owners", "contact_count"}:
                raise AttributeError(name)
            return getattr(self._inner, name)

    with pytest.raises(pv.InvalidValueError, match="keeps no Marketing contacts"):
        pv.plan_contacts(PRO, ADMIN, [], NoContacts(), as_of=DAY)  # type: ignore[arg-type]


def test_a_marketing_upload_is_not_reverted(repo: pv.repository.Repository) -> None:
    """REVERT_UPLOAD: only Community uploads are reverted."""
    pv.apply_plan(_plan(PRO, PRO_FILE, repo), repo, now=NOW)
    with pytest.raises(pv.RefusedError, match="marketing upload"):
        pv.plan_revert(PRO, ADMIN, 1, repo, as_of=DAY)


def test_a_contact_file_is_planned_from_its_path(tmp_path: Path) -> None:
    """plan_contacts_file reads the tenant's file and records the digest of its bytes."""
    path = tmp_path / "contacts.txt"
    path.write_text(PRO_FILE, encoding="utf-8")
    repo = MemoryRepository()
    plan = pv.plan_contacts_file(path, PRO, ADMIN, repo, as_of=DAY)
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert (plan.file_digest, plan.counts.created) == (digest, 2)
    assert pv.apply_plan(plan, repo, now=NOW).entry.file_digest == digest


def test_a_contact_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    """The file-size limit holds for contact files too."""
    path = tmp_path / "contacts.txt"
    path.write_text(PRO_FILE, encoding="utf-8")
    with pytest.raises(pv.SpreadsheetError) as caught:
        pv.plan_contacts_file(path, PRO, ADMIN, MemoryRepository(), as_of=DAY, max_file_size=20)
    assert caught.value.code == "file_too_large"
