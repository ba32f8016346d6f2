"""Plan an upload: compare a file's records with the stored ones, then say what would change.

The plan is the dry run: :func:`apply_plan` commits exactly what the plan holds, so
what a person reviewed is what is written. This module is the algorithm; the values a
plan holds are in ``_results``, the checks that hold a plan back in ``_safeguards``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from .._clock import today
from .._fields import make_carry, make_equal, make_replace
from .._gc import collector_paused
from .._validators import check_day, check_type, to_enum
from ..actors import Action, Actor, Role
from ..audit import Channel
from ..catalog import Product
from ..exceptions import InvalidValueError, RepositoryError
from ..records import RecordStatus, UserRecord
from ..repository import Repository, UploadMode
from ..rules import DEFAULT_RULEBOOK, Decision, RuleBook
from ..spreadsheet import Column, Reader, RowError
from ..tenants import Tenant
from ._lookups import Lookups, lookups
from ._results import RECORD_FIELDS, Conflict, RowLog, Update, UploadPlan
from ._safeguards import Facts, Safeguard, check_safeguards, overrides_of
from ._spill import Spill, error_spill, record_spill, string_spill, update_spill
from ._stored import tenant_as_stored

#: How many changes of each kind a plan keeps in memory; the rest go to a temporary file.
HOLD: Final = 10_000

__all__ = ["HOLD", "check_protected", "plan_rows", "plan_upload"]


def check_protected(values: object) -> set[str]:
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
    hold: int = HOLD,
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

    Memory is bounded by the work, not by the tenant: stored records are looked up a
    batch of rows at a time when the repository is a
    :class:`~provisioning.repository.BatchReader` (read whole otherwise), and each
    list of changes keeps its first ``hold`` items in memory and the rest in a temporary
    file (the plan then holds a read-only sequence in place of a tuple).
    """
    tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    actor = check_type(actor, Actor, "actor", "an Actor")
    rulebook = check_type(rulebook, RuleBook, "rulebook", "a RuleBook")
    check_type(repository, Repository, "repository", "a Repository")  # type: ignore[type-abstract]
    mode = to_enum(UploadMode, mode, "mode")
    day = check_day(as_of, "as_of") if as_of is not None else today()
    chosen = overrides_of(overrides)
    protected = check_protected(protected_keys)
    if file_digest is not None:
        check_type(file_digest, str, "file_digest", "a string or None")
    if type(hold) is not int or hold < 0:
        raise InvalidValueError(
            f"hold must be a whole number, 0 or more, got {hold!r}", field="hold"
        )
    if isinstance(rows, Reader) and rows.started:
        # Rows read before would be neither planned nor deactivated: the plan would lie.
        raise InvalidValueError(
            "rows: the reader has been read from already; plan with a new reader",
            field="rows",
        )
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

    return plan_rows(
        tenant=tenant,
        actor=actor,
        decision=decision,
        effective=effective,
        rows=rows,
        repository=repository,
        mode=mode,
        rulebook=rulebook,
        day=day,
        chosen=chosen,
        protected=protected,
        file_digest=file_digest,
        hold=hold,
        revision=revision,
    )


def plan_rows(
    *,
    tenant: Tenant,
    actor: Actor,
    decision: Decision,
    effective: Tenant,
    rows: Iterable[UserRecord | RowError],
    repository: Repository,
    mode: UploadMode,
    rulebook: RuleBook,
    day: dt.date,
    chosen: frozenset[Safeguard],
    protected: set[str],
    file_digest: str | None,
    hold: int,
    revision: int,
    channel: Channel = Channel.UPLOAD,
    left_alone: Sequence[Conflict] = (),
    store: Lookups | None = None,
) -> UploadPlan:
    """The plan of ``rows`` once the decision allowed it (arguments already checked).

    ``left_alone`` are rows the caller reports and leaves out for its own reasons (a
    revert: the records changed again since); it is read once ``rows`` is read through.
    ``store`` answers the planner's questions in place of the repository's own lookups
    (a revert's, which has read the records of its rows already).
    """
    product = Product.COMMUNITY
    if actor.role is Role.SUPER_ADMIN:
        protected.add(actor.id)
    if store is None:
        store = lookups(repository, tenant.id)
    planner = _Planner(store, rows, protected, hold)
    with collector_paused():  # millions of short-lived objects, none in a cycle
        planner.read(rows)
        conflicts = planner.resolve_conflicts()
        planner.finish(mode)
    facts = planner.facts(mode, rulebook, len(conflicts))
    findings, tripped = check_safeguards(rulebook, facts, chosen)
    sso = rulebook.sso_eligibility(effective, product=product, as_of=day)
    # Only a new user who can sign in is told: not one created deactivated or pending.
    notices: Sequence[str] = () if sso.in_effect else planner.notices.seal()
    return UploadPlan(
        tenant_id=tenant.id,
        product=product,
        mode=mode,
        actor=actor,
        as_of=day,
        decision=decision,
        revision=revision,
        creates=planner.creates.seal(),
        updates=planner.updates.seal(),
        unchanged=planner.unchanged.seal(),
        deactivations=planner.deactivations.seal(),
        reactivations=planner.reactivations.seal(),
        conflicts=(*conflicts, *planner.erased, *left_alone),
        row_errors=planner.errors.seal(),
        unreadable=planner.unreadable,
        kept_fields=tuple(f for f in RECORD_FIELDS if f in planner.kept),
        rows=planner.valid + len(planner.bad_records),
        password_notices=notices,
        tripped=tripped,
        overrides=chosen,
        findings=findings,
        file_digest=file_digest,
        channel=channel,
        row_log=planner.row_log(),
    )


#: Valid rows looked up in the store at once (and stored records left out of a full
#: import, deactivated at once): one query a batch, one batch of records in memory.
ROWS_PER_BATCH = 2000

#: ``attrs.evolve(record, status=status)`` with no converter or validator run again: a
#: full import makes one for every stored record it deactivates (generated from the
#: fields; the tests hold it to ``attrs.evolve``).
_with_status: Callable[[UserRecord, RecordStatus], UserRecord] = make_replace(UserRecord, "status")
#: ``a == b`` for two records, a fifth faster: most rows of a file are unchanged
#: (generated from the fields; the tests hold it to ``==``).
_same: Callable[[UserRecord, UserRecord], bool] = make_equal(UserRecord)

_ENABLED, _DEACTIVATED = RecordStatus.ENABLED, RecordStatus.DEACTIVATED
_DELETED = RecordStatus.DELETED
#: The lists a claim of an email can be in, in the order conflicts are looked for.
_GROUPS = ("creates", "updates", "deactivations", "reactivations")


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


@attrs.define
class _Claim:
    """A row that gives a record an email it did not hold: checked once the file is read."""

    group: str
    key: str
    #: The email, lower-cased.
    email: str
    #: The stored record holding the email, when it is another record.
    holder: str | None
    record: UserRecord
    change: UserRecord | Update
    #: The row's index among the records read (for the plan's row log).
    index: int


#: What each group of changes is in the plan's row log.
_OUTCOMES = {
    "creates": RowLog.CREATED,
    "updates": RowLog.UPDATED,
    "deactivations": RowLog.DEACTIVATED,
    "reactivations": RowLog.REACTIVATED,
}


def key_cell(rows: object) -> tuple[int | None, int]:
    """Where a spreadsheet reader's rows have their key cell, and how many cells a row has."""
    if not isinstance(rows, Reader):
        return None, 0
    key = rows.template.key
    for index, slot in enumerate(rows.layout):
        if isinstance(slot, Column) and slot.header == key:
            return index, len(rows.layout)
    return None, len(rows.layout)  # pragma: no cover - a reader has its key column


class _Planner:
    """One pass over a file: each batch of rows against the stored records of its keys.

    Memory holds one batch of stored records, the row problems, and the changes up to
    ``hold`` of each kind (the rest go to temporary files, see ``_spill``). Which stored
    records the file has is asked of the spreadsheet reader's duplicate index (a plain
    iterable of records gets a set of its keys). A row that gives a record an email a
    stored record holds is settled only once the whole file is read, since the holder
    may move to another email further down; such rows are kept aside, few as they are.
    """

    def __init__(self, store: Lookups, rows: object, protected: set[str], hold: int) -> None:
        self.store = store
        self.protected = protected
        # The reader's duplicate index is of its template's key column: it answers for
        # LegacyContactKey only when that is the key column (as in the Community template).
        self.reader = (
            rows
            if isinstance(rows, Reader)
            and rows.template.key != rows.template.email
            and rows.template.column(rows.template.key).field == "legacy_contact_key"
            else None
        )
        #: The keys of the valid rows, for input that is no spreadsheet reader.
        self.seen: set[str] | None = None if self.reader is not None else set()
        self.kept = _absent_fields(rows)
        self.carry = make_carry(UserRecord, self.kept) if self.kept else None
        self.creates = record_spill(hold)
        self.updates = update_spill(hold)
        self.deactivations = update_spill(hold)
        self.reactivations = update_spill(hold)
        self.unchanged = string_spill(hold)
        self.notices = string_spill(hold)
        self.groups: dict[str, Spill[Any]] = {
            "creates": self.creates,
            "updates": self.updates,
            "deactivations": self.deactivations,
            "reactivations": self.reactivations,
        }
        #: Row problems, warnings included (one a row can be one for every row).
        self.errors = error_spill(hold)
        self.bad_rows = 0
        #: The data rows that have errors (each counts once among the rows read).
        self.bad_records: set[int] = set()
        #: The pieces of rows with errors that may be keys, in file order (an ordered set).
        self.errored: dict[str, None] = {}
        self.duplicates: list[Conflict] = []
        #: Rows of records whose person's data was deleted: left out, reported.
        self.erased: list[Conflict] = []
        self.claims: dict[str, list[_Claim]] = {group: [] for group in _GROUPS}
        #: Every key the file moves to another email, and the email (lower-cased).
        self.moved: dict[str, str] = {}
        self.valid = 0
        # What the safeguards count, kept as the changes are made.
        self.disabled = 0
        self.demotions: Counter[str] = Counter()
        self.admins_deactivated: set[str] = set()
        self.admins_demoted: set[tuple[str, str]] = set()
        self.stored = self.deactivated = self.enabled = 0
        self.unreadable: tuple[str, ...] = ()
        # The row log: a few bytes a row, saying in input order what became of each.
        self.order = bytearray()
        self.outcomes = bytearray()
        self.records: array[int] = array("I")
        self.lines: array[int] = array("I")
        self.left_out: dict[int, Conflict] = {}
        self.key_at, self.width = key_cell(rows)
        self.source = rows if isinstance(rows, Reader) else None

    def row_log(self) -> RowLog:
        """What became of each row, in input order."""
        return RowLog(
            order=self.order,
            outcomes=self.outcomes,
            records=self.records,
            lines=self.lines,
            conflicts=self.left_out,
            key_at=self.key_at,
            width=self.width,
        )

    # -- the file ----------------------------------------------------------------------

    def read(self, rows: Iterable[UserRecord | RowError]) -> None:
        """Sort each row of the file into a change, a conflict, or a row problem."""
        batch: list[UserRecord] = []
        record_type = UserRecord
        order, records, lines = self.order, self.records, self.lines
        source = self.source
        key_line = self.reader.key_line if self.reader is not None else None
        for position, item in enumerate(rows):
            if type(item) is record_type or isinstance(item, UserRecord):
                order.append(0)  # RowLog.RECORD
                if source is not None:
                    records.append(source.last_record)
                    lines.append(key_line(item.legacy_contact_key) or 0 if key_line else 0)
                else:
                    records.append(0)
                    lines.append(0)
                batch.append(item)
                if len(batch) >= ROWS_PER_BATCH:
                    self._batch(batch)
                    batch = []
                continue
            if not isinstance(item, RowError):
                raise InvalidValueError(
                    f"rows: item {position} is a {type(item).__name__} ({item!r:.80}); "
                    "each must be a UserRecord or a RowError",
                    field="rows",
                )
            order.append(1)  # RowLog.PROBLEM
            self.errors.append(item)
            if item.is_error:
                self.bad_rows += 1
                if item.record:
                    self.bad_records.add(item.record)
                # A false match only spares a record: never worse than deactivating it.
                errored = self.errored
                for cell in item.row:
                    if whole := cell.strip():
                        errored[whole] = None  # a key may hold a separator itself
                    for piece in _PIECES.split(cell):
                        if piece := piece.strip():
                            errored[piece] = None
        self._batch(batch)

    def _batch(self, records: list[UserRecord]) -> None:  # noqa: PLR0915 - the hot loop, kept flat
        if not records:
            return
        first = self.valid
        self.valid += len(records)
        stored = self.store.get_many([r.legacy_contact_key for r in records])
        seen, carry = self.seen, self.carry
        creates, unchanged, notices = self.creates, self.unchanged, self.notices
        outcomes, left_out = self.outcomes, self.left_out
        claims: list[tuple[str, UserRecord, UserRecord | Update, int]] = []
        for index, item in enumerate(records, start=first):
            key = item.legacy_contact_key
            if seen is not None:
                if key in seen:
                    message = f"LegacyContactKey {key!r} appears more than once in the file"
                    conflict = Conflict(item, key, message, "duplicate_key")
                    self.duplicates.append(conflict)
                    outcomes.append(RowLog.CONFLICT)
                    left_out[index] = conflict
                    continue
                seen.add(key)
            old = stored.get(key)
            if old is None:
                creates.append(item)
                outcomes.append(RowLog.CREATED)
                if item.status is _ENABLED:
                    notices.append(key)
                claims.append(("creates", item, item, index))
                continue
            if old.status is _DELETED:
                # DEACTIVATE_NOT_DELETE: no upload brings a deleted person back. Reported
                # with the conflicts, it holds no plan (the file may well still list them).
                message = (
                    f"LegacyContactKey {key!r}: the person's data was deleted, and an upload "
                    "does not bring it back (DEACTIVATE_NOT_DELETE); the row is left out"
                )
                conflict = Conflict(item, key, message, "deleted_record")
                self.erased.append(conflict)
                outcomes.append(RowLog.CONFLICT)
                left_out[index] = conflict
                continue
            record = carry(item, old) if carry is not None else item
            if _same(old, record):
                unchanged.append(key)
                outcomes.append(RowLog.UNCHANGED)
                continue
            update = Update(old, record)
            if old.status is _DEACTIVATED and record.status is _ENABLED:
                group = "reactivations"
            elif record.status is _DEACTIVATED and old.status is not _DEACTIVATED:
                group = "deactivations"
            else:
                group = "updates"
            self.groups[group].append(update)
            outcomes.append(_OUTCOMES[group])
            self._tally(group, update, 1)
            email = record.email.lower()
            if email != old.email.lower():
                self.moved[key] = email
                claims.append((group, record, update, index))
        if claims:
            self._claim(claims)

    def _claim(self, claims: list[tuple[str, UserRecord, UserRecord | Update, int]]) -> None:
        """Note the claims to check at the end: every one, or (the reader having refused
        repeated emails already) those of an email another stored record holds."""
        owners = self.store.email_owners([record.email.lower() for _, record, _, _ in claims])
        every = self.reader is None
        for group, record, change, index in claims:
            email, key = record.email.lower(), record.legacy_contact_key
            holder = owners.get(email)
            if holder == key:
                holder = None
            if every or holder is not None:
                self.claims[group].append(_Claim(group, key, email, holder, record, change, index))

    def _tally(self, group: str, update: Update, sign: int) -> None:
        """Count ``update`` in (``sign`` 1) or out (-1) of what the safeguards look at."""
        old, new, key = update.old, update.new, update.key
        admin = key in self.protected
        if group == "deactivations":
            if old.status is _ENABLED:
                self.disabled += sign
            if admin:
                _mark(self.admins_deactivated, key, sign)
        elif group == "updates" and new.status is not _ENABLED:
            if old.status is _ENABLED:
                self.demotions[new.status.value] += sign
            if admin:
                _mark(self.admins_demoted, (key, new.status.value), sign)

    # -- once the file is read ---------------------------------------------------------

    def resolve_conflicts(self) -> tuple[Conflict, ...]:
        """Drop rows that would take another record's email; report them as conflicts.

        An email is free when no stored record has it, or when its stored owner is in the
        file with another email (the file moves it). A row dropped here may in turn keep
        its own old email taken, so the check repeats until nothing changes.
        """
        conflicts = list(self.duplicates)
        dropped: dict[str, _Claim] = {}
        moved = self.moved
        while True:
            taken: dict[str, str] = {}
            bad: dict[str, tuple[_Claim, Conflict]] = {}
            for claim in itertools.chain.from_iterable(self.claims[g] for g in _GROUPS):
                key, email, holder = claim.key, claim.email, claim.holder
                if key in dropped:
                    continue
                if holder is not None and moved.get(holder, email) == email:
                    message = (
                        f"email {claim.record.email!r} belongs to the stored record {holder!r}; "
                        "the row is not applied (no merge, no takeover)"
                    )
                    bad[key] = claim, Conflict(claim.record, holder, message, "identity_conflict")
                elif email in taken:
                    message = (
                        f"email {claim.record.email!r} is also claimed by {taken[email]!r} in "
                        "this file"
                    )
                    conflict = Conflict(claim.record, taken[email], message, "identity_conflict")
                    bad[key] = claim, conflict
                else:
                    taken[email] = key
            if not bad:
                break
            for key, (claim, conflict) in bad.items():
                conflicts.append(conflict)
                dropped[key] = claim
                self.outcomes[claim.index] = RowLog.CONFLICT
                self.left_out[claim.index] = conflict
                moved.pop(key, None)
        # A conflicting row still counts as seen: a full import must not deactivate it.
        for group in _GROUPS:
            out = [c for c in dropped.values() if c.group == group]
            if out:
                self.groups[group].discard({c.key for c in out}, len(out))
        for claim in dropped.values():
            if isinstance(claim.change, Update):
                self._tally(claim.group, claim.change, -1)
        told = [
            c.key for c in dropped.values() if c.group == "creates" and c.record.status is _ENABLED
        ]
        if told:
            self.notices.discard(set(told), len(told))
        return tuple(conflicts)

    def finish(self, mode: UploadMode) -> None:
        """Go through the stored records in key order: count them, and find those the
        file leaves out (a full import deactivates the Enabled ones) or cannot read."""
        reader, seen, errored = self.reader, self.seen, self.errored
        has = (lambda key: reader.key_line(key) is not None) if reader is not None else None
        full = mode is UploadMode.FULL
        unreadable: set[str] = set()
        left_out: list[str] = []
        stored = deactivated = enabled = 0
        last: str | None = None
        for key, status in self.store.statuses():
            if last is not None and key <= last:
                # A key repeated (or out of order) would be deactivated twice, or missed.
                raise RepositoryError(
                    f"the repository's statuses() gave {key!r} after {last!r}: keys must come "
                    "in key order, each once; nothing was planned"
                )
            last = key
            if status is _DELETED:
                continue  # what is left of a deleted person is no record to count or keep
            stored += 1
            if status is _ENABLED:
                enabled += 1
            elif status is _DEACTIVATED:
                deactivated += 1
            if has(key) if has is not None else key in seen:  # type: ignore[operator]
                continue
            if key in errored:
                unreadable.add(key)
            elif full and status is _ENABLED:
                left_out.append(key)
                if len(left_out) >= ROWS_PER_BATCH:
                    self._deactivate(left_out)
                    left_out = []
        self._deactivate(left_out)
        self.stored, self.deactivated, self.enabled = stored, deactivated, enabled
        self.unreadable = tuple(k for k in errored if k in unreadable)

    def _deactivate(self, keys: list[str]) -> None:
        """Deactivate the stored records of ``keys``, which the full import leaves out."""
        if not keys:
            return
        found = self.store.get_many(keys)
        for key in keys:
            old = found.get(key)
            if old is not None and old.status is _ENABLED:
                update = Update(old, _with_status(old, _DEACTIVATED))
                self.deactivations.append(update)
                self._tally("deactivations", update, 1)

    def facts(self, mode: UploadMode, rulebook: RuleBook, conflicts: int) -> Facts:
        """What the safeguards look at."""
        admins = sorted(self.admins_deactivated)
        demoted = sorted(f"{key} ({status})" for key, status in self.admins_demoted)
        lockouts = [f"deactivate Super Admin account(s): {', '.join(admins)}"] if admins else []
        if demoted:
            lockouts.append(f"take Super Admin account(s) out of Enabled: {', '.join(demoted)}")
        return Facts(
            mode=mode,
            settings=rulebook.settings,
            stored=self.stored,
            active=self.stored - self.deactivated,
            enabled=self.enabled,
            valid=self.valid,
            disabled=self.disabled,
            demotions=+self.demotions,
            admin_lockouts=lockouts,
            bad_rows=self.bad_rows,
            conflicts=conflicts,
        )


def _mark(marks: set[Any], value: object, sign: int) -> None:
    if sign > 0:
        marks.add(value)
    else:
        marks.discard(value)
