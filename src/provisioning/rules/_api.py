"""The rules as plain functions, each taking an optional ``rulebook`` (the vendor's by default)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..actors import Action, Actor
from ..catalog import Product
from ..catalog import ProvisioningMethod as Method
from ..tenants import Tenant
from . import _engine, _migration
from ._book import DEFAULT_RULEBOOK, RuleBook
from ._results import CheckResult, Decision, SsoEligibility
from ._scenarios import (
    ACTING_ROLE,
    DEFAULT_SSO_OPTIONS,
    DEFAULT_SYSTEMS,
    ScenarioTable,
    SsoOption,
    build_scenarios,
)

__all__ = [
    "applicable_methods",
    "check",
    "decide",
    "plan_migration",
    "scenarios",
    "sso_eligibility",
]

# STANDALONE_COMMUNITY_ONLY, UPLOAD_COMMUNITY_OR_MARKETING, INTEGRATION_COMMUNITY_ONLY
_APPLICABLE: dict[Product, tuple[Method, ...]] = {
    Product.COMMUNITY: (Method.STANDALONE, Method.SPREADSHEET_UPLOAD, Method.STANDARD_INTEGRATION),
    Product.MARKETING: (Method.SPREADSHEET_UPLOAD,),
}


def applicable_methods(product: Product) -> tuple[Method, ...]:
    """The methods ``product`` may use.

    >>> applicable_methods(Product.MARKETING)
    (<ProvisioningMethod.SPREADSHEET_UPLOAD: 'spreadsheet_upload'>,)
    """
    return _APPLICABLE[product]


def check(tenant: Tenant, *, rulebook: RuleBook = DEFAULT_RULEBOOK) -> CheckResult:
    """Every configuration problem of ``tenant`` at once, each a finding with its rule id."""
    return _engine.check(rulebook, tenant)


def decide(
    tenant: Tenant,
    actor: Actor,
    action: Action,
    *,
    product: Product = Product.COMMUNITY,
    as_of: dt.date | None = None,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
) -> Decision:
    """Whether ``actor`` may do ``action`` on ``tenant``'s ``product``, and the findings why.

    ``as_of`` matters to SSO (go-live, lead time); ``None`` means today in UTC.
    """
    return _engine.decide(rulebook, tenant, actor, action, product, as_of)


def sso_eligibility(
    tenant: Tenant,
    *,
    product: Product = Product.COMMUNITY,
    as_of: dt.date | None = None,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
) -> SsoEligibility:
    """Where ``tenant``'s ``product`` stands on SSO on ``as_of``, requirement by requirement."""
    return _engine.sso_eligibility(rulebook, tenant, product, as_of)


def plan_migration(
    tenant: Tenant,
    product: Product,
    to: Method,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
) -> _migration.Migration:
    """Explain moving ``product`` to method ``to``: the risks, then the target's problems."""
    return _migration.plan_migration(rulebook, tenant, product, to)


def scenarios(
    *,
    products: Iterable[Product] = tuple(Product),
    methods: Iterable[Method] = tuple(Method),
    sso_options: Iterable[SsoOption] = DEFAULT_SSO_OPTIONS,
    systems: Iterable[str | None] = DEFAULT_SYSTEMS,
    actions: Iterable[Action] = tuple(ACTING_ROLE),
    as_of: dt.date | None = None,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
) -> ScenarioTable:
    """The scenario table: every product x method x SSO setup x system, or a subset."""
    return build_scenarios(
        rulebook,
        products=products,
        methods=methods,
        sso_options=sso_options,
        systems=systems,
        actions=actions,
        as_of=as_of,
    )
