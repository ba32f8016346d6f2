"""benchmarks/marketing_revert.py runs end to end on a few contacts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "marketing_revert.py"


def test_the_marketing_revert_benchmark_runs() -> None:
    """Plans, applies and writes the results of the revert of 200 changed contacts."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "200"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("200 contacts; load average")
    assert lines[1].startswith("  plan revert ")
    assert lines[3].startswith("  results 200 rows in ")
    assert lines[4].startswith("  planning peak traced memory ")
