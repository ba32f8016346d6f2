"""The pre-streaming planner, kept as the oracle of the differential test.

This is ``plan_upload`` as it was before plans were streamed: every stored record read
into memory with ``repository.records()``, the file compared with them in one pass,
email claims settled over the whole lists, full-import deactivations in key order.
``tests/uploads/test_uploads_streamed.py`` holds the streamed planner to it: for any
stored set and any file, both must give the same :class:`~provisioning.UploadPlan`.

Two things differ from the old module, neither in what a plan holds. The safeguards'
facts were derived from the records and lists of changes (the old ``Facts``); they still
are, here, but are handed to the current counter-based :class:`Facts` and to the current
:func:`check_safeguards`, so the findings come from the one safeguard table. And the
generated helpers the old planner used for speed (a record's status replaced, fields
carried, records compared) are written as what the tests hold them to:
``attrs.evolve`` and ``==``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

import attrs

from provisioning._clock import today
from provisioning._validators import check_day, check_type, to_enum
from provisioning.actors import Action, Actor, Role
from provisioning.catalog import Product
from provisioning.exceptions import InvalidValueError
from provisioning.records import RecordStatus, UserRecord
from provisioning.repository import Repository, UploadMode
from provisioning.rules import DEFAULT_RULEBOOK, RuleBook
from provisioning.spreadsheet import Column, Reader, RowError
from provisioning.tenants import Tenant
from provisioning.uploads import Conflict, Update, UploadPlan, tenant_as_stored
from provisioning.uploads._results import RECORD_FIELDS
from provisioning.uploads._safeguards import Facts, Safeguard, check_safeguards, overrides_of

__all__ = ["reference_plan"]

_ENABLED = RecordStatus.ENABLED
_DEACTIVATED = RecordStatus.DEACTIVATED
_DELETED = RecordStatus.DELETED


def _protected(values: object) -> set[str]:
    if isinstance(values, str):
        # One key on its own: its characters are no keys.
        values = (values,)
    if not isinstance(values, Iterable) or isinstance(values, Mapping | bytes):
        raise InvalidValueError(
            f"protected_keys must be a collection of record keys, got "
            f"{type(values).__name__} {values!r}",
            field="protected_keys",
        )
    keys = set()
    for key in values:
        keys.add(check_type(key, str, "protected_keys", "record keys (strings)").strip())
    return keys


def reference_plan(
    tenant: Tenant,
    actor: Actor,
    rows: Iterable[UserRecord | RowError],
    repository: Repository,
    *,
    mode: UploadMode | str = UploadMode.FULL,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    overrides: Safeguard | str | Iterable[Safeguard | str] = (),
    protected_keys: Collection[str] | str = (),
    file_digest: str | None = None,
) -> UploadPlan:
    """Plan a Community upload the pre-streaming way: the stored records all in memory.

    The arguments are those of :func:`provisioning.plan_upload` without ``hold``.
    """
    tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    actor = check_type(actor, Actor, "actor", "an Actor")
    rulebook = check_type(rulebook, RuleBook, "rulebook", "a RuleBook")
    check_type(repository, Repository, "repository", "a Repository")  # type: ignore[type-abstract]
    mode = to_enum(UploadMode, mode, "mode")
    day = check_day(as_of, "as_of") if as_of is not None else today()
    chosen = overrides_of(overrides)
    protected = _protected(protected_keys)
    if file_digest is not None:
        check_type(file_digest, str, "file_digest", "a string or None")
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
        raise InvalidValueError(
            "rows must be an iterable of UserRecord and RowError values (what read() "
            f"yields), got {type(rows).__name__}",
            field="rows",
        )
    product = Product.COMMUNITY
    # The revision first: a writer committing after this read makes the plan stale.
    revision = repository.revision(tenant.id)
    effective = tenant_as_stored(tenant, repository)
    first = not effective.initial_upload_done
    action = Action.INITIAL_UPLOAD if first else Action.SUBSEQUENT_UPLOAD
    decision = rulebook.decide(effective, actor, action, product=product, as_of=day)
    if not decision.allowed:
        return UploadPlan(
            tenant_id=tenant.id,
            product=product,
            mode=mode,
            actor=actor,
            as_of=day,
            decision=decision,
            file_digest=file_digest,
        )

    stored: dict[str, UserRecord] = {r.legacy_contact_key: r for r in repository.records(tenant.id)}
    kept = _absent_fields(rows)
    # What is left of a deleted person is no record: its rows are left out, reported.
    live = {k: r for k, r in stored.items() if r.status is not _DELETED}
    outcome = _compare(rows, live, kept, deleted=stored.keys() - live.keys())
    row_errors = tuple(outcome.errors)
    identity = _resolve_conflicts(outcome, stored, repository, tenant.id)
    # Rows of deleted persons are reported with the conflicts but hold no plan.
    conflicts = (*identity, *outcome.erased)

    deactivations = outcome.deactivations
    missing = outcome.missing
    unreadable = {key: None for key in outcome.errored if key in missing}
    if mode is UploadMode.FULL:
        # In key order: stores list records in no promised order.
        left_out = (missing[key] for key in sorted(missing) if key not in unreadable)
        deactivations.extend(
            Update(old, attrs.evolve(old, status=_DEACTIVATED))
            for old in left_out
            if old.status is _ENABLED
        )

    if actor.role is Role.SUPER_ADMIN:
        protected.add(actor.id)
    facts = _facts(
        mode=mode,
        rulebook=rulebook,
        records=live,
        valid=outcome.valid,
        deactivations=deactivations,
        updates=outcome.updates,
        protected=protected,
        row_errors=row_errors,
        conflicts=identity,
    )
    findings, tripped = check_safeguards(rulebook, facts, chosen)
    sso = rulebook.sso_eligibility(effective, product=product, as_of=day)
    # Only a new user who can sign in is told: not one created deactivated or pending.
    notices = (
        ()
        if sso.in_effect
        else tuple(r.legacy_contact_key for r in outcome.creates if r.status is _ENABLED)
    )
    return UploadPlan(
        tenant_id=tenant.id,
        product=product,
        mode=mode,
        actor=actor,
        as_of=day,
        decision=decision,
        revision=revision,
        creates=tuple(outcome.creates),
        updates=tuple(outcome.updates),
        unchanged=tuple(outcome.unchanged),
        deactivations=tuple(deactivations),
        reactivations=tuple(outcome.reactivations),
        conflicts=conflicts,
        row_errors=row_errors,
        unreadable=tuple(unreadable),
        kept_fields=tuple(f for f in RECORD_FIELDS if f in kept),
        rows=outcome.valid + len({e.record for e in row_errors if e.is_error and e.record}),
        password_notices=notices,
        tripped=tripped,
        overrides=chosen,
        findings=findings,
        file_digest=file_digest,
    )


def _facts(
    *,
    mode: UploadMode,
    rulebook: RuleBook,
    records: Mapping[str, UserRecord],
    valid: int,
    deactivations: Sequence[Update],
    updates: Sequence[Update],
    protected: set[str],
    row_errors: Sequence[RowError],
    conflicts: Sequence[Conflict],
) -> Facts:
    """The safeguards' facts, derived as the old ``Facts`` derived them from whole lists."""
    statuses = Counter(r.status for r in records.values())
    admins = sorted(u.key for u in deactivations if u.key in protected)
    demoted = sorted(
        f"{u.key} ({u.new.status.value})"
        for u in updates
        if u.key in protected and u.new.status is not _ENABLED
    )
    lockouts = [f"deactivate Super Admin account(s): {', '.join(admins)}"] if admins else []
    if demoted:
        lockouts.append(f"take Super Admin account(s) out of Enabled: {', '.join(demoted)}")
    return Facts(
        mode=mode,
        settings=rulebook.settings,
        stored=len(records),
        active=len(records) - statuses[_DEACTIVATED],
        enabled=statuses[_ENABLED],
        valid=valid,
        disabled=sum(1 for u in deactivations if u.old.status is _ENABLED),
        demotions=Counter(
            u.new.status.value
            for u in updates
            if u.old.status is _ENABLED and u.new.status is not _ENABLED
        ),
        admin_lockouts=lockouts,
        bad_rows=sum(1 for e in row_errors if e.is_error),
        conflicts=len(conflicts),
    )


@attrs.define
class _Outcome:
    #: The stored records whose key no valid row of the file has.
    missing: dict[str, UserRecord]
    creates: list[UserRecord] = attrs.Factory(list)
    updates: list[Update] = attrs.Factory(list)
    unchanged: list[str] = attrs.Factory(list)
    deactivations: list[Update] = attrs.Factory(list)
    reactivations: list[Update] = attrs.Factory(list)
    duplicates: list[Conflict] = attrs.Factory(list)
    erased: list[Conflict] = attrs.Factory(list)
    errors: list[RowError] = attrs.Factory(list)
    #: The keys in rows with errors, in file order (a dict as an ordered set).
    errored: dict[str, None] = attrs.Factory(dict)
    #: How many valid rows the file has (rows later found in conflict included).
    valid: int = 0


def _absent_fields(rows: object) -> frozenset[str]:
    """The record fields a spreadsheet reader's file has no column for (none otherwise)."""
    if not isinstance(rows, Reader):
        return frozenset()
    present = {s.field for s in rows.layout if isinstance(s, Column) and s.field}
    if any(isinstance(s, str) or (isinstance(s, Column) and not s.field) for s in rows.layout):
        present.add("custom")
    return frozenset(RECORD_FIELDS) - present


# What separates the cells of a row with errors, however broken.
_PIECES = re.compile(r"[,;\t\r\n\"]")


def _carry(record: UserRecord, old: UserRecord, kept: frozenset[str]) -> UserRecord:
    """``record`` with the ``kept`` fields of ``old``."""
    return attrs.evolve(record, **{name: getattr(old, name) for name in kept})


def _compare(
    rows: Iterable[UserRecord | RowError],
    stored: Mapping[str, UserRecord],
    kept: frozenset[str],
    deleted: Collection[str],
) -> _Outcome:
    """Sort each file record into create, update, unchanged, deactivation, reactivation."""
    out = _Outcome(dict(stored))
    take = out.missing.pop
    new_keys: set[str] = set()
    creates, updates, unchanged = out.creates, out.updates, out.unchanged
    for position, item in enumerate(rows):
        if not isinstance(item, UserRecord):
            if not isinstance(item, RowError):
                raise InvalidValueError(
                    f"rows: item {position} is a {type(item).__name__} ({item!r:.80}); "
                    "each must be a UserRecord or a RowError",
                    field="rows",
                )
            out.errors.append(item)
            if item.is_error:
                # A false match only spares a record: never worse than deactivating it.
                for cell in item.row:
                    if whole := cell.strip():
                        out.errored[whole] = None
                    for piece in _PIECES.split(cell):
                        if piece := piece.strip():
                            out.errored[piece] = None
            continue
        key = item.legacy_contact_key
        if key in deleted:
            if key in {c.key for c in out.erased}:
                message = f"LegacyContactKey {key!r} appears more than once in the file"
                out.duplicates.append(Conflict(item, key, message, "duplicate_key"))
            else:
                out.erased.append(
                    Conflict(
                        item,
                        key,
                        f"LegacyContactKey {key!r}: the person's data was deleted, and an "
                        "upload does not bring it back (DEACTIVATE_NOT_DELETE); the row is "
                        "left out",
                        "deleted_record",
                    )
                )
            continue
        old = take(key, None)
        record = _carry(item, old, kept) if kept and old is not None else item
        if old is None:
            if key in stored or key in new_keys:
                out.duplicates.append(
                    Conflict(
                        record,
                        key,
                        f"LegacyContactKey {key!r} appears more than once in the file",
                        "duplicate_key",
                    )
                )
            else:
                new_keys.add(key)
                creates.append(record)
        elif old == record:
            unchanged.append(key)
        elif old.status is _DEACTIVATED and record.status is _ENABLED:
            out.reactivations.append(Update(old, record))
        elif record.status is _DEACTIVATED and old.status is not _DEACTIVATED:
            out.deactivations.append(Update(old, record))
        else:
            updates.append(Update(old, record))
    out.valid = (
        len(creates)
        + len(updates)
        + len(unchanged)
        + len(out.deactivations)
        + len(out.reactivations)
        + len(out.duplicates)
        + len(out.erased)
    )
    return out


def _owner_lookup(
    claims: int, stored: Mapping[str, UserRecord], repository: Repository, tenant_id: str
) -> Callable[[str], str | None]:
    """Who owns an email: asked of the store for a few claims, from an index for many."""
    if claims * 8 < len(stored):

        def ask(email: str) -> str | None:
            record = repository.get_by_email(tenant_id, email)
            return None if record is None else record.legacy_contact_key

        return ask
    return {r.email.lower(): r.legacy_contact_key for r in stored.values()}.get


def _resolve_conflicts(
    outcome: _Outcome, stored: Mapping[str, UserRecord], repository: Repository, tenant_id: str
) -> tuple[Conflict, ...]:
    """Drop rows that would take another record's email; report them as conflicts.

    An email is free when no stored record has it, or when its stored owner is in the
    file with another email (the file moves it). A row dropped here may in turn keep
    its own old email taken, so the check repeats until nothing changes.
    """
    conflicts = list(outcome.duplicates)
    owner: Callable[[str], str | None] | None = None
    while True:
        # The email each key ends with after the upload, for the keys the file moves.
        moved: dict[str, str] = {}
        # The records that claim an email: every new one, and those the file moves.
        claims = list(outcome.creates)
        for group in (outcome.updates, outcome.deactivations, outcome.reactivations):
            for update in group:
                new_email = update.new.email.lower()
                if new_email != update.old.email.lower():
                    moved[update.key] = new_email
                    claims.append(update.new)
        if not claims:
            return tuple(conflicts)
        if owner is None:
            owner = _owner_lookup(len(claims), stored, repository, tenant_id)
        taken: dict[str, str] = {}
        bad: dict[str, Conflict] = {}
        for record in claims:
            email, key = record.email.lower(), record.legacy_contact_key
            holder = owner(email)
            if holder is not None and holder != key and moved.get(holder, email) == email:
                bad[key] = Conflict(
                    record,
                    holder,
                    f"email {record.email!r} belongs to the stored record {holder!r}; "
                    "the row is not applied (no merge, no takeover)",
                    "identity_conflict",
                )
            elif email in taken:
                bad[key] = Conflict(
                    record,
                    taken[email],
                    f"email {record.email!r} is also claimed by {taken[email]!r} in this file",
                    "identity_conflict",
                )
            else:
                taken[email] = key
        if not bad:
            return tuple(conflicts)
        conflicts.extend(bad.values())
        outcome.creates = [r for r in outcome.creates if r.legacy_contact_key not in bad]
        for name in ("updates", "deactivations", "reactivations"):
            kept = [u for u in getattr(outcome, name) if u.key not in bad]
            setattr(outcome, name, kept)
        # A conflicting row still counts as seen: a full import must not deactivate it.
