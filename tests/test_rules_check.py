"""check(): every configuration problem of a tenant at once, with rule, severity and source."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

import _builders
import provisioning as pv

COMMUNITY = pv.Product.COMMUNITY
MARKETING = pv.Product.MARKETING
STANDALONE = pv.ProvisioningMethod.STANDALONE
UPLOAD = pv.ProvisioningMethod.SPREADSHEET_UPLOAD
INTEGRATION = pv.ProvisioningMethod.STANDARD_INTEGRATION
ERROR = pv.Severity.ERROR
WARNING = pv.Severity.WARNING


sso = _builders.sso


def tenant(
    products: dict[pv.Product, pv.ProvisioningMethod],
    *,
    system: str | None = None,
    sso_setup: pv.SsoSetup | None = None,
    requests: str = "disabled",
) -> pv.Tenant:
    return pv.Tenant(
        id="acme",
        name="Acme",
        products=products,
        sso=sso_setup,
        integration=system,
        account_requests=requests,
    )


def found(t: pv.Tenant, rulebook: pv.RuleBook = pv.DEFAULT_RULEBOOK) -> list[tuple[str, str]]:
    """(rule, severity) of each finding, in order."""
    return [(f.rule, f.severity.value) for f in pv.check(t, rulebook=rulebook)]


@pytest.mark.parametrize(
    "t",
    [
        tenant({COMMUNITY: STANDALONE}),
        tenant({COMMUNITY: STANDALONE}, requests="auto_approve"),
        tenant({COMMUNITY: UPLOAD, MARKETING: UPLOAD}),
        tenant({COMMUNITY: UPLOAD}, sso_setup=sso()),
        tenant({COMMUNITY: UPLOAD}, sso_setup=sso("openid_connect", signed=False)),
        tenant({COMMUNITY: INTEGRATION}, system="imis", sso_setup=sso()),
        tenant({COMMUNITY: INTEGRATION, MARKETING: UPLOAD}, system="salesforce"),
        tenant({}),
    ],
    ids=[
        "standalone community",
        "standalone community taking account requests",
        "both products on upload",
        "upload with a complete SSO setup",
        "upload with OpenID Connect (no SAML signature needed)",
        "iMIS integration with SSO",
        "Salesforce community, marketing on upload",
        "no product licensed",
    ],
)
def test_a_valid_tenant_has_no_findings(t: pv.Tenant) -> None:
    """A configuration the vendor allows has no finding at all."""
    assert found(t) == []


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (tenant({MARKETING: STANDALONE}), [("STANDALONE_COMMUNITY_ONLY", "error")]),
        (
            tenant({MARKETING: INTEGRATION}, system="imis"),
            [("INTEGRATION_COMMUNITY_ONLY", "error")],
        ),
        (tenant({COMMUNITY: INTEGRATION}), [("INTEGRATION_SYSTEM_REQUIRED", "error")]),
        (
            tenant({COMMUNITY: INTEGRATION}, system="acme_ams"),
            [("INTEGRATION_SYSTEM_UNKNOWN", "error")],
        ),
        (tenant({COMMUNITY: UPLOAD}, system="imis"), [("INTEGRATION_SYSTEM_UNUSED", "warning")]),
        (
            tenant({COMMUNITY: UPLOAD}, requests="admin_approval"),
            [("STANDALONE_ACCOUNT_REQUESTS", "error")],
        ),
        (
            tenant({COMMUNITY: INTEGRATION}, system="imis", requests="auto_approve"),
            [("STANDALONE_ACCOUNT_REQUESTS", "error")],
        ),
        (
            tenant({MARKETING: UPLOAD}, requests="auto_approve"),
            [("STANDALONE_ACCOUNT_REQUESTS", "error")],
        ),
        (tenant({COMMUNITY: STANDALONE}, sso_setup=sso()), [("SSO_NOT_WITH_STANDALONE", "error")]),
        (tenant({MARKETING: UPLOAD}, sso_setup=sso()), [("SSO_NOT_MARKETING", "error")]),
        (tenant({}, sso_setup=sso()), [("SSO_NOT_MARKETING", "error")]),
        (
            tenant({COMMUNITY: INTEGRATION}, system="netforum_pro", sso_setup=sso()),
            [("SSO_INTEGRATION_BY_SYSTEM", "error")],
        ),
        (
            tenant({COMMUNITY: INTEGRATION}, system="neoncrm", sso_setup=sso()),
            [("SSO_INTEGRATION_BY_SYSTEM", "warning")],
        ),
    ],
    ids=[
        "STANDALONE_COMMUNITY_ONLY: marketing on standalone",
        "INTEGRATION_COMMUNITY_ONLY: marketing on an integration",
        "INTEGRATION_SYSTEM_REQUIRED: integration naming no system",
        "INTEGRATION_SYSTEM_UNKNOWN: integration naming a system the catalog lacks",
        "INTEGRATION_SYSTEM_UNUSED: upload naming a system (a warning)",
        "STANDALONE_ACCOUNT_REQUESTS: admin approval on upload",
        "STANDALONE_ACCOUNT_REQUESTS: auto-approve on an integration",
        "STANDALONE_ACCOUNT_REQUESTS: requests without community",
        "SSO_NOT_WITH_STANDALONE: SSO set up under standalone",
        "SSO_NOT_MARKETING: SSO set up for a marketing-only tenant",
        "SSO_NOT_MARKETING: SSO set up for a tenant licensing nothing",
        "SSO_INTEGRATION_BY_SYSTEM: SSO with a system that denies it",
        "SSO_INTEGRATION_BY_SYSTEM: SSO with a system no source confirms (a warning)",
    ],
)
def test_each_configuration_problem_is_found(t: pv.Tenant, expected: list[tuple[str, str]]) -> None:
    """Each configuration problem is one finding with its rule id and severity."""
    assert found(t) == expected


@pytest.mark.parametrize(
    ("setup", "rule"),
    [
        (sso("saml_1_1"), "SSO_PROTOCOLS"),
        (sso("ws_federation"), "SSO_PROTOCOLS"),
        (sso("cas"), "SSO_PROTOCOLS"),
        (sso(vendor_idp=True), "SSO_EXTERNAL_IDP"),
        (sso(lck=False), "SSO_IDENTIFIER_MATCH"),
        (sso(signed=False), "SSO_SAML_SIGNED"),
    ],
    ids=[
        "SAML 1.1 is not a supported protocol",
        "WS-Federation is not a supported protocol",
        "CAS is not a supported protocol",
        "the vendor would be the identity provider",
        "the asserted identifier is not the LegacyContactKey",
        "SAML messages are not signed",
    ],
)
def test_each_sso_setup_flaw_is_an_error(setup: pv.SsoSetup, rule: str) -> None:
    """Each flaw of the SSO setup itself is an ERROR finding of its rule."""
    assert found(tenant({COMMUNITY: UPLOAD}, sso_setup=setup)) == [(rule, "error")]


@pytest.mark.parametrize(
    "go_live",
    [None, dt.date(2000, 1, 1), dt.date(2999, 1, 1)],
    ids=["no go-live date", "a go-live long past", "a go-live far ahead"],
)
def test_check_ignores_the_clock(go_live: dt.date | None) -> None:
    """check() takes no date: the go-live date and lead time are not configuration problems."""
    assert found(tenant({COMMUNITY: UPLOAD}, sso_setup=sso(go_live=go_live))) == []


def test_check_reports_a_go_live_booked_with_too_little_notice() -> None:
    """SSO_LEAD_TIME: check() compares the two dates of the setup, whatever today is."""
    setup = attrs.evolve(sso(), go_live=dt.date(2030, 7, 1), requested_on=dt.date(2030, 6, 17))
    t = tenant({COMMUNITY: UPLOAD}, sso_setup=setup)
    assert found(t) == [("SSO_LEAD_TIME", "error")]
    (finding,) = pv.check(t).findings
    assert finding.message == (
        "go-live 2030-07-01 was booked with less than 3 weeks notice (requested on "
        "2030-06-17); the earliest possible was 2030-07-08"
    )
    in_time = attrs.evolve(setup, requested_on=dt.date(2030, 6, 10))
    assert found(tenant({COMMUNITY: UPLOAD}, sso_setup=in_time)) == []


def test_every_problem_is_found_at_once() -> None:
    """A tenant with many problems gets all of them in one result, in a stable order."""
    t = tenant(
        {COMMUNITY: UPLOAD, MARKETING: STANDALONE},
        system="imis",
        requests="auto_approve",
        sso_setup=sso("saml_1_1", signed=False, lck=False, vendor_idp=True),
    )
    assert found(t) == [
        ("STANDALONE_COMMUNITY_ONLY", "error"),
        ("INTEGRATION_SYSTEM_UNUSED", "warning"),
        ("STANDALONE_ACCOUNT_REQUESTS", "error"),
        ("SSO_PROTOCOLS", "error"),
        ("SSO_EXTERNAL_IDP", "error"),
        ("SSO_IDENTIFIER_MATCH", "error"),
        ("SSO_SAML_SIGNED", "error"),
    ]


def test_standalone_sso_reports_the_method_and_the_setup_flaws() -> None:
    """SSO under standalone is reported, and so is every flaw of the setup itself."""
    t = tenant({COMMUNITY: STANDALONE}, sso_setup=sso(signed=False))
    assert found(t) == [("SSO_NOT_WITH_STANDALONE", "error"), ("SSO_SAML_SIGNED", "error")]


def test_marketing_only_sso_reports_the_product_and_the_setup_flaws() -> None:
    """SSO for a marketing-only tenant is reported, with the setup's own flaws."""
    t = tenant({MARKETING: UPLOAD}, sso_setup=sso(lck=False))
    assert found(t) == [("SSO_NOT_MARKETING", "error"), ("SSO_IDENTIFIER_MATCH", "error")]


def test_integration_without_system_and_sso_reports_only_the_missing_system() -> None:
    """With no system named, SSO by system is not judged; the missing system is the problem."""
    t = tenant({COMMUNITY: INTEGRATION}, sso_setup=sso())
    assert found(t) == [("INTEGRATION_SYSTEM_REQUIRED", "error")]


def test_integration_with_unknown_system_and_sso_reports_only_the_unknown_system() -> None:
    """With a system the catalog lacks, SSO by system is not judged; the system is the problem."""
    t = tenant({COMMUNITY: INTEGRATION}, system="acme_ams", sso_setup=sso())
    assert found(t) == [("INTEGRATION_SYSTEM_UNKNOWN", "error")]


@pytest.mark.parametrize(
    ("t", "message"),
    [
        (
            tenant({MARKETING: STANDALONE}),
            "marketing is licensed with the standalone method, which applies to community only",
        ),
        (
            tenant({MARKETING: INTEGRATION}, system="imis"),
            (
                "marketing is licensed with a standard integration, which is offered for community "
                "only"
            ),
        ),
        (
            tenant({COMMUNITY: INTEGRATION}),
            "a product uses a standard integration, but no integrated system is named",
        ),
        (
            tenant({COMMUNITY: INTEGRATION}, system="acme_ams"),
            "the integrated system 'acme_ams' is not in the rulebook's catalog",
        ),
        (
            tenant({COMMUNITY: UPLOAD}, system="imis"),
            (
                "the tenant names the integrated system 'imis', but no product uses a standard "
                "integration"
            ),
        ),
        (
            tenant({COMMUNITY: UPLOAD}, requests="admin_approval"),
            (
                "account requests are set to admin_approval, but only standalone sites take "
                "account requests (community uses spreadsheet_upload)"
            ),
        ),
        (
            tenant({MARKETING: UPLOAD}, requests="auto_approve"),
            (
                "account requests are set to auto_approve, but only standalone sites take "
                "account requests (community is not licensed)"
            ),
        ),
        (
            tenant({COMMUNITY: STANDALONE}, sso_setup=sso()),
            "SSO is set up, but community uses the standalone method, which does not support SSO",
        ),
        (
            tenant({MARKETING: UPLOAD}, sso_setup=sso()),
            (
                "SSO is set up, but the tenant licenses no product SSO applies to (it licenses "
                "marketing)"
            ),
        ),
        (
            tenant({}, sso_setup=sso()),
            (
                "SSO is set up, but the tenant licenses no product SSO applies to (it licenses "
                "nothing)"
            ),
        ),
        (
            tenant({COMMUNITY: INTEGRATION}, system="netforum_pro", sso_setup=sso()),
            "SSO is set up, but netFORUM Pro does not support SSO",
        ),
        (
            tenant({COMMUNITY: INTEGRATION}, system="neoncrm", sso_setup=sso()),
            (
                "SSO is set up, but no source confirms that NeonCRM supports SSO; confirm it with "
                "the vendor"
            ),
        ),
        (
            tenant({COMMUNITY: UPLOAD}, sso_setup=sso("cas")),
            "cas is not supported; use SAML 2.0, OAuth 2.0 or OpenID Connect",
        ),
        (
            tenant({COMMUNITY: UPLOAD}, sso_setup=sso(vendor_idp=True)),
            "Acme AMS would make the vendor the identity provider; the customer's system must be",
        ),
        (
            tenant({COMMUNITY: UPLOAD}, sso_setup=sso(lck=False)),
            "the IdP asserts NameID, which is not the LegacyContactKey: users could not get in",
        ),
        (
            tenant({COMMUNITY: UPLOAD}, sso_setup=sso(signed=False)),
            "SAML requests and responses must be signed",
        ),
    ],
    ids=[
        "marketing on standalone",
        "marketing on an integration",
        "no integrated system",
        "unknown integrated system",
        "unused integrated system",
        "account requests on upload",
        "account requests without community",
        "SSO under standalone",
        "SSO for marketing only",
        "SSO for no product",
        "SSO with a system that denies it",
        "SSO with a system no source confirms",
        "unsupported protocol",
        "vendor as identity provider",
        "identifier not the LegacyContactKey",
        "unsigned SAML",
    ],
)
def test_finding_message(t: pv.Tenant, message: str) -> None:
    """Each finding says the problem in words, exactly."""
    assert [f.message for f in pv.check(t)] == [message]


def test_findings_carry_their_rules_source() -> None:
    """Every finding carries the source of its rule as the rulebook states it."""
    t = tenant(
        {COMMUNITY: UPLOAD, MARKETING: STANDALONE},
        system="imis",
        requests="auto_approve",
        sso_setup=sso("cas", signed=False, lck=False, vendor_idp=True),
    )
    book = pv.DEFAULT_RULEBOOK
    assert [f.source for f in pv.check(t)] == [book.rule(f.rule).source for f in pv.check(t)]


def test_an_unused_system_is_only_a_warning() -> None:
    """A tenant whose only finding is a warning is still ok."""
    result = pv.check(tenant({COMMUNITY: UPLOAD}, system="imis"))
    assert (result.ok, len(result.errors), len(result.warnings)) == (True, 0, 1)


def test_errors_and_warnings_are_split_by_severity() -> None:
    """CheckResult.errors and .warnings hold the findings of that severity, in order."""
    result = pv.check(
        tenant({COMMUNITY: UPLOAD, MARKETING: STANDALONE}, system="imis", requests="auto_approve")
    )
    errors = [f.rule for f in result.errors]
    warnings = [f.rule for f in result.warnings]
    assert (errors, warnings, result.ok) == (
        ["STANDALONE_COMMUNITY_ONLY", "STANDALONE_ACCOUNT_REQUESTS"],
        ["INTEGRATION_SYSTEM_UNUSED"],
        False,
    )


def test_check_is_deterministic() -> None:
    """Checking the same tenant twice gives equal results."""
    t = tenant({MARKETING: STANDALONE}, system="acme_ams", sso_setup=sso(signed=False))
    assert pv.check(t) == pv.check(t)


def test_a_host_system_is_known_to_its_rulebook() -> None:
    """A system the host adds to the rulebook's catalog is no longer unknown."""
    book = pv.RuleBook().with_systems(pv.IntegrationSystem(id="acme_ams", name="Acme AMS"))
    assert found(tenant({COMMUNITY: INTEGRATION}, system="acme_ams"), book) == []


def test_a_host_system_confirming_sso_clears_the_sso_warning() -> None:
    """A host system whose SSO is confirmed raises no SSO_INTEGRATION_BY_SYSTEM finding."""
    system = pv.IntegrationSystem(id="neoncrm", name="NeonCRM", confirmed={pv.Capability.SSO})
    book = pv.RuleBook().with_systems(system)
    assert found(tenant({COMMUNITY: INTEGRATION}, system="neoncrm", sso_setup=sso()), book) == []


def test_sso_products_setting_decides_where_sso_applies() -> None:
    """With SSO applied to marketing too, SSO for a marketing-only tenant is no problem."""
    book = pv.RuleBook().with_settings(sso_products={COMMUNITY, MARKETING})
    assert found(tenant({MARKETING: UPLOAD}, sso_setup=sso()), book) == []


def test_rulebook_check_is_the_function() -> None:
    """RuleBook.check gives the same result as pv.check with that rulebook."""
    t = tenant({COMMUNITY: INTEGRATION})
    assert pv.DEFAULT_RULEBOOK.check(t) == pv.check(t)


def test_the_result_names_its_tenant() -> None:
    """The check result carries the tenant's id."""
    assert pv.check(tenant({COMMUNITY: UPLOAD})).tenant_id == "acme"


def test_check_result_is_a_sequence_of_findings() -> None:
    """A check result iterates, indexes and counts its findings."""
    result = pv.check(tenant({MARKETING: STANDALONE}, system="imis"))
    assert (len(result), list(result), result[0].rule, result.rules) == (
        2,
        list(result.findings),
        "STANDALONE_COMMUNITY_ONLY",
        ("STANDALONE_COMMUNITY_ONLY", "INTEGRATION_SYSTEM_UNUSED"),
    )
