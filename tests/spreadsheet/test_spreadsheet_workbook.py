"""Excel workbooks (.xlsx, the extra ``xlsx``): read by the same reader, every problem
naming its sheet and cell, within caps checked before calamine opens the workbook."""

from __future__ import annotations

import datetime as dt
import io
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from _xlsx import Cell, Formula, Sheet, workbook

from provisioning import SpreadsheetError
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_PROFESSIONAL,
    ErrorCode,
    HeaderError,
    RowError,
    Severity,
    read,
    read_all,
)

pytest.importorskip("python_calamine")

HEADER: list[Cell] = ["LegacyContactKey", "FirstName", "LastName", "EmailAddress", "CompanyName"]
ADA: list[Cell] = [100000, "Ada", "Lovelace", "ada@example.com", "Analytical Engines"]


def _members(*rows: list[Cell | Formula], **kw: Any) -> io.BytesIO:
    return io.BytesIO(workbook(Sheet("Members", [[*HEADER, "MemberSince"], *rows], **kw)))


def test_a_workbook_reads_like_its_csv() -> None:
    """Ids stored as numbers become their digits; a date cell is a date, no order needed."""
    report = read_all(
        _members(
            [*ADA, dt.date(2015, 4, 3)], [1002.0, "Zoë", "Müller", "z@example.com", "Acme", None]
        ),
        COMMUNITY_UPLOAD_USERS,
    )
    assert report.ok
    assert [(r.key, r.first_name, r.member_since) for r in report.records] == [
        ("100000", "Ada", dt.date(2015, 4, 3)),
        ("1002", "Zoë", None),
    ]


def test_problems_name_the_sheet_and_cell() -> None:
    """Every problem has its code as in a CSV file, the sheet row as its line, and its cell."""
    reader = read(
        _members(
            [*ADA, "03/04/2015"],
            [1002, "Bob", "", "not-an-email", "Acme", None],
            first_row=3,
        ),
        COMMUNITY_UPLOAD_USERS,
    )
    problems = [i for i in reader if isinstance(i, RowError)]
    assert [(p.record, p.line, p.column, p.code, p.cell) for p in problems] == [
        (1, 4, "MemberSince", ErrorCode.AMBIGUOUS_DATE, "Members!F4"),
        (2, 5, "LastName", ErrorCode.MISSING_VALUE, "Members!C5"),
        (2, 5, "EmailAddress", ErrorCode.INVALID_EMAIL, "Members!D5"),
    ]
    assert str(problems[0]).startswith("cell Members!F4, column 'MemberSince' (record 1)")
    assert reader.sheet == "Members"
    assert reader.encoding == "xlsx"
    assert reader.summary.lines == 5


def test_date_stored_as_text_needs_an_order() -> None:
    """A date typed as text is text: ambiguous without an order, read with one."""
    data = _members([*ADA, "03/04/2015"]).getvalue()
    (error,) = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS).errors
    assert error.code == ErrorCode.AMBIGUOUS_DATE
    report = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, date_order="day_first")  # type: ignore[arg-type]
    assert report.records[0].member_since == dt.date(2015, 4, 3)


def test_formula_cells_give_their_value() -> None:
    """A formula cell is read as the value Excel computed; a value like a formula warns."""
    report = read_all(
        _members([*ADA[:4], Formula('"Analytical "&"Engines"', "Analytical Engines"), None]),
        COMMUNITY_UPLOAD_USERS,
    )
    assert report.records[0].company_name == "Analytical Engines"
    warned = read_all(_members([*ADA[:4], "=HYPERLINK()", None]), COMMUNITY_UPLOAD_USERS)
    assert [(w.code, w.cell) for w in warned.warnings] == [(ErrorCode.FORMULA_LIKE, "Members!E2")]


def test_merged_header_cells() -> None:
    """Merged header cells leave all but the first blank: a blank header, values under it errors."""
    rows = [[*HEADER, "Notes", "Extra"], [*ADA, "a", "b"]]
    data = workbook(Sheet("Members", rows, merged=["F1:G1"]))
    with_blank = [r[:] for r in rows]
    with_blank[0][6] = ""
    data = workbook(Sheet("Members", with_blank, merged=["F1:G1"]))
    reader = read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
    items = list(reader)
    problems = [(p.code, p.cell, p.severity) for p in items if isinstance(p, RowError)]
    assert problems == [
        (ErrorCode.UNKNOWN_COLUMN, "Members!F1", Severity.WARNING),
        (ErrorCode.BLANK_HEADER, "Members!1:1", Severity.WARNING),
        (ErrorCode.VALUE_WITHOUT_HEADER, "Members!G2", Severity.ERROR),
    ]


def test_several_sheets_ask_which() -> None:
    """Two visible sheets: the error lists them and names sheet=; a hidden one is not asked."""
    data = workbook(
        Sheet("Members", [HEADER, ADA]),
        Sheet("Notes", [["anything"]]),
        Sheet("Lists", [["x"]], hidden=True),
    )
    with pytest.raises(SpreadsheetError) as caught:
        read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
    assert caught.value.code == ErrorCode.SHEET
    assert "2 visible sheets ('Members', 'Notes')" in caught.value.message
    assert "sheet='Members'" in caught.value.message
    report = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, sheet="Members")
    assert [r.key for r in report.records] == ["100000"]
    with pytest.raises(SpreadsheetError, match="no sheet 'Member'; its sheets: 'Members'"):
        read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, sheet="Member")


def test_a_hidden_sheet_is_left_alone() -> None:
    """One visible sheet and a hidden one: the visible one is read without asking."""
    data = workbook(Sheet("Lists", [["x"]], hidden=True), Sheet("Members 2024", [HEADER, ADA]))
    reader = read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
    assert reader.sheet == "Members 2024"
    assert len(list(reader)) == 1
    bad = workbook(Sheet("Members 2024", [HEADER, [*ADA[:3], "x", "y"]]))
    (error,) = read_all(io.BytesIO(bad), COMMUNITY_UPLOAD_USERS).errors
    assert error.cell == "'Members 2024'!D2"


def test_header_errors_name_their_cells() -> None:
    """A header problem of a workbook names its sheet and cell."""
    data = workbook(Sheet("Members", [["LegacyContactKey", "First Name", "LastName", "Email"]]))
    with pytest.raises(HeaderError) as caught:
        read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
    cells = [(p.code, p.cell) for p in caught.value.problems]
    assert (ErrorCode.INEXACT_HEADER, "Members!B1") in cells
    assert (ErrorCode.MISSING_COLUMN, "Members!1:1") in cells
    assert "(sheet 'Members')" in str(caught.value)


def test_a_tab_delimited_template_reads_a_workbook() -> None:
    """The template's delimiter does not matter: cells are cells."""
    data = workbook(Sheet("Contacts", [["Email", "FirstName"], ["a@example.com", "A, B\tC"]]))
    report = read_all(io.BytesIO(data), MARKETING_PROFESSIONAL)
    assert report.ok
    assert report.records[0].first_name == "A, B\tC"


def test_sheet_for_a_csv_file_is_an_error() -> None:
    """sheet= names a workbook's sheet: given with a CSV file, it is refused."""
    csv = io.BytesIO(b"LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\r\n")
    with pytest.raises(SpreadsheetError, match="names a sheet of a workbook") as caught:
        read(csv, COMMUNITY_UPLOAD_USERS, sheet="Members")
    assert caught.value.code == ErrorCode.SHEET


def _bomb(size: int) -> bytes:
    """A workbook whose one sheet unpacks to ``size`` bytes of zeros in a comment."""
    out = io.BytesIO()
    base = zipfile.ZipFile(io.BytesIO(workbook(Sheet("Members", [HEADER]))))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in base.infolist():
            data = base.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                z.writestr(info.filename, data)
                with z.open("xl/padding.bin", "w") as padding:
                    chunk = b"\0" * (1 << 20)
                    for _ in range(size >> 20):
                        padding.write(chunk)
            else:
                z.writestr(info, data)
    return out.getvalue()


def test_a_zip_bomb_is_refused_quickly_in_bounded_memory() -> None:
    """A workbook that unpacks to 1 GB (from about 1 MB) is refused unread, by its declared size."""
    bomb = _bomb(1 << 30)
    assert len(bomb) < 2_000_000
    tracemalloc.start()
    began = time.perf_counter()
    with pytest.raises(SpreadsheetError) as caught:
        read(io.BytesIO(bomb), COMMUNITY_UPLOAD_USERS)
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert caught.value.code == ErrorCode.WORKBOOK
    assert "unpacks to 1,07" in caught.value.message
    assert "max_uncompressed_size" in caught.value.message
    assert elapsed < 2
    assert peak < 32_000_000


def test_a_part_larger_than_it_says_is_refused() -> None:
    """A part that unpacks to more than its declared size is refused, not trusted."""
    data = bytearray(_bomb(4 << 20))
    # Shrink the padding's declared size in the central directory and local header.
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("xl/padding.bin")
    real = info.file_size.to_bytes(4, "little")
    data = bytearray(bytes(data).replace(real, (1000).to_bytes(4, "little")))
    with pytest.raises(SpreadsheetError) as caught:
        read(io.BytesIO(bytes(data)), COMMUNITY_UPLOAD_USERS)
    assert caught.value.code == ErrorCode.WORKBOOK


def test_caps_on_rows_and_the_used_range() -> None:
    """Rows past max_rows, or a cell far away that makes the range huge, are refused unread."""
    rows = [HEADER] + [[str(n), "A", "B", f"u{n}@example.com", "C"] for n in range(20)]
    with pytest.raises(SpreadsheetError, match="the limit is 10 rows") as caught:
        read(io.BytesIO(workbook(Sheet("Members", rows))), COMMUNITY_UPLOAD_USERS, max_rows=10)
    assert caught.value.code == ErrorCode.FILE_TOO_LARGE
    far = workbook(Sheet("Members", [HEADER, ADA], far_cell="XFD1048576"))
    with pytest.raises(SpreadsheetError, match="Ctrl\\+End") as caught:
        read(io.BytesIO(far), COMMUNITY_UPLOAD_USERS)
    assert caught.value.code == ErrorCode.FILE_TOO_LARGE
    assert (
        len(list(read(io.BytesIO(workbook(Sheet("Members", rows))), COMMUNITY_UPLOAD_USERS))) == 20
    )


def test_the_file_size_limit_holds_for_workbooks() -> None:
    """A workbook over max_file_size is refused like a CSV file."""
    data = _members([*ADA, None]).getvalue()
    with pytest.raises(SpreadsheetError) as caught:
        read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, max_file_size=len(data) - 1)
    assert caught.value.code == ErrorCode.FILE_TOO_LARGE


@pytest.mark.parametrize(
    ("head", "says"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "Excel 97-2003 workbook (.xls)"),
        (b"PK\x03\x04broken", "Save As > Excel Workbook (.xlsx)"),
    ],
)
def test_other_workbooks_are_named(head: bytes, says: str) -> None:
    """An .xls file or a broken zip: refused with the way out."""
    with pytest.raises(SpreadsheetError, match=says.replace("(", r"\(").replace(")", r"\)")):
        read(io.BytesIO(head), COMMUNITY_UPLOAD_USERS)


def test_without_the_extra_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without python-calamine a workbook is refused naming the extra to install."""
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    with pytest.raises(SpreadsheetError) as caught:
        read(_members([*ADA, None]), COMMUNITY_UPLOAD_USERS)
    assert caught.value.code == ErrorCode.WORKBOOK
    assert "pip install -e '.[xlsx]' in a clone of the project" in caught.value.message
    assert "CSV UTF-8" in caught.value.message


def _rewritten(data: bytes, change: Callable[[str], str]) -> bytes:
    """``data`` with its first sheet's XML passed through ``change``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            body = old.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = change(body.decode("utf-8")).encode("utf-8")
            new.writestr(info.filename, body)
    return out.getvalue()


@pytest.mark.parametrize(
    "change",
    [
        lambda x: x.replace('r="XFD1048576"', "r='XFD1048576'"),
        lambda x: x.replace('<c r="XFD', '<c\tr="XFD'),
        lambda x: x.replace("<worksheet xmlns=", "<x:worksheet xmlns:x=")
        .replace("</worksheet>", "</x:worksheet>")
        .replace("<sheetData>", "<x:sheetData>")
        .replace("</sheetData>", "</x:sheetData>")
        .replace("<row ", "<x:row ")
        .replace("</row>", "</x:row>")
        .replace("<c ", "<x:c ")
        .replace("</c>", "</x:c>"),
        lambda x: x.replace('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
                            "<row>" + "<c/>" * 16_384 + "</row>" * 1 + "<row/>" * 2_000),
    ],
    ids=["single quotes", "a tab", "a namespace prefix", "no references"],
)  # fmt: skip
def test_a_far_cell_is_measured_however_the_sheet_is_written(change: Callable[[str], str]) -> None:
    """Quoting, spacing, a prefix or cells without references do not hide a huge range
    from the measure taken before the workbook is opened."""
    far = workbook(Sheet("Members", [HEADER, ADA], far_cell="XFD1048576"))
    with pytest.raises(SpreadsheetError) as caught:
        read(io.BytesIO(_rewritten(far, change)), COMMUNITY_UPLOAD_USERS, max_rows=1_500)
    assert caught.value.code == ErrorCode.FILE_TOO_LARGE
