"""The in-memory adapter: the contract suites, copy-on-commit and fault injection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from provisioning import InvalidValueError, RecordStatus, RepositoryError
from provisioning.adapters import COMMIT_STEPS, FaultHook, MemoryRepository, fail_at
from provisioning.repository import ChangeSet, UploadEntry
from provisioning.testing import (
    AuditLogContract,
    BatchRepositoryContract,
    ContactStoreContract,
    RepositoryContract,
    ScimFactStoreContract,
    TenantStoreContract,
)
from provisioning.testing._contract import _record


class TestMemoryRepository(RepositoryContract, TenantStoreContract):
    """MemoryRepository passes both contract suites."""

    @pytest.fixture
    def repository(self) -> MemoryRepository:
        return MemoryRepository()

    @pytest.fixture
    def tenant_store(self) -> MemoryRepository:
        return MemoryRepository()


class TestMemoryBatchRepository(BatchRepositoryContract):
    """MemoryRepository passes the batch contract, fault tests included."""

    @pytest.fixture
    def repository(self) -> MemoryRepository:
        return MemoryRepository()

    @pytest.fixture
    def faulty_repository(self) -> Callable[[FaultHook], MemoryRepository]:
        return lambda fault: MemoryRepository(fault=fault)


class TestMemoryAuditLog(AuditLogContract):
    """MemoryRepository passes the audit trail contract, fault tests included."""

    @pytest.fixture
    def repository(self) -> MemoryRepository:
        return MemoryRepository()

    @pytest.fixture
    def faulty_repository(self) -> Callable[[FaultHook], MemoryRepository]:
        return lambda fault: MemoryRepository(fault=fault)


class TestMemoryScimFactStore(ScimFactStoreContract):
    """MemoryRepository passes the SCIM facts contract (races and faults included): one
    instance is shared by the racing threads."""

    @pytest.fixture
    def repository(self) -> MemoryRepository:
        return MemoryRepository()

    @pytest.fixture
    def faulty_repository(self) -> Callable[[FaultHook], MemoryRepository]:
        return lambda fault: MemoryRepository(fault=fault)


class TestMemoryContactStore(ContactStoreContract):
    """MemoryRepository passes the contact store contract, fault tests included."""

    @pytest.fixture
    def repository(self) -> MemoryRepository:
        return MemoryRepository()

    @pytest.fixture
    def faulty_repository(self) -> Callable[[FaultHook], MemoryRepository]:
        return lambda fault: MemoryRepository(fault=fault)


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_a_fault_at_any_step_leaves_the_store_as_it_was(step: str) -> None:
    """A commit failing at each step changes nothing; the next commit goes through."""
    hook = fail_at(step)
    failing = True

    def fault(current: str) -> None:
        if failing:
            hook(current)

    repo = MemoryRepository(fault=fault)
    failing = False
    repo.commit("acme", ChangeSet(creates=[_record("1001")]), 0)
    failing = True
    entry = UploadEntry(
        tenant_id="acme",
        actor_id="sa-1",
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        file_digest="sha256:0",
        mode="partial",
    )
    change_set = ChangeSet(
        creates=[_record("1002")],
        updates=[_record("1001", "moved@example.com", status=RecordStatus.DEACTIVATED)],
        upload=entry,
    )
    with pytest.raises(RepositoryError) as caught:
        repo.commit("acme", change_set, 1)
    assert str(caught.value) == f"injected fault at commit step '{step}'"
    assert repo.revision("acme") == 1
    assert list(repo.records("acme")) == [_record("1001")]
    assert repo.get_by_email("acme", "user.1001@example.com") == _record("1001")
    assert repo.get_by_email("acme", "moved@example.com") is None
    assert repo.uploads("acme") == ()
    failing = False
    assert repo.commit("acme", change_set, 1) == 2


def test_fail_at_refuses_an_unknown_step() -> None:
    """fail_at names the steps it knows."""
    with pytest.raises(InvalidValueError) as caught:
        fail_at("halfway")
    assert str(caught.value) == (
        "step must be one of 'checked', 'records', 'history', 'revision', got 'halfway'"
    )


def test_an_iterator_keeps_reading_the_state_it_started_on() -> None:
    """Records committed while an iteration runs do not appear in it, nor break it."""
    repo = MemoryRepository()
    repo.commit("acme", ChangeSet(creates=[_record("1"), _record("2")]), 0)
    iterator = repo.records("acme")
    first = next(iterator)
    repo.commit("acme", ChangeSet(creates=[_record("3")]), 1)
    assert [first, *iterator] == [_record("1"), _record("2")]
    assert repo.count("acme") == 3


def test_repr_counts_tenants() -> None:
    """The repr says how many tenants hold records."""
    repo = MemoryRepository()
    repo.commit("acme", ChangeSet(creates=[_record("1")]), 0)
    assert repr(repo) == "<MemoryRepository: 1 tenants with records>"
