"""What a planner reads from a store: records by sets of keys, email owners, keys in order.

A repository with :class:`~provisioning.repository.BatchReader` answers each question
itself, so a plan holds one batch of stored records at a time. One without it (a host's
adapter written before it existed) still works: its records are read once, into memory,
and the questions are answered from there, as every plan was before.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from ..records import RecordStatus, UserRecord
from ..repository import BatchReader, RecordReader

__all__ = ["Lookups", "lookups"]


class Lookups:
    """The store's answers for one tenant, through :class:`BatchReader`."""

    def __init__(self, reader: BatchReader, tenant_id: str) -> None:
        self._reader, self._tenant = reader, tenant_id

    def get_many(self, keys: Collection[str]) -> Mapping[str, UserRecord]:
        return self._reader.get_many(self._tenant, keys)

    def email_owners(self, emails: Collection[str]) -> Mapping[str, str]:
        return self._reader.email_owners(self._tenant, emails)

    def statuses(self) -> Iterator[tuple[str, RecordStatus]]:
        return self._reader.statuses(self._tenant)


class _Whole(Lookups):
    """The same answers from every record, read once into memory."""

    def __init__(self, records: Mapping[str, UserRecord]) -> None:
        self._records = records
        self._owners = {r.email.lower(): r.legacy_contact_key for r in records.values()}

    def get_many(self, keys: Collection[str]) -> Mapping[str, UserRecord]:
        records = self._records
        return {k: records[k] for k in keys if k in records}

    def email_owners(self, emails: Collection[str]) -> Mapping[str, str]:
        owners = self._owners
        return {e: owners[e] for e in emails if e in owners}

    def statuses(self) -> Iterator[tuple[str, RecordStatus]]:
        records = self._records
        return ((key, records[key].status) for key in sorted(records))


def lookups(repository: RecordReader, tenant_id: str) -> Lookups:
    """The lookups for ``tenant_id``: batched when the store can, else from memory."""
    if isinstance(repository, BatchReader):
        return Lookups(repository, tenant_id)
    return _Whole({r.legacy_contact_key: r for r in repository.records(tenant_id)})
