"""Marketing uploads from the command: validate, plan, apply and export a contact file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from _cli import MARKETING, Cli

#: A Professional tenant (tab-delimited contacts keyed by email) with a Super Admin.
PRO_TENANT = """\
id = "harbor"
name = "Harbor Guild"
marketing_edition = "professional"

[products]
marketing = "spreadsheet_upload"

[[actors]]
id = "pat"
role = "super_admin"

[[actors]]
id = "lee"
role = "site_admin"
"""

#: An Enterprise tenant keyed by member id.
BY_ID_TENANT = """\
id = "delta"
name = "Delta Society"
marketing_key = "member_id"

[products]
marketing = "spreadsheet_upload"

[[actors]]
id = "dee"
role = "super_admin"
"""

PRO_FILE = (
    "Email\tFirstName\tLastName\r\n"
    "ada@example.com\tAda\tLovelace\r\n"
    "eve@example\tEve\tInvalid\r\n"
    "ADA@example.com\tAda\tAgain\r\n"
    "grace@example.com\t=HYPERLINK()\tHopper\r\n"
)


def _pro(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    added = cli("tenant", "add", cli.file("harbor.toml", PRO_TENANT))
    assert added.code == 0, added.err
    return cli


def test_a_professional_file_goes_through_validate_plan_apply_and_export(
    tmp_path: Path,
) -> None:
    """The tenant's edition picks the tab-delimited file; skipped rows hold nothing; the
    export writes the stored contacts back in the same format, formula-safe."""
    cli = _pro(tmp_path)
    upload = cli.file("contacts.txt", PRO_FILE)
    checked = cli("validate", upload, "--product", "marketing", "--tenant", "harbor")
    # A row the vendor skips is reported, counted apart from errors, and the file is
    # valid: it loads, as its plan below is ready.
    assert checked.code == 0, checked.out
    assert "duplicate_email" in checked.out
    assert "0 errors, 2 skipped, 1 warnings" in checked.out
    as_json = cli(
        "validate", upload, "--product", "marketing", "--tenant", "harbor", "--format", "json"
    ).json()
    assert (as_json["valid"], as_json["errors"]) == (True, [])
    assert [p["code"] for p in as_json["skipped"]] == ["invalid_email", "duplicate_email"]

    planned = cli(
        "plan", upload, "--tenant", "harbor", "--actor", "pat", "--product", "marketing",
        "--format", "json", "--save", "plan.json",
    )  # fmt: skip
    assert planned.code == 0, planned.err
    data = planned.json()
    assert (data["product"], data["edition"], data["key"]) == ("marketing", "professional", "email")
    assert data["counts"] == {
        "rows": 4,
        "errors": 0,
        "skipped": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "unsubscribed": 0,
        "conflicts": 0,
    }
    applied = cli(
        "apply", upload, "--tenant", "harbor", "--actor", "pat", "--product", "marketing",
        "--plan", "plan.json", "--yes",
    )  # fmt: skip
    assert applied.code == 0, applied.err
    assert "2 created" in applied.out

    exported = cli("export", "--tenant", "harbor", "--product", "marketing", "-o", "out.txt")
    assert exported.code == 0, exported.err
    rows = list(csv.reader(io.StringIO((tmp_path / "out.txt").read_text()), delimiter="\t"))
    assert rows[0] == ["Email", "FirstName", "LastName"]
    assert rows[1:] == [
        ["ada@example.com", "Ada", "Lovelace"],
        ["grace@example.com", "'=HYPERLINK()", "Hopper"],
    ]

    # The exported file plans as unchanged: the round trip keeps every contact.
    again = cli(
        "plan", tmp_path / "out.txt", "--tenant", "harbor", "--actor", "pat", "--product",
        "marketing", "--format", "json",
    )  # fmt: skip
    assert again.json()["counts"]["unchanged"] == 2

    uploads = cli("uploads", "--tenant", "harbor", "--format", "json").json()
    assert [u["product"] for u in uploads] == ["marketing"]
    history = cli("history", "ada@example.com", "--tenant", "harbor", "--format", "json")
    assert history.code == 0, history.err
    assert "created" in history.out


def test_an_enterprise_file_goes_through_plan_apply_and_export(tmp_path: Path) -> None:
    """The Riverbend example (Enterprise, CSV keyed by email) loads the example contacts."""
    cli = Cli(tmp_path).with_riverbend()
    checked = cli("validate", MARKETING, "--product", "marketing", "--tenant", "riverbend")
    assert checked.code == 0, checked.out  # two rows skipped, none in error
    assert "0 errors, 2 skipped" in checked.out
    applied = cli(
        "apply", MARKETING, "--tenant", "riverbend", "--actor", "dana", "--product", "marketing",
        "--yes", "--format", "json",
    )  # fmt: skip
    assert applied.code == 0, applied.err
    counts = applied.json()["counts"]
    assert counts["created"] > 0
    exported = cli("export", "--tenant", "riverbend", "--product", "marketing")
    assert exported.code == 0, exported.err
    rows = list(csv.reader(io.StringIO(exported.out)))
    assert rows[0] == ["Email", "MemberId", "FirstName", "LastName"]
    assert len(rows) - 1 == counts["created"]
    # The Community records are untouched by a Marketing upload.
    community = cli("export", "--tenant", "riverbend")
    assert list(csv.reader(io.StringIO(community.out)))[1:] == []


def test_by_member_id_the_tenant_picks_the_member_id_file(tmp_path: Path) -> None:
    """An Enterprise tenant keyed by member id takes the by-member-id file."""
    cli = Cli(tmp_path)
    assert cli("tenant", "add", cli.file("delta.toml", BY_ID_TENANT)).code == 0
    upload = cli.file("c.csv", "Email,MemberId,FirstName\r\nada@example.com,M1,Ada\r\n")
    applied = cli(
        "apply", upload, "--tenant", "delta", "--actor", "dee", "--product", "marketing", "--yes",
    )  # fmt: skip
    assert applied.code == 0, applied.err
    missing = cli.file("d.csv", "Email,FirstName\r\nbob@example.com,Bob\r\n")
    refused = cli(
        "plan", missing, "--tenant", "delta", "--actor", "dee", "--product", "marketing",
    )  # fmt: skip
    assert refused.code == 1
    assert "required column 'MemberId' is missing" in refused.err


def test_only_a_super_admin_uploads_contacts(tmp_path: Path) -> None:
    """UPLOAD_SUPER_ADMIN_ONLY: a Site Admin's Marketing upload is refused, exit 1."""
    cli = _pro(tmp_path)
    upload = cli.file("contacts.txt", PRO_FILE)
    refused = cli(
        "apply", upload, "--tenant", "harbor", "--actor", "lee", "--product", "marketing", "--yes",
    )  # fmt: skip
    assert refused.code == 1
    assert "UPLOAD_SUPER_ADMIN_ONLY" in refused.out + refused.err


def test_a_saved_plan_is_for_its_product(tmp_path: Path) -> None:
    """apply --plan refuses a plan saved for the other product."""
    cli = _pro(tmp_path)
    upload = cli.file("contacts.txt", PRO_FILE)
    saved = cli(
        "plan", upload, "--tenant", "harbor", "--actor", "pat", "--product", "marketing",
        "--save", "plan.json",
    )  # fmt: skip
    assert saved.code == 0, saved.err
    applied = cli(
        "apply", upload, "--tenant", "harbor", "--actor", "pat", "--plan", "plan.json", "--yes"
    )
    assert applied.code == 2
    assert "the plan is for a marketing upload" in applied.err


def test_apply_writes_a_marketing_results_file(tmp_path: Path) -> None:
    """--results with --product marketing: one row per row of the contact file, the
    vendor's skips with their codes, formula-safe."""
    cli = _pro(tmp_path)
    upload = cli.file("contacts.txt", PRO_FILE)
    applied = cli(
        "apply", upload, "--tenant", "harbor", "--actor", "pat", "--product", "marketing",
        "--yes", "--results", "r.csv",
    )  # fmt: skip
    assert applied.code == 0, applied.err
    assert "4 result row(s) written to r.csv" in applied.out
    rows = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text(), newline="")))
    assert rows[0] == ["record", "line", "key", "outcome", "code", "column", "message", "changes"]
    assert [r[:5] for r in rows[1:]] == [
        ["1", "2", "ada@example.com", "created", ""],
        ["2", "3", "eve@example", "skipped", "invalid_email"],
        ["3", "4", "ADA@example.com", "skipped", "duplicate_email"],
        ["4", "5", "grace@example.com", "created", "formula_like"],
    ]
    assert cli("export", "--tenant", "harbor", "--product", "marketing").out.count("\n") == 3


def test_validate_and_template_take_a_tenant_alike(tmp_path: Path) -> None:
    """validate --tenant checks the file that tenant uploads, as template --tenant writes
    it, for either product; a product the tenant lacks is named with the one it has."""
    cli = Cli(tmp_path)
    assert cli("tenant", "add", cli.file("delta.toml", BY_ID_TENANT)).code == 0
    written = cli("template", "--tenant", "delta", "--product", "marketing")
    assert written.code == 0, written.err
    blank = cli.file("blank.csv", written.out)
    checked = cli("validate", blank, "--tenant", "delta", "--product", "marketing")
    assert checked.code == 0, checked.err
    assert written.out.splitlines()[0] == "Email,MemberId,FirstName,LastName"
    assert "(Marketing Enterprise contacts (member id)): valid" in checked.out
    for verb in ("template", "validate"):
        args = (verb, blank) if verb == "validate" else (verb,)
        refused = cli(*args, "--tenant", "delta")  # Community by default: not licensed
        assert refused.code != 0
        assert "tenant 'delta' has no community product; its file: --product marketing" in (
            refused.err
        ), verb
        both = cli(*args, "--tenant", "delta", "--product", "marketing", "--edition", "enterprise")
        assert both.code == 2
        assert "leave out --edition" in both.err


def test_a_tenant_keeping_contacts_keeps_its_contact_key(tmp_path: Path) -> None:
    """MARKETING_CONTACT_KEY: `tenant add` refuses to change how a tenant's contacts are
    keyed (member id to email, or back) while it keeps contacts: those stored stay under
    the old key, so a file keyed the new way would add each person again (a second
    contact with the same member id) and a full import would not see the old ones. The
    stored tenant is left as it was; a tenant without contacts may change its key."""
    cli = Cli(tmp_path)
    assert cli("tenant", "add", cli.file("delta.toml", BY_ID_TENANT)).code == 0
    by_email = cli.file("email.toml", BY_ID_TENANT.replace('marketing_key = "member_id"\n', ""))
    assert cli("tenant", "add", by_email).code == 0  # no contacts yet: free to change
    assert cli("tenant", "add", cli.file("delta.toml", BY_ID_TENANT)).code == 0
    upload = cli.file("c.csv", "Email,MemberId\r\nada@example.com,M1\r\n")
    applied = cli(
        "apply", upload, "--tenant", "delta", "--actor", "dee", "--product", "marketing", "--yes",
    )  # fmt: skip
    assert applied.code == 0, applied.err
    refused = cli("tenant", "add", by_email)
    assert refused.code == 1, refused.out
    assert "MARKETING_CONTACT_KEY" in refused.err
    assert "member_id" in refused.err
    shown = cli("tenant", "show", "delta", "--format", "json").json()
    assert cli("tenant", "add", cli.file("delta.toml", BY_ID_TENANT)).code == 0
    again = cli.file("d.csv", "Email,MemberId\r\nbob@example.com,M1\r\n")
    planned = cli(
        "plan", again, "--tenant", "delta", "--actor", "dee", "--product", "marketing",
        "--format", "json",
    )  # fmt: skip
    assert planned.json()["key"] == "member_id", shown
    assert planned.json()["counts"]["updated"] == 1
