"""Write a realistic Community "Upload Users" file for the benchmark.

Every optional column is filled in part. Dates come in three styles: ISO 8601 (70%),
day-first ``31/12/2020`` (15%) and empty (15%). Names carry non-ASCII letters and
apostrophes; about 5% of companies and 3% of job titles hold a comma, 0.5% of companies
a quote, 0.5% of second address lines a line break, so about one row in ten is quoted.
Phone numbers are empty (30%), national (60%) or international ``+44 ...`` (10%), which
the reader reports as formula-like. About 1% of rows hold a defect (bad email, missing
name, impossible date, repeated key or email). The output is deterministic for a seed.

    python benchmarks/generate.py users.csv --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import random
import unicodedata
from collections.abc import Iterator
from pathlib import Path

HEADER = [
    "LegacyContactKey",
    "FirstName",
    "LastName",
    "EmailAddress",
    "CompanyName",
    "PrefixCode",
    "MiddleName",
    "SuffixCode",
    "InformalName",
    "Title",
    "MemberId",
    "MemberSince",
    "MemberExpiresOn",
    "Birthday",
    "Address1",
    "Address2",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Phone1",
    "Phone1Type",
    "Phone2",
    "Phone2Type",
    "IsMember",
    "Status",
]

_FIRST = [
    "Ada", "Grace", "Alan", "José", "Zoë", "Björn", "Chloé", "Mei", "Ngozi", "Søren",
    "Priya", "Mohammed", "Olga", "Liam", "Émilie", "Kwame", "Hiroshi", "Fatima", "Ana", "Tomás",
]  # fmt: skip
_LAST = [
    "Lovelace", "Hopper", "Turing", "García", "O'Brien", "Müller", "Nakamura", "Okafor",
    "Kowalski", "Smith", "Johnson", "Dubois", "Rossi", "Andersson", "Nguyen", "Van der Berg",
]  # fmt: skip
_COMPANIES = [
    "Analytical Engines", "Globex Corporation", "Initech", "Umbrella Ltd", "Hooli",
    "Société Générale des Tests", "Stark Industries", "Wayne Enterprises", "Soylent Corp",
    "Vandelay Industries", "Cyberdyne Systems", "Tyrell Corporation", "Wonka Industries",
    "Oscorp", "Gringotts", "Monsters Inc", "Aperture Science", "Black Mesa", "Massive Dynamic",
]  # fmt: skip
# About 5% of companies carry a comma and 0.5% a quote: both make the row a quoted one.
_AWKWARD_COMPANIES = ["Acme, Inc.", "Smith & Sons, LLC", 'The "Best" Widgets']
_DOMAINS = ["example.com", "example.org", "mail.example.net", "Example.COM", "corp.example.co.uk"]
_TITLES = [
    "", "", "", "Director", "Membership Manager", "CEO", "Analyst", "Engineer", "Editor",
    "Professor", "Student", "Consultant", "Treasurer", "Secretary", "Nurse", "Teacher",
    "Architect", "Librarian", "Chair", "Volunteer", "Counsel", "Researcher", "Founder",
    "President", "Vice President", "Manager", "Coordinator", "Officer", "Fellow",
    "Engineer, Senior",
]  # fmt: skip
_CITIES = [
    ("Springfield", "IL", "62704", "US"),
    ("London", "", "EC1A 1BB", "GB"),
    ("Zürich", "ZH", "8001", "CH"),
    ("Toronto", "ON", "M5H 2N2", "CA"),
    ("Austin", "TX", "73301", "US"),
]
_PHONE_TYPES = ["Mobile", "Work", "Home", ""]
_STATUSES = ["", "", "", "Enabled", "Deactivated"]


def _ascii(text: str) -> str:
    """Fold accents away: email local parts are ASCII (the exact email rule)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _date(rng: random.Random, start_year: int, end_year: int, *, day_first: bool = True) -> str:
    """A date in one of the styles people upload: mostly ISO, some day-first, some empty.

    Without ``day_first`` the day-first share is written ISO too (the command reads ISO
    dates only, unless told the file's date order).
    """
    style = rng.random()
    if style < 0.15:
        return ""
    year = rng.randint(start_year, end_year)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    if style < 0.85 or not day_first:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{day:02d}/{month:02d}/{year:04d}"


def _company(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.045:
        return rng.choice(_AWKWARD_COMPANIES[:2])
    if roll < 0.05:
        return _AWKWARD_COMPANIES[2]
    return rng.choice(_COMPANIES)


def _phone(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return ""
    if roll < 0.4:
        return f"+44 20 7946 {rng.randint(0, 9999):04d}"
    return f"(555) 01{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}"


def rows(count: int, seed: int = 20240403, *, day_first: bool = True) -> Iterator[list[str]]:
    """Yield ``count`` data rows (no header) of the Community template."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        first = rng.choice(_FIRST)
        last = rng.choice(_LAST)
        key = f"C-{n:07d}"
        local = _ascii(f"{first}.{last}").replace("'", "").replace(" ", "")
        email = f"{local}{n}@{rng.choice(_DOMAINS)}"
        city, state, postal, country = rng.choice(_CITIES)
        address2 = ""
        if rng.random() < 0.005:
            address2 = "Building 4\nFloor 2"
        elif rng.random() < 0.2:
            address2 = f"Suite {rng.randint(1, 900)}"
        row = [
            key,
            first,
            last,
            email,
            _company(rng),
            rng.choice(["", "", "Dr", "Ms", "Mr"]),
            rng.choice(["", "", "", "J.", "Marie"]),
            rng.choice(["", "", "", "", "Jr", "PhD"]),
            rng.choice(["", "", first[:3]]),
            rng.choice(_TITLES),
            f"M{n:06d}" if rng.random() < 0.7 else "",
            _date(rng, 1995, 2023, day_first=day_first),
            _date(rng, 2024, 2027, day_first=day_first),
            _date(rng, 1940, 2005, day_first=day_first),
            f"{rng.randint(1, 9999)} Main Street",
            address2,
            city,
            state,
            postal,
            country,
            _phone(rng),
            rng.choice(_PHONE_TYPES),
            _phone(rng),
            rng.choice(_PHONE_TYPES),
            rng.choice(["true", "false", "", "yes", "no"]),
            rng.choice(_STATUSES),
        ]
        defect = rng.random()
        if defect < 0.002:
            row[3] = f"{local}{n}.example.com"  # no "@"
        elif defect < 0.004:
            row[2] = ""  # required LastName missing
        elif defect < 0.006:
            row[11] = "2023-02-30"  # impossible date
        elif defect < 0.008 and n > 1:
            row[0] = f"C-{n - 1:07d}"  # repeats the previous row's key
        elif defect < 0.010 and n > 1:
            row[3] = f"{local}{n - 1}@{_DOMAINS[0]}".upper()  # may repeat an email
        yield row


#: The required columns and ten optional ones most files carry (see :func:`valid_rows`).
COMMON_HEADER = [
    "LegacyContactKey",
    "FirstName",
    "LastName",
    "EmailAddress",
    "CompanyName",
    "Title",
    "MemberId",
    "MemberSince",
    "MemberExpiresOn",
    "Address1",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Phone1",
]


def _iso(rng: random.Random, start_year: int, end_year: int) -> str:
    return (
        f"{rng.randint(start_year, end_year):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    )


def valid_rows(count: int, seed: int = 20240403) -> Iterator[list[str]]:
    """Yield ``count`` data rows of :data:`COMMON_HEADER`, every one valid.

    The same names, companies (commas and quotes included) and places as :func:`rows`,
    but ISO dates only (expiry dates in the future), national phone numbers only (an
    international ``+44`` number is reported as formula-like), unique keys and emails.
    """
    rng = random.Random(seed)
    for n in range(1, count + 1):
        first = rng.choice(_FIRST)
        last = rng.choice(_LAST)
        local = _ascii(f"{first}.{last}").replace("'", "").replace(" ", "").lower()
        city, state, postal, country = rng.choice(_CITIES)
        phone = (
            "" if rng.random() < 0.3 else f"(555) 01{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}"
        )
        yield [
            f"C-{n:07d}",
            first,
            last,
            f"{local}{n}@{rng.choice(_DOMAINS).lower()}",
            _company(rng),
            rng.choice(_TITLES),
            f"M{n:07d}" if rng.random() < 0.7 else "",
            _iso(rng, 1995, 2023),
            _iso(rng, 2028, 2031),
            f"{rng.randint(1, 9999)} Main Street",
            city,
            state,
            postal,
            country,
            phone,
        ]


def write(path: Path, count: int, seed: int = 20240403, *, day_first: bool = True) -> Path:
    """Write the header and ``count`` rows to ``path`` as UTF-8 CSV; return ``path``."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed, day_first=day_first))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240403)
    args = parser.parse_args()
    write(args.path, args.rows, args.seed)
    print(f"wrote {args.rows:,} rows to {args.path} ({args.path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
