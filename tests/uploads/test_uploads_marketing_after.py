"""After a Marketing upload is applied: its audit trail apart from Community's, its results
file, and its revert, on every store where a store is involved."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Iterator

import pytest

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.testing._contract import AuditRepository

DAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
ADMIN = pv.Actor(id="sa-1", role="super_admin")
#: Community and Marketing by upload, contacts keyed by member id.
BOTH = pv.Tenant(
    id="acme",
    name="Acme",
    products={"community": "spreadsheet_upload", "marketing": "spreadsheet_upload"},
    marketing_key="member_id",
)


@contextlib.contextmanager
def _opened(kind: str) -> Iterator[AuditRepository]:
    if kind == "memory":
        yield MemoryRepository()
        return
    with SqliteRepository(":memory:") as repo:
        yield repo


@pytest.fixture(params=["memory", "sqlite"])
def repo(request: pytest.FixtureRequest) -> Iterator[AuditRepository]:
    """A new store of each reference adapter (PostgreSQL runs the contract kit)."""
    with _opened(request.param) as opened:
        yield opened


def _contacts(tenant: pv.Tenant, text: str, repo: AuditRepository, **options: object) -> pv.Receipt:
    rows = pv.read(io.StringIO(text, newline=""), pv.contact_template(tenant))
    plan = pv.plan_contacts(tenant, ADMIN, rows, repo, as_of=DAY, **options)  # type: ignore[arg-type]
    return pv.apply_plan(plan, repo, now=NOW)


def test_a_community_revert_ignores_a_later_contact_of_the_same_key(
    repo: AuditRepository,
) -> None:
    """A contact with a record's key as its member id, uploaded after the record, is no
    change to the record: reverting the Community upload still deactivates it."""
    ada = pv.UserRecord(
        legacy_contact_key="M1",
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        company_name="Engines",
    )
    pv.apply_plan(pv.plan_upload(BOTH, ADMIN, [ada], repo, as_of=DAY), repo, now=NOW)
    _contacts(BOTH, "Email,MemberId\r\nada@example.com,M1\r\n", repo)
    assert [e.product for e in repo.events(BOTH.id, key="M1")] == [
        pv.Product.COMMUNITY,
        pv.Product.MARKETING,
    ]
    plan = pv.plan_revert(BOTH, ADMIN, 1, repo, as_of=DAY)
    assert plan.conflicts == ()
    assert [u.key for u in plan.deactivations] == ["M1"]
