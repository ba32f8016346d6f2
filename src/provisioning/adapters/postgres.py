"""The store for hosts on several machines: a repository and tenant store in PostgreSQL.

Needs the ``postgres`` extra (psycopg 3 and its pool): ``pip install -e '.[postgres]'``
in a clone of the project. :class:`PostgresRepository` implements everything
:class:`~provisioning.adapters.SqliteRepository` does, and passes the same contract
suites; what PostgreSQL adds:

- **Tenant isolation in the database.** Every table keyed by tenant has row-level
  security, enabled and forced (so the role owning the tables is bound by it too), with
  one policy: a row is seen and written only in a transaction scoped to its tenant
  (``set_config('provisioning.tenant', tenant_id, true)``, which the adapter does at the
  start of each). Superusers and roles with ``BYPASSRLS`` escape every policy, so the
  adapter refuses to work as one unless told the store is a throwaway development store
  (``development=True``). The one cross-tenant read, listing the stored tenants, goes
  through a second, narrower policy: only ``SELECT`` on ``tenants``, only in a
  transaction marked ``provisioning.scope = 'tenants'``.
- **Writers on several machines.** A commit takes a transaction-scoped advisory lock on
  its tenant, then checks the revision: of two writers that planned against one
  revision, one commits and the other gets :class:`~provisioning.ConflictError`, never a
  lost update, while writers to different tenants go on side by side.
- **Bulk work at database speed.** Each batch of records (and of audit events) is sent
  with ``COPY`` into a temporary table and written by one set-based ``UPDATE`` or
  ``INSERT``; a create meeting a stored key is refused, never turned into an update. The
  unique email index is checked when the commit's records are all written, so records
  may swap emails. Streams (:meth:`~PostgresRepository.records`,
  :meth:`~PostgresRepository.statuses`, :meth:`~PostgresRepository.events`) read through
  a server-side cursor, a batch at a time.
- **Order by code point.** Keys use the ``"C"`` collation, so key order is Python's,
  whatever the database's locale.
- **Schema migrations**, recorded in ``<schema>.schema_version``, run on first use by a
  role allowed to (the database's owner, say); a store written by a newer version is
  refused.

>>> import provisioning as pv
>>> from provisioning.repository import ChangeSet
>>> with PostgresRepository(conninfo, schema="doctest") as repo:  # conninfo: your database
...     revision = repo.save_tenant(pv.Tenant(id="acme", name="Acme",
...                                           products={"community": "standalone"}))
...     print(repo.get_tenant("acme").name, repo.schema_version, repo.revision("acme"))
Acme 4 0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import re
import threading
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from itertools import count, repeat
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql as pg_sql

from .._gc import collector_paused
from .._rows import row_codec
from .._validators import (
    check_page,
    check_revision_number,
    check_strings,
    check_tenant_id,
    check_type,
)
from ..audit import AuditEvent, FieldChange, redacted
from ..catalog import Product
from ..exceptions import InvalidValueError, NotFoundError, RepositoryError
from ..records import Contact, RecordStatus, UserRecord, email_key
from ..repository import (
    ChangeSet,
    ChangeSetError,
    ChangeStream,
    ContactChanges,
    ContactStream,
    ScimFacts,
    UploadEntry,
    check_change_set,
    check_refusal,
    check_revision,
    check_tenant_event,
    event_filter,
    scim_lookup,
)
from ..serialization import tenant_from_json, tenant_to_json
from ..tenants import Tenant
from ._faults import FaultHook
from .sqlite import _dump_changes, _event_row

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["SCHEMA_VERSION", "TENANT_SETTING", "PostgresRepository"]

_T = TypeVar("_T")
_Connection = psycopg.Connection[tuple[Any, ...]]

#: The setting a transaction names its tenant in; every row-level security policy of
#: the schema compares a row's ``tenant_id`` with it. A host's own tenant-keyed tables
#: can use the same policy (see docs/howto/use-postgresql.md).
TENANT_SETTING: Final = "provisioning.tenant"
_SCOPE_SETTING: Final = "provisioning.scope"

#: Records to rows and back, written from the model's fields: one column each in
#: ``records``, in declaration order, after the email key (the migrations create them).
_CODEC: Final = row_codec(UserRecord, empty=None, dates="date", flags="bool", leading=1)
_FIELDS: Final = _CODEC.columns
_COLUMNS: Final = ", ".join(_FIELDS)
_encode = _CODEC.encode
_decode = _CODEC.decode
# The same rows as COPY text: every value text, an absent one "" (COPY's NULL ''). No
# stored text is ever "": required text is never empty, and an empty optional value is
# absent (the records' own checks); flags go as 1 or 0.
_encode_text = row_codec(UserRecord, empty="", dates="iso", flags="int", leading=1).encode

# The policy of every tenant-keyed table: rows of the transaction's tenant only.
_OWN_ROWS: Final = f"tenant_id = current_setting('{TENANT_SETTING}', true)"


def _isolated(table: str) -> tuple[str, ...]:
    """Row-level security on ``{s}.table``, enabled, forced and scoped to the tenant."""
    return (
        f"ALTER TABLE {{s}}.{table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {{s}}.{table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_rows ON {{s}}.{table} USING ({_OWN_ROWS}) WITH CHECK ({_OWN_ROWS})",
    )


# Migration i takes a schema from version i to i + 1: its statements, ``{s}`` the schema.
_MIGRATIONS: list[tuple[str, ...]] = [
    (
        """
        CREATE TABLE {s}.revisions (
            tenant_id text COLLATE "C" PRIMARY KEY,
            revision bigint NOT NULL CHECK (revision >= 0)
        )
        """,
        """
        CREATE TABLE {s}.records (
            tenant_id text COLLATE "C" NOT NULL,
            email_key text NOT NULL,  -- the lower-cased email
            version bigint NOT NULL,  -- the revision of the record's last change
            legacy_contact_key text COLLATE "C" NOT NULL,  -- "C": code-point order
            first_name text NOT NULL,
            last_name text NOT NULL,
            email text NOT NULL,
            company_name text NOT NULL,
            prefix text,
            middle_name text,
            suffix text,
            informal_name text,
            title text,
            member_id text,
            member_since date,
            member_expires_on date,
            birthday date,
            address1 text,
            address2 text,
            city text,
            state text,
            postal_code text,
            country text,
            phone1 text,
            phone1_type text,
            phone2 text,
            phone2_type text,
            is_member boolean,
            status text NOT NULL,
            custom text,  -- a JSON object, NULL when empty (text keeps its key order)
            PRIMARY KEY (tenant_id, legacy_contact_key),
            -- checked when a commit's records are all written: records may swap emails
            CONSTRAINT records_email UNIQUE (tenant_id, email_key) DEFERRABLE INITIALLY DEFERRED
        )
        """,
        """
        CREATE TABLE {s}.uploads (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id text COLLATE "C" NOT NULL,
            revision bigint NOT NULL,  -- the revision the upload's commit made: its id
            actor_id text NOT NULL,
            at timestamptz NOT NULL,
            utc_offset integer NOT NULL,  -- seconds: the entry's time reads back in its zone
            file_digest text NOT NULL,
            mode text NOT NULL,
            product text NOT NULL,
            counts text NOT NULL,  -- a JSON object
            audited boolean NOT NULL DEFAULT true
        )
        """,
        "CREATE INDEX uploads_tenant ON {s}.uploads (tenant_id, id)",
        """
        CREATE TABLE {s}.tenants (
            tenant_id text COLLATE "C" PRIMARY KEY,
            document text NOT NULL  -- the tenant as provisioning.serialization's JSON
        )
        """,
        """
        CREATE TABLE {s}.events (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id text COLLATE "C" NOT NULL,
            revision bigint NOT NULL,  -- the revision the event's commit made
            upload_id bigint,  -- the upload's id (its commit's revision), if any
            at timestamptz NOT NULL,
            key text COLLATE "C",
            actor_id text NOT NULL,
            role text,  -- NULL: the store's operator, none of the tenant's actors
            channel text NOT NULL,
            kind text NOT NULL,
            changes text,  -- a JSON object {field: [old, new]} in field order, NULL when none
            rules text NOT NULL  -- rule ids, space-separated
        )
        """,
        "CREATE INDEX events_tenant ON {s}.events (tenant_id, id)",
        "CREATE INDEX events_key ON {s}.events (tenant_id, key, id)",
        "CREATE INDEX events_upload ON {s}.events (tenant_id, upload_id, id)",
        *_isolated("revisions"),
        *_isolated("records"),
        *_isolated("uploads"),
        *_isolated("tenants"),
        *_isolated("events"),
        # The one cross-tenant read: the list of tenants, in a transaction that says so.
        f"""
        CREATE POLICY listed ON {{s}}.tenants FOR SELECT
            USING (current_setting('{_SCOPE_SETTING}', true) = 'tenants')
        """,
    ),
    (
        # Half of each page of records is left free, so that an update writes a record's
        # new version beside the old one (a "HOT" update: no new index entry while its
        # key and email stay), even when an upload changes every record of a tenant.
        # Pages written before keep their room until rewritten (VACUUM FULL).
        "ALTER TABLE {s}.records SET (fillfactor = 50)",
        # One index fewer to write for every event: the primary key leads with the
        # tenant, and serves the reads of a tenant's events in order.
        "ALTER TABLE {s}.events DROP CONSTRAINT events_pkey",
        "ALTER TABLE {s}.events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, id)",
        "DROP INDEX {s}.events_tenant",
    ),
    # 3: Marketing contacts, and the product of each audit event.
    (
        """
        CREATE TABLE {s}.contacts (
            tenant_id text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,  -- the lower-cased email or the member id
            email_key text NOT NULL,  -- the lower-cased email
            email text NOT NULL,
            member_id text,
            first_name text,
            last_name text,
            subscription text NOT NULL,
            custom text,  -- a JSON object, NULL when empty
            PRIMARY KEY (tenant_id, key),
            -- checked when a commit's contacts are all written: contacts may swap emails
            CONSTRAINT contacts_email UNIQUE (tenant_id, email_key) DEFERRABLE INITIALLY DEFERRED
        )
        """,
        *_isolated("contacts"),
        "ALTER TABLE {s}.events ADD COLUMN IF NOT EXISTS product text NOT NULL DEFAULT 'community'",
    ),
    # 4: the records' SCIM facts, written in the records' commits. The SCIM layer kept
    # them in a table of its own (scim_users) in this schema: the facts of stored,
    # undeleted records move here (read past row-level security, which binds the owner
    # too, for the move alone); a name kept for a write that never happened does not.
    (
        """
        CREATE TABLE {s}.scim_facts (
            tenant_id text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,  -- the record's LegacyContactKey
            id text COLLATE "C" NOT NULL,  -- the SCIM resource id
            user_name text NOT NULL,
            name_key text COLLATE "C" NOT NULL,  -- the userName NFKC-normalised, case-folded
            external_id text COLLATE "C",
            removed boolean NOT NULL,  -- the resource was DELETEd
            created_at text NOT NULL,  -- ISO 8601 with its UTC offset
            modified_at text NOT NULL,
            PRIMARY KEY (tenant_id, key),
            CONSTRAINT scim_facts_name UNIQUE (tenant_id, name_key),
            CONSTRAINT scim_facts_id UNIQUE (tenant_id, id)
        )
        """,
        "CREATE INDEX scim_facts_external ON {s}.scim_facts (tenant_id, external_id)",
        """
        DO $move$ BEGIN
            IF to_regclass('{s}.scim_users') IS NOT NULL THEN
                ALTER TABLE {s}.scim_users NO FORCE ROW LEVEL SECURITY;
                ALTER TABLE {s}.records NO FORCE ROW LEVEL SECURITY;
                INSERT INTO {s}.scim_facts
                SELECT u.tenant_id, u.key, u.id, btrim(u.user_name), u.user_name_lower,
                    NULLIF(btrim(u.external_id), ''), u.removed <> 0, u.created_at,
                    u.modified_at
                FROM {s}.scim_users AS u JOIN {s}.records AS r
                    ON r.tenant_id = u.tenant_id AND r.legacy_contact_key = u.key
                WHERE r.status <> 'Deleted' AND btrim(u.user_name) <> '';
                ALTER TABLE {s}.records FORCE ROW LEVEL SECURITY;
                DROP TABLE {s}.scim_users;
            END IF;
        END $move$
        """,
        *_isolated("scim_facts"),
    ),
]

#: The schema version this library writes.
SCHEMA_VERSION: Final = len(_MIGRATIONS)

_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Revisions stay below PostgreSQL's largest bigint, so a commit can always add one.
_MOST_REVISIONS: Final = 2**62
_CHUNK: Final = 5000  # keys or emails per lookup query (one array parameter)
_FETCH: Final = 2000  # rows per fetch of a server-side cursor
_IDLE: Final = 4  # connections kept open for the next call, beyond those in use
_STATUSES: Final = {s.value: s for s in RecordStatus}
_UTC = dt.UTC
_loads = json.loads
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
_EVENT_COLUMNS: Final = (
    "revision, upload_id, at, key, actor_id, role, channel, kind, changes, rules, product"
)
#: Contacts to rows and back: the key and the email key first, then each field.
_CONTACT_CODEC: Final = row_codec(Contact, empty=None, dates="date", flags="bool", leading=2)
_CONTACT_COLUMNS: Final = ", ".join(_CONTACT_CODEC.columns)
_cursor_names = count()


def _no_fault(_step: str) -> None:
    pass


class _MisfitError(Exception):
    """The change set does not fit the stored records; the transaction rolls back."""


def _failed(what: str, exc: BaseException) -> RepositoryError:
    return RepositoryError(f"cannot {what}: {exc}".rstrip())


class _Stream(Generic[_T]):
    """Rows of a server-side cursor, ``_FETCH`` at a time, converted; an iterator.

    It owns its connection's read transaction unless it runs inside a snapshot; closing
    it (at the end, by :meth:`close` or when it is dropped) closes the cursor and gives
    the connection back.
    """

    def __init__(
        self,
        repo: PostgresRepository,
        con: _Connection,
        tenant_id: str,
        sql: str,
        params: Sequence[Any],
        *,
        convert: Callable[[Sequence[Any]], Iterable[_T]],
        owned: bool,
    ) -> None:
        self._repo: PostgresRepository | None = repo
        self._con = con
        self._tenant = tenant_id
        self._convert = convert
        self._owned = owned
        self._rows: Iterator[_T] = iter(())
        self._cursor: psycopg.ServerCursor[tuple[Any, ...]] | None = None
        try:
            if owned:
                con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            _scope(con, tenant_id)
            cursor = con.cursor(f"provisioning_{next(_cursor_names)}")
            cursor.itersize = _FETCH
            cursor.execute(sql, params)
            self._cursor = cursor
        except psycopg.Error as exc:
            self.close()
            raise _failed(f"read {repo.where(tenant_id)}", exc) from exc

    def __iter__(self) -> _Stream[_T]:
        return self

    def __next__(self) -> _T:
        for item in self._rows:
            return item
        cursor = self._cursor
        if cursor is None:
            raise StopIteration
        repo = self._repo
        assert repo is not None
        try:
            if not self._owned:
                _scope(self._con, self._tenant)  # the snapshot may have read another tenant
            rows = cursor.fetchmany(_FETCH)
        except psycopg.Error as exc:
            self.close()
            raise _failed(f"read {repo.where(self._tenant)}", exc) from exc
        if not rows:
            self.close()
            raise StopIteration
        self._rows = iter(self._convert(rows))
        return next(self)

    def close(self) -> None:
        """Close the cursor and give the connection back; the iterator then ends."""
        cursor, self._cursor = self._cursor, None
        repo, self._repo = self._repo, None
        if repo is None:
            return
        self._rows = iter(())
        con = self._con
        with contextlib.suppress(psycopg.Error):
            if cursor is not None and not con.closed:
                cursor.close()
            if self._owned and not con.closed:
                con.execute("ROLLBACK")  # read only: nothing to keep
        if self._owned:
            repo._give_back(con)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class _Sent:
    """A batch's statements, sent in a pipeline and not yet waited for: the client makes
    the next batch while the server writes this one."""

    def __init__(
        self,
        con: _Connection,
        statements: Sequence[tuple[str, Sequence[Any] | Mapping[str, Any]]],
        *,
        rows: int | None = None,
        what: tuple[str, Sequence[UserRecord]] = ("", ()),
    ) -> None:
        self._pipeline = con.pipeline()
        self._pipeline.__enter__()
        self._open = True
        self._cursor = con.cursor()
        #: The verb and batch the statements write, for saying why they did not fit.
        self.what = what
        self._rows = rows
        for sql, params in statements:
            # Never prepared: a prepared statement run a sixth time may get PostgreSQL's
            # generic plan, made without this batch's size, which can scan the whole
            # tenant for every row of the batch (minutes a batch for a large tenant).
            self._cursor.execute(sql.encode(), params, prepare=False)

    def fits(self) -> bool:
        """Wait for the statements: whether they wrote as many rows as wanted and broke no
        unique key (the transaction is then aborted)."""
        self._open = False
        try:
            self._pipeline.__exit__(None, None, None)
        except pg_errors.UniqueViolation:
            return False
        return self._rows is None or self._cursor.rowcount == self._rows

    def abandon(self) -> None:
        """Leave the pipeline after an error elsewhere; the transaction rolls back."""
        if self._open:
            self._open = False
            with contextlib.suppress(psycopg.Error):
                self._pipeline.__exit__(None, None, None)


_NULL: Final = "\\N"  # an absent value in COPY's text format (by default)


def _copy_text(lines: list[str], columns: int) -> bytes | None:
    """``lines`` (of ``columns`` values each, tab-separated) as one block of ``COPY``
    text, or ``None`` when a value would need escaping (a tab, a line break or a
    backslash in it) or cannot be encoded: the caller then has psycopg write each row."""
    data = "\n".join(lines)
    data += "\n"
    if (
        "\\" in data
        or "\r" in data
        or data.count("\n") != len(lines)
        or data.count("\t") != (columns - 1) * len(lines)
    ):
        return None
    try:
        return data.encode()
    except UnicodeEncodeError:  # a lone surrogate: psycopg says what is wrong
        return None


# A bulk commit's batch meets the stored records by key through the primary key's
# index, a lookup a row, whatever the statistics say (so the batch tables need none):
# just after a bulk load they are stale (a table of a million records taken for one of
# 33), and PostgreSQL would hash or sort the whole tenant for each batch, or read it all
# for each row of the batch. The batch tables have no index and are read whole anyway.
# No JIT: the costs these settings make up would have each batch's statement compiled,
# for longer than it runs.
_BULK_PLANS: Final = "SELECT " + ", ".join(
    f"set_config('{name}', 'off', true)"
    for name in (
        "enable_hashjoin",
        "enable_mergejoin",
        "enable_seqscan",
        "enable_bitmapscan",
        "enable_material",
        "jit",
    )
)


def _scope(con: _Connection, tenant_id: str) -> None:
    """Scope the open transaction to ``tenant_id``: row-level security shows its rows only."""
    con.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, tenant_id))


class PostgresRepository:
    """A :class:`~provisioning.repository.Repository` and tenant store in PostgreSQL.

    ``conninfo`` is a libpq connection string or URL (``"postgresql://app@db/prov"``),
    or a :class:`psycopg_pool.ConnectionPool` to borrow connections from. The tables
    live in ``schema`` (created when missing), which is created or migrated on first use
    when the role may (``migrate=False`` only checks the version; a role without DDL
    rights is told to run ``provisioning db migrate`` as the owner).

    The repository borrows a connection for each call (and keeps one for each open
    stream or snapshot), so one instance may serve several threads. It refuses a
    superuser or a role with ``BYPASSRLS`` (row-level security would not bind it)
    unless ``development`` says the store is a throwaway development one. ``fault`` is
    a fault-injection hook, as for :class:`~provisioning.adapters.MemoryRepository`.

    Raises :class:`~provisioning.RepositoryError` when the database cannot be reached,
    the role is refused, or the schema was written by a newer version of this library.
    """

    def __init__(
        self,
        conninfo: str | ConnectionPool[Any],
        *,
        schema: str = "provisioning",
        development: bool = False,
        migrate: bool = True,
        fault: FaultHook | None = None,
    ) -> None:
        check_type(schema, str, "schema", "a schema name")
        if not _SCHEMA_NAME.fullmatch(schema):
            raise InvalidValueError(
                "schema must be a lower-case name of letters, digits and underscores "
                f"(at most 63, not starting with a digit), got {schema!r}",
                field="schema",
            )
        for name, flag in (("development", development), ("migrate", migrate)):
            if type(flag) is not bool:
                raise InvalidValueError(f"{name} must be True or False, got {flag!r}", field=name)
        if fault is not None and not callable(fault):
            raise InvalidValueError(f"fault must be callable or None, got {fault!r}", field="fault")
        self._pool: ConnectionPool[Any] | None = None
        if isinstance(conninfo, str):
            if "\x00" in conninfo:
                raise InvalidValueError("conninfo holds a NUL character", field="conninfo")
            self._conninfo = conninfo
            self._name = _safe_name(conninfo)
        elif _is_pool(conninfo):
            self._pool = conninfo
            self._conninfo = ""
            self._name = f"pool {conninfo.name!r}"
        else:
            raise InvalidValueError(
                "conninfo must be a connection string or URL, or a psycopg_pool.ConnectionPool,"
                f" got {type(conninfo).__name__}",
                field="conninfo",
            )
        self._schema = schema
        self._development = development
        self._fault = fault or _no_fault
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._ready: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._batches: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._local = threading.local()
        self._closed = False
        s = schema
        self._sql_select = f"SELECT {_COLUMNS} FROM {s}.records WHERE tenant_id = %s"  # noqa: S608
        self._lock_key = f"provisioning:{s}:"
        try:
            self._migrate(migrate=migrate)
        except BaseException:
            self.close()
            raise

    # -- connections ---------------------------------------------------------------

    @property
    def schema(self) -> str:
        """The schema the store's tables are in."""
        return self._schema

    def where(self, tenant_id: str | None = None) -> str:
        """The store (and tenant) an error message names: the database, never a password."""
        tenant = "" if tenant_id is None else f", tenant {tenant_id!r}"
        return f"PostgreSQL database {self._name} (schema {self._schema!r}){tenant}"

    def _connect(self) -> _Connection:
        if self._closed:
            raise RepositoryError(f"{self.where()}: the repository is closed")
        try:
            if self._pool is not None:
                con: _Connection = self._pool.getconn()
                con.autocommit = True
            else:
                with self._lock:
                    idle = self._idle.pop() if self._idle else None
                con = idle or psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise _failed(f"connect to {self.where()}", exc) from exc
        if con not in self._ready:
            try:
                self._check_role(con)
                con.execute("SET TIME ZONE 'UTC'")
            except BaseException:
                self._give_back(con)
                raise
            self._ready.add(con)
        return con

    def _give_back(self, con: _Connection) -> None:
        """Return a borrowed connection: to the pool, kept idle, or closed."""
        if self._pool is not None:
            self._pool.putconn(con)
            return
        idle = not con.closed and con.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if idle and not self._closed and len(self._idle) < _IDLE:
                self._idle.append(con)
                return
        con.close()

    @contextlib.contextmanager
    def _borrowed(self) -> Iterator[_Connection]:
        con = self._connect()
        try:
            yield con
        finally:
            self._give_back(con)

    def _check_role(self, con: _Connection) -> None:
        """Refuse a role that row-level security does not bind, unless in development."""
        row = con.execute(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if row is None or self._development:
            return
        name, superuser, bypass = row
        if superuser or bypass:
            what = "a superuser" if superuser else "a role with BYPASSRLS"
            raise RepositoryError(
                f"{self.where()}: connected as {name!r}, {what}: row-level security does "
                "not bind it, so the database would not keep tenants apart; connect as an "
                "ordinary role (see docs/howto/use-postgresql.md), or pass development=True "
                "for a throwaway development store"
            )

    def close(self) -> None:
        """Close the idle connections; the repository cannot be used afterwards.

        A pool given to the repository stays open: its owner closes it.
        """
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()

    def __enter__(self) -> PostgresRepository:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresRepository({self._name}, schema={self._schema!r})"

    # -- schema ----------------------------------------------------------------------

    def _stored_version(self, con: _Connection) -> int | None:
        """The schema version the database records, ``None`` for a schema not made yet."""
        s = self._schema
        found = con.execute("SELECT to_regclass(%s)", (f"{s}.schema_version",)).fetchone()
        if found is None or found[0] is None:
            return None
        rows = con.execute(f"SELECT version FROM {s}.schema_version").fetchall()  # noqa: S608
        if len(rows) != 1 or type(rows[0][0]) is not int or rows[0][0] < 1:
            raise RepositoryError(
                f"{self.where()}: its schema_version table holds {rows!r:.80}, not one "
                "schema version; it was changed by something else than provisioning"
            )
        return int(rows[0][0])

    def _migrate(self, *, migrate: bool) -> None:
        latest = len(_MIGRATIONS)
        with self._borrowed() as con:
            try:
                found = self._stored_version(con)
                if found == latest:
                    return  # the usual case: no lock taken
                self._refuse_newer(found)
                if not migrate:
                    raise RepositoryError(
                        f"{self.where()} is at schema version {found or 0}, this version of "
                        f"provisioning needs {latest}: run `provisioning db migrate` as the "
                        "database's owner"
                    )
                with con.transaction():
                    # One migrator at a time; the others find the work done.
                    con.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        (f"provisioning-migrate:{self._schema}",),
                    )
                    version = self._stored_version(con)
                    self._refuse_newer(version)
                    s = self._schema
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
                    for migration in _MIGRATIONS[version or 0 :]:
                        for statement in migration:
                            con.execute(statement.replace("{s}", s).encode())
                    con.execute(
                        f"CREATE TABLE IF NOT EXISTS {s}.schema_version (version int NOT NULL)"
                    )
                    con.execute(f"DELETE FROM {s}.schema_version")  # noqa: S608
                    con.execute(
                        f"INSERT INTO {s}.schema_version VALUES (%s)",  # noqa: S608
                        (latest,),
                    )
            except pg_errors.InsufficientPrivilege as exc:
                raise RepositoryError(
                    f"{self.where()} needs its schema created or migrated to version {latest}, "
                    f"and this role may not ({exc}): run `provisioning db migrate` as the "
                    "database's owner"
                ) from exc
            except psycopg.Error as exc:
                raise _failed(f"use {self.where()}", exc) from exc

    def _refuse_newer(self, version: int | None) -> None:
        if version is not None and version > len(_MIGRATIONS):
            raise RepositoryError(
                f"{self.where()} has schema version {version}; this version of provisioning "
                f"reads versions up to {len(_MIGRATIONS)}: upgrade provisioning"
            )

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        with self._borrowed() as con:
            try:
                return self._stored_version(con) or 0
            except psycopg.Error as exc:
                raise _failed(f"read {self.where()}", exc) from exc

    def grant(self, role: str) -> None:
        """Let ``role`` (an application role without DDL rights) read and write the store.

        Run by the schema's owner, after migrating: ``provisioning db migrate --grant``.
        The role gets no right to change the schema, and row-level security binds it.
        """
        check_type(role, str, "role", "a role name")
        s = pg_sql
        schema = s.Identifier(self._schema)
        who = s.Identifier(role)
        statements = [
            s.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, who),
            s.SQL("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {} TO {}").format(
                schema, who
            ),
            s.SQL("REVOKE INSERT, UPDATE ON {}.schema_version FROM {}").format(schema, who),
            s.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, who),
            # A commit replaces a record's SCIM facts, and a redaction deletes them.
            s.SQL("GRANT DELETE ON {}.scim_facts TO {}").format(schema, who),
        ]
        with self._borrowed() as con:
            try:
                with con.transaction():
                    for statement in statements:
                        con.execute(statement)
            except psycopg.Error as exc:
                raise _failed(f"grant {role!r} the use of {self.where()}", exc) from exc

    # -- transactions ----------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, tenant_id: str) -> Iterator[psycopg.Cursor[tuple[Any, ...]]]:
        """A cursor in a transaction scoped to ``tenant_id``: the narrow door for a host's
        own tenant-keyed tables.

        Row-level security shows the statements run on it only the rows of
        ``tenant_id`` (in the tables whose policy compares ``tenant_id`` with
        :data:`TENANT_SETTING`, as all of this schema's do). The transaction commits at
        the end of the block and rolls back on an error; PostgreSQL errors become
        :class:`~provisioning.RepositoryError`.
        """
        check_tenant_id(tenant_id)
        with self._borrowed() as con:
            try:
                with con.transaction(), con.cursor() as cursor:
                    _scope(con, tenant_id)
                    yield cursor
            except psycopg.Error as exc:
                raise _failed(f"write to {self.where(tenant_id)}", exc) from exc

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside the block see one snapshot of the database, whatever others write.

        A ``REPEATABLE READ`` read-only transaction on a connection of its own: two passes
        over :meth:`records` see the same records. Commits inside the block go through
        another connection, and are not seen by the block's reads.
        """
        if getattr(self._local, "snap", None) is not None:
            yield  # already in one
            return
        con = self._connect()
        try:
            con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except psycopg.Error as exc:
            self._give_back(con)
            raise _failed(f"read {self.where()}", exc) from exc
        self._local.snap = con
        try:
            yield
        finally:
            self._local.snap = None
            with contextlib.suppress(psycopg.Error):
                con.execute("ROLLBACK")  # nothing was written
            self._give_back(con)

    def _snap(self) -> _Connection | None:
        snap: _Connection | None = getattr(self._local, "snap", None)
        return snap

    def _read(self, tenant_id: str, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every row of one query, in a transaction scoped to the tenant."""
        snap = self._snap()
        try:
            if snap is not None:
                _scope(snap, tenant_id)
                return snap.execute(sql, params).fetchall()
            # One round trip for the transaction's start, its scope and the query.
            with self._borrowed() as con, con.transaction():
                _scope(con, tenant_id)
                return con.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise _failed(f"read {self.where(tenant_id)}", exc) from exc

    def _stream(
        self,
        tenant_id: str,
        sql: str,
        params: Sequence[Any],
        convert: Callable[[Sequence[Any]], Iterable[_T]],
    ) -> _Stream[_T]:
        snap = self._snap()
        if snap is not None:
            return _Stream(self, snap, tenant_id, sql, params, convert=convert, owned=False)
        con = self._connect()
        return _Stream(self, con, tenant_id, sql, params, convert=convert, owned=True)

    # -- records ---------------------------------------------------------------------

    def _record(self, row: Sequence[Any], tenant_id: str) -> UserRecord:
        """The record a row holds; a row that is not one names the store and the key."""
        try:
            return _decode(row)
        except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
            key = row[0] if row else None
            problem = _CODEC.problem(row) or "it cannot be read as a record"
            raise RepositoryError(
                f"{self.where(tenant_id)}: the stored record {key!r}: {problem}"
            ) from None

    def _records(self, tenant_id: str) -> Callable[[Sequence[Any]], Iterable[UserRecord]]:
        def convert(rows: Sequence[Any]) -> Iterable[UserRecord]:
            return map(self._record, rows, repeat(tenant_id))

        return convert

    def get(self, tenant_id: str, key: str) -> UserRecord | None:
        """The record whose LegacyContactKey is ``key``, or ``None``."""
        check_tenant_id(tenant_id)
        check_type(key, str, "key", "a string")
        sql = f"{self._sql_select} AND legacy_contact_key = %s"
        rows = self._read(tenant_id, sql, (tenant_id, key))
        return self._record(rows[0], tenant_id) if rows else None

    def get_by_email(self, tenant_id: str, email: str) -> UserRecord | None:
        """The record holding ``email``, compared case-insensitively, or ``None``."""
        check_tenant_id(tenant_id)
        check_type(email, str, "email", "a string")
        sql = f"{self._sql_select} AND email_key = %s"
        rows = self._read(tenant_id, sql, (tenant_id, email_key(email)))
        return self._record(rows[0], tenant_id) if rows else None

    def records(self, tenant_id: str) -> Iterator[UserRecord]:
        """Every record of the tenant, in key order, read by a server-side cursor."""
        check_tenant_id(tenant_id)
        sql = f"{self._sql_select} ORDER BY legacy_contact_key"
        return self._stream(tenant_id, sql, (tenant_id,), self._records(tenant_id))

    def get_many(self, tenant_id: str, keys: Collection[str]) -> Mapping[str, UserRecord]:
        """The stored records among ``keys``, by key, looked up thousands at a time."""
        check_tenant_id(tenant_id)
        rows = list(self._lookup(_COLUMNS, "legacy_contact_key", tenant_id, keys))
        try:  # the first column is the key
            return {row[0]: _decode(row) for row in rows}
        except (KeyError, ValueError, TypeError, AttributeError, RecursionError, IndexError):
            found = (self._record(row, tenant_id) for row in rows)  # names the bad row
            return {r.legacy_contact_key: r for r in found}

    def email_owners(self, tenant_id: str, emails: Collection[str]) -> Mapping[str, str]:
        """For each of ``emails`` (lower-cased) that a stored record holds: its key."""
        check_tenant_id(tenant_id)
        return dict(self._lookup("email_key, legacy_contact_key", "email_key", tenant_id, emails))

    def _lookup(
        self, columns: str, column: str, tenant_id: str, values: Collection[str]
    ) -> Iterator[Any]:
        """``SELECT columns`` of the tenant's rows whose ``column`` is one of ``values``."""
        values = list(dict.fromkeys(check_strings(values, f"{column}s")))
        sql = (
            f"SELECT {columns} FROM {self._schema}.records"  # noqa: S608
            f" WHERE tenant_id = %s AND {column} = ANY(%s)"
        )
        for start in range(0, len(values), _CHUNK):
            yield from self._read(tenant_id, sql, (tenant_id, values[start : start + _CHUNK]))

    def statuses(self, tenant_id: str) -> Iterator[tuple[str, RecordStatus]]:
        """Every record's key and status, in key order, read by a server-side cursor."""
        check_tenant_id(tenant_id)
        sql = (
            f"SELECT legacy_contact_key, status FROM {self._schema}.records"  # noqa: S608
            " WHERE tenant_id = %s ORDER BY legacy_contact_key"
        )
        status_of = _STATUSES.get

        def convert(rows: Sequence[Any]) -> Iterable[tuple[str, RecordStatus]]:
            out = []
            for key, value in rows:
                status = status_of(value)
                if status is None:
                    raise RepositoryError(
                        f"{self.where(tenant_id)}: the stored record {key!r:.80} has no "
                        f"record status but {value!r:.80}"
                    )
                out.append((key, status))
            return out

        return self._stream(tenant_id, sql, (tenant_id,), convert)

    def page(
        self, tenant_id: str, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[UserRecord]:
        """Up to ``limit`` records in key order, those whose key comes after ``after``."""
        check_tenant_id(tenant_id)
        after, limit = check_page(after, limit)
        if after is None:
            sql = f"{self._sql_select} ORDER BY legacy_contact_key LIMIT %s"
            rows = self._read(tenant_id, sql, (tenant_id, limit))
        else:
            sql = (
                f"{self._sql_select} AND legacy_contact_key > %s"
                " ORDER BY legacy_contact_key LIMIT %s"
            )
            rows = self._read(tenant_id, sql, (tenant_id, after, limit))
        return tuple(self._record(row, tenant_id) for row in rows)

    def count(self, tenant_id: str) -> int:
        """How many records the tenant has."""
        check_tenant_id(tenant_id)
        sql = f"SELECT count(*) FROM {self._schema}.records WHERE tenant_id = %s"  # noqa: S608
        return int(self._read(tenant_id, sql, (tenant_id,))[0][0])

    def revision(self, tenant_id: str) -> int:
        """The tenant's current revision; 0 before its first commit."""
        check_tenant_id(tenant_id)
        sql = f"SELECT revision FROM {self._schema}.revisions WHERE tenant_id = %s"  # noqa: S608
        return self._stored_revision(tenant_id, self._read(tenant_id, sql, (tenant_id,)))

    def _stored_revision(self, tenant_id: str, rows: Sequence[Any]) -> int:
        if not rows:
            return 0
        value = rows[0][0]
        if type(value) is not int or not 0 <= value < _MOST_REVISIONS:
            raise RepositoryError(
                f"{self.where(tenant_id)}: the stored revision {value!r} is not a whole "
                f"number from 0 to {_MOST_REVISIONS - 1}"
            )
        return value

    # -- uploads ---------------------------------------------------------------------

    def uploads(self, tenant_id: str) -> Sequence[UploadEntry]:
        """Every upload committed for the tenant, oldest first."""
        check_tenant_id(tenant_id)
        rows = self._read(
            tenant_id,
            "SELECT revision, actor_id, at, utc_offset, file_digest, mode, product, counts,"  # noqa: S608
            " audited"
            f" FROM {self._schema}.uploads WHERE tenant_id = %s ORDER BY id",
            (tenant_id,),
        )
        return tuple(self._entry(tenant_id, row) for row in rows)

    def _entry(self, tenant_id: str, row: Sequence[Any]) -> UploadEntry:
        ident, actor_id, at, offset, digest, mode, product, counts, audited = row
        try:
            return UploadEntry(
                tenant_id=tenant_id,
                actor_id=actor_id,
                at=at.astimezone(_zone(offset)),
                file_digest=digest,
                mode=mode,
                product=product,
                counts=_loads(counts),
                id=ident,
                audited=audited is True,
            )
        except (ValueError, TypeError, RecursionError) as exc:  # InvalidValueError too
            raise RepositoryError(
                f"{self.where(tenant_id)}: the stored upload {ident!r} cannot be read: {exc}"
            ) from None

    # -- the audit trail -------------------------------------------------------------

    def events(
        self,
        tenant_id: str,
        *,
        key: str | None = None,
        upload_id: int | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        after_revision: int | None = None,
        product: Product | str | None = None,
    ) -> Iterator[AuditEvent]:
        """The tenant's events, oldest first, read by a server-side cursor."""
        check_tenant_id(tenant_id)
        event_filter(  # checks the arguments
            key=key,
            upload_id=upload_id,
            since=since,
            until=until,
            after_revision=after_revision,
            product=product,
        )
        where = ["tenant_id = %s"]
        params: list[Any] = [tenant_id]
        for condition, value in (
            ("key = %s", key),
            ("upload_id = %s", upload_id),
            ("product = %s", None if product is None else Product(product).value),
            ("revision > %s", after_revision),
            ("at >= %s", since),
            ("at < %s", until),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM {self._schema}.events"  # noqa: S608
            f" WHERE {' AND '.join(where)} ORDER BY id"
        )

        def convert(rows: Sequence[Any]) -> Iterable[AuditEvent]:
            return [self._event(tenant_id, row) for row in rows]

        return self._stream(tenant_id, sql, params, convert)

    def _event(self, tenant_id: str, row: Sequence[Any]) -> AuditEvent:
        revision, upload_id, at, key, actor, role, channel, kind, changes, rules, product = row
        try:
            fields = _loads(changes) if changes is not None else {}
            if not isinstance(fields, dict) or type(rules) is not str:
                raise TypeError("its changes or rules are not what was written")
            return AuditEvent(
                at=at,
                tenant_id=tenant_id,
                key=key,
                actor_id=actor,
                role=role,
                channel=channel,
                kind=kind,
                changes=tuple(FieldChange(f, old, new) for f, (old, new) in fields.items()),
                rules=tuple(rules.split()),
                upload_id=upload_id,
                revision=revision,
                product=product,
            )
        except (ValueError, TypeError, RecursionError) as exc:
            raise RepositoryError(
                f"{self.where(tenant_id)}: a stored audit event of revision {revision!r} "
                f"cannot be read: {exc}"
            ) from None

    def record_refusal(self, tenant_id: str, event: AuditEvent) -> None:
        """Append a refused attempt, at the tenant's current revision, which it does not move."""
        check_tenant_id(tenant_id)
        check_refusal(tenant_id, event)
        with self._writing(tenant_id, "record a refusal in") as con:
            revision = self._locked_revision(con, tenant_id)
            self._insert_events(con, [event], revision, None)

    # -- commits ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self, tenant_id: str, what: str) -> Iterator[_Connection]:
        """A write transaction scoped to the tenant; PostgreSQL errors wrapped."""
        with self._borrowed() as con:
            try:
                with con.transaction():
                    _scope(con, tenant_id)
                    yield con
            except psycopg.Error as exc:
                raise RepositoryError(
                    f"cannot {what} {self.where(tenant_id)}: {exc}; nothing was written"
                ) from exc

    def _locked_revision(self, con: _Connection, tenant_id: str) -> int:
        """Wait for the tenant's other writers, then read its revision."""
        con.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self._lock_key + tenant_id,)
        )
        rows = con.execute(
            f"SELECT revision FROM {self._schema}.revisions WHERE tenant_id = %s",  # noqa: S608
            (tenant_id,),
        ).fetchall()
        return self._stored_revision(tenant_id, rows)

    def _set_revision(self, con: _Connection, tenant_id: str, revision: int) -> None:
        con.execute(
            f"INSERT INTO {self._schema}.revisions VALUES (%s, %s)"  # noqa: S608
            " ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision",
            (tenant_id, revision),
        )

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        """Apply ``change_set`` whole or not at all, in one transaction; return the new revision.

        See :meth:`provisioning.repository.RecordWriter.commit` for the errors.
        """
        check_tenant_id(tenant_id)
        check_type(change_set, ChangeSet, "change_set", "a ChangeSet")
        check_revision_number(expected_revision)
        batches = [("update", change_set.updates), ("create", change_set.creates)]
        try:
            return self._commit(
                tenant_id,
                batches,
                change_set.upload,
                expected_revision,
                events=[change_set.events],
                redact=change_set.redact,
                contacts=change_set.contacts,
                scim=change_set.scim,
            )
        except _MisfitError:
            # Rolled back. Find out why, with the lookups a pre-check would have cost.
            self._diagnose(tenant_id, change_set)
            raise RepositoryError(
                f"{self.where(tenant_id)} refused the change set for a reason not found "
                "again; nothing was written"
            ) from None

    def commit_stream(self, tenant_id: str, stream: ChangeStream, expected_revision: int) -> int:
        """Apply ``stream`` whole or not at all, in one transaction fed batch by batch.

        Memory holds one batch at a time. See
        :meth:`provisioning.repository.StreamWriter.commit_stream` for the errors.
        """
        check_tenant_id(tenant_id)
        check_type(stream, ChangeStream, "stream", "a ChangeStream")
        check_revision_number(expected_revision)
        try:
            return self._commit(
                tenant_id,
                stream.batches(),
                stream.upload,
                expected_revision,
                events=stream.event_batches(),
            )
        except _MisfitError as misfit:
            self._explain(tenant_id, stream, misfit)
            raise  # pragma: no cover - _explain always raises

    def commit_contact_stream(
        self, tenant_id: str, stream: ContactStream, expected_revision: int
    ) -> int:
        """Apply a Marketing ``stream`` whole or not at all, in one transaction fed batch
        by batch.

        Memory holds one batch at a time. See
        :meth:`provisioning.repository.ContactStreamWriter.commit_contact_stream` for the
        errors.
        """
        check_tenant_id(tenant_id)
        check_type(stream, ContactStream, "stream", "a ContactStream")
        check_revision_number(expected_revision)
        message = f"the contact stream does not fit tenant {tenant_id!r}, nothing was written: "
        try:
            return self._commit(
                tenant_id,
                (),
                stream.upload,
                expected_revision,
                events=stream.event_batches(),
                contact_stream=stream,
            )
        except _MisfitError as misfit:
            verb, found = misfit.args if misfit.args else ("", ())
            if verb == "upload":
                assert stream.upload is not None
                problems: tuple[str, ...] = (
                    f"upload entry: it is for tenant {stream.upload.tenant_id!r}",
                )
            elif verb == "events":
                problems = ("an audit event is for another tenant",)
            else:
                problems = tuple(found) or ("a contact key or email is named twice",)
            raise ChangeSetError(
                message + "; ".join(problems), tenant_id=tenant_id, problems=problems
            ) from None

    def _stream_contacts(self, con: _Connection, tenant_id: str, stream: ContactStream) -> None:
        """Write a contact stream's batches (in the open transaction), each checked against
        the contacts stored and written so far; the emails are checked once all are in,
        so contacts in two batches may swap them."""
        s, of = self._schema, stream.key.of
        for verb, batch in stream.batches():
            if not batch:
                continue
            try:
                changes = (
                    ContactChanges(key=stream.key, updates=batch)
                    if verb == "update"
                    else ContactChanges(key=stream.key, creates=batch)
                )
            except InvalidValueError as exc:
                raise _MisfitError(verb, [f"contact {verb} batch: {exc}"]) from None
            if verb == "update":
                # Each key updated once in the whole stream: the keys so far are kept in a
                # temporary table (on the server, emptied by the commit).
                cursor = con.execute(
                    "INSERT INTO pg_temp.provisioning_contact_keys"
                    " SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
                    ([of(c) for c in batch],),
                )
                if cursor.rowcount != len(batch):
                    raise _MisfitError(verb, ["a contact key is updated twice in the stream"])
            try:
                self._check_contacts(con, tenant_id, changes, emails=False)
            except ChangeSetError as exc:
                raise _MisfitError(verb, list(exc.problems)) from None
            self._write_contacts(con, tenant_id, changes)
        try:
            with con.transaction():  # a savepoint: the duplicates can be read after
                con.execute(f"SET CONSTRAINTS {s}.contacts_email IMMEDIATE")
        except pg_errors.UniqueViolation:
            rows = con.execute(
                "SELECT email_key, array_agg(key ORDER BY key)"  # noqa: S608
                f" FROM {s}.contacts WHERE tenant_id = %s GROUP BY email_key"
                " HAVING count(*) > 1 ORDER BY email_key LIMIT 20",
                (tenant_id,),
            ).fetchall()
            problems = [
                f"email {email!r} would belong to contacts {', '.join(map(repr, keys))}"
                for email, keys in rows
            ]
            raise _MisfitError(
                "emails", problems or ["a contact takes an email another keeps"]
            ) from None

    def _explain(self, tenant_id: str, stream: ChangeStream, misfit: _MisfitError) -> None:
        """Raise the :class:`ChangeSetError` saying why a stream did not fit."""
        verb, found = misfit.args if misfit.args else ("", ())
        message = f"the change stream does not fit tenant {tenant_id!r}, nothing was written: "
        if verb == "events":
            problem = "an audit event is for another tenant"
            raise ChangeSetError(message + problem, tenant_id=tenant_id, problems=(problem,))
        if verb == "upload":
            assert stream.upload is not None
            problem = f"upload entry: it is for tenant {stream.upload.tenant_id!r}"
            raise ChangeSetError(message + problem, tenant_id=tenant_id, problems=(problem,))
        if verb == "emails":
            problems = tuple(found)
            raise ChangeSetError(
                message + "; ".join(problems), tenant_id=tenant_id, problems=problems
            )
        # Rolled back: the batch that failed, alone against the stored records.
        try:
            one = ChangeSet(updates=found) if verb == "update" else ChangeSet(creates=found)
        except InvalidValueError as exc:
            raise ChangeSetError(
                f"{message}{verb} batch: {exc}", tenant_id=tenant_id, problems=(str(exc),)
            ) from None
        self._diagnose(tenant_id, one)
        raise ChangeSetError(
            message + "a key is named twice in it, or an update's key is not stored",
            tenant_id=tenant_id,
            problems=("a key is repeated, or an update's key is not stored",),
        )

    def _commit(
        self,
        tenant_id: str,
        batches: Iterable[tuple[str, Sequence[UserRecord]]],
        upload: UploadEntry | None,
        expected_revision: int,
        *,
        events: Iterable[Sequence[AuditEvent]],
        redact: Sequence[str] = (),
        contacts: ContactChanges | None = None,
        contact_stream: ContactStream | None = None,
        scim: Sequence[ScimFacts] = (),
    ) -> int:
        """One transaction: lock the tenant, check its revision, write the batches, the
        events, the history and the revision. :class:`_MisfitError` (rolled back) when
        the records do not fit, carrying what failed."""
        with self._borrowed() as con, collector_paused():
            self._batch_tables(con)
            try:
                with con.transaction():
                    _scope(con, tenant_id)
                    con.execute(_BULK_PLANS)
                    revision = self._locked_revision(con, tenant_id)
                    check_revision(tenant_id, expected_revision, revision)
                    if upload is not None and upload.tenant_id != tenant_id:
                        raise _MisfitError("upload", ())
                    if contacts is not None:
                        self._check_contacts(con, tenant_id, contacts)
                    self._fault("checked")
                    if contacts is not None:
                        self._write_contacts(con, tenant_id, contacts)
                    if contact_stream is not None:
                        self._stream_contacts(con, tenant_id, contact_stream)
                    sent: _Sent | None = None
                    try:
                        for verb, batch in batches:
                            if sent is not None and not sent.fits():
                                raise _MisfitError(*sent.what)
                            sent = self._write(con, tenant_id, revision + 1, verb, batch)
                        if sent is not None and not sent.fits():
                            raise _MisfitError(*sent.what)
                        sent = None
                        self._check_emails(con, tenant_id)
                        self._write_scim_and_redact(con, tenant_id, scim, redact)
                        revision += 1
                        upload_id = revision if upload is not None else None
                        for happened in events:
                            if sent is not None:
                                sent.fits()
                            if any(e.tenant_id != tenant_id for e in happened):
                                raise _MisfitError("events", ())
                            sent = self._insert_events(con, happened, revision, upload_id)
                        if sent is not None:
                            sent.fits()
                            sent = None
                    finally:
                        if sent is not None:
                            sent.abandon()
                    self._fault("records")
                    if upload is not None:
                        self._insert_upload(con, tenant_id, revision, upload)
                    self._fault("history")
                    self._set_revision(con, tenant_id, revision)
                    self._fault("revision")
            except psycopg.Error as exc:
                raise RepositoryError(
                    f"cannot commit to {self.where(tenant_id)}: {exc}; nothing was written"
                ) from exc
        return revision

    def _write_scim_and_redact(
        self, con: _Connection, tenant_id: str, scim: Sequence[ScimFacts], redact: Sequence[str]
    ) -> None:
        """The commit's SCIM facts, then its redactions (in the open transaction)."""
        if scim:
            self._write_scim(con, tenant_id, scim)
        for key in redact:
            self._redact(con, tenant_id, key)

    def _insert_upload(
        self, con: _Connection, tenant_id: str, revision: int, upload: UploadEntry
    ) -> None:
        con.execute(
            f"INSERT INTO {self._schema}.uploads (tenant_id, revision,"  # noqa: S608
            " actor_id, at, utc_offset, file_digest, mode, product, counts,"
            " audited) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, true)",
            (
                tenant_id,
                revision,
                upload.actor_id,
                upload.at,
                _offset(upload.at),
                upload.file_digest,
                upload.mode.value,
                upload.product.value,
                _dumps(dict(upload.counts)),
            ),
        )

    def _check_contacts(
        self, con: _Connection, tenant_id: str, changes: ContactChanges, *, emails: bool = True
    ) -> None:
        """Raise :class:`ChangeSetError` when ``changes`` do not fit the stored contacts
        (read under the tenant's lock, so nothing changes them before the write); without
        ``emails``, their keys alone are checked."""
        s = self._schema

        def lookup(columns: str, column: str, values: Sequence[str]) -> list[Any]:
            return con.execute(
                f"SELECT {columns} FROM {s}.contacts"  # noqa: S608
                f" WHERE tenant_id = %s AND {column} = ANY(%s)",
                (tenant_id, list(values)),
            ).fetchall()

        def stored_contact_keys(keys: Sequence[str]) -> Collection[str]:
            return {row[0] for row in lookup("key", "key", keys)}

        def contact_email_owners(wanted: Sequence[str]) -> Mapping[str, str]:
            return dict(lookup("email_key, key", "email_key", wanted)) if emails else {}

        check_change_set(
            tenant_id,
            ChangeSet(contacts=changes),
            stored_keys=lambda _keys: (),
            email_owners=lambda _emails: {},
            stored_contact_keys=stored_contact_keys,
            contact_email_owners=contact_email_owners,
        )

    def _write_contacts(self, con: _Connection, tenant_id: str, changes: ContactChanges) -> None:
        """Write checked contacts (the email constraint waits for the commit: swaps pass),
        each kind copied into the contact batch table by ``COPY`` and written from it by
        one statement, as records are. An update of a key not stored (the check read the
        keys under the tenant's lock, so only a stream naming one twice reaches here) is a
        :class:`_MisfitError`."""
        s = self._schema
        encode, of = _CONTACT_CODEC.encode, changes.key.of
        copy_sql = (
            f"COPY pg_temp.provisioning_contact_batch (email_key, key, {_CONTACT_COLUMNS})"
            " FROM STDIN"
        )
        if changes:
            # Made here, not with the other batch tables: a store not yet at schema 3 has
            # no contacts table to take the columns from.
            con.execute(
                "CREATE TEMP TABLE IF NOT EXISTS provisioning_contact_batch ON COMMIT"  # noqa: S608
                f" DELETE ROWS AS SELECT email_key, key, {_CONTACT_COLUMNS}"
                f" FROM {s}.contacts WITH NO DATA"
            )
        for verb, contacts in (("update", changes.updates), ("create", changes.creates)):
            if not contacts:
                continue
            con.execute("TRUNCATE pg_temp.provisioning_contact_batch")
            with con.cursor() as cursor, cursor.copy(copy_sql) as copy:
                write = copy.write_row
                for contact in contacts:
                    write(encode(contact.email_key, of(contact), contact))
            if verb == "update":
                assignments = ", ".join(f"{name} = b.{name}" for name in _CONTACT_CODEC.columns)
                done = con.execute(
                    f"UPDATE {s}.contacts AS c SET email_key = b.email_key, {assignments}"  # noqa: S608
                    " FROM pg_temp.provisioning_contact_batch AS b"
                    " WHERE c.tenant_id = %s AND c.key = b.key",
                    (tenant_id,),
                )
                if done.rowcount != len(contacts):
                    raise _MisfitError(verb, ["an update's contact key is not stored"])
            else:
                con.execute(
                    f"INSERT INTO {s}.contacts (tenant_id, email_key, key, {_CONTACT_COLUMNS})"  # noqa: S608
                    f" SELECT %s, email_key, key, {_CONTACT_COLUMNS}"
                    " FROM pg_temp.provisioning_contact_batch",
                    (tenant_id,),
                )

    def _read_contacts(self, rows: Sequence[Any], tenant_id: str) -> list[tuple[str, Contact]]:
        out = []
        for row in rows:
            try:
                out.append((row[0], _CONTACT_CODEC.decode(row[1:])))
            except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
                problem = _CONTACT_CODEC.problem(row[1:]) or "it cannot be read as a contact"
                raise RepositoryError(
                    f"{self.where(tenant_id)}: the stored contact {row[0]!r}: {problem}"
                ) from None
        return out

    def contacts(self, tenant_id: str) -> Iterator[tuple[str, Contact]]:
        """Every Marketing contact of the tenant with its key, in key order, read by a
        server-side cursor."""
        check_tenant_id(tenant_id)
        sql = (
            f"SELECT key, {_CONTACT_COLUMNS} FROM {self._schema}.contacts"  # noqa: S608
            " WHERE tenant_id = %s ORDER BY key"
        )

        def convert(rows: Sequence[Any]) -> Iterable[tuple[str, Contact]]:
            return self._read_contacts(rows, tenant_id)

        return self._stream(tenant_id, sql, (tenant_id,), convert)

    def _contact_lookup(
        self, columns: str, column: str, tenant_id: str, values: Collection[str]
    ) -> Iterator[Any]:
        values = list(dict.fromkeys(check_strings(values, f"{column}s")))
        sql = (
            f"SELECT {columns} FROM {self._schema}.contacts"  # noqa: S608
            f" WHERE tenant_id = %s AND {column} = ANY(%s)"
        )
        for start in range(0, len(values), _CHUNK):
            yield from self._read(tenant_id, sql, (tenant_id, values[start : start + _CHUNK]))

    def get_contacts(self, tenant_id: str, keys: Collection[str]) -> Mapping[str, Contact]:
        """The stored contacts among ``keys``, by key."""
        check_tenant_id(tenant_id)
        rows = list(self._contact_lookup(f"key, {_CONTACT_COLUMNS}", "key", tenant_id, keys))
        return dict(self._read_contacts(rows, tenant_id))

    def contact_email_owners(self, tenant_id: str, emails: Collection[str]) -> Mapping[str, str]:
        """For each of ``emails`` (lower-cased) a stored contact holds: its key."""
        check_tenant_id(tenant_id)
        return dict(self._contact_lookup("email_key, key", "email_key", tenant_id, emails))

    def contact_count(self, tenant_id: str) -> int:
        """How many Marketing contacts the tenant has."""
        check_tenant_id(tenant_id)
        rows = self._read(
            tenant_id,
            f"SELECT count(*) FROM {self._schema}.contacts WHERE tenant_id = %s",  # noqa: S608
            (tenant_id,),
        )
        return int(rows[0][0])

    def _batch_tables(self, con: _Connection) -> None:
        """The connection's temporary tables that ``COPY`` fills, made once per connection."""
        if con in self._batches:
            return
        s = self._schema
        try:
            with con.transaction():
                con.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS provisioning_batch ON COMMIT DELETE ROWS AS"  # noqa: S608
                    f" SELECT email_key, {_COLUMNS} FROM {s}.records WITH NO DATA"
                )
                con.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS provisioning_events ("
                    " n bigint GENERATED ALWAYS AS IDENTITY, tenant_id text, revision bigint,"
                    " upload_id bigint, at timestamptz, key text, actor_id text, role text,"
                    " channel text, kind text, changes text, rules text, product text)"
                    " ON COMMIT DELETE ROWS"
                )
                con.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS provisioning_contact_keys"
                    " (key text PRIMARY KEY) ON COMMIT DELETE ROWS"
                )
        except psycopg.Error as exc:
            raise _failed(f"write to {self.where()}", exc) from exc
        self._batches.add(con)

    def _write(
        self, con: _Connection, tenant_id: str, version: int, verb: str, batch: Sequence[UserRecord]
    ) -> _Sent | None:
        """Copy one batch of updates or creates into the batch table and send the statement
        writing it, without waiting for it (:meth:`_Sent.fits` does)."""
        if not batch:
            return None
        s = self._schema
        con.execute("TRUNCATE pg_temp.provisioning_batch")
        join, text = "\t".join, _encode_text
        data = _copy_text(
            [join(map(str, text(r.email.lower(), r))) for r in batch], 1 + len(_FIELDS)
        )
        copy_sql = f"COPY pg_temp.provisioning_batch (email_key, {_COLUMNS}) FROM STDIN"
        with con.cursor() as cursor:
            if data is not None:  # the usual case: one block of text, sent whole
                with cursor.copy(f"{copy_sql} (NULL '')") as copy:
                    copy.write(data)
            else:  # a value to escape: psycopg writes each row
                with cursor.copy(copy_sql) as copy:
                    write = copy.write_row
                    for record in batch:
                        write(_encode(record.email.lower(), record))
        if verb == "update":
            assignments = ", ".join(f"{name} = b.{name}" for name in _FIELDS[1:])
            update = (
                f"UPDATE {s}.records AS r SET email_key = b.email_key, {assignments},"  # noqa: S608
                " version = %(version)s FROM pg_temp.provisioning_batch AS b"
                " WHERE r.tenant_id = %(tenant)s"
                " AND r.legacy_contact_key = b.legacy_contact_key"
                " AND r.version <> %(version)s"
            )
            # Fewer rows than records: a key not stored, or named twice (an update
            # touches a record not yet at the commit's revision only).
            return _Sent(
                con,
                [(update, {"version": version, "tenant": tenant_id})],
                rows=len(batch),
                what=(verb, batch),
            )
        insert = (
            f"INSERT INTO {s}.records (tenant_id, version, email_key, {_COLUMNS})"  # noqa: S608
            f" SELECT %s, %s, email_key, {_COLUMNS} FROM pg_temp.provisioning_batch"
        )
        # A key already stored breaks the primary key: a create is never an update.
        return _Sent(con, [(insert, (tenant_id, version))], what=(verb, batch))

    def _check_emails(self, con: _Connection, tenant_id: str) -> None:
        """Check the unique email index now that every record is written; a record
        taking an email another keeps raises :class:`_MisfitError` naming them."""
        s = self._schema
        try:
            with con.transaction():  # a savepoint: the duplicates can be read after
                con.execute(f"SET CONSTRAINTS {s}.records_email IMMEDIATE")
        except pg_errors.UniqueViolation:
            rows = con.execute(
                "SELECT email_key, array_agg(legacy_contact_key ORDER BY legacy_contact_key)"  # noqa: S608
                f" FROM {s}.records WHERE tenant_id = %s GROUP BY email_key"
                " HAVING count(*) > 1 ORDER BY email_key LIMIT 20",
                (tenant_id,),
            ).fetchall()
            problems = [
                f"email {email!r} would belong to {', '.join(map(repr, keys))}"
                for email, keys in rows
            ]
            raise _MisfitError(
                "emails", problems or ["a record takes an email another keeps"]
            ) from None

    def _insert_events(
        self,
        con: _Connection,
        events: Sequence[AuditEvent],
        revision: int,
        upload_id: int | None,
    ) -> _Sent | None:
        """Write a batch of events: a few at once, many by ``COPY`` and a statement sent
        without waiting for it (:meth:`_Sent.fits` does)."""
        if not events:
            return None
        s = self._schema
        columns = f"tenant_id, {_EVENT_COLUMNS}"
        if len(events) < 10:
            marks = ", ".join(["%s"] * 12)
            con.cursor().executemany(
                f"INSERT INTO {s}.events ({columns}) VALUES ({marks})",  # noqa: S608
                [_event_row(e, revision, upload_id) for e in events],
            )
            return None
        con.execute("TRUNCATE pg_temp.provisioning_events")
        rows = [_event_row(event, revision, upload_id) for event in events]
        join = "\t".join
        data = _copy_text(
            [join([_NULL if v is None else str(v) for v in row]) for row in rows], len(rows[0])
        )
        with (
            con.cursor() as cursor,
            cursor.copy(f"COPY pg_temp.provisioning_events ({columns}) FROM STDIN") as copy,
        ):
            if data is not None:  # the usual case: one block of text, sent whole
                copy.write(data)
            else:  # a value to escape: psycopg writes each row
                write = copy.write_row
                for row in rows:
                    write(row)
        insert = (
            f"INSERT INTO {s}.events ({columns})"  # noqa: S608
            f" SELECT {columns} FROM pg_temp.provisioning_events ORDER BY n"
        )
        return _Sent(con, [(insert, ())])

    def _scim_owners(
        self, con: _Connection, tenant_id: str, column: str
    ) -> Callable[[Sequence[str]], Mapping[str, str]]:
        def owners(values: Sequence[str]) -> Mapping[str, str]:
            return dict(
                con.execute(
                    f"SELECT {column}, key FROM {self._schema}.scim_facts"  # noqa: S608
                    f" WHERE tenant_id = %s AND {column} = ANY(%s)",
                    (tenant_id, list(values)),
                ).fetchall()
            )

        return owners

    def _write_scim(self, con: _Connection, tenant_id: str, facts: Sequence[ScimFacts]) -> None:
        """Replace the SCIM facts of the commit's records, checked first (under the
        tenant's lock); the unique indexes have the last word against an adoption."""
        s = self._schema

        def stored_keys(keys: Sequence[str]) -> Collection[str]:
            rows = con.execute(
                f"SELECT legacy_contact_key FROM {s}.records"  # noqa: S608
                " WHERE tenant_id = %s AND legacy_contact_key = ANY(%s)",
                (tenant_id, list(keys)),
            ).fetchall()
            return {row[0] for row in rows}

        check_change_set(
            tenant_id,
            ChangeSet(scim=facts),
            stored_keys=stored_keys,
            email_owners=lambda _emails: {},
            user_name_owners=self._scim_owners(con, tenant_id, "name_key"),
            resource_id_owners=self._scim_owners(con, tenant_id, "id"),
        )
        cursor = con.cursor()
        cursor.execute(
            f"DELETE FROM {s}.scim_facts WHERE tenant_id = %s AND key = ANY(%s)",  # noqa: S608
            (tenant_id, [f.key for f in facts]),
        )
        try:
            with con.transaction():
                cursor.executemany(
                    f"INSERT INTO {s}.scim_facts VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                    [_scim_row(tenant_id, f) for f in facts],
                )
        except pg_errors.UniqueViolation as exc:
            problem = f"a userName or resource id is another record's ({exc.diag.message_detail})"
            raise ChangeSetError(
                f"the change set does not fit the records of tenant {tenant_id!r}, nothing was "
                f"written: {problem}",
                tenant_id=tenant_id,
                problems=(problem,),
            ) from None

    def scim_facts(
        self,
        tenant_id: str,
        *,
        key: str | None = None,
        resource_id: str | None = None,
        user_name: str | None = None,
        external_id: str | None = None,
    ) -> Sequence[ScimFacts]:
        """The SCIM facts of one record, resource, userName or externalId, or all, by key
        (see :class:`~provisioning.repository.ScimFactStore`)."""
        check_tenant_id(tenant_id)
        asked = scim_lookup(
            key=key, resource_id=resource_id, user_name=user_name, external_id=external_id
        )
        where: str = ""
        params: tuple[str, ...] = (tenant_id,)
        if asked is not None:
            where, params = f" AND {asked[0]} = %s", (tenant_id, asked[1])
        rows = self._read(
            tenant_id,
            f"SELECT {_SCIM_COLUMNS} FROM {self._schema}.scim_facts"  # noqa: S608
            f" WHERE tenant_id = %s{where} ORDER BY key",
            params,
        )
        found = []
        for row in rows:
            try:
                found.append(_scim_facts(row))
            except (ValueError, TypeError) as exc:
                raise RepositoryError(
                    f"{self.where(tenant_id)}: the stored SCIM facts of {row[0]!r} cannot be "
                    f"read: {exc}"
                ) from None
        return found

    def adopt_scim_facts(self, tenant_id: str, facts: ScimFacts) -> bool:
        """Give a stored record without SCIM facts its ``facts``, not moving the revision;
        ``False`` when it has facts, is not stored, or the userName or id is another's."""
        check_tenant_id(tenant_id)
        check_type(facts, ScimFacts, "facts", "ScimFacts")
        s = self._schema
        with self._writing(tenant_id, "give SCIM facts in") as con:
            cursor = con.execute(
                f"INSERT INTO {s}.scim_facts SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s"  # noqa: S608
                f" WHERE EXISTS (SELECT 1 FROM {s}.records WHERE tenant_id = %s"
                " AND legacy_contact_key = %s) ON CONFLICT DO NOTHING",
                (*_scim_row(tenant_id, facts), tenant_id, facts.key),
            )
            return cursor.rowcount == 1

    def _redact(self, con: _Connection, tenant_id: str, key: str) -> None:
        """Replace the personal values of the record's stored events, and delete its SCIM
        facts (in the open transaction)."""
        s = self._schema
        con.execute(
            f"DELETE FROM {s}.scim_facts WHERE tenant_id = %s AND key = %s",  # noqa: S608
            (tenant_id, key),
        )
        rows = con.execute(
            f"SELECT id, {_EVENT_COLUMNS} FROM {s}.events"  # noqa: S608
            " WHERE tenant_id = %s AND key = %s AND changes IS NOT NULL",
            (tenant_id, key),
        ).fetchall()
        if not rows:
            return
        changed = [
            (
                _dump_changes(
                    {
                        c.field: [c.old, c.new]
                        for c in redacted(self._event(tenant_id, row[1:])).changes
                    }
                ),
                row[0],
            )
            for row in rows
        ]
        con.cursor().executemany(
            f"UPDATE {s}.events SET changes = %s WHERE id = %s",  # noqa: S608
            changed,
        )

    def _diagnose(self, tenant_id: str, change_set: ChangeSet) -> None:
        """Raise the :class:`ChangeSetError` naming why ``change_set`` does not fit."""

        def stored_keys(keys: Sequence[str]) -> Collection[str]:
            found = self._lookup("legacy_contact_key", "legacy_contact_key", tenant_id, keys)
            return {row[0] for row in found}

        def email_owners(emails: Sequence[str]) -> Mapping[str, str]:
            return dict(self.email_owners(tenant_id, emails))

        def owners(column: str) -> Callable[[Sequence[str]], Mapping[str, str]]:
            def found(values: Sequence[str]) -> Mapping[str, str]:
                rows = self._read(
                    tenant_id,
                    f"SELECT {column}, key FROM {self._schema}.scim_facts"  # noqa: S608
                    f" WHERE tenant_id = %s AND {column} = ANY(%s)",
                    (tenant_id, list(values)),
                )
                return dict(rows)

            return found

        check_change_set(
            tenant_id,
            change_set,
            stored_keys=stored_keys,
            email_owners=email_owners,
            user_name_owners=owners("name_key"),
            resource_id_owners=owners("id"),
        )

    # -- tenants ---------------------------------------------------------------------

    def save_tenant(self, tenant: Tenant, *, event: AuditEvent | None = None) -> int:
        """Store ``tenant``, replacing any tenant with the same id, move its revision on
        and append ``event``, in one transaction; return the new revision."""
        check_type(tenant, Tenant, "tenant", "a Tenant")
        check_tenant_event(tenant.id, event)
        with self._writing(tenant.id, "save a tenant to") as con:
            revision = self._locked_revision(con, tenant.id)
            replaced = con.execute(
                f"SELECT 1 FROM {self._schema}.tenants WHERE tenant_id = %s",  # noqa: S608
                (tenant.id,),
            ).fetchall()
            revision += bool(replaced)  # a new tenant's first save leaves it at its revision
            con.execute(
                f"INSERT INTO {self._schema}.tenants VALUES (%s, %s)"  # noqa: S608
                " ON CONFLICT (tenant_id) DO UPDATE SET document = excluded.document",
                (tenant.id, tenant_to_json(tenant, indent=None)),
            )
            if event is not None:
                self._insert_events(con, [event], revision, None)
            self._set_revision(con, tenant.id, revision)
        return revision

    def get_tenant(self, tenant_id: str) -> Tenant:
        """The stored tenant; :class:`~provisioning.NotFoundError` when there is none."""
        check_tenant_id(tenant_id)
        rows = self._read(
            tenant_id,
            f"SELECT document FROM {self._schema}.tenants WHERE tenant_id = %s",  # noqa: S608
            (tenant_id,),
        )
        if not rows:
            raise NotFoundError(f"no tenant {tenant_id!r} is stored", kind="tenant", key=tenant_id)
        return self._tenant(tenant_id, rows[0][0])

    def tenants(self) -> list[Tenant]:
        """Every stored tenant, ordered by id: the one read across tenants.

        It runs in a transaction marked ``provisioning.scope = 'tenants'`` and scoped to no
        tenant, which the ``tenants`` table's second policy lets read that table, and
        that table only: no record, upload or event of any tenant is visible in it.
        """
        sql = f"SELECT tenant_id, document FROM {self._schema}.tenants ORDER BY tenant_id"  # noqa: S608
        try:
            with self._borrowed() as con, con.transaction():
                con.execute("SELECT set_config(%s, 'tenants', true)", (_SCOPE_SETTING,))
                rows = con.execute(sql).fetchall()
        except psycopg.Error as exc:
            raise _failed(f"read {self.where()}", exc) from exc
        return [self._tenant(tenant_id, document) for tenant_id, document in rows]

    def _tenant(self, tenant_id: str, document: object) -> Tenant:
        try:
            if not isinstance(document, str):
                raise TypeError(f"the document is {type(document).__name__}, not JSON text")
            tenant = tenant_from_json(document)
        except (ValueError, TypeError, RecursionError) as exc:  # DocumentError too
            raise RepositoryError(
                f"{self.where(tenant_id)}: the stored tenant cannot be read: {exc}"
            ) from None
        if tenant.id != tenant_id:
            raise RepositoryError(
                f"{self.where(tenant_id)}: the stored tenant document is of tenant {tenant.id!r}"
            )
        return tenant


_SCIM_COLUMNS: Final = "key, id, user_name, external_id, removed, created_at, modified_at"


def _scim_row(tenant_id: str, facts: ScimFacts) -> tuple[Any, ...]:
    return (
        tenant_id,
        facts.key,
        facts.id,
        facts.user_name,
        facts.name_key,
        facts.external_id,
        facts.removed,
        facts.created_at.isoformat(),
        facts.modified_at.isoformat(),
    )


def _scim_facts(row: Sequence[Any]) -> ScimFacts:
    return ScimFacts(
        key=row[0],
        id=row[1],
        user_name=row[2],
        external_id=row[3],
        removed=bool(row[4]),
        created_at=dt.datetime.fromisoformat(row[5]),
        modified_at=dt.datetime.fromisoformat(row[6]),
    )


def _offset(at: dt.datetime) -> int:
    offset = at.utcoffset()
    assert offset is not None  # an UploadEntry's time is aware
    return int(offset.total_seconds())


@functools.lru_cache(maxsize=64)
def _zone(seconds: int) -> dt.tzinfo:
    return _UTC if seconds == 0 else dt.timezone(dt.timedelta(seconds=seconds))


def _is_pool(value: object) -> bool:
    try:
        from psycopg_pool import ConnectionPool  # noqa: PLC0415 - the pool is optional
    except ImportError:  # pragma: no cover - the extra installs it
        return False
    return isinstance(value, ConnectionPool)


def _safe_name(conninfo: str) -> str:
    """The database a connection string names, for messages: host, port and name, no
    password."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "(an unreadable connection string)"
    host = params.get("host") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    name = params.get("dbname") or params.get("user") or ""
    return repr(f"{host}{port}/{name}")
