"""Faults: a commit failing at any step leaves the store as it was; racers lose nothing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _upload_helpers import DEACTIVATED, NOW, TENANT, dump, plan, snapshot, store, user, users

import provisioning as pv
from provisioning.adapters import COMMIT_STEPS, MemoryRepository, SqliteRepository, fail_at
from provisioning.repository import Repository

TWENTY = [str(n) for n in range(20)]


class Switch:
    """A fault hook that fails at ``step`` once armed, so the store can be filled first."""

    def __init__(self, step: str) -> None:
        self.fail = fail_at(step)
        self.armed = False
        self.reached: list[str] = []

    def __call__(self, step: str) -> None:
        if self.armed:
            self.reached.append(step)
            self.fail(step)


def _stored() -> list[pv.UserRecord]:
    return [*users(*TWENTY[:15]), user("15", status=DEACTIVATED), *users(*TWENTY[16:])]


def _file() -> list[pv.UserRecord]:
    """Every kind of change at once, emails swapped between 0 and 1."""
    return [
        user("0", "user1@example.com"),
        user("1", "user0@example.com"),
        user("2", title="Dr"),
        user("3", status=DEACTIVATED),
        *users(*TWENTY[4:18]),  # 15 comes back; 18 and 19 are missing
        user("20"),
        user("21", "user19@example.com"),  # 19 keeps its email when deactivated
    ]


def _planned(repo: Repository) -> pv.UploadPlan:
    p = plan(_file(), repo, overrides="identity_conflict", file_digest="sha256:f")
    assert p.counts == pv.UploadCounts(
        rows=20,
        created=1,
        updated=3,
        unchanged=13,
        deactivated=3,
        reactivated=1,
        conflicts=1,
    )
    return p


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_memory_commit_failing_at_any_step_leaves_the_store_as_it_was(step: str) -> None:
    """All or nothing: an injected fault at each commit step writes nothing."""
    switch = Switch(step)
    repo = store(_stored(), MemoryRepository(fault=switch))
    p = _planned(repo)
    before = snapshot(repo)
    switch.armed = True
    with pytest.raises(pv.RepositoryError, match=f"injected fault at commit step '{step}'"):
        pv.apply_plan(p, repo, now=NOW)
    assert switch.reached == list(COMMIT_STEPS[: COMMIT_STEPS.index(step) + 1])
    assert snapshot(repo) == before
    switch.armed = False
    assert pv.apply_plan(p, repo, now=NOW).revision == 2  # the same plan, still fresh


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_sqlite_commit_failing_at_any_step_leaves_the_file_as_it_was(
    step: str, tmp_path: Path
) -> None:
    """All or nothing: the transaction rolls back; the file's content is unchanged."""
    path = tmp_path / "store.sqlite"
    switch = Switch(step)
    with SqliteRepository(path, fault=switch) as repo:
        store(_stored(), repo)
        p = _planned(repo)
        before, content = snapshot(repo), dump(path)
        switch.armed = True
        with pytest.raises(pv.RepositoryError, match=f"injected fault at commit step '{step}'"):
            pv.apply_plan(p, repo, now=NOW)
        assert dump(path) == content
        assert snapshot(repo) == before
        switch.armed = False
        assert pv.apply_plan(p, repo, now=NOW).revision == 2


def _trigger(path: Path, sql: str) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute(sql)
        con.commit()
    finally:
        con.close()


@pytest.mark.parametrize(
    "trigger",
    [
        # Halfway through the updates: records before it were already rewritten.
        (
            "CREATE TRIGGER boom BEFORE UPDATE ON records WHEN NEW.legacy_contact_key = '3'"
            " BEGIN SELECT RAISE(ABORT, 'boom'); END"
        ),
        # After every record was written: only the history entry fails.
        "CREATE TRIGGER boom BEFORE INSERT ON uploads BEGIN SELECT RAISE(ABORT, 'boom'); END",
        # The very last write: the new revision.
        "CREATE TRIGGER boom BEFORE UPDATE ON revisions BEGIN SELECT RAISE(ABORT, 'boom'); END",
    ],
    ids=["records", "history", "revision"],
)
def test_sqlite_failing_inside_the_transaction_writes_nothing(trigger: str, tmp_path: Path) -> None:
    """All or nothing: SQLite itself refusing a write mid-commit rolls everything back."""
    path = tmp_path / "store.sqlite"
    with SqliteRepository(path) as repo:
        store(_stored(), repo)
        p = _planned(repo)
        _trigger(path, trigger)
        content = dump(path)
        before = snapshot(repo)
        with pytest.raises(pv.RepositoryError, match="nothing was written"):
            pv.apply_plan(p, repo, now=NOW)
        assert dump(path) == content
        assert snapshot(repo) == before
        _trigger(path, "DROP TRIGGER boom")
        assert pv.apply_plan(p, repo, now=NOW).revision == 2


def test_sqlite_with_a_closed_connection_writes_nothing(tmp_path: Path) -> None:
    """All or nothing: a store that cannot be reached fails the commit, not half of it."""
    path = tmp_path / "store.sqlite"
    with SqliteRepository(path) as repo:
        store(_stored(), repo)
        p = _planned(repo)
    content = dump(path)
    with pytest.raises(pv.RepositoryError, match="cannot commit to SQLite database"):
        pv.apply_plan(p, repo, now=NOW)
    assert dump(path) == content
    with SqliteRepository(path) as reopened:
        assert pv.apply_plan(p, reopened, now=NOW).revision == 2


_RACER = textwrap.dedent(
    """
    import datetime as dt
    import json
    import sys

    import provisioning as pv
    from provisioning.adapters import SqliteRepository

    path, name = sys.argv[1], sys.argv[2]
    tenant = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
    admin = pv.Actor(id=f"sa-{name}", role="super_admin")
    rows = [
        pv.UserRecord(
            legacy_contact_key=str(n), first_name=f"First{n}", last_name="Last",
            email=f"user{n}@example.com", company_name="Acme", title=name,
        )
        for n in range(200)
    ]
    with SqliteRepository(path) as repo:
        plan = pv.plan_upload(tenant, admin, rows, repo, as_of=dt.date(2026, 11, 25),
                              file_digest=f"sha256:{name}")
        print(json.dumps({"planned": plan.revision, "updated": plan.counts.updated}), flush=True)
        sys.stdin.readline()  # wait for the go
        try:
            receipt = pv.apply_plan(plan, repo)
        except pv.ConflictError as error:
            print(json.dumps({"conflict": str(error)}), flush=True)
        else:
            print(json.dumps({"revision": receipt.revision}), flush=True)
    """
)


def test_two_processes_applying_plans_at_once_one_wins_nothing_is_lost(tmp_path: Path) -> None:
    """ConflictError: of two processes planned on one revision, one commits, one is refused."""
    path = tmp_path / "store.sqlite"
    with SqliteRepository(path) as repo:
        store([user(str(n)) for n in range(150)], repo)
    racers = {
        name: subprocess.Popen(
            [sys.executable, "-c", _RACER, str(path), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("A", "B")
    }
    try:
        for racer in racers.values():
            assert racer.stdout is not None
            assert json.loads(racer.stdout.readline()) == {"planned": 1, "updated": 150}
        for racer in racers.values():  # both planned: let them go together
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outcomes = {}
        for name, racer in racers.items():
            out, err = racer.communicate(timeout=60)
            assert racer.returncode == 0, err
            outcomes[name] = json.loads(out)
    finally:
        for racer in racers.values():
            racer.kill()
    winners = [name for name, outcome in outcomes.items() if outcome == {"revision": 2}]
    assert len(winners) == 1, outcomes
    (loser,) = set(outcomes) - set(winners)
    assert outcomes[loser] == {
        "conflict": "tenant 'acme' is at revision 2, not 1: the store changed since the plan "
        "was made; nothing was written"
    }
    with SqliteRepository(path) as repo:
        records = list(repo.records(TENANT.id))
        assert len(records) == 200
        assert {r.title for r in records} == set(winners)
        assert [(e.actor_id, e.file_digest) for e in repo.uploads(TENANT.id)] == [
            (f"sa-{winners[0]}", f"sha256:{winners[0]}")
        ]
        assert repo.revision(TENANT.id) == 2
        # The loser plans again on the winner's store and lands: nothing was lost on the way.
        rows = [user(str(n), title=loser) for n in range(200)]
        pv.apply_plan(plan(rows, repo), repo, now=NOW)
        assert {r.title for r in repo.records(TENANT.id)} == {loser}
