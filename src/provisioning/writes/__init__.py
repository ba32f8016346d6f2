"""Changes to one user record outside an upload: decided, validated, committed, audited.

A self-registration and its email verification, an administrator's review of an
account request, a create, edit, deactivation or reactivation, a member editing their
own profile: each goes through the same write path. It is decided with the
rulebook for the tenant, the actor and the action (a refusal raises
:class:`~provisioning.RefusedError` carrying the :class:`~provisioning.Decision`,
nothing is written, and the attempt is audited when the store keeps an audit trail),
the record is built and checked as any record is, and the change is committed with
its audit event in one transaction, advancing the tenant's revision (a saved upload
plan made before it is stale).

Two writes to different records never lose each other: a commit that finds the tenant
moved on is tried again on the new state. Two writes to the same record do not either:
the second finds the record changed since it was read and raises
:class:`~provisioning.ConflictError`, never overwriting it.

>>> import datetime as dt
>>> import provisioning as pv
>>> from provisioning.adapters import MemoryRepository
>>> site = pv.Tenant(id="harbor", name="Harbor", products={"community": "standalone"},
...                  account_requests="auto_approve")
>>> repo = MemoryRepository()
>>> ada = pv.UserRecord(legacy_contact_key="1001", first_name="Ada", last_name="Lovelace",
...                     email="ada@example.com", company_name="Analytical Engines")
>>> result = register(site, ada, repo, now=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
>>> result.record.status.value, result.revision, result.event.kind.value
('Enabled', 1, 'created')
"""

from ._cells import record_from_cells
from ._push import PushError, PushOp, PushOperation, PushResult, push
from ._tenant import OPERATOR, TenantChange, change_tenant
from ._write import (
    WriteResult,
    approve_request,
    create_user,
    deactivate_user,
    delete_personal_data,
    edit_own_profile,
    edit_user,
    reactivate_user,
    register,
    reject_request,
    verify_email,
)

__all__ = [
    "OPERATOR",
    "PushError",
    "PushOp",
    "PushOperation",
    "PushResult",
    "TenantChange",
    "WriteResult",
    "approve_request",
    "change_tenant",
    "create_user",
    "deactivate_user",
    "delete_personal_data",
    "edit_own_profile",
    "edit_user",
    "push",
    "reactivate_user",
    "record_from_cells",
    "register",
    "reject_request",
    "verify_email",
]
