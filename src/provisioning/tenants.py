"""Tenants: which products a customer licenses, by which method, and their SSO setup.

``METHODS_EXCLUSIVE`` holds by construction: :attr:`Tenant.products` maps each licensed
product to exactly one method, so a second method for the same product cannot be
expressed.

>>> from provisioning import Tenant, Product, ProvisioningMethod
>>> acme = Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
>>> acme.method_for(Product.COMMUNITY)
<ProvisioningMethod.SPREADSHEET_UPLOAD: 'spreadsheet_upload'>
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar, overload

import attrs

from ._enum import ValueEnum
from ._frozen import FrozenMap
from ._validators import identifier, is_bool, text, to_enum
from .catalog import MarketingEdition, Product, ProvisioningMethod
from .exceptions import InvalidValueError
from .records import ContactKey

_T = TypeVar("_T")

__all__ = [
    "AccountRequestPolicy",
    "AccountRequests",
    "IdentityProvider",
    "IntegrationKey",
    "ProductMethods",
    "SsoProtocol",
    "SsoSetup",
    "Tenant",
]


class SsoProtocol(ValueEnum):
    """A single sign-on protocol. Which ones the vendor supports is ``SSO_PROTOCOLS``."""

    SAML_2_0 = "saml_2_0"
    OAUTH_2_0 = "oauth_2_0"
    OPENID_CONNECT = "openid_connect"
    #: Not supported by the vendor; listed so a tenant asking for it can be told so.
    SAML_1_1 = "saml_1_1"
    #: Not supported by the vendor.
    WS_FEDERATION = "ws_federation"
    #: Not supported by the vendor.
    CAS = "cas"


class IntegrationKey(ValueEnum):
    """Which identifier an integration sends keys the tenant's records (their
    LegacyContactKey). With SSO, the key must be what the identity provider asserts
    (``SSO_IDENTIFIER_MATCH``), so the tenant says which one that is.

    >>> from provisioning import Tenant
    >>> Tenant(id="summit", name="Summit", products={"community": "standard_integration"},
    ...        integration_key="user_name").integration_key
    <IntegrationKey.USER_NAME: 'user_name'>
    """

    #: The authority's own id for the person (SCIM ``externalId``), else the login.
    EXTERNAL_ID = "external_id"
    #: The login the identity provider asserts (SCIM ``userName``), always.
    USER_NAME = "user_name"


class AccountRequestPolicy(ValueEnum):
    """How a standalone site handles account requests (``STANDALONE_ACCOUNT_REQUESTS``)."""

    DISABLED = "disabled"
    AUTO_APPROVE = "auto_approve"
    ADMIN_APPROVAL = "admin_approval"


_check_name = text("name", file=False)
_check_asserted_identifier = text("asserted_identifier", file=False)
_check_id = identifier("id")


def _name(value: str) -> str:
    return _check_name(value)


def _asserted_identifier(value: str) -> str:
    return _check_asserted_identifier(value)


def _id(value: str) -> str:
    return _check_id(value)


@attrs.frozen(kw_only=True)
class IdentityProvider:
    """The system that authenticates users for SSO.

    ``SSO_EXTERNAL_IDP``: the customer's system (AMS/CRM or an app near it) is the
    identity provider; the vendor is only the service provider. ``hosted_by_vendor=True``
    describes the unsupported case where the vendor would have to be the IdP.
    """

    name: str = attrs.field(converter=_name)
    hosted_by_vendor: bool = attrs.field(default=False, validator=is_bool)


def _protocol(value: SsoProtocol | str) -> SsoProtocol:
    return to_enum(SsoProtocol, value, "protocol")


def _policy(value: AccountRequestPolicy | str) -> AccountRequestPolicy:
    return to_enum(AccountRequestPolicy, value, "policy")


def _edition(value: MarketingEdition | str) -> MarketingEdition:
    return to_enum(MarketingEdition, value, "marketing_edition")


def _integration_key(value: IntegrationKey | str) -> IntegrationKey:
    return to_enum(IntegrationKey, value, "integration_key")


def _contact_key(value: ContactKey | str) -> ContactKey:
    return to_enum(ContactKey, value, "marketing_key")


def _check_contact_key(inst: Tenant, _attribute: attrs.Attribute[Any], value: ContactKey) -> None:
    # MARKETING_CONTACT_KEY: only Enterprise lets a custom member id key the contacts.
    if value is ContactKey.MEMBER_ID and inst.marketing_edition is not MarketingEdition.ENTERPRISE:
        raise InvalidValueError(
            "marketing_key: Marketing Professional contacts are keyed by email; only "
            "Enterprise takes a member id (MARKETING_CONTACT_KEY)",
            field="marketing_key",
        )


def _to_idp(value: IdentityProvider | str) -> IdentityProvider:
    if isinstance(value, IdentityProvider):
        return value
    if not isinstance(value, str):
        raise InvalidValueError(
            "identity_provider must be an IdentityProvider or its name, got "
            f"{type(value).__name__} {value!r}",
            field="identity_provider",
        )
    return IdentityProvider(name=value)


def _check_date(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (isinstance(value, dt.datetime) or not isinstance(value, dt.date)):
        raise InvalidValueError(
            f"{attribute.name} must be a date, got {value!r}", field=attribute.name
        )


@attrs.frozen(kw_only=True)
class SsoSetup:
    """A tenant's single sign-on setup for Community (``SSO_PROTOCOLS``, ``SSO_SAML_SIGNED``)."""

    protocol: SsoProtocol = attrs.field(converter=_protocol)
    identity_provider: IdentityProvider = attrs.field(converter=_to_idp)
    #: What the IdP asserts as the user id: SAML NameID, OIDC/OAuth ``sub``, a scope's id.
    asserted_identifier: str = attrs.field(default="NameID", converter=_asserted_identifier)
    #: ``SSO_IDENTIFIER_MATCH``: the asserted identifier equals the record's LegacyContactKey.
    identifier_is_legacy_contact_key: bool = attrs.field(default=False, validator=is_bool)
    #: ``SSO_SAML_SIGNED``: requests and responses are signed (only read for SAML).
    saml_signed: bool = attrs.field(default=False, validator=is_bool)
    #: The requested go-live date; ``SSO_LEAD_TIME`` counts back from it.
    go_live: dt.date | None = attrs.field(default=None, validator=_check_date)
    #: The day the change was asked for. ``SSO_LEAD_TIME`` counts from it when known,
    #: and from the ``as_of`` date of the question otherwise.
    requested_on: dt.date | None = attrs.field(default=None, validator=_check_date)


@attrs.frozen(kw_only=True)
class AccountRequests:
    """A standalone site's account-request setting (``STANDALONE_ACCOUNT_REQUESTS``)."""

    policy: AccountRequestPolicy = attrs.field(
        default=AccountRequestPolicy.DISABLED,
        converter=_policy,
    )
    #: New accounts verify their email first (Pending Verification) before anything else.
    email_verification: bool = attrs.field(default=False, validator=is_bool)

    @property
    def enabled(self) -> bool:
        """Whether the site takes account requests at all."""
        return self.policy is not AccountRequestPolicy.DISABLED


class ProductMethods(FrozenMap[Product, ProvisioningMethod]):
    """An immutable, hashable mapping of each licensed product to its one method.

    It equals only another ``ProductMethods``; iteration is in product order.
    """

    __slots__ = ()
    EQUALS_MAPPINGS = False

    def __init__(
        self,
        methods: Mapping[Product, ProvisioningMethod]
        | Mapping[str, str]
        | Mapping[Product | str, ProvisioningMethod | str],
    ) -> None:
        if not isinstance(methods, Mapping):
            raise InvalidValueError(
                "products must be a mapping of each product to its method, e.g. "
                f"{{'community': 'standalone'}}, got {type(methods).__name__} {methods!r}",
                field="products",
            )
        items: dict[Product, ProvisioningMethod] = {}
        for product, method in methods.items():
            key = to_enum(Product, product, "products")
            value = to_enum(ProvisioningMethod, method, f"products.{product}")
            # METHODS_EXCLUSIVE: "community" and Product.COMMUNITY name the same product;
            # two different methods for it must not silently collapse into one.
            if items.setdefault(key, value) is not value:
                raise InvalidValueError(
                    f"products: {key.value} is given two methods, {items[key].value!r} and "
                    f"{value.value!r}; a product has exactly one",
                    field="products",
                    rule="METHODS_EXCLUSIVE",
                )
        ordered = dict(sorted(items.items(), key=lambda kv: kv[0].value))
        self._freeze(ordered, order=lambda kv: kv[0].value)

    # A product is also found by its value ("community"), as every API takes enum values
    # as strings. Members first, with a plain dict lookup: ``get`` is on decide's hot path
    # (members hash by identity, so a string never finds one without the translation).

    def __getitem__(self, product: Product | str) -> ProvisioningMethod:
        try:
            return self._map[product]  # type: ignore[index]
        except KeyError:
            member = _PRODUCTS.get(product) if isinstance(product, str) else None
            if member is None:
                raise
        return self._map[member]

    def __contains__(self, product: object) -> bool:
        if product in self._map:
            return True
        return isinstance(product, str) and _PRODUCTS.get(product) in self._map

    @overload
    def get(self, product: Product | str, /) -> ProvisioningMethod | None: ...
    @overload
    def get(self, product: Product | str, default: _T, /) -> ProvisioningMethod | _T: ...
    def get(self, product: Product | str, default: object = None, /) -> object:
        """The product's method, or ``default`` when it is not licensed."""
        method = self._map.get(product)  # type: ignore[arg-type]
        if method is not None:
            return method
        if isinstance(product, str) and (member := _PRODUCTS.get(product)) is not None:
            return self._map.get(member, default)
        return default

    def __repr__(self) -> str:
        inner = ", ".join(f"{p.value!r}: {m.value!r}" for p, m in self._items)
        return f"ProductMethods({{{inner}}})"


#: Each product by its value, for the lookups of ``ProductMethods``.
_PRODUCTS: dict[str, Product] = {p.value: p for p in Product}


def _to_methods(value: Mapping[Any, Any]) -> ProductMethods:
    return value if isinstance(value, ProductMethods) else ProductMethods(value)


def _to_account_requests(
    value: AccountRequests | AccountRequestPolicy | str | None,
) -> AccountRequests:
    if value is None:
        return AccountRequests()
    if isinstance(value, AccountRequests):
        return value
    return AccountRequests(policy=to_enum(AccountRequestPolicy, value, "account_requests"))


_integration_id = identifier("integration")


def _optional_id(value: str | None) -> str | None:
    raw: object = value
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return _integration_id(raw)


def _sso(_inst: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, SsoSetup):
        raise InvalidValueError(
            f"sso must be an SsoSetup or None, got {type(value).__name__} {value!r}",
            field="sso",
        )


@attrs.frozen(kw_only=True, cache_hash=True)
class Tenant:
    """A customer of the vendor, the products it licenses and the facts rules need.

    Build changed copies with :func:`attrs.evolve` or :meth:`with_method`.
    """

    #: At most ``ID_MAX_LENGTH`` (255) characters, without control characters.
    id: str = attrs.field(converter=_id)
    name: str = attrs.field(converter=_name)
    #: Each licensed product and its one method (``METHODS_EXCLUSIVE``).
    products: ProductMethods = attrs.field(converter=_to_methods)
    #: The Community SSO setup, if any.
    sso: SsoSetup | None = attrs.field(default=None, validator=_sso)
    #: The id of the integrated AMS/CRM in the rulebook's catalog, if any.
    integration: str | None = attrs.field(default=None, converter=_optional_id)
    #: Whether the standalone initial upload has happened (``STANDALONE_ONE_TIME_UPLOAD``).
    initial_upload_done: bool = attrs.field(default=False, validator=is_bool)
    account_requests: AccountRequests = attrs.field(
        factory=AccountRequests, converter=_to_account_requests
    )
    #: Which Marketing edition's contact file uploads use.
    marketing_edition: MarketingEdition = attrs.field(
        default=MarketingEdition.ENTERPRISE,
        converter=_edition,
    )
    #: What keys the Marketing contacts (``MARKETING_CONTACT_KEY``): ``email``, or, in
    #: the Enterprise edition, ``member_id`` (the file is then the by-member-id template).
    marketing_key: ContactKey = attrs.field(
        default=ContactKey.EMAIL, converter=_contact_key, validator=_check_contact_key
    )
    #: Which identifier an integration's pushes key records by: ``external_id`` (the
    #: default) or ``user_name`` (``SSO_IDENTIFIER_MATCH``).
    integration_key: IntegrationKey = attrs.field(
        default=IntegrationKey.EXTERNAL_ID, converter=_integration_key
    )

    def method_for(self, product: Product) -> ProvisioningMethod | None:
        """Return the product's method, or ``None`` when the tenant does not license it."""
        return self.products.get(product)

    def licenses(self, product: Product) -> bool:
        """Whether the tenant licenses ``product``."""
        return product in self.products

    def with_method(self, product: Product, method: ProvisioningMethod) -> Tenant:
        """Return a copy with ``product`` moved to ``method``.

        This only builds the target tenant; the move itself is a migration
        (``METHOD_CHANGE_IS_MIGRATION``), see :func:`provisioning.plan_migration`.
        """
        methods = dict(self.products)
        methods[product] = method
        return attrs.evolve(self, products=ProductMethods(methods))
