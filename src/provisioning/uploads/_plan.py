"""Plan an upload: compare a file's records with the stored ones, then say what would change.

The plan is the dry run: :func:`apply_plan` commits exactly what the plan holds, so
what a person reviewed is what is written. This module is the algorithm; the values a
plan holds are in ``_results``, the checks that hold a plan back in ``_safeguards``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable, Mapping

import attrs

from .._clock import today
from .._fields import make_carry, make_equal, make_replace
from .._validators import check_day, check_type, to_enum
from ..actors import Action, Actor, Role
from ..catalog import Product
from ..exceptions import InvalidValueError
from ..records import RecordStatus, UserRecord
from ..repository import Repository, UploadMode
from ..rules import DEFAULT_RULEBOOK, RuleBook
from ..spreadsheet import Column, Reader, RowError
from ..tenants import Tenant
from ._results import RECORD_FIELDS, Conflict, Update, UploadPlan
from ._safeguards import Facts, Safeguard, check_safeguards, overrides_of
from ._stored import tenant_as_stored

__all__ = ["plan_upload"]


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


def plan_upload(
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
    """Plan a Community upload against what ``repository`` stores for ``tenant``.

    ``rows`` is what :func:`provisioning.spreadsheet.read` yields: records and row
    errors in file order (a plain iterable of records works too). Row errors are
    reported and hold the plan unless ``row_errors`` is overridden; a stored record
    whose row has errors is then left as it is, never deactivated by a full import
    (any key that appears in a row with errors, however broken the row, spares its
    record). ``overrides`` names the
    safeguards the caller accepts (:class:`Safeguard` values or their names; one
    alone works too); an unknown name raises :class:`~provisioning.InvalidValueError`.
    A record field the file has no column for (when ``rows`` is a spreadsheet
    ``Reader``) keeps its stored value; a plain iterable of records replaces whole
    records, as the vendor's Push API does. ``protected_keys``
    are the keys of Super Admin accounts (one key alone works too); the acting Super
    Admin's own id is always protected. The file is read once, and only when the upload
    is allowed; an item of ``rows`` that is neither a ``UserRecord`` nor a ``RowError``
    raises :class:`~provisioning.InvalidValueError` naming its position when it is
    reached. ``mode`` is an :class:`UploadMode` or its value; ``as_of`` a date.
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
    # The revision first: a writer committing after this read makes the plan stale,
    # so an upload history read below cannot be older than the revision the plan
    # carries (a concurrent first upload cannot let a second one through).
    revision = repository.revision(tenant.id)
    # The history is what makes the standalone initial upload a one-time thing; only
    # Community uploads count (a Marketing upload is no Community initial one).
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
    outcome = _compare(rows, stored, kept)
    row_errors = tuple(outcome.errors)
    conflicts = _resolve_conflicts(outcome, stored, repository, tenant.id)

    deactivations = outcome.deactivations
    missing = outcome.missing
    unreadable = {key: None for key in outcome.errored if key in missing}
    if mode is UploadMode.FULL:
        # In key order: stores list records in no promised order, and the same file on
        # the same records must give the same plan whatever the store.
        deactivated, enabled = RecordStatus.DEACTIVATED, RecordStatus.ENABLED
        left_out = (missing[key] for key in sorted(missing) if key not in unreadable)
        deactivations.extend(
            Update(old, _with_status(old, deactivated)) for old in left_out if old.status is enabled
        )

    if actor.role is Role.SUPER_ADMIN:
        protected.add(actor.id)
    facts = Facts(
        mode=mode,
        settings=rulebook.settings,
        records=stored,
        valid=outcome.valid,
        deactivations=deactivations,
        updates=outcome.updates,
        protected=protected,
        row_errors=row_errors,
        conflicts=conflicts,
    )
    findings, tripped = check_safeguards(rulebook, facts, chosen)
    sso = rulebook.sso_eligibility(effective, product=product, as_of=day)
    # Only a new user who can sign in is told: not one created deactivated or pending.
    enabled = RecordStatus.ENABLED
    notices = (
        ()
        if sso.in_effect
        else tuple(r.legacy_contact_key for r in outcome.creates if r.status is enabled)
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
    errors: list[RowError] = attrs.Factory(list)
    #: The keys in rows with errors, in file order (a dict as an ordered set).
    errored: dict[str, None] = attrs.Factory(dict)
    #: How many valid rows the file has (rows later found in conflict included).
    valid: int = 0


#: ``attrs.evolve(record, status=status)`` with no converter or validator run again: a
#: full import makes one for every stored record it deactivates (generated from the
#: fields; the tests hold it to ``attrs.evolve``).
_with_status: Callable[[UserRecord, RecordStatus], UserRecord] = make_replace(UserRecord, "status")
#: ``a == b`` for two records, a fifth faster: most rows of a file are unchanged
#: (generated from the fields; the tests hold it to ``==``).
_same: Callable[[UserRecord, UserRecord], bool] = make_equal(UserRecord)


def _absent_fields(rows: object) -> frozenset[str]:
    """The record fields a spreadsheet reader's file has no column for (none otherwise)."""
    if not isinstance(rows, Reader):
        return frozenset()
    present = {s.field for s in rows.layout if isinstance(s, Column) and s.field}
    if any(isinstance(s, str) or (isinstance(s, Column) and not s.field) for s in rows.layout):
        present.add("custom")
    return frozenset(RECORD_FIELDS) - present


# What separates the cells of a row with errors, however broken: its keys are found
# among the pieces, so a full import never deactivates a record whose row it could not read.
_PIECES = re.compile(r"[,;\t\r\n\"]")


def _compare(
    rows: Iterable[UserRecord | RowError], stored: Mapping[str, UserRecord], kept: frozenset[str]
) -> _Outcome:
    """Sort each file record into create, update, unchanged, deactivation, reactivation.

    ``kept`` are the fields the file has no column for: a matched record keeps its
    stored values there. Every piece of a row with errors is noted as a possible key,
    so that a full import does not deactivate the record the row was meant to update.
    """
    # Each row takes its stored record out of ``missing``: one dict operation a row,
    # and what is left at the end is what the file does not have.
    out = _Outcome(dict(stored))
    take = out.missing.pop
    carry = make_carry(UserRecord, kept) if kept else None
    new_keys: set[str] = set()
    creates, updates, unchanged = out.creates, out.updates, out.unchanged
    deactivated, enabled = RecordStatus.DEACTIVATED, RecordStatus.ENABLED
    record_type = UserRecord
    for position, item in enumerate(rows):
        if type(item) is not record_type and not isinstance(item, UserRecord):
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
                    for piece in _PIECES.split(cell):
                        if piece := piece.strip():
                            out.errored[piece] = None
            continue
        key = item.legacy_contact_key
        old = take(key, None)
        record = carry(item, old) if carry is not None and old is not None else item
        if old is None:
            if key in stored or key in new_keys:
                out.duplicates.append(
                    Conflict(
                        record, key, f"LegacyContactKey {key!r} appears more than once in the file"
                    )
                )
            else:
                new_keys.add(key)
                creates.append(record)
        elif _same(old, record):
            unchanged.append(key)
        elif old.status is deactivated and record.status is enabled:
            out.reactivations.append(Update(old, record))
        elif record.status is deactivated and old.status is not deactivated:
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
                )
            elif email in taken:
                bad[key] = Conflict(
                    record,
                    taken[email],
                    f"email {record.email!r} is also claimed by {taken[email]!r} in this file",
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
