"""``provisioning plan`` and ``apply``: refusals, safeguards, confirmation and stale plans."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

from _cli import SAMPLE, SCRIPT, Cli

UPLOAD = ("--tenant", "riverbend", "--actor", "dana")


def test_plan_is_held_by_row_errors(tmp_path: Path) -> None:
    """The sample's bad rows hold the plan (exit 1) and name the override that lifts it."""
    cli = Cli(tmp_path).with_riverbend()
    result = cli("plan", SAMPLE, *UPLOAD, "--format", "json", "--as-of", "2026-11-25")
    assert result.code == 1
    plan = result.json()
    assert plan["verdict"] == "held"
    assert plan["held_by"] == ["row_errors"]
    assert plan["rules"] == ["SAFEGUARD_ROW_ERRORS"]
    assert plan["counts"]["created"] == 293
    assert plan["counts"]["errors"] == 7
    assert len(plan["password_notices"]) == 293  # SSO is not live until 2027-01-11
    assert plan["file_digest"].startswith("sha256:")
    text = cli("plan", SAMPLE, *UPLOAD)
    assert text.code == 1
    assert "--override row_errors" in text.out


def test_apply_with_override_then_nothing_changes(tmp_path: Path) -> None:
    """Applying with the override commits the valid rows; the same file again changes nothing."""
    cli = Cli(tmp_path).with_riverbend()
    first = cli("apply", SAMPLE, *UPLOAD, "--override", "row_errors", "--yes", "--format", "json")
    assert first.code == 0, first.err
    assert first.json()["applied"]["revision"] == 1
    again = cli("plan", SAMPLE, *UPLOAD, "--override", "row_errors", "--format", "json").json()
    assert again["verdict"] == "ready"
    assert again["counts"]["unchanged"] == 293
    assert again["changes"] == []
    shown = cli("tenant", "show", "riverbend", "--format", "json").json()
    assert shown["records"] == 293
    assert shown["uploads"][0]["actor"] == "dana"


def test_refused_actor(tmp_path: Path) -> None:
    """A Site Admin may not upload (UPLOAD_SUPER_ADMIN_ONLY): plan and apply exit 1."""
    cli = Cli(tmp_path).with_riverbend()
    planned = cli("plan", SAMPLE, "--tenant", "riverbend", "--actor", "lee", "--format", "json")
    assert planned.code == 1
    assert planned.json()["verdict"] == "refused"
    assert planned.json()["rules"] == ["UPLOAD_SUPER_ADMIN_ONLY"]
    applied = cli("apply", SAMPLE, "--tenant", "riverbend", "--actor", "lee", "--yes")
    assert applied.code == 1
    assert "UPLOAD_SUPER_ADMIN_ONLY" in applied.err
    assert cli.revision() == 0


def test_unknown_actor_is_a_usage_error(tmp_path: Path) -> None:
    """An actor the tenant file did not name is a usage error listing the known ones."""
    cli = Cli(tmp_path).with_riverbend()
    result = cli("plan", SAMPLE, "--tenant", "riverbend", "--actor", "mallory")
    assert result.code == 2
    assert "no actor 'mallory'" in result.err
    assert "dana, lee, sam" in result.err


def test_tripped_safeguard_writes_nothing(tmp_path: Path) -> None:
    """A full import of a header-only file trips SAFEGUARD_EMPTY_FILE: exit 1, store unchanged."""
    cli = Cli(tmp_path).with_riverbend()
    assert cli("apply", cli.members("ten.csv", 10), *UPLOAD, "--yes").code == 0
    empty = cli.members("empty.csv", 0)
    result = cli("apply", empty, *UPLOAD, "--yes")
    assert result.code == 1
    assert "SAFEGUARD_EMPTY_FILE" in result.err
    assert "--override empty_file" in result.err
    assert cli.revision() == 1


def test_stale_plan_after_another_apply(tmp_path: Path) -> None:
    """A plan saved at revision 1 is refused once another apply moved the store to 2."""
    cli = Cli(tmp_path).with_riverbend()
    assert cli("apply", cli.members("ten.csv", 10), *UPLOAD, "--yes").code == 0
    reviewed = cli.members("renamed.csv", 10, company="Riverbend General")
    assert cli("plan", reviewed, *UPLOAD, "--save", "plan.json").code == 0
    other = cli("apply", cli.members("more.csv", 11), *UPLOAD, "--yes")
    assert other.code == 0
    stale = cli("apply", reviewed, *UPLOAD, "--plan", "plan.json", "--yes")
    assert stale.code == 1
    assert "stale plan" in stale.err
    assert "from revision 1 to 2" in stale.err
    assert cli.revision() == 2


def test_saved_plan_applies_and_checks_the_file(tmp_path: Path) -> None:
    """A fresh saved plan applies; a changed file or another actor is refused."""
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("ten.csv", 10)
    assert cli("plan", upload, *UPLOAD, "--save", "plan.json").code == 0
    other_actor = cli(
        "apply", upload, "--tenant", "riverbend", "--actor", "lee", "--plan", "plan.json", "--yes"
    )
    assert other_actor.code == 2
    cli.members("ten.csv", 12)
    changed = cli("apply", upload, *UPLOAD, "--plan", "plan.json", "--yes")
    assert changed.code == 1
    assert "changed since the plan was saved" in changed.err
    cli.members("ten.csv", 10)
    assert cli("apply", upload, *UPLOAD, "--plan", "plan.json", "--yes").code == 0
    assert cli("apply", upload, *UPLOAD, "--plan", cli.file("junk.json", "{}"), "--yes").code == 2


def test_apply_needs_yes_without_a_terminal(tmp_path: Path) -> None:
    """Without a terminal to confirm on, apply refuses to run unless --yes is given."""
    cli = Cli(tmp_path).with_riverbend()
    result = cli("apply", cli.members("ten.csv", 10), *UPLOAD)
    assert result.code == 2
    assert "--yes" in result.err
    assert cli.revision() == 0


def test_apply_asks_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal apply asks first; answering no applies nothing (exit 1)."""
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("ten.csv", 10)
    controller, terminal = pty.openpty()
    assert SCRIPT is not None
    with subprocess.Popen(
        [SCRIPT, "apply", str(upload), *UPLOAD],
        cwd=tmp_path,
        env={**os.environ, "PROVISIONING_DB": str(cli.db)},
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        os.close(terminal)
        os.write(controller, b"n\n")
        _, err = proc.communicate(timeout=60)
    os.close(controller)
    assert proc.returncode == 1
    assert b"Apply 10 change(s) to riverbend?" in err
    assert b"nothing was applied" in err
    assert cli.revision() == 0


def test_plan_of_a_file_with_a_bad_header(tmp_path: Path) -> None:
    """A header that breaks the template refuses the file (exit 1), one line per problem."""
    cli = Cli(tmp_path).with_riverbend()
    bad = cli.file("bad.csv", "Key,First\r\n1,A\r\n")
    result = cli("plan", bad, *UPLOAD)
    assert result.code == 1
    assert "the header row does not fit the 'Upload Users' template:" in result.err
    assert "required column 'EmailAddress' is missing" in result.err
