"""provisioning.repository: the value types, the checks adapters share, the Protocols."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Collection, Mapping, Sequence

import pytest

from provisioning import ConflictError, InvalidValueError, Product, UserRecord
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.repository import (
    ChangeSet,
    ChangeSetError,
    RecordReader,
    RecordWriter,
    Repository,
    TenantStore,
    UploadEntry,
    UploadHistory,
    UploadMode,
    check_change_set,
    check_revision,
)
from provisioning.testing._contract import _record

AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def _entry(**fields: object) -> UploadEntry:
    values: dict[str, object] = {
        "tenant_id": "acme",
        "actor_id": "sa-1",
        "at": AT,
        "file_digest": "sha256:0",
        "mode": "full",
    }
    values.update(fields)
    return UploadEntry(**values)  # type: ignore[arg-type]


# ChangeSet


def test_a_change_set_is_empty_by_default_and_holds_tuples() -> None:
    """Creates and updates become tuples; upload defaults to None."""
    change_set = ChangeSet(creates=[_record("1")], updates=iter([_record("2")]))
    assert change_set.creates == (_record("1"),)
    assert change_set.updates == (_record("2"),)
    assert ChangeSet() == ChangeSet(creates=(), updates=(), upload=None)


def test_a_change_set_repr_counts_instead_of_listing() -> None:
    """A million-record change set prints as one line."""
    change_set = ChangeSet(creates=[_record("1"), _record("2")], upload=_entry())
    assert repr(change_set) == "<ChangeSet: 2 creates, 0 updates, upload='sha256:0'>"
    assert repr(ChangeSet()) == "<ChangeSet: 0 creates, 0 updates>"


def test_a_change_set_names_each_key_once() -> None:
    """A key in creates and updates, or twice in one, is refused on construction."""
    with pytest.raises(InvalidValueError) as caught:
        ChangeSet(creates=[_record("1")], updates=[_record("1", "other@example.com")])
    assert str(caught.value) == (
        "a change set names each key and each email once; repeated: key '1'"
    )


def test_a_change_set_gives_each_email_to_one_record() -> None:
    """Two records with one email, in any case, are refused on construction."""
    with pytest.raises(InvalidValueError) as caught:
        ChangeSet(creates=[_record("1", "ada@example.com"), _record("2", "ADA@example.com")])
    assert str(caught.value) == (
        "a change set names each key and each email once; repeated: "
        "email 'ada@example.com' for '1', '2'"
    )


def test_a_long_list_of_repeats_is_cut_short() -> None:
    """The message shows five repeats and counts the rest."""
    records = [_record(str(n)) for n in range(8)]
    with pytest.raises(InvalidValueError) as caught:
        ChangeSet(creates=records, updates=records)
    assert str(caught.value).endswith("key '4' and 11 more")


def test_a_change_set_holds_only_user_records() -> None:
    """Anything else in creates or updates is refused, naming the field."""
    with pytest.raises(InvalidValueError) as caught:
        ChangeSet(updates=["1001"])  # type: ignore[list-item]
    assert str(caught.value) == "updates must hold UserRecord values, got '1001'"
    assert caught.value.field == "updates"


# UploadEntry


def test_an_upload_entry_normalises_its_values() -> None:
    """Mode and product take their values as strings; ids are trimmed; counts are a mapping."""
    entry = _entry(actor_id=" sa-1 ", mode="partial", product="marketing", counts={"created": 2})
    assert entry.actor_id == "sa-1"
    assert entry.mode is UploadMode.PARTIAL
    assert entry.product is Product.MARKETING
    assert entry.counts == {"created": 2}
    assert dict(entry.counts) == {"created": 2}
    assert _entry().product is Product.COMMUNITY


def test_an_upload_entry_is_immutable_hashable_and_pickles() -> None:
    """Counts cannot be changed through the entry; entries hash and pickle."""
    entry = _entry(counts={"created": 2, "updated": 1})
    assert hash(entry) == hash(_entry(counts={"updated": 1, "created": 2}))
    assert pickle.loads(pickle.dumps(entry)) == entry  # noqa: S301 - our own object
    assert not hasattr(entry.counts, "__setitem__")
    assert repr(entry.counts) == "{'created': 2, 'updated': 1}"
    assert entry.counts.__eq__(3) is NotImplemented


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"at": dt.datetime(2026, 3, 1)}, "at must be a timezone-aware datetime, got "),  # noqa: DTZ001
        ({"at": dt.date(2026, 3, 1)}, "at must be a timezone-aware datetime, got "),
        ({"mode": "merge"}, "mode: 'merge' is not one of 'full', 'partial'"),
        ({"actor_id": " "}, "actor_id must not be empty"),
        ({"file_digest": ""}, "file_digest must not be empty"),
        ({"counts": {"created": -1}}, "counts['created'] must be a non-negative int, got -1"),
        ({"counts": {"created": True}}, "counts['created'] must be a non-negative int, got True"),
        ({"counts": {"": 1}}, "counts names must be non-empty strings, got ''"),
    ],
)
def test_an_upload_entry_refuses_bad_values(fields: dict[str, object], message: str) -> None:
    """Each bad value is refused with a message naming the field."""
    with pytest.raises(InvalidValueError) as caught:
        _entry(**fields)
    assert str(caught.value).startswith(message)


def test_upload_mode_prints_its_value() -> None:
    """UploadMode's str is the value that files and history use."""
    assert str(UploadMode.FULL) == "full"


# The checks adapters share


def test_check_revision_passes_the_current_revision() -> None:
    """No error when the revisions agree."""
    check_revision("acme", 3, 3)


def test_check_revision_raises_a_conflict_with_both_revisions() -> None:
    """The error carries the tenant and both revisions, and says nothing was written."""
    with pytest.raises(ConflictError) as caught:
        check_revision("acme", 2, 3)
    assert str(caught.value) == (
        "tenant 'acme' is at revision 3, not 2: the store changed since the plan was made; "
        "nothing was written"
    )
    assert (caught.value.tenant_id, caught.value.expected, caught.value.actual) == ("acme", 2, 3)


def _check(change_set: ChangeSet, stored: Mapping[str, str]) -> None:
    """check_change_set against records given as key -> lower-cased email."""
    owners = {email: key for key, email in stored.items()}

    def stored_keys(keys: Sequence[str]) -> Collection[str]:
        return [k for k in keys if k in stored]

    def email_owners(emails: Sequence[str]) -> Mapping[str, str]:
        return {e: owners[e] for e in emails if e in owners}

    check_change_set("acme", change_set, stored_keys=stored_keys, email_owners=email_owners)


def test_check_change_set_lists_every_problem() -> None:
    """Each create, update and the upload entry is checked; all problems are listed."""
    stored = {"1": "user.1@example.com", "2": "grace@example.com"}
    change_set = ChangeSet(
        creates=[_record("1"), _record("3", "Grace@Example.com")],
        updates=[_record("9")],
        upload=_entry(tenant_id="globex"),
    )
    with pytest.raises(ChangeSetError) as caught:
        _check(change_set, stored)
    assert caught.value.problems == (
        "upload entry: it is for tenant 'globex'",
        "create '1': key already stored",
        "create '3': email 'Grace@example.com' already belongs to '2'",
        "update '9': no stored record has this key",
    )
    assert str(caught.value) == (
        "the change set does not fit the records of tenant 'acme', nothing was written: "
        + "; ".join(caught.value.problems)
    )
    assert caught.value.tenant_id == "acme"


def test_check_change_set_counts_problems_beyond_five() -> None:
    """The message lists five problems and counts the others; ``problems`` has them all."""
    with pytest.raises(ChangeSetError) as caught:
        _check(ChangeSet(updates=[_record(str(n)) for n in range(7)]), {})
    assert len(caught.value.problems) == 7
    assert str(caught.value).endswith("update '4': no stored record has this key; and 2 more")


def test_check_change_set_lets_updates_swap_and_free_emails() -> None:
    """An email is taken only if its owner keeps it after the commit."""
    stored = {"1": "ada@example.com", "2": "grace@example.com"}
    _check(
        ChangeSet(updates=[_record("1", "grace@example.com"), _record("2", "ada@example.com")]),
        stored,
    )
    _check(
        ChangeSet(
            updates=[_record("1", "x@example.com")], creates=[_record("3", "ada@example.com")]
        ),
        stored,
    )
    _check(ChangeSet(updates=[_record("1", "ADA@example.com")]), stored)


def test_a_change_set_error_pickles_with_its_context() -> None:
    """The tenant and problems survive pickling, as every library error's context does."""
    error = ChangeSetError(
        "refused", tenant_id="acme", problems=("create '1': key already stored",)
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, round-tripped
    assert (str(copy), copy.tenant_id, copy.problems) == (str(error), "acme", error.problems)


# The Protocols


def test_the_reference_adapters_implement_every_protocol() -> None:
    """Both adapters are Repository, its parts, and TenantStore."""
    with SqliteRepository() as sqlite:
        for repo in (MemoryRepository(), sqlite):
            for protocol in (RecordReader, UploadHistory, RecordWriter, Repository, TenantStore):
                assert isinstance(repo, protocol)


def test_a_read_only_store_is_a_reader_but_not_a_repository() -> None:
    """The Protocols are small: a class with only the reads is a RecordReader."""

    class Reads:
        def get(self, tenant_id: str, key: str) -> UserRecord | None:
            return None

        def get_by_email(self, tenant_id: str, email: str) -> UserRecord | None:
            return None

        def records(self, tenant_id: str) -> Sequence[UserRecord]:
            return []

        def count(self, tenant_id: str) -> int:
            return 0

        def revision(self, tenant_id: str) -> int:
            return 0

    assert isinstance(Reads(), RecordReader)
    assert not isinstance(Reads(), Repository)


# The contract suites need a fixture

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("suite", ["RepositoryContract", "TenantStoreContract"])
def test_a_contract_without_its_fixture_says_what_is_missing(
    pytester: pytest.Pytester, suite: str
) -> None:
    """A subclass that forgets the fixture fails each test with a message naming it."""
    pytester.makepyfile(
        f"""
        from provisioning.testing import {suite}

        class TestForgotten({suite}):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-x")
    fixture = "repository" if suite == "RepositoryContract" else "tenant_store"
    result.stdout.fnmatch_lines([f"*a {suite} subclass must define a `{fixture}` fixture*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
