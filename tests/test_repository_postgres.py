"""The PostgreSQL adapter, against a real throwaway server: the contract suites, row-level
security, refused roles, concurrent writers, schema versions and plans equal to SQLite's."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from _postgres import Server
from provisioning.adapters import FaultHook
from provisioning.adapters.postgres import PostgresRepository
from provisioning.testing import (
    AuditLogContract,
    BatchRepositoryContract,
    RepositoryContract,
    TenantStoreContract,
)


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
