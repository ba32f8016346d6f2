"""The outside suite: scim2-tester's ``check_server`` against a live ``provisioning scim
serve``, over HTTP (scim2-client's httpx2 engine), on SQLite and on PostgreSQL.

Every check the tester has runs (no tags are excluded, so its discovery of
``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` runs too); none may end
in ERROR or CRITICAL. docs/reference/scim.md lists what it reports otherwise, and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("scim2_tester")
pytest.importorskip("scim2_client.engines.httpx2")

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server

from _postgres import OWNER, Server
from _scim_server import command, serving

TENANT = Path(__file__).resolve().parents[1] / "examples" / "tenants" / "summit-integration.toml"
#: What a check may end in: anything but a broken MUST (ERROR) or a security risk.
FAILED = {Status.ERROR, Status.CRITICAL}


def _check(db: Path | str, folder: Path) -> list[CheckResult]:
    """Add the integration tenant to ``db``, issue its integration actor a token, serve,
    and run every check of the tester against the tenant's base URL."""
    command(db, "tenant", "add", str(TENANT))
    token = command(
        db, "scim", "token", "issue", "--tenant", "summit", "--actor", "imis-sync"
    ).stdout.strip()
    with serving(db, folder) as served:
        headers = {"Authorization": f"Bearer {token}"}
        with Client(base_url=served.base("summit"), headers=headers, timeout=60) as http:
            results = check_server(SyncSCIMClient(http))
        lines = served.lines()
    assert not any(token in line for line in lines), "the request log shows the token"
    return results


def _failures(results: list[CheckResult]) -> list[str]:
    return [f"{r.status.name} {r.title}: {r.reason}" for r in results if r.status in FAILED]


def _assert_compliant(results: list[CheckResult]) -> None:
    assert _failures(results) == []
    titles = {r.title for r in results if r.status is Status.SUCCESS}
    # The discovery, the CRUD and the PATCH checks did run, and passed.
    assert {"object_creation", "object_replacement", "object_deletion"} <= titles, titles
    assert any("schemas" in r.tags for r in results if r.status is Status.SUCCESS)
    assert any("patch" in tag for r in results for tag in r.tags), "no PATCH check ran"


def test_scim2_tester_finds_nothing_wrong_on_sqlite(tmp_path: Path) -> None:
    """An integration tenant in a SQLite store: 0 ERROR or CRITICAL results."""
    _assert_compliant(_check(tmp_path / "store.db", tmp_path))


@pytest.fixture
def database(postgres_server: Server) -> Iterator[str]:
    """A new database owned by the ordinary role: its URL."""
    name = f"scim_{uuid.uuid4().hex[:12]}"
    with postgres_server.superuser() as con:
        con.execute(f"CREATE DATABASE {name} OWNER {OWNER}")
    yield postgres_server.url(dbname=name)
    with postgres_server.superuser() as con:
        con.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_scim2_tester_finds_nothing_wrong_on_postgresql(tmp_path: Path, database: str) -> None:
    """The same tenant in a PostgreSQL store: 0 ERROR or CRITICAL results."""
    _assert_compliant(_check(database, tmp_path))
