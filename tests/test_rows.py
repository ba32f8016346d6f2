"""Row codecs written from the model: every record survives a row, in every style."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
from provisioning.adapters import row_codec
from provisioning.testing import contacts, user_records

STYLES: list[dict[str, Any]] = [
    {},
    {"empty": ""},
    {"dates": "date", "flags": "bool", "mappings": "dict"},
    {"empty": "", "dates": "date", "flags": "bool", "mappings": "dict", "leading": 2},
]


def _stored(row: tuple[Any, ...], empty: object) -> tuple[Any, ...]:
    """What a SQL store gives back: an empty value is NULL (``NULLIF(?, '')``)."""
    return tuple(None if value == empty and empty == "" else value for value in row)


@pytest.mark.parametrize("style", STYLES, ids=str)
@given(record=user_records(custom_keys=("Chapter", "絵")))
def test_a_record_survives_its_row(style: dict[str, Any], record: pv.UserRecord) -> None:
    """decode(encode(record)) == record, whatever the style of the values."""
    codec = row_codec(pv.UserRecord, **style)
    leading = style.get("leading", 0)
    row = codec.encode(*range(leading), record)
    assert row[:leading] == tuple(range(leading))
    assert len(row) == leading + len(codec.columns)
    back = codec.decode(_stored(row[leading:], style.get("empty")))
    assert type(back) is pv.UserRecord
    assert back == record


@given(contacts(custom_keys=("Tier",)))
def test_contacts_have_a_codec_too(contact: pv.Contact) -> None:
    """Any attrs record class of the model gets its codec from its own fields."""
    codec = row_codec(pv.Contact)
    assert codec.columns == tuple(a.name for a in attrs.fields(pv.Contact))
    assert codec.decode(codec.encode(contact)) == contact


def test_values_travel_as_the_style_says() -> None:
    """ISO text and 1/0 by default; date objects, booleans and dicts when asked."""
    ada = pv.UserRecord(
        legacy_contact_key="1001",
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        company_name="AE",
        birthday=dt.date(1815, 12, 10),
        is_member=False,
        custom={"Chapter": "London"},
    )
    codec = row_codec(pv.UserRecord)
    plain = dict(zip(codec.columns, codec.encode(ada), strict=True))
    assert (plain["birthday"], plain["is_member"], plain["custom"]) == (
        "1815-12-10",
        0,
        '{"Chapter":"London"}',
    )
    assert (plain["title"], plain["status"]) == (None, "Enabled")
    native = row_codec(pv.UserRecord, dates="date", flags="bool", mappings="dict")
    values = dict(zip(native.columns, native.encode(ada), strict=True))
    assert (values["birthday"], values["is_member"], values["custom"]) == (
        dt.date(1815, 12, 10),
        False,
        {"Chapter": "London"},
    )
    assert row_codec(pv.UserRecord, empty="").encode(ada)[native.columns.index("title")] == ""


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("status", "Banned", "status 'Banned' is not a record status (Enabled, Deactivated, "),
        ("birthday", "1815-13-45", "birthday '1815-13-45' is not an ISO date"),
        ("birthday", "18151210", "birthday '18151210' is not an ISO date"),
        ("birthday", "", "birthday '' is not an ISO date"),
        ("custom", "[1, 2]", "custom '[1, 2]' is not a JSON object"),
        ("custom", '{"a": 5}', "custom '{\"a\": 5}' is not a JSON object of text values"),
        ("is_member", 7, "is_member 7 is not a yes/no value"),
        ("is_member", "yes", "is_member 'yes' is not a yes/no value"),
        ("first_name", b"\xff\x00", "first_name b'\\xff\\x00' is not non-empty text"),
        ("first_name", None, "first_name None is not non-empty text"),
        ("title", "", "title '' is not non-empty text or nothing"),
    ],
)
def test_a_row_that_is_no_record_says_which_column(
    column: str, value: object, problem: str
) -> None:
    """decode raises exactly when problem() names a column, and it names the first bad one."""
    codec = row_codec(pv.UserRecord)
    ada = pv.UserRecord(
        legacy_contact_key="1", first_name="A", last_name="L", email="a@b.co", company_name="C"
    )
    row = list(codec.encode(ada))
    assert codec.problem(row) is None
    row[codec.columns.index(column)] = value
    with pytest.raises((KeyError, ValueError, TypeError)):
        codec.decode(row)
    found = codec.problem(row)
    assert found is not None
    assert found.startswith(problem)


def test_problem_names_a_row_of_the_wrong_shape() -> None:
    """A row of another length, or no row at all, is said so."""
    codec = row_codec(pv.UserRecord)
    assert codec.problem(("1", "2")) == f"it has 2 columns, not {len(codec.columns)}"
    assert codec.problem(None) == "it is not a row of values: NoneType"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"dates": "datetime"}, "dates"),
        ({"flags": "yes"}, "flags"),
        ({"mappings": "yaml"}, "mappings"),
        ({"empty": "NULL"}, "empty"),
        ({"empty": 5}, "empty"),
        ({"leading": -1}, "leading"),
        ({"leading": True}, "leading"),
    ],
)
def test_options_of_no_known_style_are_refused(options: dict[str, Any], field: str) -> None:
    """Every option is checked when the codec is made, naming the parameter."""
    with pytest.raises(pv.InvalidValueError) as caught:
        row_codec(pv.UserRecord, **options)
    assert caught.value.field == field


@pytest.mark.parametrize("record_type", [None, int, pv.Tenant])
def test_only_record_classes_have_codecs(record_type: Any) -> None:
    """A codec is for a record class of the model: anything else is refused by name."""
    with pytest.raises(pv.InvalidValueError) as caught:
        row_codec(record_type)
    assert caught.value.field == "record_type"


@given(st.data())
def test_the_required_columns_are_the_ones_always_set(data: st.DataObject) -> None:
    """Required columns hold a value in every encoded record."""
    codec = row_codec(pv.UserRecord)
    record = data.draw(user_records())
    values = dict(zip(codec.columns, codec.encode(record), strict=True))
    assert codec.required == {
        "legacy_contact_key",
        "first_name",
        "last_name",
        "email",
        "company_name",
        "status",
    }
    assert all(values[name] not in (None, "") for name in codec.required)


def test_a_codec_reads_its_own_rows_whatever_the_empty_value() -> None:
    """With empty="", encode writes "" for an absent value, and decode reads it back."""
    codec = row_codec(pv.UserRecord, empty="")
    ada = pv.UserRecord(
        legacy_contact_key="1", first_name="A", last_name="L", email="a@b.co", company_name="C"
    )
    row = codec.encode(ada)
    assert "" in row
    assert codec.problem(row) is None
    assert codec.decode(row) == ada


def test_deeply_nested_custom_json_is_named_not_a_recursion_error() -> None:
    """A custom column of nested JSON is a bad column, for decode and for problem() alike."""
    codec = row_codec(pv.UserRecord)
    ada = pv.UserRecord(
        legacy_contact_key="1", first_name="A", last_name="L", email="a@b.co", company_name="C"
    )
    row = list(codec.encode(ada))
    row[codec.columns.index("custom")] = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValueError, match="nested too deeply"):
        codec.decode(row)
    found = codec.problem(row)
    assert found is not None
    assert found.startswith("custom '[[[")
    assert found.endswith("is not a JSON object of text values")


def test_problem_takes_any_iterable_row_as_decode_does() -> None:
    """decode unpacks any iterable; problem() judges the same rows."""
    codec = row_codec(pv.UserRecord)
    ada = pv.UserRecord(
        legacy_contact_key="1", first_name="A", last_name="L", email="a@b.co", company_name="C"
    )
    assert codec.problem(iter(codec.encode(ada))) is None
    assert codec.decode(iter(codec.encode(ada))) == ada
