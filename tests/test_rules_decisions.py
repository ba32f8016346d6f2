"""Decision tables: each vendor rule id (docs/domain.md) and our own, allowed and refused.

Each table is one rule. A case names a tenant, who acts, what they ask and on which
product; an allowed case must carry ``rule`` among its findings (when given), a refused
case must be refused by ``rule``.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import NamedTuple

import pytest
from dateutil.relativedelta import relativedelta

import _builders
import provisioning as pv
from provisioning.rules import RuleGroup
from provisioning.testing import assert_allowed, assert_refused

AS_OF = dt.date(2030, 6, 3)
PAST = AS_OF - dt.timedelta(days=30)
COMMUNITY = pv.Product.COMMUNITY
MARKETING = pv.Product.MARKETING
STANDALONE = pv.ProvisioningMethod.STANDALONE
UPLOAD = pv.ProvisioningMethod.SPREADSHEET_UPLOAD
INTEGRATION = pv.ProvisioningMethod.STANDARD_INTEGRATION
A = pv.Action
R = pv.Role


sso = partial(_builders.sso, go_live=PAST)


def tenant(
    community: pv.ProvisioningMethod | None = STANDALONE,
    *,
    marketing: pv.ProvisioningMethod | None = None,
    system: str | None = None,
    sso_setup: pv.SsoSetup | None = None,
    initial_upload_done: bool = False,
    requests: str = "disabled",
    verification: bool = False,
) -> pv.Tenant:
    products = {}
    if community is not None:
        products[COMMUNITY] = community
    if marketing is not None:
        products[MARKETING] = marketing
    return pv.Tenant(
        id="acme",
        name="Acme",
        products=products,
        sso=sso_setup,
        integration=system,
        initial_upload_done=initial_upload_done,
        account_requests=pv.AccountRequests(policy=requests, email_verification=verification),
    )


STANDALONE_T = tenant(STANDALONE)
UPLOAD_T = tenant(UPLOAD)
IMIS_T = tenant(INTEGRATION, system="imis")
MARKETING_T = tenant(None, marketing=UPLOAD)


class Case(NamedTuple):
    spec: str
    tenant: pv.Tenant
    role: pv.Role
    action: pv.Action
    allowed: bool
    rule: str | None = None
    product: pv.Product = COMMUNITY
    rulebook: pv.RuleBook = pv.DEFAULT_RULEBOOK


TABLES: dict[str, tuple[Case, ...]] = {}


def table(rule: str, *cases: Case) -> tuple[Case, ...]:
    """Register the decision table of ``rule``."""
    TABLES[rule] = cases
    return cases


def spec(case: Case) -> str:
    return case.spec


def verify(case: Case) -> None:
    decision = pv.decide(
        case.tenant,
        pv.Actor(id="someone", role=case.role),
        case.action,
        product=case.product,
        as_of=AS_OF,
        rulebook=case.rulebook,
    )
    if case.allowed:
        assert_allowed(decision)
        if case.rule is not None:
            assert case.rule in decision.rules, str(decision)
    else:
        assert_refused(decision, rule=case.rule)


def ok(
    spec: str,
    t: pv.Tenant,
    role: pv.Role,
    action: pv.Action,
    rule: str | None = None,
    *,
    product: pv.Product = COMMUNITY,
    rulebook: pv.RuleBook = pv.DEFAULT_RULEBOOK,
) -> Case:
    """An allowed case; ``rule``, when given, must be among the findings."""
    return Case(spec, t, role, action, True, rule, product, rulebook)


def no(
    spec: str,
    t: pv.Tenant,
    role: pv.Role,
    action: pv.Action,
    rule: str,
    *,
    product: pv.Product = COMMUNITY,
    rulebook: pv.RuleBook = pv.DEFAULT_RULEBOOK,
) -> Case:
    """A refused case; ``rule`` must be among the refusals."""
    return Case(spec, t, role, action, False, rule, product, rulebook)


# -- 1. Products and methods -----------------------------------------------------------

BOTH_T = tenant(STANDALONE, marketing=UPLOAD)


# fmt: off
METHODS_EXCLUSIVE = table(
    "METHODS_EXCLUSIVE",
    ok("each product by its own method: marketing's upload follows spreadsheet upload",
       BOTH_T, R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD, "UPLOAD_CSV_ONLY", product=MARKETING),
    ok("each product by its own method: community's local edit follows standalone",
       BOTH_T, R.MEMBER, A.EDIT_OWN_PROFILE, "STANDALONE_LOCAL_PORTAL"),
    no("each product by its own method: community on standalone refuses a later upload",
       BOTH_T, R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD, "STANDALONE_ONE_TIME_UPLOAD"),
    no("each product by its own method: marketing on upload refuses a local edit",
       BOTH_T, R.SITE_ADMIN, A.ADMIN_EDIT_USER, "UPLOAD_SINGLE_SOURCE", product=MARKETING),
)
# fmt: on


@pytest.mark.parametrize("case", METHODS_EXCLUSIVE, ids=spec)
def test_methods_exclusive(case: Case) -> None:
    """METHODS_EXCLUSIVE: each licensed product's records follow exactly one method."""
    verify(case)


def test_methods_exclusive_refuses_two_methods_for_one_product() -> None:
    """METHODS_EXCLUSIVE: a second method for the same product cannot be expressed."""
    with pytest.raises(pv.InvalidValueError) as info:
        pv.Tenant(
            id="acme",
            name="Acme",
            products={"community": "standalone", COMMUNITY: "spreadsheet_upload"},
        )
    assert (info.value.field, info.value.rule) == ("products", "METHODS_EXCLUSIVE")


# fmt: off
STANDALONE_COMMUNITY_ONLY = table(
    "STANDALONE_COMMUNITY_ONLY",
    ok("community on standalone: an admin creates a user",
       STANDALONE_T, R.SUPER_ADMIN, A.ADMIN_CREATE_USER, "STANDALONE_LOCAL_PORTAL"),
    no("marketing on standalone: the initial upload is refused",
       tenant(None, marketing=STANDALONE), R.SUPER_ADMIN, A.INITIAL_UPLOAD,
       "STANDALONE_COMMUNITY_ONLY", product=MARKETING),
    no("marketing on standalone: deactivating a contact is refused",
       tenant(None, marketing=STANDALONE), R.SUPER_ADMIN, A.DEACTIVATE_USER,
       "STANDALONE_COMMUNITY_ONLY", product=MARKETING),
    ok("marketing on standalone: asking for a change of method is allowed",
       tenant(None, marketing=STANDALONE), R.SUPER_ADMIN, A.CHANGE_METHOD,
       "METHOD_CHANGE_IS_MIGRATION", product=MARKETING),
)
# fmt: on


@pytest.mark.parametrize("case", STANDALONE_COMMUNITY_ONLY, ids=spec)
def test_standalone_community_only(case: Case) -> None:
    """STANDALONE_COMMUNITY_ONLY: standalone applies to the Community product only."""
    verify(case)


# fmt: off
UPLOAD_COMMUNITY_OR_MARKETING = table(
    "UPLOAD_COMMUNITY_OR_MARKETING",
    ok("community on upload: a Super Admin's upload is allowed",
       UPLOAD_T, R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD, "UPLOAD_CSV_ONLY"),
    ok("marketing on upload: a Super Admin's upload is allowed",
       MARKETING_T, R.SUPER_ADMIN, A.INITIAL_UPLOAD, "UPLOAD_COMMUNITY_OR_MARKETING",
       product=MARKETING),
    no("marketing on standalone: an upload waits for spreadsheet upload",
       tenant(None, marketing=STANDALONE), R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD,
       "STANDALONE_COMMUNITY_ONLY", product=MARKETING),
    no("marketing on an integration: an upload waits for spreadsheet upload",
       tenant(None, marketing=INTEGRATION, system="imis"), R.SUPER_ADMIN,
       A.SUBSEQUENT_UPLOAD, "INTEGRATION_COMMUNITY_ONLY", product=MARKETING),
)
# fmt: on


@pytest.mark.parametrize("case", UPLOAD_COMMUNITY_OR_MARKETING, ids=spec)
def test_upload_community_or_marketing(case: Case) -> None:
    """UPLOAD_COMMUNITY_OR_MARKETING: spreadsheet upload applies to Community and Marketing."""
    verify(case)


# fmt: off
INTEGRATION_COMMUNITY_ONLY = table(
    "INTEGRATION_COMMUNITY_ONLY",
    ok("community on an integration: the integration syncs",
       IMIS_T, R.INTEGRATION, A.INTEGRATION_SYNC, "INTEGRATION_SOURCE_OF_TRUTH"),
    no("marketing on an integration: the integration's sync is refused",
       tenant(None, marketing=INTEGRATION, system="imis"), R.INTEGRATION,
       A.INTEGRATION_SYNC, "INTEGRATION_COMMUNITY_ONLY", product=MARKETING),
    no("marketing on an integration: deleting personal data is refused",
       tenant(None, marketing=INTEGRATION, system="imis"), R.SUPER_ADMIN,
       A.DELETE_PERSONAL_DATA, "INTEGRATION_COMMUNITY_ONLY", product=MARKETING),
    ok("marketing on an integration: asking for a change of method is allowed",
       tenant(None, marketing=INTEGRATION, system="imis"), R.SUPER_ADMIN, A.CHANGE_METHOD,
       "METHOD_CHANGE_IS_MIGRATION", product=MARKETING),
)
# fmt: on


@pytest.mark.parametrize("case", INTEGRATION_COMMUNITY_ONLY, ids=spec)
def test_integration_community_only(case: Case) -> None:
    """INTEGRATION_COMMUNITY_ONLY: standard integrations are offered for Community."""
    verify(case)


# fmt: off
METHOD_CHANGE_IS_MIGRATION = table(
    "METHOD_CHANGE_IS_MIGRATION",
    ok("community on standalone: a Super Admin asks for a change of method",
       STANDALONE_T, R.SUPER_ADMIN, A.CHANGE_METHOD, "METHOD_CHANGE_IS_MIGRATION"),
    ok("community on upload: a Super Admin asks for a change of method",
       UPLOAD_T, R.SUPER_ADMIN, A.CHANGE_METHOD, "METHOD_CHANGE_IS_MIGRATION"),
    ok("community on an integration: a Super Admin asks for a change of method",
       IMIS_T, R.SUPER_ADMIN, A.CHANGE_METHOD, "METHOD_CHANGE_IS_MIGRATION"),
    ok("marketing on upload: a Super Admin asks for a change of method",
       MARKETING_T, R.SUPER_ADMIN, A.CHANGE_METHOD, "METHOD_CHANGE_IS_MIGRATION",
       product=MARKETING),
    no("a Site Admin's request for a change of method is refused",
       UPLOAD_T, R.SITE_ADMIN, A.CHANGE_METHOD, "ROLE_PERMISSIONS"),
    no("the integration's request for a change of method is refused",
       IMIS_T, R.INTEGRATION, A.CHANGE_METHOD, "ROLE_PERMISSIONS"),
)
# fmt: on


@pytest.mark.parametrize("case", METHOD_CHANGE_IS_MIGRATION, ids=spec)
def test_method_change_is_migration(case: Case) -> None:
    """METHOD_CHANGE_IS_MIGRATION: changing a product's method is a migration, not a setting."""
    verify(case)


@pytest.mark.parametrize("role", list(R), ids=str)
@pytest.mark.parametrize(
    "t",
    [STANDALONE_T, UPLOAD_T, IMIS_T, tenant(INTEGRATION)],
    ids=["standalone", "upload", "imis", "integration without system"],
)
def test_change_of_method_always_warns_of_migration(t: pv.Tenant, role: pv.Role) -> None:
    """METHOD_CHANGE_IS_MIGRATION: every change-of-method decision, allowed or not, warns."""
    decision = pv.decide(t, pv.Actor(id="x", role=role), A.CHANGE_METHOD, as_of=AS_OF)
    warning = pv.DEFAULT_RULEBOOK.finding(
        pv.RuleId.METHOD_CHANGE_IS_MIGRATION,
        pv.Severity.WARNING,
        f"moving community off {t.products[COMMUNITY].value} is a migration, not a setting: it "
        "risks lost SSO access, duplicate records, lost history and broken syncs "
        "(see plan_migration)",
    )
    assert warning in decision.findings


# -- 2. What each method allows --------------------------------------------------------


# fmt: off
STANDALONE_LOCAL_PORTAL = table(
    "STANDALONE_LOCAL_PORTAL",
    ok("standalone: a member edits their own profile",
       STANDALONE_T, R.MEMBER, A.EDIT_OWN_PROFILE, "STANDALONE_LOCAL_PORTAL"),
    ok("standalone: a Site Admin edits a user",
       STANDALONE_T, R.SITE_ADMIN, A.ADMIN_EDIT_USER, "STANDALONE_LOCAL_PORTAL"),
    ok("standalone: a member signs in with a local password",
       STANDALONE_T, R.MEMBER, A.LOCAL_LOGIN, "STANDALONE_LOCAL_PORTAL"),
    no("standalone: the integration's sync is refused, records are managed locally",
       STANDALONE_T, R.INTEGRATION, A.INTEGRATION_SYNC, "STANDALONE_LOCAL_PORTAL"),
)
# fmt: on


@pytest.mark.parametrize("case", STANDALONE_LOCAL_PORTAL, ids=spec)
def test_standalone_local_portal(case: Case) -> None:
    """STANDALONE_LOCAL_PORTAL: under standalone the community is the portal; records are local."""
    verify(case)


# fmt: off
STANDALONE_ONE_TIME_UPLOAD = table(
    "STANDALONE_ONE_TIME_UPLOAD",
    ok("standalone: the initial upload is allowed before any upload",
       STANDALONE_T, R.SUPER_ADMIN, A.INITIAL_UPLOAD, "STANDALONE_ONE_TIME_UPLOAD"),
    no("standalone: the initial upload is refused once it happened",
       tenant(STANDALONE, initial_upload_done=True), R.SUPER_ADMIN, A.INITIAL_UPLOAD,
       "STANDALONE_ONE_TIME_UPLOAD"),
    no("standalone: a second upload is refused",
       tenant(STANDALONE, initial_upload_done=True), R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD,
       "STANDALONE_ONE_TIME_UPLOAD"),
    no("standalone: a later upload is refused even before the initial one",
       STANDALONE_T, R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD, "STANDALONE_ONE_TIME_UPLOAD"),
)
# fmt: on


@pytest.mark.parametrize("case", STANDALONE_ONE_TIME_UPLOAD, ids=spec)
def test_standalone_one_time_upload(case: Case) -> None:
    """STANDALONE_ONE_TIME_UPLOAD: standalone allows one initial upload; a second is refused."""
    verify(case)


# fmt: off
STANDALONE_ACCOUNT_REQUESTS = table(
    "STANDALONE_ACCOUNT_REQUESTS",
    ok("standalone, auto-approve: a member self-registers",
       tenant(requests="auto_approve"), R.MEMBER, A.SELF_REGISTER,
       "STANDALONE_ACCOUNT_REQUESTS"),
    ok("standalone, admin approval: a member self-registers",
       tenant(requests="admin_approval"), R.MEMBER, A.SELF_REGISTER,
       "STANDALONE_ACCOUNT_REQUESTS"),
    ok("standalone, admin approval with email verification: a member self-registers",
       tenant(requests="admin_approval", verification=True), R.MEMBER, A.SELF_REGISTER,
       "STANDALONE_ACCOUNT_REQUESTS"),
    no("standalone, requests disabled: self-registration is refused",
       tenant(requests="disabled"), R.MEMBER, A.SELF_REGISTER,
       "STANDALONE_ACCOUNT_REQUESTS"),
    no("spreadsheet upload: self-registration is refused, only standalone takes requests",
       UPLOAD_T, R.MEMBER, A.SELF_REGISTER, "STANDALONE_ACCOUNT_REQUESTS"),
    no("integration: self-registration is refused, only standalone takes requests",
       IMIS_T, R.MEMBER, A.SELF_REGISTER, "STANDALONE_ACCOUNT_REQUESTS"),
)
# fmt: on


@pytest.mark.parametrize("case", STANDALONE_ACCOUNT_REQUESTS, ids=spec)
def test_standalone_account_requests(case: Case) -> None:
    """STANDALONE_ACCOUNT_REQUESTS: only standalone sites take account requests."""
    verify(case)


# fmt: off
ACCOUNT_REQUEST_REVIEW = table(
    "ACCOUNT_REQUEST_REVIEW",
    ok("standalone, admin approval: a Super Admin approves a request",
       tenant(requests="admin_approval"), R.SUPER_ADMIN, A.APPROVE_REQUEST,
       "ACCOUNT_REQUEST_REVIEW"),
    ok("standalone, admin approval: a Site Admin rejects a request",
       tenant(requests="admin_approval"), R.SITE_ADMIN, A.REJECT_REQUEST,
       "ACCOUNT_REQUEST_REVIEW"),
    no("standalone, auto-approve: there is no request to approve",
       tenant(requests="auto_approve"), R.SUPER_ADMIN, A.APPROVE_REQUEST,
       "ACCOUNT_REQUEST_REVIEW"),
    no("standalone, requests disabled: there is no request to reject",
       tenant(requests="disabled"), R.SUPER_ADMIN, A.REJECT_REQUEST,
       "ACCOUNT_REQUEST_REVIEW"),
    no("standalone, admin approval: a moderator reviews no request",
       tenant(requests="admin_approval"), R.COMMUNITY_MODERATOR, A.APPROVE_REQUEST,
       "ROLE_PERMISSIONS"),
    no("spreadsheet upload: no account requests to approve",
       UPLOAD_T, R.SUPER_ADMIN, A.APPROVE_REQUEST, "STANDALONE_ACCOUNT_REQUESTS"),
    no("integration: no account requests to reject",
       IMIS_T, R.SUPER_ADMIN, A.REJECT_REQUEST, "STANDALONE_ACCOUNT_REQUESTS"),
)
EMAIL_VERIFICATION = table(
    "EMAIL_VERIFICATION",
    ok("standalone, admin approval with verification: the registrant verifies",
       tenant(requests="admin_approval", verification=True), R.MEMBER, A.VERIFY_EMAIL,
       "EMAIL_VERIFICATION"),
    ok("standalone, auto-approve with verification: the registrant verifies",
       tenant(requests="auto_approve", verification=True), R.MEMBER, A.VERIFY_EMAIL,
       "EMAIL_VERIFICATION"),
    no("standalone without verification: nothing to verify",
       tenant(requests="admin_approval"), R.MEMBER, A.VERIFY_EMAIL, "EMAIL_VERIFICATION"),
    no("standalone, requests disabled: nothing to verify",
       tenant(requests="disabled"), R.MEMBER, A.VERIFY_EMAIL, "EMAIL_VERIFICATION"),
    no("spreadsheet upload: no registrations to verify",
       UPLOAD_T, R.MEMBER, A.VERIFY_EMAIL, "STANDALONE_ACCOUNT_REQUESTS"),
)
REACTIVATE_USER = table(
    "REACTIVATE_USER",
    ok("standalone: a Super Admin reactivates a user",
       STANDALONE_T, R.SUPER_ADMIN, A.REACTIVATE_USER, "REACTIVATE_USER"),
    ok("integration: the integration reactivates explicitly",
       IMIS_T, R.INTEGRATION, A.REACTIVATE_USER, "REACTIVATE_USER"),
    no("integration: a Super Admin does not reactivate locally",
       IMIS_T, R.MEMBER, A.REACTIVATE_USER, "ROLE_PERMISSIONS"),
    no("spreadsheet upload: the file's Status column reactivates, not an admin",
       UPLOAD_T, R.SUPER_ADMIN, A.REACTIVATE_USER, "UPLOAD_SINGLE_SOURCE"),
)
# fmt: on


@pytest.mark.parametrize(
    "case", ACCOUNT_REQUEST_REVIEW + EMAIL_VERIFICATION + REACTIVATE_USER, ids=spec
)
def test_reviews_verifications_and_reactivations(case: Case) -> None:
    """ACCOUNT_REQUEST_REVIEW, EMAIL_VERIFICATION, REACTIVATE_USER (ours)."""
    verify(case)


@pytest.mark.parametrize(
    ("requests", "verification", "message"),
    [
        ("auto_approve", False, "the account is enabled at once"),
        ("auto_approve", True, "after verifying their email, the account is enabled at once"),
        ("admin_approval", False, "the account waits as Pending Approval for an admin"),
        (
            "admin_approval",
            True,
            "after verifying their email, the account waits as Pending Approval for an admin",
        ),
    ],
    ids=["auto-approve", "auto-approve, verified", "admin approval", "admin approval, verified"],
)
def test_account_request_outcome_is_explained(
    requests: str, verification: bool, message: str
) -> None:
    """STANDALONE_ACCOUNT_REQUESTS: a self-registration says what happens to the request."""
    t = tenant(requests=requests, verification=verification)
    decision = pv.decide(t, pv.Actor(id="m", role=R.MEMBER), A.SELF_REGISTER)
    assert [f.message for f in decision.findings] == [message]


# fmt: off
UPLOAD_SINGLE_SOURCE = table(
    "UPLOAD_SINGLE_SOURCE",
    ok("spreadsheet upload: a Super Admin's initial upload is allowed",
       UPLOAD_T, R.SUPER_ADMIN, A.INITIAL_UPLOAD, "UPLOAD_CSV_ONLY"),
    ok("spreadsheet upload: a Super Admin's later upload is allowed, however many before",
       tenant(UPLOAD, initial_upload_done=True), R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD,
       "UPLOAD_CSV_ONLY"),
    no("spreadsheet upload: self-registration is refused",
       UPLOAD_T, R.MEMBER, A.SELF_REGISTER, "UPLOAD_SINGLE_SOURCE"),
    no("spreadsheet upload: a member's edit of their own profile is refused",
       UPLOAD_T, R.MEMBER, A.EDIT_OWN_PROFILE, "UPLOAD_SINGLE_SOURCE"),
    no("spreadsheet upload: a Super Admin creating a user locally is refused",
       UPLOAD_T, R.SUPER_ADMIN, A.ADMIN_CREATE_USER, "UPLOAD_SINGLE_SOURCE"),
    no("spreadsheet upload: a Site Admin editing a user locally is refused",
       UPLOAD_T, R.SITE_ADMIN, A.ADMIN_EDIT_USER, "UPLOAD_SINGLE_SOURCE"),
)
# fmt: on


@pytest.mark.parametrize("case", UPLOAD_SINGLE_SOURCE, ids=spec)
def test_upload_single_source(case: Case) -> None:
    """UPLOAD_SINGLE_SOURCE: under spreadsheet upload every creation and update is an upload."""
    verify(case)


# fmt: off
UPLOAD_SUPER_ADMIN_ONLY = table(
    "UPLOAD_SUPER_ADMIN_ONLY",
    ok("spreadsheet upload: a Super Admin uploads",
       UPLOAD_T, R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD),
    ok("standalone: a Super Admin makes the initial upload",
       STANDALONE_T, R.SUPER_ADMIN, A.INITIAL_UPLOAD),
    *(
        no(f"spreadsheet upload: a {role.value}'s upload is refused",
           UPLOAD_T, role, A.SUBSEQUENT_UPLOAD, "UPLOAD_SUPER_ADMIN_ONLY")
        for role in R
        if role is not R.SUPER_ADMIN
    ),
    no("standalone: a Site Admin's initial upload is refused",
       STANDALONE_T, R.SITE_ADMIN, A.INITIAL_UPLOAD, "UPLOAD_SUPER_ADMIN_ONLY"),
    no("marketing on upload: a Community Admin's upload is refused",
       MARKETING_T, R.COMMUNITY_ADMIN, A.INITIAL_UPLOAD, "UPLOAD_SUPER_ADMIN_ONLY",
       product=MARKETING),
)
# fmt: on


@pytest.mark.parametrize("case", UPLOAD_SUPER_ADMIN_ONLY, ids=spec)
def test_upload_super_admin_only(case: Case) -> None:
    """UPLOAD_SUPER_ADMIN_ONLY: only a Super Admin may import or update records by spreadsheet."""
    verify(case)


# fmt: off
UPLOAD_CSV_ONLY = table(
    "UPLOAD_CSV_ONLY",
    ok("spreadsheet upload: an upload is a .csv from the vendor's template",
       UPLOAD_T, R.SUPER_ADMIN, A.INITIAL_UPLOAD, "UPLOAD_CSV_ONLY"),
    ok("marketing on upload: an upload is a .csv from the vendor's template",
       MARKETING_T, R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD, "UPLOAD_CSV_ONLY", product=MARKETING),
    no("spreadsheet upload: an integration sync is refused, there is no API",
       UPLOAD_T, R.INTEGRATION, A.INTEGRATION_SYNC, "UPLOAD_CSV_ONLY"),
    no("spreadsheet upload naming a system: an integration sync is still refused",
       tenant(UPLOAD, system="imis"), R.INTEGRATION, A.INTEGRATION_SYNC, "UPLOAD_CSV_ONLY"),
)
# fmt: on


@pytest.mark.parametrize("case", UPLOAD_CSV_ONLY, ids=spec)
def test_upload_csv_only(case: Case) -> None:
    """UPLOAD_CSV_ONLY: the upload is a .csv from the template; no API, FTP or integration."""
    verify(case)


# fmt: off
CUSTOMER_OWNS_CHANGE_REQUESTS = table(
    "CUSTOMER_OWNS_CHANGE_REQUESTS",
    ok("spreadsheet upload: a later upload carries the customer's captured changes",
       UPLOAD_T, R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD, "CUSTOMER_OWNS_CHANGE_REQUESTS"),
    no("spreadsheet upload: a member's own edit is refused, to go through the customer",
       UPLOAD_T, R.MEMBER, A.EDIT_OWN_PROFILE, "UPLOAD_SINGLE_SOURCE"),
)
# fmt: on


@pytest.mark.parametrize("case", CUSTOMER_OWNS_CHANGE_REQUESTS, ids=spec)
def test_customer_owns_change_requests(case: Case) -> None:
    """CUSTOMER_OWNS_CHANGE_REQUESTS: the customer runs the workflows capturing change requests."""
    verify(case)


def test_refused_local_edit_points_to_the_customers_workflow() -> None:
    """CUSTOMER_OWNS_CHANGE_REQUESTS: a refused local edit says where the change goes instead."""
    decision = pv.decide(UPLOAD_T, pv.Actor(id="m", role=R.MEMBER), A.EDIT_OWN_PROFILE)
    assert decision.findings[-1] == pv.Finding(
        pv.RuleId.CUSTOMER_OWNS_CHANGE_REQUESTS,
        pv.Severity.INFO,
        "send the change to the customer's change-request workflow for the next upload",
        "seed: the vendor's help page on the three methods",
    )


# fmt: off
INTEGRATION_SOURCE_OF_TRUTH = table(
    "INTEGRATION_SOURCE_OF_TRUTH",
    ok("integration: the integration syncs records",
       IMIS_T, R.INTEGRATION, A.INTEGRATION_SYNC, "INTEGRATION_SOURCE_OF_TRUTH"),
    ok("integration: a host-added system syncs records",
       tenant(INTEGRATION, system="acme_ams"), R.INTEGRATION, A.INTEGRATION_SYNC,
       "INTEGRATION_SOURCE_OF_TRUTH",
       rulebook=pv.RuleBook().with_systems(pv.IntegrationSystem(id="acme_ams", name="Acme"))),
    no("integration: a Super Admin's initial upload is refused",
       IMIS_T, R.SUPER_ADMIN, A.INITIAL_UPLOAD, "INTEGRATION_SOURCE_OF_TRUTH"),
    no("integration: a Super Admin's later upload is refused",
       IMIS_T, R.SUPER_ADMIN, A.SUBSEQUENT_UPLOAD, "INTEGRATION_SOURCE_OF_TRUTH"),
    no("integration: self-registration is refused",
       IMIS_T, R.MEMBER, A.SELF_REGISTER, "INTEGRATION_SOURCE_OF_TRUTH"),
    no("integration: a member's edit of their own profile is refused",
       IMIS_T, R.MEMBER, A.EDIT_OWN_PROFILE, "INTEGRATION_SOURCE_OF_TRUTH"),
    no("integration: a Super Admin creating a user locally is refused",
       IMIS_T, R.SUPER_ADMIN, A.ADMIN_CREATE_USER, "INTEGRATION_SOURCE_OF_TRUTH"),
    no("integration: a Site Admin editing a user locally is refused",
       IMIS_T, R.SITE_ADMIN, A.ADMIN_EDIT_USER, "INTEGRATION_SOURCE_OF_TRUTH"),
)
# fmt: on


@pytest.mark.parametrize("case", INTEGRATION_SOURCE_OF_TRUTH, ids=spec)
def test_integration_source_of_truth(case: Case) -> None:
    """INTEGRATION_SOURCE_OF_TRUTH: the AMS/CRM is the authority; no uploads, no registration."""
    verify(case)


# fmt: off
DEACTIVATE_NOT_DELETE = table(
    "DEACTIVATE_NOT_DELETE",
    *(
        ok(f"{t.products[COMMUNITY].value}: a {role.value} deactivates a user",
           t, role, A.DEACTIVATE_USER, "DEACTIVATE_NOT_DELETE")
        for t in (STANDALONE_T, UPLOAD_T, IMIS_T)
        for role in (R.SUPER_ADMIN, R.SITE_ADMIN)
    ),
    ok("integration: the integration deactivates a user",
       IMIS_T, R.INTEGRATION, A.DEACTIVATE_USER, "DEACTIVATE_NOT_DELETE"),
    ok("marketing on upload: a Super Admin deactivates a contact",
       MARKETING_T, R.SUPER_ADMIN, A.DEACTIVATE_USER, "DEACTIVATE_NOT_DELETE",
       product=MARKETING),
    ok("standalone: a Super Admin deletes a user's personal data",
       STANDALONE_T, R.SUPER_ADMIN, A.DELETE_PERSONAL_DATA, "DEACTIVATE_NOT_DELETE"),
    ok("integration: a Site Admin deletes a user's personal data",
       IMIS_T, R.SITE_ADMIN, A.DELETE_PERSONAL_DATA, "DEACTIVATE_NOT_DELETE"),
    no("standalone: a member deactivating a user is refused",
       STANDALONE_T, R.MEMBER, A.DEACTIVATE_USER, "ROLE_PERMISSIONS"),
    no("spreadsheet upload: the integration deactivating a user is refused",
       UPLOAD_T, R.INTEGRATION, A.DEACTIVATE_USER, "ROLE_PERMISSIONS"),
    no("integration: the integration deleting personal data is refused",
       IMIS_T, R.INTEGRATION, A.DELETE_PERSONAL_DATA, "ROLE_PERMISSIONS"),
    no("standalone: a Community Admin deleting personal data is refused",
       STANDALONE_T, R.COMMUNITY_ADMIN, A.DELETE_PERSONAL_DATA, "ROLE_PERMISSIONS"),
)
# fmt: on


@pytest.mark.parametrize("case", DEACTIVATE_NOT_DELETE, ids=spec)
def test_deactivate_not_delete(case: Case) -> None:
    """DEACTIVATE_NOT_DELETE: deactivation blocks login and is reversible; deletion is separate."""
    verify(case)


def test_deactivation_is_reversible_information() -> None:
    """DEACTIVATE_NOT_DELETE: a deactivation is an INFO that it keeps content and is reversible."""
    decision = pv.decide(UPLOAD_T, pv.Actor(id="a", role=R.SUPER_ADMIN), A.DEACTIVATE_USER)
    assert [(f.severity, f.message) for f in decision.findings] == [
        (
            pv.Severity.INFO,
            "deactivation blocks login, keeps the user's content and can be reversed",
        )
    ]


def test_deletion_is_a_warning_distinct_from_deactivation() -> None:
    """DEACTIVATE_NOT_DELETE: deleting personal data warns that it cannot be undone."""
    decision = pv.decide(UPLOAD_T, pv.Actor(id="a", role=R.SUPER_ADMIN), A.DELETE_PERSONAL_DATA)
    assert [(f.severity, f.message) for f in decision.findings] == [
        (
            pv.Severity.WARNING,
            (
                "deleting personal data is not a deactivation: it cannot be undone, and a sync "
                "does not bring the data back"
            ),
        )
    ]


def test_deactivation_under_integration_survives_syncs() -> None:
    """DEACTIVATE_NOT_DELETE: under an integration, a later sync does not reactivate the user."""
    decision = pv.decide(IMIS_T, pv.Actor(id="a", role=R.SUPER_ADMIN), A.DEACTIVATE_USER)
    assert decision.findings[-1].message == "a later sync does not reactivate the user"


def test_sync_says_it_does_not_undo_deactivation_or_deletion() -> None:
    """DEACTIVATE_NOT_DELETE: a sync carries that it undoes neither deactivation nor deletion."""
    decision = pv.decide(IMIS_T, pv.Actor(id="i", role=R.INTEGRATION), A.INTEGRATION_SYNC)
    assert decision.findings[-1].message == "a sync does not undo a deactivation or a deletion"


# -- Our own permission rules ----------------------------------------------------------

COMMUNITY_ADMINS = pv.RuleBook().with_settings(
    user_admin_roles={R.SUPER_ADMIN, R.SITE_ADMIN, R.COMMUNITY_ADMIN}
)


# fmt: off
PRODUCT_NOT_LICENSED = table(
    "PRODUCT_NOT_LICENSED",
    ok("community licensed: a member signs in",
       STANDALONE_T, R.MEMBER, A.LOCAL_LOGIN),
    no("marketing not licensed: a Super Admin's marketing upload is refused",
       UPLOAD_T, R.SUPER_ADMIN, A.INITIAL_UPLOAD, "PRODUCT_NOT_LICENSED", product=MARKETING),
    no("community not licensed: a member's login is refused",
       MARKETING_T, R.MEMBER, A.LOCAL_LOGIN, "PRODUCT_NOT_LICENSED"),
    no("community not licensed: a change of method is refused, there is nothing to move",
       MARKETING_T, R.SUPER_ADMIN, A.CHANGE_METHOD, "PRODUCT_NOT_LICENSED"),
)
# fmt: on


@pytest.mark.parametrize("case", PRODUCT_NOT_LICENSED, ids=spec)
def test_product_not_licensed(case: Case) -> None:
    """PRODUCT_NOT_LICENSED (ours): an action on a product the tenant lacks is refused."""
    verify(case)


# fmt: off
ROLE_PERMISSIONS = table(
    "ROLE_PERMISSIONS",
    ok("standalone: a Super Admin creates a user",
       STANDALONE_T, R.SUPER_ADMIN, A.ADMIN_CREATE_USER),
    ok("standalone: a Site Admin creates a user",
       STANDALONE_T, R.SITE_ADMIN, A.ADMIN_CREATE_USER),
    ok("standalone, Community Admins made user admins: a Community Admin creates a user",
       STANDALONE_T, R.COMMUNITY_ADMIN, A.ADMIN_CREATE_USER, rulebook=COMMUNITY_ADMINS),
    no("standalone: a Community Admin creating a user is refused by default",
       STANDALONE_T, R.COMMUNITY_ADMIN, A.ADMIN_CREATE_USER, "ROLE_PERMISSIONS"),
    no("standalone: a Community Moderator editing a user is refused",
       STANDALONE_T, R.COMMUNITY_MODERATOR, A.ADMIN_EDIT_USER, "ROLE_PERMISSIONS"),
    no("standalone: a Volunteer Admin editing a user is refused",
       STANDALONE_T, R.VOLUNTEER_ADMIN, A.ADMIN_EDIT_USER, "ROLE_PERMISSIONS"),
    no("standalone, requests auto-approved: the integration self-registering is refused",
       tenant(requests="auto_approve"), R.INTEGRATION, A.SELF_REGISTER, "ROLE_PERMISSIONS"),
    no("standalone: the integration editing its own profile is refused",
       STANDALONE_T, R.INTEGRATION, A.EDIT_OWN_PROFILE, "ROLE_PERMISSIONS"),
    no("standalone: the integration signing in is refused",
       STANDALONE_T, R.INTEGRATION, A.LOCAL_LOGIN, "ROLE_PERMISSIONS"),
    no("integration: the integration signing in by SSO is refused",
       tenant(INTEGRATION, system="imis", sso_setup=sso()), R.INTEGRATION, A.SSO_LOGIN,
       "ROLE_PERMISSIONS"),
    no("integration: a Super Admin running the sync is refused",
       IMIS_T, R.SUPER_ADMIN, A.INTEGRATION_SYNC, "ROLE_PERMISSIONS"),
    no("spreadsheet upload: a Site Admin asking for a change of method is refused",
       UPLOAD_T, R.SITE_ADMIN, A.CHANGE_METHOD, "ROLE_PERMISSIONS"),
)
# fmt: on


@pytest.mark.parametrize("case", ROLE_PERMISSIONS, ids=spec)
def test_role_permissions(case: Case) -> None:
    """ROLE_PERMISSIONS (ours): user admins manage records; Super Admins change methods."""
    verify(case)


# fmt: off
INTEGRATION_SYSTEM_REQUIRED = table(
    "INTEGRATION_SYSTEM_REQUIRED",
    ok("integration naming its system: the sync is allowed",
       IMIS_T, R.INTEGRATION, A.INTEGRATION_SYNC),
    no("integration naming no system: the sync is refused",
       tenant(INTEGRATION), R.INTEGRATION, A.INTEGRATION_SYNC, "INTEGRATION_SYSTEM_REQUIRED"),
)
# fmt: on


@pytest.mark.parametrize("case", INTEGRATION_SYSTEM_REQUIRED, ids=spec)
def test_integration_system_required(case: Case) -> None:
    """INTEGRATION_SYSTEM_REQUIRED (ours): a product on integration names its system."""
    verify(case)


# fmt: off
INTEGRATION_SYSTEM_UNKNOWN = table(
    "INTEGRATION_SYSTEM_UNKNOWN",
    ok("integration with a catalog system: the sync is allowed",
       tenant(INTEGRATION, system="salesforce"), R.INTEGRATION, A.INTEGRATION_SYNC),
    no("integration with a system the catalog lacks: the sync is refused",
       tenant(INTEGRATION, system="acme_ams"), R.INTEGRATION, A.INTEGRATION_SYNC,
       "INTEGRATION_SYSTEM_UNKNOWN"),
)
# fmt: on


@pytest.mark.parametrize("case", INTEGRATION_SYSTEM_UNKNOWN, ids=spec)
def test_integration_system_unknown(case: Case) -> None:
    """INTEGRATION_SYSTEM_UNKNOWN (ours): the integrated system is one the catalog knows."""
    verify(case)


# -- 3. Single sign-on -------------------------------------------------------------------


def upload_sso(
    protocol: str = "saml_2_0",
    *,
    signed: bool = True,
    lck: bool = True,
    vendor_idp: bool = False,
    go_live: dt.date | None = PAST,
) -> pv.Tenant:
    """A spreadsheet-upload tenant with an SSO setup (complete and live by default)."""
    setup = sso(protocol, signed=signed, lck=lck, vendor_idp=vendor_idp, go_live=go_live)
    return tenant(UPLOAD, sso_setup=setup)


def imis_sso(system: str | None = "imis") -> pv.Tenant:
    return tenant(INTEGRATION, system=system, sso_setup=sso())


# fmt: off
SSO_NOT_WITH_STANDALONE = table(
    "SSO_NOT_WITH_STANDALONE",
    ok("spreadsheet upload with live SSO: a member signs in by SSO",
       upload_sso(), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    no("standalone with a complete SSO setup: SSO login is refused",
       tenant(STANDALONE, sso_setup=sso()), R.MEMBER, A.SSO_LOGIN, "SSO_NOT_WITH_STANDALONE"),
    no("standalone without SSO: SSO login is refused",
       STANDALONE_T, R.MEMBER, A.SSO_LOGIN, "SSO_NOT_WITH_STANDALONE"),
    ok("standalone with an SSO setup: local login stays allowed",
       tenant(STANDALONE, sso_setup=sso()), R.MEMBER, A.LOCAL_LOGIN,
       "STANDALONE_LOCAL_PORTAL"),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_NOT_WITH_STANDALONE, ids=spec)
def test_sso_not_with_standalone(case: Case) -> None:
    """SSO_NOT_WITH_STANDALONE: SSO is not supported under standalone."""
    verify(case)


# fmt: off
SSO_UPLOAD_CONDITIONAL = table(
    "SSO_UPLOAD_CONDITIONAL",
    ok("spreadsheet upload, every requirement met: SSO login is allowed",
       upload_sso(), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    no("spreadsheet upload without an SSO setup: SSO login is refused",
       UPLOAD_T, R.MEMBER, A.SSO_LOGIN, "SSO_PROTOCOLS"),
    no("spreadsheet upload, identifier not the LegacyContactKey: SSO login is refused",
       upload_sso(lck=False), R.MEMBER, A.SSO_LOGIN, "SSO_IDENTIFIER_MATCH"),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_UPLOAD_CONDITIONAL, ids=spec)
def test_sso_upload_conditional(case: Case) -> None:
    """SSO_UPLOAD_CONDITIONAL: under spreadsheet upload SSO works once requirements are met."""
    verify(case)


# fmt: off
SSO_INTEGRATION_BY_SYSTEM = table(
    "SSO_INTEGRATION_BY_SYSTEM",
    ok("iMIS (SSO confirmed): SSO login is allowed",
       imis_sso("imis"), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    ok("Salesforce (SSO confirmed): SSO login is allowed",
       imis_sso("salesforce"), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    no("netFORUM Pro (SSO denied): SSO login is refused",
       imis_sso("netforum_pro"), R.MEMBER, A.SSO_LOGIN, "SSO_INTEGRATION_BY_SYSTEM"),
    no("NeonCRM (SSO unknown): SSO login is refused, unknown is not supported",
       imis_sso("neoncrm"), R.MEMBER, A.SSO_LOGIN, "SSO_INTEGRATION_BY_SYSTEM"),
    no("no integrated system: SSO login is refused",
       imis_sso(None), R.MEMBER, A.SSO_LOGIN, "SSO_INTEGRATION_BY_SYSTEM"),
    no("a system the catalog lacks: SSO login is refused",
       imis_sso("acme_ams"), R.MEMBER, A.SSO_LOGIN, "SSO_INTEGRATION_BY_SYSTEM"),
    ok("netFORUM Pro (SSO denied): local login stays allowed",
       imis_sso("netforum_pro"), R.MEMBER, A.LOCAL_LOGIN, "SSO_IN_EFFECT"),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_INTEGRATION_BY_SYSTEM, ids=spec)
def test_sso_integration_by_system(case: Case) -> None:
    """SSO_INTEGRATION_BY_SYSTEM: under an integration SSO depends on the integrated system."""
    verify(case)


# fmt: off
SSO_PROTOCOLS = table(
    "SSO_PROTOCOLS",
    *(
        ok(f"{protocol}: SSO login is allowed",
           upload_sso(protocol=protocol), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT")
        for protocol in ("saml_2_0", "oauth_2_0", "openid_connect")
    ),
    *(
        no(f"{protocol}: SSO login is refused",
           upload_sso(protocol=protocol), R.MEMBER, A.SSO_LOGIN, "SSO_PROTOCOLS")
        for protocol in ("saml_1_1", "ws_federation", "cas")
    ),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_PROTOCOLS, ids=spec)
def test_sso_protocols(case: Case) -> None:
    """SSO_PROTOCOLS: supported protocols are SAML 2.0, OAuth 2.0 and OpenID Connect."""
    verify(case)


# fmt: off
SSO_EXTERNAL_IDP = table(
    "SSO_EXTERNAL_IDP",
    ok("the customer's system is the IdP: SSO login is allowed",
       upload_sso(), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    no("the vendor would be the IdP: SSO login is refused",
       upload_sso(vendor_idp=True), R.MEMBER, A.SSO_LOGIN, "SSO_EXTERNAL_IDP"),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_EXTERNAL_IDP, ids=spec)
def test_sso_external_idp(case: Case) -> None:
    """SSO_EXTERNAL_IDP: the customer's system is the identity provider, the vendor the SP."""
    verify(case)


# fmt: off
SSO_IDENTIFIER_MATCH = table(
    "SSO_IDENTIFIER_MATCH",
    ok("the asserted identifier is the LegacyContactKey: SSO login is allowed",
       upload_sso(lck=True), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    no("the asserted identifier is not the LegacyContactKey: SSO login is refused",
       upload_sso(lck=False), R.MEMBER, A.SSO_LOGIN, "SSO_IDENTIFIER_MATCH"),
    no("integration, identifier not the LegacyContactKey: SSO login is refused",
       tenant(INTEGRATION, system="imis", sso_setup=sso(lck=False)), R.MEMBER, A.SSO_LOGIN,
       "SSO_IDENTIFIER_MATCH"),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_IDENTIFIER_MATCH, ids=spec)
def test_sso_identifier_match(case: Case) -> None:
    """SSO_IDENTIFIER_MATCH: the identifier the IdP asserts must equal the LegacyContactKey."""
    verify(case)


# fmt: off
SSO_SAML_SIGNED = table(
    "SSO_SAML_SIGNED",
    ok("SAML 2.0, signed: SSO login is allowed",
       upload_sso(signed=True), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    no("SAML 2.0, unsigned: SSO login is refused",
       upload_sso(signed=False), R.MEMBER, A.SSO_LOGIN, "SSO_SAML_SIGNED"),
    no("SAML 1.1, unsigned: SSO login is refused for the signature too",
       upload_sso(protocol="saml_1_1", signed=False), R.MEMBER, A.SSO_LOGIN,
       "SSO_SAML_SIGNED"),
    ok("OpenID Connect, no SAML signature: SSO login is allowed",
       upload_sso(protocol="openid_connect", signed=False), R.MEMBER, A.SSO_LOGIN),
    ok("OAuth 2.0, no SAML signature: SSO login is allowed",
       upload_sso(protocol="oauth_2_0", signed=False), R.MEMBER, A.SSO_LOGIN),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_SAML_SIGNED, ids=spec)
def test_sso_saml_signed(case: Case) -> None:
    """SSO_SAML_SIGNED: SAML requests and responses must be signed."""
    verify(case)


MARKETING_SSO = pv.RuleBook().with_settings(sso_products={COMMUNITY, MARKETING})


# fmt: off
SSO_NOT_MARKETING = table(
    "SSO_NOT_MARKETING",
    ok("community with live SSO: SSO login is allowed",
       tenant(UPLOAD, marketing=UPLOAD, sso_setup=sso()), R.MEMBER, A.SSO_LOGIN),
    no("marketing: SSO login is refused",
       tenant(UPLOAD, marketing=UPLOAD, sso_setup=sso()), R.MEMBER, A.SSO_LOGIN,
       "SSO_NOT_MARKETING", product=MARKETING),
    no("marketing: local login is refused, contacts do not sign in",
       MARKETING_T, R.MEMBER, A.LOCAL_LOGIN, "SSO_NOT_MARKETING", product=MARKETING),
    ok("marketing, with a rulebook applying SSO to marketing: local login is allowed",
       MARKETING_T, R.MEMBER, A.LOCAL_LOGIN, "SSO_IN_EFFECT", product=MARKETING,
       rulebook=MARKETING_SSO),
    no("community, with a rulebook applying SSO to nothing: local login is refused",
       UPLOAD_T, R.MEMBER, A.LOCAL_LOGIN, "SSO_NOT_MARKETING",
       rulebook=pv.RuleBook().with_settings(sso_products=())),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_NOT_MARKETING, ids=spec)
def test_sso_not_marketing(case: Case) -> None:
    """SSO_NOT_MARKETING (ours): SSO, and login at all, is a Community concern."""
    verify(case)


TEN_WEEKS = pv.RuleBook().with_settings(sso_lead_time=relativedelta(weeks=10))
IN_1_WEEK = AS_OF + dt.timedelta(weeks=1)
IN_3_WEEKS = AS_OF + dt.timedelta(weeks=3)
IN_4_WEEKS = AS_OF + dt.timedelta(weeks=4)

# fmt: off
SSO_LEAD_TIME = table(
    "SSO_LEAD_TIME",
    ok("go-live came a month ago: SSO login is allowed",
       upload_sso(go_live=PAST), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    ok("go-live is today: SSO login is allowed",
       upload_sso(go_live=AS_OF), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    no("go-live in one week, less than the 3-week notice: SSO login is refused",
       upload_sso(go_live=IN_1_WEEK), R.MEMBER, A.SSO_LOGIN, "SSO_LEAD_TIME"),
    no("no go-live date requested: SSO login is refused",
       upload_sso(go_live=None), R.MEMBER, A.SSO_LOGIN, "SSO_LEAD_TIME"),
    no("go-live in 4 weeks, with a 10-week notice: SSO login is refused",
       upload_sso(go_live=IN_4_WEEKS), R.MEMBER, A.SSO_LOGIN, "SSO_LEAD_TIME",
       rulebook=TEN_WEEKS),
    ok("go-live in one week, too soon for SSO: local login stays allowed",
       upload_sso(go_live=IN_1_WEEK), R.MEMBER, A.LOCAL_LOGIN, "SSO_IN_EFFECT"),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_LEAD_TIME, ids=spec)
def test_sso_lead_time(case: Case) -> None:
    """SSO_LEAD_TIME (default ours): an SSO change needs 3 weeks' notice before its go-live."""
    verify(case)


LOCAL_KEPT = pv.RuleBook().with_settings(local_login_with_sso=True)

# fmt: off
SSO_IN_EFFECT = table(
    "SSO_IN_EFFECT",
    ok("spreadsheet upload, SSO live: a member signs in by SSO",
       upload_sso(), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    ok("integration (iMIS), SSO live: a member signs in by SSO",
       tenant(INTEGRATION, system="imis", sso_setup=sso()), R.MEMBER, A.SSO_LOGIN,
       "SSO_IN_EFFECT"),
    no("spreadsheet upload, SSO live: local password login is refused",
       upload_sso(), R.MEMBER, A.LOCAL_LOGIN, "SSO_IN_EFFECT"),
    no("spreadsheet upload, SSO eligible, go-live in 4 weeks: SSO login is refused until then",
       upload_sso(go_live=IN_4_WEEKS), R.MEMBER, A.SSO_LOGIN, "SSO_IN_EFFECT"),
    ok("spreadsheet upload, SSO eligible, go-live in 4 weeks: local login is allowed",
       upload_sso(go_live=IN_4_WEEKS), R.MEMBER, A.LOCAL_LOGIN, "SSO_IN_EFFECT"),
    ok("spreadsheet upload, no SSO: local login is allowed",
       UPLOAD_T, R.MEMBER, A.LOCAL_LOGIN, "SSO_IN_EFFECT"),
    ok("spreadsheet upload, SSO unsigned: local login is allowed",
       upload_sso(signed=False), R.MEMBER, A.LOCAL_LOGIN, "SSO_IN_EFFECT"),
    ok("spreadsheet upload, SSO live, local_login_with_sso set: local login is allowed",
       upload_sso(), R.MEMBER, A.LOCAL_LOGIN, "SSO_IN_EFFECT", rulebook=LOCAL_KEPT),
)
# fmt: on


@pytest.mark.parametrize("case", SSO_IN_EFFECT, ids=spec)
def test_sso_in_effect(case: Case) -> None:
    """SSO_IN_EFFECT (ours): from go-live users sign in through the IdP; local login is off."""
    verify(case)


# -- Configuration-only rules: check() is where they apply -----------------------------


class ConfigCase(NamedTuple):
    spec: str
    tenant: pv.Tenant
    found: bool


CONFIG_TABLES: dict[str, tuple[ConfigCase, ...]] = {
    "INTEGRATION_SYSTEM_UNUSED": (
        ConfigCase("integration naming its system: nothing to say", IMIS_T, False),
        ConfigCase("standalone naming no system: nothing to say", STANDALONE_T, False),
        ConfigCase(
            "spreadsheet upload naming a system: the system is unused",
            tenant(UPLOAD, system="imis"),
            True,
        ),
        ConfigCase(
            "marketing-only on upload naming a system: the system is unused",
            tenant(None, marketing=UPLOAD, system="salesforce"),
            True,
        ),
    ),
}


@pytest.mark.parametrize(
    "case",
    CONFIG_TABLES["INTEGRATION_SYSTEM_UNUSED"],
    ids=lambda c: c.spec,
)
def test_integration_system_unused(case: ConfigCase) -> None:
    """INTEGRATION_SYSTEM_UNUSED (ours): a tenant naming a system has a product integrated."""
    assert ("INTEGRATION_SYSTEM_UNUSED" in pv.check(case.tenant).rules) is case.found


# -- The tables cover the rulebook -----------------------------------------------------

#: Every rule id of the vendor's (products and methods, what each allows, SSO), in
#: the domain reference's order.
DOMAIN_RULES = (
    "METHODS_EXCLUSIVE",
    "STANDALONE_COMMUNITY_ONLY",
    "UPLOAD_COMMUNITY_OR_MARKETING",
    "INTEGRATION_COMMUNITY_ONLY",
    "METHOD_CHANGE_IS_MIGRATION",
    "STANDALONE_LOCAL_PORTAL",
    "STANDALONE_ONE_TIME_UPLOAD",
    "STANDALONE_ACCOUNT_REQUESTS",
    "UPLOAD_SINGLE_SOURCE",
    "UPLOAD_SUPER_ADMIN_ONLY",
    "UPLOAD_CSV_ONLY",
    "CUSTOMER_OWNS_CHANGE_REQUESTS",
    "INTEGRATION_SOURCE_OF_TRUTH",
    "DEACTIVATE_NOT_DELETE",
    "SSO_NOT_WITH_STANDALONE",
    "SSO_UPLOAD_CONDITIONAL",
    "SSO_INTEGRATION_BY_SYSTEM",
    "SSO_PROTOCOLS",
    "SSO_EXTERNAL_IDP",
    "SSO_IDENTIFIER_MATCH",
    "SSO_SAML_SIGNED",
    "SSO_NOT_MARKETING",
    "SSO_LEAD_TIME",
)

#: Our rules that decide() and check() apply (the upload safeguards belong to uploads).
DECISION_OURS = tuple(
    r.id
    for r in pv.RULES
    if r.ours and r.group is not RuleGroup.SAFEGUARDS and r.id not in DOMAIN_RULES
)


@pytest.mark.parametrize("rule", DOMAIN_RULES)
def test_every_domain_rule_is_in_the_rulebook(rule: str) -> None:
    """Every rule id of the vendor's (docs/domain.md) is a rule of the default rulebook."""
    assert pv.DEFAULT_RULEBOOK.rule(rule).id == rule


@pytest.mark.parametrize("rule", DOMAIN_RULES + DECISION_OURS)
def test_every_rule_has_allowed_and_refused_cases(rule: str) -> None:
    """Every rule's table has at least one allowed and one refused (or found) case."""
    if rule in CONFIG_TABLES:
        outcomes = {c.found for c in CONFIG_TABLES[rule]}
    else:
        outcomes = {c.allowed for c in TABLES[rule]}
    assert outcomes == {True, False}


def test_decision_rules_of_ours_are_the_expected_ones() -> None:
    """Our own decision rules are the permission, system and SSO defaults the rulebook marks."""
    assert set(DECISION_OURS) == {
        "PRODUCT_NOT_LICENSED",
        "ROLE_PERMISSIONS",
        "INTEGRATION_SYSTEM_REQUIRED",
        "INTEGRATION_SYSTEM_UNKNOWN",
        "INTEGRATION_SYSTEM_UNUSED",
        "SSO_IN_EFFECT",
        "ACCOUNT_REQUEST_REVIEW",
        "EMAIL_VERIFICATION",
        "REACTIVATE_USER",
    }


# -- Exact messages ----------------------------------------------------------------------


def test_str_of_a_refusal_lists_every_finding() -> None:
    """A refused self-registration under upload reads as the verdict, then each finding."""
    decision = pv.decide(UPLOAD_T, pv.Actor(id="m", role=R.MEMBER), A.SELF_REGISTER)
    assert str(decision) == (
        "self_register on community by member: refused\n"
        "  [error] UPLOAD_SINGLE_SOURCE: accounts are created only by a Super Admin's "
        "spreadsheet upload\n"
        "  [error] STANDALONE_ACCOUNT_REQUESTS: only standalone sites take account requests; "
        "this product uses spreadsheet_upload"
    )


def test_str_of_an_allowed_initial_upload() -> None:
    """An allowed standalone initial upload reads as allowed, with its one-time note."""
    decision = pv.decide(STANDALONE_T, pv.Actor(id="s", role=R.SUPER_ADMIN), A.INITIAL_UPLOAD)
    assert str(decision) == (
        "initial_upload on community by super_admin: allowed\n"
        "  [info] STANDALONE_ONE_TIME_UPLOAD: this is the one initial upload standalone "
        "allows; afterwards accounts are registered and updated locally"
    )


@pytest.mark.parametrize(
    ("t", "role", "action", "product", "message"),
    [
        (
            STANDALONE_T,
            R.SUPER_ADMIN,
            A.INITIAL_UPLOAD,
            MARKETING,
            "the tenant does not license marketing",
        ),
        (
            tenant(None, marketing=STANDALONE),
            R.SUPER_ADMIN,
            A.INITIAL_UPLOAD,
            MARKETING,
            "marketing cannot use standalone; migrate it to spreadsheet upload first",
        ),
        (
            tenant(None, marketing=INTEGRATION),
            R.INTEGRATION,
            A.INTEGRATION_SYNC,
            MARKETING,
            "marketing cannot use standard_integration; migrate it to spreadsheet upload first",
        ),
        (
            tenant(STANDALONE, initial_upload_done=True),
            R.SUPER_ADMIN,
            A.INITIAL_UPLOAD,
            COMMUNITY,
            "the initial upload already happened; accounts are now registered and updated locally",
        ),
        (
            STANDALONE_T,
            R.SUPER_ADMIN,
            A.SUBSEQUENT_UPLOAD,
            COMMUNITY,
            (
                "standalone allows only the one initial upload; the initial upload has not "
                "happened yet"
            ),
        ),
        (
            tenant(STANDALONE, initial_upload_done=True),
            R.SUPER_ADMIN,
            A.SUBSEQUENT_UPLOAD,
            COMMUNITY,
            "standalone allows only the one initial upload",
        ),
        (
            UPLOAD_T,
            R.SITE_ADMIN,
            A.SUBSEQUENT_UPLOAD,
            COMMUNITY,
            "only a Super Admin may upload records, not a site_admin",
        ),
        (
            STANDALONE_T,
            R.COMMUNITY_ADMIN,
            A.ADMIN_CREATE_USER,
            COMMUNITY,
            (
                "a community_admin does not manage user records (user-admin roles: site_admin, "
                "super_admin)"
            ),
        ),
        (
            IMIS_T,
            R.SUPER_ADMIN,
            A.SUBSEQUENT_UPLOAD,
            COMMUNITY,
            "uploads are not for integrated sites; records come from iMIS",
        ),
        (
            tenant(INTEGRATION, system="acme_ams"),
            R.SUPER_ADMIN,
            A.SUBSEQUENT_UPLOAD,
            COMMUNITY,
            "uploads are not for integrated sites; records come from acme_ams",
        ),
        (
            tenant(INTEGRATION),
            R.SUPER_ADMIN,
            A.SUBSEQUENT_UPLOAD,
            COMMUNITY,
            "uploads are not for integrated sites; records come from the integrated system",
        ),
        (
            IMIS_T,
            R.MEMBER,
            A.EDIT_OWN_PROFILE,
            COMMUNITY,
            "iMIS is the authority: change the record there",
        ),
        (
            IMIS_T,
            R.MEMBER,
            A.SELF_REGISTER,
            COMMUNITY,
            "accounts come from iMIS; local registration is off",
        ),
        (
            STANDALONE_T,
            R.MEMBER,
            A.SELF_REGISTER,
            COMMUNITY,
            "account requests are disabled on this site",
        ),
        (
            STANDALONE_T,
            R.INTEGRATION,
            A.EDIT_OWN_PROFILE,
            COMMUNITY,
            "the integration acts only to sync records, not as a person",
        ),
        (
            IMIS_T,
            R.SITE_ADMIN,
            A.INTEGRATION_SYNC,
            COMMUNITY,
            "only the integration syncs records",
        ),
        (
            UPLOAD_T,
            R.SITE_ADMIN,
            A.CHANGE_METHOD,
            COMMUNITY,
            "only a Super Admin asks for a change of method, not a site_admin",
        ),
        (
            MARKETING_T,
            R.MEMBER,
            A.LOCAL_LOGIN,
            MARKETING,
            "marketing contacts do not sign in; login is a Community concern",
        ),
        (
            upload_sso(),
            R.MEMBER,
            A.LOCAL_LOGIN,
            COMMUNITY,
            "SSO is live: users sign in through Acme AMS, not with a local password",
        ),
        (
            upload_sso(go_live=IN_4_WEEKS),
            R.MEMBER,
            A.SSO_LOGIN,
            COMMUNITY,
            "SSO goes live on 2030-07-01; until then users sign in locally",
        ),
        (
            upload_sso(go_live=IN_1_WEEK),
            R.MEMBER,
            A.SSO_LOGIN,
            COMMUNITY,
            (
                "go-live 2030-06-10 is less than 3 weeks after 2030-06-03; the earliest possible "
                "is 2030-06-24"
            ),
        ),
    ],
    ids=[
        "not licensed",
        "marketing on standalone",
        "marketing on integration",
        "second initial upload",
        "later upload before the initial one",
        "later upload after the initial one",
        "upload by a site admin",
        "record managed by a community admin",
        "upload under iMIS",
        "upload under a system the catalog lacks",
        "upload under no system",
        "edit under iMIS",
        "self-registration under iMIS",
        "self-registration with requests disabled",
        "the integration acting as a person",
        "sync by a site admin",
        "change of method by a site admin",
        "login to marketing",
        "local login once SSO is live",
        "SSO login before go-live",
        "SSO login with too little notice",
    ],
)
def test_refusal_message(
    t: pv.Tenant, role: pv.Role, action: pv.Action, product: pv.Product, message: str
) -> None:
    """The refusal says, in words, why: the exact message of its first ERROR finding."""
    decision = pv.decide(t, pv.Actor(id="x", role=role), action, product=product, as_of=AS_OF)
    assert decision.refusals[0].message == message


@pytest.mark.parametrize(
    ("t", "action", "message"),
    [
        (upload_sso(), A.SSO_LOGIN, "users sign in through Acme AMS"),
        (
            upload_sso(go_live=IN_4_WEEKS),
            A.LOCAL_LOGIN,
            "SSO goes live on 2030-07-01: users sign in with a local password",
        ),
        (
            upload_sso(go_live=IN_1_WEEK),
            A.LOCAL_LOGIN,
            "SSO is requirements unmet: users sign in with a local password",
        ),
        (
            imis_sso("netforum_pro"),
            A.LOCAL_LOGIN,
            "SSO is not supported: users sign in with a local password",
        ),
        (STANDALONE_T, A.LOCAL_LOGIN, "users sign in with a local password"),
    ],
    ids=[
        "SSO login once live",
        "local login before go-live",
        "local login with SSO unmet",
        "local login where SSO is not supported",
        "local login on standalone",
    ],
)
def test_allowed_login_message(t: pv.Tenant, action: pv.Action, message: str) -> None:
    """An allowed login says how users sign in and why."""
    decision = pv.decide(t, pv.Actor(id="m", role=R.MEMBER), action, as_of=AS_OF)
    assert [f.message for f in decision.findings] == [message]


def test_local_login_kept_beside_sso_says_so() -> None:
    """SSO_IN_EFFECT: with local_login_with_sso, local login is kept beside live SSO."""
    member = pv.Actor(id="m", role=R.MEMBER)
    decision = pv.decide(upload_sso(), member, A.LOCAL_LOGIN, as_of=AS_OF, rulebook=LOCAL_KEPT)
    assert [f.message for f in decision.findings] == ["local password login is kept beside SSO"]


def test_refusal_findings_carry_the_rules_source() -> None:
    """Each finding carries the source of its rule, as the rulebook states it."""
    decision = pv.decide(IMIS_T, pv.Actor(id="s", role=R.SUPER_ADMIN), A.INITIAL_UPLOAD)
    assert decision.refusals[0].source == "HL 360033048011, HL 360043414832"


def test_an_sso_login_refusal_lists_every_unmet_requirement() -> None:
    """An SSO login is refused by each unmet requirement, not only the first."""
    t = upload_sso(protocol="saml_1_1", signed=False, lck=False, vendor_idp=True, go_live=None)
    decision = pv.decide(t, pv.Actor(id="m", role=R.MEMBER), A.SSO_LOGIN, as_of=AS_OF)
    assert decision.rules == (
        "SSO_PROTOCOLS",
        "SSO_EXTERNAL_IDP",
        "SSO_IDENTIFIER_MATCH",
        "SSO_SAML_SIGNED",
        "SSO_LEAD_TIME",
    )


def test_refusal_rules_are_listed_in_order() -> None:
    """Decision.rules lists every contributing rule id in the order found."""
    decision = pv.decide(IMIS_T, pv.Actor(id="m", role=R.MEMBER), A.SELF_REGISTER)
    assert decision.rules == ("INTEGRATION_SOURCE_OF_TRUTH", "STANDALONE_ACCOUNT_REQUESTS")


def test_decide_without_as_of_uses_today() -> None:
    """Without as_of, SSO decisions are taken as of today (UTC)."""
    today = dt.datetime.now(dt.UTC).date()
    t = upload_sso(go_live=today)
    decision = pv.decide(t, pv.Actor(id="m", role=R.MEMBER), A.SSO_LOGIN)
    assert decision.allowed


def test_rulebook_method_decides_like_the_function() -> None:
    """RuleBook.decide gives the same decision as pv.decide with that rulebook."""
    member = pv.Actor(id="m", role=R.MEMBER)
    expected = pv.decide(upload_sso(), member, A.LOCAL_LOGIN, as_of=AS_OF, rulebook=LOCAL_KEPT)
    assert LOCAL_KEPT.decide(upload_sso(), member, A.LOCAL_LOGIN, as_of=AS_OF) == expected
