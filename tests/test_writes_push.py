"""The integration's push: upsert / patch / deactivate / reactivate, all or none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import provisioning as pv
from provisioning import writes
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.repository import Repository
from provisioning.writes import PushOperation

SUMMIT = pv.Tenant(
    id="summit",
    name="Summit",
    products={"community": "standard_integration"},
    integration="imis",
)
SYNC = pv.Actor(id="imis-sync", role="integration")


def cells(key: str, **more: str) -> dict[str, str]:
    return {
        "LegacyContactKey": key,
        "FirstName": "First",
        "LastName": "Last",
        "EmailAddress": f"user{key}@example.org",
        "CompanyName": "Acme",
    } | more


@pytest.fixture(params=["memory", "sqlite"])
def repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    if request.param == "memory":
        yield MemoryRepository()
        return
    with SqliteRepository(":memory:") as store:
        yield store


def ok(outcome: writes.PushResult | tuple[writes.PushError, ...]) -> writes.PushResult:
    assert isinstance(outcome, writes.PushResult), outcome
    return outcome


def test_upsert_creates_then_replaces_the_whole_record(repo: Repository) -> None:
    first = ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1", Title="Dr"))], repo))
    assert [e.kind.value for e in first.events] == ["created"]
    again = ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1", City="Oslo"))], repo))
    stored = repo.get("summit", "1")
    assert stored is not None
    assert (stored.title, stored.city) == (None, "Oslo")  # a field left out is cleared
    assert [(c.field, c.old, c.new) for c in again.events[0].changes] == [
        ("title", "Dr", None),
        ("city", None, "Oslo"),
    ]


def test_patch_changes_only_what_it_names(repo: Repository) -> None:
    ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1", Title="Dr"))], repo))
    ok(
        writes.push(
            SUMMIT, SYNC, [PushOperation("patch", {"LegacyContactKey": "1", "City": "Oslo"})], repo
        )
    )
    stored = repo.get("summit", "1")
    assert stored is not None
    assert (stored.title, stored.city) == ("Dr", "Oslo")


def test_a_sync_does_not_undo_a_deactivation(repo: Repository) -> None:
    ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1"))], repo))
    ok(writes.push(SUMMIT, SYNC, [PushOperation("deactivate", {"LegacyContactKey": "1"})], repo))
    upserted = ok(
        writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1", Title="Dr"))], repo)
    )
    stored = repo.get("summit", "1")
    assert stored is not None
    assert stored.status is pv.RecordStatus.DEACTIVATED  # DEACTIVATE_NOT_DELETE
    assert stored.title == "Dr"
    assert [c.field for c in upserted.events[0].changes] == ["title"]
    back = ok(
        writes.push(SUMMIT, SYNC, [PushOperation("reactivate", {"LegacyContactKey": "1"})], repo)
    )
    assert back.events[0].kind is pv.AuditKind.REACTIVATED
    assert "REACTIVATE_USER" in back.events[0].rules


def test_records_the_push_does_not_name_are_untouched(repo: Repository) -> None:
    ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells(k)) for k in "123"], repo))
    ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1", Title="Dr"))], repo))
    assert {r.status for r in repo.records("summit")} == {pv.RecordStatus.ENABLED}
    assert repo.count("summit") == 3


def test_one_bad_operation_writes_nothing_and_every_error_names_its_line(repo: Repository) -> None:
    ops = [
        PushOperation("upsert", cells("1"), line=1),
        PushOperation("upsert", cells("2", EmailAddress="nope"), line=2),
        PushOperation("patch", {"LegacyContactKey": "9", "City": "Oslo"}, line=3),
        PushOperation("upsert", cells("1"), line=4),
        PushOperation("patch", {"LegacyContactKey": "1", "Status": "Enabled"}, line=5),
    ]
    errors = writes.push(SUMMIT, SYNC, ops, repo)
    assert isinstance(errors, tuple)
    assert [(e.line, e.key) for e in errors] == [(2, "2"), (3, "9"), (4, "1"), (5, "1")]
    assert "EmailAddress" in errors[0].message
    assert repo.count("summit") == 0
    assert repo.revision("summit") == 0


def test_a_push_to_another_method_or_by_a_person_is_refused_and_audited(repo: Repository) -> None:
    site = pv.Tenant(id="rb", name="RB", products={"community": "spreadsheet_upload"})
    with pytest.raises(pv.RefusedError) as caught:
        writes.push(site, SYNC, [PushOperation("upsert", cells("1"))], repo)
    assert "UPLOAD_CSV_ONLY" in caught.value.rules
    with pytest.raises(pv.RefusedError) as person:
        writes.push(SUMMIT, pv.Actor(id="p", role="super_admin"), [], repo)
    assert person.value.rules == ("ROLE_PERMISSIONS",)
    refused = list(repo.events("summit"))  # type: ignore[attr-defined]
    assert [e.kind.value for e in refused] == ["refused"]
    assert repo.revision("summit") == 0


def test_a_push_that_changes_nothing_commits_nothing(repo: Repository) -> None:
    ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1"))], repo))
    same = ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1"))], repo))
    assert (same.revision, same.events, same.unchanged) == (None, (), ("1",))
    assert repo.revision("summit") == 1


def test_a_patch_does_not_set_the_status(repo: Repository) -> None:
    ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1"))], repo))
    errors = writes.push(
        SUMMIT,
        SYNC,
        [PushOperation("patch", {"LegacyContactKey": "1", "Status": "Rejected"})],
        repo,
    )
    assert isinstance(errors, tuple)
    assert "deactivate or reactivate" in errors[0].message


def test_a_push_records_its_channel_and_takes_only_integration_or_scim() -> None:
    """Events of a SCIM write say ``scim``; a push claiming another channel is refused."""

    repo = MemoryRepository()
    summit = pv.Tenant(id="summit", name="Summit", integration="imis",
                       products={"community": "standard_integration"})  # fmt: skip
    bot = pv.Actor(id="imis", role="integration")
    cells = {"LegacyContactKey": "1", "FirstName": "A", "LastName": "B",
             "EmailAddress": "a@example.org", "CompanyName": "C"}  # fmt: skip
    op = writes.PushOperation(op="upsert", record=cells)
    done = writes.push(summit, bot, [op], repo, channel="scim")
    assert isinstance(done, writes.PushResult)
    assert [e.channel for e in done.events] == [pv.Channel.SCIM]
    with pytest.raises(pv.InvalidValueError, match="integration or SCIM"):
        writes.push(summit, bot, [op], repo, channel="admin")


def test_a_key_given_in_two_spellings_is_refused_and_writes_nothing() -> None:
    """An operation naming LegacyContactKey twice (two spellings) is an error: it can
    never be checked against one record and written to another."""
    repo = MemoryRepository()
    summit = pv.Tenant(id="summit", name="Summit", integration="imis",
                       products={"community": "standard_integration"})  # fmt: skip
    bot = pv.Actor(id="imis", role="integration")
    base = {"FirstName": "A", "LastName": "B", "CompanyName": "C"}
    first = [
        writes.PushOperation(op="upsert", record={"LegacyContactKey": k, **base,
                                                  "EmailAddress": f"{k}@example.org"})
        for k in ("A", "B")
    ]  # fmt: skip
    assert isinstance(writes.push(summit, bot, first, repo), writes.PushResult)
    twice = {"LegacyContactKey": "A", "legacycontactkey": "B", **base,
             "EmailAddress": "x@example.org"}  # fmt: skip
    for op in ("upsert", "patch"):
        errors = writes.push(summit, bot, [writes.PushOperation(op=op, record=twice)], repo)
        assert isinstance(errors, tuple)
        assert errors
    assert {r.email for r in repo.records("summit")} == {"A@example.org", "B@example.org"}


def test_a_push_creates_no_account_request_and_a_patch_keeps_custom_fields() -> None:
    """An upsert creating a Pending record is an error (requests are a standalone
    site's); a patch of a record with custom fields keeps them."""
    repo = MemoryRepository()
    summit = pv.Tenant(id="summit", name="Summit", integration="imis",
                       products={"community": "standard_integration"})  # fmt: skip
    bot = pv.Actor(id="imis", role="integration")
    pending = {"LegacyContactKey": "P", "FirstName": "A", "LastName": "B",
               "EmailAddress": "p@example.org", "CompanyName": "C",
               "Status": "Pending Approval"}  # fmt: skip
    asked = writes.PushOperation(op="upsert", record=pending)
    errors = writes.push(summit, bot, [asked], repo)
    assert isinstance(errors, tuple)
    assert "STANDALONE_ACCOUNT_REQUESTS" in errors[0].message
    noted = pv.UserRecord(legacy_contact_key="k1", first_name="a", last_name="b",
                          email="k1@example.org", company_name="c",
                          custom={"Note": "x"})  # fmt: skip
    repo.commit("summit", pv.repository.ChangeSet(creates=[noted]), 0)
    patch = writes.PushOperation(op="patch", record={"LegacyContactKey": "k1", "City": "Oslo"})
    done = writes.push(summit, bot, [patch], repo)
    assert isinstance(done, writes.PushResult)
    stored = repo.get("summit", "k1")
    assert stored is not None
    assert (stored.city, dict(stored.custom)) == ("Oslo", {"Note": "x"})


def test_then_changes_the_status_after_the_fields_in_the_same_commit(repo: Repository) -> None:
    """then=deactivate after an upsert: one commit, an updated and a deactivated event;
    then=reactivate after a patch is decided as REACTIVATE_USER too."""
    ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1"))], repo))
    before = repo.revision("summit")
    done = ok(
        writes.push(
            SUMMIT,
            SYNC,
            [PushOperation("upsert", cells("1", Title="Dr"), then="deactivate")],
            repo,
        )
    )
    assert done.revision == before + 1
    assert [e.kind.value for e in done.events] == ["updated", "deactivated"]
    assert [(c.field, c.new) for c in done.events[1].changes] == [("status", "Deactivated")]
    stored = repo.get("summit", "1")
    assert stored is not None
    assert (stored.title, stored.status) == ("Dr", pv.RecordStatus.DEACTIVATED)
    back = ok(
        writes.push(
            SUMMIT,
            SYNC,
            [PushOperation("patch", {"LegacyContactKey": "1", "City": "Oslo"}, then="reactivate")],
            repo,
        )
    )
    assert [e.kind.value for e in back.events] == ["updated", "reactivated"]
    assert "REACTIVATE_USER" in back.events[1].rules


def test_then_on_a_new_record_creates_it_deactivated(repo: Repository) -> None:
    """An upsert of a new key with then=deactivate: created and deactivated, one commit."""
    done = ok(
        writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("7"), then="deactivate")], repo)
    )
    assert [e.kind.value for e in done.events] == ["created", "deactivated"]
    assert repo.revision("summit") == done.revision
    stored = repo.get("summit", "7")
    assert stored is not None
    assert stored.status is pv.RecordStatus.DEACTIVATED


def test_then_with_nothing_to_change_changes_nothing(repo: Repository) -> None:
    """then=reactivate of an enabled record whose fields are unchanged: no commit."""
    ok(writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1"))], repo))
    done = ok(
        writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1"), then="reactivate")], repo)
    )
    assert (done.revision, done.events, done.unchanged) == (None, (), ("1",))


@pytest.mark.parametrize(
    ("op", "then", "message"),
    [
        ("upsert", "patch", "then is deactivate or reactivate, not 'patch'"),
        ("deactivate", "reactivate", "then follows an upsert or a patch, not a deactivate"),
        ("upsert", "sideways", "then"),
    ],
)
def test_then_is_a_status_change_after_a_field_change(op: str, then: str, message: str) -> None:
    """then names deactivate or reactivate, after an upsert or a patch; anything else is
    an InvalidValueError naming the field."""
    with pytest.raises(pv.InvalidValueError, match=message) as caught:
        PushOperation(op, cells("1"), then=then)
    assert caught.value.field == "then"


def test_also_is_audited_with_the_change_or_on_its_own(repo: Repository) -> None:
    """also: a host's own changes beside the record, in the operation's first event, or
    an updated event of their own when the record does not change."""
    renamed = (pv.FieldChange("userName", "a", "b"),)
    created = ok(
        writes.push(SUMMIT, SYNC, [PushOperation("upsert", cells("1"), also=renamed)], repo)
    )
    assert [(c.field, c.new) for c in created.events[0].changes] == [("userName", "b")]
    alone = ok(
        writes.push(
            SUMMIT, SYNC, [PushOperation("patch", {"LegacyContactKey": "1"}, also=renamed)], repo
        )
    )
    assert (alone.revision, [e.kind.value for e in alone.events]) == (2, ["updated"])
    assert alone.events[0].changes == renamed
    kinds = [e.kind.value for e in repo.events("summit")]  # type: ignore[attr-defined]
    assert kinds == ["created", "updated"]
    with pytest.raises(pv.InvalidValueError, match="also must be FieldChange values"):
        PushOperation("patch", {"LegacyContactKey": "1"}, also="userName")  # type: ignore[arg-type]
