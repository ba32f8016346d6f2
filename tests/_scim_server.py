"""A live ``provisioning scim serve`` in a subprocess, on a free port, for the tests over HTTP."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs

#: The console script pip installed beside this interpreter.
SCRIPT = shutil.which("provisioning", path=str(Path(sys.executable).parent)) or shutil.which(
    "provisioning"
)
_SERVING = re.compile(r"serving SCIM 2\.0 of .* at (http://\S+?)/\{tenant_id\}/v2/")


@attrs.frozen
class Served:
    """A running server: its root URL and the file its stderr (the request log) goes to."""

    url: str
    log: Path

    def base(self, tenant_id: str) -> str:
        """The tenant's SCIM base URL."""
        return f"{self.url}/{tenant_id}/v2"

    def lines(self) -> list[str]:
        """What the server wrote on stderr so far."""
        return self.log.read_text(encoding="utf-8").splitlines()


def command(db: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``provisioning --db DB ARGS``, checked."""
    assert SCRIPT is not None, "install the package (pip install -e '.[test]') first"
    return subprocess.run(
        [SCRIPT, "--db", str(db), *args], capture_output=True, text=True, check=True, timeout=120
    )


@contextlib.contextmanager
def serving(db: Path | str, folder: Path, *args: str) -> Iterator[Served]:
    """``provisioning --db DB scim serve --port 0 ARGS`` until the block ends (SIGTERM)."""
    assert SCRIPT is not None, "install the package (pip install -e '.[test]') first"
    log = folder / f"serve-{time.monotonic_ns()}.log"
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [SCRIPT, "--db", str(db), "scim", "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={k: v for k, v in os.environ.items() if k != "PROVISIONING_DB"},
        )
    try:
        deadline = time.monotonic() + 60
        while (found := _SERVING.search(log.read_text(encoding="utf-8"))) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start: {log.read_text()}")
            time.sleep(0.05)
        yield Served(found.group(1), log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            proc.kill()
            proc.wait()
