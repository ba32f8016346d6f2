"""Plan a Marketing upload: a contact file against the stored contacts, then what would change.

The same steps as a Community upload (``_plan``), on contacts: the rulebook decides
(``UPLOAD_COMMUNITY_OR_MARKETING``, ``UPLOAD_SUPER_ADMIN_ONLY``), each row is matched to
the stored contact of its key (``MARKETING_CONTACT_KEY``), the safeguards of
``_safeguards`` hold the plan, and :func:`~provisioning.apply_plan` commits it whole.
What differs is the domain's: rows the vendor skips (a repeated or invalid email) are
reported and leave the rest loading, a contact's subscription is never changed by a
contact file (``MARKETING_SUBSCRIPTION_UPLOADS``), and the contacts a file leaves out
are kept (``MARKETING_LEFT_OUT_KEPT``, ours: a host may have a full import unsubscribe them).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from .._clock import today
from .._fields import FieldKind, field_specs, make_carry, make_equal
from .._gc import collector_paused
from .._html import html_table
from .._validators import check_day, check_type, to_enum
from ..actors import Action, Actor
from ..audit import Channel, FieldChange, contact_changes
from ..catalog import MarketingEdition, Product
from ..exceptions import InvalidValueError
from ..records import Contact, ContactKey, SubscriptionStatus
from ..repository import ContactStore, Repository, UploadMode
from ..rules import DEFAULT_RULEBOOK, Decision, Finding, RuleBook, RuleId, Severity
from ..spreadsheet import (
    DEFAULT_MAX_FILE_SIZE,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    MARKETING_PROFESSIONAL,
    Column,
    DateOrder,
    Reader,
    RowError,
    RowSeverity,
    Template,
    read,
)
from ..tenants import Tenant
from ._file import spool_file
from ._plan import HOLD, key_cell
from ._results import PlanVerdict, RowLog
from ._safeguards import Facts, Safeguard, check_safeguards, overrides_of
from ._spill import Spill, contact_spill, contact_update_spill, error_spill, string_spill

__all__ = [
    "ContactConflict",
    "ContactCounts",
    "ContactPlan",
    "ContactUpdate",
    "contact_template",
    "plan_contacts",
    "plan_contacts_file",
]

_MARKETING = Product.MARKETING
_SUBSCRIBED = SubscriptionStatus.SUBSCRIBED
_UNSUBSCRIBED = SubscriptionStatus.UNSUBSCRIBED
#: Contact fields a file may lack a column for (all but the email, which every contact
#: file has, and the subscription, which none has): the stored value is kept then.
_OPTIONAL_FIELDS = tuple(
    s.name for s in field_specs(Contact) if s.role != "email" and s.kind is not FieldKind.ENUM
)
#: Rows matched against the store at once.
_ROWS_PER_BATCH = 2000
# What separates the cells of a row with errors: its key may be among the pieces.
_PIECES = re.compile(r"[,;\t\r\n\"]")
#: ``a == b`` for two contacts, without attrs' generic comparison: most rows of a file
#: are unchanged.
_same = make_equal(Contact)


def contact_template(tenant: Tenant) -> Template[Contact]:
    """The contact file ``tenant``'s Marketing uploads take (``MARKETING_CONTACT_KEY``).

    Professional: tab-delimited, keyed by email; Enterprise: CSV, keyed by email or, when
    the tenant's ``marketing_key`` is ``member_id``, by member id.

    >>> import provisioning as pv
    >>> pro = pv.Tenant(id="acme", name="Acme", products={"marketing": "spreadsheet_upload"},
    ...                 marketing_edition="professional")
    >>> contact_template(pro).name, contact_template(pro).delimiter
    ('Marketing Professional contacts', '\\t')
    """
    tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    if tenant.marketing_edition is MarketingEdition.PROFESSIONAL:
        return MARKETING_PROFESSIONAL
    if tenant.marketing_key is ContactKey.MEMBER_ID:
        return MARKETING_ENTERPRISE_BY_MEMBER_ID
    return MARKETING_ENTERPRISE


@attrs.frozen
class ContactUpdate:
    """A stored contact and what the file makes of it."""

    key: str
    old: Contact
    new: Contact

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        """Every field that differs, in the contact's field order, as plain values."""
        return contact_changes(self.old, self.new)


@attrs.frozen
class ContactConflict:
    """A row left out: its email belongs to another stored contact (``identity_conflict``),
    or its key or email repeats an earlier row of input that is no spreadsheet reader
    (``duplicate_key``, ``duplicate_email``)."""

    contact: Contact
    #: The key the row would have had.
    key: str
    #: The contact that keeps the email (or the earlier row's key).
    owner_key: str
    message: str
    code: str = "identity_conflict"


@attrs.frozen
class ContactCounts:
    """How many of each in a Marketing upload: rows read, errors, rows the vendor skips
    (repeated or invalid emails), and each kind of change."""

    rows: int = 0
    errors: int = 0
    skipped: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unsubscribed: int = 0
    conflicts: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict, in field order."""
        return attrs.asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{n} {name}" for name, n in self.as_dict().items())


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _sequence(value: Iterable[Any]) -> Sequence[Any]:
    # A list a plan spilled to a temporary file stays one: a tuple would hold it all.
    return value if isinstance(value, Spill) else tuple(value)


@attrs.frozen(kw_only=True)
class ContactPlan(PlanVerdict):
    """What a Marketing upload would do, and whether it may be applied.

    The contact counterpart of :class:`~provisioning.UploadPlan`: a refused plan holds
    only the decision; otherwise every change, conflict and row problem, and the
    safeguards it trips. :func:`~provisioning.apply_plan` commits it.
    """

    tenant_id: str
    edition: MarketingEdition
    #: What keys the contacts: the lower-cased email, or the member id.
    key: ContactKey
    mode: UploadMode
    actor: Actor
    as_of: dt.date
    decision: Decision
    revision: int | None = None
    #: The lists of changes and row problems are tuples, or read-only sequences kept in
    #: a temporary file past ``hold`` items (see :func:`plan_contacts`).
    creates: Sequence[Contact] = attrs.field(default=(), converter=_sequence)
    updates: Sequence[ContactUpdate] = attrs.field(default=(), converter=_sequence)
    #: Keys of the rows that change nothing.
    unchanged: Sequence[str] = attrs.field(default=(), converter=_sequence)
    #: Stored contacts a full import unsubscribes (only with
    #: ``Settings.marketing_full_unsubscribes``), in key order.
    unsubscribes: Sequence[ContactUpdate] = attrs.field(default=(), converter=_sequence)
    conflicts: tuple[ContactConflict, ...] = attrs.field(default=(), converter=_tuple)
    #: Every row problem: errors, warnings, and the rows the vendor skips.
    row_errors: Sequence[RowError] = attrs.field(default=(), converter=_sequence)
    #: Contact fields the file has no column for: matched contacts keep their values.
    kept_fields: tuple[str, ...] = ()
    #: The rows read, valid or not.
    rows: int = 0
    #: Stored contacts a full import leaves out and keeps (``MARKETING_LEFT_OUT_KEPT``).
    left_out: int = 0
    tripped: frozenset[Safeguard] = frozenset()
    overrides: frozenset[Safeguard] = frozenset()
    findings: tuple[Finding, ...] = ()
    file_digest: str | None = None
    #: How the changes came in: an upload, or the revert of one.
    channel: Channel = Channel.UPLOAD
    #: Which row had which outcome, in input order (``None`` for a plan made by hand).
    row_log: RowLog | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def product(self) -> Product:
        """Always :attr:`Product.MARKETING <provisioning.Product.MARKETING>`."""
        return _MARKETING

    @property
    def counts(self) -> ContactCounts:
        """How many rows and changes of each kind."""
        return ContactCounts(
            rows=self.rows,
            errors=sum(1 for e in self.row_errors if e.severity is RowSeverity.ERROR),
            skipped=sum(1 for e in self.row_errors if e.severity is RowSeverity.SKIPPED),
            created=len(self.creates),
            updated=len(self.updates),
            unchanged=len(self.unchanged),
            unsubscribed=len(self.unsubscribes),
            conflicts=len(self.conflicts),
        )

    def changes(self) -> Iterator[tuple[str, str, ContactUpdate | Contact]]:
        """Every change as ``(kind, key, change)``: created, updated, then unsubscribed."""
        of = self.key.of
        for contact in self.creates:
            yield "created", of(contact), contact
        for kind, group in (("updated", self.updates), ("unsubscribed", self.unsubscribes)):
            for update in group:
                yield kind, update.key, update

    def summary(self) -> str:
        """A few lines for a person: verdict, counts, what holds the plan."""
        what = self.file_digest if self.channel is Channel.REVERT else "upload"
        head = (
            f"{what} to {self.tenant_id} (marketing {self.edition}, by {self.key}, "
            f"{self.mode}) by {self.actor.id}"
        )
        if self.refused:
            return "\n".join([f"{head}: refused", *(f"  {f}" for f in self.decision.refusals)])
        verdict = "ready to apply" if self.applicable else "held"
        lines = [f"{head}: {verdict}", f"  {self.counts}"]
        lines.extend(f"  {f}" for f in self.findings)
        if self.kept_fields:
            lines.append(
                "  fields the file has no column for keep their stored values: "
                + ", ".join(self.kept_fields)
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per change, conflict and row problem (``kind``, ``key``, ``line``,
        ``code``, ``detail``), as :meth:`UploadPlan.to_records
        <provisioning.UploadPlan.to_records>` gives them."""
        out: list[dict[str, Any]] = []
        for kind, key, change in self.changes():
            detail = (
                "; ".join(str(c) for c in change.changes)
                if isinstance(change, ContactUpdate)
                else ""
            )
            out.append({"kind": kind, "key": key, "line": None, "code": None, "detail": detail})
        out.extend(
            {"kind": "conflict", "key": c.key, "line": None, "code": c.code, "detail": c.message}
            for c in self.conflicts
        )
        out.extend(
            {
                "kind": f"row_{e.severity}",
                "key": None,
                "line": e.line,
                "code": e.code.value,
                "detail": str(e),
            }
            for e in self.row_errors
        )
        return out

    def _repr_html_(self) -> str:
        rows = [(k, str(v)) for k, v in self.counts.as_dict().items()]
        rows += [(f.rule, f.message) for f in (*self.decision.refusals, *self.findings)]
        return html_table(str(self).splitlines()[0], ("", ""), rows)


def plan_contacts(
    tenant: Tenant,
    actor: Actor,
    rows: Iterable[Contact | RowError],
    repository: Repository,
    *,
    mode: UploadMode | str = UploadMode.FULL,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    overrides: Safeguard | str | Iterable[Safeguard | str] = (),
    file_digest: str | None = None,
    hold: int = HOLD,
) -> ContactPlan:
    """Plan a Marketing upload against the contacts ``repository`` stores for ``tenant``.

    ``rows`` is what :func:`provisioning.spreadsheet.read` yields from the tenant's
    contact file (:func:`contact_template`), or a plain iterable of contacts. The
    repository must keep contacts (:class:`~provisioning.repository.ContactStore`).
    The rulebook decides as for a Community upload, for the Marketing product. Rows the
    vendor skips (``skipped``: a repeated email, an invalid one) are reported and hold
    nothing; rows with errors hold the plan unless ``row_errors`` is overridden; a row
    whose email another stored contact keeps is a conflict (``identity_conflict``).
    A stored contact keeps its subscription (``MARKETING_SUBSCRIPTION_UPLOADS``) and,
    when the file has no column for a field, that field's value. Contacts the file
    leaves out are kept, even by a full import (``MARKETING_LEFT_OUT_KEPT``), unless
    the rulebook's ``marketing_full_unsubscribes`` is set: a full import then
    unsubscribes them, held by the same safeguards as a Community full import.

    Memory is bounded as for :func:`~provisioning.plan_upload`: stored contacts are
    looked up a batch of rows at a time and read back streamed, and each list of
    changes (and of row problems) keeps its first ``hold`` items in memory and the rest
    in a temporary file, deleted with the plan (which then holds a read-only sequence in
    place of a tuple). Which rows a spreadsheet reader's file has is asked of the
    reader's own duplicate index; a plain iterable of contacts is remembered by key and
    email.

    >>> import datetime as dt
    >>> import provisioning as pv
    >>> from provisioning.adapters import MemoryRepository
    >>> acme = pv.Tenant(id="acme", name="Acme", products={"marketing": "spreadsheet_upload"})
    >>> admin = pv.Actor(id="sa-1", role="super_admin")
    >>> plan = plan_contacts(acme, admin, [pv.Contact(email="ada@example.com")],
    ...                      MemoryRepository(), as_of=dt.date(2026, 11, 25))
    >>> plan.counts.created, plan.applicable
    (1, True)
    """
    tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    actor = check_type(actor, Actor, "actor", "an Actor")
    rulebook = check_type(rulebook, RuleBook, "rulebook", "a RuleBook")
    check_type(repository, Repository, "repository", "a Repository")  # type: ignore[type-abstract]
    if not isinstance(repository, ContactStore):
        raise InvalidValueError(
            "the repository keeps no Marketing contacts (ContactStore), so no Marketing "
            "upload can be planned against it",
            field="repository",
        )
    mode = to_enum(UploadMode, mode, "mode")
    day = check_day(as_of, "as_of") if as_of is not None else today()
    chosen = overrides_of(overrides)
    if file_digest is not None:
        check_type(file_digest, str, "file_digest", "a string or None")
    if type(hold) is not int or hold < 0:
        raise InvalidValueError(
            f"hold must be a whole number, 0 or more, got {hold!r}", field="hold"
        )
    if isinstance(rows, Reader):
        if rows.started:
            raise InvalidValueError(
                "rows: the reader has been read from already; plan with a new reader",
                field="rows",
            )
        _check_template(tenant, rows.template)
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
        raise InvalidValueError(
            "rows must be an iterable of Contact and RowError values (what read() yields), "
            f"got {type(rows).__name__}",
            field="rows",
        )
    revision = repository.revision(tenant.id)
    first = not any(e.product is _MARKETING for e in repository.uploads(tenant.id))
    action = Action.INITIAL_UPLOAD if first else Action.SUBSEQUENT_UPLOAD
    decision = rulebook.decide(tenant, actor, action, product=_MARKETING, as_of=day)
    common: dict[str, Any] = {
        "tenant_id": tenant.id,
        "edition": tenant.marketing_edition,
        "key": tenant.marketing_key,
        "mode": mode,
        "actor": actor,
        "as_of": day,
        "decision": decision,
        "file_digest": file_digest,
    }
    if not decision.allowed:
        return ContactPlan(**common)
    planner = _ContactPlanner(repository, tenant.id, tenant.marketing_key, rows, hold)
    unsubscribing = mode is UploadMode.FULL and rulebook.settings.marketing_full_unsubscribes
    with collector_paused():  # many short-lived objects, none in a cycle
        planner.read(rows)
        conflicts = planner.resolve_conflicts()
        planner.finish(unsubscribing=unsubscribing)
    facts = Facts(
        # A full import that keeps what it leaves out risks nothing the file-size
        # safeguards look for: it is judged as the partial import it amounts to.
        mode=mode if unsubscribing else UploadMode.PARTIAL,
        settings=rulebook.settings,
        stored=planner.stored,
        active=planner.subscribed,
        enabled=planner.subscribed,
        valid=planner.valid,
        disabled=len(planner.unsubscribes),
        demotions=Counter(),
        admin_lockouts=[],
        bad_rows=planner.bad_rows,
        conflicts=len(conflicts),
        contacts=True,
    )
    findings, tripped = check_safeguards(rulebook, facts, chosen)
    if mode is UploadMode.FULL and not unsubscribing and planner.left_out:
        message = (
            f"a full Marketing import keeps the {planner.left_out} stored contact(s) its "
            "file leaves out, subscribed as they are"
        )
        findings += (rulebook.finding(RuleId.MARKETING_LEFT_OUT_KEPT, Severity.INFO, message),)
    return ContactPlan(
        **common,
        revision=revision,
        creates=planner.creates.seal(),
        updates=planner.updates.seal(),
        unchanged=planner.unchanged.seal(),
        unsubscribes=planner.unsubscribes.seal(),
        conflicts=conflicts,
        row_errors=planner.errors.seal(),
        kept_fields=tuple(f for f in _OPTIONAL_FIELDS if f in planner.kept),
        rows=planner.valid + len(planner.bad_records),
        left_out=planner.left_out,
        tripped=tripped,
        overrides=chosen,
        findings=findings,
        row_log=planner.row_log(),
    )


def _check_template(tenant: Tenant, template: Template[Any]) -> None:
    """Refuse a reader of another file than the tenant's contact file."""
    wanted = contact_template(tenant)
    if (
        not issubclass(template.record_type, Contact)
        or template.key != wanted.key
        or template.delimiter != wanted.delimiter
    ):
        raise InvalidValueError(
            f"rows: the file is read as {template.name!r}, but tenant {tenant.id!r} uploads "
            f"{wanted.name!r} (Marketing {tenant.marketing_edition}, keyed by "
            f"{tenant.marketing_key}: MARKETING_CONTACT_KEY)",
            field="rows",
        )


def _kept_fields(rows: object) -> frozenset[str]:
    """The optional contact fields a spreadsheet reader's file has no column for."""
    if not isinstance(rows, Reader):
        return frozenset()
    present = {s.field for s in rows.layout if isinstance(s, Column) and s.field}
    if any(isinstance(s, str) or (isinstance(s, Column) and not s.field) for s in rows.layout):
        present.add("custom")
    return frozenset(_OPTIONAL_FIELDS) - present


@attrs.define
class _Claim:
    """A row giving a contact an email another stored contact holds: settled once the
    file is read (the holder may move to another email further down)."""

    #: ``create`` or ``update``: the list the row's change is in.
    kind: str
    key: str
    email: str
    holder: str
    contact: Contact
    #: The row's index among the contacts read (for the plan's row log).
    index: int


class _ContactPlanner:
    """One pass over a contact file: each batch of rows against its stored contacts.

    Memory holds one batch of stored contacts, the rows in conflict, and up to ``hold``
    changes of each kind (the rest go to temporary files, see ``_spill``). A spreadsheet
    reader has refused repeated keys and emails itself, and its duplicate index says
    which keys the file has; other input is remembered here by key and email.
    """

    def __init__(
        self, store: ContactStore, tenant_id: str, key: ContactKey, rows: object, hold: int
    ) -> None:
        self.store, self.tenant_id, self.key_of = store, tenant_id, key.of
        self.kept = _kept_fields(rows)
        # MARKETING_SUBSCRIPTION_UPLOADS: a contact file never (un)subscribes anyone; the
        # fields the file has no column for keep their stored values too.
        subscription = next(s.name for s in field_specs(Contact) if s.kind is FieldKind.ENUM)
        self.carry = make_carry(Contact, frozenset(self.kept) | {subscription})
        self.creates: Spill[Contact] = contact_spill(hold, key)
        self.updates: Spill[ContactUpdate] = contact_update_spill(hold, ContactUpdate)
        self.unchanged: Spill[str] = string_spill(hold)
        self.unsubscribes: Spill[ContactUpdate] = contact_update_spill(hold, ContactUpdate)
        self.errors: Spill[RowError] = error_spill(hold)
        self.bad_rows = 0
        self.bad_records: set[int] = set()
        self.errored: set[str] = set()
        self.duplicates: list[ContactConflict] = []
        #: Which keys the file has: the reader's index, or the keys (and emails) seen.
        self.has: Callable[[str], bool]
        self.seen: dict[str, None] | None = None
        self.emails: dict[str, str] = {}
        if isinstance(rows, Reader):
            reader: Reader[Any] = rows
            if key is ContactKey.EMAIL:
                self.has = lambda k: reader.email_line(k) is not None
            else:
                self.has = lambda k: reader.key_line(k) is not None
        else:
            seen: dict[str, None] = {}
            self.seen = seen
            self.has = seen.__contains__
        self.claims: list[_Claim] = []
        #: Keys the file moves to another email, and the email (lower-cased).
        self.moved: dict[str, str] = {}
        self.valid = 0
        self.stored = self.subscribed = self.left_out = 0
        # The row log: a few bytes a row, saying in input order what became of each.
        self.order = bytearray()
        self.outcomes = bytearray()
        self.records: array[int] = array("I")
        self.lines: array[int] = array("I")
        self.logged: dict[int, ContactConflict] = {}
        self.key_at, self.width = key_cell(rows)
        self.source = rows if isinstance(rows, Reader) else None

    def row_log(self) -> RowLog:
        """What became of each row, in input order."""
        return RowLog(
            order=self.order,
            outcomes=self.outcomes,
            records=self.records,
            lines=self.lines,
            conflicts=self.logged,
            key_at=self.key_at,
            width=self.width,
        )

    def read(self, rows: Iterable[Contact | RowError]) -> None:
        batch: list[tuple[str, Contact, int]] = []
        seen, emails, key_of = self.seen, self.emails, self.key_of
        source = self.source
        order, records, lines, outcomes = self.order, self.records, self.lines, self.outcomes
        for position, item in enumerate(rows):
            if isinstance(item, Contact):
                index = self.valid
                self.valid += 1
                key = key_of(item)
                order.append(RowLog.RECORD)
                outcomes.append(RowLog.CONFLICT)  # until its batch says otherwise
                if source is not None:
                    records.append(source.last_record)
                    lines.append(source.email_line(item.email) or 0)
                else:
                    records.append(0)
                    lines.append(0)
                if seen is not None:
                    email = item.email_key
                    if key in seen or email in emails:
                        # Input that is no reader; a reader skips these rows itself.
                        code = "duplicate_key" if key in seen else "duplicate_email"
                        owner = key if key in seen else emails[email]
                        message = (
                            f"contact {key!r} repeats an earlier row's "
                            f"{'key' if code == 'duplicate_key' else 'email'}; only the first "
                            "row is loaded (MARKETING_CONTACT_KEY)"
                        )
                        conflict = ContactConflict(item, key, owner, message, code)
                        self.duplicates.append(conflict)
                        self.logged[index] = conflict
                        continue
                    seen[key] = None
                    emails[email] = key
                batch.append((key, item, index))
                if len(batch) >= _ROWS_PER_BATCH:
                    self._batch(batch)
                    batch = []
                continue
            if not isinstance(item, RowError):
                raise InvalidValueError(
                    f"rows: item {position} is a {type(item).__name__} ({item!r:.80}); "
                    "each must be a Contact or a RowError",
                    field="rows",
                )
            order.append(RowLog.PROBLEM)
            self.errors.append(item)
            if item.severity is RowSeverity.ERROR:
                self.bad_rows += 1
            if item.is_error:
                if item.record:
                    self.bad_records.add(item.record)
                for cell in item.row:
                    if whole := cell.strip():
                        self.errored.add(whole)
                        self.errored.add(whole.lower())
                    for piece in _PIECES.split(cell):
                        if piece := piece.strip():
                            self.errored.add(piece)
                            self.errored.add(piece.lower())
        self._batch(batch)

    def _batch(self, batch: list[tuple[str, Contact, int]]) -> None:
        if not batch:
            return
        stored = self.store.get_contacts(self.tenant_id, [key for key, _, _ in batch])
        claims: list[tuple[str, str, Contact, int]] = []
        creates, unchanged, updates, carry = self.creates, self.unchanged, self.updates, self.carry
        outcomes = self.outcomes
        for key, item, index in batch:
            old = stored.get(key)
            if old is None:
                creates.append(item)
                outcomes[index] = RowLog.CREATED
                claims.append(("create", key, item, index))
                continue
            new = carry(item, old)
            if _same(new, old):
                unchanged.append(key)
                outcomes[index] = RowLog.UNCHANGED
                continue
            updates.append(ContactUpdate(key, old, new))
            outcomes[index] = RowLog.UPDATED
            if new.email_key != old.email_key:
                self.moved[key] = new.email_key
                claims.append(("update", key, new, index))
        if claims:
            owners = self.store.contact_email_owners(
                self.tenant_id, [c.email_key for _, _, c, _ in claims]
            )
            for kind, key, contact, index in claims:
                # Only an email another stored contact holds can make a conflict: the
                # file's own emails are each loaded once.
                holder = owners.get(contact.email_key)
                if holder is not None and holder != key:
                    self.claims.append(_Claim(kind, key, contact.email_key, holder, contact, index))

    def resolve_conflicts(self) -> tuple[ContactConflict, ...]:
        """Leave out rows taking an email a stored contact keeps (and the file does not
        move away); a row left out keeps its own old email taken, so repeat until settled."""
        conflicts = list(self.duplicates)
        dropped: dict[str, _Claim] = {}
        while True:
            bad = [
                c
                for c in self.claims
                if c.key not in dropped and self.moved.get(c.holder, c.email) == c.email
            ]
            if not bad:
                break
            for claim in bad:
                message = (
                    f"email {claim.contact.email!r} belongs to the stored contact "
                    f"{claim.holder!r}; the row is not applied (no merge, no takeover)"
                )
                conflict = ContactConflict(claim.contact, claim.key, claim.holder, message)
                conflicts.append(conflict)
                self.outcomes[claim.index] = RowLog.CONFLICT
                self.logged[claim.index] = conflict
                dropped[claim.key] = claim
                self.moved.pop(claim.key, None)
        if dropped:
            for kind, group in (("create", self.creates), ("update", self.updates)):
                out = {k for k, c in dropped.items() if c.kind == kind}
                if out:
                    group.discard(out, len(out))
        return tuple(conflicts)

    def finish(self, *, unsubscribing: bool) -> None:
        """Go through the stored contacts: count them, and (a full import that
        unsubscribes) unsubscribe the subscribed ones the file leaves out."""
        has, errored = self.has, self.errored
        for key, contact in self.store.contacts(self.tenant_id):
            self.stored += 1
            subscribed = contact.subscription is _SUBSCRIBED
            self.subscribed += subscribed
            if has(key) or key in errored:
                continue
            self.left_out += 1
            if unsubscribing and subscribed:
                new = attrs.evolve(contact, subscription=_UNSUBSCRIBED)
                self.unsubscribes.append(ContactUpdate(key, contact, new))


def plan_contacts_file(
    path: str | os.PathLike[str],
    tenant: Tenant,
    actor: Actor,
    repository: Repository,
    *,
    date_order: DateOrder | None = None,
    lenient_headers: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
    mode: UploadMode | str = UploadMode.FULL,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    overrides: Safeguard | str | Iterable[Safeguard | str] = (),
    hold: int = HOLD,
) -> ContactPlan:
    """Plan the Marketing contact file at ``path``: :func:`~provisioning.plan_upload_file`
    for contacts.

    The file is read as the tenant's contact file (:func:`contact_template`), opened,
    digested and planned in one go, with the same reading options and limits; the
    planning options are :func:`plan_contacts`'s.
    """
    template = contact_template(tenant)
    with spool_file(path, max_file_size) as upload:
        rows = read(
            upload.stream,
            template,
            date_order=date_order,
            lenient_headers=lenient_headers,
            max_file_size=max_file_size,
            encoding=encoding,
            sheet=sheet,
        )
        return plan_contacts(
            tenant,
            actor,
            rows,
            repository,
            mode=mode,
            rulebook=rulebook,
            as_of=as_of,
            overrides=overrides,
            file_digest=upload.digest,
            hold=hold,
        )
