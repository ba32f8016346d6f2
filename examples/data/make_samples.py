"""Make the sample upload files in this folder: a Community upload (as CSV and as the
Excel workbook an administrator would send, ``community-upload.xlsx``) and a Marketing file.

The output is the same on every run (a fixed seed), so the committed files can be
checked against it. Run ``python examples/data/make_samples.py [FOLDER]``; the files are
written beside this script unless a folder is given.

The Community file has 300 data rows and a handful of deliberate defects, each the kind
a real export has: a missing email, a malformed one, a repeated key, a repeated email
(in another case), a date in an ambiguous order, a yes/no column holding something
else, a cell a spreadsheet would run as a formula, and a row cut short. In the workbook
keys are numbers, dates are date cells (the ambiguous one is text, as typed) and yes/no
values are booleans; the row cut short is a row without a CompanyName there.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

FIRST = (
    "Amara",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "José",
    "Kwame",
    "Leila",
    "Mateo",
    "Nadia",
    "Oren",
    "Priya",
    "Quinn",
    "Rosa",
    "Sanjay",
    "Tamsin",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Łukasz",
    "Aoife",
    "Bjørn",
    "Chidi",
)
LAST = (
    "Adeyemi",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fitzgerald",
    "Gallo",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Mbeki",
    "Nakamura",
    "O'Connell",
    "Petrov",
    "Quispe",
    "Rahman",
    "Schultz",
    "Tanaka",
    "Ueda",
    "Varga",
    "Whitaker",
    "Xu",
    "Yilmaz",
    "Zielinski",
    "Müller",
    "Núñez",
)
EMPLOYERS = (
    "Riverbend General Hospital",
    "St. Agnes Medical Center",
    "Lakeside Community Clinic",
    "Northgate Children's Hospital",
    "Valley Home Health",
    "Riverbend University School of Nursing",
    "Cedar Ridge Hospice",
)
TITLES = ("Registered Nurse", "Charge Nurse", "Nurse Practitioner", "Clinical Educator", "")
CITIES = (("Riverbend", "OR"), ("Salem", "OR"), ("Eugene", "OR"), ("Vancouver", "WA"))

COMMUNITY_HEADER = (
    "LegacyContactKey",
    "FirstName",
    "LastName",
    "EmailAddress",
    "CompanyName",
    "Title",
    "MemberSince",
    "City",
    "State",
    "Country",
    "IsMember",
)


def _slug(text: str) -> str:
    plain = text.lower().replace("'", "").replace("ø", "o").replace("ł", "l")
    for accented, base in (("é", "e"), ("ë", "e"), ("ü", "u"), ("ú", "u"), ("ñ", "n")):
        plain = plain.replace(accented, base)
    return plain


def community_rows(rng: random.Random) -> list[list[str]]:
    """300 member rows, then the defects written over a few of them."""
    rows: list[list[str]] = []
    for n in range(300):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, state = rng.choice(CITIES)
        since = f"{rng.randint(1995, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        rows.append(
            [
                str(204001 + n),
                first,
                last,
                f"{_slug(first)}.{_slug(last)}{n}@example.org",
                rng.choice(EMPLOYERS),
                rng.choice(TITLES),
                since,
                city,
                state,
                "United States",
                rng.choice(("true", "true", "true", "false")),
            ]
        )
    rows[17][3] = ""  # missing_value: no EmailAddress
    rows[42][3] = "jordan.price@@example.org"  # invalid_email
    rows[88][0] = rows[87][0]  # duplicate_key: the key of the row above
    rows[131][3] = rows[5][3].upper()  # duplicate_email: another row's email, in capitals
    rows[176][6] = "03/04/2019"  # ambiguous_date: March 4th or April 3rd?
    rows[203][10] = "sometimes"  # invalid_boolean
    rows[240][4] = '=HYPERLINK("http://example.invalid","Click me")'  # formula_like (warning)
    rows[267] = rows[267][:4]  # too_few_fields: a row cut short
    return rows


def marketing_rows(rng: random.Random) -> list[list[str]]:
    """25 contacts for a Marketing Enterprise upload, one malformed and one repeated email."""
    rows = []
    for n in range(25):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append([f"{_slug(first)}.{_slug(last)}{n}@example.net", f"M-{7100 + n}", first, last])
    rows[9][0] = "not-an-address"  # invalid_email: skipped and reported by the vendor
    rows[20][0] = rows[3][0]  # duplicate_email: only the first row is loaded
    return rows


def write(folder: Path) -> None:
    """Write the files into ``folder``."""
    rng = random.Random(2026)  # noqa: S311 - sample data, not secrets
    with (folder / "community-upload.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(COMMUNITY_HEADER)
        community = community_rows(rng)
        writer.writerows(community)
    with (folder / "marketing-contacts.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(("Email", "MemberId", "FirstName", "LastName"))
        writer.writerows(marketing_rows(rng))
    write_workbook(folder / "community-upload.xlsx", COMMUNITY_HEADER, community)


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(ref: str, text: str, column: str) -> str:
    """One cell as Excel saves it: ids as numbers, ISO dates as date cells, text inline."""
    if column == "LegacyContactKey" and text.isdigit():
        return f'<c r="{ref}"><v>{text}</v></c>'
    if column == "MemberSince":
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            pass  # a date typed as text stays text, as Excel keeps it
        else:
            return f'<c r="{ref}" s="1"><v>{(day - dt.date(1899, 12, 30)).days}</v></c>'
    if text in ("true", "false"):
        return f'<c r="{ref}" t="b"><v>{int(text == "true")}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def write_workbook(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    """``rows`` under ``header`` as the sheet "Members" of an .xlsx workbook, the same
    bytes on every run (every part dated 2026-01-01)."""
    lines = []
    for number, row in enumerate([list(header), *rows], start=1):
        cells = "".join(
            _cell(f"{_column(i)}{number}", text, header[i] if number > 1 else "")
            for i, text in enumerate(row)
            if text
        )
        lines.append(f'<row r="{number}">{cells}</row>')
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_PARTS_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_PARTS_TYPE}.worksheet'
        f'+xml"/><Override PartName="/xl/styles.xml" ContentType="{_PARTS_TYPE}.styles+xml"/>'
        "</Types>",
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets><sheet '
        'name="Members" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{_REL}/worksheet" '
        f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/styles" '
        'Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet xmlns="{_MAIN}"><numFmts count="1"><numFmt '
        'numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><cellXfs count="2"><xf '
        'numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_MAIN}"><sheetData>'
        + "".join(lines)
        + "</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, xml in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            archive.writestr(info, (head + xml).encode("utf-8"))


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
