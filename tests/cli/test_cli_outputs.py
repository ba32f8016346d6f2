"""Files the command writes: the old file or the whole new one, never half of one."""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from _cli import SAMPLE, Cli
from click.testing import CliRunner

import provisioning.cli._app as app
from provisioning.cli._inputs import atomic_output

OLD = "the old export\n"


def _no_space(*args: Any, **kwargs: Any) -> int:
    """Stands in for each writer: write a first row, then fail as a full disk would."""
    stream = next(a for a in args if isinstance(a, io.TextIOBase))
    stream.write("LegacyContactKey,FirstName\r\n")
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    "args",
    [
        ("export", "--tenant", "riverbend", "-o", "e.csv"),
        ("template", "-o", "e.csv"),
        ("validate", str(SAMPLE), "--error-report", "e.csv"),
    ],
)
def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    """A write that fails midway leaves the target as it was, and no temporary file."""
    cli = Cli(tmp_path).with_riverbend()
    assert cli("apply", SAMPLE, "--tenant", "riverbend", "--actor", "dana", "--yes",
               "--override", "row_errors").code == 0  # fmt: skip
    target = cli.file("e.csv", OLD)
    monkeypatch.chdir(tmp_path)
    for name in ("write", "write_blank", "write_error_report"):
        monkeypatch.setattr(app, name, _no_space)
    result = CliRunner().invoke(app.cli, ["--db", str(cli.db), *args])
    assert result.exit_code == 2
    assert "Error: No space left on device" in result.output
    assert target.read_text(encoding="utf-8") == OLD
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("store.db")] == ["e.csv"]


def test_export_replaces_the_file_whole(tmp_path: Path) -> None:
    """A successful export replaces the old file, keeping its permissions."""
    cli = Cli(tmp_path).with_riverbend()
    assert cli("apply", SAMPLE, "--tenant", "riverbend", "--actor", "dana", "--yes",
               "--override", "row_errors").code == 0  # fmt: skip
    target = cli.file("e.csv", OLD)
    target.chmod(0o640)
    result = cli("export", "--tenant", "riverbend", "-o", "e.csv")
    assert result.code == 0, result.err
    assert "exported 293 records of riverbend to e.csv" in result.err
    assert target.read_text(encoding="utf-8").startswith("LegacyContactKey,")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "store.db"]


def test_atomic_output_follows_a_link_and_writes_devices_directly(tmp_path: Path) -> None:
    """Through a symbolic link the linked file is replaced; /dev/null is written as it is."""
    real = tmp_path / "real.csv"
    real.write_text(OLD, encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with atomic_output(link) as stream:
        stream.write("new\n")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new\n"
    with atomic_output(Path(os.devnull)) as stream:
        stream.write("gone\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_atomic_output_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    """A new file is made as open() would make it, not with a temporary file's 0600."""
    umask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "new.csv") as stream:
            stream.write("x\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o644
