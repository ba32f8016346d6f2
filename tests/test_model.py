"""The model: tenants, SSO setups, records, actors, the catalog, exceptions and the rulebook."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import attrs
import pytest
from dateutil.relativedelta import relativedelta

import provisioning as pv
from provisioning.exceptions import (
    ConflictError,
    DocumentError,
    InvalidValueError,
    NotFoundError,
    ProvisioningError,
    RefusedError,
    RepositoryError,
    SafeguardError,
    SpreadsheetError,
)
from provisioning.records import email_key, is_valid_email, normalize_email
from provisioning.rules import RuleGroup, _book

COMMUNITY = pv.Product.COMMUNITY
MARKETING = pv.Product.MARKETING
STANDALONE = pv.ProvisioningMethod.STANDALONE
UPLOAD = pv.ProvisioningMethod.SPREADSHEET_UPLOAD
INTEGRATION = pv.ProvisioningMethod.STANDARD_INTEGRATION


def record(**changes: Any) -> pv.UserRecord:
    values: dict[str, Any] = {
        "legacy_contact_key": "1001",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "company_name": "Analytical Engines",
    }
    values.update(changes)
    return pv.UserRecord(**values)


def field_of(make: Any) -> str | None:
    """The field an InvalidValueError raised by ``make()`` names."""
    with pytest.raises(InvalidValueError) as info:
        make()
    return info.value.field


# -- Tenant --------------------------------------------------------------------------------


def test_tenant_trims_id_and_name() -> None:
    """A tenant's id and name are trimmed on construction."""
    t = pv.Tenant(id="  acme ", name=" Acme  ", products={})
    assert (t.id, t.name) == ("acme", "Acme")


@pytest.mark.parametrize("field", ["id", "name"])
def test_tenant_refuses_an_empty_id_or_name(field: str) -> None:
    """An empty (or blank) id or name is refused, naming the field."""
    values: dict[str, Any] = {"id": "acme", "name": "Acme", "products": {}, field: "  "}
    assert field_of(lambda: pv.Tenant(**values)) == field


def test_tenant_products_read_from_strings() -> None:
    """Products and methods may be given by value; they become enum members."""
    t = pv.Tenant(id="a", name="A", products={"community": "standalone", "marketing": UPLOAD})
    assert dict(t.products) == {COMMUNITY: STANDALONE, MARKETING: UPLOAD}


@pytest.mark.parametrize(
    ("products", "field", "message"),
    [
        (
            {"crm": "standalone"},
            "products",
            "products: 'crm' is not one of 'community', 'marketing'",
        ),
        (
            {"community": "sheet"},
            "products.community",
            (
                "products.community: 'sheet' is not one of 'standalone', 'spreadsheet_upload', "
                "'standard_integration'"
            ),
        ),
    ],
    ids=["unknown product", "unknown method"],
)
def test_tenant_refuses_unknown_products_and_methods(
    products: dict[str, str], field: str, message: str
) -> None:
    """An unknown product or method is refused, naming its path and the allowed values."""
    with pytest.raises(InvalidValueError) as info:
        pv.Tenant(id="a", name="A", products=products)
    assert (info.value.field, str(info.value)) == (field, message)


def test_methods_exclusive_by_construction() -> None:
    """METHODS_EXCLUSIVE: the same product named twice with two methods is refused."""
    twice: dict[pv.Product | str, pv.ProvisioningMethod | str] = {
        "community": "standalone",
        COMMUNITY: UPLOAD,
    }
    with pytest.raises(InvalidValueError) as info:
        pv.ProductMethods(twice)
    assert str(info.value) == (
        "products: community is given two methods, 'standalone' and 'spreadsheet_upload'; a "
        "product has exactly one"
    )


def test_same_product_twice_with_the_same_method_is_one_product() -> None:
    """Naming a product twice with the same method is harmless: one product, one method."""
    twice: dict[pv.Product | str, pv.ProvisioningMethod | str] = {
        "community": "standalone",
        COMMUNITY: STANDALONE,
    }
    methods = pv.ProductMethods(twice)
    assert dict(methods) == {COMMUNITY: STANDALONE}


@pytest.mark.parametrize(
    ("integration", "expected"),
    [(" imis ", "imis"), ("   ", None), ("", None), (None, None)],
    ids=["trimmed", "blank", "empty", "none"],
)
def test_tenant_integration_is_trimmed_and_blank_is_none(
    integration: str | None, expected: str | None
) -> None:
    """The integrated system id is trimmed; a blank one means no system."""
    t = pv.Tenant(id="a", name="A", products={}, integration=integration)
    assert t.integration == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, pv.AccountRequests()),
        ("auto_approve", pv.AccountRequests(policy=pv.AccountRequestPolicy.AUTO_APPROVE)),
        (
            pv.AccountRequests(policy="admin_approval", email_verification=True),
            pv.AccountRequests(
                policy=pv.AccountRequestPolicy.ADMIN_APPROVAL, email_verification=True
            ),
        ),
    ],
    ids=["none is disabled", "a policy by value", "a full setting"],
)
def test_tenant_account_requests(value: Any, expected: pv.AccountRequests) -> None:
    """Account requests are given as a setting, a policy value, or None (disabled)."""
    assert pv.Tenant(id="a", name="A", products={}, account_requests=value).account_requests == (
        expected
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"account_requests": "sometimes"}, "account_requests"),
        ({"marketing_edition": "basic"}, "marketing_edition"),
    ],
    ids=["account requests", "marketing edition"],
)
def test_tenant_refuses_unknown_values(changes: dict[str, Any], field: str) -> None:
    """An unknown account-request policy or marketing edition is refused, naming the field."""
    assert field_of(lambda: pv.Tenant(id="a", name="A", products={}, **changes)) == field


def test_tenant_defaults() -> None:
    """A tenant defaults to no SSO, no system, no upload yet, requests off, Enterprise."""
    t = pv.Tenant(id="a", name="A", products={})
    assert (
        t.sso,
        t.integration,
        t.initial_upload_done,
        t.account_requests.enabled,
        t.marketing_edition,
    ) == (None, None, False, False, pv.MarketingEdition.ENTERPRISE)


@pytest.mark.parametrize(
    ("product", "method", "licensed"),
    [(COMMUNITY, UPLOAD, True), (MARKETING, None, False)],
    ids=["licensed", "not licensed"],
)
def test_tenant_method_for_and_licenses(
    product: pv.Product, method: pv.ProvisioningMethod | None, licensed: bool
) -> None:
    """method_for gives the product's one method (None if unlicensed); licenses says which."""
    t = pv.Tenant(id="a", name="A", products={"community": "spreadsheet_upload"})
    assert (t.method_for(product), t.licenses(product)) == (method, licensed)


def test_with_method_replaces_the_one_method() -> None:
    """with_method returns a copy whose product has the new method; the original is unchanged."""
    t = pv.Tenant(id="a", name="A", products={"community": "standalone"})
    moved = t.with_method(COMMUNITY, INTEGRATION)
    assert (dict(moved.products), dict(t.products)) == (
        {COMMUNITY: INTEGRATION},
        {COMMUNITY: STANDALONE},
    )


def test_with_method_can_license_a_product() -> None:
    """with_method on an unlicensed product adds it."""
    t = pv.Tenant(id="a", name="A", products={"community": "standalone"})
    assert dict(t.with_method(MARKETING, UPLOAD).products) == {
        COMMUNITY: STANDALONE,
        MARKETING: UPLOAD,
    }


def test_equal_tenants_hash_equal() -> None:
    """Tenants are values: equal when built alike, with equal hashes."""
    one = pv.Tenant(
        id="a", name="A", products={"marketing": "spreadsheet_upload", "community": UPLOAD}
    )
    two = pv.Tenant(id="a", name="A", products={COMMUNITY: UPLOAD, MARKETING: UPLOAD})
    assert (one == two, hash(one) == hash(two)) == (True, True)


def test_tenant_is_frozen() -> None:
    """A tenant cannot be changed in place."""
    t = pv.Tenant(id="a", name="A", products={})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        t.name = "B"  # type: ignore[misc]


# -- ProductMethods ------------------------------------------------------------------------


def test_product_methods_equal_whatever_the_order() -> None:
    """Two mappings with the same products and methods are equal, with equal hashes."""
    one = pv.ProductMethods({MARKETING: UPLOAD, COMMUNITY: STANDALONE})
    two = pv.ProductMethods({"community": "standalone", "marketing": "spreadsheet_upload"})
    assert (one == two, hash(one) == hash(two)) == (True, True)


def test_product_methods_differ_by_method() -> None:
    """Mappings differing in one method are not equal."""
    assert pv.ProductMethods({COMMUNITY: STANDALONE}) != pv.ProductMethods({COMMUNITY: UPLOAD})


def test_product_methods_is_not_equal_to_a_plain_dict() -> None:
    """A ProductMethods only equals another ProductMethods."""
    assert pv.ProductMethods({COMMUNITY: STANDALONE}) != {COMMUNITY: STANDALONE}


def test_product_methods_iterate_in_product_order() -> None:
    """Products iterate in a stable order (by value), whatever the input order."""
    methods = pv.ProductMethods({MARKETING: UPLOAD, COMMUNITY: STANDALONE})
    assert (list(methods), len(methods)) == ([COMMUNITY, MARKETING], 2)


def test_product_methods_lookup() -> None:
    """A licensed product maps to its method; an unlicensed one is absent."""
    methods = pv.ProductMethods({COMMUNITY: STANDALONE})
    assert (
        methods[COMMUNITY],
        COMMUNITY in methods,
        MARKETING in methods,
        methods.get(MARKETING),
        methods.get(MARKETING, UPLOAD),
    ) == (STANDALONE, True, False, None, UPLOAD)


def test_product_methods_missing_product_raises_key_error() -> None:
    """Indexing an unlicensed product raises KeyError, as a mapping does."""
    with pytest.raises(KeyError):
        pv.ProductMethods({COMMUNITY: STANDALONE})[MARKETING]


def test_product_methods_repr() -> None:
    """The repr shows products and methods by value."""
    methods = pv.ProductMethods({MARKETING: UPLOAD, COMMUNITY: STANDALONE})
    assert repr(methods) == (
        "ProductMethods({'community': 'standalone', 'marketing': 'spreadsheet_upload'})"
    )


# -- SSO setup and account requests ---------------------------------------------------------


def test_sso_setup_reads_values() -> None:
    """An SSO setup takes the protocol by value and the identity provider by name, trimmed."""
    setup = pv.SsoSetup(
        protocol="openid_connect", identity_provider=" Acme AMS ", asserted_identifier=" sub "
    )
    assert (setup.protocol, setup.identity_provider, setup.asserted_identifier) == (
        pv.SsoProtocol.OPENID_CONNECT,
        pv.IdentityProvider(name="Acme AMS", hosted_by_vendor=False),
        "sub",
    )


def test_sso_setup_defaults() -> None:
    """By default the setup asserts NameID, unmatched, unsigned, with no go-live date."""
    setup = pv.SsoSetup(protocol="saml_2_0", identity_provider="X")
    assert (
        setup.asserted_identifier,
        setup.identifier_is_legacy_contact_key,
        setup.saml_signed,
        setup.go_live,
    ) == ("NameID", False, False, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"protocol": "saml"}, "protocol"),
        ({"identity_provider": "  "}, "name"),
        ({"asserted_identifier": " "}, "asserted_identifier"),
        ({"go_live": "2030-01-01"}, "go_live"),
        ({"go_live": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}, "go_live"),
    ],
    ids=[
        "unknown protocol",
        "blank identity provider",
        "blank asserted identifier",
        "go-live as text",
        "go-live with a time",
    ],
)
def test_sso_setup_refuses_invalid_values(changes: dict[str, Any], field: str) -> None:
    """An invalid SSO setup value is refused, naming the field."""
    values: dict[str, Any] = {"protocol": "saml_2_0", "identity_provider": "X", **changes}
    assert field_of(lambda: pv.SsoSetup(**values)) == field


@pytest.mark.parametrize(
    ("policy", "enabled"),
    [("disabled", False), ("auto_approve", True), ("admin_approval", True)],
)
def test_account_requests_enabled(policy: str, enabled: bool) -> None:
    """STANDALONE_ACCOUNT_REQUESTS: requests are taken unless the policy is disabled."""
    assert pv.AccountRequests(policy=policy).enabled is enabled


def test_account_requests_refuse_an_unknown_policy() -> None:
    """An unknown account-request policy is refused, naming the field."""
    assert field_of(lambda: pv.AccountRequests(policy="sometimes")) == "policy"


# -- UserRecord and Contact ----------------------------------------------------------------


def test_record_trims_required_fields() -> None:
    """The required fields are trimmed."""
    r = record(legacy_contact_key=" 1001 ", first_name=" Ada", last_name="Lovelace ")
    assert (r.legacy_contact_key, r.first_name, r.last_name) == ("1001", "Ada", "Lovelace")


def test_record_email_domain_is_lower_cased() -> None:
    """The email's domain is lower-cased; the local part keeps its case."""
    assert record(email=" Ada.L@Example.COM ").email == "Ada.L@example.com"


def test_record_email_key_ignores_case() -> None:
    """email_key compares emails case-insensitively."""
    assert record(email="Ada@Example.com").email_key == "ada@example.com"


def test_record_key_is_the_legacy_contact_key() -> None:
    """A record's key is its LegacyContactKey."""
    assert record(legacy_contact_key="A-7").key == "A-7"


@pytest.mark.parametrize("field", ["legacy_contact_key", "first_name", "last_name", "company_name"])
def test_record_refuses_a_blank_required_field(field: str) -> None:
    """A blank required field is refused, naming it."""
    assert field_of(lambda: record(**{field: "   "})) == field


@pytest.mark.parametrize(
    "email",
    ["ada", "ada@", "@example.com", "ada@example", "ada@@example.com", "a@" + "b" * 250 + ".com"],
    ids=["no at", "no domain", "no local part", "no top-level domain", "two ats", "too long"],
)
def test_record_refuses_an_invalid_email(email: str) -> None:
    """An invalid email is refused with the value shown."""
    with pytest.raises(InvalidValueError) as info:
        record(email=email)
    assert (info.value.field, str(info.value)) == (
        "email",
        f"email is not a valid email address: {email!r}",
    )


def test_record_optional_text_blank_is_none() -> None:
    """An optional text field that is blank becomes None; others are trimmed."""
    r = record(title="  ", city=" Paris ")
    assert (r.title, r.city) == (None, "Paris")


def test_record_refuses_a_date_with_a_time() -> None:
    """A date field refuses a datetime, naming the field."""
    with pytest.raises(InvalidValueError) as info:
        record(member_since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert str(info.value).startswith("member_since must be a date or None, got datetime")


def test_record_status_by_value() -> None:
    """A record's status is given by its value."""
    assert record(status="Pending Approval").status is pv.RecordStatus.PENDING_APPROVAL


def test_record_refuses_an_unknown_status() -> None:
    """An unknown status is refused, naming the field."""
    assert field_of(lambda: record(status="Gone")) == "status"


def test_record_custom_fields_are_a_hashable_mapping() -> None:
    """Custom columns are kept as an immutable mapping; records stay hashable."""
    one = record(custom={"Chapter": "North", "Tier": "Gold"})
    two = record(custom=pv.CustomFields({"Tier": "Gold", "Chapter": "North"}))
    assert (one == two, hash(one) == hash(two), one.custom["Tier"]) == (True, True, "Gold")


def test_custom_fields_equal_a_plain_mapping() -> None:
    """CustomFields equal a plain dict with the same items."""
    assert pv.CustomFields({"Tier": "Gold"}) == {"Tier": "Gold"}


def test_custom_fields_are_not_equal_to_other_things() -> None:
    """CustomFields are not equal to a non-mapping."""
    assert pv.CustomFields({"Tier": "Gold"}) != [("Tier", "Gold")]


def test_custom_fields_repr_len_iter() -> None:
    """CustomFields have a repr, a length and iterate their keys."""
    custom = pv.CustomFields({"Tier": "Gold"})
    assert (repr(custom), len(custom), list(custom)) == (
        "CustomFields({'Tier': 'Gold'})",
        1,
        ["Tier"],
    )


def test_contact_normalises_email_and_reads_subscription() -> None:
    """A contact's email domain is lower-cased; its subscription is given by value."""
    contact = pv.Contact(email="Bo@Example.ORG", subscription="opted_out", first_name=" ")
    assert (contact.email, contact.email_key, contact.subscription, contact.first_name) == (
        "Bo@example.org",
        "bo@example.org",
        pv.SubscriptionStatus.OPTED_OUT,
        None,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"email": "bo"}, "email"), ({"subscription": "maybe"}, "subscription")],
    ids=["invalid email", "unknown subscription"],
)
def test_contact_refuses_invalid_values(changes: dict[str, Any], field: str) -> None:
    """An invalid contact value is refused, naming the field."""
    values: dict[str, Any] = {"email": "bo@example.org", **changes}
    assert field_of(lambda: pv.Contact(**values)) == field


@pytest.mark.parametrize(
    ("value", "normalised"),
    [(" A@B.Co ", "A@b.co"), ("no-at-sign", "no-at-sign"), ("a@b@C.com", "a@b@c.com")],
    ids=["domain lower-cased", "no @ left alone", "last @ splits"],
)
def test_normalize_email(value: str, normalised: str) -> None:
    """normalize_email trims and lower-cases the domain after the last @."""
    assert normalize_email(value) == normalised


def test_email_key_function() -> None:
    """email_key trims and lower-cases the whole address."""
    assert email_key(" Ada@Example.com ") == "ada@example.com"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("ada@example.com", True),
        ("o'brien+tag@mail.example.co.uk", True),
        ("ada@xn--bcher-kva.example", True),
        ("ada.@example.com", False),
        ('"ada"@example.com', False),
        ("ada@[127.0.0.1]", False),
        ("ada@-example.com", False),
    ],
    ids=["plain", "atext and subdomains", "IDN label", "dot at end", "quoted", "IP", "hyphen"],
)
def test_is_valid_email(value: str, valid: bool) -> None:
    """The email rule: dot-atoms, DNS labels, an alphabetic top level; no quotes or IPs."""
    assert is_valid_email(value) is valid


# -- Actor ---------------------------------------------------------------------------------


def test_actor_reads_role_and_trims() -> None:
    """An actor's role is given by value; id and name are trimmed."""
    actor = pv.Actor(id=" sa-1 ", role="super_admin", name=" Sam ")
    assert (actor.id, actor.role, actor.name) == ("sa-1", pv.Role.SUPER_ADMIN, "Sam")


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"role": "boss"}, "role"), ({"id": "  "}, "id")],
    ids=["unknown role", "blank id"],
)
def test_actor_refuses_invalid_values(changes: dict[str, Any], field: str) -> None:
    """An invalid actor value is refused, naming the field."""
    values: dict[str, Any] = {"id": "a", "role": "member", **changes}
    assert field_of(lambda: pv.Actor(**values)) == field


@pytest.mark.parametrize("role", list(pv.Role), ids=str)
def test_only_the_integration_is_not_a_person(role: pv.Role) -> None:
    """Every role is held by a person except the integration."""
    assert role.is_person is (role is not pv.Role.INTEGRATION)


def test_enums_read_as_their_value() -> None:
    """Every enum's str is its value."""
    members = (
        pv.Product.COMMUNITY,
        pv.Action.SSO_LOGIN,
        pv.Support.UNKNOWN,
        pv.RecordStatus.PENDING_APPROVAL,
        RuleGroup.SSO,
        pv.Severity.ERROR,
    )
    assert [str(m) for m in members] == [
        "community",
        "sso_login",
        "unknown",
        "Pending Approval",
        "single sign-on",
        "error",
    ]


# -- IntegrationSystem and IntegrationCatalog -----------------------------------------------


@pytest.mark.parametrize("system_id", ["", "IMIS", " imis", "imis "], ids=repr)
def test_system_id_must_be_a_clean_lower_case_id(system_id: str) -> None:
    """A system id is non-empty, lower-case, without surrounding spaces."""
    assert field_of(lambda: pv.IntegrationSystem(id=system_id, name="X")) == "id"


def test_system_name_must_not_be_empty() -> None:
    """A system's name must not be empty."""
    assert field_of(lambda: pv.IntegrationSystem(id="x", name="")) == "name"


@pytest.mark.parametrize("field", ["confirmed", "denied"])
def test_system_refuses_unknown_capabilities(field: str) -> None:
    """An unknown capability is refused, naming the field it was given in."""
    values: dict[str, Any] = {"id": "x", "name": "X", field: ["teleport"]}
    assert field_of(lambda: pv.IntegrationSystem(**values)) == field


def test_system_capability_cannot_be_both_confirmed_and_denied() -> None:
    """A capability cannot be both confirmed and denied."""
    with pytest.raises(InvalidValueError) as info:
        pv.IntegrationSystem(id="x", name="X", confirmed={"sso"}, denied={"sso"})
    assert str(info.value) == (
        "integration system 'x': a capability cannot be both confirmed and denied (sso)"
    )


@pytest.mark.parametrize(
    ("capability", "support"),
    [
        (pv.Capability.SSO, pv.Support.YES),
        (pv.Capability.EVENTS, pv.Support.NO),
        (pv.Capability.ORGANIZATIONS, pv.Support.UNKNOWN),
    ],
    ids=["confirmed", "denied", "silent"],
)
def test_system_supports(capability: pv.Capability, support: pv.Support) -> None:
    """A capability is YES if confirmed, NO if denied, UNKNOWN otherwise (never assumed)."""
    system = pv.IntegrationSystem(id="x", name="X", confirmed={"sso"}, denied={"events"})
    assert system.supports(capability) is support


SSO_LISTED = {"imis", "salesforce", "personify", "membersuite", "impexium"}


@pytest.mark.parametrize("system", list(pv.DEFAULT_CATALOG), ids=lambda s: s.id)
def test_default_catalog_sso_as_the_sources_say(system: pv.IntegrationSystem) -> None:
    """SSO is YES for the five systems the sources list, NO for netFORUM Pro, else UNKNOWN."""
    expected = (
        pv.Support.YES
        if system.id in SSO_LISTED
        else pv.Support.NO
        if system.id == "netforum_pro"
        else pv.Support.UNKNOWN
    )
    assert system.supports(pv.Capability.SSO) is expected


def test_default_catalog_confirms_only_what_sources_say() -> None:
    """Every catalog system syncs the contact profile; nothing else is confirmed but SSO."""
    confirmed = {c for s in pv.DEFAULT_CATALOG for c in s.confirmed}
    assert confirmed == {pv.Capability.CONTACT_PROFILE, pv.Capability.SSO}


def test_default_catalog_lists_the_documented_systems() -> None:
    """The catalog holds the 16 systems the domain reference documents."""
    assert [s.id for s in pv.DEFAULT_CATALOG] == [
        "imis",
        "salesforce",
        "fonteva",
        "nimble_ams",
        "neoncrm",
        "netforum_enterprise",
        "netforum_pro",
        "personify",
        "membersuite",
        "yourmembership",
        "memberclicks",
        "impexium",
        "protech",
        "association_anywhere",
        "euclid_clearvantage",
        "dynamics_365",
    ]


def test_catalog_lookup() -> None:
    """A catalog looks systems up by id; get gives None for an unknown id."""
    catalog = pv.DEFAULT_CATALOG
    assert (
        catalog["imis"].name,
        catalog.get("imis") is catalog["imis"],
        catalog.get("acme_ams"),
        "imis" in catalog,
        "acme_ams" in catalog,
        len(catalog),
    ) == ("iMIS", True, None, True, False, 16)


def test_catalog_unknown_id_raises_not_found() -> None:
    """Looking up an unknown system raises NotFoundError naming the kind, key and known ids."""
    with pytest.raises(NotFoundError) as info:
        pv.DEFAULT_CATALOG["acme_ams"]
    assert (info.value.kind, info.value.key, str(info.value)) == (
        "integration system",
        "acme_ams",
        (
            "unknown integration system 'acme_ams'; known systems: association_anywhere, "
            "dynamics_365, euclid_clearvantage, fonteva, imis, impexium, memberclicks, "
            "membersuite, neoncrm, netforum_enterprise, netforum_pro, nimble_ams, personify, "
            "protech, salesforce, yourmembership"
        ),
    )


def test_catalog_not_found_is_a_lookup_error() -> None:
    """NotFoundError is a LookupError, as a caller expects of a failed lookup."""
    with pytest.raises(LookupError):
        pv.DEFAULT_CATALOG["acme_ams"]


def test_catalog_refuses_a_duplicate_id() -> None:
    """A catalog cannot list the same system id twice."""
    system = pv.IntegrationSystem(id="x", name="X")
    assert field_of(lambda: pv.IntegrationCatalog([system, system])) == "systems"


def test_with_systems_adds_a_system() -> None:
    """with_systems returns a catalog with the new system last; the original is unchanged."""
    added = pv.DEFAULT_CATALOG.with_systems(pv.IntegrationSystem(id="acme_ams", name="Acme"))
    assert (len(added), added.systems[-1].id, "acme_ams" in pv.DEFAULT_CATALOG) == (
        17,
        "acme_ams",
        False,
    )


def test_with_systems_replaces_a_system_with_the_same_id() -> None:
    """with_systems replaces a system that has the same id."""
    replaced = pv.DEFAULT_CATALOG.with_systems(pv.IntegrationSystem(id="imis", name="iMIS 2030"))
    assert (len(replaced), replaced["imis"].name) == (16, "iMIS 2030")


# -- Exceptions ----------------------------------------------------------------------------

ERRORS = [
    InvalidValueError("bad", field="id", rule="METHODS_EXCLUSIVE"),
    DocumentError("bad document", errors=("id: required key is missing",)),
    SpreadsheetError("bad file", code="encoding", line=3, column="EmailAddress"),
    NotFoundError("no such rule", kind="rule", key="NOPE"),
    RefusedError("refused", rules=("UPLOAD_SUPER_ADMIN_ONLY",)),
    SafeguardError("held", rules=("SAFEGUARD_EMPTY_FILE",)),
    ConflictError("moved", tenant_id="acme", expected=3, actual=4),
    RepositoryError("store failed"),
]

CONTEXT = {
    InvalidValueError: ("field", "rule"),
    DocumentError: ("errors",),
    SpreadsheetError: ("code", "line", "column"),
    NotFoundError: ("kind", "key"),
    RefusedError: ("rules",),
    SafeguardError: ("rules",),
    ConflictError: ("tenant_id", "expected", "actual"),
    RepositoryError: (),
}


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_exceptions_pickle_with_their_context(error: ProvisioningError) -> None:
    """Every error pickles and unpickles with its type, message and context attributes."""
    names = CONTEXT[type(error)]
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, round-tripped
    assert (type(copy), str(copy), [getattr(copy, n) for n in names]) == (
        type(error),
        str(error),
        [getattr(error, n) for n in names],
    )


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ERRORS[0], ValueError),
        (ERRORS[1], ValueError),
        (ERRORS[2], ValueError),
        (ERRORS[3], LookupError),
        (ERRORS[4], PermissionError),
        (ERRORS[5], PermissionError),
        (ERRORS[6], RuntimeError),
        (ERRORS[7], RuntimeError),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else type(v).__name__,
)
def test_exceptions_are_the_builtins_callers_catch(
    error: ProvisioningError, builtin: type[Exception]
) -> None:
    """Every error is a ProvisioningError and the builtin a caller would already catch."""
    assert (isinstance(error, ProvisioningError), isinstance(error, builtin)) == (True, True)


def test_document_error_is_an_invalid_value_error() -> None:
    """A DocumentError is an InvalidValueError, and a SafeguardError a RefusedError."""
    assert (isinstance(ERRORS[1], InvalidValueError), isinstance(ERRORS[5], RefusedError)) == (
        True,
        True,
    )


# -- RuleBook, rules and Settings ----------------------------------------------------------


def test_rulebook_rule_by_id() -> None:
    """RuleBook.rule returns the rule with that id, with its statement and source."""
    rule = pv.DEFAULT_RULEBOOK.rule("UPLOAD_SUPER_ADMIN_ONLY")
    assert (rule.group, rule.statement, rule.source, rule.ours) == (
        RuleGroup.PERMISSIONS,
        "Only a Super Admin may import, manage or update records by spreadsheet.",
        "seed: the vendor's help page on the three methods",
        False,
    )


def test_rulebook_unknown_rule_raises_not_found() -> None:
    """An unknown rule id raises NotFoundError of kind rule."""
    with pytest.raises(NotFoundError) as info:
        pv.DEFAULT_RULEBOOK.rule("NOPE")
    assert (info.value.kind, info.value.key, str(info.value)) == (
        "rule",
        "NOPE",
        "unknown rule id 'NOPE'",
    )


def test_rulebook_rules_are_the_catalog() -> None:
    """A rulebook's rules are every rule of the catalog, ids unique."""
    ids = [r.id for r in pv.DEFAULT_RULEBOOK.rules]
    assert (pv.DEFAULT_RULEBOOK.rules, len(ids)) == (pv.RULES, len(set(ids)))


@pytest.mark.parametrize("rule", [r for r in pv.RULES if r.ours], ids=lambda r: r.id)
def test_our_rules_say_so_in_their_source(rule: pv.Rule) -> None:
    """A rule marked ours says so in its source."""
    assert "ours" in rule.source


@pytest.mark.parametrize("rule", [r for r in pv.RULES if r.settings], ids=lambda r: r.id)
def test_rule_settings_are_settings_fields(rule: pv.Rule) -> None:
    """Every setting a rule names is a field of Settings, so a host can override it."""
    names = {f.name for f in attrs.fields(pv.Settings)}
    assert set(rule.settings) <= names


def test_rulebook_finding_carries_the_rules_source() -> None:
    """RuleBook.finding builds a finding carrying the rule's source."""
    finding = pv.DEFAULT_RULEBOOK.finding(pv.RuleId.SSO_LEAD_TIME, pv.Severity.INFO, "soon")
    assert finding == pv.Finding(
        pv.RuleId.SSO_LEAD_TIME, pv.Severity.INFO, "soon", "HL 4402952237844; the default is ours"
    )


def test_rulebook_findings_are_right_after_the_cache_starts_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Findings stay correct when the bounded finding cache fills up and starts over."""
    monkeypatch.setattr(_book, "_FINDINGS_LIMIT", 2)
    monkeypatch.setattr(_book, "_FINDINGS", {})
    book = pv.DEFAULT_RULEBOOK
    made = [book.finding(pv.RuleId.SSO_LEAD_TIME, pv.Severity.INFO, f"m{i}") for i in range(5)]
    assert (made[-1].message, len(_book._FINDINGS)) == ("m4", 1)


def test_with_settings_changes_a_copy() -> None:
    """with_settings returns a rulebook with changed settings; the original is unchanged."""
    book = pv.RuleBook().with_settings(local_login_with_sso=True)
    assert (book.settings.local_login_with_sso, pv.RuleBook().settings.local_login_with_sso) == (
        True,
        False,
    )


def test_with_systems_extends_a_copys_catalog() -> None:
    """with_systems returns a rulebook whose catalog has the host's system."""
    book = pv.RuleBook().with_systems(pv.IntegrationSystem(id="acme_ams", name="Acme"))
    assert ("acme_ams" in book.catalog, "acme_ams" in pv.DEFAULT_RULEBOOK.catalog) == (True, False)


def test_settings_defaults() -> None:
    """The defaults: 3 weeks' notice, SSO for community, Super and Site Admins manage users."""
    s = pv.Settings()
    assert (
        s.sso_lead_time,
        s.sso_products,
        s.user_admin_roles,
        s.local_login_with_sso,
        s.truncated_file_share,
        s.max_deactivation_share,
    ) == (
        relativedelta(weeks=3),
        frozenset({COMMUNITY}),
        frozenset({pv.Role.SUPER_ADMIN, pv.Role.SITE_ADMIN}),
        False,
        0.5,
        0.2,
    )


def test_settings_read_products_and_roles_by_value() -> None:
    """Settings take products and roles by value."""
    s = pv.Settings(sso_products=["marketing"], user_admin_roles=["community_admin"])
    assert (s.sso_products, s.user_admin_roles) == (
        frozenset({MARKETING}),
        frozenset({pv.Role.COMMUNITY_ADMIN}),
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"sso_lead_time": 21},
            "sso_lead_time",
            "sso_lead_time must be a dateutil relativedelta, got 21",
        ),
        (
            {"sso_lead_time": relativedelta(weeks=-1)},
            "sso_lead_time",
            "sso_lead_time must not be negative, got relativedelta(days=-7)",
        ),
        (
            {"sso_lead_time": relativedelta(hours=5)},
            "sso_lead_time",
            (
                "sso_lead_time must be whole years, months, weeks or days, got "
                "relativedelta(hours=+5)"
            ),
        ),
        (
            {"sso_lead_time": relativedelta(year=2031)},
            "sso_lead_time",
            (
                "sso_lead_time must be whole years, months, weeks or days, got "
                "relativedelta(year=2031)"
            ),
        ),
        (
            {"truncated_file_share": 1.5},
            "truncated_file_share",
            "truncated_file_share must be a share between 0 and 1, got 1.5",
        ),
        (
            {"max_deactivation_share": -0.1},
            "max_deactivation_share",
            "max_deactivation_share must be a share between 0 and 1, got -0.1",
        ),
        (
            {"sso_products": ["crm"]},
            "sso_products",
            "sso_products: 'crm' is not one of 'community', 'marketing'",
        ),
        (
            {"user_admin_roles": ["boss"]},
            "user_admin_roles",
            (
                "user_admin_roles: 'boss' is not one of 'super_admin', 'site_admin', "
                "'community_admin', 'community_moderator', 'volunteer_admin', 'member', "
                "'integration'"
            ),
        ),
    ],
    ids=[
        "lead time not a relativedelta",
        "negative lead time",
        "lead time in hours",
        "lead time as an absolute date",
        "share above 1",
        "share below 0",
        "unknown product",
        "unknown role",
    ],
)
def test_settings_refuse_invalid_values(changes: dict[str, Any], field: str, message: str) -> None:
    """Invalid settings are refused, naming the field, what was expected and what came."""
    with pytest.raises(InvalidValueError) as info:
        pv.Settings(**changes)
    assert (info.value.field, str(info.value)) == (field, message)


@pytest.mark.parametrize("share", [0.0, 1.0], ids=["zero", "one"])
def test_settings_shares_may_be_the_bounds(share: float) -> None:
    """A share of exactly 0 or 1 is allowed."""
    assert pv.Settings(max_deactivation_share=share).max_deactivation_share == share


def test_zero_lead_time_is_allowed() -> None:
    """A rulebook may ask no notice at all."""
    assert pv.Settings(sso_lead_time=relativedelta()).sso_lead_time == relativedelta()


def test_with_settings_validates() -> None:
    """with_settings validates the changed settings like the constructor."""
    with pytest.raises(InvalidValueError):
        pv.RuleBook().with_settings(max_deactivation_share=2.0)


@pytest.mark.parametrize(
    ("product", "methods"),
    [(COMMUNITY, (STANDALONE, UPLOAD, INTEGRATION)), (MARKETING, (UPLOAD,))],
    ids=["community", "marketing"],
)
def test_applicable_methods(
    product: pv.Product, methods: tuple[pv.ProvisioningMethod, ...]
) -> None:
    """STANDALONE_COMMUNITY_ONLY, UPLOAD_COMMUNITY_OR_MARKETING, INTEGRATION_COMMUNITY_ONLY."""
    assert pv.applicable_methods(product) == methods
