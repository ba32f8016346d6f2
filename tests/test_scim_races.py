"""SCIM writes racing another process's write: the checks are made again at each commit.

Two server processes on one store are two applications, each with its own handle on it
(a connection of its own). The race is made to happen, not hoped for: the first
process's handle runs the second process's write just before its own commit, after the
first has checked ``If-Match`` and the userName at the revision it read. Its commit is
then refused by the revision, and its checks are made again on the new state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scim2_server")

import provisioning as pv
from provisioning.adapters import SqliteRepository
from provisioning.repository import ChangeSet
from provisioning.scim import ScimState, make_application
from test_scim import AMS, INTEGRATED, Client, okta_user


class _Interrupted:
    """Mixed into a store: ``before_commit``, when set, runs once just before the next
    commit of this handle (another process's write slipping in)."""

    before_commit: Callable[[], object] | None = None

    def commit(self, tenant_id: str, change_set: ChangeSet, expected_revision: int) -> int:
        hook, self.before_commit = self.before_commit, None
        if hook is not None:
            hook()
        return super().commit(tenant_id, change_set, expected_revision)  # type: ignore[misc, no-any-return]


class _InterruptedSqlite(_Interrupted, SqliteRepository):
    pass


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any, ScimState]]:
    """Two handles on one store (the first interruptible) and the SCIM tokens: an SQLite
    file, or a PostgreSQL schema of a throwaway server."""
    first: Any
    second: Any
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        first, second = _InterruptedSqlite(path), SqliteRepository(path)
        state = ScimState(path)
    else:
        from provisioning.adapters.postgres import PostgresRepository
        from provisioning.scim.postgres import PostgresScimState

        class _InterruptedPostgres(_Interrupted, PostgresRepository):
            pass

        conninfo = request.getfixturevalue("postgres_server").conninfo()
        schema = request.getfixturevalue("postgres_schema")
        first = _InterruptedPostgres(conninfo, schema=schema)
        second = PostgresRepository(conninfo, schema=schema)
        state = PostgresScimState(first, conninfo)
    first.save_tenant(INTEGRATED)
    yield first, second, state
    first.close()
    second.close()


def _clients(stores: tuple[Any, Any, ScimState]) -> tuple[Client, Client]:
    first, second, state = stores
    token = state.issue("harbor", AMS).token
    return (
        Client(make_application(first, state), "harbor", token),
        Client(make_application(second, state), "harbor", token),
    )


def _titles(repo: Any) -> list[tuple[str, Any]]:
    return [
        (e.kind.value, {c.field: c.new for c in e.changes}.get("title"))
        for e in repo.events("harbor")
    ]


def test_a_stale_if_match_found_on_a_retried_commit_is_a_412_and_changes_nothing(
    stores: tuple[Any, Any, ScimState],
) -> None:
    """Process A checks If-Match (current), then B updates the user before A commits:
    A's commit is refused by the revision, its If-Match checked again is stale, and the
    answer is 412. B's write stands; A wrote nothing, not even an audit event."""
    first, second, _ = stores
    a, b = _clients(stores)
    _, created, _ = b("POST", "/Users", okta_user())
    uid, version = created["id"], created["meta"]["version"]
    answers: list[int] = []
    first.before_commit = lambda: answers.append(
        b("PUT", f"/Users/{uid}", okta_user() | {"title": "Countess"})[0]
    )
    status, body, _ = a(
        "PUT", f"/Users/{uid}", okta_user() | {"title": "Analyst"}, headers={"If-Match": version}
    )
    assert answers == [200]
    assert status == 412, body
    record = second.get("harbor", "00u1001")
    assert record is not None
    assert record.title == "Countess"
    assert _titles(second) == [("created", None), ("updated", "Countess")]
    current = a("GET", f"/Users/{uid}")[1]["meta"]["version"]
    status, body, _ = a(
        "PUT", f"/Users/{uid}", okta_user() | {"title": "Analyst"}, headers={"If-Match": current}
    )
    assert status == 200, body
    assert second.get("harbor", "00u1001").title == "Analyst"


def test_a_stale_if_match_on_a_retried_delete_is_a_412_and_keeps_the_user(
    stores: tuple[Any, Any, ScimState],
) -> None:
    """The same race for a DELETE: refused with 412, the record stays enabled and the
    resource stays readable."""
    first, second, _ = stores
    a, b = _clients(stores)
    _, created, _ = b("POST", "/Users", okta_user())
    uid, version = created["id"], created["meta"]["version"]
    first.before_commit = lambda: b("PUT", f"/Users/{uid}", okta_user() | {"title": "Countess"})
    status, body, _ = a("DELETE", f"/Users/{uid}", headers={"If-Match": version})
    assert status == 412, body
    record = second.get("harbor", "00u1001")
    assert record is not None
    assert record.status is pv.RecordStatus.ENABLED
    assert b("GET", f"/Users/{uid}")[0] == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_write_without_if_match_is_not_applied_to_a_state_it_did_not_read(
    stores: tuple[Any, Any, ScimState], method: str
) -> None:
    """scim2-server makes a PUT or PATCH of the resource it read (and asks for that
    version): without If-Match too, a write whose commit finds B's write in between is a
    412 and changes nothing, rather than a PATCH made on a copy B's write outdated
    overwriting it. Sent again, it lands on B's state."""
    first, second, _ = stores
    a, b = _clients(stores)
    _, created, _ = b("POST", "/Users", okta_user())
    uid = created["id"]
    first.before_commit = lambda: b("PUT", f"/Users/{uid}", okta_user() | {"nickName": "Ada"})
    body: Any = okta_user() | {"title": "Analyst"}
    if method == "PATCH":
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Analyst"}],
        }
    status, answer, _ = a(method, f"/Users/{uid}", body)
    assert status == 412, answer
    assert _titles(second) == [("created", None), ("updated", None)]
    status, answer, _ = a(method, f"/Users/{uid}", body)
    assert status in {200, 204}, answer
    record = second.get("harbor", "00u1001")
    assert record is not None
    assert record.title == "Analyst"
    assert record.informal_name == ("Ada" if method == "PATCH" else None)


def test_a_user_name_taken_between_the_check_and_the_commit_is_a_409(
    stores: tuple[Any, Any, ScimState],
) -> None:
    """A checks that the userName is free, then B creates a user with it before A
    commits: A's create, checked again, is a 409 and writes no record and no name."""
    first, second, _ = stores
    a, b = _clients(stores)
    first.before_commit = lambda: b("POST", "/Users", okta_user("name@example.com", "k-b"))
    late = okta_user("NAME@example.com", "k-a") | {"emails": [{"value": "a@example.com"}]}
    status, body, _ = a("POST", "/Users", late)
    assert (status, body.get("scimType")) == (409, "uniqueness"), body
    assert second.get("harbor", "k-a") is None
    assert [f.key for f in second.scim_facts("harbor", user_name="name@example.com")] == ["k-b"]
