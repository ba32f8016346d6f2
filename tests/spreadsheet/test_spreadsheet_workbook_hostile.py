"""Hostile workbooks: every way of placing a cell that calamine reads is measured before
calamine opens the workbook, and calamine only ever opens the parts that were checked.

A cell far away makes calamine set room aside for every cell between, and a huge
claimed count of shared strings makes it set room aside for them: either ends the
process. The far cells here are far enough to break the caps the tests set, and near
enough that calamine would survive them if a guard let one through, so a regression
fails the test rather than the test run.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from _xlsx import Cell, Sheet, workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning import SpreadsheetError
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, ErrorCode, _workbook, read, read_all

calamine = pytest.importorskip("python_calamine")

HEADER: list[Cell] = ["LegacyContactKey", "FirstName", "LastName", "EmailAddress", "CompanyName"]
ADA: list[Cell] = [100000, "Ada", "Lovelace", "ada@example.com", "Analytical Engines"]
SHEET = "xl/worksheets/sheet1.xml"


def _rewritten(data: bytes, change: Callable[[str], str], *, name: str = SHEET) -> bytes:
    """``data`` with its first sheet's XML passed through ``change``, stored as ``name``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            body = old.read(info)
            if info.filename == SHEET:
                new.writestr(name, change(body.decode("utf-8")).encode("utf-8"))
            else:
                new.writestr(info.filename, body)
    return out.getvalue()


def _with_cell(cell: str) -> Callable[[str], str]:
    """Add ``cell`` (raw XML, a row of its own or not) after the data rows."""
    return lambda x: x.replace("</sheetData>", cell + "</sheetData>")


_FAR = "<c r='{}' t='inlineStr'><is><t>x</t></is></c>"


@pytest.mark.parametrize(
    "cell",
    [
        '<row r="5000"><c r="a5000" t="inlineStr"><is><t>x</t></is></c></row>',
        '<row r="3"><c r="A3" t="inlineStr" r="A5000"><is><t>x</t></is></c></row>',
        '<row r="3"><c r="A3" t="inlineStr"r="A5000"><is><t>x</t></is></c></row>',
        '<row r="3"><c r="A3" t="inlineStr" r = "A5000"><is><t>x</t></is></c></row>',
        '<row r="3"><c r="A0000000005000" t="inlineStr"><is><t>x</t></is></c></row>',
        '<row r="A5000"><c t="inlineStr"><is><t>x</t></is></c></row>',
        '<row r="05000"><c t="inlineStr"><is><t>x</t></is></c></row>',
        '<row r="3"><c r="A3"/></row><row><c/></row>' + "<row/>" * 5000,
        "<!-- a comment --><row r='5000'>" + _FAR.format("A5000") + "</row>",
    ],
    ids=[
        "lower case letters",
        "a second r",
        "a second r without a space",
        "spaces around =",
        "leading zeros",
        "letters in a row's r",
        "a leading zero in a row's r",
        "rows without references",
        "single quotes",
    ],
)
def test_a_far_row_is_measured_however_it_is_written(cell: str) -> None:
    """Whatever way calamine would place a cell on row 5,000, the row cap sees it."""
    data = _rewritten(workbook(Sheet("Members", [HEADER, ADA])), _with_cell(cell))
    with pytest.raises(SpreadsheetError) as caught:
        read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, max_rows=1_500)
    assert caught.value.code in (ErrorCode.FILE_TOO_LARGE, ErrorCode.WORKBOOK)


@pytest.mark.parametrize(
    "reference", ["AAAA3", "aaaa3", "ZZZ3", "A3:ZZZ3"], ids=["4 letters", "lower", "3", "range"]
)
def test_a_far_column_is_measured_however_it_is_written(
    reference: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A column past any the plain pattern knows (four letters, lower case) still counts."""
    monkeypatch.setattr(_workbook, "MAX_CELLS", 10_000)
    cell = f'<row r="3"><c r="{reference}" t="inlineStr"><is><t>x</t></is></c></row>'
    data = _rewritten(workbook(Sheet("Members", [HEADER, ADA])), _with_cell(cell))
    with pytest.raises(SpreadsheetError) as caught:
        read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
    if reference == "A3:ZZZ3":  # not a reference calamine takes: it refuses the sheet
        assert caught.value.code == ErrorCode.WORKBOOK
    else:
        assert caught.value.code == ErrorCode.FILE_TOO_LARGE


def test_a_sheet_part_named_in_other_case_is_measured() -> None:
    """calamine finds parts ignoring case and with backslashes: so does the measure."""
    far = '<row r="5000"><c r="A5000" t="inlineStr"><is><t>x</t></is></c></row>'
    base = workbook(Sheet("Members", [HEADER, ADA]))
    for name in ("XL/Worksheets/Sheet1.XML", "xl\\worksheets\\sheet1.xml"):
        data = _rewritten(base, _with_cell(far), name=name)
        with pytest.raises(SpreadsheetError) as caught:
            read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, max_rows=1_500)
        assert caught.value.code == ErrorCode.FILE_TOO_LARGE


def test_two_parts_with_one_name_are_refused() -> None:
    """A benign part and a hostile one under the same name (ignoring case) are refused."""
    base = workbook(Sheet("Members", [HEADER, ADA]))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
        new.writestr("XL/WORKSHEETS/SHEET1.XML", old.read(SHEET))
    with pytest.raises(SpreadsheetError, match="two parts with one name") as caught:
        read(io.BytesIO(out.getvalue()), COMMUNITY_UPLOAD_USERS)
    assert caught.value.code == ErrorCode.WORKBOOK


def test_calamine_reads_only_the_checked_parts(tmp_path: Path) -> None:
    """A package pointing calamine at another workbook part (``_rels/.rels``), or a
    sheet entry with a second id attribute, cannot make it read a part that was not
    measured: it opens a workbook rebuilt from the checked parts."""
    hostile = "<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>"
    base = workbook(Sheet("Members", [HEADER, ADA]))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            body = old.read(info)
            if info.filename == "_rels/.rels":
                body = body.replace(b"xl/workbook.xml", b"evil/workbook.xml")
            if info.filename == "xl/workbook.xml":
                body = body.replace(b'r:id="rId1"', b'r:id="rId1" x:id="rId9" xmlns:x="urn:x"')
            new.writestr(info.filename, body)
        new.writestr("evil/workbook.xml", old.read("xl/workbook.xml"))
        new.writestr("evil/_rels/workbook.xml.rels", old.read("xl/_rels/workbook.xml.rels"))
        new.writestr(
            "evil/worksheets/sheet1.xml",
            old.read(SHEET).replace(b"</sheetData>", hostile.encode() + b"</sheetData>"),
        )
    # In a child process: were calamine to load the hostile part, it would end the process.
    path = tmp_path / "hostile.xlsx"
    path.write_bytes(out.getvalue())
    code = textwrap.dedent(
        f"""
        from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, read_all
        with open({str(path)!r}, "rb") as stream:
            report = read_all(stream, COMMUNITY_UPLOAD_USERS)
        print([r.key for r in report.records])
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "['100000']"


def test_a_huge_shared_strings_count_is_refused(tmp_path: Path) -> None:
    """calamine sets room aside for the strings a table claims: a claim of 10^11 would
    end the process, so it is refused before calamine opens the workbook."""
    base = workbook(Sheet("Members", [HEADER, ADA]))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
        new.writestr(
            "xl/sharedStrings.xml",
            '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main" count="1" uniqueCount = " 100000000000">'
            "<si><t>hi</t></si></sst>",
        )
    path = tmp_path / "strings.xlsx"
    path.write_bytes(out.getvalue())
    code = textwrap.dedent(
        f"""
        from provisioning import SpreadsheetError
        from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, read
        try:
            with open({str(path)!r}, "rb") as stream:
                read(stream, COMMUNITY_UPLOAD_USERS)
        except SpreadsheetError as exc:
            print(exc.code.value, exc.message)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("workbook ")
    assert "claim 100,000,000,000 strings (uniqueCount)" in proc.stdout
    # A true count is read as before.
    assert read_all(io.BytesIO(base), COMMUNITY_UPLOAD_USERS).ok


# -- the measure against calamine itself -----------------------------------------------------

_REFERENCES = st.one_of(
    st.none(),
    st.builds(
        lambda col, row, lower, zeros: (
            (_workbook.column_letter(col).lower() if lower else _workbook.column_letter(col))
            + "0" * zeros
            + str(row)
        ),
        st.integers(0, 40),
        st.integers(1, 60),
        st.booleans(),
        st.integers(0, 9),
    ),
)


@st.composite
def _sheets(draw: st.DrawFn) -> str:
    """Rows and cells written in the ways calamine accepts: references or none, either
    case, leading zeros, prefixes, quotes, spacing, a second ``r``, empty rows."""
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row_ref = draw(st.one_of(st.none(), st.integers(1, 60).map(str)))
        tag = draw(st.sampled_from(["row", "x:row"]))
        cells = []
        for _ in range(draw(st.integers(0, 5))):
            ref = draw(_REFERENCES)
            quote = draw(st.sampled_from(['"', "'"]))
            space = draw(st.sampled_from([" ", "\t", "\n "]))
            ctag = draw(st.sampled_from(["c", "x:c"]))
            attrs = "" if ref is None else f"{space}r={quote}{ref}{quote}"
            if ref is not None and draw(st.booleans()):
                attrs += f' s="0"r="{draw(_REFERENCES) or "A1"}"'
            cells.append(f"<{ctag}{attrs} t='inlineStr'><x:is><x:t>v</x:t></x:is></{ctag}>")
        row_attrs = "" if row_ref is None else f' r="{row_ref}"'
        rows.append(f"<{tag}{row_attrs}>{''.join(cells)}</{tag}>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        + "".join(rows)
        + "</x:sheetData></x:worksheet>"
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sheets())
def test_the_measure_holds_calamines_range(sheet_xml: str) -> None:
    """For any sheet calamine loads, the measure taken before covers its used range."""
    base = workbook(Sheet("Members", [["a"]]))
    data = _rewritten(base, lambda _: sheet_xml)
    try:
        sheet = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(
            "Members"
        )
    except calamine.CalamineError:
        return  # calamine refuses it: nothing is set aside
    document = sheet_xml.encode()
    try:
        measures = [
            _workbook.measure_sheet(document),
            _workbook.measure_sheet(document, precise=True),
        ]
    except SpreadsheetError:
        return  # the measure refuses it (not well-formed): calamine never sees it
    if sheet.end is None:
        return
    for measure in measures:
        assert measure.rows >= sheet.end[0] + 1
        assert measure.columns >= sheet.end[1] + 1


def test_the_plain_measure_is_exact_when_asked() -> None:
    """A plain sheet: the rounded measure, then the exact one."""
    rows = [HEADER] + [[str(n), "A", "B", f"u{n}@example.com", "C"] for n in range(150)]
    with zipfile.ZipFile(io.BytesIO(workbook(Sheet("Members", rows)))) as z:
        document = z.read(SHEET)
    assert _workbook.measure_sheet(document) == (199, 5, True, True)
    assert _workbook.measure_sheet(document, precise=True) == (151, 5, True, False)
    odd = document.replace(b'<c r="C7"', b'<c r="c7"')
    assert _workbook.measure_sheet(odd) == (151, 5, False, False)


# -- pieces ----------------------------------------------------------------------------------

_CELLS = st.one_of(
    st.none(), st.sampled_from(["x", "y z", "", "a,b", 'q"t', "=1"]), st.integers(1, 9)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.none(), st.lists(_CELLS, min_size=0, max_size=8)), min_size=1, max_size=40
    ),
    st.integers(1, 3),
)
def test_a_sheet_cut_into_pieces_reads_as_a_whole(
    rows: list[list[Cell] | None], first_row: int
) -> None:
    """Pieces loaded one after the other give the rows, cells and errors of the whole
    sheet: empty rows between pieces, pieces narrower or wider than the header's."""
    data = workbook(
        Sheet(
            "Members",
            [[*HEADER, "Extra"], *[row or [] for row in rows]],
            first_row=first_row,
        )
    )

    def outcome() -> list[object]:
        try:
            report = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
        except SpreadsheetError as exc:
            return [exc.code, exc.message]
        return [report.records, report.problems, report.summary]

    whole = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_workbook, "PIECE_SIZE", 64)
        patch.setattr(_workbook, "_MAX_PIECES", 64)
        pieces = outcome()
        # Pieces of many rows are read one row at a time: the same rows.
        patch.setattr(_workbook, "_WHOLE_PIECE_ROWS", 0)
        row_by_row = outcome()
    assert pieces == whole
    assert row_by_row == whole


def test_a_piece_calamine_refuses_is_a_workbook_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later piece calamine cannot load (loaded in its thread) refuses the workbook, after
    the rows of the pieces before it, with code ``workbook``; nothing hangs."""
    rows = [HEADER] + [[str(n), "A", "B", f"u{n}@example.com", "C"] for n in range(1, 60)]
    rows[49][4] = True  # a boolean cell, then written as one calamine refuses
    broken = _rewritten(
        workbook(Sheet("Members", rows)),
        lambda x: x.replace('<c r="E50" t="b"><v>1</v>', '<c r="E50" t="b"><v>7</v>', 1),
    )
    monkeypatch.setattr(_workbook, "PIECE_SIZE", 512)
    seen = 0
    with pytest.raises(SpreadsheetError) as caught:  # noqa: PT012 - rows come before it
        for _ in read(io.BytesIO(broken), COMMUNITY_UPLOAD_USERS):
            seen += 1
    assert caught.value.code == ErrorCode.WORKBOOK
    assert "cannot be read" in caught.value.message
    assert seen > 0


def test_a_1904_workbook_keeps_its_dates() -> None:
    """The rebuilt workbook keeps the 1904 date system (Excel for Mac's old default), so
    a date cell reads as calamine reads it from the workbook as sent."""
    data = workbook(Sheet("Members", [[*HEADER, "MemberSince"], [*ADA, dt.date(2015, 4, 3)]]))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            body = old.read(info)
            if info.filename == "xl/workbook.xml":
                body = body.replace(b"<sheets>", b'<workbookPr date1904="1"/><sheets>')
            new.writestr(info.filename, body)
    sent = out.getvalue()
    cells = calamine.CalamineWorkbook.from_filelike(io.BytesIO(sent)).get_sheet_by_name("Members")
    expected = cells.to_python()[1][5]
    assert expected == dt.date(2015, 4, 3) + dt.timedelta(days=1462)
    (record,) = read_all(io.BytesIO(sent), COMMUNITY_UPLOAD_USERS).records
    assert record.member_since == expected


def test_without_an_in_memory_file_calamine_reads_a_buffer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where there is no anonymous in-memory file (not Linux), the rebuilt workbook is
    handed to calamine in a buffer: the same records."""
    data = workbook(Sheet("Members", [HEADER, ADA]))
    expected = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS).records
    monkeypatch.delattr(os, "memfd_create")
    assert read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS).records == expected
