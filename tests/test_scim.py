"""SCIM 2.0 over the write path: what Okta and Entra send, replayed on both stores."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scim2_server")

import attrs

import provisioning as pv
from provisioning import writes
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.scim import REASSIGN_KEEPS_DEACTIVATION, ScimState, make_application
from provisioning.scim._storage import MOST_FILTER_TERMS

INTEGRATED = pv.Tenant(
    id="harbor",
    name="Harbor",
    products={"community": "standard_integration"},
    integration="salesforce",
)
STANDALONE = pv.Tenant(id="cove", name="Cove", products={"community": "standalone"})
UPLOADED = pv.Tenant(id="bay", name="Bay", products={"community": "spreadsheet_upload"})
AMS = pv.Actor(id="ams", role="integration")
JSON = "application/scim+json"


class Client:
    """Calls the WSGI application in process, as an HTTP client would."""

    def __init__(self, app: Any, tenant: str, token: str) -> None:
        self.app, self.tenant, self.token = app, tenant, token

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        data = b"" if body is None else json.dumps(body).encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": f"/{self.tenant}/v2{path}",
            "QUERY_STRING": query,
            "SERVER_NAME": "scim.test",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": JSON if body is not None else "",
            "HTTP_AUTHORIZATION": f"Bearer {self.token if token is None else token}",
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        started: list[Any] = []
        chunks = self.app(environ, lambda status, hdrs, *_: started.extend([status, hdrs]))
        raw = b"".join(chunks)
        return int(started[0].split()[0]), json.loads(raw) if raw else None, dict(started[1])


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The three stores: memory, SQLite, and PostgreSQL (a throwaway server's schema)."""
    store: Any
    if request.param == "memory":
        store = MemoryRepository()
    elif request.param == "sqlite":
        store = SqliteRepository(tmp_path / "s.db")
    else:
        from provisioning.adapters.postgres import PostgresRepository

        server = request.getfixturevalue("postgres_server")
        schema = request.getfixturevalue("postgres_schema")
        store = PostgresRepository(server.conninfo(), schema=schema)
        store.conninfo = server.conninfo()
    for tenant in (INTEGRATED, STANDALONE, UPLOADED):
        store.save_tenant(tenant)
    yield store
    if request.param != "memory":
        store.close()


@pytest.fixture
def state(repo: Any, tmp_path: Path) -> ScimState:
    """The SCIM tables: in memory, in the SQLite store's file, in the PostgreSQL schema."""
    if isinstance(repo, SqliteRepository):
        return ScimState(tmp_path / "s.db")
    if isinstance(repo, MemoryRepository):
        return ScimState()
    from provisioning.scim.postgres import PostgresScimState

    return PostgresScimState(repo, repo.conninfo)


def client(repo: Any, state: ScimState, tenant: str = "harbor", actor: pv.Actor = AMS) -> Client:
    return Client(make_application(repo, state), tenant, state.issue(tenant, actor).token)


def okta_user(user_name: str = "ada@example.com", external_id: str = "00u1001") -> dict[str, Any]:
    """What Okta's POST /Users sends (its documented example, with our required attributes)."""
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": True, "value": "ada@example.com", "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "groups": [],
        "active": True,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "organization": "Analytical Engines"
        },
    }


def test_okta_connection_test_then_create(repo: Any, state: ScimState) -> None:
    """Okta's connection test (count=2), its lookup by userName, then the create."""
    scim = client(repo, state)
    status, body, _ = scim("GET", "/Users", query="startIndex=1&count=2")
    assert (status, body["totalResults"], body.get("Resources", [])) == (200, 0, [])
    status, body, _ = scim("GET", "/Users", query='filter=userName eq "ada@example.com"')
    assert (status, body["totalResults"]) == (200, 0)
    status, body, headers = scim("POST", "/Users", okta_user())
    assert status == 201, body
    assert body["externalId"] == "00u1001"
    assert body["active"] is True
    assert headers["ETag"] == body["meta"]["version"]
    record = repo.get("harbor", "00u1001")
    assert (record.first_name, record.email, record.company_name) == (
        "Ada",
        "ada@example.com",
        "Analytical Engines",
    )
    event = list(repo.events("harbor"))[-1]
    assert (event.kind.value, event.actor_id, event.key) == ("created", "ams", "00u1001")
    assert event.channel is pv.Channel.SCIM
    status, body, _ = scim("GET", "/Users", query='filter=userName eq "ADA@example.com"')
    assert (status, body["totalResults"]) == (200, 1)


def test_okta_put_and_patch_update_the_record(repo: Any, state: ScimState) -> None:
    """Okta's PUT replaces the user; its PATCH changes one attribute; each moves the ETag."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    uid, first = created["id"], created["meta"]["version"]
    replaced = okta_user() | {"id": uid, "name": {"givenName": "Ada", "familyName": "King"}}
    status, body, _ = scim("PUT", f"/Users/{uid}", replaced)
    assert status == 200, body
    assert repo.get("harbor", "00u1001").last_name == "King"
    assert body["meta"]["version"] != first
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Countess"}],
    }
    assert scim("PATCH", f"/Users/{uid}", patch)[0] in {200, 204}
    assert scim("GET", f"/Users/{uid}")[1]["title"] == "Countess"
    assert repo.get("harbor", "00u1001").title == "Countess"


def test_if_match_with_an_old_version_is_refused(repo: Any, state: ScimState) -> None:
    """If-Match is honoured: a PUT against a version that is no longer current is a 412."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    uid = created["id"]
    scim("PUT", f"/Users/{uid}", okta_user() | {"title": "Countess"})
    status, _, _ = scim(
        "PUT",
        f"/Users/{uid}",
        okta_user() | {"title": "Analyst"},
        headers={"If-Match": created["meta"]["version"]},
    )
    assert status == 412
    assert repo.get("harbor", "00u1001").title == "Countess"


@pytest.mark.parametrize("value", [False, "False", "false"])
def test_entra_patch_active_false_deactivates_and_keeps_the_user(
    repo: Any, state: ScimState, value: object
) -> None:
    """Entra's unassignment (DEACTIVATE_NOT_DELETE): active false, string "False" too;
    the user stays readable with active false."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": value}],
    }
    assert scim("PATCH", f"/Users/{created['id']}", patch)[0] in {200, 204}
    assert repo.get("harbor", "00u1001").status is pv.RecordStatus.DEACTIVATED
    status, body, _ = scim("GET", f"/Users/{created['id']}")
    assert (status, body["active"]) == (200, False)
    assert list(repo.events("harbor"))[-1].kind.value == "deactivated"


def test_delete_deactivates_then_the_resource_is_gone(repo: Any, state: ScimState) -> None:
    """DELETE deactivates the record, never deletes it (DEACTIVATE_NOT_DELETE); the SCIM
    resource answers 404 afterwards."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    status, _, _ = scim("DELETE", f"/Users/{created['id']}")
    assert status == 204
    assert scim("GET", f"/Users/{created['id']}")[0] == 404
    assert scim("GET", "/Users")[1]["totalResults"] == 0
    assert repo.get("harbor", "00u1001").status is pv.RecordStatus.DEACTIVATED


def test_a_repost_after_delete_restores_the_user_still_deactivated(
    repo: Any, state: ScimState
) -> None:
    """SCIM_REASSIGN_KEEPS_DEACTIVATION: Okta's POST for a DELETEd user is a 201, not a
    409; the record stays deactivated until an explicit reactivation (active true)."""
    assert REASSIGN_KEEPS_DEACTIVATION == "SCIM_REASSIGN_KEEPS_DEACTIVATION"
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    scim("DELETE", f"/Users/{created['id']}")
    status, body, _ = scim("POST", "/Users", okta_user() | {"title": "Countess"})
    assert (status, body["id"], body["active"]) == (201, created["id"], False)
    assert repo.get("harbor", "00u1001").title == "Countess"
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": True}}],
    }
    assert scim("PATCH", f"/Users/{created['id']}", patch)[0] in {200, 204}
    assert scim("GET", f"/Users/{created['id']}")[1]["active"] is True
    assert repo.get("harbor", "00u1001").status is pv.RecordStatus.ENABLED


def test_a_second_post_of_a_live_user_is_a_uniqueness_error(repo: Any, state: ScimState) -> None:
    """A POST for a user who exists and was not DELETEd is a 409 uniqueness error."""
    scim = client(repo, state)
    scim("POST", "/Users", okta_user())
    status, body, _ = scim("POST", "/Users", okta_user("other@example.com"))
    assert (status, body["scimType"]) == (409, "uniqueness")


@pytest.mark.parametrize(
    ("tenant", "rule"),
    [("cove", "STANDALONE_LOCAL_PORTAL"), ("bay", "UPLOAD_CSV_ONLY")],
)
def test_other_methods_refuse_scim_writes_naming_the_rule(
    repo: Any, state: ScimState, tenant: str, rule: str
) -> None:
    """Only a standard-integration tenant takes SCIM writes; the 403 names the rule."""
    scim = client(repo, state, tenant)
    status, body, _ = scim("POST", "/Users", okta_user())
    assert status == 403
    assert body["detail"].startswith(f"refused by {rule}: "), body["detail"]
    assert body["detail"].count(rule) == 1, body["detail"]
    assert repo.count(tenant) == 0
    assert scim("GET", "/Users")[0] == 200


def test_a_person_token_cannot_write_on_an_integration_tenant(repo: Any, state: ScimState) -> None:
    """Writes need the integration's role: a super admin's token is refused, naming
    ROLE_PERMISSIONS."""
    scim = client(repo, state, actor=pv.Actor(id="sa-1", role="super_admin"))
    status, body, _ = scim("POST", "/Users", okta_user())
    assert status == 403
    assert body["detail"].startswith("refused by ROLE_PERMISSIONS: ")
    assert repo.count("harbor") == 0


def test_another_tenants_token_is_refused_and_changes_nothing(repo: Any, state: ScimState) -> None:
    """A token of one tenant is refused (401) by every other tenant's base path."""
    other = state.issue("cove", AMS).token
    scim = client(repo, state)
    status, _, _ = scim("POST", "/Users", okta_user(), token=other)
    assert status == 401
    assert scim("GET", "/Users", token="x.y")[0] == 401  # noqa: S106 - not a secret
    assert repo.count("harbor") == 0


def test_tokens_rotate_and_revoke_by_id(state: ScimState) -> None:
    """Several tokens may be active; one is revoked by its id; only digests are kept."""
    first, second = state.issue("harbor", AMS), state.issue("harbor", AMS)
    state.revoke("harbor", first.info.id)
    assert state.authenticate("harbor", first.token) is None
    assert state.authenticate("harbor", second.token) == AMS
    assert [t.revoked_at is not None for t in state.tokens("harbor")].count(True) == 1


def test_filters_and_pages(repo: Any, state: ScimState) -> None:
    """filter on userName, externalId, emails.value and active; startIndex and count."""
    scim = client(repo, state)
    for n in range(5):
        user = okta_user(f"u{n}@example.com", f"k{n}")
        user["emails"] = [{"value": f"u{n}@example.com", "primary": True}]
        scim("POST", "/Users", user)
    _, page, _ = scim("GET", "/Users", query="startIndex=2&count=2")
    assert (page["totalResults"], page["startIndex"], len(page["Resources"])) == (5, 2, 2)
    assert [u["userName"] for u in page["Resources"]] == ["u1@example.com", "u2@example.com"]
    for query in (
        'externalId eq "k3"',
        'emails.value eq "u3@example.com"',
        'userName eq "U3@EXAMPLE.COM"',
    ):
        _, found, _ = scim("GET", "/Users", query=f"filter={query}")
        assert [u["externalId"] for u in found["Resources"]] == ["k3"], query
    _, found, _ = scim("GET", "/Users", query="filter=active eq true")
    assert found["totalResults"] == 5


def test_pages_without_a_filter_follow_the_filtered_order(repo: Any, state: ScimState) -> None:
    """A list without a filter is paged in the same order as a filtered list of the same
    users (userName without regard to case), whatever page size walks it."""
    scim = client(repo, state)
    for n, name in enumerate(["b@x.net", "A@x.net", "c@x.net", "B2@x.net", "a2@x.net"]):
        user = okta_user(name, f"k{n}")
        user["emails"] = [{"value": name, "primary": True}]
        scim("POST", "/Users", user)
    _, every, _ = scim("GET", "/Users", query="filter=active eq true")
    ordered = [u["userName"] for u in every["Resources"]]
    assert ordered == ["a2@x.net", "A@x.net", "B2@x.net", "b@x.net", "c@x.net"]
    for count in (1, 2, 3):
        walked = []
        for start in range(1, 6, count):
            _, page, _ = scim("GET", "/Users", query=f"startIndex={start}&count={count}")
            assert page["totalResults"] == 5
            walked += [u["userName"] for u in page["Resources"]]
        assert walked == ordered, count


def test_an_external_id_names_one_user(repo: Any, state: ScimState) -> None:
    """An externalId another user holds is refused (409) on create and on update, and
    nothing is written: an ``externalId eq`` filter finds one user."""
    scim = client(repo, state)
    first = okta_user("one@x.net", "k1")
    first["emails"] = [{"value": "one@x.net", "primary": True}]
    _, one, _ = scim("POST", "/Users", first)
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "externalId", "value": "k2"}],
    }
    assert scim("PATCH", f"/Users/{one['id']}", patch)[0] in (200, 204)
    second = okta_user("two@x.net", "k2")
    second["emails"] = [{"value": "two@x.net", "primary": True}]
    status, body, _ = scim("POST", "/Users", second)
    assert (status, body["scimType"]) == (409, "uniqueness"), body
    assert "k2" in body["detail"]
    assert repo.get("harbor", "k2") is None
    third = okta_user("three@x.net", "k3")
    third["emails"] = [{"value": "three@x.net", "primary": True}]
    _, three, _ = scim("POST", "/Users", third)
    status, body, _ = scim("PATCH", f"/Users/{three['id']}", patch)
    assert (status, body["scimType"]) == (409, "uniqueness"), body
    _, found, _ = scim("GET", "/Users", query='filter=externalId eq "k2"')
    assert [u["userName"] for u in found["Resources"]] == ["one@x.net"]


def test_schemas_mark_what_a_record_requires(repo: Any, state: ScimState) -> None:
    """/Schemas says which attributes a record requires."""
    _, body, _ = client(repo, state)("GET", "/Schemas")
    user = next(s for s in body["Resources"] if s["id"].endswith("core:2.0:User"))
    required = {a["name"] for a in user["attributes"] if a["required"]}
    assert {"userName", "name", "emails"} <= required


def test_the_core_imports_without_the_extra() -> None:
    """import provisioning does not import the SCIM packages."""
    code = "import sys, provisioning; print('scim2_server' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}


def entra_user() -> dict[str, Any]:
    """What Microsoft Entra's provisioning service POSTs (its documented request, with
    our required attributes): externalId from mailNickname, userName the UPN."""
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": "Test_User_ab6490ee",
        "userName": "Test_User_00aa00aa@contoso.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb11bb@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "organization": "Contoso",
            "department": "Sales",
        },
    }


def test_entra_create_and_its_patch_forms(repo: Any, state: ScimState) -> None:
    """Entra's create (attributes a record does not keep are ignored), then its PATCH
    forms: capitalised ops, a filtered email path, a sub-attribute path, a path-less
    value object, and a remove carrying a value."""
    scim = client(repo, state)
    status, created, _ = scim("GET", "/Users", query='filter=externalId eq "Test_User_ab6490ee"')
    assert (status, created["totalResults"]) == (200, 0)
    status, created, _ = scim("POST", "/Users", entra_user())
    assert status == 201, created
    assert repo.get("harbor", "Test_User_ab6490ee").email == "Test_User_11bb11bb@contoso.com"
    assert "roles" not in created
    assert "department" not in str(created)
    uid = created["id"]
    patch = _patch(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Grace"},
        {"op": "Add", "value": {"title": "Admiral", "nickName": "Amazing"}},
    )
    status, body, _ = scim("PATCH", f"/Users/{uid}", patch)
    assert status in {200, 204}, body
    record = repo.get("harbor", "Test_User_ab6490ee")
    assert (record.email, record.first_name, record.title, record.informal_name) == (
        "new@contoso.com",
        "Grace",
        "Admiral",
        "Amazing",
    )
    # A filter matching no entry adds it (phoneNumbers[type eq "mobile"]), as Entra expects.
    add_phone = _patch(
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555-0100"}
    )
    status, body, _ = scim("PATCH", f"/Users/{uid}", add_phone)
    assert status in {200, 204}, body
    record = repo.get("harbor", "Test_User_ab6490ee")
    assert (record.phone1, record.phone1_type) == ("555-0100", "mobile")
    # Entra's remove names what it removes in its value.
    remove = _patch(
        {"op": "Remove", "path": "phoneNumbers", "value": [{"value": "555-0100"}]},
        {"op": "Remove", "path": "nickName"},
    )
    status, body, _ = scim("PATCH", f"/Users/{uid}", remove)
    assert status in {200, 204}, body
    assert repo.get("harbor", "Test_User_ab6490ee").phone1 is None
    assert repo.get("harbor", "Test_User_ab6490ee").informal_name is None


def test_a_put_of_fields_and_active_is_one_commit(repo: Any, state: ScimState) -> None:
    """A PUT that edits the user and sets active false is one write: the revision moves
    once, with an updated and a deactivated event."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    before = repo.revision("harbor")
    status, body, _ = scim(
        "PUT", f"/Users/{created['id']}", okta_user() | {"title": "Countess", "active": False}
    )
    assert (status, body["active"], body["title"]) == (200, False, "Countess")
    assert repo.revision("harbor") == before + 1
    events = [e for e in repo.events("harbor") if e.revision == before + 1]
    assert [e.kind.value for e in events] == ["updated", "deactivated"]
    assert {e.channel for e in events} == {pv.Channel.SCIM}


def test_a_post_with_active_false_creates_a_deactivated_record_in_one_commit(
    repo: Any, state: ScimState
) -> None:
    """A user created inactive is one write: created, then deactivated, one revision."""
    scim = client(repo, state)
    status, body, _ = scim("POST", "/Users", okta_user() | {"active": False})
    assert (status, body["active"]) == (201, False)
    assert repo.revision("harbor") == 1
    assert [e.kind.value for e in repo.events("harbor")] == ["created", "deactivated"]


def test_okta_deactivates_with_a_put_and_reactivates_with_a_patch(
    repo: Any, state: ScimState
) -> None:
    """Okta's deactivation is a PUT with active false; its reactivation a PATCH
    {"active": true} without a path (REACTIVATE_USER)."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    uid = created["id"]
    assert scim("PUT", f"/Users/{uid}", okta_user() | {"active": False})[1]["active"] is False
    patch = _patch({"op": "replace", "value": {"active": True}})
    assert scim("PATCH", f"/Users/{uid}", patch)[0] in {200, 204}
    assert repo.get("harbor", "00u1001").status is pv.RecordStatus.ENABLED
    assert list(repo.events("harbor"))[-1].kind.value == "reactivated"


def test_the_primary_email_is_the_one_kept(repo: Any, state: ScimState) -> None:
    """Of several emails, the one marked primary is the record's EmailAddress."""
    scim = client(repo, state)
    user = okta_user() | {
        "emails": [
            {"value": "home@example.com", "type": "home"},
            {"value": "work@example.com", "type": "work", "primary": True},
        ]
    }
    status, body, _ = scim("POST", "/Users", user)
    assert status == 201, body
    assert repo.get("harbor", "00u1001").email == "work@example.com"


def test_a_user_without_external_id_is_keyed_by_user_name(repo: Any, state: ScimState) -> None:
    """A create without externalId takes its userName as the record's key; a later
    externalId is the SCIM attribute's and does not rename the record."""
    scim = client(repo, state)
    user = okta_user("grace@example.com")
    del user["externalId"]
    status, body, _ = scim("POST", "/Users", user)
    assert status == 201, body
    assert "externalId" not in body
    assert repo.get("harbor", "grace@example.com") is not None
    patch = _patch({"op": "add", "path": "externalId", "value": "00u2"})
    assert scim("PATCH", f"/Users/{body['id']}", patch)[0] in {200, 204}
    assert scim("GET", f"/Users/{body['id']}")[1]["externalId"] == "00u2"
    assert repo.get("harbor", "grace@example.com") is not None
    assert repo.get("harbor", "00u2") is None


def test_user_names_are_unique_ignoring_case(repo: Any, state: ScimState) -> None:
    """A userName another user holds, in any case, is a 409 uniqueness error; nothing is
    written."""
    scim = client(repo, state)
    scim("POST", "/Users", okta_user("Ada@Example.com"))
    status, body, _ = scim("POST", "/Users", okta_user("ada@example.COM", "00u2"))
    assert (status, body["scimType"]) == (409, "uniqueness")
    assert repo.get("harbor", "00u2") is None


def test_a_bearer_token_is_bounded_and_the_scheme_checked(repo: Any, state: ScimState) -> None:
    """A huge token, another scheme or no token at all: 401, looked up no further."""
    scim = client(repo, state)
    assert scim("GET", "/Users", token="x" * 100_000)[0] == 401
    good = scim.token
    scim.token = ""
    assert scim("GET", "/Users")[0] == 401
    assert scim("GET", "/Users", headers={"Authorization": f"Basic {good}"})[0] == 401


def test_a_failed_write_leaves_the_user_name_as_it_was(repo: Any, state: ScimState) -> None:
    """The userName is committed with the record's write, or not at all: a refused
    create holds no userName, a refused PUT keeps the old one."""
    refused = client(repo, state, "cove")("POST", "/Users", okta_user("taken@example.com"))
    assert refused[0] == 403
    assert not repo.scim_facts("cove", user_name="taken@example.com")
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    bad = okta_user("renamed@example.com") | {"emails": [{"value": "not an email"}]}
    status, body, _ = scim("PUT", f"/Users/{created['id']}", bad)
    assert status == 400, body
    assert "EmailAddress" in body["detail"]
    assert scim("GET", f"/Users/{created['id']}")[1]["userName"] == "ada@example.com"
    assert not repo.scim_facts("harbor", user_name="renamed@example.com")


def test_entra_default_attribute_mappings(repo: Any, state: ScimState) -> None:
    """The PATCH Entra sends with its default user mappings: the attributes a record
    keeps are written, the others (department, manager, preferredLanguage, an address's
    formatted text, displayName) are ignored, not refused."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", entra_user())
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    patch = _patch(
        {"op": "Add", "path": "displayName", "value": "Grace Hopper"},
        {"op": "Add", "path": "preferredLanguage", "value": "en-US"},
        {"op": "Add", "path": 'addresses[type eq "work"].formatted', "value": "Bldg 7"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Arlington"},
        {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "22201"},
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "555-0199"},
        {"op": "Add", "path": f"{enterprise}:department", "value": "Navy"},
        {"op": "Add", "path": f"{enterprise}:employeeNumber", "value": "E-7"},
        {"op": "Replace", "path": "title", "value": "Rear Admiral"},
    )
    status, body, _ = scim("PATCH", f"/Users/{created['id']}", patch)
    assert status in {200, 204}, body
    record = repo.get("harbor", "Test_User_ab6490ee")
    assert (record.city, record.postal_code, record.phone1, record.phone1_type) == (
        "Arlington",
        "22201",
        "555-0199",
        "work",
    )
    assert (record.member_id, record.title) == ("E-7", "Rear Admiral")
    shown = scim("GET", f"/Users/{created['id']}")[1]
    assert shown["addresses"] == [{"type": "work", "locality": "Arlington", "postalCode": "22201"}]
    assert "displayName" not in shown


def test_the_scim_facts_beside_the_record_are_audited(repo: Any, state: ScimState) -> None:
    """userName and externalId are in the create's event; a PUT changing only the
    userName is an updated event of its own; a DELETE of a user already deactivated is
    audited too (the resource's removal, and the userName it gives up)."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user())
    first = list(repo.events("harbor"))[-1]
    assert [(c.field, c.old, c.new) for c in first.changes] == [
        ("userName", None, "ada@example.com"),
        ("externalId", None, "00u1001"),
    ]
    before = repo.revision("harbor")
    status, body, _ = scim("PUT", f"/Users/{created['id']}", okta_user("ada.king@example.com"))
    assert (status, body["userName"]) == (200, "ada.king@example.com")
    assert body["meta"]["version"] != created["meta"]["version"]
    renamed = list(repo.events("harbor"))[-1]
    assert (renamed.kind.value, renamed.revision, renamed.channel) == (
        "updated",
        before + 1,
        pv.Channel.SCIM,
    )
    assert [(c.field, c.old, c.new) for c in renamed.changes] == [
        ("userName", "ada@example.com", "ada.king@example.com")
    ]
    assert scim("PUT", f"/Users/{created['id']}", okta_user("ada.king@example.com"))[0] == 200
    assert repo.revision("harbor") == before + 1  # nothing changed, nothing written
    off = _patch({"op": "replace", "path": "active", "value": False})
    scim("PATCH", f"/Users/{created['id']}", off)
    assert scim("DELETE", f"/Users/{created['id']}")[0] == 204
    gone = list(repo.events("harbor"))[-1]
    assert (gone.kind.value, [(c.field, c.new) for c in gone.changes]) == (
        "updated",
        [("scimResource", None), ("userName", None)],
    )


def test_lookups_by_index_find_what_a_full_scan_finds(repo: Any, state: ScimState) -> None:
    """userName / externalId / id / emails.value eq filters are looked up rather than
    scanned, with the same answers: ignoring case where the attribute does, a record
    written by another channel since, a DELETEd user left out."""
    scim = client(repo, state)
    _, ada, _ = scim("POST", "/Users", okta_user())
    _, other, _ = scim(
        "POST",
        "/Users",
        okta_user("bob@example.com", "00u2") | {"emails": [{"value": "bob@example.com"}]},
    )
    scim("DELETE", f"/Users/{other['id']}")
    # A record another channel writes gets its SCIM facts when first looked for.
    pushed = pv.writes.push(
        INTEGRATED,
        AMS,
        [
            pv.writes.PushOperation(
                "upsert",
                {
                    "LegacyContactKey": "k7",
                    "FirstName": "Cy",
                    "LastName": "Young",
                    "EmailAddress": "cy@example.com",
                    "CompanyName": "Acme",
                },
            )
        ],
        repo,
    )
    assert isinstance(pushed, pv.writes.PushResult)
    expected = {
        'userName eq "ADA@example.com"': ["00u1001"],
        'externalId eq "00u1001"': ["00u1001"],
        'externalId eq "00U1001"': [],  # externalId is case-exact
        f'id eq "{ada["id"]}"': ["00u1001"],
        'emails.value eq "Ada@Example.com"': ["00u1001"],
        'userName eq "bob@example.com"': [],  # DELETEd
        'externalId eq "00u2"': [],
        'userName eq "cy@example.com"': ["k7"],  # adopted: its email is its userName
        'externalId eq "k7"': ["k7"],
        'emails.value eq "cy@example.com"': ["k7"],
        'userName eq "nobody@example.com"': [],
    }
    for query, keys in expected.items():
        status, found, _ = scim("GET", "/Users", query=f"filter={query}")
        assert status == 200, (query, found)
        assert [u["externalId"] for u in found.get("Resources", [])] == keys, query
        assert found["totalResults"] == len(keys), query


def test_a_filter_of_too_many_comparisons_is_refused_before_it_is_run(
    repo: Any, state: Any
) -> None:
    """More than MOST_FILTER_TERMS comparisons: 400 invalidFilter, naming the limit;
    exactly that many is served."""
    scim = client(repo, state)
    assert scim("POST", "/Users", okta_user())[0] == 201
    many = " or ".join(f'name.familyName eq "L{i}"' for i in range(MOST_FILTER_TERMS))
    status, body, _ = scim("GET", "/Users", query=f"filter={many}")
    assert (status, body["totalResults"]) == (200, 0)
    status, body, _ = scim("GET", "/Users", query=f"filter={many} or title pr")
    assert (status, body["scimType"]) == (400, "invalidFilter")
    assert f"{MOST_FILTER_TERMS + 1} comparisons; at most {MOST_FILTER_TERMS}" in body["detail"]
    nested = "not (" * 30 + "title pr" + ")" * 30
    assert scim("GET", "/Users", query=f"filter={nested}")[0] == 200


def test_an_indexed_term_of_an_and_finds_what_a_scan_finds(repo: Any, state: Any) -> None:
    """``userName eq … and …`` is looked up by its indexed term, with the whole filter
    still applied: the same users as the same filter written to be scanned."""
    scim = client(repo, state)
    _, ada, _ = scim("POST", "/Users", okta_user())
    scim(
        "POST",
        "/Users",
        okta_user("bob@example.com", "00u2") | {"emails": [{"value": "bob@example.com"}]},
    )
    scim(
        "PATCH",
        f"/Users/{ada['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    for indexed, scanned, keys in [
        (
            'userName eq "ADA@example.com" and active eq false',
            "active eq false and name.givenName pr",
            ["00u1001"],
        ),
        (
            'userName eq "ada@example.com" and active eq true',
            'active eq true and userName sw "ada"',
            [],
        ),
        (
            'active eq true and externalId eq "00u2"',
            'active eq true and externalId sw "00u2"',
            ["00u2"],
        ),
    ]:
        found = [
            [
                u["externalId"]
                for u in scim("GET", "/Users", query=f"filter={q}")[1].get("Resources", [])
            ]
            for q in (indexed, scanned)
        ]
        assert found == [keys, keys], (indexed, found)


def test_other_channels_keep_the_user_name_and_deleting_personal_data_redacts_it(
    repo: Any, state: ScimState
) -> None:
    """The record's SCIM facts are its own beside its fields: a push of the record (the
    AMS's full upsert) keeps its userName; deleting the person's data deletes it with
    the rest (the resource is a 404, the name free for another user), and an export of
    the records has no column for it."""
    scim = client(repo, state)
    _, created, _ = scim("POST", "/Users", okta_user("ada.login"))
    cells = {
        "LegacyContactKey": "00u1001",
        "FirstName": "Ada",
        "LastName": "King",
        "EmailAddress": "ada@example.com",
        "CompanyName": "Harbor",
    }
    tenant = repo.get_tenant("harbor")
    pushed = writes.push(tenant, AMS, [writes.PushOperation("upsert", cells)], repo)
    assert isinstance(pushed, writes.PushResult)
    assert scim("GET", f"/Users/{created['id']}")[1]["userName"] == "ada.login"
    assert [f.user_name for f in repo.scim_facts("harbor", key="00u1001")] == ["ada.login"]
    admin = pv.Actor(id="sa-1", role="super_admin")
    writes.delete_personal_data(tenant, admin, "00u1001", repo)
    assert repo.scim_facts("harbor", key="00u1001") == []
    assert not repo.scim_facts("harbor", user_name="ada.login")
    assert scim("GET", f"/Users/{created['id']}")[0] == 404
    again = okta_user("ada.login", "00u2002") | {"emails": [{"value": "new@example.com"}]}
    assert scim("POST", "/Users", again)[0] == 201
    assert "user_name" not in {a.name for a in attrs.fields(pv.UserRecord)}


def test_a_patch_leaves_the_fields_a_user_shows_merged_as_stored(
    repo: Any, state: ScimState
) -> None:
    """A User shows a record's two address lines as one streetAddress and only the phones
    it has: a PATCH (or PUT) that does not change them writes the record's own Address1,
    Address2, Phone1 and Phone2 back, not the split of what it showed (which moved
    Address2 into Address1, Phone2 into Phone1, and re-split a line break)."""
    from provisioning.writes import PushOp, PushOperation, PushResult, push

    kept = {
        "K1": {"Address1": "", "Address2": "Suite 5", "Phone1": "", "Phone2": "555-0102",
               "Phone2Type": "mobile"},
        "K2": {"Address1": "Line\nTwo", "Address2": "Three", "Phone1": "555-0101",
               "Phone1Type": "work"},
    }  # fmt: skip
    tenant = repo.get_tenant("harbor")
    for key, cells in kept.items():
        row = {"LegacyContactKey": key, "FirstName": "R", "LastName": "K", "CompanyName": "H",
               "EmailAddress": f"{key.lower()}@example.com", "City": "Oslo", **cells}  # fmt: skip
        operation = PushOperation(PushOp.UPSERT, row, line=1)
        assert isinstance(push(tenant, AMS, [operation], repo), PushResult)
    scim = client(repo, state)
    title = {"op": "replace", "path": "title", "value": "Boss"}
    for user in scim("GET", "/Users")[1]["Resources"]:
        assert scim("PATCH", f"/Users/{user['id']}", _patch(title))[0] in {200, 204}
    for key, cells in kept.items():
        record = repo.get("harbor", key)
        assert record.title == "Boss"
        stored = {
            "Address1": record.address1 or "", "Address2": record.address2 or "",
            "Phone1": record.phone1 or "", "Phone2": record.phone2 or "",
            "Phone1Type": record.phone1_type or "", "Phone2Type": record.phone2_type or "",
        }  # fmt: skip
        assert {f: stored[f] for f in cells} == cells, key
    # A change of what the User shows is written as the mapping says.
    [one] = scim("GET", "/Users", query='filter=externalId eq "K1"')[1]["Resources"]
    street = {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "Quay 1"}
    assert scim("PATCH", f"/Users/{one['id']}", _patch(street))[0] in {200, 204}
    record = repo.get("harbor", "K1")
    assert (record.address1, record.address2, record.phone2) == ("Quay 1", None, "555-0102")
