"""plan_migration(), the scenario table, and how every result reads as text and as HTML."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

import provisioning as pv
from provisioning.rules import ACTING_ROLE, DEFAULT_SSO_OPTIONS, DEFAULT_SYSTEMS, SsoOption

AS_OF = dt.date(2030, 6, 3)
PAST = dt.date(2030, 5, 4)
COMMUNITY = pv.Product.COMMUNITY
MARKETING = pv.Product.MARKETING
STANDALONE = pv.ProvisioningMethod.STANDALONE
UPLOAD = pv.ProvisioningMethod.SPREADSHEET_UPLOAD
INTEGRATION = pv.ProvisioningMethod.STANDARD_INTEGRATION
MCIM = pv.RuleId.METHOD_CHANGE_IS_MIGRATION


def sso(idp: str = "Acme AMS", go_live: dt.date | None = PAST) -> pv.SsoSetup:
    return pv.SsoSetup(
        protocol="saml_2_0",
        identity_provider=idp,
        identifier_is_legacy_contact_key=True,
        saml_signed=True,
        go_live=go_live,
    )


def tenant(
    products: dict[pv.Product, pv.ProvisioningMethod],
    *,
    system: str | None = None,
    sso_setup: pv.SsoSetup | None = None,
    tenant_id: str = "acme",
) -> pv.Tenant:
    return pv.Tenant(
        id=tenant_id, name="Acme", products=products, sso=sso_setup, integration=system
    )


def community(method: pv.ProvisioningMethod, *, with_sso: bool = False) -> pv.Tenant:
    system = "imis" if method is INTEGRATION else None
    return tenant({COMMUNITY: method}, system=system, sso_setup=sso() if with_sso else None)


# -- plan_migration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "to", "risks"),
    [
        (STANDALONE, UPLOAD, (MCIM, "STANDALONE_LOCAL_PORTAL", "UPLOAD_SINGLE_SOURCE")),
        (STANDALONE, INTEGRATION, (MCIM, "STANDALONE_LOCAL_PORTAL", "INTEGRATION_SOURCE_OF_TRUTH")),
        (UPLOAD, STANDALONE, (MCIM,)),
        (UPLOAD, INTEGRATION, (MCIM, "INTEGRATION_SOURCE_OF_TRUTH")),
        (INTEGRATION, STANDALONE, (MCIM, "INTEGRATION_SOURCE_OF_TRUTH")),
        (
            INTEGRATION,
            UPLOAD,
            (MCIM, "INTEGRATION_SOURCE_OF_TRUTH", "UPLOAD_SINGLE_SOURCE"),
        ),
    ],
    ids=[
        "standalone to upload",
        "standalone to integration",
        "upload to standalone",
        "upload to integration",
        "integration to standalone",
        "integration to upload",
    ],
)
def test_migration_risks_without_sso(
    start: pv.ProvisioningMethod, to: pv.ProvisioningMethod, risks: tuple[str, ...]
) -> None:
    """METHOD_CHANGE_IS_MIGRATION: each move names the risks of leaving and of arriving."""
    move = pv.plan_migration(community(start), COMMUNITY, to)
    assert tuple(f.rule for f in move.risks) == risks


@pytest.mark.parametrize(
    ("start", "to", "risks"),
    [
        (
            UPLOAD,
            STANDALONE,
            (MCIM, "SSO_IDENTIFIER_MATCH", "SSO_NOT_WITH_STANDALONE"),
        ),
        (
            UPLOAD,
            INTEGRATION,
            (MCIM, "SSO_IDENTIFIER_MATCH", "INTEGRATION_SOURCE_OF_TRUTH"),
        ),
        (
            INTEGRATION,
            STANDALONE,
            (
                MCIM,
                "SSO_IDENTIFIER_MATCH",
                "INTEGRATION_SOURCE_OF_TRUTH",
                "SSO_NOT_WITH_STANDALONE",
            ),
        ),
        (
            INTEGRATION,
            UPLOAD,
            (MCIM, "SSO_IDENTIFIER_MATCH", "INTEGRATION_SOURCE_OF_TRUTH", "UPLOAD_SINGLE_SOURCE"),
        ),
    ],
    ids=[
        "upload to standalone",
        "upload to integration",
        "integration to standalone",
        "integration to upload",
    ],
)
def test_migration_risks_with_sso(
    start: pv.ProvisioningMethod, to: pv.ProvisioningMethod, risks: tuple[str, ...]
) -> None:
    """With SSO, a community move also risks the identifier match and, to standalone, SSO."""
    move = pv.plan_migration(community(start, with_sso=True), COMMUNITY, to)
    assert tuple(f.rule for f in move.risks) == risks


def test_every_risk_is_a_warning() -> None:
    """A migration's risks are warnings a person must act on."""
    move = pv.plan_migration(community(INTEGRATION, with_sso=True), COMMUNITY, STANDALONE)
    assert {f.severity for f in move.risks} == {pv.Severity.WARNING}


def test_the_first_risk_says_it_is_a_migration() -> None:
    """METHOD_CHANGE_IS_MIGRATION: the first risk names what a changed identifier risks."""
    move = pv.plan_migration(community(UPLOAD), COMMUNITY, INTEGRATION)
    assert move.risks[0].message == (
        "moving community to standard_integration is a migration: plan it with the vendor; a "
        "changed record identifier risks lost SSO access, duplicate records, lost history and "
        "broken syncs"
    )


def test_marketing_move_has_no_sso_risk() -> None:
    """SSO is a Community concern: moving Marketing carries no SSO risk, even with SSO set up."""
    t = tenant({COMMUNITY: UPLOAD, MARKETING: STANDALONE}, sso_setup=sso())
    move = pv.plan_migration(t, MARKETING, UPLOAD)
    assert tuple(f.rule for f in move.risks) == (
        MCIM,
        "STANDALONE_LOCAL_PORTAL",
        "UPLOAD_SINGLE_SOURCE",
    )


def test_move_of_an_unlicensed_product_starts_from_nothing() -> None:
    """Licensing a product by migration starts from no method."""
    move = pv.plan_migration(community(UPLOAD), MARKETING, UPLOAD)
    assert (move.from_method, tuple(f.rule for f in move.risks)) == (
        None,
        (MCIM, "UPLOAD_SINGLE_SOURCE"),
    )


def test_no_op_migration_is_one_info() -> None:
    """Moving a product to the method it already uses is one INFO and no problem."""
    move = pv.plan_migration(community(UPLOAD, with_sso=True), COMMUNITY, UPLOAD)
    assert (move.risks, len(move.problems), move.ok) == (
        (
            pv.DEFAULT_RULEBOOK.finding(
                MCIM, pv.Severity.INFO, "community already uses spreadsheet_upload"
            ),
        ),
        0,
        True,
    )


@pytest.mark.parametrize(
    ("t", "product", "to", "problems"),
    [
        (tenant({COMMUNITY: UPLOAD}), COMMUNITY, INTEGRATION, ("INTEGRATION_SYSTEM_REQUIRED",)),
        (
            tenant({COMMUNITY: UPLOAD}, system="acme_ams"),
            COMMUNITY,
            INTEGRATION,
            ("INTEGRATION_SYSTEM_UNKNOWN",),
        ),
        (
            tenant({COMMUNITY: UPLOAD}, sso_setup=sso()),
            COMMUNITY,
            STANDALONE,
            ("SSO_NOT_WITH_STANDALONE",),
        ),
        (
            tenant({COMMUNITY: UPLOAD}, system="netforum_pro", sso_setup=sso()),
            COMMUNITY,
            INTEGRATION,
            ("SSO_INTEGRATION_BY_SYSTEM",),
        ),
        (tenant({MARKETING: UPLOAD}), MARKETING, STANDALONE, ("STANDALONE_COMMUNITY_ONLY",)),
        (
            tenant({MARKETING: UPLOAD}, system="imis"),
            MARKETING,
            INTEGRATION,
            ("INTEGRATION_COMMUNITY_ONLY",),
        ),
        (tenant({COMMUNITY: UPLOAD}, system="imis"), COMMUNITY, INTEGRATION, ()),
        (
            tenant({COMMUNITY: INTEGRATION}, system="imis"),
            COMMUNITY,
            UPLOAD,
            ("INTEGRATION_SYSTEM_UNUSED",),
        ),
    ],
    ids=[
        "to an integration naming no system",
        "to an integration with a system the catalog lacks",
        "to standalone with SSO set up",
        "to an integration whose system denies SSO",
        "marketing to standalone",
        "marketing to an integration",
        "to an integration with its system named: no problem",
        "off an integration, the system is left unused",
    ],
)
def test_migration_problems_are_the_targets(
    t: pv.Tenant, product: pv.Product, to: pv.ProvisioningMethod, problems: tuple[str, ...]
) -> None:
    """The migration lists the configuration problems the target tenant would have."""
    assert pv.plan_migration(t, product, to).problems.rules == problems


@pytest.mark.parametrize(
    ("t", "ok"),
    [(tenant({COMMUNITY: UPLOAD}), False), (tenant({COMMUNITY: UPLOAD}, system="imis"), True)],
    ids=["target has an error: blocked", "target has none: ok"],
)
def test_migration_ok_is_whether_the_target_has_no_error(t: pv.Tenant, ok: bool) -> None:
    """Migration.ok is false when the target would have a configuration error."""
    assert pv.plan_migration(t, COMMUNITY, INTEGRATION).ok is ok


def test_a_warning_does_not_block_a_migration() -> None:
    """A target with only a warning (an unused system) is still ok to migrate to."""
    move = pv.plan_migration(tenant({COMMUNITY: INTEGRATION}, system="imis"), COMMUNITY, UPLOAD)
    assert move.ok


def test_migration_target_is_the_moved_tenant() -> None:
    """The migration carries the target tenant, the product moved; the source is unchanged."""
    t = community(UPLOAD)
    move = pv.plan_migration(t, COMMUNITY, STANDALONE)
    assert (move.target, t.products[COMMUNITY], move.to_method, move.tenant_id) == (
        t.with_method(COMMUNITY, STANDALONE),
        UPLOAD,
        STANDALONE,
        "acme",
    )


def test_migration_rules_list_risks_then_problems() -> None:
    """Migration.rules lists the risks' rules, then the problems'."""
    move = pv.plan_migration(tenant({COMMUNITY: UPLOAD}), COMMUNITY, INTEGRATION)
    assert move.rules == (MCIM, "INTEGRATION_SOURCE_OF_TRUTH", "INTEGRATION_SYSTEM_REQUIRED")


def test_rulebook_plan_migration_is_the_function() -> None:
    """RuleBook.plan_migration gives the same plan as pv.plan_migration."""
    t = community(UPLOAD, with_sso=True)
    assert pv.DEFAULT_RULEBOOK.plan_migration(t, COMMUNITY, STANDALONE) == pv.plan_migration(
        t, COMMUNITY, STANDALONE
    )


def test_migration_problems_follow_the_rulebook() -> None:
    """A migration is judged by the rulebook given: a host system is not unknown there."""
    book = pv.RuleBook().with_systems(pv.IntegrationSystem(id="acme_ams", name="Acme AMS"))
    t = tenant({COMMUNITY: UPLOAD}, system="acme_ams")
    assert pv.plan_migration(t, COMMUNITY, INTEGRATION, rulebook=book).ok


# -- scenarios -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table() -> pv.rules.ScenarioTable:
    return pv.scenarios(as_of=AS_OF)


def test_default_table_size(table: pv.rules.ScenarioTable) -> None:
    """The default table is every product x method x SSO option x system: 2 x 3 x 6 x 4."""
    expected = len(pv.Product) * len(pv.ProvisioningMethod)
    expected *= len(DEFAULT_SSO_OPTIONS) * len(DEFAULT_SYSTEMS)
    assert (len(table), expected) == (144, 144)


def test_default_table_decides_every_main_action(table: pv.rules.ScenarioTable) -> None:
    """Every scenario decides every action of ACTING_ROLE, by the role that takes it."""
    assert all(
        list(s.decisions) == list(ACTING_ROLE)
        and all(d.role is ACTING_ROLE[a] for a, d in s.decisions.items())
        for s in table
    )


def test_table_order_is_product_method_option_system(table: pv.rules.ScenarioTable) -> None:
    """Scenarios come in a stable order: product, then method, SSO option, system."""
    assert [s.tenant.id for s in table.scenarios[:5]] == [
        "community-standalone-none-none",
        "community-standalone-none-imis",
        "community-standalone-none-netforum_pro",
        "community-standalone-none-neoncrm",
        "community-standalone-saml_live-none",
    ]


def test_table_indexes_and_iterates(table: pv.rules.ScenarioTable) -> None:
    """A scenario table indexes and iterates its scenarios."""
    assert (table[0], list(table)) == (table.scenarios[0], list(table.scenarios))


def test_subset_table() -> None:
    """A caller's subset gives only its combinations, with only its actions."""
    subset = pv.scenarios(
        products=[COMMUNITY],
        methods=[UPLOAD, INTEGRATION],
        sso_options=DEFAULT_SSO_OPTIONS[:2],
        systems=[None, "imis"],
        actions=[pv.Action.SSO_LOGIN, pv.Action.LOCAL_LOGIN],
        as_of=AS_OF,
    )
    assert (len(subset), {tuple(s.decisions) for s in subset}) == (
        8,
        {(pv.Action.SSO_LOGIN, pv.Action.LOCAL_LOGIN)},
    )


def find(table: pv.rules.ScenarioTable, tenant_id: str) -> pv.rules.Scenario:
    (found,) = [s for s in table if s.tenant.id == tenant_id]
    return found


@pytest.mark.parametrize(
    ("tenant_id", "sso_status", "sso_login", "local_login"),
    [
        ("community-spreadsheet_upload-saml_live-none", "eligible", True, False),
        ("community-spreadsheet_upload-oidc_live-none", "eligible", True, False),
        ("community-spreadsheet_upload-saml_unsigned-none", "requirements_unmet", False, True),
        ("community-spreadsheet_upload-wrong_identifier-none", "requirements_unmet", False, True),
        ("community-spreadsheet_upload-too_soon-none", "requirements_unmet", False, True),
        ("community-standard_integration-saml_live-imis", "eligible", True, False),
        ("community-standard_integration-saml_live-netforum_pro", "not_supported", False, True),
        ("community-standard_integration-saml_live-neoncrm", "requirements_unmet", False, True),
        ("community-standalone-saml_live-none", "not_supported", False, True),
        ("marketing-spreadsheet_upload-saml_live-none", "not_applicable", False, False),
    ],
    ids=[
        "upload, live SAML: eligible, SSO only",
        "upload, live OpenID Connect: eligible, SSO only",
        "upload, unsigned SAML: unmet, local only",
        "upload, wrong identifier: unmet, local only",
        "upload, go-live too soon: unmet, local only",
        "iMIS, live SAML: eligible, SSO only",
        "netFORUM Pro, live SAML: not supported, local only",
        "NeonCRM, live SAML: unmet, local only",
        "standalone, live SAML: not supported, local only",
        "marketing: not applicable, no login",
    ],
)
def test_scenario_sso_outcomes(
    table: pv.rules.ScenarioTable,
    tenant_id: str,
    sso_status: str,
    sso_login: bool,
    local_login: bool,
) -> None:
    """Each default SSO option lands where the SSO rules say, for SSO and local login."""
    s = find(table, tenant_id)
    assert (
        s.sso.status.value,
        s.decisions[pv.Action.SSO_LOGIN].allowed,
        s.decisions[pv.Action.LOCAL_LOGIN].allowed,
    ) == (sso_status, sso_login, local_login)


def test_sso_option_places_go_live_relative_to_as_of() -> None:
    """An SSO option's go-live is placed its number of days after the table's date."""
    option = SsoOption("soon", sso(go_live=None), 7)
    setup = option.setup_as_of(AS_OF)
    assert setup is not None
    assert setup.go_live == dt.date(2030, 6, 10)


@pytest.mark.parametrize(
    "option",
    [SsoOption("none", None), SsoOption("fixed", sso(go_live=PAST))],
    ids=["no setup", "no offset"],
)
def test_sso_option_without_offset_is_unchanged(option: SsoOption) -> None:
    """An SSO option with no setup, or no offset, is used as given."""
    assert option.setup_as_of(AS_OF) == option.setup


def test_table_as_of_defaults_to_today() -> None:
    """Without as_of the table is built as of today (UTC)."""
    before = dt.datetime.now(dt.UTC).date()
    small = pv.scenarios(
        products=[COMMUNITY], methods=[UPLOAD], sso_options=DEFAULT_SSO_OPTIONS[:1], systems=[None]
    )
    assert before <= small.as_of <= dt.datetime.now(dt.UTC).date()


def test_table_follows_the_rulebook() -> None:
    """The table is judged by the rulebook given (here: local login kept beside SSO)."""
    book = pv.RuleBook().with_settings(local_login_with_sso=True)
    small = pv.scenarios(
        products=[COMMUNITY],
        methods=[UPLOAD],
        sso_options=[DEFAULT_SSO_OPTIONS[1]],
        systems=[None],
        as_of=AS_OF,
        rulebook=book,
    )
    assert small[0].decisions[pv.Action.LOCAL_LOGIN].allowed


RECORD_KEYS = [
    "product",
    "method",
    "sso_setup",
    "system",
    "tenant_id",
    "config_ok",
    "config_errors",
    "config_warnings",
    "sso_status",
    "sso_unmet",
    *(k for a in ACTING_ROLE for k in (a.value, f"{a.value}_rules")),
]


def test_records_have_the_same_keys_in_order(table: pv.rules.ScenarioTable) -> None:
    """Every record has the same columns, in a stable order."""
    assert {tuple(r) for r in table.to_records()} == {tuple(RECORD_KEYS)}


def test_records_are_flat(table: pv.rules.ScenarioTable) -> None:
    """Record values are strings, booleans or None only: ready for a DataFrame."""
    assert {type(v) for r in table.to_records() for v in r.values()} <= {str, bool, type(None)}


def test_records_are_stable(table: pv.rules.ScenarioTable) -> None:
    """Building the table again as of the same date gives the same records."""
    assert pv.scenarios(as_of=AS_OF).to_records() == table.to_records()


def test_record_of_one_scenario(table: pv.rules.ScenarioTable) -> None:
    """A record reads the scenario: configuration, SSO, and each decision with its refusals."""
    record = find(table, "marketing-standalone-none-imis").to_record()
    assert {k: record[k] for k in RECORD_KEYS[:10]} | {
        "initial_upload": record["initial_upload"],
        "initial_upload_rules": record["initial_upload_rules"],
    } == {
        "product": "marketing",
        "method": "standalone",
        "sso_setup": "none",
        "system": "imis",
        "tenant_id": "marketing-standalone-none-imis",
        "config_ok": False,
        "config_errors": "STANDALONE_COMMUNITY_ONLY",
        "config_warnings": "INTEGRATION_SYSTEM_UNUSED",
        "sso_status": "not_applicable",
        "sso_unmet": "",
        "initial_upload": False,
        "initial_upload_rules": "STANDALONE_COMMUNITY_ONLY",
    }


# -- str and _repr_html_ ---------------------------------------------------------------------

EVIL = "<Acme & Co>"
ESCAPED = "&lt;Acme &amp; Co&gt;"


def test_finding_str() -> None:
    """A finding reads as [severity] RULE: message."""
    finding = pv.Finding(pv.RuleId.SSO_SAML_SIGNED, pv.Severity.ERROR, "sign it", "HL 360058532211")
    assert str(finding) == "[error] SSO_SAML_SIGNED: sign it"


@pytest.mark.parametrize(
    ("met", "text"),
    [
        (True, "[met] SAML messages signed (SSO_SAML_SIGNED): ok"),
        (False, "[UNMET] SAML messages signed (SSO_SAML_SIGNED): ok"),
    ],
    ids=["met", "unmet"],
)
def test_requirement_str(met: bool, text: str) -> None:
    """A requirement reads as [met] or [UNMET], its name, rule and detail."""
    assert str(pv.Requirement(pv.RuleId.SSO_SAML_SIGNED, "SAML messages signed", met, "ok")) == text


def test_decision_repr_html() -> None:
    """A decision renders as an HTML table of its findings, with a verdict caption."""
    t = tenant({COMMUNITY: UPLOAD}, sso_setup=sso())
    decision = pv.decide(t, pv.Actor(id="m", role="member"), pv.Action.SSO_LOGIN, as_of=AS_OF)
    assert decision._repr_html_() == (
        "<table><caption>sso_login on community by member: allowed</caption>"
        "<thead><tr><th>severity</th><th>rule</th><th>message</th><th>source</th></tr></thead>"
        "<tbody><tr><td>info</td><td>SSO_IN_EFFECT</td><td>users sign in through Acme AMS</td>"
        "<td>ours</td></tr></tbody></table>"
    )


def test_decision_repr_html_escapes() -> None:
    """Text from the tenant is escaped in a decision's HTML."""
    t = tenant({COMMUNITY: UPLOAD}, sso_setup=sso(EVIL))
    decision = pv.decide(t, pv.Actor(id="m", role="member"), pv.Action.SSO_LOGIN, as_of=AS_OF)
    html = decision._repr_html_()
    assert (ESCAPED in html, EVIL in html) == (True, False)


def test_decision_bool_is_allowed() -> None:
    """bool(decision) is whether it allows the action."""
    t = tenant({COMMUNITY: UPLOAD})
    member = pv.Actor(id="m", role="member")
    decisions = [pv.decide(t, member, a) for a in (pv.Action.LOCAL_LOGIN, pv.Action.SELF_REGISTER)]
    assert [bool(d) for d in decisions] == [True, False]


def test_check_result_str_without_findings() -> None:
    """A clean check result says so."""
    assert str(pv.check(tenant({COMMUNITY: UPLOAD}))) == "tenant acme: no problems found"


def test_check_result_str_with_findings() -> None:
    """A check result lists its findings under a count."""
    result = pv.check(tenant({COMMUNITY: UPLOAD}, system="imis"))
    assert str(result) == (
        "tenant acme: 1 finding(s)\n"
        "  [warning] INTEGRATION_SYSTEM_UNUSED: the tenant names the integrated system 'imis', "
        "but no product uses a standard integration"
    )


def test_check_result_repr_html_escapes() -> None:
    """A check result renders as an HTML table; the tenant id and messages are escaped."""
    result = pv.check(tenant({COMMUNITY: INTEGRATION}, system="<ams>", tenant_id="<acme>"))
    assert result._repr_html_() == (
        "<table><caption>tenant &lt;acme&gt;: 1 finding(s)</caption>"
        "<thead><tr><th>severity</th><th>rule</th><th>message</th><th>source</th></tr></thead>"
        "<tbody><tr><td>error</td><td>INTEGRATION_SYSTEM_UNKNOWN</td><td>the integrated system "
        "&#x27;&lt;ams&gt;&#x27; is not in the rulebook&#x27;s catalog</td><td>ours</td></tr>"
        "</tbody></table>"
    )


def test_sso_eligibility_str() -> None:
    """SSO eligibility reads as a heading with the count met, then every requirement."""
    t = tenant({COMMUNITY: UPLOAD}, sso_setup=sso())
    assert str(pv.sso_eligibility(t, as_of=AS_OF)) == (
        "SSO for community (spreadsheet_upload) as of 2030-06-03: eligible "
        "(6 of 6 requirements met)\n"
        "  [met] method allows SSO (SSO_UPLOAD_CONDITIONAL): spreadsheet upload supports SSO "
        "once the requirements are met\n"
        "  [met] supported protocol (SSO_PROTOCOLS): saml_2_0 is supported\n"
        "  [met] external identity provider (SSO_EXTERNAL_IDP): Acme AMS is the customer's "
        "identity provider\n"
        "  [met] identifier is LegacyContactKey (SSO_IDENTIFIER_MATCH): the IdP asserts NameID, "
        "which equals the LegacyContactKey\n"
        "  [met] SAML messages signed (SSO_SAML_SIGNED): requests and responses are signed\n"
        "  [met] lead time before go-live (SSO_LEAD_TIME): live since 2030-05-04"
    )


def test_sso_eligibility_str_not_licensed() -> None:
    """Eligibility for a product not licensed reads as not licensed, with its finding."""
    t = tenant({MARKETING: UPLOAD})
    assert str(pv.sso_eligibility(t, as_of=AS_OF)) == (
        "SSO for community (not licensed) as of 2030-06-03: not_applicable "
        "(0 of 0 requirements met)\n"
        "  [info] PRODUCT_NOT_LICENSED: the tenant does not license community"
    )


def test_sso_eligibility_repr_html() -> None:
    """SSO eligibility renders findings then requirements as rows of an HTML table."""
    html = pv.sso_eligibility(tenant({COMMUNITY: STANDALONE}), as_of=AS_OF)._repr_html_()
    assert html.startswith(
        "<table><caption>SSO for community as of 2030-06-03: not_supported</caption>"
        "<thead><tr><th>rule</th><th>state</th><th>requirement</th><th>detail</th></tr></thead>"
        "<tbody><tr><td>SSO_NOT_WITH_STANDALONE</td><td>error</td><td></td><td>standalone "
        "does not support SSO: the vendor is not an identity provider</td></tr>"
        "<tr><td>SSO_NOT_WITH_STANDALONE</td><td>unmet</td><td>method allows SSO</td>"
    )


def test_sso_eligibility_repr_html_escapes() -> None:
    """Text from the tenant is escaped in the eligibility's HTML."""
    t = tenant({COMMUNITY: UPLOAD}, sso_setup=sso(EVIL))
    html = pv.sso_eligibility(t, as_of=AS_OF)._repr_html_()
    assert (ESCAPED in html, EVIL in html) == (True, False)


def test_migration_str() -> None:
    """A migration reads as its move and verdict, then its risks, then its problems."""
    move = pv.plan_migration(tenant({COMMUNITY: UPLOAD}, sso_setup=sso()), COMMUNITY, STANDALONE)
    assert str(move) == (
        "migrate community of acme: spreadsheet_upload -> standalone (blocked)\n"
        "  [warning] METHOD_CHANGE_IS_MIGRATION: moving community to standalone is a migration: "
        "plan it with the vendor; a changed record identifier risks lost SSO access, duplicate "
        "records, lost history and broken syncs\n"
        "  [warning] SSO_IDENTIFIER_MATCH: keep every LegacyContactKey equal to the identifier "
        "the IdP asserts, or SSO users are locked out\n"
        "  [warning] SSO_NOT_WITH_STANDALONE: standalone does not support SSO: users who sign in "
        "by SSO lose that access\n"
        "  [error] SSO_NOT_WITH_STANDALONE: SSO is set up, but community uses the standalone "
        "method, which does not support SSO"
    )


def test_migration_str_from_nothing() -> None:
    """A migration licensing a product reads as from not licensed, ok."""
    move = pv.plan_migration(tenant({COMMUNITY: UPLOAD}), MARKETING, UPLOAD)
    heading = "migrate marketing of acme: not licensed -> spreadsheet_upload (ok)"
    assert str(move).splitlines()[0] == heading


def test_migration_repr_html() -> None:
    """A migration renders its risks and problems as one HTML table."""
    move = pv.plan_migration(tenant({COMMUNITY: UPLOAD}), MARKETING, UPLOAD)
    assert move._repr_html_() == (
        "<table><caption>migrate marketing: not licensed -&gt; spreadsheet_upload</caption>"
        "<thead><tr><th>severity</th><th>rule</th><th>message</th></tr></thead><tbody>"
        "<tr><td>warning</td><td>METHOD_CHANGE_IS_MIGRATION</td><td>moving marketing to "
        "spreadsheet_upload is a migration: plan it with the vendor; a changed record "
        "identifier risks lost SSO access, duplicate records, lost history and broken syncs"
        "</td></tr><tr><td>warning</td><td>UPLOAD_SINGLE_SOURCE</td><td>from now on every "
        "change goes through a Super Admin&#x27;s upload; a first full import that misses "
        "existing users deactivates them</td></tr></tbody></table>"
    )


def test_migration_repr_html_escapes() -> None:
    """Text from the tenant is escaped in a migration's HTML."""
    move = pv.plan_migration(tenant({COMMUNITY: UPLOAD}, system="<ams>"), COMMUNITY, INTEGRATION)
    assert "&#x27;&lt;ams&gt;&#x27; is not in the rulebook" in move._repr_html_()


def small_table(option: SsoOption = DEFAULT_SSO_OPTIONS[1]) -> pv.rules.ScenarioTable:
    return pv.scenarios(
        products=[COMMUNITY],
        methods=[UPLOAD],
        sso_options=[option],
        systems=[None, "imis"],
        actions=[pv.Action.SSO_LOGIN, pv.Action.LOCAL_LOGIN],
        as_of=AS_OF,
    )


def test_scenario_table_str() -> None:
    """A scenario table reads as a count, then one line per scenario."""
    assert str(small_table()) == (
        "2 scenarios as of 2030-06-03\n"
        "  community/spreadsheet_upload/sso=saml_live/system=None: config ok, sso eligible, "
        "1 of 2 actions allowed\n"
        "  community/spreadsheet_upload/sso=saml_live/system=imis: config ok, sso eligible, "
        "1 of 2 actions allowed"
    )


def test_scenario_table_repr_html() -> None:
    """A scenario table renders one row per scenario and one column per decided action."""
    assert small_table()._repr_html_() == (
        "<table><caption>scenarios as of 2030-06-03</caption><thead><tr><th>product</th>"
        "<th>method</th><th>sso</th><th>system</th><th>config</th><th>sso status</th>"
        "<th>local_login</th><th>sso_login</th></tr></thead><tbody>"
        "<tr><td>community</td><td>spreadsheet_upload</td><td>saml_live</td><td></td><td>ok</td>"
        "<td>eligible</td><td>no</td><td>yes</td></tr>"
        "<tr><td>community</td><td>spreadsheet_upload</td><td>saml_live</td><td>imis</td>"
        "<td>ok</td><td>eligible</td><td>no</td><td>yes</td></tr></tbody></table>"
    )


def test_scenario_table_repr_html_shows_config_errors() -> None:
    """A scenario with configuration errors shows their rule ids instead of ok."""
    small = pv.scenarios(
        products=[MARKETING],
        methods=[STANDALONE],
        sso_options=DEFAULT_SSO_OPTIONS[:1],
        systems=[None],
        actions=[pv.Action.SSO_LOGIN],
        as_of=AS_OF,
    )
    assert "<td>STANDALONE_COMMUNITY_ONLY</td>" in small._repr_html_()


def test_scenario_table_repr_html_leaves_undecided_cells_empty() -> None:
    """A scenario missing an action the others decided gets an empty cell, not a shifted row."""
    full = small_table()
    only_sso = {pv.Action.SSO_LOGIN: full[1].decisions[pv.Action.SSO_LOGIN]}
    partial = attrs.evolve(full[1], decisions=only_sso)
    mixed = pv.rules.ScenarioTable(AS_OF, (full[0], partial))
    assert mixed._repr_html_().endswith(
        "<td>ok</td><td>eligible</td><td></td><td>yes</td></tr></tbody></table>"
    )


def test_scenario_table_repr_html_escapes() -> None:
    """An SSO option's name is escaped in the table's HTML."""
    html = small_table(SsoOption(EVIL, None))._repr_html_()
    assert (ESCAPED in html, EVIL in html) == (True, False)
