"""``provisioning tenant add|list|show|check``: tenants and actors in the SQLite store."""

from __future__ import annotations

from pathlib import Path

from _cli import HARBOR, RIVERBEND, Cli


def test_add_stores_tenant_and_actors(tmp_path: Path) -> None:
    """A tenant file's [[actors]] are stored with the tenant; list shows both."""
    cli = Cli(tmp_path)
    added = cli("tenant", "add", RIVERBEND, "--format", "json").json()
    assert added["tenant"] == "riverbend"
    assert [(a["id"], a["role"]) for a in added["actors"]] == [
        ("dana", "super_admin"),
        ("lee", "site_admin"),
        ("sam", "member"),
    ]
    assert added["check"]["ok"] is True
    listed = cli("tenant", "list", "--format", "json").json()
    assert listed == [
        {
            "id": "riverbend",
            "name": "Riverbend Nurses Association",
            "products": {"community": "spreadsheet_upload", "marketing": "spreadsheet_upload"},
            "sso": "saml_2_0",
            "integration": None,
            "actors": 3,
        }
    ]


def test_show_text_and_json(tmp_path: Path) -> None:
    """Show gives the setup, the actors, the record count and the revision."""
    cli = Cli(tmp_path).with_riverbend()
    text = cli("tenant", "show", "riverbend")
    assert text.code == 0
    assert "Riverbend Nurses Association" in text.out
    assert "Dana Whitfield" in text.out
    assert "\x1b[" not in text.out  # no colour codes when stdout is not a terminal
    # Which contact file the tenant uploads, and how its records are keyed.
    assert "spreadsheet_upload (enterprise, keyed by email)" in text.out
    harbor = cli.file(
        "harbor.toml",
        'id = "harbor"\nname = "Harbor"\nintegration = "salesforce"\n'
        'integration_key = "user_name"\n[products]\ncommunity = "standard_integration"\n',
    )
    assert cli("tenant", "add", harbor).code == 0
    assert "salesforce (keyed by user_name)" in cli("tenant", "show", "harbor").out
    data = cli("tenant", "show", "riverbend", "--format", "json").json()
    assert data["records"] == 0
    assert data["revision"] == 0
    assert data["uploads"] == []
    assert data["tenant"]["sso"]["go_live"] == "2027-01-11"


def test_readding_replaces_the_actors(tmp_path: Path) -> None:
    """Adding a tenant again replaces it and its actor list with the file's."""
    cli = Cli(tmp_path).with_riverbend()
    text = RIVERBEND.read_text(encoding="utf-8").split("[[actors]]")[0]
    smaller = cli.file("riverbend.toml", text + '[[actors]]\nid = "kim"\nrole = "super_admin"\n')
    assert cli("tenant", "add", smaller).code == 0
    shown = cli("tenant", "show", "riverbend", "--format", "json").json()
    assert shown["actors"] == [{"id": "kim", "role": "super_admin", "name": ""}]


def test_check_exit_codes(tmp_path: Path) -> None:
    """check exits 0 for a sound tenant and 1 for one with errors, naming the rule."""
    cli = Cli(tmp_path)
    cli("tenant", "add", HARBOR)
    assert cli("tenant", "check", "harbor").code == 0
    broken = HARBOR.read_text(encoding="utf-8").replace(
        "[account_requests]",
        '[sso]\nprotocol = "saml_2_0"\nidentity_provider = { name = "AMS" }\n\n[account_requests]',
    )
    cli("tenant", "add", cli.file("broken.toml", broken))
    result = cli("tenant", "check", "harbor", "--format", "json")
    assert result.code == 1
    assert "SSO_NOT_WITH_STANDALONE" in {f["rule"] for f in result.json()["findings"]}
    text = cli("tenant", "check", "harbor")
    assert text.code == 1
    assert "SSO_NOT_WITH_STANDALONE" in text.out


def test_store_defaults_to_a_file_in_the_cwd(tmp_path: Path) -> None:
    """Without --db or PROVISIONING_DB the store is provisioning.db in the working directory."""
    cli = Cli(tmp_path)
    result = cli("tenant", "add", RIVERBEND, env={"PROVISIONING_DB": ""})
    assert result.code == 0, result.err
    assert (tmp_path / "provisioning.db").is_file()
    other = tmp_path / "other.db"
    assert cli("--db", other, "tenant", "add", HARBOR).code == 0
    assert [t["id"] for t in cli("--db", other, "tenant", "list", "--format", "json").json()] == [
        "harbor"
    ]


def test_malformed_toml(tmp_path: Path) -> None:
    """Malformed TOML is an unreadable input: exit 2, the parser's position, no traceback."""
    cli = Cli(tmp_path)
    result = cli("tenant", "add", cli.file("bad.toml", 'id = "acme\nname = 1'))
    assert result.code == 2
    assert "malformed TOML" in result.err
    assert "line 1" in result.err


def test_invalid_document_lists_every_problem(tmp_path: Path) -> None:
    """Every problem of the tenant and its actors is reported at once, each at its path."""
    cli = Cli(tmp_path)
    document = (
        'id = "acme"\nname = "Acme"\ncolour = "red"\n[products]\ncommunity = "sheet"\n'
        '[[actors]]\nid = "a"\nrole = "boss"\n[[actors]]\nrole = "member"\n'
    )
    result = cli("tenant", "add", cli.file("acme.toml", document))
    assert result.code == 2
    assert "4 problems" in result.err
    for path in ("products.community:", "colour: unknown key", "actors[0].role:", "actors[1]:"):
        assert path in result.err
    assert not cli.db.exists()  # a refused file does not even create the store


def test_tenant_file_in_wrong_encoding(tmp_path: Path) -> None:
    """A tenant file that is not UTF-8 is refused with the line of the first bad byte."""
    cli = Cli(tmp_path)
    latin1 = 'id = "acme"\nname = "Société"\n[products]\ncommunity = "standalone"\n'
    result = cli("tenant", "add", cli.file("acme.toml", latin1.encode("latin-1")))
    assert result.code == 2
    assert "not UTF-8" in result.err
    assert "line 2" in result.err


def test_unknown_tenant(tmp_path: Path) -> None:
    """An unknown tenant id is a usage error naming the stored tenants."""
    cli = Cli(tmp_path).with_riverbend()
    for args in (("tenant", "show", "acme"), ("sso", "--tenant", "acme")):
        result = cli(*args)
        assert result.code == 2
        assert "no tenant 'acme'" in result.err
        assert "riverbend" in result.err


def test_a_changed_integration_key_is_noted_while_records_are_kept(tmp_path: Path) -> None:
    """integration_key is meant to be set before the first push: changed later, the stored
    records keep their keys, and tenant add says so on stderr (the change is stored)."""
    cli = Cli(tmp_path).with_riverbend()
    base = RIVERBEND.read_text(encoding="utf-8")
    rekeyed = cli.file("rekeyed.toml", 'integration_key = "user_name"\n' + base)
    # No records yet: nothing to say.
    first = cli("tenant", "add", rekeyed)
    assert first.code == 0, first.err
    assert "note:" not in first.err
    assert cli("apply", cli.members("m.csv", 3), "--tenant", "riverbend", "--actor", "dana",
               "--as-of", "2026-11-25", "--yes").code == 0  # fmt: skip
    back = cli("tenant", "add", RIVERBEND)
    assert back.code == 0, back.err
    said = " ".join(back.err.split())
    assert "note: integration_key changed from user_name to external_id" in said
    assert "keeps 3 record(s): they keep their keys" in said
    shown = cli("tenant", "show", "riverbend", "--format", "json").json()
    assert shown["tenant"].get("integration_key", "external_id") == "external_id"
    assert "note:" not in cli("tenant", "add", RIVERBEND).err
