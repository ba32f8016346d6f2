"""Plan an upload: compare a file's records with the stored ones, then say what would change.

The plan is the dry run: :func:`apply_plan` commits exactly what the plan holds, so
what a person reviewed is what is written.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from operator import attrgetter
from typing import Any

import attrs

from .._clock import today
from .._enum import ValueEnum
from .._fields import field_specs, make_carry, make_equal, make_replace
from .._html import html_table
from .._validators import check_day, check_type, to_enum
from ..actors import Action, Actor, Role
from ..catalog import Product
from ..exceptions import InvalidValueError
from ..records import CustomFields, RecordStatus, UserRecord
from ..repository import Repository, UploadMode
from ..rules import DEFAULT_RULEBOOK, Decision, Finding, RuleBook, Severity
from ..spreadsheet import Column, Reader, RowError
from ..tenants import Tenant
from ._stored import tenant_as_stored

__all__ = [
    "Conflict",
    "FieldChange",
    "Safeguard",
    "Update",
    "UploadCounts",
    "UploadMode",
    "UploadPlan",
    "plan_upload",
]


class Safeguard(ValueEnum):
    """A check that holds a plan until the caller overrides it by name."""

    #: ``SAFEGUARD_EMPTY_FILE``: a full import with no valid row.
    EMPTY_FILE = "empty_file"
    #: ``SAFEGUARD_TRUNCATED_FILE``: a full import far smaller than the stored records.
    TRUNCATED_FILE = "truncated_file"
    #: ``SAFEGUARD_MASS_DEACTIVATION``: more lockouts (deactivations, or moves out of
    #: Enabled to Rejected or Pending) than the allowed share.
    MASS_DEACTIVATION = "mass_deactivation"
    #: ``SAFEGUARD_SUPER_ADMIN``: the upload would deactivate a Super Admin.
    SUPER_ADMIN = "super_admin"
    #: ``SAFEGUARD_ROW_ERRORS``: the file has rows that could not be read.
    ROW_ERRORS = "row_errors"
    #: ``UPLOAD_IDENTITY_CONFLICT``: rows whose email belongs to another stored record.
    IDENTITY_CONFLICT = "identity_conflict"

    @property
    def rule(self) -> str:
        """The rule id of this safeguard."""
        return _SAFEGUARD_RULES[self]


_SAFEGUARD_RULES = {
    Safeguard.EMPTY_FILE: "SAFEGUARD_EMPTY_FILE",
    Safeguard.TRUNCATED_FILE: "SAFEGUARD_TRUNCATED_FILE",
    Safeguard.MASS_DEACTIVATION: "SAFEGUARD_MASS_DEACTIVATION",
    Safeguard.SUPER_ADMIN: "SAFEGUARD_SUPER_ADMIN",
    Safeguard.ROW_ERRORS: "SAFEGUARD_ROW_ERRORS",
    Safeguard.IDENTITY_CONFLICT: "UPLOAD_IDENTITY_CONFLICT",
}

_RECORD_FIELDS = tuple(spec.name for spec in field_specs(UserRecord))


def _shown(value: Any) -> str:
    """A field value for a person: text quoted, a status by its name, a date in ISO 8601."""
    if isinstance(value, ValueEnum):
        return repr(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, CustomFields):
        return repr(dict(value))
    return repr(value)


@attrs.frozen
class FieldChange:
    """One field of one record, before and after."""

    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field}: {_shown(self.old)} -> {_shown(self.new)}"


@attrs.frozen
class Update:
    """A stored record and what the file makes of it."""

    old: UserRecord
    new: UserRecord

    @property
    def key(self) -> str:
        """The record's LegacyContactKey."""
        return self.new.legacy_contact_key

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        """Every field that differs, in the record's field order."""
        old, new = self.old, self.new
        return tuple(
            FieldChange(name, getattr(old, name), getattr(new, name))
            for name in _RECORD_FIELDS
            if getattr(old, name) != getattr(new, name)
        )


@attrs.frozen
class Conflict:
    """A row that would take over another record's identity: reported, never applied.

    ``UPLOAD_IDENTITY_CONFLICT``: the row's email belongs to a stored record with
    another key, and the file does not move that record to another email.
    """

    record: UserRecord
    #: The stored record that owns the email.
    owner_key: str
    message: str

    @property
    def key(self) -> str:
        """The row's LegacyContactKey."""
        return self.record.legacy_contact_key


@attrs.frozen
class UploadCounts:
    """How many of each: rows read, errors, and each kind of change."""

    rows: int = 0
    errors: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    reactivated: int = 0
    conflicts: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict, in field order."""
        return attrs.asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{n} {name}" for name, n in self.as_dict().items())


@attrs.frozen(kw_only=True)
class UploadPlan:
    """What an upload would do, and whether it may be applied.

    A refused plan (``refused``) holds only the decision. Otherwise it holds every
    change, the conflicts and row errors, and the safeguards the plan trips; a tripped
    safeguard holds the plan (``held``) unless the caller overrode it by name.
    """

    tenant_id: str
    product: Product
    mode: UploadMode
    actor: Actor
    as_of: dt.date
    #: The decision that allowed (or refused) the upload.
    decision: Decision
    #: The store's revision the plan was made against; applying checks it.
    revision: int | None = None
    creates: tuple[UserRecord, ...] = ()
    updates: tuple[Update, ...] = ()
    #: Keys of the rows that change nothing.
    unchanged: tuple[str, ...] = ()
    #: Rows saying Deactivated, in file order, then (full mode) the stored records the
    #: file leaves out, in key order.
    deactivations: tuple[Update, ...] = ()
    reactivations: tuple[Update, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    row_errors: tuple[RowError, ...] = ()
    #: Keys of stored records whose row in the file has errors: left as they are, even
    #: by a full import (known when the rows come from a spreadsheet ``Reader``).
    unreadable: tuple[str, ...] = ()
    #: Record fields the file has no column for: matched records keep their stored
    #: values there (a missing Status column never reactivates or approves anyone).
    kept_fields: tuple[str, ...] = ()
    #: The rows read from the file, valid or not.
    rows: int = 0
    #: Keys of the new, enabled users to be told to set a password (no SSO in effect).
    password_notices: tuple[str, ...] = ()
    #: The safeguards this plan trips, overridden or not.
    tripped: frozenset[Safeguard] = frozenset()
    overrides: frozenset[Safeguard] = frozenset()
    #: The safeguard findings, one per tripped safeguard.
    findings: tuple[Finding, ...] = ()
    file_digest: str | None = None

    @property
    def refused(self) -> bool:
        """Whether the rules refuse this upload outright."""
        return not self.decision.allowed

    @property
    def held_by(self) -> frozenset[Safeguard]:
        """The tripped safeguards the caller has not overridden."""
        return self.tripped - self.overrides

    @property
    def applicable(self) -> bool:
        """Whether :func:`apply_plan` would commit this plan."""
        return not self.refused and not self.held_by

    @property
    def rules(self) -> tuple[str, ...]:
        """The rule ids that refuse or hold the plan."""
        if self.refused:
            return tuple(f.rule for f in self.decision.refusals)
        return tuple(f.rule for f in self.findings if f.severity is Severity.ERROR)

    @property
    def counts(self) -> UploadCounts:
        """How many rows and changes of each kind."""
        return UploadCounts(
            rows=self.rows,
            errors=sum(1 for e in self.row_errors if e.is_error),
            created=len(self.creates),
            updated=len(self.updates),
            unchanged=len(self.unchanged),
            deactivated=len(self.deactivations),
            reactivated=len(self.reactivations),
            conflicts=len(self.conflicts),
        )

    def changes(self) -> Iterator[tuple[str, str, Update | UserRecord]]:
        """Every change as ``(kind, key, change)``, kind one of created, updated, ..."""
        for record in self.creates:
            yield "created", record.legacy_contact_key, record
        for kind, group in (
            ("updated", self.updates),
            ("deactivated", self.deactivations),
            ("reactivated", self.reactivations),
        ):
            for update in group:
                yield kind, update.key, update

    def summary(self) -> str:
        """A few lines for a person: verdict, counts, what holds the plan."""
        head = f"upload to {self.tenant_id} ({self.product}, {self.mode}) by {self.actor.id}"
        if self.refused:
            lines = [f"{head}: refused"]
            lines.extend(f"  {f}" for f in self.decision.refusals)
            return "\n".join(lines)
        verdict = "ready to apply" if self.applicable else "held"
        lines = [f"{head}: {verdict}", f"  {self.counts}"]
        lines.extend(f"  {f}" for f in self.findings)
        if self.unreadable:
            lines.append(
                f"  {len(self.unreadable)} stored record(s) whose rows have errors are left "
                "as they are"
            )
        if self.kept_fields:
            lines.append(
                "  fields the file has no column for keep their stored values: "
                + ", ".join(self.kept_fields)
            )
        if self.password_notices:
            lines.append(
                f"  {len(self.password_notices)} new user(s) will be told to set a password"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per change, conflict and row error, for a DataFrame or a CSV."""
        out: list[dict[str, Any]] = []
        for kind, key, change in self.changes():
            fields = "; ".join(str(c) for c in change.changes) if isinstance(change, Update) else ""
            out.append({"kind": kind, "key": key, "line": None, "detail": fields})
        out.extend(
            {"kind": "conflict", "key": c.key, "line": None, "detail": c.message}
            for c in self.conflicts
        )
        out.extend(
            {"kind": f"row_{e.severity}", "key": None, "line": e.line, "detail": str(e)}
            for e in self.row_errors
        )
        return out

    def _repr_html_(self) -> str:
        rows = [(k, str(v)) for k, v in self.counts.as_dict().items()]
        rows += [(f.rule, f.message) for f in (*self.decision.refusals, *self.findings)]
        verdict = "refused" if self.refused else ("ready" if self.applicable else "held")
        return html_table(f"upload to {self.tenant_id}: {verdict}", ("item", "value"), rows)


def _safeguards(values: Safeguard | str | Iterable[Safeguard | str]) -> frozenset[Safeguard]:
    if isinstance(values, Safeguard | str):
        # One name on its own: a string is iterable too, and its letters are no names.
        values = (values,)
    given: object = values
    if not isinstance(given, Iterable) or isinstance(given, Mapping | bytes):
        raise InvalidValueError(
            f"overrides must be a safeguard, its name, or an iterable of them, got "
            f"{type(given).__name__} {given!r}",
            field="overrides",
        )
    out = set()
    for value in values:
        if isinstance(value, Safeguard):
            out.add(value)
            continue
        try:
            out.add(Safeguard(value))
        except ValueError:
            names = ", ".join(s.value for s in Safeguard)
            raise InvalidValueError(
                f"unknown safeguard {value!r}; known safeguards: {names}", field="overrides"
            ) from None
    return frozenset(out)


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
    mode = to_enum(UploadMode, mode, "mode")
    day = check_day(as_of, "as_of") if as_of is not None else today()
    chosen = _safeguards(overrides)
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
    findings, tripped = _check_safeguards(
        rulebook,
        mode=mode,
        stored=len(stored),
        active=functools.cache(lambda: _active_count(stored)),
        valid=outcome.valid,
        deactivations=deactivations,
        updates=outcome.updates,
        protected=protected,
        row_errors=row_errors,
        conflicts=conflicts,
        overrides=chosen,
    )
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
        kept_fields=tuple(f for f in _RECORD_FIELDS if f in kept),
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
    return frozenset(_RECORD_FIELDS) - present


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


_status_of = attrgetter("status")


def _active_count(stored: Mapping[str, UserRecord]) -> int:
    """How many stored records are not deactivated."""
    return len(stored) - Counter(map(_status_of, stored.values()))[RecordStatus.DEACTIVATED]


def _check_safeguards(
    book: RuleBook,
    *,
    mode: UploadMode,
    stored: int,
    active: Callable[[], int],
    valid: int,
    deactivations: list[Update],
    updates: list[Update],
    protected: set[str],
    row_errors: tuple[RowError, ...],
    conflicts: tuple[Conflict, ...],
    overrides: frozenset[Safeguard],
) -> tuple[tuple[Finding, ...], frozenset[Safeguard]]:
    """The safeguards the plan trips, as findings: errors, or warnings when overridden.

    Shares are of the stored records that are not deactivated (``active()``, counted
    only when the stored total does not settle the question): records deactivated long
    ago are no part of what a file lists, nor can an upload deactivate them again.
    """
    settings = book.settings
    truncated, most = settings.truncated_file_share, settings.max_deactivation_share
    found: list[tuple[Safeguard, str]] = []
    if mode is UploadMode.FULL and stored:
        if valid == 0:
            if active():
                message = f"a full import with no valid row would deactivate all {active()}"
                found.append((Safeguard.EMPTY_FILE, f"{message} active stored records"))
        elif valid < truncated * stored and valid < truncated * active():
            message = f"the file has {valid} valid rows for {active()} active stored records"
            found.append(
                (
                    Safeguard.TRUNCATED_FILE,
                    f"{message} (less than {truncated:.0%}): is it truncated?",
                )
            )
    # SAFEGUARD_MASS_DEACTIVATION counts every lockout: a deactivation, and any update
    # that takes an Enabled record out of Enabled (Rejected, Pending Approval...).
    enabled = RecordStatus.ENABLED
    demotions = Counter(
        u.new.status.value
        for u in updates
        if u.old.status is enabled and u.new.status is not enabled
    )
    count = len(deactivations) + demotions.total()
    if count and (count > most * stored or count > most * active()):
        if demotions:
            ways = Counter({RecordStatus.DEACTIVATED.value: len(deactivations)}) + demotions
            how = ", ".join(f"{n} to {status}" for status, n in sorted(ways.items()))
            message = (
                f"the upload would take {count} of {active()} active stored records out of "
                f"Enabled ({how})"
            )
        else:
            message = f"the upload would deactivate {count} of {active()} active stored records"
        found.append((Safeguard.MASS_DEACTIVATION, f"{message} (more than {most:.0%})"))
    # SAFEGUARD_SUPER_ADMIN: no upload locks a Super Admin out, by deactivation or by
    # any other status that is not Enabled (Pending Approval, Rejected...).
    admins = sorted(u.key for u in deactivations if u.key in protected)
    demoted = sorted(
        f"{u.key} ({u.new.status.value})"
        for u in updates
        if u.key in protected and u.new.status is not enabled
    )
    parts = [f"deactivate Super Admin account(s): {', '.join(admins)}"] if admins else []
    if demoted:
        parts.append(f"take Super Admin account(s) out of Enabled: {', '.join(demoted)}")
    if parts:
        found.append((Safeguard.SUPER_ADMIN, "the upload would " + "; and ".join(parts)))
    bad_rows = sum(1 for e in row_errors if e.is_error)
    if bad_rows:
        found.append(
            (
                Safeguard.ROW_ERRORS,
                (
                    f"{bad_rows} row problem(s) in the file; apply the valid rows only by "
                    f"overriding {Safeguard.ROW_ERRORS.value!r}"
                ),
            )
        )
    if conflicts:
        found.append(
            (
                Safeguard.IDENTITY_CONFLICT,
                f"{len(conflicts)} row(s) conflict with stored identities and are left out",
            )
        )
    findings = tuple(
        book.finding(
            guard.rule,
            Severity.WARNING if guard in overrides else Severity.ERROR,
            f"{message} (overridden)"
            if guard in overrides
            else f"{message}; override: {guard.value}",
        )
        for guard, message in found
    )
    return findings, frozenset(guard for guard, _ in found)
