"""Usage errors and unreadable inputs: exit 2, a message on stderr, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import SAMPLE, Cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "--bogus"), "No such option"),
        (("frobnicate",), "No such command"),
        (("plan", "x.csv"), "does not exist"),
        (("plan", str(SAMPLE), "--tenant", "riverbend"), "Missing option '--actor'"),
        (("apply", str(SAMPLE), "--tenant", "t", "--actor", "a", "--mode", "half"), "half"),
        (("apply", str(SAMPLE), "--tenant", "t", "--actor", "a", "--override", "x"), "x"),
        (("sso", "--tenant", "t", "--as-of", "25/11/2026"), "--as-of"),
        (("explain", "--tenant", "t", "--action", "fly"), "fly"),
        (("--db", ".", "tenant", "list"), "directory"),
    ],
)
def test_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    """Bad options, commands and values are usage errors: exit 2 and a helpful line."""
    result = Cli(tmp_path)(*args)
    assert result.code == 2
    assert message in result.err


def test_store_that_is_not_a_database(tmp_path: Path) -> None:
    """A --db file that is not SQLite is unreadable input, not a crash."""
    cli = Cli(tmp_path)
    junk = cli.file("junk.db", "this is not a database\n" * 100)
    result = cli("--db", junk, "tenant", "list")
    assert result.code == 2
    assert "not a database" in result.err


def test_version_and_help(tmp_path: Path) -> None:
    """--version names the version; --help lists the commands and the exit codes."""
    cli = Cli(tmp_path)
    assert cli("--version").out.startswith("provisioning, version ")
    helped = cli("--help").out
    for command in ("tenant", "template", "validate", "plan", "apply", "export", "explain", "sso"):
        assert command in helped
    assert "Exit codes" in helped
