"""The results file of an applied upload: one row per input row, in input order, and
one per record a full import deactivates."""

from __future__ import annotations

import csv
import io
from typing import Any

import attrs
import pytest
from _upload_helpers import NOW, plan, store, user, users
from hypothesis import given, settings
from hypothesis import strategies as st

import provisioning as pv
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, read

ALL = tuple(pv.Safeguard)
HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,Title,Status"


def _file(*rows: str) -> str:
    return "\r\n".join((HEADER, *rows)) + "\r\n"


def _results(receipt: pv.Receipt, **options: bool) -> list[dict[str, str]]:
    out = io.StringIO(newline="")
    count = pv.write_results(receipt, out, **options)
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert count == len(rows)
    assert out.getvalue().startswith(",".join(pv.RESULTS_COLUMNS) + "\r\n")
    return rows


def _applied(text: str, stored: list[pv.UserRecord], **options: Any) -> pv.Receipt:
    repo = store(stored)
    reader = read(io.StringIO(text, newline=""), COMMUNITY_UPLOAD_USERS)
    p = plan(reader, repo, overrides=ALL, **options)
    return pv.apply_plan(p, repo, now=NOW)


def _short(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return [(r["record"], r["line"], r["key"], r["outcome"], r["code"]) for r in rows]


MIXED = _file(
    "1,First1,Last,user1@example.com,Acme,,",  # unchanged
    "2,First2,Last,user2@example.com,Acme,Dr,",  # updated
    "",  # blank: no row, no result
    "12,First12,Last,not-an-email,Acme,,",  # error
    "3,First3,Last,user3@example.com,Acme,,Deactivated",  # deactivated by its row
    "11,First11,Last,user5@example.com,Acme,,",  # takes 5's email: conflict
    "20,First20,Last,user20@example.com,Acme,,",  # created
    "1,First1,Last,other@example.com,Acme,,",  # repeated key
)


def test_results_list_every_row_in_file_order_then_the_records_left_out() -> None:
    """One row per input row with its record, line, key and outcome; then deactivations."""
    receipt = _applied(MIXED, users("1", "2", "3", "4", "5"))
    assert _short(_results(receipt)) == [
        ("1", "2", "1", "unchanged", ""),
        ("2", "3", "2", "updated", ""),
        ("4", "5", "12", "skipped", "invalid_email"),
        ("5", "6", "3", "deactivated", ""),
        ("6", "7", "11", "skipped", "identity_conflict"),
        ("7", "8", "20", "created", ""),
        ("8", "9", "1", "skipped", "duplicate_key"),
        ("", "", "4", "deactivated", ""),
        ("", "", "5", "deactivated", ""),
    ]


def test_results_give_messages_columns_and_changes() -> None:
    """A skipped row says why and where; an update says which fields changed."""
    rows = _results(_applied(MIXED, users("1", "2", "3", "4", "5")))
    assert rows[1]["changes"] == "title: None -> 'Dr'"
    assert rows[2]["column"] == "EmailAddress"
    assert "not a valid email" in rows[2]["message"]
    assert rows[4]["message"] == (
        "email 'user5@example.com' belongs to the stored record '5'; the row is not applied "
        "(no merge, no takeover)"
    )
    assert rows[-1]["changes"] == "status: 'Enabled' -> 'Deactivated'"


def test_a_partial_import_lists_no_records_left_out() -> None:
    """Only a full import deactivates the records a file leaves out."""
    rows = _results(_applied(MIXED, users("1", "2", "3", "4", "5"), mode="partial"))
    assert [r["key"] for r in rows if not r["line"]] == []


def test_warnings_of_an_applied_row_are_on_its_row() -> None:
    """A row applied despite a warning keeps its outcome and carries the warning's code."""
    text = _file("7,=cmd,Last,user7@example.com,Acme,,")
    (row,) = _results(_applied(text, []))
    assert (row["outcome"], row["code"], row["column"]) == ("created", "formula_like", "FirstName")


def test_results_are_formula_safe() -> None:
    """Keys and messages a spreadsheet would run are escaped, unless formula_safe=False."""
    text = _file("=1+1,First,Last,user9@example.com,Acme,,")
    receipt = _applied(text, [])
    assert _results(receipt)[0]["key"] == "'=1+1"
    assert _results(receipt, formula_safe=False)[0]["key"] == "=1+1"


def test_a_spilled_plan_writes_the_same_results() -> None:
    """A plan holding its changes in temporary files (hold=1) writes the same rows."""
    stored = users("1", "2", "3", "4", "5")
    assert _results(_applied(MIXED, stored, hold=1)) == _results(_applied(MIXED, stored))


def test_records_given_as_a_list_come_in_order_without_lines() -> None:
    """Input that is no reader has no record numbers or lines; a repeated key is skipped."""
    repo = store(users("1"))
    first, again = user("1", title="Dr"), user("1", title="Prof")
    p = plan([user("9"), first, again], repo, mode="partial", overrides=ALL)
    rows = _results(pv.apply_plan(p, repo, now=NOW))
    assert _short(rows) == [
        ("", "", "9", "created", ""),
        ("", "", "1", "updated", ""),
        ("", "", "1", "skipped", "duplicate_key"),
    ]


def test_a_plan_made_by_hand_lists_rows_by_outcome() -> None:
    """Without a row log, rows come by outcome: created, updated, unchanged, ... skipped."""
    repo = store(users("1", "2"))
    p = plan([user("2", title="Dr"), user("1"), user("3")], repo, overrides=ALL)
    rows = _results(pv.apply_plan(attrs.evolve(p, row_log=None), repo, now=NOW))
    assert [(r["key"], r["outcome"]) for r in rows] == [
        ("3", "created"),
        ("2", "updated"),
        ("1", "unchanged"),
    ]


def test_write_results_names_a_bad_argument() -> None:
    """A plan is no receipt, and a binary stream is no text stream."""
    repo = store([])
    p = plan([user("1")], repo)
    with pytest.raises(pv.InvalidValueError, match="receipt must be a Receipt"):
        pv.write_results(p, io.StringIO())  # type: ignore[arg-type]
    receipt = pv.apply_plan(p, repo, now=NOW)
    with pytest.raises(pv.InvalidValueError, match="text stream"):
        pv.write_results(receipt, io.BytesIO())  # type: ignore[arg-type]


def test_to_records_give_each_problem_its_code() -> None:
    """to_records(): row problems and conflicts group by code; changes have none."""
    receipt = _applied(MIXED, users("1", "2", "3", "4", "5"))
    records = receipt.plan.to_records()
    assert {(r["kind"], r["code"]) for r in records} == {
        ("created", None),
        ("updated", None),
        ("deactivated", None),
        ("conflict", "identity_conflict"),
        ("row_error", "invalid_email"),
        ("row_error", "duplicate_key"),
    }
    assert all(set(r) == {"kind", "key", "line", "code", "detail"} for r in records)


# -- for any file -----------------------------------------------------------------------

_KEYS = [str(n) for n in range(6)]
_cells = st.one_of(
    # a valid row, maybe repeating a key or taking another's email
    st.builds(
        lambda k, e, t, s: f"{k},First,Last,user{e}@example.com,Acme,{t},{s}",
        st.sampled_from(_KEYS),
        st.sampled_from(_KEYS),
        st.sampled_from(["", "Dr"]),
        st.sampled_from(["", "Deactivated", "Enabled"]),
    ),
    st.builds(lambda k: f"{k},First,Last,bad-email,Acme,,", st.sampled_from(_KEYS)),
    st.builds(lambda k: f"{k},First,Last", st.sampled_from(_KEYS)),  # too few fields
    st.builds(
        lambda k: f'{k},"First\r\nSecond",Last,user{k}x@example.com,Acme,,', st.sampled_from(_KEYS)
    ),
    st.just(""),
)
_stored = st.lists(st.sampled_from(_KEYS), unique=True, max_size=6).map(
    lambda keys: [user(k) for k in keys]
)


@settings(max_examples=60, deadline=None)
@given(
    _stored,
    st.lists(_cells, max_size=12),
    st.sampled_from(pv.UploadMode),
    st.sampled_from([0, 1, 10_000]),
)
def test_every_input_row_and_each_deactivation_appears_exactly_once(
    stored: list[pv.UserRecord], lines: list[str], mode: pv.UploadMode, hold: int
) -> None:
    """Each non-blank data row has one result row, in file order; each record the full
    import deactivates for being left out has one, with no line."""
    text = _file(*lines)
    receipt = _applied(text, stored, mode=mode, hold=hold)
    rows = _results(receipt)
    p = receipt.plan
    assert isinstance(p, pv.UploadPlan)
    summary = read(io.StringIO(text, newline=""), COMMUNITY_UPLOAD_USERS)
    problems = [i for i in summary if isinstance(i, pv.RowError)]
    expected_rows = summary.summary.rows - summary.summary.blank
    in_file = [r for r in rows if r["record"]]
    left_out = [r for r in rows if not r["record"]]
    records = [int(r["record"]) for r in in_file]
    assert records == sorted(set(records))
    assert len(records) == expected_rows == p.counts.rows
    assert [int(r["line"]) for r in in_file] == sorted(int(r["line"]) for r in in_file)
    assert {r["record"] for r in in_file if r["outcome"] == "skipped"} >= {
        str(e.record) for e in problems if e.is_error and e.record
    }
    assert all(r["outcome"] == "deactivated" for r in left_out)
    deactivated = [u.key for u in p.deactivations]
    file_deactivated = [r["key"] for r in in_file if r["outcome"] == "deactivated"]
    assert sorted(file_deactivated + [r["key"] for r in left_out]) == sorted(deactivated)
    assert len({r["key"] for r in left_out}) == len(left_out)
    counted = {o: sum(1 for r in rows if r["outcome"] == o) for o in ("created", "updated")}
    assert counted == {"created": p.counts.created, "updated": p.counts.updated}
    assert sum(1 for r in rows if r["outcome"] == "unchanged") == p.counts.unchanged
