"""A tenant's settings and methods, changed as a write: decided, audited, revision moved on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from .._validators import check_day, check_type
from ..actors import Action, Actor
from ..audit import AuditEvent, AuditKind, Channel, FieldChange, tenant_changes
from ..catalog import Product
from ..exceptions import NotFoundError, RefusedError
from ..repository import AuditLog, TenantStore
from ..rules import DEFAULT_RULEBOOK, Decision, RuleBook
from ..tenants import Tenant
from ._write import _now

__all__ = ["OPERATOR", "TenantChange", "change_tenant"]

#: The actor id an event gives the store's operator (who is none of the tenant's actors).
OPERATOR = "operator"


@attrs.frozen
class TenantChange:
    """What :func:`change_tenant` did: the tenant as stored, its revision, the event
    (``None`` when the tenant was stored already exactly as given: nothing was written)
    and the decisions it took (none for the store's operator)."""

    tenant: Tenant
    revision: int
    event: AuditEvent | None
    decisions: tuple[Decision, ...]


def _stored(store: TenantStore, tenant_id: str) -> Tenant | None:
    try:
        return store.get_tenant(tenant_id)
    except NotFoundError:
        return None


def _decisions(
    stored: Tenant, new: Tenant, actor: Actor, rulebook: RuleBook, as_of: dt.date | None
) -> list[Decision]:
    """``change_method`` for each product whose method changes; for a change of other
    settings only, ``change_method`` of Community (the method owner changes settings)."""
    products = [
        p for p in Product if stored.products.get(p) != new.products.get(p) and p in stored.products
    ]
    return [
        rulebook.decide(stored, actor, Action.CHANGE_METHOD, product=product, as_of=as_of)
        for product in products or [Product.COMMUNITY]
    ]


def change_tenant(
    tenant: Tenant,
    store: TenantStore,
    *,
    actor: Actor | None = None,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
    also: Sequence[FieldChange] = (),
) -> TenantChange:
    """Store ``tenant``, replacing the stored one, as an audited write.

    The event (kind ``tenant_changed``, naming no record) lists each setting that
    changed, old and new, by its path in the tenant file (``products.community``,
    ``sso.go_live``...); it joins the audit trail in the transaction that stores the
    tenant and moves its revision on, so an upload plan saved before a method switch is
    stale. A tenant stored already exactly as given writes nothing.

    ``actor`` is one of the stored tenant's actors: each product whose method changes
    is decided as ``change_method`` for it (a change of other settings, as
    ``change_method`` of Community: only the method owner, a Super Admin, changes a
    tenant), and a refusal raises :class:`~provisioning.RefusedError`, audited, with
    nothing stored. Without ``actor`` the change is the store's operator's (the vendor
    provisioning a tenant, e.g. ``provisioning tenant add``): recorded as actor
    ``"operator"`` with no role, and not decided. A new tenant can only be added so.

    ``also`` are changes of the host's own that go with the tenant's and are decided and
    audited with them (the command's list of a tenant's actors, say): a change of them
    alone is a change too.

    >>> import datetime as dt
    >>> import provisioning as pv
    >>> from provisioning.adapters import MemoryRepository
    >>> repo = MemoryRepository()
    >>> site = pv.Tenant(id="harbor", name="Harbor", products={"community": "standalone"})
    >>> when = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    >>> change_tenant(site, repo, now=when).revision
    0
    >>> sa = pv.Actor(id="sa-1", role="super_admin")
    >>> moved = pv.Tenant(id="harbor", name="Harbor",
    ...                   products={"community": "spreadsheet_upload"})
    >>> change = change_tenant(moved, repo, actor=sa, now=when)
    >>> change.revision, [str(c) for c in change.event.changes]
    (1, ["products.community: 'standalone' -> 'spreadsheet_upload'"])
    >>> [f.rule for d in change.decisions for f in d.findings]
    ['METHOD_CHANGE_IS_MIGRATION']
    """
    tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    store = check_type(store, TenantStore, "store", "a TenantStore")  # type: ignore[type-abstract]
    rulebook = check_type(rulebook, RuleBook, "rulebook", "a RuleBook")
    as_of = None if as_of is None else check_day(as_of, "as_of")
    at = _now(now)
    stored = _stored(store, tenant.id)
    changes = tenant_changes(stored, tenant) + tuple(
        check_type(c, FieldChange, "also", "FieldChange values") for c in also
    )
    if stored is not None and not changes:
        revision = store.revision(tenant.id) if hasattr(store, "revision") else 0
        return TenantChange(stored, revision, None, ())
    decisions: tuple[Decision, ...] = ()
    if actor is None:
        actor_id, role = OPERATOR, None
    else:
        actor = check_type(actor, Actor, "actor", "an Actor or None")
        if stored is None:
            raise NotFoundError(
                f"no tenant {tenant.id!r} is stored: a new tenant is added by the store's "
                "operator (no actor)",
                kind="tenant",
                key=tenant.id,
            )
        decisions = tuple(_decisions(stored, tenant, actor, rulebook, as_of))
        actor_id, role = actor.id, actor.role
    event = AuditEvent(
        at=at,
        tenant_id=tenant.id,
        key=None,
        actor_id=actor_id,
        role=role,
        channel=Channel.ADMIN,
        kind=AuditKind.TENANT_CHANGED,
        changes=changes,
        rules=tuple(dict.fromkeys(r for d in decisions for r in d.rules)),
    )
    refusals = [f for d in decisions for f in d.refusals]
    if refusals:
        rules = tuple(dict.fromkeys(f.rule for f in refusals))
        if isinstance(store, AuditLog):
            store.record_refusal(
                tenant.id, attrs.evolve(event, kind=AuditKind.REFUSED, changes=(), rules=rules)
            )
        reasons = "; ".join(f"{f.rule}: {f.message}" for f in refusals)
        raise RefusedError(
            f"changing tenant {tenant.id} by {actor_id} is refused: {reasons}; nothing was written",
            rules=rules,
            decision=next(d for d in decisions if not d.allowed),
        )
    revision = store.save_tenant(tenant, event=event)
    return TenantChange(tenant, revision, attrs.evolve(event, revision=revision), decisions)
