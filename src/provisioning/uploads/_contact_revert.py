"""Undo an applied Marketing upload: plan its contacts back to what they were.

The counterpart of ``_revert`` for contacts, with the same safeguards. The audit trail
holds, for each contact an upload changed, the fields it changed (old and new) and, for
each contact it created, that it did. Reverting sets the changed fields back to their
old values (a contact a full import unsubscribed is subscribed again) and unsubscribes
the contacts it created: contacts are never deleted. A contact changed again since the
upload is left as it is and reported (``changed_since``), as is one whose value before
the upload is no longer valid (``invalid_before``) or whose email before it another
contact holds now (``identity_conflict``). An upload is reverted once. The result is an
ordinary :class:`ContactPlan` in partial mode: the same safeguards hold it, the same
stale-plan check guards its commit, and :func:`apply_plan` applies it whole, its events
in the channel ``revert``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs

from .._clock import today
from .._fields import make_equal
from .._validators import check_day, check_type
from ..actors import Action, Actor
from ..audit import AuditEvent, AuditKind, Channel, contact_with_values
from ..catalog import Product
from ..exceptions import InvalidValueError, NotFoundError, RefusedError, RepositoryError
from ..records import Contact, SubscriptionStatus
from ..repository import AuditLog, ContactStore, Repository, UploadEntry, UploadMode
from ..rules import DEFAULT_RULEBOOK, RuleBook, RuleId
from ..tenants import Tenant
from ._contacts import ContactConflict, ContactPlan, ContactUpdate
from ._plan import HOLD
from ._revert import reverted_already
from ._safeguards import Facts, Safeguard, check_safeguards, overrides_of
from ._spill import Spill, contact_update_spill, string_spill
from ._stored import tenant_as_stored

__all__ = ["plan_contacts_revert", "reverted_upload"]

#: Events read, and their contacts looked up, at a time.
_PER_BATCH = 2000
_MARKETING = Product.MARKETING
_SUBSCRIBED = SubscriptionStatus.SUBSCRIBED
_UNSUBSCRIBED = SubscriptionStatus.UNSUBSCRIBED
#: ``a == b`` for two contacts, without attrs' generic comparison.
_same = make_equal(Contact)


def reverted_upload(
    repository: Repository, tenant_id: str, upload_id: int, product: Product
) -> UploadEntry:
    """The upload ``upload_id`` of ``tenant_id``, checked revertible: it exists
    (:class:`~provisioning.NotFoundError`), was audited, was not reverted already and is
    of ``product`` (:class:`~provisioning.RefusedError` naming ``REVERT_UPLOAD``, or, for
    the other product's upload, the function that reverts it)."""
    entries = repository.uploads(tenant_id)
    entry = next((e for e in entries if e.id == upload_id), None)
    if entry is None:
        raise NotFoundError(
            f"tenant {tenant_id!r} has no upload {upload_id}; `uploads` lists them",
            kind="upload",
            key=str(upload_id),
        )
    if not entry.audited:
        raise RefusedError(
            f"{RuleId.REVERT_UPLOAD}: upload {upload_id} was applied before this store kept "
            "an audit trail, so what it changed is not known: it cannot be reverted",
            rules=(RuleId.REVERT_UPLOAD,),
        )
    refused = reverted_already(upload_id, entries)
    if refused is not None:
        raise refused
    if entry.product is not product:
        reverter = "plan_contacts_revert" if entry.product is _MARKETING else "plan_revert"
        raise RefusedError(
            f"{RuleId.REVERT_UPLOAD}: upload {upload_id} is a {entry.product.value} upload; "
            f"{reverter} reverts it",
            rules=(RuleId.REVERT_UPLOAD,),
        )
    return entry


def plan_contacts_revert(
    tenant: Tenant,
    actor: Actor,
    upload_id: int,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    overrides: Safeguard | str | Iterable[Safeguard | str] = (),
    hold: int = HOLD,
) -> ContactPlan:
    """Plan the revert of the Marketing upload ``upload_id`` (its id in the tenant's history).

    :func:`~provisioning.plan_revert` for contacts. ``REVERT_UPLOAD``: only a Super Admin
    reverts, and only where the tenant's Marketing contacts come by upload (a refused
    plan holds the decision). The repository must keep contacts and an audit trail.
    Raises :class:`~provisioning.NotFoundError` when the tenant has no such upload, and
    :class:`~provisioning.RefusedError` naming ``REVERT_UPLOAD`` for an upload applied
    before the store kept an audit trail, one reverted already, or a Community upload.

    The contacts the upload changed get their old values back (``updates``); those it
    created are unsubscribed, never deleted (``unsubscribes``); the plan's
    ``conflicts`` list the contacts left as they are: changed again since
    (``changed_since``), a value before that is no longer valid (``invalid_before``),
    an old email another contact holds now (``identity_conflict``, which holds the plan
    unless overridden). The plan is in partial mode and trips the safeguards an upload's
    does: unsubscribing more than the allowed share of the subscribed contacts (the
    revert of a first upload) is held by ``mass_deactivation`` until overridden. Memory
    is bounded as for :func:`~provisioning.plan_contacts`: the upload's events are read
    a batch at a time, and each list of changes keeps its first ``hold`` items in memory
    and the rest in a temporary file.

    >>> import datetime as dt
    >>> import provisioning as pv
    >>> from provisioning.adapters import MemoryRepository
    >>> acme = pv.Tenant(id="acme", name="Acme", products={"marketing": "spreadsheet_upload"})
    >>> admin = pv.Actor(id="sa-1", role="super_admin")
    >>> repo, day = MemoryRepository(), dt.date(2026, 11, 25)
    >>> first = [pv.Contact(email=f"c{n}@example.com") for n in range(4)]
    >>> _ = pv.apply_plan(pv.plan_contacts(acme, admin, first, repo, as_of=day), repo)
    >>> fixed = [pv.Contact(email="c0@example.com", first_name="Ada")]
    >>> upload = pv.apply_plan(pv.plan_contacts(acme, admin, fixed, repo, as_of=day), repo)
    >>> revert = plan_contacts_revert(acme, admin, upload.entry.id, repo, as_of=day)
    >>> [str(c) for u in revert.updates for c in u.changes], revert.applicable
    (["first_name: 'Ada' -> None"], True)
    """
    tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    actor = check_type(actor, Actor, "actor", "an Actor")
    rulebook = check_type(rulebook, RuleBook, "rulebook", "a RuleBook")
    check_type(repository, Repository, "repository", "a Repository")  # type: ignore[type-abstract]
    given: object = upload_id
    if type(given) is not int or upload_id < 1:
        raise InvalidValueError(
            f"upload_id must be an upload's id, a whole number from 1, got {upload_id!r}",
            field="upload_id",
        )
    if not isinstance(repository, AuditLog):
        raise InvalidValueError(
            "the repository keeps no audit trail (AuditLog), so no upload can be reverted",
            field="repository",
        )
    if not isinstance(repository, ContactStore):
        raise InvalidValueError(
            "the repository keeps no Marketing contacts (ContactStore), so no Marketing "
            "upload can be reverted",
            field="repository",
        )
    if type(hold) is not int or hold < 0:
        raise InvalidValueError(
            f"hold must be a whole number, 0 or more, got {hold!r}", field="hold"
        )
    day = check_day(as_of, "as_of") if as_of is not None else today()
    chosen = overrides_of(overrides)
    # The revision first, as for an upload: a commit after it makes the plan stale.
    revision = repository.revision(tenant.id)
    reverted_upload(repository, tenant.id, upload_id, _MARKETING)
    effective = tenant_as_stored(tenant, repository)
    decision = rulebook.decide(
        effective, actor, Action.REVERT_UPLOAD, product=_MARKETING, as_of=day
    )
    common: dict[str, Any] = {
        "tenant_id": tenant.id,
        "edition": tenant.marketing_edition,
        "key": tenant.marketing_key,
        "mode": UploadMode.PARTIAL,
        "actor": actor,
        "as_of": day,
        "decision": decision,
        "file_digest": f"revert:{upload_id}",
        "channel": Channel.REVERT,
    }
    if not decision.allowed:
        return ContactPlan(**common)
    # Contacts a later commit changed are left alone; later by revision, not by clock.
    changed_since = {
        e.key
        for e in repository.events(tenant.id, after_revision=upload_id, product=_MARKETING)
        if e.kind is not AuditKind.REFUSED and e.key is not None
    }
    planner = _RevertPlanner(repository, tenant.id, upload_id, changed_since, hold)
    planner.read(repository.events(tenant.id, upload_id=upload_id, product=_MARKETING))
    planner.resolve_conflicts()
    stored = subscribed = 0
    for _, contact in repository.contacts(tenant.id):
        stored += 1
        subscribed += contact.subscription is _SUBSCRIBED
    facts = Facts(
        mode=UploadMode.PARTIAL,
        settings=rulebook.settings,
        stored=stored,
        active=subscribed,
        enabled=subscribed,
        valid=planner.targets,
        disabled=len(planner.unsubscribes),
        demotions=Counter(),
        admin_lockouts=[],
        bad_rows=0,
        conflicts=planner.identity_conflicts,
        contacts=True,
    )
    findings, tripped = check_safeguards(rulebook, facts, chosen)
    return ContactPlan(
        **common,
        revision=revision,
        updates=planner.updates.seal(),
        unchanged=planner.unchanged.seal(),
        unsubscribes=planner.unsubscribes.seal(),
        conflicts=planner.conflicts,
        rows=planner.targets,
        tripped=tripped,
        overrides=chosen,
        findings=findings,
    )


class _RevertPlanner:
    """The upload's events, a batch at a time against the contacts they name."""

    def __init__(
        self,
        store: ContactStore,
        tenant_id: str,
        upload_id: int,
        changed_since: set[str],
        hold: int,
    ) -> None:
        self.store, self.tenant_id, self.upload_id = store, tenant_id, upload_id
        self.changed_since = changed_since
        self.updates: Spill[ContactUpdate] = contact_update_spill(hold, ContactUpdate)
        self.unchanged: Spill[str] = string_spill(hold)
        self.unsubscribes: Spill[ContactUpdate] = contact_update_spill(hold, ContactUpdate)
        #: The updates that give a contact back another email: checked once all are read.
        self.moves: list[ContactUpdate] = []
        self.conflicts: list[ContactConflict] = []
        self.identity_conflicts = 0
        #: The contacts the upload touched that the revert looks at.
        self.targets = 0

    def read(self, events: Iterable[AuditEvent]) -> None:
        events = iter(events)
        while batch := list(itertools.islice(events, _PER_BATCH)):
            keys = [e.key for e in batch if e.key is not None]
            current = self.store.get_contacts(self.tenant_id, keys)
            for event in batch:
                self._event(event, current)

    def _event(self, event: AuditEvent, current: Any) -> None:
        key = event.key
        if key is None:
            return  # a refusal names no contact, and changes none
        contact: Contact | None = current.get(key)
        if contact is None:
            # Contacts are never deleted: an event of the upload always has one.
            raise RepositoryError(
                f"tenant {self.tenant_id!r}: upload {self.upload_id} changed contact "
                f"{key!r}, which the store no longer has; nothing was planned"
            )
        self.targets += 1
        upload = self.upload_id
        if key in self.changed_since:
            message = f"{key!r} changed again after upload {upload}; the revert leaves it as it is"
            self.conflicts.append(ContactConflict(contact, key, key, message, "changed_since"))
            return
        if event.kind is AuditKind.CREATED:
            if contact.subscription is _UNSUBSCRIBED:
                self.unchanged.append(key)
            else:
                new = attrs.evolve(contact, subscription=_UNSUBSCRIBED)
                self.unsubscribes.append(ContactUpdate(key, contact, new))
            return
        try:
            before = contact_with_values(contact, {c.field: c.old for c in event.changes})
        except InvalidValueError as exc:
            message = f"{key!r}: its value before upload {upload} is no longer valid: {exc}"
            self.conflicts.append(ContactConflict(contact, key, key, message, "invalid_before"))
            return
        if _same(before, contact):
            self.unchanged.append(key)
            return
        update = ContactUpdate(key, contact, before)
        self.updates.append(update)
        if before.email_key != contact.email_key:
            self.moves.append(update)

    def resolve_conflicts(self) -> None:
        """Leave out reverts giving a contact back an email another contact holds now (and
        the revert does not move away), or that two reverts would give back; a contact
        left out keeps its own email, so repeat until settled."""
        claims = self.moves
        if not claims:
            return
        moved = {u.key: u.new.email_key for u in claims}
        owners = self.store.contact_email_owners(self.tenant_id, list(moved.values()))
        dropped: set[str] = set()
        while True:
            taken: dict[str, str] = {}
            bad: list[tuple[ContactUpdate, str]] = []
            for update in claims:
                if update.key in dropped:
                    continue
                email = update.new.email_key
                holder = owners.get(email)
                if (
                    holder is not None
                    and holder != update.key
                    and moved.get(holder)
                    in (
                        None,
                        email,
                    )
                ):
                    bad.append((update, holder))
                elif email in taken:
                    bad.append((update, taken[email]))
                else:
                    taken[email] = update.key
            if not bad:
                break
            for update, holder in bad:
                message = (
                    f"email {update.new.email!r} belongs to contact {holder!r} now; "
                    f"{update.key!r} is left as it is (no merge, no takeover)"
                )
                self.conflicts.append(
                    ContactConflict(update.old, update.key, holder, message, "identity_conflict")
                )
                self.identity_conflicts += 1
                dropped.add(update.key)
                moved.pop(update.key, None)
        if dropped:
            self.updates.discard(dropped, len(dropped))
