"""Tenants, settings and rulebooks to and from dicts, JSON and TOML; every error with its path."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import cattrs
import pytest
from dateutil.relativedelta import relativedelta

import provisioning as pv
from provisioning.serialization import (
    make_converter,
    rulebook_from_dict,
    rulebook_from_toml,
    rulebook_to_dict,
    settings_from_dict,
    settings_to_dict,
    tenant_from_dict,
    tenant_from_json,
    tenant_from_toml,
    tenant_to_dict,
    tenant_to_json,
)

COMMUNITY = pv.Product.COMMUNITY
MARKETING = pv.Product.MARKETING

FULL = pv.Tenant(
    id="acme",
    name="Acme Association",
    products={"community": "standard_integration", "marketing": "spreadsheet_upload"},
    sso=pv.SsoSetup(
        protocol="saml_2_0",
        identity_provider=pv.IdentityProvider(name="Acme AMS", hosted_by_vendor=False),
        asserted_identifier="NameID",
        identifier_is_legacy_contact_key=True,
        saml_signed=True,
        go_live=dt.date(2030, 7, 1),
    ),
    integration="imis",
    initial_upload_done=True,
    account_requests=pv.AccountRequests(policy="admin_approval", email_verification=True),
    marketing_edition="professional",
    integration_key="user_name",
)

FULL_DICT: dict[str, Any] = {
    "id": "acme",
    "name": "Acme Association",
    "products": {"community": "standard_integration", "marketing": "spreadsheet_upload"},
    "sso": {
        "protocol": "saml_2_0",
        "identity_provider": {"name": "Acme AMS", "hosted_by_vendor": False},
        "asserted_identifier": "NameID",
        "identifier_is_legacy_contact_key": True,
        "saml_signed": True,
        "go_live": "2030-07-01",
        "requested_on": None,
    },
    "integration": "imis",
    "initial_upload_done": True,
    "account_requests": {"policy": "admin_approval", "email_verification": True},
    "marketing_edition": "professional",
    "marketing_key": "email",
    "integration_key": "user_name",
}

TENANTS = [
    pv.Tenant(id="club", name="Club", products={"community": "standalone"}),
    pv.Tenant(id="empty", name="Nothing licensed", products={}),
    pv.Tenant(
        id="vendor-idp",
        name="Vendor IdP",
        products={"community": "spreadsheet_upload"},
        sso=pv.SsoSetup(
            protocol="cas",
            identity_provider=pv.IdentityProvider(name="Vendor", hosted_by_vendor=True),
        ),
    ),
    FULL,
]
TENANT_IDS = ["standalone", "no products", "SSO without go-live", "everything set"]


def problems(load: Any, document: Any) -> tuple[str, ...]:
    """The errors a loader reports for ``document``."""
    with pytest.raises(pv.DocumentError) as info:
        load(document)
    return info.value.errors


def minimal(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "acme",
        "name": "Acme",
        "products": {"community": "spreadsheet_upload"},
    }
    document.update(changes)
    return document


# -- tenants -------------------------------------------------------------------------------


def test_tenant_to_dict_is_plain_data() -> None:
    """A tenant becomes plain data: enums by value, dates in ISO 8601."""
    assert tenant_to_dict(FULL) == FULL_DICT


def test_tenant_from_dict_builds_the_tenant() -> None:
    """Plain data builds the tenant it describes."""
    assert tenant_from_dict(FULL_DICT) == FULL


@pytest.mark.parametrize("tenant", TENANTS, ids=TENANT_IDS)
def test_tenant_dict_round_trip(tenant: pv.Tenant) -> None:
    """tenant_from_dict(tenant_to_dict(t)) == t."""
    assert tenant_from_dict(tenant_to_dict(tenant)) == tenant


@pytest.mark.parametrize("tenant", TENANTS, ids=TENANT_IDS)
def test_tenant_json_round_trip(tenant: pv.Tenant) -> None:
    """tenant_from_json(tenant_to_json(t)) == t."""
    assert tenant_from_json(tenant_to_json(tenant)) == tenant


def test_tenant_json_is_sorted_and_indented() -> None:
    """JSON output has sorted keys and a two-space indent by default."""
    text = tenant_to_json(TENANTS[1])
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True)


def test_tenant_json_can_be_compact() -> None:
    """indent=None gives one line."""
    assert "\n" not in tenant_to_json(FULL, indent=None)


def test_minimal_document_takes_the_defaults() -> None:
    """Keys left out take the tenant's defaults."""
    assert tenant_from_dict(minimal()) == pv.Tenant(
        id="acme", name="Acme", products={"community": "spreadsheet_upload"}
    )


FULL_TOML = """
id = "acme"
name = "Acme Association"
integration = "imis"
initial_upload_done = true
marketing_edition = "professional"
integration_key = "user_name"

[products]
community = "standard_integration"
marketing = "spreadsheet_upload"

[sso]
protocol = "saml_2_0"
identity_provider = { name = "Acme AMS", hosted_by_vendor = false }
asserted_identifier = "NameID"
identifier_is_legacy_contact_key = true
saml_signed = true
go_live = 2030-07-01

[account_requests]
policy = "admin_approval"
email_verification = true
"""


def test_tenant_from_toml() -> None:
    """A TOML document, with a native TOML date, loads the same tenant as its dict."""
    assert tenant_from_toml(FULL_TOML) == FULL


def test_tenant_from_toml_takes_the_idp_by_name() -> None:
    """In a document the identity provider may be just its name."""
    text = FULL_TOML.replace(
        'identity_provider = { name = "Acme AMS", hosted_by_vendor = false }',
        'identity_provider = "Acme AMS"',
    )
    assert tenant_from_toml(text) == FULL


def test_tenant_date_may_be_iso_text() -> None:
    """A go-live date may be ISO 8601 text."""
    document = minimal(
        sso={"protocol": "oauth_2_0", "identity_provider": "X", "go_live": "2031-02-28"}
    )
    tenant = tenant_from_dict(document)
    assert tenant.sso is not None
    assert tenant.sso.go_live == dt.date(2031, 2, 28)


# -- tenant errors -------------------------------------------------------------------------


def test_every_problem_of_a_document_is_reported_together() -> None:
    """All problems of a document are reported at once, each at its path."""
    document = {
        "name": 5,
        "products": {"community": "spreadsheet", "crm": "standalone"},
        "sso": {
            "protocol": "saml",
            "identity_provider": {"nm": "x"},
            "go_live": "2030-13-01",
            "colour": 1,
        },
        "initial_upload_done": "yes",
        "account_requests": {"policy": "sometimes", "extra": 1},
        "marketing_edition": "basic",
    }
    assert problems(tenant_from_dict, document) == (
        "id: required key is missing",
        "name: expected a string, got 5",
        (
            "products.community: 'spreadsheet' is not one of 'standalone', 'spreadsheet_upload', "
            "'standard_integration'"
        ),
        "products.crm: unknown product; 'crm' is not one of 'community', 'marketing'",
        (
            "sso.protocol: 'saml' is not one of 'saml_2_0', 'oauth_2_0', 'openid_connect', "
            "'saml_1_1', 'ws_federation', 'cas'"
        ),
        "sso.identity_provider.nm: unknown key; allowed keys: hosted_by_vendor, name",
        "sso.go_live: '2030-13-01' is not an ISO 8601 date (YYYY-MM-DD)",
        (
            "sso.colour: unknown key; allowed keys: asserted_identifier, go_live, "
            "identifier_is_legacy_contact_key, identity_provider, protocol, requested_on, "
            "saml_signed"
        ),
        "initial_upload_done: expected true or false, got 'yes'",
        (
            "account_requests.policy: 'sometimes' is not one of 'disabled', 'auto_approve', "
            "'admin_approval'"
        ),
        "account_requests.extra: unknown key; allowed keys: email_verification, policy",
        "marketing_edition: 'basic' is not one of 'enterprise', 'professional'",
    )


def test_error_message_counts_and_lists_the_problems() -> None:
    """The DocumentError's message counts the problems and lists each on its own line."""
    with pytest.raises(pv.DocumentError) as info:
        tenant_from_dict(minimal(colour="red", initial_upload_done=1))
    assert str(info.value) == (
        "tenant document has 2 problems:\n"
        "  initial_upload_done: expected true or false, got 1\n"
        "  colour: unknown key; allowed keys: account_requests, id, initial_upload_done, "
        "integration, integration_key, marketing_edition, marketing_key, name, products, sso"
    )


def test_error_message_for_one_problem() -> None:
    """One problem is one problem, not "1 problems"."""
    with pytest.raises(pv.DocumentError) as info:
        tenant_from_dict(minimal(products={"community": "spreadsheet"}))
    assert str(info.value).splitlines()[0] == "tenant document has 1 problem:"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"colour": "red"},
            (
                "colour: unknown key; allowed keys: account_requests, id, initial_upload_done, "
                "integration, integration_key, marketing_edition, marketing_key, name, "
                "products, sso"
            ),
        ),
        (
            {"account_requests": {"policy": "disabled", "verify": True}},
            "account_requests.verify: unknown key; allowed keys: email_verification, policy",
        ),
        (
            {"sso": {"protocol": "saml_2_0", "identity_provider": {"name": "X", "url": "u"}}},
            "sso.identity_provider.url: unknown key; allowed keys: hosted_by_vendor, name",
        ),
    ],
    ids=["top level", "account requests", "identity provider"],
)
def test_unknown_keys_are_refused(changes: dict[str, Any], error: str) -> None:
    """An unknown key is refused at any depth, naming the allowed keys."""
    assert problems(tenant_from_dict, minimal(**changes)) == (error,)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"products": ["community"]},
            "products: expected a table of product = method, got ['community']",
        ),
        ({"id": "  "}, "id: must not be empty"),
        ({"id": 7}, "id: expected a string, got 7"),
        (
            {"sso": {"protocol": "saml_2_0", "identity_provider": 5}},
            "sso.identity_provider: expected a name or a table, got 5",
        ),
        (
            {"sso": {"protocol": "saml_2_0", "identity_provider": {"hosted_by_vendor": True}}},
            "sso.identity_provider.name: required key is missing",
        ),
        (
            {"sso": {"protocol": "saml_2_0", "identity_provider": {"name": 5}}},
            "sso.identity_provider.name: expected a string, got 5",
        ),
        (
            {"sso": {"protocol": "saml_2_0", "identity_provider": {"name": " "}}},
            "sso.identity_provider.name: must not be empty",
        ),
        (
            {
                "sso": {
                    "protocol": "saml_2_0",
                    "identity_provider": {"name": "X", "hosted_by_vendor": "no"},
                }
            },
            "sso.identity_provider.hosted_by_vendor: expected true or false, got 'no'",
        ),
        (
            {"sso": {"protocol": "saml_2_0", "identity_provider": "X", "go_live": 20300701}},
            "sso.go_live: expected an ISO 8601 date, got 20300701",
        ),
        (
            {
                "sso": {
                    "protocol": "saml_2_0",
                    "identity_provider": "X",
                    "go_live": dt.datetime(2030, 7, 1, 9, 0, tzinfo=dt.UTC),
                }
            },
            "sso.go_live: expected a date, got a date and time '2030-07-01T09:00:00+00:00'",
        ),
        (
            {"sso": {"protocol": "saml_2_0", "identity_provider": "X", "go_live": "01/07/2030"}},
            "sso.go_live: '01/07/2030' is not an ISO 8601 date (YYYY-MM-DD)",
        ),
        ({"sso": {"identity_provider": "X"}}, "sso.protocol: required key is missing"),
    ],
    ids=[
        "products not a table",
        "blank id",
        "id not text",
        "identity provider neither name nor table",
        "identity provider without a name",
        "identity provider name not text",
        "identity provider name blank",
        "hosted_by_vendor not a boolean",
        "go-live a number",
        "go-live with a time",
        "go-live not ISO",
        "sso without protocol",
    ],
)
def test_tenant_problem_at_its_path(changes: dict[str, Any], error: str) -> None:
    """Each kind of problem is reported at its path, saying what was expected and what came."""
    assert problems(tenant_from_dict, minimal(**changes)) == (error,)


def test_document_must_be_a_table() -> None:
    """A document that is not a table of keys is refused as a whole."""
    with pytest.raises(pv.DocumentError) as info:
        tenant_from_dict([1])  # type: ignore[arg-type]
    assert (str(info.value), info.value.errors) == (
        "tenant document must be a table of keys, got list",
        ("expected a table, got [1]",),
    )


def test_malformed_json() -> None:
    """Malformed JSON is a DocumentError giving the line and column."""
    with pytest.raises(pv.DocumentError) as info:
        tenant_from_json('{"id": "acme",\n "name": }')
    assert (str(info.value), info.value.errors) == (
        "tenant JSON is malformed: Expecting value at line 2, column 10",
        ("line 2, column 10: Expecting value",),
    )


def test_malformed_toml() -> None:
    """Malformed TOML is a DocumentError with the parser's message."""
    with pytest.raises(pv.DocumentError) as info:
        tenant_from_toml('id = "acme"\nname = \n')
    assert (str(info.value), info.value.errors) == (
        "tenant TOML is malformed: Invalid value (at line 2, column 8)",
        ("Invalid value (at line 2, column 8)",),
    )


def test_document_error_is_a_value_error() -> None:
    """A DocumentError is an InvalidValueError and a ValueError."""
    with pytest.raises(ValueError, match="tenant document has 1 problem"):
        tenant_from_dict(minimal(colour="red"))


# -- settings ----------------------------------------------------------------------------


def test_default_settings_to_dict() -> None:
    """Default settings as plain data: the lead time as a table, sets as sorted lists."""
    assert settings_to_dict(pv.Settings()) == {
        "sso_lead_time": {"weeks": 3},
        "sso_products": ["community"],
        "user_admin_roles": ["site_admin", "super_admin"],
        "local_login_with_sso": False,
        "truncated_file_share": 0.5,
        "max_deactivation_share": 0.2,
        "marketing_full_unsubscribes": False,
    }


@pytest.mark.parametrize(
    ("period", "table"),
    [
        (relativedelta(weeks=10), {"weeks": 10}),
        (relativedelta(days=10), {"days": 10}),
        (relativedelta(months=1), {"months": 1}),
        (relativedelta(years=1, months=2, days=3), {"years": 1, "months": 2, "days": 3}),
        (relativedelta(), {}),
    ],
    ids=["weeks", "days", "months", "mixed", "no notice"],
)
def test_lead_time_round_trips(period: relativedelta, table: dict[str, int]) -> None:
    """The lead time is written as a table of units and read back equal."""
    settings = pv.Settings(sso_lead_time=period)
    data = settings_to_dict(settings)
    assert (data["sso_lead_time"], settings_from_dict(data)) == (table, settings)


def test_settings_round_trip() -> None:
    """settings_from_dict(settings_to_dict(s)) == s for changed settings."""
    settings = pv.Settings(
        sso_lead_time=relativedelta(weeks=10),
        sso_products={COMMUNITY, MARKETING},
        user_admin_roles={pv.Role.SUPER_ADMIN},
        local_login_with_sso=True,
        truncated_file_share=0.25,
        max_deactivation_share=0.1,
    )
    assert settings_from_dict(settings_to_dict(settings)) == settings


def test_settings_keys_left_out_keep_their_defaults() -> None:
    """A settings document may give only the keys it changes."""
    assert settings_from_dict({"local_login_with_sso": True}) == pv.Settings(
        local_login_with_sso=True
    )


def test_settings_take_whole_numbers_as_shares() -> None:
    """A share may be written as a whole number."""
    assert settings_from_dict({"max_deactivation_share": 1}).max_deactivation_share == 1.0


def test_every_settings_problem_is_reported_together() -> None:
    """All problems of a settings document are reported at once, each at its path."""
    document = {
        "sso_lead_time": {"hours": 5, "weeks": 1.5},
        "sso_products": ["community", "crm"],
        "user_admin_roles": "super_admin",
        "max_deactivation_share": True,
        "truncated_file_share": "0.2",
        "local_login_with_sso": 1,
        "x": 2,
    }
    assert problems(settings_from_dict, document) == (
        "sso_lead_time.hours: unknown unit; allowed units: years, months, weeks, days",
        "sso_lead_time.weeks: expected a whole number, got 1.5",
        "sso_products[1]: 'crm' is not one of 'community', 'marketing'",
        "user_admin_roles: expected a list, got 'super_admin'",
        "local_login_with_sso: expected true or false, got 1",
        "truncated_file_share: expected a number, got '0.2'",
        "max_deactivation_share: expected a number, got True",
        (
            "x: unknown key; allowed keys: local_login_with_sso, marketing_full_unsubscribes, "
            "max_deactivation_share, "
            "sso_lead_time, sso_products, truncated_file_share, user_admin_roles"
        ),
    )


@pytest.mark.parametrize(
    ("document", "error"),
    [
        (
            {"sso_lead_time": 21},
            "sso_lead_time: expected a table of years, months, weeks, days, got 21",
        ),
        (
            {"sso_lead_time": {"weeks": -3}},
            "sso_lead_time: must not be negative, got relativedelta(days=-21)",
        ),
        (
            {"max_deactivation_share": 3},
            "max_deactivation_share: must be a share between 0 and 1, got 3.0",
        ),
        (
            {"sso_lead_time": {"weeks": True}},
            "sso_lead_time.weeks: expected a whole number, got True",
        ),
    ],
    ids=["lead time not a table", "negative lead time", "share above 1", "a boolean amount"],
)
def test_settings_problem_at_its_path(document: dict[str, Any], error: str) -> None:
    """A settings value the Settings class refuses is reported at its path."""
    assert problems(settings_from_dict, document) == (error,)


# -- rulebooks -----------------------------------------------------------------------------

ACME_AMS = pv.IntegrationSystem(
    id="acme_ams",
    name="Acme AMS",
    confirmed={"contact_profile", "sso"},
    denied={"events"},
    source="the host's own contract",
    notes="v2 API",
)


def test_rulebook_round_trip_with_a_host_system() -> None:
    """A rulebook with changed settings and a host system round-trips through a dict."""
    book = pv.RuleBook().with_settings(local_login_with_sso=True).with_systems(ACME_AMS)
    assert rulebook_from_dict(rulebook_to_dict(book)) == book


def test_rulebook_round_trip_with_a_replaced_system() -> None:
    """A rulebook whose host replaced a catalog system round-trips through a dict."""
    book = pv.RuleBook().with_systems(pv.IntegrationSystem(id="imis", name="iMIS", denied={"sso"}))
    assert rulebook_from_dict(rulebook_to_dict(book)) == book


def test_rulebook_to_dict_lists_settings_and_every_system() -> None:
    """A rulebook as data: its settings and its whole catalog, host systems included."""
    data = rulebook_to_dict(pv.RuleBook().with_systems(ACME_AMS))
    assert (len(data["systems"]), data["systems"][-1]) == (
        17,
        {
            "id": "acme_ams",
            "name": "Acme AMS",
            "confirmed": ["contact_profile", "sso"],
            "denied": ["events"],
            "source": "the host's own contract",
            "notes": "v2 API",
        },
    )


def test_rulebook_systems_extend_the_default_catalog() -> None:
    """Systems in a rulebook document are added to the vendor's catalog."""
    book = rulebook_from_dict({"systems": [{"id": "acme_ams", "name": "Acme AMS"}]})
    assert (len(book.catalog), book.catalog["acme_ams"].name, book.settings) == (
        17,
        "Acme AMS",
        pv.Settings(),
    )


def test_rulebook_systems_extend_the_given_base() -> None:
    """With a base, a rulebook document extends the base's catalog."""
    base = pv.RuleBook().with_systems(ACME_AMS)
    book = rulebook_from_dict({"systems": [{"id": "other_ams", "name": "Other"}]}, base=base)
    assert ("acme_ams" in book.catalog, "other_ams" in book.catalog) == (True, True)


RULEBOOK_TOML = """
[settings]
sso_lead_time = { weeks = 10 }
local_login_with_sso = true

[[systems]]
id = "acme_ams"
name = "Acme AMS"
confirmed = ["contact_profile", "sso"]
denied = ["events"]
source = "the host's own contract"
notes = "v2 API"
"""


def test_rulebook_from_toml() -> None:
    """A TOML rulebook with [settings] and [[systems]] loads the rulebook it describes."""
    expected = (
        pv.RuleBook()
        .with_settings(sso_lead_time=relativedelta(weeks=10), local_login_with_sso=True)
        .with_systems(ACME_AMS)
    )
    assert rulebook_from_toml(RULEBOOK_TOML) == expected


def test_rulebook_from_toml_decides_with_the_host_system() -> None:
    """A host system loaded from TOML makes SSO eligible for a tenant integrated with it."""
    tenant = pv.Tenant(
        id="acme",
        name="Acme",
        products={"community": "standard_integration"},
        integration="acme_ams",
        sso=pv.SsoSetup(
            protocol="saml_2_0",
            identity_provider="Acme AMS",
            identifier_is_legacy_contact_key=True,
            saml_signed=True,
            go_live=dt.date(2030, 1, 1),
        ),
    )
    book = rulebook_from_toml(RULEBOOK_TOML)
    assert pv.sso_eligibility(tenant, as_of=dt.date(2030, 6, 3), rulebook=book).eligible


def test_every_rulebook_problem_is_reported_together() -> None:
    """All problems of a rulebook document are reported at once, each at its path."""
    document = {
        "settings": {"x": 1},
        "systems": [
            {"id": "A", "name": "x"},
            {"id": "b"},
            {"id": "c", "name": "C", "confirmed": ["teleport"]},
            {"id": "d", "name": "D", "confirmed": ["sso"], "denied": ["sso"]},
        ],
        "y": 2,
    }
    assert problems(rulebook_from_dict, document) == (
        (
            "settings.x: unknown key; allowed keys: local_login_with_sso, "
            "marketing_full_unsubscribes, max_deactivation_share, "
            "sso_lead_time, sso_products, truncated_file_share, user_admin_roles"
        ),
        "systems[0].id: must be a non-empty lower-case id without surrounding spaces, got 'A'",
        "systems[1].name: required key is missing",
        (
            "systems[2].confirmed[0]: 'teleport' is not one of 'contact_profile', 'organizations', "
            "'custom_demographics', 'security_groups', 'communities', 'events', 'sso'"
        ),
        (
            "systems[3].denied: integration system 'd': a capability cannot be both confirmed and "
            "denied (sso)"
        ),
        "y: unknown key; allowed keys: settings, systems",
    )


def test_malformed_rulebook_toml() -> None:
    """Malformed rulebook TOML is a DocumentError naming the rulebook."""
    with pytest.raises(pv.DocumentError, match=r"^rulebook TOML is malformed: "):
        rulebook_from_toml("[settings\n")


# -- the converter -------------------------------------------------------------------------


def test_converter_is_the_librarys_own() -> None:
    """make_converter builds a new converter each time, never cattrs' global one."""
    one, two = make_converter(), make_converter()
    assert (one is two, one is cattrs.global_converter) == (False, False)


def test_converter_structures_tenants() -> None:
    """The converter structures a tenant from plain data."""
    assert make_converter().structure(FULL_DICT, pv.Tenant) == FULL


def test_converter_takes_enum_members_as_they_are() -> None:
    """A document built in Python may hold enum members instead of their values."""
    document = minimal(marketing_edition=pv.MarketingEdition.PROFESSIONAL)
    assert tenant_from_dict(document).marketing_edition is pv.MarketingEdition.PROFESSIONAL


def test_converter_round_trips_a_record_with_custom_fields() -> None:
    """The converter round-trips a user record, its custom columns and dates."""
    converter = make_converter()
    record = pv.UserRecord(
        legacy_contact_key="1001",
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        company_name="Analytical Engines",
        member_since=dt.date(2020, 1, 1),
        custom={"Chapter": "North"},
    )
    assert converter.structure(converter.unstructure(record), pv.UserRecord) == record


def test_converter_refuses_custom_fields_that_are_not_text() -> None:
    """Custom columns must be a table of text values."""
    converter = make_converter()
    data = {
        "legacy_contact_key": "1001",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "company_name": "Analytical Engines",
        "custom": {"Tier": 3},
    }
    with pytest.raises(cattrs.ClassValidationError):
        converter.structure(data, pv.UserRecord)


def test_json_with_a_repeated_key_is_refused() -> None:
    """A product named twice in JSON is refused, not resolved to the last (METHODS_EXCLUSIVE)."""
    text = (
        '{"id": "acme", "name": "Acme", '
        '"products": {"community": "standalone", "community": "spreadsheet_upload"}}'
    )
    with pytest.raises(pv.DocumentError) as caught:
        tenant_from_json(text)
    assert caught.value.errors == ("key 'community' appears twice in one object",)


def test_an_unknown_integration_key_is_named() -> None:
    """``integration_key`` takes ``external_id`` or ``user_name``; anything else is named."""
    with pytest.raises(pv.DocumentError) as info:
        tenant_from_dict(minimal(integration_key="email"))
    assert "integration_key" in str(info.value)
    assert "external_id" in str(info.value)
