"""benchmarks/scim.py runs end to end on small sizes, on both stores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("scim2_server")

from _postgres import Server

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scim.py"


def test_the_scim_benchmark_runs(postgres_server: Server) -> None:
    """On SQLite and the suite's throwaway server: the direct figure, SCIM over 1 and 4
    connections, and the ratios."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--requests", "8", "--postgres-url", postgres_server.url()],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "direct push/s" in proc.stdout
    for store in ("SQLite", "PostgreSQL"):
        assert f"{store:<11} SCIM as a share of the direct path: 1 connection" in proc.stdout
