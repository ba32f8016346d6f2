"""Bulk work on PostgreSQL beside SQLite, against the targets of the PostgreSQL issue.

On a PostgreSQL database (``--conninfo``, or a throwaway server started from the
machine's binaries, as the tests do) and on a SQLite file, times:

- applying an upload that edits every one of ``--rows`` stored records, with its audit
  events (target on PostgreSQL: >= 100,000 changed records a second, twice SQLite's
  target);
- planning ``--rows`` already-parsed rows against as many stored records streamed from
  the store (target on PostgreSQL: >= 150,000 rows a second);

and reports the CPU time of this process and of the server (when it started the server)
for each, and this process's resident memory before each and its peak during it (the
client's; it includes the parsed rows the benchmark holds, so what a step adds is the
peak less the memory before). The throwaway server gets ``shared_buffers`` of 1 GB.
Exit status 0 when the PostgreSQL targets are met, 1 otherwise (0 with ``--no-fail``).

    python benchmarks/postgres.py                     # 1,000,000 rows
    python benchmarks/postgres.py --rows 100000 --conninfo "host=/tmp port=5432 dbname=x"
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
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
    """This process's peak resident memory (MB) since the last :func:`reset_peak`, or
    since it began where the peak cannot be reset."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_mb() -> float:
    """This process's resident memory now (MB); 0 where it cannot be read."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    """Start measuring the peak anew (Linux: ``5`` written to ``/proc/self/clear_refs``)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def cpu_seconds() -> float:
    """The CPU time this process has used (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def fill(repo: Store, rows: int) -> None:
    """``rows`` stored records, committed in batches of 10,000."""
    batches = ([member(n) for n in range(i, min(i + 10_000, rows))] for i in range(0, rows, 10_000))
    repo.commit_stream("rb", ChangeStream(creates=batches), repo.revision("rb"))


@attrs.frozen
class Step:
    """One step timed: its rate, the CPU seconds of this process and of the server (None
    when not measured), and the memory: resident before, and the peak during it (MB)."""

    rate: float
    client_cpu: float
    server_cpu: float | None
    before_mb: float
    peak_mb: float


def step(count: int, server_cpu: Callable[[], float | None], work: Callable[[], object]) -> Step:
    before = resident_mb()
    reset_peak()
    client, server, start = cpu_seconds(), server_cpu(), time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    after = server_cpu()
    return Step(
        rate(count, seconds),
        cpu_seconds() - client,
        None if after is None or server is None else after - server,
        before,
        peak_mb(),
    )


def measure(
    repo: Store, rows: int, server_cpu: Callable[[], float | None] = lambda: None
) -> tuple[Step, Step]:
    """Planning against the stored records (rows a second) and applying the plan with its
    events (changed records a second), each with its CPU time and memory."""
    fill(repo, rows)
    changed = [attrs.evolve(member(n), title="Chair") for n in range(rows)]  # parsed rows
    plans: list[pv.UploadPlan] = []
    planned = step(
        rows,
        server_cpu,
        lambda: plans.append(pv.plan_upload(UPLOADS, ADMIN, changed, repo, mode="partial")),
    )
    assert plans[0].counts.updated == rows, plans[0].counts
    applied = step(rows, server_cpu, lambda: pv.apply_plan(plans[0], repo))
    assert repo.get("rb", member(rows - 1).legacy_contact_key) == attrs.evolve(
        member(rows - 1), title="Chair"
    )
    return planned, applied


def server_cpu_of(data: Path) -> Callable[[], float | None]:
    """The CPU seconds the server of the data folder ``data`` and its processes have used
    (Linux's /proc; None elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")

    def seconds() -> float | None:
        try:
            postmaster = int((data / "postmaster.pid").read_text().split()[0])
            total = 0
            for stat in Path("/proc").glob("[0-9]*/stat"):
                with contextlib.suppress(OSError):
                    text = stat.read_text()
                    fields = text[text.rindex(")") + 2 :].split()
                    if int(stat.parent.name) == postmaster or int(fields[1]) == postmaster:
                        total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError):
            return None
        return total / tick

    return seconds


@contextlib.contextmanager
def postgres(
    conninfo: str | None,
) -> Iterator[tuple[Callable[[], PostgresRepository], Callable[[], float | None]]]:
    """Stores in new schemas of the given database, or of a throwaway server (with
    ``shared_buffers`` of 1 GB, as a production server would have), and how much CPU
    time the server has used, when it can be measured."""
    if conninfo is not None:
        yield (
            lambda: PostgresRepository(conninfo, schema=f"bench_{uuid.uuid4().hex[:12]}"),
            lambda: None,
        )
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    helper = importlib.import_module("_postgres")  # the tests' throwaway server
    binaries = helper.server_binaries()
    if binaries is None:
        raise SystemExit("no PostgreSQL server binaries: pass --conninfo")
    with helper.throwaway_server(binaries, settings={"shared_buffers": "1GB"}) as server:
        yield (
            lambda: PostgresRepository(server.conninfo(), schema="bench"),
            server_cpu_of(server.socket_dir / "data"),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PostgreSQL bulk work beside SQLite.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--conninfo", default=None, help="a database to use (default: a new one)")
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0")
    args = parser.parse_args(argv)
    # PostgreSQL first: its memory before each step is then the parsed rows' and the
    # store's, not what the SQLite run left in the process.
    with postgres(args.conninfo) as (open_store, server_cpu), open_store() as pg:
        on_pg = measure(pg, args.rows, server_cpu)
    with tempfile.TemporaryDirectory() as scratch, SqliteRepository(Path(scratch) / "b.db") as lite:
        sqlite = measure(lite, args.rows)
    print(f"{args.rows:,} rows; server and client on this machine")
    print(f"  {'':<42} {'PostgreSQL':>12} {'SQLite':>12}   target (PostgreSQL)")
    missed = False
    for name, index, target in (
        ("plan against the stored records (rows/s)", 0, 150_000),
        ("apply with audit events (records/s)", 1, 100_000),
    ):
        verdict = "PASS" if on_pg[index].rate >= target else "MISS"
        missed |= verdict == "MISS"
        print(
            f"  {name:<42} {on_pg[index].rate:>12,.0f} {sqlite[index].rate:>12,.0f}"
            f"   >= {target:,} {verdict}"
        )
    for name, index in (("plan", 0), ("apply", 1)):
        pg_step, lite_step = on_pg[index], sqlite[index]
        server = "" if pg_step.server_cpu is None else f", server {pg_step.server_cpu:.1f} s"
        print(
            f"  {name}: CPU seconds, PostgreSQL client {pg_step.client_cpu:.1f} s{server};"
            f" SQLite {lite_step.client_cpu:.1f} s"
        )
    for name, index in (("planning", 0), ("applying", 1)):
        print(
            f"  peak memory of this process {name} (MB): PostgreSQL"
            f" {on_pg[index].peak_mb:,.0f} from {on_pg[index].before_mb:,.0f} before,"
            f" SQLite {sqlite[index].peak_mb:,.0f} from {sqlite[index].before_mb:,.0f}"
        )
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
