"""Marketing uploads: plan and apply N contacts from a Professional (tab-delimited) file,
then plan the same file again (every row unchanged), on the in-memory and SQLite stores.

    python benchmarks/marketing.py [N]      # N contacts, 100,000 by default

Each rate is the best of three runs (the machine may be shared); the load is printed.

With ``--scale``, the installed command is timed as a user runs it, at each size given
(100,000 and 1,000,000 contacts by default), against ``validate`` of the same file:

    python benchmarks/marketing.py --scale [N ...] [--runs 2] [--dir FOLDER] [--postgres]

- ``validate FILE --product marketing --edition professional``: the reader through every
  row, the baseline;
- (a) ``apply --yes`` of the file into an empty SQLite store: N contacts created;
- (b) ``plan`` of the same file against them: every row unchanged;
- (c) ``apply --yes`` of a second file changing every contact's first name: N updated.

Each command is a child process (``--db`` a SQLite file in the scratch folder, or with
``--postgres`` a new database of a throwaway server started from the machine's binaries,
as the tests do; ``--max-file-size 1GB``); wall time is measured around it and its peak
resident set size (the command's, not the server's) is its own ``ru_maxrss`` (from
``os.wait4``), in MB. Each step keeps its best time of ``--runs``
runs and its lowest peak. Memory is flat when a step's peak grows from the smallest size
to the largest by no more than ``validate``'s does (the reader's duplicate index, which
grows with the file), plus the SQLite page cache the command caps (``CACHE_MIB``: a
store that outgrows it fills it), plus ``FLAT_MARGIN_MB``; the script exits 1 when a
step's is not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

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


# -- the command at scale ----------------------------------------------------------------

#: How much more a step's peak may grow than validate's and the page cache's, from the
#: smallest size to the largest, and still be flat.
FLAT_MARGIN_MB = 20
TENANT_TOML = """\
id = "harbor"
name = "Harbor Guild"
marketing_edition = "professional"

[products]
marketing = "spreadsheet_upload"

[[actors]]
id = "pat"
role = "super_admin"
"""
UPLOAD = ("--tenant", "harbor", "--actor", "pat", "--product", "marketing")
LIMIT = ("--max-file-size", "1GB")


def _write(path: Path, n: int, first: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write("Email\tFirstName\tLastName\n")
        for k in range(n):
            stream.write(f"user{k}@example.com\t{first}{k}\tLast{k % 977}\n")
    return path


def scale(sizes: list[int], runs: int, folder: Path, postgres: bool = False) -> int:
    """Run the steps at each size; print the table; 1 when memory is not flat."""
    if not postgres:
        return _scale(sizes, runs, folder, lambda name: folder / f"{name}.db", sqlite=True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import _postgres  # noqa: PLC0415 - the tests' throwaway server

    binaries = _postgres.server_binaries()
    if binaries is None:
        sys.exit("no PostgreSQL server binaries on this machine")
    with _postgres.throwaway_server(binaries) as server:

        def database(name: str) -> str:
            with server.superuser() as con:
                con.execute(f"CREATE DATABASE b{name} OWNER {_postgres.OWNER}")
            return server.url(dbname=f"b{name}")

        print(f"PostgreSQL {server.url()}", flush=True)
        return _scale(sizes, runs, folder, database, sqlite=False)


def _scale(
    sizes: list[int], runs: int, folder: Path, store: Callable[[str], str | Path], *, sqlite: bool
) -> int:
    from command import Run, _script, run  # noqa: PLC0415 - only for --scale

    script = _script()
    tenant = folder / "harbor.toml"
    tenant.write_text(TENANT_TOML, encoding="utf-8")
    steps = ("validate", "(a) apply, N created", "(b) plan, N unchanged", "(c) apply, N updated")
    found: dict[tuple[int, str], tuple[float, float]] = {}
    for n in sizes:
        new = _write(folder / f"new-{n}.txt", n, "First")
        changed = _write(folder / f"changed-{n}.txt", n, "Second")
        print(f"{n:,} contacts: {new.stat().st_size / 1e6:.0f} MB file", flush=True)
        for attempt in range(runs):
            db = store(f"{n}_{attempt}")
            if isinstance(db, Path):
                db.unlink(missing_ok=True)
            commands: list[tuple[str, list[str | Path], tuple[int, ...]]] = [
                (steps[0], ["validate", new, "--product", "marketing",
                            "--edition", "professional", *LIMIT], (0,)),
                (steps[1], ["--db", db, "apply", new, *UPLOAD, *LIMIT, "--yes"], (0,)),
                (steps[2], ["--db", db, "plan", new, *UPLOAD, *LIMIT], (0,)),
                (steps[3], ["--db", db, "apply", changed, *UPLOAD, *LIMIT, "--yes"], (0,)),
            ]  # fmt: skip
            added = run(script, ["--db", db, "tenant", "add", tenant], folder, "setup")
            if added.code != 0:
                sys.exit(f"`tenant add` failed: {added.err}")
            for step, args, ok in commands:
                result: Run = run(script, args, folder, "step")
                if result.code not in ok:
                    sys.exit(f"{step} at {n:,} failed (exit {result.code}): {result.err}")
                best = found.get((n, step), (float("inf"), float("inf")))
                found[n, step] = (min(best[0], result.seconds), min(best[1], result.peak_mb))
            if isinstance(db, Path):
                db.unlink()
    load = os.getloadavg()
    print(f"best of {runs} runs; load average {load[0]:.1f} {load[1]:.1f} on {os.cpu_count()} CPUs")
    print(_scale_table(sizes, steps, found))
    return _flat(sizes, steps, found, sqlite=sqlite)


def _scale_table(
    sizes: list[int], steps: tuple[str, ...], found: dict[tuple[int, str], tuple[float, float]]
) -> str:
    head = ["step"]
    for n in sizes:
        head += [f"{n:,}: time", "x validate", "peak"]
    lines = [head]
    for step in steps:
        cells = [step]
        for n in sizes:
            seconds, peak = found[n, step]
            cells += [
                f"{seconds:.2f} s",
                f"{seconds / found[n, 'validate'][0]:.1f}x",
                f"{peak:.0f} MB",
            ]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in out)


def _flat(
    sizes: list[int],
    steps: tuple[str, ...],
    found: dict[tuple[int, str], tuple[float, float]],
    *,
    sqlite: bool,
) -> int:
    small, large = min(sizes), max(sizes)
    if small == large:
        return 0
    reader = found[large, "validate"][1] - found[small, "validate"][1]
    # A PostgreSQL store's cache is the server's, not the command's.
    cache = 0.0
    if sqlite:
        from provisioning.cli._store import CACHE_MIB  # noqa: PLC0415 - only for --scale

        cache = CACHE_MIB * 1024 * 1024 / 1e6
    cached = f"the command's SQLite page cache: up to {cache:.0f} MB" if sqlite else "no cache"
    print(
        f"peak growth from {small:,} to {large:,} contacts (validate: {reader:+.0f} MB; {cached}):"
    )
    status = 0
    for step in steps[1:]:
        growth = found[large, step][1] - found[small, step][1]
        beyond = growth - reader - cache
        flat = beyond <= FLAT_MARGIN_MB
        status |= not flat
        verdict = "flat" if flat else "NOT FLAT"
        print(
            f"  {step}: {growth:+.0f} MB, {beyond:+.0f} MB beyond validate's"
            f"{' and the page cache' if sqlite else ''} (margin {FLAT_MARGIN_MB} MB): {verdict}"
        )
    return status


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--scale":
        parser = argparse.ArgumentParser(prog="marketing.py --scale")
        parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
        parser.add_argument("--runs", type=int, default=2)
        parser.add_argument("--dir", type=Path, default=None)
        parser.add_argument("--postgres", action="store_true")
        options = parser.parse_args(sys.argv[2:])
        if options.dir is not None:
            options.dir.mkdir(parents=True, exist_ok=True)
            sys.exit(scale(options.sizes, options.runs, options.dir, options.postgres))
        with tempfile.TemporaryDirectory() as folder:
            sys.exit(scale(options.sizes, options.runs, Path(folder), options.postgres))
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
