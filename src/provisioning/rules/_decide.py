"""Decisions from two tables: who may take an action, and what each method says of it.

``decide`` reads the tables as h11 reads its state machine: one lookup for the role's
gate of the action, one for the cell of the action under the product's method. A cell
is either *fixed* (the findings depend on nothing but the action and the method) or
*conditional* (they depend on the tenant: its account-request policy, its upload
history, its SSO setup, its integrated system), with the rules it may cite declared
beside it. The permission matrix, actions x methods x roles, is read off the same
tables (:func:`permission_matrix`), so the docs that render it cannot disagree with
``decide``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._enum import ValueEnum
from .._html import html_table
from .._pandas import data_frame
from .._validators import to_enum
from ..actors import Action, Actor, Role
from ..catalog import Product
from ..catalog import ProvisioningMethod as Method
from ..exceptions import InvalidValueError
from ..tenants import AccountRequestPolicy, Tenant
from ._catalog import RULES
from ._engine import (
    ERROR,
    INFO,
    INTEGRATION,
    STANDALONE,
    UPLOAD,
    WARNING,
    sso_eligibility,
    system_problems,
)
from ._ids import RuleId
from ._results import Decision, Finding, Severity, SsoStatus

if TYPE_CHECKING:
    from ._book import RuleBook, Settings

__all__ = ["Permission", "PermissionMatrix", "Verdict", "decide", "permission_matrix"]

R = RuleId


class Verdict(ValueEnum):
    """What the permission matrix says of one action, method and role."""

    ALLOWED = "allowed"
    REFUSED = "refused"
    #: Allowed or refused by the tenant's own facts (its policy, history, SSO, system).
    DEPENDS = "depends"


# -- the role gates ------------------------------------------------------------------


@attrs.frozen
class _Gate:
    """Who may take an action, and the finding that refuses everyone else.

    ``roles`` is a fixed set, or ``None`` for the rulebook's ``user_admin_roles``
    (``ROLE_PERMISSIONS``, ours); the integration also passes under the method
    ``integration_under``, when one is named.
    """

    #: Who passes, in words.
    who: str
    rule: RuleId
    roles: frozenset[Role] | None
    refusal: Callable[[RuleBook, Role], Finding]
    integration_under: Method | None = None

    def allows(self, settings: Settings, role: Role, method: Method) -> bool:
        """Whether ``role`` passes the gate under ``method``."""
        roles = settings.user_admin_roles if self.roles is None else self.roles
        return role in roles or (role is Role.INTEGRATION and method is self.integration_under)


def _person_only(book: RuleBook, _role: Role) -> Finding:
    return book.finding(
        R.ROLE_PERMISSIONS, ERROR, "the integration acts only to sync records, not as a person"
    )


def _not_user_admin(book: RuleBook, role: Role) -> Finding:
    admins = ", ".join(sorted(r.value for r in book.settings.user_admin_roles))
    return book.finding(
        R.ROLE_PERMISSIONS,
        ERROR,
        f"a {role.value} does not manage user records (user-admin roles: {admins})",
    )


def _not_uploader(book: RuleBook, role: Role) -> Finding:
    return book.finding(
        R.UPLOAD_SUPER_ADMIN_ONLY,
        ERROR,
        f"only a Super Admin may upload records, not a {role.value}",
    )


def _not_reverter(book: RuleBook, role: Role) -> Finding:
    return book.finding(
        R.REVERT_UPLOAD, ERROR, f"only a Super Admin reverts an upload, not a {role.value}"
    )


def _not_integration(book: RuleBook, _role: Role) -> Finding:
    return book.finding(R.ROLE_PERMISSIONS, ERROR, "only the integration syncs records")


def _not_method_owner(book: RuleBook, role: Role) -> Finding:
    return book.finding(
        R.ROLE_PERMISSIONS,
        ERROR,
        f"only a Super Admin asks for a change of method, not a {role.value}",
    )


_PERSONS = frozenset(role for role in Role if role.is_person)
_SUPER_ADMIN = frozenset({Role.SUPER_ADMIN})

_PEOPLE = _Gate("people (not the integration)", R.ROLE_PERMISSIONS, _PERSONS, _person_only)
_USER_ADMINS = _Gate(
    "user-admin roles (Settings.user_admin_roles)", R.ROLE_PERMISSIONS, None, _not_user_admin
)
_UPLOADERS = _Gate("Super Admin", R.UPLOAD_SUPER_ADMIN_ONLY, _SUPER_ADMIN, _not_uploader)
_SYNCER = _Gate(
    "the integration", R.ROLE_PERMISSIONS, frozenset({Role.INTEGRATION}), _not_integration
)
_DEACTIVATORS = _Gate(
    "user-admin roles; the integration under a standard integration",
    R.ROLE_PERMISSIONS,
    None,
    _not_user_admin,
    INTEGRATION,
)
_METHOD_OWNER = _Gate("Super Admin", R.ROLE_PERMISSIONS, _SUPER_ADMIN, _not_method_owner)
_REVERTERS = _Gate("Super Admin", R.REVERT_UPLOAD, _SUPER_ADMIN, _not_reverter)

#: Who may take each action.
GATES: Mapping[Action, _Gate] = {
    Action.SELF_REGISTER: _PEOPLE,
    Action.EDIT_OWN_PROFILE: _PEOPLE,
    Action.ADMIN_CREATE_USER: _USER_ADMINS,
    Action.ADMIN_EDIT_USER: _USER_ADMINS,
    Action.INITIAL_UPLOAD: _UPLOADERS,
    Action.SUBSEQUENT_UPLOAD: _UPLOADERS,
    Action.INTEGRATION_SYNC: _SYNCER,
    Action.LOCAL_LOGIN: _PEOPLE,
    Action.SSO_LOGIN: _PEOPLE,
    Action.DEACTIVATE_USER: _DEACTIVATORS,
    Action.DELETE_PERSONAL_DATA: _USER_ADMINS,
    Action.CHANGE_METHOD: _METHOD_OWNER,
    Action.REVERT_UPLOAD: _REVERTERS,
    Action.APPROVE_REQUEST: _USER_ADMINS,
    Action.REJECT_REQUEST: _USER_ADMINS,
    Action.VERIFY_EMAIL: _PEOPLE,
    Action.REACTIVATE_USER: _DEACTIVATORS,
}

#: Actions about signing in: they apply only to products SSO and login apply to.
_LOGINS = frozenset({Action.LOCAL_LOGIN, Action.SSO_LOGIN})


# -- the method cells ----------------------------------------------------------------


@attrs.frozen
class _Say:
    """One finding a fixed cell always gives; ``{system}``, ``{product}`` and ``{method}``
    in the message are the tenant's integrated system, the product and the method."""

    rule: RuleId
    severity: Severity
    message: str
    templated: bool = attrs.field(init=False)

    @templated.default
    def _templated(self) -> bool:
        return "{" in self.message


_Findings = Callable[["RuleBook", Tenant, Product, Method, "dt.date | None"], list[Finding]]


@attrs.frozen
class _When:
    """A conditional cell: its findings depend on the tenant; its rules are declared."""

    verdict: Verdict
    rules: tuple[RuleId, ...]
    findings: _Findings


_Cell = tuple[_Say, ...] | _When


def _record_edit(subject: str) -> dict[Method, _Cell]:
    return {
        STANDALONE: (
            _Say(R.STANDALONE_LOCAL_PORTAL, INFO,
                 f"{subject} on the community, which is the portal"),
        ),
        UPLOAD: (
            _Say(R.UPLOAD_SINGLE_SOURCE, ERROR,
                 "record fields change only through a spreadsheet upload, not locally"),
            _Say(R.CUSTOMER_OWNS_CHANGE_REQUESTS, INFO,
                 "send the change to the customer's change-request workflow for the next upload"),
        ),
        INTEGRATION: (
            _Say(R.INTEGRATION_SOURCE_OF_TRUTH, ERROR,
                 "{system} is the authority: change the record there"),
        ),
    }  # fmt: skip


def _requests_refused(method: Method) -> _Say:
    return _Say(
        R.STANDALONE_ACCOUNT_REQUESTS,
        ERROR,
        f"only standalone sites take account requests; this product uses {method.value}",
    )


def _account_requests(
    book: RuleBook, tenant: Tenant, _p: Product, _m: Method, _d: dt.date | None
) -> list[Finding]:
    requests = tenant.account_requests
    if requests.policy is AccountRequestPolicy.DISABLED:
        return [
            book.finding(
                R.STANDALONE_ACCOUNT_REQUESTS, ERROR, "account requests are disabled on this site"
            )
        ]
    verify = "after verifying their email, " if requests.email_verification else ""
    outcome = (
        "the account is enabled at once"
        if requests.policy is AccountRequestPolicy.AUTO_APPROVE
        else "the account waits as Pending Approval for an admin"
    )
    return [book.finding(R.STANDALONE_ACCOUNT_REQUESTS, INFO, f"{verify}{outcome}")]


def _review(
    book: RuleBook, tenant: Tenant, _p: Product, _m: Method, _d: dt.date | None
) -> list[Finding]:
    policy = tenant.account_requests.policy
    if policy is AccountRequestPolicy.ADMIN_APPROVAL:
        message = "account requests wait for an admin's review on this site"
        return [book.finding(R.ACCOUNT_REQUEST_REVIEW, INFO, message)]
    why = "approved automatically" if policy is AccountRequestPolicy.AUTO_APPROVE else "disabled"
    message = f"account requests are {why} on this site: there are none to review"
    return [book.finding(R.ACCOUNT_REQUEST_REVIEW, ERROR, message)]


def _verification(
    book: RuleBook, tenant: Tenant, _p: Product, _m: Method, _d: dt.date | None
) -> list[Finding]:
    requests = tenant.account_requests
    if requests.policy is AccountRequestPolicy.DISABLED or not requests.email_verification:
        message = "this site does not verify registrants' emails"
        return [book.finding(R.EMAIL_VERIFICATION, ERROR, message)]
    then = (
        "the account is enabled"
        if requests.policy is AccountRequestPolicy.AUTO_APPROVE
        else "the request waits for an admin's review"
    )
    return [book.finding(R.EMAIL_VERIFICATION, INFO, f"once the email is verified, {then}")]


def _first_upload(
    book: RuleBook, tenant: Tenant, _p: Product, _m: Method, _d: dt.date | None
) -> list[Finding]:
    if tenant.initial_upload_done:
        message = (
            "the initial upload already happened; accounts are now registered and updated locally"
        )
        return [book.finding(R.STANDALONE_ONE_TIME_UPLOAD, ERROR, message)]
    message = (
        "this is the one initial upload standalone allows; afterwards accounts are registered "
        "and updated locally"
    )
    return [book.finding(R.STANDALONE_ONE_TIME_UPLOAD, INFO, message)]


def _second_upload(
    book: RuleBook, tenant: Tenant, _p: Product, _m: Method, _d: dt.date | None
) -> list[Finding]:
    hint = "" if tenant.initial_upload_done else "; the initial upload has not happened yet"
    message = f"standalone allows only the one initial upload{hint}"
    return [book.finding(R.STANDALONE_ONE_TIME_UPLOAD, ERROR, message)]


def _spreadsheet(*, initial: bool) -> _When:
    def findings(
        book: RuleBook, _t: Tenant, product: Product, _m: Method, _d: dt.date | None
    ) -> list[Finding]:
        found: list[Finding] = []
        if product is not Product.COMMUNITY:
            message = f"spreadsheet upload applies to {product.value}"
            found.append(book.finding(R.UPLOAD_COMMUNITY_OR_MARKETING, INFO, message))
        found.append(
            book.finding(R.UPLOAD_CSV_ONLY, INFO, "upload a .csv built from the vendor's template")
        )
        if not initial:
            message = "the file carries the changes the customer's workflows captured"
            found.append(book.finding(R.CUSTOMER_OWNS_CHANGE_REQUESTS, INFO, message))
        return found

    rules = (R.UPLOAD_COMMUNITY_OR_MARKETING, R.UPLOAD_CSV_ONLY)
    return _When(
        Verdict.ALLOWED, rules if initial else (*rules, R.CUSTOMER_OWNS_CHANGE_REQUESTS), findings
    )


def _sync(
    book: RuleBook, tenant: Tenant, _p: Product, _m: Method, _d: dt.date | None
) -> list[Finding]:
    problems = system_problems(book, tenant)
    if problems:
        return problems
    system = _system_name(book, tenant)
    return [
        book.finding(
            R.INTEGRATION_SOURCE_OF_TRUTH,
            INFO,
            f"{system} is the authority; changed records are pulled whole",
        ),
        book.finding(
            R.DEACTIVATE_NOT_DELETE, INFO, "a sync does not undo a deactivation or a deletion"
        ),
    ]


def _local_login(
    book: RuleBook, tenant: Tenant, product: Product, _m: Method, as_of: dt.date | None
) -> list[Finding]:
    sso = sso_eligibility(book, tenant, product, as_of)
    if not sso.in_effect:
        why = (
            f"SSO goes live on {sso.go_live.isoformat()}"
            if sso.eligible and sso.go_live is not None
            else f"SSO is {sso.status.value.replace('_', ' ')}"
        )
        return [book.finding(R.SSO_IN_EFFECT, INFO, f"{why}: users sign in with a local password")]
    if book.settings.local_login_with_sso:
        return [book.finding(R.SSO_IN_EFFECT, INFO, "local password login is kept beside SSO")]
    idp = tenant.sso.identity_provider.name if tenant.sso else "the identity provider"
    message = f"SSO is live: users sign in through {idp}, not with a local password"
    return [book.finding(R.SSO_IN_EFFECT, ERROR, message)]


def _sso_login(
    book: RuleBook, tenant: Tenant, product: Product, _m: Method, as_of: dt.date | None
) -> list[Finding]:
    sso = sso_eligibility(book, tenant, product, as_of)
    if sso.status is SsoStatus.NOT_SUPPORTED:
        return list(sso.findings)
    if sso.status is SsoStatus.REQUIREMENTS_UNMET:
        return [book.finding(r.rule, ERROR, r.detail) for r in sso.unmet]
    if not sso.in_effect:
        assert sso.go_live is not None
        message = f"SSO goes live on {sso.go_live.isoformat()}; until then users sign in locally"
        return [book.finding(R.SSO_IN_EFFECT, ERROR, message)]
    assert tenant.sso is not None
    message = f"users sign in through {tenant.sso.identity_provider.name}"
    return [book.finding(R.SSO_IN_EFFECT, INFO, message)]


_SSO_RULES = (
    R.SSO_UPLOAD_CONDITIONAL,
    R.SSO_INTEGRATION_BY_SYSTEM,
    R.SSO_PROTOCOLS,
    R.SSO_EXTERNAL_IDP,
    R.SSO_IDENTIFIER_MATCH,
    R.SSO_SAML_SIGNED,
    R.SSO_LEAD_TIME,
    R.SSO_IN_EFFECT,
)
_DEACTIVATE = _Say(
    R.DEACTIVATE_NOT_DELETE,
    INFO,
    "deactivation blocks login, keeps the user's content and can be reversed",
)
_DELETE = _Say(
    R.DEACTIVATE_NOT_DELETE,
    WARNING,
    "deleting personal data is not a deactivation: it cannot be undone, and a sync does not "
    "bring the data back",
)
#: INTEGRATION_SOURCE_OF_TRUTH: no upload of either kind under a standard integration.
_NO_UPLOADS = (
    _Say(
        R.INTEGRATION_SOURCE_OF_TRUTH,
        ERROR,
        "uploads are not for integrated sites; records come from {system}",
    ),
)
_MIGRATION = _Say(
    R.METHOD_CHANGE_IS_MIGRATION,
    WARNING,
    "moving {product} off {method} is a migration, not a setting: it risks lost SSO access, "
    "duplicate records, lost history and broken syncs (see plan_migration)",
)

#: What each method says of each action.
CELLS: Mapping[Action, Mapping[Method, _Cell]] = {
    Action.SELF_REGISTER: {
        STANDALONE: _When(Verdict.DEPENDS, (R.STANDALONE_ACCOUNT_REQUESTS,), _account_requests),
        UPLOAD: (
            _Say(R.UPLOAD_SINGLE_SOURCE, ERROR,
                 "accounts are created only by a Super Admin's spreadsheet upload"),
            _requests_refused(UPLOAD),
        ),
        INTEGRATION: (
            _Say(R.INTEGRATION_SOURCE_OF_TRUTH, ERROR,
                 "accounts come from {system}; local registration is off"),
            _requests_refused(INTEGRATION),
        ),
    },
    Action.EDIT_OWN_PROFILE: _record_edit("members update their own profiles"),
    Action.ADMIN_CREATE_USER: _record_edit("admins manage records"),
    Action.ADMIN_EDIT_USER: _record_edit("admins manage records"),
    Action.INITIAL_UPLOAD: {
        STANDALONE: _When(Verdict.DEPENDS, (R.STANDALONE_ONE_TIME_UPLOAD,), _first_upload),
        UPLOAD: _spreadsheet(initial=True),
        INTEGRATION: _NO_UPLOADS,
    },
    Action.SUBSEQUENT_UPLOAD: {
        STANDALONE: _When(Verdict.REFUSED, (R.STANDALONE_ONE_TIME_UPLOAD,), _second_upload),
        UPLOAD: _spreadsheet(initial=False),
        INTEGRATION: _NO_UPLOADS,
    },
    Action.INTEGRATION_SYNC: {
        STANDALONE: (
            _Say(R.STANDALONE_LOCAL_PORTAL, ERROR,
                 "a standalone site has no external system: records are managed locally"),
        ),
        UPLOAD: (
            _Say(R.UPLOAD_CSV_ONLY, ERROR,
                 "spreadsheet upload has no API, FTP or direct integration to sync from"),
        ),
        INTEGRATION: _When(
            Verdict.DEPENDS,
            (R.INTEGRATION_SYSTEM_REQUIRED, R.INTEGRATION_SYSTEM_UNKNOWN,
             R.INTEGRATION_SOURCE_OF_TRUTH, R.DEACTIVATE_NOT_DELETE),
            _sync,
        ),
    },
    Action.LOCAL_LOGIN: {
        STANDALONE: (_Say(R.STANDALONE_LOCAL_PORTAL, INFO, "users sign in with a local password"),),
        UPLOAD: _When(Verdict.DEPENDS, (R.SSO_IN_EFFECT,), _local_login),
        INTEGRATION: _When(Verdict.DEPENDS, (R.SSO_IN_EFFECT,), _local_login),
    },
    Action.SSO_LOGIN: {
        STANDALONE: _When(Verdict.REFUSED, (R.SSO_NOT_WITH_STANDALONE,), _sso_login),
        UPLOAD: _When(Verdict.DEPENDS, _SSO_RULES, _sso_login),
        INTEGRATION: _When(Verdict.DEPENDS, _SSO_RULES, _sso_login),
    },
    Action.DEACTIVATE_USER: {
        STANDALONE: (_DEACTIVATE,),
        UPLOAD: (_DEACTIVATE,),
        INTEGRATION: (
            _DEACTIVATE,
            _Say(R.DEACTIVATE_NOT_DELETE, INFO, "a later sync does not reactivate the user"),
        ),
    },
    Action.DELETE_PERSONAL_DATA: dict.fromkeys(Method, (_DELETE,)),
    Action.CHANGE_METHOD: dict.fromkeys(Method, (_MIGRATION,)),
    Action.APPROVE_REQUEST: {
        STANDALONE: _When(Verdict.DEPENDS, (R.ACCOUNT_REQUEST_REVIEW,), _review),
        UPLOAD: (_requests_refused(UPLOAD),),
        INTEGRATION: (_requests_refused(INTEGRATION),),
    },
    Action.REJECT_REQUEST: {
        STANDALONE: _When(Verdict.DEPENDS, (R.ACCOUNT_REQUEST_REVIEW,), _review),
        UPLOAD: (_requests_refused(UPLOAD),),
        INTEGRATION: (_requests_refused(INTEGRATION),),
    },
    Action.VERIFY_EMAIL: {
        STANDALONE: _When(Verdict.DEPENDS, (R.EMAIL_VERIFICATION,), _verification),
        UPLOAD: (_requests_refused(UPLOAD),),
        INTEGRATION: (_requests_refused(INTEGRATION),),
    },
    Action.REACTIVATE_USER: {
        STANDALONE: (
            _Say(R.REACTIVATE_USER, INFO, "an admin reactivates the user; login works again"),
        ),
        UPLOAD: (
            _Say(R.UPLOAD_SINGLE_SOURCE, ERROR,
                 "a user is reactivated by the file's Status column, not locally"),
        ),
        INTEGRATION: (
            _Say(R.REACTIVATE_USER, INFO,
                 "the integration reactivates explicitly; a sync never does"),
        ),
    },
    Action.REVERT_UPLOAD: {
        STANDALONE: (
            _Say(R.REVERT_UPLOAD, INFO,
                 "the initial upload's changes go back; its new users are deactivated, "
                 "its new contacts unsubscribed"),
        ),
        UPLOAD: (
            _Say(R.REVERT_UPLOAD, INFO,
                 "the upload's changes go back; its new users are deactivated, "
                 "its new contacts unsubscribed"),
        ),
        INTEGRATION: (
            _Say(R.INTEGRATION_SOURCE_OF_TRUTH, ERROR,
                 "records come from {system}: there is no upload to revert"),
        ),
    },
}  # fmt: skip


def _system_name(book: RuleBook, tenant: Tenant) -> str:
    if tenant.integration is None:
        return "the integrated system"
    system = book.catalog.get(tenant.integration)
    return system.name if system is not None else tenant.integration


def _said(book: RuleBook, say: _Say, tenant: Tenant) -> Finding:
    """The finding of a cell's say whose message names the tenant's integrated system."""
    message = say.message.format(system=_system_name(book, tenant))
    return book.finding(say.rule, say.severity, message)


@attrs.frozen
class _Static:
    """A fixed cell for one product: its findings, made once."""

    findings: tuple[Finding, ...]
    allowed: bool


_SOURCES = {rule.id: rule.source for rule in RULES}


def _compiled(cell: _Cell, method: Method, product: Product) -> _Cell | _Static:
    """``cell`` for ``product``: made once, unless a message names the tenant's system."""
    if isinstance(cell, _When):
        return cell
    says = tuple(
        attrs.evolve(
            say,
            message=say.message.replace("{product}", product.value).replace(
                "{method}", method.value
            ),
        )
        for say in cell
    )
    if any(say.templated for say in says):
        return says
    findings = tuple(Finding(s.rule, s.severity, s.message, _SOURCES[s.rule]) for s in says)
    return _Static(findings, all(f.severity is not ERROR for f in findings))


#: What decide reads for each action: its gate, whether it is a login, and its cells by
#: method and product.
_TABLE = {
    action: (
        GATES[action],
        action in _LOGINS,
        {(m, p): _compiled(c, m, p) for m, c in cells.items() for p in Product},
    )
    for action, cells in CELLS.items()
}


# -- decide --------------------------------------------------------------------------


def decide(
    book: RuleBook,
    tenant: Tenant,
    actor: Actor,
    action: Action,
    product: Product,
    as_of: dt.date | None,
) -> Decision:
    """Whether ``actor`` may do ``action`` on ``tenant``'s ``product``, with the findings."""
    role = actor.role
    method = tenant.products.get(product)
    if method is None:
        refusal = book.finding(
            R.PRODUCT_NOT_LICENSED, ERROR, f"the tenant does not license {product.value}"
        )
        return Decision(False, action, product, role, (refusal,))
    if (
        product is not Product.COMMUNITY
        and method is not UPLOAD
        and action is not Action.CHANGE_METHOD
    ):
        # STANDALONE_COMMUNITY_ONLY / INTEGRATION_COMMUNITY_ONLY: a product on a method it
        # cannot use does nothing until it is migrated.
        rule = R.STANDALONE_COMMUNITY_ONLY if method is STANDALONE else R.INTEGRATION_COMMUNITY_ONLY
        refusal = book.finding(
            rule,
            ERROR,
            f"{product.value} cannot use {method.value}; migrate it to spreadsheet upload first",
        )
        return Decision(False, action, product, role, (refusal,))
    settings = book.settings
    gate, login, cells = _TABLE[action]
    roles = gate.roles
    passes = role in (settings.user_admin_roles if roles is None else roles) or (
        role is Role.INTEGRATION and method is gate.integration_under
    )
    denied = None if passes else gate.refusal(book, role)
    if login and product not in settings.sso_products:
        message = f"{product.value} contacts do not sign in; login is a Community concern"
        no_login = book.finding(R.SSO_NOT_MARKETING, ERROR, message)
        found = (no_login,) if denied is None else (denied, no_login)
        return Decision(False, action, product, role, found)
    cell = cells[method, product]
    if type(cell) is _Static:
        # The common case: one table lookup, the findings made once.
        if denied is None:
            return Decision(cell.allowed, action, product, role, cell.findings)
        return Decision(False, action, product, role, (denied, *cell.findings))
    findings = [] if denied is None else [denied]
    if type(cell) is _When:
        findings.extend(cell.findings(book, tenant, product, method, as_of))
    else:
        assert isinstance(cell, tuple)
        findings.extend([_said(book, say, tenant) for say in cell])
    allowed = True
    for finding in findings:
        if finding.severity is ERROR:
            allowed = False
            break
    return Decision(allowed, action, product, role, tuple(findings))


# -- the permission matrix -----------------------------------------------------------


@attrs.frozen
class Permission:
    """One cell of the permission matrix: the verdict and the rules that give it."""

    verdict: Verdict
    #: For a refusal, the refusing rules; for ``depends``, the rules the tenant's facts
    #: decide by; for ``allowed``, none.
    rules: tuple[RuleId, ...] = ()

    def __str__(self) -> str:
        if not self.rules:
            return self.verdict.value
        return f"{self.verdict.value}: {', '.join(self.rules)}"


@attrs.frozen
class PermissionMatrix:
    """What ``decide`` says of each action, method and role of a Community product.

    Read off the tables ``decide`` itself reads: a ``depends`` cell is decided by the
    tenant's own facts (its account-request policy, upload history, SSO setup or
    integrated system), named by the cell's rules.
    """

    cells: Mapping[tuple[Action, Method, Role], Permission] = attrs.field(repr=False)

    def __getitem__(self, key: tuple[Action | str, Method | str, Role | str]) -> Permission:
        given: object = key
        if not isinstance(given, tuple) or len(given) != 3:
            raise InvalidValueError(
                f"a permission matrix key is (action, method, role), got {key!r}", field="key"
            )
        action, method, role = given
        try:
            cell = (
                to_enum(Action, action, "action"),
                to_enum(Method, method, "method"),
                to_enum(Role, role, "role"),
            )
        except InvalidValueError as exc:
            raise InvalidValueError(
                f"a permission matrix key is (action, method, role), in that order: {exc}",
                field=exc.field,
            ) from None
        return self.cells[cell]

    def __str__(self) -> str:
        """One text table per method: actions down, roles across, each cell's verdict."""
        actions = list(dict.fromkeys(a for a, _, _ in self.cells))
        methods = list(dict.fromkeys(m for _, m, _ in self.cells))
        roles = list(dict.fromkeys(r for _, _, r in self.cells))
        first = max((len(a.value) for a in actions), default=0)
        widths = [max(len(r.value), len(Verdict.ALLOWED.value)) for r in roles]
        tables = []
        for method in methods:
            top = (r.value.ljust(w) for r, w in zip(roles, widths, strict=True))
            lines = [f"method {method.value}:", "  ".join([" " * first, *top])]
            for action in actions:
                verdicts = (self.cells[action, method, role].verdict.value for role in roles)
                cells = (v.ljust(w) for v, w in zip(verdicts, widths, strict=True))
                lines.append("  ".join([action.value.ljust(first), *cells]))
            tables.append("\n".join(line.rstrip() for line in lines))
        return "\n\n".join(tables)

    def __iter__(self) -> Iterator[tuple[Action, Method, Role]]:
        return iter(self.cells)

    def __len__(self) -> int:
        return len(self.cells)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per cell (action, method, role, verdict, rules), e.g. for pandas."""
        return [
            {
                "action": action.value,
                "method": method.value,
                "role": role.value,
                "verdict": permission.verdict.value,
                "rules": ", ".join(permission.rules),
            }
            for (action, method, role), permission in self.cells.items()
        ]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame``; needs pandas (the extra ``pandas``)."""
        return data_frame(self.to_records(), ("action", "method", "role", "verdict", "rules"))

    def _repr_html_(self) -> str:
        rows = [tuple(r.values()) for r in self.to_records()]
        return html_table(
            "permission matrix", ("action", "method", "role", "verdict", "rules"), rows
        )


def _cell_permission(cell: _Cell) -> Permission:
    if isinstance(cell, _When):
        return Permission(cell.verdict, () if cell.verdict is Verdict.ALLOWED else cell.rules)
    refusing = tuple(dict.fromkeys(say.rule for say in cell if say.severity is ERROR))
    return Permission(Verdict.REFUSED, refusing) if refusing else Permission(Verdict.ALLOWED)


def permission_matrix(book: RuleBook) -> PermissionMatrix:
    """The permission matrix of ``book``: every action x method x role, for Community."""
    cells: dict[tuple[Action, Method, Role], Permission] = {}
    sso_community = Product.COMMUNITY in book.settings.sso_products
    for action in Action:
        gate = GATES[action]
        for method in Method:
            if action in _LOGINS and not sso_community:
                by_method = Permission(Verdict.REFUSED, (R.SSO_NOT_MARKETING,))
            else:
                by_method = _cell_permission(CELLS[action][method])
            for role in Role:
                if gate.allows(book.settings, role, method):
                    cells[action, method, role] = by_method
                else:
                    rules = (
                        (gate.rule, *by_method.rules)
                        if by_method.verdict is Verdict.REFUSED
                        else (gate.rule,)
                    )
                    cells[action, method, role] = Permission(
                        Verdict.REFUSED, tuple(dict.fromkeys(rules))
                    )
    return PermissionMatrix(cells)
