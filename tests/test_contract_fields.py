"""The contract's full record and the record strategies set every field of the model."""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import provisioning as pv
from provisioning._fields import FieldKind, field_specs
from provisioning.testing import contacts, user_records
from provisioning.testing._contract import _full_record, _full_values
from provisioning.testing._record_strategies import _records

USER_FIELDS = [spec.name for spec in field_specs(pv.UserRecord)]
CONTACT_FIELDS = [spec.name for spec in field_specs(pv.Contact)]


def _is_default(cls: type[Any], record: Any, name: str) -> bool:
    """Whether ``record``'s field ``name`` holds what ``cls`` gives it when left out."""
    required = {s.name: getattr(record, s.name) for s in field_specs(cls) if s.required}
    if name in required:
        return False
    return bool(getattr(record, name) == getattr(cls(**required), name))


@pytest.mark.parametrize("name", USER_FIELDS)
def test_the_full_record_leaves_no_field_at_its_default(name: str) -> None:
    """Every field of UserRecord is set by ``_full_record``, none to its default."""
    record = _full_record()
    assert not _is_default(pv.UserRecord, record, name)
    assert getattr(record, name) not in (None, "", {})


def test_the_full_record_is_awkward() -> None:
    """Its values hold what stores and files get wrong, each field its own value."""
    record = _full_record("k-1")
    assert record.legacy_contact_key == "k-1"
    texts = [
        getattr(record, s.name)
        for s in field_specs(pv.UserRecord)
        if s.kind in (FieldKind.TEXT, FieldKind.OPTIONAL_TEXT) and s.role is None
    ]
    assert len(set(texts)) == len(texts)
    joined = "".join(texts)
    for awkward in ("=1+2", "\n", "\t", '"', "'", ",", "Ñ", "🦆"):
        assert awkward in joined
    dates = sorted(
        getattr(record, s.name) for s in field_specs(pv.UserRecord) if s.kind is FieldKind.DATE
    )
    assert all((b - a).days > 365 * 20 for a, b in itertools.pairwise(dates))
    assert record.is_member is False
    assert record.status is list(pv.RecordStatus)[-1]
    assert record.custom["NULL"] == "0"
    assert any(not key.isascii() for key in record.custom)


def test_a_field_added_to_the_model_is_set_by_the_full_record() -> None:
    """A subclass with fields of its own gets a non-default value for each, no edit needed."""

    @attrs.frozen(kw_only=True)
    class Wider(pv.UserRecord):
        shoe_size: str | None = None
        joined: pv.RecordStatus = pv.RecordStatus.ENABLED
        verified: bool | None = None

    record = Wider(**_full_values(Wider))
    assert record.shoe_size is not None
    assert record.joined is list(pv.RecordStatus)[-1]
    assert record.verified is False


def _find(strategy: st.SearchStrategy[Any], cls: type[Any], name: str) -> Any:
    """An example of ``strategy`` whose field ``name`` is not its default."""
    return find(
        strategy,
        lambda record: not _is_default(cls, record, name),
        settings=settings(
            max_examples=2_000, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
        ),
    )


@pytest.mark.parametrize("name", USER_FIELDS)
def test_user_records_can_set_every_field(name: str) -> None:
    """For each field, ``user_records`` draws records whose value is not the default."""
    found = _find(user_records(custom_keys=("Chapter",)), pv.UserRecord, name)
    assert not _is_default(pv.UserRecord, found, name)


@pytest.mark.parametrize("name", CONTACT_FIELDS)
def test_contacts_can_set_every_field(name: str) -> None:
    """For each field, ``contacts`` (any subscription) draws a non-default value."""
    strategy = contacts(
        custom_keys=("Chapter",), subscriptions=st.sampled_from(pv.SubscriptionStatus)
    )
    found = _find(strategy, pv.Contact, name)
    assert not _is_default(pv.Contact, found, name)


def test_a_field_added_to_the_model_is_drawn() -> None:
    """The strategies are built from the fields: a subclass's own field is drawn too."""

    @attrs.frozen(kw_only=True)
    class Wider(pv.UserRecord):
        shoe_size: str | None = None

    found = _find(_records(Wider), Wider, "shoe_size")
    assert isinstance(found, Wider)
    assert found.shoe_size is not None


@given(user_records(statuses=st.just(pv.RecordStatus.REJECTED), custom_keys=("Chapter",)))
def test_user_records_parameters(record: pv.UserRecord) -> None:
    """``statuses`` draws the status; ``custom_keys`` the custom columns; keys stay short."""
    assert record.status is pv.RecordStatus.REJECTED
    assert set(record.custom) <= {"Chapter"}
    assert 1 <= len(record.legacy_contact_key) <= 12


@given(contacts())
def test_contacts_are_subscribed_by_default(contact: pv.Contact) -> None:
    """Contact files carry no subscription column: the default draws subscribed only."""
    assert contact.subscription is pv.SubscriptionStatus.SUBSCRIBED
    assert contact.custom == {}


@given(contacts(member_ids=True), contacts(member_ids=False))
def test_contacts_member_ids(with_id: pv.Contact, without: pv.Contact) -> None:
    """``member_ids=True`` always sets a short member id, ``False`` never does."""
    assert with_id.member_id is not None
    assert len(with_id.member_id) <= 12
    assert without.member_id is None


def test_an_override_for_no_field_is_refused() -> None:
    """An override naming a field the class lacks is a bug of the caller, said at once."""
    with pytest.raises(ValueError, match="UserRecord has no field"):
        _records(pv.UserRecord, overrides={"shoe_size": st.none()})
