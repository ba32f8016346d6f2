"""The rules engine: configuration checks and SSO eligibility (decisions: ``_decide``).

Each function takes the rulebook first and reads nothing but its arguments. Every
finding names its rule id (see docs/domain.md); a refusal is a decision with an ``ERROR`` finding.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

from .._clock import today
from ..catalog import Capability, Product, Support
from ..catalog import ProvisioningMethod as Method
from ..tenants import SsoProtocol, SsoSetup, Tenant
from ._ids import RuleId
from ._results import (
    CheckResult,
    Finding,
    Requirement,
    Severity,
    SsoEligibility,
    SsoStatus,
)

if TYPE_CHECKING:
    from ._book import RuleBook

__all__ = [
    "SUPPORTED_PROTOCOLS",
    "check",
    "describe_period",
    "sso_eligibility",
    "system_problems",
    "today",
]

ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO

STANDALONE = Method.STANDALONE
UPLOAD = Method.SPREADSHEET_UPLOAD
INTEGRATION = Method.STANDARD_INTEGRATION

#: ``SSO_PROTOCOLS``: "Supported protocols: SAML 2.0, OAuth 2.0, OpenID Connect."
SUPPORTED_PROTOCOLS = frozenset(
    {SsoProtocol.SAML_2_0, SsoProtocol.OAUTH_2_0, SsoProtocol.OPENID_CONNECT}
)


def describe_period(period: relativedelta) -> str:
    """Say a period in words, e.g. ``relativedelta(weeks=3)`` -> ``"3 weeks"``."""
    parts: list[str] = []
    days = period.days
    weeks, days = divmod(days, 7) if days % 7 == 0 else (0, days)
    for amount, unit in (
        (period.years, "year"),
        (period.months, "month"),
        (weeks, "week"),
        (days, "day"),
    ):
        if amount:
            parts.append(f"{amount} {unit}{'' if amount == 1 else 's'}")
    return ", ".join(parts) or "no notice"


def _add_period(day: dt.date, period: relativedelta) -> dt.date:
    """``day + period``; whole days skip relativedelta's slower arithmetic.

    ``Settings`` only admits relative years, months, weeks and days.
    """
    try:
        if period.years or period.months:
            result: dt.date = day + period
            return result
        return day + dt.timedelta(days=period.days)
    except (OverflowError, ValueError):
        # Past the last representable day: no go-live date can be early enough.
        return dt.date.max


# -- check ---------------------------------------------------------------------------


def check(book: RuleBook, tenant: Tenant) -> CheckResult:
    """Every configuration problem of ``tenant``, at once (no clock involved)."""
    found: list[Finding] = []
    add = found.append
    for product, method in tenant.products.items():
        if method is STANDALONE and product is not Product.COMMUNITY:
            add(
                book.finding(
                    RuleId.STANDALONE_COMMUNITY_ONLY,
                    ERROR,
                    f"{product.value} is licensed with the standalone method, which applies to "
                    "community only",
                )
            )
        elif method is INTEGRATION and product is not Product.COMMUNITY:
            add(
                book.finding(
                    RuleId.INTEGRATION_COMMUNITY_ONLY,
                    ERROR,
                    f"{product.value} is licensed with a standard integration, which is offered "
                    "for community only",
                )
            )
    integrated = INTEGRATION in tenant.products.values()
    if integrated:
        found.extend(system_problems(book, tenant))
    elif tenant.integration is not None:
        add(
            book.finding(
                RuleId.INTEGRATION_SYSTEM_UNUSED,
                WARNING,
                f"the tenant names the integrated system {tenant.integration!r}, but no "
                "product uses a standard integration",
            )
        )
    community = tenant.products.get(Product.COMMUNITY)
    if tenant.account_requests.enabled and community is not STANDALONE:
        how = f"community uses {community.value}" if community else "community is not licensed"
        add(
            book.finding(
                RuleId.STANDALONE_ACCOUNT_REQUESTS,
                ERROR,
                f"account requests are set to {tenant.account_requests.policy.value}, but only "
                f"standalone sites take account requests ({how})",
            )
        )
    if tenant.sso is not None:
        found.extend(_sso_setup_problems(book, tenant))
    return CheckResult(tenant.id, tuple(found))


def system_problems(book: RuleBook, tenant: Tenant) -> list[Finding]:
    if tenant.integration is None:
        return [
            book.finding(
                RuleId.INTEGRATION_SYSTEM_REQUIRED,
                ERROR,
                "a product uses a standard integration, but no integrated system is named",
            )
        ]
    if tenant.integration not in book.catalog:
        return [
            book.finding(
                RuleId.INTEGRATION_SYSTEM_UNKNOWN,
                ERROR,
                f"the integrated system {tenant.integration!r} is not in the rulebook's catalog",
            )
        ]
    return []


def _sso_setup_problems(book: RuleBook, tenant: Tenant) -> list[Finding]:
    setup = tenant.sso
    assert setup is not None
    found: list[Finding] = []
    sso_products = [p for p in tenant.products if p in book.settings.sso_products]
    if not sso_products:
        licensed = ", ".join(p.value for p in tenant.products) or "nothing"
        found.append(
            book.finding(
                RuleId.SSO_NOT_MARKETING,
                ERROR,
                f"SSO is set up, but the tenant licenses no product SSO applies to "
                f"(it licenses {licensed})",
            )
        )
    for product in sso_products:
        method = tenant.products[product]
        if method is STANDALONE:
            found.append(
                book.finding(
                    RuleId.SSO_NOT_WITH_STANDALONE,
                    ERROR,
                    f"SSO is set up, but {product.value} uses the standalone method, which does "
                    "not support SSO",
                )
            )
        elif method is INTEGRATION and tenant.integration is not None:
            system = book.catalog.get(tenant.integration)
            if system is not None:
                support = system.supports(Capability.SSO)
                if support is Support.NO:
                    found.append(
                        book.finding(
                            RuleId.SSO_INTEGRATION_BY_SYSTEM,
                            ERROR,
                            f"SSO is set up, but {system.name} does not support SSO",
                        )
                    )
                elif support is Support.UNKNOWN:
                    found.append(
                        book.finding(
                            RuleId.SSO_INTEGRATION_BY_SYSTEM,
                            WARNING,
                            f"SSO is set up, but no source confirms that {system.name} "
                            "supports SSO; confirm it with the vendor",
                        )
                    )
    found.extend(
        book.finding(r.rule, ERROR, r.detail) for r in _setup_requirements(tenant) if not r.met
    )
    if setup.go_live is not None and setup.requested_on is not None:
        lead = book.settings.sso_lead_time
        notice_end = _add_period(setup.requested_on, lead)
        if setup.go_live < setup.requested_on:
            message = (
                f"go-live {setup.go_live.isoformat()} is before the day it was requested "
                f"({setup.requested_on.isoformat()})"
            )
            found.append(book.finding(RuleId.SSO_LEAD_TIME, ERROR, message))
        elif setup.go_live < notice_end:
            message = _short_notice(setup, describe_period(lead), notice_end)
            found.append(book.finding(RuleId.SSO_LEAD_TIME, ERROR, message))
    return found


# -- SSO eligibility -------------------------------------------------------------------


def _setup_requirements(tenant: Tenant) -> list[Requirement]:
    """The requirements an SSO setup meets or not by itself, whatever the method."""
    setup = tenant.sso
    if setup is None:
        missing = "no SSO setup"
        return [
            Requirement(RuleId.SSO_PROTOCOLS, "supported protocol", False, missing),
            Requirement(RuleId.SSO_EXTERNAL_IDP, "external identity provider", False, missing),
            Requirement(
                RuleId.SSO_IDENTIFIER_MATCH, "identifier is LegacyContactKey", False, missing
            ),
            Requirement(RuleId.SSO_SAML_SIGNED, "SAML messages signed", False, missing),
        ]
    protocol = setup.protocol
    supported = protocol in SUPPORTED_PROTOCOLS
    idp = setup.identity_provider
    if protocol is SsoProtocol.SAML_2_0 or protocol is SsoProtocol.SAML_1_1:
        signed = setup.saml_signed
        signing = (
            "requests and responses are signed"
            if signed
            else "SAML requests and responses must be signed"
        )
    else:
        signed = True
        signing = f"{protocol.value} is not SAML: no signing requirement"
    return [
        Requirement(
            RuleId.SSO_PROTOCOLS,
            "supported protocol",
            supported,
            f"{protocol.value} is supported"
            if supported
            else f"{protocol.value} is not supported; use SAML 2.0, OAuth 2.0 or OpenID Connect",
        ),
        Requirement(
            RuleId.SSO_EXTERNAL_IDP,
            "external identity provider",
            not idp.hosted_by_vendor,
            f"{idp.name} is the customer's identity provider"
            if not idp.hosted_by_vendor
            else f"{idp.name} would make the vendor the identity provider; the customer's "
            "system must be",
        ),
        Requirement(
            RuleId.SSO_IDENTIFIER_MATCH,
            "identifier is LegacyContactKey",
            setup.identifier_is_legacy_contact_key,
            f"the IdP asserts {setup.asserted_identifier}, which equals the LegacyContactKey"
            if setup.identifier_is_legacy_contact_key
            else f"the IdP asserts {setup.asserted_identifier}, which is not the "
            "LegacyContactKey: users could not get in",
        ),
        Requirement(RuleId.SSO_SAML_SIGNED, "SAML messages signed", signed, signing),
    ]


def _method_requirement(book: RuleBook, tenant: Tenant, method: Method) -> tuple[Requirement, bool]:
    """The method's own SSO requirement, and whether the method rules SSO out entirely."""
    name = "method allows SSO"
    if method is STANDALONE:
        detail = "standalone does not support SSO: the vendor is not an identity provider"
        return Requirement(RuleId.SSO_NOT_WITH_STANDALONE, name, False, detail), True
    if method is UPLOAD:
        detail = "spreadsheet upload supports SSO once the requirements are met"
        return Requirement(RuleId.SSO_UPLOAD_CONDITIONAL, name, True, detail), False
    rule = RuleId.SSO_INTEGRATION_BY_SYSTEM
    if tenant.integration is None:
        return Requirement(rule, name, False, "no integrated system is named"), False
    system = book.catalog.get(tenant.integration)
    if system is None:
        detail = f"the integrated system {tenant.integration!r} is not in the catalog"
        return Requirement(rule, name, False, detail), False
    support = system.supports(Capability.SSO)
    if support is Support.YES:
        return Requirement(rule, name, True, f"{system.name} supports SSO"), False
    if support is Support.NO:
        return Requirement(rule, name, False, f"{system.name} does not support SSO"), True
    detail = f"no source confirms that {system.name} supports SSO; confirm it with the vendor"
    return Requirement(rule, name, False, detail), False


def _lead_time_requirement(
    book: RuleBook, tenant: Tenant, as_of: dt.date, start: dt.date, notice_end: dt.date
) -> Requirement:
    """``SSO_LEAD_TIME``, counted from the request date when known, else from ``as_of``.

    ``notice_end`` is ``start`` plus the lead time: the first day the notice allows.
    """
    name = "lead time before go-live"
    lead = describe_period(book.settings.sso_lead_time)
    setup = tenant.sso
    if setup is None:
        return Requirement(RuleId.SSO_LEAD_TIME, name, False, "no SSO setup")
    go_live = setup.go_live
    earliest = max(notice_end, as_of)
    if go_live is None:
        return Requirement(
            RuleId.SSO_LEAD_TIME,
            name,
            False,
            f"no go-live date requested; the earliest possible is {earliest.isoformat()}",
        )
    requested = setup.requested_on
    if requested is not None and go_live < requested:
        detail = (
            f"go-live {go_live.isoformat()} is before the day it was requested "
            f"({requested.isoformat()}); the earliest possible is {earliest.isoformat()}"
        )
        return Requirement(RuleId.SSO_LEAD_TIME, name, False, detail)
    if requested is not None and go_live < notice_end:
        # Too little notice is a fact of the two dates: the go-live day passing mends nothing.
        return Requirement(
            RuleId.SSO_LEAD_TIME, name, False, _short_notice(setup, lead, notice_end)
        )
    if go_live <= as_of:
        return Requirement(RuleId.SSO_LEAD_TIME, name, True, f"live since {go_live.isoformat()}")
    if go_live >= notice_end:
        notice = f"at least {lead}" if notice_end > start else "no notice needed"
        return Requirement(
            RuleId.SSO_LEAD_TIME,
            name,
            True,
            f"go-live {go_live.isoformat()} is {notice} after {start.isoformat()}",
        )
    return Requirement(
        RuleId.SSO_LEAD_TIME,
        name,
        False,
        f"go-live {go_live.isoformat()} is less than {lead} after {start.isoformat()}; "
        f"the earliest possible is {earliest.isoformat()}",
    )


def _short_notice(setup: SsoSetup, lead: str, notice_end: dt.date) -> str:
    assert setup.go_live is not None
    assert setup.requested_on is not None
    return (
        f"go-live {setup.go_live.isoformat()} was booked with less than {lead} notice "
        f"(requested on {setup.requested_on.isoformat()}); the earliest possible was "
        f"{notice_end.isoformat()}"
    )


def sso_eligibility(
    book: RuleBook, tenant: Tenant, product: Product, as_of: dt.date | None
) -> SsoEligibility:
    """Where ``tenant``'s ``product`` stands on SSO on ``as_of`` (default: today, UTC)."""
    day = as_of if as_of is not None else today()
    setup = tenant.sso
    go_live = setup.go_live if setup is not None else None
    requested = setup.requested_on if setup is not None else None
    start = requested if requested is not None else day
    notice_end = _add_period(start, book.settings.sso_lead_time)
    # The earliest go-live the lead time allows, never a day already past.
    earliest = max(notice_end, day)
    method = tenant.products.get(product)
    if method is None:
        finding = book.finding(
            RuleId.PRODUCT_NOT_LICENSED, INFO, f"the tenant does not license {product.value}"
        )
        return SsoEligibility(
            SsoStatus.NOT_APPLICABLE, product, None, day, (), (finding,), go_live, earliest
        )
    if product not in book.settings.sso_products:
        finding = book.finding(
            RuleId.SSO_NOT_MARKETING,
            INFO,
            f"SSO is a Community login concern; it does not apply to {product.value}",
        )
        return SsoEligibility(
            SsoStatus.NOT_APPLICABLE, product, method, day, (), (finding,), go_live, earliest
        )
    method_requirement, ruled_out = _method_requirement(book, tenant, method)
    requirements = (
        method_requirement,
        *_setup_requirements(tenant),
        _lead_time_requirement(book, tenant, day, start, notice_end),
    )
    findings: tuple[Finding, ...] = ()
    if ruled_out:
        status = SsoStatus.NOT_SUPPORTED
        findings = (book.finding(method_requirement.rule, ERROR, method_requirement.detail),)
    elif all(r.met for r in requirements):
        status = SsoStatus.ELIGIBLE
    else:
        status = SsoStatus.REQUIREMENTS_UNMET
    return SsoEligibility(status, product, method, day, requirements, findings, go_live, earliest)
