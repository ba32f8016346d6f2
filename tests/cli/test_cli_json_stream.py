"""plan/apply --format json: the document is written as its changes are read, unchanged."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import provisioning as pv
from provisioning.adapters import MemoryRepository
from provisioning.cli import _render as render

TENANT = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
ADMIN = pv.Actor(id="sa-1", role="super_admin")


def _member(n: int, company: str = "Acme") -> pv.UserRecord:
    return pv.UserRecord(
        legacy_contact_key=f"{n:05d}",
        first_name="Zoë",
        last_name="O'Brien",
        email=f"user{n}@example.org",
        company_name=company,
        birthday=dt.date(1990, 1, 1),
    )


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 2501])
def test_the_streamed_document_is_the_dumped_one(count: int) -> None:
    """Any number of changes, across write batches: the same JSON as plan_data's dump."""
    repo = MemoryRepository()
    plan = pv.plan_upload(
        TENANT, ADMIN, [_member(n) for n in range(count)], repo, as_of=dt.date(2026, 11, 25)
    )
    written: list[str] = []
    render.write_plan_json(written.append, plan)
    streamed = json.loads("".join(written))
    assert streamed == json.loads(render.dump(render.plan_data(plan)))
    assert len(streamed["changes"]) == count
    assert streamed["format"] == "provisioning-plan-output/1"
    assert len(streamed["password_notices"]) == count
    # A write per thousand items of each streamed list, not one per item.
    assert len(written) <= 10 + 2 * -(-count // 1000)


def test_updates_and_deactivations_stream_as_they_dump() -> None:
    """Field changes (old -> new, dates as ISO text) are written as plan_data has them."""
    repo = MemoryRepository()
    repo.commit("acme", pv.repository.ChangeSet(creates=[_member(n) for n in range(10)]), 0)
    rows = [_member(n, company="Acme & Co") for n in range(9)]
    plan = pv.plan_upload(TENANT, ADMIN, rows, repo, as_of=dt.date(2026, 11, 25))
    assert plan.counts.updated == 9
    assert plan.counts.deactivated == 1
    written: list[str] = []
    render.write_plan_json(written.append, plan)
    assert json.loads("".join(written)) == json.loads(render.dump(render.plan_data(plan)))
