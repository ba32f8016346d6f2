"""benchmarks/workbook.py runs end to end on a small workbook and reports its ratio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "workbook.py"


def test_the_workbook_benchmark_runs(tmp_path: Path) -> None:
    workbook = tmp_path / "members.xlsx"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--rows",
            "300",
            "--repeat",
            "1",
            "--no-fail",
            "--file",
            str(workbook),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wrote members.xlsx: 300 rows" in proc.stdout
    assert "300 data rows" in proc.stdout
    for line in ("calamine alone", "provisioning", "ratio", "peak"):
        assert line in proc.stdout
    assert workbook.exists()
