"""Bulk work on PostgreSQL beside SQLite, against the targets of the PostgreSQL issue.

On a PostgreSQL database (``--conninfo``, or a throwaway server started from the
machine's binaries, as the tests do) and on a SQLite file, times:

- applying an upload that edits every one of ``--rows`` stored records, with its audit
  events (target on PostgreSQL: >= 100,000 changed records a second, twice SQLite's
  target);
- planning ``--rows`` already-parsed rows against as many stored records streamed from
  the store (target on PostgreSQL: >= 150,000 rows a second);

and reports this process's peak resident memory after each (the client's: the server's
is its own; it includes the parsed rows the benchmark holds). Exit status 0 when the
PostgreSQL targets are met, 1 otherwise (0 with ``--no-fail``).

    python benchmarks/postgres.py                     # 1,000,000 rows
    python benchmarks/postgres.py --rows 100000 --conninfo "host=/tmp port=5432 dbname=x"
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

import provisioning as pv
from provisioning.adapters import PostgresRepository, SqliteRepository
from provisioning.repository import ChangeStream

UPLOADS = pv.Tenant(id="rb", name="Riverbend", products={"community": "spreadsheet_upload"})
ADMIN = pv.Actor(id="sa-1", role="super_admin")
Store = SqliteRepository | PostgresRepository


def member(key: int) -> pv.UserRecord:
    return pv.UserRecord(
        legacy_contact_key=f"M-{key:07d}",
        first_name="Member",
        last_name=str(key),
        email=f"member{key}@example.org",
        company_name="Guild",
        title="Member",
    )


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def fill(repo: Store, rows: int) -> None:
    """``rows`` stored records, committed in batches of 10,000."""
    batches = ([member(n) for n in range(i, min(i + 10_000, rows))] for i in range(0, rows, 10_000))
    repo.commit_stream("rb", ChangeStream(creates=batches), repo.revision("rb"))


def measure(repo: Store, rows: int) -> tuple[float, float, float]:
    """Rows a second planning against the stored records, changed records a second
    applying the plan with its events, and the peak memory (MB) after both."""
    fill(repo, rows)
    changed = [attrs.evolve(member(n), title="Chair") for n in range(rows)]  # parsed rows
    start = time.perf_counter()
    plan = pv.plan_upload(UPLOADS, ADMIN, changed, repo, mode="partial")
    planned = rate(rows, time.perf_counter() - start)
    assert plan.counts.updated == rows, plan.counts
    start = time.perf_counter()
    pv.apply_plan(plan, repo)
    applied = rate(rows, time.perf_counter() - start)
    assert repo.get("rb", member(rows - 1).legacy_contact_key) == attrs.evolve(
        member(rows - 1), title="Chair"
    )
    return planned, applied, peak_mb()


@contextlib.contextmanager
def postgres(conninfo: str | None) -> Iterator[Callable[[], PostgresRepository]]:
    """Stores in new schemas of the given database, or of a throwaway server."""
    if conninfo is not None:
        yield lambda: PostgresRepository(conninfo, schema=f"bench_{uuid.uuid4().hex[:12]}")
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    helper = importlib.import_module("_postgres")  # the tests' throwaway server
    binaries = helper.server_binaries()
    if binaries is None:
        raise SystemExit("no PostgreSQL server binaries: pass --conninfo")
    with helper.throwaway_server(binaries) as server:
        yield lambda: PostgresRepository(server.conninfo(), schema="bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PostgreSQL bulk work beside SQLite.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--conninfo", default=None, help="a database to use (default: a new one)")
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch, SqliteRepository(Path(scratch) / "b.db") as lite:
        sqlite = measure(lite, args.rows)
    with postgres(args.conninfo) as open_store, open_store() as pg:
        on_pg = measure(pg, args.rows)
    print(f"{args.rows:,} rows; server and client on this machine")
    print(f"  {'':<42} {'PostgreSQL':>12} {'SQLite':>12}   target (PostgreSQL)")
    missed = False
    for name, index, target in (
        ("plan against the stored records (rows/s)", 0, 150_000),
        ("apply with audit events (records/s)", 1, 100_000),
    ):
        verdict = "PASS" if on_pg[index] >= target else "MISS"
        missed |= verdict == "MISS"
        print(
            f"  {name:<42} {on_pg[index]:>12,.0f} {sqlite[index]:>12,.0f}   >= {target:,} {verdict}"
        )
    print(
        f"  peak memory of this process after each (MB): SQLite {sqlite[2]:,.0f}, then"
        f" PostgreSQL {on_pg[2]:,.0f}"
    )
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
