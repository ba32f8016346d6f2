"""Build a tenant, check it, and ask the rules what each actor may do.

Run it with ``python examples/quickstart.py``.
"""

from __future__ import annotations

import datetime as dt

import provisioning as pv

AS_OF = dt.date(2026, 11, 25)

acme = pv.Tenant(
    id="acme",
    name="Acme Association",
    products={"community": "spreadsheet_upload", "marketing": "spreadsheet_upload"},
    sso=pv.SsoSetup(
        protocol="saml_2_0",
        identity_provider="Acme AMS",
        asserted_identifier="NameID",
        identifier_is_legacy_contact_key=True,
        saml_signed=True,
        go_live=dt.date(2027, 1, 11),
    ),
)

print(pv.check(acme))
print()

super_admin = pv.Actor(id="sa-1", role="super_admin", name="Sam")
member = pv.Actor(id="m-1", role="member", name="Mia")
for actor, action in [
    (super_admin, pv.Action.SUBSEQUENT_UPLOAD),
    (member, pv.Action.SELF_REGISTER),
    (member, pv.Action.EDIT_OWN_PROFILE),
    (member, pv.Action.SSO_LOGIN),
    (member, pv.Action.LOCAL_LOGIN),
]:
    print(pv.decide(acme, actor, action, as_of=AS_OF))
print()

print(pv.sso_eligibility(acme, as_of=AS_OF))
print()
print(pv.sso_eligibility(acme, as_of=dt.date(2027, 1, 11)))
print()

# A change of method is a migration: the rules say what it risks.
print(pv.plan_migration(acme, pv.Product.COMMUNITY, pv.ProvisioningMethod.STANDALONE))
