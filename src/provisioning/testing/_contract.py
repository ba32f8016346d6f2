"""Contract suites a host runs against its own repository and tenant store (needs pytest).

Subclass :class:`RepositoryContract` (and :class:`TenantStoreContract`, when the store
also keeps tenants) in a test module, name the subclass ``Test...`` so pytest collects
it, and give it a fixture that returns a new, empty store for each test::

    import pytest
    from provisioning.testing import RepositoryContract

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def repository(self):
            repo = MyRepository(...)  # new and empty
            yield repo
            repo.close()

Every test then runs against that store. Both reference adapters pass both suites.

A store that also offers the optional batch reads and streamed commits
(:class:`~provisioning.repository.BatchReader`, :class:`~provisioning.repository.StreamWriter`)
subclasses :class:`BatchRepositoryContract` too, with the same ``repository`` fixture; a
``faulty_repository`` fixture, when the store can be made to fail on purpose, adds the
tests of a commit failing half-way. Both reference adapters pass it.

A store that keeps an audit trail (:class:`~provisioning.repository.AuditLog`)
subclasses :class:`AuditLogContract` too, with the same two fixtures: the events of a
commit written with it and stamped with its revision (and upload id), the queries by
record, upload and time, refused attempts, tenant isolation, and no event left behind
by a commit that fails. Both reference adapters pass it.

A store that keeps Marketing contacts (:class:`~provisioning.repository.ContactStore`)
subclasses :class:`ContactStoreContract` too, with the same two fixtures; its tests of
streamed contact commits run when the store is a
:class:`~provisioning.repository.ContactStreamWriter`.

A store that keeps the records' SCIM facts (:class:`~provisioning.repository.ScimFactStore`)
subclasses :class:`ScimFactStoreContract` too, with the same two fixtures and, for a store
whose handles are not shared between threads, ``open_repository``: the userName committed
in the record's own transaction, kept unique by the store against two racing writers, and
no name kept by a commit that fails.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import pytest

from .._fields import FieldKind, FieldSpec, field_specs
from ..actors import Actor, Role
from ..adapters import COMMIT_STEPS, FaultHook, fail_at
from ..audit import (
    AuditEvent,
    AuditKind,
    Channel,
    FieldChange,
    changes_between,
    contact_changes,
    redacted,
)
from ..catalog import Product
from ..exceptions import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    RefusedError,
    RepositoryError,
)
from ..records import Contact, ContactKey, RecordStatus, UserRecord
from ..repository import (
    AuditLog,
    BatchReader,
    ChangeSet,
    ChangeSetError,
    ChangeStream,
    ContactChanges,
    ContactStore,
    ContactStream,
    ContactStreamWriter,
    RecordReader,
    Repository,
    ScimFacts,
    ScimFactStore,
    StreamWriter,
    TenantStore,
    UploadEntry,
    UploadMode,
)
from ..tenants import SsoSetup, Tenant
from ..uploads import (
    ContactPlan,
    Receipt,
    Safeguard,
    apply_plan,
    plan_contacts,
    plan_contacts_revert,
)

__all__ = [
    "AuditLogContract",
    "BatchRepositoryContract",
    "ContactStoreContract",
    "RepositoryContract",
    "ScimFactStoreContract",
    "TenantStoreContract",
]

ACME = "acme"
GLOBEX = "globex"
_AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


_SPECS = field_specs(UserRecord)
#: The required plain-text fields (names, company), each given a value by ``_record``.
_REQUIRED_TEXTS = tuple(s.name for s in _SPECS if s.required and s.role is None)
_KEY = next(s.name for s in _SPECS if s.role == "identifier")
_EMAIL = next(s.name for s in _SPECS if s.role == "email")
#: One optional text field, for a change a test makes to a record.
#: A required text field that is personal data (a name).
_NAME = _REQUIRED_TEXTS[0]
_SOME_TEXT = next(s.name for s in _SPECS if s.kind is FieldKind.OPTIONAL_TEXT)
_FLAGS = tuple(s.name for s in _SPECS if s.kind is FieldKind.FLAG)


def _record(key: str, email: str | None = None, **fields: Any) -> UserRecord:
    """A record with the required fields, ``email`` defaulting to one from ``key``."""
    words = ("Ada", "Lovelace", "Analytical Engines")
    required = {
        name: fields.pop(name, words[n % len(words)]) for n, name in enumerate(_REQUIRED_TEXTS)
    }
    values = {_KEY: key, _EMAIL: email or f"user.{key}@example.com", **required, **fields}
    return UserRecord(**values)


# Awkward text for the full record, one pattern per field in turn: a formula-like start,
# a line break, quotes and a comma, a tab. Each names its field, so a store that swaps
# two columns fails the round trip instead of passing by coincidence.
_AWKWARD_TEXTS = (
    "=1+2 {name}",
    "{name}: Zoë\nÑúñez",
    "'{name}' \"Widgets\", 絵🦆",
    "+{name}; Bâtiment B\t3ᵉ étage",
)
#: The custom (demographic) columns of the full record: unicode keys, an empty value and
#: an empty-looking one.
_CUSTOM = {"Chapter": "Zürich Nord", "Note": "", "絵": "🦆", "NULL": "0"}
_FIRST_DAY = dt.date(1815, 12, 10)
#: Days between the dates of two fields (about 43 years): dates far apart.
_DATE_STEP = 15_773


def _full_value(spec: FieldSpec, index: int, key: str) -> Any:
    """A value for one field, none its default, from the field's kind, role and name."""
    if spec.role == "identifier":
        # An id holds no control character: no line break or tab here.
        return key if spec.kind is FieldKind.TEXT else f"Ñ-{spec.name}'0042"
    if spec.role == "email":
        return f"Zoe.O'Brien+{spec.name}@Example.ORG"
    if spec.kind in (FieldKind.TEXT, FieldKind.OPTIONAL_TEXT):
        return _AWKWARD_TEXTS[index % len(_AWKWARD_TEXTS)].format(name=spec.name)
    if spec.kind is FieldKind.DATE:
        return _FIRST_DAY + dt.timedelta(days=_DATE_STEP * (index % 9))
    if spec.kind is FieldKind.FLAG:
        return False
    if spec.kind is FieldKind.ENUM:
        assert spec.enum is not None  # field_specs sets it for every enum
        return list(spec.enum)[-1]
    return _CUSTOM  # FieldKind.MAPPING


def _full_values(record_type: type[Any], key: str = "1001") -> dict[str, Any]:
    """A value for every field of ``record_type``, built from its field specs."""
    return {
        spec.name: _full_value(spec, index, key)
        for index, spec in enumerate(field_specs(record_type))
    }


def _full_record(key: str = "1001") -> UserRecord:
    """A record with every field set, none to its default, whatever fields the model has.

    The values come from each field's kind and name (:func:`_full_value`), so a field
    added to the model is set here with no edit: text with unicode, quotes, a line
    break or a leading ``=``; dates decades apart; a flag ``False``; an enum's last
    member; custom columns with unicode keys and the values ``""`` and ``"0"``.
    """
    return UserRecord(**_full_values(UserRecord, key))


def _entry(tenant_id: str = ACME, **fields: Any) -> UploadEntry:
    values: dict[str, Any] = {
        "actor_id": "sa-1",
        "at": _AT,
        "file_digest": "sha256:9f86d081884c7d65",
        "mode": UploadMode.FULL,
        "counts": {"created": 1, "updated": 0},
        "product": Product.COMMUNITY,
    }
    values.update(fields)
    return UploadEntry(tenant_id=tenant_id, **values)


def _state(repository: Repository, tenant_id: str) -> tuple[Any, ...]:
    """Everything a tenant's reads return, to compare before and after."""
    records = sorted(repository.records(tenant_id), key=lambda r: r.legacy_contact_key)
    return (
        repository.revision(tenant_id),
        repository.count(tenant_id),
        [attrs.asdict(r, recurse=False) for r in records],
        tuple(repository.uploads(tenant_id)),
    )


def _commit(repository: Repository, tenant_id: str, change_set: ChangeSet) -> int:
    """Commit at the tenant's current revision."""
    return repository.commit(tenant_id, change_set, repository.revision(tenant_id))


def _names(problems: tuple[str, ...], key: str) -> bool:
    return any(repr(key) in problem for problem in problems)


class RepositoryContract:
    """What every :class:`~provisioning.repository.Repository` does, as pytest tests.

    Provide a ``repository`` fixture that returns a new, empty repository.
    """

    @pytest.fixture
    def repository(self) -> Repository:
        """Override: a new, empty repository for each test."""
        pytest.fail("a RepositoryContract subclass must define a `repository` fixture")

    # The interface and a new tenant

    def test_implements_the_repository_protocol(self, repository: Repository) -> None:
        """The repository has every method of the Repository protocol."""
        assert isinstance(repository, Repository)

    def test_new_tenant_is_empty_at_revision_zero(self, repository: Repository) -> None:
        """A tenant never committed to has revision 0, no records and no history."""
        assert repository.revision(ACME) == 0
        assert repository.count(ACME) == 0
        assert list(repository.records(ACME)) == []
        assert list(repository.uploads(ACME)) == []
        assert repository.get(ACME, "1001") is None
        assert repository.get_by_email(ACME, "ada@example.com") is None

    # Round trips

    def test_every_field_round_trips(self, repository: Repository) -> None:
        """A record with every field set reads back equal, field by field, in each read."""
        record = _full_record()
        _commit(repository, ACME, ChangeSet(creates=[record]))
        expected = attrs.asdict(record, recurse=False)
        for read in (
            repository.get(ACME, "1001"),
            repository.get_by_email(ACME, record.email),
            next(repository.records(ACME)),
        ):
            assert read is not None
            assert attrs.asdict(read, recurse=False) == expected
            assert read == record
            assert hash(read) == hash(record)
            for spec in field_specs(UserRecord):
                stored, given = getattr(read, spec.name), getattr(record, spec.name)
                assert type(stored) is type(given), spec.name  # a date stays a date
                if spec.kind in (FieldKind.ENUM, FieldKind.FLAG):
                    assert stored is given, spec.name

    def test_absent_fields_round_trip_as_none(self, repository: Repository) -> None:
        """A record with only the required fields reads back with every other field empty."""
        record = _record("1001")
        _commit(repository, ACME, ChangeSet(creates=[record]))
        read = repository.get(ACME, "1001")
        assert read == record
        assert read is not None
        defaults = UserRecord(**{s.name: getattr(record, s.name) for s in _SPECS if s.required})
        for spec in _SPECS:
            if not spec.required:
                assert getattr(read, spec.name) == getattr(defaults, spec.name), spec.name

    def test_every_status_round_trips(self, repository: Repository) -> None:
        """Each RecordStatus reads back as itself."""
        records = [_record(f"k{n}", status=status) for n, status in enumerate(RecordStatus)]
        _commit(repository, ACME, ChangeSet(creates=records))
        for record in records:
            read = repository.get(ACME, record.legacy_contact_key)
            assert read is not None
            assert read.status is record.status

    def test_yes_no_fields_keep_true_false_and_none_apart(self, repository: Repository) -> None:
        """A yes/no field (``is_member``) keeps True, False and None apart."""
        values = {"t": True, "f": False, "n": None}
        for flag in _FLAGS:
            tenant = f"{ACME}-{flag}"
            creates = [_record(k, None, **{flag: v}) for k, v in values.items()]
            _commit(repository, tenant, ChangeSet(creates=creates))
            for key, value in values.items():
                read = repository.get(tenant, key)
                assert read is not None
                assert getattr(read, flag) is value

    # Reads

    def test_email_lookup_ignores_case(self, repository: Repository) -> None:
        """``get_by_email`` finds the record whatever the case of the address asked for."""
        record = _record("1001", "Ada.Lovelace@Example.com")
        _commit(repository, ACME, ChangeSet(creates=[record]))
        for asked in (
            "ada.lovelace@example.com",
            "ADA.LOVELACE@EXAMPLE.COM",
            " Ada.Lovelace@example.COM ",
        ):
            assert repository.get_by_email(ACME, asked) == record
        assert repository.get_by_email(ACME, "ada@example.com") is None

    def test_email_lookup_follows_an_email_change(self, repository: Repository) -> None:
        """After an update changes the email, the old one finds nothing and the new one finds it."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001", "old@example.com")]))
        moved = _record("1001", "New@example.com")
        _commit(repository, ACME, ChangeSet(updates=[moved]))
        assert repository.get_by_email(ACME, "old@example.com") is None
        assert repository.get_by_email(ACME, "new@EXAMPLE.com") == moved

    def test_records_is_an_iterator_over_every_record(self, repository: Repository) -> None:
        """``records`` returns an iterator (not a list) that yields each record once."""
        records = [_record(f"k{n:03}") for n in range(250)]
        _commit(repository, ACME, ChangeSet(creates=records))
        iterator = repository.records(ACME)
        assert iter(iterator) is iterator
        first = next(iterator)
        rest = list(iterator)
        assert sorted([first, *rest], key=lambda r: r.legacy_contact_key) == records
        assert repository.count(ACME) == 250

    def test_unfinished_iteration_does_not_block_a_commit(self, repository: Repository) -> None:
        """An iterator dropped half-way leaves the repository usable for commits."""
        _commit(repository, ACME, ChangeSet(creates=[_record(f"k{n}") for n in range(10)]))
        iterator = repository.records(ACME)
        next(iterator)
        del iterator
        assert _commit(repository, ACME, ChangeSet(creates=[_record("k10")])) == 2

    # Commits

    def test_each_commit_raises_the_revision_by_one(self, repository: Repository) -> None:
        """A commit returns the new revision, one more than before, even when empty."""
        assert repository.commit(ACME, ChangeSet(creates=[_record("1")]), 0) == 1
        assert repository.commit(ACME, ChangeSet(), 1) == 2
        assert repository.commit(ACME, ChangeSet(updates=[_record("1")]), 2) == 3
        assert repository.revision(ACME) == 3

    def test_update_replaces_the_whole_record(self, repository: Repository) -> None:
        """An update is the full record: a field it leaves out is cleared, not kept."""
        _commit(repository, ACME, ChangeSet(creates=[_full_record("1001")]))
        bare = _record("1001", "zoe.obrien@example.org", **{_REQUIRED_TEXTS[0]: "Zoe"})
        _commit(repository, ACME, ChangeSet(updates=[bare]))
        assert repository.get(ACME, "1001") == bare

    def test_deactivation_is_an_update_not_a_deletion(self, repository: Repository) -> None:
        """DEACTIVATE_NOT_DELETE: a deactivated record stays, readable, and can come back."""
        record = _record("1001")
        _commit(repository, ACME, ChangeSet(creates=[record]))
        off = attrs.evolve(record, status=RecordStatus.DEACTIVATED)
        _commit(repository, ACME, ChangeSet(updates=[off]))
        assert repository.get(ACME, "1001") == off
        assert repository.count(ACME) == 1
        _commit(repository, ACME, ChangeSet(updates=[record]))
        assert repository.get_by_email(ACME, record.email) == record

    # Uniqueness of key and email within a tenant

    def test_create_with_a_stored_key_is_refused(self, repository: Repository) -> None:
        """A create whose key is stored fails whole with ChangeSetError naming the key."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        before = _state(repository, ACME)
        with pytest.raises(ChangeSetError) as caught:
            _commit(repository, ACME, ChangeSet(creates=[_record("1001", "other@example.com")]))
        assert caught.value.tenant_id == ACME
        assert _names(caught.value.problems, "1001")
        assert _state(repository, ACME) == before

    def test_create_with_a_stored_email_in_another_case_is_refused(
        self, repository: Repository
    ) -> None:
        """Emails are unique case-insensitively: a create reusing one fails whole."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001", "ada@example.com")]))
        before = _state(repository, ACME)
        with pytest.raises(ChangeSetError) as caught:
            _commit(repository, ACME, ChangeSet(creates=[_record("1002", "ADA@example.com")]))
        assert _names(caught.value.problems, "1002")
        assert _state(repository, ACME) == before

    def test_update_taking_another_records_email_is_refused(self, repository: Repository) -> None:
        """An update may not give a record an email another record keeps."""
        creates = [_record("1001", "ada@example.com"), _record("1002", "grace@example.com")]
        _commit(repository, ACME, ChangeSet(creates=creates))
        before = _state(repository, ACME)
        with pytest.raises(ChangeSetError) as caught:
            _commit(repository, ACME, ChangeSet(updates=[_record("1002", "Ada@Example.com")]))
        assert _names(caught.value.problems, "1002")
        assert _state(repository, ACME) == before

    def test_update_of_a_missing_key_is_refused(self, repository: Repository) -> None:
        """An update must name a stored record: an update is never a create."""
        with pytest.raises(ChangeSetError) as caught:
            _commit(repository, ACME, ChangeSet(updates=[_record("1001")]))
        assert _names(caught.value.problems, "1001")
        assert _state(repository, ACME) == (0, 0, [], ())

    def test_two_updates_may_swap_emails(self, repository: Repository) -> None:
        """Uniqueness holds for the state after the commit, so two records may swap emails."""
        creates = [_record("1001", "ada@example.com"), _record("1002", "grace@example.com")]
        _commit(repository, ACME, ChangeSet(creates=creates))
        swapped = [_record("1001", "grace@example.com"), _record("1002", "ada@example.com")]
        _commit(repository, ACME, ChangeSet(updates=swapped))
        assert repository.get_by_email(ACME, "grace@example.com") == swapped[0]
        assert repository.get_by_email(ACME, "ada@example.com") == swapped[1]

    def test_a_create_may_take_an_email_an_update_gives_up(self, repository: Repository) -> None:
        """An email freed by an update in the same change set is free for a create."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001", "shared@example.com")]))
        moved, new = _record("1001", "ada@example.com"), _record("1002", "shared@example.com")
        _commit(repository, ACME, ChangeSet(creates=[new], updates=[moved]))
        assert repository.get_by_email(ACME, "shared@example.com") == new
        assert repository.get_by_email(ACME, "ada@example.com") == moved

    def test_same_key_and_email_in_two_tenants_is_fine(self, repository: Repository) -> None:
        """Uniqueness is per tenant: two tenants may each hold key 1001 with the same email."""
        ada, other = (
            _record("1001", "ada@example.com"),
            _record("1001", "ada@example.com", **{_SOME_TEXT: "Paris"}),
        )
        assert repository.commit(ACME, ChangeSet(creates=[ada]), 0) == 1
        assert repository.commit(GLOBEX, ChangeSet(creates=[other]), 0) == 1
        assert repository.get(ACME, "1001") == ada
        assert repository.get_by_email(GLOBEX, "ada@example.com") == other

    # Atomic commits

    def test_one_bad_change_leaves_nothing_behind(self, repository: Repository) -> None:
        """A change set with one bad change among many good ones writes nothing at all."""
        stored = [_record(f"s{n:02}") for n in range(20)]
        _commit(repository, ACME, ChangeSet(creates=stored, upload=_entry()))
        before = _state(repository, ACME)
        good_creates = [_record(f"n{n:02}") for n in range(50)]
        good_updates = [attrs.evolve(r, status=RecordStatus.DEACTIVATED) for r in stored[:10]]
        bad = _record("n50", stored[15].email.upper())
        for creates in ([bad, *good_creates], [*good_creates, bad]):
            change_set = ChangeSet(creates=creates, updates=good_updates, upload=_entry())
            with pytest.raises(ChangeSetError):
                _commit(repository, ACME, change_set)
            assert _state(repository, ACME) == before

    def test_every_problem_is_reported_at_once(self, repository: Repository) -> None:
        """A refused change set lists each bad change, not only the first."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        change_set = ChangeSet(creates=[_record("1001", "x@example.com")], updates=[_record("9")])
        with pytest.raises(ChangeSetError) as caught:
            _commit(repository, ACME, change_set)
        assert _names(caught.value.problems, "1001")
        assert _names(caught.value.problems, "9")

    # Revision conflicts

    def test_a_stale_revision_conflicts_and_writes_nothing(self, repository: Repository) -> None:
        """A commit planned against an old revision raises ConflictError and changes nothing."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        _commit(repository, ACME, ChangeSet(creates=[_record("1002")]))
        before = _state(repository, ACME)
        with pytest.raises(ConflictError) as caught:
            repository.commit(ACME, ChangeSet(creates=[_record("1003")], upload=_entry()), 1)
        assert (caught.value.tenant_id, caught.value.expected, caught.value.actual) == (ACME, 1, 2)
        assert _state(repository, ACME) == before

    def test_a_revision_from_the_future_conflicts(self, repository: Repository) -> None:
        """Only the current revision is accepted, not a later one."""
        with pytest.raises(ConflictError) as caught:
            repository.commit(ACME, ChangeSet(creates=[_record("1001")]), 5)
        assert (caught.value.expected, caught.value.actual) == (5, 0)
        assert repository.count(ACME) == 0

    def test_the_revision_is_checked_before_the_change_set(self, repository: Repository) -> None:
        """A stale writer learns of the conflict first: it must plan again anyway."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        with pytest.raises(ConflictError):
            repository.commit(ACME, ChangeSet(creates=[_record("1001")]), 0)

    # Tenant isolation

    def test_a_commit_touches_only_its_tenant(self, repository: Repository) -> None:
        """Records, revision and history written to one tenant are invisible to another."""
        _commit(repository, GLOBEX, ChangeSet(creates=[_record("g1")]))
        globex = _state(repository, GLOBEX)
        record = _record("1001", "ada@example.com")
        _commit(repository, ACME, ChangeSet(creates=[record], upload=_entry()))
        _commit(repository, ACME, ChangeSet(updates=[record]))
        assert _state(repository, GLOBEX) == globex
        assert repository.get(GLOBEX, "1001") is None
        assert repository.get_by_email(GLOBEX, "ada@example.com") is None
        assert repository.get(ACME, "g1") is None
        assert repository.revision(ACME) == 2

    def test_an_update_cannot_reach_another_tenants_record(self, repository: Repository) -> None:
        """An update naming a key stored only in another tenant is refused."""
        _commit(repository, GLOBEX, ChangeSet(creates=[_record("1001")]))
        update = _record("1001", **{_SOME_TEXT: "Oslo"})
        with pytest.raises(ChangeSetError):
            _commit(repository, ACME, ChangeSet(updates=[update]))
        assert repository.get(GLOBEX, "1001") == _record("1001")

    # Upload history

    def test_an_upload_entry_is_recorded_with_its_commit(self, repository: Repository) -> None:
        """The entry reads back equal, every field, in the same commit as its records."""
        entry = _entry(
            mode=UploadMode.PARTIAL,
            product=Product.MARKETING,
            counts={"created": 1, "unchanged": 0},
            at=dt.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        )
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], upload=entry))
        (read,) = repository.uploads(ACME)
        # A store sets the id (the revision the commit made) or leaves it unset.
        assert read.id in (None, 1)
        read = attrs.evolve(read, id=None, audited=True)
        assert read == entry
        assert attrs.asdict(read, recurse=False) == attrs.asdict(entry, recurse=False)
        assert read.at.utcoffset() == dt.timedelta(hours=2)

    def test_history_is_oldest_first(self, repository: Repository) -> None:
        """Entries come back in commit order; an upload that changes no record still counts."""
        entries = [_entry(file_digest=f"sha256:{n}", counts={"unchanged": n}) for n in range(3)]
        for entry in entries:
            _commit(repository, ACME, ChangeSet(upload=entry))
        stored = list(repository.uploads(ACME))
        assert [attrs.evolve(e, id=None, audited=True) for e in stored] == entries
        assert [e.id for e in stored] in ([None] * 3, [1, 2, 3])
        assert repository.revision(ACME) == 3

    def test_an_entry_for_another_tenant_is_refused(self, repository: Repository) -> None:
        """A change set cannot write history into a tenant other than the one committed to."""
        with pytest.raises(ChangeSetError) as caught:
            _commit(repository, ACME, ChangeSet(creates=[_record("1")], upload=_entry(GLOBEX)))
        assert _names(caught.value.problems, GLOBEX)
        assert _state(repository, ACME) == (0, 0, [], ())
        assert list(repository.uploads(GLOBEX)) == []


@runtime_checkable
class BatchRepository(Repository, BatchReader, StreamWriter, Protocol):
    """A repository with the optional batch reads and streamed commits."""


def _stream(
    updates: Sequence[Sequence[UserRecord]] = (),
    creates: Sequence[Sequence[UserRecord]] = (),
    upload: UploadEntry | None = None,
) -> ChangeStream:
    return ChangeStream(updates=updates, creates=creates, upload=upload)


def _commit_stream(repository: BatchRepository, tenant_id: str, stream: ChangeStream) -> int:
    """Commit a stream at the tenant's current revision."""
    return repository.commit_stream(tenant_id, stream, repository.revision(tenant_id))


def _by_key(records: Sequence[UserRecord]) -> dict[str, UserRecord]:
    return {r.legacy_contact_key: r for r in records}


def _walk(repository: BatchRepository, tenant_id: str, limit: int) -> list[UserRecord]:
    """Every record by pages of ``limit``, each page after the last key of the one before.

    Each page must hold keys past ``after`` only, so a store that repeats itself fails
    here instead of walking for ever.
    """
    walked: list[UserRecord] = []
    after: str | None = None
    while page := repository.page(tenant_id, after=after, limit=limit):
        assert len(page) <= limit
        keys = [r.legacy_contact_key for r in page]
        assert after is None or min(keys) > after, f"a page after {after!r} holds {keys}"
        walked.extend(page)
        after = page[-1].legacy_contact_key
    return walked


class _Switch:
    """A fault hook failing at ``step`` once armed, so that the store can be filled first."""

    def __init__(self, step: str) -> None:
        self.fail = fail_at(step)
        self.armed = False
        self.reached: list[str] = []

    def __call__(self, step: str) -> None:
        if self.armed:
            self.reached.append(step)
            self.fail(step)


#: Keys whose code-point order differs from the order they are created in, from the
#: order of their lower-case forms, from numeric order, and from the order of their
#: UTF-16 code units (the astral character sorts last by code point).
_UNORDERED_KEYS = ("b", "a", "B", "é", "Z", "10", "9", "ä", "\U0001d518", "\uff5a", "a b", "_")


class BatchRepositoryContract:
    """What every :class:`~provisioning.repository.BatchReader` and
    :class:`~provisioning.repository.StreamWriter` repository does, as pytest tests.

    Provide a ``repository`` fixture that returns a new, empty repository. Provide a
    ``faulty_repository`` fixture too when the store can be made to fail on purpose: a
    function that takes a fault hook and returns a new, empty repository calling it with
    each step of :data:`~provisioning.adapters.COMMIT_STEPS` during a commit (whatever
    it raises aborts the commit); without it the tests of a commit failing half-way are
    skipped.
    """

    @pytest.fixture
    def repository(self) -> BatchRepository:
        """Override: a new, empty repository for each test."""
        pytest.fail("a BatchRepositoryContract subclass must define a `repository` fixture")

    @pytest.fixture
    def faulty_repository(self) -> Callable[[FaultHook], BatchRepository]:
        """Override, when the store can fail on purpose: a new, empty repository calling
        the given hook at each commit step."""
        pytest.skip("the repository takes no fault hook (no `faulty_repository` fixture)")

    def test_implements_the_batch_protocols(self, repository: BatchRepository) -> None:
        """The repository has every method of BatchReader and StreamWriter."""
        assert isinstance(repository, BatchReader)
        assert isinstance(repository, StreamWriter)

    def test_a_new_tenant_has_nothing_to_read(self, repository: BatchRepository) -> None:
        """A tenant never committed to has no records in any batch read."""
        assert dict(repository.get_many(ACME, ["1001"])) == {}
        assert dict(repository.email_owners(ACME, ["user.1001@example.com"])) == {}
        assert list(repository.statuses(ACME)) == []
        assert list(repository.page(ACME)) == []

    # get_many

    def test_get_many_returns_the_stored_records_of_the_keys(
        self, repository: BatchRepository
    ) -> None:
        """Only stored keys of the tenant come back, each once; the others are left out."""
        acme = [_record("1001"), _full_record("1002"), _record("1003")]
        _commit(repository, ACME, ChangeSet(creates=acme))
        globex = [_record("1001", **{_SOME_TEXT: "Oslo"}), _record("2001")]
        _commit(repository, GLOBEX, ChangeSet(creates=globex))
        asked = ["1002", "2001", "9999", "1001", "1002", " 1001"]
        for keys in (asked, tuple(asked), set(asked), frozenset(asked)):
            found = repository.get_many(ACME, keys)
            assert isinstance(found, Mapping)
            assert dict(found) == {"1001": acme[0], "1002": acme[1]}
        assert dict(repository.get_many(GLOBEX, asked)) == _by_key(globex)
        assert dict(repository.get_many(ACME, [])) == {}

    def test_get_many_returns_every_field(self, repository: BatchRepository) -> None:
        """A record read by get_many is the record get reads, field by field."""
        record = _full_record()
        _commit(repository, ACME, ChangeSet(creates=[record]))
        read = repository.get_many(ACME, ["1001"])["1001"]
        assert attrs.asdict(read, recurse=False) == attrs.asdict(record, recurse=False)
        assert read == repository.get(ACME, "1001")

    def test_get_many_finds_keys_beyond_one_lookup_batch(self, repository: BatchRepository) -> None:
        """Thousands of keys asked at once: every stored one is found."""
        records = [_record(f"k{n:04}") for n in range(2500)]
        _commit(repository, ACME, ChangeSet(creates=records))
        asked = [f"k{n:04}" for n in range(0, 5000, 2)]
        found = repository.get_many(ACME, asked)
        assert dict(found) == _by_key(records[::2])

    @pytest.mark.parametrize("asked", ["1001", b"1001", 1001, None, {"1001": 1}])
    def test_batch_reads_refuse_what_is_no_collection_of_strings(
        self, repository: BatchRepository, asked: Any
    ) -> None:
        """One string alone (its characters are no keys) and a mapping are refused."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1")]))
        with pytest.raises(InvalidValueError):
            repository.get_many(ACME, asked)
        with pytest.raises(InvalidValueError):
            repository.email_owners(ACME, asked)

    def test_batch_reads_refuse_a_key_that_is_no_string(self, repository: BatchRepository) -> None:
        """Every key or email asked for is a string."""
        with pytest.raises(InvalidValueError):
            repository.get_many(ACME, ["1001", 1002])  # type: ignore[list-item]
        with pytest.raises(InvalidValueError):
            repository.email_owners(ACME, [None])  # type: ignore[list-item]

    # email_owners

    def test_email_owners_maps_lower_cased_emails_to_keys(
        self, repository: BatchRepository
    ) -> None:
        """Each stored email asked for, lower-cased, maps to its record's key."""
        creates = [
            _record("1001", "Ada.Lovelace@Example.com"),
            _record("1002", "grace@example.com"),
        ]
        _commit(repository, ACME, ChangeSet(creates=creates))
        _commit(repository, GLOBEX, ChangeSet(creates=[_record("2001", "alan@example.com")]))
        asked = [
            "ada.lovelace@example.com",
            "alan@example.com",
            "nobody@example.com",
            "grace@example.com",
            "ada.lovelace@example.com",
        ]
        assert dict(repository.email_owners(ACME, asked)) == {
            "ada.lovelace@example.com": "1001",
            "grace@example.com": "1002",
        }
        assert dict(repository.email_owners(GLOBEX, asked)) == {"alan@example.com": "2001"}

    def test_email_owners_follow_an_email_change(self, repository: BatchRepository) -> None:
        """After two records swap emails, each email names its new holder."""
        creates = [_record("1001", "ada@example.com"), _record("1002", "grace@example.com")]
        _commit(repository, ACME, ChangeSet(creates=creates))
        swapped = [_record("1001", "grace@example.com"), _record("1002", "ada@example.com")]
        _commit(repository, ACME, ChangeSet(updates=swapped))
        asked = {"ada@example.com", "grace@example.com"}
        owners = {"ada@example.com": "1002", "grace@example.com": "1001"}
        assert dict(repository.email_owners(ACME, asked)) == owners

    # statuses

    def test_statuses_stream_every_key_in_code_point_order(
        self, repository: BatchRepository
    ) -> None:
        """Key order is code-point order, whatever the order of creation; each status right."""
        statuses = list(RecordStatus)
        records = [
            _record(key, f"user{n}@example.com", status=statuses[n % len(statuses)])
            for n, key in enumerate(_UNORDERED_KEYS)
        ]
        _commit(repository, ACME, ChangeSet(creates=records[:5]))
        _commit(repository, ACME, ChangeSet(creates=records[5:]))
        _commit(repository, GLOBEX, ChangeSet(creates=[_record("c"), _record("0")]))
        streamed = repository.statuses(ACME)
        assert iter(streamed) is streamed
        expected = sorted((r.legacy_contact_key, r.status) for r in records)
        assert list(streamed) == expected
        for _, status in repository.statuses(ACME):
            assert type(status) is RecordStatus

    def test_statuses_follow_an_update(self, repository: BatchRepository) -> None:
        """A record deactivated by a commit reads back Deactivated."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1"), _record("2")]))
        off = _record("2", status=RecordStatus.DEACTIVATED)
        _commit(repository, ACME, ChangeSet(updates=[off]))
        assert list(repository.statuses(ACME)) == [
            ("1", RecordStatus.ENABLED),
            ("2", RecordStatus.DEACTIVATED),
        ]

    # page

    @pytest.mark.parametrize("limit", [1, 7, 1000, 100_000])
    def test_pages_walk_every_record_in_key_order_once(
        self, repository: BatchRepository, limit: int
    ) -> None:
        """Page after page, each after the last key of the one before: every record once."""
        records = [_record(f"k{n:03}") for n in reversed(range(120))]
        records += [_record(k, f"user{n}@example.com") for n, k in enumerate(_UNORDERED_KEYS)]
        _commit(repository, ACME, ChangeSet(creates=records))
        _commit(repository, GLOBEX, ChangeSet(creates=[_record("k050", "other@example.com")]))
        walked = _walk(repository, ACME, limit)
        keys = [r.legacy_contact_key for r in walked]
        assert keys == sorted(r.legacy_contact_key for r in records)
        assert walked == sorted(records, key=lambda r: r.legacy_contact_key)

    def test_a_page_starts_after_any_key_stored_or_not(self, repository: BatchRepository) -> None:
        """``after`` need not be a stored key; the last key gives an empty page."""
        _commit(repository, ACME, ChangeSet(creates=[_record(k) for k in ("b", "d", "f")]))
        page = repository.page(ACME, after="c", limit=10)
        assert isinstance(page, Sequence)
        assert [r.legacy_contact_key for r in page] == ["d", "f"]
        assert [r.legacy_contact_key for r in repository.page(ACME, after="", limit=2)] == [
            "b",
            "d",
        ]
        assert list(repository.page(ACME, after="f")) == []
        assert [r.legacy_contact_key for r in repository.page(ACME)] == ["b", "d", "f"]

    @pytest.mark.parametrize("limit", [0, -1, True, False, 100_001, 1.5, "10", None])
    def test_a_page_limit_out_of_range_is_refused(
        self, repository: BatchRepository, limit: Any
    ) -> None:
        """A limit is a whole number from 1 to 100,000 (not a bool)."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1")]))
        with pytest.raises(InvalidValueError):
            repository.page(ACME, limit=limit)

    def test_a_page_after_no_string_is_refused(self, repository: BatchRepository) -> None:
        """``after`` is a key or None."""
        with pytest.raises(InvalidValueError):
            repository.page(ACME, after=5)  # type: ignore[arg-type]

    # commit_stream

    def test_a_stream_commits_as_the_change_set_of_its_records(
        self, repository: BatchRepository
    ) -> None:
        """A stream in batches stores what one commit of all its records stores."""
        stored = [_record(f"s{n:02}") for n in range(20)]
        for tenant in (ACME, GLOBEX):
            _commit(repository, tenant, ChangeSet(creates=stored))
        updates = [
            # s00 and s01 swap emails across two batches; s05 gives its email to a create.
            [_record("s00", "user.s01@example.com"), _record("s02", **{_SOME_TEXT: "Oslo"})],
            [_record("s01", "user.s00@example.com"), _record("s03", status=RecordStatus.REJECTED)],
            [],
            [_record("s05", "moved@example.com", status=RecordStatus.DEACTIVATED)],
        ]
        creates = [
            [_record(f"n{n:02}") for n in range(4)],
            [_record("n04", "USER.s05@example.com"), _full_record("n05")],
        ]
        revision = _commit_stream(repository, ACME, _stream(updates, creates, _entry(ACME)))
        flat = ChangeSet(
            updates=[r for batch in updates for r in batch],
            creates=[r for batch in creates for r in batch],
            upload=_entry(GLOBEX),
        )
        assert revision == _commit(repository, GLOBEX, flat) == 2
        acme, globex = _state(repository, ACME), _state(repository, GLOBEX)
        assert acme[:3] == globex[:3]
        assert acme[3] == tuple(attrs.evolve(e, tenant_id=ACME) for e in globex[3])
        assert repository.get_by_email(ACME, "user.s05@example.com") == creates[1][0]
        assert repository.get_by_email(ACME, "user.s00@example.com") == updates[1][0]
        assert dict(repository.email_owners(ACME, ["moved@example.com"])) == {
            "moved@example.com": "s05"
        }

    def test_two_update_batches_may_swap_emails(self, repository: BatchRepository) -> None:
        """Uniqueness holds after the whole stream: records in two batches may swap emails."""
        creates = [_record("1001", "ada@example.com"), _record("1002", "grace@example.com")]
        _commit(repository, ACME, ChangeSet(creates=creates))
        first, second = _record("1001", "grace@example.com"), _record("1002", "ada@example.com")
        assert _commit_stream(repository, ACME, _stream(updates=[[first], [second]])) == 2
        assert repository.get_by_email(ACME, "grace@example.com") == first
        assert repository.get_by_email(ACME, "ada@example.com") == second

    def test_a_streamed_create_may_take_an_email_an_update_gives_up(
        self, repository: BatchRepository
    ) -> None:
        """An email freed by an update in one batch is free for a create in another."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001", "shared@example.com")]))
        moved, new = _record("1001", "ada@example.com"), _record("1002", "Shared@example.com")
        stream = _stream(updates=[[], [moved]], creates=[[_record("1003")], [new]])
        assert _commit_stream(repository, ACME, stream) == 2
        assert repository.get_by_email(ACME, "shared@example.com") == new
        assert repository.get_by_email(ACME, "ada@example.com") == moved

    def test_each_stream_commit_raises_the_revision_by_one(
        self, repository: BatchRepository
    ) -> None:
        """A stream commit returns the new revision, one more than before, even when empty."""
        assert repository.commit_stream(ACME, _stream(creates=[[_record("1")]]), 0) == 1
        assert repository.commit_stream(ACME, _stream(), 1) == 2
        assert repository.commit_stream(ACME, _stream(updates=[[_record("1")]]), 2) == 3
        assert repository.commit(ACME, ChangeSet(), 3) == 4
        assert repository.revision(ACME) == 4
        assert repository.revision(GLOBEX) == 0

    def test_batches_are_read_once_updates_first(self, repository: BatchRepository) -> None:
        """Batches made as they are asked for: every update batch before any create batch."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1"), _record("2")]))
        asked: list[str] = []

        def batches(name: str, records: list[UserRecord]) -> Iterator[list[UserRecord]]:
            for n, record in enumerate(records):
                asked.append(f"{name}{n}")
                yield [record]

        stream = ChangeStream(
            updates=batches("u", [_record("1", title="Dr"), _record("2", title="Dr")]),
            creates=batches("c", [_record("3"), _record("4")]),
        )
        assert _commit_stream(repository, ACME, stream) == 2
        assert asked == ["u0", "u1", "c0", "c1"]
        assert repository.count(ACME) == 4

    def test_a_stale_stream_conflicts_and_writes_nothing(self, repository: BatchRepository) -> None:
        """A stream planned against an old revision raises ConflictError; nothing changes."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        _commit(repository, ACME, ChangeSet(creates=[_record("1002")]))
        before = _state(repository, ACME)
        stream = _stream([[_record("1001", title="Dr")]], [[_record("1003")]], _entry(ACME))
        for stale in (1, 3):
            with pytest.raises(ConflictError) as caught:
                repository.commit_stream(ACME, stream, stale)
            assert (caught.value.tenant_id, caught.value.expected, caught.value.actual) == (
                ACME,
                stale,
                2,
            )
            assert _state(repository, ACME) == before

    @pytest.mark.parametrize(
        "stream",
        [
            # A key repeated across two create batches.
            _stream(creates=[[_record("n1")], [_record("n2"), _record("n1", "x@example.com")]]),
            # A key created and updated in one stream (the update's key is not stored).
            _stream(updates=[[_record("n1")]], creates=[[_record("n1", "x@example.com")]]),
            # An email repeated across two create batches, in another case.
            _stream(creates=[[_record("n1", "x@example.com")], [_record("n2", "X@example.com")]]),
            # A create taking the email of a stored record that keeps it.
            _stream(creates=[[_record("n1")], [_record("n2", "USER.s1@example.com")]]),
            # An update taking the email of a stored record that keeps it.
            _stream(updates=[[_record("s2", "user.s1@example.com")]]),
            # A create with a stored key, after good batches.
            _stream(
                updates=[[_record("s1", title="Dr")]], creates=[[_record("n1")], [_record("s2")]]
            ),
            # An update of a key no record has, after a good batch.
            _stream(updates=[[_record("s1", title="Dr")], [_record("n9")]]),
        ],
        ids=[
            "repeated-key",
            "create-then-update",
            "repeated-email",
            "create-takes-email",
            "update-takes-email",
            "create-stored-key",
            "update-missing-key",
        ],
    )
    def test_a_stream_that_does_not_fit_writes_nothing(
        self, repository: BatchRepository, stream: ChangeStream
    ) -> None:
        """ChangeSetError for the tenant, and the store exactly as it was."""
        _commit(repository, ACME, ChangeSet(creates=[_record("s1"), _record("s2")]))
        before = _state(repository, ACME)
        stream = attrs.evolve(stream, upload=_entry(ACME))
        with pytest.raises(ChangeSetError) as caught:
            _commit_stream(repository, ACME, stream)
        assert caught.value.tenant_id == ACME
        assert _state(repository, ACME) == before

    def test_a_key_updated_twice_in_a_stream_is_refused(self, repository: BatchRepository) -> None:
        """Two updates of one key, in one batch or in two, are refused whole: no last write
        wins."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        first = attrs.evolve(_record("1001"), title="First")
        second = attrs.evolve(_record("1001"), title="Second")
        for updates in ([[first, second]], [[first], [second]]):
            with pytest.raises(ChangeSetError):
                repository.commit_stream(ACME, ChangeStream(updates=updates), 1)
            assert repository.revision(ACME) == 1
            assert repository.get(ACME, "1001") == _record("1001")

    def test_an_update_of_a_missing_key_is_refused(self, repository: BatchRepository) -> None:
        """An update must name a stored record: the error names the key; nothing is written."""
        with pytest.raises(ChangeSetError) as caught:
            _commit_stream(repository, ACME, _stream(updates=[[_record("1001")]]))
        assert _names(caught.value.problems, "1001")
        assert _state(repository, ACME) == (0, 0, [], ())

    def test_an_upload_entry_for_another_tenant_is_refused(
        self, repository: BatchRepository
    ) -> None:
        """A stream cannot write history into another tenant: ChangeSetError naming it."""
        with pytest.raises(ChangeSetError) as caught:
            _commit_stream(
                repository, ACME, _stream(creates=[[_record("1")]], upload=_entry(GLOBEX))
            )
        assert _names(caught.value.problems, GLOBEX)
        assert _state(repository, ACME) == (0, 0, [], ())
        assert list(repository.uploads(GLOBEX)) == []

    @pytest.mark.parametrize("where", ["update", "create"])
    def test_a_batch_holding_no_record_is_refused(
        self, repository: BatchRepository, where: str
    ) -> None:
        """InvalidValueError for a batch holding something else, even after good batches."""
        _commit(repository, ACME, ChangeSet(creates=[_record("s1")]))
        before = _state(repository, ACME)
        bad: list[Any] = [_record("n2"), "not a record"]
        good = [[_record("n1")]]
        if where == "update":
            stream = ChangeStream(updates=[[_record("s1", title="Dr")], bad], creates=good)
        else:
            stream = ChangeStream(updates=[[_record("s1", title="Dr")]], creates=[*good, bad])
        with pytest.raises(InvalidValueError):
            _commit_stream(repository, ACME, stream)
        assert _state(repository, ACME) == before

    @pytest.mark.parametrize("step", COMMIT_STEPS)
    def test_a_fault_at_any_step_leaves_nothing(
        self, faulty_repository: Callable[[FaultHook], BatchRepository], step: str
    ) -> None:
        """A stream commit failing at each step changes nothing; the same stream lands after."""
        switch = _Switch(step)
        repository = faulty_repository(switch)
        _commit(repository, ACME, ChangeSet(creates=[_record(f"s{n}") for n in range(4)]))
        before = _state(repository, ACME)
        updates = [
            [_record("s0", "moved@example.com")],
            [_record("s1", status=RecordStatus.DEACTIVATED)],
        ]
        creates = [[_record("n0", "user.s0@example.com")], [_record("n1")]]
        switch.armed = True
        with pytest.raises(RepositoryError) as caught:
            repository.commit_stream(ACME, _stream(updates, creates, _entry(ACME)), 1)
        assert str(caught.value) == f"injected fault at commit step {step!r}"
        assert switch.reached == list(COMMIT_STEPS[: COMMIT_STEPS.index(step) + 1])
        assert _state(repository, ACME) == before
        assert dict(repository.email_owners(ACME, ["moved@example.com"])) == {}
        assert list(repository.statuses(ACME)) == [
            (f"s{n}", RecordStatus.ENABLED) for n in range(4)
        ]
        switch.armed = False
        assert repository.commit_stream(ACME, _stream(updates, creates, _entry(ACME)), 1) == 2
        assert repository.count(ACME) == 6


@runtime_checkable
class AuditRepository(Repository, AuditLog, Protocol):
    """A repository that keeps an audit trail."""


#: A commit's events, a minute apart from this time on.
_EVENT_AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _event(
    key: str | None = "1001",
    *,
    tenant_id: str = ACME,
    kind: AuditKind | str = AuditKind.UPDATED,
    at: dt.datetime = _EVENT_AT,
    **fields: Any,
) -> AuditEvent:
    """An event by the Super Admin ``sa-1`` through an upload, unless told otherwise."""
    values: dict[str, Any] = {
        "actor_id": "sa-1",
        "role": Role.SUPER_ADMIN,
        "channel": Channel.UPLOAD,
        "rules": ("UPLOAD_SUPER_ADMIN_ONLY",),
    }
    values.update(fields)
    return AuditEvent(at=at, tenant_id=tenant_id, key=key, kind=kind, **values)


def _minutes(n: int) -> dt.datetime:
    return _EVENT_AT + dt.timedelta(minutes=n)


def _stamped(
    events: Sequence[AuditEvent], revision: int, upload_id: int | None
) -> list[AuditEvent]:
    """``events`` as a store keeps them after the commit that made ``revision``."""
    return [attrs.evolve(e, revision=revision, upload_id=upload_id) for e in events]


def _trail(repository: AuditRepository, tenant_id: str = ACME) -> list[AuditEvent]:
    return list(repository.events(tenant_id))


def _audit_state(repository: AuditRepository, tenant_id: str = ACME) -> tuple[Any, ...]:
    """Every read of the tenant, its audit trail included."""
    return (*_state(repository, tenant_id), _trail(repository, tenant_id))


def _plain_changes(event: AuditEvent) -> dict[str, tuple[str, str, str, str]]:
    """The changes by field, each value as JSON text: equal only when equal and of one type
    (``True`` is no ``1``, a date's text no date)."""
    return {
        c.field: (type(c.old).__name__, _json(c.old), type(c.new).__name__, _json(c.new))
        for c in event.changes
    }


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class AuditLogContract:
    """What every :class:`~provisioning.repository.AuditLog` repository does, as pytest tests.

    Provide a ``repository`` fixture that returns a new, empty repository keeping an audit
    trail. Provide a ``faulty_repository`` fixture too when the store can be made to fail
    on purpose (as for :class:`BatchRepositoryContract`); without it the tests of a commit
    failing half-way are skipped. The tests of streamed commits run when the repository
    is also a :class:`~provisioning.repository.StreamWriter`. Both reference adapters pass.
    """

    @pytest.fixture
    def repository(self) -> AuditRepository:
        """Override: a new, empty repository for each test."""
        pytest.fail("an AuditLogContract subclass must define a `repository` fixture")

    @pytest.fixture
    def faulty_repository(self) -> Callable[[FaultHook], AuditRepository]:
        """Override, when the store can fail on purpose: a new, empty repository calling
        the given hook at each commit step."""
        pytest.skip("the repository takes no fault hook (no `faulty_repository` fixture)")

    def _streaming(self, repository: AuditRepository) -> StreamWriter:
        if not isinstance(repository, StreamWriter):
            pytest.skip("the repository has no commit_stream (no StreamWriter)")
        return repository

    # The interface and a new tenant

    def test_implements_the_audit_log_protocol(self, repository: AuditRepository) -> None:
        """The repository has every method of Repository and AuditLog."""
        assert isinstance(repository, Repository)
        assert isinstance(repository, AuditLog)

    def test_a_new_tenant_has_no_events(self, repository: AuditRepository) -> None:
        """A tenant never committed to has an empty trail, whatever is asked."""
        events = repository.events(ACME)
        assert iter(events) is events
        assert list(events) == []
        assert list(repository.events(ACME, key="1001", upload_id=1, since=_AT, until=_AT)) == []
        assert list(repository.events(ACME, after_revision=0)) == []

    # A commit's events

    def test_a_commits_events_carry_its_revision_and_no_upload(
        self, repository: AuditRepository
    ) -> None:
        """Without an upload entry: revision = the commit's revision, upload_id None,
        whatever the events said; every other value as given, in the order given."""
        _commit(repository, ACME, ChangeSet(creates=[_record("0")]))
        events = [
            _event("1002", kind=AuditKind.CREATED, channel=Channel.ADMIN, role=Role.SITE_ADMIN),
            _event("1001", kind="created", revision=7, upload_id=7),
            _event(None, kind=AuditKind.APPROVED, rules=()),
        ]
        change_set = ChangeSet(creates=[_record("1001"), _record("1002")], events=events)
        assert _commit(repository, ACME, change_set) == 2
        assert _trail(repository) == _stamped(events, 2, None)
        for read in _trail(repository):
            assert (read.revision, read.upload_id) == (2, None)

    def test_an_uploads_events_carry_its_id(self, repository: AuditRepository) -> None:
        """With an upload entry: upload_id = revision = the commit's revision, which is the
        id the history gives the upload (audited)."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        events = [
            _event("1002", kind=AuditKind.CREATED),
            _event("1001", changes=[FieldChange(_SOME_TEXT, None, "Oslo")]),
        ]
        change_set = ChangeSet(
            creates=[_record("1002")],
            updates=[_record("1001", **{_SOME_TEXT: "Oslo"})],
            upload=_entry(),
            events=events,
        )
        assert _commit(repository, ACME, change_set) == 2
        assert _trail(repository) == _stamped(events, 2, 2)
        (entry,) = repository.uploads(ACME)
        assert (entry.id, entry.audited) == (2, True)

    def test_a_commit_without_events_adds_none(self, repository: AuditRepository) -> None:
        """Events are what the change set carries: a commit of none writes none."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], upload=_entry()))
        assert _trail(repository) == []

    def test_events_come_oldest_first(self, repository: AuditRepository) -> None:
        """Commit after commit, each commit's events in the order it gave them."""
        expected: list[AuditEvent] = []
        for n in range(4):
            events = [_event(f"k{n}-{m}", at=_minutes(10 * n + m)) for m in (2, 0, 1)]
            upload = _entry() if n % 2 else None
            revision = _commit(repository, ACME, ChangeSet(upload=upload, events=events))
            expected += _stamped(events, revision, revision if upload else None)
        assert _trail(repository) == expected

    def test_many_events_stream_back(self, repository: AuditRepository) -> None:
        """Thousands of events in one commit: every one, in order, by an iterator."""
        events = [_event(f"k{n:05}", at=_minutes(n % 60)) for n in range(2500)]
        _commit(repository, ACME, ChangeSet(events=events))
        read = repository.events(ACME)
        assert iter(read) is read
        assert [e.key for e in read] == [e.key for e in events]

    # Queries

    def test_events_of_one_record(self, repository: AuditRepository) -> None:
        """``key`` gives that record's events only, across commits, oldest first."""
        first = [_event("1001", kind="created"), _event("1002", kind="created")]
        second = [_event("1002"), _event(None, kind="approved"), _event("1001", kind="verified")]
        _commit(repository, ACME, ChangeSet(events=first))
        _commit(repository, ACME, ChangeSet(upload=_entry(), events=second))
        assert list(repository.events(ACME, key="1001")) == [
            *_stamped(first[:1], 1, None),
            *_stamped(second[2:], 2, 2),
        ]
        assert list(repository.events(ACME, key="1002")) == [
            *_stamped(first[1:], 1, None),
            *_stamped(second[:1], 2, 2),
        ]
        assert list(repository.events(ACME, key="9999")) == []

    def test_events_of_one_product(self, repository: AuditRepository) -> None:
        """``product`` gives that product's events only: a Community user and a Marketing
        contact sharing a key keep apart trails; with ``key`` too, one of them."""
        community = [_event("M-1", kind="created"), _event("1002")]
        marketing = [
            _event("M-1", kind="created", product=Product.MARKETING),
            _event("ada@example.com", product=Product.MARKETING),
        ]
        _commit(repository, ACME, ChangeSet(events=[community[0], *marketing[:1]]))
        _commit(repository, ACME, ChangeSet(events=[marketing[1], community[1]]))
        assert list(repository.events(ACME, product=Product.COMMUNITY)) == [
            *_stamped(community[:1], 1, None),
            *_stamped(community[1:], 2, None),
        ]
        assert list(repository.events(ACME, product="marketing")) == [
            *_stamped(marketing[:1], 1, None),
            *_stamped(marketing[1:], 2, None),
        ]
        assert list(repository.events(ACME, key="M-1", product="marketing")) == _stamped(
            marketing[:1], 1, None
        )
        assert list(repository.events(ACME, key="M-1", product="community")) == _stamped(
            community[:1], 1, None
        )
        assert [e.key for e in repository.events(ACME, key="M-1")] == ["M-1", "M-1"]
        assert list(repository.events(ACME, after_revision=1, product="marketing")) == (
            _stamped(marketing[1:], 2, None)
        )

    def test_events_of_one_upload(self, repository: AuditRepository) -> None:
        """``upload_id`` gives the events of the commit that recorded that upload."""
        uploads: dict[int, list[AuditEvent]] = {}
        for n in range(3):
            events = [_event(f"k{n}-{m}", at=_minutes(n)) for m in range(3)]
            upload = None if n == 1 else _entry()
            revision = _commit(repository, ACME, ChangeSet(upload=upload, events=events))
            uploads[revision] = _stamped(events, revision, revision if upload else None)
        assert list(repository.events(ACME, upload_id=1)) == uploads[1]
        assert list(repository.events(ACME, upload_id=3)) == uploads[3]
        assert list(repository.events(ACME, upload_id=2)) == []  # no upload: no upload id
        assert list(repository.events(ACME, upload_id=0)) == []
        assert list(repository.events(ACME, upload_id=4)) == []

    def test_events_of_a_time_range(self, repository: AuditRepository) -> None:
        """``since`` included, ``until`` excluded, each alone or both."""
        events = [_event(f"k{n}", at=_minutes(n)) for n in range(6)]
        _commit(repository, ACME, ChangeSet(events=events[:3]))
        _commit(repository, ACME, ChangeSet(events=events[3:]))

        def keys(
            since: dt.datetime | None = None, until: dt.datetime | None = None
        ) -> list[str | None]:
            return [e.key for e in repository.events(ACME, since=since, until=until)]

        assert keys(since=_minutes(2)) == ["k2", "k3", "k4", "k5"]
        assert keys(until=_minutes(2)) == ["k0", "k1"]
        assert keys(since=_minutes(1), until=_minutes(4)) == ["k1", "k2", "k3"]
        assert keys(since=_minutes(3), until=_minutes(3)) == []
        assert keys(since=_minutes(4), until=_minutes(1)) == []
        assert keys(since=_minutes(6)) == []
        assert keys(until=_minutes(0)) == []
        assert keys(since=_minutes(-60), until=_minutes(60)) == [f"k{n}" for n in range(6)]

    def test_time_bounds_compare_instants_across_time_zones(
        self, repository: AuditRepository
    ) -> None:
        """Aware times in other zones, and events written in other zones, compare as the
        instants they are; a microsecond apart is apart."""
        india = dt.timezone(dt.timedelta(hours=5, minutes=30))
        pacific = dt.timezone(dt.timedelta(hours=-8))
        tick = dt.timedelta(microseconds=1)
        events = [
            _event("utc", at=_minutes(0)),
            _event("india", at=_minutes(1).astimezone(india)),
            _event("pacific", at=_minutes(2).astimezone(pacific)),
            _event("later", at=(_minutes(2) + tick).astimezone(india)),
        ]
        _commit(repository, ACME, ChangeSet(events=events))

        def keys(since: dt.datetime | None, until: dt.datetime | None) -> list[str | None]:
            return [e.key for e in repository.events(ACME, since=since, until=until)]

        assert keys(_minutes(1).astimezone(pacific), None) == ["india", "pacific", "later"]
        assert keys(None, _minutes(2).astimezone(india)) == ["utc", "india"]
        assert keys(_minutes(2).astimezone(india), (_minutes(2) + tick).astimezone(pacific)) == [
            "pacific"
        ]
        assert keys((_minutes(2) + tick).astimezone(pacific), None) == ["later"]
        assert keys(None, _minutes(0) + tick) == ["utc"]
        for read, given in zip(_trail(repository), events, strict=True):
            assert read.at == given.at
            assert read.at.utcoffset() is not None

    def test_filters_combine(self, repository: AuditRepository) -> None:
        """Key, upload and time together: the events that meet every condition."""
        first = [_event("1001", at=_minutes(0)), _event("1002", at=_minutes(1))]
        second = [_event("1001", at=_minutes(2)), _event("1001", at=_minutes(3))]
        _commit(repository, ACME, ChangeSet(upload=_entry(), events=first))
        _commit(repository, ACME, ChangeSet(upload=_entry(), events=second))
        found = repository.events(ACME, key="1001", upload_id=2, since=_minutes(3))
        assert list(found) == _stamped(second[1:], 2, 2)
        assert list(repository.events(ACME, key="1002", upload_id=2)) == []
        assert list(repository.events(ACME, key="1001", until=_minutes(2))) == _stamped(
            first[:1], 1, 1
        )

    def test_events_after_a_revision(self, repository: AuditRepository) -> None:
        """``after_revision`` gives the events of later commits (and refusals recorded
        since), whatever their clocks say: a later commit stamped earlier is still later."""
        first = [_event("1001", at=_minutes(10))]
        second = [_event("1001", at=_minutes(0)), _event("1002", at=_minutes(1))]
        _commit(repository, ACME, ChangeSet(upload=_entry(), events=first))
        refused = _event("1001", kind=AuditKind.REFUSED, at=_minutes(11))
        repository.record_refusal(ACME, refused)
        _commit(repository, ACME, ChangeSet(events=second))
        repository.record_refusal(ACME, refused)
        after_first = [*_stamped(second, 2, None), *_stamped([refused], 2, None)]
        assert list(repository.events(ACME, after_revision=1)) == after_first
        assert list(repository.events(ACME, after_revision=0)) == [
            *_stamped(first, 1, 1),
            *_stamped([refused], 1, None),
            *after_first,
        ]
        assert list(repository.events(ACME, after_revision=2)) == []
        assert list(repository.events(ACME, after_revision=1, key="1002")) == _stamped(
            second[1:], 2, None
        )
        assert list(repository.events(ACME, after_revision=1, since=_minutes(5))) == (
            _stamped([refused], 2, None)
        )

    @pytest.mark.parametrize(
        "query",
        [
            {"since": dt.datetime(2026, 3, 1)},  # noqa: DTZ001 - naive on purpose
            {"until": dt.datetime(2026, 3, 1)},  # noqa: DTZ001
            {"since": dt.date(2026, 3, 1)},
            {"until": "2026-03-01T00:00:00+00:00"},
            {"upload_id": -1},
            {"upload_id": "1"},
            {"upload_id": True},
            {"key": 1001},
            {"after_revision": -1},
            {"after_revision": True},
            {"after_revision": "1"},
            {"product": "sales"},
            {"product": 1},
        ],
        ids=repr,
    )
    def test_a_bad_query_is_refused(
        self, repository: AuditRepository, query: dict[str, Any]
    ) -> None:
        """A naive or non-datetime bound, an upload id or revision that is no whole number
        from 0, a key that is no string, no product's name: InvalidValueError."""
        _commit(repository, ACME, ChangeSet(events=[_event()]))
        with pytest.raises(InvalidValueError):
            list(repository.events(ACME, **query))

    # Tenants

    def test_a_tenants_events_stay_in_it(self, repository: AuditRepository) -> None:
        """Events of one tenant are never read from another, by any query."""
        acme = [_event("1001"), _event("1002", kind="created")]
        globex = [_event("1001", tenant_id=GLOBEX, at=_minutes(1))]
        _commit(repository, ACME, ChangeSet(upload=_entry(), events=acme))
        _commit(repository, GLOBEX, ChangeSet(upload=_entry(GLOBEX), events=globex))
        _commit(repository, GLOBEX, ChangeSet(events=globex))
        assert _trail(repository) == _stamped(acme, 1, 1)
        assert _trail(repository, GLOBEX) == [*_stamped(globex, 1, 1), *_stamped(globex, 2, None)]
        assert [e.tenant_id for e in repository.events(GLOBEX, key="1001")] == [GLOBEX] * 2
        assert list(repository.events(GLOBEX, key="1002")) == []
        assert list(repository.events(ACME, upload_id=1, key="1001")) == _stamped(acme[:1], 1, 1)
        assert _trail(repository, "initech") == []

    def test_an_event_for_another_tenant_is_refused(self, repository: AuditRepository) -> None:
        """ChangeSetError naming the other tenant; no record, upload or event written in
        either tenant."""
        _commit(repository, ACME, ChangeSet(creates=[_record("0")], events=[_event("0")]))
        before, globex = _audit_state(repository), _audit_state(repository, GLOBEX)
        change_set = ChangeSet(
            creates=[_record("1001")],
            upload=_entry(),
            events=[_event("1001", kind="created"), _event("1001", tenant_id=GLOBEX)],
        )
        with pytest.raises(ChangeSetError) as caught:
            _commit(repository, ACME, change_set)
        assert caught.value.tenant_id == ACME
        assert _names(caught.value.problems, GLOBEX)
        assert _audit_state(repository) == before
        assert _audit_state(repository, GLOBEX) == globex

    # Refused attempts

    def test_a_refusal_is_appended_at_the_current_revision(
        self, repository: AuditRepository
    ) -> None:
        """record_refusal: the event at the tenant's revision, no upload, the revision and
        records as they were; the next commit still expects the same revision."""
        refused = _event(None, kind=AuditKind.REFUSED, role=Role.MEMBER, rules=("REVERT_UPLOAD",))
        repository.record_refusal(ACME, refused)
        assert _trail(repository) == _stamped([refused], 0, None)
        assert repository.revision(ACME) == 0
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], upload=_entry()))
        before = _state(repository, ACME)
        late = attrs.evolve(refused, key="1001", at=_minutes(5), upload_id=1, revision=9)
        repository.record_refusal(ACME, late)
        assert _state(repository, ACME) == before
        assert _trail(repository) == [*_stamped([refused], 0, None), *_stamped([late], 1, None)]
        assert list(repository.events(ACME, upload_id=1)) == []
        assert list(repository.events(ACME, key="1001")) == _stamped([late], 1, None)
        assert repository.commit(ACME, ChangeSet(creates=[_record("1002")]), 1) == 2

    @pytest.mark.parametrize(
        "event",
        [
            _event(kind=AuditKind.UPDATED),
            _event(kind=AuditKind.CREATED),
            _event(None, kind=AuditKind.REFUSED, tenant_id=GLOBEX),
            "refused",
        ],
        ids=["updated", "created", "another-tenant", "no-event"],
    )
    def test_a_refusal_must_be_a_refused_event_of_the_tenant(
        self, repository: AuditRepository, event: Any
    ) -> None:
        """Any other kind, another tenant's event, or no event: InvalidValueError, nothing
        written in either tenant."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], events=[_event()]))
        before, globex = _audit_state(repository), _audit_state(repository, GLOBEX)
        with pytest.raises(InvalidValueError):
            repository.record_refusal(ACME, event)
        assert _audit_state(repository) == before
        assert _audit_state(repository, GLOBEX) == globex

    # Nothing half-written

    def test_a_stale_revision_leaves_no_event(self, repository: AuditRepository) -> None:
        """A commit planned against an old revision: ConflictError, its events not written."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], events=[_event()]))
        _commit(repository, ACME, ChangeSet(events=[_event("1002")]))
        before = _audit_state(repository)
        change_set = ChangeSet(
            creates=[_record("1003")], upload=_entry(), events=[_event("1003", kind="created")]
        )
        for stale in (0, 1, 3):
            with pytest.raises(ConflictError):
                repository.commit(ACME, change_set, stale)
            assert _audit_state(repository) == before

    def test_a_change_set_that_does_not_fit_leaves_no_event(
        self, repository: AuditRepository
    ) -> None:
        """A ChangeSetError (a stored key created again) writes none of the events."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], events=[_event()]))
        before = _audit_state(repository)
        change_set = ChangeSet(
            creates=[_record("1002"), _record("1001", "other@example.com")],
            upload=_entry(),
            events=[_event("1002", kind="created"), _event("1001", kind="created")],
        )
        with pytest.raises(ChangeSetError):
            _commit(repository, ACME, change_set)
        assert _audit_state(repository) == before

    @pytest.mark.parametrize("step", COMMIT_STEPS)
    def test_a_fault_at_any_step_leaves_no_event_and_no_record(
        self, faulty_repository: Callable[[FaultHook], AuditRepository], step: str
    ) -> None:
        """A commit failing at each step writes no event, no record, no upload; the same
        commit lands after, events and all."""
        switch = _Switch(step)
        repository = faulty_repository(switch)
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], events=[_event()]))
        before = _audit_state(repository)
        events = [_event("1002", kind="created"), _event("1001", kind="deactivated")]
        change_set = ChangeSet(
            creates=[_record("1002")],
            updates=[_record("1001", status=RecordStatus.DEACTIVATED)],
            upload=_entry(),
            events=events,
        )
        switch.armed = True
        with pytest.raises(RepositoryError):
            repository.commit(ACME, change_set, 1)
        assert switch.reached == list(COMMIT_STEPS[: COMMIT_STEPS.index(step) + 1])
        assert _audit_state(repository) == before
        assert list(repository.events(ACME, upload_id=2)) == []
        switch.armed = False
        assert repository.commit(ACME, change_set, 1) == 2
        assert _trail(repository) == [*before[-1], *_stamped(events, 2, 2)]

    # Streamed commits

    def test_a_streams_event_batches_are_written(self, repository: AuditRepository) -> None:
        """commit_stream writes every batch of events, stamped as a commit's are."""
        writer = self._streaming(repository)
        _commit(repository, ACME, ChangeSet(creates=[_record("s1")]))
        batches = [
            [_event("s1", changes=[FieldChange(_SOME_TEXT, None, "Oslo")])],
            [],
            [_event(f"n{n}", kind="created", at=_minutes(n)) for n in range(3)],
        ]
        stream = ChangeStream(
            updates=[[_record("s1", **{_SOME_TEXT: "Oslo"})]],
            creates=[[_record(f"n{n}") for n in range(3)]],
            upload=_entry(),
            events=batches,
        )
        assert writer.commit_stream(ACME, stream, 1) == 2
        assert _trail(repository) == _stamped([e for b in batches for e in b], 2, 2)
        plain = ChangeStream(events=(b for b in batches[2:]))
        assert writer.commit_stream(ACME, plain, 2) == 3
        assert list(repository.events(ACME, since=_minutes(1))) == [
            *_stamped(batches[2][1:], 2, 2),
            *_stamped(batches[2][1:], 3, None),
        ]

    def test_a_stream_event_for_another_tenant_writes_nothing(
        self, repository: AuditRepository
    ) -> None:
        """An event of another tenant in any batch: ChangeSetError, nothing written."""
        writer = self._streaming(repository)
        _commit(repository, ACME, ChangeSet(creates=[_record("s1")], events=[_event("s1")]))
        before = _audit_state(repository)
        stream = ChangeStream(
            creates=[[_record("n1")]],
            upload=_entry(),
            events=[[_event("n1", kind="created")], [_event("n1", tenant_id=GLOBEX)]],
        )
        with pytest.raises(ChangeSetError):
            writer.commit_stream(ACME, stream, 1)
        assert _audit_state(repository) == before
        assert _trail(repository, GLOBEX) == []

    def test_a_stale_stream_leaves_no_event(self, repository: AuditRepository) -> None:
        """A stream planned against an old revision: ConflictError, no event written."""
        writer = self._streaming(repository)
        _commit(repository, ACME, ChangeSet(events=[_event()]))
        before = _audit_state(repository)
        stream = ChangeStream(creates=[[_record("n1")]], events=[[_event("n1")]])
        with pytest.raises(ConflictError):
            writer.commit_stream(ACME, stream, 0)
        assert _audit_state(repository) == before

    @pytest.mark.parametrize("step", COMMIT_STEPS)
    def test_a_stream_fault_at_any_step_leaves_no_event(
        self, faulty_repository: Callable[[FaultHook], AuditRepository], step: str
    ) -> None:
        """A stream commit failing at each step writes no event and no record."""
        switch = _Switch(step)
        repository = faulty_repository(switch)
        writer = self._streaming(repository)
        _commit(repository, ACME, ChangeSet(creates=[_record("s1")], events=[_event("s1")]))
        before = _audit_state(repository)
        events = [[_event("n1", kind="created")], [_event("s1", kind="deactivated")]]
        stream = ChangeStream(
            updates=[[_record("s1", status=RecordStatus.DEACTIVATED)]],
            creates=[[_record("n1")]],
            upload=_entry(),
            events=events,
        )
        switch.armed = True
        with pytest.raises(RepositoryError):
            writer.commit_stream(ACME, stream, 1)
        assert _audit_state(repository) == before
        switch.armed = False
        assert writer.commit_stream(ACME, stream, 1) == 2
        assert _trail(repository)[1:] == _stamped([e for b in events for e in b], 2, 2)

    # Round trips

    def test_every_kind_channel_and_role_round_trips(self, repository: AuditRepository) -> None:
        """Each kind, channel and role reads back as itself; rules in order; no key kept."""
        events = [
            _event(
                None if n % 4 == 0 else f"k{n}",
                kind=kind,
                channel=list(Channel)[n % len(Channel)],
                role=None if n == 1 else list(Role)[n % len(Role)],
                rules=("B_RULE", "A_RULE")[: n % 3],
                at=_minutes(n),
            )
            for n, kind in enumerate(AuditKind)
        ]
        _commit(repository, ACME, ChangeSet(events=events))
        read = _trail(repository)
        assert read == _stamped(events, 1, None)
        for got, given in zip(read, events, strict=True):
            assert (got.kind, got.channel, got.role) == (given.kind, given.channel, given.role)
            assert got.rules == given.rules

    def test_changes_round_trip_value_for_value(self, repository: AuditRepository) -> None:
        """The changes of a record with every field set, from one with none and back:
        dates as ISO text, custom fields as a dict, None, True and False, awkward text,
        each the same value of the same JSON type."""
        bare, full = _record("1001"), _full_record("1001")
        flagged: dict[str, Any] = dict.fromkeys(_FLAGS, True)
        events = [
            _event("1001", changes=changes_between(bare, full)),
            _event("1001", changes=changes_between(full, attrs.evolve(bare, **flagged))),
            _event("1001", changes=[FieldChange("custom", {"a": "", "b": "0"}, None)]),
        ]
        assert len(events[0].changes) > 10
        _commit(repository, ACME, ChangeSet(events=events))
        read = _trail(repository)
        assert len(read) == len(events)
        for got, given in zip(read, events, strict=True):
            assert _plain_changes(got) == _plain_changes(given)
            assert {c.field for c in got.changes} == {c.field for c in given.changes}
            assert len(got.changes) == len(given.changes)

    def test_changes_keep_their_order(self, repository: AuditRepository) -> None:
        """The changes read back in the order written (changes_between's: field order)."""
        bare, full = _record("1001"), _full_record("1001")
        event = _event("1001", changes=changes_between(bare, full))
        reordered = _event("1002", changes=tuple(reversed(event.changes)))
        _commit(repository, ACME, ChangeSet(events=[event, reordered]))
        read = _trail(repository)
        assert [c.field for c in read[0].changes] == [c.field for c in event.changes]
        assert [c.field for c in read[1].changes] == [c.field for c in reordered.changes]
        assert read == _stamped([event, reordered], 1, None)

    # Deleting personal data: earlier events keep their shape, not their values

    def _personal_trail(self, repository: AuditRepository, tenant_id: str = ACME) -> None:
        """Record 1001 created then edited, and 1002 created, in ``tenant_id``."""
        first = _record("1001", **{_NAME: "Byron"})
        _commit(
            repository,
            tenant_id,
            ChangeSet(
                creates=[first, _record("1002")],
                events=[
                    _event("1001", tenant_id=tenant_id, kind="created"),
                    _event("1002", tenant_id=tenant_id, kind="created"),
                ],
            ),
        )
        king: dict[str, Any] = {_NAME: "King", "status": RecordStatus.DEACTIVATED}
        second = attrs.evolve(first, **king)
        _commit(
            repository,
            tenant_id,
            ChangeSet(
                updates=[second],
                events=[
                    _event("1001", tenant_id=tenant_id, changes=changes_between(first, second))
                ],
            ),
        )

    def test_a_redacting_commit_replaces_the_records_earlier_values(
        self, repository: AuditRepository
    ) -> None:
        """A commit that redacts 1001 replaces the personal values of its earlier events
        (the key and the status stay, the events stay); its own events, other records' and
        other tenants' are kept as written."""
        self._personal_trail(repository, ACME)
        self._personal_trail(repository, GLOBEX)
        before, other = _trail(repository), _trail(repository, GLOBEX)
        tombstone = _record("1001", **{_NAME: "Person"})
        own = _event("1001", kind="redacted", changes=[FieldChange(_NAME, "King", None)])
        _commit(repository, ACME, ChangeSet(updates=[tombstone], events=[own], redact=["1001"]))
        after = _trail(repository)
        expected = [redacted(e) if e.key == "1001" else e for e in before]
        assert after == [*expected, *_stamped([own], 3, None)]
        edit = after[2]
        assert [(c.field, c.old, c.new) for c in edit.changes] == [
            (_NAME, "[redacted]", "[redacted]"),
            ("status", "Enabled", "Deactivated"),
        ]
        assert _trail(repository, GLOBEX) == other
        assert repository.get(ACME, "1001") == tombstone

    def test_a_redaction_that_fails_redacts_nothing(self, repository: AuditRepository) -> None:
        """A redacting commit at a stale revision leaves every event as it was."""
        self._personal_trail(repository, ACME)
        before = _audit_state(repository)
        change_set = ChangeSet(updates=[_record("1001")], redact=["1001"])
        with pytest.raises(ConflictError):
            repository.commit(ACME, change_set, 1)
        assert _audit_state(repository) == before

    @pytest.mark.parametrize("step", COMMIT_STEPS)
    def test_a_redaction_faulting_at_any_step_redacts_nothing(
        self, faulty_repository: Callable[[FaultHook], AuditRepository], step: str
    ) -> None:
        """A redacting commit failing at each step leaves the events as they were."""
        switch = _Switch(step)
        repository = faulty_repository(switch)
        self._personal_trail(repository, ACME)
        before = _audit_state(repository)
        switch.armed = True
        with pytest.raises(RepositoryError):
            repository.commit(ACME, ChangeSet(updates=[_record("1001")], redact=["1001"]), 2)
        assert _audit_state(repository) == before


def _tenant(tenant_id: str = ACME, **fields: Any) -> Tenant:
    values: dict[str, Any] = {
        "name": "Acme Association",
        "products": {"community": "spreadsheet_upload", "marketing": "spreadsheet_upload"},
        "sso": SsoSetup(
            protocol="saml_2_0",
            identity_provider="Okta",
            identifier_is_legacy_contact_key=True,
            saml_signed=True,
            go_live=dt.date(2026, 9, 1),
        ),
        "integration": None,
        "initial_upload_done": True,
        "marketing_edition": "professional",
    }
    values.update(fields)
    return Tenant(id=tenant_id, **values)


class TenantStoreContract:
    """What every :class:`~provisioning.repository.TenantStore` does, as pytest tests.

    Provide a ``tenant_store`` fixture that returns a new, empty store.
    """

    @pytest.fixture
    def tenant_store(self) -> TenantStore:
        """Override: a new, empty tenant store for each test."""
        pytest.fail("a TenantStoreContract subclass must define a `tenant_store` fixture")

    def test_implements_the_tenant_store_protocol(self, tenant_store: TenantStore) -> None:
        """The store has every method of the TenantStore protocol."""
        assert isinstance(tenant_store, TenantStore)

    def test_an_unknown_tenant_is_not_found(self, tenant_store: TenantStore) -> None:
        """``get_tenant`` raises NotFoundError naming the id; ``tenants`` is empty."""
        with pytest.raises(NotFoundError) as caught:
            tenant_store.get_tenant(ACME)
        assert (caught.value.kind, caught.value.key) == ("tenant", ACME)
        assert tenant_store.tenants() == []

    def test_a_saved_tenant_round_trips(self, tenant_store: TenantStore) -> None:
        """Every field of a tenant, SSO setup included, reads back equal."""
        tenant = _tenant()
        tenant_store.save_tenant(tenant)
        assert tenant_store.get_tenant(ACME) == tenant

    def test_saving_again_replaces(self, tenant_store: TenantStore) -> None:
        """A second save under the same id replaces the first."""
        tenant_store.save_tenant(_tenant())
        moved = _tenant(
            products={"community": "standard_integration"}, integration="imis", sso=None
        )
        tenant_store.save_tenant(moved)
        assert tenant_store.get_tenant(ACME) == moved
        assert tenant_store.tenants() == [moved]

    def test_tenants_are_listed_by_id(self, tenant_store: TenantStore) -> None:
        """``tenants`` returns every stored tenant, ordered by id."""
        for tenant_id in ("globex", "acme", "initech"):
            tenant_store.save_tenant(_tenant(tenant_id))
        assert [t.id for t in tenant_store.tenants()] == ["acme", "globex", "initech"]

    def test_saving_returns_the_tenants_revision_and_replacing_moves_it_on(
        self, tenant_store: TenantStore
    ) -> None:
        """A first save leaves a new tenant at revision 0; each replacement moves it on by
        one (a plan saved before is stale), in a store that keeps records too."""
        assert tenant_store.save_tenant(_tenant()) == 0
        keeps_records = isinstance(tenant_store, RecordReader)
        assert tenant_store.save_tenant(_tenant(name="Acme Two")) == (1 if keeps_records else 0)
        assert tenant_store.save_tenant(_tenant(name="Acme Two")) == (2 if keeps_records else 0)
        assert tenant_store.save_tenant(_tenant(GLOBEX)) == 0
        if isinstance(tenant_store, RecordReader):
            assert (tenant_store.revision(ACME), tenant_store.revision(GLOBEX)) == (2, 0)

    def test_a_tenant_event_joins_the_trail_at_the_saves_revision(
        self, tenant_store: TenantStore
    ) -> None:
        """The event saved with a tenant is in its trail, stamped with the save's revision."""
        if not isinstance(tenant_store, AuditLog):
            pytest.skip("the tenant store keeps no audit trail (no AuditLog)")
        old, new = (
            _tenant(),
            _tenant(products={"community": "standard_integration"}, integration="imis", sso=None),
        )
        created = _event(
            None, kind="tenant_changed", channel="admin", role=None, actor_id="operator"
        )
        moved = _event(
            None,
            kind="tenant_changed",
            channel="admin",
            changes=[
                FieldChange("products.community", "spreadsheet_upload", "standard_integration")
            ],
        )
        tenant_store.save_tenant(old, event=created)
        revision = tenant_store.save_tenant(new, event=moved)
        assert list(tenant_store.events(ACME)) == [
            attrs.evolve(created, revision=0),
            attrs.evolve(moved, revision=revision),
        ]
        assert list(tenant_store.events(GLOBEX)) == []

    @pytest.mark.parametrize(
        "wrong",
        [
            {"tenant_id": GLOBEX},
            {"kind": AuditKind.UPDATED},
            {"key": "1001"},
        ],
        ids=["another tenant", "not a tenant event", "names a record"],
    )
    def test_a_wrong_tenant_event_is_refused_and_nothing_is_saved(
        self, tenant_store: TenantStore, wrong: dict[str, Any]
    ) -> None:
        """An event that is no ``tenant_changed`` event of this tenant, naming no record,
        is refused before anything is saved."""
        tenant_store.save_tenant(_tenant())
        values: dict[str, Any] = {"key": None, "kind": AuditKind.TENANT_CHANGED, **wrong}
        event = _event(values.pop("key"), channel="admin", **values)
        with pytest.raises(InvalidValueError):
            tenant_store.save_tenant(_tenant(name="Changed"), event=event)
        assert tenant_store.get_tenant(ACME) == _tenant()
        if isinstance(tenant_store, RecordReader):
            assert tenant_store.revision(ACME) == 0


# -- Marketing contacts ---------------------------------------------------------------------


@runtime_checkable
class ContactRepository(Repository, ContactStore, Protocol):
    """A repository that keeps Marketing contacts."""


@runtime_checkable
class _AuditedContacts(ContactRepository, AuditLog, Protocol):
    """A repository that keeps Marketing contacts and an audit trail."""


_CONTACT_SPECS = field_specs(Contact)
#: The contact's member id (its key under the by-member-id template), and one optional
#: text field, for a change a test makes to a contact.
_CONTACT_ID = next(s.name for s in _CONTACT_SPECS if s.role == "identifier")
_CONTACT_TEXT = next(
    s.name for s in _CONTACT_SPECS if s.kind is FieldKind.OPTIONAL_TEXT and s.role is None
)


def _contact(email: str, member_id: str | None = None, text: str | None = None) -> Contact:
    """A contact with ``email``, a member id and one optional text field (see above)."""
    fields: dict[str, Any] = {_CONTACT_ID: member_id, _CONTACT_TEXT: text}
    return Contact(email=email, **fields)


def _full_contact(email: str = "Zoe.O'Brien@Example.ORG", member_id: str = "Ñ-M'0042") -> Contact:
    """A contact with every field set, none to its default, whatever fields the model has."""
    values = _full_values(Contact)
    values.update({"email": email, _CONTACT_ID: member_id})
    return Contact(**values)


def _contacts_of(repository: ContactRepository, tenant_id: str = ACME) -> list[tuple[str, Contact]]:
    return list(repository.contacts(tenant_id))


def _contact_state(repository: ContactRepository, tenant_id: str = ACME) -> tuple[Any, ...]:
    """Every read of the tenant, its contacts included."""
    return (
        *_state(repository, tenant_id),
        repository.contact_count(tenant_id),
        _contacts_of(repository, tenant_id),
    )


def _contact_commit(
    repository: ContactRepository,
    tenant_id: str = ACME,
    *,
    creates: Sequence[Contact] = (),
    updates: Sequence[Contact] = (),
    key: ContactKey = ContactKey.EMAIL,
    **fields: Any,
) -> int:
    changes = ContactChanges(key=key, creates=creates, updates=updates)
    return _commit(repository, tenant_id, ChangeSet(contacts=changes, **fields))


class ContactStoreContract:
    """What every :class:`~provisioning.repository.ContactStore` repository does, as pytest
    tests: contacts kept per tenant under their key, written by the same atomic commit as
    records (checked, revisioned, all or nothing), with their upload entry and events.

    Provide a ``repository`` fixture that returns a new, empty repository keeping contacts,
    and a ``faulty_repository`` fixture when the store can be made to fail on purpose (as
    for :class:`BatchRepositoryContract`). Every reference adapter passes.
    """

    @pytest.fixture
    def repository(self) -> ContactRepository:
        """Override: a new, empty repository for each test."""
        pytest.fail("a ContactStoreContract subclass must define a `repository` fixture")

    @pytest.fixture
    def faulty_repository(self) -> Callable[[FaultHook], ContactRepository]:
        """Override, when the store can fail on purpose: a new, empty repository calling
        the given hook at each commit step."""
        pytest.skip("the repository takes no fault hook (no `faulty_repository` fixture)")

    def test_implements_the_contact_store_protocol(self, repository: ContactRepository) -> None:
        """The repository has every method of the ContactStore protocol."""
        assert isinstance(repository, ContactStore)

    def test_a_new_tenant_has_no_contacts(self, repository: ContactRepository) -> None:
        """An unknown tenant has no contacts, and lookups find nothing."""
        assert _contacts_of(repository) == []
        assert repository.contact_count(ACME) == 0
        assert dict(repository.get_contacts(ACME, ["ada@example.com"])) == {}
        assert dict(repository.contact_email_owners(ACME, ["ada@example.com"])) == {}

    @pytest.mark.parametrize("key", list(ContactKey))
    def test_every_contact_field_round_trips(
        self, repository: ContactRepository, key: ContactKey
    ) -> None:
        """A contact with every field set comes back equal, under its key."""
        contact = _full_contact()
        _contact_commit(repository, creates=[contact], key=key)
        stored_key = key.of(contact)
        assert _contacts_of(repository) == [(stored_key, contact)]
        assert dict(repository.get_contacts(ACME, [stored_key])) == {stored_key: contact}
        owners = repository.contact_email_owners(ACME, [contact.email_key])
        assert dict(owners) == {contact.email_key: stored_key}

    def test_absent_contact_fields_round_trip_as_none(self, repository: ContactRepository) -> None:
        """A contact with only an email comes back with None, not empty text."""
        contact = _contact("ada@example.com")
        _contact_commit(repository, creates=[contact])
        assert _contacts_of(repository) == [("ada@example.com", contact)]

    def test_an_email_key_is_the_lower_cased_email(self, repository: ContactRepository) -> None:
        """Keyed by email, a contact is found by its email in lower case only."""
        contact = _contact("Ada.L@Example.com")
        _contact_commit(repository, creates=[contact])
        assert dict(repository.get_contacts(ACME, ["ada.l@example.com", "Ada.L@example.com"])) == {
            "ada.l@example.com": contact
        }

    def test_contacts_stream_in_code_point_key_order(self, repository: ContactRepository) -> None:
        """contacts() gives every contact once, by key in code-point order."""
        contacts = [_contact(f"c{n}@example.com", key) for n, key in enumerate(_UNORDERED_KEYS)]
        _contact_commit(repository, creates=contacts, key=ContactKey.MEMBER_ID)
        assert [k for k, _ in _contacts_of(repository)] == sorted(_UNORDERED_KEYS)
        assert repository.contact_count(ACME) == len(contacts)

    def test_a_contacts_commit_raises_the_revision_by_one(
        self, repository: ContactRepository
    ) -> None:
        """Contacts share the tenant's revision with its records."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        assert _contact_commit(repository, creates=[_contact("ada@example.com")]) == 2
        assert repository.revision(ACME) == 2

    def test_an_update_replaces_the_whole_contact(self, repository: ContactRepository) -> None:
        """An update replaces every field; a field left out is cleared."""
        _contact_commit(repository, creates=[_full_contact("ada@example.com")])
        new = _contact("ada@example.com", text="King")
        _contact_commit(repository, updates=[new])
        assert _contacts_of(repository) == [("ada@example.com", new)]

    def test_an_update_by_member_id_moves_the_email(self, repository: ContactRepository) -> None:
        """Keyed by member id, a contact may change its email; the owners follow."""
        by_id = ContactKey.MEMBER_ID
        _contact_commit(repository, creates=[_contact("old@example.com", "M1")], key=by_id)
        _contact_commit(repository, updates=[_contact("new@example.com", "M1")], key=by_id)
        owners = repository.contact_email_owners(ACME, ["old@example.com", "new@example.com"])
        assert dict(owners) == {"new@example.com": "M1"}

    def test_two_contact_updates_may_swap_emails(self, repository: ContactRepository) -> None:
        """The email checks are on the state after the commit."""
        by_id = ContactKey.MEMBER_ID
        a, b = _contact("a@example.com", "M1"), _contact("b@example.com", "M2")
        _contact_commit(repository, creates=[a, b], key=by_id)
        swapped = [_contact("b@example.com", "M1"), _contact("a@example.com", "M2")]
        _contact_commit(repository, updates=swapped, key=by_id)
        assert [c for _, c in _contacts_of(repository)] == swapped

    @pytest.mark.parametrize(
        ("creates", "updates", "problem"),
        [
            ([_contact("ada@example.com", "M1")], [], "create contact 'M1': key already stored"),
            (
                [_contact("ADA@example.com", "M9")],
                [],
                "create contact 'M9': email 'ADA@example.com' already belongs to 'M1'",
            ),
            ([], [_contact("x@example.com", "M9")], "update contact 'M9': no stored contact"),
        ],
        ids=["stored key", "stored email", "missing key"],
    )
    def test_a_contact_change_that_does_not_fit_writes_nothing(
        self,
        repository: ContactRepository,
        creates: list[Contact],
        updates: list[Contact],
        problem: str,
    ) -> None:
        """A create of a stored key or email, an update of no stored key: refused, whole."""
        by_id = ContactKey.MEMBER_ID
        _contact_commit(repository, creates=[_contact("ada@example.com", "M1")], key=by_id)
        before = _contact_state(repository)
        with pytest.raises(ChangeSetError) as caught:
            _contact_commit(
                repository,
                creates=[*creates, _contact("new@example.com", "M5")],
                updates=updates,
                key=by_id,
                upload=_entry(product=Product.MARKETING),
            )
        assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
        assert _contact_state(repository) == before

    def test_records_and_contacts_land_together_or_not_at_all(
        self, repository: ContactRepository
    ) -> None:
        """A commit whose contacts do not fit writes none of its records either."""
        _contact_commit(repository, creates=[_contact("ada@example.com")])
        before = _contact_state(repository)
        bad = ChangeSet(
            creates=[_record("1001")],
            contacts=ContactChanges(creates=[_contact("ada@example.com")]),
        )
        with pytest.raises(ChangeSetError):
            _commit(repository, ACME, bad)
        assert _contact_state(repository) == before

    def test_a_stale_revision_writes_no_contact(self, repository: ContactRepository) -> None:
        """A contacts commit at an old revision raises ConflictError and writes nothing."""
        _contact_commit(repository, creates=[_contact("ada@example.com")])
        before = _contact_state(repository)
        change_set = ChangeSet(contacts=ContactChanges(creates=[_contact("bob@example.com")]))
        with pytest.raises(ConflictError):
            repository.commit(ACME, change_set, 0)
        assert _contact_state(repository) == before

    def test_contacts_stay_in_their_tenant(self, repository: ContactRepository) -> None:
        """One key and one email in two tenants are two contacts; a commit touches one."""
        _contact_commit(repository, creates=[_contact("ada@example.com", text="Ada")])
        _contact_commit(repository, GLOBEX, creates=[_contact("ada@example.com")])
        _contact_commit(repository, updates=[_contact("ada@example.com", text="Augusta")])
        assert _contacts_of(repository, GLOBEX) == [
            ("ada@example.com", _contact("ada@example.com"))
        ]
        assert dict(repository.get_contacts(GLOBEX, ["ada@example.com"])) == {
            "ada@example.com": _contact("ada@example.com")
        }
        assert (repository.revision(ACME), repository.revision(GLOBEX)) == (2, 1)

    def test_an_update_cannot_reach_another_tenants_contact(
        self, repository: ContactRepository
    ) -> None:
        """A contact stored for one tenant is not there to update for another."""
        _contact_commit(repository, GLOBEX, creates=[_contact("ada@example.com")])
        with pytest.raises(ChangeSetError):
            _contact_commit(repository, updates=[_contact("ada@example.com", text="A")])
        assert _contacts_of(repository) == []

    def test_a_marketing_upload_entry_is_recorded_with_its_contacts(
        self, repository: ContactRepository
    ) -> None:
        """The upload entry of a Marketing upload keeps its product and counts."""
        entry = _entry(product=Product.MARKETING, counts={"created": 1, "skipped": 2})
        _contact_commit(repository, creates=[_contact("ada@example.com")], upload=entry)
        (stored,) = repository.uploads(ACME)
        assert stored == attrs.evolve(entry, id=1, audited=isinstance(repository, AuditLog))

    def test_contact_events_keep_their_product(self, repository: ContactRepository) -> None:
        """A contact's audit event comes back with product marketing and its changes."""
        if not isinstance(repository, AuditLog):
            pytest.skip("the repository keeps no audit trail")
        old, new = _contact("ada@example.com", text="Ada"), _full_contact("ada@example.com")
        _contact_commit(repository, creates=[old])
        event = _event(
            "ada@example.com", product=Product.MARKETING, changes=contact_changes(old, new)
        )
        _contact_commit(repository, updates=[new], events=[event])
        (stored,) = repository.events(ACME, key="ada@example.com")
        assert stored == attrs.evolve(event, revision=2, upload_id=None)
        assert _plain_changes(stored) == _plain_changes(event)

    @pytest.mark.parametrize("step", COMMIT_STEPS)
    def test_a_fault_at_any_step_leaves_no_contact(
        self, faulty_repository: Callable[[FaultHook], ContactRepository], step: str
    ) -> None:
        """A contacts commit failing at each step changes nothing; the same commit lands after."""
        switch = _Switch(step)
        repository = faulty_repository(switch)
        by_id = ContactKey.MEMBER_ID
        _contact_commit(repository, creates=[_contact("a@example.com", "M1")], key=by_id)
        before = _contact_state(repository)
        changes = ContactChanges(
            key=by_id,
            creates=[_contact("a@example.com", "M2")],
            updates=[_contact("moved@example.com", "M1")],
        )
        change_set = ChangeSet(
            contacts=changes,
            creates=[_record("1001")],
            upload=_entry(product=Product.MARKETING),
        )
        switch.armed = True
        with pytest.raises(RepositoryError) as caught:
            repository.commit(ACME, change_set, 1)
        assert str(caught.value) == f"injected fault at commit step {step!r}"
        assert _contact_state(repository) == before
        assert dict(repository.contact_email_owners(ACME, ["moved@example.com"])) == {}
        switch.armed = False
        assert repository.commit(ACME, change_set, 1) == 2
        assert repository.contact_count(ACME) == 2

    # -- streamed contact commits (ContactStreamWriter) ------------------------------

    def _streaming(self, repository: ContactRepository) -> ContactStreamWriter:
        if not isinstance(repository, ContactStreamWriter):
            pytest.skip("the repository takes no contact stream (no ContactStreamWriter)")
        return repository

    def test_a_contact_stream_commits_as_the_change_set_of_its_contacts(
        self, repository: ContactRepository
    ) -> None:
        """Batches of updates and creates store what one commit of them all stores: two
        contacts in two batches may swap emails, a create may take an email an update
        gives up; the upload entry and events land with them, at one new revision."""
        writer = self._streaming(repository)
        by_id = ContactKey.MEMBER_ID
        stored = [_contact(f"c{n}@example.com", f"M{n}") for n in range(4)]
        _contact_commit(repository, creates=stored, key=by_id)
        updates = [
            [_contact("c1@example.com", "M0", text="A")],
            [_contact("c0@example.com", "M1"), _contact("moved@example.com", "M2")],
        ]
        creates = [[], [_contact("c2@example.com", "M7")], [_contact("new@example.com", "M8")]]
        entry = _entry(product=Product.MARKETING)
        events = [[_event("M0", product=Product.MARKETING)], []]
        stream = ContactStream(
            key=by_id, updates=updates, creates=creates, upload=entry, events=events
        )
        assert writer.commit_contact_stream(ACME, stream, 1) == 2
        assert _contacts_of(repository) == [
            ("M0", updates[0][0]),
            ("M1", updates[1][0]),
            ("M2", updates[1][1]),
            ("M3", stored[3]),
            ("M7", creates[1][0]),
            ("M8", creates[2][0]),
        ]
        owners = repository.contact_email_owners(ACME, ["c2@example.com", "moved@example.com"])
        assert dict(owners) == {"c2@example.com": "M7", "moved@example.com": "M2"}
        (history,) = repository.uploads(ACME)[1:] or repository.uploads(ACME)
        assert history.product is Product.MARKETING
        if isinstance(repository, AuditLog):
            (event,) = repository.events(ACME, key="M0")
            assert event.revision == 2

    def test_contact_batches_are_read_once_updates_first(
        self, repository: ContactRepository
    ) -> None:
        """Each batch is asked for once, every update before the first create, so a
        producer may make them as they are read."""
        writer = self._streaming(repository)
        _contact_commit(repository, creates=[_contact("ada@example.com")])
        asked: list[str] = []

        def batches(name: str, contacts: list[Contact]) -> Iterator[list[Contact]]:
            for contact in contacts:
                asked.append(name)
                yield [contact]

        stream = ContactStream(
            updates=batches("update", [_contact("ada@example.com", text="A")]),
            creates=batches("create", [_contact("bob@example.com"), _contact("cy@example.com")]),
        )
        assert writer.commit_contact_stream(ACME, stream, 1) == 2
        assert asked == ["update", "create", "create"]
        assert repository.contact_count(ACME) == 3

    @pytest.mark.parametrize(
        ("updates", "creates"),
        [
            ([], [[_contact("n1@example.com", "N1")], [_contact("n2@example.com", "N1")]]),
            ([[_contact("x@example.com", "M1")], [_contact("y@example.com", "M1")]], []),
            ([[_contact("x@example.com", "M9")]], []),
            ([], [[_contact("n1@example.com", "N1")], [_contact("N1@example.com", "N2")]]),
            ([], [[_contact("n1@example.com", "N1")], [_contact("A@example.com", "N2")]]),
            ([[_contact("c@example.com", "M1")]], []),
            ([[_contact("m@example.com", "M1")]], [[_contact("n@example.com", "M1")]]),
        ],
        ids=[
            "key created twice",
            "key updated twice",
            "update of no stored key",
            "email created twice",
            "create of a stored email",
            "update taking a stored email",
            "key updated and created",
        ],
    )
    def test_a_contact_stream_that_does_not_fit_writes_nothing(
        self,
        repository: ContactRepository,
        updates: list[list[Contact]],
        creates: list[list[Contact]],
    ) -> None:
        """A repeat or a clash across batches is found as they are written: ChangeSetError,
        and nothing of the stream (nor its upload entry) is stored."""
        writer = self._streaming(repository)
        by_id = ContactKey.MEMBER_ID
        stored = [
            _contact("a@example.com", "M1"),
            _contact("b@example.com", "M2"),
            _contact("c@example.com", "M3"),
        ]
        _contact_commit(repository, creates=stored, key=by_id)
        before = _contact_state(repository)
        # A first batch of each kind that fits, so that the stream fails part-way.
        stream = ContactStream(
            key=by_id,
            updates=[[_contact("first@example.com", "M2")], *updates],
            creates=[[_contact("ok@example.com", "K1")], *creates],
            upload=_entry(product=Product.MARKETING),
        )
        with pytest.raises(ChangeSetError):
            writer.commit_contact_stream(ACME, stream, 1)
        assert _contact_state(repository) == before

    def test_a_stale_contact_stream_conflicts_and_writes_nothing(
        self, repository: ContactRepository
    ) -> None:
        """A contact stream planned against an old revision raises ConflictError."""
        writer = self._streaming(repository)
        _contact_commit(repository, creates=[_contact("ada@example.com")])
        before = _contact_state(repository)
        stream = ContactStream(creates=[[_contact("bob@example.com")]])
        with pytest.raises(ConflictError):
            writer.commit_contact_stream(ACME, stream, 0)
        assert _contact_state(repository) == before

    def test_a_contact_batch_holding_no_contact_is_refused(
        self, repository: ContactRepository
    ) -> None:
        """A batch holding a record, or no sequence, is refused by name; nothing written."""
        writer = self._streaming(repository)
        before = _contact_state(repository)
        cases: list[tuple[list[Any], str]] = [
            ([[_contact("a@example.com")], [_record("1001")]], "batch 1 must hold Contact"),
            ([iter(())], "batch 0 must be a sequence of Contact"),
        ]
        for bad, problem in cases:
            with pytest.raises(InvalidValueError, match=f"contact create {problem}"):
                writer.commit_contact_stream(ACME, ContactStream(creates=bad), 0)
            assert _contact_state(repository) == before

    def test_a_failure_between_contact_batches_leaves_nothing(
        self, repository: ContactRepository
    ) -> None:
        """A producer failing after some batches were written: the error comes through,
        and the batches before it are not stored."""
        writer = self._streaming(repository)
        _contact_commit(repository, creates=[_contact("ada@example.com")])
        before = _contact_state(repository)

        def creates() -> Iterator[list[Contact]]:
            yield [_contact("bob@example.com"), _contact("cy@example.com")]
            raise OSError("the plan's temporary file went away")

        stream = ContactStream(
            updates=[[_contact("ada@example.com", text="A")]],
            creates=creates(),
            upload=_entry(product=Product.MARKETING),
        )
        with pytest.raises(OSError, match="temporary file"):
            writer.commit_contact_stream(ACME, stream, 1)
        assert _contact_state(repository) == before

    @pytest.mark.parametrize("step", COMMIT_STEPS)
    def test_a_fault_at_any_step_leaves_no_streamed_contact(
        self, faulty_repository: Callable[[FaultHook], ContactRepository], step: str
    ) -> None:
        """A contact stream failing at each commit step changes nothing; it lands after."""
        switch = _Switch(step)
        repository = faulty_repository(switch)
        writer = self._streaming(repository)
        by_id = ContactKey.MEMBER_ID
        _contact_commit(repository, creates=[_contact("a@example.com", "M1")], key=by_id)
        before = _contact_state(repository)

        def stream() -> ContactStream:
            return ContactStream(
                key=by_id,
                updates=[[_contact("moved@example.com", "M1")]],
                creates=[[_contact("a@example.com", "M2")], [_contact("c@example.com", "M3")]],
                upload=_entry(product=Product.MARKETING),
                events=[[_event("M2", product=Product.MARKETING, kind=AuditKind.CREATED)]],
            )

        switch.armed = True
        with pytest.raises(RepositoryError) as caught:
            writer.commit_contact_stream(ACME, stream(), 1)
        assert str(caught.value) == f"injected fault at commit step {step!r}"
        assert _contact_state(repository) == before
        assert dict(repository.contact_email_owners(ACME, ["moved@example.com"])) == {}
        switch.armed = False
        assert writer.commit_contact_stream(ACME, stream(), 1) == 2
        assert repository.contact_count(ACME) == 3

    # Reverting a Marketing upload (the store's reads and audit trail, end to end)

    def _reverting(self, repository: ContactRepository) -> _AuditedContacts:
        if not isinstance(repository, _AuditedContacts):
            pytest.skip("the repository keeps no audit trail: no upload can be reverted")
        return repository

    def test_a_marketing_upload_is_reverted_whole_and_audited(
        self, repository: ContactRepository
    ) -> None:
        """The contacts it changed get their old values back, those it created are
        unsubscribed (never deleted); the revert is an upload entry ``revert:N`` of
        product marketing, its events in the channel revert."""
        repository = self._reverting(repository)
        first = [_contact(f"c{n}@example.com", text=f"C{n}") for n in range(6)]
        _upload_contacts(repository, first)
        before = _contacts_of(repository)
        second = [_contact("c0@example.com", text="Changed"), _contact("new@example.com")]
        upload = _upload_contacts(repository, second)
        revert = _revert_contacts(repository, upload)
        assert revert.applicable
        assert (len(revert.updates), len(revert.unsubscribes), revert.conflicts) == (1, 1, ())
        receipt = _apply(revert, repository)
        after = dict(_contacts_of(repository))
        assert [(k, after[k]) for k, _ in before] == before
        assert after["new@example.com"].subscription.value == "unsubscribed"
        assert repository.contact_count(ACME) == 7
        entry = repository.uploads(ACME)[-1]
        assert (entry.file_digest, entry.product, entry.mode) == (
            f"revert:{upload}",
            Product.MARKETING,
            UploadMode.PARTIAL,
        )
        events = list(repository.events(ACME, upload_id=receipt.entry.id))
        assert sorted((e.key, e.channel, e.product) for e in events) == [
            ("c0@example.com", Channel.REVERT, Product.MARKETING),
            ("new@example.com", Channel.REVERT, Product.MARKETING),
        ]

    def test_a_contact_changed_since_is_left_alone_and_reverted_once(
        self, repository: ContactRepository
    ) -> None:
        """A contact a later upload changed keeps that change (``changed_since``); a
        second revert of the same upload is refused; reverting the revert brings the
        upload's changes back."""
        repository = self._reverting(repository)
        _upload_contacts(repository, [_contact(f"c{n}@example.com") for n in range(6)])
        upload = _upload_contacts(
            repository,
            [_contact("c0@example.com", text="A"), _contact("c1@example.com", text="B")],
        )
        _upload_contacts(repository, [_contact("c1@example.com", text="Later")])
        revert = _revert_contacts(repository, upload)
        assert [(c.key, c.code) for c in revert.conflicts] == [("c1@example.com", "changed_since")]
        assert [u.key for u in revert.updates] == ["c0@example.com"]
        undone = _apply(revert, repository)
        contacts = dict(_contacts_of(repository))
        assert getattr(contacts["c0@example.com"], _CONTACT_TEXT) is None
        assert getattr(contacts["c1@example.com"], _CONTACT_TEXT) == "Later"
        with pytest.raises(RefusedError, match=f"reverted already, by upload {undone.entry.id}"):
            _revert_contacts(repository, upload)
        _apply(_revert_contacts(repository, undone.entry.id or 0), repository)
        assert getattr(dict(_contacts_of(repository))["c0@example.com"], _CONTACT_TEXT) == "A"

    def test_a_reverted_email_another_contact_took_is_a_conflict(
        self, repository: ContactRepository
    ) -> None:
        """By member id: an upload moved M1 to a new email, and a later one gave M1's
        old email to M3. The revert leaves M1 as it is (``identity_conflict``, holding
        the plan until overridden); emails two contacts swapped go back swapped."""
        repository = self._reverting(repository)
        by_id = ContactKey.MEMBER_ID
        old = [_contact(f"{m.lower()}@example.com", m) for m in ("M1", "M4", "M5", "M6")]
        _upload_contacts(repository, old, key=by_id)
        moved = [
            _contact("m1.new@example.com", "M1"),
            _contact("m5@example.com", "M4"),
            _contact("m4@example.com", "M5"),
        ]
        upload = _upload_contacts(repository, moved, key=by_id)
        _upload_contacts(repository, [_contact("m1@example.com", "M3")], key=by_id)
        revert = _revert_contacts(repository, upload, key=by_id)
        assert [(c.key, c.code, c.owner_key) for c in revert.conflicts] == [
            ("M1", "identity_conflict", "M3")
        ]
        assert revert.held_by == {Safeguard.IDENTITY_CONFLICT}
        _apply(_revert_contacts(repository, upload, key=by_id, overrides="identity_conflict"),
               repository)  # fmt: skip
        contacts = dict(_contacts_of(repository))
        assert {k: c.email for k, c in contacts.items()} == {
            "M1": "m1.new@example.com",
            "M3": "m1@example.com",
            "M4": "m4@example.com",
            "M5": "m5@example.com",
            "M6": "m6@example.com",
        }

    def test_reverting_a_first_upload_is_held_as_a_mass_unsubscribe(
        self, repository: ContactRepository
    ) -> None:
        """Unsubscribing everyone a first upload created trips ``mass_deactivation``;
        with it overridden, every contact is unsubscribed and none deleted."""
        repository = self._reverting(repository)
        upload = _upload_contacts(repository, [_contact(f"c{n}@example.com") for n in range(3)])
        held = _revert_contacts(repository, upload)
        assert held.held_by == {Safeguard.MASS_DEACTIVATION}
        _apply(_revert_contacts(repository, upload, overrides="mass_deactivation"), repository)
        assert [c.subscription.value for _, c in _contacts_of(repository)] == ["unsubscribed"] * 3


def _contact_tenant(key: ContactKey) -> Tenant:
    return Tenant(
        id=ACME, name="Acme", products={"marketing": "spreadsheet_upload"}, marketing_key=key
    )


_REVERTER = Actor(id="sa-1", role=Role.SUPER_ADMIN)
_DAY = dt.date(2026, 3, 1)


def _upload_contacts(
    repository: ContactRepository, contacts: Sequence[Contact], key: ContactKey = ContactKey.EMAIL
) -> int:
    """Plan and apply a partial Marketing upload of ``contacts``; its upload id."""
    plan = plan_contacts(
        _contact_tenant(key), _REVERTER, contacts, repository, mode="partial", as_of=_DAY
    )
    return _apply(plan, repository).entry.id or 0


def _revert_contacts(
    repository: ContactRepository,
    upload_id: int,
    key: ContactKey = ContactKey.EMAIL,
    overrides: str = "",
) -> ContactPlan:
    return plan_contacts_revert(
        _contact_tenant(key),
        _REVERTER,
        upload_id,
        repository,
        as_of=_DAY,
        overrides=[overrides] if overrides else [],
    )


def _apply(plan: ContactPlan, repository: ContactRepository) -> Receipt:
    assert plan.applicable, plan.summary()
    return apply_plan(plan, repository, now=_AT)


class ScimRepository(Repository, ScimFactStore, Protocol):
    """A repository that keeps the records' SCIM facts."""


def _facts(key: str, user_name: str, resource_id: str | None = None, **fields: Any) -> ScimFacts:
    """SCIM facts of ``key``: its id ``id-<key>`` unless given."""
    return ScimFacts(
        key=key,
        id=resource_id or f"id-{key}",
        user_name=user_name,
        created_at=fields.pop("created_at", _AT),
        modified_at=fields.pop("modified_at", _AT),
        **fields,
    )


def _holders(repository: ScimRepository, user_name: str, tenant_id: str = ACME) -> list[str]:
    return [f.key for f in repository.scim_facts(tenant_id, user_name=user_name)]


def _scim_state(repository: ScimRepository, tenant_id: str = ACME) -> tuple[Any, ...]:
    """Every read of the tenant, its SCIM facts included."""
    return (*_state(repository, tenant_id), list(repository.scim_facts(tenant_id)))


def _race(*writers: Callable[[], object]) -> list[object]:
    """Run the writers at once, each in a thread of its own; what each returned or raised."""
    start = threading.Barrier(len(writers))
    outcomes: list[object] = [None] * len(writers)

    def run(index: int, writer: Callable[[], object]) -> None:
        start.wait(10)
        try:
            outcomes[index] = writer()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(n, w)) for n, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@attrs.frozen
class _Commit:
    """A commit of ``change_set`` at ``revision``, on a given handle."""

    change_set: ChangeSet
    revision: int

    def __call__(self, store: ScimRepository) -> object:
        return store.commit(ACME, self.change_set, self.revision)


@attrs.frozen
class _Adopt:
    """An adoption of ``facts``, on a given handle."""

    facts: ScimFacts

    def __call__(self, store: ScimRepository) -> object:
        return store.adopt_scim_facts(ACME, self.facts)


def _on_own_handle(
    open_repository: Callable[[], ScimRepository],
    repository: ScimRepository,
    action: Callable[[ScimRepository], object],
) -> object:
    """``action`` on a handle of its own (closed after, unless it is ``repository``)."""
    store = open_repository()
    try:
        return action(store)
    finally:
        if store is not repository:
            getattr(store, "close", lambda: None)()


class ScimFactStoreContract:
    """What every :class:`~provisioning.repository.ScimFactStore` repository does, as
    pytest tests: the SCIM facts of a record committed in the record's own transaction,
    each folded userName and each resource id kept to one record of the tenant by the
    store itself, redaction deleting them, and nothing kept of a commit that fails.

    Provide a ``repository`` fixture that returns a new, empty repository. Provide
    ``open_repository`` too, a function opening another handle on that same store
    (another connection, as another process would have): it is called in the threads of
    the race tests. The default hands out the repository itself, which fits a store safe
    to share between threads. A ``faulty_repository`` fixture, as for
    :class:`BatchRepositoryContract`, adds the tests of a commit failing half-way.
    """

    @pytest.fixture
    def repository(self) -> ScimRepository:
        """Override: a new, empty repository for each test."""
        pytest.fail("a ScimFactStoreContract subclass must define a `repository` fixture")

    @pytest.fixture
    def open_repository(self, repository: ScimRepository) -> Callable[[], ScimRepository]:
        """Override, for a store whose handles are not shared between threads: a function
        opening another handle on the ``repository``'s store."""
        return lambda: repository

    @pytest.fixture
    def faulty_repository(self) -> Callable[[FaultHook], ScimRepository]:
        """Override, when the store can fail on purpose: a new, empty repository calling
        the given hook at each commit step."""
        pytest.skip("the repository takes no fault hook (no `faulty_repository` fixture)")

    def test_implements_the_scim_fact_store_protocol(self, repository: ScimRepository) -> None:
        assert isinstance(repository, ScimFactStore)

    def test_a_new_tenant_has_no_facts(self, repository: ScimRepository) -> None:
        assert list(repository.scim_facts(ACME)) == []
        assert list(repository.scim_facts(ACME, key="1001")) == []

    def test_facts_committed_with_a_create_are_found_by_each_lookup(
        self, repository: ScimRepository
    ) -> None:
        """One commit writes the record and its facts; each lookup finds them: by key, by
        resource id, by userName in any case and Unicode form, by externalId exactly."""
        at = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        facts = _facts(
            "1001", "Jos\u00e9@Example.com", external_id="00u-1", created_at=at, removed=True
        )
        change_set = ChangeSet(creates=[_record("1001"), _record("1002")], scim=[facts])
        assert _commit(repository, ACME, change_set) == 1
        assert repository.scim_facts(ACME) == [facts]
        assert repository.scim_facts(ACME, key="1001") == [facts]
        assert repository.scim_facts(ACME, resource_id="id-1001") == [facts]
        for name in (
            "jos\u00e9@example.com",
            "JOSE\u0301@EXAMPLE.COM",
            "\uff4aos\u00e9@example.com",
        ):
            assert repository.scim_facts(ACME, user_name=name) == [facts], name
        assert repository.scim_facts(ACME, external_id="00u-1") == [facts]
        assert repository.scim_facts(ACME, external_id="00U-1") == []
        assert repository.scim_facts(ACME, key="1002") == []
        (kept,) = repository.scim_facts(ACME)
        assert kept.created_at.utcoffset() == dt.timedelta(hours=2)

    def test_a_lookup_takes_one_criterion(self, repository: ScimRepository) -> None:
        with pytest.raises(InvalidValueError, match="at most one"):
            repository.scim_facts(ACME, key="1001", user_name="ada")

    def test_a_user_name_another_record_holds_is_refused_and_nothing_written(
        self, repository: ScimRepository
    ) -> None:
        """A userName held by another record, in any case or Unicode form: the commit is
        refused naming it, and neither the record nor its facts are written."""
        _commit(
            repository, ACME, ChangeSet(creates=[_record("1001")], scim=[_facts("1001", "Ada")])
        )
        before = _scim_state(repository)
        change_set = ChangeSet(creates=[_record("1002")], scim=[_facts("1002", "\uff21DA")])
        with pytest.raises(ChangeSetError) as caught:
            repository.commit(ACME, change_set, 1)
        assert any("userName" in p and "'1001'" in p for p in caught.value.problems)
        assert _scim_state(repository) == before

    def test_a_resource_id_another_record_holds_is_refused(
        self, repository: ScimRepository
    ) -> None:
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], scim=[_facts("1001", "a")]))
        before = _scim_state(repository)
        change_set = ChangeSet(
            creates=[_record("1002")], scim=[_facts("1002", "b", resource_id="id-1001")]
        )
        with pytest.raises(ChangeSetError) as caught:
            repository.commit(ACME, change_set, 1)
        assert any("resource id" in p for p in caught.value.problems)
        assert _scim_state(repository) == before

    def test_facts_of_a_record_not_stored_are_refused(self, repository: ScimRepository) -> None:
        """No userName is kept for a record that does not exist."""
        with pytest.raises(ChangeSetError) as caught:
            repository.commit(ACME, ChangeSet(scim=[_facts("ghost", "ghost")]), 0)
        assert _names(caught.value.problems, "ghost")
        assert _scim_state(repository) == _scim_state(repository, GLOBEX)

    def test_new_facts_replace_the_old_and_free_the_old_name(
        self, repository: ScimRepository
    ) -> None:
        """A rename frees the former userName; two records may swap theirs in one commit."""
        first = [_facts("1001", "ada"), _facts("1002", "bob")]
        _commit(repository, ACME, ChangeSet(creates=[_record("1001"), _record("1002")], scim=first))
        _commit(repository, ACME, ChangeSet(scim=[_facts("1001", "ada.l")]))
        assert _holders(repository, "ada") == []
        assert _holders(repository, "ADA.L") == ["1001"]
        swapped = [_facts("1001", "bob"), _facts("1002", "ada.l")]
        assert _commit(repository, ACME, ChangeSet(scim=swapped)) == 3
        assert (_holders(repository, "bob"), _holders(repository, "ada.l")) == (["1001"], ["1002"])
        assert [f.id for f in repository.scim_facts(ACME)] == ["id-1001", "id-1002"]

    def test_a_stale_commit_keeps_no_facts(self, repository: ScimRepository) -> None:
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")]))
        before = _scim_state(repository)
        with pytest.raises(ConflictError):
            repository.commit(ACME, ChangeSet(scim=[_facts("1001", "ada")]), 0)
        assert _scim_state(repository) == before

    def test_a_commit_without_facts_keeps_them(self, repository: ScimRepository) -> None:
        """An upload, a push or a revert replaces the record, not its SCIM facts: the
        userName stays, through a deactivation too."""
        facts = _facts("1001", "ada")
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], scim=[facts]))
        changed = _record("1001", **{_SOME_TEXT: "Changed"}, status=RecordStatus.DEACTIVATED)
        _commit(repository, ACME, ChangeSet(updates=[changed], upload=_entry()))
        assert repository.scim_facts(ACME) == [facts]

    def test_a_redacting_commit_deletes_the_records_facts(self, repository: ScimRepository) -> None:
        """Deleting a person's data deletes their userName and externalId too (the name is
        free again); other records' facts stay."""
        facts = [_facts("1001", "ada", external_id="00u-1"), _facts("1002", "bob")]
        _commit(repository, ACME, ChangeSet(creates=[_record("1001"), _record("1002")], scim=facts))
        tombstone = _record("1001", status=RecordStatus.DELETED)
        _commit(repository, ACME, ChangeSet(updates=[tombstone], redact=["1001"]))
        assert repository.scim_facts(ACME) == [facts[1]]
        assert repository.scim_facts(ACME, external_id="00u-1") == []
        assert _holders(repository, "ada") == []

    def test_a_change_set_does_not_give_facts_to_a_record_it_redacts(self) -> None:
        with pytest.raises(InvalidValueError, match="redacts"):
            ChangeSet(updates=[_record("1001")], redact=["1001"], scim=[_facts("1001", "ada")])

    def test_facts_stay_in_their_tenant(self, repository: ScimRepository) -> None:
        """The same userName and id in two tenants are two users; each lookup sees its own."""
        for tenant_id in (ACME, GLOBEX):
            change_set = ChangeSet(creates=[_record("1001")], scim=[_facts("1001", "ada")])
            _commit(repository, tenant_id, change_set)
        assert _holders(repository, "ada") == _holders(repository, "ada", GLOBEX) == ["1001"]
        assert repository.scim_facts("initech") == []

    def test_adopting_gives_facts_to_a_record_without_moving_the_revision(
        self, repository: ScimRepository
    ) -> None:
        """A record another channel wrote gets facts once, outside a commit; never a
        second time, never for a record not stored, never a name or id already held."""
        _commit(repository, ACME, ChangeSet(creates=[_record("1001"), _record("1002")]))
        assert repository.adopt_scim_facts(ACME, _facts("1001", "ada"))
        assert repository.revision(ACME) == 1
        assert repository.scim_facts(ACME, key="1001") == [_facts("1001", "ada")]
        assert not repository.adopt_scim_facts(ACME, _facts("1001", "other", "id-x"))
        assert not repository.adopt_scim_facts(ACME, _facts("ghost", "ghost"))
        assert not repository.adopt_scim_facts(ACME, _facts("1002", "ADA"))
        assert not repository.adopt_scim_facts(ACME, _facts("1002", "bob", "id-1001"))
        assert repository.scim_facts(ACME, key="1002") == []
        assert repository.adopt_scim_facts(ACME, _facts("1002", "bob"))

    def test_two_writers_racing_for_one_name_cannot_both_win(
        self, repository: ScimRepository, open_repository: Callable[[], ScimRepository]
    ) -> None:
        """Two writers, each on its own handle, commit two new records taking one userName
        at once: one commits, the other is refused; tried again it is told the name is
        taken. The store keeps the name to one record."""
        for round_ in range(5):
            keys = (f"a{round_}", f"b{round_}")
            revision = repository.revision(ACME)
            writers = [
                functools.partial(
                    _on_own_handle,
                    open_repository,
                    repository,
                    _Commit(
                        ChangeSet(creates=[_record(k)], scim=[_facts(k, f"Name-{round_}")]),
                        revision,
                    ),
                )
                for k in keys
            ]
            outcomes = _race(*writers)
            won = [k for k, o in zip(keys, outcomes, strict=True) if o == revision + 1]
            assert len(won) == 1, outcomes
            lost = next(o for o in outcomes if o != revision + 1)
            assert isinstance(lost, ConflictError | ChangeSetError), lost
            assert _holders(repository, f"name-{round_}") == won
            loser = next(k for k in keys if k not in won)
            with pytest.raises(ChangeSetError):
                repository.commit(
                    ACME,
                    ChangeSet(creates=[_record(loser)], scim=[_facts(loser, f"NAME-{round_}")]),
                    revision + 1,
                )

    def test_a_commit_and_an_adoption_racing_for_one_name_cannot_both_win(
        self, repository: ScimRepository, open_repository: Callable[[], ScimRepository]
    ) -> None:
        """An adoption, which no revision orders, and a commit take one userName at once:
        the store's own uniqueness lets exactly one of them have it."""
        for round_ in range(8):
            adopted, created = f"old{round_}", f"new{round_}"
            _commit(repository, ACME, ChangeSet(creates=[_record(adopted)]))
            revision = repository.revision(ACME)
            name = f"taken-{round_}"
            change_set = ChangeSet(creates=[_record(created)], scim=[_facts(created, name)])
            took, committed = _race(
                functools.partial(
                    _on_own_handle, open_repository, repository, _Adopt(_facts(adopted, name))
                ),
                functools.partial(
                    _on_own_handle, open_repository, repository, _Commit(change_set, revision)
                ),
            )
            holders = _holders(repository, name)
            if committed == revision + 1:
                assert (took, holders) == (False, [created])
            else:
                assert isinstance(committed, ChangeSetError), committed
                assert (took, holders) == (True, [adopted])
                assert repository.get(ACME, created) is None

    @pytest.mark.parametrize("step", COMMIT_STEPS)
    def test_a_fault_at_any_step_keeps_no_name(
        self, faulty_repository: Callable[[FaultHook], ScimRepository], step: str
    ) -> None:
        """A commit failing at each step keeps neither the record nor its userName (the
        name is free); the same commit lands after."""
        switch = _Switch(step)
        repository = faulty_repository(switch)
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], scim=[_facts("1001", "a")]))
        before = _scim_state(repository)
        change_set = ChangeSet(
            creates=[_record("1002")],
            scim=[_facts("1002", "bob"), _facts("1001", "ada")],
        )
        switch.armed = True
        with pytest.raises(RepositoryError):
            repository.commit(ACME, change_set, 1)
        assert _scim_state(repository) == before
        assert _holders(repository, "bob") == _holders(repository, "ada") == []
        switch.armed = False
        assert repository.commit(ACME, change_set, 1) == 2
        assert _holders(repository, "bob") == ["1002"]
        assert _holders(repository, "a") == []

    @pytest.mark.parametrize("step", COMMIT_STEPS)
    def test_a_redaction_faulting_at_any_step_keeps_the_facts(
        self, faulty_repository: Callable[[FaultHook], ScimRepository], step: str
    ) -> None:
        switch = _Switch(step)
        repository = faulty_repository(switch)
        _commit(repository, ACME, ChangeSet(creates=[_record("1001")], scim=[_facts("1001", "a")]))
        before = _scim_state(repository)
        switch.armed = True
        tombstone = _record("1001", status=RecordStatus.DELETED)
        with pytest.raises(RepositoryError):
            repository.commit(ACME, ChangeSet(updates=[tombstone], redact=["1001"]), 1)
        assert _scim_state(repository) == before
