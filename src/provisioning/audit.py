"""The audit trail: one event per changed record, and one per refused attempt.

A store that keeps an audit trail (:class:`provisioning.repository.AuditLog`) writes
the events of a commit in the same transaction as its records, so the trail never
misses a change and never holds one that did not happen. Each event says when, which
record, who (actor and role), through which channel, what happened (``kind``), the
fields that changed (old and new values, as plain JSON values), the upload it belongs
to (the revision its commit made, which is also the upload's id) and the rule ids that
decided it. A refused attempt is an event too (kind ``refused``, with the refusing
rules): it is appended without moving the tenant's revision.

>>> import datetime as dt
>>> import provisioning as pv
>>> old = pv.UserRecord(legacy_contact_key="1001", first_name="Ada", last_name="Lovelace",
...                     email="ada@example.com", company_name="Analytical Engines")
>>> new = pv.UserRecord(legacy_contact_key="1001", first_name="Ada", last_name="King",
...                     email="ada@example.com", company_name="Analytical Engines")
>>> [(c.field, c.old, c.new) for c in changes_between(old, new)]
[('last_name', 'Lovelace', 'King')]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

import attrs

from ._enum import ValueEnum
from ._fields import field_specs, make_replace
from ._rows import row_codec
from ._validators import check_type, nonempty, strip, to_enum
from .actors import Role
from .catalog import Product
from .exceptions import InvalidValueError
from .records import Contact, CustomFields, UserRecord
from .serialization import tenant_to_dict
from .spreadsheet import neutralise
from .tenants import Tenant

__all__ = [
    "ROW_CODEC",
    "AuditEvent",
    "AuditKind",
    "Channel",
    "FieldChange",
    "changes_between",
    "contact_changes",
    "contact_values",
    "events_to_csv",
    "events_to_jsonl",
    "record_values",
    "redacted",
    "row_changes",
    "tenant_changes",
    "with_values",
]


class Channel(ValueEnum):
    """How a change came in."""

    UPLOAD = "upload"
    REGISTRATION = "registration"
    ADMIN = "admin"
    SELF = "self"
    INTEGRATION = "integration"
    SCIM = "scim"
    REVERT = "revert"


class AuditKind(ValueEnum):
    """What happened to a record (or was refused)."""

    CREATED = "created"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    APPROVED = "approved"
    REJECTED = "rejected"
    VERIFIED = "verified"
    REDACTED = "redacted"
    REFUSED = "refused"
    #: A tenant's settings or methods changed (the event names no record).
    TENANT_CHANGED = "tenant_changed"


@attrs.frozen
class FieldChange:
    """One field of one record, before and after."""

    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field}: {_shown(self.old)} -> {_shown(self.new)}"


def _shown(value: Any) -> str:
    """A field value for a person: text quoted, a status by its name, a date in ISO 8601."""
    if isinstance(value, ValueEnum):
        return repr(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, CustomFields):
        return repr(dict(value))
    return repr(value)


# -- a record as plain values ---------------------------------------------------------------

_SPECS: Final = field_specs(UserRecord)
_NAMES: Final = tuple(spec.name for spec in _SPECS)
_NAME_SET: Final = frozenset(_NAMES)


_CODEC: Final = row_codec(UserRecord, empty=None, dates="iso", flags="bool", mappings="dict")


def record_values(record: UserRecord) -> dict[str, Any]:
    """``record`` as plain JSON values by field name: dates ISO text, enums their value."""
    return dict(zip(_NAMES, _CODEC.encode(record), strict=True))


def changes_between(old: UserRecord, new: UserRecord) -> tuple[FieldChange, ...]:
    """The fields that differ, in field order, with plain JSON values (what an event keeps)."""
    return row_changes(_CODEC.encode(old), _CODEC.encode(new))


#: A record to a row of plain values (one a field, in field order) and back: the values
#: :func:`record_values` gives, as a tuple.
ROW_CODEC: Final = _CODEC


def row_changes(old: Sequence[Any], new: Sequence[Any]) -> tuple[FieldChange, ...]:
    """:func:`changes_between` of two records already encoded by :data:`ROW_CODEC`."""
    return tuple(
        FieldChange(name, a, b) for name, a, b in zip(_NAMES, old, new, strict=True) if a != b
    )


def with_values(record: UserRecord, values: dict[str, Any]) -> UserRecord:
    """``record`` with some fields set from plain values (what :func:`record_values` gives).

    Each value set is checked as a new record's is (the field's converter and
    validator): a value an event kept that no record may hold raises
    :class:`~provisioning.InvalidValueError`. The other fields are ``record``'s own.
    """
    if not _NAME_SET.issuperset(values):
        unknown = sorted(values.keys() - _NAME_SET)
        raise InvalidValueError(f"no record field is named {unknown[0]!r}", field=unknown[0])
    read = _CODEC.read
    try:
        typed = [(name, read(name, value)) for name, value in values.items()]
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
        row = list(_CODEC.encode(record))
        for name, value in values.items():
            row[_INDEX[name]] = value
        raise InvalidValueError(
            f"the values make no record: {_CODEC.problem(row) or 'a value is of the wrong kind'}"
        ) from None
    # No field's check looks at another field, so checking the fields set is checking
    # the record (a revert sets a field or two of a million records: the constructor
    # would check all thirty of each), and each is set with no other field checked again.
    result = record
    for name, value in typed:
        result = _REPLACE[name](result, _CHECKS[name](result, value))
    return result


def _field_check(field: attrs.Attribute[Any]) -> Callable[[Any, Any], Any]:
    """The field's converter then validator, as the constructor runs them for it."""
    # Typed loosely: attrs' stubs give neither a plain converter nor Converter's attributes.
    converter: Any = field.converter
    validator = field.validator
    convert: Callable[[Any], Any]
    if isinstance(converter, attrs.Converter):
        wrapped: Any = converter
        if wrapped.takes_self:  # pragma: no cover - no record field's does
            raise TypeError(f"{field.name}: a converter that takes the instance")
        inner: Any = wrapped.converter
        convert = (lambda v: inner(v, field)) if wrapped.takes_field else inner
    elif converter is not None:
        convert = converter
    else:
        convert = _unchanged

    def check(instance: Any, value: Any) -> Any:
        value = convert(value)
        if validator is not None:
            validator(instance, field, value)
        return value

    return check


def _unchanged(value: Any) -> Any:
    return value


_CHECKS: Final = {field.name: _field_check(field) for field in attrs.fields(UserRecord)}
_REPLACE: Final = {name: make_replace(UserRecord, name) for name in _NAMES}


_INDEX: Final = {name: index for index, name in enumerate(_NAMES)}

_CONTACT_CODEC: Final = row_codec(Contact, empty=None, dates="iso", flags="bool", mappings="dict")
_CONTACT_NAMES: Final = _CONTACT_CODEC.columns


def contact_values(contact: Contact) -> dict[str, Any]:
    """A Marketing contact as plain JSON values by field name (the subscription its value)."""
    return dict(zip(_CONTACT_NAMES, _CONTACT_CODEC.encode(contact), strict=True))


_CONTACT_CHECKS: Final = {field.name: _field_check(field) for field in attrs.fields(Contact)}
_CONTACT_REPLACE: Final = {name: make_replace(Contact, name) for name in _CONTACT_NAMES}


def contact_with_values(contact: Contact, values: dict[str, Any]) -> Contact:
    """``contact`` with some fields set from plain values (what :func:`contact_values`
    gives): :func:`with_values` for a Marketing contact.

    Each value set is checked as a new contact's is; a value an event kept that no
    contact may hold raises :class:`~provisioning.InvalidValueError` naming the field.

    >>> import provisioning as pv
    >>> ada = pv.Contact(email="ada@example.com", first_name="Augusta")
    >>> contact_with_values(ada, {"first_name": "Ada"}).first_name
    'Ada'
    """
    read = _CONTACT_CODEC.read
    result = contact
    for name, value in values.items():
        if name not in _CONTACT_CHECKS:
            raise InvalidValueError(f"no contact field is named {name!r}", field=name)
        try:
            typed = read(name, value)
            checked = _CONTACT_CHECKS[name](result, typed)
        except InvalidValueError:
            raise
        except (KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
            raise InvalidValueError(
                f"{name} {value!r:.80} is no contact's value: {exc}", field=name
            ) from None
        # No field's check looks at another field: each is set with none checked again.
        result = _CONTACT_REPLACE[name](result, checked)
    return result


def contact_changes(old: Contact, new: Contact) -> tuple[FieldChange, ...]:
    """The fields of two contacts that differ, in field order, with plain JSON values.

    >>> import provisioning as pv
    >>> old = pv.Contact(email="ada@example.com", first_name="Ada")
    >>> [str(c) for c in contact_changes(old, pv.Contact(email="ada@example.com"))]
    ["first_name: 'Ada' -> None"]
    """
    return tuple(
        FieldChange(name, a, b)
        for name, a, b in zip(
            _CONTACT_NAMES,
            _CONTACT_CODEC.encode(old),
            _CONTACT_CODEC.encode(new),
            strict=True,
        )
        if a != b
    )


def _flat(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A tenant document as ``{"products.community": "standalone", ...}``."""
    flat: dict[str, Any] = {}
    for name, value in document.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[prefix + name] = value
    return flat


def tenant_changes(old: Tenant | None, new: Tenant) -> tuple[FieldChange, ...]:
    """The settings that differ between two versions of a tenant, by dotted path.

    ``old`` is ``None`` for a new tenant (every setting is new). Settings are named as
    the tenant file names them, e.g. ``products.community`` or ``sso.go_live``; a whole
    SSO setup added or removed is one change per setting.

    >>> import provisioning as pv
    >>> before = pv.Tenant(id="acme", name="Acme", products={"community": "standalone"})
    >>> after = pv.Tenant(id="acme", name="Acme",
    ...                   products={"community": "spreadsheet_upload"})
    >>> [str(c) for c in tenant_changes(before, after)]
    ["products.community: 'standalone' -> 'spreadsheet_upload'"]
    """
    before = {} if old is None else _flat(tenant_to_dict(old))
    after = _flat(tenant_to_dict(new))
    names = list(after) + [name for name in before if name not in after]
    return tuple(
        FieldChange(name, before.get(name), after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    )


#: What a redacted value reads as in the audit trail.
REDACTED: Final = "[redacted]"
#: Fields whose values a redaction keeps: the key names the record, the status is no
#: personal data and says what happened to it.
KEPT_BY_REDACTION: Final = frozenset({"legacy_contact_key", "status"})


# -- events -----------------------------------------------------------------------------------


def _aware(_inst: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidValueError(
            f"{attribute.name} must be a timezone-aware datetime, got {value!r}",
            field=attribute.name,
        )


def _changes(value: Iterable[FieldChange]) -> tuple[FieldChange, ...]:
    items = tuple(value)
    for item in items:
        check_type(item, FieldChange, "changes", "FieldChange values")
    return items


def _rules(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    return tuple(check_type(rule, str, "rules", "rule ids (strings)") for rule in value)


def _optional_key(value: str | None) -> str | None:
    return None if value is None else strip(check_type(value, str, "key", "a string or None"))


def _revision(value: int | None) -> int | None:
    if value is not None and (type(value) is not int or value < 0):
        raise InvalidValueError(f"a revision must be an int 0 or more, got {value!r}")
    return value


def _role(value: Role | str | None) -> Role | None:
    return None if value is None else to_enum(Role, value, "role")


def _channel(value: Channel | str) -> Channel:
    return to_enum(Channel, value, "channel")


def _kind(value: AuditKind | str) -> AuditKind:
    return to_enum(AuditKind, value, "kind")


def _product(value: Product | str) -> Product:
    return to_enum(Product, value, "product")


@attrs.frozen(kw_only=True)
class AuditEvent:
    """One change to one record, or one refused attempt, as the audit trail keeps it.

    ``revision`` is the tenant's revision the event's commit made (for a refusal: the
    revision it was refused at), and ``upload_id`` the upload's id when the change was
    part of one; a store fills both in as it writes the event.
    """

    at: dt.datetime = attrs.field(validator=_aware)
    tenant_id: str = attrs.field(converter=strip, validator=nonempty)
    #: The record's LegacyContactKey; ``None`` for a refusal that names no record.
    key: str | None = attrs.field(converter=_optional_key)
    actor_id: str = attrs.field(converter=strip, validator=nonempty)
    #: The actor's role; ``None`` for the store's operator, who is none of the tenant's
    #: actors (e.g. ``provisioning tenant add`` run without ``--actor``).
    role: Role | None = attrs.field(converter=_role)
    channel: Channel = attrs.field(converter=_channel)
    kind: AuditKind = attrs.field(converter=_kind)
    changes: tuple[FieldChange, ...] = attrs.field(default=(), converter=_changes)
    #: The rule ids of the decision (for a refusal: the refusing rules).
    rules: tuple[str, ...] = attrs.field(default=(), converter=_rules)
    upload_id: int | None = attrs.field(default=None, converter=_revision)
    revision: int | None = attrs.field(default=None, converter=_revision)
    #: The product whose record changed: a Community user record, or a Marketing contact
    #: (whose ``key`` is then the contact's key, its lower-cased email or member id).
    product: Product = attrs.field(default=Product.COMMUNITY, converter=_product)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON values (what ``events_to_jsonl`` writes a line of)."""
        return {
            "at": self.at.isoformat(),
            "tenant": self.tenant_id,
            "key": self.key,
            "actor": self.actor_id,
            "role": None if self.role is None else self.role.value,
            "channel": self.channel.value,
            "kind": self.kind.value,
            "changes": {c.field: {"old": c.old, "new": c.new} for c in self.changes},
            "upload_id": self.upload_id,
            "revision": self.revision,
            "rules": list(self.rules),
            "product": self.product.value,
        }


def redacted(event: AuditEvent) -> AuditEvent:
    """``event`` with the personal values of its changes replaced by ``"[redacted]"``.

    What a store does to a person's earlier events when their personal data is deleted
    (:attr:`provisioning.repository.ChangeSet.redact`): the event stays (when, who, what
    kind, which fields, which rules), the values do not, except the key and the status
    (:data:`KEPT_BY_REDACTION`). An empty value stays empty, so the trail still shows
    a field being set or cleared.

    >>> import datetime as dt
    >>> event = AuditEvent(at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), tenant_id="acme",
    ...                    key="1001", actor_id="sa-1", role="super_admin",
    ...                    channel="admin", kind="updated",
    ...                    changes=[FieldChange("last_name", "Byron", "King")])
    >>> [str(c) for c in redacted(event).changes]
    ["last_name: '[redacted]' -> '[redacted]'"]
    """
    return attrs.evolve(
        event,
        changes=tuple(
            change
            if change.field in KEPT_BY_REDACTION
            else FieldChange(change.field, _hidden(change.old), _hidden(change.new))
            for change in event.changes
        ),
    )


def _hidden(value: Any) -> Any:
    return None if value is None or value == "" else REDACTED


_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=False).encode

#: The columns of :func:`events_to_csv`.
CSV_COLUMNS: Final = (
    "at",
    "tenant",
    "key",
    "actor",
    "role",
    "channel",
    "kind",
    "changes",
    "upload_id",
    "revision",
    "rules",
)


def events_to_jsonl(events: Iterable[AuditEvent]) -> Iterator[str]:
    """One JSON object a line (newline included) per event, streamed."""
    for event in events:
        yield _dumps(event.to_dict()) + "\n"


def events_to_csv(events: Iterable[AuditEvent], stream: io.TextIOBase | Any) -> int:
    """Write ``events`` as CSV to ``stream`` (formula-safe: a cell a spreadsheet would run
    as a formula is escaped); return how many rows were written."""
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    written = 0
    for event in events:
        data = event.to_dict()
        cells: Sequence[Any] = [
            data["at"],
            data["tenant"],
            data["key"] or "",
            data["actor"],
            data["role"] or "",
            data["channel"],
            data["kind"],
            _dumps(data["changes"]) if data["changes"] else "",
            "" if data["upload_id"] is None else data["upload_id"],
            "" if data["revision"] is None else data["revision"],
            " ".join(data["rules"]),
        ]
        writer.writerow([neutralise(c) if isinstance(c, str) else c for c in cells])
        written += 1
    return written
