"""What the SCIM layer keeps beside the records: tokens (hashed) and each user's SCIM facts.

A record knows nothing of SCIM; a SCIM ``User`` has an ``id``, a ``userName`` (unique
per tenant, compared ignoring case and Unicode form), timestamps, and may have been ``DELETE``d (the
record is deactivated and kept, the resource is gone). These live in tables of their
own, in an SQLite file (or in memory), beside whichever store holds the records.
Tokens are kept as SHA-256 digests, never as themselves, and compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import unicodedata
import uuid
from typing import Any, Final

import attrs

from ..actors import Actor, Role
from ..exceptions import InvalidValueError, NotFoundError

__all__ = ["IssuedToken", "ScimState", "TokenInfo", "UserEntry"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS scim_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    role TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS scim_users (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    user_name_lower TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    external_id TEXT,
    PRIMARY KEY (tenant_id, key),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, user_name_lower)
);
"""
#: Compared against when a token's id is unknown, so that the time taken does not say so.
_DUMMY: Final = hashlib.sha256(b"no such token").hexdigest()
#: The longest bearer token looked at (an issued one is 57 characters).
_MOST_TOKEN: Final = 256


def _fold(user_name: str) -> str:
    """The form two userNames are compared in: Unicode compatibility-normalised and
    case-folded (NFKC_Casefold), so names that look the same are the same."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", user_name).casefold())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@attrs.frozen
class TokenInfo:
    """A token as the store keeps it: who it acts as, never the token itself."""

    id: str
    tenant_id: str
    actor: Actor
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@attrs.frozen
class IssuedToken:
    """A new token: ``token`` is shown once, then only its digest is kept."""

    info: TokenInfo
    token: str = attrs.field(repr=False)


@attrs.frozen
class UserEntry:
    """A record's SCIM facts: its resource id, userName, timestamps, whether DELETEd, and
    the ``externalId`` the client gave (``None``: none)."""

    tenant_id: str
    key: str
    id: str
    user_name: str
    created_at: dt.datetime
    modified_at: dt.datetime
    removed: bool
    external_id: str | None = None


class ScimState:
    """Tokens and users' SCIM facts, in an SQLite database (``":memory:"`` by default).

    Safe to share between the threads of a server. Given the path of a
    :class:`~provisioning.adapters.SqliteRepository`'s file, it adds its two tables there;
    for a :class:`~provisioning.adapters.PostgresRepository`, use
    :class:`provisioning.scim.postgres.PostgresScimState` (needs psycopg), which keeps
    them in the store's schema.
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self._con = sqlite3.connect(
            os.fspath(path), check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._lock = threading.Lock()
        with self._lock:
            self._con.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._con.close()

    # -- the two primitives a store implements ------------------------------------------

    def _rows(self, tenant_id: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The rows ``sql`` (``?`` placeholders, tables ``scim_tokens`` and ``scim_users``)
        selects, read as ``tenant_id``'s."""
        with self._lock:
            return list(self._con.execute(sql, params).fetchall())

    def _run(self, tenant_id: str, sql: str, params: tuple[Any, ...]) -> bool:
        """Run one writing statement as ``tenant_id``'s; ``False`` when it broke a
        uniqueness constraint (and changed nothing)."""
        try:
            with self._lock:
                self._con.execute(sql, params)
        except sqlite3.IntegrityError:
            return False
        return True

    # -- tokens -------------------------------------------------------------------------

    def issue(self, tenant_id: str, actor: Actor, *, now: dt.datetime | None = None) -> IssuedToken:
        """A new token of ``tenant_id`` acting as ``actor``; earlier ones stay valid."""
        at = now or dt.datetime.now(dt.UTC)
        token_id = secrets.token_hex(6)
        token = f"{token_id}.{secrets.token_urlsafe(32)}"
        done = self._run(
            tenant_id,
            "INSERT INTO scim_tokens VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (token_id, tenant_id, actor.id, actor.role.value, _digest(token), at.isoformat()),
        )
        if not done:  # pragma: no cover - 48 random bits
            return self.issue(tenant_id, actor, now=now)
        info = TokenInfo(token_id, tenant_id, actor, at, None)
        return IssuedToken(info, token)

    def tokens(self, tenant_id: str) -> list[TokenInfo]:
        """The tenant's tokens, revoked ones included, oldest first."""
        rows = self._rows(
            tenant_id,
            "SELECT id, tenant_id, actor_id, role, created_at, revoked_at FROM scim_tokens "
            "WHERE tenant_id = ? ORDER BY created_at, id",
            (tenant_id,),
        )
        return [_token_info(row) for row in rows]

    def revoke(self, tenant_id: str, token_id: str, *, now: dt.datetime | None = None) -> TokenInfo:
        """Revoke the tenant's token ``token_id`` (a revoked one keeps its first
        revocation); :class:`~provisioning.NotFoundError` when the tenant has no such token."""
        at = now or dt.datetime.now(dt.UTC)
        self._run(
            tenant_id,
            "UPDATE scim_tokens SET revoked_at = ? "
            "WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL",
            (at.isoformat(), tenant_id, token_id),
        )
        for info in self.tokens(tenant_id):
            if info.id == token_id:
                return info
        raise NotFoundError(
            f"tenant {tenant_id!r} has no SCIM token {token_id!r}", kind="token", key=token_id
        )

    def authenticate(self, tenant_id: str, token: str) -> Actor | None:
        """The actor ``token`` acts as on ``tenant_id``; ``None`` for a token unknown,
        revoked, or issued for another tenant. The digests are compared in constant time."""
        if len(token) > _MOST_TOKEN:
            return None
        token_id = token.partition(".")[0]
        rows = self._rows(
            tenant_id,
            "SELECT tenant_id, actor_id, role, digest, revoked_at FROM scim_tokens "
            "WHERE tenant_id = ? AND id = ?",
            (tenant_id, token_id),
        )
        row = rows[0] if rows else None
        stored = _DUMMY if row is None else str(row[3])
        same = hmac.compare_digest(_digest(token), stored)
        if row is None or not same or row[4] is not None or row[0] != tenant_id:
            return None
        return Actor(id=row[1], role=Role(row[2]))

    # -- users --------------------------------------------------------------------------

    def entry(self, tenant_id: str, key: str) -> UserEntry | None:
        """The SCIM facts of the record ``key``, or ``None``."""
        return self._one("key", tenant_id, key)

    def entry_by_id(self, tenant_id: str, resource_id: str) -> UserEntry | None:
        """The SCIM facts of the resource ``resource_id``, or ``None``."""
        return self._one("id", tenant_id, resource_id)

    def entries(self, tenant_id: str) -> dict[str, UserEntry]:
        """Every record's SCIM facts, by key."""
        rows = self._rows(
            tenant_id,
            f"SELECT {_COLUMNS} FROM scim_users WHERE tenant_id = ?",  # noqa: S608 - a constant
            (tenant_id,),
        )
        return {row[1]: _entry(row) for row in rows}

    def holder_of(self, tenant_id: str, user_name: str) -> str | None:
        """The key of the record whose userName is ``user_name`` (ignoring case and
        Unicode form)."""
        rows = self._rows(
            tenant_id,
            "SELECT key FROM scim_users WHERE tenant_id = ? AND user_name_lower = ?",
            (tenant_id, _fold(user_name)),
        )
        return str(rows[0][0]) if rows else None

    def save(
        self,
        tenant_id: str,
        key: str,
        user_name: str,
        *,
        removed: bool = False,
        external_id: str | None = None,
        now: dt.datetime | None = None,
        new: bool = False,
    ) -> UserEntry:
        """Set the record's userName, externalId and whether it is DELETEd; its id is made
        on the first save and kept. A userName another record holds is an
        :class:`~provisioning.InvalidValueError`; so is, with ``new``, a record that has
        SCIM facts already (another process's create got there first)."""
        at = (now or dt.datetime.now(dt.UTC)).isoformat()
        done = self._run(
            tenant_id,
            _INSERT_USER if new else _SAVE_USER,
            (
                tenant_id,
                key,
                str(uuid.uuid4()),
                user_name,
                _fold(user_name),
                at,
                at,
                int(removed),
                external_id,
            ),
        )
        if not done:
            if new and self.entry(tenant_id, key) is not None:
                raise InvalidValueError(f"the record {key!r} is another user's", field="key")
            raise InvalidValueError(f"userName {user_name!r} is another user's", field="userName")
        saved = self.entry(tenant_id, key)
        assert saved is not None
        return saved

    def keys_of_external_id(self, tenant_id: str, external_id: str) -> list[str]:
        """The keys of the records whose externalId is ``external_id`` (exactly)."""
        rows = self._rows(
            tenant_id,
            "SELECT key FROM scim_users WHERE tenant_id = ? AND external_id = ? ORDER BY key",
            (tenant_id, external_id),
        )
        return [str(row[0]) for row in rows]

    def forget(self, tenant_id: str, key: str) -> None:
        """Remove the record's SCIM facts (a reservation whose write failed)."""
        self._run(
            tenant_id, "DELETE FROM scim_users WHERE tenant_id = ? AND key = ?", (tenant_id, key)
        )

    def _one(self, column: str, tenant_id: str, value: str) -> UserEntry | None:
        rows = self._rows(
            tenant_id,
            f"SELECT {_COLUMNS} FROM scim_users WHERE tenant_id = ? AND {column} = ?",  # noqa: S608 - column is one of two literals
            (tenant_id, value),
        )
        return _entry(rows[0]) if rows else None


_INSERT_USER: Final = "INSERT INTO scim_users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SAVE_USER: Final = (
    _INSERT_USER + " ON CONFLICT (tenant_id, key) DO UPDATE SET user_name = excluded.user_name, "
    "user_name_lower = excluded.user_name_lower, modified_at = excluded.modified_at, "
    "removed = excluded.removed, external_id = excluded.external_id"
)
_COLUMNS: Final = "tenant_id, key, id, user_name, created_at, modified_at, removed, external_id"


def _token_info(row: tuple[Any, ...]) -> TokenInfo:
    return TokenInfo(
        id=row[0],
        tenant_id=row[1],
        actor=Actor(id=row[2], role=Role(row[3])),
        created_at=dt.datetime.fromisoformat(row[4]),
        revoked_at=None if row[5] is None else dt.datetime.fromisoformat(row[5]),
    )


def _entry(row: tuple[Any, ...]) -> UserEntry:
    return UserEntry(
        tenant_id=row[0],
        key=row[1],
        id=row[2],
        user_name=row[3],
        created_at=dt.datetime.fromisoformat(row[4]),
        modified_at=dt.datetime.fromisoformat(row[5]),
        removed=bool(row[6]),
        external_id=row[7],
    )
