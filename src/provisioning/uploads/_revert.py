"""Undo an applied upload: plan the records back to what they were, as an ordinary plan.

The audit trail holds, for each record an upload changed, the fields it changed (old and
new) and, for each record it created, that it did. Reverting sets the changed fields
back to their old values and deactivates the created records (never deleting them:
``DEACTIVATE_NOT_DELETE``). A record changed again since the upload is left as it is
and reported. The result is an :class:`UploadPlan` made by the same planner as an
upload's, in partial mode: the same safeguards hold it, the same stale-plan check
guards its commit, and :func:`apply_plan` applies it whole, its events in the channel
``revert``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from .._clock import today
from .._fields import make_replace
from .._validators import check_day, check_type
from ..actors import Action, Actor
from ..audit import AuditEvent, AuditKind, Channel, with_values
from ..catalog import Product
from ..exceptions import InvalidValueError, NotFoundError, RefusedError
from ..records import RecordStatus, UserRecord
from ..repository import AuditLog, Repository, UploadEntry, UploadMode
from ..rules import DEFAULT_RULEBOOK, RuleBook, RuleId
from ..tenants import Tenant
from ._lookups import Lookups, lookups
from ._plan import HOLD, check_protected, plan_rows
from ._results import Conflict, UploadPlan
from ._safeguards import Safeguard, overrides_of
from ._stored import tenant_as_stored

__all__ = ["plan_revert"]

#: Events read, and their records looked up, at a time.
_PER_BATCH = 2000

#: A record with another (valid) status, no other field checked again.
_deactivated = make_replace(UserRecord, "status")


def plan_revert(
    tenant: Tenant,
    actor: Actor,
    upload_id: int,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    overrides: Safeguard | str | Iterable[Safeguard | str] = (),
    protected_keys: Collection[str] | str = (),
    hold: int = HOLD,
) -> UploadPlan:
    """Plan the revert of the upload ``upload_id`` (its id in the tenant's history).

    ``REVERT_UPLOAD``: only a Super Admin reverts, and not under a standard integration
    (a refused plan holds the decision, as an upload's does). The repository must keep
    an audit trail (:class:`~provisioning.repository.AuditLog`). Raises
    :class:`~provisioning.NotFoundError` when the tenant has no such upload, and
    :class:`~provisioning.RefusedError` naming ``REVERT_UPLOAD`` for an upload applied
    before the store kept an audit trail (there is no record of what it changed) or for
    a Marketing upload (:func:`~provisioning.plan_contacts_revert` reverts those). The
    plan's ``conflicts`` list the records changed again since, left as they are.
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
    if type(hold) is not int or hold < 0:
        raise InvalidValueError(f"hold must be a whole number, 0 or more, got {hold!r}")
    day = check_day(as_of, "as_of") if as_of is not None else today()
    chosen = overrides_of(overrides)
    protected = check_protected(protected_keys)
    # The revision first, as for an upload: a commit after it makes the plan stale.
    revision = repository.revision(tenant.id)
    entry = next((e for e in repository.uploads(tenant.id) if e.id == upload_id), None)
    if entry is None:
        raise NotFoundError(
            f"tenant {tenant.id!r} has no upload {upload_id}; `uploads` lists them",
            kind="upload",
            key=str(upload_id),
        )
    if not entry.audited:
        raise RefusedError(
            f"{RuleId.REVERT_UPLOAD}: upload {upload_id} was applied before this store kept "
            "an audit trail, so what it changed is not known: it cannot be reverted",
            rules=(RuleId.REVERT_UPLOAD,),
        )
    refused = reverted_already(upload_id, repository.uploads(tenant.id))
    if refused is not None:
        raise refused
    if entry.product is not Product.COMMUNITY:
        raise RefusedError(
            f"{RuleId.REVERT_UPLOAD}: upload {upload_id} is a {entry.product.value} upload; "
            "plan_contacts_revert reverts it",
            rules=(RuleId.REVERT_UPLOAD,),
        )
    effective = tenant_as_stored(tenant, repository)
    product = Product.COMMUNITY
    decision = rulebook.decide(effective, actor, Action.REVERT_UPLOAD, product=product, as_of=day)
    digest = f"revert:{upload_id}"
    if not decision.allowed:
        return UploadPlan(
            tenant_id=tenant.id,
            product=product,
            mode=UploadMode.PARTIAL,
            actor=actor,
            as_of=day,
            decision=decision,
            file_digest=digest,
            channel=Channel.REVERT,
        )
    # Records a later commit changed are left alone: the revert never undoes their change.
    # Later by revision, not by clock: a commit stamped earlier may still have come after.
    # Community events only: a Marketing contact may have a record's key as its member id.
    changed_since = {
        e.key
        for e in repository.events(tenant.id, after_revision=upload_id, product=product)
        if e.kind is not AuditKind.REFUSED and e.key is not None
    }
    left_alone: list[Conflict] = []
    store = _Fetched(lookups(repository, tenant.id))
    rows = _targets(repository, tenant.id, upload_id, changed_since, left_alone, store=store)
    return plan_rows(
        tenant=tenant,
        actor=actor,
        decision=decision,
        effective=effective,
        rows=rows,
        repository=repository,
        mode=UploadMode.PARTIAL,
        rulebook=rulebook,
        day=day,
        chosen=chosen,
        protected=protected,
        file_digest=digest,
        hold=hold,
        revision=revision,
        channel=Channel.REVERT,
        left_alone=left_alone,
        store=store,
    )


def reverted_already(upload_id: int, entries: Iterable[UploadEntry]) -> RefusedError | None:
    """The refusal for an upload reverted already, or ``None``.

    The message follows the reverts of the revert, so it names the upload to revert
    next: after ``revert 1`` (upload 2) and ``revert 2`` (upload 3), upload 1's changes
    are back, and reverting upload 3 undoes them again, not reverting upload 2.
    """
    by_target = {
        e.file_digest.removeprefix("revert:"): e.id
        for e in entries
        if e.file_digest.startswith("revert:") and e.id is not None
    }
    chain: list[int] = []
    current = by_target.get(str(upload_id))
    while current is not None and len(chain) <= len(by_target):
        chain.append(current)
        current = by_target.get(str(current))
    if not chain:
        return None
    said = f"upload {upload_id} was reverted already, by upload {chain[0]}"
    said += "".join(f", which upload {later} reverted" for later in chain[1:])
    if len(chain) % 2:
        said += f"; revert upload {chain[-1]} to have upload {upload_id}'s changes back"
    else:
        said += (
            f", so upload {upload_id}'s changes are back; revert upload {chain[-1]} "
            "to undo them again"
        )
    return RefusedError(f"{RuleId.REVERT_UPLOAD}: {said}", rules=(RuleId.REVERT_UPLOAD,))


@runtime_checkable
class UploadEventReader(Protocol):
    """A store that reads an upload's events with the current record of each, at once."""

    def upload_events(
        self, tenant_id: str, upload_id: int
    ) -> Iterator[tuple[AuditEvent, UserRecord | None]]: ...


def _targets(
    repository: AuditLog,
    tenant_id: str,
    upload_id: int,
    changed_since: set[str],
    left_alone: list[Conflict],
    *,
    store: _Fetched,
) -> Iterator[UserRecord]:
    """Each record the upload touched, as the revert makes it; the rest into ``left_alone``.

    The records read here are kept in ``store`` for the planner, which asks for them
    next: each is read from the store once. A store that is an
    :class:`UploadEventReader` gives each event with its record in one ordered read;
    another's records are looked up a batch of events at a time.
    """
    pairs: Iterator[tuple[AuditEvent, UserRecord | None]]
    if isinstance(repository, UploadEventReader):
        pairs = repository.upload_events(tenant_id, upload_id)
    else:
        pairs = _with_records(repository, tenant_id, upload_id, store)
    keep = store.keep
    for event, record in pairs:
        target = _target(event, record, changed_since, upload_id, left_alone)
        if target is not None:
            keep(target.legacy_contact_key, record)
            yield target


def _with_records(
    repository: AuditLog, tenant_id: str, upload_id: int, store: _Fetched
) -> Iterator[tuple[AuditEvent, UserRecord | None]]:
    """The upload's events, each with its current record, looked up a batch at a time."""
    events = repository.events(tenant_id, upload_id=upload_id)
    while batch := list(itertools.islice(events, _PER_BATCH)):
        current = store.lookups.get_many([e.key for e in batch if e.key is not None])
        for event in batch:
            yield event, current.get(event.key) if event.key is not None else None


class _Fetched(Lookups):
    """The store's lookups, answering the planner's ``get_many`` from the records the
    revert read for the same keys just before (each answered once, then forgotten)."""

    def __init__(self, store: Lookups) -> None:
        self._store = self.lookups = store
        self._kept: dict[str, UserRecord] = {}

    def keep(self, key: str, record: UserRecord | None) -> None:
        """Answer the planner's next question about ``key`` with ``record``."""
        if record is not None:
            self._kept[key] = record

    def get_many(self, keys: Collection[str]) -> Mapping[str, UserRecord]:
        kept, found, missing = self._kept, {}, []
        for key in keys:
            record = kept.pop(key, None)
            if record is None:
                missing.append(key)
            else:
                found[key] = record
        if missing:
            found.update(self._store.get_many(missing))
        return found

    def email_owners(self, emails: Collection[str]) -> Mapping[str, str]:
        return self._store.email_owners(emails)

    def statuses(self) -> Iterator[tuple[str, RecordStatus]]:
        return self._store.statuses()


def _target(
    event: AuditEvent,
    record: UserRecord | None,
    changed_since: set[str],
    upload_id: int,
    left_alone: list[Conflict],
) -> UserRecord | None:
    key = event.key
    if key is None or record is None:
        return None  # records are never deleted: an event of the upload always has one
    if key in changed_since:
        left_alone.append(
            Conflict(
                record,
                key,
                f"{key!r} changed again after upload {upload_id}; the revert leaves it as it is",
                "changed_since",
            )
        )
        return None
    if event.kind is AuditKind.CREATED:
        return _deactivated(record, RecordStatus.DEACTIVATED)
    try:
        return with_values(record, {c.field: c.old for c in event.changes})
    except InvalidValueError as exc:
        left_alone.append(
            Conflict(
                record,
                key,
                f"{key!r}: its value before upload {upload_id} is no longer valid: {exc}",
                "invalid_before",
            )
        )
        return None
