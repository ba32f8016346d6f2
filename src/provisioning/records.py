"""User records (Community) and contacts (Marketing), normalised once on construction.

Strings are trimmed and an empty optional value becomes ``None``. Emails keep their
local part as written and have their domain lower-cased; compare them with
:attr:`UserRecord.email_key`, which ignores case entirely.

>>> from provisioning import UserRecord
>>> r = UserRecord(legacy_contact_key=" 1001 ", first_name="Ada", last_name="Lovelace",
...                email="Ada@Example.COM", company_name="Analytical Engines")
>>> r.legacy_contact_key, r.email, r.email_key
('1001', 'Ada@example.com', 'ada@example.com')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ._enum import ValueEnum
from ._frozen import FrozenMap
from ._metadata import FIELD_MEMBERSHIP, FIELD_ROLE
from ._validators import (
    EMAIL,
    ID_MAX_LENGTH,
    header_problem,
    identifier,
    is_bool,
    text,
    text_problem,
    to_enum,
)
from .exceptions import InvalidValueError

__all__ = [
    "EMAIL_MAX_LENGTH",
    "ID_FIELDS",
    "ID_MAX_LENGTH",
    "Contact",
    "ContactKey",
    "CustomFields",
    "RecordStatus",
    "SubscriptionStatus",
    "UserRecord",
    "email_key",
    "is_valid_email",
    "normalize_email",
]

#: RFC 5321 limits a forward path to 254 characters.
EMAIL_MAX_LENGTH = 254

_email_match = EMAIL.fullmatch


def is_valid_email(value: str) -> bool:
    """Whether ``value`` (already trimmed) is an email address the vendor accepts."""
    return len(value) <= EMAIL_MAX_LENGTH and _email_match(value) is not None


def normalize_email(value: str) -> str:
    """Trim ``value`` and lower-case its domain; the local part keeps its case."""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}" if at else value


def email_key(value: str) -> str:
    """The case-insensitive key under which two emails are the same address."""
    return value.strip().lower()


class RecordStatus(ValueEnum):
    """A Community user's state, as the domain reference (docs/domain.md) lists them."""

    ENABLED = "Enabled"
    #: Login blocked, content kept, reversible (``DEACTIVATE_NOT_DELETE``).
    DEACTIVATED = "Deactivated"
    PENDING_APPROVAL = "Pending Approval"
    #: Before approval, when the site verifies emails first.
    PENDING_VERIFICATION = "Pending Verification"
    REJECTED = "Rejected"
    #: The person's data was deleted (``delete_personal_data``): the record stays, every
    #: personal value replaced, so that no sync or upload brings the person back
    #: (``DEACTIVATE_NOT_DELETE``). Final, and never read from an upload file.
    DELETED = "Deleted"


class SubscriptionStatus(ValueEnum):
    """A Marketing contact's subscription state."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    OPTED_OUT = "opted_out"


class CustomFields(FrozenMap[str, str]):
    """An immutable, hashable mapping of custom (demographic) column names to values."""

    __slots__ = ()

    def __new__(cls, values: Mapping[str, str] | None = None) -> CustomFields:
        if values is not None and not isinstance(values, Mapping):
            raise InvalidValueError(
                f"custom must be a mapping of column names to text, got "
                f"{type(values).__name__} {values!r}",
                field="custom",
            )
        given: Mapping[Any, object] = values or {}
        for name, value in given.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise InvalidValueError(
                    f"custom: {name!r}: {value!r}: names and values must be strings",
                    field="custom",
                )
            if (problem := text_problem(name) or text_problem(value)) is not None:
                raise InvalidValueError(f"custom: {name!r}: {value!r} {problem}", field="custom")
            if (problem := header_problem(name)) is not None:
                raise InvalidValueError(
                    f"custom: the name {name!r} {problem}, so no column can have it as its header",
                    field="custom",
                )
        return cls.trusted(dict(values or {}))

    @classmethod
    def trusted(cls, values: dict[str, str]) -> CustomFields:
        """Build from a dict already checked (the reader's hot path); no copy, no check."""
        if not values and _EMPTY is not None:
            # One shared empty instance: most records have no custom fields, and record
            # equality then short-cuts on identity instead of calling __eq__.
            return _EMPTY
        self = super().__new__(cls)
        self._freeze(values)
        return self

    def __reduce__(self) -> tuple[type[CustomFields], tuple[dict[str, str]]]:
        # Rebuild through __new__ with the values, so the shared empty instance is
        # never handed out half-built and then filled in by unpickling.
        return (CustomFields, (dict(self._map),))

    def __repr__(self) -> str:
        return f"CustomFields({self._map!r})"


_EMPTY: CustomFields | None = None
_EMPTY = CustomFields()

#: The fields of each record class that are ids (keys): at most ``ID_MAX_LENGTH``
#: characters. The spreadsheet reader checks them too.
ID_FIELDS: Mapping[type[Any], frozenset[str]] = {}


def _email(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidValueError(
            f"email must be a string, got {type(value).__name__} {value!r}", field="email"
        )
    return normalize_email(value)


def _valid_email(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not is_valid_email(value):
        raise InvalidValueError(
            f"{attribute.name} is not a valid email address: {value!r}", field=attribute.name
        )


def _optional_bool(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        is_bool(_inst, attribute, value)


def _optional_date(_inst: object, attribute: attrs.Attribute[object], value: object) -> None:
    if value is not None and (isinstance(value, dt.datetime) or not isinstance(value, dt.date)):
        raise InvalidValueError(
            f"{attribute.name} must be a date or None, got {value!r}", field=attribute.name
        )


def _status(value: RecordStatus | str) -> RecordStatus:
    return to_enum(RecordStatus, value, "status")


def _subscription(value: SubscriptionStatus | str) -> SubscriptionStatus:
    return to_enum(SubscriptionStatus, value, "subscription")


def _to_custom(value: Mapping[str, str] | None) -> CustomFields:
    return value if isinstance(value, CustomFields) else CustomFields(value)


def _text(metadata: Mapping[str, Any] | None = None) -> Any:
    """An optional text field: trimmed, empty becomes ``None``."""
    return attrs.field(
        default=None, converter=attrs.Converter(_optional, takes_field=True), metadata=metadata
    )


def _optional(value: object, field: attrs.Attribute[Any]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError(
            f"{field.name} must be a string or None, got {type(value).__name__} {value!r}",
            field=field.name,
        )
    value = value.strip()
    if (problem := text_problem(value)) is not None:
        raise InvalidValueError(f"{field.name} {problem}", field=field.name)
    return value or None


def _day(metadata: Mapping[str, Any] | None = None) -> Any:
    """An optional date field."""
    return attrs.field(default=None, validator=_optional_date, metadata=metadata)


_check_key = identifier("legacy_contact_key", controls=False)
_check_member_id = identifier("member_id", controls=False)
_check_first_name = text("first_name")
_check_last_name = text("last_name")
_check_company_name = text("company_name")


def _key(value: str) -> str:
    return _check_key(value)


def _first_name(value: str) -> str:
    return _check_first_name(value)


def _last_name(value: str) -> str:
    return _check_last_name(value)


def _company_name(value: str) -> str:
    return _check_company_name(value)


def _optional_id(value: str | None) -> str | None:
    raw: object = value
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return _check_member_id(raw)


# Field metadata: what generated code, stores and strategies need to know of a field
# beyond its type. An identifier is capped at ``ID_MAX_LENGTH`` and keys a record.
_IDENTIFIER: Mapping[str, str] = {FIELD_ROLE: "identifier"}
#: An email address: normalised and checked by the documented email rule.
_EMAIL_FIELD: Mapping[str, str] = {FIELD_ROLE: "email"}
#: A fact of the membership the organisation keeps: not the member's to edit.
_MEMBERSHIP: Mapping[str, bool] = {FIELD_MEMBERSHIP: True}


@attrs.frozen(kw_only=True)
class UserRecord:
    """A Community user record, as the "Upload Users" template describes it.

    The five required fields are the vendor's required headers; the optional fields are
    ours, named after the vendor's Push API member record (see the domain reference,
    docs/domain.md).
    """

    #: The user's unique id; with SSO it must be the IdP's identifier. At most
    #: ``ID_MAX_LENGTH`` (255) characters.
    legacy_contact_key: str = attrs.field(converter=_key, metadata=_IDENTIFIER)
    first_name: str = attrs.field(converter=_first_name)
    last_name: str = attrs.field(converter=_last_name)
    email: str = attrs.field(converter=_email, validator=_valid_email, metadata=_EMAIL_FIELD)
    company_name: str = attrs.field(converter=_company_name)
    prefix: str | None = _text()
    middle_name: str | None = _text()
    suffix: str | None = _text()
    informal_name: str | None = _text()
    #: Job title.
    title: str | None = _text()
    member_id: str | None = _text(_MEMBERSHIP)
    member_since: dt.date | None = _day(_MEMBERSHIP)
    member_expires_on: dt.date | None = _day(_MEMBERSHIP)
    birthday: dt.date | None = _day()
    address1: str | None = _text()
    address2: str | None = _text()
    city: str | None = _text()
    state: str | None = _text()
    postal_code: str | None = _text()
    country: str | None = _text()
    phone1: str | None = _text()
    phone1_type: str | None = _text()
    phone2: str | None = _text()
    phone2_type: str | None = _text()
    is_member: bool | None = attrs.field(
        default=None, validator=_optional_bool, metadata=_MEMBERSHIP
    )
    status: RecordStatus = attrs.field(default=RecordStatus.ENABLED, converter=_status)
    #: Custom demographic columns a host's template adds.
    custom: CustomFields = attrs.field(factory=CustomFields, converter=_to_custom)

    @property
    def email_key(self) -> str:
        """The email compared case-insensitively (uniqueness, lookups)."""
        return self.email.lower()

    @property
    def key(self) -> str:
        """The record's unique id within a tenant: its LegacyContactKey."""
        return self.legacy_contact_key


@attrs.frozen(kw_only=True)
class Contact:
    """A Marketing contact. The key is the email unless a member id is used."""

    email: str = attrs.field(converter=_email, validator=_valid_email, metadata=_EMAIL_FIELD)
    #: The key under a by-member-id template: at most ``ID_MAX_LENGTH`` characters.
    member_id: str | None = attrs.field(default=None, converter=_optional_id, metadata=_IDENTIFIER)
    first_name: str | None = _text()
    last_name: str | None = _text()
    subscription: SubscriptionStatus = attrs.field(
        default=SubscriptionStatus.SUBSCRIBED,
        converter=_subscription,
    )
    custom: CustomFields = attrs.field(factory=CustomFields, converter=_to_custom)

    @property
    def email_key(self) -> str:
        """The email compared case-insensitively."""
        return self.email.lower()


class ContactKey(ValueEnum):
    """What identifies a Marketing contact (``MARKETING_CONTACT_KEY``).

    Professional contacts are keyed by their email; Enterprise ones by their email
    (the default) or by a custom member id.

    >>> from provisioning import Contact
    >>> ada = Contact(email="Ada@Example.com", member_id="M-1815")
    >>> ContactKey.EMAIL.of(ada), ContactKey.MEMBER_ID.of(ada)
    ('ada@example.com', 'M-1815')
    """

    #: The email, compared ignoring case: the key is the lower-cased email.
    EMAIL = "email"
    #: The contact's member id, compared exactly.
    MEMBER_ID = "member_id"

    def of(self, contact: Contact) -> str:
        """The key ``contact`` is stored under; a contact without a member id has none
        by member id (:class:`~provisioning.InvalidValueError`)."""
        if self is ContactKey.EMAIL:
            return contact.email.lower()
        if contact.member_id is None:
            raise InvalidValueError(
                f"contact {contact.email!r} has no member id, and contacts are keyed by "
                "member id (MARKETING_CONTACT_KEY)",
                field="member_id",
            )
        return contact.member_id


ID_FIELDS = {
    cls: frozenset(f.name for f in attrs.fields(cls) if f.metadata.get(FIELD_ROLE) == "identifier")
    for cls in (UserRecord, Contact)
}
