"""RuleId: one member per rule of the catalog, and mypy catches a misspelt id."""

from __future__ import annotations

import json
import textwrap

import pytest
from mypy import api as mypy_api

import provisioning as pv


def test_one_member_per_rule_of_the_catalog() -> None:
    """The enum and the catalog list the same ids, in the same order."""
    assert [rule.id for rule in pv.RULES] == list(pv.RuleId)
    assert all(type(rule.id) is pv.RuleId for rule in pv.RULES)


def test_a_rule_id_is_its_string() -> None:
    """A RuleId compares, prints, serialises and reprs as the plain id."""
    rule = pv.RuleId.UPLOAD_SUPER_ADMIN_ONLY
    assert rule == "UPLOAD_SUPER_ADMIN_ONLY"
    assert str(rule) == f"{rule}" == "UPLOAD_SUPER_ADMIN_ONLY"
    assert repr(rule) == "'UPLOAD_SUPER_ADMIN_ONLY'"
    assert json.dumps([rule]) == '["UPLOAD_SUPER_ADMIN_ONLY"]'
    assert pv.RuleId("SSO_LEAD_TIME") is pv.RuleId.SSO_LEAD_TIME


def test_decisions_name_rules_by_rule_id() -> None:
    """Findings carry RuleId members, so a host can match on them with mypy's help."""
    tenant = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
    decision = pv.decide(tenant, pv.Actor(id="m-1", role="member"), "self_register")
    assert decision.rules == (
        pv.RuleId.UPLOAD_SINGLE_SOURCE,
        pv.RuleId.STANDALONE_ACCOUNT_REQUESTS,
    )
    assert all(type(rule) is pv.RuleId for rule in decision.rules)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (
            "pv.DEFAULT_RULEBOOK.finding(pv.RuleId.SSO_LEAD_TIEM, pv.Severity.INFO, 'x')",
            '"type[RuleId]" has no attribute "SSO_LEAD_TIEM"',
        ),
        (
            "pv.DEFAULT_RULEBOOK.finding('SSO_LEAD_TIEM', pv.Severity.INFO, 'x')",
            'incompatible type "str"; expected "RuleId"',
        ),
    ],
    ids=["misspelt member", "plain string"],
)
def test_mypy_catches_a_misspelt_rule_id(code: str, error: str) -> None:
    """mypy --strict refuses a rule id that is not a RuleId member."""
    source = textwrap.dedent(
        f"""
        import provisioning as pv

        {code}
        """
    )
    # No config file: the project's own names its files, and -c takes none beside it.
    args = ["--strict", "--no-incremental", "--config-file=", "-c", source]
    out, _, status = mypy_api.run(args)
    assert status == 1, out
    assert error in out
