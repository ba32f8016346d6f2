"""What the rules answer: findings, decisions, check results and SSO eligibility.

Every result reads well as ``str`` (for logs and terminals) and renders as an HTML
table in a notebook (``_repr_html_``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import attrs

from .._enum import ValueEnum
from .._html import html_table
from ..actors import Action, Role
from ..catalog import Product, ProvisioningMethod
from ._ids import RuleId

__all__ = [
    "CheckResult",
    "Decision",
    "Finding",
    "Requirement",
    "Severity",
    "SsoEligibility",
    "SsoStatus",
]


class Severity(ValueEnum):
    """How much a finding matters. An ``ERROR`` in a decision is a refusal."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@attrs.frozen
class Finding:
    """One rule applied to one situation: which rule, how serious, and what it means here."""

    rule: RuleId
    severity: Severity
    message: str
    source: str

    def __str__(self) -> str:
        return f"[{self.severity.value}] {self.rule}: {self.message}"


def _findings_rows(findings: Sequence[Finding]) -> list[tuple[str, str, str, str]]:
    return [(f.severity.value, f.rule, f.message, f.source) for f in findings]


_FINDING_HEADERS = ("severity", "rule", "message", "source")


@attrs.frozen
class Decision:
    """Whether an actor may do an action on a tenant's product, and the findings why.

    ``bool(decision)`` is :attr:`allowed`. A refused decision always carries at least one
    ``ERROR`` finding, each naming its rule id.
    """

    allowed: bool
    action: Action
    product: Product
    role: Role
    findings: tuple[Finding, ...]

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def rules(self) -> tuple[RuleId, ...]:
        """The ids of every rule that contributed, in order."""
        return tuple(f.rule for f in self.findings)

    @property
    def refusals(self) -> tuple[Finding, ...]:
        """The findings that refuse the action (severity ``ERROR``)."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "refused"
        lines = [f"{self.action.value} on {self.product.value} by {self.role.value}: {verdict}"]
        lines.extend(f"  {f}" for f in self.findings)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        verdict = "allowed" if self.allowed else "refused"
        caption = f"{self.action.value} on {self.product.value} by {self.role.value}: {verdict}"
        return html_table(caption, _FINDING_HEADERS, _findings_rows(self.findings))


@attrs.frozen
class CheckResult:
    """Every configuration problem of a tenant, found at once by ``check``."""

    tenant_id: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Whether the tenant has no ``ERROR`` finding."""
        return not self.errors

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings of severity ``ERROR``."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The findings of severity ``WARNING``."""
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def rules(self) -> tuple[RuleId, ...]:
        """The ids of every rule found, in order."""
        return tuple(f.rule for f in self.findings)

    def __getitem__(self, index: int) -> Finding:
        return self.findings[index]

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __str__(self) -> str:
        if not self.findings:
            return f"tenant {self.tenant_id}: no problems found"
        lines = [f"tenant {self.tenant_id}: {len(self.findings)} finding(s)"]
        lines.extend(f"  {f}" for f in self.findings)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        caption = f"tenant {self.tenant_id}: {len(self.findings)} finding(s)"
        return html_table(caption, _FINDING_HEADERS, _findings_rows(self.findings))


class SsoStatus(ValueEnum):
    """Where a tenant's product stands on single sign-on."""

    #: Every requirement is met.
    ELIGIBLE = "eligible"
    #: SSO is possible here, but at least one requirement is unmet.
    REQUIREMENTS_UNMET = "requirements_unmet"
    #: The method or the integrated system rules SSO out.
    NOT_SUPPORTED = "not_supported"
    #: SSO does not apply (Marketing, or a product the tenant does not license).
    NOT_APPLICABLE = "not_applicable"


@attrs.frozen
class Requirement:
    """One SSO requirement, met or not, with what is left to do."""

    rule: RuleId
    name: str
    met: bool
    detail: str

    def __str__(self) -> str:
        mark = "met" if self.met else "UNMET"
        return f"[{mark}] {self.name} ({self.rule}): {self.detail}"


@attrs.frozen
class SsoEligibility:
    """Whether SSO is possible for a tenant's product, with every requirement listed."""

    status: SsoStatus
    product: Product
    method: ProvisioningMethod | None
    as_of: dt.date
    requirements: tuple[Requirement, ...]
    #: Why the status is what it is, when one rule decides it (not applicable, not supported).
    findings: tuple[Finding, ...]
    #: The go-live date, if one was requested.
    go_live: dt.date | None
    #: The earliest go-live date a change requested on ``as_of`` can have.
    earliest_go_live: dt.date

    def __bool__(self) -> bool:
        return self.status is SsoStatus.ELIGIBLE

    @property
    def eligible(self) -> bool:
        """Whether every requirement is met."""
        return self.status is SsoStatus.ELIGIBLE

    @property
    def in_effect(self) -> bool:
        """Whether SSO is eligible and its go-live date has come (``SSO_IN_EFFECT``)."""
        return self.eligible and self.go_live is not None and self.go_live <= self.as_of

    @property
    def met(self) -> tuple[Requirement, ...]:
        """The requirements already met."""
        return tuple(r for r in self.requirements if r.met)

    @property
    def unmet(self) -> tuple[Requirement, ...]:
        """The requirements left to meet."""
        return tuple(r for r in self.requirements if not r.met)

    def __str__(self) -> str:
        method = self.method.value if self.method else "not licensed"
        heading = (
            f"SSO for {self.product.value} ({method}) as of {self.as_of.isoformat()}: "
            f"{self.status.value} ({len(self.met)} of {len(self.requirements)} requirements met)"
        )
        lines = [heading]
        lines.extend(f"  {f}" for f in self.findings)
        lines.extend(f"  {r}" for r in self.requirements)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        caption = (
            f"SSO for {self.product.value} as of {self.as_of.isoformat()}: {self.status.value}"
        )
        rows: list[tuple[str, str, str, str]] = [
            (f.rule, f.severity.value, "", f.message) for f in self.findings
        ]
        rows.extend(
            (r.rule, "met" if r.met else "unmet", r.name, r.detail) for r in self.requirements
        )
        return html_table(caption, ("rule", "state", "requirement", "detail"), rows)
