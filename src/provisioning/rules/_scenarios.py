"""The scenario table: every product x method x SSO setup x integrated system, explained.

Each scenario is a one-product tenant with its check findings, SSO eligibility and the
decision for each main action, taken by the actor who would normally take it.
:meth:`ScenarioTable.to_records` returns plain dicts a notebook turns into a DataFrame.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._clock import today
from .._html import html_table
from .._pandas import data_frame
from ..actors import Action, Actor, Role
from ..catalog import Product
from ..catalog import ProvisioningMethod as Method
from ..tenants import IdentityProvider, SsoProtocol, SsoSetup, Tenant
from ._results import CheckResult, Decision, Severity, SsoEligibility

if TYPE_CHECKING:
    from ._book import RuleBook

__all__ = [
    "ACTING_ROLE",
    "DEFAULT_SSO_OPTIONS",
    "DEFAULT_SYSTEMS",
    "Scenario",
    "ScenarioTable",
    "SsoOption",
    "build_scenarios",
]


@attrs.frozen
class SsoOption:
    """A named SSO setup for the table; ``go_live_in_days`` counts from the table's date."""

    name: str
    setup: SsoSetup | None
    go_live_in_days: int | None = None

    def setup_as_of(self, as_of: dt.date) -> SsoSetup | None:
        """The setup with its go-live date placed relative to ``as_of``."""
        if self.setup is None or self.go_live_in_days is None:
            return self.setup
        return attrs.evolve(self.setup, go_live=as_of + dt.timedelta(days=self.go_live_in_days))


_IDP = IdentityProvider(name="Customer AMS")


def _setup(protocol: SsoProtocol, *, signed: bool = True, lck: bool = True) -> SsoSetup:
    return SsoSetup(
        protocol=protocol,
        identity_provider=_IDP,
        asserted_identifier="NameID" if protocol is SsoProtocol.SAML_2_0 else "sub",
        identifier_is_legacy_contact_key=lck,
        saml_signed=signed,
    )


#: The SSO setups the default table explores.
DEFAULT_SSO_OPTIONS: tuple[SsoOption, ...] = (
    SsoOption("none", None),
    SsoOption("saml_live", _setup(SsoProtocol.SAML_2_0), 0),
    SsoOption("oidc_live", _setup(SsoProtocol.OPENID_CONNECT), 0),
    SsoOption("saml_unsigned", _setup(SsoProtocol.SAML_2_0, signed=False), 60),
    SsoOption("wrong_identifier", _setup(SsoProtocol.OPENID_CONNECT, lck=False), 60),
    SsoOption("too_soon", _setup(SsoProtocol.SAML_2_0), 7),
)

#: Integrated systems the default table explores: none, SSO confirmed, denied, unknown.
DEFAULT_SYSTEMS: tuple[str | None, ...] = (None, "imis", "netforum_pro", "neoncrm")

#: Who normally takes each action; the table decides each action for that role.
ACTING_ROLE: Mapping[Action, Role] = {
    Action.SELF_REGISTER: Role.MEMBER,
    Action.EDIT_OWN_PROFILE: Role.MEMBER,
    Action.ADMIN_CREATE_USER: Role.SUPER_ADMIN,
    Action.ADMIN_EDIT_USER: Role.SUPER_ADMIN,
    Action.INITIAL_UPLOAD: Role.SUPER_ADMIN,
    Action.SUBSEQUENT_UPLOAD: Role.SUPER_ADMIN,
    Action.INTEGRATION_SYNC: Role.INTEGRATION,
    Action.LOCAL_LOGIN: Role.MEMBER,
    Action.SSO_LOGIN: Role.MEMBER,
    Action.DEACTIVATE_USER: Role.SUPER_ADMIN,
    Action.DELETE_PERSONAL_DATA: Role.SUPER_ADMIN,
    Action.CHANGE_METHOD: Role.SUPER_ADMIN,
    Action.REVERT_UPLOAD: Role.SUPER_ADMIN,
    Action.APPROVE_REQUEST: Role.SUPER_ADMIN,
    Action.REJECT_REQUEST: Role.SUPER_ADMIN,
    Action.VERIFY_EMAIL: Role.MEMBER,
    Action.REACTIVATE_USER: Role.SUPER_ADMIN,
}

_ACTORS = {role: Actor(id=f"example-{role.value}", role=role) for role in Role}


@attrs.frozen
class Scenario:
    """One tenant configuration and everything the rules say about it."""

    product: Product
    method: Method
    sso_option: str
    system: str | None
    tenant: Tenant
    check: CheckResult
    sso: SsoEligibility
    decisions: Mapping[Action, Decision] = attrs.field(eq=False)

    def to_record(self) -> dict[str, object]:
        """This scenario as one flat dict: strings, booleans and ``None`` only."""
        record: dict[str, object] = {
            "product": self.product.value,
            "method": self.method.value,
            "sso_setup": self.sso_option,
            "system": self.system,
            "tenant_id": self.tenant.id,
            "config_ok": self.check.ok,
            "config_errors": "; ".join(f.rule for f in self.check.errors),
            "config_warnings": "; ".join(f.rule for f in self.check.warnings),
            "sso_status": self.sso.status.value,
            "sso_unmet": "; ".join(r.rule for r in self.sso.unmet),
        }
        for action, decision in self.decisions.items():
            record[action.value] = decision.allowed
            record[f"{action.value}_rules"] = "; ".join(
                f.rule for f in decision.findings if f.severity is Severity.ERROR
            )
        return record


@attrs.frozen
class ScenarioTable:
    """Scenarios in a stable order; ``to_records()`` for DataFrames."""

    as_of: dt.date
    scenarios: tuple[Scenario, ...]

    def __iter__(self) -> Iterator[Scenario]:
        return iter(self.scenarios)

    def __len__(self) -> int:
        return len(self.scenarios)

    def __getitem__(self, index: int) -> Scenario:
        return self.scenarios[index]

    def to_records(self) -> list[dict[str, object]]:
        """One flat dict per scenario, ready for ``pandas.DataFrame``."""
        return [s.to_record() for s in self.scenarios]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame``; needs pandas (the extra ``pandas``)."""
        records = self.to_records()
        return data_frame(records, tuple(records[0]) if records else ())

    def __str__(self) -> str:
        lines = [f"{len(self.scenarios)} scenarios as of {self.as_of.isoformat()}"]
        for s in self.scenarios:
            allowed = sum(d.allowed for d in s.decisions.values())
            lines.append(
                f"  {s.product}/{s.method}/sso={s.sso_option}/system={s.system}: "
                f"config {'ok' if s.check.ok else 'errors'}, sso {s.sso.status}, "
                f"{allowed} of {len(s.decisions)} actions allowed"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        # Only the actions the table decided get a column, so cells stay under their header.
        actions = [a for a in ACTING_ROLE if any(a in s.decisions for s in self.scenarios)]
        headers = ["product", "method", "sso", "system", "config", "sso status"]
        headers += [a.value for a in actions]
        rows: list[Sequence[object]] = [
            [
                s.product.value,
                s.method.value,
                s.sso_option,
                s.system or "",
                "ok" if s.check.ok else "; ".join(f.rule for f in s.check.errors),
                s.sso.status.value,
                *(_allowed_cell(s.decisions.get(a)) for a in actions),
            ]
            for s in self.scenarios
        ]
        return html_table(f"scenarios as of {self.as_of.isoformat()}", headers, rows)


def _allowed_cell(decision: Decision | None) -> str:
    if decision is None:
        return ""
    return "yes" if decision.allowed else "no"


def build_scenarios(
    book: RuleBook,
    *,
    products: Iterable[Product] = tuple(Product),
    methods: Iterable[Method] = tuple(Method),
    sso_options: Iterable[SsoOption] = DEFAULT_SSO_OPTIONS,
    systems: Iterable[str | None] = DEFAULT_SYSTEMS,
    actions: Iterable[Action] = tuple(ACTING_ROLE),
    as_of: dt.date | None = None,
) -> ScenarioTable:
    """Every combination of the given products, methods, SSO setups and systems."""
    day = as_of if as_of is not None else today()
    chosen_actions = tuple(actions)
    sso_list, system_list = tuple(sso_options), tuple(systems)
    out: list[Scenario] = []
    for product in products:
        for method in methods:
            for option in sso_list:
                for system in system_list:
                    tenant = Tenant(
                        id=f"{product.value}-{method.value}-{option.name}-{system or 'none'}",
                        name=f"{product} on {method}",
                        products={product: method},
                        sso=option.setup_as_of(day),
                        integration=system,
                    )
                    decisions = {
                        action: book.decide(
                            tenant, _ACTORS[ACTING_ROLE[action]], action, product=product, as_of=day
                        )
                        for action in chosen_actions
                    }
                    out.append(
                        Scenario(
                            product,
                            method,
                            option.name,
                            system,
                            tenant,
                            book.check(tenant),
                            book.sso_eligibility(tenant, product=product, as_of=day),
                            decisions,
                        )
                    )
    return ScenarioTable(day, tuple(out))
