"""register and user create / edit / deactivate: one record at a time, from the command."""

from __future__ import annotations

import json
from pathlib import Path

from _cli import EXAMPLES, Cli

HARBOR = EXAMPLES / "tenants" / "harbor-standalone.toml"
ADA = (
    "--key",
    "H-1",
    "--first-name",
    "Ada",
    "--last-name",
    "Lovelace",
    "--email",
    "ada@example.org",
    "--company",
    "Engines",
)
BO = (
    "--set",
    "LegacyContactKey=H-2",
    "--set",
    "FirstName=Bo",
    "--set",
    "LastName=Li",
    "--set",
    "EmailAddress=bo@example.org",
    "--set",
    "CompanyName=C",
)


def _harbor(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    assert cli("tenant", "add", HARBOR).code == 0
    return cli


def test_a_registration_waits_for_verification_on_harbor(tmp_path: Path) -> None:
    cli = _harbor(tmp_path)
    done = cli("register", "--tenant", "harbor", *ADA, "--format", "json")
    assert done.code == 0, done.err
    data = done.json()
    assert (data["status"], data["revision"], data["event"]["channel"]) == (
        "Pending Verification",
        1,
        "registration",
    )


def test_an_admin_creates_edits_and_deactivates(tmp_path: Path) -> None:
    cli = _harbor(tmp_path)
    admin = ("--tenant", "harbor", "--actor", "ines")
    assert cli("user", "create", *admin, *BO, "--set", "MemberSince=2024-02-03").code == 0
    edited = cli("user", "edit", "H-2", *admin, "--set", "Title=Dr", "--format", "json")
    assert edited.code == 0, edited.err
    assert edited.json()["event"]["changes"] == {"title": {"old": None, "new": "Dr"}}
    off = cli("user", "deactivate", "H-2", *admin, "--format", "json")
    assert off.json()["status"] == "Deactivated"
    events = [
        json.loads(line)
        for line in cli("history", "H-2", "--tenant", "harbor", "--format", "json").out.splitlines()
    ]
    assert [e["kind"] for e in events] == ["created", "updated", "deactivated"]


def test_bad_values_are_named_as_an_upload_row_names_them(tmp_path: Path) -> None:
    cli = _harbor(tmp_path)
    admin = ("--tenant", "harbor", "--actor", "ines")
    assert cli("user", "create", *admin, *BO).code == 0
    bad = cli("user", "edit", "H-2", *admin, "--set", "MemberSince=03/02/2024")
    assert bad.code == 2
    assert "MemberSince: ambiguous_date" in bad.err
    unknown = cli("user", "edit", "H-2", *admin, "--set", "Nickname=x")
    assert unknown.code == 2
    assert "column of the upload template" in unknown.err
    status = cli("user", "edit", "H-2", *admin, "--set", "Status=Enabled")
    assert status.code == 2
    assert cli.revision("harbor") == 1


def test_a_refusal_names_its_rule_writes_nothing_and_is_audited(tmp_path: Path) -> None:
    cli = _harbor(tmp_path)
    refused = cli("user", "create", "--tenant", "harbor", "--actor", "moderator", *BO)
    assert refused.code == 1
    assert "ROLE_PERMISSIONS" in refused.err
    assert cli.revision("harbor") == 0
    events = [
        json.loads(line)
        for line in cli("history", "--tenant", "harbor", "--format", "json").out.splitlines()
    ]
    assert [(e["kind"], e["actor"], e["rules"]) for e in events if e["key"]] == [
        ("refused", "moderator", ["ROLE_PERMISSIONS"])
    ]


def test_local_writes_are_refused_under_spreadsheet_upload(tmp_path: Path) -> None:
    cli = Cli(tmp_path).with_riverbend()
    refused = cli("user", "create", "--tenant", "riverbend", "--actor", "dana", *BO)
    assert refused.code == 1
    assert "UPLOAD_SINGLE_SOURCE" in refused.err
    registered = cli("register", "--tenant", "riverbend", *ADA)
    assert registered.code == 1
    assert "UPLOAD_SINGLE_SOURCE" in registered.err


def test_a_request_is_verified_approved_then_deactivated_and_reactivated(tmp_path: Path) -> None:
    cli = _harbor(tmp_path)
    assert cli("register", "--tenant", "harbor", *ADA).code == 0
    early = cli("approve", "H-1", "--tenant", "harbor", "--actor", "ines")
    assert early.code == 2
    assert "nothing to approve" in early.err
    assert cli("verify-email", "H-1", "--tenant", "harbor").code == 0
    approved = cli("approve", "H-1", "--tenant", "harbor", "--actor", "ines", "--format", "json")
    assert approved.json()["status"] == "Enabled"
    admin = ("--tenant", "harbor", "--actor", "ines")
    assert cli("user", "deactivate", "H-1", *admin).code == 0
    back = cli("user", "reactivate", "H-1", *admin, "--format", "json")
    assert back.json()["event"]["kind"] == "reactivated"
    refused = cli("reject", "H-1", "--tenant", "harbor", "--actor", "moderator")
    assert refused.code == 1
    assert "ROLE_PERMISSIONS" in refused.err


def test_help_lists_the_commands_in_sections(tmp_path: Path) -> None:
    out = Cli(tmp_path)("--help").out
    sections = ["Uploads:", "Users and requests:", "Audit:", "Rules:", "Tenants:"]
    assert [out.index(s) for s in sections] == sorted(out.index(s) for s in sections)
    assert "Other:" not in out


SUMMIT = EXAMPLES / "tenants" / "summit-integration.toml"


def test_push_applies_json_lines_or_nothing(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    assert cli("tenant", "add", SUMMIT).code == 0
    good = cli.file(
        "push.jsonl",
        '{"op": "upsert", "record": {"LegacyContactKey": "S-1", "FirstName": "Ada", '
        '"LastName": "L", "EmailAddress": "ada@x.org", "CompanyName": "E"}}\n',
    )
    done = cli("push", good, "--tenant", "summit", "--actor", "imis-sync", "--format", "json")
    assert done.code == 0, done.err
    assert [e["kind"] for e in done.json()["events"]] == ["created"]
    bad = cli.file("bad.jsonl", '{"op": "fly", "record": {}}\nnot json\n')
    refused = cli("push", bad, "--tenant", "summit", "--actor", "imis-sync")
    assert refused.code == 1
    assert "line 1: op:" in refused.err
    assert "line 2:" in refused.err
    person = cli("push", good, "--tenant", "summit", "--actor", "priya")
    assert person.code == 1
    assert "ROLE_PERMISSIONS" in person.err
    assert cli.revision("summit") == 1


def test_deleting_personal_data_asks_then_redacts_and_leaves_the_export(tmp_path: Path) -> None:
    """delete-personal-data needs --yes without a terminal; then the record is a tombstone,
    the history keeps the events without the values, and export leaves the record out."""
    cli = _harbor(tmp_path)
    admin = ("--tenant", "harbor", "--actor", "ines")
    assert cli("user", "create", *admin, *BO).code == 0
    assert cli("user", "edit", "H-2", *admin, "--set", "Title=Dr").code == 0
    unasked = cli("user", "delete-personal-data", "H-2", *admin)
    assert unasked.code == 2
    assert "cannot be undone" in unasked.err
    done = cli("user", "delete-personal-data", "H-2", *admin, "--yes", "--format", "json")
    assert done.code == 0, done.err
    assert (done.json()["status"], done.json()["event"]["kind"]) == ("Deleted", "redacted")
    history = cli("history", "H-2", "--tenant", "harbor", "--format", "json").out
    assert "bo@example.org" not in history
    assert '"Dr"' not in history
    kinds = [json.loads(line)["kind"] for line in history.splitlines()]
    assert kinds == ["created", "updated", "redacted"]
    exported = cli("export", "--tenant", "harbor")
    assert exported.code == 0
    assert "H-2" not in exported.out
    again = cli("user", "edit", "H-2", *admin, "--set", "Title=Prof")
    assert again.code == 2
    assert "DEACTIVATE_NOT_DELETE" in again.err


def test_push_lines_that_would_be_guessed_at_are_errors(tmp_path: Path) -> None:
    """A repeated name, a lone surrogate or deep nesting is an error naming its line, not a
    traceback nor a silent last-one-wins; nothing is written."""
    cli = Cli(tmp_path)
    assert cli("tenant", "add", SUMMIT).code == 0
    person = '"FirstName": "A", "LastName": "B", "EmailAddress": "a@x.org", "CompanyName": "C"'
    lines = [
        '{"op": "deactivate", "op": "upsert", "record": {"LegacyContactKey": "S-1", '
        + person
        + "}}",
        '{"op": "upsert", "record": {"LegacyContactKey": "S-2\\ud800", ' + person + "}}",
        '{"op": "upsert", "record": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"op": "upsert", "record": {"LegacyContactKey": "S-3", ' + person,
    ]
    bad = cli.file("bad.jsonl", "\n".join(lines) + "\n")
    refused = cli("push", bad, "--tenant", "summit", "--actor", "imis-sync")
    assert refused.code == 1
    assert "Traceback" not in refused.err
    assert "line 1: 'op' is given twice" in refused.err
    assert "line 2: the value of 'LegacyContactKey' holds a lone surrogate" in refused.err
    assert "line 3: the JSON is nested too deeply" in refused.err
    assert "line 4: not JSON:" in refused.err
    assert cli.revision("summit") == 0
