"""Write small .xlsx workbooks for tests, by hand: the parts a workbook needs, no library.

Cells are strings (inline), numbers, booleans, dates (a serial with a date style) or
``Formula(text, cached)``; ``None`` leaves a cell out.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

import attrs

Cell = str | int | float | bool | dt.date | None


@attrs.frozen
class Formula:
    """A formula cell with the value Excel cached for it."""

    text: str
    cached: str | int | float


@attrs.frozen
class Sheet:
    """One worksheet: its name, rows (from row ``first_row``, column A), state, merges."""

    name: str
    rows: Sequence[Sequence[Cell | Formula]]
    hidden: bool = False
    merged: Sequence[str] = ()
    first_row: int = 1
    #: A cell far away (e.g. "XFD1048576") that makes the used range huge.
    far_cell: str | None = None


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _serial(day: dt.date) -> float:
    if isinstance(day, dt.datetime):
        delta = day - dt.datetime(1899, 12, 30)  # noqa: DTZ001 - Excel's epoch, naive
        return delta.days + delta.seconds / 86400
    return float((day - dt.date(1899, 12, 30)).days)


def _cell(ref: str, value: Cell | Formula) -> str:
    if isinstance(value, Formula):
        cached = value.cached
        kind = ' t="str"' if isinstance(cached, str) else ""
        return f'<c r="{ref}"{kind}><f>{escape(value.text)}</f><v>{escape(str(cached))}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="1"><v>{_serial(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    assert isinstance(value, str)
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def _sheet_xml(sheet: Sheet) -> str:
    rows = []
    for offset, row in enumerate(sheet.rows):
        number = sheet.first_row + offset
        cells = "".join(
            _cell(f"{column_letter(i)}{number}", v) for i, v in enumerate(row) if v is not None
        )
        rows.append(f'<row r="{number}">{cells}</row>')
    if sheet.far_cell:
        far_row = "".join(c for c in sheet.far_cell if c.isdigit())
        rows.append(f'<row r="{far_row}"><c r="{sheet.far_cell}"><v>1</v></c></row>')
    merged = ""
    if sheet.merged:
        refs = "".join(f'<mergeCell ref="{m}"/>' for m in sheet.merged)
        merged = f'<mergeCells count="{len(sheet.merged)}">{refs}</mergeCells>'
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{''.join(rows)}</sheetData>{merged}</worksheet>"
    )


def workbook(*sheets: Sheet) -> bytes:
    """The bytes of an .xlsx workbook holding ``sheets``."""
    out = io.BytesIO()
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
            'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/><Override PartName='
            '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        entries = "".join(
            f'<sheet name={quoteattr(s.name)} sheetId="{n}" r:id="rId{n}"'
            + (' state="hidden"' if s.hidden else "")
            + "/>"
            for n, s in enumerate(sheets, 1)
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            f"<sheets>{entries}</sheets></workbook>",
        )
        links = "".join(
            f'<Relationship Id="rId{n}" Type="{rel}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        styles_id = len(sheets) + 1
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships">{links}<Relationship Id="rId'
            f'{styles_id}" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        )
        z.writestr(
            "xl/styles.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{main}"><cellXfs '
            'count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
            "</styleSheet>",
        )
        for n, sheet in enumerate(sheets, 1):
            z.writestr(f"xl/worksheets/sheet{n}.xml", _sheet_xml(sheet))
    return out.getvalue()
