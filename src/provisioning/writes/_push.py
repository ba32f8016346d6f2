"""The integration's push: per-record operations from the AMS/CRM, checked whole, applied whole.

As the vendor's Push API does, an ``upsert`` carries the full record (a field it leaves
out is cleared), a ``patch`` changes only the fields it names, ``deactivate`` needs only
the key, and ``reactivate`` is its own, explicit operation: a sync never undoes a
deactivation (``DEACTIVATE_NOT_DELETE``), so an upsert of a deactivated record updates
its fields and leaves it deactivated. Records a push does not name are untouched: a
push is no snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from .._enum import ValueEnum
from .._validators import check_day, check_revision_number, check_type, to_enum
from ..actors import Action, Actor
from ..audit import AuditEvent, AuditKind, Channel, FieldChange, changes_between
from ..exceptions import ConflictError, InvalidValueError, RefusedError
from ..records import RecordStatus, UserRecord
from ..repository import AuditLog, ChangeSet, Repository, ScimFacts
from ..rules import DEFAULT_RULEBOOK, RuleBook
from ..tenants import Tenant
from ..uploads import tenant_as_stored
from ._cells import header_of, record_from_cells
from ._write import TRIES, _now, current_tenant

__all__ = ["PushError", "PushOp", "PushOperation", "PushResult", "push"]

#: The most operations one push may hold.
MOST_OPERATIONS: Final = 100_000


class PushOp(ValueEnum):
    """What one operation of a push does."""

    UPSERT = "upsert"
    PATCH = "patch"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"


def _op(value: PushOp | str) -> PushOp:
    return to_enum(PushOp, value, "op")


def _cells(value: Mapping[str, str]) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidValueError(
            f"record must be an object of template headers to text, got {value!r:.80}",
            field="record",
        )
    return dict(value)


def _then(value: PushOp | str | None) -> PushOp | None:
    if value is None:
        return None
    then = to_enum(PushOp, value, "then")
    if then not in (PushOp.DEACTIVATE, PushOp.REACTIVATE):
        raise InvalidValueError(
            f"then is deactivate or reactivate, not {then.value!r}", field="then"
        )
    return then


def _also(value: Iterable[FieldChange]) -> tuple[FieldChange, ...]:
    given: object = value
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise InvalidValueError(f"also must be FieldChange values, got {value!r:.80}", field="also")
    return tuple(check_type(c, FieldChange, "also", "FieldChange values") for c in value)


@attrs.frozen
class PushOperation:
    """One operation: ``op`` and the record's cells by upload-template header (text, as in
    an upload file). ``line`` is where it came from, for errors.

    ``then`` (``deactivate`` or ``reactivate``) changes the record's status after an
    ``upsert`` or ``patch`` of its fields, in the same commit, each change with its own
    audit event: a SCIM ``PUT`` that edits a user and sets ``active`` is one write.

    ``also`` is changes a host keeps beside the record (the SCIM layer's ``userName``),
    recorded in the operation's first audit event; when the operation changes nothing
    of the record, they are an ``updated`` event of their own, so no change goes
    unaudited.
    """

    op: PushOp = attrs.field(converter=_op)
    record: Mapping[str, str] = attrs.field(converter=_cells)
    line: int = 0
    then: PushOp | None = attrs.field(default=None, kw_only=True, converter=_then)
    also: tuple[FieldChange, ...] = attrs.field(default=(), kw_only=True, converter=_also)

    def __attrs_post_init__(self) -> None:
        if self.then is not None and self.op not in (PushOp.UPSERT, PushOp.PATCH):
            raise InvalidValueError(
                f"then follows an upsert or a patch, not a {self.op.value}", field="then"
            )

    @property
    def key(self) -> str:
        """The record's LegacyContactKey, as the operation gives it."""
        keys = [v for k, v in self.record.items() if header_of(k) == "LegacyContactKey"]
        # Two spellings of the key column are no key: the operation is refused as such.
        return str(keys[0]).strip() if len(keys) == 1 else ""


@attrs.frozen
class PushError:
    """Why one operation cannot be applied: its line and the reason."""

    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.key or 'no key'}): {self.message}"


@attrs.frozen
class PushResult:
    """What a push did: the new revision and one audit event per changed record."""

    revision: int | None
    events: tuple[AuditEvent, ...]
    unchanged: tuple[str, ...]


def _deleted(record: UserRecord) -> bool:
    """A tombstone: the person's data was deleted (DEACTIVATE_NOT_DELETE)."""
    return record.status is RecordStatus.DELETED


def _keyed(record: UserRecord, key: str) -> UserRecord:
    """``record``, if it is the record the operation names (it always is, read from one
    key cell; a check, since a write to another record than the one checked is the worst
    thing a push could do)."""
    if record.legacy_contact_key != key:  # pragma: no cover - record_from_cells ensures it
        raise InvalidValueError(
            f"the record's key {record.legacy_contact_key!r} is not the operation's {key!r}",
            field="LegacyContactKey",
        )
    return record


def _steps(
    operation: PushOperation, stored: UserRecord | None
) -> list[tuple[AuditKind, UserRecord]]:
    """What an operation does to the stored record, a change (and its kind) at a time:
    none, the fields' or the status', or both when ``then`` follows a field change."""
    steps: list[tuple[AuditKind, UserRecord]] = []
    record, kind = _planned(operation, stored)
    if record is not None and kind is not None:
        steps.append((kind, record))
    if operation.then is not None:
        current = record if record is not None else stored
        if current is None:  # pragma: no cover - _planned refused an unknown key
            return steps
        status = PushOperation(operation.then, {"LegacyContactKey": operation.key})
        record, kind = _planned(status, current)
        if record is not None and kind is not None:
            steps.append((kind, record))
    return steps


def _planned(
    operation: PushOperation, stored: UserRecord | None
) -> tuple[UserRecord | None, AuditKind | None]:
    """The record an operation makes of the stored one (``None``: no change)."""
    op, cells, key = operation.op, operation.record, operation.key
    if stored is not None and stored.status is RecordStatus.DELETED:
        # DEACTIVATE_NOT_DELETE: no sync brings back a person whose data was deleted; the
        # cells are still checked, so a bad operation is reported as any other.
        if op is PushOp.UPSERT:
            record_from_cells(cells)
        return None, None
    if op is PushOp.UPSERT:
        record = _keyed(record_from_cells(cells), key)  # the full record: a field left out
        if stored is None:  # is cleared
            if record.status not in (RecordStatus.ENABLED, RecordStatus.DEACTIVATED):
                raise InvalidValueError(
                    f"a push creates Enabled or Deactivated records, not {record.status.value}: "
                    "account requests are a standalone site's (STANDALONE_ACCOUNT_REQUESTS)",
                    field="Status",
                )
            return record, AuditKind.CREATED
        # A sync does not undo a deactivation, nor move a record's state at all.
        record = attrs.evolve(record, status=stored.status)
        return (None, None) if record == stored else (record, AuditKind.UPDATED)
    if stored is None:
        raise InvalidValueError(f"no record has the key {key!r}", field="LegacyContactKey")
    if op is PushOp.PATCH:
        for name in cells:
            if header_of(name) == "Status":
                raise InvalidValueError(
                    "a patch does not set the Status: deactivate or reactivate", field="Status"
                )
        record = _keyed(record_from_cells(cells, base=stored), key)
        return (None, None) if record == stored else (record, AuditKind.UPDATED)
    if op is PushOp.DEACTIVATE:
        if stored.status is RecordStatus.DEACTIVATED:
            return None, None
        return attrs.evolve(stored, status=RecordStatus.DEACTIVATED), AuditKind.DEACTIVATED
    if stored.status is not RecordStatus.DEACTIVATED:
        return None, None
    return attrs.evolve(stored, status=RecordStatus.ENABLED), AuditKind.REACTIVATED


def push(
    tenant: Tenant,
    actor: Actor,
    operations: Iterable[PushOperation],
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
    channel: Channel | str = Channel.INTEGRATION,
    revision: int | None = None,
    scim: Sequence[ScimFacts] = (),
) -> PushResult | tuple[PushError, ...]:
    """Apply a push from the integration: every operation, or none.

    Decided with ``INTEGRATION_SYNC`` (and ``REACTIVATE_USER`` when it reactivates) for
    ``actor``: a push to a tenant on another method, or by anyone but the integration, is
    refused with :class:`~provisioning.RefusedError` naming the rule (and audited). Each
    operation is checked as an upload row is; when any fails, the errors are returned, a
    :class:`PushError` per operation, and nothing is written. An operation on a record
    whose person's data was deleted changes nothing (``DEACTIVATE_NOT_DELETE``): its key
    is listed as unchanged. ``channel`` is what the events record: ``integration`` (the
    Push API) or ``scim`` (the SCIM service's writes). A key named twice is an
    error. Otherwise the changes and their events are committed in one transaction.

    A commit that finds the tenant moved on is planned again, on the new state, a few
    times. Given ``revision`` (the tenant's revision the caller read its own checks at),
    the push is planned and committed at that revision once, and raises
    :class:`~provisioning.ConflictError` when the tenant moved on since: the caller checks
    again and retries (the SCIM service's ``If-Match``, say). ``scim`` is the
    :class:`~provisioning.repository.ScimFacts` of the pushed records, committed with them
    when the push changes something.
    """
    tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    actor = check_type(actor, Actor, "actor", "an Actor")
    rulebook = check_type(rulebook, RuleBook, "rulebook", "a RuleBook")
    via = to_enum(Channel, channel, "channel")
    if via not in (Channel.INTEGRATION, Channel.SCIM):
        raise InvalidValueError(
            f"a push comes in through the integration or SCIM, not {via.value!r}",
            field="channel",
        )
    check_type(repository, Repository, "repository", "a Repository")  # type: ignore[type-abstract]
    day = None if as_of is None else check_day(as_of, "as_of")
    at = _now(now)
    batch: list[PushOperation] = []
    for operation in operations:
        batch.append(check_type(operation, PushOperation, "operations", "PushOperation values"))
        if len(batch) > MOST_OPERATIONS:
            raise InvalidValueError(
                f"a push holds at most {MOST_OPERATIONS:,} operations; split it", field="operations"
            )
    actions = [Action.INTEGRATION_SYNC]
    if any(PushOp.REACTIVATE in (o.op, o.then) for o in batch):
        actions.append(Action.REACTIVATE_USER)
    facts = ChangeSet(scim=scim).scim  # checked before anything is read
    if revision is not None:
        check_revision_number(revision, "revision")
    rules = _decided(tenant, actor, actions, repository, rulebook, day, at, via)
    for _ in range(TRIES if revision is None else 1):
        at_revision = repository.revision(tenant.id) if revision is None else revision
        planned = _Planned(tenant.id, actor, at, tuple(dict.fromkeys(rules)), via)
        planned.read(batch, repository)
        if planned.errors:
            return tuple(planned.errors)
        events, unchanged = planned.events, tuple(planned.unchanged)
        if not events:
            return PushResult(None, (), unchanged)
        change_set = ChangeSet(
            creates=planned.creates, updates=planned.updates, events=events, scim=facts
        )
        try:
            new = repository.commit(tenant.id, change_set, at_revision)
        except ConflictError:
            if revision is not None:
                raise  # the caller's checks were made at that revision: its to redo
            # Decided again: the writer that came first may have changed the tenant.
            rules = _decided(tenant, actor, actions, repository, rulebook, day, at, via)
            continue
        stamped = tuple(attrs.evolve(e, revision=new) for e in events)
        return PushResult(new, stamped, unchanged)
    raise ConflictError(
        f"tenant {tenant.id!r} is busy with other writes; nothing was pushed: try again",
        tenant_id=tenant.id,
        expected=None,
        actual=None,
    )


def _decided(  # noqa: PLR0917 - private, the push's facts
    tenant: Tenant,
    actor: Actor,
    actions: list[Action],
    repository: Repository,
    rulebook: RuleBook,
    day: dt.date | None,
    at: dt.datetime,
    via: Channel,
) -> list[str]:
    """The rules of the push's decisions on the tenant as stored; a refusal is audited,
    then raised."""
    stored_tenant = tenant_as_stored(current_tenant(tenant, repository), repository)
    rules: list[str] = []
    for action in actions:
        decision = rulebook.decide(stored_tenant, actor, action, as_of=day)
        if not decision.allowed:
            refusing = tuple(f.rule for f in decision.refusals)
            if isinstance(repository, AuditLog):
                repository.record_refusal(
                    tenant.id,
                    AuditEvent(
                        at=at,
                        tenant_id=tenant.id,
                        key=None,
                        actor_id=actor.id,
                        role=actor.role,
                        channel=via,
                        kind=AuditKind.REFUSED,
                        rules=refusing,
                    ),
                )
            reasons = "; ".join(f"{f.rule}: {f.message}" for f in decision.refusals)
            raise RefusedError(
                f"the push to {tenant.id} by {actor.id} is refused: {reasons}; nothing was written",
                rules=refusing,
                decision=decision,
            )
        rules.extend(decision.rules)
    return rules


@attrs.define
class _Planned:
    """A push's changes, worked out from the stored records; or its errors."""

    tenant_id: str
    actor: Actor
    at: dt.datetime
    rules: tuple[str, ...]
    channel: Channel
    errors: list[PushError] = attrs.Factory(list)
    creates: list[UserRecord] = attrs.Factory(list)
    updates: list[UserRecord] = attrs.Factory(list)
    events: list[AuditEvent] = attrs.Factory(list)
    unchanged: list[str] = attrs.Factory(list)

    def read(self, batch: Sequence[PushOperation], repository: Repository) -> None:
        seen: dict[str, int] = {}
        for operation in batch:
            key = operation.key
            if not key:
                self.errors.append(
                    PushError(operation.line, "", "the record has no LegacyContactKey")
                )
                continue
            if key in seen:
                message = f"the key is pushed twice (line {seen[key]} too)"
                self.errors.append(PushError(operation.line, key, message))
                continue
            seen[key] = operation.line
            stored = repository.get(self.tenant_id, key)
            try:
                steps = _steps(operation, stored)
            except InvalidValueError as exc:
                self.errors.append(PushError(operation.line, key, str(exc)))
                continue
            also = operation.also
            if not steps and (not also or stored is None or _deleted(stored)):
                self.unchanged.append(key)
                continue
            if steps:
                (self.creates if stored is None else self.updates).append(steps[-1][1])
            else:  # only what the host keeps beside the record changed: audited alone
                self.events.append(self._event(key, AuditKind.UPDATED, also))
            before = stored
            for kind, record in steps:
                changes = changes_between(before, record) if before is not None else ()
                self.events.append(self._event(key, kind, (*changes, *also)))
                before, also = record, ()

    def _event(self, key: str, kind: AuditKind, changes: Sequence[FieldChange]) -> AuditEvent:
        return AuditEvent(
            at=self.at,
            tenant_id=self.tenant_id,
            key=key,
            actor_id=self.actor.id,
            role=self.actor.role,
            channel=self.channel,
            kind=kind,
            changes=tuple(changes),
            rules=self.rules,
        )
