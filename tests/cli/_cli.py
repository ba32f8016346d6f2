"""Run the installed ``provisioning`` console script in a subprocess, in a scratch folder."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

import provisioning as pv
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, write

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

    def members(self, name: str, count: int, *, company: str = "Riverbend") -> Path:
        """An upload file of ``count`` valid members (keys 900, 901, ...) in the folder."""
        records = [
            pv.UserRecord(
                legacy_contact_key=str(900 + n),
                first_name=f"First{n}",
                last_name="Last",
                email=f"user{n}@example.org",
                company_name=company,
            )
            for n in range(count)
        ]
        stream = io.StringIO(newline="")
        write(records, stream, COMMUNITY_UPLOAD_USERS)
        return self.file(name, stream.getvalue())

    def revision(self, tenant: str = "riverbend") -> int:
        """The tenant's revision, as ``tenant show`` reports it."""
        shown: int = self("tenant", "show", tenant, "--format", "json").json()["revision"]
        return shown

    def with_riverbend(self) -> Cli:
        """Store the Riverbend example tenant and its actors."""
        result = self("tenant", "add", RIVERBEND)
        assert result.code == 0, result.err
        return self


def on_terminal(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None, stream: str = "stdout"
) -> tuple[int, bytes]:
    """Run ``args`` with ``stream`` (stdout or stderr) on a pseudo-terminal: exit code, bytes.

    The other stream goes nowhere, and standard input is closed.
    """
    controller, terminal = pty.openpty()
    out = terminal if stream == "stdout" else subprocess.DEVNULL
    err = terminal if stream == "stderr" else subprocess.DEVNULL
    with subprocess.Popen(
        args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
    ) as proc:
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closes when the command exits
                break
            if not chunk:
                break
            shown += chunk
    os.close(controller)
    return proc.returncode, shown
