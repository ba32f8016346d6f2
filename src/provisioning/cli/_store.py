"""The command's store: the SQLite adapter, plus a small table of each tenant's actors.

The actors live in the same file as the adapter's tables, in ``cli_actors``, which the
adapter never reads; ``tenant add`` replaces a tenant's actors with those of its file.
Given a ``postgresql://`` URL, :func:`open_store` opens the PostgreSQL adapter instead,
with the actors in a ``cli_actors`` table of its schema, under the same row-level
security (``_pgstore.py``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import click

from ..actors import Actor
from ..adapters import SqliteRepository
from ..audit import FieldChange
from ..exceptions import ConflictError, InvalidValueError, NotFoundError, RepositoryError
from ..repository import ChangeSet
from ..tenants import Tenant
from ..writes import change_tenant

if TYPE_CHECKING:
    from ..adapters.postgres import PostgresRepository

__all__ = ["DB", "DEFAULT_DB", "Store", "is_url", "open_store"]

#: The store's file name when neither ``--db`` nor ``PROVISIONING_DB`` names one.
DEFAULT_DB = "provisioning.db"

#: Attempts at moving a changed tenant's revision on while other writers commit.
_TRIES = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cli_actors (
    tenant_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, actor_id)
) WITHOUT ROWID
"""


#: The command's SQLite page cache, in MiB.
CACHE_MIB = 64


class Store:
    """A :class:`SqliteRepository` and the actors table, in one file (or, from
    :func:`open_store` given a URL, a PostgreSQL store: :class:`._pgstore.PostgresStore`)."""

    repo: SqliteRepository | PostgresRepository
    path: Path | str
    #: How messages name the store.
    _kind = "SQLite database"

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            raise RepositoryError(f"cannot open SQLite database {os.fspath(path)!r}: a folder")
        if path.exists() and not path.is_file():  # a device or a FIFO: SQLite would hang
            raise RepositoryError(
                f"cannot open SQLite database {os.fspath(path)!r}: not a regular file"
            )
        # A page cache of 64 MiB, not the adapter's 512: the command's memory then stays
        # bounded by its work (a 1,000,000-row apply peaks near 300 MB, not 600 MB), and
        # the pages it does not hold are a read from the operating system's cache away.
        self.repo = SqliteRepository(path, cache_mib=CACHE_MIB)
        try:
            self._con = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self._con.execute(_SCHEMA)
        except sqlite3.Error as exc:
            self.repo.close()
            raise RepositoryError(f"cannot use SQLite database {os.fspath(path)!r}: {exc}") from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close both connections."""
        self._con.close()
        self.repo.close()

    def save(self, tenant: Tenant, actors: tuple[Actor, ...], actor: Actor | None = None) -> None:
        """Store ``tenant``, then replace its actors in one transaction of their own.

        The tenant is saved as :func:`provisioning.writes.change_tenant` saves it:
        decided when ``actor`` (one of the stored tenant's actors) asks, the operator's
        otherwise, audited, and moving the tenant's revision on in the same transaction
        when it changes, so a plan saved before is stale. A change of the actors alone
        moves the revision on once they are saved, so an upload planned with the old
        actors is refused at its commit or by the command's check after planning.
        """
        before = self._actors_before(tenant.id)
        after = sorted(f"{a.id} ({a.role.value})" for a in actors)
        actors_changed = before is not None and before != after
        # Who acts on a tenant is the tenant's business too: a change of the actors
        # alone is decided (only the method owner) and audited like a setting.
        also = [FieldChange("actors", before, after)] if actors_changed else []
        change_tenant(tenant, self.repo, actor=actor, also=also)
        try:
            self._replace_actors(tenant.id, actors)
        except (sqlite3.Error, RepositoryError) as exc:
            # The tenant is in the adapter's own transaction, already committed: say so,
            # so nobody takes the old actors for the file's.
            raise RepositoryError(
                f"tenant {tenant.id!r} was saved, but its actors were not ({exc}); the old "
                "actors stay until `tenant add` succeeds again"
            ) from exc
        if actors_changed:
            self._advance(tenant.id)

    def _actors_before(self, tenant_id: str) -> list[str] | None:
        """The stored tenant's actors as ``id (role)``, sorted; ``None`` for a new tenant."""
        try:
            self.repo.get_tenant(tenant_id)
        except NotFoundError:
            return None
        return sorted(f"{a.id} ({a.role.value})" for a in self.actors(tenant_id))

    def _advance(self, tenant_id: str) -> None:
        """Move the tenant's revision on by one, with an empty commit."""
        for _ in range(_TRIES):
            try:
                self.repo.commit(tenant_id, ChangeSet(), self.repo.revision(tenant_id))
            except ConflictError:
                continue  # another writer committed in between: read the revision again
            return
        raise RepositoryError(
            f"tenant {tenant_id!r} was not changed: its store is busy with other commits; try again"
        )

    def actors(self, tenant_id: str) -> list[Actor]:
        """The tenant's actors, ordered by id."""
        rows = self._actor_rows(tenant_id)
        actors = []
        for ident, role, name in rows:
            try:
                actors.append(Actor(id=ident, role=role, name=name))
            except InvalidValueError as exc:  # the table was changed behind our back
                raise RepositoryError(
                    f"{self._kind} {os.fspath(self.path)!r}: the stored actor {ident!r} of "
                    f"tenant {tenant_id!r} is not an actor: {exc}"
                ) from None
        return actors

    def actor(self, tenant_id: str, actor_id: str) -> Actor | None:
        """One actor of the tenant, or ``None``."""
        return next((a for a in self.actors(tenant_id) if a.id == actor_id), None)

    def _replace_actors(self, tenant_id: str, actors: tuple[Actor, ...]) -> None:
        """Replace the tenant's actors, in one transaction."""
        rows = [(tenant_id, a.id, a.role.value, a.name) for a in actors]
        with self._con:
            self._con.execute("BEGIN IMMEDIATE")
            self._con.execute("DELETE FROM cli_actors WHERE tenant_id = ?", (tenant_id,))
            self._con.executemany("INSERT INTO cli_actors VALUES (?, ?, ?, ?)", rows)

    def _actor_rows(self, tenant_id: str) -> list[tuple[str, str, str]]:
        """The tenant's actors as stored: (id, role, name), ordered by id."""
        try:
            rows: list[tuple[str, str, str]] = self._con.execute(
                "SELECT actor_id, role, name FROM cli_actors WHERE tenant_id = ? ORDER BY actor_id",
                (tenant_id,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read the actors of {tenant_id!r}: {exc}") from exc
        return rows

    def grant(self, role: str) -> None:
        """Let an application role use the store: PostgreSQL only."""
        raise RepositoryError(
            f"the store {os.fspath(self.path)!r} is a SQLite file, which has no roles: "
            "--grant is for a postgresql:// store"
        )


#: The schemes of a PostgreSQL URL.
_URL_SCHEMES: Final = ("postgresql://", "postgres://")


def is_url(db: Path | str) -> bool:
    """Whether ``--db`` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return isinstance(db, str) and db.startswith(_URL_SCHEMES)


class _Db(click.ParamType[Path | str]):
    """``--db``: a ``postgresql://`` URL stays text; anything else is a file's path."""

    name = "path|url"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Path | str:
        if is_url(value):
            return value  # type: ignore[no-any-return]
        path: Path = _FILE.convert(value, param, ctx)
        return path


#: A store's file: not a folder.
_FILE: Final = click.Path(dir_okay=False, path_type=Path)


#: The type of ``--db`` and ``PROVISIONING_DB``.
DB: Final = _Db()


def open_store(db: Path | str) -> Store:
    """The command's store: the SQLite file at ``db``, or the PostgreSQL database its
    ``postgresql://`` URL names."""
    if is_url(db):
        try:
            from ._pgstore import PostgresStore  # noqa: PLC0415 - psycopg is optional
        except ImportError as exc:
            raise RepositoryError(
                f"a postgresql:// store needs psycopg ({exc}): "
                "pip install -e '.[postgres]' in a clone of the project"
            ) from None
        return PostgresStore(str(db))
    return Store(Path(db))
