"""What the SCIM layer keeps beside the records: its bearer tokens, hashed.

Each user's SCIM facts (its ``id``, ``userName``, ``externalId``, whether ``DELETE``d)
are the store's, written in the record's own commit
(:class:`~provisioning.repository.ScimFacts`); tokens live in a table of their own, in
an SQLite file (or in memory), beside whichever store holds the records. They are kept
as SHA-256 digests, never as themselves, and compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from typing import Any, Final

import attrs

from .._validators import text_problem
from ..actors import Actor, Role
from ..exceptions import NotFoundError

__all__ = ["IssuedToken", "ScimState", "TokenInfo"]

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
"""
#: Compared against when a token's id is unknown, so that the time taken does not say so.
_DUMMY: Final = hashlib.sha256(b"no such token").hexdigest()
#: The longest bearer token looked at (an issued one is 57 characters).
_MOST_TOKEN: Final = 256


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


class ScimState:
    """SCIM bearer tokens, in an SQLite database (``":memory:"`` by default).

    Safe to share between the threads of a server. Given the path of a
    :class:`~provisioning.adapters.SqliteRepository`'s file, it adds its table there;
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
        """The rows ``sql`` (``?`` placeholders, table ``scim_tokens``) selects, read as
        ``tenant_id``'s."""
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
        if len(token) > _MOST_TOKEN or text_problem(token) is not None:
            return None  # no issued token holds a NUL or control character
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


def _token_info(row: tuple[Any, ...]) -> TokenInfo:
    return TokenInfo(
        id=row[0],
        tenant_id=row[1],
        actor=Actor(id=row[2], role=Role(row[3])),
        created_at=dt.datetime.fromisoformat(row[4]),
        revoked_at=None if row[5] is None else dt.datetime.fromisoformat(row[5]),
    )
