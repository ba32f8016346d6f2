"""uploads, history and revert: the audit trail and undo, from the command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from _cli import RIVERBEND, Cli

UPLOAD = ("--tenant", "riverbend", "--actor", "dana", "--as-of", "2026-11-25", "--yes")


def _two_uploads(tmp_path: Path) -> Cli:
    """Riverbend with upload 1 (5 members) and upload 2 (4 of them, one retitled)."""
    cli = Cli(tmp_path).with_riverbend()
    first = cli.members("first.csv", 5)
    assert cli("apply", first, *UPLOAD).code == 0
    lines = first.read_text(encoding="utf-8").splitlines()
    second = cli.file(
        "second.csv", "\n".join(lines[:5]).replace("Riverbend", "Riverbend Co") + "\n"
    )
    applied = cli("apply", second, *UPLOAD, "--override", "mass_deactivation", "--format", "json")
    assert applied.code == 0, applied.err
    assert applied.json()["applied"]["upload_id"] == 2
    return cli


def test_uploads_lists_each_upload_with_its_id(tmp_path: Path) -> None:
    cli = _two_uploads(tmp_path)
    listed = cli("uploads", "--tenant", "riverbend", "--format", "json").json()
    assert [
        (u["id"], u["actor"], u["mode"], u["revertible"], u["reverted_by"]) for u in listed
    ] == [
        (1, "dana", "full", True, None),
        (2, "dana", "full", True, None),
    ]
    assert listed[0]["counts"]["created"] == 5
    text = cli("uploads", "--tenant", "riverbend")
    assert text.code == 0
    assert "revertible" in text.out


def test_uploads_of_a_tenant_without_any_says_so(tmp_path: Path) -> None:
    """No empty table: a sentence in text, an empty list in JSON."""
    cli = Cli(tmp_path).with_riverbend()
    text = cli("uploads", "--tenant", "riverbend")
    assert (text.code, text.out.strip()) == (0, "no uploads of riverbend yet")
    assert cli("uploads", "--tenant", "riverbend", "--format", "json").json() == []


def test_history_of_a_record_names_who_what_and_which_upload(tmp_path: Path) -> None:
    cli = _two_uploads(tmp_path)
    lines = cli.folder.joinpath("first.csv").read_text(encoding="utf-8").splitlines()
    key, gone = lines[1].split(",")[0], lines[5].split(",")[0]
    events = [
        json.loads(line)
        for line in cli(
            "history", key, "--tenant", "riverbend", "--format", "json"
        ).out.splitlines()
    ]
    assert [(e["kind"], e["upload_id"], e["channel"], e["actor"]) for e in events] == [
        ("created", 1, "upload", "dana"),
        ("updated", 2, "upload", "dana"),
    ]
    assert events[1]["changes"]["company_name"] == {"old": "Riverbend", "new": "Riverbend Co"}
    left_out = cli("history", gone, "--tenant", "riverbend", "--upload", "2", "--format", "json")
    (event,) = [json.loads(line) for line in left_out.out.splitlines()]
    assert event["kind"] == "deactivated"
    assert event["changes"] == {"status": {"old": "Enabled", "new": "Deactivated"}}


def test_history_as_csv_is_formula_safe_and_whole(tmp_path: Path) -> None:
    cli = _two_uploads(tmp_path)
    out = cli("history", "--tenant", "riverbend", "--format", "csv").out
    rows = list(csv.DictReader(io.StringIO(out)))
    # the tenant added, 5 created, then 4 updated and 1 deactivated
    assert len(rows) == 1 + 5 + 5
    assert {r["kind"] for r in rows} == {"tenant_changed", "created", "updated", "deactivated"}


def test_revert_puts_the_records_back_and_is_audited(tmp_path: Path) -> None:
    cli = _two_uploads(tmp_path)
    held = cli("revert", "2", "--tenant", "riverbend", "--actor", "dana", "--yes")
    assert held.code == 0, held.err  # 1 reactivation, 4 updates: nothing locked out
    exported = cli("export", "--tenant", "riverbend").out
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["CompanyName"] for r in rows} == {"Riverbend"}
    assert {r["Status"] for r in rows} == {"Enabled"}
    listed = cli("uploads", "--tenant", "riverbend", "--format", "json").json()
    assert listed[-1]["file_digest"] == "revert:2"
    events = cli(
        "history", "--tenant", "riverbend", "--upload", str(listed[-1]["id"]), "--format", "json"
    )
    kinds = sorted(json.loads(line)["kind"] for line in events.out.splitlines())
    assert kinds == ["reactivated", "updated", "updated", "updated", "updated"]
    assert {json.loads(line)["channel"] for line in events.out.splitlines()} == {"revert"}


def test_revert_is_refused_to_whoever_is_no_super_admin(tmp_path: Path) -> None:
    cli = _two_uploads(tmp_path)
    refused = cli("revert", "1", "--tenant", "riverbend", "--actor", "lee", "--yes")
    assert refused.code == 1
    assert "REVERT_UPLOAD" in refused.err
    assert cli.revision() == 2


def test_revert_of_an_unknown_upload_is_a_usage_error(tmp_path: Path) -> None:
    cli = _two_uploads(tmp_path)
    missing = cli("revert", "9", "--tenant", "riverbend", "--actor", "dana", "--yes")
    assert missing.code == 2
    assert "has no upload 9" in missing.err


def test_revert_of_an_initial_upload_is_held_until_overridden(tmp_path: Path) -> None:
    cli = Cli(tmp_path).with_riverbend()
    assert cli("apply", cli.members("first.csv", 5), *UPLOAD).code == 0
    held = cli("revert", "1", "--tenant", "riverbend", "--actor", "dana", "--yes")
    assert held.code == 1
    assert "mass_deactivation" in held.err
    assert cli.revision() == 1
    done = cli(
        "revert",
        "1",
        "--tenant",
        "riverbend",
        "--actor",
        "dana",
        "--yes",
        "--override",
        "mass_deactivation",
    )
    assert done.code == 0, done.err
    rows = list(csv.DictReader(io.StringIO(cli("export", "--tenant", "riverbend").out)))
    assert {r["Status"] for r in rows} == {"Deactivated"}
    assert len(rows) == 5  # deactivated, never deleted


def test_apply_without_yes_and_without_a_terminal_refuses_before_reading(tmp_path: Path) -> None:
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("first.csv", 5)
    refused = cli("apply", upload, "--tenant", "riverbend", "--actor", "dana")
    assert refused.code == 2
    assert "no one to confirm" in refused.err
    assert cli.revision() == 0


def test_revert_without_yes_and_without_a_terminal_says_how_to_review_it(
    tmp_path: Path,
) -> None:
    """`plan` cannot preview a revert: the refusal points to a terminal instead."""
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("first.csv", 5)
    assert cli("apply", upload, "--tenant", "riverbend", "--actor", "dana", "--yes").code == 0
    refused = cli("revert", "1", "--tenant", "riverbend", "--actor", "dana")
    assert refused.code == 2
    assert "to review the revert first, run it on a terminal, then run again" in refused.err
    assert "provisioning plan" not in refused.err
    assert cli.revision() == 1


def _riverbend_moved(cli: Cli, **replaced: str) -> Path:
    """The Riverbend tenant file with some of its text replaced."""
    text = Path(RIVERBEND).read_text(encoding="utf-8")
    for old, new in replaced.items():
        assert old in text
        text = text.replace(old, new)
    return cli.file("riverbend.toml", text)


def _tenant_events(cli: Cli) -> list[dict[str, Any]]:
    out = cli("history", "--tenant", "riverbend", "--format", "json").out
    return [e for e in map(json.loads, out.splitlines()) if e["key"] is None]


def test_tenant_changes_are_audited_and_make_a_saved_plan_stale(tmp_path: Path) -> None:
    """Adding a tenant is the operator's audited write; a Super Admin's method switch is
    decided, audited with the setting that changed, and makes a plan saved before stale."""
    cli = Cli(tmp_path).with_riverbend()
    members = cli.members("members.csv", 3)
    saved = tmp_path / "plan.json"
    planned = cli("plan", members, *UPLOAD[:-1], "--save", saved)
    assert planned.code == 0, planned.err
    moved = _riverbend_moved(
        cli, **{'community = "spreadsheet_upload"': 'community = "standalone"'}
    )
    changed = cli("tenant", "add", moved, "--actor", "dana")
    assert changed.code == 0, changed.err
    added, switched = _tenant_events(cli)
    assert (added["kind"], added["actor"], added["role"]) == ("tenant_changed", "operator", None)
    assert added["changes"]["products.community"] == {"old": None, "new": "spreadsheet_upload"}
    assert (switched["actor"], switched["role"]) == ("dana", "super_admin")
    assert switched["changes"] == {
        "products.community": {"old": "spreadsheet_upload", "new": "standalone"}
    }
    assert "METHOD_CHANGE_IS_MIGRATION" in switched["rules"]
    stale = cli("apply", members, *UPLOAD[:-1], "--plan", saved, "--yes")
    assert stale.code == 1
    assert "stale" in stale.err or "changed" in stale.err
    assert "history" in cli("history", "--tenant", "riverbend").out


def test_a_tenant_change_by_a_site_admin_is_refused_and_audited(tmp_path: Path) -> None:
    """Only the method owner changes a tenant: a Site Admin's attempt exits 1 naming the
    rule, stores nothing and leaves a refused event; the same file again is no change."""
    cli = Cli(tmp_path).with_riverbend()
    before = cli.revision()
    moved = _riverbend_moved(
        cli, **{'community = "spreadsheet_upload"': 'community = "standalone"'}
    )
    refused = cli("tenant", "add", moved, "--actor", "lee")
    assert refused.code == 1
    assert "ROLE_PERMISSIONS" in refused.err
    assert cli.revision() == before
    shown = cli("tenant", "show", "riverbend", "--format", "json").json()
    assert shown["tenant"]["products"]["community"] == "spreadsheet_upload"
    refusal = _tenant_events(cli)[-1]
    assert (refusal["kind"], refusal["actor"], refusal["rules"]) == (
        "refused",
        "lee",
        ["ROLE_PERMISSIONS"],
    )
    again = cli("tenant", "add", RIVERBEND, "--actor", "dana")
    assert again.code == 0
    assert cli.revision() == before
    assert len(_tenant_events(cli)) == 2  # added, refused: nothing changed, nothing written


def test_a_new_tenant_is_added_only_by_the_operator(tmp_path: Path) -> None:
    """``--actor`` on a tenant not stored yet is a usage error; nothing is stored."""
    cli = Cli(tmp_path)
    result = cli("tenant", "add", RIVERBEND, "--actor", "dana")
    assert result.code == 2
    assert "leave out --actor" in result.err


def test_an_actor_cannot_promote_themselves_through_the_actors_list(tmp_path: Path) -> None:
    """A change of the actors alone, asked by a member, is refused, audited and stores
    nothing; the operator's is audited with the actors before and after."""
    cli = Cli(tmp_path).with_riverbend()
    promoted = _riverbend_moved(cli, **{'role = "member"': 'role = "super_admin"'})
    refused = cli("tenant", "add", promoted, "--actor", "sam")
    assert refused.code == 1
    assert "ROLE_PERMISSIONS" in refused.err
    shown = cli("tenant", "show", "riverbend", "--format", "json").json()
    assert {a["id"]: a["role"] for a in shown["actors"]}["sam"] == "member"
    assert _tenant_events(cli)[-1]["kind"] == "refused"
    assert cli("tenant", "add", promoted).code == 0
    change = _tenant_events(cli)[-1]
    assert (change["kind"], change["actor"]) == ("tenant_changed", "operator")
    assert "sam (super_admin)" in change["changes"]["actors"]["new"]
    assert "sam (member)" in change["changes"]["actors"]["old"]
