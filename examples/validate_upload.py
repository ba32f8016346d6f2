"""Validate a Community upload file and write an error report for the rows that failed.

Run it from anywhere: it makes its own sample file in a scratch folder, reads it in one
streaming pass, prints what it found and writes ``errors.csv`` beside the upload.

    python examples/validate_upload.py
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from provisioning.records import UserRecord
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    DateOrder,
    RowError,
    Severity,
    read,
    write_error_report,
)

SAMPLE = (
    "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,MemberSince,Phone1\r\n"
    "1001,Ada,Lovelace,ada@example.com,Analytical Engines,10/12/2015,+44 20 7946 0958\r\n"
    "1002,Charles,,charles@example.com,Analytical Engines,2016-01-01,\r\n"
    '1003,Mary,"Somerville\nFairfax",mary@example,Royal Society,,\r\n'
    "1001,Augusta,King,augusta@example.com,Analytical Engines,,\r\n"
    "1004,Grace,Hopper,ADA@example.com,US Navy,31/02/2020,\r\n"
    "1005,Alan,Turing,alan@example.com,NPL,23/06/1912,\r\n"
)


def validate(upload: Path, report: Path) -> tuple[list[UserRecord], list[RowError]]:
    """Read ``upload`` once: keep the records and problems, write the error report."""
    records: list[UserRecord] = []
    problems: list[RowError] = []
    with upload.open("rb") as stream, report.open("w", encoding="utf-8", newline="") as out:
        reader = read(stream, COMMUNITY_UPLOAD_USERS, date_order=DateOrder.DAY_FIRST)

        def sort(items: Iterable[UserRecord | RowError]) -> Iterator[RowError]:
            for item in items:
                if isinstance(item, RowError):
                    problems.append(item)
                    yield item
                else:
                    records.append(item)

        written = write_error_report(
            sort(reader), out, COMMUNITY_UPLOAD_USERS, header=reader.header
        )
        print(f"summary: {reader.summary}")
    print(f"{len(records)} record(s) ready; {written} row(s) to fix in {report.name}")
    return records, problems


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        upload = Path(scratch) / "users.csv"
        upload.write_text(SAMPLE, encoding="utf-8", newline="")
        report = Path(scratch) / "errors.csv"
        records, problems = validate(upload, report)
        for problem in problems:
            print(f"  {problem}")
        print(report.read_text(encoding="utf-8"))
        assert [r.key for r in records] == ["1001", "1005"]
        assert sum(p.severity is Severity.WARNING for p in problems) == 1


if __name__ == "__main__":
    main()
