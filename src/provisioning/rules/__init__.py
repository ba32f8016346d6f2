"""The rulebook and what it answers: checks, decisions, SSO eligibility, migrations, scenarios.

>>> import provisioning as pv
>>> tenant = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
>>> member = pv.Actor(id="m-1", role="member")
>>> decision = pv.decide(tenant, member, pv.Action.SELF_REGISTER)
>>> decision.allowed, decision.rules
(False, ('UPLOAD_SINGLE_SOURCE', 'STANDALONE_ACCOUNT_REQUESTS'))
"""

from ._api import (
    applicable_methods,
    check,
    decide,
    permission_matrix,
    plan_migration,
    scenarios,
    sso_eligibility,
)
from ._book import DEFAULT_RULEBOOK, RuleBook, Settings
from ._catalog import RULES, Rule, RuleGroup
from ._decide import Permission, PermissionMatrix, Verdict
from ._engine import SUPPORTED_PROTOCOLS
from ._ids import RuleId
from ._migration import Migration
from ._results import (
    CheckResult,
    Decision,
    Finding,
    Requirement,
    Severity,
    SsoEligibility,
    SsoStatus,
)
from ._scenarios import (
    ACTING_ROLE,
    DEFAULT_SSO_OPTIONS,
    DEFAULT_SYSTEMS,
    Scenario,
    ScenarioTable,
    SsoOption,
)

__all__ = [
    "ACTING_ROLE",
    "DEFAULT_RULEBOOK",
    "DEFAULT_SSO_OPTIONS",
    "DEFAULT_SYSTEMS",
    "RULES",
    "SUPPORTED_PROTOCOLS",
    "CheckResult",
    "Decision",
    "Finding",
    "Migration",
    "Permission",
    "PermissionMatrix",
    "Requirement",
    "Rule",
    "RuleBook",
    "RuleGroup",
    "RuleId",
    "Scenario",
    "ScenarioTable",
    "Settings",
    "Severity",
    "SsoEligibility",
    "SsoOption",
    "SsoStatus",
    "Verdict",
    "applicable_methods",
    "check",
    "decide",
    "permission_matrix",
    "plan_migration",
    "scenarios",
    "sso_eligibility",
]
