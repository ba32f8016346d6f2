"""The rulebook: the rules as data, the settings a host may override, the integration catalog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from .._validators import check_day, check_type, enums, is_bool, to_enum
from ..actors import Action, Actor, Role
from ..catalog import DEFAULT_CATALOG, IntegrationCatalog, IntegrationSystem, Product
from ..catalog import ProvisioningMethod as Method
from ..exceptions import InvalidValueError, NotFoundError
from ..tenants import Tenant
from . import _decide, _engine, _migration
from ._catalog import RULES, Rule
from ._ids import RuleId
from ._results import CheckResult, Decision, Finding, Severity, SsoEligibility

__all__ = ["DEFAULT_RULEBOOK", "RuleBook", "Settings"]


def _share(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    number: object = value
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise InvalidValueError(
            f"{attribute.name} must be a number between 0 and 1, got "
            f"{type(number).__name__} {number!r}",
            field=attribute.name,
        )
    if not 0.0 <= value <= 1.0:
        raise InvalidValueError(
            f"{attribute.name} must be a share between 0 and 1, got {value!r}",
            field=attribute.name,
        )


def _lead_time(_inst: object, attribute: attrs.Attribute[relativedelta], value: object) -> None:
    if not isinstance(value, relativedelta):
        raise InvalidValueError(
            f"{attribute.name} must be a dateutil relativedelta, got {value!r}",
            field=attribute.name,
        )
    plain = relativedelta(years=value.years, months=value.months, days=value.days)
    if value != plain:
        raise InvalidValueError(
            f"{attribute.name} must be whole years, months, weeks or days, got {value!r}",
            field=attribute.name,
        )
    if value.years < 0 or value.months < 0 or value.days < 0:
        raise InvalidValueError(
            f"{attribute.name} must not be negative, got {value!r}", field=attribute.name
        )


def _products(value: Iterable[Product | str]) -> frozenset[Product]:
    return frozenset(enums(Product, value, "sso_products"))


def _roles(value: Iterable[Role | str]) -> frozenset[Role]:
    return frozenset(enums(Role, value, "user_admin_roles"))


def checked_call(
    book: object,
    tenant: object,
    product: object,
    as_of: object,
) -> tuple[RuleBook, Tenant, Product, dt.date | None]:
    """The arguments every rule function shares, checked; strings become members."""
    if type(book) is not RuleBook:
        book = check_type(book, RuleBook, "rulebook", "a RuleBook")
    if type(tenant) is not Tenant:
        tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    if type(product) is not Product:
        product = to_enum(Product, product, "product")
    if as_of is not None:
        as_of = check_day(as_of, "as_of")
    return book, tenant, product, as_of


@attrs.frozen(kw_only=True)
class Settings:
    """The defaults this project chose where the vendor is silent (rules marked ours).

    Build a rulebook with other settings to override them::

        RuleBook(settings=Settings(sso_lead_time=relativedelta(weeks=10)))
    """

    #: ``SSO_LEAD_TIME``: the notice an SSO change needs before its go-live date.
    sso_lead_time: relativedelta = attrs.field(
        factory=lambda: relativedelta(weeks=3), validator=_lead_time
    )
    #: ``SSO_NOT_MARKETING``: the products SSO (and login) applies to.
    sso_products: frozenset[Product] = attrs.field(
        default=frozenset({Product.COMMUNITY}), converter=_products
    )
    #: ``ROLE_PERMISSIONS``: the roles that manage user records.
    user_admin_roles: frozenset[Role] = attrs.field(
        default=frozenset({Role.SUPER_ADMIN, Role.SITE_ADMIN}), converter=_roles
    )
    #: ``SSO_IN_EFFECT``: keep local password login once SSO is live.
    local_login_with_sso: bool = attrs.field(default=False, validator=is_bool)
    #: ``SAFEGUARD_TRUNCATED_FILE``: hold a full import whose valid rows are fewer than
    #: this share of the active (not deactivated) stored records.
    truncated_file_share: float = attrs.field(default=0.5, validator=_share)
    #: ``SAFEGUARD_MASS_DEACTIVATION``: hold an import locking out (deactivating, or
    #: moving out of Enabled in any other way) more than this share of the Enabled
    #: stored records.
    max_deactivation_share: float = attrs.field(default=0.2, validator=_share)
    #: ``MARKETING_LEFT_OUT_KEPT``: a full Marketing import unsubscribes the stored
    #: contacts its file leaves out (by default they are kept as they are).
    marketing_full_unsubscribes: bool = attrs.field(default=False, validator=is_bool)


def _instance(cls: type[Any]) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_type(value, cls, attribute.name, f"a {cls.__name__}")

    return check


_SETTINGS = frozenset(a.name for a in attrs.fields(Settings))


def _index(rules: tuple[Rule, ...]) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


_RULES_BY_ID = _index(RULES)
_SOURCES = {rule.id: rule.source for rule in RULES}
_FINDINGS: dict[tuple[str, Severity, str], Finding] = {}
_FINDINGS_LIMIT = 4096


@attrs.frozen(kw_only=True)
class RuleBook:
    """Every rule as data, with the settings and catalog a host may change.

    A rulebook is a value: pass it where rules are applied. ``RuleBook()`` is the
    vendor's; :meth:`with_settings` and :meth:`with_systems` return changed copies.
    """

    settings: Settings = attrs.field(factory=Settings, validator=_instance(Settings))
    catalog: IntegrationCatalog = attrs.field(
        default=DEFAULT_CATALOG, validator=_instance(IntegrationCatalog)
    )

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, in catalog order."""
        return RULES

    def rule(self, rule_id: RuleId | str) -> Rule:
        """Return the rule with this id, or raise :class:`NotFoundError`."""
        try:
            return _RULES_BY_ID[rule_id]
        except KeyError:
            raise NotFoundError(f"unknown rule id {rule_id!r}", kind="rule", key=rule_id) from None

    def finding(self, rule_id: RuleId, severity: Severity, message: str) -> Finding:
        """Build a finding of ``rule_id`` carrying the rule's source."""
        key = (rule_id, severity, message)
        found = _FINDINGS.get(key)
        if found is None:
            # Findings are immutable values and most recur (the same rule, the same
            # words), so they are shared; the cache is bounded and simply starts over.
            if len(_FINDINGS) >= _FINDINGS_LIMIT:
                _FINDINGS.clear()
            found = _FINDINGS[key] = Finding(rule_id, severity, message, _SOURCES[rule_id])
        return found

    def with_settings(self, **changes: Any) -> RuleBook:
        """Return a rulebook whose settings have ``changes`` applied.

        An unknown setting raises :class:`~provisioning.InvalidValueError` naming it.
        """
        for name in changes:
            if name not in _SETTINGS:
                known = ", ".join(sorted(_SETTINGS))
                raise InvalidValueError(
                    f"unknown setting {name!r}; the settings are {known}", field=name
                )
        return attrs.evolve(self, settings=attrs.evolve(self.settings, **changes))

    def with_systems(self, *systems: IntegrationSystem) -> RuleBook:
        """Return a rulebook whose catalog has ``systems`` added or replaced."""
        return attrs.evolve(self, catalog=self.catalog.with_systems(*systems))

    # The engine lives in _engine.py, _decide.py and _migration.py; these methods are its
    # public face.

    def check(self, tenant: Tenant) -> CheckResult:
        """Every configuration problem of ``tenant``, at once."""
        if type(tenant) is not Tenant:
            tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
        return _engine.check(self, tenant)

    def decide(
        self,
        tenant: Tenant,
        actor: Actor,
        action: Action | str,
        *,
        product: Product | str = Product.COMMUNITY,
        as_of: dt.date | None = None,
    ) -> Decision:
        """Whether ``actor`` may do ``action`` on ``tenant``'s ``product``, and why.

        ``action`` and ``product`` may be given by value (``"self_register"``); a bad
        argument raises :class:`~provisioning.InvalidValueError` naming the parameter.
        """
        book, tenant, member, day = checked_call(self, tenant, product, as_of)
        if type(actor) is not Actor:
            actor = check_type(actor, Actor, "actor", "an Actor")
        if type(action) is not Action:
            action = to_enum(Action, action, "action")
        return _decide.decide(book, tenant, actor, action, member, day)

    def permission_matrix(self) -> _decide.PermissionMatrix:
        """What :meth:`decide` says of every action x method x role, for Community.

        Read off the tables ``decide`` itself reads, with this rulebook's settings (a
        host's ``user_admin_roles``, say): each cell is allowed, refused with the
        refusing rules, or depends on the tenant's own facts, with the rules that decide.
        """
        return _decide.permission_matrix(self)

    def sso_eligibility(
        self,
        tenant: Tenant,
        *,
        product: Product | str = Product.COMMUNITY,
        as_of: dt.date | None = None,
    ) -> SsoEligibility:
        """Where ``tenant``'s ``product`` stands on SSO, requirement by requirement.

        ``as_of`` is a day: a ``datetime`` is refused, as is anything but a date.
        """
        book, tenant, member, day = checked_call(self, tenant, product, as_of)
        return _engine.sso_eligibility(book, tenant, member, day)

    def plan_migration(
        self, tenant: Tenant, product: Product | str, to: Method | str
    ) -> _migration.Migration:
        """What moving ``product`` to method ``to`` involves (``METHOD_CHANGE_IS_MIGRATION``)."""
        book, tenant, member, _ = checked_call(self, tenant, product, None)
        return _migration.plan_migration(book, tenant, member, to_enum(Method, to, "to"))


#: The vendor's rules with this project's default settings.
DEFAULT_RULEBOOK = RuleBook()
