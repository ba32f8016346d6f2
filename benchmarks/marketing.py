"""Marketing uploads: plan and apply N contacts from a Professional (tab-delimited) file,
then plan the same file again (every row unchanged), on the in-memory and SQLite stores.

    python benchmarks/marketing.py [N]      # N contacts, 100,000 by default

Each rate is the best of three runs (the machine may be shared); the load is printed.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository

DAY = dt.date(2026, 11, 25)
TENANT = pv.Tenant(
    id="acme",
    name="Acme",
    products={"marketing": "spreadsheet_upload"},
    marketing_edition="professional",
)
ADMIN = pv.Actor(id="sa-1", role="super_admin")


def _plan(text: str, repo: pv.repository.Repository) -> pv.ContactPlan:
    rows = pv.read(io.StringIO(text, newline=""), pv.contact_template(TENANT))
    return pv.plan_contacts(TENANT, ADMIN, rows, repo, as_of=DAY)


def run(n: int, folder: Path) -> dict[str, tuple[float, float, float]]:
    """Rows a second: plan, apply, and plan again, per store."""
    text = "Email\tFirstName\tLastName\n" + "".join(
        f"user{k}@example.com\tFirst{k}\tLast\n" for k in range(n)
    )
    rates: dict[str, tuple[float, float, float]] = {}
    for attempt in range(3):
        stores: dict[str, pv.repository.Repository] = {
            "memory": MemoryRepository(),
            "sqlite": SqliteRepository(folder / f"{attempt}.db"),
        }
        for name, repo in stores.items():
            t0 = time.perf_counter()
            plan = _plan(text, repo)
            t1 = time.perf_counter()
            pv.apply_plan(plan, repo)
            t2 = time.perf_counter()
            again = _plan(text, repo)
            t3 = time.perf_counter()
            assert plan.counts.created == again.counts.unchanged == n
            got = (n / (t1 - t0), n / (t2 - t1), n / (t3 - t2))
            best = rates.get(name, (0.0, 0.0, 0.0))
            rates[name] = (max(best[0], got[0]), max(best[1], got[1]), max(best[2], got[2]))
            if isinstance(repo, SqliteRepository):
                repo.close()
    return rates


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        rates = run(n, Path(folder))
    print(f"{n:,} contacts; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, (plan, apply, again) in rates.items():
        print(
            f"  {name}: plan {plan:,.0f} rows/s, apply {apply:,.0f} contacts/s, "
            f"plan again (unchanged) {again:,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
