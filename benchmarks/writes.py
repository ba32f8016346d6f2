"""The write path and the audit trail on SQLite, against the targets of their issue.

Times, on a SQLite file in a temporary folder (WAL, ``synchronous = FULL``: each commit
is durable before it returns):

- single-record writes through :mod:`provisioning.writes`: ``--single`` self-registrations,
  then as many admin edits, each its own transaction with its audit event (target:
  >= 1,000 commits a second);
- applying an upload of ``--rows`` changes (every stored record edited) with their audit
  events, and without them, for the cost of the trail (target: >= 50,000 changed records
  a second with events);
- planning the revert of that upload (target: >= 100,000 records a second).

Exit status 0 when every target is met, 1 when one is missed (0 with ``--no-fail``).

    python benchmarks/writes.py                        # 1,000,000 rows, 2,000 single writes
    python benchmarks/writes.py --rows 100000 --single 500
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs

import provisioning as pv
from provisioning import writes
from provisioning.adapters import SqliteRepository
from provisioning.repository import ChangeSet

SITE = pv.Tenant(
    id="harbor",
    name="Harbor",
    products={"community": "standalone"},
    account_requests="auto_approve",
)
UPLOADS = pv.Tenant(id="rb", name="Riverbend", products={"community": "spreadsheet_upload"})
ADMIN = pv.Actor(id="sa-1", role="super_admin")


def member(key: int) -> pv.UserRecord:
    return pv.UserRecord(
        legacy_contact_key=f"M-{key:07d}",
        first_name="Member",
        last_name=str(key),
        email=f"member{key}@example.org",
        company_name="Guild",
        title="Member",
    )


_T = TypeVar("_T")


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def single_writes(folder: Path, count: int) -> tuple[float, float]:
    """Commits a second: registrations, then admin edits."""
    with SqliteRepository(folder / "single.db") as repo:
        start = time.perf_counter()
        for n in range(count):
            writes.register(SITE, member(n), repo)
        registered = rate(count, time.perf_counter() - start)
        start = time.perf_counter()
        for n in range(count):
            writes.edit_user(SITE, ADMIN, member(n).legacy_contact_key, {"title": "Chair"}, repo)
        edited = rate(count, time.perf_counter() - start)
    return registered, edited


class _WithoutTrail:
    """A store seen without its audit trail (no ``events``, no ``record_refusal``)."""

    def __init__(self, inner: SqliteRepository) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in {"events", "record_refusal"}:
            raise AttributeError(name)
        return getattr(self._inner, name)


#: A rate measured both ways: by the clock, and by the CPU time of this process (what
#: the clock would show on a machine with nothing else running, commit waits aside).
Rates = tuple[float, float]


def _timed(count: int, work: Callable[[], _T]) -> tuple[_T, Rates]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, (rate(count, time.perf_counter() - wall), rate(count, time.process_time() - cpu))


def upload(folder: Path, rows: int, name: str, *, audited: bool) -> tuple[Rates, Rates]:
    """Changed records a second applying an upload that edits every stored record, and
    records a second planning its revert (``0`` when not audited)."""
    with SqliteRepository(folder / name) as repo:
        stored = [member(n) for n in range(rows)]
        repo.commit("rb", ChangeSet(creates=stored), 0)
        changed = [attrs.evolve(r, title="Chair") for r in stored]
        plan = pv.plan_upload(UPLOADS, ADMIN, changed, repo, mode="partial")
        assert plan.counts.updated == rows, plan.counts
        # The rows are planned: what is timed below holds the plan only, as the command
        # does (its rows stream from the file).
        del stored, changed
        gc.collect()
        if not audited:
            # The same apply through a view of the store without its audit trail, which
            # apply_plan then writes no events to: what the trail costs.
            _, bare = _timed(rows, lambda: pv.apply_plan(plan, _WithoutTrail(repo)))
            assert next(repo.events("rb", after_revision=plan.revision), None) is None
            return bare, (0.0, 0.0)
        receipt, applied = _timed(rows, lambda: pv.apply_plan(plan, repo))
        upload_id = receipt.entry.id or 0
        revert, planned = _timed(rows, lambda: pv.plan_revert(UPLOADS, ADMIN, upload_id, repo))
        assert revert.counts.updated == rows, revert.counts
    return applied, planned


def _load(average: tuple[float, float, float]) -> str:
    return ", ".join(f"{n:.2f}" for n in average)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write path and audit trail benchmark.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0")
    args = parser.parse_args(argv)
    # The machine may be shared: the load says how far the clock's figures are to be
    # trusted, and the CPU time of this process is reported beside them.
    before = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        registered, edited = single_writes(folder, args.single)
        bare, _ = upload(folder, args.rows, "bare.db", audited=False)
        applied, reverted = upload(folder, args.rows, "audited.db", audited=True)
    rows: list[tuple[str, Rates | float, int]] = [
        ("single registrations (commits/s)", registered, 1_000),
        ("single admin edits (commits/s)", edited, 1_000),
        ("apply with audit events (records/s)", applied, 50_000),
        ("the same apply without events (records/s)", bare, 0),
        ("plan the revert (records/s)", reverted, 100_000),
    ]
    print(f"SQLite, WAL, synchronous = FULL; {args.rows:,} rows, {args.single:,} single writes")
    print(f"  load average (1, 5, 15 min) before: {_load(before)}, after: {_load(os.getloadavg())}")
    print(f"  {'':<42} {'clock':>10} {'CPU time':>10}   target")
    missed = False
    for name, value, target in rows:
        clock, cpu = value if isinstance(value, tuple) else (value, None)
        verdict = "" if not target else ("PASS" if clock >= target else "MISS")
        missed |= verdict == "MISS"
        shown = f">= {target:,}" if target else "reported"
        by_cpu = "" if cpu is None else f"{cpu:,.0f}"
        print(f"  {name:<42} {clock:>10,.0f} {by_cpu:>10}   {shown:<12} {verdict}")
    print(
        f"  the audit trail's cost: {bare[0] / applied[0]:.2f}x the time of the apply without it"
        f" ({bare[1] / applied[1]:.2f}x its CPU time)"
    )
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
