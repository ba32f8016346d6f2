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


PRO_TENANT = """\
id = "harbor"
name = "Harbor Guild"
marketing_edition = "professional"

[products]
marketing = "spreadsheet_upload"

[[actors]]
id = "pat"
role = "super_admin"
"""


def test_the_template_of_a_tenant_is_the_file_it_uploads(tmp_path: Path) -> None:
    """--tenant picks the edition's format and the contact key; the file written plans
    against the tenant as it is (the header the planner wants)."""
    cli = _delta(tmp_path)
    assert cli("tenant", "add", cli.file("harbor.toml", PRO_TENANT)).code == 0
    pro = cli("template", "--product", "marketing", "--tenant", "harbor")
    assert pro.code == 0, pro.err
    assert pro.out == "Email\tFirstName\tLastName\n"
    by_id = cli("template", "--product", "marketing", "--tenant", "delta", "--example")
    assert by_id.code == 0, by_id.err
    assert by_id.out.splitlines()[0] == "Email,MemberId,FirstName,LastName"
    community = cli("template", "--tenant", "delta")
    assert community.out == cli("template").out
    written = cli("template", "--product", "marketing", "--tenant", "delta", "-o", "c.csv")
    assert written.code == 0, written.err
    (tmp_path / "c.csv").write_text(
        (tmp_path / "c.csv").read_text() + "ada@example.com,M1,Ada,Lovelace\r\n"
    )
    planned = cli(
        "plan", "c.csv", "--tenant", "delta", "--actor", "dee", "--product", "marketing",
        "--format", "json",
    )  # fmt: skip
    assert planned.code == 0, planned.err
    assert planned.json()["counts"]["created"] == 1


def test_the_template_of_a_tenant_refuses_what_does_not_fit(tmp_path: Path) -> None:
    """An edition beside --tenant, a product the tenant lacks, a tenant not stored: exit 2,
    naming what to type instead; nothing is written."""
    cli = _delta(tmp_path)
    assert cli("tenant", "add", cli.file("harbor.toml", PRO_TENANT)).code == 0
    edition = cli("template", "--product", "marketing", "--tenant", "harbor", "--edition",
                  "enterprise", "-o", "t.txt")  # fmt: skip
    assert edition.code == 2
    assert "--edition" in edition.err
    lacking = cli("template", "--tenant", "harbor", "-o", "t.txt")
    assert lacking.code == 2
    assert "has no community product; its file: --product marketing" in lacking.err
    unknown = cli("template", "--tenant", "nobody", "-o", "t.txt")
    assert unknown.code == 2
    assert "no tenant 'nobody'" in unknown.err
    assert not (tmp_path / "t.txt").exists()
