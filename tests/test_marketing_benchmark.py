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
