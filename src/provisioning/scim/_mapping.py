"""A record as a SCIM ``User``, and the record cells a ``User`` gives.

=========================================  ===========================================
SCIM attribute                             record field (upload-template header)
=========================================  ===========================================
``externalId``                             ``LegacyContactKey`` at creation (else
                                           ``userName``; ``SSO_IDENTIFIER_MATCH``)
``userName``                               the record's SCIM facts (unique per tenant)
``name.givenName`` / ``familyName``        ``FirstName`` / ``LastName``
``name.middleName``                        ``MiddleName``
``name.honorificPrefix`` / ``…Suffix``     ``PrefixCode`` / ``SuffixCode``
``nickName``                               ``InformalName``
``title``                                  ``Title``
``emails`` (the primary, else the first)   ``EmailAddress``
``phoneNumbers[0]``, ``[1]`` (and types)   ``Phone1``, ``Phone2`` (``Phone1Type``...)
``addresses[0]``                           ``Address1`` / ``Address2`` (``streetAddress``
                                           lines), ``City``, ``State``, ``PostalCode``,
                                           ``Country``
``active``                                 ``Status`` (Enabled / Deactivated)
enterprise ``organization``                ``CompanyName``
enterprise ``employeeNumber``              ``MemberId``
ours ``memberSince``, ``memberExpiresOn``, ``MemberSince``, ``MemberExpiresOn``,
``birthday``, ``isMember``                 ``Birthday``, ``IsMember``
=========================================  ===========================================
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Final

from scim2_models import Meta

from ..audit import record_values
from ..records import RecordStatus, UserRecord
from ..repository import ScimFacts
from ._models import (
    USER_MODEL,
    CommunityExtension,
    CommunityUser,
    RecordAddress,
    RecordEmail,
    RecordEnterprise,
    RecordName,
    RecordPhone,
)

__all__ = ["RecordView", "cells_of", "kept_as_stored", "resource_of", "version_of"]

_EMPTY: Final = ""


def version_of(record: UserRecord, entry: ScimFacts) -> str:
    """The resource's ETag: a weak tag of everything it shows, so it changes with each write."""
    shown = [record_values(record), entry.user_name, entry.id, entry.external_id]
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()
    return f'W/"{digest[:24]}"'


def resource_of(record: UserRecord, entry: ScimFacts) -> CommunityUser[Any]:
    """The SCIM ``User`` of ``record`` (``meta.location`` is left to the server)."""
    phones = [
        RecordPhone(value=value, type=kind or None)
        for value, kind in (
            (record.phone1, record.phone1_type),
            (record.phone2, record.phone2_type),
        )
        if value
    ]
    street = "\n".join(line for line in (record.address1, record.address2) if line)
    address = RecordAddress(
        type="work",
        street_address=street or None,
        locality=record.city,
        region=record.state,
        postal_code=record.postal_code,
        country=record.country,
    )
    has_address = any((street, record.city, record.state, record.postal_code, record.country))
    user = USER_MODEL(
        id=entry.id,
        external_id=entry.external_id,
        user_name=entry.user_name,
        name=RecordName(
            given_name=record.first_name,
            family_name=record.last_name,
            middle_name=record.middle_name,
            honorific_prefix=record.prefix,
            honorific_suffix=record.suffix,
        ),
        nick_name=record.informal_name,
        title=record.title,
        active=record.status is RecordStatus.ENABLED,
        emails=[RecordEmail(value=record.email, type="work")],
        phone_numbers=phones or None,
        addresses=[address] if has_address else None,
        meta=Meta(
            resource_type="User",
            created=entry.created_at,
            last_modified=entry.modified_at,
            version=version_of(record, entry),
        ),
    )
    user[RecordEnterprise] = RecordEnterprise(
        organization=record.company_name, employee_number=record.member_id
    )
    if any(
        v is not None
        for v in (record.member_since, record.member_expires_on, record.birthday, record.is_member)
    ):
        user[CommunityExtension] = CommunityExtension(
            member_since=record.member_since,
            member_expires_on=record.member_expires_on,
            birthday=record.birthday,
            is_member=record.is_member,
        )
    return user


class RecordView:
    """What a filter reads of a record's ``User``, made only as far as it is read.

    scim2-models evaluates a filter by reading attributes off the object it is given, by
    the model the filter is bound to; making a whole resource costs far more than most
    filters read (``name.familyName eq "…"`` reads one name). The attributes most filters
    name are made here, each exactly as :func:`resource_of` makes it; any other is read
    off the whole resource, made once, on first use.
    """

    __slots__ = ("_resource", "entry", "record")

    def __init__(self, record: UserRecord, entry: ScimFacts) -> None:
        self.record = record
        self.entry = entry
        self._resource: CommunityUser[Any] | None = None

    @property
    def resource(self) -> CommunityUser[Any]:
        """The whole ``User`` (made on first use)."""
        if self._resource is None:
            self._resource = resource_of(self.record, self.entry)
        return self._resource

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def external_id(self) -> str | None:
        return self.entry.external_id

    @property
    def user_name(self) -> str:
        return self.entry.user_name

    @property
    def active(self) -> bool:
        return self.record.status is RecordStatus.ENABLED

    @property
    def title(self) -> str | None:
        return self.record.title

    @property
    def nick_name(self) -> str | None:
        return self.record.informal_name

    @property
    def name(self) -> RecordName:
        record = self.record
        return RecordName(
            given_name=record.first_name,
            family_name=record.last_name,
            middle_name=record.middle_name,
            honorific_prefix=record.prefix,
            honorific_suffix=record.suffix,
        )

    @property
    def emails(self) -> list[RecordEmail]:
        return [RecordEmail(value=self.record.email, type="work")]

    def __getattr__(self, attribute: str) -> Any:
        # Called only for what the class does not define: read it off the whole User.
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(self.resource, attribute)


def _text(value: object) -> str:
    return _EMPTY if value is None else str(value)


def _day(value: dt.date | None) -> str:
    return _EMPTY if value is None else value.isoformat()


def _chosen(items: list[Any] | None) -> Any:
    """The primary item of a multi-valued attribute, else its first; ``None`` if none."""
    if not items:
        return None
    return next((i for i in items if i.unknown_attributes.get("primary") is True), items[0])


def cells_of(user: CommunityUser[Any], key: str) -> dict[str, str]:
    """The upload-template cells of ``user`` (the whole record: what it leaves out is
    cleared, as a PUT does), for the record ``key``; the status is not among them."""
    name = user.name or RecordName()
    email = _chosen(user.emails)
    address = _chosen(user.addresses)
    phones = list(user.phone_numbers or [])[:2]
    enterprise = user[RecordEnterprise] or RecordEnterprise()
    ours = user[CommunityExtension] or CommunityExtension()
    street = (_text(address.street_address) if address else "").split("\n", 1)
    cells = {
        "LegacyContactKey": key,
        "FirstName": _text(name.given_name),
        "LastName": _text(name.family_name),
        "EmailAddress": _text(email.value if email else None),
        "CompanyName": _text(enterprise.organization),
        "PrefixCode": _text(name.honorific_prefix),
        "MiddleName": _text(name.middle_name),
        "SuffixCode": _text(name.honorific_suffix),
        "InformalName": _text(user.nick_name),
        "Title": _text(user.title),
        "MemberId": _text(enterprise.employee_number),
        "MemberSince": _day(ours.member_since),
        "MemberExpiresOn": _day(ours.member_expires_on),
        "Birthday": _day(ours.birthday),
        "Address1": street[0],
        "Address2": street[1] if len(street) > 1 else _EMPTY,
        "City": _text(address.locality if address else None),
        "State": _text(address.region if address else None),
        "PostalCode": _text(address.postal_code if address else None),
        "Country": _text(address.country if address else None),
        "IsMember": _EMPTY if ours.is_member is None else ("true" if ours.is_member else "false"),
    }
    for number, phone in enumerate(phones, start=1):
        cells[f"Phone{number}"] = _text(phone.value)
        cells[f"Phone{number}Type"] = _text(phone.type)
    return cells


#: The record fields a User shows merged: both address lines as one streetAddress, and
#: only the phones a record has. Split back, they need not be the fields they came from.
_MERGED: Final = (("Address1", "Address2"), ("Phone1", "Phone1Type", "Phone2", "Phone2Type"))


def kept_as_stored(
    cells: dict[str, str], shown: dict[str, str], record: UserRecord
) -> dict[str, str]:
    """``cells`` (a write's, by :func:`cells_of`) with the record's own fields of each
    group of :data:`_MERGED` the client left as ``shown`` (:func:`cells_of` of the User
    it was shown): a write that does not touch the address or the phones keeps them as
    stored, never their split (which moved Address2 into Address1, Phone2 into Phone1)."""
    stored = {
        "Address1": _text(record.address1),
        "Address2": _text(record.address2),
        "Phone1": _text(record.phone1),
        "Phone1Type": _text(record.phone1_type),
        "Phone2": _text(record.phone2),
        "Phone2Type": _text(record.phone2_type),
    }
    kept = dict(cells)
    for group in _MERGED:
        if all(cells.get(f, _EMPTY) == shown.get(f, _EMPTY) for f in group):
            kept.update((f, stored[f]) for f in group)
    return kept
