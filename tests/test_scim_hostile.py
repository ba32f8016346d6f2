"""SCIM as a hostile client sends it: what must be refused cleanly, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("scim2_server")

import test_scim
from provisioning.scim import ScimState
from provisioning.writes import PushOp, PushOperation, PushResult, push
from test_scim import AMS, client, okta_user

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
    assert state.holder_of("harbor", "ada@example.com") is None


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
