"""What the commands print: plain data for ``--format json``, rich tables for people.

Every JSON shape is built here, next to the others, and documented in ``docs/cli.md``.
Text goes through :func:`text`, never through markup, so a ``[`` in a message or a value
is printed as it is, and a control character (an escape sequence in a tenant's name, say)
is shown escaped rather than sent to the terminal.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..actors import Actor
from ..audit import Channel
from ..exceptions import SpreadsheetError
from ..repository import UploadEntry
from ..rules import CheckResult, Decision, Finding, SsoEligibility
from ..serialization import tenant_to_dict
from ..spreadsheet import RowError
from ..tenants import Tenant
from ..uploads import ContactPlan, ContactUpdate, Receipt, Update, UploadPlan

#: A plan of either product: Community records or Marketing contacts.
AnyPlan = UploadPlan | ContactPlan
#: The counts that are changes a commit writes.
_CHANGE_COUNTS = ("created", "updated", "deactivated", "reactivated", "unsubscribed")


def change_total(plan: AnyPlan) -> int:
    """How many records (or contacts) applying ``plan`` writes."""
    counts = plan.counts.as_dict()
    return sum(counts.get(name, 0) for name in _CHANGE_COUNTS)


__all__ = [
    "decision_data",
    "dump",
    "finding_data",
    "findings_table",
    "plan_data",
    "problem_data",
    "problems_table",
    "safe",
    "sso_data",
    "text",
    "write_plan_json",
]

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides
# and isolates (which reorder what is shown): each shown as its escape, \x1b or \u202e.
_UNSAFE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (
        *range(0x20),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
    if code not in (0x09, 0x0A)
}


def safe(value: str) -> str:
    """``value`` with every control character escaped, safe to print on a terminal."""
    return value.translate(_UNSAFE)


class TerminalText(io.TextIOBase):
    """A text stream to a terminal: each line's control characters escaped, lines kept."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def writable(self) -> bool:
        return True

    def write(self, data: str) -> int:
        lines = data.split("\r\n")
        self._stream.write("\n".join(safe(line) for line in lines))
        return len(data)


def text(value: str, style: str = "") -> Text:
    """A :class:`~rich.text.Text` of ``value``: no markup, control characters escaped."""
    return Text(safe(value), style=style)


_SEVERITY_STYLE = {
    "error": "bold red",
    "skipped": "yellow",
    "warning": "yellow",
    "info": "cyan",
    "met": "green",
    "unmet": "bold red",
}


def _json_default(value: object) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dump(data: object) -> str:
    """``data`` as indented JSON; dates as ISO 8601 text."""
    return json.dumps(data, indent=2, default=_json_default, ensure_ascii=False)


def styled(value: str, key: str | None = None) -> Text:
    """A cell, coloured by ``key`` (a severity or state) when the console has colour."""
    return text(value, _SEVERITY_STYLE.get(key or value, ""))


def finding_data(finding: Finding) -> dict[str, str]:
    """``{"rule", "severity", "message", "source"}``."""
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "source": finding.source,
    }


def findings_table(findings: Iterable[Finding], title: str | None = None) -> Table:
    """Severity, rule and message of each finding."""
    table = Table(title=None if title is None else text(title), title_justify="left")
    table.add_column("severity")
    table.add_column("rule", no_wrap=True)
    table.add_column("message")
    for f in findings:
        table.add_row(styled(f.severity.value), text(f.rule), text(f.message))
    return table


def problem_data(problem: RowError | SpreadsheetError) -> dict[str, object]:
    """``{"record", "line", "column", "code", "message"}``; record and line 1-based or null.

    A problem of a workbook has ``cell`` too (``Members!C14``).
    """
    if isinstance(problem, RowError):
        data: dict[str, object] = {
            "record": problem.record or None,
            "line": problem.line,
            "column": problem.column,
            "code": str(problem.code),
            "message": problem.message,
        }
        if problem.cell is not None:
            data["cell"] = problem.cell
        return data
    return {
        "record": None,
        "line": problem.line,
        "column": problem.column,
        "code": str(problem.code),
        "message": problem.message,
    }


def problems_table(problems: Sequence[RowError], *, limit: int) -> Table:
    """Line, record, column, severity, code and message of the first ``limit`` problems."""
    table = Table()
    for name in ("line", "record", "column", "severity", "code", "message"):
        table.add_column(name, no_wrap=name != "message")
    for p in problems[:limit]:
        table.add_row(
            text(p.cell) if p.cell is not None else str(p.line),
            str(p.record or ""),
            text(p.column or ""),
            styled(str(p.severity)),
            str(p.code),
            text(p.message),
        )
    return table


def actor_data(actor: Actor) -> dict[str, str]:
    """``{"id", "role", "name"}``."""
    return {"id": actor.id, "role": actor.role.value, "name": actor.name}


def tenant_summary(tenant: Tenant, actors: int) -> dict[str, object]:
    """One line of ``tenant list``."""
    return {
        "id": tenant.id,
        "name": tenant.name,
        "products": {p.value: m.value for p, m in tenant.products.items()},
        "sso": None if tenant.sso is None else tenant.sso.protocol.value,
        "integration": tenant.integration,
        "actors": actors,
    }


def reverts_of(entries: Iterable[UploadEntry]) -> dict[str, int]:
    """Which upload reverted each reverted upload: its id (as text) to the revert's id."""
    return {
        e.file_digest.removeprefix("revert:"): e.id
        for e in entries
        if e.file_digest.startswith("revert:") and e.id is not None
    }


def upload_data(entry: UploadEntry, reverted_by: int | None = None) -> dict[str, object]:
    """One upload of a tenant's history; ``reverted_by`` the upload that reverted it.

    It is revertible when the store kept its audit trail and it is not reverted yet.
    """
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor_id,
        "product": entry.product.value,
        "mode": entry.mode.value,
        "file_digest": entry.file_digest,
        "counts": dict(entry.counts),
        "revertible": entry.audited and reverted_by is None,
        "reverted_by": reverted_by,
    }


def revertible_text(entry: UploadEntry, reverted_by: int | None) -> str:
    """The ``revertible`` cell of ``uploads``: yes, or why not."""
    if not entry.audited:
        return "no (before the audit trail)"
    if reverted_by is not None:
        return f"no (reverted by upload {reverted_by})"
    return "yes"


def tenant_data(
    tenant: Tenant,
    actors: Sequence[Actor],
    *,
    records: int,
    revision: int,
    uploads: Sequence[UploadEntry],
) -> dict[str, object]:
    """``tenant show``: the tenant document, its actors, its store state and history."""
    reverted = reverts_of(uploads)
    return {
        "tenant": tenant_to_dict(tenant),
        "actors": [actor_data(a) for a in actors],
        "records": records,
        "revision": revision,
        "uploads": [upload_data(u, reverted.get(str(u.id))) for u in uploads],
    }


def check_data(result: CheckResult) -> dict[str, object]:
    """``tenant check``."""
    return {
        "tenant": result.tenant_id,
        "ok": result.ok,
        "findings": [finding_data(f) for f in result.findings],
    }


def decision_data(decision: Decision, actor: Actor | None) -> dict[str, object]:
    """One decision of ``explain``; ``actor`` is null when it stands for its role."""
    return {
        "action": decision.action.value,
        "product": decision.product.value,
        "actor": None if actor is None else actor.id,
        "role": decision.role.value,
        "allowed": decision.allowed,
        "findings": [finding_data(f) for f in decision.findings],
    }


def sso_data(tenant_id: str, sso: SsoEligibility) -> dict[str, object]:
    """``sso``."""
    return {
        "tenant": tenant_id,
        "product": sso.product.value,
        "method": None if sso.method is None else sso.method.value,
        "as_of": sso.as_of,
        "status": sso.status.value,
        "eligible": sso.eligible,
        "in_effect": sso.in_effect,
        "go_live": sso.go_live,
        "earliest_go_live": sso.earliest_go_live,
        "requirements": [
            {"rule": r.rule, "name": r.name, "met": r.met, "detail": r.detail}
            for r in sso.requirements
        ],
        "findings": [finding_data(f) for f in sso.findings],
    }


def verdict(plan: AnyPlan) -> str:
    """``refused``, ``held`` or ``ready``."""
    if plan.refused:
        return "refused"
    return "ready" if plan.applicable else "held"


def _change(kind: str, key: str, change: Update | object) -> dict[str, object]:
    fields = (
        {c.field: {"old": _plain(c.old), "new": _plain(c.new)} for c in change.changes}
        if isinstance(change, Update | ContactUpdate)
        else {}
    )
    return {"kind": kind, "key": key, "fields": fields}


def _plain(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


#: Items of a streamed list written to the JSON document per write: a plan's changes are
#: streamed, never turned into one list of dicts first.
_CHANGES_PER_WRITE = 1000

#: The version of the plan and apply JSON document: it grows a new number when a key
#: changes meaning or goes, never when one is added.
PLAN_OUTPUT_FORMAT = "provisioning-plan-output/1"


def write_plan_json(
    write: Callable[[str], object], plan: AnyPlan, receipt: Receipt | None = None
) -> None:
    """:func:`plan_data` as one JSON document, its long lists written as they are read.

    The document is the one :func:`dump` of :func:`plan_data` gives, with its lists that
    grow with the file (``errors``, ``warnings``, ``password_notices``, ``changes``) last;
    memory holds a thousand items at a time, not a million.
    """
    data = plan_data(plan, receipt, changes=False)
    head = dump(data)
    assert head.endswith("\n}")
    write(head[:-2])
    encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    text = json.JSONEncoder(ensure_ascii=False).encode

    def line(kind: str, key: str, change: object) -> str:
        if isinstance(change, Update | ContactUpdate):
            return encode(_change(kind, key, change))
        # A created record: one string, not a dict to encode (most changes of a big file).
        return f'{{"kind": {text(kind)}, "key": {text(key)}, "fields": {{}}}}'

    problems = plan.row_errors
    _write_list(write, "errors", (encode(problem_data(e)) for e in problems if e.is_error))
    _write_list(write, "warnings", (encode(problem_data(e)) for e in problems if not e.is_error))
    notices = plan.password_notices if isinstance(plan, UploadPlan) else ()
    _write_list(write, "password_notices", map(text, notices))
    _write_list(write, "changes", itertools.starmap(line, plan.changes()))
    write("\n}\n")


def _write_list(write: Callable[[str], object], name: str, items: Iterator[str]) -> None:
    """``,\n  "name": [...]`` with the (encoded) items, a thousand a write."""
    write(f',\n  "{name}": [')
    first = True
    while batch := list(itertools.islice(items, _CHANGES_PER_WRITE)):
        write(("\n    " if first else ",\n    ") + ",\n    ".join(batch))
        first = False
    write("\n  ]" if not first else "]")


def plan_data(
    plan: AnyPlan, receipt: Receipt | None = None, *, changes: bool = True
) -> dict[str, object]:
    """``plan`` and ``apply``: the verdict, counts, findings and (unless ``changes`` is
    false) the lists that grow with the file: row problems, notices and every change."""
    data: dict[str, object] = {
        "format": PLAN_OUTPUT_FORMAT,
        "tenant": plan.tenant_id,
        "product": plan.product.value,
        "actor": plan.actor.id,
        "mode": plan.mode.value,
        "as_of": plan.as_of,
        "revision": plan.revision,
        "file_digest": plan.file_digest,
        "verdict": verdict(plan),
        "applicable": plan.applicable,
        "rules": list(plan.rules),
        "held_by": sorted(s.value for s in plan.held_by),
        "overrides": sorted(s.value for s in plan.overrides),
        "counts": plan.counts.as_dict(),
        "refusals": [finding_data(f) for f in plan.decision.refusals],
        "findings": [finding_data(f) for f in plan.findings],
        "conflicts": [
            {"key": c.key, "owner": c.owner_key, "message": c.message} for c in plan.conflicts
        ],
        "kept_fields": list(plan.kept_fields),
        "unreadable": list(plan.unreadable) if isinstance(plan, UploadPlan) else [],
    }
    if isinstance(plan, ContactPlan):
        data["edition"] = plan.edition.value
        data["key"] = plan.key.value
    if changes:
        data["errors"] = [problem_data(e) for e in plan.row_errors if e.is_error]
        data["warnings"] = [problem_data(e) for e in plan.row_errors if not e.is_error]
        notices = plan.password_notices if isinstance(plan, UploadPlan) else ()
        data["password_notices"] = list(notices)
    if receipt is not None:
        data["applied"] = {
            "revision": receipt.revision,
            "at": receipt.at.isoformat(),
            "upload_id": receipt.entry.id,
        }
    if changes:
        data["changes"] = [_change(kind, key, change) for kind, key, change in plan.changes()]
    return data


def print_plan(console: Console, plan: AnyPlan, *, limit: int = 10) -> None:
    """The plan for a person: verdict, counts, findings, then the first changes."""
    tone = {"ready": "bold green", "held": "bold yellow", "refused": "bold red"}[verdict(plan)]
    reverted = (plan.file_digest or "").removeprefix("revert:")
    upload = plan.channel is Channel.UPLOAD
    what = "upload" if upload else f"revert of upload {reverted}"
    product = (
        f"{plan.product} {plan.edition}, by {plan.key}"
        if isinstance(plan, ContactPlan)
        else str(plan.product)
    )
    head = text(f"{what} to {plan.tenant_id} ({product}, {plan.mode}) by {plan.actor.id}: ")
    head.append(verdict(plan), style=tone)
    console.print(head)
    if plan.refused:
        console.print(findings_table(plan.decision.refusals))
        return
    counts = Table(show_header=True)
    for name in plan.counts.as_dict():
        counts.add_column(name, justify="right")
    counts.add_row(*(str(n) for n in plan.counts.as_dict().values()))
    console.print(counts)
    if plan.findings:
        console.print(findings_table(plan.findings, title="safeguards"))
    total = change_total(plan)
    if total:
        # The first few only: a plan of a million changes is summed up, not printed.
        shown = list(itertools.islice(plan.changes(), limit))
        more = "" if total <= limit else "; --format json lists them all"
        table = Table(title=f"changes (first {len(shown)} of {total}{more})")
        table.add_column("kind")
        table.add_column("key", no_wrap=True)
        table.add_column("fields")
        for kind, key, change in shown:
            detail = (
                "; ".join(str(c) for c in change.changes)
                if isinstance(change, Update | ContactUpdate)
                else ""
            )
            table.add_row(kind, text(key), text(detail))
        console.print(table)
    if plan.conflicts:
        table = Table(title="conflicts (left out)")
        table.add_column("key", no_wrap=True)
        table.add_column("message")
        for c in plan.conflicts[:limit]:
            table.add_row(text(c.key), text(c.message))
        console.print(table)
    errors = plan.counts.errors
    if errors:
        console.print(text(f"{errors} row problem(s) leave their rows out; `validate` lists them"))
    if isinstance(plan, UploadPlan) and plan.unreadable:
        console.print(
            text(
                f"{len(plan.unreadable)} stored record(s) whose rows have errors are left as "
                "they are"
            )
        )
    if plan.kept_fields:
        console.print(
            text(
                "fields the file has no column for keep their stored values: "
                + ", ".join(plan.kept_fields)
            )
        )
    if isinstance(plan, UploadPlan) and plan.password_notices:
        console.print(
            text(f"{len(plan.password_notices)} new user(s) will be told to set a password")
        )
    if plan.held_by:
        names = " ".join(f"--override {s.value}" for s in sorted(plan.held_by, key=str))
        console.print(text(f"held: review the findings; to go ahead anyway: {names}"))
