"""Builders shared by the rules tests (imported as a plain module from tests/)."""

from __future__ import annotations

import datetime as dt

import provisioning as pv


def sso(
    protocol: str = "saml_2_0",
    *,
    signed: bool = True,
    lck: bool = True,
    vendor_idp: bool = False,
    go_live: dt.date | None = None,
) -> pv.SsoSetup:
    """An SSO setup, complete unless told otherwise."""
    return pv.SsoSetup(
        protocol=protocol,
        identity_provider=pv.IdentityProvider(name="Acme AMS", hosted_by_vendor=vendor_idp),
        asserted_identifier="NameID",
        identifier_is_legacy_contact_key=lck,
        saml_signed=signed,
        go_live=go_live,
    )
