"""The embedded default store: a repository and tenant store in one SQLite file.

Standard library :mod:`sqlite3` only. A file is opened in WAL mode, so readers never
block the writer; every commit is one ``BEGIN IMMEDIATE`` transaction that re-reads the
tenant's revision under the write lock, so several processes may share one file: of
two writers that planned against the same revision, one commits and the other gets
:class:`~provisioning.ConflictError`. The adapter creates its schema on first use and
migrates older files forward, recording the version in the ``schema_version`` table.

One instance holds one connection: use it from the thread that made it, and open one
instance per thread or process. ``":memory:"`` gives a private, throw-away database.

>>> import provisioning as pv
>>> with SqliteRepository(":memory:") as repo:
...     acme = pv.Tenant(id="acme", name="Acme", products={"community": "standalone"})
...     _ = repo.save_tenant(acme)
...     print(repo.get_tenant("acme").name, repo.schema_version, repo.revision("acme"))
Acme 5 0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import operator
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from .._gc import collector_paused
from .._rows import row_codec
from .._twin import unfrozen_twin
from .._validators import (
    check_page,
    check_revision_number,
    check_strings,
    check_tenant_id,
    check_type,
)
from ..actors import Role
from ..audit import AuditEvent, AuditKind, Channel, FieldChange, redacted
from ..catalog import Product
from ..exceptions import InvalidValueError, NotFoundError, RepositoryError
from ..records import Contact, ContactKey, RecordStatus, UserRecord, email_key
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
    fold_user_name,
    scim_lookup,
)
from ..serialization import tenant_from_json, tenant_to_json
from ..tenants import Tenant
from ._faults import FaultHook

__all__ = ["SCHEMA_VERSION", "SqliteRepository"]

# The most SQLite takes: its busy timeout and its cache size are C ints (ms, KiB).
_MAX_TIMEOUT: Final = 2_147_483
_MAX_CACHE_MIB: Final = 2_097_152

#: Records to rows and back, written from the model's fields: one column each in
#: ``records``, in declaration order (the migrations below create the columns).
_CODEC: Final = row_codec(UserRecord, empty="", leading=3)
_FIELDS: Final = _CODEC.columns
# Migration i takes a file from schema version i to i + 1: its statements, in order.
_MIGRATIONS: list[tuple[str, ...]] = [
    (
        """
        CREATE TABLE revisions (
            tenant_id TEXT PRIMARY KEY,
            revision INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE records (
            tenant_id TEXT NOT NULL,
            -- the lower-cased email, NULL only inside a commit while an update moves it
            email_key TEXT,
            legacy_contact_key TEXT NOT NULL,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            email TEXT NOT NULL,
            company_name TEXT NOT NULL,
            prefix TEXT,
            middle_name TEXT,
            suffix TEXT,
            informal_name TEXT,
            title TEXT,
            member_id TEXT,
            member_since TEXT,  -- ISO 8601 dates
            member_expires_on TEXT,
            birthday TEXT,
            address1 TEXT,
            address2 TEXT,
            city TEXT,
            state TEXT,
            postal_code TEXT,
            country TEXT,
            phone1 TEXT,
            phone1_type TEXT,
            phone2 TEXT,
            phone2_type TEXT,
            is_member INTEGER,  -- 0, 1 or NULL
            status TEXT NOT NULL,
            custom TEXT,  -- a JSON object, NULL when empty
            UNIQUE (tenant_id, legacy_contact_key)
        )
        """,
        """
        CREATE UNIQUE INDEX records_email ON records (tenant_id, email_key)
        """,
        """
        CREATE TABLE uploads (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            revision INTEGER NOT NULL,  -- the revision the upload's commit made
            actor_id TEXT NOT NULL,
            at TEXT NOT NULL,  -- ISO 8601 with its UTC offset
            file_digest TEXT NOT NULL,
            mode TEXT NOT NULL,
            product TEXT NOT NULL,
            counts TEXT NOT NULL  -- a JSON object
        )
        """,
        """
        CREATE INDEX uploads_tenant ON uploads (tenant_id, id)
        """,
        """
        CREATE TABLE tenants (
            tenant_id TEXT PRIMARY KEY,
            document TEXT NOT NULL  -- the tenant as provisioning.serialization's JSON
        ) WITHOUT ROWID
        """,
    ),
    # 2: the audit trail. Uploads applied before it have no events (audited = 0).
    (
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            revision INTEGER NOT NULL,  -- the revision the event's commit made
            upload_id INTEGER,  -- the upload's id (its commit's revision), if any
            at TEXT NOT NULL,  -- ISO 8601 in UTC
            key TEXT,
            actor_id TEXT NOT NULL,
            role TEXT,  -- NULL: the store's operator, none of the tenant's actors
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,
            changes TEXT,  -- a JSON object {field: [old, new]}, NULL when none
            rules TEXT NOT NULL  -- rule ids, space-separated
        )
        """,
        "CREATE INDEX events_key ON events (tenant_id, key, id)",
        "CREATE INDEX events_upload ON events (tenant_id, upload_id, id)",
        "ALTER TABLE uploads ADD COLUMN audited INTEGER NOT NULL DEFAULT 0",
        # The revision of each record's last change (0: before version 2 kept it).
        "ALTER TABLE records ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
    ),
    # 3: Marketing contacts, and the product of each audit event.
    (
        """
        CREATE TABLE contacts (
            tenant_id TEXT NOT NULL,
            key TEXT NOT NULL,  -- the lower-cased email or the member id
            -- the lower-cased email, NULL only inside a commit while an update moves it
            email_key TEXT,
            email TEXT NOT NULL,
            member_id TEXT,
            first_name TEXT,
            last_name TEXT,
            subscription TEXT NOT NULL,
            custom TEXT,  -- a JSON object, NULL when empty
            PRIMARY KEY (tenant_id, key)
        ) WITHOUT ROWID
        """,
        "CREATE UNIQUE INDEX contacts_email ON contacts (tenant_id, email_key)",
        "ALTER TABLE events ADD COLUMN product TEXT NOT NULL DEFAULT 'community'",
    ),
    # 4: the revision of each contact's last change (0: before version 4 kept it), so a
    # commit fed in batches finds a contact updated twice without remembering its keys.
    ("ALTER TABLE contacts ADD COLUMN version INTEGER NOT NULL DEFAULT 0",),
    # 5: the records' SCIM facts, written in the records' commits. The SCIM layer kept
    # them in a table of its own (scim_users) beside the records: the facts of stored,
    # undeleted records move here; a name kept for a write that never happened does not.
    (
        """
        CREATE TABLE scim_facts (
            tenant_id TEXT NOT NULL,
            key TEXT NOT NULL,  -- the record's LegacyContactKey
            id TEXT NOT NULL,  -- the SCIM resource id
            user_name TEXT NOT NULL,
            name_key TEXT NOT NULL,  -- the userName NFKC-normalised and case-folded
            external_id TEXT,
            removed INTEGER NOT NULL,  -- 1: the resource was DELETEd
            created_at TEXT NOT NULL,  -- ISO 8601 with its UTC offset
            modified_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, key)
        ) WITHOUT ROWID
        """,
        "CREATE UNIQUE INDEX scim_facts_name ON scim_facts (tenant_id, name_key)",
        "CREATE UNIQUE INDEX scim_facts_id ON scim_facts (tenant_id, id)",
        "CREATE INDEX scim_facts_external ON scim_facts (tenant_id, external_id)",
        """
        CREATE TABLE IF NOT EXISTS scim_users (
            tenant_id TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL,
            user_name TEXT NOT NULL, user_name_lower TEXT NOT NULL, created_at TEXT NOT NULL,
            modified_at TEXT NOT NULL, removed INTEGER NOT NULL DEFAULT 0, external_id TEXT
        )
        """,
        """
        INSERT INTO scim_facts
        SELECT u.tenant_id, u.key, u.id, trim(u.user_name), provisioning_fold(trim(u.user_name)),
            NULLIF(trim(u.external_id), ''), u.removed, u.created_at, u.modified_at
        FROM scim_users AS u JOIN records AS r
            ON r.tenant_id = u.tenant_id AND r.legacy_contact_key = u.key
        WHERE r.status <> 'Deleted' AND trim(u.user_name) <> ''
        """,
        "DROP TABLE scim_users",
    ),
]

#: The schema version this library writes.
SCHEMA_VERSION: Final = len(_MIGRATIONS)

#: Contacts to rows and back: ?1 the tenant, ?2 the key, ?3 the email key, then each
#: field of the contact in declaration order.
_CONTACT_CODEC: Final = row_codec(Contact, empty="", leading=3)
_CONTACT_FIELDS: Final = _CONTACT_CODEC.columns
_CONTACT_COLUMNS: Final = ", ".join(_CONTACT_FIELDS)
_CONTACT_PARAM: Final = {
    name: f"?{n}" if name in _CONTACT_CODEC.required else f"NULLIF(?{n}, '')"
    for n, name in enumerate(_CONTACT_FIELDS, start=4)
}
#: The parameter after the contact's fields: the revision the commit makes.
_CONTACT_VERSION: Final = f"?{len(_CONTACT_FIELDS) + 4}"
_INSERT_CONTACT: Final = (
    f"INSERT INTO contacts (tenant_id, key, email_key, {_CONTACT_COLUMNS}, version) "  # noqa: S608
    f"VALUES (?1, ?2, ?3, {', '.join(_CONTACT_PARAM.values())}, {_CONTACT_VERSION})"
)
# As for records: a contact whose email moves gives its email key up first (NULL is never
# taken, _FREE_CONTACT_EMAIL), and takes its new one once every contact of the commit is
# written (_SETTLE_CONTACTS); the other fields are set by _UPDATE_CONTACT, which sets the
# contact's version to the commit's revision and touches only a contact not at it yet: a
# stream naming one key twice updates it once, and the commit, finding fewer rows updated
# than contacts sent, writes nothing.
_FREE_CONTACT_EMAIL: Final = (
    "UPDATE contacts SET email_key = NULL WHERE tenant_id = ? AND key = ? AND email_key <> ?"
)
_UPDATE_CONTACT: Final = (
    "UPDATE contacts SET "  # noqa: S608
    + ", ".join(f"{name} = {param}" for name, param in _CONTACT_PARAM.items())
    + f", version = {_CONTACT_VERSION}"
    + f" WHERE tenant_id = ?1 AND key = ?2 AND version <> {_CONTACT_VERSION}"
)
_SETTLE_CONTACTS: Final = (
    "UPDATE contacts SET email_key = lower(email) WHERE tenant_id = ? AND email_key IS NULL"
)
_SELECT_CONTACTS: Final = f"SELECT key, {_CONTACT_COLUMNS} FROM contacts WHERE tenant_id = ?"  # noqa: S608

_COLUMNS: Final = ", ".join(_FIELDS)
# Every SQL text built here joins constant column names only, never a value.
_SELECT: Final = f"SELECT {_COLUMNS} FROM records WHERE tenant_id = ?"  # noqa: S608
# Python 3.11's sqlite3 binds None and bool slowly (it looks for an adapter each time),
# so empty values travel as "" and NULLIF turns them into NULL. No stored text is ever
# "": the record's converters turn an empty optional value into None.
_BLANK: Final = ""
_REQUIRED: Final = _CODEC.required
# _row() gives ?1 the tenant, ?2 the email key, ?3 the record's version (the revision
# the commit makes), then ?4... each field in _FIELDS order.
_PARAM: Final = {
    name: f"?{n}" if name in _REQUIRED else f"NULLIF(?{n}, '')"
    for n, name in enumerate(_FIELDS, start=4)
}
_INSERT: Final = (
    f"INSERT INTO records (tenant_id, email_key, version, {_COLUMNS}) "  # noqa: S608
    f"VALUES (?1, ?2, ?3, {', '.join(_PARAM.values())})"
)
# Updates run in three steps, so that two records may swap emails in one commit: the
# records whose email moves give their email key up (_FREE_EMAIL, NULL is never taken);
# every field but the email key is set (_UPDATE, which then leaves the email index
# alone); once the creates are in, the moved keys are set from the emails the records
# now hold (_MOVED, _SET_EMAIL), so a stream of batches needs no memory of them.
_FREE_EMAIL: Final = (
    "UPDATE records SET email_key = NULL"
    " WHERE tenant_id = ? AND legacy_contact_key = ? AND email_key <> ?"
)
# An update sets the record's version to the commit's revision and touches only a record
# not at it yet: a stream naming one key twice updates it once, and the commit, finding
# fewer rows updated than records sent, writes nothing.
_UPDATE: Final = (
    "UPDATE records SET "  # noqa: S608
    + ", ".join(f"{name} = {param}" for name, param in _PARAM.items() if name != _FIELDS[0])
    + ", version = ?3 WHERE tenant_id = ?1 AND legacy_contact_key = ?4 AND version <> ?3"
)
_MOVED: Final = (
    "SELECT legacy_contact_key, email FROM records WHERE tenant_id = ? AND email_key IS NULL"
)
_SET_EMAIL: Final = (
    "UPDATE records SET email_key = ? WHERE tenant_id = ? AND legacy_contact_key = ?"
)
#: Revisions stay below SQLite's largest integer, so a commit can always add one.
_MOST_REVISIONS: Final = 2**62
_CHUNK: Final = 500  # bound variables per lookup query; old SQLite allows 999

_STATUSES: Final = {s.value: s for s in RecordStatus}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
_loads = json.loads
_by_key = operator.attrgetter("legacy_contact_key")
_encode = _CODEC.encode
_decode = _CODEC.decode


def _row(tenant_id: str, version: int, r: UserRecord) -> tuple[Any, ...]:
    """The parameters of ``_INSERT`` and ``_UPDATE`` for one record."""
    return _encode(tenant_id, r.email.lower(), version, r)


def _record(row: Sequence[Any], where: str) -> UserRecord:
    """The record a ``_SELECT`` row holds; ``where`` names the tenant for errors.

    Rows were valid records when written, so the fields are set directly, as the
    spreadsheet reader's fast path does, without running converters and validators again
    (they would cost more than the whole read). A row that is not a record (the file was
    changed behind the adapter's back) raises :class:`~provisioning.RepositoryError`.
    """
    try:
        return _decode(row)
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
        key = row[0] if row else None
        problem = _CODEC.problem(row) or "it cannot be read as a record"
        raise RepositoryError(f"{where}: the stored record {key!r}: {problem}") from None


def _no_fault(_step: str) -> None:
    pass


#: What a commit writes of Marketing contacts: their key, and their batches by verb.
_ContactBatches = tuple[ContactKey, Iterable[tuple[str, Sequence[Contact]]]]


def _contact_batches(changes: ContactChanges | None) -> _ContactBatches | None:
    if changes is None:
        return None
    return changes.key, (("update", changes.updates), ("create", changes.creates))


class _MisfitError(Exception):
    """The change set does not fit the stored records; the transaction rolls back."""


def _batches(cursor: sqlite3.Cursor, where: str, size: int = 1000) -> Iterator[list[Any]]:
    """The cursor's rows, ``size`` at a time; read errors named by ``where``; the cursor
    closed when the rows run out or the reader stops early."""
    try:
        while True:
            try:
                rows = cursor.fetchmany(size)
            except sqlite3.Error as exc:
                raise RepositoryError(f"cannot read {where}: {exc}") from exc
            if not rows:
                return
            yield rows
    finally:
        with contextlib.suppress(sqlite3.Error):  # the connection may be closed already
            cursor.close()


def _stream(cursor: sqlite3.Cursor, where: str, tenant: str) -> Iterator[UserRecord]:
    for rows in _batches(cursor, where):
        yield from map(_record, rows, repeat(tenant))


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error; SQLite errors wrapped."""

    def __init__(self, con: sqlite3.Connection, what: str) -> None:
        self._con = con
        self._what = what

    def __enter__(self) -> None:
        try:
            self._con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot {self._what}: {exc}") from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        con = self._con
        if exc is None:
            try:
                con.execute("COMMIT")
                return
            except sqlite3.Error as error:
                exc = error
        if con.in_transaction:
            con.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise RepositoryError(f"cannot {self._what}: {exc}; nothing was written") from exc


_INSERT_EVENT: Final = (
    "INSERT INTO events (tenant_id, revision, upload_id, at, key, actor_id, role, channel,"
    " kind, changes, rules, product) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_COLUMNS: Final = (
    "revision, upload_id, at, key, actor_id, role, channel, kind, changes, rules, product"
)
_UTC = dt.UTC
_EVENT_WIDTH: Final = len(_EVENT_COLUMNS.split(", "))
# An upload's events in order, each with its record (a LEFT JOIN: NULLs when none).
_UPLOAD_EVENTS: Final = (
    "SELECT "  # noqa: S608 - constant column names only
    + ", ".join(f"e.{c}" for c in _EVENT_COLUMNS.split(", "))
    + ", "
    + ", ".join(f"r.{c}" for c in _FIELDS)
    + " FROM events AS e LEFT JOIN records AS r"
    " ON r.tenant_id = e.tenant_id AND r.legacy_contact_key = e.key"
    " WHERE e.tenant_id = ? AND e.upload_id = ? ORDER BY e.id"
)


_SCIM_COLUMNS: Final = "key, id, user_name, external_id, removed, created_at, modified_at"
# Facts are written for a stored record only (the row count tells the commit otherwise).
_INSERT_SCIM: Final = (
    "INSERT INTO scim_facts (tenant_id, key, id, user_name, name_key, external_id, removed,"
    " created_at, modified_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS"
    " (SELECT 1 FROM records WHERE tenant_id = ?1 AND legacy_contact_key = ?2)"
)


def _scim_row(tenant_id: str, facts: ScimFacts) -> tuple[Any, ...]:
    return (
        tenant_id,
        facts.key,
        facts.id,
        facts.user_name,
        facts.name_key,
        facts.external_id,
        int(facts.removed),
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


#: Changes as JSON, in the record's field order (events keep them in it): no key sorting.
_dump_changes = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _fast_dumps() -> Any:
    """``_dump_changes`` through the json module's C encoder, made once rather than per
    call as ``JSONEncoder.encode`` does (half the cost of a small object, a million times);
    ``_dump_changes`` itself where the C encoder is missing or not what it is here."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _dump_changes
    try:
        # Values come from records: plain JSON values, never circular (no markers).
        encoder = make(
            None,
            json.JSONEncoder().default,
            json.encoder.encode_basestring,
            None,
            ":",
            ",",
            False,
            False,
            True,
        )
        probe = {"a": ["\u00e9\n", None], "b": [True, {"k": "v"}], "c": [1.5, 2]}
        if "".join(encoder(probe, 0)) != _dump_changes(probe):
            return _dump_changes
    except (TypeError, ValueError):  # another signature: a Python without this encoder
        return _dump_changes
    join = "".join
    return lambda value: join(encoder(value, 0))


_encode_changes: Any = _fast_dumps()


@functools.lru_cache(maxsize=64)
def _utc_text(at: dt.datetime) -> str:
    # The events of one commit share their time: it is written as text once, not a
    # million times.
    return at.astimezone(_UTC).isoformat()


#: Enum members to their stored text, without the enum machinery a million times.
_TEXT: Final[dict[Any, str | None]] = {
    None: None,
    **{
        member: str(member.value) for kind in (Role, Channel, AuditKind, Product) for member in kind
    },
}


@functools.lru_cache(maxsize=64)
def _rules_text(rules: tuple[str, ...]) -> str:
    return " ".join(rules)


def _event_row(event: AuditEvent, revision: int, upload_id: int | None) -> tuple[Any, ...]:
    changes = event.changes
    text = _TEXT
    return (
        event.tenant_id,
        revision,
        upload_id,
        _utc_text(event.at),
        event.key,
        event.actor_id,
        text[event.role],
        text[event.channel],
        text[event.kind],
        _encode_changes({c.field: [c.old, c.new] for c in changes}) if changes else None,
        _rules_text(event.rules),
        text[event.product],
    )


_ROLES: Final = {str(r.value): r for r in Role}
_CHANNELS: Final = {str(c.value): c for c in Channel}
_KINDS: Final = {str(k.value): k for k in AuditKind}
_PRODUCTS: Final = {str(p.value): p for p in Product}
_EventTwin: Final = unfrozen_twin(AuditEvent)
_ChangeTwin: Final = unfrozen_twin(FieldChange)
_new = object.__new__
_raw_decode = json.JSONDecoder().raw_decode


@functools.lru_cache(maxsize=64)
def _stored_at(text: str) -> dt.datetime | None:
    # The events of one commit share their time: parsed once, not a million times.
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.utcoffset() is not None else None


def _trusted_event(tenant_id: str, row: Sequence[Any]) -> AuditEvent | None:
    """The event a row holds when every value is exactly what :func:`_event_row` writes,
    built without running AuditEvent's converters again (they would cost more than the
    read); ``None`` for anything else, which the constructor then reads or refuses."""
    revision, upload_id, at, key, actor, role, channel, kind, changes, rules, product = row
    if (
        type(revision) is not int
        or revision < 0
        or (upload_id is not None and (type(upload_id) is not int or upload_id < 0))
        or type(at) is not str
        or (key is not None and (type(key) is not str or key != key.strip()))
        or type(actor) is not str
        or not actor
        or actor != actor.strip()
        or type(rules) is not str
    ):
        return None
    when = _stored_at(at)
    member_role = _ROLES.get(role) if role is not None else None
    member_channel, member_kind = _CHANNELS.get(channel), _KINDS.get(kind)
    member_product = _PRODUCTS.get(product)
    if (
        when is None
        or (role is not None and member_role is None)
        or member_channel is None
        or member_kind is None
        or member_product is None
    ):
        return None
    made: list[FieldChange] = []
    if changes is not None:
        if type(changes) is not str:
            return None
        try:
            # The decoder's own scan, without json.loads's wrapping (a third of the cost):
            # text with anything around the object goes to the constructor's path.
            fields, end = _raw_decode(changes)
        except (ValueError, RecursionError):
            return None
        if type(fields) is not dict or end != len(changes):
            return None
        for name, pair in fields.items():
            if type(pair) is not list or len(pair) != 2:  # old and new
                return None
            change: Any = _new(_ChangeTwin)
            change.field, (change.old, change.new) = name, pair
            change.__class__ = FieldChange
            made.append(change)
    event: Any = _new(_EventTwin)
    event.at = when
    event.tenant_id = tenant_id
    event.key = key
    event.actor_id = actor
    event.role = member_role
    event.channel = member_channel
    event.kind = member_kind
    event.changes = tuple(made)
    event.rules = _split_rules(rules)
    event.upload_id = upload_id
    event.revision = revision
    event.product = member_product
    event.__class__ = AuditEvent
    built: AuditEvent = event
    return built


@functools.lru_cache(maxsize=64)
def _split_rules(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _upload_row(tenant_id: str, revision: int, entry: UploadEntry) -> tuple[Any, ...]:
    return (
        tenant_id,
        revision,
        entry.actor_id,
        entry.at.isoformat(),
        entry.file_digest,
        entry.mode.value,
        entry.product.value,
        _dumps(dict(entry.counts)),
    )


class SqliteRepository:
    """A :class:`~provisioning.repository.Repository` and tenant store in SQLite.

    ``path`` is a file (created when missing) or ``":memory:"``. ``timeout`` is how long,
    in seconds, a commit waits for another process's write to finish before failing
    with :class:`~provisioning.RepositoryError`. ``cache_mib`` caps this connection's page
    cache: a commit of a million records runs fastest when the tables fit. ``fault`` is
    a fault-injection hook, as for :class:`~provisioning.adapters.MemoryRepository`.

    Raises :class:`~provisioning.RepositoryError` when the file is not a database or
    was written by a newer version of this library.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        timeout: float = 30.0,
        cache_mib: int = 512,
        fault: FaultHook | None = None,
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise InvalidValueError(
                f"path must be a str or os.PathLike, got {type(path).__name__} {path!r}",
                field="path",
            )
        number: object = timeout
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not 0 <= number <= _MAX_TIMEOUT
        ):
            raise InvalidValueError(
                f"timeout must be a number of seconds, 0 or more, at most {_MAX_TIMEOUT:,}"
                f" (about 24 days), got {timeout!r}",
                field="timeout",
            )
        whole: object = cache_mib
        if (
            isinstance(whole, bool)
            or not isinstance(whole, int)
            or not 0 <= whole <= _MAX_CACHE_MIB
        ):
            raise InvalidValueError(
                f"cache_mib must be a whole number of MiB, 0 or more, at most {_MAX_CACHE_MIB:,}"
                f" (2 TiB), got {cache_mib!r}",
                field="cache_mib",
            )
        if fault is not None and not callable(fault):
            raise InvalidValueError(f"fault must be callable or None, got {fault!r}", field="fault")
        self._path = os.fspath(path)
        if "\x00" in self._path:
            raise InvalidValueError(f"path holds a NUL character: {self._path!r}", field="path")
        self._fault = fault or _no_fault
        try:
            self._con = sqlite3.connect(self._path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot open SQLite database {self._path!r}: {exc}") from exc
        try:
            self._configure(cache_mib)
            self._migrate()
        except sqlite3.Error as exc:
            self._con.close()
            raise RepositoryError(f"cannot use SQLite database {self._path!r}: {exc}") from exc
        except BaseException:
            self._con.close()
            raise

    def _configure(self, cache_mib: int) -> None:
        con = self._con
        if self._path != ":memory:":
            con.execute("PRAGMA journal_mode = WAL")
        # A commit is durable once it returns: a bulk commit is one transaction, so the
        # fsyncs this costs are few.
        con.execute("PRAGMA synchronous = FULL")
        con.execute(f"PRAGMA cache_size = -{int(cache_mib) * 1024}")
        # A bulk commit leaves a WAL as large as itself: shrink it after checkpoints.
        con.execute(f"PRAGMA journal_size_limit = {64 * 1024 * 1024}")
        con.execute("PRAGMA temp_store = MEMORY")
        # Deleted content is overwritten, not left in free pages: a person's deleted data
        # (delete_personal_data) does not linger in the file.
        con.execute("PRAGMA secure_delete = ON")
        # What a migration compares SCIM userNames by (SQLite's lower() folds ASCII only).
        con.create_function("provisioning_fold", 1, fold_user_name, deterministic=True)

    def _stored_version(self) -> int | None:
        """The schema version the file records, ``None`` for a new file."""
        try:
            rows = self._con.execute("SELECT version FROM schema_version").fetchall()
        except sqlite3.OperationalError:  # no such table: a new database
            return None
        # The table is made and filled in one transaction: one row, a version from 1.
        where = f"SQLite database {self._path!r}"
        if len(rows) != 1:
            raise RepositoryError(
                f"{where}: its schema_version table holds {len(rows)} rows, not 1; the file "
                "was changed by something else than provisioning"
            )
        version = rows[0][0]
        if not isinstance(version, int) or version < 1:
            raise RepositoryError(
                f"{where}: its schema_version table holds {version!r}, not a schema version; "
                "the file was changed by something else than provisioning"
            )
        return version

    def _migrate(self) -> None:
        latest = len(_MIGRATIONS)
        found = self._stored_version()
        if found == latest:
            return  # the usual case, decided without waiting for the write lock
        if found is not None and found < latest and self._path != ":memory:":
            self._back_up(found)
        with self._transaction("migrate the schema of"):
            con = self._con
            version = self._stored_version()
            if version is not None and version > latest:
                raise RepositoryError(
                    f"SQLite database {self._path!r} has schema version {version}; this "
                    f"version of provisioning reads versions up to {latest}"
                )
            for migration in _MIGRATIONS[version or 0 :]:
                for statement in migration:
                    con.execute(statement)
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            con.execute("DELETE FROM schema_version")
            con.execute("INSERT INTO schema_version VALUES (?)", (latest,))

    def _back_up(self, version: int) -> None:
        """Copy the file aside before migrating it: ``<path>.schema-<version>.bak``."""
        target = Path(f"{self._path}.schema-{version}.bak")
        if target.exists():
            return  # an earlier attempt made it; the file is still at that version
        partial = target.with_name(target.name + ".partial")
        copy = sqlite3.connect(partial)
        try:
            self._con.backup(copy)
        finally:
            copy.close()
        partial.replace(target)

    def _transaction(self, what: str) -> _Transaction:
        return _Transaction(self._con, f"{what} SQLite database {self._path!r}")

    def __repr__(self) -> str:
        return f"SqliteRepository({self._path!r})"

    def __enter__(self) -> SqliteRepository:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; the repository cannot be used afterwards."""
        self._con.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        return int(self._read("SELECT version FROM schema_version", ())[0][0])

    def _where(self, tenant_id: str) -> str:
        return f"SQLite database {self._path!r}, tenant {tenant_id!r}"

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside the block see one snapshot of the file, whatever other writers do.

        A read transaction: it begins at the first read in the block and ends with it,
        so two passes over :meth:`records` see the same records. For reads only: a
        :meth:`commit` inside the block fails.
        """
        try:
            self._con.execute("BEGIN")
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read SQLite database {self._path!r}: {exc}") from exc
        try:
            yield
        finally:
            if self._con.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._con.execute("ROLLBACK")  # nothing was written

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        try:
            return self._con.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read SQLite database {self._path!r}: {exc}") from exc

    def get(self, tenant_id: str, key: str) -> UserRecord | None:
        """The record whose LegacyContactKey is ``key``, or ``None``."""
        check_tenant_id(tenant_id)
        check_type(key, str, "key", "a string")
        rows = self._read(f"{_SELECT} AND legacy_contact_key = ?", (tenant_id, key))
        return _record(rows[0], self._where(tenant_id)) if rows else None

    def get_by_email(self, tenant_id: str, email: str) -> UserRecord | None:
        """The record holding ``email``, compared case-insensitively, or ``None``."""
        check_tenant_id(tenant_id)
        check_type(email, str, "email", "a string")
        rows = self._read(f"{_SELECT} AND email_key = ?", (tenant_id, email_key(email)))
        return _record(rows[0], self._where(tenant_id)) if rows else None

    def records(self, tenant_id: str) -> Iterator[UserRecord]:
        """Every record of the tenant, ordered by key, read by a cursor in batches."""
        check_tenant_id(tenant_id)
        try:
            # By key: the key index then leads the read, in the order creates were written.
            cursor = self._con.execute(f"{_SELECT} ORDER BY legacy_contact_key", (tenant_id,))
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read SQLite database {self._path!r}: {exc}") from exc
        return _stream(cursor, f"SQLite database {self._path!r}", self._where(tenant_id))

    def get_many(self, tenant_id: str, keys: Collection[str]) -> Mapping[str, UserRecord]:
        """The stored records among ``keys``, by key, looked up a few hundred at a time."""
        check_tenant_id(tenant_id)
        where = self._where(tenant_id)
        rows = self._lookup(_COLUMNS, "legacy_contact_key", tenant_id, keys)
        found = (_record(row, where) for row in rows)
        return {r.legacy_contact_key: r for r in found}

    def email_owners(self, tenant_id: str, emails: Collection[str]) -> Mapping[str, str]:
        """For each of ``emails`` (lower-cased) that a stored record holds: its key."""
        check_tenant_id(tenant_id)
        return dict(self._lookup("email_key, legacy_contact_key", "email_key", tenant_id, emails))

    def statuses(self, tenant_id: str) -> Iterator[tuple[str, RecordStatus]]:
        """Every record's key and status, in key order, read by a cursor in batches."""
        check_tenant_id(tenant_id)
        try:
            cursor = self._con.execute(
                "SELECT legacy_contact_key, status FROM records WHERE tenant_id = ?"
                " ORDER BY legacy_contact_key",
                (tenant_id,),
            )
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read SQLite database {self._path!r}: {exc}") from exc
        return self._statuses(cursor, tenant_id)

    def _statuses(
        self, cursor: sqlite3.Cursor, tenant_id: str
    ) -> Iterator[tuple[str, RecordStatus]]:
        status_of = _STATUSES.get
        for rows in _batches(cursor, self._where(tenant_id), 5000):
            for key, value in rows:
                status = status_of(value)
                if status is None or type(key) is not str:
                    raise RepositoryError(
                        f"{self._where(tenant_id)}: the stored record {key!r:.80} has no "
                        f"record status but {value!r:.80}"
                    )
                yield key, status

    def page(
        self, tenant_id: str, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[UserRecord]:
        """Up to ``limit`` records in key order, those whose key comes after ``after``."""
        check_tenant_id(tenant_id)
        after, limit = check_page(after, limit)
        where = self._where(tenant_id)
        if after is None:
            rows = self._read(f"{_SELECT} ORDER BY legacy_contact_key LIMIT ?", (tenant_id, limit))
        else:
            rows = self._read(
                f"{_SELECT} AND legacy_contact_key > ? ORDER BY legacy_contact_key LIMIT ?",
                (tenant_id, after, limit),
            )
        return tuple(_record(row, where) for row in rows)

    def count(self, tenant_id: str) -> int:
        """How many records the tenant has."""
        check_tenant_id(tenant_id)
        return int(
            self._read("SELECT COUNT(*) FROM records WHERE tenant_id = ?", (tenant_id,))[0][0]
        )

    def revision(self, tenant_id: str) -> int:
        """The tenant's current revision; 0 before its first commit."""
        check_tenant_id(tenant_id)
        rows = self._read("SELECT revision FROM revisions WHERE tenant_id = ?", (tenant_id,))
        return self._stored_revision(tenant_id, rows)

    def _stored_revision(self, tenant_id: str, rows: list[Any]) -> int:
        """The revision a ``revisions`` row holds, checked: a whole number a commit can grow."""
        if not rows:
            return 0
        value = rows[0][0]
        if type(value) is not int or not 0 <= value < _MOST_REVISIONS:
            raise RepositoryError(
                f"{self._where(tenant_id)}: the stored revision {value!r} is not a whole "
                f"number from 0 to {_MOST_REVISIONS - 1}"
            )
        return value

    def uploads(self, tenant_id: str) -> Sequence[UploadEntry]:
        """Every upload committed for the tenant, oldest first."""
        check_tenant_id(tenant_id)
        rows = self._read(
            "SELECT revision, actor_id, at, file_digest, mode, product, counts, audited"
            " FROM uploads WHERE tenant_id = ? ORDER BY id",
            (tenant_id,),
        )
        return tuple(self._entry(tenant_id, row) for row in rows)

    def _entry(self, tenant_id: str, row: Sequence[Any]) -> UploadEntry:
        """The upload entry a row holds; a damaged row names the store and the upload."""
        ident, actor_id, at, digest, mode, product, counts, audited = row
        try:
            for name, value in (("actor_id", actor_id), ("file_digest", digest), ("at", at)):
                if type(value) is not str:
                    raise TypeError(f"{name} {value!r:.80} is not text")
            if type(ident) is not int or type(counts) is not str:
                raise TypeError(f"id {ident!r} or counts {counts!r:.80} is not what was written")
            when = dt.datetime.fromisoformat(at)
            return UploadEntry(
                tenant_id=tenant_id,
                actor_id=actor_id,
                at=when,
                file_digest=digest,
                mode=mode,
                product=product,
                counts=_loads(counts),
                id=ident,
                audited=audited == 1,
            )
        except (ValueError, TypeError, RecursionError) as exc:  # InvalidValueError too
            raise RepositoryError(
                f"{self._where(tenant_id)}: the stored upload {ident!r} cannot be read: {exc}"
            ) from None

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
        """The tenant's events, oldest first, read by a cursor in batches."""
        check_tenant_id(tenant_id)
        # Checks the arguments:
        event_filter(
            key=key,
            upload_id=upload_id,
            since=since,
            until=until,
            after_revision=after_revision,
            product=product,
        )
        where: list[str] = ["tenant_id = ?"]
        params: list[str | int] = [tenant_id]
        wanted = None if product is None else Product(product).value
        for column, value in (("key", key), ("upload_id", upload_id), ("product", wanted)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if after_revision is not None:
            where.append("revision > ?")
            params.append(after_revision)
        for op, moment in ((">=", since), ("<", until)):
            if moment is not None:
                where.append(f"at {op} ?")
                params.append(moment.astimezone(_UTC).isoformat())
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY id"  # noqa: S608
        try:
            cursor = self._con.execute(sql, params)
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read SQLite database {self._path!r}: {exc}") from exc
        return self._events(cursor, tenant_id)

    def upload_events(
        self, tenant_id: str, upload_id: int
    ) -> Iterator[tuple[AuditEvent, UserRecord | None]]:
        """The events of the upload ``upload_id``, oldest first, each with the tenant's
        current record of its key (``None`` when it has none or names no record).

        What planning the revert of an upload reads: one ordered read through the
        upload's events, joined to the records by key, rather than a lookup of the
        records a batch of events at a time.
        """
        check_tenant_id(tenant_id)
        given: object = upload_id
        if given is None:
            raise InvalidValueError(
                "upload_id must be an int 0 or more, got None", field="upload_id"
            )
        event_filter(upload_id=upload_id)  # checks it
        try:
            cursor = self._con.execute(_UPLOAD_EVENTS, (tenant_id, upload_id))
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read SQLite database {self._path!r}: {exc}") from exc
        return self._upload_events(cursor, tenant_id)

    def _upload_events(
        self, cursor: sqlite3.Cursor, tenant_id: str
    ) -> Iterator[tuple[AuditEvent, UserRecord | None]]:
        fast = _trusted_event if tenant_id == tenant_id.strip() else None
        where = self._where(tenant_id)
        width = _EVENT_WIDTH
        for rows in _batches(cursor, where):
            for row in rows:
                head = row[:width]
                event = fast(tenant_id, head) if fast is not None else None
                if event is None:
                    event = self._event(tenant_id, head)
                record = None if row[width] is None else _record(row[width:], where)
                yield event, record

    def _events(self, cursor: sqlite3.Cursor, tenant_id: str) -> Iterator[AuditEvent]:
        fast = _trusted_event if tenant_id == tenant_id.strip() else None
        for rows in _batches(cursor, self._where(tenant_id)):
            for row in rows:
                event = fast(tenant_id, row) if fast is not None else None
                yield event if event is not None else self._event(tenant_id, row)

    def _event(self, tenant_id: str, row: Sequence[Any]) -> AuditEvent:
        """The event a row holds; a damaged row names the store and the event."""
        revision, upload_id, at, key, actor, role, channel, kind, changes, rules, product = row
        try:
            fields = _loads(changes) if changes is not None else {}
            if (
                not isinstance(fields, dict)
                or type(rules) is not str
                or type(at) is not str
                or type(actor) is not str
                or (key is not None and type(key) is not str)
            ):
                raise TypeError("its changes, rules, time, actor or key are not what was written")
            return AuditEvent(
                at=dt.datetime.fromisoformat(at),
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
                f"{self._where(tenant_id)}: a stored audit event of revision {revision!r} "
                f"cannot be read: {exc}"
            ) from None

    def record_refusal(self, tenant_id: str, event: AuditEvent) -> None:
        """Append a refused attempt, at the tenant's current revision, which it does not move."""
        check_tenant_id(tenant_id)
        check_refusal(tenant_id, event)
        with self._transaction("record a refusal in"):
            rows = self._con.execute(
                "SELECT revision FROM revisions WHERE tenant_id = ?", (tenant_id,)
            ).fetchall()
            revision = self._stored_revision(tenant_id, rows)
            self._con.execute(_INSERT_EVENT, _event_row(event, revision, None))

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        """Apply ``change_set`` whole or not at all, in one transaction; return the new revision.

        See :meth:`provisioning.repository.RecordWriter.commit` for the errors.
        """
        check_tenant_id(tenant_id)
        check_type(change_set, ChangeSet, "change_set", "a ChangeSet")
        check_revision_number(expected_revision)
        batches = [("update", change_set.updates), ("create", change_set.creates)]
        events = [change_set.events]
        try:
            revision = self._commit(
                tenant_id,
                batches,
                change_set.upload,
                expected_revision,
                events,
                redact=change_set.redact,
                contacts=_contact_batches(change_set.contacts),
                scim=change_set.scim,
            )
            if change_set.redact and self._path != ":memory:":
                # The old values are still in the WAL until a checkpoint copies the pages
                # back and empties it: done now (while other readers hold no snapshot).
                with contextlib.suppress(sqlite3.Error):
                    self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return revision
        except _MisfitError:
            # Rolled back. Find out why, with the lookups a pre-check would have cost.
            self._diagnose(tenant_id, change_set)
            raise RepositoryError(
                f"SQLite refused the change set for tenant {tenant_id!r} for a reason not"
                " found again; nothing was written"
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
                stream.event_batches(),
            )
        except _MisfitError as misfit:
            verb, batch = misfit.args if misfit.args else ("", ())
            if verb == "events":
                raise ChangeSetError(
                    f"the change stream does not fit tenant {tenant_id!r}, nothing was written:"
                    " an audit event is for another tenant",
                    tenant_id=tenant_id,
                    problems=("an audit event is for another tenant",),
                ) from None
            if verb == "upload":
                upload = stream.upload
                assert upload is not None
                raise ChangeSetError(
                    f"the change stream does not fit tenant {tenant_id!r}, nothing was written:"
                    f" its upload entry is for tenant {upload.tenant_id!r}",
                    tenant_id=tenant_id,
                    problems=(f"upload entry: it is for tenant {upload.tenant_id!r}",),
                ) from None
            if batch:
                # Rolled back: the batch that failed, alone against the stored records.
                try:
                    one = ChangeSet(updates=batch) if verb == "update" else ChangeSet(creates=batch)
                except InvalidValueError as exc:
                    raise ChangeSetError(
                        f"the change stream does not fit the records of tenant {tenant_id!r},"
                        f" nothing was written: {verb} batch: {exc}",
                        tenant_id=tenant_id,
                        problems=(str(exc),),
                    ) from None
                self._diagnose(tenant_id, one)
            raise ChangeSetError(
                f"the change stream does not fit the records of tenant {tenant_id!r}, nothing "
                "was written: a key or an email is named twice in it, an update's key is not "
                "stored, or a record would take an email another record keeps",
                tenant_id=tenant_id,
                problems=("a key or an email is repeated or taken",),
            ) from None

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
        try:
            return self._commit(
                tenant_id,
                (),
                stream.upload,
                expected_revision,
                stream.event_batches(),
                contacts=(stream.key, stream.batches()),
            )
        except _MisfitError as misfit:
            self._explain_contacts(tenant_id, stream, misfit)
            raise  # pragma: no cover - _explain_contacts always raises

    def _explain_contacts(
        self, tenant_id: str, stream: ContactStream, misfit: _MisfitError
    ) -> None:
        """Raise the :class:`ChangeSetError` saying why a contact stream did not fit."""
        verb, batch, *detail = misfit.args if misfit.args else ("", ())
        message = f"the contact stream does not fit tenant {tenant_id!r}, nothing was written: "
        if verb == "events":
            problem = "an audit event is for another tenant"
        elif verb == "upload":
            assert stream.upload is not None
            problem = f"upload entry: it is for tenant {stream.upload.tenant_id!r}"
        elif detail:
            problem = f"{verb} batch: {detail[0]}"
        else:
            if batch:
                # Rolled back: the batch that failed, alone against the stored contacts.
                contacts = list(batch)
                try:
                    changes = (
                        ContactChanges(key=stream.key, updates=contacts)
                        if verb == "contact update"
                        else ContactChanges(key=stream.key, creates=contacts)
                    )
                except InvalidValueError as exc:
                    problem = f"{verb} batch: {exc}"
                    raise ChangeSetError(
                        message + problem, tenant_id=tenant_id, problems=(problem,)
                    ) from None
                self._diagnose(tenant_id, ChangeSet(contacts=changes))
            where = f"the {verb} batch from {stream.key.of(batch[0])!r}: " if batch else ""
            problem = (
                f"{where}a key or an email is named twice in the stream, an update's key is "
                "not stored, or a contact would take an email another contact keeps"
            )
        raise ChangeSetError(message + problem, tenant_id=tenant_id, problems=(problem,))

    def _commit(
        self,
        tenant_id: str,
        batches: Iterable[tuple[str, Sequence[UserRecord]]],
        upload: UploadEntry | None,
        expected_revision: int,
        events: Iterable[Sequence[AuditEvent]] = (),
        *,
        redact: Sequence[str] = (),
        contacts: _ContactBatches | None = None,
        scim: Sequence[ScimFacts] = (),
    ) -> int:
        """One transaction: check the revision, write the batches, then the history and
        the revision. :class:`_MisfitError` (rolled back) when the records do not fit,
        carrying the verb and batch that failed, if one did (a contact batch's verb is
        ``contact update`` or ``contact create``)."""
        # A bulk commit makes millions of short-lived objects, none in a cycle.
        with collector_paused(), self._transaction("commit to"):
            con = self._con
            rows = con.execute(
                "SELECT revision FROM revisions WHERE tenant_id = ?", (tenant_id,)
            ).fetchall()
            revision = self._stored_revision(tenant_id, rows)
            check_revision(tenant_id, expected_revision, revision)
            if upload is not None and upload.tenant_id != tenant_id:
                raise _MisfitError("upload", ())
            self._fault("checked")
            for verb, batch in batches:
                if not self._write(tenant_id, revision + 1, verb, batch):
                    raise _MisfitError(verb, batch)
            if not self._settle_emails(tenant_id):
                raise _MisfitError
            if contacts is not None:
                self._write_contacts(tenant_id, revision + 1, *contacts)
            if scim and not self._write_scim(tenant_id, scim):
                raise _MisfitError
            revision += 1
            upload_id = revision if upload is not None else None
            for key in redact:
                self._redact(tenant_id, key)
            for happened in events:
                if not happened:
                    continue
                if any(e.tenant_id != tenant_id for e in happened):
                    raise _MisfitError("events", ())
                written = (_event_row(e, revision, upload_id) for e in happened)
                con.executemany(_INSERT_EVENT, written)
            self._fault("records")
            if upload is not None:
                con.execute(
                    "INSERT INTO uploads (tenant_id, revision, actor_id, at, file_digest,"
                    " mode, product, counts, audited) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    _upload_row(tenant_id, revision, upload),
                )
            self._fault("history")
            con.execute(
                "INSERT INTO revisions VALUES (?, ?)"
                " ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision",
                (tenant_id, revision),
            )
            self._fault("revision")
        return revision

    def _write_scim(self, tenant_id: str, facts: Sequence[ScimFacts]) -> bool:
        """Replace the SCIM facts of the commit's records; ``False`` when a userName or
        an id is another record's, or a record is not stored (the caller rolls back)."""
        con = self._con
        con.executemany(
            "DELETE FROM scim_facts WHERE tenant_id = ? AND key = ?",
            ((tenant_id, f.key) for f in facts),
        )
        try:
            cursor = con.executemany(_INSERT_SCIM, (_scim_row(tenant_id, f) for f in facts))
        except sqlite3.IntegrityError:
            return False  # the unique indexes: a userName or an id is taken
        return cursor.rowcount == len(facts)  # else a record is not stored

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
            where, params = f" AND {asked[0]} = ?", (tenant_id, asked[1])
        rows = self._read(
            f"SELECT {_SCIM_COLUMNS} FROM scim_facts WHERE tenant_id = ?{where} ORDER BY key",  # noqa: S608
            params,
        )
        return [self._scim(tenant_id, row) for row in rows]

    def _scim(self, tenant_id: str, row: Sequence[Any]) -> ScimFacts:
        try:
            return _scim_facts(row)
        except (ValueError, TypeError) as exc:
            raise RepositoryError(
                f"{self._where(tenant_id)}: the stored SCIM facts of {row[0]!r} cannot be "
                f"read: {exc}"
            ) from None

    def adopt_scim_facts(self, tenant_id: str, facts: ScimFacts) -> bool:
        """Give a stored record without SCIM facts its ``facts``, not moving the revision;
        ``False`` when it has facts, is not stored, or the userName or id is another's."""
        check_tenant_id(tenant_id)
        check_type(facts, ScimFacts, "facts", "ScimFacts")
        with self._transaction("give SCIM facts in"):
            try:
                cursor = self._con.execute(_INSERT_SCIM, _scim_row(tenant_id, facts))
            except sqlite3.IntegrityError:
                return False
            return cursor.rowcount == 1

    def _redact(self, tenant_id: str, key: str) -> None:
        """Replace the personal values of the record's stored events, and delete its SCIM
        facts (in the open transaction)."""
        con = self._con
        con.execute("DELETE FROM scim_facts WHERE tenant_id = ? AND key = ?", (tenant_id, key))
        rows = con.execute(
            f"SELECT id, {_EVENT_COLUMNS} FROM events"  # noqa: S608
            " WHERE tenant_id = ? AND key = ? AND changes IS NOT NULL",
            (tenant_id, key),
        ).fetchall()
        con.executemany(
            "UPDATE events SET changes = ? WHERE id = ?",
            (
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
            ),
        )

    def _write(self, tenant_id: str, version: int, verb: str, batch: Sequence[UserRecord]) -> bool:
        """Write one batch of updates or creates; ``False`` when it does not fit (the caller
        rolls back)."""
        if not batch:
            return True
        con = self._con
        # Records are written in key order: the B-trees are then visited page after page
        # rather than at random, which more than pays for the sort in large batches
        # (and a new tenant's rows lie in the order a read by key visits them).
        records = sorted(batch, key=_by_key)
        try:
            if verb == "update":
                con.executemany(
                    _FREE_EMAIL,
                    ((tenant_id, r.legacy_contact_key, r.email_key) for r in records),
                )
                cursor = con.executemany(_UPDATE, (_row(tenant_id, version, r) for r in records))
                return cursor.rowcount == len(records)  # else an update's key is not stored
            con.executemany(_INSERT, (_row(tenant_id, version, r) for r in records))
        except sqlite3.IntegrityError:
            return False  # a key or an email is already taken
        return True

    def _write_contacts(
        self,
        tenant_id: str,
        version: int,
        key: ContactKey,
        batches: Iterable[tuple[str, Sequence[Contact]]],
    ) -> None:
        """Write the contacts of a commit, a batch at a time; :class:`_MisfitError` when
        they do not fit (the caller rolls back), naming the batch that failed."""
        con = self._con
        encode, of = _CONTACT_CODEC.encode, key.of
        for verb, batch in batches:
            if not batch:
                continue
            try:
                rows = [(*encode(tenant_id, of(c), c.email_key, c), version) for c in batch]
                if verb == "update":
                    if key is not ContactKey.EMAIL:  # keyed by email, no email moves
                        con.executemany(
                            _FREE_CONTACT_EMAIL, [(tenant_id, r[1], r[2]) for r in rows]
                        )
                    cursor = con.executemany(_UPDATE_CONTACT, rows)
                    if cursor.rowcount != len(rows):
                        # A key not stored, or updated twice in this commit.
                        raise _MisfitError(f"contact {verb}", batch)
                else:
                    con.executemany(_INSERT_CONTACT, rows)
            except sqlite3.IntegrityError:
                raise _MisfitError(f"contact {verb}", batch) from None  # a key or an email taken
            except InvalidValueError as exc:  # a contact without the key (no member id)
                raise _MisfitError(f"contact {verb}", batch, str(exc)) from None
        try:
            con.execute(_SETTLE_CONTACTS, (tenant_id,))
        except sqlite3.IntegrityError:
            raise _MisfitError("contact emails", ()) from None

    def contacts(self, tenant_id: str) -> Iterator[tuple[str, Contact]]:
        """Every Marketing contact of the tenant with its key, in key order, read in batches."""
        check_tenant_id(tenant_id)
        try:
            cursor = self._con.execute(f"{_SELECT_CONTACTS} ORDER BY key", (tenant_id,))
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read SQLite database {self._path!r}: {exc}") from exc
        return self._contact_rows(cursor, tenant_id)

    def _contact_rows(
        self, cursor: sqlite3.Cursor, tenant_id: str
    ) -> Iterator[tuple[str, Contact]]:
        for rows in _batches(cursor, self._where(tenant_id)):
            for row in rows:
                yield row[0], self._contact(tenant_id, row)

    def _contact(self, tenant_id: str, row: Sequence[Any]) -> Contact:
        try:
            return _CONTACT_CODEC.decode(row[1:])
        except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
            problem = _CONTACT_CODEC.problem(row[1:]) or "it cannot be read as a contact"
            raise RepositoryError(
                f"{self._where(tenant_id)}: the stored contact {row[0]!r}: {problem}"
            ) from None

    def _contact_lookup(
        self, columns: str, column: str, tenant_id: str, values: Collection[str]
    ) -> Iterator[Any]:
        """``SELECT columns`` of the tenant's contacts whose ``column`` is one of ``values``."""
        values = list(dict.fromkeys(check_strings(values, f"{column}s")))
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT {columns} FROM contacts WHERE tenant_id = ? AND {column} IN ({marks})"  # noqa: S608
            yield from self._read(sql, (tenant_id, *chunk))

    def get_contacts(self, tenant_id: str, keys: Collection[str]) -> Mapping[str, Contact]:
        """The stored contacts among ``keys``, by key, looked up a few hundred at a time."""
        check_tenant_id(tenant_id)
        rows = self._contact_lookup(f"key, {_CONTACT_COLUMNS}", "key", tenant_id, keys)
        return {row[0]: self._contact(tenant_id, row) for row in rows}

    def contact_email_owners(self, tenant_id: str, emails: Collection[str]) -> Mapping[str, str]:
        """For each of ``emails`` (lower-cased) a stored contact holds: its key."""
        check_tenant_id(tenant_id)
        return dict(self._contact_lookup("email_key, key", "email_key", tenant_id, emails))

    def contact_count(self, tenant_id: str) -> int:
        """How many Marketing contacts the tenant has."""
        check_tenant_id(tenant_id)
        rows = self._read("SELECT count(*) FROM contacts WHERE tenant_id = ?", (tenant_id,))
        return int(rows[0][0])

    def _settle_emails(self, tenant_id: str) -> bool:
        """Give each record whose email moved its new email key, once every record is in;
        ``False`` when one is taken (the caller rolls back)."""
        con = self._con
        moved = con.execute(_MOVED, (tenant_id,)).fetchall()
        try:
            con.executemany(
                _SET_EMAIL, ((email_key(email), tenant_id, key) for key, email in moved)
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def _diagnose(self, tenant_id: str, change_set: ChangeSet) -> None:
        """Raise the :class:`ChangeSetError` naming why ``change_set`` does not fit."""

        def stored_keys(keys: Sequence[str]) -> Collection[str]:
            found = self._lookup("legacy_contact_key", "legacy_contact_key", tenant_id, keys)
            return {row[0] for row in found}

        def email_owners(emails: Sequence[str]) -> Mapping[str, str]:
            return dict(self.email_owners(tenant_id, emails))

        def stored_contact_keys(keys: Sequence[str]) -> Collection[str]:
            return {row[0] for row in self._contact_lookup("key", "key", tenant_id, keys)}

        def contact_email_owners(emails: Sequence[str]) -> Mapping[str, str]:
            return dict(self.contact_email_owners(tenant_id, emails))

        def scim_owners(column: str) -> Callable[[Sequence[str]], Mapping[str, str]]:
            def owners(values: Sequence[str]) -> Mapping[str, str]:
                found: dict[str, str] = {}
                for value in values:
                    rows = self._read(
                        f"SELECT {column}, key FROM scim_facts"  # noqa: S608 - a constant
                        f" WHERE tenant_id = ? AND {column} = ?",
                        (tenant_id, value),
                    )
                    found.update((row[0], row[1]) for row in rows)
                return found

            return owners

        check_change_set(
            tenant_id,
            change_set,
            stored_keys=stored_keys,
            email_owners=email_owners,
            stored_contact_keys=stored_contact_keys,
            contact_email_owners=contact_email_owners,
            user_name_owners=scim_owners("name_key"),
            resource_id_owners=scim_owners("id"),
        )

    def _lookup(
        self, columns: str, column: str, tenant_id: str, values: Collection[str]
    ) -> Iterator[Any]:
        """``SELECT columns`` of the tenant's rows whose ``column`` is one of ``values``."""
        values = list(dict.fromkeys(check_strings(values, f"{column}s")))
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            where = f"WHERE tenant_id = ? AND {column} IN ({marks})"
            sql = f"SELECT {columns} FROM records {where}"  # noqa: S608
            yield from self._read(sql, (tenant_id, *chunk))

    def save_tenant(self, tenant: Tenant, *, event: AuditEvent | None = None) -> int:
        """Store ``tenant``, replacing any tenant with the same id (which moves its
        revision on), and append ``event``, in one transaction; return the revision."""
        check_type(tenant, Tenant, "tenant", "a Tenant")
        check_tenant_event(tenant.id, event)
        with self._transaction("save a tenant to"):
            con = self._con
            rows = con.execute(
                "SELECT revision FROM revisions WHERE tenant_id = ?", (tenant.id,)
            ).fetchall()
            replaced = con.execute(
                "SELECT 1 FROM tenants WHERE tenant_id = ?", (tenant.id,)
            ).fetchall()
            revision = self._stored_revision(tenant.id, rows) + bool(replaced)
            con.execute(
                "INSERT INTO tenants VALUES (?, ?)"
                " ON CONFLICT (tenant_id) DO UPDATE SET document = excluded.document",
                (tenant.id, tenant_to_json(tenant, indent=None)),
            )
            if event is not None:
                con.execute(_INSERT_EVENT, _event_row(event, revision, None))
            con.execute(
                "INSERT INTO revisions VALUES (?, ?)"
                " ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision",
                (tenant.id, revision),
            )
        return revision

    def get_tenant(self, tenant_id: str) -> Tenant:
        """The stored tenant; :class:`~provisioning.NotFoundError` when there is none."""
        check_tenant_id(tenant_id)
        rows = self._read("SELECT document FROM tenants WHERE tenant_id = ?", (tenant_id,))
        if not rows:
            raise NotFoundError(f"no tenant {tenant_id!r} is stored", kind="tenant", key=tenant_id)
        return self._tenant(tenant_id, rows[0][0])

    def tenants(self) -> list[Tenant]:
        """Every stored tenant, ordered by id."""
        rows = self._read("SELECT tenant_id, document FROM tenants ORDER BY tenant_id", ())
        return [self._tenant(tenant_id, document) for tenant_id, document in rows]

    def _tenant(self, tenant_id: str, document: object) -> Tenant:
        """The tenant a row holds; a damaged document, or one of another tenant, is named."""
        try:
            if not isinstance(document, str):
                raise TypeError(f"the document is {type(document).__name__}, not JSON text")
            tenant = tenant_from_json(document)
        except (ValueError, TypeError, RecursionError) as exc:  # DocumentError too
            raise RepositoryError(
                f"{self._where(tenant_id)}: the stored tenant cannot be read: {exc}"
            ) from None
        if tenant.id != tenant_id:
            raise RepositoryError(
                f"{self._where(tenant_id)}: the stored tenant document is of tenant {tenant.id!r}"
            )
        return tenant
