"""The command's store on PostgreSQL: the adapter, plus the actors table in its schema.

``cli_actors`` lives beside the adapter's tables, keyed by tenant and bound by the same
row-level security: it is read and written only in a transaction scoped to its tenant
(:meth:`PostgresRepository.transaction`). The first command run by a role that may
create tables makes it, as the adapter makes its own; ``provisioning db migrate`` does
both explicitly, and may grant an application role their use.
"""

from __future__ import annotations

import psycopg
from psycopg import sql as pg_sql

from ..actors import Actor
from ..adapters.postgres import TENANT_SETTING, PostgresRepository
from ..exceptions import RepositoryError
from ._store import Store

__all__ = ["PostgresStore"]

_OWN_ROWS = f"tenant_id = current_setting('{TENANT_SETTING}', true)"


class PostgresStore(Store):
    """A :class:`PostgresRepository` and the actors table, in one database."""

    _kind = "PostgreSQL database"

    def __init__(self, url: str) -> None:
        self._url = url
        self._pg = PostgresRepository(url)
        self.repo = self._pg
        self.path = self._pg.where()
        try:
            self._actors_table()
        except BaseException:
            self._pg.close()
            raise

    def _actors_table(self) -> None:
        """Make ``cli_actors`` when it is missing (a role without DDL rights finds it made)."""
        schema = pg_sql.Identifier(self._pg.schema)
        statements = [
            pg_sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.cli_actors ("
                ' tenant_id text COLLATE "C" NOT NULL, actor_id text COLLATE "C" NOT NULL,'
                " role text NOT NULL, name text NOT NULL, PRIMARY KEY (tenant_id, actor_id))"
            ).format(schema),
            pg_sql.SQL("ALTER TABLE {}.cli_actors ENABLE ROW LEVEL SECURITY").format(schema),
            pg_sql.SQL("ALTER TABLE {}.cli_actors FORCE ROW LEVEL SECURITY").format(schema),
            pg_sql.SQL(
                "CREATE POLICY tenant_rows ON {}.cli_actors USING (" + _OWN_ROWS + ")"
                " WITH CHECK (" + _OWN_ROWS + ")"
            ).format(schema),
        ]
        try:
            with psycopg.connect(self._url, autocommit=True) as con:
                found = con.execute(
                    "SELECT to_regclass(%s)", (f"{self._pg.schema}.cli_actors",)
                ).fetchone()
                if found is not None and found[0] is not None:
                    return
                with con.transaction():
                    con.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        (f"provisioning-migrate:{self._pg.schema}",),
                    )
                    found = con.execute(
                        "SELECT to_regclass(%s)", (f"{self._pg.schema}.cli_actors",)
                    ).fetchone()
                    if found is None or found[0] is None:
                        for statement in statements:
                            con.execute(statement)
        except psycopg.Error as exc:
            raise RepositoryError(
                f"cannot make the actors table of {self.path}: {exc}; run `provisioning db "
                "migrate` as the database's owner"
            ) from exc

    def close(self) -> None:
        """Close the repository's connections."""
        self._pg.close()

    def _replace_actors(self, tenant_id: str, actors: tuple[Actor, ...]) -> None:
        rows = [(tenant_id, a.id, a.role.value, a.name) for a in actors]
        table = pg_sql.Identifier(self._pg.schema, "cli_actors")
        with self._pg.transaction(tenant_id) as cursor:
            cursor.execute(
                pg_sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(table), [tenant_id]
            )
            cursor.executemany(
                pg_sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(table), rows
            )

    def _actor_rows(self, tenant_id: str) -> list[tuple[str, str, str]]:
        table = pg_sql.Identifier(self._pg.schema, "cli_actors")
        with self._pg.transaction(tenant_id) as cursor:
            cursor.execute(
                pg_sql.SQL(
                    "SELECT actor_id, role, name FROM {} WHERE tenant_id = %s ORDER BY actor_id"
                ).format(table),
                [tenant_id],
            )
            return [(str(a), str(r), str(n)) for a, r, n in cursor.fetchall()]

    def grant(self, role: str) -> None:
        """Let ``role`` read and write the store, the actors table included."""
        self._pg.grant(role)
        table = pg_sql.Identifier(self._pg.schema, "cli_actors")
        try:
            with psycopg.connect(self._url, autocommit=True) as con:
                con.execute(
                    pg_sql.SQL("GRANT DELETE ON {} TO {}").format(table, pg_sql.Identifier(role))
                )
        except psycopg.Error as exc:
            raise RepositoryError(f"cannot grant {role!r} the use of {self.path}: {exc}") from exc
