"""examples/demo.sh, the README's first command, runs the end-to-end job with the command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_script_runs_end_to_end(tmp_path: Path) -> None:
    """Adds the tenant, validates, plans (held, refused), applies and shows 293 records."""
    script = shutil.which("provisioning", path=str(Path(sys.executable).parent))
    assert script is not None, "install the package with its cli extra first"
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, str(ROOT / "examples" / "demo.sh")],
        cwd=tmp_path,
        env={**os.environ, "PROVISIONING": script, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "added tenant riverbend" in out
    assert "300 rows, 7 errors, 1 warnings (Upload Users): invalid" in out
    assert "UPLOAD_SUPER_ADMIN_ONLY" in out  # lee, a Site Admin, is refused
    assert "applied to riverbend at revision 1: 300 rows, 7 errors, 293 created" in out
    assert "exported 293 records of riverbend" in result.stderr + out
    assert list(tmp_path.iterdir()) == []  # the demo works in its own scratch folder
