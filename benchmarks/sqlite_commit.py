"""SQLite commit and read throughput: one 1,000,000-record change set into a fresh file.

Builds the records first (not timed), then times, on a new database file:

- ``commit`` of a change set creating every record (target: >= 50,000 records/s);
- ``records()`` reading every stored record back as ``UserRecord`` objects;
- ``commit`` of a change set replacing every record (a status change for each);

and, as the floor, bare ``sqlite3`` ``executemany`` of the same rows, encoded beforehand,
into the same schema. Wall-clock and CPU seconds are both shown: on a shared machine the
CPU figure is the steadier one.

    python benchmarks/sqlite_commit.py                    # 1,000,000 records, temp folder
    python benchmarks/sqlite_commit.py --records 200000 --dir /tmp/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

import attrs

from provisioning import RecordStatus, UserRecord
from provisioning.adapters import SqliteRepository
from provisioning.adapters.sqlite import _INSERT, _row
from provisioning.repository import ChangeSet

TARGET = 50_000
TENANT = "acme"

_FIRST = ["Ada", "Grace", "Alan", "José", "Zoë", "Björn", "Chloé", "Mei", "Ngozi", "Søren"]
_LAST = ["Lovelace", "Hopper", "Turing", "García", "O'Brien", "Müller", "Nakamura", "Okafor"]
_COMPANIES = ["Analytical Engines", "Acme, Inc.", "Globex Corporation", 'The "Best" Widgets']
_CITIES = ["London", "Zürich", "Lagos", "São Paulo", "Osaka", None]


def make_records(count: int, seed: int = 7) -> list[UserRecord]:
    """``count`` realistic records: every optional field filled in part, keys shuffled."""
    rng = random.Random(seed)
    keys = list(range(count))
    rng.shuffle(keys)
    start = dt.date(2000, 1, 1)
    records = []
    for n, key in enumerate(keys):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        half = n % 2 == 0
        records.append(
            UserRecord(
                legacy_contact_key=f"C{key:08d}",
                first_name=first,
                last_name=last,
                email=f"{first[0]}.{last.encode('ascii', 'ignore').decode()}.{key}@Example.org",
                company_name=rng.choice(_COMPANIES),
                prefix="Dr" if n % 7 == 0 else None,
                middle_name="Q" if half else None,
                title="Engineer" if half else None,
                member_id=f"M{key}",
                member_since=start + dt.timedelta(days=key % 9000),
                member_expires_on=start + dt.timedelta(days=9000 + key % 900) if half else None,
                birthday=dt.date(1950 + key % 50, 1 + key % 12, 1 + key % 28) if n % 3 else None,
                address1=f"{key % 999} High Street",
                city=rng.choice(_CITIES),
                postal_code=f"N{key % 99} 1AA",
                country="United Kingdom" if half else None,
                phone1=f"+44 20 7946 {key % 10000:04d}",
                phone1_type="Work",
                is_member=None if n % 5 == 0 else half,
                custom={"Chapter": "North", "Since": str(key % 30)} if n % 4 == 0 else None,
            )
        )
    return records


def floor(records: list[UserRecord], path: Path) -> tuple[float, float]:
    """Wall and CPU seconds for bare sqlite3 to insert the pre-encoded rows, same schema."""
    SqliteRepository(path).close()  # the adapter's schema, indexes included
    rows = [_row(TENANT, 1, r) for r in records]
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute(f"PRAGMA cache_size = -{512 * 1024}")
        with Timer() as timer:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(_INSERT, rows)
            con.execute("COMMIT")
    finally:
        con.close()
    return timer.wall, timer.cpu


class Timer:
    """Wall-clock and CPU seconds of a block (CPU shows what a busy machine hides)."""

    wall = cpu = 0.0

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def main() -> None:
    """Run the benchmark and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the files go")
    args = parser.parse_args()
    count: int = args.records

    started = time.perf_counter()
    records = make_records(count)
    built = time.perf_counter() - started
    started = time.perf_counter()
    creates = ChangeSet(creates=records)
    checked = time.perf_counter() - started
    print(f"records: {count:,}  (built in {built:.1f} s; ChangeSet checked in {checked:.2f} s)")

    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        folder = Path(scratch)
        with SqliteRepository(folder / "store.db") as repo:
            with Timer() as commit:
                repo.commit(TENANT, creates, expected_revision=0)
            with Timer() as iterate:
                read = sum(1 for _ in repo.records(TENANT))
            assert read == count
            updates = ChangeSet(
                updates=[attrs.evolve(r, status=RecordStatus.DEACTIVATED) for r in records]
            )
            with Timer() as update:
                repo.commit(TENANT, updates, expected_revision=1)
        raw_wall, raw_cpu = floor(records, folder / "floor.db")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("commit, creates", commit.wall, commit.cpu),
        ("records(), read all", iterate.wall, iterate.cpu),
        ("commit, updates", update.wall, update.cpu),
        ("bare sqlite3 insert", raw_wall, raw_cpu),
    ]
    print(f"{'step':<22}{'wall s':>8}{'records/s':>11}{'cpu s':>8}{'records/cpu-s':>15}")
    for name, wall, cpu in rows:
        print(f"{name:<22}{wall:>8.2f}{count / wall:>11,.0f}{cpu:>8.2f}{count / cpu:>15,.0f}")
    print(f"commit of creates vs bare sqlite3 insert (wall): {raw_wall / commit.wall:.2f}x")
    verdict = "meets" if count / commit.wall >= TARGET else "MISSES"
    print(f"commit of creates {verdict} the target of {TARGET:,} records/s (wall clock)")
    print(f"peak memory: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
