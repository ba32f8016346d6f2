"""What a plan holds and how it reads: changes, conflicts, counts, and the plan itself.

Each value prints for a person (``str``), and the plan renders as an HTML table in a
notebook (``_repr_html_``) and flattens to plain dicts (:meth:`UploadPlan.to_records`).
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import attrs

from .._fields import field_specs
from .._html import html_table
from .._pandas import data_frame
from ..actors import Actor
from ..audit import Channel, FieldChange
from ..catalog import Product
from ..records import UserRecord
from ..repository import UploadMode
from ..rules import Decision, Finding, RuleId, Severity
from ..spreadsheet import RowError
from ._safeguards import Safeguard

__all__ = [
    "RECORD_FIELDS",
    "Conflict",
    "FieldChange",
    "RowLog",
    "Update",
    "UploadCounts",
    "UploadPlan",
]

#: The record's fields, in their order.
#: The columns of :meth:`UploadPlan.to_records`, in order.
PLAN_COLUMNS = ("kind", "key", "line", "code", "detail")

RECORD_FIELDS = tuple(spec.name for spec in field_specs(UserRecord))


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
            for name in RECORD_FIELDS
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
    #: Why the row is left out, for grouping: ``identity_conflict`` (another record's
    #: email), ``duplicate_key`` (a key repeated in input that is no spreadsheet reader),
    #: ``deleted_record`` (the person's data was deleted), or ``conflict``.
    code: str = "conflict"

    @property
    def key(self) -> str:
        """The row's LegacyContactKey."""
        return self.record.legacy_contact_key


class LeftOut(Protocol):
    """A row a plan leaves out (a :class:`Conflict`, a Marketing ``ContactConflict``):
    what a results file says of it."""

    @property
    def key(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...


@attrs.frozen(eq=False)
class RowLog:
    """What became of each item of the planned rows, in their order (for results files).

    Kept compact, a few bytes a row, so a plan of a million rows can say row by row
    what it did without holding a million objects.
    """

    #: Per item of the rows: :data:`RowLog.RECORD` or :data:`RowLog.PROBLEM` (a ``RowError``).
    order: bytearray
    #: Per record item: its outcome, one of the codes below.
    outcomes: bytearray
    #: Per record item: its data row number and line (0: not known, input that is no
    #: spreadsheet reader).
    records: array[int]
    lines: array[int]
    #: Record items left out, by their index among the record items.
    conflicts: Mapping[int, LeftOut]
    #: Where the key is among a row's cells as read, and how many cells a row has.
    key_at: int | None = None
    width: int = 0

    RECORD = 0
    PROBLEM = 1
    CREATED = 1
    UPDATED = 2
    UNCHANGED = 3
    DEACTIVATED = 4
    REACTIVATED = 5
    CONFLICT = 6


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


class PlanVerdict:
    """What a plan's decision, safeguards and findings say of it: the part a Community
    and a Marketing plan share."""

    __slots__ = ()
    decision: Decision
    tripped: frozenset[Safeguard]
    overrides: frozenset[Safeguard]
    findings: tuple[Finding, ...]

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
        """Whether :func:`~provisioning.apply_plan` would commit this plan."""
        return not self.refused and not self.held_by

    @property
    def rules(self) -> tuple[RuleId, ...]:
        """The rule ids that refuse or hold the plan."""
        if self.refused:
            return tuple(f.rule for f in self.decision.refusals)
        return tuple(f.rule for f in self.findings if f.severity is Severity.ERROR)


@attrs.frozen(kw_only=True)
class UploadPlan(PlanVerdict):
    """What an upload would do, and whether it may be applied.

    A refused plan (``refused``) holds only the decision. Otherwise it holds every
    change, the conflicts and row errors, and the safeguards the plan trips; a tripped
    safeguard holds the plan (``held``) unless the caller overrode it by name.

    The lists of changes are tuples, or, past what :func:`plan_upload` holds in memory,
    read-only sequences kept in a temporary file: read them through (``for``, ``len``),
    rather than jumping about in them.
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
    creates: Sequence[UserRecord] = ()
    updates: Sequence[Update] = ()
    #: Keys of the rows that change nothing.
    unchanged: Sequence[str] = ()
    #: Rows saying Deactivated, in file order, then (full mode) the stored records the
    #: file leaves out, in key order.
    deactivations: Sequence[Update] = ()
    reactivations: Sequence[Update] = ()
    conflicts: tuple[Conflict, ...] = ()
    row_errors: Sequence[RowError] = ()
    #: Keys of stored records whose row in the file has errors: left as they are, even
    #: by a full import (known when the rows come from a spreadsheet ``Reader``).
    unreadable: tuple[str, ...] = ()
    #: Record fields the file has no column for: matched records keep their stored
    #: values there (a missing Status column never reactivates or approves anyone).
    kept_fields: tuple[str, ...] = ()
    #: The rows read from the file, valid or not.
    rows: int = 0
    #: Keys of the new, enabled users to be told to set a password (no SSO in effect).
    password_notices: Sequence[str] = ()
    #: The safeguards this plan trips, overridden or not.
    tripped: frozenset[Safeguard] = frozenset()
    overrides: frozenset[Safeguard] = frozenset()
    #: The safeguard findings, one per tripped safeguard.
    findings: tuple[Finding, ...] = ()
    file_digest: str | None = None
    #: How the changes came in: an upload, or the revert of one.
    channel: Channel = Channel.UPLOAD
    #: Which row had which outcome, in input order (``None`` for a plan made by hand).
    row_log: RowLog | None = attrs.field(default=None, eq=False, repr=False)

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
        what = self.file_digest if self.channel is Channel.REVERT else "upload"
        head = f"{what} to {self.tenant_id} ({self.product}, {self.mode}) by {self.actor.id}"
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
        """One flat dict per change, conflict and row error, for a DataFrame or a CSV.

        Each has ``kind``, ``key``, ``line``, ``code`` and ``detail``: ``code`` is a row
        problem's :class:`~provisioning.spreadsheet.ErrorCode` value or a conflict's
        :attr:`Conflict.code` (``None`` for a change), so problems group by code.
        """
        out: list[dict[str, Any]] = []
        for kind, key, change in self.changes():
            fields = "; ".join(str(c) for c in change.changes) if isinstance(change, Update) else ""
            out.append({"kind": kind, "key": key, "line": None, "code": None, "detail": fields})
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

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (columns ``kind``, ``key``,
        ``line``, ``code``, ``detail``); needs pandas (the extra ``pandas``)."""
        return data_frame(self.to_records(), PLAN_COLUMNS)

    def _repr_html_(self) -> str:
        rows = [(k, str(v)) for k, v in self.counts.as_dict().items()]
        rows += [(f.rule, f.message) for f in (*self.decision.refusals, *self.findings)]
        verdict = "refused" if self.refused else ("ready" if self.applicable else "held")
        return html_table(f"upload to {self.tenant_id}: {verdict}", ("item", "value"), rows)
