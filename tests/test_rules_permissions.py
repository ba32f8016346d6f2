"""The permission matrix: read off decide's own tables, and decide always agrees with it."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
from provisioning.testing import actions, dates, tenants

A, M, R = pv.Action, pv.ProvisioningMethod, pv.Role
MATRIX = pv.DEFAULT_RULEBOOK.permission_matrix()


def test_every_action_method_and_role_has_a_cell() -> None:
    """12 actions x 3 methods x 7 roles, each with a verdict."""
    assert len(MATRIX) == len(A) * len(M) * len(R)
    assert set(MATRIX) == {(a, m, r) for a in A for m in M for r in R}


@pytest.mark.parametrize(
    ("action", "method", "role", "shown"),
    [
        (A.SUBSEQUENT_UPLOAD, M.SPREADSHEET_UPLOAD, R.SUPER_ADMIN, "allowed"),
        (
            A.SUBSEQUENT_UPLOAD,
            M.SPREADSHEET_UPLOAD,
            R.SITE_ADMIN,
            "refused: UPLOAD_SUPER_ADMIN_ONLY",
        ),
        (
            A.SUBSEQUENT_UPLOAD,
            M.STANDARD_INTEGRATION,
            R.MEMBER,
            "refused: UPLOAD_SUPER_ADMIN_ONLY, INTEGRATION_SOURCE_OF_TRUTH",
        ),
        (A.SUBSEQUENT_UPLOAD, M.STANDALONE, R.SUPER_ADMIN, "refused: STANDALONE_ONE_TIME_UPLOAD"),
        (A.INITIAL_UPLOAD, M.STANDALONE, R.SUPER_ADMIN, "depends: STANDALONE_ONE_TIME_UPLOAD"),
        (A.SELF_REGISTER, M.STANDALONE, R.MEMBER, "depends: STANDALONE_ACCOUNT_REQUESTS"),
        (
            A.SELF_REGISTER,
            M.SPREADSHEET_UPLOAD,
            R.MEMBER,
            "refused: UPLOAD_SINGLE_SOURCE, STANDALONE_ACCOUNT_REQUESTS",
        ),
        (A.SELF_REGISTER, M.STANDALONE, R.INTEGRATION, "refused: ROLE_PERMISSIONS"),
        (A.EDIT_OWN_PROFILE, M.STANDALONE, R.MEMBER, "allowed"),
        (A.DEACTIVATE_USER, M.STANDARD_INTEGRATION, R.INTEGRATION, "allowed"),
        (A.DEACTIVATE_USER, M.SPREADSHEET_UPLOAD, R.INTEGRATION, "refused: ROLE_PERMISSIONS"),
        (A.DELETE_PERSONAL_DATA, M.STANDALONE, R.SITE_ADMIN, "allowed"),
        (A.SSO_LOGIN, M.STANDALONE, R.MEMBER, "refused: SSO_NOT_WITH_STANDALONE"),
        (A.LOCAL_LOGIN, M.SPREADSHEET_UPLOAD, R.MEMBER, "depends: SSO_IN_EFFECT"),
        (A.CHANGE_METHOD, M.STANDALONE, R.SUPER_ADMIN, "allowed"),
        (A.INTEGRATION_SYNC, M.SPREADSHEET_UPLOAD, R.INTEGRATION, "refused: UPLOAD_CSV_ONLY"),
    ],
)
def test_cells_say_the_verdict_and_the_rules(
    action: pv.Action, method: pv.ProvisioningMethod, role: pv.Role, shown: str
) -> None:
    """A cell prints as its verdict, then the rules that give it."""
    assert str(MATRIX[action, method, role]) == shown


def test_the_matrix_follows_the_rulebook_settings() -> None:
    """ROLE_PERMISSIONS (ours): a host that lets moderators manage users sees it here."""
    key = (A.ADMIN_EDIT_USER, M.STANDALONE, R.COMMUNITY_MODERATOR)
    assert MATRIX[key].verdict is pv.Verdict.REFUSED
    roles = {R.SUPER_ADMIN, R.COMMUNITY_MODERATOR}
    wider = pv.DEFAULT_RULEBOOK.with_settings(user_admin_roles=roles)
    assert wider.permission_matrix()[key].verdict is pv.Verdict.ALLOWED


def test_without_community_sso_no_one_signs_in() -> None:
    """SSO_NOT_MARKETING (ours): logins apply only to the products SSO applies to."""
    book = pv.DEFAULT_RULEBOOK.with_settings(sso_products=frozenset())
    cell = book.permission_matrix()[A.LOCAL_LOGIN, M.STANDALONE, R.MEMBER]
    assert str(cell) == "refused: SSO_NOT_MARKETING"


def test_cells_are_found_by_value_too() -> None:
    """Like every enum parameter, the matrix's keys may be given by value."""
    assert (
        MATRIX["self_register", "standalone", "member"]
        is MATRIX[A.SELF_REGISTER, M.STANDALONE, R.MEMBER]
    )
    with pytest.raises(pv.InvalidValueError, match="action: 'fly' is not one of"):
        MATRIX["fly", "standalone", "member"]


def test_records_for_a_notebook() -> None:
    """to_records() gives one row per cell; _repr_html_ shows them as a table."""
    records = MATRIX.to_records()
    assert len(records) == len(MATRIX)
    assert records[0] == {
        "action": "self_register",
        "method": "standalone",
        "role": "super_admin",
        "verdict": "depends",
        "rules": "STANDALONE_ACCOUNT_REQUESTS",
    }
    assert "<table" in MATRIX._repr_html_()


@given(tenants(), st.sampled_from(list(R)), actions(), dates())
def test_decide_agrees_with_the_matrix(
    tenant: pv.Tenant, role: pv.Role, action: pv.Action, as_of: dt.date
) -> None:
    """decide answers as the matrix says: allowed, refused by its rules, or by the tenant."""
    method = tenant.products.get(pv.Product.COMMUNITY)
    decision = pv.decide(tenant, pv.Actor(id="a-1", role=role), action, as_of=as_of)
    if method is None:
        assert decision.rules == ("PRODUCT_NOT_LICENSED",)
        return
    cell = MATRIX[action, method, role]
    refusing = tuple(dict.fromkeys(f.rule for f in decision.refusals))
    if cell.verdict is pv.Verdict.ALLOWED:
        assert decision.allowed, decision
    elif cell.verdict is pv.Verdict.REFUSED:
        # Refused by the cell's rules, first; the tenant's facts may add their own.
        assert not decision.allowed
        assert refusing[: len(cell.rules)] == cell.rules
    else:
        # The tenant's facts decide, and only through the rules the cell names.
        assert set(refusing) <= set(cell.rules)


def test_the_rulebook_method_takes_values_by_name_too() -> None:
    """RuleBook.decide, like pv.decide, takes the action and product by value."""
    tenant = pv.Tenant(id="acme", name="Acme", products={"community": "standalone"})
    member = pv.Actor(id="m-1", role="member")
    by_name = pv.DEFAULT_RULEBOOK.decide(tenant, member, "edit_own_profile", product="community")
    assert by_name == pv.decide(tenant, member, A.EDIT_OWN_PROFILE)
    assert by_name.allowed
    with pytest.raises(pv.InvalidValueError) as caught:
        pv.DEFAULT_RULEBOOK.decide(tenant, "m-1", "edit_own_profile")  # type: ignore[arg-type]
    assert caught.value.field == "actor"
