"""Plan the sample Community upload against a store, apply it, then upload it again.

Uses the example tenant ``riverbend`` and ``data/community-upload.csv`` (300 rows, 7 of
them broken on purpose) with the embedded SQLite store in memory. Run it with
``python examples/upload_walkthrough.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import tomllib
from pathlib import Path

import provisioning as pv
from provisioning.adapters import SqliteRepository
from provisioning.serialization import tenant_from_dict
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, write

HERE = Path(__file__).resolve().parent
UPLOAD = HERE / "data" / "community-upload.csv"
AS_OF = dt.date(2026, 11, 25)

document = tomllib.loads((HERE / "tenants" / "riverbend-upload.toml").read_text("utf-8"))
document.pop("actors")  # the command's actors; here we make the one we need
tenant = tenant_from_dict(document)
dana = pv.Actor(id="dana", role="super_admin", name="Dana Whitfield")

with SqliteRepository(":memory:") as repo:
    repo.save_tenant(tenant)

    # 1. The dry run. The broken rows hold the plan: nothing is applied in silence.
    plan = pv.plan_upload_file(UPLOAD, tenant, dana, repo, as_of=AS_OF)
    print(plan)
    assert not plan.applicable
    assert plan.held_by == {pv.Safeguard.ROW_ERRORS}
    for error in plan.row_errors:
        print("  ", error)
    print()

    # 2. Decide to load the valid rows now and fix the others later: override by name.
    plan = pv.plan_upload_file(UPLOAD, tenant, dana, repo, as_of=AS_OF, overrides=["row_errors"])
    receipt = pv.apply_plan(plan, repo)
    print(receipt)
    events = list(receipt.events())
    print(
        f"{len(events)} events, the first: {events[0].kind} {events[0].key} by {events[0].actor_id}"
    )
    # SSO goes live on 2027-01-11, so new users are told to set a password meanwhile.
    print(f"{len(plan.password_notices)} users to tell to set a password")
    assert repo.count(tenant.id) == 293
    print()

    # 3. The same file again changes nothing: applying is idempotent.
    again = pv.plan_upload_file(UPLOAD, tenant, dana, repo, as_of=AS_OF, overrides=["row_errors"])
    print(again.summary())
    assert again.counts.unchanged == 293
    assert not again.creates
    assert not again.updates

    # 4. Export what is stored: the formula someone typed into a cell comes out escaped.
    out = io.StringIO(newline="")
    write(repo.records(tenant.id), out, COMMUNITY_UPLOAD_USERS)
    risky = next(line for line in out.getvalue().splitlines() if "HYPERLINK" in line)
    print(risky)
    assert "'=HYPERLINK" in risky
