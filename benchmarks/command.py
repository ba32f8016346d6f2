"""The installed ``provisioning`` command, timed as a user runs it, against a bare CSV pass.

Generates (deterministic for a seed) a Community "Upload Users" file of ``--rows`` rows
(default 1,000,000) with the 5 required columns and 10 common optional ones
(:func:`generate.valid_rows`: every row valid, ISO dates), and a variant of it with 10% of
the rows changed (a title, an address, a company or a phone number) and 1% left out.
Then it times, in one run:

- the baseline: a bare ``csv.reader`` pass over the file, in this process;
- (a) ``apply --yes`` of the file into an empty store;
- (b) ``plan`` of the same file against the records (a) stored: nothing changes;
- (c) ``plan`` (full mode) of the variant against them: 10% updates, 1% deactivations
  (under the 20% mass-deactivation share, so exit 0; exit 1, held, is accepted too);
- (d) ``apply --yes --format json`` of the file into another empty store, against (a);
- (e), (f) ``apply --yes`` then ``plan`` of the all-columns file of
  :mod:`generate` (every optional column, about 1% of rows with a defect, so
  ``--override row_errors``), reported as ratios to that file's own ``csv.reader`` pass.

Each command is the console script beside ``sys.executable``, run as a child process with
the Riverbend example tenant (a spreadsheet-upload tenant; actor ``dana``), ``--db`` in
the scratch folder and ``--max-file-size 1GB``; its standard output and error go to files
in the scratch folder. Wall time is measured around the child; its peak resident set
size is its own ``ru_maxrss`` from ``os.wait4`` (KiB on Linux), printed in MB (10^6
bytes). Targets: (a) <= 8x the CSV pass and <= 400 MB; (b) <= 6x and <= 400 MB;
(c) <= 7x and <= 400 MB; (d) within 10% of (a)'s time and peak memory.

Exit status: 0 when every target is met; 1 when one is missed (0 with ``--no-fail``,
which only reports); 2 when a command fails (an unexpected exit code or a crash), with or
without ``--no-fail``.

    python benchmarks/command.py                       # 1,000,000 rows, temp folder
    python benchmarks/command.py --rows 300000 --dir /tmp/bench --keep
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate

TENANT_FILE = Path(__file__).resolve().parents[1] / "examples" / "tenants" / "riverbend-upload.toml"
UPLOAD = ("--tenant", "riverbend", "--actor", "dana", "--max-file-size", "1GB")
MB = 1_000_000
MEMORY_TARGET_MB = 400
#: How much slower (time or memory) the JSON apply may be than the text one.
JSON_SLACK = 0.10
SEED = 20240403

#: The command's exit codes: 0 done or applicable, 1 refused or held, 2 usage or unreadable.
EXIT_USAGE = 2


def _script() -> Path:
    """The ``provisioning`` console script installed beside this interpreter."""
    found = shutil.which("provisioning", path=str(Path(sys.executable).parent))
    if found is None:
        sys.exit("no `provisioning` script beside this Python: pip install -e '.[cli]' first")
    return Path(found)


# -- files ---------------------------------------------------------------------------------


def _changed(row: list[str], rng: random.Random) -> list[str]:
    """``row`` with one field edited to a value it cannot already hold."""
    row = list(row)
    kind = rng.randrange(4)
    if kind == 0:
        row[5] = "Head of Membership" if row[5] != "Head of Membership" else "Trustee"
    elif kind == 1:
        row[9] = f"{rng.randint(1, 9999)} Elm Road"  # was "... Main Street"
    elif kind == 2:
        row[4] = f"{row[4]} Holdings"
    else:
        row[14] = f"(555) 02{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}"  # was 01x or none
    return row


def variant_rows(count: int, seed: int = SEED) -> Iterator[list[str]]:
    """The rows of :func:`generate.valid_rows`, 10% of them edited and 1% left out."""
    rng = random.Random(seed + 1)
    for row in generate.valid_rows(count, seed):
        roll = rng.random()
        if roll < 0.01:
            continue
        yield _changed(row, rng) if roll < 0.11 else row


def write_csv(path: Path, rows: Iterator[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(generate.COMMON_HEADER)
        writer.writerows(rows)
    return path


def csv_pass(path: Path) -> float:
    """Seconds for a bare ``csv.reader`` pass over ``path`` (the baseline)."""
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream:
        for _ in csv.reader(stream):
            pass
    return time.perf_counter() - start


# -- runs ----------------------------------------------------------------------------------


@attrs.frozen
class Run:
    """One run of the command: exit code, wall seconds, the child's peak RSS in MB."""

    code: int
    seconds: float
    peak_mb: float
    err: str


def run(script: Path, args: Sequence[str | Path], folder: Path, name: str) -> Run:
    """Run ``provisioning ARGS`` as a child; time it and read its own ``ru_maxrss``."""
    out_path, err_path = folder / f"{name}.out", folder / f"{name}.err"
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "FORCE_COLOR"}}
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(script), *(str(a) for a in args)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4: Popen must not wait for it again
    text = err_path.read_text(encoding="utf-8", errors="replace")
    return Run(code, seconds, usage.ru_maxrss * 1024 / MB, text)


@attrs.frozen
class Row:
    """One line of the table: a step, its run, its target and whether it was met."""

    step: str
    run: Run
    ratio: float
    target: str
    met: bool
    ok_codes: tuple[int, ...]

    @property
    def failed(self) -> bool:
        """The command itself failed: an unexpected exit code (2, a crash, a signal)."""
        return self.run.code not in self.ok_codes


def _row(
    step: str,
    result: Run,
    baseline: float,
    most: float,
    ok_codes: tuple[int, ...] = (0,),
) -> Row:
    ratio = result.seconds / baseline
    met = ratio <= most and result.peak_mb <= MEMORY_TARGET_MB
    return Row(step, result, ratio, f"<= {most:g}x, <= {MEMORY_TARGET_MB} MB", met, ok_codes)


def _reported(step: str, result: Run, baseline: float, ok_codes: tuple[int, ...] = (0,)) -> Row:
    """A step with no target: its ratio is to its own file's csv.reader pass."""
    return Row(step, result, result.seconds / baseline, "reported (own csv pass)", True, ok_codes)


def _json_row(step: str, result: Run, baseline: float, text: Run) -> Row:
    most = 1 + JSON_SLACK
    met = result.seconds <= text.seconds * most and result.peak_mb <= text.peak_mb * most
    target = f"<= {text.seconds * most:.1f} s, <= {text.peak_mb * most:.0f} MB (a +10%)"
    return Row(step, result, result.seconds / baseline, target, met, (0,))


def table(rows: Sequence[Row], baseline: float) -> str:
    head = ("step", "time", "x csv", "peak RSS", "exit", "target", "result")
    lines = [
        ("csv.reader pass (baseline)", f"{baseline:.2f} s", "1.0x", "", "", "", ""),
        *(
            (
                r.step,
                f"{r.run.seconds:.2f} s",
                f"{r.ratio:.1f}x",
                f"{r.run.peak_mb:.0f} MB",
                str(r.run.code),
                r.target,
                "FAILED" if r.failed else "PASS" if r.met else "MISS",
            )
            for r in rows
        ),
    ]
    widths = [max(len(cells[i]) for cells in (head, *lines)) for i in range(len(head))]
    rendered = ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
                for cells in (head, *lines)]  # fmt: skip
    rendered.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(rendered)


def bench(rows: int, folder: Path) -> tuple[list[Row], float]:
    """Generate the files, run the four steps; the table's rows and the baseline."""
    script = _script()
    start = time.perf_counter()
    base = write_csv(folder / "users.csv", generate.valid_rows(rows, SEED))
    variant = write_csv(folder / "users-changed.csv", variant_rows(rows, SEED))
    print(
        f"generated {rows:,} rows: {base.name} {base.stat().st_size / MB:.1f} MB, "
        f"{variant.name} {variant.stat().st_size / MB:.1f} MB "
        f"({time.perf_counter() - start:.1f} s) in {folder}",
        flush=True,
    )
    csv_pass(base)  # warm the page cache, as the command's runs will find it
    baseline = min(csv_pass(base) for _ in range(3))

    db_a, db_d = folder / "a.db", folder / "d.db"
    for db in (db_a, db_d):
        db.unlink(missing_ok=True)
        setup = run(script, ["--db", db, "tenant", "add", TENANT_FILE], folder, "setup")
        if setup.code != 0:
            sys.exit(f"`tenant add` failed (exit {setup.code}): {setup.err}")

    table_rows: list[Row] = []

    def step(name: str, key: str, args: Sequence[str | Path]) -> Run:
        result = run(script, args, folder, key)
        print(f"  {name}: {result.seconds:.2f} s, exit {result.code}", flush=True)
        return result

    a = step("(a) apply", "a", ["--db", db_a, "apply", base, *UPLOAD, "--yes"])
    table_rows.append(_row("(a) apply --yes, empty store", a, baseline, 8))
    b = step("(b) plan", "b", ["--db", db_a, "plan", base, *UPLOAD])
    table_rows.append(_row("(b) plan, nothing changed", b, baseline, 6, (0, 1)))
    c = step("(c) plan", "c", ["--db", db_a, "plan", variant, *UPLOAD, "--mode", "full"])
    table_rows.append(_row("(c) plan, 10% changed, 1% missing", c, baseline, 7, (0, 1)))
    json_args: list[str | Path] = [
        "--db",
        db_d,
        "apply",
        base,
        *UPLOAD,
        "--yes",
        "--format",
        "json",
    ]
    d = step("(d) apply json", "d", json_args)
    table_rows.append(_json_row("(d) apply --yes --format json", d, baseline, a))

    # The same two steps on the all-columns file (every optional column, ISO dates, about
    # 1% of rows with a defect, so the row_errors safeguard is overridden), for
    # comparison with the library benchmarks: reported, with its own csv.reader pass.
    full = folder / "users-all-columns.csv"
    generate.write(full, rows, SEED, day_first=False)
    csv_pass(full)
    full_baseline = min(csv_pass(full) for _ in range(3))
    db_e = folder / "e.db"
    db_e.unlink(missing_ok=True)
    setup = run(script, ["--db", db_e, "tenant", "add", TENANT_FILE], folder, "setup")
    if setup.code != 0:
        sys.exit(f"`tenant add` failed (exit {setup.code}): {setup.err}")
    lenient = ["--override", "row_errors"]
    e = step(
        "(e) apply, all columns", "e", ["--db", db_e, "apply", full, *UPLOAD, *lenient, "--yes"]
    )
    table_rows.append(_reported("(e) apply --yes, all columns", e, full_baseline))
    f = step("(f) plan, all columns", "f", ["--db", db_e, "plan", full, *UPLOAD, *lenient])
    table_rows.append(_reported("(f) plan, all columns, unchanged", f, full_baseline, (0, 1)))
    return table_rows, baseline


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table; the exit status (see the docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the file")
    parser.add_argument(
        "--dir", type=Path, default=None, help="scratch folder (default: a temporary one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder's files")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 when a target is missed")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")

    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="command-bench-", dir=args.dir))
    else:
        folder = Path(tempfile.mkdtemp(prefix="command-bench-"))
    try:
        rows, baseline = bench(args.rows, folder)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    print()
    print(f"`provisioning` on {args.rows:,} rows ({len(generate.COMMON_HEADER)} columns)")
    print(table(rows, baseline))
    failed = [r for r in rows if r.failed]
    for r in failed:
        print(f"\n{r.step}: exit {r.run.code}\n{r.run.err.strip()[-2000:]}", file=sys.stderr)
    if failed:
        return 2
    if args.no_fail or all(r.met for r in rows):
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
