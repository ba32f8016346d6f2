"""Invariants of the rules over every tenant, actor, action, product and date Hypothesis draws."""

from __future__ import annotations

import datetime as dt

import attrs
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
from provisioning.serialization import (
    tenant_from_dict,
    tenant_from_json,
    tenant_to_dict,
    tenant_to_json,
)
from provisioning.testing import actions, actors, dates, sso_setups, tenants

products = st.sampled_from(pv.Product)
methods = st.sampled_from(pv.ProvisioningMethod)


@st.composite
def rulebooks(draw: st.DrawFn) -> pv.RuleBook:
    """The vendor's rulebook, or one whose [ours] settings a host changed."""
    if draw(st.booleans()):
        return pv.DEFAULT_RULEBOOK
    return pv.RuleBook().with_settings(
        sso_lead_time=draw(
            st.sampled_from(
                [relativedelta(), relativedelta(weeks=10), relativedelta(months=1, days=3)]
            )
        ),
        sso_products=draw(st.frozensets(products)),
        user_admin_roles=draw(st.frozensets(st.sampled_from(pv.Role))),
        local_login_with_sso=draw(st.booleans()),
    )


KNOWN_RULES = {r.id for r in pv.RULES}


@given(
    tenant=tenants(),
    actor=actors(),
    action=actions(),
    product=products,
    as_of=dates(),
    rulebook=rulebooks(),
)
def test_every_refusal_names_a_known_rule(
    *,
    tenant: pv.Tenant,
    actor: pv.Actor,
    action: pv.Action,
    product: pv.Product,
    as_of: dt.date,
    rulebook: pv.RuleBook,
) -> None:
    """decide never raises; a refusal carries an ERROR finding, and every rule id is known."""
    decision = pv.decide(tenant, actor, action, product=product, as_of=as_of, rulebook=rulebook)
    assert (decision.allowed, set(decision.rules) <= KNOWN_RULES) == (not decision.refusals, True)


@given(tenants(), actors(), actions(), products, dates())
def test_decision_describes_what_was_asked(
    tenant: pv.Tenant, actor: pv.Actor, action: pv.Action, product: pv.Product, as_of: dt.date
) -> None:
    """A decision names the action, product and role it answers."""
    decision = pv.decide(tenant, actor, action, product=product, as_of=as_of)
    assert (decision.action, decision.product, decision.role) == (action, product, actor.role)


@given(tenants(), products, dates(), rulebooks())
def test_no_standalone_product_is_ever_sso_eligible(
    tenant: pv.Tenant, product: pv.Product, as_of: dt.date, rulebook: pv.RuleBook
) -> None:
    """SSO_NOT_WITH_STANDALONE: a standalone product is never SSO-eligible, whatever else."""
    standalone = tenant.with_method(product, pv.ProvisioningMethod.STANDALONE)
    result = pv.sso_eligibility(standalone, product=product, as_of=as_of, rulebook=rulebook)
    assert result.status in {pv.SsoStatus.NOT_SUPPORTED, pv.SsoStatus.NOT_APPLICABLE}


@given(tenants(), actors(), products, dates(), rulebooks())
def test_no_sso_login_on_a_standalone_product(
    tenant: pv.Tenant, actor: pv.Actor, product: pv.Product, as_of: dt.date, rulebook: pv.RuleBook
) -> None:
    """SSO_NOT_WITH_STANDALONE: SSO login on a standalone product is always refused."""
    standalone = tenant.with_method(product, pv.ProvisioningMethod.STANDALONE)
    decision = pv.decide(
        standalone, actor, pv.Action.SSO_LOGIN, product=product, as_of=as_of, rulebook=rulebook
    )
    assert not decision.allowed


@given(tenants(), products, dates(), rulebooks())
def test_requirements_are_listed_unless_not_applicable(
    tenant: pv.Tenant, product: pv.Product, as_of: dt.date, rulebook: pv.RuleBook
) -> None:
    """SSO eligibility lists its six requirements iff SSO applies (status not NOT_APPLICABLE)."""
    result = pv.sso_eligibility(tenant, product=product, as_of=as_of, rulebook=rulebook)
    applicable = result.status is not pv.SsoStatus.NOT_APPLICABLE
    assert len(result.requirements) == (6 if applicable else 0)


@given(tenants(), products, dates(), rulebooks())
def test_eligible_exactly_when_every_requirement_is_met(
    tenant: pv.Tenant, product: pv.Product, as_of: dt.date, rulebook: pv.RuleBook
) -> None:
    """ELIGIBLE means requirements listed and all met; unmet ones never make it eligible."""
    result = pv.sso_eligibility(tenant, product=product, as_of=as_of, rulebook=rulebook)
    all_met = bool(result.requirements) and not result.unmet
    assert result.eligible is (all_met and result.status is not pv.SsoStatus.NOT_SUPPORTED)


@given(tenants(), products, dates())
def test_in_effect_means_eligible_and_live(
    tenant: pv.Tenant, product: pv.Product, as_of: dt.date
) -> None:
    """SSO_IN_EFFECT: in effect only when eligible and the go-live date has come."""
    result = pv.sso_eligibility(tenant, product=product, as_of=as_of)
    live = result.go_live is not None and result.go_live <= as_of
    assert result.in_effect is (result.eligible and live)


@given(tenants(), products, dates(), st.integers(min_value=0, max_value=400))
def test_eligibility_never_goes_backwards_once_live(
    tenant: pv.Tenant, product: pv.Product, as_of: dt.date, later: int
) -> None:
    """Once SSO is in effect, it stays in effect on every later date."""
    now = pv.sso_eligibility(tenant, product=product, as_of=as_of)
    then = pv.sso_eligibility(tenant, product=product, as_of=as_of + dt.timedelta(days=later))
    assert not now.in_effect or then.in_effect


@given(tenants(), rulebooks())
def test_check_is_deterministic(tenant: pv.Tenant, rulebook: pv.RuleBook) -> None:
    """check() gives equal results for the same tenant, and for an equal copy of it."""
    copy = attrs.evolve(tenant)
    assert pv.check(tenant, rulebook=rulebook) == pv.check(copy, rulebook=rulebook)


@given(tenants(), actors(), actions(), products, dates())
def test_decide_is_deterministic(
    tenant: pv.Tenant, actor: pv.Actor, action: pv.Action, product: pv.Product, as_of: dt.date
) -> None:
    """decide() gives equal decisions for equal questions."""
    first = pv.decide(tenant, actor, action, product=product, as_of=as_of)
    assert pv.decide(attrs.evolve(tenant), actor, action, product=product, as_of=as_of) == first


@given(tenants(valid_only=True))
def test_valid_tenants_break_no_method_rule(tenant: pv.Tenant) -> None:
    """A tenant the vendor allows breaks no method, system or account-request rule."""
    method_rules = {
        "STANDALONE_COMMUNITY_ONLY",
        "INTEGRATION_COMMUNITY_ONLY",
        "INTEGRATION_SYSTEM_REQUIRED",
        "INTEGRATION_SYSTEM_UNKNOWN",
        "INTEGRATION_SYSTEM_UNUSED",
        "STANDALONE_ACCOUNT_REQUESTS",
        "SSO_NOT_WITH_STANDALONE",
        "SSO_NOT_MARKETING",
    }
    assert not set(pv.check(tenant).rules) & method_rules


@given(tenants(), actors(), products, dates())
def test_a_change_of_method_always_warns_of_migration(
    tenant: pv.Tenant, actor: pv.Actor, product: pv.Product, as_of: dt.date
) -> None:
    """METHOD_CHANGE_IS_MIGRATION: every change-of-method decision on a licensed product warns."""
    decision = pv.decide(tenant, actor, pv.Action.CHANGE_METHOD, product=product, as_of=as_of)
    warned = any(
        f.rule == "METHOD_CHANGE_IS_MIGRATION" and f.severity is pv.Severity.WARNING
        for f in decision.findings
    )
    assert warned is tenant.licenses(product)


@given(tenants(), products, methods)
def test_every_migration_is_explained(
    tenant: pv.Tenant, product: pv.Product, to: pv.ProvisioningMethod
) -> None:
    """plan_migration never raises, names METHOD_CHANGE_IS_MIGRATION first, and targets `to`."""
    move = pv.plan_migration(tenant, product, to)
    assert (move.risks[0].rule, move.target.method_for(product)) == (
        "METHOD_CHANGE_IS_MIGRATION",
        to,
    )


@given(tenants(), actors(), actions(), products, dates())
def test_an_unlicensed_product_is_always_refused(
    tenant: pv.Tenant, actor: pv.Actor, action: pv.Action, product: pv.Product, as_of: dt.date
) -> None:
    """PRODUCT_NOT_LICENSED: nothing is allowed on a product the tenant lacks."""
    decision = pv.decide(tenant, actor, action, product=product, as_of=as_of)
    assert ("PRODUCT_NOT_LICENSED" in decision.rules) is (not tenant.licenses(product))


@given(tenants())
def test_tenant_dict_round_trip(tenant: pv.Tenant) -> None:
    """read(write(tenant)) == tenant, through plain data."""
    assert tenant_from_dict(tenant_to_dict(tenant)) == tenant


@given(tenants())
def test_tenant_json_round_trip(tenant: pv.Tenant) -> None:
    """read(write(tenant)) == tenant, through JSON text."""
    assert tenant_from_json(tenant_to_json(tenant)) == tenant


@given(sso_setups())
def test_sso_setups_round_trip_inside_a_tenant(setup: pv.SsoSetup) -> None:
    """Every SSO setup shape round-trips through JSON inside a tenant."""
    tenant = pv.Tenant(id="t", name="T", products={"community": "spreadsheet_upload"}, sso=setup)
    assert tenant_from_json(tenant_to_json(tenant)).sso == setup
