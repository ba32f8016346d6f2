"""SCIM as a hostile client sends it: what must be refused cleanly, never a 500."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import pytest

import provisioning as pv

pytest.importorskip("scim2_server")

import test_scim
from provisioning.adapters import MemoryRepository
from provisioning.scim import ScimState, make_application
from provisioning.scim._storage import MOST_NAME_BYTES
from provisioning.writes import PushOp, PushOperation, PushResult, push
from test_scim import AMS, Client, client, okta_user

repo = test_scim.repo  # the three stores' fixtures
state = test_scim.state


def _user(user_name: str, key: str, email: str) -> dict[str, Any]:
    return okta_user(user_name, key) | {"emails": [{"value": email, "primary": True}]}


def test_a_record_whose_email_and_key_are_taken_user_names_is_still_listed(
    repo: Any, state: ScimState
) -> None:
    """A record written by another channel gets its SCIM facts when first seen: its
    email as userName, else its key. When a SCIM client holds both as userNames already,
    the record still gets a userName of its own; listing and lookups answer 200, not a
    500 on every request from then on."""
    cells = {
        "LegacyContactKey": "R-KEY",
        "FirstName": "Rita",
        "LastName": "Key",
        "EmailAddress": "rita@example.com",
        "CompanyName": "Harbor",
    }
    tenant = repo.get_tenant("harbor")
    assert isinstance(
        push(tenant, AMS, [PushOperation(PushOp.UPSERT, cells, line=1)], repo), PushResult
    )
    scim = client(repo, state)
    assert scim("POST", "/Users", _user("rita@example.com", "k1", "one@example.com"))[0] == 201
    assert scim("POST", "/Users", _user("r-key", "k2", "two@example.com"))[0] == 201
    status, body, _ = scim("GET", "/Users")
    assert status == 200, body
    assert body["totalResults"] == 3
    names = {u["externalId"]: u["userName"] for u in body["Resources"]}
    assert names["k1"] == "rita@example.com"
    assert names["k2"] == "r-key"
    assert names["R-KEY"].casefold() not in {"rita@example.com", "r-key"}
    query = 'filter=externalId eq "R-KEY"'
    status, body, _ = scim("GET", "/Users", query=query)
    assert (status, body["totalResults"]) == (200, 1)


def test_a_value_too_long_for_a_record_is_a_400_naming_it(repo: Any, state: ScimState) -> None:
    """A value longer than any row an upload may have is the client's error (400), not
    the server's (500); nothing is written."""
    scim = client(repo, state)
    status, body, _ = scim("POST", "/Users", okta_user() | {"title": "x" * 1_100_000})
    assert status in {400, 413}, body
    assert repo.get("harbor", "00u1001") is None
    assert not repo.scim_facts("harbor", user_name="ada@example.com")


def test_the_application_bounds_a_request_body_itself(repo: Any, state: ScimState) -> None:
    """The WSGI application refuses a body over a megabyte (413) whatever server runs
    it: not only waitress under ``scim serve`` bounds it."""
    scim = client(repo, state)
    status, body, _ = scim("POST", "/Users", okta_user() | {"nickName": "x" * 2_000_000})
    assert status == 413, body
    assert repo.get("harbor", "00u1001") is None


def test_push_names_a_cell_too_long_for_a_row(repo: Any) -> None:
    """``push`` with a cell longer than a row may be: that line's error, not a
    SpreadsheetError out of the call."""
    tenant = repo.get_tenant("harbor")
    cells = {"LegacyContactKey": "k", "EmailAddress": "k@example.com", "Title": "x" * 1_100_000}
    result = push(tenant, AMS, [PushOperation(PushOp.UPSERT, cells, line=7)], repo)
    assert not isinstance(result, PushResult)
    assert result[0].line == 7
    assert "longer than" in result[0].message
    assert repo.get("harbor", "k") is None


class _PausingRepository(MemoryRepository):
    """A store whose first lookup of a record's SCIM facts by the thread named ``paused``
    waits, after reading, until told to go on: another server process's write slips in
    between."""

    def __init__(self) -> None:
        super().__init__()
        self.reached, self.go = threading.Event(), threading.Event()

    def scim_facts(self, tenant_id: str, **lookup: Any) -> Any:
        found = super().scim_facts(tenant_id, **lookup)
        paused = threading.current_thread().name == "paused"
        if paused and "key" in lookup and not self.reached.is_set():
            self.reached.set()
            self.go.wait(10)
        return found


def test_two_processes_creating_one_external_id_do_not_overwrite_each_other() -> None:
    """Two server processes (two applications on one store) POST users of the same
    externalId at once: one is created, the other is a 409; the first user's userName and
    fields are not overwritten by the second's."""
    store = _PausingRepository()
    store.save_tenant(test_scim.INTEGRATED)
    shared = ScimState()
    token = shared.issue("harbor", AMS).token
    first = Client(make_application(store, shared), "harbor", token)
    second = Client(make_application(store, shared), "harbor", token)
    answers: list[Any] = []
    late = _user("late@example.com", "k1", "late@example.com")
    late["name"] = {"givenName": "Late", "familyName": "Comer"}
    worker = threading.Thread(
        target=lambda: answers.append(first("POST", "/Users", late)), name="paused"
    )
    worker.start()
    assert store.reached.wait(10)
    early = second("POST", "/Users", _user("early@example.com", "k1", "early@example.com"))
    store.go.set()
    worker.join(10)
    assert early[0] == 201, early[1]
    assert answers[0][0] == 409, answers[0][1]
    record = store.get("harbor", "k1")
    assert record is not None
    assert (record.first_name, record.email) == ("Ada", "early@example.com")
    [entry] = store.scim_facts("harbor", key="k1")
    assert (entry.id, entry.user_name) == (early[1]["id"], "early@example.com")


def test_a_blank_user_name_is_refused_by_every_write(repo: Any, state: ScimState) -> None:
    """userName is required: a POST, PUT or PATCH that makes it blank is a 400 and
    changes nothing (it was stored as ``""``, held by one user of the tenant)."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "userName", "value": "   "}],
    }
    status, body, _ = scim("PATCH", f"/Users/{created['id']}", patch)
    assert (status, body["scimType"]) == (400, "invalidValue"), body
    status, body, _ = scim("PUT", f"/Users/{created['id']}", okta_user(" "))
    assert (status, body["scimType"]) == (400, "invalidValue"), body
    assert scim("GET", f"/Users/{created['id']}")[1]["userName"] == "ada@example.com"
    status, body, _ = scim("POST", "/Users", _user("  ", "00u2", "bo@example.com"))
    assert (status, body["scimType"]) == (400, "invalidValue"), body
    assert repo.get("harbor", "00u2") is None
    assert not repo.scim_facts("harbor", user_name="")


def test_user_names_the_same_once_normalised_are_one(repo: Any, state: ScimState) -> None:
    """userName is unique ignoring case *and* Unicode form: ``josé`` written with a
    composed é and with e and a combining accent, or in full-width letters, is the
    same name (409), not a second user who looks the same."""
    scim = client(repo, state)
    assert scim("POST", "/Users", _user("jos\u00e9@example.com", "k1", "j1@example.com"))[0] == 201
    twins = (("JOSE\u0301@example.com", "k2"), ("\uff4a\uff4f\uff53\u00e9@example.com", "k3"))
    for twin, key in twins:
        status, body, _ = scim("POST", "/Users", _user(twin, key, f"{key}@example.com"))
        assert (status, body["scimType"]) == (409, "uniqueness"), twin
        assert repo.get("harbor", key) is None
    assert [f.key for f in repo.scim_facts("harbor", user_name="JOSE\u0301@EXAMPLE.COM")] == ["k1"]


@pytest.mark.parametrize("role", ["member", "community_moderator", "volunteer_admin"])
def test_a_token_of_a_role_that_manages_no_users_reads_nothing(
    repo: Any, state: ScimState, role: str
) -> None:
    """A token issued for a member (or another role that manages no user records) is
    refused every User request, reads too (403 naming ROLE_PERMISSIONS): it would list
    every member's email, phones and address."""
    client(repo, state)("POST", "/Users", okta_user())
    scim = client(repo, state, actor=pv.Actor(id="m-1", role=role))
    for method, path in (("GET", "/Users"), ("GET", "/Users/x"), ("POST", "/Users/.search")):
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
        status, answer, _ = scim(method, path, body if method == "POST" else None)
        assert status == 403, (path, answer)
        assert answer["detail"].startswith("refused by ROLE_PERMISSIONS: ")
    assert scim("GET", "/ServiceProviderConfig")[0] == 200


def test_a_nul_anywhere_a_client_names_is_no_500(repo: Any, state: ScimState) -> None:
    """A NUL (a character no record may hold) in a userName, an externalId, a resource id
    or a bearer token is the client's error: a 400 naming the attribute, a 404, a 401,
    never a 500 (PostgreSQL refuses NUL in any text it is asked for, even to look it up),
    and nothing is written."""
    scim = client(repo, state)
    _, ada, _ = scim("POST", "/Users", okta_user())
    for name in ("b\x00@example.com", "\x00"):
        status, body, _ = scim("POST", "/Users", _user(name, "00u2", "bo@example.com"))
        assert (status, body.get("scimType")) == (400, "invalidValue"), body
        assert "userName" in body["detail"]
        status, body, _ = scim("PUT", f"/Users/{ada['id']}", okta_user(name))
        assert (status, body.get("scimType")) == (400, "invalidValue"), body
    for key in ("00u\x002", "\x00"):
        status, body, _ = scim("POST", "/Users", _user("bo@example.com", key, "bo@example.com"))
        assert (status, body.get("scimType")) == (400, "invalidValue"), body
        assert "externalId" in body["detail"]
    for method in ("GET", "DELETE"):
        status, body, _ = scim(method, "/Users/ab\x00c")
        assert status == 404, body
    status, body, _ = scim("PUT", "/Users/ab\x00c", okta_user())
    assert status == 404, body
    for token in ("abc\x00def", scim.token.replace(".", "\x00.", 1)):
        status, body, _ = scim("GET", "/Users", token=token)
        assert status == 401, body
    assert scim("GET", f"/Users/{ada['id']}")[1]["userName"] == "ada@example.com"
    assert [r.legacy_contact_key for r in repo.records("harbor")] == ["00u1001"]


def test_a_user_name_or_external_id_too_long_to_index_is_a_400_on_every_store(
    repo: Any, state: ScimState
) -> None:
    """A userName (or, where records are keyed by userName, an externalId) longer than
    MOST_NAME_BYTES is refused alike by every store, with a 400 naming it: PostgreSQL's
    unique index cannot hold one of about 2,700 bytes, which was a 500 there and a 201
    elsewhere. Nothing is written; a name at the limit is taken."""
    repo.save_tenant(
        attrs.evolve(repo.get_tenant("harbor"), id="isle", integration_key="user_name")
    )
    for tenant in ("harbor", "isle"):
        scim = Client(make_application(repo, state), tenant, state.issue(tenant, AMS).token)
        # where the userName is the record's key, the key's own limit (255) is lower
        size = MOST_NAME_BYTES if tenant == "harbor" else 255
        at_limit = "a" * (size - len("@example.com")) + "@example.com"
        status, body, _ = scim("POST", "/Users", _user(at_limit, "k1", "k1@example.com"))
        assert status == 201, body
        for name in ("a" * 3000 + "@example.com", "\u00df" * 700 + "@example.com"):
            status, body, _ = scim("POST", "/Users", _user(name, "k2", "k2@example.com"))
            assert (status, body.get("scimType")) == (400, "invalidValue"), body
            assert "userName" in body["detail"]
            assert "1,024" in body["detail"]
        if tenant == "isle":  # the externalId is no key here: only this bound holds it
            long_id = "x" * 3000
            status, body, _ = scim("POST", "/Users", _user("k3@example.com", long_id, "k3@e.com"))
            assert (status, body.get("scimType")) == (400, "invalidValue"), body
            assert "externalId" in body["detail"]
        assert [f.key for f in repo.scim_facts(tenant)] == [
            "k1" if tenant == "harbor" else at_limit
        ]
