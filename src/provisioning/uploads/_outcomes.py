"""The results file of an applied upload: one row per input row, and what became of it.

The rows come from the plan's row log (see ``RowLog``), merged with the plan's lists of
changes as they are read through: nothing is held per row but the log itself, so a plan
of a million rows, its lists kept in temporary files, writes its results in bounded memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from .._validators import check_type
from ..exceptions import InvalidValueError
from ..spreadsheet import RowError, neutralise
from ._apply import Receipt
from ._contacts import ContactPlan, ContactUpdate
from ._results import LeftOut, RowLog, Update, UploadPlan
from ._spill import Spill, update_row_changes

__all__ = ["RESULTS_COLUMNS", "result_rows", "write_results"]

#: The columns of a results file, in order.
RESULTS_COLUMNS = ("record", "line", "key", "outcome", "code", "column", "message", "changes")

#: One row of a results file: record, line, key, outcome, code, column, message, changes.
ResultRow = tuple[int | None, int | None, str, str, str, str, str, str]

_NAMES = {
    RowLog.CREATED: "created",
    RowLog.UPDATED: "updated",
    RowLog.UNCHANGED: "unchanged",
    RowLog.DEACTIVATED: "deactivated",
    RowLog.REACTIVATED: "reactivated",
}


def write_results(receipt: Receipt, stream: IO[str], *, formula_safe: bool = True) -> int:
    """Write what an applied upload did, one CSV row per input row; return the rows written.

    The columns are :data:`RESULTS_COLUMNS`: ``record`` (the data row, from 1) and
    ``line`` (where it starts in the file), the row's ``key``, its ``outcome`` (created,
    updated, unchanged, deactivated, reactivated, or skipped for a row with errors or
    left out as a conflict), the ``code``, ``column`` and ``message`` of its problems (a
    skipped row's errors, or the warnings of a row applied anyway; several joined with
    ``"; "``), and the fields it ``changes`` (``old -> new``). Each stored record a full import
    deactivates because the file leaves it out follows, with outcome ``deactivated`` and
    no record or line.

    A Marketing upload's receipt (of a :class:`~provisioning.ContactPlan`) gives the same
    columns, its rows keyed by the contact's key: ``created``, ``updated``,
    ``unchanged``, or ``skipped`` (a row the vendor skips, such as a repeated or invalid
    email, a row with errors, or a conflict), then one row per stored contact a full
    import unsubscribes (outcome ``unsubscribed``, only with
    ``marketing_full_unsubscribes``), with no record or line.

    Rows come in input order. The record and line are empty for input that is no
    spreadsheet ``Reader`` (a list of records); a plan made by hand, which has no row log,
    lists its rows by outcome instead (created, updated, unchanged, deactivated,
    reactivated, then conflicts and rows with errors). Values a spreadsheet would run as
    a formula are escaped (:func:`~provisioning.spreadsheet.neutralise`) unless
    ``formula_safe=False``. Open the stream with ``newline=""``; rows end with ``\\r\\n``.

    >>> import io
    >>> import provisioning as pv
    >>> from provisioning.adapters import MemoryRepository
    >>> tenant = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
    >>> admin = pv.Actor(id="sa-1", role="super_admin")
    >>> ada = pv.UserRecord(legacy_contact_key="1001", first_name="Ada", last_name="Lovelace",
    ...                     email="ada@example.com", company_name="=Engines")
    >>> repo = MemoryRepository()
    >>> receipt = pv.apply_plan(pv.plan_upload(tenant, admin, [ada], repo), repo)
    >>> out = io.StringIO(newline="")
    >>> pv.write_results(receipt, out)
    1
    >>> print(out.getvalue().replace("\\r", ""), end="")
    record,line,key,outcome,code,column,message,changes
    ,,1001,created,,,,
    """
    receipt = check_type(receipt, Receipt, "receipt", "a Receipt (what apply_plan returns)")
    plan = receipt.plan
    formula_safe = bool(check_type(formula_safe, bool, "formula_safe", "True or False"))
    binary = isinstance(stream, io.RawIOBase | io.BufferedIOBase)
    if (
        binary
        or not callable(getattr(stream, "write", None))
        or "b" in str(getattr(stream, "mode", ""))
    ):
        raise InvalidValueError(
            f"stream must be a text stream (open the file with newline=''), got "
            f"{type(stream).__name__} {stream!r:.80}",
            field="stream",
        )
    escape = neutralise if formula_safe else str
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(RESULTS_COLUMNS)
    count = 0
    for record, line, key, outcome, *texts in result_rows(plan):
        writer.writerow(
            (
                "" if record is None else record,
                "" if line is None else line,
                escape(key),
                outcome,
                *map(escape, texts),
            )
        )
        count += 1
    return count


def result_rows(plan: UploadPlan | ContactPlan) -> Iterator[ResultRow]:
    """The rows of ``plan``'s results, as :func:`write_results` writes them."""
    if isinstance(plan, ContactPlan):
        yield from _contact_rows(plan)
        return
    plan = check_type(plan, UploadPlan, "plan", "an UploadPlan or a ContactPlan")
    log = plan.row_log
    if log is None:
        yield from _by_outcome(plan)
        return
    groups = {
        RowLog.CREATED: _created(plan.creates),
        RowLog.UPDATED: _updated(plan.updates),
        RowLog.UNCHANGED: ((key, "") for key in plan.unchanged),
        RowLog.DEACTIVATED: _updated(plan.deactivations),
        RowLog.REACTIVATED: _updated(plan.reactivations),
    }
    yield from _logged(log, groups, plan.row_errors)
    # What is left of the deactivations: the stored records the full import left out.
    for key, changes in groups[RowLog.DEACTIVATED]:
        yield None, None, key, "deactivated", "", "", "", changes
    # Rows the caller left out for its own reasons (a revert's records changed since).
    logged = {id(c) for c in log.conflicts.values()}
    for conflict in plan.conflicts:
        if id(conflict) not in logged:
            yield _conflict_row(conflict)


def _contact_rows(plan: ContactPlan) -> Iterator[ResultRow]:
    """A Marketing plan's rows: its row log's (or, made by hand, by outcome), then the
    contacts a full import unsubscribes, then the conflicts no row has."""
    of = plan.key.of
    created = ((of(c), "") for c in plan.creates)
    updated = _contact_updated(plan.updates)
    unchanged = ((key, "") for key in plan.unchanged)
    log = plan.row_log
    logged: set[int] = set()
    if log is None:
        for outcome, group in (("created", created), ("updated", updated)):
            for key, changes in group:
                yield None, None, key, outcome, "", "", "", changes
        for key, _ in unchanged:
            yield None, None, key, "unchanged", "", "", "", ""
    else:
        groups = {RowLog.CREATED: created, RowLog.UPDATED: updated, RowLog.UNCHANGED: unchanged}
        yield from _logged(log, groups, plan.row_errors)
        logged = {id(c) for c in log.conflicts.values()}
    for key, changes in _contact_updated(plan.unsubscribes):
        yield None, None, key, "unsubscribed", "", "", "", changes
    for conflict in plan.conflicts:
        if id(conflict) not in logged:
            yield _conflict_row(conflict)
    if log is None:
        yield from _problem_rows(plan.row_errors)


def _logged(
    log: RowLog, groups: dict[int, Iterator[tuple[str, str]]], row_errors: Iterable[RowError]
) -> Iterator[ResultRow]:
    """The rows of a row log, in input order: each record item's outcome (its change
    taken from its group, in order) and each row with problems, skipped."""
    problems = iter(row_errors)
    pending: list[RowError] = []
    index = 0
    outcomes, records, lines, conflicts = log.outcomes, log.records, log.lines, log.conflicts
    for kind in log.order:
        if kind == RowLog.PROBLEM:
            problem = next(problems)
            if pending and problem.record != pending[0].record:
                yield from _skipped(pending, log)
                pending = []
            pending.append(problem)
            continue
        record, line = records[index] or None, lines[index] or None
        warnings: Sequence[RowError] = ()
        if pending:
            # A row's warnings come just before its record; anything else is a row of its
            # own (or the header's, record 0, which is no row).
            first = pending[0].record
            if first and (record is None or first == record) and not _failed(pending):
                warnings = pending
            else:
                yield from _skipped(pending, log)
            pending = []
        outcome = outcomes[index]
        if outcome == RowLog.CONFLICT:
            conflict = conflicts[index]
            yield record, line, conflict.key, "skipped", conflict.code, "", conflict.message, ""
        else:
            key, changes = next(groups[outcome])
            code, column, message = _joined(warnings)
            yield record, line, key, _NAMES[outcome], code, column, message, changes
        index += 1
    if pending:
        yield from _skipped(pending, log)


def _by_outcome(plan: UploadPlan) -> Iterator[ResultRow]:
    """A plan without a row log: its rows by outcome, then conflicts, then problems."""
    for key, changes in _created(plan.creates):
        yield None, None, key, "created", "", "", "", changes
    for key, changes in _updated(plan.updates):
        yield None, None, key, "updated", "", "", "", changes
    for key in plan.unchanged:
        yield None, None, key, "unchanged", "", "", "", ""
    for name, group in (("deactivated", plan.deactivations), ("reactivated", plan.reactivations)):
        for key, changes in _updated(group):
            yield None, None, key, name, "", "", "", changes
    for conflict in plan.conflicts:
        yield _conflict_row(conflict)
    yield from _problem_rows(plan.row_errors)


def _problem_rows(row_errors: Iterable[RowError]) -> Iterator[ResultRow]:
    """Rows with problems, one result row each (no row log: no key)."""
    pending: list[RowError] = []
    for problem in row_errors:
        if pending and problem.record != pending[0].record:
            yield from _skipped(pending, None)
            pending = []
        pending.append(problem)
    if pending:
        yield from _skipped(pending, None)


def _conflict_row(conflict: LeftOut) -> ResultRow:
    return None, None, conflict.key, "skipped", conflict.code, "", conflict.message, ""


def _skipped(problems: list[RowError], log: RowLog | None) -> Iterator[ResultRow]:
    """The row of ``problems`` (all of one row), skipped; nothing for the header's."""
    first = problems[0]
    if first.record == 0:
        return  # the header's, or the file's as a whole: no data row
    key = ""
    if log is not None and log.key_at is not None and len(first.row) == log.width:
        key = first.row[log.key_at].strip()
    errors = [p for p in problems if p.is_error] or problems
    code, column, message = _joined(errors)
    line = min(p.line for p in problems)
    yield first.record, line, key, "skipped", code, column, message, ""


def _failed(problems: Iterable[RowError]) -> bool:
    return any(p.is_error for p in problems)


def _joined(problems: Iterable[RowError]) -> tuple[str, str, str]:
    """Codes and columns (each once) and messages of one row's problems."""
    problems = list(problems)
    codes = dict.fromkeys(p.code.value for p in problems)
    columns = dict.fromkeys(p.column for p in problems if p.column)
    return "; ".join(codes), "; ".join(columns), "; ".join(p.message for p in problems)


def _created(group: Sequence[Any]) -> Iterator[tuple[str, str]]:
    if isinstance(group, Spill):
        # A spilled record's key is the first value of its row: no record is made.
        return ((row[0], "") for row in group.rows())
    return ((record.legacy_contact_key, "") for record in group)


def _updated(group: Sequence[Update]) -> Iterator[tuple[str, str]]:
    if isinstance(group, Spill):
        for row in group.rows():
            key, changes = update_row_changes(row)
            yield key, "; ".join(map(str, changes))
        return
    for update in group:
        yield update.key, "; ".join(map(str, update.changes))


def _contact_updated(group: Sequence[ContactUpdate]) -> Iterator[tuple[str, str]]:
    # A list the plan spilled to a temporary file gives its updates back one at a time.
    return ((update.key, "; ".join(map(str, update.changes))) for update in group)
