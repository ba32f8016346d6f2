"""provisioning.testing: assertions whose failures show the findings, and the strategies' home."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
import provisioning.testing as pvt
from provisioning.testing import assert_allowed, assert_refused

UPLOAD = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
MEMBER = pv.Actor(id="m", role="member")
SUPER_ADMIN = pv.Actor(id="s", role="super_admin")
ALLOWED = pv.decide(UPLOAD, SUPER_ADMIN, pv.Action.SUBSEQUENT_UPLOAD)
REFUSED = pv.decide(UPLOAD, MEMBER, pv.Action.SELF_REGISTER)


def test_assert_allowed_passes_on_an_allowed_decision() -> None:
    """assert_allowed returns quietly when the decision allows the action."""
    assert_allowed(ALLOWED)


def test_assert_allowed_fails_showing_the_findings() -> None:
    """assert_allowed fails on a refusal, and the message shows the whole decision."""
    with pytest.raises(AssertionError) as info:
        assert_allowed(REFUSED)
    assert str(info.value) == (
        "expected the action to be allowed, but it was refused:\n"
        "self_register on community by member: refused\n"
        "  [error] UPLOAD_SINGLE_SOURCE: accounts are created only by a Super Admin's "
        "spreadsheet upload\n"
        "  [error] STANDALONE_ACCOUNT_REQUESTS: only standalone sites take account requests; "
        "this product uses spreadsheet_upload"
    )


def test_assert_refused_passes_on_a_refusal() -> None:
    """assert_refused returns quietly when the decision refuses the action."""
    assert_refused(REFUSED)


@pytest.mark.parametrize("rule", ["UPLOAD_SINGLE_SOURCE", "STANDALONE_ACCOUNT_REQUESTS"])
def test_assert_refused_passes_when_the_rule_refuses(rule: str) -> None:
    """assert_refused(rule=...) passes when any of the refusing findings is that rule."""
    assert_refused(REFUSED, rule=rule)


def test_assert_refused_fails_on_an_allowed_decision_showing_the_findings() -> None:
    """assert_refused fails on an allowed decision, and the message shows the findings."""
    with pytest.raises(AssertionError) as info:
        assert_refused(ALLOWED)
    assert str(info.value) == (
        "expected the action to be refused, but it was allowed:\n"
        "subsequent_upload on community by super_admin: allowed\n"
        "  [info] UPLOAD_CSV_ONLY: upload a .csv built from the vendor's template\n"
        "  [info] CUSTOMER_OWNS_CHANGE_REQUESTS: the file carries the changes the customer's "
        "workflows captured"
    )


def test_assert_refused_fails_when_another_rule_refuses() -> None:
    """assert_refused(rule=...) fails when other rules refuse, naming them and the findings."""
    with pytest.raises(AssertionError) as info:
        assert_refused(REFUSED, rule="UPLOAD_SUPER_ADMIN_ONLY")
    assert str(info.value).splitlines()[0] == (
        "expected a refusal by UPLOAD_SUPER_ADMIN_ONLY, but it was refused by "
        "UPLOAD_SINGLE_SOURCE, STANDALONE_ACCOUNT_REQUESTS:"
    )


def test_assert_refused_ignores_non_refusing_findings_of_the_rule() -> None:
    """A rule present only as an INFO does not count as refusing."""
    decision = pv.decide(UPLOAD, MEMBER, pv.Action.EDIT_OWN_PROFILE)
    with pytest.raises(AssertionError, match="expected a refusal by CUSTOMER_OWNS_CHANGE_REQUESTS"):
        assert_refused(decision, rule="CUSTOMER_OWNS_CHANGE_REQUESTS")


@pytest.mark.parametrize("name", ["actions", "actors", "dates", "sso_setups", "tenants"])
def test_strategies_are_reached_from_the_testing_module(name: str) -> None:
    """The Hypothesis strategies are attributes of provisioning.testing, loaded on first use."""
    assert callable(getattr(pvt, name))


def test_unknown_attribute_of_the_testing_module() -> None:
    """An unknown name of provisioning.testing raises AttributeError, as a module does."""
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        pvt.nothing  # noqa: B018 - the attribute access is what is tested


@given(pvt.tenants(valid_only=True))
def test_valid_only_tenants_use_methods_their_products_allow(tenant: pv.Tenant) -> None:
    """tenants(valid_only=True) draws only methods each product may use."""
    assert all(m in pv.applicable_methods(p) for p, m in tenant.products.items())


@given(pvt.actors(roles=st.just(pv.Role.VOLUNTEER_ADMIN)))
def test_actors_draw_the_roles_asked_for(actor: pv.Actor) -> None:
    """actors(roles=...) draws actors of those roles only."""
    assert actor.role is pv.Role.VOLUNTEER_ADMIN
