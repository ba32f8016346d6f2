"""The SCIM layer's tables in PostgreSQL: beside the adapter's, under its row-level security.

``scim_tokens`` lives in the schema of a
:class:`~provisioning.adapters.PostgresRepository`, keyed by tenant, and are read and
written only through :meth:`PostgresRepository.transaction`, scoped to one tenant: a
token of one tenant is not even seen when another tenant's base path is asked.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg import sql as pg_sql

from ..adapters.postgres import TENANT_SETTING, PostgresRepository
from ..exceptions import RepositoryError
from ._state import ScimState

__all__ = ["PostgresScimState"]

_OWN_ROWS: Final = f"tenant_id = current_setting('{TENANT_SETTING}', true)"

_TABLES: Final = (
    (
        "scim_tokens",
        (
            'id text COLLATE "C" PRIMARY KEY, tenant_id text COLLATE "C" NOT NULL,'
            " actor_id text NOT NULL, role text NOT NULL, digest text NOT NULL,"
            " created_at text NOT NULL, revoked_at text"
        ),
    ),
)


class PostgresScimState(ScimState):
    """:class:`ScimState` in the schema of ``repository``: made on first use when missing,
    through ``conninfo`` (a role that may create tables; the repository's own role after)."""

    def __init__(self, repository: PostgresRepository, conninfo: str) -> None:
        self._repo = repository
        self._schema = repository.schema
        self._conninfo = conninfo
        self._make_tables(conninfo)

    def close(self) -> None:
        """Nothing of its own to close: the repository's connections are the repository's."""

    def _make_tables(self, conninfo: str) -> None:
        statements: list[pg_sql.Composed] = []
        for name, columns in _TABLES:
            table = pg_sql.Identifier(self._schema, name)
            statements += [
                pg_sql.SQL("CREATE TABLE {} (" + columns + ")").format(table),
                pg_sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(table),
                pg_sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(table),
                pg_sql.SQL(
                    "CREATE POLICY tenant_rows ON {} USING (" + _OWN_ROWS + ")"
                    " WITH CHECK (" + _OWN_ROWS + ")"
                ).format(table),
            ]
        probe = f"{self._schema}.scim_tokens"
        try:
            with psycopg.connect(conninfo, autocommit=True) as con:
                found = con.execute("SELECT to_regclass(%s)", (probe,)).fetchone()
                if found is not None and found[0] is not None:
                    return
                with con.transaction():
                    con.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        (f"provisioning-migrate:{self._schema}",),
                    )
                    found = con.execute("SELECT to_regclass(%s)", (probe,)).fetchone()
                    if found is None or found[0] is None:
                        for statement in statements:
                            con.execute(statement)
        except psycopg.Error as exc:
            raise RepositoryError(
                f"cannot make the SCIM tables of {self._repo.where()}: {exc}; run `provisioning "
                "db migrate` as the database's owner (with the scim extra installed)"
            ) from exc

    def grant(self, role: str) -> None:
        """Let ``role`` (an application role, without DDL rights) use the SCIM tokens:
        read and write them."""
        statements = [
            pg_sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(
                pg_sql.Identifier(self._schema, name), pg_sql.Identifier(role)
            )
            for name, _ in _TABLES
        ]
        try:
            with psycopg.connect(self._conninfo, autocommit=True) as con, con.transaction():
                for statement in statements:
                    con.execute(statement)
        except psycopg.Error as exc:
            raise RepositoryError(
                f"cannot grant {role!r} the use of the SCIM tables of {self._repo.where()}: {exc}"
            ) from exc

    def _sql(self, sql: str) -> pg_sql.Composed:
        text = sql.replace("?", "%s")
        for name, _ in _TABLES:
            text = text.replace(name, "{" + name + "}")
        return pg_sql.SQL(text).format(  # built from our literals
            **{name: pg_sql.Identifier(self._schema, name) for name, _ in _TABLES}
        )

    def _rows(self, tenant_id: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._repo.transaction(tenant_id) as cursor:
            cursor.execute(self._sql(sql), params)
            return list(cursor.fetchall())

    def _run(self, tenant_id: str, sql: str, params: tuple[Any, ...]) -> bool:
        try:
            with self._repo.transaction(tenant_id) as cursor:
                cursor.execute(self._sql(sql), params)
        except RepositoryError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                return False
            raise
        return True
