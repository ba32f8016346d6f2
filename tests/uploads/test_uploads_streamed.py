"""The streamed planner against the pre-streaming one: one plan for any store and any file.

The oracle is the old in-memory planner (``_reference_plan``). Files are CSV text read by
:func:`provisioning.spreadsheet.read`, with few keys and few emails so that they repeat
keys, reuse and swap emails in any case, and move an email from one stored record to
another row; they leave out optional columns (fields are carried) and hold broken rows
whose cells name stored keys. The streamed planner runs on both adapters (and on a store
without ``BatchReader``), keeping 0, 1, 3 or 50,000 changes of a kind in memory.
"""

from __future__ import annotations

import gc
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from unittest import mock

import attrs
import pytest
from _reference_plan import reference_plan
from _upload_helpers import AS_OF, NOW, TENANT, plan, store, user
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.audit import changes_between
from provisioning.repository import BatchReader, ChangeSet, Repository, UploadEntry
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, ErrorCode, RowError, read
from provisioning.uploads import _plan, _spill
from provisioning.uploads._spill import Spill

ALL = tuple(pv.Safeguard)
HOLDS = (0, 1, 3, 50_000)
#: The fields of a plan that hold lists of changes (spilled past ``hold``).
LISTS = ("creates", "updates", "unchanged", "deactivations", "reactivations", "password_notices")

# Few keys and few emails: files repeat keys, reuse and swap emails, take stored ones.
KEYS = ("1", "2", "3", "4", "5", "6")
NEW_KEYS = ("7", "8")
REQUIRED = ("LegacyContactKey", "FirstName", "LastName", "EmailAddress", "CompanyName")
#: Optional columns a file may leave out; "Chapter" is no template column: custom data.
OPTIONAL = ("Title", "City", "Status", "Chapter")
STATUS_CELLS = (
    "",
    "Enabled",
    "Deactivated",
    "deactivated",
    "Pending Approval",
    "PENDING VERIFICATION",
    "Rejected",
)

ADMIN = pv.Actor(id="sa-1", role="super_admin", name="Sam")
#: A Super Admin whose own id is a record key: always protected.
ADMIN_WITH_A_KEY = pv.Actor(id="2", role="super_admin", name="Two")
SSO_TENANT = pv.Tenant(
    id="acme",
    name="Acme",
    products={"community": "spreadsheet_upload"},
    sso=pv.SsoSetup(
        protocol="saml_2_0",
        identity_provider="Acme AMS",
        identifier_is_legacy_contact_key=True,
        saml_signed=True,
        go_live=AS_OF,
        requested_on=AS_OF.replace(month=8, day=1),
    ),
)


@st.composite
def emails(draw: st.DrawFn) -> str:
    """One of seven addresses, in any case."""
    n = draw(st.integers(0, 6))
    local = draw(st.sampled_from([f"user{n}", f"User{n}", f"USER{n}"]))
    domain = draw(st.sampled_from(["example.com", "Example.COM"]))
    return f"{local}@{domain}"


def _stored_record(
    *,
    key: str,
    email: str,
    title: str | None,
    city: str | None,
    status: pv.RecordStatus,
    chapter: str,
) -> pv.UserRecord:
    custom = {"Chapter": chapter} if chapter else {}
    return user(key, email, title=title, city=city, status=status, custom=custom)


stored_sets = st.lists(
    st.builds(
        _stored_record,
        key=st.sampled_from(KEYS),
        email=emails(),
        title=st.sampled_from([None, "Dr", "Prof"]),
        city=st.sampled_from([None, "Oslo"]),
        status=st.sampled_from(pv.RecordStatus),
        chapter=st.sampled_from(["", "North"]),
    ),
    max_size=7,
    unique_by=(lambda r: r.legacy_contact_key, lambda r: r.email_key),
)

#: How a row goes wrong: a bad email, a missing name, an unknown status, too few or too
#: many cells, quotes the reader cannot split.
BREAKS = ("email", "first_name", "status", "too_few", "too_many", "quote")
#: What a row copied from a stored record changes, if anything.
EDITS = (None, None, "title", "status", "enable", "email", "first_name")


def _status_cell(status: pv.RecordStatus, shout: bool) -> str:
    return status.value.upper() if shout else status.value


def _cells_of(record: pv.UserRecord, shout: bool) -> dict[str, str]:
    """The cells of a row that says what ``record`` holds."""
    return {
        "LegacyContactKey": record.legacy_contact_key,
        "FirstName": record.first_name,
        "LastName": record.last_name,
        "EmailAddress": record.email,
        "CompanyName": record.company_name,
        "Title": record.title or "",
        "City": record.city or "",
        "Status": _status_cell(record.status, shout),
        "Chapter": record.custom.get("Chapter", ""),
    }


@st.composite
def _cells(draw: st.DrawFn, stored: list[pv.UserRecord]) -> dict[str, str]:
    """One row's cells: a stored record's, maybe with one change, or anything."""
    copy = draw(st.booleans())
    if stored and copy:
        cells = _cells_of(draw(st.sampled_from(stored)), draw(st.booleans()))
        edit = draw(st.sampled_from(EDITS))
        if edit == "title":
            cells["Title"] = draw(st.sampled_from(["", "Dr", "Prof"]))
        elif edit == "status":
            cells["Status"] = draw(st.sampled_from(STATUS_CELLS))
        elif edit == "enable":
            cells["Status"] = "Enabled"
        elif edit == "email":
            cells["EmailAddress"] = draw(emails())
        elif edit == "first_name":
            cells["FirstName"] = "Ada"
    else:
        key = draw(st.sampled_from(KEYS + NEW_KEYS))
        cells = {
            "LegacyContactKey": key,
            "FirstName": draw(st.sampled_from([f"First{key}", "Ada"])),
            "LastName": "Last",
            "EmailAddress": draw(emails()),
            "CompanyName": "Acme",
            "Title": draw(st.sampled_from(["", "Dr", "Prof"])),
            "City": draw(st.sampled_from(["", "Oslo"])),
            "Status": draw(st.sampled_from(STATUS_CELLS)),
            "Chapter": draw(st.sampled_from(["", "North"])),
        }
    key = cells["LegacyContactKey"]
    cells["LegacyContactKey"] = draw(st.sampled_from([key, key, f" {key}", f"{key} "]))
    return cells


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[pv.UserRecord], str]:
    """A stored set, and the text of an upload file for it.

    The file has the required columns and some optional ones, in any order; about half
    its rows copy a stored record (changed in one field, or not at all), the others are
    anything; about one row in eight is broken.
    """
    stored = draw(stored_sets)
    optional = draw(st.lists(st.sampled_from(OPTIONAL), unique=True))
    header = draw(st.permutations((*REQUIRED, *optional)))
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 10))):
        cells = draw(_cells(stored))
        broken = draw(st.sampled_from(BREAKS)) if draw(st.integers(0, 7)) == 0 else None
        if broken == "email":
            cells["EmailAddress"] = "not-an-email"
        elif broken == "first_name":
            cells["FirstName"] = ""
        elif broken == "status" and "Status" in header:
            cells["Status"] = "Banned"
        elif broken == "quote":
            cells["FirstName"] = '"First"x'
        row = [cells[h] for h in header]
        if broken == "too_few":
            row = row[:-1]
        elif broken == "too_many":
            row += ["x"]
        lines.append(",".join(row))
    return stored, "\r\n".join(lines) + "\r\n"


def _row_error(number: int, key: str, severity: pv.spreadsheet.Severity) -> RowError:
    return RowError(
        record=number,
        line=number + 1,
        column="EmailAddress",
        code=ErrorCode.INVALID_EMAIL,
        message="bad",
        value="bad",
        severity=severity,
        row=(key, "First", "Last", "bad", "Acme"),
    )


_file_records = st.builds(
    lambda key, email, title, status: user(key, email, title=title, status=status),
    st.sampled_from(KEYS + NEW_KEYS),
    emails(),
    st.sampled_from([None, "Dr", "Prof"]),
    st.sampled_from(pv.RecordStatus),
)
_row_errors = st.builds(
    _row_error,
    st.integers(1, 20),
    st.sampled_from(KEYS + NEW_KEYS + ("7;junk", '"3"')),
    st.sampled_from([pv.spreadsheet.Severity.ERROR, pv.spreadsheet.Severity.WARNING]),
)


@st.composite
def _copies(draw: st.DrawFn, stored: list[pv.UserRecord]) -> pv.UserRecord:
    """A stored record as it is, or with another title, status or email."""
    record = draw(st.sampled_from(stored))
    edit = draw(st.sampled_from(EDITS))
    if edit == "title":
        return attrs.evolve(record, title=draw(st.sampled_from([None, "Dr", "Prof"])))
    if edit == "status":
        return attrs.evolve(record, status=draw(st.sampled_from(pv.RecordStatus)))
    if edit == "enable":
        return attrs.evolve(record, status=pv.RecordStatus.ENABLED)
    if edit == "email":
        return attrs.evolve(record, email=draw(emails()))
    return record


@st.composite
def record_scenarios(draw: st.DrawFn) -> tuple[list[pv.UserRecord], list[pv.UserRecord | RowError]]:
    """A stored set, and a plain list of records for it (no reader): keys and emails
    repeat, stored records come back changed or not, row errors are among them."""
    stored = draw(stored_sets)
    items: list[st.SearchStrategy[pv.UserRecord | RowError]] = [_file_records, _row_errors]
    if stored:
        items += [_copies(stored), _copies(stored)]
    rows = draw(st.lists(st.one_of(items), max_size=10))
    return stored, rows


modes = st.sampled_from(pv.UploadMode)
holds = st.sampled_from(HOLDS)
overrides = st.lists(st.sampled_from(ALL), unique=True)
protected = st.lists(st.sampled_from(KEYS + NEW_KEYS), unique=True, max_size=3)
actors = st.sampled_from([ADMIN, ADMIN_WITH_A_KEY])
tenants = st.sampled_from([TENANT, SSO_TENANT])


@attrs.frozen
class Options:
    """What a test plans with, besides the file and the store."""

    mode: pv.UploadMode
    hold: int
    overrides: tuple[pv.Safeguard, ...]
    protected_keys: tuple[str, ...]
    actor: pv.Actor
    tenant: pv.Tenant
    #: Rows the planner looks up at once (``_plan.ROWS_PER_BATCH``), and items a spill
    #: writes at once (``_spill.BATCH``): small ones put the edges of batches in a file.
    rows_per_batch: int = _plan.ROWS_PER_BATCH
    spill_batch: int = _spill.BATCH


options = st.builds(
    Options,
    mode=modes,
    hold=holds,
    overrides=overrides.map(tuple),
    protected_keys=protected.map(tuple),
    actor=actors,
    tenant=tenants,
    rows_per_batch=st.sampled_from([1, 2, 3, _plan.ROWS_PER_BATCH]),
    spill_batch=st.sampled_from([1, 2, _spill.BATCH]),
)


class PlainRepository:
    """A repository with the Repository protocol only (no BatchReader): read whole."""

    def __init__(self, inner: Repository) -> None:
        self._inner = inner

    def get(self, tenant_id: str, key: str) -> pv.UserRecord | None:
        return self._inner.get(tenant_id, key)

    def get_by_email(self, tenant_id: str, email: str) -> pv.UserRecord | None:
        return self._inner.get_by_email(tenant_id, email)

    def records(self, tenant_id: str) -> Iterator[pv.UserRecord]:
        return self._inner.records(tenant_id)

    def count(self, tenant_id: str) -> int:
        return self._inner.count(tenant_id)

    def revision(self, tenant_id: str) -> int:
        return self._inner.revision(tenant_id)

    def uploads(self, tenant_id: str) -> Sequence[UploadEntry]:
        return self._inner.uploads(tenant_id)

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        return self._inner.commit(tenant_id, change_set, expected_revision)


def _reader(text: str) -> pv.spreadsheet.Reader[pv.UserRecord]:
    return read(io.StringIO(text, newline=""), COMMUNITY_UPLOAD_USERS)


def _streamed(rows: Any, repo: Repository, o: Options) -> pv.UploadPlan:
    return plan(
        rows,
        repo,
        tenant=o.tenant,
        actor=o.actor,
        mode=o.mode,
        overrides=o.overrides,
        protected_keys=o.protected_keys,
        file_digest="sha256:f",
        hold=o.hold,
    )


def _oracle(rows: Any, repo: Repository, o: Options) -> pv.UploadPlan:
    return reference_plan(
        o.tenant,
        o.actor,
        rows,
        repo,
        as_of=AS_OF,
        mode=o.mode,
        overrides=o.overrides,
        protected_keys=o.protected_keys,
        file_digest="sha256:f",
    )


def assert_same_plan(got: pv.UploadPlan, expected: pv.UploadPlan) -> None:
    """Field by field first, for a message naming the field; then the plans as wholes."""
    for field in attrs.fields(pv.UploadPlan):
        if not field.eq:
            continue  # the row log: what the results file is made of, tested there
        ours, theirs = getattr(got, field.name), getattr(expected, field.name)
        assert ours == theirs, f"{field.name}: {ours!r} != {theirs!r}"
        if field.name in LISTS:
            assert list(ours) == list(theirs), field.name
    assert got == expected


def _check_all(stored: list[pv.UserRecord], rows: Callable[[], Any], o: Options) -> pv.UploadPlan:
    """Plan ``rows()`` (made anew for each planner) on every store; all plans agree."""
    expected = _oracle(rows(), store(stored), o)
    with (
        mock.patch.object(_plan, "ROWS_PER_BATCH", o.rows_per_batch),
        mock.patch.object(_spill, "BATCH", o.spill_batch),
        SqliteRepository(":memory:") as sqlite,
    ):
        for repo in (store(stored), PlainRepository(store(stored)), store(stored, sqlite)):
            assert_same_plan(_streamed(rows(), repo, o), expected)
    return expected


@given(scenarios(), options)
def test_a_file_plans_as_the_in_memory_planner_planned_it(
    scenario: tuple[list[pv.UserRecord], str], o: Options
) -> None:
    """A CSV file read by spreadsheet.read: the streamed plan is the old planner's plan."""
    stored, text = scenario
    _check_all(stored, lambda: _reader(text), o)


@given(scenarios(), options)
def test_a_file_given_as_a_list_plans_as_the_in_memory_planner_planned_it(
    scenario: tuple[list[pv.UserRecord], str], o: Options
) -> None:
    """The same file's rows as a plain list: whole records, no column carried."""
    stored, text = scenario
    _check_all(stored, lambda: list(_reader(text)), o)


@given(record_scenarios(), options)
def test_a_list_of_records_plans_as_the_in_memory_planner_planned_it(
    scenario: tuple[list[pv.UserRecord], list[pv.UserRecord | RowError]], o: Options
) -> None:
    """Records with repeated keys and emails, row errors among them, given as a list."""
    stored, rows = scenario
    _check_all(stored, lambda: iter(rows), o)


def test_a_file_with_every_case_at_once_plans_alike() -> None:
    """One fixed file holding each case the differential tests are for, in small batches:
    the planners agree, on the plan this file must give."""
    stored = [
        user("1", "user1@example.com"),
        user("2", "user2@example.com", status=pv.RecordStatus.DEACTIVATED),
        user("3", "user3@example.com", title="Dr"),
        user("4", "user4@example.com"),
        user("5", "user5@example.com"),
    ]
    text = (
        "LegacyContactKey,EmailAddress,FirstName,LastName,CompanyName,Status\r\n"
        "1,USER3@example.com,First1,Last,Acme,\r\n"  # takes 3's email, 3 moves away
        "3,user1@Example.COM,First3,Last,Acme,\r\n"  # ...to 1's: a swap, in another case
        " 2 ,user2@example.com,First2,Last,Acme,Enabled\r\n"  # reactivated
        "2,user9@example.com,First2,Last,Acme,\r\n"  # a repeated key
        "7,user5@example.com,First7,Last,Acme,\r\n"  # 5's email: a conflict
        "4,not-an-email,First4,Last,Acme,\r\n"  # unreadable: 4 stays
        '8,"First"x,Last,user8@example.com,Acme,\r\n'  # a row the reader cannot split
    )
    o = Options(pv.UploadMode.FULL, 0, ALL, ("5",), ADMIN, TENANT, rows_per_batch=2, spill_batch=1)
    p = _check_all(stored, lambda: _reader(text), o)
    assert [u.key for u in p.updates] == ["1", "3"]
    assert [u.key for u in p.reactivations] == ["2"]
    assert [c.key for c in p.conflicts] == ["7"]
    assert p.unreadable == ("4",)
    assert [u.key for u in p.deactivations] == ["5"]
    present = ("legacy_contact_key", "first_name", "last_name", "email", "company_name", "status")
    assert p.kept_fields == tuple(f for f in attrs.fields_dict(pv.UserRecord) if f not in present)
    assert pv.Safeguard.SUPER_ADMIN in p.tripped
    _check_all(stored, lambda: list(_reader(text)), o)


# -- spilled lists -----------------------------------------------------------------------


def _big_store() -> list[pv.UserRecord]:
    """Forty records, every fifth deactivated."""
    deactivated = pv.RecordStatus.DEACTIVATED
    return [
        user(f"{n:02}", status=deactivated) if n % 5 == 0 else user(f"{n:02}") for n in range(40)
    ]


def _big_file() -> list[pv.UserRecord]:
    """Every kind of change, several of each, and creates in conflict among them."""
    rows = []
    for n in range(40):
        key = f"{n:02}"
        if n % 5 == 0:
            rows.append(user(key))  # reactivated
        elif n % 5 == 1:
            rows.append(user(key, title="Dr"))  # updated
        elif n % 5 == 2:
            rows.append(user(key, status=pv.RecordStatus.DEACTIVATED))  # deactivated
        elif n % 5 == 3:
            rows.append(user(key))  # unchanged
        # n % 5 == 4: left out, deactivated by the full import
    rows += [user(f"n{n:02}") for n in range(12)]  # created
    rows += [user(f"c{n}", f"user0{n}@example.com") for n in range(1, 4)]  # in conflict
    return rows


@pytest.fixture(params=["memory", "sqlite"])
def new_store(request: pytest.FixtureRequest) -> Iterator[Callable[[], Repository]]:
    """A function giving a new store holding the big stored set, of one adapter."""
    opened: list[SqliteRepository] = []

    def make() -> Repository:
        if request.param == "memory":
            return store(_big_store())
        repo = SqliteRepository(":memory:")
        opened.append(repo)
        return store(_big_store(), repo)

    yield make
    for repo in opened:
        repo.close()


def _check_sequence(spilled: Sequence[Any], held: Sequence[Any]) -> None:
    assert isinstance(held, tuple)
    assert len(spilled) == len(held)
    assert list(spilled) == list(held)
    assert list(spilled) == list(spilled)  # read through twice, the same
    for index in range(-len(held), len(held)):
        assert spilled[index] == held[index]
    for index in (len(held), -len(held) - 1):
        with pytest.raises(IndexError):
            _ = spilled[index]
    for part in (slice(1, 3), slice(None, None, -1), slice(-2, None), slice(5, 1), slice(0, 99)):
        assert spilled[part] == held[part]
    assert spilled == held
    assert held == spilled
    assert not spilled != held  # noqa: SIM202 - the operator itself is under test
    if held:
        assert spilled != held[:-1]
        assert spilled != (*held[1:], held[0])


@pytest.mark.parametrize("batch", [1, 3, _spill.BATCH])
@pytest.mark.parametrize("hold", [0, 3])
def test_a_spilled_plan_reads_as_the_plan_held_in_memory(
    new_store: Callable[[], Repository],
    hold: int,
    batch: int,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Past ``hold`` the lists are read-only sequences in a file, equal to the tuples."""
    monkeypatch.setattr(_spill, "BATCH", batch)
    rows = _big_file()
    held = plan(rows, new_store(), overrides=ALL, file_digest="sha256:f", hold=50_000)
    spilled = plan(rows, new_store(), overrides=ALL, file_digest="sha256:f", hold=hold)
    assert held.counts == pv.UploadCounts(
        rows=47, created=12, updated=8, unchanged=8, deactivated=16, reactivated=8, conflicts=3
    )
    for name in LISTS:
        ours, theirs = getattr(spilled, name), getattr(held, name)
        assert isinstance(ours, Spill), name
        assert ours.spilled, name
        _check_sequence(ours, theirs)
    assert spilled == held
    assert held == spilled
    assert_same_plan(spilled, held)
    assert_same_plan(
        spilled, _oracle(rows, new_store(), Options(pv.UploadMode.FULL, 0, ALL, (), ADMIN, TENANT))
    )


@pytest.mark.parametrize("hold", [0, 1, 3])
def test_applying_a_spilled_plan_stores_what_the_held_plan_stores(
    new_store: Callable[[], Repository], hold: int, request: pytest.FixtureRequest
) -> None:
    """apply_plan reads a spilled plan through: the store ends the same, record for record."""
    rows = _big_file()
    repos = new_store(), new_store()
    held = plan(rows, repos[0], overrides=ALL, file_digest="sha256:f", hold=50_000)
    spilled = plan(rows, repos[1], overrides=ALL, file_digest="sha256:f", hold=hold)
    assert isinstance(spilled.creates, Spill)
    receipts = [pv.apply_plan(held, repos[0], now=NOW), pv.apply_plan(spilled, repos[1], now=NOW)]
    assert receipts[0].revision == receipts[1].revision == 2
    assert receipts[0].counts == receipts[1].counts
    assert list(receipts[0].events()) == list(receipts[1].events())
    first, second = (
        sorted(r.records(TENANT.id), key=lambda r: r.legacy_contact_key) for r in repos
    )
    assert first == second
    assert len(first) == 40 + 12
    assert list(repos[0].uploads(TENANT.id)) == list(repos[1].uploads(TENANT.id))
    again = plan(rows, repos[1], overrides=ALL, file_digest="sha256:f", hold=hold)
    assert again.counts.unchanged == 44


def test_both_adapters_are_batch_readers() -> None:
    """The differential tests plan through BatchReader on both adapters (and without it)."""
    with SqliteRepository(":memory:") as sqlite:
        for repo in (MemoryRepository(), sqlite):
            assert isinstance(repo, BatchReader)
            assert not isinstance(PlainRepository(repo), BatchReader)
            assert isinstance(PlainRepository(repo), Repository)


# -- a reader read from already ----------------------------------------------------------

_FILE = (
    "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\r\n"
    "1,First1,Last,user1@example.com,Acme\r\n"
    "2,First2,Last,user2@example.com,Acme\r\n"
)


def test_planning_from_a_reader_read_from_already_is_refused() -> None:
    """Rows read before would be neither planned nor spared: InvalidValueError, not a plan."""
    reader = _reader(_FILE)
    assert next(reader) == user("1")
    with pytest.raises(pv.InvalidValueError) as caught:
        plan(reader, store([user("1"), user("2")]))
    assert caught.value.field == "rows"
    assert str(caught.value) == (
        "rows: the reader has been read from already; plan with a new reader"
    )


def test_planning_from_a_reader_that_yielded_a_row_error_is_refused() -> None:
    """A reader whose first row was an error has been read from too."""
    reader = _reader(_FILE.replace("user1@example.com", "not-an-email"))
    assert isinstance(next(reader), RowError)
    with pytest.raises(pv.InvalidValueError):
        plan(reader, store([user("1"), user("2")]))


# -- the temporary files -----------------------------------------------------------------


def test_a_dropped_spilled_plan_leaves_no_file_open() -> None:
    """A spilled plan no longer referred to closes its files without a ResourceWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = plan(_big_file(), store(_big_store()), overrides=ALL, file_digest="sha256:f", hold=0)
        assert isinstance(p.creates, Spill)
        del p
        gc.collect()
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_plan_under_sso_leaves_no_file_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning under SSO, where no one is told to set a password, leaves no file open."""
    # Written a batch at a time: past one batch of notices (4,096), the file exists.
    monkeypatch.setattr(_spill, "BATCH", 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = plan(_big_file(), store(_big_store()), tenant=SSO_TENANT, overrides=ALL, hold=0)
        assert p.password_notices == ()
        del p
        gc.collect()
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.parametrize("batch", [1, 3, _spill.BATCH])
@pytest.mark.parametrize("hold", [0, 2, 50_000])
def test_the_changes_kept_beside_a_spilled_update_are_those_of_its_row(
    hold: int, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an apply makes its audit events of (the changes the plan wrote beside its
    rows) is what the rows themselves say, field changes built as their constructor
    builds them, rows left out afterwards (conflicts) left out of both."""
    monkeypatch.setattr(_spill, "BATCH", batch)
    p = plan(_big_file(), store(_big_store()), overrides=ALL, file_digest="sha256:f", hold=hold)
    assert p.counts.conflicts
    for group in (p.updates, p.deactivations, p.reactivations):
        expected = [(u.key, changes_between(u.old, u.new)) for u in group]
        assert expected
        if not isinstance(group, Spill):
            continue
        kept = [_spill.change_rows_changes(row) for row in group.change_rows()]
        assert kept == expected == [_spill.update_row_changes(row) for row in group.rows()]
        for _key, changes in kept:
            for change in changes:
                assert type(change) is pv.FieldChange
                assert change == pv.FieldChange(change.field, change.old, change.new)
    with pytest.raises(TypeError, match="no side rows"):
        next(_spill.record_spill(0).change_rows())
