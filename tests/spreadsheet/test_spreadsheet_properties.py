"""Properties of the codec: round trips, the fast path agreeing with the careful one, fuzz."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.exceptions import SpreadsheetError
from provisioning.records import Contact, UserRecord, is_valid_email
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    MARKETING_PROFESSIONAL,
    Column,
    ColumnType,
    DateOrder,
    ErrorCode,
    RowError,
    Template,
    read,
    read_all,
    write,
)
from provisioning.spreadsheet._parse import compile_builder, parse_row
from provisioning.spreadsheet._source import LineSource, blank_run, split_lines
from provisioning.testing._record_strategies import contacts, emails, record_texts, user_records

CUSTOM = COMMUNITY_UPLOAD_USERS.extend(Column(header="Chapter"), Column(header="Region"))


def _unique_users(**kw: Any) -> st.SearchStrategy[list[UserRecord]]:
    return st.lists(
        user_records(**kw), max_size=4, unique_by=(lambda r: r.key, lambda r: r.email_key)
    )


def _round_trip(records: list[Any], template: Template[Any], **kw: Any) -> list[Any]:
    out = io.StringIO(newline="")
    write(records, out, template, **kw)
    report = read_all(io.BytesIO(out.getvalue().encode("utf-8")), template)
    assert report.errors == ()
    return list(report.records)


@settings(max_examples=60)
@given(_unique_users(custom_keys=("Chapter", "Region")))
def test_community_round_trip(records: list[UserRecord]) -> None:
    """read(write(x)) == x for Community records, custom columns and awkward text included."""
    assert _round_trip(records, CUSTOM) == records


@given(st.lists(contacts(), max_size=8, unique_by=lambda c: c.email_key))
def test_marketing_enterprise_round_trip(records: list[Contact]) -> None:
    """read(write(x)) == x for Marketing Enterprise contacts."""
    assert _round_trip(records, MARKETING_ENTERPRISE) == records


@given(
    st.lists(
        contacts(member_ids=True),
        max_size=8,
        unique_by=(lambda c: c.email_key, lambda c: c.member_id),
    )
)
def test_marketing_member_id_round_trip(records: list[Contact]) -> None:
    """read(write(x)) == x for contacts keyed by member id."""
    assert _round_trip(records, MARKETING_ENTERPRISE_BY_MEMBER_ID) == records


@given(st.lists(contacts(member_ids=False), max_size=8, unique_by=lambda c: c.email_key))
def test_marketing_professional_round_trip(records: list[Contact]) -> None:
    """read(write(x)) == x for tab-delimited Marketing Professional contacts."""
    assert _round_trip(records, MARKETING_PROFESSIONAL) == records


@settings(max_examples=30)
@given(_unique_users())
def test_round_trip_utf16_and_bom(records: list[UserRecord]) -> None:
    """A file saved as UTF-16 with a BOM, or UTF-8 with a BOM, reads the same."""
    out = io.StringIO(newline="")
    write(records, out, COMMUNITY_UPLOAD_USERS)
    for encoding in ("utf-16", "utf-8-sig"):
        data = io.BytesIO(out.getvalue().encode(encoding))
        assert list(read_all(data, COMMUNITY_UPLOAD_USERS).records) == records


_cells = st.one_of(
    record_texts(),
    st.just(""),
    st.sampled_from(["2024-04-03", "03/04/2024", "3 April 2024", "2023-02-30", "24/4/3"]),
    st.sampled_from(["true", "No", "maybe", "Enabled", "deactivated", "Nope", " 1 "]),
    emails(),
    st.sampled_from(["a@b", "A@EXAMPLE.COM", "x@-bad.com", "@x.io"]),
)


_layouts = st.permutations([*CUSTOM.columns, "Extra", None])


@settings(max_examples=150)
@given(
    _layouts,
    st.lists(_cells, min_size=len(CUSTOM.columns) + 2, max_size=len(CUSTOM.columns) + 2),
    st.sampled_from([None, DateOrder.DAY_FIRST, DateOrder.MONTH_FIRST]),
)
def test_fast_path_agrees_with_careful_path(
    slots: list[Column | str | None], fields: list[str], order: DateOrder | None
) -> None:
    """The generated fast path builds exactly the careful path's record, or defers to it.

    The file's columns come in any order, with an unknown and a blank-headed one.
    """
    layout = tuple(slots)
    fast = compile_builder(CUSTOM, layout, order)(list(fields))
    careful = parse_row(CUSTOM, layout, list(fields), order)
    if fast is not None:
        assert careful.problems == ()
        assert fast == careful.record
        assert type(fast) is UserRecord
    # Deferring is allowed; only disagreement is a bug.


@given(st.one_of(emails(), st.text(max_size=40), st.from_regex(r"[a-z.]{1,5}@[a-z.-]{1,12}")))
def test_fast_email_check_is_the_record_rule(text: str) -> None:
    """The fast path's split email check accepts exactly what records.is_valid_email does."""
    template = MARKETING_PROFESSIONAL
    layout = tuple(template.columns)
    fields = [text, "", ""]
    built = compile_builder(template, layout, None)(fields)
    stripped = text.strip()
    local, at, domain = stripped.rpartition("@")
    normalised = f"{local}@{domain.lower()}" if at else stripped
    assert (built is not None) == (bool(stripped) and is_valid_email(normalised))


@given(st.text(alphabet="ab,\"\r\n\u2028\x85\x0c'", max_size=60), st.integers(1, 7))
def test_lines_match_newline_empty_splitting(text: str, chunk: int) -> None:
    """However the stream is chunked, lines split as open(newline='') splits them.

    LineSource may hand out a run of blank lines as one string of breaks only; split
    again, its items are the same lines, and it counts each physical line.
    """
    expected = io.StringIO(text, newline="").readlines()
    assert split_lines(text) == expected
    for stream in (io.StringIO(text), io.BytesIO(text.encode())):
        if not text:
            continue
        source = LineSource(stream, max_file_size=None, chunk=chunk)
        items = list(source)
        assert [line for item in items for line in split_lines(item)] == expected
        assert all(len(split_lines(item)) == 1 or blank_run(item) > 1 for item in items)
        assert source.lines_done == len(expected)


_RAW = Template(
    name="raw cells",
    record_type=Contact,
    key="Email",
    email="Email",
    columns=(
        Column(header="Email", field="email", kind=ColumnType.EMAIL, required=True),
        Column(header="A"),
        Column(header="B"),
    ),
)


@given(
    st.lists(
        st.tuples(
            st.text(alphabet='ab,"\r\n x=', max_size=12), st.text(alphabet='a,"\n', max_size=6)
        ),
        max_size=6,
    )
)
def test_cells_are_what_csv_writes(rows: list[tuple[str, str]]) -> None:
    """Whatever csv.writer makes of awkward cells, the reader gets the same cells back."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["Email", "A", "B"])
    for n, (a, b) in enumerate(rows):
        writer.writerow([f"u{n}@example.com", a, b])
    records = [
        item
        for item in read(io.StringIO(out.getvalue(), newline=""), _RAW)
        if isinstance(item, Contact)
    ]
    expected = [{k: v for k, v in (("A", a.strip()), ("B", b.strip())) if v} for a, b in rows]
    assert [dict(r.custom) for r in records] == expected


DOCUMENTED = frozenset(ErrorCode)


@settings(max_examples=300)
@given(st.binary(max_size=300), st.sampled_from([COMMUNITY_UPLOAD_USERS, MARKETING_PROFESSIONAL]))
def test_fuzz_only_documented_errors(data: bytes, template: Template[Any]) -> None:
    """Arbitrary bytes give records, RowErrors or a SpreadsheetError with a documented code."""
    header = template.delimiter.join(template.required_headers).encode() + b"\r\n"
    for blob in (data, header + data):
        items: list[object] = []
        error: SpreadsheetError | None = None
        try:
            items.extend(read(io.BytesIO(blob), template))
        except SpreadsheetError as exc:
            error = exc
        for item in items:
            if isinstance(item, RowError):
                assert item.code in DOCUMENTED
                assert item.line >= 1
                assert item.message
            else:
                assert isinstance(item, template.record_type)
        if error is not None:
            assert error.code in DOCUMENTED
            assert error.line is None or error.line >= 1


@pytest.mark.parametrize("order", [None, DateOrder.DAY_FIRST])
def test_fast_path_source_is_kept_for_debugging(order: DateOrder | None) -> None:
    """The generated source is attached to the builder, for anyone debugging it."""
    build = compile_builder(COMMUNITY_UPLOAD_USERS, tuple(COMMUNITY_UPLOAD_USERS.columns), order)
    assert "def build(f):" in build.__source__  # type: ignore[attr-defined]
