"""benchmarks/postgres.py runs end to end on small sizes and reports every target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _postgres import Server

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "postgres.py"


def test_the_postgres_benchmark_runs(postgres_server: Server) -> None:
    """On the suite's throwaway server: both steps, both stores, the peaks."""
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *("--rows", "500", "--no-fail", "--conninfo", postgres_server.conninfo()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in (
        "plan against the stored records",
        "apply with audit events",
        "peak memory of this process planning",
        "peak memory of this process applying",
        "apply: CPU seconds, PostgreSQL client",
    ):
        assert line in proc.stdout
