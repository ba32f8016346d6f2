"""Run the installed ``provisioning`` console script in a subprocess, in a scratch folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLE = EXAMPLES / "data" / "community-upload.csv"
MARKETING = EXAMPLES / "data" / "marketing-contacts.csv"
RIVERBEND = EXAMPLES / "tenants" / "riverbend-upload.toml"
HARBOR = EXAMPLES / "tenants" / "harbor-standalone.toml"

#: The console script pip installed beside this interpreter (the venv's bin folder).
SCRIPT = shutil.which("provisioning", path=str(Path(sys.executable).parent)) or shutil.which(
    "provisioning"
)


@attrs.frozen
class Result:
    """What one run of the command did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Standard output parsed as JSON."""
        return json.loads(self.out)


class Cli:
    """The command, run with its store in ``folder`` and ``folder`` as the working directory."""

    def __init__(self, folder: Path) -> None:
        assert SCRIPT is not None, "install the package (pip install -e '.[test]') first"
        self.folder = folder
        self.db = folder / "store.db"

    def __call__(self, *args: str | Path, env: dict[str, str] | None = None) -> Result:
        """Run ``provisioning ARGS``; no user error may ever show a traceback."""
        environ = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "FORCE_COLOR"}}
        environ |= {"PROVISIONING_DB": str(self.db), "COLUMNS": "200"}
        environ |= env or {}
        assert SCRIPT is not None
        proc = subprocess.run(
            [SCRIPT, *(str(a) for a in args)],
            cwd=self.folder,
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def file(self, name: str, content: str | bytes) -> Path:
        """Write a file into the scratch folder and return its path."""
        path = self.folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def with_riverbend(self) -> Cli:
        """Store the Riverbend example tenant and its actors."""
        result = self("tenant", "add", RIVERBEND)
        assert result.code == 0, result.err
        return self
