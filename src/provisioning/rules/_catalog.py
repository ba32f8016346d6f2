"""Every rule the library enforces, as data: id, statement, source, and whether it is ours.

The vendor's rules are those of the domain reference (docs/domain.md). Rules marked
``ours=True`` are defaults this project chose where the sources are silent; each is governed by a
:class:`~provisioning.rules.Settings` value a host can override.
"""

from __future__ import annotations

import attrs

from .._enum import ValueEnum
from ._ids import RuleId

__all__ = ["RULES", "Rule", "RuleGroup"]


class RuleGroup(ValueEnum):
    """Where a rule belongs (the sections of the domain reference, docs/domain.md)."""

    METHODS = "products and methods"
    PERMISSIONS = "what each method allows"
    SSO = "single sign-on"
    SAFEGUARDS = "upload safeguards"


@attrs.frozen(kw_only=True)
class Rule:
    """One rule: a stable id, what it says, where it comes from."""

    #: The stable id used in decisions, tests and docs, e.g. ``RuleId.UPLOAD_SUPER_ADMIN_ONLY``.
    id: RuleId
    group: RuleGroup
    #: The rule in one or two sentences.
    statement: str
    #: Where the rule comes from: ``seed``, an ``HL`` article number, or ``ours``.
    source: str
    #: Whether the project chose this default (and a host may override it).
    ours: bool = False
    #: The :class:`~provisioning.rules.Settings` fields that govern this rule, if any.
    settings: tuple[str, ...] = ()
    #: For a rule of ours: how a host overrides or satisfies it.
    override: str = ""


_SEED = "seed: the vendor's help page on the three methods"

RULES: tuple[Rule, ...] = (
    # -- 1. Products and methods --------------------------------------------------------
    Rule(
        id=RuleId.METHODS_EXCLUSIVE,
        group=RuleGroup.METHODS,
        statement="Each licensed product creates and updates its user records by exactly "
        "one method: standalone, spreadsheet upload or standard integration.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.STANDALONE_COMMUNITY_ONLY,
        group=RuleGroup.METHODS,
        statement="Standalone account creation applies to the Community product only.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.UPLOAD_COMMUNITY_OR_MARKETING,
        group=RuleGroup.METHODS,
        statement="Spreadsheet upload applies to Community and to Marketing.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.INTEGRATION_COMMUNITY_ONLY,
        group=RuleGroup.METHODS,
        statement="Standard integrations are offered for the Community product.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.METHOD_CHANGE_IS_MIGRATION,
        group=RuleGroup.METHODS,
        statement="Changing a product's method is a migration, not a setting: a changed "
        "record identifier risks lost SSO access, duplicate records, lost history and "
        "broken syncs.",
        source="HL 38702804184724",
    ),
    # -- 2. What each method allows -----------------------------------------------------
    Rule(
        id=RuleId.STANDALONE_LOCAL_PORTAL,
        group=RuleGroup.PERMISSIONS,
        statement="Under standalone the community is the portal for account creation, "
        "profile updates and login; the customer manages the records.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.STANDALONE_ONE_TIME_UPLOAD,
        group=RuleGroup.PERMISSIONS,
        statement="Standalone allows one initial upload; after it accounts are registered "
        "and updated locally, and a further upload is refused.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.STANDALONE_ACCOUNT_REQUESTS,
        group=RuleGroup.PERMISSIONS,
        statement="Only standalone sites take account requests: disabled, auto-approved, "
        "or held for admin approval, optionally after email verification.",
        source="HL 10177279816596",
    ),
    Rule(
        id=RuleId.UPLOAD_SINGLE_SOURCE,
        group=RuleGroup.PERMISSIONS,
        statement="Under spreadsheet upload the spreadsheet is the single source: every "
        "record creation and update goes through an upload; local registration and local "
        "edits of record fields are refused.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.UPLOAD_SUPER_ADMIN_ONLY,
        group=RuleGroup.PERMISSIONS,
        statement="Only a Super Admin may import, manage or update records by spreadsheet.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.UPLOAD_CSV_ONLY,
        group=RuleGroup.PERMISSIONS,
        statement="The upload is a .csv file built from the vendor's template; there is no "
        "API, FTP or direct integration.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.CUSTOMER_OWNS_CHANGE_REQUESTS,
        group=RuleGroup.PERMISSIONS,
        statement="The customer runs the workflows that capture users' change requests.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.INTEGRATION_SOURCE_OF_TRUTH,
        group=RuleGroup.PERMISSIONS,
        statement="Under a standard integration the AMS/CRM is the authority and the "
        "community only consumes its data: no uploads, no local registration.",
        source="HL 360033048011, HL 360043414832",
    ),
    Rule(
        id=RuleId.DEACTIVATE_NOT_DELETE,
        group=RuleGroup.PERMISSIONS,
        statement="Deactivation blocks login but keeps content and can be reversed; "
        "deleting personal data is a separate action. A sync undoes neither.",
        source="HL 360033051371",
    ),
    Rule(
        id=RuleId.PRODUCT_NOT_LICENSED,
        group=RuleGroup.PERMISSIONS,
        statement="An action on a product the tenant does not license is refused.",
        source="ours",
        ours=True,
        override="license the product: add it to Tenant.products",
    ),
    Rule(
        id=RuleId.ROLE_PERMISSIONS,
        group=RuleGroup.PERMISSIONS,
        statement="User records are managed by the user-admin roles (by default Super Admin "
        "and Site Admin); only a Super Admin asks for a change of method; only the "
        "integration syncs, and it acts for nobody else.",
        source="ours (HL 360033047071 names the roles, not this split)",
        ours=True,
        settings=("user_admin_roles",),
        override="Settings.user_admin_roles",
    ),
    Rule(
        id=RuleId.INTEGRATION_SYSTEM_REQUIRED,
        group=RuleGroup.PERMISSIONS,
        statement="A product on standard integration names its integrated system.",
        source="ours",
        ours=True,
        override="name the system in Tenant.integration",
    ),
    Rule(
        id=RuleId.INTEGRATION_SYSTEM_UNKNOWN,
        group=RuleGroup.PERMISSIONS,
        statement="The integrated system is one the rulebook's catalog knows.",
        source="ours",
        ours=True,
        override="add the system to the rulebook: RuleBook.with_systems",
    ),
    Rule(
        id=RuleId.INTEGRATION_SYSTEM_UNUSED,
        group=RuleGroup.PERMISSIONS,
        statement="A tenant that names an integrated system has a product on standard integration.",
        source="ours",
        ours=True,
        override="a warning only; remove Tenant.integration to silence it",
    ),
    # -- 3. Single sign-on --------------------------------------------------------------
    Rule(
        id=RuleId.SSO_NOT_WITH_STANDALONE,
        group=RuleGroup.SSO,
        statement="SSO is not supported under standalone: the vendor is not an identity "
        "provider for external systems.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.SSO_UPLOAD_CONDITIONAL,
        group=RuleGroup.SSO,
        statement="Under spreadsheet upload SSO may be supported when the SSO requirements "
        "are met.",
        source=_SEED,
    ),
    Rule(
        id=RuleId.SSO_INTEGRATION_BY_SYSTEM,
        group=RuleGroup.SSO,
        statement="Under a standard integration SSO depends on the integrated system; a "
        "capability no source confirms counts as unknown, not supported.",
        source="HL integration guides",
    ),
    Rule(
        id=RuleId.SSO_PROTOCOLS,
        group=RuleGroup.SSO,
        statement="Supported SSO protocols: SAML 2.0, OAuth 2.0 and OpenID Connect.",
        source="HL 360060198811",
    ),
    Rule(
        id=RuleId.SSO_EXTERNAL_IDP,
        group=RuleGroup.SSO,
        statement="The customer's system is the identity provider; the vendor is the "
        "service provider.",
        source="HL 360058532211",
    ),
    Rule(
        id=RuleId.SSO_IDENTIFIER_MATCH,
        group=RuleGroup.SSO,
        statement="The identifier the IdP asserts must equal the record's LegacyContactKey, "
        "or the user cannot get in.",
        source="HL 360058532211, HL 360043414832",
    ),
    Rule(
        id=RuleId.SSO_SAML_SIGNED,
        group=RuleGroup.SSO,
        statement="SAML requests and responses must be signed.",
        source="HL 360058532211",
    ),
    Rule(
        id=RuleId.SSO_NOT_MARKETING,
        group=RuleGroup.SSO,
        statement="SSO, and login at all, is a Community concern; it does not apply to Marketing.",
        source="ours",
        ours=True,
        settings=("sso_products",),
        override="Settings.sso_products",
    ),
    Rule(
        id=RuleId.SSO_LEAD_TIME,
        group=RuleGroup.SSO,
        statement="An SSO change needs notice before its go-live date (2 to 3 weeks in one "
        "article, 10 in another); the default is 3 weeks.",
        source="HL 4402952237844; the default is ours",
        ours=True,
        settings=("sso_lead_time",),
        override="Settings.sso_lead_time",
    ),
    Rule(
        id=RuleId.SSO_IN_EFFECT,
        group=RuleGroup.SSO,
        statement="An eligible SSO setup takes effect on its go-live date; from then users "
        "sign in through the identity provider and local password login is off.",
        source="ours",
        ours=True,
        settings=("local_login_with_sso",),
        override="Settings.local_login_with_sso",
    ),
    # -- Upload safeguards (ours; docs/domain.md says what they prevent) ---------------
    Rule(
        id=RuleId.SAFEGUARD_EMPTY_FILE,
        group=RuleGroup.SAFEGUARDS,
        statement="A full import of a file with no valid rows is held: it would deactivate "
        "every stored record.",
        source="ours, after Okta's import safeguard",
        ours=True,
        override="plan_upload(..., overrides={'empty_file'})",
    ),
    Rule(
        id=RuleId.SAFEGUARD_TRUNCATED_FILE,
        group=RuleGroup.SAFEGUARDS,
        statement="A full import whose valid rows are far fewer than the active stored records is "
        "held as a probably truncated file.",
        source="ours, after Okta's import safeguard",
        ours=True,
        settings=("truncated_file_share",),
        override="Settings.truncated_file_share, or overrides={'truncated_file'}",
    ),
    Rule(
        id=RuleId.SAFEGUARD_MASS_DEACTIVATION,
        group=RuleGroup.SAFEGUARDS,
        statement="An import that would lock out more than a share of the Enabled stored records "
        "(20% by default) is held. Every move out of Enabled counts: a deactivation, a "
        "rejection, a return to pending approval or verification.",
        source="ours, after Okta's import safeguard",
        ours=True,
        settings=("max_deactivation_share",),
        override="Settings.max_deactivation_share, or overrides={'mass_deactivation'}",
    ),
    Rule(
        id=RuleId.SAFEGUARD_SUPER_ADMIN,
        group=RuleGroup.SAFEGUARDS,
        statement="An upload never deactivates a Super Admin's account, nor takes it out of "
        "Enabled in any other way.",
        source="ours",
        ours=True,
        override="plan_upload(..., overrides={'super_admin'})",
    ),
    Rule(
        id=RuleId.SAFEGUARD_ROW_ERRORS,
        group=RuleGroup.SAFEGUARDS,
        statement="A file with row errors is held unless the caller accepts applying the "
        "valid rows only.",
        source="ours",
        ours=True,
        override="plan_upload(..., overrides={'row_errors'}) applies the valid rows only",
    ),
    Rule(
        id=RuleId.UPLOAD_IDENTITY_CONFLICT,
        group=RuleGroup.SAFEGUARDS,
        statement="A row whose email belongs to a stored record with another key is a "
        "conflict: reported, never merged or taken over.",
        source="ours, after eneo-ai/eneo#443",
        ours=True,
        override="plan_upload(..., overrides={'identity_conflict'}) applies the other rows",
    ),
    Rule(
        id=RuleId.ACCOUNT_REQUEST_REVIEW,
        group=RuleGroup.PERMISSIONS,
        statement="On a standalone site that holds account requests for an admin's approval, "
        "a user admin approves a Pending Approval record (it becomes Enabled) or rejects it "
        "(Rejected). A record still Pending Verification waits for its email first; a site "
        "that approves requests automatically, or takes none, has none to review.",
        source="ours (HL 10177279816596 names the policies, not the review)",
        ours=True,
        settings=("user_admin_roles",),
        override="Settings.user_admin_roles",
    ),
    Rule(
        id=RuleId.EMAIL_VERIFICATION,
        group=RuleGroup.PERMISSIONS,
        statement="Where a standalone site verifies registrants' emails, following the link "
        "(the registrant's own act) moves a Pending Verification record on: to Enabled where "
        "requests are approved automatically, to Pending Approval where an admin approves them.",
        source="ours (HL 10177279816596 names the step, not its effect)",
        ours=True,
    ),
    Rule(
        id=RuleId.REACTIVATE_USER,
        group=RuleGroup.PERMISSIONS,
        statement="Reactivating a deactivated user is an explicit act: a user admin's on a "
        "standalone site, the integration's under a standard integration (a sync never "
        "reactivates), the file's Status column under spreadsheet upload.",
        source="ours, after DEACTIVATE_NOT_DELETE (HL 360033051371)",
        ours=True,
        settings=("user_admin_roles",),
        override="Settings.user_admin_roles",
    ),
    Rule(
        id=RuleId.REVERT_UPLOAD,
        group=RuleGroup.SAFEGUARDS,
        statement="Only a Super Admin reverts an applied upload, and only where uploads are "
        "the method (a standalone site's initial upload included; never under a standard "
        "integration). The records it changed go back to their values before it, the "
        "records it created are deactivated, never deleted, and a record changed again "
        "since is left as it is and reported; the revert is planned, held by the same "
        "safeguards and applied whole, as an upload is, and an upload is reverted once. "
        "A Marketing upload is reverted alike on its contacts: those it created are "
        "unsubscribed.",
        source="ours, after the undo of the import tools this library competes with",
        ours=True,
        override="plan_revert(..., overrides=...) for the safeguards it trips",
    ),
    # -- Marketing contacts -----------------------------------------------------------
    Rule(
        id=RuleId.MARKETING_CONTACT_KEY,
        group=RuleGroup.PERMISSIONS,
        statement="A Marketing contact is keyed by its email in the Professional edition "
        "(a tab-delimited file); in the Enterprise edition (a CSV file) by its email, or by "
        "a custom member id. Of two rows of one file with one email only the first is "
        "loaded, and a row with an invalid email is skipped and reported.",
        source="HL 360033049211, 5194754870676",
    ),
    Rule(
        id=RuleId.MARKETING_SUBSCRIPTION_UPLOADS,
        group=RuleGroup.PERMISSIONS,
        statement="Opt-outs, unsubscribes and resubscribes are uploads of their own, with "
        "an email column only: a contact upload keeps each stored contact's subscription "
        "as it is.",
        source="HL 360033048931",
    ),
    Rule(
        id=RuleId.MARKETING_LEFT_OUT_KEPT,
        group=RuleGroup.SAFEGUARDS,
        statement="A Marketing contact upload adds the contacts its file lists and replaces "
        "the stored ones with the same key; the contacts it leaves out are kept as they "
        "are, in a full import as in a partial one (a contact has no login to deactivate, "
        "and no upload deletes). A host may have a full import unsubscribe them instead; "
        "the empty-file, truncated-file and mass-deactivation safeguards then hold it as "
        "they hold a Community full import.",
        source="ours",
        ours=True,
        settings=("marketing_full_unsubscribes",),
        override="Settings.marketing_full_unsubscribes",
    ),
)
