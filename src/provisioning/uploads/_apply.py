"""Apply a plan: one atomic commit of exactly what the plan holds, then a receipt and events."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import attrs

from .._enum import ValueEnum
from .._twin import unfrozen_twin
from .._validators import check_revision_number, check_type
from ..audit import AuditEvent, AuditKind, Channel, changes_between
from ..catalog import Product
from ..exceptions import ConflictError, InvalidValueError, RefusedError, SafeguardError
from ..repository import (
    AuditLog,
    ChangeSet,
    ChangeStream,
    ContactChanges,
    ContactStore,
    ContactStream,
    ContactStreamWriter,
    Repository,
    StreamWriter,
    UploadEntry,
)
from ._contacts import ContactCounts, ContactPlan, ContactUpdate
from ._results import FieldChange, Update, UploadCounts, UploadPlan
from ._spill import (
    Spill,
    change_rows_changes,
    contact_change_rows_changes,
    contact_update_row_contact,
    update_row_record,
)

__all__ = ["EventKind", "Receipt", "RecordEvent", "apply_plan"]


class EventKind(ValueEnum):
    """What happened to a record."""

    CREATED = "created"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    #: A Marketing contact a full import unsubscribed (``MARKETING_LEFT_OUT_KEPT``).
    UNSUBSCRIBED = "unsubscribed"


@attrs.frozen
class RecordEvent:
    """One domain event for a host's audit log: which record, what happened, by whom, when."""

    kind: EventKind
    tenant_id: str
    key: str
    actor_id: str
    at: dt.datetime
    #: The fields that changed (empty for a created record).
    changes: tuple[FieldChange, ...] = ()


@attrs.frozen
class Receipt:
    """What an applied upload did: the new revision, the counts, and its events."""

    tenant_id: str
    #: The store's revision after the commit.
    revision: int
    at: dt.datetime
    counts: UploadCounts | ContactCounts
    entry: UploadEntry
    plan: UploadPlan | ContactPlan = attrs.field(repr=False, eq=False)

    def events(self) -> Iterator[RecordEvent]:
        """The domain events, created first, each with the acting actor; built lazily."""
        plan, at, actor = self.plan, self.at, self.plan.actor.id
        for kind, key, change in plan.changes():
            changes = change.changes if isinstance(change, Update | ContactUpdate) else ()
            yield RecordEvent(EventKind(kind), plan.tenant_id, key, actor, at, changes)

    def __str__(self) -> str:
        return f"applied to {self.tenant_id} at revision {self.revision}: {self.counts}"


def apply_plan(
    plan: UploadPlan | ContactPlan,
    repository: Repository,
    *,
    now: dt.datetime | None = None,
    expected_revision: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> Receipt:
    """Commit ``plan`` to ``repository`` whole, or not at all.

    The commit is conditional on the revision the plan was made at: a writer that
    committed to the tenant since then makes it stale. ``expected_revision`` is for a
    plan made again from saved facts (a plan file a person approved): the revision that
    person saw, which the plan must have been made at too.

    Raises :class:`~provisioning.RefusedError` for a refused plan,
    :class:`~provisioning.SafeguardError` for a plan a safeguard holds, and
    :class:`~provisioning.ConflictError` when the store moved since the plan was made
    (or since ``expected_revision``); in every case nothing is written. ``now`` stamps
    the upload history (default: the current time, UTC). A Marketing plan
    (:class:`~provisioning.ContactPlan`) is committed the same way, its contacts written
    with their audit events (product ``marketing``) to a
    :class:`~provisioning.repository.ContactStore`. ``progress``, when given, is
    called with how many changed records were handed to the store so far, after each
    batch of a streaming commit (a progress bar, say); the commit lands only after the
    last one.
    """
    if not isinstance(plan, ContactPlan):
        plan = check_type(plan, UploadPlan, "plan", "an UploadPlan or a ContactPlan")
    check_type(repository, Repository, "repository", "a Repository")  # type: ignore[type-abstract]
    if expected_revision is not None:
        expected_revision = check_revision_number(expected_revision)
    stamp: object = now
    if stamp is not None and (not isinstance(stamp, dt.datetime) or stamp.utcoffset() is None):
        raise InvalidValueError(
            f"now must be a timezone-aware datetime or None, got {now!r}", field="now"
        )
    if plan.refused:
        raise RefusedError(
            f"the upload to {plan.tenant_id} is refused: "
            + "; ".join(f"{f.rule}: {f.message}" for f in plan.decision.refusals),
            rules=tuple(f.rule for f in plan.decision.refusals),
        )
    held = sorted(plan.held_by, key=lambda s: s.value)
    if held:
        raise SafeguardError(
            f"the upload to {plan.tenant_id} is held by "
            + "; ".join(f"{s.rule} (override: {s.value})" for s in held),
            rules=tuple(s.rule for s in held),
        )
    assert plan.revision is not None  # an allowed plan always carries one
    if expected_revision is not None and expected_revision != plan.revision:
        raise ConflictError(
            f"the plan for {plan.tenant_id} was made at revision {plan.revision}, not at the "
            f"approved revision {expected_revision}: the store moved in between",
            tenant_id=plan.tenant_id,
            expected=expected_revision,
            actual=plan.revision,
        )
    if progress is not None and not callable(progress):
        raise InvalidValueError(f"progress must be callable or None, got {progress!r:.80}")
    at = now if now is not None else dt.datetime.now(dt.UTC)
    if isinstance(plan, ContactPlan):
        return _apply_contacts(plan, repository, at, progress)
    counts = plan.counts
    entry = UploadEntry(
        tenant_id=plan.tenant_id,
        actor_id=plan.actor.id,
        at=at,
        file_digest=plan.file_digest or "not given",
        mode=plan.mode,
        product=plan.product,
        counts=counts.as_dict(),
    )
    updated = itertools.chain.from_iterable(
        map(update_row_record, group.rows()) if isinstance(group, Spill) else (u.new for u in group)
        for group in (plan.updates, plan.deactivations, plan.reactivations)
    )
    audited = isinstance(repository, AuditLog)
    if isinstance(repository, StreamWriter):
        # Fed a batch at a time: a plan of a million changes is never one tuple.
        done = [0]
        events = _events(plan, at) if audited else iter(())
        stream = ChangeStream(
            updates=_batches(updated, done, progress),
            creates=_batches(iter(plan.creates), done, progress),
            upload=entry,
            events=_batches(events, [0], None),
        )
        revision = repository.commit_stream(plan.tenant_id, stream, plan.revision)
    else:
        change_set = ChangeSet(
            creates=plan.creates,
            updates=tuple(updated),
            upload=entry,
            events=tuple(_events(plan, at)) if audited else (),
        )
        revision = repository.commit(plan.tenant_id, change_set, expected_revision=plan.revision)
    entry = attrs.evolve(entry, id=revision, audited=audited)
    return Receipt(plan.tenant_id, revision, at, counts, entry, plan)


#: Records handed to a streaming commit at a time.
_PER_BATCH = 10_000


_T = TypeVar("_T")


def _events(plan: UploadPlan, at: dt.datetime) -> Iterator[AuditEvent]:
    """One audit event per change of ``plan``, in :meth:`UploadPlan.changes` order.

    A created record's event names no fields (the record as created is the first state
    of its history); an update's names each field that changed, old and new, worked out
    from the rows the plan spilled without making records of them again.
    """
    event = _event_maker(plan, at, plan.channel, _COMMUNITY)
    creates = plan.creates
    # A created record's key is the first value of its spilled row: no record is made.
    keys = (
        (row[0] for row in creates.rows())
        if isinstance(creates, Spill)
        else (r.legacy_contact_key for r in creates)
    )
    for key in keys:
        yield event(AuditKind.CREATED, key, ())
    for kind, group in (
        (AuditKind.UPDATED, plan.updates),
        (AuditKind.DEACTIVATED, plan.deactivations),
        (AuditKind.REACTIVATED, plan.reactivations),
    ):
        changed: Iterable[tuple[str, tuple[FieldChange, ...]]] = (
            # The changes the plan wrote beside its spilled rows: the records are not
            # read again.
            map(change_rows_changes, group.change_rows())
            if isinstance(group, Spill)
            else ((u.key, changes_between(u.old, u.new)) for u in group)
        )
        for key, changes in changed:
            yield event(kind, key, changes)


_COMMUNITY = Product.COMMUNITY
_EVENT_TWIN = unfrozen_twin(AuditEvent)


def _event_maker(
    plan: UploadPlan | ContactPlan, at: dt.datetime, channel: Channel, product: Product
) -> Callable[[AuditKind, str, tuple[FieldChange, ...]], AuditEvent]:
    """What makes ``plan``'s audit events, given each one's kind, key and changes."""
    rules = tuple(plan.decision.rules)
    tenant, actor, role = plan.tenant_id, plan.actor.id, plan.actor.role
    # Built as the reader builds rows: every value here is already checked (the plan's
    # tenant and actor, the store's records), and a million events must not cost more
    # than the commit that writes them (tests hold it to AuditEvent's constructor).
    twin, new = _EVENT_TWIN, object.__new__

    def event(kind: AuditKind, key: str, changes: tuple[FieldChange, ...]) -> AuditEvent:
        made: Any = new(twin)
        made.at = at
        made.tenant_id = tenant
        made.key = key
        made.actor_id = actor
        made.role = role
        made.channel = channel
        made.kind = kind
        made.changes = changes
        made.rules = rules
        made.upload_id = None
        made.revision = None
        made.product = product
        made.__class__ = AuditEvent
        built: AuditEvent = made
        return built

    return event


def _apply_contacts(
    plan: ContactPlan,
    repository: Repository,
    at: dt.datetime,
    progress: Callable[[int], object] | None,
) -> Receipt:
    """Commit a Marketing plan: its contacts, upload entry and events, in one commit
    (fed a batch at a time to a store that takes a :class:`ContactStream`)."""
    if not isinstance(repository, ContactStore):
        raise InvalidValueError(
            "the repository keeps no Marketing contacts (ContactStore)", field="repository"
        )
    assert plan.revision is not None  # an allowed plan always carries one
    counts = plan.counts
    entry = UploadEntry(
        tenant_id=plan.tenant_id,
        actor_id=plan.actor.id,
        at=at,
        file_digest=plan.file_digest or "not given",
        mode=plan.mode,
        product=Product.MARKETING,
        counts=counts.as_dict(),
    )
    audited = isinstance(repository, AuditLog)
    updated = itertools.chain.from_iterable(
        map(contact_update_row_contact, group.rows())
        if isinstance(group, Spill)
        else (u.new for u in group)
        for group in (plan.updates, plan.unsubscribes)
    )
    if isinstance(repository, ContactStreamWriter):
        # Fed a batch at a time: a plan of a million contacts is never one tuple.
        done = [0]
        stream = ContactStream(
            key=plan.key,
            updates=_batches(updated, done, progress),
            creates=_batches(iter(plan.creates), done, progress),
            upload=entry,
            events=_batches(_contact_events(plan, at) if audited else iter(()), [0], None),
        )
        revision = repository.commit_contact_stream(plan.tenant_id, stream, plan.revision)
    else:
        contacts = ContactChanges(key=plan.key, creates=plan.creates, updates=updated)
        events = tuple(_contact_events(plan, at)) if audited else ()
        change_set = ChangeSet(contacts=contacts, upload=entry, events=events)
        revision = repository.commit(plan.tenant_id, change_set, expected_revision=plan.revision)
    entry = attrs.evolve(entry, id=revision, audited=audited)
    return Receipt(plan.tenant_id, revision, at, counts, entry, plan)


def _contact_events(plan: ContactPlan, at: dt.datetime) -> Iterator[AuditEvent]:
    """One audit event per change of ``plan``, in :meth:`ContactPlan.changes` order; a
    spilled update's changes are those the plan wrote beside it (no contact is made)."""
    event = _event_maker(plan, at, plan.channel, Product.MARKETING)
    of = plan.key.of
    for contact in plan.creates:
        yield event(AuditKind.CREATED, of(contact), ())
    for group in (plan.updates, plan.unsubscribes):
        changed: Iterable[tuple[str, tuple[FieldChange, ...]]] = (
            map(contact_change_rows_changes, group.change_rows())
            if isinstance(group, Spill)
            else ((u.key, u.changes) for u in group)
        )
        for key, changes in changed:
            yield event(AuditKind.UPDATED, key, changes)


def _batches(
    records: Iterator[_T], done: list[int], progress: Callable[[int], object] | None
) -> Iterator[list[_T]]:
    """``records`` a batch at a time, telling ``progress`` the count handed on (in ``done``)."""
    while batch := list(itertools.islice(records, _PER_BATCH)):
        if progress is not None:
            progress(done[0])
        yield batch
        done[0] += len(batch)
    if progress is not None:
        progress(done[0])
