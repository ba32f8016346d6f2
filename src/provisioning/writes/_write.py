"""The write path: decide, build, commit with the audit event, try again on a moved tenant."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from .._fields import FieldKind, field_specs
from .._metadata import FIELD_MEMBERSHIP
from .._validators import check_day, check_type
from ..actors import Action, Actor, Role
from ..audit import AuditEvent, AuditKind, Channel, FieldChange, changes_between, redacted
from ..exceptions import ConflictError, InvalidValueError, NotFoundError, RefusedError
from ..records import RecordStatus, UserRecord
from ..repository import AuditLog, ChangeSet, Repository, TenantStore
from ..rules import DEFAULT_RULEBOOK, Decision, RuleBook
from ..tenants import AccountRequestPolicy, Tenant
from ..uploads import tenant_as_stored

__all__ = [
    "WriteResult",
    "approve_request",
    "create_user",
    "deactivate_user",
    "delete_personal_data",
    "edit_own_profile",
    "edit_user",
    "reactivate_user",
    "register",
    "reject_request",
    "verify_email",
]

#: How many times a write is tried again when other writers keep moving the tenant on.
TRIES: Final = 8
#: Fields an edit cannot set: the key names the record, the status has its own actions.
_NOT_EDITED: Final = frozenset({"legacy_contact_key", "status"})
_FIELDS: Final = frozenset(a.name for a in attrs.fields(UserRecord))
#: Fields a member's own profile edit cannot set: membership facts and custom columns.
_NOT_SELF_EDITED: Final = frozenset(
    spec.name
    for spec in field_specs(UserRecord)
    if spec.kind is FieldKind.MAPPING
    or attrs.fields_dict(UserRecord)[spec.name].metadata.get(FIELD_MEMBERSHIP)
)


@attrs.frozen
class WriteResult:
    """What a write did: the record as stored, the tenant's new revision, the event."""

    record: UserRecord
    revision: int
    event: AuditEvent
    decision: Decision


def _now(now: dt.datetime | None) -> dt.datetime:
    stamp: object = now
    if stamp is None:
        return dt.datetime.now(dt.UTC)
    if not isinstance(stamp, dt.datetime) or stamp.utcoffset() is None:
        raise InvalidValueError(
            f"now must be a timezone-aware datetime or None, got {now!r}", field="now"
        )
    return stamp


@attrs.frozen
class _Write:
    """One write's facts, checked: who, on which tenant, through which channel."""

    tenant: Tenant
    actor: Actor
    action: Action
    channel: Channel
    repository: Repository
    rulebook: RuleBook
    as_of: dt.date | None
    at: dt.datetime

    def decide(self, key: str | None) -> Decision:
        """The decision, on the tenant as stored; a refusal is audited, then raised.

        When the repository keeps tenants too, the tenant it holds under this id is the
        one decided on (a caller's copy may be stale: read before a method switch)."""
        stored = tenant_as_stored(current_tenant(self.tenant, self.repository), self.repository)
        decision = self.rulebook.decide(stored, self.actor, self.action, as_of=self.as_of)
        if decision.allowed:
            return decision
        rules = tuple(f.rule for f in decision.refusals)
        if isinstance(self.repository, AuditLog):
            self.repository.record_refusal(
                self.tenant.id, self.event(key, AuditKind.REFUSED, rules)
            )
        reasons = "; ".join(f"{f.rule}: {f.message}" for f in decision.refusals)
        raise RefusedError(
            f"{self.action.value} by {self.actor.id} on {self.tenant.id} is refused: {reasons}; "
            "nothing was written",
            rules=rules,
            decision=decision,
        )

    def event(
        self,
        key: str | None,
        kind: AuditKind,
        rules: tuple[str, ...],
        changes: tuple[FieldChange, ...] = (),
    ) -> AuditEvent:
        return AuditEvent(
            at=self.at,
            tenant_id=self.tenant.id,
            key=key,
            actor_id=self.actor.id,
            role=self.actor.role,
            channel=self.channel,
            kind=kind,
            changes=changes,
            rules=rules,
        )

    def commit(
        self,
        key: str,
        decision: Decision,
        change: Callable[[UserRecord | None], tuple[UserRecord, AuditKind] | None],
    ) -> WriteResult:
        """Commit ``change(stored record)`` for ``key``; again on a tenant that moved on.

        ``change`` says what the record becomes (and the event's kind), from the stored
        record read in the same attempt. The record read first is the one the write was
        asked about: if another writer changed it since, the write raises
        :class:`ConflictError` rather than overwrite that change.
        """
        repo, tenant_id = self.repository, self.tenant.id
        first = repo.get(tenant_id, key)
        for _ in range(TRIES):
            revision = repo.revision(tenant_id)
            stored = repo.get(tenant_id, key)
            if stored != first:
                raise ConflictError(
                    f"record {key!r} of {tenant_id!r} changed while it was being written; "
                    "nothing was written: read it again",
                    tenant_id=tenant_id,
                    expected=None,
                    actual=revision,
                )
            made = change(stored)
            if made is None:
                raise InvalidValueError(f"record {key!r}: the write changes nothing", field="key")
            record, kind = made
            if record == stored:
                raise InvalidValueError(
                    f"record {key!r}: the write changes nothing; nothing was written",
                    field="key",
                )
            changes = changes_between(stored, record) if stored is not None else ()
            event = self.event(key, kind, tuple(decision.rules), changes)
            if stored is None:
                change_set = ChangeSet(creates=[record], events=[event])
            elif kind is AuditKind.REDACTED:
                # The person's data goes from the record and from its whole trail, this
                # event's old values included, in the same transaction.
                event = redacted(event)
                change_set = ChangeSet(updates=[record], events=[event], redact=[key])
            else:
                change_set = ChangeSet(updates=[record], events=[event])
            try:
                new = repo.commit(tenant_id, change_set, revision)
            except ConflictError:
                # Another writer came first: read and try again, decided again (the writer
                # may have changed the tenant, which a decision taken before cannot know).
                decision = self.decide(key)
                continue
            return WriteResult(record, new, attrs.evolve(event, revision=new), decision)
        raise ConflictError(
            f"tenant {tenant_id!r} is busy with other writes; nothing was written: try again",
            tenant_id=tenant_id,
            expected=None,
            actual=None,
        )


def current_tenant(tenant: Tenant, repository: object) -> Tenant:
    """The tenant as the repository stores it, when it keeps tenants and has this one;
    ``tenant`` otherwise."""
    if isinstance(repository, TenantStore):
        try:
            return repository.get_tenant(tenant.id)
        except NotFoundError:
            pass
    return tenant


def _write(  # noqa: PLR0917 - private, one call a verb
    tenant: Tenant,
    actor: Actor,
    action: Action,
    channel: Channel,
    repository: Repository,
    rulebook: RuleBook,
    as_of: dt.date | None,
    now: dt.datetime | None,
) -> _Write:
    return _Write(
        tenant=check_type(tenant, Tenant, "tenant", "a Tenant"),
        actor=check_type(actor, Actor, "actor", "an Actor"),
        action=action,
        channel=channel,
        repository=check_type(repository, Repository, "repository", "a Repository"),  # type: ignore[type-abstract]
        rulebook=check_type(rulebook, RuleBook, "rulebook", "a RuleBook"),
        as_of=None if as_of is None else check_day(as_of, "as_of"),
        at=_now(now),
    )


def _new(record: UserRecord, key_taken: Callable[[], bool]) -> UserRecord:
    check_type(record, UserRecord, "record", "a UserRecord")
    if key_taken():
        raise InvalidValueError(
            f"a record with LegacyContactKey {record.legacy_contact_key!r} is stored already",
            field="legacy_contact_key",
        )
    return record


def register(
    tenant: Tenant,
    record: UserRecord,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """A self-registration on a standalone site (``STANDALONE_ACCOUNT_REQUESTS``).

    The registrant is the actor (a member whose id is the record's key). The site's
    account-request policy sets the new record's status: Enabled when requests are
    auto-approved, Pending Approval when an admin approves them, Pending Verification
    first when the site verifies emails. The status given in ``record`` is ignored.
    """
    record = check_type(record, UserRecord, "record", "a UserRecord")
    actor = Actor(id=record.legacy_contact_key, role=Role.MEMBER)
    w = _write(
        tenant, actor, Action.SELF_REGISTER, Channel.REGISTRATION, repository, rulebook, as_of, now
    )
    key = record.legacy_contact_key
    decision = w.decide(key)
    requests = w.tenant.account_requests
    if requests.email_verification:
        status = RecordStatus.PENDING_VERIFICATION
    elif requests.policy is AccountRequestPolicy.AUTO_APPROVE:
        status = RecordStatus.ENABLED
    else:
        status = RecordStatus.PENDING_APPROVAL
    wanted = attrs.evolve(record, status=status)

    def create(stored: UserRecord | None) -> tuple[UserRecord, AuditKind]:
        _new(wanted, lambda: stored is not None)
        return wanted, AuditKind.CREATED

    return w.commit(key, decision, create)


def create_user(
    tenant: Tenant,
    actor: Actor,
    record: UserRecord,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """An administrator creates a record locally (``ADMIN_CREATE_USER``): on a standalone
    site; refused under spreadsheet upload (the file is the single source) and under a
    standard integration (the external system is)."""
    record = check_type(record, UserRecord, "record", "a UserRecord")
    w = _write(
        tenant, actor, Action.ADMIN_CREATE_USER, Channel.ADMIN, repository, rulebook, as_of, now
    )
    decision = w.decide(record.legacy_contact_key)

    def create(stored: UserRecord | None) -> tuple[UserRecord, AuditKind]:
        return _new(record, lambda: stored is not None), AuditKind.CREATED

    return w.commit(record.legacy_contact_key, decision, create)


def _found(key: str, stored: UserRecord | None) -> UserRecord:
    """The stored record of ``key``: not missing, and not one whose data was deleted."""
    if stored is None:
        raise NotFoundError(f"no record has the key {key!r}", kind="record", key=key)
    if stored.status is RecordStatus.DELETED:
        raise InvalidValueError(
            f"record {key!r}: the person's data was deleted, and nothing brings it back "
            "(DEACTIVATE_NOT_DELETE)",
            field="key",
        )
    return stored


def _edited(key: str, stored: UserRecord | None, values: Mapping[str, object]) -> UserRecord:
    stored = _found(key, stored)
    given: dict[str, Any] = dict(values)
    return attrs.evolve(stored, **given)  # converters and validators run: InvalidValueError


def _check_values(values: object) -> dict[str, object]:
    if not isinstance(values, Mapping) or not values:
        raise InvalidValueError(
            f"values must be a non-empty mapping of field names to values, got {values!r:.80}",
            field="values",
        )
    checked = dict(values)
    for name in checked:
        if name not in _FIELDS:
            raise InvalidValueError(f"no record field is named {name!r}", field=str(name))
        if name in _NOT_EDITED:
            what = (
                "the key names the record"
                if name == "legacy_contact_key"
                else ("deactivate or reactivate the user instead")
            )
            raise InvalidValueError(f"{name} cannot be edited: {what}", field=name)
    return checked


def edit_user(
    tenant: Tenant,
    actor: Actor,
    key: str,
    values: Mapping[str, object],
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """An administrator edits a record's fields (``ADMIN_EDIT_USER``); ``values`` by field
    name, checked as the record's own fields are (the key and the status are not edited)."""
    checked = _check_values(values)
    key = check_type(key, str, "key", "a record key (a string)")
    w = _write(
        tenant, actor, Action.ADMIN_EDIT_USER, Channel.ADMIN, repository, rulebook, as_of, now
    )
    decision = w.decide(key)
    return w.commit(
        key, decision, lambda stored: (_edited(key, stored, checked), AuditKind.UPDATED)
    )


def edit_own_profile(
    tenant: Tenant,
    actor: Actor,
    values: Mapping[str, object],
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """A member edits their own record (``EDIT_OWN_PROFILE``): the record whose key is the
    actor's id. The facts of their membership the organisation keeps (member id, dates,
    the member flag) and the host's custom columns are not theirs to set: naming one is
    an :class:`~provisioning.InvalidValueError`."""
    checked = _check_values(values)
    kept = sorted(name for name in checked if name in _NOT_SELF_EDITED)
    if kept:
        raise InvalidValueError(
            f"{', '.join(kept)}: the organisation keeps these, not the member editing their "
            "own profile",
            field=kept[0],
        )
    w = _write(
        tenant, actor, Action.EDIT_OWN_PROFILE, Channel.SELF, repository, rulebook, as_of, now
    )
    key = w.actor.id
    decision = w.decide(key)
    return w.commit(
        key, decision, lambda stored: (_edited(key, stored, checked), AuditKind.UPDATED)
    )


def deactivate_user(
    tenant: Tenant,
    actor: Actor,
    key: str,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """Deactivate a user (``DEACTIVATE_USER``, ``DEACTIVATE_NOT_DELETE``): login blocked,
    the record and its content kept; a user deactivated already is an error."""
    key = check_type(key, str, "key", "a record key (a string)")
    w = _write(
        tenant, actor, Action.DEACTIVATE_USER, Channel.ADMIN, repository, rulebook, as_of, now
    )
    decision = w.decide(key)

    def deactivate(stored: UserRecord | None) -> tuple[UserRecord, AuditKind]:
        stored = _found(key, stored)
        if stored.status is RecordStatus.DEACTIVATED:
            raise InvalidValueError(f"record {key!r} is deactivated already", field="key")
        return attrs.evolve(stored, status=RecordStatus.DEACTIVATED), AuditKind.DEACTIVATED

    return w.commit(key, decision, deactivate)


def _moved(
    key: str, wanted: RecordStatus, becomes: RecordStatus, kind: AuditKind, what: str
) -> Callable[[UserRecord | None], tuple[UserRecord, AuditKind]]:
    """A status change from ``wanted`` to ``becomes``; another status is an error."""

    def move(stored: UserRecord | None) -> tuple[UserRecord, AuditKind]:
        stored = _found(key, stored)
        if stored.status is not wanted:
            raise InvalidValueError(
                f"record {key!r} is {stored.status.value}, not {wanted.value}: there is "
                f"nothing to {what}",
                field="key",
            )
        return attrs.evolve(stored, status=becomes), kind

    return move


def approve_request(
    tenant: Tenant,
    actor: Actor,
    key: str,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """Approve a Pending Approval account request (``ACCOUNT_REQUEST_REVIEW``): Enabled."""
    key = check_type(key, str, "key", "a record key (a string)")
    w = _write(
        tenant, actor, Action.APPROVE_REQUEST, Channel.ADMIN, repository, rulebook, as_of, now
    )
    decision = w.decide(key)
    pending, enabled = RecordStatus.PENDING_APPROVAL, RecordStatus.ENABLED
    return w.commit(key, decision, _moved(key, pending, enabled, AuditKind.APPROVED, "approve"))


def reject_request(
    tenant: Tenant,
    actor: Actor,
    key: str,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """Reject a Pending Approval account request (``ACCOUNT_REQUEST_REVIEW``): Rejected,
    kept (never deleted)."""
    key = check_type(key, str, "key", "a record key (a string)")
    w = _write(
        tenant, actor, Action.REJECT_REQUEST, Channel.ADMIN, repository, rulebook, as_of, now
    )
    decision = w.decide(key)
    pending, rejected = RecordStatus.PENDING_APPROVAL, RecordStatus.REJECTED
    return w.commit(key, decision, _moved(key, pending, rejected, AuditKind.REJECTED, "reject"))


def verify_email(
    tenant: Tenant,
    key: str,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """The registrant followed the verification link (``EMAIL_VERIFICATION``): what the
    host calls then. Pending Verification becomes Enabled where requests are approved
    automatically, Pending Approval where an admin approves them."""
    key = check_type(key, str, "key", "a record key (a string)")
    actor = Actor(id=key, role=Role.MEMBER)
    w = _write(
        tenant, actor, Action.VERIFY_EMAIL, Channel.REGISTRATION, repository, rulebook, as_of, now
    )
    decision = w.decide(key)
    auto = w.tenant.account_requests.policy is AccountRequestPolicy.AUTO_APPROVE
    becomes = RecordStatus.ENABLED if auto else RecordStatus.PENDING_APPROVAL
    move = _moved(key, RecordStatus.PENDING_VERIFICATION, becomes, AuditKind.VERIFIED, "verify")
    return w.commit(key, decision, move)


def reactivate_user(
    tenant: Tenant,
    actor: Actor,
    key: str,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """Reactivate a deactivated user (``REACTIVATE_USER``): Enabled again."""
    key = check_type(key, str, "key", "a record key (a string)")
    channel = Channel.INTEGRATION if actor.role is Role.INTEGRATION else Channel.ADMIN
    w = _write(tenant, actor, Action.REACTIVATE_USER, channel, repository, rulebook, as_of, now)
    decision = w.decide(key)
    off, on = RecordStatus.DEACTIVATED, RecordStatus.ENABLED
    return w.commit(key, decision, _moved(key, off, on, AuditKind.REACTIVATED, "reactivate"))


#: What a deleted person's required text fields read as.
DELETED_TEXT: Final = "[deleted]"


def tombstone(record: UserRecord) -> UserRecord:
    """What is kept of ``record`` once its person's data is deleted: the key, status
    Deleted, an email no one has (``deleted.<digest>@deleted.invalid``: the address is
    free for the person to register again), every other required text ``"[deleted]"``
    and every optional field empty."""
    values: dict[str, Any] = {}
    digest = hashlib.sha256(record.legacy_contact_key.encode("utf-8")).hexdigest()[:24]
    for spec in field_specs(type(record)):
        if spec.role == "identifier":
            values[spec.name] = getattr(record, spec.name)
        elif spec.role == "email":
            values[spec.name] = f"deleted.{digest}@deleted.invalid"
        elif spec.kind is FieldKind.ENUM and spec.enum is RecordStatus:
            values[spec.name] = RecordStatus.DELETED
        elif spec.kind is FieldKind.TEXT:
            values[spec.name] = DELETED_TEXT
    return type(record)(**values)


def delete_personal_data(
    tenant: Tenant,
    actor: Actor,
    key: str,
    repository: Repository,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
) -> WriteResult:
    """Delete a person's data (``DELETE_PERSONAL_DATA``): not a deactivation, and final.

    The record is kept as its :func:`tombstone` (status Deleted), so that no upload,
    push or sync brings the person back (``DEACTIVATE_NOT_DELETE``); in the same
    transaction every earlier audit event of the record has its personal values
    replaced by ``"[redacted]"`` (what is kept: when, who, which fields, the kinds, the
    rules, the key and the status changes). The event of the deletion itself (kind
    ``redacted``) names the fields it cleared, without their values.

    >>> import datetime as dt
    >>> import provisioning as pv
    >>> from provisioning.adapters import MemoryRepository
    >>> site = pv.Tenant(id="harbor", name="Harbor", products={"community": "standalone"})
    >>> repo, sa = MemoryRepository(), pv.Actor(id="sa-1", role="super_admin")
    >>> ada = pv.UserRecord(legacy_contact_key="1001", first_name="Ada", last_name="Byron",
    ...                     email="ada@example.com", company_name="Analytical Engines")
    >>> _ = create_user(site, sa, ada, repo)
    >>> _ = edit_user(site, sa, "1001", {"last_name": "King"}, repo)
    >>> gone = delete_personal_data(site, sa, "1001", repo)
    >>> gone.record.status.value, gone.record.first_name, gone.record.email
    ('Deleted', '[deleted]', 'deleted.fe675fe7aaee830b6fed09b6@deleted.invalid')
    >>> for event in repo.events("harbor"):
    ...     print(event.kind.value, [str(c) for c in event.changes][:1])
    created []
    updated ["last_name: '[redacted]' -> '[redacted]'"]
    redacted ["first_name: '[redacted]' -> '[redacted]'"]
    """
    key = check_type(key, str, "key", "a record key (a string)")
    w = _write(
        tenant, actor, Action.DELETE_PERSONAL_DATA, Channel.ADMIN, repository, rulebook, as_of, now
    )
    decision = w.decide(key)

    def erase(stored: UserRecord | None) -> tuple[UserRecord, AuditKind]:
        return tombstone(_found(key, stored)), AuditKind.REDACTED

    return w.commit(key, decision, erase)
