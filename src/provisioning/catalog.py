"""Products, provisioning methods and the integration catalog: the vendor's facts as data.

The catalog records what the public sources say about each integrated system (see
the domain reference, docs/domain.md). A capability that no source confirms is ``Support.UNKNOWN``,
never ``YES``. Hosts add or replace systems with :meth:`IntegrationCatalog.with_systems`.

>>> from provisioning import DEFAULT_CATALOG, Capability, Support
>>> DEFAULT_CATALOG["imis"].supports(Capability.SSO)
<Support.YES: 'yes'>
>>> DEFAULT_CATALOG["neoncrm"].supports(Capability.SSO)
<Support.UNKNOWN: 'unknown'>
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from ._enum import ValueEnum
from ._validators import nonempty, to_enum
from .exceptions import InvalidValueError, NotFoundError

__all__ = [
    "DEFAULT_CATALOG",
    "Capability",
    "IntegrationCatalog",
    "IntegrationSystem",
    "MarketingEdition",
    "Product",
    "ProvisioningMethod",
    "Support",
]


class Product(ValueEnum):
    """A product a tenant licenses."""

    #: Thrive Community: the member community and its user records.
    COMMUNITY = "community"
    #: Thrive Marketing: email contacts.
    MARKETING = "marketing"


class ProvisioningMethod(ValueEnum):
    """How a product's user records are created and updated (``METHODS_EXCLUSIVE``)."""

    #: The community is the portal: one initial upload, then local registration.
    STANDALONE = "standalone"
    #: A Super Admin's CSV upload is the single source of records.
    SPREADSHEET_UPLOAD = "spreadsheet_upload"
    #: An AMS/CRM is the authority and syncs records in.
    STANDARD_INTEGRATION = "standard_integration"


class MarketingEdition(ValueEnum):
    """The Marketing edition decides which contact file the upload takes."""

    #: CSV; the key is Email or a custom member id.
    ENTERPRISE = "enterprise"
    #: Tab-delimited text; the key is Email.
    PROFESSIONAL = "professional"


class Support(ValueEnum):
    """Whether a source confirms a capability. Unconfirmed is ``UNKNOWN``, never ``YES``."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Capability(ValueEnum):
    """What a standard integration can sync (see the domain reference, docs/domain.md)."""

    CONTACT_PROFILE = "contact_profile"
    ORGANIZATIONS = "organizations"
    CUSTOM_DEMOGRAPHICS = "custom_demographics"
    SECURITY_GROUPS = "security_groups"
    COMMUNITIES = "communities"
    EVENTS = "events"
    SSO = "sso"


def _capabilities(value: Iterable[Capability | str], field: str) -> frozenset[Capability]:
    return frozenset(to_enum(Capability, v, field) for v in value)


def _confirmed(value: Iterable[Capability | str]) -> frozenset[Capability]:
    return _capabilities(value, "confirmed")


def _denied(value: Iterable[Capability | str]) -> frozenset[Capability]:
    return _capabilities(value, "denied")


def _check_id(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or value != value.strip() or value.lower() != value:
        raise InvalidValueError(
            f"{attribute.name} must be a non-empty lower-case id without surrounding "
            f"spaces, got {value!r}",
            field=attribute.name,
        )


@attrs.frozen(kw_only=True)
class IntegrationSystem:
    """One AMS/CRM the vendor integrates with, and what the sources confirm about it.

    ``confirmed`` and ``denied`` hold the capabilities a source confirms or denies;
    everything else is :attr:`Support.UNKNOWN`.
    """

    #: A stable lower-case id, e.g. ``"imis"``.
    id: str = attrs.field(validator=_check_id)
    #: The system's display name.
    name: str = attrs.field(validator=nonempty)
    confirmed: frozenset[Capability] = attrs.field(default=frozenset(), converter=_confirmed)
    denied: frozenset[Capability] = attrs.field(default=frozenset(), converter=_denied)
    #: Where the facts come from (article numbers, guide names).
    source: str = ""
    #: Versions, editions or caveats worth knowing.
    notes: str = ""

    def __attrs_post_init__(self) -> None:
        both = self.confirmed & self.denied
        if both:
            names = ", ".join(sorted(c.value for c in both))
            raise InvalidValueError(
                f"integration system {self.id!r}: a capability cannot be both confirmed "
                f"and denied ({names})",
                field="denied",
            )

    def supports(self, capability: Capability) -> Support:
        """Say whether a source confirms, denies or is silent about ``capability``."""
        if capability in self.confirmed:
            return Support.YES
        if capability in self.denied:
            return Support.NO
        return Support.UNKNOWN


def _systems_tuple(value: Iterable[IntegrationSystem]) -> tuple[IntegrationSystem, ...]:
    return tuple(value)


@attrs.frozen
class IntegrationCatalog:
    """The integrated systems a rulebook knows, looked up by id.

    A catalog is a value: :meth:`with_systems` returns a new one.
    """

    systems: tuple[IntegrationSystem, ...] = attrs.field(converter=_systems_tuple)
    _by_id: dict[str, IntegrationSystem] = attrs.field(init=False, eq=False, hash=False, repr=False)

    @_by_id.default
    def _index(self) -> dict[str, IntegrationSystem]:
        index: dict[str, IntegrationSystem] = {}
        for system in self.systems:
            if system.id in index:
                raise InvalidValueError(
                    f"integration catalog lists {system.id!r} twice", field="systems"
                )
            index[system.id] = system
        return index

    def __getitem__(self, system_id: str) -> IntegrationSystem:
        try:
            return self._by_id[system_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id))
            raise NotFoundError(
                f"unknown integration system {system_id!r}; known systems: {known}",
                kind="integration system",
                key=system_id,
            ) from None

    def get(self, system_id: str) -> IntegrationSystem | None:
        """Return the system with this id, or ``None``."""
        return self._by_id.get(system_id)

    def __contains__(self, system_id: object) -> bool:
        return system_id in self._by_id

    def __iter__(self) -> Iterator[IntegrationSystem]:
        return iter(self.systems)

    def __len__(self) -> int:
        return len(self.systems)

    def with_systems(self, *systems: IntegrationSystem) -> IntegrationCatalog:
        """Return a catalog with ``systems`` added, replacing any with the same id."""
        replaced = {s.id for s in systems}
        return IntegrationCatalog((*(s for s in self.systems if s.id not in replaced), *systems))


_GUIDES = "HL 360033048011 (Integrations Overview) and the system's guide"
_SSO_LISTED = "SSO listed in HL 360033048011"


def _system(
    system_id: str, name: str, *, sso: Support = Support.UNKNOWN, notes: str = ""
) -> IntegrationSystem:
    # Every standard integration syncs the contact profile: that is what it is for
    # (HL 360043534792). Other capabilities are per system and stay unknown unless listed.
    confirmed = {Capability.CONTACT_PROFILE}
    denied: set[Capability] = set()
    source = _GUIDES
    if sso is Support.YES:
        confirmed.add(Capability.SSO)
        source = f"{_GUIDES}; {_SSO_LISTED}"
    elif sso is Support.NO:
        denied.add(Capability.SSO)
    return IntegrationSystem(
        id=system_id, name=name, confirmed=confirmed, denied=denied, source=source, notes=notes
    )


#: The vendor's documented standard integrations (see the domain reference, docs/domain.md).
DEFAULT_CATALOG = IntegrationCatalog(
    (
        _system(
            "imis",
            "iMIS",
            sso=Support.YES,
            notes="legacy 15/20, REST from 20.2 SP F, EMS/cloud; not iMIS 100/200; "
            "the key is the iMIS Contact ID",
        ),
        _system(
            "salesforce",
            "Salesforce",
            sso=Support.YES,
            notes="the key is the 18-character case-safe Contact Id",
        ),
        _system("fonteva", "Fonteva"),
        _system("nimble_ams", "Nimble AMS"),
        _system("neoncrm", "NeonCRM"),
        _system("netforum_enterprise", "netFORUM Enterprise"),
        _system(
            "netforum_pro",
            "netFORUM Pro",
            sso=Support.NO,
            notes="a 2015 page says netFORUM Pro has no true SSO",
        ),
        _system("personify", "Personify", sso=Support.YES),
        _system("membersuite", "MemberSuite", sso=Support.YES),
        _system("yourmembership", "YourMembership"),
        _system("memberclicks", "MemberClicks"),
        _system("impexium", "Impexium (re:Members)", sso=Support.YES),
        _system("protech", "Protech"),
        _system("association_anywhere", "Association Anywhere"),
        _system("euclid_clearvantage", "Euclid ClearVantage"),
        _system("dynamics_365", "Microsoft Dynamics 365", notes="version 9 and later"),
    )
)
