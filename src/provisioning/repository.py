"""The storage a host implements: tenant-scoped reads, upload history and one atomic commit.

A host stores user records however it likes and offers them through the small
:class:`typing.Protocol` classes below; :mod:`provisioning.adapters` holds two reference
implementations (in memory, SQLite) and :class:`provisioning.testing.RepositoryContract`
checks any implementation against the same rules.

Every call names one tenant and touches only that tenant: the same key, or the same
email, may exist in two tenants. A tenant's **revision** is an ``int`` that starts at 0
and grows by one with every commit. Writers read it first and hand it back to
:meth:`RecordWriter.commit`, which refuses with :class:`~provisioning.ConflictError` when
another writer committed in between. A commit applies a :class:`ChangeSet` whole or
not at all; records are never deleted (``DEACTIVATE_NOT_DELETE``): deactivating one is
an update of its status.

>>> from provisioning import UserRecord
>>> from provisioning.adapters import MemoryRepository
>>> repo = MemoryRepository()
>>> ada = UserRecord(legacy_contact_key="1001", first_name="Ada", last_name="Lovelace",
...                  email="ada@example.com", company_name="Analytical Engines")
>>> repo.commit("acme", ChangeSet(creates=[ada]), expected_revision=repo.revision("acme"))
1
>>> repo.get_by_email("acme", "ADA@Example.com") == ada
True
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from ._enum import ValueEnum
from ._frozen import FrozenMap
from ._validators import check_type, nonempty, strip, text_problem, to_enum
from .audit import AuditEvent, AuditKind
from .catalog import Product
from .exceptions import ConflictError, InvalidValueError, RepositoryError
from .records import Contact, ContactKey, RecordStatus, UserRecord
from .tenants import Tenant

__all__ = [
    "AuditLog",
    "BatchReader",
    "ChangeSet",
    "ChangeSetError",
    "ChangeStream",
    "ContactChanges",
    "ContactStore",
    "ContactStream",
    "ContactStreamWriter",
    "RecordReader",
    "RecordWriter",
    "Repository",
    "ScimFactStore",
    "ScimFacts",
    "StreamWriter",
    "TenantStore",
    "UploadEntry",
    "UploadHistory",
    "UploadMode",
    "check_change_set",
    "check_refusal",
    "check_revision",
    "check_tenant_event",
    "event_filter",
    "fold_user_name",
    "scim_lookup",
]

_T = TypeVar("_T")

#: How many problems an error message lists before it says "and N more".
_SHOWN = 5


class UploadMode(ValueEnum):
    """How an upload treats stored records missing from its file (see docs/domain.md)."""

    #: The file replaces all previously imported data: missing records are deactivated.
    FULL = "full"
    #: The file holds only some records: it adds or replaces the rows it has.
    PARTIAL = "partial"


class ChangeSetError(RepositoryError):
    """A change set does not fit the tenant's stored records; nothing was written.

    ``problems`` lists every reason, each starting with the change it is about, e.g.
    ``"create '1001': key already stored"``.
    """

    def __init__(self, message: str, *, tenant_id: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message, tenant_id=tenant_id, problems=problems)
        self.tenant_id = tenant_id
        #: Every problem found, in the order of the change set.
        self.problems = problems


class _Counts(FrozenMap[str, int]):
    """An immutable, hashable mapping of count names to non-negative counts."""

    __slots__ = ()

    def __init__(self, values: Mapping[str, int]) -> None:
        self._freeze(dict(values))

    def __repr__(self) -> str:
        return repr(self._map)


def _to_counts(value: Mapping[str, int]) -> _Counts:
    if isinstance(value, _Counts):
        return value
    given: object = value
    if not isinstance(given, Mapping):
        raise InvalidValueError(
            f"counts must be a mapping of count names to counts, got "
            f"{type(value).__name__} {value!r}",
            field="counts",
        )
    return _Counts(value)


def _check_counts(
    _inst: object, attribute: attrs.Attribute[Mapping[str, int]], value: Mapping[str, int]
) -> None:
    items: list[tuple[object, object]] = list(value.items())
    for name, count in items:
        if not isinstance(name, str) or not name:
            raise InvalidValueError(
                f"{attribute.name} names must be non-empty strings, got {name!r}",
                field=attribute.name,
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidValueError(
                f"{attribute.name}[{name!r}] must be a non-negative int, got {count!r}",
                field=attribute.name,
            )


def _aware(_inst: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidValueError(
            f"{attribute.name} must be a timezone-aware datetime, got {value!r}",
            field=attribute.name,
        )


def _mode(value: UploadMode | str) -> UploadMode:
    return to_enum(UploadMode, value, "mode")


def _product(value: Product | str) -> Product:
    return to_enum(Product, value, "product")


@attrs.frozen(kw_only=True)
class UploadEntry:
    """One applied upload in a tenant's history: who, when, which file, how, what it did.

    The history is what makes the standalone initial upload a one-time thing
    (``STANDALONE_ONE_TIME_UPLOAD``). ``at`` must carry a time zone.
    """

    tenant_id: str = attrs.field(converter=strip, validator=nonempty)
    actor_id: str = attrs.field(converter=strip, validator=nonempty)
    at: dt.datetime = attrs.field(validator=_aware)
    #: A digest of the uploaded file, e.g. ``"sha256:9f86d0…"``.
    file_digest: str = attrs.field(converter=strip, validator=nonempty)
    mode: UploadMode = attrs.field(converter=_mode)
    #: What the upload did, e.g. ``{"created": 3, "updated": 1}``.
    counts: Mapping[str, int] = attrs.field(
        factory=dict, converter=_to_counts, validator=_check_counts
    )
    product: Product = attrs.field(default=Product.COMMUNITY, converter=_product)
    #: The upload's id: the tenant's revision its commit made (a store sets it; ``None``
    #: before the upload is committed).
    id: int | None = attrs.field(default=None)
    #: Whether the store kept the upload's audit events (uploads applied before the
    #: audit trail existed have none, and cannot be reverted).
    audited: bool = attrs.field(default=True)


def _records(value: object, field: str) -> tuple[UserRecord, ...]:
    if isinstance(value, tuple):
        return value
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        raise InvalidValueError(
            f"{field} must be an iterable of UserRecord values, got "
            f"{type(value).__name__} {value!r}",
            field=field,
        )
    return tuple(value)


def _creates(value: Iterable[UserRecord]) -> tuple[UserRecord, ...]:
    return _records(value, "creates")


def _updates(value: Iterable[UserRecord]) -> tuple[UserRecord, ...]:
    return _records(value, "updates")


def _events(value: Iterable[AuditEvent]) -> tuple[AuditEvent, ...]:
    items = tuple(value)
    for item in items:
        check_type(item, AuditEvent, "events", "AuditEvent values")
    return items


def _keys(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    return tuple(check_type(key, str, "redact", "record keys (strings)") for key in value)


def _upload(
    _inst: object, attribute: attrs.Attribute[UploadEntry | None], value: UploadEntry | None
) -> None:
    entry: object = value
    if entry is not None and not isinstance(entry, UploadEntry):
        raise InvalidValueError(
            f"upload must be an UploadEntry or None, got {type(value).__name__} {value!r}",
            field=attribute.name,
        )


def _only_records(
    _inst: object, attribute: attrs.Attribute[tuple[UserRecord, ...]], value: tuple[object, ...]
) -> None:
    for item in value:
        if not isinstance(item, UserRecord):
            raise InvalidValueError(
                f"{attribute.name} must hold UserRecord values, got {item!r}",
                field=attribute.name,
            )


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    more = len(items) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _contacts(value: object, field: str) -> tuple[Contact, ...]:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        raise InvalidValueError(
            f"{field} must be an iterable of Contact values, got {type(value).__name__} "
            f"{value!r:.80}",
            field=field,
        )
    items = tuple(value)
    for item in items:
        if not isinstance(item, Contact):
            raise InvalidValueError(
                f"{field} must hold Contact values, got {item!r:.80}", field=field
            )
    return items


def _contact_creates(value: Iterable[Contact]) -> tuple[Contact, ...]:
    return _contacts(value, "creates")


def _contact_updates(value: Iterable[Contact]) -> tuple[Contact, ...]:
    return _contacts(value, "updates")


def _contact_key(value: ContactKey | str) -> ContactKey:
    return to_enum(ContactKey, value, "key")


@attrs.frozen(kw_only=True, repr=False)
class ContactChanges:
    """The Marketing contacts one commit writes: new ones, and whole replacements.

    A store keeps a tenant's contacts by ``key`` (``MARKETING_CONTACT_KEY``): each is
    stored under :meth:`ContactKey.of <provisioning.ContactKey.of>` of it, the lower-cased
    email or the member id. As with records, each key and each email (compared
    ignoring case) is named once; contacts are never deleted.

    >>> from provisioning import Contact
    >>> ContactChanges(creates=[Contact(email="ada@example.com")])
    <ContactChanges by email: 1 creates, 0 updates>
    """

    key: ContactKey = attrs.field(default=ContactKey.EMAIL, converter=_contact_key)
    creates: tuple[Contact, ...] = attrs.field(default=(), converter=_contact_creates)
    updates: tuple[Contact, ...] = attrs.field(default=(), converter=_contact_updates)

    def __attrs_post_init__(self) -> None:
        changes = self.creates + self.updates
        keys = [self.key.of(c) for c in changes]  # refuses a contact without the key
        emails = [c.email_key for c in changes]
        if len(set(keys)) == len(keys) and len(set(emails)) == len(emails):
            return
        repeated = [f"key {k!r}" for k, n in Counter(keys).items() if n > 1]
        repeated += [f"email {e!r}" for e, n in Counter(emails).items() if n > 1]
        repeated = list(dict.fromkeys(repeated))
        raise InvalidValueError(
            "contact changes name each key and each email once; repeated: " + _listed(repeated),
            field="contacts",
        )

    def keyed(self) -> Iterator[tuple[str, str, Contact]]:
        """``("create", key, contact)`` for each create, then ``("update", key, contact)``."""
        of = self.key.of
        for verb, contacts in (("create", self.creates), ("update", self.updates)):
            for contact in contacts:
                yield verb, of(contact), contact

    def __len__(self) -> int:
        return len(self.creates) + len(self.updates)

    def __repr__(self) -> str:
        return (
            f"<ContactChanges by {self.key.value}: {len(self.creates)} creates, "
            f"{len(self.updates)} updates>"
        )


def _contact_changes(
    _inst: object, attribute: attrs.Attribute[ContactChanges | None], value: object
) -> None:
    if value is not None and not isinstance(value, ContactChanges):
        raise InvalidValueError(
            f"contacts must be ContactChanges or None, got {type(value).__name__} {value!r:.80}",
            field=attribute.name,
        )


def fold_user_name(user_name: str) -> str:
    """The form two SCIM userNames are compared in: Unicode compatibility-normalised and
    case-folded (NFKC_Casefold), so names that look the same are the same.

    >>> fold_user_name("JOSE\u0301@Example.COM") == fold_user_name("jos\u00e9@example.com")
    True
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", user_name).casefold())


def _user_name(value: str) -> str:
    name = check_type(value, str, "user_name", "a string").strip()
    if not name:
        raise InvalidValueError("user_name may not be blank", field="user_name")
    if (problem := text_problem(name)) is not None:
        raise InvalidValueError(f"user_name {problem}", field="user_name")
    return name


def _optional_external_id(value: str | None) -> str | None:
    if value is None:
        return None
    text = check_type(value, str, "external_id", "a string or None").strip()
    if (problem := text_problem(text)) is not None:
        raise InvalidValueError(f"external_id {problem}", field="external_id")
    return text or None


@attrs.frozen(kw_only=True)
class ScimFacts:
    """What the SCIM layer keeps of one record, beside its fields: the resource's ``id``,
    its ``userName`` (unique per tenant, compared by :func:`fold_user_name`), the
    ``externalId`` the client gave, whether the resource was ``DELETE``d (the record is
    deactivated and kept, ``DEACTIVATE_NOT_DELETE``) and its timestamps.

    A store that keeps them (:class:`ScimFactStore`) writes a :attr:`ChangeSet.scim` in
    the commit of the record's change, and deletes them when it redacts the record.

    >>> at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    >>> facts = ScimFacts(key="1001", id="2819c223", user_name=" Ada@Example.com ",
    ...                   created_at=at, modified_at=at)
    >>> facts.user_name, facts.name_key
    ('Ada@Example.com', 'ada@example.com')
    """

    #: The record's LegacyContactKey.
    key: str = attrs.field(converter=strip, validator=nonempty)
    #: The SCIM resource id: made once, kept for good.
    id: str = attrs.field(converter=strip, validator=nonempty)
    user_name: str = attrs.field(converter=_user_name)
    created_at: dt.datetime = attrs.field(validator=_aware)
    modified_at: dt.datetime = attrs.field(validator=_aware)
    removed: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    external_id: str | None = attrs.field(default=None, converter=_optional_external_id)

    @property
    def name_key(self) -> str:
        """The userName as two are compared: :func:`fold_user_name` of it."""
        return fold_user_name(self.user_name)


def _scim_facts(value: Iterable[ScimFacts]) -> tuple[ScimFacts, ...]:
    given: object = value
    if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
        raise InvalidValueError(
            f"scim must be an iterable of ScimFacts values, got {type(value).__name__}",
            field="scim",
        )
    return tuple(check_type(f, ScimFacts, "scim", "ScimFacts values") for f in value)


@attrs.frozen(kw_only=True, repr=False)
class ChangeSet:
    """What one commit writes to a tenant: new records, replaced records, an upload entry.

    ``updates`` are whole records that replace the stored record with the same key (the
    Push API always sends the full record: a field left out is cleared). Status changes,
    such as deactivating or reactivating a user, are updates too; there are no deletions
    (``DEACTIVATE_NOT_DELETE``). ``upload``, when given, joins the tenant's history in
    the same transaction.

    A change set names each key once and gives each email (compared case-insensitively)
    to one record at most; anything else raises :class:`~provisioning.InvalidValueError`
    here, before any store is touched.
    """

    creates: tuple[UserRecord, ...] = attrs.field(
        default=(), converter=_creates, validator=_only_records
    )
    updates: tuple[UserRecord, ...] = attrs.field(
        default=(), converter=_updates, validator=_only_records
    )
    upload: UploadEntry | None = attrs.field(default=None, validator=_upload)
    #: The audit events of the changes, written in the same transaction (by a store that
    #: keeps an :class:`AuditLog`; others ignore them).
    events: tuple[AuditEvent, ...] = attrs.field(default=(), converter=_events)
    #: Keys whose personal data this commit deletes: the store replaces the values of
    #: their earlier audit events with :func:`provisioning.audit.redacted` ones in the
    #: same transaction. Each must be a key of :attr:`updates` (the record is kept, its
    #: personal values replaced, as ``delete_personal_data`` does).
    redact: tuple[str, ...] = attrs.field(default=(), converter=_keys)
    #: The Marketing contacts this commit writes, in the same transaction (by a store
    #: that keeps contacts, a :class:`ContactStore`; others refuse them).
    contacts: ContactChanges | None = attrs.field(default=None, validator=_contact_changes)
    #: The SCIM facts of records this commit writes or keeps, each replacing the key's
    #: stored facts, in the same transaction (by a store that keeps them, a
    #: :class:`ScimFactStore`; others refuse them). Each names a record stored after the
    #: commit, once; no two give one userName (:func:`fold_user_name`) or one id.
    scim: tuple[ScimFacts, ...] = attrs.field(default=(), converter=_scim_facts)

    def __attrs_post_init__(self) -> None:
        updated = {r.legacy_contact_key for r in self.updates}
        strays = [key for key in self.redact if key not in updated]
        if strays:
            raise InvalidValueError(
                "a change set redacts only records it updates; not updated: "
                + _listed([repr(k) for k in strays]),
                field="redact",
            )
        if self.scim:
            _check_scim(self.scim, set(self.redact))
        changes = self.creates + self.updates
        keys = [r.legacy_contact_key for r in changes]
        emails = [r.email_key for r in changes]
        if len(set(keys)) == len(keys) and len(set(emails)) == len(emails):
            return
        repeated = [f"key {k!r}" for k, n in Counter(keys).items() if n > 1]
        owners: dict[str, list[str]] = {}
        for record in changes:
            owners.setdefault(record.email_key, []).append(record.legacy_contact_key)
        repeated += [
            f"email {e!r} for {', '.join(map(repr, ks))}" for e, ks in owners.items() if len(ks) > 1
        ]
        raise InvalidValueError(
            "a change set names each key and each email once; repeated: " + _listed(repeated)
        )

    def __repr__(self) -> str:
        upload = "" if self.upload is None else f", upload={self.upload.file_digest!r}"
        contacts = "" if self.contacts is None else f", {len(self.contacts)} contact changes"
        scim = f", {len(self.scim)} SCIM facts" if self.scim else ""
        return (
            f"<ChangeSet: {len(self.creates)} creates, {len(self.updates)} updates"
            f"{contacts}{scim}{upload}>"
        )


def _check_scim(facts: tuple[ScimFacts, ...], redacted: set[str]) -> None:
    """Refuse SCIM facts naming a key, a userName or an id twice, or a redacted key."""
    repeated: list[str] = []
    for what, values in (
        ("key", [f.key for f in facts]),
        ("userName", [f.name_key for f in facts]),
        ("id", [f.id for f in facts]),
    ):
        repeated += [f"{what} {v!r}" for v, n in Counter(values).items() if n > 1]
    if repeated:
        raise InvalidValueError(
            "a change set's SCIM facts name each key, userName and id once; repeated: "
            + _listed(repeated),
            field="scim",
        )
    both = [f.key for f in facts if f.key in redacted]
    if both:
        raise InvalidValueError(
            "a change set does not give SCIM facts to a record it redacts (redaction "
            "deletes them): " + _listed([repr(k) for k in both]),
            field="scim",
        )


def _batches(value: object) -> Iterable[Sequence[UserRecord]]:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        raise InvalidValueError(
            "updates and creates must be iterables of batches (sequences) of UserRecord "
            f"values, got {type(value).__name__}",
            field="stream",
        )
    return value


@attrs.frozen(kw_only=True, repr=False)
class ChangeStream:
    """A change set too large to hold at once: its updates and creates as batches.

    :meth:`StreamWriter.commit_stream` commits it exactly as it would commit the
    :class:`ChangeSet` of all its records: whole or not at all, under one revision check.
    It reads every batch of ``updates`` before the first batch of ``creates``, each once,
    so a batch may be made as it is asked for (from a file, say) and dropped after. The
    producer names each key, and each email, once in the whole stream; a store finds a
    repeat as it writes (a :class:`ChangeSetError`, nothing written), not beforehand.
    """

    updates: Iterable[Sequence[UserRecord]] = attrs.field(default=(), converter=_batches)
    creates: Iterable[Sequence[UserRecord]] = attrs.field(default=(), converter=_batches)
    upload: UploadEntry | None = attrs.field(default=None, validator=_upload)
    #: The audit events, as batches too, read after the last batch of creates.
    events: Iterable[Sequence[AuditEvent]] = attrs.field(default=(), converter=_batches)

    def __repr__(self) -> str:
        upload = "" if self.upload is None else f" upload={self.upload.file_digest!r}"
        return f"<ChangeStream{upload}>"

    def batches(self) -> Iterator[tuple[str, Sequence[UserRecord]]]:
        """``("update", batch)`` for each batch of updates, then ``("create", batch)``...

        Each batch is checked to hold only records (:class:`~provisioning.InvalidValueError`
        naming the batch otherwise) before it is handed on.
        """
        for verb, batches in (("update", self.updates), ("create", self.creates)):
            for number, batch in enumerate(batches):
                given: object = batch
                if isinstance(given, str | bytes) or not isinstance(given, Sequence):
                    raise InvalidValueError(
                        f"{verb} batch {number} must be a sequence of UserRecord values, got "
                        f"{type(batch).__name__}",
                        field="stream",
                    )
                for item in batch:
                    if not isinstance(item, UserRecord):
                        raise InvalidValueError(
                            f"{verb} batch {number} must hold UserRecord values, got {item!r:.80}",
                            field="stream",
                        )
                yield verb, batch

    def event_batches(self) -> Iterator[Sequence[AuditEvent]]:
        """The batches of audit events, each checked to hold only events."""
        return _checked(self.events, "event", AuditEvent)


def _checked(batches: Iterable[Sequence[_T]], what: str, kind: type[_T]) -> Iterator[Sequence[_T]]:
    """Each of ``batches``, checked to be a sequence of ``kind`` values before it is handed on."""
    for number, batch in enumerate(batches):
        given: object = batch
        if isinstance(given, str | bytes) or not isinstance(given, Sequence):
            raise InvalidValueError(
                f"{what} batch {number} must be a sequence of {kind.__name__} values, got "
                f"{type(given).__name__}",
                field="stream",
            )
        for item in batch:
            if not isinstance(item, kind):
                raise InvalidValueError(
                    f"{what} batch {number} must hold {kind.__name__} values, got {item!r:.80}",
                    field="stream",
                )
        yield batch


def _contact_batches(value: object) -> Iterable[Sequence[Contact]]:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        raise InvalidValueError(
            "updates and creates must be iterables of batches (sequences) of Contact "
            f"values, got {type(value).__name__}",
            field="stream",
        )
    return value


def _event_batches(value: object) -> Iterable[Sequence[AuditEvent]]:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        raise InvalidValueError(
            f"events must be an iterable of batches (sequences) of AuditEvent values, got "
            f"{type(value).__name__}",
            field="stream",
        )
    return value


@attrs.frozen(kw_only=True, repr=False)
class ContactStream:
    """A Marketing commit too large to hold at once: its contacts as batches.

    :meth:`ContactStreamWriter.commit_contact_stream` commits it exactly as it would
    commit the :class:`ChangeSet` whose :attr:`~ChangeSet.contacts` are all its contacts
    (with ``upload`` and ``events``): whole or not at all, under one revision check.
    It reads every batch of ``updates``, then every batch of ``creates``, then the
    batches of ``events``, each once, so a batch may be made as it is asked for and
    dropped after. The producer names each key, and each email, once in the whole
    stream; a store finds a repeat as it writes (a :class:`ChangeSetError`, nothing
    written), not beforehand.

    >>> from provisioning import Contact
    >>> stream = ContactStream(creates=[[Contact(email="ada@example.com")]])
    >>> [(verb, len(batch)) for verb, batch in stream.batches()]
    [('create', 1)]
    """

    key: ContactKey = attrs.field(default=ContactKey.EMAIL, converter=_contact_key)
    updates: Iterable[Sequence[Contact]] = attrs.field(default=(), converter=_contact_batches)
    creates: Iterable[Sequence[Contact]] = attrs.field(default=(), converter=_contact_batches)
    upload: UploadEntry | None = attrs.field(default=None, validator=_upload)
    events: Iterable[Sequence[AuditEvent]] = attrs.field(default=(), converter=_event_batches)

    def __repr__(self) -> str:
        upload = "" if self.upload is None else f" upload={self.upload.file_digest!r}"
        return f"<ContactStream by {self.key.value}{upload}>"

    def batches(self) -> Iterator[tuple[str, Sequence[Contact]]]:
        """``("update", batch)`` for each batch of updates, then ``("create", batch)``...,
        each checked to hold only contacts (:class:`~provisioning.InvalidValueError`
        naming the batch otherwise) before it is handed on."""
        for verb, batches in (("update", self.updates), ("create", self.creates)):
            for batch in _checked(batches, f"contact {verb}", Contact):
                yield verb, batch

    def event_batches(self) -> Iterator[Sequence[AuditEvent]]:
        """The batches of audit events, each checked to hold only events."""
        return _checked(self.events, "event", AuditEvent)


def check_revision(tenant_id: str, expected: int, actual: int) -> None:
    """Raise :class:`~provisioning.ConflictError` unless the tenant is still at ``expected``.

    For implementations of :meth:`RecordWriter.commit`: call it inside the transaction,
    with the revision read there.
    """
    if expected != actual:
        raise ConflictError(
            f"tenant {tenant_id!r} is at revision {actual}, not {expected}: the store changed "
            "since the plan was made; nothing was written",
            tenant_id=tenant_id,
            expected=expected,
            actual=actual,
        )


def check_refusal(tenant_id: str, event: AuditEvent) -> None:
    """Raise :class:`~provisioning.InvalidValueError` unless ``event`` is a refused attempt
    on ``tenant_id``: for implementations of :meth:`AuditLog.record_refusal`."""
    check_type(event, AuditEvent, "event", "an AuditEvent")
    if event.kind is not AuditKind.REFUSED:
        raise InvalidValueError(
            f"only refused attempts are recorded outside a commit, not {event.kind.value!r}",
            field="event",
        )
    if event.tenant_id != tenant_id:
        raise InvalidValueError(
            f"the event is for tenant {event.tenant_id!r}, not {tenant_id!r}", field="event"
        )


def check_tenant_event(tenant_id: str, event: AuditEvent | None) -> None:
    """Raise :class:`~provisioning.InvalidValueError` unless ``event`` is ``None`` or a
    ``tenant_changed`` event of ``tenant_id`` naming no record: for implementations of
    :meth:`TenantStore.save_tenant`."""
    if event is None:
        return
    check_type(event, AuditEvent, "event", "an AuditEvent or None")
    if event.kind is not AuditKind.TENANT_CHANGED or event.key is not None:
        raise InvalidValueError(
            "a tenant is saved with a tenant_changed event that names no record, not "
            f"{event.kind.value!r}" + ("" if event.key is None else f" of record {event.key!r}"),
            field="event",
        )
    if event.tenant_id != tenant_id:
        raise InvalidValueError(
            f"the event is for tenant {event.tenant_id!r}, not {tenant_id!r}", field="event"
        )


def scim_lookup(
    *,
    key: str | None = None,
    resource_id: str | None = None,
    user_name: str | None = None,
    external_id: str | None = None,
) -> tuple[str, str] | None:
    """Which lookup :meth:`ScimFactStore.scim_facts` was asked, checked: ``(what, value)``
    with ``what`` one of ``"key"``, ``"id"``, ``"name_key"`` (the folded userName) and
    ``"external_id"``; ``None`` for all. For implementations."""
    asked = [
        (what, check_type(value, str, field, "a string or None"))
        for what, field, value in (
            ("key", "key", key),
            ("id", "resource_id", resource_id),
            ("name_key", "user_name", user_name),
            ("external_id", "external_id", external_id),
        )
        if value is not None
    ]
    if len(asked) > 1:
        raise InvalidValueError(
            "scim_facts takes at most one of key, resource_id, user_name and external_id, got "
            + ", ".join(what for what, _ in asked),
            field="scim_facts",
        )
    if not asked:
        return None
    what, value = asked[0]
    return (what, fold_user_name(value)) if what == "name_key" else (what, value)


def event_filter(
    *,
    key: str | None = None,
    upload_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after_revision: int | None = None,
    product: Product | str | None = None,
) -> Callable[[AuditEvent], bool]:
    """The test :meth:`AuditLog.events` applies, its arguments checked: for implementations
    that filter in Python (a SQL store puts the same conditions in its query)."""
    if key is not None:
        check_type(key, str, "key", "a string or None")
    wanted_product = None if product is None else to_enum(Product, product, "product")
    for name, number in (("upload_id", upload_id), ("after_revision", after_revision)):
        given: object = number
        if given is not None and (type(given) is not int or given < 0):
            raise InvalidValueError(f"{name} must be an int 0 or more, got {number!r}", field=name)
    for name, when in (("since", since), ("until", until)):
        moment: object = when
        if moment is not None and (
            not isinstance(moment, dt.datetime) or moment.utcoffset() is None
        ):
            raise InvalidValueError(
                f"{name} must be a timezone-aware datetime or None, got {when!r}", field=name
            )

    def wanted(event: AuditEvent) -> bool:
        return (
            (key is None or event.key == key)
            and (upload_id is None or event.upload_id == upload_id)
            and (since is None or event.at >= since)
            and (until is None or event.at < until)
            and (after_revision is None or (event.revision or 0) > after_revision)
            and (wanted_product is None or event.product is wanted_product)
        )

    return wanted


def check_change_set(
    tenant_id: str,
    change_set: ChangeSet,
    *,
    stored_keys: Callable[[Sequence[str]], Collection[str]],
    email_owners: Callable[[Sequence[str]], Mapping[str, str]],
    stored_contact_keys: Callable[[Sequence[str]], Collection[str]] | None = None,
    contact_email_owners: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
    user_name_owners: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
    resource_id_owners: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> None:
    """Raise :class:`ChangeSetError` listing every way ``change_set`` does not fit the store.

    For implementations of :meth:`RecordWriter.commit`. The two callables look up the
    tenant's stored records in batches: ``stored_keys(keys)`` returns those of ``keys``
    that are stored; ``email_owners(email_keys)`` maps each stored lower-cased email of
    ``email_keys`` to the key of the record holding it. The checks are on the state after
    the commit, so two updates may swap their emails.

    A change set with :attr:`~ChangeSet.contacts` is checked the same way against the
    tenant's stored contacts, through ``stored_contact_keys`` and
    ``contact_email_owners`` (the same questions of a :class:`ContactStore`); without
    them such a change set is refused, as by a store that keeps no contacts.

    A change set with :attr:`~ChangeSet.scim` facts is checked through
    ``user_name_owners`` (each stored folded userName of those asked, to the key holding
    it) and ``resource_id_owners`` (each stored resource id, to its key): a userName or an
    id of another record is refused, as are facts of a record not stored after the
    commit. Without them such a change set is refused, as by a store that keeps no SCIM
    facts.
    """
    check_type(change_set, ChangeSet, "change_set", "a ChangeSet")
    for name, lookup in (("stored_keys", stored_keys), ("email_owners", email_owners)):
        if not callable(lookup):
            raise InvalidValueError(
                f"{name} must be a function of a sequence of strings, got {lookup!r:.80}",
                field=name,
            )
    problems: list[str] = []
    upload = change_set.upload
    if upload is not None and upload.tenant_id != tenant_id:
        problems.append(f"upload entry: it is for tenant {upload.tenant_id!r}")
    problems.extend(
        f"audit event for {e.key!r}: it is for tenant {e.tenant_id!r}"
        for e in change_set.events
        if e.tenant_id != tenant_id
    )
    changes = change_set.creates + change_set.updates
    stored = set(stored_keys([r.legacy_contact_key for r in changes]))
    owners = email_owners([r.email_key for r in changes])
    updated = {r.legacy_contact_key for r in change_set.updates}
    for verb, records in (("create", change_set.creates), ("update", change_set.updates)):
        for record in records:
            key = record.legacy_contact_key
            if verb == "create" and key in stored:
                problems.append(f"create {key!r}: key already stored")
            elif verb == "update" and key not in stored:
                problems.append(f"update {key!r}: no stored record has this key")
            owner = owners.get(record.email_key)
            # An updated owner gives its email up: the change set holds no email twice.
            if owner is not None and owner != key and owner not in updated:
                problems.append(
                    f"{verb} {key!r}: email {record.email!r} already belongs to {owner!r}"
                )
    if change_set.contacts is not None:
        problems.extend(
            _contact_problems(change_set.contacts, stored_contact_keys, contact_email_owners)
        )
    if change_set.scim:
        created = {r.legacy_contact_key for r in change_set.creates}
        problems.extend(
            _scim_problems(
                change_set.scim, stored | created, stored_keys, user_name_owners, resource_id_owners
            )
        )
    if problems:
        raise ChangeSetError(
            f"the change set does not fit the records of tenant {tenant_id!r}, nothing was "
            f"written: {'; '.join(problems[:_SHOWN])}"
            + (f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""),
            tenant_id=tenant_id,
            problems=tuple(problems),
        )


def _contact_problems(
    changes: ContactChanges,
    stored_keys: Callable[[Sequence[str]], Collection[str]] | None,
    email_owners: Callable[[Sequence[str]], Mapping[str, str]] | None,
) -> list[str]:
    if stored_keys is None or email_owners is None:
        return ["contacts: this store keeps no Marketing contacts"]
    keyed = list(changes.keyed())
    stored = set(stored_keys([key for _, key, _ in keyed]))
    owners = email_owners([c.email_key for _, _, c in keyed])
    updated = {key for verb, key, _ in keyed if verb == "update"}
    problems: list[str] = []
    for verb, key, contact in keyed:
        if verb == "create" and key in stored:
            problems.append(f"create contact {key!r}: key already stored")
        elif verb == "update" and key not in stored:
            problems.append(f"update contact {key!r}: no stored contact has this key")
        owner = owners.get(contact.email_key)
        if owner is not None and owner != key and owner not in updated:
            problems.append(
                f"{verb} contact {key!r}: email {contact.email!r} already belongs to {owner!r}"
            )
    return problems


def _scim_problems(
    facts: tuple[ScimFacts, ...],
    known: set[str],
    stored_keys: Callable[[Sequence[str]], Collection[str]],
    name_owners: Callable[[Sequence[str]], Mapping[str, str]] | None,
    id_owners: Callable[[Sequence[str]], Mapping[str, str]] | None,
) -> list[str]:
    if name_owners is None or id_owners is None:
        return ["scim: this store keeps no SCIM facts"]
    missing = [f.key for f in facts if f.key not in known]
    known = known | set(stored_keys(missing))
    names = name_owners([f.name_key for f in facts])
    ids = id_owners([f.id for f in facts])
    # A record whose facts this commit replaces gives up its former userName.
    replaced = {f.key for f in facts}
    problems: list[str] = []
    for fact in facts:
        if fact.key not in known:
            problems.append(f"SCIM facts of {fact.key!r}: no record has this key")
        owner = names.get(fact.name_key)
        if owner is not None and owner != fact.key and owner not in replaced:
            problems.append(
                f"SCIM facts of {fact.key!r}: userName {fact.user_name!r} already belongs "
                f"to {owner!r}"
            )
        holder = ids.get(fact.id)
        if holder is not None and holder != fact.key:
            problems.append(
                f"SCIM facts of {fact.key!r}: resource id {fact.id!r} already belongs to {holder!r}"
            )
    return problems


@runtime_checkable
class RecordReader(Protocol):
    """Reads one tenant's user records. An unknown tenant has no records and revision 0."""

    def get(self, tenant_id: str, key: str) -> UserRecord | None:
        """The record whose LegacyContactKey is ``key``, or ``None``."""
        ...

    def get_by_email(self, tenant_id: str, email: str) -> UserRecord | None:
        """The record holding ``email``, compared case-insensitively, or ``None``."""
        ...

    def records(self, tenant_id: str) -> Iterator[UserRecord]:
        """Every record of the tenant, in no promised order, streamed.

        A million records are not held in memory at once. Finish (or close) the
        iterator before committing through the same repository.
        """
        ...

    def count(self, tenant_id: str) -> int:
        """How many records the tenant has, deactivated ones included."""
        ...

    def revision(self, tenant_id: str) -> int:
        """The tenant's current revision: 0 before its first commit, then +1 per commit.

        Read it *before* reading the records a change is planned from, and pass it to
        :meth:`RecordWriter.commit`: a writer in between then makes the commit fail
        instead of the plan being applied to records it never saw.
        """
        ...


@runtime_checkable
class UploadHistory(Protocol):
    """Reads one tenant's upload history."""

    def uploads(self, tenant_id: str) -> Sequence[UploadEntry]:
        """Every upload committed for the tenant, oldest first."""
        ...


@runtime_checkable
class RecordWriter(Protocol):
    """Writes one tenant's records: one atomic commit, checked against a revision."""

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        """Apply ``change_set`` to the tenant whole, or not at all, and return the new revision.

        Raises :class:`~provisioning.ConflictError` when the tenant is no longer at
        ``expected_revision`` (:func:`check_revision`); :class:`ChangeSetError` when a
        create's key is already stored, an update's key is not, a record would take an
        email another record keeps, or the upload entry names another tenant
        (:func:`check_change_set`); :class:`~provisioning.RepositoryError` when the store
        fails. In every case nothing is written.
        """
        ...


@runtime_checkable
class Repository(RecordReader, UploadHistory, RecordWriter, Protocol):
    """Everything planning and applying an upload needs from a store."""


@runtime_checkable
class BatchReader(Protocol):
    """Reads one tenant's records by sets of keys and in key order: what planning a
    million-row upload needs to keep its memory bounded by the work, not by the tenant.

    Optional: a repository without it is read whole into memory instead (see
    docs/implement-a-repository.md). Both reference adapters have it.
    """

    def get_many(self, tenant_id: str, keys: Collection[str]) -> Mapping[str, UserRecord]:
        """The stored records among ``keys``, by key; keys not stored are left out."""
        ...

    def email_owners(self, tenant_id: str, emails: Collection[str]) -> Mapping[str, str]:
        """For each of ``emails`` (lower-cased) that a stored record holds: that record's key."""
        ...

    def statuses(self, tenant_id: str) -> Iterator[tuple[str, RecordStatus]]:
        """Every record's key and status, in key order (by code point), streamed."""
        ...

    def page(
        self, tenant_id: str, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[UserRecord]:
        """Up to ``limit`` records in key order, those whose key comes after ``after``.

        Pass the last key of one page as ``after`` to read the next; an empty page is
        the end.
        """
        ...


@runtime_checkable
class AuditLog(Protocol):
    """Keeps one tenant's audit trail: the events of every commit, and refused attempts.

    A store with it writes a commit's :attr:`ChangeSet.events` (or a stream's) in the
    commit's transaction, setting each event's ``revision`` to the revision the commit
    made and, when the commit records an upload, its ``upload_id`` to that revision too.
    """

    def events(
        self,
        tenant_id: str,
        *,
        key: str | None = None,
        upload_id: int | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        after_revision: int | None = None,
        product: Product | str | None = None,
    ) -> Iterator[AuditEvent]:
        """The tenant's events, oldest first, streamed: those of one record (``key``), of
        one upload, of a time range (``since`` included, ``until`` excluded), of the
        commits after a revision (``after_revision``: clocks may disagree, revisions not),
        or of one product's records (``product``: a Community user and a Marketing contact
        may share a key; the tenant's own events are Community's)."""
        ...

    def record_refusal(self, tenant_id: str, event: AuditEvent) -> None:
        """Append a refused attempt (kind ``refused``) without moving the tenant's revision."""
        ...


@runtime_checkable
class StreamWriter(Protocol):
    """Commits a :class:`ChangeStream`: a change set too large to hold, fed in batches."""

    def commit_stream(self, tenant_id: str, stream: ChangeStream, expected_revision: int) -> int:
        """Apply ``stream`` whole, or not at all, and return the new revision.

        The same errors as :meth:`RecordWriter.commit`, found as the batches are written.
        """
        ...


@runtime_checkable
class ContactStore(Protocol):
    """Keeps one tenant's Marketing contacts, each under its key (``MARKETING_CONTACT_KEY``).

    Contacts are written by :meth:`RecordWriter.commit` from
    :attr:`ChangeSet.contacts`, in the same transaction and under the same revision as
    records, upload entries and audit events; a key is the lower-cased email or the
    member id, as the change set says (:class:`ContactChanges`). Every stored email,
    compared ignoring case, belongs to one contact of the tenant.
    """

    def contacts(self, tenant_id: str) -> Iterator[tuple[str, Contact]]:
        """Every contact of the tenant with its key, in key order (by code point), streamed."""
        ...

    def get_contacts(self, tenant_id: str, keys: Collection[str]) -> Mapping[str, Contact]:
        """The stored contacts among ``keys``, by key; keys not stored are left out."""
        ...

    def contact_email_owners(self, tenant_id: str, emails: Collection[str]) -> Mapping[str, str]:
        """For each of ``emails`` (lower-cased) a stored contact holds: that contact's key."""
        ...

    def contact_count(self, tenant_id: str) -> int:
        """How many contacts the tenant has."""
        ...


@runtime_checkable
class ContactStreamWriter(Protocol):
    """Commits a :class:`ContactStream`: a Marketing commit too large to hold, in batches.

    A :class:`ContactStore` that offers it is handed large Marketing plans a batch at a
    time; one that does not is handed one :class:`ChangeSet`.
    """

    def commit_contact_stream(
        self, tenant_id: str, stream: ContactStream, expected_revision: int
    ) -> int:
        """Apply ``stream`` whole, or not at all, and return the new revision.

        The same errors as :meth:`RecordWriter.commit` of its change set, found as the
        batches are written.
        """


@runtime_checkable
class ScimFactStore(Protocol):
    """Keeps the SCIM facts of one tenant's records (:class:`ScimFacts`), for the SCIM
    service (the extra ``scim``).

    Facts are written by :meth:`RecordWriter.commit` from :attr:`ChangeSet.scim`, in the
    same transaction as the record's change: a userName is never kept for a write that
    did not happen. The store itself keeps each folded userName (:func:`fold_user_name`)
    and each resource id to one record of the tenant (a unique index, say), so two
    writers racing for one name cannot both win. A commit that redacts a record deletes
    its facts. Only :meth:`adopt_scim_facts` writes them outside a commit.
    """

    def scim_facts(
        self,
        tenant_id: str,
        *,
        key: str | None = None,
        resource_id: str | None = None,
        user_name: str | None = None,
        external_id: str | None = None,
    ) -> Sequence[ScimFacts]:
        """The facts of the record ``key``, of the resource ``resource_id``, of the
        userName ``user_name`` (compared folded) or of the records whose externalId is
        ``external_id`` (exactly), ordered by key; every record's facts when none is given.
        At most one may be given."""
        ...

    def adopt_scim_facts(self, tenant_id: str, facts: ScimFacts) -> bool:
        """Give a stored record without SCIM facts (one written by another channel) its
        facts, without moving the tenant's revision; ``False``, writing nothing, when the
        record is not stored, has facts already, or their userName or id is another's."""
        ...


@runtime_checkable
class TenantStore(Protocol):
    """Saves and loads :class:`~provisioning.Tenant` objects by id."""

    def save_tenant(self, tenant: Tenant, *, event: AuditEvent | None = None) -> int:
        """Store ``tenant``, replacing any tenant with the same id; return its revision.

        A tenant's settings shape every plan made for it, so replacing one is a write:
        in one transaction, the tenant is stored, its records' revision moves on by one
        when a tenant was stored under its id already (a plan saved before is stale; the
        first save leaves a new tenant at its revision, 0), and ``event`` (kind
        ``tenant_changed``, for this tenant, naming no record: see
        :func:`check_tenant_event`), when given, joins the audit trail stamped with the
        revision. A store that keeps no records or audit trail returns 0 and ignores the
        event.
        """
        ...

    def get_tenant(self, tenant_id: str) -> Tenant:
        """The stored tenant; :class:`~provisioning.NotFoundError` when there is none."""
        ...

    def tenants(self) -> list[Tenant]:
        """Every stored tenant, ordered by id."""
        ...
