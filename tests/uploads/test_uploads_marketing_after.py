"""After a Marketing upload is applied: its audit trail apart from Community's, its results
file, and its revert, on every store where a store is involved."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.audit import contact_changes, contact_with_values
from provisioning.repository import ContactStore
from provisioning.testing import contacts
from provisioning.testing._contract import AuditRepository

DAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
ADMIN = pv.Actor(id="sa-1", role="super_admin")
#: Community and Marketing by upload, contacts keyed by member id.
BOTH = pv.Tenant(
    id="acme",
    name="Acme",
    products={"community": "spreadsheet_upload", "marketing": "spreadsheet_upload"},
    marketing_key="member_id",
)


@contextlib.contextmanager
def _opened(kind: str) -> Iterator[AuditRepository]:
    if kind == "memory":
        yield MemoryRepository()
        return
    with SqliteRepository(":memory:") as repo:
        yield repo


@pytest.fixture(params=["memory", "sqlite"])
def repo(request: pytest.FixtureRequest) -> Iterator[AuditRepository]:
    """A new store of each reference adapter (PostgreSQL runs the contract kit)."""
    with _opened(request.param) as opened:
        yield opened


def _contacts(tenant: pv.Tenant, text: str, repo: AuditRepository, **options: object) -> pv.Receipt:
    rows = pv.read(io.StringIO(text, newline=""), pv.contact_template(tenant))
    plan = pv.plan_contacts(tenant, ADMIN, rows, repo, as_of=DAY, **options)  # type: ignore[arg-type]
    return pv.apply_plan(plan, repo, now=NOW)


def test_a_community_revert_ignores_a_later_contact_of_the_same_key(
    repo: AuditRepository,
) -> None:
    """A contact with a record's key as its member id, uploaded after the record, is no
    change to the record: reverting the Community upload still deactivates it."""
    ada = pv.UserRecord(
        legacy_contact_key="M1",
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        company_name="Engines",
    )
    pv.apply_plan(pv.plan_upload(BOTH, ADMIN, [ada], repo, as_of=DAY), repo, now=NOW)
    _contacts(BOTH, "Email,MemberId\r\nada@example.com,M1\r\n", repo)
    assert [e.product for e in repo.events(BOTH.id, key="M1")] == [
        pv.Product.COMMUNITY,
        pv.Product.MARKETING,
    ]
    plan = pv.plan_revert(BOTH, ADMIN, 1, repo, as_of=DAY)
    assert plan.conflicts == ()
    assert [u.key for u in plan.deactivations] == ["M1"]


# -- results -------------------------------------------------------------------------------

ENTERPRISE = pv.Tenant(id="acme", name="Acme", products={"marketing": "spreadsheet_upload"})
PRO = pv.Tenant(
    id="acme",
    name="Acme",
    products={"marketing": "spreadsheet_upload"},
    marketing_edition="professional",
)
UNSUBSCRIBING = pv.DEFAULT_RULEBOOK.with_settings(marketing_full_unsubscribes=True)


def _results(receipt: pv.Receipt, **options: bool) -> list[list[str]]:
    out = io.StringIO(newline="")
    count = pv.write_results(receipt, out, **options)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == list(pv.RESULTS_COLUMNS)
    assert count == len(rows) - 1
    return rows[1:]


def test_a_marketing_results_file_has_each_row_in_file_order(repo: AuditRepository) -> None:
    """Created, skipped (the vendor's skips, with their code and column) and a row applied
    with a warning, each with its record and the line it starts on (a quoted cell over
    two lines moves the lines on); formula-like values escaped."""
    text = (
        "Email,FirstName,LastName\r\n"
        'ada@example.com,"Ada\nAugusta",Lovelace\r\n'
        "bob@example,Bob,Bad\r\n"
        "\r\n"
        "ADA@example.com,Ada,Again\r\n"
        "=cy@example.com,Cy,\r\n"
        "dee@example.com,=HYPERLINK(),Dee\r\n"
    )
    receipt = _contacts(ENTERPRISE, text, repo)
    rows = _results(receipt)
    assert [r[:5] for r in rows] == [
        ["1", "2", "ada@example.com", "created", ""],
        ["2", "4", "bob@example", "skipped", "invalid_email"],
        ["4", "6", "ADA@example.com", "skipped", "duplicate_email"],
        ["5", "7", "'=cy@example.com", "created", "formula_like"],
        ["6", "8", "dee@example.com", "created", "formula_like"],
    ]
    assert rows[1][5] == "Email"
    assert "repeats line 2" in rows[2][6]
    assert rows[4][5] == "FirstName"
    # The counts and the file agree.
    counts = receipt.counts
    assert isinstance(counts, pv.ContactCounts)
    outcomes = [r[3] for r in rows]
    assert outcomes.count("created") == counts.created == 3
    assert outcomes.count("skipped") == counts.skipped == 2
    unsafe = _results(receipt, formula_safe=False)
    assert unsafe[3][2] == "=cy@example.com"


def test_a_second_upload_says_updated_unchanged_and_unsubscribed(repo: AuditRepository) -> None:
    """Updated rows list their changes; a full import that unsubscribes adds one row per
    contact it unsubscribes, with no record or line, after the file's rows."""
    _contacts(PRO, "Email\tFirstName\r\nada@example.com\tAda\r\ncy@example.com\tCy\r\n", repo)
    _contacts(PRO, "Email\tFirstName\r\nzed@example.com\tZed\r\n", repo)
    receipt = _contacts(
        PRO,
        "Email\tFirstName\r\nada@example.com\tAugusta\r\nzed@example.com\tZed\r\n",
        repo,
        rulebook=UNSUBSCRIBING,
        overrides=["mass_deactivation"],
    )
    assert _results(receipt) == [
        ["1", "2", "ada@example.com", "updated", "", "", "", "first_name: 'Ada' -> 'Augusta'"],
        ["2", "3", "zed@example.com", "unchanged", "", "", "", ""],
        [
            "",
            "",
            "cy@example.com",
            "unsubscribed",
            "",
            "",
            "",
            "subscription: 'subscribed' -> 'unsubscribed'",
        ],
    ]


BY_ID = pv.Tenant(
    id="acme", name="Acme", products={"marketing": "spreadsheet_upload"}, marketing_key="member_id"
)


def test_a_row_taking_another_contacts_email_is_skipped_as_a_conflict(
    repo: AuditRepository,
) -> None:
    """By member id: a row giving a new member id a stored contact's email is left out
    (identity_conflict), on its own row and line; the rest applies."""
    _contacts(BY_ID, "Email,MemberId\r\nada@example.com,M1\r\n", repo)
    text = "Email,MemberId\r\nbob@example.com,M2\r\nADA@example.com,M3\r\n"
    receipt = _contacts(BY_ID, text, repo, overrides=["identity_conflict"])
    rows = _results(receipt)
    assert [r[:5] for r in rows] == [
        ["1", "2", "M2", "created", ""],
        ["2", "3", "M3", "skipped", "identity_conflict"],
    ]
    assert "belongs to the stored contact 'M1'" in rows[1][6]


def test_contacts_given_as_a_list_have_results_without_lines(repo: AuditRepository) -> None:
    """Input that is no reader: rows in input order with no record or line; a repeated
    key is skipped as duplicate_key."""
    ada = pv.Contact(email="ada@example.com", first_name="Ada")
    plan = pv.plan_contacts(
        ENTERPRISE, ADMIN, [ada, ada], repo, as_of=DAY, overrides="identity_conflict"
    )
    rows = _results(pv.apply_plan(plan, repo, now=NOW))
    assert [r[:5] for r in rows] == [
        ["", "", "ada@example.com", "created", ""],
        ["", "", "ada@example.com", "skipped", "duplicate_key"],
    ]


def test_a_plan_made_by_hand_lists_its_results_by_outcome(repo: AuditRepository) -> None:
    """A ContactPlan without a row log: created, updated, unchanged, unsubscribed, then
    conflicts and rows with problems."""
    made = pv.plan_contacts(
        ENTERPRISE, ADMIN, [pv.Contact(email="ada@example.com")], repo, as_of=DAY
    )
    plan = attrs.evolve(made, row_log=None)
    assert [r[2:4] for r in _results(pv.apply_plan(plan, repo, now=NOW))] == [
        ["ada@example.com", "created"]
    ]


_EMAILS = ["ada@example.com", "ADA@example.com", "bob@example.com", "cy@example", "dee@example.com"]


@given(
    stored=st.lists(st.sampled_from(_EMAILS[2:]), unique=True),
    lines=st.lists(
        st.tuples(st.sampled_from(_EMAILS), st.sampled_from(["", "Ada", "=x", "Zed"])),
        max_size=8,
    ),
    blank_after=st.sets(st.integers(0, 8)),
    unsubscribing=st.booleans(),
)
def test_a_results_file_has_one_row_per_row_and_agrees_with_the_counts(
    stored: list[str], lines: list[tuple[str, str]], blank_after: set[int], unsubscribing: bool
) -> None:
    """Whatever the file: one result row per data row (blank lines have none), records
    1..n in order, each outcome as many times as the counts say, then one row per
    contact unsubscribed."""
    repo = MemoryRepository()
    if stored:
        _contacts(ENTERPRISE, "Email\r\n" + "".join(f"{e}\r\n" for e in stored), repo)
    text = "Email,FirstName\r\n"
    for n, (email, name) in enumerate(lines):
        text += f"{email},{name}\r\n" + ("\r\n" if n in blank_after else "")
    rulebook = UNSUBSCRIBING if unsubscribing else pv.DEFAULT_RULEBOOK
    rows = pv.read(io.StringIO(text, newline=""), pv.contact_template(ENTERPRISE))
    plan = pv.plan_contacts(
        ENTERPRISE, ADMIN, rows, repo, as_of=DAY, rulebook=rulebook, overrides=list(pv.Safeguard)
    )
    receipt = pv.apply_plan(plan, repo, now=NOW)
    results = _results(receipt)
    counts = plan.counts
    numbered = [(int(r[0]), int(r[1])) for r in results if r[0]]
    # A blank line takes a record number (as the reader's errors count them), no row.
    assert len(numbered) == len(lines)
    assert numbered == sorted(set(numbered))
    # No cell spans lines here: each row starts on the line after its record number's.
    assert all(line == record + 1 for record, line in numbered)
    outcomes = Counter(r[3] for r in results)
    assert outcomes["created"] == counts.created
    assert outcomes["updated"] == counts.updated
    assert outcomes["unchanged"] == counts.unchanged
    assert outcomes["unsubscribed"] == counts.unsubscribed
    assert outcomes["skipped"] == counts.skipped + counts.errors + counts.conflicts
    assert len(results) == len(lines) + counts.unsubscribed
    assert all(r[0] == "" for r in results[len(lines) :])


def test_a_plan_kept_in_temporary_files_writes_the_same_results(repo: AuditRepository) -> None:
    """hold=0 keeps every list of changes in a temporary file: the results are the same."""
    _contacts(PRO, "Email\tFirstName\r\nada@example.com\tAda\r\ncy@example.com\tCy\r\n", repo)
    text = "Email\tFirstName\r\nada@example.com\tAugusta\r\nbob@\tBob\r\nzed@example.com\tZ\r\n"
    results = []
    for hold in (0, 1000):
        rows = pv.read(io.StringIO(text, newline=""), pv.contact_template(PRO))
        plan = pv.plan_contacts(
            PRO, ADMIN, rows, repo, as_of=DAY, hold=hold, rulebook=UNSUBSCRIBING,
            overrides="mass_deactivation",
        )  # fmt: skip
        assert isinstance(plan.updates, tuple) is bool(hold)
        receipt = pv.Receipt(ENTERPRISE.id, 9, NOW, plan.counts, _ENTRY, plan)
        results.append(_results(receipt))
    assert results[0] == results[1]
    assert [r[3] for r in results[0]] == ["updated", "skipped", "created", "unsubscribed"]


_ENTRY = pv.repository.UploadEntry(
    tenant_id="acme", actor_id="sa-1", at=NOW, file_digest="x", mode="full", product="marketing"
)


# -- revert --------------------------------------------------------------------------------


def test_each_product_is_reverted_by_its_own_function(repo: AuditRepository) -> None:
    """plan_revert refuses a Marketing upload and plan_contacts_revert a Community one,
    each naming the other; an unknown upload is NotFoundError, a bad id InvalidValueError."""
    ada = pv.UserRecord(
        legacy_contact_key="1001", first_name="A", last_name="L", email="a@example.com",
        company_name="E",
    )  # fmt: skip
    pv.apply_plan(pv.plan_upload(BOTH, ADMIN, [ada], repo, as_of=DAY), repo, now=NOW)
    _contacts(BOTH, "Email,MemberId\r\nada@example.com,M1\r\n", repo)
    with pytest.raises(pv.RefusedError, match="plan_contacts_revert reverts it"):
        pv.plan_revert(BOTH, ADMIN, 2, repo, as_of=DAY)
    with pytest.raises(pv.RefusedError, match="plan_revert reverts it") as caught:
        pv.plan_contacts_revert(BOTH, ADMIN, 1, repo, as_of=DAY)
    assert caught.value.rules == (pv.RuleId.REVERT_UPLOAD,)
    with pytest.raises(pv.NotFoundError, match="has no upload 7"):
        pv.plan_contacts_revert(BOTH, ADMIN, 7, repo, as_of=DAY)
    for bad in (0, -1, True, "2", 2.0):
        with pytest.raises(pv.InvalidValueError, match="upload_id"):
            pv.plan_contacts_revert(BOTH, ADMIN, bad, repo, as_of=DAY)  # type: ignore[arg-type]


def test_only_a_super_admin_reverts_a_marketing_upload(repo: AuditRepository) -> None:
    """REVERT_UPLOAD: a Site Admin's revert is a refused plan, which apply_plan refuses."""
    receipt = _contacts(ENTERPRISE, "Email\r\nada@example.com\r\n", repo)
    site_admin = pv.Actor(id="sa-2", role="site_admin")
    plan = pv.plan_contacts_revert(ENTERPRISE, site_admin, receipt.entry.id or 0, repo)
    assert plan.refused
    assert plan.rules == (pv.RuleId.REVERT_UPLOAD,)
    assert plan.summary().startswith("revert:1 to acme (marketing enterprise")
    with pytest.raises(pv.RefusedError):
        pv.apply_plan(plan, repo)


def test_a_store_without_contacts_or_an_audit_trail_cannot_revert() -> None:
    """A store that keeps no audit trail (or no contacts) is named, not guessed around."""

    class NoTrail:
        """The memory store with its audit trail hidden."""

        def __init__(self) -> None:
            self._repo = MemoryRepository()

        def __getattr__(self, name: str) -> object:
            if name in {"events", "record_refusal"}:
                raise AttributeError(name)
            return getattr(self._repo, name)

    with pytest.raises(pv.InvalidValueError, match="no audit trail"):
        pv.plan_contacts_revert(ENTERPRISE, ADMIN, 1, NoTrail())  # type: ignore[arg-type]


def test_a_value_before_the_upload_that_is_no_longer_valid_is_left_alone(
    repo: AuditRepository,
) -> None:
    """An event whose old value no contact may hold (an upload of another version, a
    trail written by hand): the contact is left as it is (``invalid_before``)."""
    _contacts(ENTERPRISE, "Email,FirstName\r\nada@example.com,Ada\r\n", repo)
    event = pv.AuditEvent(
        at=NOW, tenant_id="acme", key="ada@example.com", actor_id="sa-1", role="super_admin",
        channel="upload", kind="updated", product="marketing",
        changes=[pv.FieldChange("first_name", {"not": "text"}, "Ada")],
    )  # fmt: skip
    entry = pv.repository.UploadEntry(
        tenant_id="acme", actor_id="sa-1", at=NOW, file_digest="x", mode="partial",
        product="marketing",
    )  # fmt: skip
    repo.commit("acme", pv.repository.ChangeSet(upload=entry, events=[event]), 1)
    plan = pv.plan_contacts_revert(ENTERPRISE, ADMIN, 2, repo, as_of=DAY)
    assert [(c.key, c.code) for c in plan.conflicts] == [("ada@example.com", "invalid_before")]
    assert "no longer valid" in plan.conflicts[0].message
    assert plan.applicable  # a contact left alone holds nothing


def test_a_marketing_revert_writes_results_by_outcome(repo: AuditRepository) -> None:
    """The revert's results: updated and unsubscribed contacts, then those left alone."""
    _contacts(ENTERPRISE, "Email,FirstName\r\nada@example.com,Ada\r\nbo@example.com,Bo\r\n", repo)
    second = _contacts(
        ENTERPRISE, "Email,FirstName\r\nada@example.com,Augusta\r\nbo@example.com,B\r\n"
        "cy@example.com,Cy\r\n", repo, mode="partial",
    )  # fmt: skip
    _contacts(ENTERPRISE, "Email,FirstName\r\nbo@example.com,Bob\r\n", repo, mode="partial")
    plan = pv.plan_contacts_revert(
        ENTERPRISE, ADMIN, second.entry.id or 0, repo, as_of=DAY, overrides="mass_deactivation"
    )
    rows = _results(pv.apply_plan(plan, repo, now=NOW))
    assert [r[2:5] for r in rows] == [
        ["ada@example.com", "updated", ""],
        ["cy@example.com", "unsubscribed", ""],
        ["bo@example.com", "skipped", "changed_since"],
    ]
    assert rows[0][7] == "first_name: 'Augusta' -> 'Ada'"


def test_a_revert_kept_in_temporary_files_plans_and_applies_the_same(
    repo: AuditRepository,
) -> None:
    """hold=0 keeps every list of the revert in a temporary file, and a conflict found
    at the end is still left out of it: the same plan, the same contacts after."""
    text = "Email,MemberId,FirstName\r\n" + "".join(
        f"m{n}@example.com,M{n},N{n}\r\n" for n in range(8)
    )
    _contacts(BY_ID, text, repo)
    moved = (
        "Email,MemberId,FirstName\r\nm1.new@example.com,M1,X\r\nm3@example.com,M2,Y\r\n"
        "m2@example.com,M3,Z\r\nnew@example.com,M9,W\r\n"
    )
    upload = _contacts(BY_ID, moved, repo, mode="partial")
    _contacts(BY_ID, "Email,MemberId\r\nm1@example.com,M7\r\n", repo, mode="partial")
    plans = [
        pv.plan_contacts_revert(
            BY_ID,
            ADMIN,
            upload.entry.id or 0,
            repo,
            as_of=DAY,
            hold=hold,
            overrides=["identity_conflict", "mass_deactivation"],
        )
        for hold in (0, 10_000)
    ]
    spilled, kept = plans
    assert not isinstance(spilled.updates, tuple)
    assert isinstance(kept.updates, tuple)
    for plan in plans:
        assert [u.key for u in plan.updates] == ["M2", "M3"]
        assert [u.key for u in plan.unsubscribes] == ["M9"]
        # M7 took M1's old email later: M1 keeps its new one.
        assert [(c.key, c.code, c.owner_key) for c in plan.conflicts] == [
            ("M1", "identity_conflict", "M7")
        ]
    assert spilled.counts == kept.counts
    pv.apply_plan(spilled, repo, now=NOW)
    assert isinstance(repo, ContactStore)
    emails = {key: c.email for key, c in repo.contacts("acme")}
    assert (emails["M1"], emails["M2"], emails["M3"], emails["M7"]) == (
        "m1.new@example.com",
        "m2@example.com",
        "m3@example.com",
        "m1@example.com",
    )
    with pytest.raises(pv.InvalidValueError, match="hold"):
        pv.plan_contacts_revert(BY_ID, ADMIN, 1, repo, hold=-1)


_any_contacts = contacts(subscriptions=st.sampled_from(list(pv.SubscriptionStatus)))


@given(_any_contacts, _any_contacts)
def test_a_contacts_changes_applied_to_the_old_contact_give_the_new_one(
    old: pv.Contact, new: pv.Contact
) -> None:
    """contact_with_values(old, the changes' new values) == new, and back with the old
    values: what a revert does with an event's changes."""
    changes = contact_changes(old, new)
    assert contact_with_values(old, {c.field: c.new for c in changes}) == new
    assert contact_with_values(new, {c.field: c.old for c in changes}) == old


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"email": None}, "email"),
        ({"subscription": "maybe"}, "subscription"),
        ({"first_name": {"not": "text"}}, "first_name"),
        ({"custom": "[1]"}, "custom"),
        ({"nickname": "Ada"}, "nickname"),
    ],
)
def test_a_value_no_contact_may_hold_is_refused_naming_its_field(
    values: dict[str, object], field: str
) -> None:
    ada = pv.Contact(email="ada@example.com")
    with pytest.raises(pv.InvalidValueError) as caught:
        contact_with_values(ada, values)
    assert caught.value.field == field
