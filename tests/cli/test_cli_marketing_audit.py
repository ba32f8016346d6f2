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
    # A CSV one under a .csv name needs no note.
    assert "note:" not in written.err


def test_a_tab_delimited_file_under_a_csv_name_is_noted(tmp_path: Path) -> None:
    """The Professional edition's file is tab-delimited: written as ``.csv`` (which
    Excel splits at commas) it is still written, with a note saying to name it .txt;
    as ``.txt`` there is no note."""
    cli = _delta(tmp_path)
    assert cli("tenant", "add", cli.file("harbor.toml", PRO_TENANT)).code == 0
    for args in (
        ("template", "--product", "marketing", "--tenant", "harbor", "-o", "c.csv"),
        ("export", "--tenant", "harbor", "--product", "marketing", "-o", "c.csv"),
    ):
        noted = cli(*args)
        assert noted.code == 0, noted.err
        assert "note: c.csv is tab-delimited" in " ".join(noted.err.split())
        assert "name it .txt" in " ".join(noted.err.split())
        assert (tmp_path / "c.csv").read_text(encoding="utf-8").startswith("Email\tFirstName")
        plain = cli(*args[:-1], "c.txt")
        assert plain.code == 0, plain.err
        assert "note:" not in plain.err


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


def _contacts(count: int, name: str = "C") -> str:
    return "Email,MemberId,FirstName\r\n" + "".join(
        f"c{n}@example.com,M{n},{name}{n}\r\n" for n in range(count)
    )


def test_revert_of_a_marketing_upload_is_found_from_its_id(tmp_path: Path) -> None:
    """revert takes the upload's id alone: a Marketing upload's contacts get their old
    values back, the ones it created are unsubscribed, a contact changed since is left
    alone; the revert is listed and audited as Marketing's, and is done once."""
    cli = _delta(tmp_path)
    _apply(cli, "users.csv", COMMUNITY_FILE, "community")  # upload 1, a Community one
    _apply(cli, "first.csv", _contacts(6), "marketing")  # upload 2
    second = _contacts(2, "New") + "new@example.com,M9,Nina\r\n"
    _apply(cli, "second.csv", second, "marketing", "--mode", "partial")  # upload 3
    _apply(cli, "third.csv", _contacts(1, "Later"), "marketing", "--mode", "partial")  # 4
    reverted = cli("revert", "3", "--tenant", "delta", "--actor", "dee", "--yes")
    assert reverted.code == 0, reverted.err
    assert "revert of upload 3 to delta (marketing enterprise, by member_id" in reverted.out
    exported = cli("export", "--tenant", "delta", "--product", "marketing")
    names = {line.split(",")[1]: line.split(",")[2] for line in exported.out.splitlines()[1:]}
    assert (names["M0"], names["M1"]) == ("Later0", "C1")
    # M9, created by upload 3, is unsubscribed now: a contact file has no such column.
    assert "M9" not in names
    assert "1 unsubscribed contact(s) left out" in exported.err
    history = cli("history", "M9", "--tenant", "delta", "--format", "json")
    last = json.loads(history.out.splitlines()[-1])
    assert (last["channel"], last["product"]) == ("revert", "marketing")
    assert last["changes"] == {"subscription": {"old": "subscribed", "new": "unsubscribed"}}
    table = cli("uploads", "--tenant", "delta").out
    assert "product" in table
    assert "marketing" in table
    assert "community" in table
    listed = cli("uploads", "--tenant", "delta", "--format", "json").json()
    assert (listed[-1]["file_digest"], listed[-1]["product"]) == ("revert:3", "marketing")
    # Upload 3 is reverted: listed as no longer revertible, naming its revert (5).
    assert [(u["id"], u["revertible"], u["reverted_by"]) for u in listed] == [
        (1, True, None),
        (2, True, None),
        (3, False, 5),
        (4, True, None),
        (5, True, None),
    ]
    assert "no (reverted by upload 5)" in " ".join(table.split())
    again = cli("revert", "3", "--tenant", "delta", "--actor", "dee", "--yes")
    assert again.code == 1
    assert "reverted already" in again.err
    # The Community upload is reverted as ever, from its id too.
    community = cli("revert", "1", "--tenant", "delta", "--actor", "dee", "--yes", "--format",
                    "json", "--override", "mass_deactivation")  # fmt: skip
    assert community.code == 0, community.err
    assert community.json()["product"] == "community"


def test_revert_of_a_first_marketing_upload_is_held_and_shows_what_is_left_alone(
    tmp_path: Path,
) -> None:
    """Unsubscribing everyone the first upload created is held (mass_deactivation, exit
    1) until overridden; the JSON plan lists the contact changed since as a conflict."""
    cli = _delta(tmp_path)
    _apply(cli, "first.csv", _contacts(4), "marketing")
    _apply(cli, "second.csv", _contacts(1, "Later"), "marketing", "--mode", "partial")
    held = cli("revert", "1", "--tenant", "delta", "--actor", "dee", "--yes", "--format", "json")
    assert held.code == 1
    data = held.json()
    assert data["verdict"] == "held"
    assert data["counts"]["unsubscribed"] == 3
    assert [c["key"] for c in data["conflicts"]] == ["M0"]
    done = cli("revert", "1", "--tenant", "delta", "--actor", "dee", "--yes",
               "--override", "mass_deactivation")  # fmt: skip
    assert done.code == 0, done.err
    exported = cli("export", "--tenant", "delta", "--product", "marketing")
    assert exported.code == 0, exported.err
    assert exported.out.splitlines()[1:] == ["c0@example.com,M0,Later0,"]
    # Unsubscribed, never deleted: the history still has each one.
    assert "3 unsubscribed contact(s) left out" in exported.err
    for key in ("M1", "M2", "M3"):
        trail = cli("history", key, "--tenant", "delta", "--product", "marketing").out
        assert "revert" in trail
