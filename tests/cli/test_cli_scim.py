"""``provisioning scim``: tokens issued, listed and revoked; the service on waitress."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scim2_server")

from _cli import EXAMPLES, Cli

from _postgres import APP, OWNER, Server
from _scim_server import serving
from provisioning.adapters import SqliteRepository

SUMMIT = EXAMPLES / "tenants" / "summit-integration.toml"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The command, with the integration tenant Summit and the standalone Harbor stored."""
    cli = Cli(tmp_path)
    for tenant in (SUMMIT, EXAMPLES / "tenants" / "harbor-standalone.toml"):
        assert cli("tenant", "add", tenant).code == 0
    return cli


def _issue(cli: Cli, tenant: str = "summit", actor: str = "imis-sync") -> dict[str, Any]:
    result = cli("scim", "token", "issue", "--tenant", tenant, "--actor", actor, "--format", "json")
    assert result.code == 0, result.err
    issued: dict[str, Any] = result.json()
    return issued


def _call(
    url: str, token: str, method: str = "GET", body: Any = None
) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - a local test server
        url,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "ada@example.com",
    "externalId": "00u1",
    "active": True,
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"value": "ada@example.com", "primary": True}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"organization": "Engines"},
}


def test_issue_prints_the_token_once_and_keeps_only_its_digest(cli: Cli) -> None:
    """Text output is the token alone on stdout (the note on stderr); the store holds
    its SHA-256 digest, never the token."""
    result = cli("scim", "token", "issue", "--tenant", "summit", "--actor", "imis-sync")
    assert result.code == 0, result.err
    token = result.out.strip()
    token_id = token.partition(".")[0]
    assert re.fullmatch(r"[0-9a-f]{12}\.[A-Za-z0-9_-]{43}", token)
    assert f"Issued SCIM token {token_id} of tenant 'summit'" in result.err
    assert "shown this once" in result.err
    with sqlite3.connect(cli.db) as con:
        rows = con.execute("SELECT * FROM scim_tokens").fetchall()
    assert len(rows) == 1
    assert token not in repr(rows)
    assert token.encode() not in cli.db.read_bytes()


def test_issue_json_list_and_revoke(cli: Cli) -> None:
    """--format json gives the token and its id; list shows ids and actors, never a
    token; revoke by id leaves the others active."""
    first, second = _issue(cli), _issue(cli, actor="priya")
    assert set(first) >= {"token", "id", "tenant", "actor", "role", "created_at"}
    assert (first["actor"], first["role"], second["role"]) == (
        "imis-sync",
        "integration",
        "super_admin",
    )
    listed = cli("scim", "token", "list", "--tenant", "summit", "--format", "json").json()
    assert {t["id"] for t in listed} == {first["id"], second["id"]}
    assert all("token" not in t and t["revoked_at"] is None for t in listed)
    text = cli("scim", "token", "list", "--tenant", "summit")
    assert first["id"] in text.out
    assert "imis-sync (integration)" in text.out
    assert first["token"] not in text.out
    revoked = cli("scim", "token", "revoke", "--tenant", "summit", first["id"])
    assert revoked.code == 0, revoked.err
    assert f"SCIM token {first['id']} of tenant 'summit' revoked at" in revoked.out
    listed = cli("scim", "token", "list", "--tenant", "summit", "--format", "json").json()
    assert {t["id"]: t["revoked_at"] is None for t in listed} == {
        first["id"]: False,
        second["id"]: True,
    }
    assert cli("scim", "token", "list", "--tenant", "harbor").out.strip() == (
        "tenant 'harbor' has no SCIM tokens"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("issue", "--tenant", "nowhere", "--actor", "x"), "no tenant 'nowhere'"),
        (("issue", "--tenant", "summit", "--actor", "bob"), "tenant 'summit' has no actor 'bob'"),
        (("revoke", "--tenant", "summit", "nope"), "tenant 'summit' has no SCIM token 'nope'"),
        (("list", "--tenant", "nowhere"), "no tenant 'nowhere'"),
    ],
)
def test_token_errors_name_what_is_wrong(cli: Cli, args: tuple[str, ...], message: str) -> None:
    """An unknown tenant, actor or token id is a usage error (exit 2) naming it."""
    result = cli("scim", "token", *args)
    assert result.code == 2
    assert message in result.err


def test_a_token_of_another_tenant_is_refused(cli: Cli) -> None:
    """Harbor's token cannot be used on Summit's base path, even for an id it does not know."""
    harbor = _issue(cli, tenant="harbor", actor="ines")
    revoke = cli("scim", "token", "revoke", "--tenant", "summit", harbor["id"])
    assert revoke.code == 2


def test_serve_answers_over_http_logs_each_request_and_refuses_bad_tokens(
    cli: Cli, tmp_path: Path
) -> None:
    """scim serve on waitress: a create as the integration actor; another tenant's token
    and a revoked one are 401 and change nothing; one log line per request, never the
    token."""
    token = _issue(cli)
    other = _issue(cli, tenant="harbor", actor="ines")
    old = _issue(cli)
    assert cli("scim", "token", "revoke", "--tenant", "summit", old["id"]).code == 0
    with serving(cli.db, tmp_path) as served:
        users = f"{served.base('summit')}/Users"
        assert _call(users, other["token"], "POST", USER)[0] == 401
        assert _call(users, old["token"], "POST", USER)[0] == 401
        status, created = _call(users, token["token"], "POST", USER)
        assert status == 201, created
        status, found = _call(
            f"{users}?filter=userName%20eq%20%22ADA@example.com%22", token["token"]
        )
        assert (status, found["totalResults"]) == (200, 1)
        assert _call(f"{served.base('nowhere')}/Users", token["token"])[0] == 404
        log = served.lines()
    requests = [line for line in log if " /summit/v2/" in line or " /nowhere/v2/" in line]
    assert len(requests) == 5, log
    assert re.search(r" POST /summit/v2/Users 201 \d+\.\dms$", requests[2])
    assert not any(t["token"] in line for t in (token, other, old) for line in log)
    assert not any("filter" in line for line in log)
    with SqliteRepository(cli.db) as repo:
        record = repo.get("summit", "00u1")
        assert record is not None
        assert (record.first_name, record.company_name) == ("Ada", "Engines")
        assert [e.channel.value for e in repo.events("summit")][-1] == "scim"


def test_serve_needs_a_store(tmp_path: Path) -> None:
    """Serving a store that does not exist is a usage error, not an empty service."""
    result = Cli(tmp_path)("scim", "serve", "--port", "0")
    assert result.code == 2
    assert "there is no store at" in result.err


def test_serve_keys_a_tenant_by_user_name_when_its_file_says_so(tmp_path: Path) -> None:
    """A tenant with ``integration_key = "user_name"``: the record's key is the userName,
    not the externalId, and the setting is kept with the tenant in the store."""
    source = SUMMIT.read_text(encoding="utf-8")
    tenant = tmp_path / "summit.toml"
    tenant.write_text(
        source.replace(
            'integration = "imis"', 'integration = "imis"\nintegration_key = "user_name"'
        ),
        encoding="utf-8",
    )
    cli = Cli(tmp_path)
    assert cli("tenant", "add", tenant).code == 0
    token = _issue(cli)["token"]
    with serving(
        cli.db,
        tmp_path,
    ) as served:
        status, body = _call(f"{served.base('summit')}/Users", token, "POST", USER)
        assert status == 201, body
    with SqliteRepository(cli.db) as repo:
        assert repo.get("summit", "ada@example.com") is not None
        assert repo.get("summit", "00u1") is None


def test_serve_keys_by_external_id_by_default(cli: Cli, tmp_path: Path) -> None:
    """Without the setting, the externalId keys the record."""
    token = _issue(cli)["token"]
    with serving(cli.db, tmp_path) as served:
        status, body = _call(f"{served.base('summit')}/Users", token, "POST", USER)
        assert status == 201, body
    with SqliteRepository(cli.db) as repo:
        assert repo.get("summit", "00u1") is not None
        assert repo.get("summit", "ada@example.com") is None


@pytest.fixture
def database(postgres_server: Server) -> Iterator[str]:
    """A new database owned by the ordinary role: its name."""
    name = f"scim_{uuid.uuid4().hex[:12]}"
    with postgres_server.superuser() as con:
        con.execute(f"CREATE DATABASE {name} OWNER {OWNER}")
    yield name
    with postgres_server.superuser() as con:
        con.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_an_application_role_serves_scim_after_db_migrate_grant(
    tmp_path: Path, postgres_server: Server, database: str
) -> None:
    """db migrate --grant (as the owner) makes and grants the SCIM tables too; the
    application role, without DDL rights, then issues tokens and serves writes."""
    owner = Cli(tmp_path)
    owner.db = postgres_server.url(OWNER, database)  # type: ignore[assignment]
    assert owner("db", "migrate", "--grant", APP).code == 0
    assert owner("tenant", "add", SUMMIT).code == 0
    app = Cli(tmp_path)
    app.db = postgres_server.url(APP, database)  # type: ignore[assignment]
    token = _issue(app)["token"]
    with serving(app.db, tmp_path) as served:
        status, body = _call(f"{served.base('summit')}/Users", token, "POST", USER)
        assert status == 201, body
        bad = USER | {
            "userName": "x@example.com",
            "externalId": "00u2",
            "emails": [{"value": "no"}],
        }
        assert _call(f"{served.base('summit')}/Users", token, "POST", bad)[0] == 400
    listed = app("scim", "token", "list", "--tenant", "summit", "--format", "json").json()
    assert [t["actor"] for t in listed] == ["imis-sync"]
