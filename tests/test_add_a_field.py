"""The "Add a field" steps, followed on a copy of the model: the rest follows by itself."""

from __future__ import annotations

import io
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import provisioning as pv
from provisioning._fields import FieldKind, field_specs, make_carry, make_equal, make_replace
from provisioning.records import ID_MAX_LENGTH
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, Column, ErrorCode, read_all, write
from provisioning.testing._contract import _full_values
from provisioning.testing._record_strategies import _records


# Step 1, the model: a new field (a subclass here, so the real model stays as it is).
@attrs.frozen(kw_only=True)
class WithShoeSize(pv.UserRecord):
    #: An identifier too, to check the role travels with the metadata.
    shoe_size: str | None = None
    locker: str | None = attrs.field(default=None, metadata={"provisioning.role": "identifier"})


# Step 2, the template: a column for each new field.
TEMPLATE = COMMUNITY_UPLOAD_USERS.extend(
    Column(header="ShoeSize", field="shoe_size"),
    Column(header="Locker", field="locker"),
    record_type=WithShoeSize,
)

BASE: dict[str, Any] = {
    "legacy_contact_key": "1001",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "company_name": "Analytical Engines",
}


def _round_trip(records: list[Any]) -> list[Any]:
    out = io.StringIO(newline="")
    write(records, out, TEMPLATE)
    report = read_all(io.BytesIO(out.getvalue().encode("utf-8")), TEMPLATE)
    assert report.errors == ()
    return list(report.records)


def test_the_specs_see_the_new_fields() -> None:
    """field_specs lists the new fields last, with their kind and role."""
    specs = field_specs(WithShoeSize)
    assert [s.name for s in specs[-2:]] == ["shoe_size", "locker"]
    assert specs[-2].kind is FieldKind.OPTIONAL_TEXT
    assert (specs[-2].role, specs[-1].role) == (None, "identifier")


def test_the_generated_code_sees_the_new_field() -> None:
    """Comparison, replace and carry read and write the new field."""
    small, large = WithShoeSize(**BASE, shoe_size="38"), WithShoeSize(**BASE, shoe_size="44")
    equal = make_equal(WithShoeSize)
    assert equal(small, WithShoeSize(**BASE, shoe_size="38"))
    assert not equal(small, large)
    assert make_replace(WithShoeSize, "shoe_size")(small, "44") == large
    carried = make_carry(WithShoeSize, frozenset({"shoe_size"}))(large, small)
    assert type(carried) is WithShoeSize
    assert carried == small


def test_the_extended_template_reads_and_writes_the_new_field() -> None:
    """A template extended with record_type maps a column to the new field, both ways."""
    assert TEMPLATE.record_type is WithShoeSize
    assert TEMPLATE.column("ShoeSize").field == "shoe_size"
    records = [WithShoeSize(**BASE, shoe_size="=1+2\n½", locker="L-7")]
    (read,) = _round_trip(records)
    assert type(read) is WithShoeSize
    assert read == records[0]


def test_the_reader_checks_a_new_identifier_by_its_metadata() -> None:
    """The identifier role travels with the field: an over-long value is VALUE_TOO_LONG."""
    headers = ",".join(TEMPLATE.headers)
    row = ["1001", "Ada", "Lovelace", "ada@example.com", "AE"] + [""] * (len(TEMPLATE.headers) - 5)
    row[-1] = "L" * (ID_MAX_LENGTH + 1)
    data = f"{headers}\r\n{','.join(row)}\r\n".encode()
    report = read_all(io.BytesIO(data), TEMPLATE)
    assert [e.code for e in report.errors] == [ErrorCode.VALUE_TOO_LONG]


def test_a_template_still_refuses_a_column_for_no_field() -> None:
    """Without the model edit (step 1), the template edit (step 2) is refused."""
    with pytest.raises(pv.InvalidValueError, match="'shoe_size', which is not a field"):
        COMMUNITY_UPLOAD_USERS.extend(Column(header="ShoeSize", field="shoe_size"))


@settings(max_examples=40)
@given(
    st.lists(
        _records(WithShoeSize, custom_keys=()),
        max_size=4,
        unique_by=(lambda r: r.key, lambda r: r.email_key),
    )
)
def test_the_strategies_draw_the_new_field_and_it_round_trips(records: list[Any]) -> None:
    """The strategies built from the fields draw the new ones; files keep them."""
    assert _round_trip(records) == records


def test_the_contract_full_record_sets_the_new_fields() -> None:
    """The contract's full values set the new fields, to non-default values."""
    record = WithShoeSize(**_full_values(WithShoeSize))
    assert record.shoe_size is not None
    assert record.locker is not None
    assert make_equal(WithShoeSize)(record, WithShoeSize(**_full_values(WithShoeSize)))
