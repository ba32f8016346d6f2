"""Marketing plans past ``hold`` changes: spilled to temporary files, same outcomes.

A contact plan keeps its first ``hold`` changes of each kind in memory and the rest in a
temporary file; whatever ``hold`` is, the plan says and applies the same thing.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import provisioning as pv
from provisioning.adapters import (
    COMMIT_STEPS,
    FaultHook,
    MemoryRepository,
    PostgresRepository,
    SqliteRepository,
    fail_at,
)
from provisioning.repository import ChangeSet, ContactChanges, ContactStore, Repository
from provisioning.uploads import _apply
from provisioning.uploads._spill import Spill

DAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
ADMIN = pv.Actor(id="sa-1", role="super_admin")
BY_ID = pv.Tenant(
    id="acme",
    name="Acme",
    products={"marketing": "spreadsheet_upload"},
    marketing_key="member_id",
)
PRO = pv.Tenant(
    id="acme",
    name="Acme",
    products={"marketing": "spreadsheet_upload"},
    marketing_edition="professional",
)
EVERY = tuple(pv.Safeguard)
UNSUBSCRIBING = pv.DEFAULT_RULEBOOK.with_settings(marketing_full_unsubscribes=True)
#: Holds small enough to spill every list of a small file, and one that keeps it all.
HOLDS = (0, 1, 3)
BIG = 50_000

_names = st.sampled_from(["", "Ada", "Bob", "Cy"])
_stored = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, 11), _names, st.booleans()),
    max_size=10,
    unique_by=(lambda t: t[0], lambda t: t[1]),
)
# A row: member id (10+ are new), email number (some stored contacts' emails, so that
# rows move emails, swap them and take other contacts' ones), first name; or a bad row.
_row = st.one_of(
    st.tuples(st.integers(0, 13), st.integers(0, 15), _names),
    st.just(None),
)
_file = st.lists(_row, max_size=14)


def _email(n: int) -> str:
    return f"c{n}@example.com"


def _store(kind: str, stored: list[tuple[int, int, str, bool]]) -> Repository:
    repo: Repository = MemoryRepository() if kind == "memory" else SqliteRepository()
    contacts = [
        pv.Contact(
            email=_email(e),
            member_id=f"M{k}",
            first_name=name or None,
            subscription="subscribed" if on else "unsubscribed",
        )
        for k, e, name, on in stored
    ]
    if contacts:
        changes = ContactChanges(key="member_id", creates=contacts)
        repo.commit("acme", ChangeSet(contacts=changes), 0)
    return repo


def _text(rows: list[tuple[int, int, str] | None]) -> str:
    lines = ["Email,MemberId,FirstName"]
    for row in rows:
        if row is None:
            lines.append("not an email,M99,Bad")
        else:
            k, e, name = row
            lines.append(f"{_email(e)},M{k},{name}")
    return "\r\n".join(lines) + "\r\n"


def _plan(
    tenant: pv.Tenant, text: str, repo: Repository, hold: int, **options: Any
) -> pv.ContactPlan:
    rows = pv.read(io.StringIO(text, newline=""), pv.contact_template(tenant))
    return pv.plan_contacts(tenant, ADMIN, rows, repo, as_of=DAY, hold=hold, **options)


def _said(plan: pv.ContactPlan) -> tuple[Any, ...]:
    """Everything a plan says, as plain values."""
    return (
        plan.counts,
        plan.applicable,
        plan.held_by,
        plan.left_out,
        list(plan.creates),
        list(plan.updates),
        list(plan.unchanged),
        list(plan.unsubscribes),
        plan.conflicts,
        list(plan.row_errors),
        plan.to_records(),
        list(plan.changes()),
        plan.summary(),
    )


def _contents(repo: Repository) -> tuple[Any, ...]:
    assert isinstance(repo, ContactStore)
    return (
        repo.revision("acme"),
        list(repo.contacts("acme")),
        [attrs_free(e) for e in repo.events("acme")],  # type: ignore[attr-defined]
        [(u.product, dict(u.counts)) for u in repo.uploads("acme")],
    )


def attrs_free(event: pv.audit.AuditEvent) -> tuple[Any, ...]:
    return (event.kind, event.key, event.changes, event.product, event.revision)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stored=_stored,
    rows=_file,
    hold=st.sampled_from(HOLDS),
    mode=st.sampled_from(["full", "partial"]),
    unsubscribing=st.booleans(),
    overrides=st.sampled_from([(), EVERY]),
    kind=st.sampled_from(["memory", "sqlite"]),
)
def test_a_spilled_plan_says_and_applies_what_a_held_one_does(
    *,
    stored: list[tuple[int, int, str, bool]],
    rows: list[tuple[int, int, str] | None],
    hold: int,
    mode: str,
    unsubscribing: bool,
    overrides: tuple[pv.Safeguard, ...],
    kind: str,
) -> None:
    """Whatever ``hold`` is, a plan has the same changes, conflicts, problems and counts,
    and applying it leaves the same contacts, events and history."""
    text = _text(rows)
    book = UNSUBSCRIBING if unsubscribing else pv.DEFAULT_RULEBOOK
    options: dict[str, Any] = {"mode": mode, "rulebook": book, "overrides": overrides}
    held_repo, spilled_repo = _store(kind, stored), _store(kind, stored)
    held = _plan(BY_ID, text, held_repo, BIG, **options)
    spilled = _plan(BY_ID, text, spilled_repo, hold, **options)
    assert _said(spilled) == _said(held)
    lists = (spilled.creates, spilled.updates, spilled.unchanged, spilled.unsubscribes)
    # Past ``hold`` items a list is in a file (rows left out afterwards may leave fewer).
    assert all(isinstance(items, Spill) for items in lists if len(items) > hold)
    if held.applicable:
        assert dict(pv.apply_plan(held, held_repo, now=NOW).counts.as_dict()) == dict(
            pv.apply_plan(spilled, spilled_repo, now=NOW).counts.as_dict()
        )
    assert _contents(spilled_repo) == _contents(held_repo)


@settings(max_examples=40, deadline=None)
@given(stored=_stored, rows=_file, mode=st.sampled_from(["full", "partial"]))
def test_a_reader_and_its_contacts_plan_alike(
    stored: list[tuple[int, int, str, bool]],
    rows: list[tuple[int, int, str] | None],
    mode: str,
) -> None:
    """Which stored contacts a file leaves out is asked of the reader's duplicate index;
    the contacts it yields, given as a plain list, leave out the same ones."""
    # A file the reader skips no row of: each key and email once.
    keys: set[int] = set()
    emails: set[int] = set()
    kept: list[tuple[int, int, str] | None] = []
    for row in rows:
        if row is not None and row[0] not in keys and row[1] not in emails:
            keys.add(row[0])
            emails.add(row[1])
            kept.append(row)
    text = _text(kept)
    repo = _store("memory", stored)
    by_reader = _plan(BY_ID, text, repo, 0, mode=mode, rulebook=UNSUBSCRIBING, overrides=EVERY)
    read = [
        item
        for item in pv.read(io.StringIO(text, newline=""), pv.contact_template(BY_ID))
        if isinstance(item, pv.Contact)
    ]
    by_list = pv.plan_contacts(
        BY_ID, ADMIN, read, repo, as_of=DAY, hold=0, mode=mode, rulebook=UNSUBSCRIBING,
        overrides=EVERY,
    )  # fmt: skip
    assert (by_list.left_out, list(by_list.unsubscribes)) == (
        by_reader.left_out,
        list(by_reader.unsubscribes),
    )
    assert list(by_list.creates) == list(by_reader.creates)
    assert list(by_list.updates) == list(by_reader.updates)
    assert list(by_list.unchanged) == list(by_reader.unchanged)


def test_a_file_keyed_by_email_finds_its_stored_contacts_by_email() -> None:
    """Keyed by email, the reader's email index says which stored contacts are in the
    file, whatever the case of the file's emails."""
    repo = MemoryRepository()
    stored = [pv.Contact(email="ada@example.com"), pv.Contact(email="bob@example.com")]
    repo.commit("acme", ChangeSet(contacts=ContactChanges(creates=stored)), 0)
    plan = _plan(PRO, "Email\r\nADA@Example.com\r\nzed@example.com\r\n", repo, 0)
    # ada's row changes the case of her email: an update of the stored contact.
    assert (plan.left_out, plan.counts.updated, plan.counts.created) == (1, 1, 1)
    book = UNSUBSCRIBING
    plan = _plan(PRO, "Email\r\nADA@Example.com\r\n", repo, 0, rulebook=book, overrides=EVERY)
    assert [u.key for u in plan.unsubscribes] == ["bob@example.com"]


def test_a_spilled_plan_is_read_only() -> None:
    """A spilled list of changes cannot be appended to once the plan is made."""
    text = "Email\r\n" + "".join(f"u{n}@example.com\r\n" for n in range(5))
    plan = _plan(PRO, text, MemoryRepository(), 2)
    creates = plan.creates
    assert isinstance(creates, Spill)
    assert len(creates) == 5
    assert [c.email for c in creates] == [f"u{n}@example.com" for n in range(5)]
    with pytest.raises(TypeError, match="read-only"):
        creates.append(pv.Contact(email="x@example.com"))


@pytest.mark.parametrize("hold", [-1, 1.5, "3", True])
def test_a_hold_that_is_no_whole_number_is_refused(hold: object) -> None:
    """hold is a whole number, 0 or more: anything else names the argument."""
    with pytest.raises(pv.InvalidValueError, match="hold must be a whole number"):
        _plan(PRO, "Email\r\n", MemoryRepository(), hold)  # type: ignore[arg-type]


# -- applying: one streamed commit -------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest) -> Iterator[Callable[..., Repository]]:
    """Makes new, empty stores of one kind, each taking an optional fault hook."""
    opened: list[Any] = []

    def make(fault: FaultHook | None = None) -> Repository:
        repo: Any
        if request.param == "memory":
            repo = MemoryRepository(fault=fault)
        elif request.param == "sqlite":
            repo = SqliteRepository(fault=fault)
        else:
            server = request.getfixturevalue("postgres_server")
            schema = f"{request.getfixturevalue('postgres_schema')}_{len(opened)}"
            repo = PostgresRepository(server.conninfo(), schema=schema, fault=fault)
        opened.append(repo)
        return repo  # type: ignore[no-any-return]

    yield make
    for repo in opened:
        if hasattr(repo, "close"):
            repo.close()


STORED = "Email,MemberId,FirstName\r\n" + "".join(
    f"c{n}@example.com,M{n},Old\r\n" for n in range(12)
)
#: Updates (two of them swapping emails, one moving to a new one), creates, unchanged.
CHANGES = (
    "Email,MemberId,FirstName\r\n"
    "c1@example.com,M0,Old\r\nc0@example.com,M1,Old\r\nnew@example.com,M2,Old\r\n"
    + "".join(f"c{n}@example.com,M{n},New\r\n" for n in range(3, 8))
    + "".join(f"c{n}@example.com,M{n},Old\r\n" for n in range(8, 12))
    + "".join(f"d{n}@example.com,D{n},New\r\n" for n in range(9))
)


def test_a_spilled_plan_is_committed_in_batches_with_progress(
    make_store: Callable[..., Repository],
) -> None:
    """A store that takes a contact stream gets the plan a batch at a time; progress is
    told the contacts handed on, the last count once every one is."""
    repo = make_store()
    pv.apply_plan(_plan(BY_ID, STORED, repo, 1), repo, now=NOW)
    plan = _plan(BY_ID, CHANGES, repo, 1, mode="partial")
    assert (plan.counts.updated, plan.counts.created) == (8, 9)
    told: list[int] = []
    receipt = pv.apply_plan(plan, repo, now=NOW, progress=told.append)
    assert receipt.revision == 2
    assert told[-1] == 17
    assert told == sorted(told)
    assert isinstance(repo, ContactStore)
    stored = dict(repo.contacts("acme"))
    assert (stored["M0"].email, stored["M1"].email, stored["M2"].email) == (
        "c1@example.com",
        "c0@example.com",
        "new@example.com",
    )
    assert len(stored) == 21
    events = repo.events("acme", after_revision=1)  # type: ignore[attr-defined]
    assert len(list(events)) == 17


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_a_fault_applying_a_spilled_plan_writes_nothing(
    make_store: Callable[..., Repository], step: str
) -> None:
    """A commit of a spilled plan failing at any step leaves every contact, event and
    upload as it was; the same plan lands after."""
    switch = Switch(step)
    repo = make_store(switch)
    pv.apply_plan(_plan(BY_ID, STORED, repo, 0), repo, now=NOW)
    before = _contents(repo)
    plan = _plan(BY_ID, CHANGES, repo, 0, mode="partial")
    assert isinstance(plan.creates, Spill)
    switch.armed = True
    with pytest.raises(pv.RepositoryError, match="injected fault"):
        pv.apply_plan(plan, repo, now=NOW)
    assert _contents(repo) == before
    switch.armed = False
    assert pv.apply_plan(plan, repo, now=NOW).revision == 2


class Switch:
    """A fault hook failing at ``step`` once armed, so that the store can be filled first."""

    def __init__(self, step: str) -> None:
        self.fail = fail_at(step)
        self.armed = False

    def __call__(self, step: str) -> None:
        if self.armed:
            self.fail(step)


@pytest.mark.parametrize("hold", [0, 3, BIG])
def test_the_events_of_a_contact_plan_are_those_its_constructor_makes(hold: int) -> None:
    """The events an apply writes (built without running AuditEvent's checks again, the
    changes of spilled updates read from beside their rows) are what AuditEvent's own
    constructor makes of each change, in the plan's order."""
    repo = MemoryRepository()
    pv.apply_plan(_plan(BY_ID, STORED, repo, BIG), repo, now=NOW)
    plan = _plan(BY_ID, CHANGES, repo, hold, mode="partial")
    made = list(_apply._contact_events(plan, NOW))
    expected = [
        pv.audit.AuditEvent(
            at=NOW,
            tenant_id="acme",
            key=key,
            actor_id=ADMIN.id,
            role=ADMIN.role,
            channel=pv.audit.Channel.UPLOAD,
            kind="created" if kind == "created" else "updated",
            changes=change.changes if isinstance(change, pv.ContactUpdate) else (),
            rules=tuple(plan.decision.rules),
            product="marketing",
        )
        for kind, key, change in plan.changes()
    ]
    assert made == expected
    assert [attrs.evolve(e) for e in made] == made
    assert all(type(c) is pv.FieldChange for e in made for c in e.changes)
