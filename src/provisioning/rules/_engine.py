"""The rules engine: configuration checks, SSO eligibility and decisions.

Each function takes the rulebook first and reads nothing but its arguments. Every
finding names its rule id (DOMAIN.md); a refusal is a decision with an ``ERROR`` finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

from .._clock import today
from ..actors import Action, Actor, Role
from ..catalog import Capability, Product, Support
from ..catalog import ProvisioningMethod as Method
from ..tenants import AccountRequestPolicy, SsoProtocol, SsoSetup, Tenant
from ._results import (
    CheckResult,
    Decision,
    Finding,
    Requirement,
    Severity,
    SsoEligibility,
    SsoStatus,
)

if TYPE_CHECKING:
    from ._book import RuleBook

__all__ = ["SUPPORTED_PROTOCOLS", "check", "decide", "describe_period", "sso_eligibility", "today"]

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
                    "STANDALONE_COMMUNITY_ONLY",
                    ERROR,
                    f"{product.value} is licensed with the standalone method, which applies to "
                    "community only",
                )
            )
        elif method is INTEGRATION and product is not Product.COMMUNITY:
            add(
                book.finding(
                    "INTEGRATION_COMMUNITY_ONLY",
                    ERROR,
                    f"{product.value} is licensed with a standard integration, which is offered "
                    "for community only",
                )
            )
    integrated = INTEGRATION in tenant.products.values()
    if integrated:
        found.extend(_system_problems(book, tenant))
    elif tenant.integration is not None:
        add(
            book.finding(
                "INTEGRATION_SYSTEM_UNUSED",
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
                "STANDALONE_ACCOUNT_REQUESTS",
                ERROR,
                f"account requests are set to {tenant.account_requests.policy.value}, but only "
                f"standalone sites take account requests ({how})",
            )
        )
    if tenant.sso is not None:
        found.extend(_sso_setup_problems(book, tenant))
    return CheckResult(tenant.id, tuple(found))


def _system_problems(book: RuleBook, tenant: Tenant) -> list[Finding]:
    if tenant.integration is None:
        return [
            book.finding(
                "INTEGRATION_SYSTEM_REQUIRED",
                ERROR,
                "a product uses a standard integration, but no integrated system is named",
            )
        ]
    if tenant.integration not in book.catalog:
        return [
            book.finding(
                "INTEGRATION_SYSTEM_UNKNOWN",
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
                "SSO_NOT_MARKETING",
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
                    "SSO_NOT_WITH_STANDALONE",
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
                            "SSO_INTEGRATION_BY_SYSTEM",
                            ERROR,
                            f"SSO is set up, but {system.name} does not support SSO",
                        )
                    )
                elif support is Support.UNKNOWN:
                    found.append(
                        book.finding(
                            "SSO_INTEGRATION_BY_SYSTEM",
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
        earliest = _add_period(setup.requested_on, lead)
        if setup.go_live < earliest:
            message = _short_notice(setup, describe_period(lead), earliest)
            found.append(book.finding("SSO_LEAD_TIME", ERROR, message))
    return found


# -- SSO eligibility -------------------------------------------------------------------


def _setup_requirements(tenant: Tenant) -> list[Requirement]:
    """The requirements an SSO setup meets or not by itself, whatever the method."""
    setup = tenant.sso
    if setup is None:
        missing = "no SSO setup"
        return [
            Requirement("SSO_PROTOCOLS", "supported protocol", False, missing),
            Requirement("SSO_EXTERNAL_IDP", "external identity provider", False, missing),
            Requirement("SSO_IDENTIFIER_MATCH", "identifier is LegacyContactKey", False, missing),
            Requirement("SSO_SAML_SIGNED", "SAML messages signed", False, missing),
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
            "SSO_PROTOCOLS",
            "supported protocol",
            supported,
            f"{protocol.value} is supported"
            if supported
            else f"{protocol.value} is not supported; use SAML 2.0, OAuth 2.0 or OpenID Connect",
        ),
        Requirement(
            "SSO_EXTERNAL_IDP",
            "external identity provider",
            not idp.hosted_by_vendor,
            f"{idp.name} is the customer's identity provider"
            if not idp.hosted_by_vendor
            else f"{idp.name} would make the vendor the identity provider; the customer's "
            "system must be",
        ),
        Requirement(
            "SSO_IDENTIFIER_MATCH",
            "identifier is LegacyContactKey",
            setup.identifier_is_legacy_contact_key,
            f"the IdP asserts {setup.asserted_identifier}, which equals the LegacyContactKey"
            if setup.identifier_is_legacy_contact_key
            else f"the IdP asserts {setup.asserted_identifier}, which is not the "
            "LegacyContactKey: users could not get in",
        ),
        Requirement("SSO_SAML_SIGNED", "SAML messages signed", signed, signing),
    ]


def _method_requirement(book: RuleBook, tenant: Tenant, method: Method) -> tuple[Requirement, bool]:
    """The method's own SSO requirement, and whether the method rules SSO out entirely."""
    name = "method allows SSO"
    if method is STANDALONE:
        detail = "standalone does not support SSO: the vendor is not an identity provider"
        return Requirement("SSO_NOT_WITH_STANDALONE", name, False, detail), True
    if method is UPLOAD:
        detail = "spreadsheet upload supports SSO once the requirements are met"
        return Requirement("SSO_UPLOAD_CONDITIONAL", name, True, detail), False
    rule = "SSO_INTEGRATION_BY_SYSTEM"
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
    book: RuleBook, tenant: Tenant, as_of: dt.date, start: dt.date, earliest: dt.date
) -> Requirement:
    """``SSO_LEAD_TIME``, counted from the request date when known, else from ``as_of``."""
    name = "lead time before go-live"
    lead = describe_period(book.settings.sso_lead_time)
    setup = tenant.sso
    if setup is None:
        return Requirement("SSO_LEAD_TIME", name, False, "no SSO setup")
    go_live = setup.go_live
    if go_live is None:
        return Requirement(
            "SSO_LEAD_TIME",
            name,
            False,
            f"no go-live date requested; the earliest possible is {earliest.isoformat()}",
        )
    if setup.requested_on is not None and go_live < earliest:
        # Too little notice is a fact of the two dates: the go-live day passing mends nothing.
        return Requirement("SSO_LEAD_TIME", name, False, _short_notice(setup, lead, earliest))
    if go_live <= as_of:
        return Requirement("SSO_LEAD_TIME", name, True, f"live since {go_live.isoformat()}")
    if go_live >= earliest:
        notice = f"at least {lead}" if earliest > as_of else "no notice needed"
        return Requirement(
            "SSO_LEAD_TIME",
            name,
            True,
            f"go-live {go_live.isoformat()} is {notice} after {start.isoformat()}",
        )
    return Requirement(
        "SSO_LEAD_TIME",
        name,
        False,
        f"go-live {go_live.isoformat()} is less than {lead} after {start.isoformat()}; "
        f"the earliest possible is {earliest.isoformat()}",
    )


def _short_notice(setup: SsoSetup, lead: str, earliest: dt.date) -> str:
    assert setup.go_live is not None
    assert setup.requested_on is not None
    return (
        f"go-live {setup.go_live.isoformat()} was booked with less than {lead} notice "
        f"(requested on {setup.requested_on.isoformat()}); the earliest possible was "
        f"{earliest.isoformat()}"
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
    earliest = _add_period(start, book.settings.sso_lead_time)
    method = tenant.products.get(product)
    if method is None:
        finding = book.finding(
            "PRODUCT_NOT_LICENSED", INFO, f"the tenant does not license {product.value}"
        )
        return SsoEligibility(
            SsoStatus.NOT_APPLICABLE, product, None, day, (), (finding,), go_live, earliest
        )
    if product not in book.settings.sso_products:
        finding = book.finding(
            "SSO_NOT_MARKETING",
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
        _lead_time_requirement(book, tenant, day, start, earliest),
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


# -- decide ----------------------------------------------------------------------------

_Handler = Callable[["RuleBook", Tenant, Role, Product, Method, "dt.date | None"], list[Finding]]


def decide(
    book: RuleBook,
    tenant: Tenant,
    actor: Actor,
    action: Action,
    product: Product,
    as_of: dt.date | None,
) -> Decision:
    """Whether ``actor`` may do ``action`` on ``tenant``'s ``product``, with the findings."""
    role = actor.role
    method = tenant.products.get(product)
    if method is None:
        refusal = book.finding(
            "PRODUCT_NOT_LICENSED", ERROR, f"the tenant does not license {product.value}"
        )
        return Decision(False, action, product, role, (refusal,))
    if (
        product is not Product.COMMUNITY
        and method is not UPLOAD
        and action is not Action.CHANGE_METHOD
    ):
        # STANDALONE_COMMUNITY_ONLY / INTEGRATION_COMMUNITY_ONLY: a product on a method it
        # cannot use does nothing until it is migrated.
        rule = "STANDALONE_COMMUNITY_ONLY" if method is STANDALONE else "INTEGRATION_COMMUNITY_ONLY"
        refusal = book.finding(
            rule,
            ERROR,
            f"{product.value} cannot use {method.value}; migrate it to spreadsheet upload first",
        )
        return Decision(False, action, product, role, (refusal,))
    findings = _HANDLERS[action](book, tenant, role, product, method, as_of)
    allowed = True
    for finding in findings:
        if finding.severity is ERROR:
            allowed = False
            break
    return Decision(allowed, action, product, role, tuple(findings))


def _person_only(book: RuleBook) -> Finding:
    return book.finding(
        "ROLE_PERMISSIONS", ERROR, "the integration acts only to sync records, not as a person"
    )


def _not_user_admin(book: RuleBook, role: Role) -> Finding:
    admins = ", ".join(sorted(r.value for r in book.settings.user_admin_roles))
    return book.finding(
        "ROLE_PERMISSIONS",
        ERROR,
        f"a {role.value} does not manage user records (user-admin roles: {admins})",
    )


def _system_name(book: RuleBook, tenant: Tenant) -> str:
    if tenant.integration is None:
        return "the integrated system"
    system = book.catalog.get(tenant.integration)
    return system.name if system is not None else tenant.integration


def _account_requests_refused(book: RuleBook, method: Method) -> Finding:
    return book.finding(
        "STANDALONE_ACCOUNT_REQUESTS",
        ERROR,
        f"only standalone sites take account requests; this product uses {method.value}",
    )


def _self_register(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    found = [] if role.is_person else [_person_only(book)]
    if method is STANDALONE:
        requests = tenant.account_requests
        if requests.policy is AccountRequestPolicy.DISABLED:
            found.append(
                book.finding(
                    "STANDALONE_ACCOUNT_REQUESTS",
                    ERROR,
                    "account requests are disabled on this site",
                )
            )
        else:
            verify = "after verifying their email, " if requests.email_verification else ""
            outcome = (
                "the account is enabled at once"
                if requests.policy is AccountRequestPolicy.AUTO_APPROVE
                else "the account waits as Pending Approval for an admin"
            )
            found.append(book.finding("STANDALONE_ACCOUNT_REQUESTS", INFO, f"{verify}{outcome}"))
    elif method is UPLOAD:
        found.append(
            book.finding(
                "UPLOAD_SINGLE_SOURCE",
                ERROR,
                "accounts are created only by a Super Admin's spreadsheet upload",
            )
        )
        found.append(_account_requests_refused(book, method))
    else:
        found.append(
            book.finding(
                "INTEGRATION_SOURCE_OF_TRUTH",
                ERROR,
                f"accounts come from {_system_name(book, tenant)}; local registration is off",
            )
        )
        found.append(_account_requests_refused(book, method))
    return found


def _record_edit(book: RuleBook, tenant: Tenant, method: Method, subject: str) -> list[Finding]:
    if method is STANDALONE:
        return [
            book.finding(
                "STANDALONE_LOCAL_PORTAL", INFO, f"{subject} on the community, which is the portal"
            )
        ]
    if method is UPLOAD:
        return [
            book.finding(
                "UPLOAD_SINGLE_SOURCE",
                ERROR,
                "record fields change only through a spreadsheet upload, not locally",
            ),
            book.finding(
                "CUSTOMER_OWNS_CHANGE_REQUESTS",
                INFO,
                "send the change to the customer's change-request workflow for the next upload",
            ),
        ]
    return [
        book.finding(
            "INTEGRATION_SOURCE_OF_TRUTH",
            ERROR,
            f"{_system_name(book, tenant)} is the authority: change the record there",
        )
    ]


def _edit_own_profile(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    found = [] if role.is_person else [_person_only(book)]
    found.extend(_record_edit(book, tenant, method, "members update their own profiles"))
    return found


def _admin_record(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    found = [] if role in book.settings.user_admin_roles else [_not_user_admin(book, role)]
    found.extend(_record_edit(book, tenant, method, "admins manage records"))
    return found


def _upload(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
    *,
    initial: bool,
) -> list[Finding]:
    found: list[Finding] = []
    if role is not Role.SUPER_ADMIN:
        found.append(
            book.finding(
                "UPLOAD_SUPER_ADMIN_ONLY",
                ERROR,
                f"only a Super Admin may upload records, not a {role.value}",
            )
        )
    if method is STANDALONE:
        if not initial:
            hint = "" if tenant.initial_upload_done else "; the initial upload has not happened yet"
            found.append(
                book.finding(
                    "STANDALONE_ONE_TIME_UPLOAD",
                    ERROR,
                    f"standalone allows only the one initial upload{hint}",
                )
            )
        elif tenant.initial_upload_done:
            found.append(
                book.finding(
                    "STANDALONE_ONE_TIME_UPLOAD",
                    ERROR,
                    "the initial upload already happened; accounts are now registered and "
                    "updated locally",
                )
            )
        else:
            found.append(
                book.finding(
                    "STANDALONE_ONE_TIME_UPLOAD",
                    INFO,
                    "this is the one initial upload standalone allows; afterwards accounts "
                    "are registered and updated locally",
                )
            )
    elif method is UPLOAD:
        if product is not Product.COMMUNITY:
            found.append(
                book.finding(
                    "UPLOAD_COMMUNITY_OR_MARKETING",
                    INFO,
                    f"spreadsheet upload applies to {product.value}",
                )
            )
        found.append(
            book.finding("UPLOAD_CSV_ONLY", INFO, "upload a .csv built from the vendor's template")
        )
        if not initial:
            found.append(
                book.finding(
                    "CUSTOMER_OWNS_CHANGE_REQUESTS",
                    INFO,
                    "the file carries the changes the customer's workflows captured",
                )
            )
    else:
        found.append(
            book.finding(
                "INTEGRATION_SOURCE_OF_TRUTH",
                ERROR,
                f"uploads are not for integrated sites; records come from "
                f"{_system_name(book, tenant)}",
            )
        )
    return found


def _integration_sync(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    found: list[Finding] = []
    if role is not Role.INTEGRATION:
        found.append(book.finding("ROLE_PERMISSIONS", ERROR, "only the integration syncs records"))
    if method is STANDALONE:
        found.append(
            book.finding(
                "STANDALONE_LOCAL_PORTAL",
                ERROR,
                "a standalone site has no external system: records are managed locally",
            )
        )
    elif method is UPLOAD:
        found.append(
            book.finding(
                "UPLOAD_CSV_ONLY",
                ERROR,
                "spreadsheet upload has no API, FTP or direct integration to sync from",
            )
        )
    else:
        problems = _system_problems(book, tenant)
        if problems:
            found.extend(problems)
        else:
            found.append(
                book.finding(
                    "INTEGRATION_SOURCE_OF_TRUTH",
                    INFO,
                    f"{_system_name(book, tenant)} is the authority; changed records are "
                    "pulled whole",
                )
            )
            found.append(
                book.finding(
                    "DEACTIVATE_NOT_DELETE",
                    INFO,
                    "a sync does not undo a deactivation or a deletion",
                )
            )
    return found


def _no_login_here(book: RuleBook, product: Product) -> Finding:
    return book.finding(
        "SSO_NOT_MARKETING",
        ERROR,
        f"{product.value} contacts do not sign in; login is a Community concern",
    )


def _local_login(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    found = [] if role.is_person else [_person_only(book)]
    if product not in book.settings.sso_products:
        found.append(_no_login_here(book, product))
        return found
    if method is STANDALONE:
        found.append(
            book.finding("STANDALONE_LOCAL_PORTAL", INFO, "users sign in with a local password")
        )
        return found
    sso = sso_eligibility(book, tenant, product, as_of)
    if not sso.in_effect:
        why = (
            f"SSO goes live on {sso.go_live.isoformat()}"
            if sso.eligible and sso.go_live is not None
            else f"SSO is {sso.status.value.replace('_', ' ')}"
        )
        found.append(
            book.finding("SSO_IN_EFFECT", INFO, f"{why}: users sign in with a local password")
        )
    elif book.settings.local_login_with_sso:
        found.append(book.finding("SSO_IN_EFFECT", INFO, "local password login is kept beside SSO"))
    else:
        idp = tenant.sso.identity_provider.name if tenant.sso else "the identity provider"
        found.append(
            book.finding(
                "SSO_IN_EFFECT",
                ERROR,
                f"SSO is live: users sign in through {idp}, not with a local password",
            )
        )
    return found


def _sso_login(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    found = [] if role.is_person else [_person_only(book)]
    if product not in book.settings.sso_products:
        found.append(_no_login_here(book, product))
        return found
    sso = sso_eligibility(book, tenant, product, as_of)
    if sso.status is SsoStatus.NOT_SUPPORTED:
        found.extend(sso.findings)
    elif sso.status is SsoStatus.REQUIREMENTS_UNMET:
        found.extend(book.finding(r.rule, ERROR, r.detail) for r in sso.unmet)
    elif not sso.in_effect:
        assert sso.go_live is not None
        found.append(
            book.finding(
                "SSO_IN_EFFECT",
                ERROR,
                f"SSO goes live on {sso.go_live.isoformat()}; until then users sign in locally",
            )
        )
    else:
        assert tenant.sso is not None
        found.append(
            book.finding(
                "SSO_IN_EFFECT", INFO, f"users sign in through {tenant.sso.identity_provider.name}"
            )
        )
    return found


def _deactivate(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    may = role in book.settings.user_admin_roles or (
        role is Role.INTEGRATION and method is INTEGRATION
    )
    found = [] if may else [_not_user_admin(book, role)]
    found.append(
        book.finding(
            "DEACTIVATE_NOT_DELETE",
            INFO,
            "deactivation blocks login, keeps the user's content and can be reversed",
        )
    )
    if method is INTEGRATION:
        found.append(
            book.finding("DEACTIVATE_NOT_DELETE", INFO, "a later sync does not reactivate the user")
        )
    return found


def _delete_personal_data(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    found = [] if role in book.settings.user_admin_roles else [_not_user_admin(book, role)]
    found.append(
        book.finding(
            "DEACTIVATE_NOT_DELETE",
            WARNING,
            "deleting personal data is not a deactivation: it cannot be undone, and a sync "
            "does not bring the data back",
        )
    )
    return found


def _change_method(
    book: RuleBook,
    tenant: Tenant,
    role: Role,
    product: Product,
    method: Method,
    as_of: dt.date | None,
) -> list[Finding]:
    found: list[Finding] = []
    if role is not Role.SUPER_ADMIN:
        found.append(
            book.finding(
                "ROLE_PERMISSIONS",
                ERROR,
                f"only a Super Admin asks for a change of method, not a {role.value}",
            )
        )
    found.append(
        book.finding(
            "METHOD_CHANGE_IS_MIGRATION",
            WARNING,
            f"moving {product.value} off {method.value} is a migration, not a setting: it "
            "risks lost SSO access, duplicate records, lost history and broken syncs "
            "(see plan_migration)",
        )
    )
    return found


_HANDLERS: dict[Action, _Handler] = {
    Action.SELF_REGISTER: _self_register,
    Action.EDIT_OWN_PROFILE: _edit_own_profile,
    Action.ADMIN_CREATE_USER: _admin_record,
    Action.ADMIN_EDIT_USER: _admin_record,
    Action.INITIAL_UPLOAD: partial(_upload, initial=True),
    Action.SUBSEQUENT_UPLOAD: partial(_upload, initial=False),
    Action.INTEGRATION_SYNC: _integration_sync,
    Action.LOCAL_LOGIN: _local_login,
    Action.SSO_LOGIN: _sso_login,
    Action.DEACTIVATE_USER: _deactivate,
    Action.DELETE_PERSONAL_DATA: _delete_personal_data,
    Action.CHANGE_METHOD: _change_method,
}
