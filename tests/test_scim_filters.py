"""SCIM filters are evaluated on views of the records, exactly as on whole resources
(the service's tests are in test_scim.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytest.importorskip("scim2_server")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scim2_models import ScimFilter
from scim2_server.utils import parametrize

import provisioning as pv
from provisioning.repository import ScimFacts
from provisioning.scim._mapping import RecordView, resource_of
from provisioning.scim._models import USER_MODEL

WHEN = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

#: Short texts, with case and Unicode that folds, so comparisons often meet.
words = st.sampled_from(["", "a", "A", "ada", "Ada", "ADA", "straße", "STRASSE", "é", "É", "x1"])
optional_words = st.none() | words.filter(bool)
days = st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31))


@st.composite
def views(draw: st.DrawFn) -> tuple[pv.UserRecord, ScimFacts]:
    """A record and its SCIM facts, over every field a User shows."""
    name = draw(st.sampled_from(["ada", "Ada", "ADA", "bob", "x1"]))
    record = pv.UserRecord(
        legacy_contact_key=draw(st.sampled_from(["k1", "K1", "00u1"])),
        first_name=draw(words.filter(bool)),
        last_name=draw(words.filter(bool)),
        email=f"{name}@{draw(st.sampled_from(['example.com', 'Example.COM']))}",
        company_name=draw(words.filter(bool)),
        prefix=draw(optional_words),
        middle_name=draw(optional_words),
        suffix=draw(optional_words),
        informal_name=draw(optional_words),
        title=draw(optional_words),
        member_id=draw(optional_words),
        member_since=draw(days),
        birthday=draw(days),
        address1=draw(optional_words),
        city=draw(optional_words),
        country=draw(optional_words),
        phone1=draw(optional_words),
        phone1_type=draw(optional_words),
        is_member=draw(st.none() | st.booleans()),
        status=draw(st.sampled_from([pv.RecordStatus.ENABLED, pv.RecordStatus.DEACTIVATED])),
    )
    entry = ScimFacts(
        key=record.legacy_contact_key,
        id=draw(st.sampled_from(["id-1", "ID-1"])),
        user_name=draw(st.sampled_from(["ada@example.com", "ADA@example.com", "straße", "x1"])),
        created_at=WHEN,
        modified_at=WHEN + dt.timedelta(days=draw(st.integers(0, 3))),
        removed=False,
        external_id=draw(st.none() | st.sampled_from(["00u1", "00U1", "k1"])),
    )
    return record, entry


ATTRIBUTES = [
    "id",
    "userName",
    "externalId",
    "active",
    "title",
    "nickName",
    "name",
    "name.givenName",
    "name.familyName",
    "name.middleName",
    "name.honorificPrefix",
    "emails",
    "emails.value",
    "emails.type",
    "phoneNumbers.value",
    "phoneNumbers.type",
    "addresses.locality",
    "addresses.country",
    "meta.lastModified",
    "meta.created",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
VALUES = [
    '"ada"',
    '"ADA@example.com"',
    '"strasse"',
    '"a"',
    '"00u1"',
    '"k1"',
    '"id-1"',
    '"work"',
    '"2026-01-03T03:04:05Z"',
    "true",
    "false",
    "null",
    '""',
]


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    """A filter over the attributes a User shows, nested up to two levels."""
    kind = draw(
        st.sampled_from(["cmp", "cmp", "pr", "not", "and", "or", "path"][: 3 if depth > 1 else 7])
    )
    if kind == "cmp":
        attribute = draw(st.sampled_from(ATTRIBUTES))
        return f"{attribute} {draw(st.sampled_from(OPERATORS))} {draw(st.sampled_from(VALUES))}"
    if kind == "pr":
        return f"{draw(st.sampled_from(ATTRIBUTES))} pr"
    if kind == "not":
        return f"not ({draw(filters(depth + 1))})"
    if kind == "path":
        inner = draw(st.sampled_from(['type eq "work"', 'value co "ada"', "value pr"]))
        return f"emails[{inner}]"
    terms = draw(st.lists(filters(depth + 1), min_size=2, max_size=3))
    return f" {kind} ".join(f"({term})" for term in terms)


def _bound(text: str) -> ScimFilter[Any] | None:
    """The filter as the server binds it, or ``None`` if the server refuses it (an
    operator the attribute's type forbids, say)."""
    try:
        return parametrize(ScimFilter, USER_MODEL)(text)
    except Exception:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=views(), text=filters())
def test_a_view_matches_exactly_as_the_whole_resource(
    pair: tuple[pv.UserRecord, ScimFacts], text: str
) -> None:
    """Whatever the filter, a record's view and its whole User give the same answer."""
    scim_filter = _bound(text)
    if scim_filter is None:
        return
    record, entry = pair
    resource = resource_of(record, entry)
    assert scim_filter.match(RecordView(record, entry)) is scim_filter.match(resource), text


@given(pair=views())
def test_the_attributes_a_view_makes_are_the_resources_own(
    pair: tuple[pv.UserRecord, ScimFacts],
) -> None:
    """Each attribute the view makes itself equals the whole User's."""
    record, entry = pair
    view, resource = RecordView(record, entry), resource_of(record, entry)
    for attribute in ("id", "external_id", "user_name", "active", "title", "nick_name", "name"):
        assert getattr(view, attribute) == getattr(resource, attribute), attribute
    assert view.emails == resource.emails
    assert view.meta == resource.meta  # read off the whole User
