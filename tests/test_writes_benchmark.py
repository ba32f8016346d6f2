"""benchmarks/writes.py runs end to end on small sizes and reports every target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "writes.py"


def test_the_writes_benchmark_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "500", "--single", "20", "--no-fail"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in (
        "single registrations",
        "single admin edits",
        "apply with audit events",
        "plan the revert",
        "the audit trail's cost",
    ):
        assert line in proc.stdout
