"""Make the sample upload files in this folder: a Community upload and a Marketing file.

The output is the same on every run (a fixed seed), so the committed files can be
checked against it. Run ``python examples/data/make_samples.py [FOLDER]``; the files are
written beside this script unless a folder is given.

The Community file has 300 data rows and a handful of deliberate defects, each the kind
a real export has: a missing email, a malformed one, a repeated key, a repeated email
(in another case), a date in an ambiguous order, a yes/no column holding something
else, a cell a spreadsheet would run as a formula, and a row cut short.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

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
    """Write both files into ``folder``."""
    rng = random.Random(2026)  # noqa: S311 - sample data, not secrets
    with (folder / "community-upload.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(COMMUNITY_HEADER)
        writer.writerows(community_rows(rng))
    with (folder / "marketing-contacts.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(("Email", "MemberId", "FirstName", "LastName"))
        writer.writerows(marketing_rows(rng))


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
