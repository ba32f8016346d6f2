"""An in-process repository: the reference implementation and the test double hosts use.

Each tenant's state is an immutable snapshot; a commit builds a new snapshot from
copies and swaps it in only at the end, so a commit that fails at any step (a conflict,
a bad change set, an injected fault) leaves the store exactly as it was. Readers never
see half a commit, and an iterator over :meth:`MemoryRepository.records` keeps reading
the snapshot it started on.

>>> from provisioning import Tenant
>>> repo = MemoryRepository()
>>> repo.save_tenant(Tenant(id="acme", name="Acme", products={"community": "standalone"}))
0
>>> [t.id for t in repo.tenants()], repo.revision("acme"), repo.count("acme")
(['acme'], 0, 0)
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence

import attrs

from .._validators import (
    check_page,
    check_revision_number,
    check_strings,
    check_tenant_id,
    check_type,
)
from ..audit import AuditEvent, redacted
from ..catalog import Product
from ..exceptions import InvalidValueError, NotFoundError
from ..records import Contact, RecordStatus, UserRecord, email_key
from ..repository import (
    ChangeSet,
    ChangeSetError,
    ChangeStream,
    ContactChanges,
    ContactStream,
    ScimFacts,
    UploadEntry,
    check_change_set,
    check_refusal,
    check_revision,
    check_tenant_event,
    event_filter,
    scim_lookup,
)
from ..tenants import Tenant
from ._faults import FaultHook

__all__ = ["MemoryRepository"]


@attrs.frozen
class _Snapshot:
    """One tenant's records, email index, history and revision; never changed in place."""

    revision: int = 0
    records: Mapping[str, UserRecord] = attrs.field(factory=dict)
    #: Lower-cased email -> key of the record holding it.
    emails: Mapping[str, str] = attrs.field(factory=dict)
    uploads: tuple[UploadEntry, ...] = ()
    events: tuple[AuditEvent, ...] = ()
    #: The Marketing contacts by key, and lower-cased email -> key of the contact.
    contacts: Mapping[str, Contact] = attrs.field(factory=dict)
    contact_emails: Mapping[str, str] = attrs.field(factory=dict)
    #: The records' SCIM facts by key.
    scim: Mapping[str, ScimFacts] = attrs.field(factory=dict)
    #: The keys in key order, worked out when first asked for (a snapshot never changes).
    _sorted: list[str] = attrs.field(factory=list, eq=False, repr=False)

    def sorted_keys(self) -> list[str]:
        if len(self._sorted) != len(self.records):
            self._sorted[:] = sorted(self.records)
        return self._sorted


_EMPTY = _Snapshot()


def _no_fault(_step: str) -> None:
    pass


class MemoryRepository:
    """A :class:`~provisioning.repository.Repository` and tenant store held in memory.

    ``fault``, when given, is called with each step of :data:`COMMIT_STEPS
    <provisioning.adapters.COMMIT_STEPS>` during a commit; whatever it raises aborts
    the commit and leaves the store unchanged (see :func:`~provisioning.adapters.fail_at`).
    Safe to share between threads.
    """

    def __init__(self, *, fault: FaultHook | None = None) -> None:
        if fault is not None and not callable(fault):
            raise InvalidValueError(f"fault must be callable or None, got {fault!r}", field="fault")
        self._snapshots: dict[str, _Snapshot] = {}
        self._tenants: dict[str, Tenant] = {}
        self._fault = fault or _no_fault
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<MemoryRepository: {len(self._snapshots)} tenants with records>"

    def _snapshot(self, tenant_id: str) -> _Snapshot:
        return self._snapshots.get(check_tenant_id(tenant_id), _EMPTY)

    def get(self, tenant_id: str, key: str) -> UserRecord | None:
        """The record whose LegacyContactKey is ``key``, or ``None``."""
        return self._snapshot(tenant_id).records.get(check_type(key, str, "key", "a string"))

    def get_by_email(self, tenant_id: str, email: str) -> UserRecord | None:
        """The record holding ``email``, compared case-insensitively, or ``None``."""
        snapshot = self._snapshot(tenant_id)
        key = snapshot.emails.get(email_key(check_type(email, str, "email", "a string")))
        return None if key is None else snapshot.records[key]

    def records(self, tenant_id: str) -> Iterator[UserRecord]:
        """Every record of the tenant, in the order they were first created."""
        return iter(self._snapshot(tenant_id).records.values())

    def count(self, tenant_id: str) -> int:
        """How many records the tenant has."""
        return len(self._snapshot(tenant_id).records)

    def get_many(self, tenant_id: str, keys: Collection[str]) -> Mapping[str, UserRecord]:
        """The stored records among ``keys``, by key."""
        records = self._snapshot(tenant_id).records
        return {k: records[k] for k in check_strings(keys, "keys") if k in records}

    def email_owners(self, tenant_id: str, emails: Collection[str]) -> Mapping[str, str]:
        """For each of ``emails`` (lower-cased) that a stored record holds: its key."""
        owners = self._snapshot(tenant_id).emails
        return {e: owners[e] for e in check_strings(emails, "emails") if e in owners}

    def statuses(self, tenant_id: str) -> Iterator[tuple[str, RecordStatus]]:
        """Every record's key and status, in key order."""
        snapshot = self._snapshot(tenant_id)
        records = snapshot.records
        return ((key, records[key].status) for key in snapshot.sorted_keys())

    def page(
        self, tenant_id: str, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[UserRecord]:
        """Up to ``limit`` records in key order, those whose key comes after ``after``."""
        after, limit = check_page(after, limit)
        snapshot = self._snapshot(tenant_id)
        keys = snapshot.sorted_keys()
        start = 0 if after is None else bisect.bisect_right(keys, after)
        return tuple(snapshot.records[k] for k in keys[start : start + limit])

    def contacts(self, tenant_id: str) -> Iterator[tuple[str, Contact]]:
        """Every Marketing contact of the tenant with its key, in key order."""
        contacts = self._snapshot(tenant_id).contacts
        return ((key, contacts[key]) for key in sorted(contacts))

    def get_contacts(self, tenant_id: str, keys: Collection[str]) -> Mapping[str, Contact]:
        """The stored contacts among ``keys``, by key."""
        contacts = self._snapshot(tenant_id).contacts
        return {k: contacts[k] for k in check_strings(keys, "keys") if k in contacts}

    def contact_email_owners(self, tenant_id: str, emails: Collection[str]) -> Mapping[str, str]:
        """For each of ``emails`` (lower-cased) a stored contact holds: its key."""
        owners = self._snapshot(tenant_id).contact_emails
        return {e: owners[e] for e in check_strings(emails, "emails") if e in owners}

    def contact_count(self, tenant_id: str) -> int:
        """How many Marketing contacts the tenant has."""
        return len(self._snapshot(tenant_id).contacts)

    def revision(self, tenant_id: str) -> int:
        """The tenant's current revision; 0 before its first commit."""
        return self._snapshot(tenant_id).revision

    def uploads(self, tenant_id: str) -> Sequence[UploadEntry]:
        """Every upload committed for the tenant, oldest first."""
        return self._snapshot(tenant_id).uploads

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        """Apply ``change_set`` whole or not at all; return the new revision.

        See :meth:`provisioning.repository.RecordWriter.commit` for the errors.
        """
        check_tenant_id(tenant_id)
        check_type(change_set, ChangeSet, "change_set", "a ChangeSet")
        check_revision_number(expected_revision)
        with self._lock:
            old = self._snapshot(tenant_id)
            check_revision(tenant_id, expected_revision, old.revision)

            def stored_keys(keys: Sequence[str]) -> Collection[str]:
                return [k for k in keys if k in old.records]

            def email_owners(emails: Sequence[str]) -> Mapping[str, str]:
                return {e: old.emails[e] for e in emails if e in old.emails}

            def stored_contact_keys(keys: Sequence[str]) -> Collection[str]:
                return [k for k in keys if k in old.contacts]

            def contact_email_owners(emails: Sequence[str]) -> Mapping[str, str]:
                return {e: old.contact_emails[e] for e in emails if e in old.contact_emails}

            names = {f.name_key: k for k, f in old.scim.items()}
            ids = {f.id: k for k, f in old.scim.items()}

            check_change_set(
                tenant_id,
                change_set,
                stored_keys=stored_keys,
                email_owners=email_owners,
                stored_contact_keys=stored_contact_keys,
                contact_email_owners=contact_email_owners,
                user_name_owners=lambda wanted: {n: names[n] for n in wanted if n in names},
                resource_id_owners=lambda wanted: {i: ids[i] for i in wanted if i in ids},
            )
            self._fault("checked")
            records = dict(old.records)
            emails = dict(old.emails)
            # Free every replaced email first, so that two updates may swap theirs.
            for record in change_set.updates:
                del emails[records[record.legacy_contact_key].email_key]
            for record in change_set.updates + change_set.creates:
                records[record.legacy_contact_key] = record
                emails[record.email_key] = record.legacy_contact_key
            contacts, contact_emails = old.contacts, old.contact_emails
            if change_set.contacts is not None:
                contacts, contact_emails = dict(contacts), dict(contact_emails)
                keyed = list(change_set.contacts.keyed())
                for verb, key, _ in keyed:
                    if verb == "update":
                        del contact_emails[contacts[key].email_key]
                for _, key, contact in keyed:
                    contacts[key] = contact
                    contact_emails[contact.email_key] = key
            scim = old.scim
            if change_set.scim or change_set.redact:
                scim = dict(scim)
                for key in change_set.redact:  # the person's data deleted: their userName too
                    scim.pop(key, None)
                scim.update((f.key, f) for f in change_set.scim)
            self._fault("records")
            revision = old.revision + 1
            uploads, upload_id = old.uploads, None
            if change_set.upload is not None:
                upload_id = revision
                uploads += (attrs.evolve(change_set.upload, id=revision, audited=True),)
            events = old.events
            if change_set.redact:
                gone = frozenset(change_set.redact)
                events = tuple(redacted(e) if e.key in gone else e for e in events)
            events += tuple(
                attrs.evolve(e, revision=revision, upload_id=upload_id) for e in change_set.events
            )
            self._fault("history")
            new = _Snapshot(
                revision, records, emails, uploads, events, contacts, contact_emails, scim
            )
            self._fault("revision")
            self._snapshots[tenant_id] = new
            return new.revision

    def scim_facts(
        self,
        tenant_id: str,
        *,
        key: str | None = None,
        resource_id: str | None = None,
        user_name: str | None = None,
        external_id: str | None = None,
    ) -> Sequence[ScimFacts]:
        """The SCIM facts of one record, resource, userName or externalId, or all, by key
        (see :class:`~provisioning.repository.ScimFactStore`)."""
        asked = scim_lookup(
            key=key, resource_id=resource_id, user_name=user_name, external_id=external_id
        )
        facts = self._snapshot(tenant_id).scim
        if asked is not None and asked[0] == "key":
            found = facts.get(asked[1])
            return [] if found is None else [found]
        kept = (f for _, f in sorted(facts.items()))
        if asked is None:
            return list(kept)
        what, value = asked
        return [f for f in kept if getattr(f, what) == value]

    def adopt_scim_facts(self, tenant_id: str, facts: ScimFacts) -> bool:
        """Give a stored record without SCIM facts its ``facts``, not moving the revision;
        ``False`` when it has facts, is not stored, or the userName or id is another's."""
        check_tenant_id(tenant_id)
        check_type(facts, ScimFacts, "facts", "ScimFacts")
        with self._lock:
            old = self._snapshot(tenant_id)
            taken = any(f.name_key == facts.name_key or f.id == facts.id for f in old.scim.values())
            if facts.key in old.scim or facts.key not in old.records or taken:
                return False
            self._snapshots[tenant_id] = attrs.evolve(old, scim={**old.scim, facts.key: facts})
            return True

    def commit_stream(self, tenant_id: str, stream: ChangeStream, expected_revision: int) -> int:
        """Commit ``stream`` as the :class:`ChangeSet` of all its records (held in memory,
        as every record here is)."""
        check_tenant_id(tenant_id)
        check_type(stream, ChangeStream, "stream", "a ChangeStream")
        check_revision_number(expected_revision)
        # The revision first, as commit() checks it first (commit checks it again).
        check_revision(tenant_id, expected_revision, self.revision(tenant_id))
        groups: dict[str, list[UserRecord]] = {"update": [], "create": []}
        for verb, batch in stream.batches():
            groups[verb].extend(batch)
        events = [e for batch in stream.event_batches() for e in batch]
        try:
            change_set = ChangeSet(
                creates=groups["create"],
                updates=groups["update"],
                upload=stream.upload,
                events=events,
            )
        except InvalidValueError as exc:
            raise ChangeSetError(
                f"the change stream does not fit the records of tenant {tenant_id!r}, nothing "
                f"was written: {exc}",
                tenant_id=tenant_id,
                problems=(str(exc),),
            ) from None
        return self.commit(tenant_id, change_set, expected_revision)

    def commit_contact_stream(
        self, tenant_id: str, stream: ContactStream, expected_revision: int
    ) -> int:
        """Commit a Marketing ``stream`` as the :class:`ChangeSet` of all its contacts
        (held in memory, as every contact here is)."""
        check_tenant_id(tenant_id)
        check_type(stream, ContactStream, "stream", "a ContactStream")
        check_revision_number(expected_revision)
        check_revision(tenant_id, expected_revision, self.revision(tenant_id))
        groups: dict[str, list[Contact]] = {"update": [], "create": []}
        for verb, batch in stream.batches():
            groups[verb].extend(batch)
        events = [e for batch in stream.event_batches() for e in batch]
        try:
            contacts = ContactChanges(
                key=stream.key, creates=groups["create"], updates=groups["update"]
            )
            change_set = ChangeSet(contacts=contacts, upload=stream.upload, events=events)
        except InvalidValueError as exc:
            raise ChangeSetError(
                f"the contact stream does not fit tenant {tenant_id!r}, nothing was written: {exc}",
                tenant_id=tenant_id,
                problems=(str(exc),),
            ) from None
        return self.commit(tenant_id, change_set, expected_revision)

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
        """The tenant's events, oldest first: of one record, one upload, a time range,
        the commits after a revision, or one product."""
        wanted = event_filter(
            key=key,
            upload_id=upload_id,
            since=since,
            until=until,
            after_revision=after_revision,
            product=product,
        )
        return (e for e in self._snapshot(tenant_id).events if wanted(e))

    def record_refusal(self, tenant_id: str, event: AuditEvent) -> None:
        """Append a refused attempt without moving the tenant's revision."""
        check_tenant_id(tenant_id)
        check_refusal(tenant_id, event)
        with self._lock:
            old = self._snapshot(tenant_id)
            stamped = attrs.evolve(event, revision=old.revision, upload_id=None)
            self._snapshots[tenant_id] = attrs.evolve(old, events=(*old.events, stamped))

    def save_tenant(self, tenant: Tenant, *, event: AuditEvent | None = None) -> int:
        """Store ``tenant``, replacing any tenant with the same id (which moves its
        revision on), and append ``event``; return the tenant's revision."""
        if not isinstance(tenant, Tenant):
            raise InvalidValueError(
                f"tenant must be a Tenant, got {type(tenant).__name__} {tenant!r}", field="tenant"
            )
        check_tenant_event(tenant.id, event)
        with self._lock:
            old = self._snapshot(tenant.id)
            revision = old.revision + (tenant.id in self._tenants)
            events = old.events
            if event is not None:
                events += (attrs.evolve(event, revision=revision, upload_id=None),)
            self._tenants[tenant.id] = tenant
            self._snapshots[tenant.id] = attrs.evolve(old, revision=revision, events=events)
            return revision

    def get_tenant(self, tenant_id: str) -> Tenant:
        """The stored tenant; :class:`~provisioning.NotFoundError` when there is none."""
        check_tenant_id(tenant_id)
        try:
            return self._tenants[tenant_id]
        except KeyError:
            raise NotFoundError(
                f"no tenant {tenant_id!r} is stored", kind="tenant", key=tenant_id
            ) from None

    def tenants(self) -> list[Tenant]:
        """Every stored tenant, ordered by id."""
        return [self._tenants[i] for i in sorted(self._tenants)]
