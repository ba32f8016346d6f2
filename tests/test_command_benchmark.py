"""benchmarks/command.py runs end to end on a tiny file and prints its six steps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "command.py"


def test_command_benchmark_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "2000", "--no-fail", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "csv.reader pass (baseline)" in out
    for step in (
        "(a) apply --yes, empty store",
        "(b) plan, nothing changed",
        "(c) plan, 10% changed, 1% missing",
        "(d) apply --yes --format json",
        "(e) apply --yes, all columns",
        "(f) plan, all columns, unchanged",
    ):
        (line,) = [line for line in out.splitlines() if line.startswith(step)]
        assert line.rstrip().endswith(("PASS", "MISS")), line
    assert "FAILED" not in out
    assert list(tmp_path.iterdir()) == []  # the scratch files are removed without --keep


def test_command_benchmark_files() -> None:
    """The variant keeps about 99% of the rows and edits about 10% of them, deterministically."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import command
        import generate
    finally:
        sys.path.remove(str(SCRIPT.parent))
    base = list(generate.valid_rows(5000))
    variant = list(command.variant_rows(5000))
    assert variant == list(command.variant_rows(5000))
    assert all(len(row) == len(generate.COMMON_HEADER) for row in base + variant)
    assert len({row[0] for row in base}) == 5000
    assert len({row[3] for row in base}) == 5000
    stored = {row[0]: row for row in base}
    changed = sum(1 for row in variant if stored[row[0]] != row)
    assert 4900 <= len(variant) <= 4990
    assert 400 <= changed <= 600
