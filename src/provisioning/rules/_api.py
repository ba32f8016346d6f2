"""The rules as plain functions, each taking an optional ``rulebook`` (the vendor's by default)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .._validators import check_day, check_type, enums, to_enum
from ..actors import Action, Actor
from ..catalog import Product
from ..catalog import ProvisioningMethod as Method
from ..tenants import Tenant
from . import _decide, _migration
from ._book import DEFAULT_RULEBOOK, RuleBook
from ._decide import PermissionMatrix
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
    "permission_matrix",
    "plan_migration",
    "scenarios",
    "sso_eligibility",
]

# STANDALONE_COMMUNITY_ONLY, UPLOAD_COMMUNITY_OR_MARKETING, INTEGRATION_COMMUNITY_ONLY
_APPLICABLE: dict[Product, tuple[Method, ...]] = {
    Product.COMMUNITY: (Method.STANDALONE, Method.SPREADSHEET_UPLOAD, Method.STANDARD_INTEGRATION),
    Product.MARKETING: (Method.SPREADSHEET_UPLOAD,),
}


def applicable_methods(product: Product | str) -> tuple[Method, ...]:
    """The methods ``product`` (a member or its value) may use.

    >>> applicable_methods("marketing")
    (<ProvisioningMethod.SPREADSHEET_UPLOAD: 'spreadsheet_upload'>,)
    """
    return _APPLICABLE[to_enum(Product, product, "product")]


def check(tenant: Tenant, *, rulebook: RuleBook = DEFAULT_RULEBOOK) -> CheckResult:
    """Every configuration problem of ``tenant`` at once, each a finding with its rule id."""
    return check_type(rulebook, RuleBook, "rulebook", "a RuleBook").check(tenant)


def permission_matrix(*, rulebook: RuleBook = DEFAULT_RULEBOOK) -> PermissionMatrix:
    """What :func:`decide` says of every action x method x role, for Community.

    >>> import provisioning as pv
    >>> matrix = permission_matrix()
    >>> str(matrix[pv.Action.SELF_REGISTER, "spreadsheet_upload", pv.Role.MEMBER])
    'refused: UPLOAD_SINGLE_SOURCE, STANDALONE_ACCOUNT_REQUESTS'
    """
    return _book(rulebook).permission_matrix()


def _book(rulebook: object) -> RuleBook:
    if type(rulebook) is RuleBook:
        return rulebook
    return check_type(rulebook, RuleBook, "rulebook", "a RuleBook")


def decide(
    tenant: Tenant,
    actor: Actor,
    action: Action | str,
    *,
    product: Product | str = Product.COMMUNITY,
    as_of: dt.date | None = None,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
) -> Decision:
    """Whether ``actor`` may do ``action`` on ``tenant``'s ``product``, and the findings why.

    ``action`` and ``product`` are members or their values (``"self_register"``).
    ``as_of`` (a date, not a datetime) matters to SSO (go-live, lead time); ``None``
    means today in UTC. A bad argument raises :class:`~provisioning.InvalidValueError`
    naming the parameter; an unknown value lists the valid ones.
    """
    # RuleBook.decide's checks, inline: decide is the hot path of scenario tables.
    book = rulebook if type(rulebook) is RuleBook else _book(rulebook)
    if type(tenant) is not Tenant:
        tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    if type(actor) is not Actor:
        actor = check_type(actor, Actor, "actor", "an Actor")
    if type(action) is not Action:
        action = to_enum(Action, action, "action")
    if type(product) is not Product:
        product = to_enum(Product, product, "product")
    if as_of is not None and type(as_of) is not dt.date:
        as_of = check_day(as_of, "as_of")
    return _decide.decide(book, tenant, actor, action, product, as_of)


def sso_eligibility(
    tenant: Tenant,
    *,
    product: Product | str = Product.COMMUNITY,
    as_of: dt.date | None = None,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
) -> SsoEligibility:
    """Where ``tenant``'s ``product`` stands on SSO on ``as_of``, requirement by requirement.

    ``as_of`` is a day (a ``datetime.date``; a ``datetime`` is refused).
    """
    return _book(rulebook).sso_eligibility(tenant, product=product, as_of=as_of)


def plan_migration(
    tenant: Tenant,
    product: Product | str,
    to: Method | str,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
) -> _migration.Migration:
    """Explain moving ``product`` to method ``to``: the risks, then the target's problems."""
    return _book(rulebook).plan_migration(tenant, product, to)


def _options(values: object) -> tuple[SsoOption, ...]:
    what = "SsoOption values"
    if isinstance(values, SsoOption) or not isinstance(values, Iterable):
        values = (values,)
    return tuple(check_type(v, SsoOption, "sso_options", what) for v in values)


def _systems(values: object) -> tuple[str | None, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        values = (values,)
    for value in values:
        if value is not None:
            check_type(value, str, "systems", "an iterable of system ids or None")
    return tuple(values)


def scenarios(
    *,
    products: Iterable[Product | str] = tuple(Product),
    methods: Iterable[Method | str] = tuple(Method),
    sso_options: Iterable[SsoOption] = DEFAULT_SSO_OPTIONS,
    systems: Iterable[str | None] = DEFAULT_SYSTEMS,
    actions: Iterable[Action | str] = tuple(ACTING_ROLE),
    as_of: dt.date | None = None,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
) -> ScenarioTable:
    """The scenario table: every product x method x SSO setup x system, or a subset.

    Products, methods and actions may be given by value; one alone works too.
    """
    return build_scenarios(
        _book(rulebook),
        products=enums(Product, products, "products"),
        methods=enums(Method, methods, "methods"),
        sso_options=_options(sso_options),
        systems=_systems(systems),
        actions=enums(Action, actions, "actions"),
        as_of=None if as_of is None else check_day(as_of, "as_of"),
    )
