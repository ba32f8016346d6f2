"""sso_eligibility(): every status, every requirement met and unmet, the lead time from as_of."""

from __future__ import annotations

import datetime as dt
from functools import partial

import attrs
import pytest
from dateutil.relativedelta import relativedelta

import _builders
import provisioning as pv
from provisioning.rules._engine import describe_period

AS_OF = dt.date(2030, 6, 3)
PAST = dt.date(2030, 5, 4)
COMMUNITY = pv.Product.COMMUNITY
MARKETING = pv.Product.MARKETING
STANDALONE = pv.ProvisioningMethod.STANDALONE
UPLOAD = pv.ProvisioningMethod.SPREADSHEET_UPLOAD
INTEGRATION = pv.ProvisioningMethod.STANDARD_INTEGRATION
ELIGIBLE = pv.SsoStatus.ELIGIBLE
UNMET = pv.SsoStatus.REQUIREMENTS_UNMET
NOT_SUPPORTED = pv.SsoStatus.NOT_SUPPORTED
NOT_APPLICABLE = pv.SsoStatus.NOT_APPLICABLE
REQUIREMENT_RULES = (
    "SSO_PROTOCOLS",
    "SSO_EXTERNAL_IDP",
    "SSO_IDENTIFIER_MATCH",
    "SSO_SAML_SIGNED",
    "SSO_LEAD_TIME",
)


sso = partial(_builders.sso, go_live=PAST)


def tenant(
    community: pv.ProvisioningMethod | None = UPLOAD,
    *,
    marketing: pv.ProvisioningMethod | None = None,
    system: str | None = None,
    sso_setup: pv.SsoSetup | None = None,
) -> pv.Tenant:
    products = {}
    if community is not None:
        products[COMMUNITY] = community
    if marketing is not None:
        products[MARKETING] = marketing
    return pv.Tenant(id="acme", name="Acme", products=products, sso=sso_setup, integration=system)


def eligibility(
    t: pv.Tenant,
    product: pv.Product = COMMUNITY,
    as_of: dt.date = AS_OF,
    rulebook: pv.RuleBook = pv.DEFAULT_RULEBOOK,
) -> pv.SsoEligibility:
    return pv.sso_eligibility(t, product=product, as_of=as_of, rulebook=rulebook)


def requirement(result: pv.SsoEligibility, rule: str) -> pv.Requirement:
    (found,) = [r for r in result.requirements if r.rule == rule]
    return found


# -- statuses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "status"),
    [
        (tenant(UPLOAD, sso_setup=sso()), ELIGIBLE),
        (tenant(INTEGRATION, system="imis", sso_setup=sso()), ELIGIBLE),
        (tenant(UPLOAD, sso_setup=sso(signed=False)), UNMET),
        (tenant(UPLOAD), UNMET),
        (tenant(INTEGRATION, system="neoncrm", sso_setup=sso()), UNMET),
        (tenant(INTEGRATION, sso_setup=sso()), UNMET),
        (tenant(INTEGRATION, system="acme_ams", sso_setup=sso()), UNMET),
        (tenant(STANDALONE, sso_setup=sso()), NOT_SUPPORTED),
        (tenant(STANDALONE), NOT_SUPPORTED),
        (tenant(INTEGRATION, system="netforum_pro", sso_setup=sso()), NOT_SUPPORTED),
    ],
    ids=[
        "spreadsheet upload, complete setup: eligible",
        "iMIS integration, complete setup: eligible",
        "spreadsheet upload, unsigned SAML: requirements unmet",
        "spreadsheet upload, no setup: requirements unmet",
        "NeonCRM (SSO unknown): requirements unmet, never eligible",
        "integration naming no system: requirements unmet",
        "integration with a system the catalog lacks: requirements unmet",
        "standalone with a setup: not supported",
        "standalone without a setup: not supported",
        "netFORUM Pro (SSO denied): not supported",
    ],
)
def test_status(t: pv.Tenant, status: pv.SsoStatus) -> None:
    """The status says where community SSO stands for the tenant's method and setup."""
    assert eligibility(t).status is status


def test_not_licensed_product_is_not_applicable() -> None:
    """PRODUCT_NOT_LICENSED: SSO for a product the tenant lacks is not applicable, no method."""
    result = eligibility(tenant(None, marketing=UPLOAD))
    assert (result.status, result.method, result.requirements, result.findings) == (
        NOT_APPLICABLE,
        None,
        (),
        (
            pv.Finding(
                pv.RuleId.PRODUCT_NOT_LICENSED,
                pv.Severity.INFO,
                "the tenant does not license community",
                "ours",
            ),
        ),
    )


def test_marketing_is_not_applicable() -> None:
    """SSO_NOT_MARKETING: SSO for Marketing is not applicable and lists no requirement."""
    result = eligibility(tenant(UPLOAD, marketing=UPLOAD, sso_setup=sso()), MARKETING)
    assert (result.status, result.method, result.requirements, result.findings) == (
        NOT_APPLICABLE,
        UPLOAD,
        (),
        (
            pv.Finding(
                pv.RuleId.SSO_NOT_MARKETING,
                pv.Severity.INFO,
                "SSO is a Community login concern; it does not apply to marketing",
                "ours",
            ),
        ),
    )


def test_marketing_is_judged_when_the_rulebook_applies_sso_to_it() -> None:
    """SSO_NOT_MARKETING is ours: a rulebook applying SSO to Marketing judges its setup."""
    book = pv.RuleBook().with_settings(sso_products={COMMUNITY, MARKETING})
    result = eligibility(tenant(None, marketing=UPLOAD, sso_setup=sso()), MARKETING, rulebook=book)
    assert result.status is ELIGIBLE


@pytest.mark.parametrize(
    ("t", "rule", "message"),
    [
        (
            tenant(STANDALONE, sso_setup=sso()),
            "SSO_NOT_WITH_STANDALONE",
            "standalone does not support SSO: the vendor is not an identity provider",
        ),
        (
            tenant(INTEGRATION, system="netforum_pro", sso_setup=sso()),
            "SSO_INTEGRATION_BY_SYSTEM",
            "netFORUM Pro does not support SSO",
        ),
    ],
    ids=["standalone", "netFORUM Pro"],
)
def test_not_supported_names_the_ruling_rule(t: pv.Tenant, rule: str, message: str) -> None:
    """A NOT_SUPPORTED status carries one ERROR finding: the rule that rules SSO out."""
    assert eligibility(t).findings == (
        pv.DEFAULT_RULEBOOK.finding(pv.RuleId(rule), pv.Severity.ERROR, message),
    )


@pytest.mark.parametrize(
    "t",
    [tenant(UPLOAD, sso_setup=sso()), tenant(UPLOAD, sso_setup=sso(signed=False))],
    ids=["eligible", "requirements unmet"],
)
def test_a_possible_sso_carries_no_finding(t: pv.Tenant) -> None:
    """When SSO is possible, the requirements say everything; there is no ruling finding."""
    assert eligibility(t).findings == ()


@pytest.mark.parametrize(
    ("t", "method_rule"),
    [
        (tenant(STANDALONE), "SSO_NOT_WITH_STANDALONE"),
        (tenant(UPLOAD), "SSO_UPLOAD_CONDITIONAL"),
        (tenant(INTEGRATION, system="imis"), "SSO_INTEGRATION_BY_SYSTEM"),
    ],
    ids=["standalone", "spreadsheet upload", "integration"],
)
def test_requirements_are_listed_in_order(t: pv.Tenant, method_rule: str) -> None:
    """Every requirement is listed: the method's, the setup's four, then the lead time."""
    assert tuple(r.rule for r in eligibility(t).requirements) == (method_rule, *REQUIREMENT_RULES)


# -- each requirement, met and unmet -------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "rule", "met", "detail"),
    [
        (
            tenant(UPLOAD),
            "SSO_UPLOAD_CONDITIONAL",
            True,
            "spreadsheet upload supports SSO once the requirements are met",
        ),
        (
            tenant(STANDALONE),
            "SSO_NOT_WITH_STANDALONE",
            False,
            "standalone does not support SSO: the vendor is not an identity provider",
        ),
        (
            tenant(INTEGRATION, system="imis"),
            "SSO_INTEGRATION_BY_SYSTEM",
            True,
            "iMIS supports SSO",
        ),
        (
            tenant(INTEGRATION, system="netforum_pro"),
            "SSO_INTEGRATION_BY_SYSTEM",
            False,
            "netFORUM Pro does not support SSO",
        ),
        (
            tenant(INTEGRATION, system="neoncrm"),
            "SSO_INTEGRATION_BY_SYSTEM",
            False,
            "no source confirms that NeonCRM supports SSO; confirm it with the vendor",
        ),
        (
            tenant(INTEGRATION),
            "SSO_INTEGRATION_BY_SYSTEM",
            False,
            "no integrated system is named",
        ),
        (
            tenant(INTEGRATION, system="acme_ams"),
            "SSO_INTEGRATION_BY_SYSTEM",
            False,
            "the integrated system 'acme_ams' is not in the catalog",
        ),
    ],
    ids=[
        "spreadsheet upload allows SSO",
        "standalone does not",
        "iMIS confirms SSO",
        "netFORUM Pro denies SSO",
        "NeonCRM's SSO is unknown, so unmet",
        "no integrated system, unmet",
        "a system the catalog lacks, unmet",
    ],
)
def test_method_requirement(t: pv.Tenant, rule: str, met: bool, detail: str) -> None:
    """The method's requirement is met where the method (or system) allows SSO."""
    assert eligibility(t).requirements[0] == pv.Requirement(
        pv.RuleId(rule), "method allows SSO", met, detail
    )


@pytest.mark.parametrize(
    ("setup", "rule", "met", "detail"),
    [
        (sso("saml_2_0"), "SSO_PROTOCOLS", True, "saml_2_0 is supported"),
        (sso("oauth_2_0"), "SSO_PROTOCOLS", True, "oauth_2_0 is supported"),
        (sso("openid_connect"), "SSO_PROTOCOLS", True, "openid_connect is supported"),
        (
            sso("saml_1_1"),
            "SSO_PROTOCOLS",
            False,
            "saml_1_1 is not supported; use SAML 2.0, OAuth 2.0 or OpenID Connect",
        ),
        (
            sso("ws_federation"),
            "SSO_PROTOCOLS",
            False,
            "ws_federation is not supported; use SAML 2.0, OAuth 2.0 or OpenID Connect",
        ),
        (
            sso("cas"),
            "SSO_PROTOCOLS",
            False,
            "cas is not supported; use SAML 2.0, OAuth 2.0 or OpenID Connect",
        ),
        (sso(), "SSO_EXTERNAL_IDP", True, "Acme AMS is the customer's identity provider"),
        (
            sso(vendor_idp=True),
            "SSO_EXTERNAL_IDP",
            False,
            "Acme AMS would make the vendor the identity provider; the customer's system must be",
        ),
        (
            sso(lck=True),
            "SSO_IDENTIFIER_MATCH",
            True,
            "the IdP asserts NameID, which equals the LegacyContactKey",
        ),
        (
            sso(lck=False),
            "SSO_IDENTIFIER_MATCH",
            False,
            "the IdP asserts NameID, which is not the LegacyContactKey: users could not get in",
        ),
        (sso(signed=True), "SSO_SAML_SIGNED", True, "requests and responses are signed"),
        (
            sso(signed=False),
            "SSO_SAML_SIGNED",
            False,
            "SAML requests and responses must be signed",
        ),
        (
            sso("saml_1_1", signed=False),
            "SSO_SAML_SIGNED",
            False,
            "SAML requests and responses must be signed",
        ),
        (
            sso("openid_connect", signed=False),
            "SSO_SAML_SIGNED",
            True,
            "openid_connect is not SAML: no signing requirement",
        ),
        (
            sso("oauth_2_0", signed=False),
            "SSO_SAML_SIGNED",
            True,
            "oauth_2_0 is not SAML: no signing requirement",
        ),
    ],
    ids=[
        "SAML 2.0 is a supported protocol",
        "OAuth 2.0 is a supported protocol",
        "OpenID Connect is a supported protocol",
        "SAML 1.1 is not",
        "WS-Federation is not",
        "CAS is not",
        "the customer's IdP",
        "the vendor as IdP",
        "identifier is the LegacyContactKey",
        "identifier is not the LegacyContactKey",
        "SAML signed",
        "SAML unsigned",
        "SAML 1.1 unsigned",
        "OpenID Connect needs no SAML signature",
        "OAuth 2.0 needs no SAML signature",
    ],
)
def test_setup_requirement(setup: pv.SsoSetup, rule: str, met: bool, detail: str) -> None:
    """Each requirement of the SSO setup is met or unmet, with what is left to do."""
    found = requirement(eligibility(tenant(UPLOAD, sso_setup=setup)), rule)
    assert (found.met, found.detail) == (met, detail)


def test_no_setup_leaves_every_setup_requirement_unmet() -> None:
    """Without an SSO setup every requirement of the setup is unmet: "no SSO setup"."""
    result = eligibility(tenant(UPLOAD))
    assert [(r.rule, r.met, r.detail) for r in result.requirements[1:]] == [
        (rule, False, "no SSO setup") for rule in REQUIREMENT_RULES
    ]


def test_requirement_names() -> None:
    """Requirements have short names a person reads in a checklist."""
    result = eligibility(tenant(UPLOAD, sso_setup=sso()))
    assert [r.name for r in result.requirements] == [
        "method allows SSO",
        "supported protocol",
        "external identity provider",
        "identifier is LegacyContactKey",
        "SAML messages signed",
        "lead time before go-live",
    ]


def test_met_and_unmet_split_the_requirements() -> None:
    """SsoEligibility.met and .unmet partition the requirements, in order."""
    result = eligibility(tenant(UPLOAD, sso_setup=sso(signed=False, lck=False)))
    assert ([r.rule for r in result.met], [r.rule for r in result.unmet]) == (
        ["SSO_UPLOAD_CONDITIONAL", "SSO_PROTOCOLS", "SSO_EXTERNAL_IDP", "SSO_LEAD_TIME"],
        ["SSO_IDENTIFIER_MATCH", "SSO_SAML_SIGNED"],
    )


# -- lead time ------------------------------------------------------------------------


def lead_time(
    go_live: dt.date | None,
    *,
    as_of: dt.date = AS_OF,
    rulebook: pv.RuleBook = pv.DEFAULT_RULEBOOK,
) -> pv.Requirement:
    t = tenant(UPLOAD, sso_setup=sso(go_live=go_live))
    return requirement(eligibility(t, as_of=as_of, rulebook=rulebook), "SSO_LEAD_TIME")


TEN_WEEKS = pv.RuleBook().with_settings(sso_lead_time=relativedelta(weeks=10))
ONE_MONTH = pv.RuleBook().with_settings(sso_lead_time=relativedelta(months=1))


@pytest.mark.parametrize(
    ("go_live", "as_of", "rulebook", "met"),
    [
        (dt.date(2030, 6, 24), AS_OF, pv.DEFAULT_RULEBOOK, True),
        (dt.date(2030, 6, 23), AS_OF, pv.DEFAULT_RULEBOOK, False),
        (dt.date(2030, 8, 12), AS_OF, TEN_WEEKS, True),
        (dt.date(2030, 8, 11), AS_OF, TEN_WEEKS, False),
        (dt.date(2030, 7, 1), AS_OF, TEN_WEEKS, False),
        (dt.date(2031, 2, 28), dt.date(2031, 1, 31), ONE_MONTH, True),
        (dt.date(2031, 2, 27), dt.date(2031, 1, 31), ONE_MONTH, False),
        (AS_OF, AS_OF, pv.DEFAULT_RULEBOOK, True),
        (PAST, AS_OF, TEN_WEEKS, True),
        (AS_OF + dt.timedelta(days=1), AS_OF, pv.DEFAULT_RULEBOOK, False),
    ],
    ids=[
        "exactly 3 weeks after as_of: met",
        "one day less than 3 weeks: unmet",
        "exactly 10 weeks, with a 10-week rulebook: met",
        "one day less than 10 weeks: unmet",
        "4 weeks, with a 10-week rulebook: unmet",
        "one month after Jan 31 is Feb 28 (relativedelta): met",
        "Feb 27, a day short of one month after Jan 31: unmet",
        "go-live on as_of itself: live, met",
        "go-live already past: met whatever the lead time",
        "go-live tomorrow: unmet",
    ],
)
def test_lead_time_is_counted_from_as_of(
    go_live: dt.date, as_of: dt.date, rulebook: pv.RuleBook, met: bool
) -> None:
    """SSO_LEAD_TIME: a future go-live needs the rulebook's notice, counted from as_of."""
    assert lead_time(go_live, as_of=as_of, rulebook=rulebook).met is met


@pytest.mark.parametrize(
    ("go_live", "rulebook", "met", "detail"),
    [
        (PAST, pv.DEFAULT_RULEBOOK, True, "live since 2030-05-04"),
        (
            dt.date(2030, 6, 24),
            pv.DEFAULT_RULEBOOK,
            True,
            "go-live 2030-06-24 is at least 3 weeks after 2030-06-03",
        ),
        (
            dt.date(2030, 6, 10),
            pv.DEFAULT_RULEBOOK,
            False,
            (
                "go-live 2030-06-10 is less than 3 weeks after 2030-06-03; the earliest possible "
                "is 2030-06-24"
            ),
        ),
        (
            dt.date(2030, 7, 1),
            TEN_WEEKS,
            False,
            (
                "go-live 2030-07-01 is less than 10 weeks after 2030-06-03; the earliest possible "
                "is 2030-08-12"
            ),
        ),
        (
            None,
            pv.DEFAULT_RULEBOOK,
            False,
            "no go-live date requested; the earliest possible is 2030-06-24",
        ),
    ],
    ids=["past", "far enough ahead", "too soon", "too soon for 10 weeks", "no date"],
)
def test_lead_time_detail(
    go_live: dt.date | None, rulebook: pv.RuleBook, met: bool, detail: str
) -> None:
    """SSO_LEAD_TIME: the requirement says when SSO went or can go live."""
    found = lead_time(go_live, rulebook=rulebook)
    assert (found.met, found.detail) == (met, detail)


@pytest.mark.parametrize(
    ("rulebook", "as_of", "earliest"),
    [
        (pv.DEFAULT_RULEBOOK, AS_OF, dt.date(2030, 6, 24)),
        (TEN_WEEKS, AS_OF, dt.date(2030, 8, 12)),
        (ONE_MONTH, dt.date(2031, 1, 31), dt.date(2031, 2, 28)),
        (
            pv.RuleBook().with_settings(sso_lead_time=relativedelta(years=1, days=1)),
            dt.date(2032, 2, 29),
            dt.date(2033, 3, 1),
        ),
    ],
    ids=["3 weeks", "10 weeks", "one month from Jan 31", "a year and a day from Feb 29"],
)
def test_earliest_go_live(rulebook: pv.RuleBook, as_of: dt.date, earliest: dt.date) -> None:
    """earliest_go_live is as_of plus the rulebook's lead time (calendar-aware)."""
    assert eligibility(tenant(UPLOAD), as_of=as_of, rulebook=rulebook).earliest_go_live == earliest


def test_not_applicable_still_says_the_earliest_go_live() -> None:
    """Even where SSO does not apply, the result carries as_of and the earliest go-live."""
    result = eligibility(tenant(None, marketing=UPLOAD))
    assert (result.as_of, result.earliest_go_live) == (AS_OF, dt.date(2030, 6, 24))


def test_eligibility_carries_the_requested_go_live() -> None:
    """The result carries the setup's go-live date, or None without a setup."""
    results = (eligibility(tenant(UPLOAD, sso_setup=sso())), eligibility(tenant(UPLOAD)))
    assert tuple(r.go_live for r in results) == (PAST, None)


def test_as_of_defaults_to_today() -> None:
    """Without as_of, eligibility is judged as of today (UTC)."""
    before = dt.datetime.now(dt.UTC).date()
    result = pv.sso_eligibility(tenant(UPLOAD))
    assert before <= result.as_of <= dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize(
    ("period", "words"),
    [
        (relativedelta(weeks=3), "3 weeks"),
        (relativedelta(weeks=1), "1 week"),
        (relativedelta(days=10), "10 days"),
        (relativedelta(days=1), "1 day"),
        (relativedelta(months=1), "1 month"),
        (relativedelta(years=2, months=3, weeks=1), "2 years, 3 months, 1 week"),
        (relativedelta(years=1, days=1), "1 year, 1 day"),
        (relativedelta(), "no notice"),
    ],
    ids=str,
)
def test_lead_time_is_said_in_words(period: relativedelta, words: str) -> None:
    """The lead time is said in words: whole weeks as weeks, otherwise days."""
    assert describe_period(period) == words


# -- in effect ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "in_effect"),
    [
        (sso(go_live=PAST), True),
        (sso(go_live=AS_OF), True),
        (sso(go_live=dt.date(2030, 8, 1)), False),
        (sso(go_live=PAST, signed=False), False),
    ],
    ids=[
        "eligible, go-live past: in effect",
        "eligible, go-live today: in effect",
        "eligible, go-live ahead: not yet",
        "go-live past but unsigned: not in effect",
    ],
)
def test_in_effect(setup: pv.SsoSetup, in_effect: bool) -> None:
    """SSO_IN_EFFECT: SSO is in effect once eligible and its go-live date has come."""
    assert eligibility(tenant(UPLOAD, sso_setup=setup)).in_effect is in_effect


def test_bool_is_eligibility() -> None:
    """bool(eligibility) is whether every requirement is met."""
    results = (
        eligibility(tenant(UPLOAD, sso_setup=sso())),
        eligibility(tenant(UPLOAD, sso_setup=sso(go_live=dt.date(2030, 6, 10)))),
    )
    assert [(bool(r), r.eligible) for r in results] == [(True, True), (False, False)]


# -- the catalog ---------------------------------------------------------------------------

_STATUS_BY_SUPPORT = {
    pv.Support.YES: ELIGIBLE,
    pv.Support.NO: NOT_SUPPORTED,
    pv.Support.UNKNOWN: UNMET,
}


@pytest.mark.parametrize("system", list(pv.DEFAULT_CATALOG), ids=lambda s: s.id)
def test_catalog_support_decides_eligibility(system: pv.IntegrationSystem) -> None:
    """SSO_INTEGRATION_BY_SYSTEM: eligible only where a source confirms SSO; unknown is unmet."""
    t = tenant(INTEGRATION, system=system.id, sso_setup=sso())
    assert eligibility(t).status is _STATUS_BY_SUPPORT[system.supports(pv.Capability.SSO)]


def test_unknown_support_is_never_counted_as_supported() -> None:
    """Support.UNKNOWN is not YES: its requirement is unmet, whatever else is complete."""
    found = requirement(
        eligibility(tenant(INTEGRATION, system="fonteva", sso_setup=sso())),
        "SSO_INTEGRATION_BY_SYSTEM",
    )
    assert found.met is False


@pytest.mark.parametrize(
    ("system", "status"),
    [
        (pv.IntegrationSystem(id="acme_ams", name="Acme AMS", confirmed={"sso"}), ELIGIBLE),
        (pv.IntegrationSystem(id="acme_ams", name="Acme AMS"), UNMET),
        (pv.IntegrationSystem(id="acme_ams", name="Acme AMS", denied={"sso"}), NOT_SUPPORTED),
    ],
    ids=["host system confirming SSO", "host system silent on SSO", "host system denying SSO"],
)
def test_host_added_system(system: pv.IntegrationSystem, status: pv.SsoStatus) -> None:
    """A system a host adds with RuleBook.with_systems is judged by what it confirms."""
    book = pv.RuleBook().with_systems(system)
    t = tenant(INTEGRATION, system="acme_ams", sso_setup=sso())
    assert eligibility(t, rulebook=book).status is status


@pytest.mark.parametrize(
    ("system", "status"),
    [
        (pv.IntegrationSystem(id="neoncrm", name="NeonCRM", confirmed={"sso"}), ELIGIBLE),
        (pv.IntegrationSystem(id="imis", name="iMIS", denied={"sso"}), NOT_SUPPORTED),
    ],
    ids=["NeonCRM confirmed by the host", "iMIS denied by the host"],
)
def test_host_replaced_system(system: pv.IntegrationSystem, status: pv.SsoStatus) -> None:
    """A host replacing a catalog system changes what SSO eligibility reads."""
    book = pv.RuleBook().with_systems(system)
    t = tenant(INTEGRATION, system=system.id, sso_setup=sso())
    assert eligibility(t, rulebook=book).status is status


def test_rulebook_method_is_the_function() -> None:
    """RuleBook.sso_eligibility gives the same result as pv.sso_eligibility."""
    t = tenant(UPLOAD, sso_setup=sso())
    assert pv.DEFAULT_RULEBOOK.sso_eligibility(t, as_of=AS_OF) == eligibility(t)


def _requested(go_live: dt.date, requested_on: dt.date | None) -> pv.Tenant:
    return pv.Tenant(
        id="acme",
        name="Acme",
        products={"community": "spreadsheet_upload"},
        sso=pv.SsoSetup(
            protocol="saml_2_0",
            identity_provider="Acme AMS",
            identifier_is_legacy_contact_key=True,
            saml_signed=True,
            go_live=go_live,
            requested_on=requested_on,
        ),
    )


@pytest.mark.parametrize(
    "as_of", [dt.date(2030, 6, 1), dt.date(2030, 6, 21), dt.date(2030, 6, 30)], ids=str
)
def test_lead_time_counts_from_the_request_date_when_known(as_of: dt.date) -> None:
    """SSO_LEAD_TIME: a change asked for in time stays eligible whatever day we ask."""
    tenant = _requested(dt.date(2030, 7, 1), requested_on=dt.date(2030, 6, 1))
    sso = pv.sso_eligibility(tenant, as_of=as_of)
    assert sso.eligible
    # Three weeks after the request, or today when that day is past: never a past day.
    assert sso.earliest_go_live == max(dt.date(2030, 6, 22), as_of)


def test_lead_time_from_a_late_request_is_unmet() -> None:
    """SSO_LEAD_TIME: a request made two weeks before go-live is too late, on any day."""
    tenant = _requested(dt.date(2030, 7, 1), requested_on=dt.date(2030, 6, 17))
    (lead,) = pv.sso_eligibility(tenant, as_of=dt.date(2030, 6, 1)).unmet
    assert lead.detail == (
        "go-live 2030-07-01 was booked with less than 3 weeks notice (requested on "
        "2030-06-17); the earliest possible was 2030-07-08"
    )


@pytest.mark.parametrize(
    "as_of", [dt.date(2030, 6, 20), dt.date(2030, 7, 1), dt.date(2030, 7, 2), dt.date(2031, 1, 1)]
)
def test_a_late_request_stays_unmet_on_and_after_the_go_live_day(as_of: dt.date) -> None:
    """SSO_LEAD_TIME: the go-live day passing does not make short notice long enough."""
    tenant = _requested(dt.date(2030, 7, 1), requested_on=dt.date(2030, 6, 17))
    sso = pv.sso_eligibility(tenant, as_of=as_of)
    assert sso.status is pv.SsoStatus.REQUIREMENTS_UNMET
    assert [r.rule for r in sso.unmet] == ["SSO_LEAD_TIME"]
    assert "live since" not in sso.unmet[0].detail


def test_a_request_in_time_is_live_since_its_go_live() -> None:
    """SSO_LEAD_TIME: with enough notice, a go-live in the past is met and says so."""
    tenant = _requested(dt.date(2030, 7, 1), requested_on=dt.date(2030, 6, 1))
    lead = pv.sso_eligibility(tenant, as_of=dt.date(2030, 7, 5)).requirements[-1]
    assert (lead.met, lead.detail) == (True, "live since 2030-07-01")


def test_no_lead_time_needs_no_notice() -> None:
    """SSO_LEAD_TIME set to nothing: any future go-live is met, and says so."""
    book = pv.RuleBook().with_settings(sso_lead_time=relativedelta())
    tenant = _requested(dt.date(2030, 7, 1), requested_on=None)
    lead = pv.sso_eligibility(tenant, as_of=dt.date(2030, 6, 30), rulebook=book).requirements[-1]
    assert (lead.met, lead.detail) == (
        True,
        "go-live 2030-07-01 is no notice needed after 2030-06-30",
    )


def test_lead_time_past_the_last_date_does_not_crash() -> None:
    """A question asked near date.max answers instead of overflowing."""
    tenant = _requested(dt.date(9999, 12, 31), requested_on=None)
    sso = pv.sso_eligibility(tenant, as_of=dt.date(9999, 12, 30))
    assert sso.earliest_go_live == dt.date.max


@pytest.mark.parametrize(
    "period", [relativedelta(months=1, days=-30), relativedelta(years=-1)], ids=repr
)
def test_a_lead_time_with_a_negative_part_is_refused(period: relativedelta) -> None:
    """Settings refuses a lead time any part of which is negative."""
    with pytest.raises(pv.InvalidValueError, match="must not be negative"):
        pv.Settings(sso_lead_time=period)


def test_a_go_live_before_its_request_says_so() -> None:
    """SSO_LEAD_TIME: a go-live dated before the request is named as such."""
    tenant = _requested(dt.date(2030, 6, 1), requested_on=dt.date(2030, 6, 10))
    (lead,) = pv.sso_eligibility(tenant, as_of=dt.date(2030, 6, 12)).unmet
    assert lead.detail == (
        "go-live 2030-06-01 is before the day it was requested (2030-06-10); "
        "the earliest possible is 2030-07-01"
    )
    (finding,) = pv.check(tenant).findings
    assert finding.message == ("go-live 2030-06-01 is before the day it was requested (2030-06-10)")


def test_a_request_date_says_the_notice_it_gave() -> None:
    """SSO_LEAD_TIME: with the request date known, the detail counts from it."""
    tenant = _requested(dt.date(2030, 7, 1), requested_on=dt.date(2030, 6, 1))
    lead = pv.sso_eligibility(tenant, as_of=dt.date(2030, 6, 25)).requirements[-1]
    assert lead.detail == "go-live 2030-07-01 is at least 3 weeks after 2030-06-01"


def test_the_earliest_go_live_is_never_a_past_day() -> None:
    """SSO_LEAD_TIME: with no go-live booked, a request long ago allows today, not a past day."""
    booked = _requested(dt.date(2030, 7, 1), requested_on=dt.date(2030, 6, 1)).sso
    assert booked is not None
    setup = attrs.evolve(booked, go_live=None)
    tenant = attrs.evolve(_requested(dt.date(2030, 7, 1), None), sso=setup)
    sso = pv.sso_eligibility(tenant, as_of=dt.date(2030, 12, 20))
    assert sso.earliest_go_live == dt.date(2030, 12, 20)
    assert sso.unmet[-1].detail == (
        "no go-live date requested; the earliest possible is 2030-12-20"
    )
