"""Hypothesis strategies for tenants, actors and actions (valid and misconfigured alike)."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from ..actors import Action, Actor, Role
from ..catalog import DEFAULT_CATALOG, Product, ProvisioningMethod
from ..tenants import (
    AccountRequestPolicy,
    AccountRequests,
    IdentityProvider,
    SsoProtocol,
    SsoSetup,
    Tenant,
)

__all__ = ["actions", "actors", "dates", "sso_setups", "tenants"]

_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_names = st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != "")


def dates() -> st.SearchStrategy[dt.date]:
    """Dates between 2020 and 2035."""
    return st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31))


def actions() -> st.SearchStrategy[Action]:
    """Any action."""
    return st.sampled_from(Action)


def actors(roles: st.SearchStrategy[Role] | None = None) -> st.SearchStrategy[Actor]:
    """Actors of any role (or of the roles ``roles`` draws)."""
    return st.builds(
        Actor, id=_ids, role=roles if roles is not None else st.sampled_from(Role), name=st.just("")
    )


def sso_setups() -> st.SearchStrategy[SsoSetup]:
    """SSO setups of every shape, supported or not, complete or not."""
    return st.builds(
        SsoSetup,
        protocol=st.sampled_from(SsoProtocol),
        identity_provider=st.builds(IdentityProvider, name=_names, hosted_by_vendor=st.booleans()),
        asserted_identifier=st.sampled_from(["NameID", "sub", "email", "legacy_id"]),
        identifier_is_legacy_contact_key=st.booleans(),
        saml_signed=st.booleans(),
        go_live=st.none() | dates(),
    )


def tenants(*, valid_only: bool = False) -> st.SearchStrategy[Tenant]:
    """Tenants of every configuration; ``valid_only`` keeps those the vendor allows.

    The integrated system is drawn from the default catalog, or is unknown, or absent.
    """

    # Built once, not on every draw: Hypothesis validates each new strategy it sees.
    product_methods = st.dictionaries(st.sampled_from(Product), st.sampled_from(ProvisioningMethod))
    systems = st.none() | st.sampled_from([s.id for s in DEFAULT_CATALOG]) | st.just("unknown-ams")
    policies = st.sampled_from(AccountRequestPolicy)
    setups = st.none() | sso_setups()
    editions = st.sampled_from(["enterprise", "professional"])

    @st.composite
    def build(draw: st.DrawFn) -> Tenant:
        products = draw(product_methods)
        if valid_only:
            products = {
                p: (m if p is Product.COMMUNITY else ProvisioningMethod.SPREADSHEET_UPLOAD)
                for p, m in products.items()
            }
        integration = draw(systems)
        policy = draw(policies)
        sso = draw(setups)
        if valid_only:
            integrated = ProvisioningMethod.STANDARD_INTEGRATION in products.values()
            if integrated and integration in (None, "unknown-ams"):
                integration = "imis"
            if not integrated:
                integration = None
            if products.get(Product.COMMUNITY) is not ProvisioningMethod.STANDALONE:
                policy = AccountRequestPolicy.DISABLED
            if products.get(Product.COMMUNITY) in (None, ProvisioningMethod.STANDALONE):
                sso = None
        return Tenant(
            id=draw(_ids),
            name=draw(_names),
            products=products,
            sso=sso,
            integration=integration,
            initial_upload_done=draw(st.booleans()),
            account_requests=AccountRequests(policy=policy, email_verification=draw(st.booleans())),
            marketing_edition=draw(editions),
        )

    return build()
