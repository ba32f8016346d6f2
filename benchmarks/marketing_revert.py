"""Marketing revert: undo an upload that changed N contacts, on SQLite, then write the
results file of the revert.

    python benchmarks/marketing_revert.py [N]      # N contacts, 100,000 by default

A first upload creates N contacts, a second (partial) one changes every contact's first
name; the revert of the second is planned (``plan_contacts_revert``), applied, and its
results written (``write_results``). Each time is the best of three runs (the machine
may be shared; the load is printed); planning's peak Python memory is traced in a run
of its own (tracing slows it), to show it stays flat: past ``hold`` changes the plan's
lists go to a temporary file.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import provisioning as pv
from provisioning.adapters import SqliteRepository

TENANT = pv.Tenant(id="acme", name="Acme", products={"marketing": "spreadsheet_upload"})
ADMIN = pv.Actor(id="sa-1", role="super_admin")
DAY = dt.date(2026, 11, 25)


def _upload(repo: SqliteRepository, text: str, **options: object) -> pv.Receipt:
    rows = pv.read(io.StringIO(text, newline=""), pv.contact_template(TENANT))
    plan = pv.plan_contacts(TENANT, ADMIN, rows, repo, as_of=DAY, **options)  # type: ignore[arg-type]
    return pv.apply_plan(plan, repo)


def _file(n: int, name: str) -> str:
    return "Email,FirstName\r\n" + "".join(f"c{i}@example.com,{name}{i}\r\n" for i in range(n))


def run(n: int) -> tuple[float, float, float, int]:
    """One run in a new store: (plan, apply, results) seconds and the result rows."""
    with (
        tempfile.TemporaryDirectory() as folder,
        SqliteRepository(Path(folder) / "store.db") as repo,
    ):
        _upload(repo, _file(n, "A"))
        upload = _upload(repo, _file(n, "B"), mode="partial")
        upload_id = upload.entry.id or 0
        start = time.perf_counter()
        plan = pv.plan_contacts_revert(TENANT, ADMIN, upload_id, repo, as_of=DAY)
        planned = time.perf_counter() - start
        assert plan.counts.updated == n, plan.summary()
        start = time.perf_counter()
        receipt = pv.apply_plan(plan, repo)
        applied = time.perf_counter() - start
        start = time.perf_counter()
        rows = pv.write_results(receipt, io.StringIO(newline=""))
        written = time.perf_counter() - start
        return planned, applied, written, rows


def peak(n: int) -> int:
    """Planning's peak traced Python memory, in bytes."""
    with (
        tempfile.TemporaryDirectory() as folder,
        SqliteRepository(Path(folder) / "store.db") as repo,
    ):
        _upload(repo, _file(n, "A"))
        upload_id = _upload(repo, _file(n, "B"), mode="partial").entry.id or 0
        tracemalloc.start()
        pv.plan_contacts_revert(TENANT, ADMIN, upload_id, repo, as_of=DAY)
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{n} contacts; load average {load}")
    runs = [run(n) for _ in range(3)]
    plan, apply, results = (min(r[i] for r in runs) for i in range(3))
    print(f"  plan revert {plan:.2f} s ({n / plan:,.0f} contacts/s)")
    print(f"  apply {apply:.2f} s ({n / apply:,.0f} contacts/s)")
    print(f"  results {runs[0][3]} rows in {results:.2f} s")
    print(f"  planning peak traced memory {peak(n) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
