"""provisioning.audit: field changes and plain values, events, and their exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import provisioning as pv
from provisioning.audit import (
    CSV_COLUMNS,
    ROW_CODEC,
    AuditEvent,
    AuditKind,
    Channel,
    FieldChange,
    changes_between,
    events_to_csv,
    events_to_jsonl,
    record_values,
    redacted,
    tenant_changes,
    with_values,
)
from provisioning.testing import user_records

AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
FIELDS = tuple(a.name for a in attrs.fields(pv.UserRecord))
#: The keys a line of events_to_jsonl holds, as AuditEvent.to_dict documents them.
JSON_KEYS = {
    "at",
    "tenant",
    "key",
    "actor",
    "role",
    "channel",
    "kind",
    "changes",
    "upload_id",
    "revision",
    "rules",
    "product",
}

records = user_records(custom_keys=("Chapter", "Region"))


def _user(key: str = "1001", **fields: Any) -> pv.UserRecord:
    values: dict[str, Any] = {
        "legacy_contact_key": key,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": f"user{key}@example.com",
        "company_name": "Analytical Engines",
    }
    values.update(fields)
    return pv.UserRecord(**values)


def _event(**fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "at": AT,
        "tenant_id": "acme",
        "key": "1001",
        "actor_id": "sa-1",
        "role": pv.Role.SUPER_ADMIN,
        "channel": Channel.UPLOAD,
        "kind": AuditKind.UPDATED,
    }
    values.update(fields)
    return AuditEvent(**values)


def _same_plain(a: object, b: object) -> bool:
    """Equal and of the same JSON type (True is no 1, a date's text no date)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# -- changes_between, with_values, record_values -------------------------------------------


@given(records, records)
def test_applying_the_changes_to_the_old_record_gives_the_new_one(
    old: pv.UserRecord, new: pv.UserRecord
) -> None:
    """with_values(old, new values of the changes) == new, and the reverse with old values."""
    changes = changes_between(old, new)
    assert with_values(old, {c.field: c.new for c in changes}) == new
    assert with_values(new, {c.field: c.old for c in changes}) == old


@given(records, records)
def test_changes_name_each_differing_field_once_in_field_order(
    old: pv.UserRecord, new: pv.UserRecord
) -> None:
    """One FieldChange per field whose plain value differs, in the record's field order."""
    changes = changes_between(old, new)
    names = [c.field for c in changes]
    assert names == [f for f in FIELDS if f in names]
    before, after = record_values(old), record_values(new)
    assert names == [f for f in FIELDS if before[f] != after[f]]
    for change in changes:
        assert _same_plain(change.old, before[change.field])
        assert _same_plain(change.new, after[change.field])
    assert changes_between(old, old) == ()
    assert (changes == ()) == (old == new)


@given(records)
def test_record_values_are_plain_json_and_come_back(record: pv.UserRecord) -> None:
    """Every field by name, each a JSON value that survives a JSON round trip; with_values
    of them gives the record back."""
    values = record_values(record)
    assert tuple(values) == FIELDS
    assert json.loads(json.dumps(values)) == values
    for value in values.values():
        assert value is None or type(value) in (str, bool, dict)
    assert values["status"] == record.status.value
    assert with_values(record, {}) == record
    assert with_values(_user("other"), values) == record


def test_record_values_write_dates_iso_enums_by_value_flags_as_bools() -> None:
    """A date is ISO text, an enum its value, a flag a bool, custom fields a dict."""
    record = _user(
        member_since=dt.date(2020, 1, 31),
        is_member=False,
        status=pv.RecordStatus.DEACTIVATED,
        custom={"Chapter": "North"},
    )
    values = record_values(record)
    assert values["member_since"] == "2020-01-31"
    assert values["is_member"] is False
    assert values["status"] == "Deactivated"
    assert values["custom"] == {"Chapter": "North"}
    assert values["birthday"] is None


def test_with_values_refuses_an_unknown_field_and_a_value_no_record_holds() -> None:
    """InvalidValueError naming the field; the record is checked as a new one is."""
    with pytest.raises(pv.InvalidValueError) as caught:
        with_values(_user(), {"favourite_colour": "blue"})
    assert caught.value.field == "favourite_colour"
    with pytest.raises(pv.InvalidValueError):
        with_values(_user(), {"email": "not an email"})


@pytest.mark.parametrize(
    "values",
    [
        {"status": "Banned"},
        {"status": None},
        {"birthday": "soon"},
        {"is_member": "yes"},
        {"custom": [1]},
        {"first_name": None},
        {"title": 7},
    ],
    ids=repr,
)
def test_with_values_refuses_a_value_of_the_wrong_shape(values: dict[str, Any]) -> None:
    """A value no record field can hold (an unknown status, a date that is none, a list
    for the custom fields...) is an InvalidValueError, as the docstring says."""
    with pytest.raises(pv.InvalidValueError):
        with_values(_user(), values)


def _reference_with_values(record: pv.UserRecord, values: dict[str, Any]) -> pv.UserRecord:
    """with_values as it was first written: the whole record built again by its constructor."""
    row = list(ROW_CODEC.encode(record))
    for name, value in values.items():
        row[FIELDS.index(name)] = value
    try:
        decoded = ROW_CODEC.decode(row)
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
        raise pv.InvalidValueError("the values make no record") from None
    return pv.UserRecord(**{name: getattr(decoded, name) for name in FIELDS})


@given(records, records, st.data())
def test_with_values_checks_the_values_set_as_the_constructor_does(
    record: pv.UserRecord, other: pv.UserRecord, data: st.DataObject
) -> None:
    """Setting any of another record's values, padded with spaces or not, gives what
    building the whole record again gives (the values set are normalised and checked as
    a new record's are), or is refused, as it is."""
    values = record_values(other)
    names = data.draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=4))
    padded = data.draw(st.booleans())
    chosen = {
        name: f" {values[name]} " if padded and isinstance(values[name], str) else values[name]
        for name in names
    }
    try:
        expected = _reference_with_values(record, chosen)
    except pv.InvalidValueError:
        with pytest.raises(pv.InvalidValueError):
            with_values(record, chosen)
        return
    assert with_values(record, chosen) == expected


def test_a_field_change_prints_for_a_person() -> None:
    """Text quoted, a status by its value, a date in ISO 8601."""
    assert str(FieldChange("last_name", "Lovelace", "King")) == "last_name: 'Lovelace' -> 'King'"
    assert (
        str(FieldChange("status", pv.RecordStatus.ENABLED, pv.RecordStatus.DEACTIVATED))
        == "status: 'Enabled' -> 'Deactivated'"
    )
    assert str(FieldChange("birthday", None, dt.date(1815, 12, 10))) == (
        "birthday: None -> 1815-12-10"
    )


# -- AuditEvent ------------------------------------------------------------------------------


def test_an_event_converts_its_values() -> None:
    """Role, channel and kind from their values; text trimmed; one rule alone works too."""
    event = _event(
        role="site_admin",
        channel="revert",
        kind="deactivated",
        tenant_id=" acme ",
        key=" 1001 ",
        rules="REVERT_UPLOAD",
        changes=[FieldChange("status", "Enabled", "Deactivated")],
    )
    assert event.role is pv.Role.SITE_ADMIN
    assert event.channel is Channel.REVERT
    assert event.kind is AuditKind.DEACTIVATED
    assert (event.tenant_id, event.key) == ("acme", "1001")
    assert event.rules == ("REVERT_UPLOAD",)
    assert event.changes == (FieldChange("status", "Enabled", "Deactivated"),)
    assert (event.upload_id, event.revision) == (None, None)
    assert _event(key=None).key is None


@pytest.mark.parametrize(
    "fields",
    [
        {"at": dt.datetime(2026, 3, 1, 9, 30)},  # noqa: DTZ001 - naive on purpose
        {"at": dt.date(2026, 3, 1)},
        {"at": "2026-03-01T09:30:00+00:00"},
        {"role": "owner"},
        {"role": ""},
        {"kind": "deleted"},
        {"channel": "fax"},
        {"revision": -1},
        {"upload_id": -1},
        {"revision": 1.0},
        {"revision": True},
        {"revision": "3"},
        {"tenant_id": "  "},
        {"actor_id": ""},
        {"key": 1001},
        {"changes": [("status", "Enabled", "Deactivated")]},
        {"rules": [1]},
    ],
    ids=repr,
)
def test_an_event_refuses_a_bad_value(fields: dict[str, Any]) -> None:
    """A naive time, an unknown role, kind or channel, a negative revision...: refused."""
    with pytest.raises(pv.InvalidValueError):
        _event(**fields)


def test_an_event_is_frozen_and_compares_by_value() -> None:
    """Two events of the same values are equal; an event cannot be changed in place."""
    assert _event() == _event()
    assert _event(revision=0) != _event(revision=1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        _event().key = "1002"  # type: ignore[misc]


# -- events_to_jsonl --------------------------------------------------------------------------


def test_each_jsonl_line_is_one_event_with_the_documented_keys() -> None:
    """One JSON object a line, newline ended, with every documented key and its value."""
    offset = dt.timezone(dt.timedelta(hours=2))
    events = [
        _event(kind="created", upload_id=3, revision=3, rules=("UPLOAD_SUPER_ADMIN_ONLY",)),
        _event(
            at=dt.datetime(2026, 3, 2, 8, 0, tzinfo=offset),
            key=None,
            kind="refused",
            role="member",
            channel="self",
            rules=("ROLE_PERMISSIONS", "REVERT_UPLOAD"),
            revision=3,
        ),
        _event(
            changes=[
                FieldChange("last_name", "Lovelace", "King"),
                FieldChange("birthday", None, "1815-12-10"),
                FieldChange("is_member", True, False),
                FieldChange("custom", {"Chapter": "N"}, {}),
            ],
            upload_id=4,
            revision=4,
        ),
    ]
    lines = list(events_to_jsonl(iter(events)))
    assert len(lines) == 3
    parsed = []
    for line in lines:
        assert line.endswith("\n")
        assert "\n" not in line[:-1]
        data = json.loads(line)
        assert set(data) == JSON_KEYS
        parsed.append(data)
    assert parsed[0] == {
        "at": "2026-03-01T09:30:00+00:00",
        "tenant": "acme",
        "key": "1001",
        "actor": "sa-1",
        "role": "super_admin",
        "channel": "upload",
        "kind": "created",
        "changes": {},
        "upload_id": 3,
        "revision": 3,
        "rules": ["UPLOAD_SUPER_ADMIN_ONLY"],
        "product": "community",
    }
    assert parsed[1]["at"] == "2026-03-02T08:00:00+02:00"
    assert (parsed[1]["key"], parsed[1]["upload_id"], parsed[1]["kind"]) == (None, None, "refused")
    assert parsed[1]["rules"] == ["ROLE_PERMISSIONS", "REVERT_UPLOAD"]
    assert parsed[2]["changes"] == {
        "last_name": {"old": "Lovelace", "new": "King"},
        "birthday": {"old": None, "new": "1815-12-10"},
        "is_member": {"old": True, "new": False},
        "custom": {"old": {"Chapter": "N"}, "new": {}},
    }
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in events]


def test_jsonl_is_streamed_and_keeps_unicode() -> None:
    """A generator, reading one event at a time; non-ASCII text written as itself."""
    produced: list[int] = []

    def events() -> Iterator[AuditEvent]:
        for n in range(3):
            produced.append(n)
            yield _event(key=f"絵-{n}")

    lines = events_to_jsonl(events())
    first = next(lines)
    assert produced == [0]
    assert "絵-0" in first
    assert len(list(lines)) == 2
    assert list(events_to_jsonl([])) == []


@given(st.lists(records, min_size=2, max_size=2))
def test_jsonl_of_real_changes_parses_back_to_them(pair: list[pv.UserRecord]) -> None:
    """The changes of any two records survive a JSON line, value for value."""
    old, new = pair
    event = _event(changes=changes_between(old, new))
    (line,) = events_to_jsonl([event])
    data = json.loads(line)
    assert data["changes"] == {c.field: {"old": c.old, "new": c.new} for c in event.changes}
    assert list(data["changes"]) == [c.field for c in event.changes]


# -- events_to_csv ----------------------------------------------------------------------------


def _csv(events: Iterable[AuditEvent]) -> tuple[int, list[list[str]]]:
    stream = io.StringIO()
    count = events_to_csv(events, stream)
    return count, list(csv.reader(io.StringIO(stream.getvalue())))


def test_csv_has_a_header_and_one_row_per_event_and_counts_them() -> None:
    """The header is CSV_COLUMNS; the count returned is the rows written, header excluded."""
    events = [
        _event(upload_id=2, revision=2, rules=("A_RULE", "B_RULE")),
        _event(key=None, kind="refused", revision=0),
        _event(changes=[FieldChange("title", None, 'Dr, "PhD"\nOxon')], revision=5),
    ]
    count, rows = _csv(events)
    assert count == 3
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 4
    first, refused, changed = (dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:])
    assert first == {
        "at": "2026-03-01T09:30:00+00:00",
        "tenant": "acme",
        "key": "1001",
        "actor": "sa-1",
        "role": "super_admin",
        "channel": "upload",
        "kind": "updated",
        "changes": "",
        "upload_id": "2",
        "revision": "2",
        "rules": "A_RULE B_RULE",
    }
    assert (refused["key"], refused["upload_id"], refused["revision"]) == ("", "", "0")
    assert json.loads(changed["changes"]) == {"title": {"old": None, "new": 'Dr, "PhD"\nOxon'}}
    assert _csv([]) == (0, [list(CSV_COLUMNS)])


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_neutralises_a_formula_in_any_text_cell(start: str) -> None:
    """A key, actor, tenant or value starting like a formula never starts its cell so."""
    formula = f'{start}HYPERLINK("http://evil.example")'
    event = _event(
        key=formula,
        actor_id=formula,
        tenant_id=formula,
        changes=[FieldChange("title", formula, f"{start}1+1")],
    )
    count, rows = _csv([event])
    assert count == 1
    cells = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    for column in ("key", "actor", "tenant"):
        assert cells[column] == "'" + formula
    for cell in rows[1]:
        assert not cell or cell[0] not in "=+-@\t\r", cell
    assert json.loads(cells["changes"]) == {"title": {"old": formula, "new": f"{start}1+1"}}


def test_csv_counts_rows_of_a_stream() -> None:
    """A generator of events is written through, and every row is counted."""
    count, rows = _csv(_event(key=str(n)) for n in range(250))
    assert count == 250
    assert [row[2] for row in rows[1:]] == [str(n) for n in range(250)]


# -- tenants and redaction ------------------------------------------------------------------


def test_tenant_changes_name_each_setting_by_its_path() -> None:
    """A new tenant's every setting is new; a method switch and a new SSO setup are named
    by dotted path, old and new; an unchanged tenant has no changes."""
    before = pv.Tenant(id="acme", name="Acme", products={"community": "standalone"})
    created = tenant_changes(None, before)
    assert ("products.community", None, "standalone") in [(c.field, c.old, c.new) for c in created]
    assert all(c.old is None for c in created)
    after = pv.Tenant(
        id="acme",
        name="Acme",
        products={"community": "spreadsheet_upload"},
        sso=pv.SsoSetup(protocol="saml_2_0", identity_provider="Okta",
                        identifier_is_legacy_contact_key=True, saml_signed=True),
    )  # fmt: skip
    changed = {c.field: (c.old, c.new) for c in tenant_changes(before, after)}
    assert changed["products.community"] == ("standalone", "spreadsheet_upload")
    assert changed["sso.identity_provider.name"] == (None, "Okta")
    assert "sso" not in changed
    assert "name" not in changed
    assert tenant_changes(after, after) == ()
    back = {c.field: (c.old, c.new) for c in tenant_changes(after, before)}
    assert back["sso.identity_provider.name"] == ("Okta", None)


@given(st.lists(st.sampled_from([*pv.UserRecord.__attrs_attrs__]), unique=True, min_size=1))
def test_redaction_keeps_the_events_shape_and_only_key_and_status_values(
    fields: list[Any],
) -> None:
    """A redacted event has the same fields changed, each personal value replaced (an
    empty one stays empty), the key's and status's values kept, everything else equal."""
    changes = [FieldChange(f.name, "old " + f.name, None) for f in fields]
    event = pv.AuditEvent(
        at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), tenant_id="acme", key="1001",
        actor_id="sa-1", role="super_admin", channel="admin", kind="updated", changes=changes,
    )  # fmt: skip
    hidden = redacted(event)
    assert attrs.evolve(hidden, changes=event.changes) == event
    for before, after in zip(event.changes, hidden.changes, strict=True):
        assert after.field == before.field
        if before.field in {"legacy_contact_key", "status"}:
            assert after == before
        else:
            assert (after.old, after.new) == ("[redacted]", None)
    assert redacted(hidden) == hidden


def test_an_operators_event_has_no_role_and_says_so_in_every_export() -> None:
    """An event by the store's operator (role ``None``) exports ``null`` / an empty cell."""
    event = pv.AuditEvent(
        at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), tenant_id="acme", key=None,
        actor_id="operator", role=None, channel="admin", kind="tenant_changed",
    )  # fmt: skip
    assert json.loads(next(events_to_jsonl([event])))["role"] is None
    out = io.StringIO()
    events_to_csv([event], out)
    assert next(csv.DictReader(io.StringIO(out.getvalue())))["role"] == ""
