"""benchmarks/marketing.py runs end to end on a small file and reports both stores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "marketing.py"


def test_the_marketing_benchmark_runs_on_both_stores() -> None:
    """Plans, applies and plans again 200 contacts on memory and SQLite, printing rates."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "200"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("200 contacts; load average")
    assert "  memory: plan " in result.stdout
    assert "  sqlite: plan " in result.stdout


def test_the_scale_run_times_the_command_against_validate(tmp_path: Path) -> None:
    """--scale runs validate, apply, plan and apply again at each size as child
    processes, and prints each step's time as a ratio to validate and its peak memory."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--scale", "300", "900", "--runs", "1", "--dir", tmp_path],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("step ") and "900: time" in line for line in lines)
    for step in ("validate", "(a) apply, N created", "(b) plan, N unchanged"):
        assert any(line.startswith(step) and " MB" in line for line in lines), step
    assert "(c) apply, N updated:" in result.stdout
    assert "beyond validate's" in result.stdout
