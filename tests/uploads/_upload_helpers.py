"""Shared builders for the upload tests: a tenant, an admin, records and stores."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import provisioning as pv
from provisioning.adapters import MemoryRepository
from provisioning.repository import ChangeSet, Repository, UploadEntry
from provisioning.spreadsheet import RowError

AS_OF = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
TENANT = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
ADMIN = pv.Actor(id="sa-1", role="super_admin", name="Sam")
DEACTIVATED = pv.RecordStatus.DEACTIVATED
ENABLED = pv.RecordStatus.ENABLED


def user(key: str, email: str | None = None, **fields: Any) -> pv.UserRecord:
    """A record with the required fields filled in from ``key``."""
    return pv.UserRecord(
        legacy_contact_key=key,
        first_name=fields.pop("first_name", f"First{key}"),
        last_name=fields.pop("last_name", "Last"),
        email=email or f"user{key}@example.com",
        company_name=fields.pop("company_name", "Acme"),
        **fields,
    )


def users(*keys: str, **fields: Any) -> list[pv.UserRecord]:
    """One record per key."""
    return [user(k, **fields) for k in keys]


def store(records: Iterable[pv.UserRecord], repo: Repository | None = None) -> Repository:
    """``repo`` (a new memory store by default) holding ``records`` in tenant acme."""
    repo = MemoryRepository() if repo is None else repo
    records = list(records)
    if records:
        repo.commit(TENANT.id, ChangeSet(creates=records), repo.revision(TENANT.id))
    return repo


def plan(
    rows: Iterable[pv.UserRecord | RowError],
    repo: Repository,
    *,
    tenant: pv.Tenant = TENANT,
    actor: pv.Actor = ADMIN,
    **options: Any,
) -> pv.UploadPlan:
    """``plan_upload`` for tenant acme by the Super Admin, as of :data:`AS_OF`."""
    return pv.plan_upload(tenant, actor, rows, repo, as_of=AS_OF, **options)


def keys(records: Iterable[pv.UserRecord]) -> list[str]:
    """The records' keys, in order."""
    return [r.legacy_contact_key for r in records]


def update_keys(updates: Iterable[pv.Update]) -> list[str]:
    """The updates' keys, in order."""
    return [u.key for u in updates]


def snapshot(repo: Repository, tenant_id: str = TENANT.id) -> tuple[object, ...]:
    """Everything a repository says about a tenant: revision, records by key, history."""
    records = sorted(repo.records(tenant_id), key=lambda r: r.legacy_contact_key)
    history: tuple[UploadEntry, ...] = tuple(repo.uploads(tenant_id))
    return repo.revision(tenant_id), repo.count(tenant_id), records, history


def dump(path: Path) -> list[str]:
    """The SQLite file's whole content as SQL, read through a connection of its own."""
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()
