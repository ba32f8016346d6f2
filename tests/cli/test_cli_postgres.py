"""The command on a PostgreSQL store: ``--db postgresql://…`` works as a file does."""

from __future__ import annotations

import io
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _cli import RIVERBEND, SCRIPT, Cli

import provisioning as pv
from _postgres import APP, OWNER, SUPERUSER, Server
from provisioning.adapters.postgres import PostgresRepository
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, write

UPLOAD = ("--tenant", "riverbend", "--actor", "dana")


@pytest.fixture
def database(postgres_server: Server) -> Iterator[str]:
    """A new database owned by the ordinary role; its name."""
    name = f"cli_{uuid.uuid4().hex[:12]}"
    with postgres_server.superuser() as con:
        con.execute(f"CREATE DATABASE {name} OWNER {OWNER}")
    yield name
    with postgres_server.superuser() as con:
        con.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def url(postgres_server: Server, database: str) -> str:
    """The new database's URL, as its owner."""
    return postgres_server.url(dbname=database)


def _csv(path: Path, numbers: range, company: str = "Riverbend") -> Path:
    records = [
        pv.UserRecord(
            legacy_contact_key=str(900 + n),
            first_name=f"First{n}",
            last_name="Last",
            email=f"user{n}@example.org",
            company_name=company,
        )
        for n in numbers
    ]
    stream = io.StringIO(newline="")
    write(records, stream, COMMUNITY_UPLOAD_USERS)
    path.write_text(stream.getvalue(), encoding="utf-8")
    return path


def _on(cli: Cli, db: str) -> Cli:
    """``cli`` with its store at ``db`` (a URL or a file)."""
    cli.db = db  # type: ignore[assignment]  # the helper passes it on as text
    return cli


def _plan_json(cli: Cli, *args: str | Path) -> Any:
    result = cli("plan", *args, *UPLOAD, "--format", "json")
    assert result.code in (0, 1), result.err
    plan = result.json()
    for moment in ("planned_at", "at", "as_of"):
        plan.pop(moment, None)
    return plan


def test_every_step_of_an_upload_works_on_a_url(tmp_path: Path, url: str) -> None:
    """tenant add, plan, apply, uploads, history, export and revert, on postgresql://."""
    cli = _on(Cli(tmp_path), url)
    assert cli("db", "migrate").code == 0
    cli.with_riverbend()
    assert [t["id"] for t in cli("tenant", "list", "--format", "json").json()] == ["riverbend"]
    base = _csv(tmp_path / "base.csv", range(30))
    applied = cli("apply", base, *UPLOAD, "--yes")
    assert applied.code == 0, applied.err
    assert cli.revision() == 1
    changed = _csv(tmp_path / "changed.csv", range(25), company="Riverbend Two")
    assert cli("apply", changed, *UPLOAD, "--yes").code == 0
    uploads = cli("uploads", "--tenant", "riverbend", "--format", "json")
    assert uploads.code == 0, uploads.err
    history = cli("history", "900", "--tenant", "riverbend", "--format", "json")
    assert history.code == 0, history.err
    assert [json.loads(line)["kind"] for line in history.out.splitlines()] == [
        "created",
        "updated",
    ]
    exported = cli("export", "--tenant", "riverbend", "--output", "out.csv")
    assert exported.code == 0, exported.err
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").count("Riverbend Two") == 25
    reverted = cli("revert", "2", "--tenant", "riverbend", "--actor", "dana", "--yes")
    assert reverted.code == 0, reverted.err
    with PostgresRepository(url) as repo:
        assert repo.count("riverbend") == 30
        deactivated = [r for r in repo.records("riverbend") if r.status.value != "Enabled"]
        assert deactivated == []
        assert {r.company_name for r in repo.records("riverbend")} == {"Riverbend"}


def test_the_same_upload_plans_the_same_on_sqlite_and_postgresql(tmp_path: Path, url: str) -> None:
    """Plan JSON, changes in the same order, from a file store and a PostgreSQL store."""
    plans = []
    for db in (str(tmp_path / "store.db"), url):
        cli = _on(Cli(tmp_path), db).with_riverbend()
        # Keys whose code-point order is not a locale's: "900" < "9000" < "901" ...
        assert (
            cli("apply", _csv(tmp_path / "base.csv", range(0, 200, 3)), *UPLOAD, "--yes").code == 0
        )
        later = _csv(tmp_path / "later.csv", range(0, 150, 2), company="Other")
        plans.append(_plan_json(cli, later))
    sqlite, postgres = plans
    assert sqlite == postgres
    assert sqlite["counts"]["deactivated"] > 0


def test_a_role_granted_by_migrate_works_without_ddl_rights(
    tmp_path: Path, postgres_server: Server, database: str
) -> None:
    """db migrate --grant: the application role runs every command, and may not migrate."""
    owner = _on(Cli(tmp_path), postgres_server.url(dbname=database))
    migrated = owner("db", "migrate", "--grant", APP)
    assert migrated.code == 0, migrated.err
    assert f"granted its use to {APP}" in migrated.out
    app = _on(Cli(tmp_path), postgres_server.url(APP, database)).with_riverbend()
    assert app("apply", _csv(tmp_path / "base.csv", range(5)), *UPLOAD, "--yes").code == 0
    app_role = psycopg.connect(postgres_server.conninfo(APP, database), autocommit=True)
    with app_role, pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_role.execute("CREATE TABLE provisioning.intruder (x int)")


def test_a_superuser_url_is_refused(tmp_path: Path, postgres_server: Server, database: str) -> None:
    """A superuser escapes row-level security: the command refuses it, exit 2, saying why."""
    cli = _on(Cli(tmp_path), postgres_server.url(SUPERUSER, database))
    result = cli("tenant", "add", RIVERBEND)
    assert result.code == 2
    assert "a superuser: row-level security does not bind it" in result.err


def test_two_processes_applying_saved_plans_never_lose_an_update(tmp_path: Path, url: str) -> None:
    """Two machines' saved plans for one tenant at once: one applies, the other is refused
    as stale, and the applied one's changes are all there."""
    assert SCRIPT is not None
    cli = _on(Cli(tmp_path), url).with_riverbend()
    assert cli("apply", _csv(tmp_path / "base.csv", range(20)), *UPLOAD, "--yes").code == 0
    files = []
    for name, company in (("a", "Company A"), ("b", "Company B")):
        upload = _csv(tmp_path / f"{name}.csv", range(20), company=company)
        assert cli("plan", upload, *UPLOAD, "--save", f"{name}.json").code == 0
        files.append((upload, f"{name}.json"))
    procs = [
        subprocess.Popen(
            [SCRIPT, "apply", str(upload), *UPLOAD, "--plan", plan, "--yes"],
            cwd=tmp_path,
            env={**os.environ, "PROVISIONING_DB": url},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for upload, plan in files
    ]
    codes = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        codes.append(proc.returncode)
    assert sorted(codes) == [0, 1]
    winner = "Company A" if codes[0] == 0 else "Company B"
    with PostgresRepository(url) as repo:
        assert repo.revision("riverbend") == 2
        assert {r.company_name for r in repo.records("riverbend")} == {winner}
