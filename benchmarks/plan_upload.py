"""Plan a 1,000,000-row upload against 1,000,000 stored records; apply 1,000,000 changes.

Builds the records in memory first (not timed): a stored set, 2% of it deactivated, then
a file that keeps most records as they are (88%),
changes some (4%: a job title, a city, an email, a company), deactivates some by their
Status column (1%), reactivates stored deactivated ones (1%), adds new ones (5% of the
rows) and leaves some stored records out (5%, which a full import deactivates). Then it
times:

- ``plan_upload`` in full mode against a :class:`~provisioning.adapters.MemoryRepository`
  holding the stored set (target: >= 300,000 records/s, rows of the file per second),
  best of three runs, for two files with the same rows: one shuffled, the worst case
  (each row's stored record is somewhere else in memory: about 2.5 us a row go to cache
  misses on the dict of stored records and on the fields compared), and one in the stored
  order, as when the records were created by an earlier upload of the same export;
- the same plan against a :class:`~provisioning.adapters.SqliteRepository` on a temporary
  file (reported; the records are decoded from SQLite as the plan reads them);
- ``apply_plan`` of a plan that changes every stored record, to that SQLite file
  (target: >= 50,000 changed records/s), and how much of it is the store's ``commit``.

Rates are by the wall clock, with the rate by the process's CPU time beside them: on a
busy machine the two part. Peak memory is measured with :mod:`tracemalloc`, in a second
run of each plan (tracing slows Python down, so the timed run is untraced): the peak of
the memory the plan allocated on top of what existed before it started. The process's
maximum resident set size (``resource.getrusage``) is printed at the end for reference.

**One copy of the stored records at most.** ``plan_upload`` asks the store for the
stored records of a batch of rows at a time (``BatchReader.get_many``), and learns which
stored records the file leaves out by going through their keys in order
(``BatchReader.statuses``); every ``Update`` holds a reference to the stored record and
to the file's record, never a copy, and past ``hold`` changes of a kind the plan keeps
them in a temporary file. ``one copy`` is the traced size of ``list(repo.records(tenant))``
read from SQLite, and each plan's peak is printed as a multiple of it (well under 1 on
both stores). ``apply_plan`` writes one audit event per changed record in the commit's
transaction, which costs about as much again as the records themselves.

    python benchmarks/plan_upload.py                  # 1,000,000 records, temp folder
    python benchmarks/plan_upload.py --rows 100000 --dir /tmp/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.repository import ChangeSet, Repository

PLAN_TARGET = 300_000
APPLY_TARGET = 50_000
TENANT = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
ADMIN = pv.Actor(id="sa-1", role="super_admin")
AS_OF = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
MIB = 1024 * 1024

_FIRST = ["Ada", "Grace", "Alan", "José", "Zoë", "Björn", "Chloé", "Mei", "Ngozi", "Søren"]
_LAST = ["Lovelace", "Hopper", "Turing", "García", "O'Brien", "Müller", "Nakamura", "Okafor"]
_COMPANIES = ["Analytical Engines", "Acme, Inc.", "Globex Corporation", "Initech", "Hooli"]
_CITIES = ["London", "Zürich", "Lagos", "São Paulo", "Osaka", None]
_TITLES = ["Director", "Engineer", "Analyst", "Treasurer", None, None]

T = TypeVar("T")


def _record(key: int, rng: random.Random, *, status: pv.RecordStatus) -> pv.UserRecord:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return pv.UserRecord(
        legacy_contact_key=f"C{key:08d}",
        first_name=first,
        last_name=last,
        email=f"user.{key}@example.org",
        company_name=rng.choice(_COMPANIES),
        title=rng.choice(_TITLES),
        member_id=f"M{key}" if key % 3 else None,
        member_since=dt.date(2000 + key % 25, 1 + key % 12, 1 + key % 28),
        city=rng.choice(_CITIES),
        country="GB" if key % 2 else "US",
        phone1=f"555-01{key % 100:02d}" if key % 4 else None,
        is_member=key % 5 != 0,
        status=status,
    )


def make_stored(count: int, seed: int) -> list[pv.UserRecord]:
    """``count`` stored records; 2% of them deactivated."""
    rng = random.Random(seed)
    deactivated, enabled = pv.RecordStatus.DEACTIVATED, pv.RecordStatus.ENABLED
    return [
        _record(key, rng, status=deactivated if key % 50 == 25 else enabled) for key in range(count)
    ]


def _copy(record: pv.UserRecord) -> pv.UserRecord:
    """An equal record built anew, as the reader would build it from the file's row."""
    return pv.UserRecord(**{a.name: getattr(record, a.name) for a in attrs.fields(pv.UserRecord)})


def make_file(stored: list[pv.UserRecord], seed: int, *, shuffled: bool) -> list[pv.UserRecord]:
    """As many rows as stored records: kept, changed, status set, new; 5% left out.

    The rows come in the stored order (the export that created the records, exported
    again) or shuffled; each row's record is built in file order, as a reader builds them
    while it streams the file.
    """
    rng = random.Random(seed + 1)
    order = list(range(len(stored)))
    if shuffled:
        rng.shuffle(order)
    rows: list[pv.UserRecord] = []
    deactivated, enabled = pv.RecordStatus.DEACTIVATED, pv.RecordStatus.ENABLED
    extra = len(stored)
    for n in order:
        old = stored[n]
        roll = n % 100
        if roll < 5:  # left out (a full import deactivates it); a new record in its place
            rows.append(_record(extra, rng, status=enabled))
            extra += 1
        elif roll == 5:
            rows.append(attrs.evolve(old, title="New"))
        elif roll == 6:
            rows.append(attrs.evolve(old, city="New"))
        elif roll == 7:
            rows.append(attrs.evolve(old, email=f"moved.{old.legacy_contact_key}@example.org"))
        elif roll == 8:
            rows.append(attrs.evolve(old, company_name="New"))
        elif roll == 9:
            rows.append(attrs.evolve(old, status=deactivated))
        elif roll == 25:
            rows.append(attrs.evolve(old, status=enabled))  # stored deactivated: reactivated
        else:
            rows.append(_copy(old))
    return rows


@attrs.frozen
class Took:
    """How long a call took: wall-clock and CPU seconds (CPU shows a busy machine)."""

    wall: float
    cpu: float

    def rate(self, count: int) -> str:
        """``count`` per second, wall-clock, with the CPU-time rate beside it."""
        return f"{count / self.wall:>10,.0f}/s (CPU time: {count / self.cpu:,.0f}/s)"


def clocked(call: Callable[[], T]) -> tuple[T, Took]:
    """``call()`` and how long it took."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, Took(time.perf_counter() - wall, time.process_time() - cpu)


def timed(call: Callable[[], T]) -> tuple[T, Took]:
    """``call()`` and how long it took, after a full garbage collection (not timed)."""
    gc.collect()
    return clocked(call)


def best_of(runs: int, call: Callable[[], T]) -> tuple[T, Took]:
    """``call()`` and its fastest run of ``runs`` (by the wall clock)."""
    result, took = timed(call)
    for _ in range(runs - 1):
        result, again = timed(call)
        took = min(took, again, key=lambda t: t.wall)
    return result, took


def traced_peak(call: Callable[[], object]) -> int:
    """The peak of the memory ``call()`` allocated, in bytes (tracemalloc); result dropped."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = call()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        tracemalloc.stop()
    return peak


def plan(rows: list[pv.UserRecord], repo: Repository, mode: str = "full") -> pv.UploadPlan:
    """The benchmark's plan: the file against ``repo``, every safeguard left on."""
    return pv.plan_upload(TENANT, ADMIN, rows, repo, mode=mode, as_of=AS_OF)


def ratio(value: float, target: float) -> str:
    """``value`` against ``target`` as ``1.23x target``, with a verdict."""
    return f"{value / target:.2f}x target ({'met' if value >= target else 'MISSED'})"


class TimedSqlite(SqliteRepository):
    """A SQLite store that remembers how long its last commit took."""

    last_commit = Took(0.0, 0.0)

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        """Commit, timed."""
        revision, self.last_commit = clocked(
            lambda: super(TimedSqlite, self).commit(tenant_id, change_set, expected_revision)
        )
        return revision


@attrs.define
class Figures:
    """What one run measured."""

    rows: int = 0
    memory_plan: Took = Took(0.0, 0.0)
    ordered_plan: Took = Took(0.0, 0.0)
    memory_peak: int = 0
    one_copy: int = 0
    sqlite_plan: Took = Took(0.0, 0.0)
    sqlite_peak: int = 0
    changes_plan: Took = Took(0.0, 0.0)
    apply: Took = Took(0.0, 0.0)
    commit: Took = Took(0.0, 0.0)
    file_size: int = 0


def _plan_ordered(
    stored: list[pv.UserRecord], seed: int, repo: Repository, counts: pv.UploadCounts
) -> Took:
    """Time the plan of the same rows in the stored order; the file is dropped after."""
    rows = make_file(stored, seed, shuffled=False)
    ordered, took = best_of(3, lambda: plan(rows, repo))
    assert ordered.counts == counts, ordered.counts
    return took


def measure(count: int, seed: int, folder: Path | None) -> Figures:
    """Build the data, then plan and apply as the module docstring says."""
    print(f"building {count:,} stored records and a {count:,}-row file ...", flush=True)
    stored, build = timed(lambda: make_stored(count, seed))
    rows = make_file(stored, seed, shuffled=True)
    print(f"  built in {build.wall:.1f} s (stored set)", flush=True)
    out = Figures(rows=len(rows))

    memory = MemoryRepository()
    memory.commit(TENANT.id, ChangeSet(creates=stored), expected_revision=0)
    in_memory, out.memory_plan = best_of(3, lambda: plan(rows, memory))
    print(f"plan in memory: {in_memory.counts}", flush=True)
    assert in_memory.applicable, in_memory.summary()
    out.memory_peak = traced_peak(lambda: plan(rows, memory))
    out.ordered_plan = _plan_ordered(stored, seed, memory, in_memory.counts)

    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        path = Path(scratch) / "bench.sqlite"
        repo = TimedSqlite(path)
        try:
            repo.commit(TENANT.id, ChangeSet(creates=stored), expected_revision=0)
            print(f"SQLite file loaded in {repo.last_commit.wall:.1f} s", flush=True)
            out.one_copy = traced_peak(lambda: list(repo.records(TENANT.id)))
            on_sqlite, out.sqlite_plan = timed(lambda: plan(rows, repo))
            assert on_sqlite == in_memory, (on_sqlite.counts, in_memory.counts)
            out.sqlite_peak = traced_peak(lambda: plan(rows, repo))

            # Every stored record changes: a new job title for each, status as it was.
            changed = [attrs.evolve(r, title=f"T{n}") for n, r in enumerate(stored)]
            big, out.changes_plan = timed(lambda: plan(changed, repo, "partial"))
            assert big.counts.updated == count, big.counts
            receipt, out.apply = timed(lambda: pv.apply_plan(big, repo, now=NOW))
            out.commit = repo.last_commit
            assert receipt.counts.updated == count
            assert repo.get(TENANT.id, changed[-1].legacy_contact_key) == changed[-1]
            out.file_size = path.stat().st_size
        finally:
            repo.close()
    return out


def report(f: Figures) -> bool:
    """Print the figures; whether every target is met."""
    plan_rate = f.rows / f.memory_plan.wall
    ordered_rate = f.rows / f.ordered_plan.wall
    apply_rate = f.rows / f.apply.wall
    one_copy_kept = f.memory_peak < f.one_copy and f.sqlite_peak < 2 * f.one_copy
    print(f"\none copy of the stored set (decoded from SQLite): {f.one_copy / MIB:,.0f} MiB")
    print("results (rates by the wall clock; peak = tracemalloc peak of the plan's allocations)")
    print(f"  plan, in memory, file shuffled:  rows {f.memory_plan.rate(f.rows)}")
    print(f"      {ratio(plan_rate, PLAN_TARGET)}; {f.memory_plan.wall:.2f} s, best of 3")
    print(
        f"      peak {f.memory_peak / MIB:,.0f} MiB = {f.memory_peak / f.one_copy:.2f} x one copy"
    )
    print(f"  plan, in memory, file in stored order: rows {f.ordered_plan.rate(f.rows)}")
    print(f"      {ratio(ordered_rate, PLAN_TARGET)}; {f.ordered_plan.wall:.2f} s, best of 3")
    print(f"  plan, SQLite, file shuffled:     rows {f.sqlite_plan.rate(f.rows)}")
    print(f"      no target ({f.rows / f.sqlite_plan.wall / PLAN_TARGET:.2f}x the in-memory one)")
    print(
        f"      peak {f.sqlite_peak / MIB:,.0f} MiB = {f.sqlite_peak / f.one_copy:.2f} x one copy"
    )
    print(f"  plan of {f.rows:,} changes, SQLite: rows {f.changes_plan.rate(f.rows)}")
    print(f"  apply, SQLite:    changed records {f.apply.rate(f.rows)}")
    print(f"      {ratio(apply_rate, APPLY_TARGET)}; {f.apply.wall:.1f} s in all,")
    print(
        f"      {f.commit.wall:.1f} s of it in the store's commit; file {f.file_size / MIB:,.0f}"
        " MiB"
    )
    print(f"  at most one copy of the stored records: {'yes' if one_copy_kept else 'NO'}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS (getrusage maxrss, all of the above): {maxrss:,.0f} MiB")
    fast = min(plan_rate, ordered_rate) >= PLAN_TARGET and apply_rate >= APPLY_TARGET
    return fast and one_copy_kept


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every target is met, 1 otherwise."""
    parser = argparse.ArgumentParser(description="Plan and apply benchmark (see the docstring).")
    parser.add_argument("--rows", type=int, default=1_000_000, help="stored records and rows")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the SQLite file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    return 0 if report(measure(args.rows, args.seed, args.dir)) else 1


if __name__ == "__main__":
    sys.exit(main())
