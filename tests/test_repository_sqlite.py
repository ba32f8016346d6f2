"""The SQLite adapter: the contract suites, schema versions, WAL, faults, several processes."""

from __future__ import annotations

import datetime as dt
import gc
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioning import Contact, Product, RecordStatus, RepositoryError, Tenant, UserRecord
from provisioning import audit as pv_audit
from provisioning import exceptions as pv_errors
from provisioning.adapters import COMMIT_STEPS, FaultHook, SqliteRepository, fail_at
from provisioning.adapters import sqlite as adapter
from provisioning.repository import ChangeSet, ChangeSetError, ContactStream, UploadEntry
from provisioning.serialization import tenant_to_dict
from provisioning.testing import (
    AuditLogContract,
    BatchRepositoryContract,
    ContactStoreContract,
    RepositoryContract,
    ScimFactStoreContract,
    TenantStoreContract,
)
from provisioning.testing._contract import _record


@pytest.fixture(params=["memory", "file"])
def any_repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteRepository]:
    """A new SqliteRepository, in memory and in a file."""
    path = ":memory:" if request.param == "memory" else tmp_path / "store.db"
    with SqliteRepository(path) as repo:
        yield repo


class TestSqliteRepository(RepositoryContract, TenantStoreContract):
    """SqliteRepository passes both contract suites, in memory and in a file."""

    @pytest.fixture
    def repository(self, any_repository: SqliteRepository) -> SqliteRepository:
        return any_repository

    @pytest.fixture
    def tenant_store(self, any_repository: SqliteRepository) -> SqliteRepository:
        return any_repository


class TestSqliteBatchRepository(BatchRepositoryContract):
    """SqliteRepository passes the batch contract, in memory and in a file, faults included."""

    @pytest.fixture
    def repository(self, any_repository: SqliteRepository) -> SqliteRepository:
        return any_repository

    @pytest.fixture(params=["memory", "file"])
    def faulty_repository(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> Iterator[Callable[[FaultHook], SqliteRepository]]:
        opened: list[SqliteRepository] = []

        def make(fault: FaultHook) -> SqliteRepository:
            path = ":memory:" if request.param == "memory" else tmp_path / f"{len(opened)}.db"
            opened.append(SqliteRepository(path, fault=fault))
            return opened[-1]

        yield make
        for repo in opened:
            repo.close()


class TestSqliteAuditLog(AuditLogContract):
    """SqliteRepository passes the audit trail contract, in memory and in a file, faults
    included."""

    @pytest.fixture
    def repository(self, any_repository: SqliteRepository) -> SqliteRepository:
        return any_repository

    @pytest.fixture(params=["memory", "file"])
    def faulty_repository(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> Iterator[Callable[[FaultHook], SqliteRepository]]:
        opened: list[SqliteRepository] = []

        def make(fault: FaultHook) -> SqliteRepository:
            path = ":memory:" if request.param == "memory" else tmp_path / f"{len(opened)}.db"
            opened.append(SqliteRepository(path, fault=fault))
            return opened[-1]

        yield make
        for repo in opened:
            repo.close()


class TestSqliteContactStore(ContactStoreContract):
    """SqliteRepository passes the contact store contract, in memory and in a file, faults
    included."""

    @pytest.fixture
    def repository(self, any_repository: SqliteRepository) -> SqliteRepository:
        return any_repository

    @pytest.fixture(params=["memory", "file"])
    def faulty_repository(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> Iterator[Callable[[FaultHook], SqliteRepository]]:
        opened: list[SqliteRepository] = []

        def make(fault: FaultHook) -> SqliteRepository:
            path = ":memory:" if request.param == "memory" else tmp_path / f"{len(opened)}.db"
            opened.append(SqliteRepository(path, fault=fault))
            return opened[-1]

        yield make
        for repo in opened:
            repo.close()


class TestSqliteScimFactStore(ScimFactStoreContract):
    """SqliteRepository passes the SCIM facts contract in a file: the racing writers are
    connections of their own to it, as other processes would be; faults included."""

    @pytest.fixture
    def repository(self, tmp_path: Path) -> Iterator[SqliteRepository]:
        with SqliteRepository(tmp_path / "store.db") as repo:
            yield repo

    @pytest.fixture
    def open_repository(self, tmp_path: Path) -> Callable[[], SqliteRepository]:
        return lambda: SqliteRepository(tmp_path / "store.db")

    @pytest.fixture
    def faulty_repository(
        self, tmp_path: Path
    ) -> Iterator[Callable[[FaultHook], SqliteRepository]]:
        opened: list[SqliteRepository] = []

        def make(fault: FaultHook) -> SqliteRepository:
            opened.append(SqliteRepository(tmp_path / f"{len(opened)}.db", fault=fault))
            return opened[-1]

        yield make
        for repo in opened:
            repo.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where a test's database file goes."""
    return tmp_path / "store.db"


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as con:
        return [row[1] for row in con.execute(f"PRAGMA table_info({table})")]


def test_one_column_per_record_field() -> None:
    """The records table has a column for every UserRecord field, in declaration order."""
    assert tuple(a.name for a in attrs.fields(UserRecord)) == adapter._FIELDS


def test_a_new_file_gets_the_current_schema(path: Path) -> None:
    """Opening a missing file creates it at SCHEMA_VERSION, recorded in schema_version."""
    with SqliteRepository(path) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION == 5
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(5,)]
    assert "changes" in _columns(path, "events")
    assert "product" in _columns(path, "events")
    assert _columns(path, "contacts")[:3] == ["tenant_id", "key", "email_key"]
    assert not path.with_name(path.name + ".schema-1.bak").exists()  # nothing to back up
    assert _columns(path, "records")[:3] == ["tenant_id", "email_key", "legacy_contact_key"]


def test_reopening_keeps_the_data(path: Path) -> None:
    """A file opened again holds what was committed, at the same revision."""
    with SqliteRepository(path) as repo:
        repo.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
    with SqliteRepository(path) as repo:
        assert repo.revision("acme") == 1
        assert repo.get("acme", "1001") == _record("1001")


def test_an_older_file_is_migrated_once(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file one version behind is taken forward by the new migration, data kept, once."""
    with SqliteRepository(path) as repo:
        repo.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
    step = ("ALTER TABLE records ADD COLUMN note TEXT",)  # fails if run twice
    monkeypatch.setattr(adapter, "_MIGRATIONS", [*adapter._MIGRATIONS, step])
    for _ in range(2):
        with SqliteRepository(path) as repo:
            assert repo.schema_version == adapter.SCHEMA_VERSION + 1
            assert repo.get("acme", "1001") == _record("1001")
    assert "note" in _columns(path, "records")


def test_a_store_from_before_the_audit_trail_is_backed_up_then_migrated(path: Path) -> None:
    """Version 1 (no audit trail): a backup copy first; its uploads are marked unaudited."""
    with sqlite3.connect(path) as con:  # a file as version 1 wrote it
        for statement in adapter._MIGRATIONS[0]:
            con.execute(statement)
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        con.execute("INSERT INTO schema_version VALUES (1)")
        con.execute("INSERT INTO revisions VALUES ('acme', 1)")
        con.execute(
            "INSERT INTO records (tenant_id, email_key, legacy_contact_key, first_name,"
            " last_name, email, company_name, status) VALUES ('acme', 'user1001@example.com',"
            " '1001', 'First1001', 'Last', 'user1001@example.com', 'Acme', 'Enabled')"
        )
        con.execute(
            "INSERT INTO uploads (tenant_id, revision, actor_id, at, file_digest, mode,"
            " product, counts) VALUES ('acme', 1, 'sa-1', '2026-01-01T00:00:00+00:00',"
            " 'sha256:0', 'full', 'community', '{}')"
        )
    con.close()
    with SqliteRepository(path) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION
        (stored,) = repo.uploads("acme")
        assert (stored.id, stored.audited) == (1, False)
        assert list(repo.events("acme")) == []
        kept = repo.get("acme", "1001")
        assert kept is not None
        assert kept.email == "user1001@example.com"
    backup = path.with_name(path.name + ".schema-1.bak")
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        assert copy.execute("SELECT legacy_contact_key FROM records").fetchall() == [("1001",)]


def test_a_store_from_before_contacts_keeps_its_events_as_community_ones(path: Path) -> None:
    """Version 2 (no contacts): migrated to 3, its events are of Community records."""
    with sqlite3.connect(path) as con:  # a file as version 2 wrote it
        for migration in adapter._MIGRATIONS[:2]:
            for statement in migration:
                con.execute(statement)
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        con.execute("INSERT INTO schema_version VALUES (2)")
        con.execute("INSERT INTO revisions VALUES ('acme', 1)")
        con.execute(
            "INSERT INTO events (tenant_id, revision, at, key, actor_id, role, channel, kind,"
            " rules) VALUES ('acme', 1, '2026-01-01T00:00:00+00:00', '1001', 'sa-1',"
            " 'super_admin', 'admin', 'created', 'ROLE_PERMISSIONS')"
        )
    con.close()
    with SqliteRepository(path) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION
        (event,) = repo.events("acme")
        assert (event.key, event.product) == ("1001", Product.COMMUNITY)
        assert repo.contact_count("acme") == 0


def test_contacts_from_version_3_are_migrated_and_stream_updates(path: Path) -> None:
    """Version 3 kept no contact versions: its contacts get 0, and a streamed commit
    updates them (once each) and creates beside them."""
    with sqlite3.connect(path) as con:  # a file as version 3 wrote it
        for migration in adapter._MIGRATIONS[:3]:
            for statement in migration:
                con.execute(statement)
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        con.execute("INSERT INTO schema_version VALUES (3)")
        con.execute("INSERT INTO revisions VALUES ('acme', 1)")
        con.execute(
            "INSERT INTO contacts (tenant_id, key, email_key, email, subscription)"
            " VALUES ('acme', 'ada@example.com', 'ada@example.com', 'ada@example.com',"
            " 'subscribed')"
        )
    con.close()
    with SqliteRepository(path) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION
        ada = Contact(email="ada@example.com", first_name="Ada")
        stream = ContactStream(updates=[[ada]], creates=[[Contact(email="bob@example.com")]])
        assert repo.commit_contact_stream("acme", stream, 1) == 2
        assert [c for _, c in repo.contacts("acme")] == [ada, Contact(email="bob@example.com")]
        with pytest.raises(ChangeSetError):
            repo.commit_contact_stream("acme", ContactStream(updates=[[ada], [ada]]), 2)


def test_a_newer_file_is_refused(path: Path) -> None:
    """A file written by a later schema is not touched."""
    SqliteRepository(path).close()
    with sqlite3.connect(path) as con:
        con.execute("UPDATE schema_version SET version = 7")
    with pytest.raises(RepositoryError) as caught:
        SqliteRepository(path)
    assert str(caught.value) == (
        f"SQLite database {str(path)!r} has schema version 7; this version of provisioning "
        f"reads versions up to {adapter.SCHEMA_VERSION}"
    )


def test_a_file_that_is_no_database_is_refused(path: Path) -> None:
    """Garbage is reported as a RepositoryError, not a raw sqlite3 error."""
    path.write_bytes(b"this is not a database, only text" * 100)
    with pytest.raises(RepositoryError, match=r"^cannot use SQLite database .*: file is not a"):
        SqliteRepository(path)


def test_files_use_wal_and_memory_does_not(path: Path) -> None:
    """A file is in WAL mode, so readers and the writer do not block each other."""
    SqliteRepository(path).close()
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_memory_databases_are_private() -> None:
    """Two ':memory:' repositories share nothing."""
    with SqliteRepository() as one, SqliteRepository(":memory:") as two:
        one.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
        assert two.revision("acme") == 0


def test_tenants_are_stored_as_serialization_json(path: Path) -> None:
    """The tenants table holds provisioning.serialization's JSON document of each tenant."""
    tenant = Tenant(id="acme", name="Acme", products={"community": "standalone"})
    with SqliteRepository(path) as repo:
        repo.save_tenant(tenant)
    with sqlite3.connect(path) as con:
        ((document,),) = con.execute("SELECT document FROM tenants WHERE tenant_id = 'acme'")
    assert json.loads(document) == tenant_to_dict(tenant)


def test_empty_values_are_stored_as_null(path: Path) -> None:
    """Absent fields are SQL NULL, dates ISO 8601, booleans 0/1, custom fields JSON."""
    record = _record("1001", member_since=dt.date(2020, 1, 31), is_member=True, custom={"a": "b"})
    with SqliteRepository(path) as repo:
        repo.commit("acme", ChangeSet(creates=[record]), 0)
    with sqlite3.connect(path) as con:
        row = con.execute(
            "SELECT prefix, member_since, birthday, is_member, status, custom FROM records"
        ).fetchone()
    assert row == (None, "2020-01-31", None, 1, "Enabled", '{"a":"b"}')


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_a_fault_at_any_step_leaves_the_file_as_it_was(path: Path, step: str) -> None:
    """A commit failing at each step rolls back whole; the repository stays usable."""
    with SqliteRepository(path) as repo:
        repo.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
    change_set = ChangeSet(
        creates=[_record("1002")],
        updates=[_record("1001", "moved@example.com", status=RecordStatus.DEACTIVATED)],
    )
    with SqliteRepository(path, fault=fail_at(step)) as repo:
        with pytest.raises(RepositoryError, match=f"injected fault at commit step '{step}'"):
            repo.commit("acme", change_set, 1)
        assert repo.revision("acme") == 1
        assert list(repo.records("acme")) == [_record("1001")]
        assert repo.get_by_email("acme", "user.1001@example.com") == _record("1001")
    with SqliteRepository(path) as repo:
        assert repo.commit("acme", change_set, 1) == 2


def test_readers_never_see_half_a_commit(path: Path) -> None:
    """While a commit is under way, another connection reads the state before it, unblocked."""
    seen: list[tuple[int, int]] = []

    def peek(step: str) -> None:
        with SqliteRepository(path) as reader:
            seen.append((reader.revision("acme"), reader.count("acme")))

    SqliteRepository(path).close()
    with SqliteRepository(path, fault=peek) as repo:
        repo.commit("acme", ChangeSet(creates=[_record("1001"), _record("1002")]), 0)
        assert repo.count("acme") == 2
    assert seen == [(0, 0)] * len(COMMIT_STEPS)


def test_a_busy_file_times_out_as_repository_error(path: Path) -> None:
    """A commit waiting longer than ``timeout`` for another writer fails cleanly."""
    SqliteRepository(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with SqliteRepository(path, timeout=0.05) as repo:
            with pytest.raises(RepositoryError) as caught:
                repo.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
            assert str(caught.value) == (
                f"cannot commit to SQLite database {str(path)!r}: database is locked"
            )
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()


def test_a_closed_repository_raises_repository_error() -> None:
    """Reads after close() fail as RepositoryError."""
    repo = SqliteRepository()
    repo.close()
    with pytest.raises(RepositoryError, match=r"^cannot read SQLite database ':memory:': "):
        repo.revision("acme")


def test_problems_are_found_beyond_one_lookup_batch() -> None:
    """The diagnosis of a refused change set looks up keys and emails in batches of 500."""
    with SqliteRepository() as repo:
        repo.commit("acme", ChangeSet(creates=[_record(f"k{n:04}") for n in range(1200)]), 0)
        late = [_record(f"n{n:04}") for n in range(1200)] + [
            _record("k1100", "fresh@example.com"),
            _record("n9999", "USER.k1150@example.com"),
        ]
        with pytest.raises(ChangeSetError) as caught:
            repo.commit("acme", ChangeSet(creates=late), 1)
        assert caught.value.problems == (
            "create 'k1100': key already stored",
            "create 'n9999': email 'USER.k1150@example.com' already belongs to 'k1150'",
        )
        assert repo.count("acme") == 1200


def test_a_large_change_set_round_trips() -> None:
    """Five thousand records go in with one commit and stream back, the same."""
    records = [_record(f"k{n:05}", is_member=n % 2 == 0) for n in range(5_000)]
    with SqliteRepository() as repo:
        repo.commit("acme", ChangeSet(creates=reversed(records)), 0)
        assert sorted(repo.records("acme"), key=lambda r: r.legacy_contact_key) == records
        updated = [attrs.evolve(r, status=RecordStatus.DEACTIVATED) for r in records]
        repo.commit("acme", ChangeSet(updates=updated), 1)
        assert sum(r.status is RecordStatus.DEACTIVATED for r in repo.records("acme")) == 5_000


_WRITER = textwrap.dedent(
    """
    import pathlib, sys, time
    from provisioning import ConflictError, UserRecord
    from provisioning.adapters import SqliteRepository
    from provisioning.repository import ChangeSet

    path, name, ready, go = sys.argv[1:5]
    records = [
        UserRecord(legacy_contact_key=f"{name}-{n}", first_name="A", last_name="B",
                   email=f"{name}.{n}@example.com", company_name="C")
        for n in range(2000)
    ]
    with SqliteRepository(path) as repo:
        revision = repo.revision("acme")  # plan
        pathlib.Path(ready).touch()
        while not pathlib.Path(go).exists():
            time.sleep(0.002)
        try:
            print("committed", repo.commit("acme", ChangeSet(creates=records), revision))
        except ConflictError as exc:
            print("conflict", exc.expected, exc.actual)
            print("retried", repo.commit("acme", ChangeSet(creates=records), exc.actual))
    """
)


def test_two_processes_committing_at_once_one_wins_nothing_is_lost(tmp_path: Path) -> None:
    """Two writers planned on revision 0: one commits, the other conflicts, then retries."""
    path = tmp_path / "store.db"
    SqliteRepository(path).close()
    go = tmp_path / "go"
    writers = []
    for name in ("left", "right"):
        ready = tmp_path / f"{name}.ready"
        args = [sys.executable, "-c", _WRITER, str(path), name, str(ready), str(go)]
        writers.append((subprocess.Popen(args, stdout=subprocess.PIPE, text=True), ready))
    deadline = time.monotonic() + 60
    while not all(ready.exists() for _, ready in writers) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outputs = sorted(process.communicate(timeout=60)[0] for process, _ in writers)
    assert [process.returncode for process, _ in writers] == [0, 0]
    assert outputs == ["committed 1\n", "conflict 0 1\nretried 2\n"]
    with SqliteRepository(path) as repo:
        assert repo.revision("acme") == 2
        assert repo.count("acme") == 4000
        keys = {r.legacy_contact_key for r in repo.records("acme")}
    assert keys == {f"{name}-{n}" for name in ("left", "right") for n in range(2000)}


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    """A path SQLite cannot open fails as RepositoryError naming it."""
    path = tmp_path / "no" / "such.db"
    with pytest.raises(RepositoryError) as caught:
        SqliteRepository(path)
    assert str(caught.value) == (
        f"cannot open SQLite database {str(path)!r}: unable to open database file"
    )


def test_a_read_cut_short_by_close_raises_repository_error() -> None:
    """An iterator whose connection closes under it fails as RepositoryError, not sqlite3's."""
    repo = SqliteRepository()
    repo.commit("acme", ChangeSet(creates=[_record(f"k{n:04}") for n in range(1500)]), 0)
    records = repo.records("acme")
    next(records)
    repo.close()
    with pytest.raises(RepositoryError, match=r"^cannot read SQLite database ':memory:': "):
        list(records)
    with pytest.raises(RepositoryError, match=r"^cannot read SQLite database ':memory:': "):
        repo.records("acme")


class _CommitFails:
    """A connection whose COMMIT fails as a full disk would."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def execute(self, sql: str, *params: object) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._con.execute(sql, *params)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def test_a_failed_commit_statement_rolls_back() -> None:
    """When COMMIT itself fails, the transaction is rolled back and the error wrapped."""
    with SqliteRepository() as repo:
        repo._con = _CommitFails(repo._con)  # type: ignore[assignment]
        with pytest.raises(RepositoryError) as caught:
            repo.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
        assert str(caught.value) == (
            "cannot commit to SQLite database ':memory:': database or disk is full; "
            "nothing was written"
        )
        assert (repo.revision("acme"), repo.count("acme")) == (0, 0)


def test_a_refusal_the_check_cannot_explain_is_still_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should the diagnosis find nothing, the commit still fails, and says so."""
    monkeypatch.setattr(adapter, "check_change_set", lambda *args, **kwargs: None)
    with SqliteRepository() as repo:
        repo.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
        with pytest.raises(RepositoryError) as caught:
            repo.commit("acme", ChangeSet(creates=[_record("1001")]), 1)
        assert str(caught.value) == (
            "SQLite refused the change set for tenant 'acme' for a reason not found again; "
            "nothing was written"
        )
        assert repr(repo) == "SqliteRepository(':memory:')"


def test_records_come_ordered_by_key() -> None:
    """Whatever the order of creates and commits, a read streams records by key."""
    with SqliteRepository() as repo:
        repo.commit("acme", ChangeSet(creates=[_record("m"), _record("c"), _record("x")]), 0)
        repo.commit("acme", ChangeSet(creates=[_record("a"), _record("q")]), 1)
        assert [r.legacy_contact_key for r in repo.records("acme")] == ["a", "c", "m", "q", "x"]


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE schema_version SET version = 'one'", "its schema_version table holds 'one'"),
        ("UPDATE schema_version SET version = 1.5", "its schema_version table holds 1.5"),
        ("DELETE FROM schema_version", "its schema_version table holds 0 rows, not 1"),
    ],
)
def test_a_damaged_schema_version_is_refused(path: Path, statement: str, problem: str) -> None:
    """A schema_version changed by hand is a RepositoryError, not a ValueError or a migration."""
    SqliteRepository(path).close()
    with sqlite3.connect(path) as con:
        con.execute(statement)
    con.close()
    with pytest.raises(RepositoryError) as caught:
        SqliteRepository(path)
    assert str(caught.value).startswith(f"SQLite database {str(path)!r}: {problem}")


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("status", "Banned", "status 'Banned' is not a record status (Enabled, Deactivated, "),
        ("birthday", "soon", "birthday 'soon' is not an ISO date"),
        ("custom", "[1", "custom '[1' is not a JSON object"),
        ("is_member", 7, "is_member 7 is not a yes/no value"),
        ("first_name", b"\xff\x00", "first_name b'\\xff\\x00' is not non-empty text"),
    ],
)
def test_a_row_that_is_no_record_names_tenant_key_and_value(
    path: Path, column: str, value: object, problem: str
) -> None:
    """get, get_by_email and records raise RepositoryError naming the tenant, key and value."""
    with SqliteRepository(path) as repo:
        repo.commit("acme", ChangeSet(creates=[_record("1001"), _record("1002")]), 0)
    with sqlite3.connect(path) as con:
        con.execute(f"UPDATE records SET {column} = ? WHERE legacy_contact_key = '1002'", (value,))  # noqa: S608
    con.close()
    expected = f"SQLite database {str(path)!r}, tenant 'acme': the stored record '1002': {problem}"
    with SqliteRepository(path) as repo:
        assert repo.get("acme", "1001") == _record("1001")
        for read in (
            lambda: repo.get("acme", "1002"),
            lambda: repo.get_by_email("acme", "user.1002@example.com"),
            lambda: list(repo.records("acme")),
        ):
            with pytest.raises(RepositoryError) as caught:
                read()
            assert str(caught.value).startswith(expected)


@pytest.mark.parametrize(
    ("statement", "read", "problem"),
    [
        (
            "UPDATE revisions SET revision = 'abc'",
            "revision",
            "the stored revision 'abc' is not a whole number from 0 to",
        ),
        (
            "UPDATE revisions SET revision = -5",
            "revision",
            "the stored revision -5 is not a whole number from 0 to",
        ),
        (
            "UPDATE revisions SET revision = 9223372036854775807",
            "commit",
            "the stored revision 9223372036854775807 is not a whole number from 0 to",
        ),
        ("UPDATE uploads SET at = 'nope'", "uploads", "the stored upload 1 cannot be read: "),
        ("UPDATE uploads SET counts = '{'", "uploads", "the stored upload 1 cannot be read: "),
        ("UPDATE uploads SET counts = '[1]'", "uploads", "the stored upload 1 cannot be read: "),
        ("UPDATE uploads SET mode = 'weird'", "uploads", "the stored upload 1 cannot be read: "),
        ("UPDATE tenants SET document = '{'", "tenant", "the stored tenant cannot be read: "),
        (
            "UPDATE tenants SET document = replace(document, '\"acme\"', '\"other\"')",
            "tenant",
            "the stored tenant document is of tenant 'other'",
        ),
    ],
)
def test_damaged_revisions_uploads_and_tenants_are_named(
    path: Path, statement: str, read: str, problem: str
) -> None:
    """A store edited behind the adapter's back: RepositoryError naming store, tenant, what."""
    tenant = Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
    at = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
    entry = UploadEntry(
        tenant_id="acme", actor_id="sa-1", at=at, file_digest="sha256:0", mode="full"
    )
    with SqliteRepository(path) as repo:
        repo.save_tenant(tenant)
        repo.commit("acme", ChangeSet(creates=[_record("1001")], upload=entry), 0)
    with sqlite3.connect(path) as con:
        con.execute(statement)
    con.close()
    reads = {
        "revision": lambda repo: repo.revision("acme"),
        "commit": lambda repo: repo.commit("acme", ChangeSet(), 1),
        "uploads": lambda repo: repo.uploads("acme"),
        "tenant": lambda repo: repo.get_tenant("acme"),
    }
    with SqliteRepository(path) as repo, pytest.raises(RepositoryError) as caught:
        reads[read](repo)
    assert str(caught.value).startswith(f"SQLite database {str(path)!r}, tenant 'acme': {problem}")


def test_a_snapshot_reads_the_same_records_twice(path: Path) -> None:
    """Inside snapshot(), two passes over records() agree although a commit lands between."""
    with SqliteRepository(path) as reader, SqliteRepository(path) as writer:
        writer.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
        with reader.snapshot():
            first = list(reader.records("acme"))
            writer.commit("acme", ChangeSet(creates=[_record("1002")]), 1)
            assert list(reader.records("acme")) == first == [_record("1001")]
            assert reader.revision("acme") == 1
        assert [r.legacy_contact_key for r in reader.records("acme")] == ["1001", "1002"]
        assert reader.revision("acme") == 2


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text(), st.tuples(_JSON_VALUES, _JSON_VALUES).map(list), max_size=4))
def test_events_changes_are_written_as_the_json_encoder_writes_them(
    changes: dict[str, list[object]],
) -> None:
    """The C encoder made once writes each event's changes as the JSON encoder would."""
    assert adapter._encode_changes(changes) == adapter._dump_changes(changes)
    assert json.loads(adapter._encode_changes(changes)) == changes


def _stored_event(path: Path) -> pv_audit.AuditEvent:
    """One upload's event, with a field change, written to a new file at ``path``."""
    at = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
    event = pv_audit.AuditEvent(
        at=at,
        tenant_id="acme",
        key="1001",
        actor_id="sa-1",
        role="super_admin",
        channel="upload",
        kind="updated",
        changes=[pv_audit.FieldChange("title", None, "Chair")],
        rules=("UPLOAD_PARTIAL", "X"),
    )
    entry = UploadEntry(
        tenant_id="acme", actor_id="sa-1", at=at, file_digest="sha256:0", mode="partial"
    )
    with SqliteRepository(path) as repo:
        repo.commit("acme", ChangeSet(creates=[_record("1001")], upload=entry, events=[event]), 0)
        (stored,) = repo.events("acme")
    assert stored == attrs.evolve(event, upload_id=1, revision=1)
    return stored


@pytest.mark.parametrize(
    ("statement", "changed"),
    [
        ("UPDATE events SET key = ' 1001 '", {}),
        ("UPDATE events SET actor_id = 'sa-1 '", {}),
        ('UPDATE events SET changes = \' {"title":[null,"Chair"]} \'', {}),
        ("UPDATE events SET role = NULL", {"role": None}),
        ("UPDATE events SET changes = NULL", {"changes": ()}),
        ("UPDATE events SET upload_id = NULL", {"upload_id": None}),
        ("UPDATE events SET rules = ''", {"rules": ()}),
    ],
)
def test_stored_events_read_as_their_constructor_reads_them(
    path: Path, statement: str, changed: dict[str, Any]
) -> None:
    """An event row not as the adapter writes it is read by AuditEvent's constructor
    (which normalises it), not by the fast path that trusts what the adapter wrote."""
    stored = _stored_event(path)
    with sqlite3.connect(path) as con:
        con.execute(statement)
        (row,) = con.execute(f"SELECT {adapter._EVENT_COLUMNS} FROM events").fetchall()  # noqa: S608 - constant columns
    con.close()
    with SqliteRepository(path) as repo:
        (read,) = repo.events("acme")
        assert read == repo._event("acme", row)
    assert read == attrs.evolve(stored, **changed)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET changes = '[1]'",
        "UPDATE events SET changes = '{\"title\":[1]}'",
        'UPDATE events SET changes = \'{"title":"x"}\'',
        'UPDATE events SET changes = \'{"title":[null,"Chair"]} x\'',
        "UPDATE events SET changes = '{'",
        "UPDATE events SET changes = 5",
        "UPDATE events SET at = 'yesterday'",
        "UPDATE events SET at = '2026-11-25T09:30:00'",
        "UPDATE events SET kind = 'exploded'",
        "UPDATE events SET channel = 'pigeon'",
        "UPDATE events SET role = 'king'",
        "UPDATE events SET actor_id = ''",
        "UPDATE events SET actor_id = X'41'",
        "UPDATE events SET revision = 'abc'",
        "UPDATE events SET revision = -1",
        "UPDATE events SET upload_id = 'x'",
        "UPDATE events SET rules = X'41'",
    ],
)
def test_a_damaged_event_is_named(path: Path, statement: str) -> None:
    """An event row that is no event: RepositoryError naming the store, tenant and event."""
    _stored_event(path)
    with sqlite3.connect(path) as con:
        con.execute(statement)
    con.close()
    with SqliteRepository(path) as repo, pytest.raises(RepositoryError) as caught:
        list(repo.events("acme"))
    assert str(caught.value).startswith(
        f"SQLite database {str(path)!r}, tenant 'acme': a stored audit event of revision "
    )


def test_a_commit_pauses_the_cyclic_collector_and_turns_it_on_again() -> None:
    """A bulk commit makes no reference cycles: the collector is off while it runs (at
    every commit step), on again after, a failed commit included."""
    seen: list[bool] = []
    gc.enable()
    with SqliteRepository(":memory:", fault=lambda _step: seen.append(gc.isenabled())) as repo:
        repo.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
        assert seen == [False] * len(COMMIT_STEPS)
        assert gc.isenabled()
        with pytest.raises(pv_errors.ConflictError):
            repo.commit("acme", ChangeSet(creates=[_record("1002")]), 0)
        assert gc.isenabled()


#: The SCIM layer's own table of userNames, as it made it beside the records before
#: schema version 5 moved them into the store.
_SCIM_USERS = """
CREATE TABLE scim_users (
    tenant_id TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, user_name TEXT NOT NULL,
    user_name_lower TEXT NOT NULL, created_at TEXT NOT NULL, modified_at TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0, external_id TEXT,
    PRIMARY KEY (tenant_id, key), UNIQUE (tenant_id, id), UNIQUE (tenant_id, user_name_lower)
)
"""


def test_a_store_with_the_scim_layers_table_moves_its_user_names_into_the_store(
    path: Path,
) -> None:
    """Version 4 with the SCIM layer's ``scim_users`` beside the records: migrated to 5,
    the facts of stored records move into ``scim_facts`` (their userNames folded again),
    those of a deleted person's record or of a write that never happened do not, and the
    old table is gone."""
    with sqlite3.connect(path) as con:  # a file as version 4 and the SCIM layer wrote it
        for migration in adapter._MIGRATIONS[:4]:
            for statement in migration:
                con.execute(statement)
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        con.execute("INSERT INTO schema_version VALUES (4)")
        con.execute("INSERT INTO revisions VALUES ('acme', 1)")
        for key, status in (("k1", "Enabled"), ("k2", "Deleted"), ("k4", "Deactivated")):
            con.execute(
                "INSERT INTO records (tenant_id, email_key, legacy_contact_key, first_name,"
                " last_name, email, company_name, status) VALUES"
                " ('acme', ?, ?, 'Ada', 'L', ?, 'Acme', ?)",
                (f"{key}@example.com", key, f"{key}@example.com", status),
            )
        con.execute(_SCIM_USERS)
        at = "2026-01-01T00:00:00+00:00"
        for key, user_name, lower, removed in (
            ("k1", "JOSE\u0301@Example.com", "jose\u0301@example.com", 0),
            ("k2", "gone@example.com", "gone@example.com", 0),
            ("k3", "never@example.com", "never@example.com", 0),  # its write failed
            ("k4", "Four", "four", 1),
        ):
            con.execute(
                "INSERT INTO scim_users VALUES ('acme', ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, f"id-{key}", user_name, lower, at, at, removed, f"x-{key}"),
            )
    con.close()
    with SqliteRepository(path) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION
        facts = repo.scim_facts("acme")
        assert [(f.key, f.id, f.user_name, f.removed) for f in facts] == [
            ("k1", "id-k1", "JOSE\u0301@Example.com", False),
            ("k4", "id-k4", "Four", True),
        ]
        assert facts[0].external_id == "x-k1"
        assert [f.key for f in repo.scim_facts("acme", user_name="jos\u00e9@EXAMPLE.com")] == ["k1"]
    with sqlite3.connect(path) as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    con.close()
    assert "scim_users" not in tables


def test_a_store_without_the_scim_layers_table_is_migrated_too(path: Path) -> None:
    """Version 4 never served by SCIM: migrated to 5 with no SCIM facts."""
    with sqlite3.connect(path) as con:
        for migration in adapter._MIGRATIONS[:4]:
            for statement in migration:
                con.execute(statement)
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        con.execute("INSERT INTO schema_version VALUES (4)")
    con.close()
    with SqliteRepository(path) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION
        assert repo.scim_facts("acme") == []
