"""The PostgreSQL adapter, against a real throwaway server: the contract suites, row-level
security, refused roles, concurrent writers, schema versions and plans equal to SQLite's."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import ConnectionPool

import provisioning as pv
from _postgres import APP, SUPERUSER, Server
from provisioning import ConflictError, RepositoryError
from provisioning.adapters import FaultHook, MemoryRepository, SqliteRepository
from provisioning.adapters import postgres as adapter
from provisioning.adapters.postgres import PostgresRepository
from provisioning.audit import FieldChange
from provisioning.repository import ChangeSet, ChangeStream, ContactChanges
from provisioning.testing import (
    AuditLogContract,
    BatchRepositoryContract,
    ContactStoreContract,
    RepositoryContract,
    ScimFactStoreContract,
    TenantStoreContract,
    contacts,
)
from provisioning.testing._contract import (
    _EVENT_AT,
    ACME,
    GLOBEX,
    _entry,
    _event,
    _record,
    _stamped,
    _tenant,
)
from provisioning.uploads import plan_upload


@pytest.fixture
def pg(postgres_server: Server, postgres_schema: str) -> Iterator[PostgresRepository]:
    """A new, empty store: a schema of its own, as the ordinary role owning the database."""
    with PostgresRepository(postgres_server.conninfo(), schema=postgres_schema) as repo:
        yield repo


@pytest.fixture
def faulty(
    postgres_server: Server, postgres_schema: str
) -> Iterator[Callable[[FaultHook], PostgresRepository]]:
    """New, empty stores failing at a chosen commit step, each in a schema of its own."""
    opened: list[PostgresRepository] = []

    def make(fault: FaultHook) -> PostgresRepository:
        schema = f"{postgres_schema}_{len(opened)}"
        opened.append(PostgresRepository(postgres_server.conninfo(), schema=schema, fault=fault))
        return opened[-1]

    yield make
    for repo in opened:
        repo.close()


class TestPostgresScimFactStore(ScimFactStoreContract):
    """PostgresRepository passes the SCIM facts contract: the racing writers are stores
    of their own on the same schema (connections of their own); faults included."""

    @pytest.fixture
    def repository(self, pg: PostgresRepository) -> PostgresRepository:
        return pg

    @pytest.fixture
    def open_repository(
        self, postgres_server: Server, postgres_schema: str
    ) -> Callable[[], PostgresRepository]:
        return lambda: PostgresRepository(postgres_server.conninfo(), schema=postgres_schema)

    @pytest.fixture
    def faulty_repository(
        self, faulty: Callable[[FaultHook], PostgresRepository]
    ) -> Callable[[FaultHook], PostgresRepository]:
        return faulty


class TestPostgresRepository(RepositoryContract, TenantStoreContract):
    """PostgresRepository passes the repository and tenant store contracts."""

    @pytest.fixture
    def repository(self, pg: PostgresRepository) -> PostgresRepository:
        return pg

    @pytest.fixture
    def tenant_store(self, pg: PostgresRepository) -> PostgresRepository:
        return pg


class TestPostgresBatchRepository(BatchRepositoryContract):
    """PostgresRepository passes the batch contract, faults included."""

    @pytest.fixture
    def repository(self, pg: PostgresRepository) -> PostgresRepository:
        return pg

    @pytest.fixture
    def faulty_repository(
        self, faulty: Callable[[FaultHook], PostgresRepository]
    ) -> Callable[[FaultHook], PostgresRepository]:
        return faulty


class TestPostgresAuditLog(AuditLogContract):
    """PostgresRepository passes the audit trail contract, faults included."""

    @pytest.fixture
    def repository(self, pg: PostgresRepository) -> PostgresRepository:
        return pg

    @pytest.fixture
    def faulty_repository(
        self, faulty: Callable[[FaultHook], PostgresRepository]
    ) -> Callable[[FaultHook], PostgresRepository]:
        return faulty


class TestPostgresContactStore(ContactStoreContract):
    """PostgresRepository passes the contact store contract, faults included."""

    @pytest.fixture
    def repository(self, pg: PostgresRepository) -> PostgresRepository:
        return pg

    @pytest.fixture
    def faulty_repository(
        self, faulty: Callable[[FaultHook], PostgresRepository]
    ) -> Callable[[FaultHook], PostgresRepository]:
        return faulty


# -- row-level security ----------------------------------------------------------------


def _filled(repo: PostgresRepository) -> None:
    """Tenant A with a record, an upload, an event and a tenant document; B with one record."""
    repo.save_tenant(_tenant("tenant-a"))
    event = _event("a1", tenant_id="tenant-a")
    entry = _entry("tenant-a")
    repo.commit("tenant-a", ChangeSet(creates=[_record("a1")], upload=entry, events=[event]), 0)
    repo.commit("tenant-b", ChangeSet(creates=[_record("b1")]), 0)


def test_a_query_for_tenant_a_in_a_transaction_of_tenant_b_sees_and_changes_nothing(
    postgres_server: Server, postgres_schema: str
) -> None:
    """Connected as the ordinary role owning the tables, a transaction scoped to B reads
    none of A's rows from any table, changes none, and may not write a row of A."""
    with PostgresRepository(postgres_server.conninfo(), schema=postgres_schema) as repo:
        _filled(repo)
    s = postgres_schema
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as con:
        (owner,) = con.execute(
            "SELECT tableowner = current_user FROM pg_tables WHERE schemaname = %s"
            " AND tablename = 'records'",
            (s,),
        ).fetchone() or (False,)
        assert owner is True  # the owner, bound by FORCE ROW LEVEL SECURITY
        with con.transaction():
            con.execute("SELECT set_config('provisioning.tenant', 'tenant-b', true)")
            for table in ("records", "uploads", "events", "revisions", "tenants"):
                rows = con.execute(
                    f"SELECT count(*) FROM {s}.{table} WHERE tenant_id = 'tenant-a'"  # noqa: S608
                ).fetchone()
                assert rows == (0,), table
            assert con.execute(f"SELECT count(*) FROM {s}.records").fetchone() == (1,)  # noqa: S608
            changed = con.execute(
                f"UPDATE {s}.records SET first_name = 'Mallory' WHERE tenant_id = 'tenant-a'"  # noqa: S608
            )
            assert changed.rowcount == 0
            deleted = con.execute(f"DELETE FROM {s}.events WHERE tenant_id = 'tenant-a'")  # noqa: S608
            assert deleted.rowcount == 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege), con.transaction():
                con.execute(f"UPDATE {s}.records SET tenant_id = 'tenant-a'")  # noqa: S608
        with con.transaction():
            con.execute("SELECT set_config('provisioning.tenant', 'tenant-b', true)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege), con.transaction():
                con.execute(f"INSERT INTO {s}.revisions VALUES ('tenant-a', 99)")  # noqa: S608
        with con.transaction():  # no tenant at all: nothing
            assert con.execute(f"SELECT count(*) FROM {s}.records").fetchone() == (0,)  # noqa: S608
    with PostgresRepository(postgres_server.conninfo(), schema=postgres_schema) as repo:
        assert repo.get("tenant-a", "a1") == _record("a1")
        assert repo.revision("tenant-a") == 1
        assert len(list(repo.events("tenant-a"))) == 1


def test_moving_a_row_to_another_tenant_is_refused(
    postgres_server: Server, postgres_schema: str
) -> None:
    """WITH CHECK: a transaction of B may not hand its own row to A."""
    with PostgresRepository(postgres_server.conninfo(), schema=postgres_schema) as repo:
        _filled(repo)
        with (
            pytest.raises(RepositoryError, match="row-level security"),
            repo.transaction("tenant-b") as cursor,
        ):
            cursor.execute(f"UPDATE {postgres_schema}.records SET tenant_id = 'tenant-a'")  # noqa: S608
        assert repo.get("tenant-b", "b1") == _record("b1")


def test_listing_tenants_is_the_one_cross_tenant_read(
    postgres_server: Server, postgres_schema: str
) -> None:
    """The listing scope reads the tenants table, and no record, upload or event."""
    with PostgresRepository(postgres_server.conninfo(), schema=postgres_schema) as repo:
        _filled(repo)
        repo.save_tenant(_tenant("tenant-b"))
        assert [t.id for t in repo.tenants()] == ["tenant-a", "tenant-b"]
    s = postgres_schema
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as con, con.transaction():
        con.execute("SELECT set_config('provisioning.scope', 'tenants', true)")
        assert con.execute(f"SELECT count(*) FROM {s}.tenants").fetchone() == (2,)  # noqa: S608
        for table in ("records", "uploads", "events", "revisions"):
            assert con.execute(f"SELECT count(*) FROM {s}.{table}").fetchone() == (0,), table  # noqa: S608
        changed = con.execute(f"UPDATE {s}.tenants SET document = '{{}}'")  # noqa: S608
        assert changed.rowcount == 0  # the listing scope reads; it writes nothing


# -- refused roles ---------------------------------------------------------------------


def test_a_superuser_is_refused_unless_the_store_is_for_development(
    postgres_server: Server, postgres_schema: str
) -> None:
    """Row-level security does not bind a superuser: refused, unless development=True."""
    conninfo = postgres_server.conninfo(SUPERUSER)
    with pytest.raises(RepositoryError, match="a superuser: row-level security does not bind"):
        PostgresRepository(conninfo, schema=postgres_schema)
    with PostgresRepository(conninfo, schema=postgres_schema, development=True) as repo:
        assert repo.commit(ACME, ChangeSet(creates=[_record("1")]), 0) == 1


def test_a_role_with_bypassrls_is_refused(postgres_server: Server, postgres_schema: str) -> None:
    """BYPASSRLS escapes every policy: such a role is refused too."""
    role = f"bypass_{postgres_schema}"
    with postgres_server.superuser() as con:
        con.execute(f"CREATE ROLE {role} LOGIN BYPASSRLS")
    with pytest.raises(RepositoryError, match="a role with BYPASSRLS"):
        PostgresRepository(postgres_server.conninfo(role), schema=postgres_schema)


def test_a_pool_lends_the_connections(postgres_server: Server, postgres_schema: str) -> None:
    """Given a psycopg_pool.ConnectionPool, the store borrows from it and leaves it open."""
    with ConnectionPool(postgres_server.conninfo(), min_size=1, max_size=3, open=True) as pool:
        with PostgresRepository(pool, schema=postgres_schema) as repo:
            assert repo.commit(ACME, ChangeSet(creates=[_record("1"), _record("2")]), 0) == 1
            records = repo.records(ACME)
            assert next(records) == _record("1")
            assert repo.count(ACME) == 2  # a second connection while the stream holds one
            del records  # closes the stream: its connection goes back to the pool
        assert not pool.closed
        assert pool.get_stats()["pool_size"] >= 1


# -- writers on several machines -------------------------------------------------------


def _pausing(started: threading.Event, go_on: threading.Event) -> FaultHook:
    """A fault hook holding the commit, its tenant locked, at the step 'checked'."""

    def hook(step: str) -> None:
        if step == "checked":
            started.set()
            assert go_on.wait(30)

    return hook


def test_two_writers_of_one_tenant_one_wins_the_other_conflicts(
    postgres_server: Server, postgres_schema: str
) -> None:
    """Both planned at revision 1: the first holds the tenant, the second waits for it,
    then finds revision 2 and gets ConflictError; the first's change is all there."""
    conninfo = postgres_server.conninfo()
    with PostgresRepository(conninfo, schema=postgres_schema) as setup:
        setup.commit(ACME, ChangeSet(creates=[_record("1001")]), 0)
    started, go_on = threading.Event(), threading.Event()
    first = PostgresRepository(conninfo, schema=postgres_schema, fault=_pausing(started, go_on))
    second = PostgresRepository(conninfo, schema=postgres_schema)
    with first, second, ThreadPoolExecutor(2) as pool:
        winner = pool.submit(
            first.commit, ACME, ChangeSet(updates=[_record("1001", title="First")]), 1
        )
        assert started.wait(30)
        loser = pool.submit(
            second.commit, ACME, ChangeSet(updates=[_record("1001", title="Second")]), 1
        )
        time.sleep(0.3)
        assert not loser.done()  # waiting for the tenant's lock
        go_on.set()
        assert winner.result(30) == 2
        with pytest.raises(ConflictError) as caught:
            loser.result(30)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        assert second.get(ACME, "1001") == _record("1001", title="First")
        assert second.revision(ACME) == 2


def test_writers_of_two_tenants_commit_side_by_side(
    postgres_server: Server, postgres_schema: str
) -> None:
    """While a commit to acme holds its tenant, a commit to globex lands."""
    conninfo = postgres_server.conninfo()
    started, go_on = threading.Event(), threading.Event()
    held = PostgresRepository(conninfo, schema=postgres_schema, fault=_pausing(started, go_on))
    other = PostgresRepository(conninfo, schema=postgres_schema)
    with held, other, ThreadPoolExecutor(1) as pool:
        acme = pool.submit(held.commit, ACME, ChangeSet(creates=[_record("1")]), 0)
        assert started.wait(30)
        try:
            assert other.commit(GLOBEX, ChangeSet(creates=[_record("1")]), 0) == 1
            assert other.revision(ACME) == 0  # acme's commit is still open
        finally:
            go_on.set()
        assert acme.result(30) == 1


# -- schema versions ---------------------------------------------------------------------


def test_a_new_schema_gets_the_current_version(
    postgres_server: Server, postgres_schema: str
) -> None:
    """A first use creates the schema at SCHEMA_VERSION, recorded in schema_version."""
    with PostgresRepository(postgres_server.conninfo(), schema=postgres_schema) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION == 4
    with psycopg.connect(postgres_server.conninfo()) as con:
        rows = con.execute(f"SELECT version FROM {postgres_schema}.schema_version").fetchall()  # noqa: S608
        assert rows == [(4,)]


def test_an_older_schema_is_migrated_once(
    postgres_server: Server, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema one version behind is taken forward by the new migration, data kept, once."""
    conninfo = postgres_server.conninfo()
    with PostgresRepository(conninfo, schema=postgres_schema) as repo:
        repo.commit(ACME, ChangeSet(creates=[_record("1001")]), 0)
    step = ("ALTER TABLE {s}.records ADD COLUMN note text",)  # fails if run twice
    monkeypatch.setattr(adapter, "_MIGRATIONS", [*adapter._MIGRATIONS, step])
    with pytest.raises(RepositoryError, match="run `provisioning db migrate`"):
        PostgresRepository(conninfo, schema=postgres_schema, migrate=False)
    for _ in range(2):
        with PostgresRepository(conninfo, schema=postgres_schema) as repo:
            assert repo.schema_version == adapter.SCHEMA_VERSION + 1
            assert repo.get(ACME, "1001") == _record("1001")


def test_a_version_1_store_is_migrated_to_version_2_keeping_its_records_and_events(
    postgres_server: Server, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 2 leaves room in the records' pages and drops an index of the events: what
    was stored reads back the same, and the events keep their order and their filters."""
    conninfo = postgres_server.conninfo()
    with monkeypatch.context() as patch:
        # Version 1, with the events' product column (version 3's) that this
        # library's writes name; version 3 then finds it there already.
        product = next(x for x in adapter._MIGRATIONS[2] if "product" in x)
        patch.setattr(adapter, "_MIGRATIONS", [(*adapter._MIGRATIONS[0], product)])
        with PostgresRepository(conninfo, schema=postgres_schema) as repo:
            assert repo.schema_version == 1
            events = [_event(f"k{n}", at=_EVENT_AT + dt.timedelta(seconds=n)) for n in range(3)]
            repo.commit(ACME, ChangeSet(creates=[_record("k0")], events=events), 0)
            repo.commit(
                GLOBEX,
                ChangeSet(creates=[_record("k0")], events=[_event("g", tenant_id=GLOBEX)]),
                0,
            )
    with PostgresRepository(conninfo, schema=postgres_schema) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION
        assert repo.get(ACME, "k0") == _record("k0")
        assert [e.key for e in repo.events(ACME)] == ["k0", "k1", "k2"]
        assert [e.key for e in repo.events(ACME, key="k1")] == ["k1"]
        assert [e.key for e in repo.events(GLOBEX)] == ["g"]
        repo.commit(
            ACME, ChangeSet(updates=[_record("k0", title="Chair")], events=[_event("k0")]), 1
        )
        assert [e.revision for e in repo.events(ACME)] == [1, 1, 1, 2]
    with psycopg.connect(conninfo) as con:
        options = con.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass",
            (f"{postgres_schema}.records",),
        ).fetchone()
        assert options == (["fillfactor=50"],)
        indexes = con.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s"
            " AND tablename = 'events' ORDER BY indexname",
            (postgres_schema,),
        ).fetchall()
        definitions = {str(name): str(definition) for name, definition in indexes}
        assert list(definitions) == ["events_key", "events_pkey", "events_upload"]
        assert "(tenant_id, id)" in definitions["events_pkey"]


def test_a_schema_from_a_newer_version_is_refused(
    postgres_server: Server, postgres_schema: str
) -> None:
    """A schema_version above this library's: refused, saying to upgrade."""
    conninfo = postgres_server.conninfo()
    PostgresRepository(conninfo, schema=postgres_schema).close()
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute(f"UPDATE {postgres_schema}.schema_version SET version = 99")  # noqa: S608
    with pytest.raises(RepositoryError, match="has schema version 99; this version of"):
        PostgresRepository(conninfo, schema=postgres_schema)


def test_a_role_without_ddl_rights_is_told_to_run_db_migrate(
    postgres_server: Server, postgres_schema: str
) -> None:
    """The application role cannot create the schema: the error says who can."""
    with pytest.raises(RepositoryError, match="run `provisioning db migrate` as the database"):
        PostgresRepository(postgres_server.conninfo(APP), schema=postgres_schema)


def test_a_granted_role_reads_and_writes_within_its_tenant(
    postgres_server: Server, postgres_schema: str
) -> None:
    """grant() lets the application role use the store; row-level security binds it."""
    with PostgresRepository(postgres_server.conninfo(), schema=postgres_schema) as owner:
        owner.commit(GLOBEX, ChangeSet(creates=[_record("g1")]), 0)
        owner.grant(APP)
    with PostgresRepository(postgres_server.conninfo(APP), schema=postgres_schema) as app:
        assert app.commit(ACME, ChangeSet(creates=[_record("1")]), 0) == 1
        assert app.get(GLOBEX, "g1") == _record("g1")
    with psycopg.connect(postgres_server.conninfo(APP), autocommit=True) as con:
        assert con.execute(f"SELECT count(*) FROM {postgres_schema}.records").fetchone() == (0,)  # noqa: S608


# -- the same answers on every store ---------------------------------------------------


def test_key_order_is_code_point_order_whatever_the_database_collation(
    pg: PostgresRepository,
) -> None:
    """The database's default collation is ICU English; keys still sort as Python's do."""
    keys = ["b", "a", "B", "é", "Z", "10", "9", "ä", "a b", "_", "\uff5a", "\U0001d518"]
    records = [_record(key, f"u{n}@example.com") for n, key in enumerate(keys)]
    pg.commit(ACME, ChangeSet(creates=records), 0)
    ordered = sorted(keys)
    assert [k for k, _ in pg.statuses(ACME)] == ordered
    assert [r.legacy_contact_key for r in pg.records(ACME)] == ordered
    after_z = ordered[ordered.index("Z") + 1 :][:3]
    assert [r.legacy_contact_key for r in pg.page(ACME, after="Z", limit=3)] == after_z


def test_one_upload_plans_the_same_on_memory_sqlite_and_postgresql(
    pg: PostgresRepository,
) -> None:
    """The same stored records and upload make the same plan, change for change, in order."""
    stored = [_record(f"{n}", f"u{n}@example.org") for n in range(0, 300, 3)]
    upload = [_record(f"{n}", f"u{n}@example.org", title="Dr") for n in range(0, 200, 2)]
    tenant = pv.Tenant(id=ACME, name="Acme", products={"community": "spreadsheet_upload"})
    actor = pv.Actor(id="sa-1", role="super_admin", name="Sam")
    plans = []
    with SqliteRepository() as sqlite:
        for repo in (MemoryRepository(), sqlite, pg):
            repo.commit(ACME, ChangeSet(creates=stored), 0)
            plan = plan_upload(
                tenant, actor, upload, repo, mode="full", overrides=["mass_deactivation"]
            )
            plans.append(plan.to_records())
    assert plans[0] == plans[1] == plans[2]
    assert len(plans[0]) > 100


# -- bulk writes -------------------------------------------------------------------------

# Text COPY would have to escape, and text that reads like its NULL marker.
_COPY_AWKWARD = ("a\tb", "line\nbreak", "back\\slash", "\\N", "cr\rhere", "plain")


def test_batches_copied_whole_or_row_by_row_read_back_as_written(pg: PostgresRepository) -> None:
    """A batch is sent to the server as one block of COPY text, or row by row when one of
    its values holds a tab, a line break or a backslash: records and events read back
    the same either way, absent values absent, whether created or updated."""
    plain = [_record(f"p{n:03}", prefix=None if n % 2 else "Dr") for n in range(30)]
    awkward = [
        _record(f"q{n:03}", title=text, custom={"note": text}, birthday=dt.date(1990, 1, 2))
        for n, text in enumerate(_COPY_AWKWARD * 3)
    ]
    plain_events = [_event(r.legacy_contact_key, kind="created") for r in plain]
    awkward_events = [
        _event(r.legacy_contact_key, changes=(FieldChange("title", text, f"{text}!"),), rules=())
        for r, text in zip(awkward, _COPY_AWKWARD * 3, strict=True)
    ]
    stream = ChangeStream(creates=[plain, awkward], events=[plain_events, awkward_events])
    assert pg.commit_stream(ACME, stream, 0) == 1
    assert list(pg.records(ACME)) == plain + awkward
    assert list(pg.events(ACME)) == _stamped(plain_events + awkward_events, 1, None)
    changed = [attrs.evolve(r, title=f"{r.title}?", is_member=True) for r in awkward]
    assert pg.commit_stream(ACME, ChangeStream(updates=[plain[:3], changed]), 1) == 2
    assert list(pg.records(ACME)) == plain + changed


def test_the_statements_of_a_bulk_commit_are_never_prepared(pg: PostgresRepository) -> None:
    """Each batch's statement is planned for that batch: none is a prepared statement,
    which PostgreSQL would plan once for every batch from its sixth run on (a generic
    plan that, for a large tenant, scanned the whole table for each row of a batch)."""
    pg.commit(ACME, ChangeSet(creates=[_record(f"k{n:03}") for n in range(80)]), 0)
    with pg._borrowed() as con, con.transaction():
        pg._batch_tables(con)
        adapter._scope(con, ACME)
        for start in range(0, 80, 10):
            batch = [_record(f"k{n:03}", title="Chair") for n in range(start, start + 10)]
            sent = pg._write(con, ACME, 2, "update", batch)
            assert sent is not None
            assert sent.fits()
        prepared = con.execute("SELECT statement FROM pg_prepared_statements").fetchall()
        assert not [s for (s,) in prepared if "records" in s], prepared
        raise psycopg.Rollback  # nothing kept


def test_a_batch_meets_the_stored_records_through_their_key_even_before_any_analyze(
    pg: PostgresRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Just after a bulk load the table's statistics are stale (PostgreSQL once took
    20,000 records for 33, and read them all for each row of a 10,000-row batch): a batch
    looks each record up by its key through the primary key's index, whatever the
    estimates, and nothing is compiled by JIT."""
    pg.commit(ACME, ChangeSet(creates=[_record(f"k{n:05}") for n in range(20_000)]), 0)
    sent: list[tuple[str, Any]] = []

    class Recorded:
        def __init__(self, _con: object, statements: list[tuple[str, Any]], **_: object) -> None:
            sent.extend(statements)

    monkeypatch.setattr(adapter, "_Sent", Recorded)
    with pg._borrowed() as con:
        con.execute("BEGIN")
        try:
            pg._batch_tables(con)
            adapter._scope(con, ACME)
            con.execute(adapter._BULK_PLANS)
            batch = [_record(f"k{n:05}", title="Chair") for n in range(0, 20_000, 2)]
            pg._write(con, ACME, 2, "update", batch)
            [(update, params)] = [(sql, p) for sql, p in sent if sql.startswith("UPDATE")]
            plan = "\n".join(str(row[0]) for row in con.execute(f"EXPLAIN {update}", params))
        finally:
            con.execute("ROLLBACK")  # nothing kept
    assert "Nested Loop" in plan, plan
    assert "Index Scan using records_pkey on records r" in plan, plan
    for shape in ("Seq Scan on records", "Bitmap", "Materialize", "Hash", "Merge", "JIT"):
        assert shape not in plan, plan


# -- reading -----------------------------------------------------------------------------


def test_a_record_changed_behind_the_store_is_named_by_every_read(
    pg: PostgresRepository, postgres_schema: str
) -> None:
    """A stored row that is no record (its status changed by hand) is a RepositoryError
    naming the store and the key, read one at a time or thousands at a time."""
    pg.commit(ACME, ChangeSet(creates=[_record(f"k{n}") for n in range(5)]), 0)
    with pg.transaction(ACME) as cursor:
        cursor.execute(
            f"UPDATE {postgres_schema}.records SET status = 'Bogus'"  # noqa: S608
            " WHERE legacy_contact_key = 'k3'"
        )
    for read in (
        lambda: pg.get(ACME, "k3"),
        lambda: pg.get_many(ACME, ["k1", "k3", "k4"]),
        lambda: list(pg.records(ACME)),
    ):
        with pytest.raises(RepositoryError, match="the stored record 'k3': status 'Bogus'"):
            read()
    assert pg.get_many(ACME, ["k1", "k4"]) == {"k1": _record("k1"), "k4": _record("k4")}


def test_records_stream_through_a_server_side_cursor(
    postgres_server: Server, pg: PostgresRepository
) -> None:
    """A tenant's records come a batch at a time from a cursor the server holds open."""
    pg.commit(ACME, ChangeSet(creates=[_record(f"k{n:05}") for n in range(5000)]), 0)
    records = pg.records(ACME)
    assert next(records) == _record("k00000")
    with postgres_server.superuser() as con:
        queries = [
            str(row[0])
            for row in con.execute(
                "SELECT query FROM pg_stat_activity WHERE state = 'idle in transaction'"
            ).fetchall()
        ]
    assert any(q.startswith("FETCH FORWARD 2000") for q in queries), queries
    assert sum(1 for _ in records) == 4999


def test_a_snapshot_reads_one_state_while_others_commit(
    postgres_server: Server, pg: PostgresRepository, postgres_schema: str
) -> None:
    """Inside snapshot(), reads see the database as it was when the block began."""
    pg.commit(ACME, ChangeSet(creates=[_record("1")]), 0)
    with PostgresRepository(postgres_server.conninfo(), schema=postgres_schema) as other:
        with pg.snapshot():
            assert pg.count(ACME) == 1
            other.commit(ACME, ChangeSet(creates=[_record("2")]), 1)
            assert pg.count(ACME) == 1
            assert [r.legacy_contact_key for r in pg.records(ACME)] == ["1"]
            assert pg.revision(ACME) == 1
        assert pg.count(ACME) == 2


# -- the same Marketing upload on every store ---------------------------------------------

_BY_ID = pv.Tenant(
    id="mk",
    name="Marketing",
    products={"marketing": "spreadsheet_upload"},
    marketing_key="member_id",
)
_SA = pv.Actor(id="sa-1", role="super_admin")
_DAY = dt.date(2026, 11, 25)
_contact_lists = st.lists(contacts(member_ids=True, custom_keys=("Chapter",)), max_size=12)
_runs = itertools.count()
_ALL = tuple(pv.Safeguard)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(base=_contact_lists, later=_contact_lists, full=st.booleans())
def test_a_marketing_upload_plans_the_same_on_sqlite_and_postgresql(
    pg: PostgresRepository, base: list[pv.Contact], later: list[pv.Contact], full: bool
) -> None:
    """Contacts applied, then another file planned: SQLite and PostgreSQL (and memory) give
    the same plan, changes and conflicts in the same order."""
    tenant = attrs.evolve(_BY_ID, id=f"mk{next(_runs)}")
    book = pv.DEFAULT_RULEBOOK.with_settings(marketing_full_unsubscribes=full)
    plans = []
    with SqliteRepository() as sqlite:
        for store in (MemoryRepository(), sqlite, pg):
            first = pv.plan_contacts(tenant, _SA, base, store, as_of=_DAY, overrides=_ALL)
            if first.creates:
                pv.apply_plan(first, store)
            plan = pv.plan_contacts(
                tenant, _SA, later, store, as_of=_DAY, overrides=_ALL, rulebook=book
            )
            plans.append((plan.counts, plan.to_records(), plan.findings, plan.tripped))
    memory, on_sqlite, on_postgres = plans
    assert on_sqlite == memory
    assert on_postgres == memory


def test_a_store_from_before_contacts_keeps_its_events_as_community_ones(
    postgres_server: Server, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema at version 2 (no contacts, events without a product) is migrated to 3:
    its events read back as Community ones, and it takes contacts."""
    conninfo = postgres_server.conninfo()
    with monkeypatch.context() as patch:
        patch.setattr(adapter, "_MIGRATIONS", adapter._MIGRATIONS[:2])
        PostgresRepository(conninfo, schema=postgres_schema).close()
    with psycopg.connect(conninfo) as con:  # an event as version 2 wrote it
        con.execute("SELECT set_config(%s, 'acme', true)", (adapter.TENANT_SETTING,))
        con.execute(
            f"INSERT INTO {postgres_schema}.events (tenant_id, revision, at, key, actor_id,"  # noqa: S608
            " role, channel, kind, rules) VALUES ('acme', 0, now(), '1001', 'sa-1',"
            " 'super_admin', 'admin', 'created', 'ROLE_PERMISSIONS')"
        )
    with PostgresRepository(conninfo, schema=postgres_schema) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION
        (event,) = repo.events(ACME)
        assert (event.key, event.product) == ("1001", pv.Product.COMMUNITY)
        changes = ContactChanges(creates=[pv.Contact(email="ada@example.com")])
        assert repo.commit(ACME, ChangeSet(contacts=changes), 0) == 1
        assert repo.contact_count(ACME) == 1


def test_a_schema_with_the_scim_layers_table_moves_its_user_names_into_the_store(
    postgres_server: Server, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 3 with the SCIM layer's ``scim_users`` (under row-level security, as it
    made it): migrated to 4, the facts of stored, undeleted records move into
    ``scim_facts``, the others do not, and the old table is gone."""
    conninfo = postgres_server.conninfo()
    with monkeypatch.context() as patch:
        patch.setattr(adapter, "_MIGRATIONS", adapter._MIGRATIONS[:3])
        with PostgresRepository(conninfo, schema=postgres_schema) as repo:
            repo.commit(ACME, ChangeSet(creates=[_record("k1"), _record("k4")]), 0)
            repo.commit(GLOBEX, ChangeSet(creates=[_record("k1")]), 0)
    s = postgres_schema
    at = "2026-01-01T00:00:00+00:00"
    with psycopg.connect(conninfo) as con:  # the table as the SCIM layer made it
        con.execute(
            f"CREATE TABLE {s}.scim_users (tenant_id text NOT NULL, key text NOT NULL,"
            " id text NOT NULL, user_name text NOT NULL, user_name_lower text NOT NULL,"
            " created_at text NOT NULL, modified_at text NOT NULL,"
            " removed integer NOT NULL DEFAULT 0, external_id text,"
            " PRIMARY KEY (tenant_id, key))"
        )
        con.execute(f"ALTER TABLE {s}.scim_users ENABLE ROW LEVEL SECURITY")
        con.execute(f"ALTER TABLE {s}.scim_users FORCE ROW LEVEL SECURITY")
        con.execute(
            f"CREATE POLICY tenant_rows ON {s}.scim_users USING ({adapter._OWN_ROWS})"
            f" WITH CHECK ({adapter._OWN_ROWS})"
        )
        for tenant, key, name, removed in (
            (ACME, "k1", "Ada@Example.com", 0),
            (ACME, "k3", "never@example.com", 0),  # its write failed
            (ACME, "k4", "Four", 1),
            (GLOBEX, "k1", "ada@example.com", 0),
        ):
            with con.transaction():
                con.execute("SELECT set_config(%s, %s, true)", (adapter.TENANT_SETTING, tenant))
                con.execute(
                    f"INSERT INTO {s}.scim_users VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                    (tenant, key, f"id-{key}", name, name.lower(), at, at, removed, f"x-{key}"),
                )
    with PostgresRepository(conninfo, schema=postgres_schema) as repo:
        assert repo.schema_version == adapter.SCHEMA_VERSION
        facts = repo.scim_facts(ACME)
        assert [(f.key, f.user_name, f.removed, f.external_id) for f in facts] == [
            ("k1", "Ada@Example.com", False, "x-k1"),
            ("k4", "Four", True, "x-k4"),
        ]
        assert [f.key for f in repo.scim_facts(GLOBEX, user_name="ADA@example.com")] == ["k1"]
    with psycopg.connect(conninfo) as con:
        found = con.execute("SELECT to_regclass(%s)", (f"{s}.scim_users",)).fetchone()
        assert found == (None,)
        forced = con.execute(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
            (f"{s}.records",),
        ).fetchone()
        assert forced == (True,)
