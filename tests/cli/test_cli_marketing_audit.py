"""Marketing uploads from the command after the apply: history by product, results, revert,
and the template of a tenant."""

from __future__ import annotations

import json
from pathlib import Path

from _cli import Cli

#: Community and Marketing both by upload, contacts keyed by member id: a member id may
#: be a Community record's LegacyContactKey too.
BOTH_TENANT = """\
id = "delta"
name = "Delta Society"
marketing_key = "member_id"

[products]
community = "spreadsheet_upload"
marketing = "spreadsheet_upload"

[[actors]]
id = "dee"
role = "super_admin"
"""

COMMUNITY_FILE = (
    "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\r\n"
    "M1,Ada,Lovelace,ada@example.com,Engines\r\n"
)
CONTACTS_FILE = "Email,MemberId,FirstName\r\nada@example.com,M1,Ada\r\n"


def _delta(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    added = cli("tenant", "add", cli.file("delta.toml", BOTH_TENANT))
    assert added.code == 0, added.err
    return cli


def _apply(cli: Cli, name: str, content: str, product: str, *more: str) -> None:
    applied = cli(
        "apply", cli.file(name, content), "--tenant", "delta", "--actor", "dee",
        "--product", product, "--yes", *more,
    )  # fmt: skip
    assert applied.code == 0, applied.err


def test_history_of_a_key_shared_by_a_user_and_a_contact_splits_by_product(
    tmp_path: Path,
) -> None:
    """One key, two products: without --product both trails (each event naming its
    product), with it one of them."""
    cli = _delta(tmp_path)
    _apply(cli, "users.csv", COMMUNITY_FILE, "community")
    _apply(cli, "contacts.csv", CONTACTS_FILE, "marketing")

    def history(*more: str) -> list[tuple[str, str]]:
        got = cli("history", "M1", "--tenant", "delta", "--format", "json", *more)
        assert got.code == 0, got.err
        events = [line for line in got.out.splitlines() if line]
        return [(e["product"], e["kind"]) for e in map(json.loads, events)]

    assert history() == [("community", "created"), ("marketing", "created")]
    assert history("--product", "marketing") == [("marketing", "created")]
    assert history("--product", "community") == [("community", "created")]
    table = cli("history", "M1", "--tenant", "delta", "--product", "marketing")
    assert table.code == 0, table.err
    assert "marketing" in table.out
    assert "community" not in table.out
    bad = cli("history", "M1", "--tenant", "delta", "--product", "sales")
    assert bad.code == 2
    assert "--product" in bad.err
