"""The record-shaped code generated from the model's fields: it sees every field."""

from __future__ import annotations

import datetime as dt
import traceback
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
from provisioning._fields import FieldKind, field_specs, make_carry, make_equal, make_replace
from provisioning.testing import user_records

NAMES = [spec.name for spec in field_specs(pv.UserRecord)]


def test_the_specs_follow_the_model_in_order() -> None:
    """One spec per attrs field, in declaration order, with the kind its type says."""
    assert [a.name for a in attrs.fields(pv.UserRecord)] == NAMES
    kinds = {spec.name: spec.kind for spec in field_specs(pv.UserRecord)}
    assert kinds["legacy_contact_key"] is FieldKind.TEXT
    assert kinds["title"] is FieldKind.OPTIONAL_TEXT
    assert kinds["birthday"] is FieldKind.DATE
    assert kinds["is_member"] is FieldKind.FLAG
    assert kinds["status"] is FieldKind.ENUM
    assert kinds["custom"] is FieldKind.MAPPING
    required = [s.name for s in field_specs(pv.UserRecord) if s.required]
    assert required == ["legacy_contact_key", "first_name", "last_name", "email", "company_name"]


@given(user_records(), st.frozensets(st.sampled_from(NAMES)), user_records())
def test_carry_takes_the_kept_fields_from_the_old_record(
    record: pv.UserRecord, kept: frozenset[str], old: pv.UserRecord
) -> None:
    """make_carry(cls, kept)(record, old) is attrs.evolve(record, **old's kept fields)."""
    expected = attrs.evolve(record, **{name: getattr(old, name) for name in kept})
    carried = make_carry(pv.UserRecord, kept)(record, old)
    assert type(carried) is pv.UserRecord
    assert carried == expected


def test_carry_refuses_a_field_the_model_lacks() -> None:
    """A kept name that is no field is a bug of the caller, said at once."""
    with pytest.raises(ValueError, match="UserRecord has no field"):
        make_carry(pv.UserRecord, frozenset({"shoe_size"}))
    with pytest.raises(ValueError, match="UserRecord has no field 'shoe_size'"):
        make_replace(pv.UserRecord, "shoe_size")


def test_a_generated_function_shows_its_line_in_a_traceback() -> None:
    """Generated source is registered with linecache, as attrs does."""
    equal: Any = make_equal(pv.UserRecord)
    with pytest.raises(AttributeError) as caught:
        equal(object(), object())
    text = "".join(traceback.format_exception(caught.value))
    assert "<provisioning generated equal" in text
    assert "a.legacy_contact_key == b.legacy_contact_key" in text


def test_a_field_added_to_the_model_is_seen_by_all_generated_code() -> None:
    """Adding a field to a copy of the model needs no edit here: every function sees it."""

    @attrs.frozen(kw_only=True)
    class Wider(pv.UserRecord):
        shoe_size: str | None = None
        joined: dt.date | None = None

    def wide(**fields: Any) -> Wider:
        base = {
            "legacy_contact_key": "1",
            "first_name": "A",
            "last_name": "B",
            "email": "a@example.org",
            "company_name": "C",
        }
        return Wider(**(base | fields))

    kinds = {spec.name: spec.kind for spec in field_specs(Wider)}
    assert kinds["shoe_size"] is FieldKind.OPTIONAL_TEXT
    assert kinds["joined"] is FieldKind.DATE
    equal = make_equal(Wider)
    assert equal(wide(shoe_size="42"), wide(shoe_size="42"))
    assert not equal(wide(shoe_size="42"), wide(shoe_size="43"))
    replaced = make_replace(Wider, "status")(wide(shoe_size="42"), pv.RecordStatus.DEACTIVATED)
    assert replaced == wide(shoe_size="42", status="Deactivated")
    carried = make_carry(Wider, frozenset({"joined"}))(wide(), wide(joined=dt.date(2020, 1, 2)))
    assert carried == wide(joined=dt.date(2020, 1, 2))
