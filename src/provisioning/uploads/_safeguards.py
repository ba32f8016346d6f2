"""The safeguards: the checks that hold a plan until the caller overrides them by name.

The policy is a table (:data:`SAFEGUARDS`), one row per safeguard: its rule id, the
condition on the facts of a plan that trips it, and the message that says why.
:func:`check_safeguards` evaluates the table against the :class:`Facts` of one plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import TYPE_CHECKING

import attrs

from .._enum import ValueEnum
from ..exceptions import InvalidValueError
from ..records import RecordStatus
from ..repository import UploadMode
from ..rules import Finding, RuleBook, RuleId, Settings, Severity

if TYPE_CHECKING:
    pass

__all__ = ["SAFEGUARDS", "Facts", "Safeguard", "SafeguardRow", "check_safeguards", "overrides_of"]


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
    def rule(self) -> RuleId:
        """The rule id of this safeguard."""
        return _RULES[self]


_ENABLED = RecordStatus.ENABLED
_DEACTIVATED = RecordStatus.DEACTIVATED
_status_of = attrgetter("status")


@attrs.frozen(kw_only=True)
class Facts:
    """What the safeguards look at in a plan: counts, kept as the plan is made.

    The file-size shares are of the stored records that are not deactivated
    (:attr:`active`): records deactivated long ago are no part of what a file lists.
    The lockout share is of the Enabled records (:attr:`enabled`), the people who sign in.
    """

    mode: UploadMode
    settings: Settings
    #: How many records are stored; how many are not deactivated; how many are Enabled.
    stored: int
    active: int
    enabled: int
    #: How many valid rows the file has.
    valid: int
    #: Deactivations of Enabled records (Pending or Rejected ones sign in nowhere).
    disabled: int
    #: Updates that take an Enabled record out of Enabled, by the status they give it.
    demotions: Counter[str]
    #: What the upload would do to Super Admin accounts: deactivate them, or demote them.
    admin_lockouts: list[str]
    #: The row problems that cost a row its record.
    bad_rows: int
    #: The rows left out for taking another record's identity.
    conflicts: int
    #: Whether the plan is of Marketing contacts: a full import then unsubscribes the
    #: contacts it leaves out (``MARKETING_LEFT_OUT_KEPT``), and "active" and "Enabled"
    #: both mean subscribed.
    contacts: bool = False

    @property
    def active_noun(self) -> str:
        """What the file-size shares are of, for a person."""
        return "subscribed stored contacts" if self.contacts else "active stored records"

    @property
    def lockout_verb(self) -> str:
        """What a full import does to what its file leaves out."""
        return "unsubscribe" if self.contacts else "deactivate"

    @property
    def lockouts(self) -> int:
        """Enabled records the upload takes out of Enabled: deactivated, rejected, pending."""
        return self.disabled + self.demotions.total()


@attrs.frozen
class SafeguardRow:
    """One safeguard: its rule id, when it trips, and what it says then."""

    safeguard: Safeguard
    rule: RuleId
    condition: Callable[[Facts], bool]
    message: Callable[[Facts], str]


def _full_import(f: Facts) -> bool:
    return f.mode is UploadMode.FULL and f.stored > 0


def _truncated(f: Facts) -> bool:
    share = f.settings.truncated_file_share
    return _full_import(f) and 0 < f.valid < share * f.stored and f.valid < share * f.active


def _mass_deactivation(f: Facts) -> bool:
    # The share is of the Enabled records: Pending or Rejected ones, however many a file
    # adds first, never make room for locking out more of the people who sign in.
    most, count = f.settings.max_deactivation_share, f.lockouts
    return count > 0 and count > most * f.enabled


def _mass_message(f: Facts) -> str:
    count, most = f.lockouts, f.settings.max_deactivation_share
    if f.contacts:
        message = f"the upload would unsubscribe {count} of {f.enabled} subscribed stored contacts"
    elif f.demotions:
        ways = Counter({_DEACTIVATED.value: f.disabled}) + f.demotions
        how = ", ".join(f"{n} to {status}" for status, n in sorted(ways.items()))
        message = (
            f"the upload would take {count} of {f.enabled} Enabled stored records out of "
            f"Enabled ({how})"
        )
    else:
        message = f"the upload would deactivate {count} of {f.enabled} Enabled stored records"
    return f"{message} (more than {most:.0%})"


#: The safeguards, in the order their findings are reported.
SAFEGUARDS: tuple[SafeguardRow, ...] = (
    SafeguardRow(
        Safeguard.EMPTY_FILE,
        RuleId.SAFEGUARD_EMPTY_FILE,
        lambda f: _full_import(f) and f.valid == 0 and f.active > 0,
        lambda f: (
            f"a full import with no valid row would {f.lockout_verb} all {f.active} {f.active_noun}"
        ),
    ),
    SafeguardRow(
        Safeguard.TRUNCATED_FILE,
        RuleId.SAFEGUARD_TRUNCATED_FILE,
        _truncated,
        lambda f: (
            f"the file has {f.valid} valid rows for {f.active} {f.active_noun} "
            f"(less than {f.settings.truncated_file_share:.0%}): is it truncated?"
        ),
    ),
    # Every lockout counts: a deactivation, and any update that takes an Enabled record
    # out of Enabled (Rejected, Pending Approval...).
    SafeguardRow(
        Safeguard.MASS_DEACTIVATION,
        RuleId.SAFEGUARD_MASS_DEACTIVATION,
        _mass_deactivation,
        _mass_message,
    ),
    # No upload locks a Super Admin out, by deactivation or by any other status that is
    # not Enabled (Pending Approval, Rejected...).
    SafeguardRow(
        Safeguard.SUPER_ADMIN,
        RuleId.SAFEGUARD_SUPER_ADMIN,
        lambda f: bool(f.admin_lockouts),
        lambda f: "the upload would " + "; and ".join(f.admin_lockouts),
    ),
    SafeguardRow(
        Safeguard.ROW_ERRORS,
        RuleId.SAFEGUARD_ROW_ERRORS,
        lambda f: f.bad_rows > 0,
        lambda f: (
            f"{f.bad_rows} row problem(s) in the file; apply the valid rows only by "
            f"overriding {Safeguard.ROW_ERRORS.value!r}"
        ),
    ),
    SafeguardRow(
        Safeguard.IDENTITY_CONFLICT,
        RuleId.UPLOAD_IDENTITY_CONFLICT,
        lambda f: f.conflicts > 0,
        lambda f: f"{f.conflicts} row(s) conflict with stored identities and are left out",
    ),
)

_RULES = {row.safeguard: row.rule for row in SAFEGUARDS}


def check_safeguards(
    book: RuleBook, facts: Facts, overrides: frozenset[Safeguard]
) -> tuple[tuple[Finding, ...], frozenset[Safeguard]]:
    """The safeguards the plan trips, as findings: errors, or warnings when overridden.

    One finding per row of :data:`SAFEGUARDS` whose condition holds, in table order.
    """
    findings: list[Finding] = []
    tripped: set[Safeguard] = set()
    for row in SAFEGUARDS:
        if not row.condition(facts):
            continue
        guard, message = row.safeguard, row.message(facts)
        tripped.add(guard)
        if guard in overrides:
            findings.append(book.finding(row.rule, Severity.WARNING, f"{message} (overridden)"))
        else:
            findings.append(
                book.finding(row.rule, Severity.ERROR, f"{message}; override: {guard.value}")
            )
    return tuple(findings), frozenset(tripped)


def overrides_of(
    values: Safeguard | str | Iterable[Safeguard | str],
) -> frozenset[Safeguard]:
    """The safeguards a caller overrides: values or names, one alone or an iterable."""
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
