"""A change of method, explained as the migration it is (``METHOD_CHANGE_IS_MIGRATION``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from .._html import html_table
from ..catalog import Product
from ..catalog import ProvisioningMethod as Method
from ..tenants import Tenant
from ._ids import RuleId
from ._results import CheckResult, Finding, Severity

if TYPE_CHECKING:
    from ._book import RuleBook

__all__ = ["Migration", "plan_migration"]


@attrs.frozen
class Migration:
    """What moving one product to another method involves.

    ``risks`` are the warnings a person must act on; ``problems`` are the configuration
    errors the target tenant would have (fix them before migrating). ``ok`` is true when
    the target has none.
    """

    tenant_id: str
    product: Product
    from_method: Method | None
    to_method: Method
    #: The tenant as it would be after the migration.
    target: Tenant
    risks: tuple[Finding, ...]
    problems: CheckResult

    @property
    def ok(self) -> bool:
        """Whether the target tenant has no configuration error."""
        return self.problems.ok

    @property
    def rules(self) -> tuple[RuleId, ...]:
        """The ids of every rule involved, risks first."""
        return tuple(f.rule for f in self.risks) + self.problems.rules

    def __str__(self) -> str:
        start = self.from_method.value if self.from_method else "not licensed"
        verdict = "ok" if self.ok else "blocked"
        heading = f"migrate {self.product} of {self.tenant_id}: {start} -> {self.to_method}"
        lines = [f"{heading} ({verdict})"]
        lines.extend(f"  {f}" for f in self.risks)
        lines.extend(f"  {f}" for f in self.problems)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        start = self.from_method.value if self.from_method else "not licensed"
        caption = f"migrate {self.product}: {start} -> {self.to_method}"
        rows = [(f.severity.value, f.rule, f.message) for f in (*self.risks, *self.problems)]
        return html_table(caption, ("severity", "rule", "message"), rows)


def plan_migration(book: RuleBook, tenant: Tenant, product: Product, to: Method) -> Migration:
    """Explain moving ``tenant``'s ``product`` to method ``to``: risks, then target problems."""
    start = tenant.products.get(product)
    target = tenant.with_method(product, to)
    problems = book.check(target)
    risks: list[Finding] = []
    warn = Severity.WARNING

    def risk(rule: RuleId, message: str) -> None:
        risks.append(book.finding(rule, warn, message))

    if start is to:
        risks.append(
            book.finding(
                RuleId.METHOD_CHANGE_IS_MIGRATION, Severity.INFO, f"{product} already uses {to}"
            )
        )
        return Migration(tenant.id, product, start, to, target, tuple(risks), problems)
    risk(
        RuleId.METHOD_CHANGE_IS_MIGRATION,
        f"moving {product} to {to} is a migration: plan it with the vendor; a changed "
        "record identifier risks lost SSO access, duplicate records, lost history and "
        "broken syncs",
    )
    if tenant.sso is not None and product is Product.COMMUNITY:
        risk(
            RuleId.SSO_IDENTIFIER_MATCH,
            "keep every LegacyContactKey equal to the identifier the IdP asserts, or SSO "
            "users are locked out",
        )
    if start is Method.STANDARD_INTEGRATION:
        risk(
            RuleId.INTEGRATION_SOURCE_OF_TRUTH,
            "syncs stop: records no longer follow the AMS/CRM, and its keys must be kept as "
            "LegacyContactKeys to avoid duplicates",
        )
    if start is Method.STANDALONE:
        risk(
            RuleId.STANDALONE_LOCAL_PORTAL,
            "local registration and profile edits stop; accounts created locally must be "
            "carried into the new source with their keys",
        )
    if to is Method.SPREADSHEET_UPLOAD:
        risk(
            RuleId.UPLOAD_SINGLE_SOURCE,
            "from now on every change goes through a Super Admin's upload; a first full "
            "import that misses existing users deactivates them",
        )
    elif to is Method.STANDARD_INTEGRATION:
        risk(
            RuleId.INTEGRATION_SOURCE_OF_TRUTH,
            "existing records must be matched to the AMS/CRM by key, never by email: "
            "matching by email takes over local accounts in silence",
        )
    elif tenant.sso is not None:
        risk(
            RuleId.SSO_NOT_WITH_STANDALONE,
            "standalone does not support SSO: users who sign in by SSO lose that access",
        )
    return Migration(tenant.id, product, start, to, target, tuple(risks), problems)
