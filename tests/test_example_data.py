"""The committed sample files are exactly what examples/data/make_samples.py makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "examples" / "data"


def test_samples_are_reproducible(tmp_path: Path) -> None:
    """Running the generator from an empty folder rewrites every file byte for byte."""
    subprocess.run(
        [sys.executable, str(DATA / "make_samples.py"), str(tmp_path)],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    for name in ("community-upload.csv", "community-upload.xlsx", "marketing-contacts.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_the_sample_workbook_reads_as_the_sample_csv() -> None:
    """The Excel sample holds the CSV sample's members (keys as numbers, dates as date
    cells) and its defects, each named by its cell; the row cut short in the CSV file is
    a row without a CompanyName in the workbook."""
    from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, ErrorCode, read_all

    with (DATA / "community-upload.csv").open("rb") as stream:
        csv = read_all(stream, COMMUNITY_UPLOAD_USERS)
    with (DATA / "community-upload.xlsx").open("rb") as stream:
        book = read_all(stream, COMMUNITY_UPLOAD_USERS)
    assert book.records == csv.records
    assert [(p.line, p.code) for p in book.problems] == [
        (p.line, ErrorCode.MISSING_VALUE if p.code is ErrorCode.TOO_FEW_FIELDS else p.code)
        for p in csv.problems
    ]
    assert book.problems[0].cell == "Members!D19"
