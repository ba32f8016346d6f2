"""An output option naming the store or the file being read is refused, never written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _cli import SAMPLE, Cli


@pytest.mark.parametrize(
    "args",
    [
        ("export", "--tenant", "riverbend", "-o", "{db}"),
        ("template", "-o", "{db}"),
        ("validate", "in.csv", "--error-report", "{db}"),
        ("plan", "in.csv", "--tenant", "riverbend", "--actor", "dana", "--override",
         "row_errors", "--save", "{db}"),
        ("apply", "in.csv", "--tenant", "riverbend", "--actor", "dana", "--override",
         "row_errors", "--yes", "--results", "{db}"),
        ("validate", "in.csv", "--error-report", "in.csv"),
        ("plan", "in.csv", "--tenant", "riverbend", "--actor", "dana", "--override",
         "row_errors", "--save", "./in.csv"),
        ("apply", "in.csv", "--tenant", "riverbend", "--actor", "dana", "--override",
         "row_errors", "--yes", "--results", "in.csv"),
        ("apply", "in.csv", "--tenant", "riverbend", "--actor", "dana", "--override",
         "row_errors", "--yes", "--results", "{db}-wal"),
    ],
)  # fmt: skip
def test_an_output_naming_the_store_or_the_input_is_a_usage_error(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """``export -o store.db`` replaced the whole store by a CSV file, and ``plan FILE
    --save FILE`` the upload file by the plan: now a usage error (exit 2) naming the
    option, with the store and the file as they were, and nothing applied."""
    cli = Cli(tmp_path).with_riverbend()
    upload = tmp_path / "in.csv"
    shutil.copyfile(SAMPLE, upload)
    store = cli.db.read_bytes()
    revision = cli.revision()
    result = cli(*(a.format(db=cli.db) for a in args))
    assert result.code == 2, (result.out, result.err)
    assert "would replace it" in result.err
    assert upload.read_bytes() == SAMPLE.read_bytes()
    assert cli.db.read_bytes()[:16] == store[:16] == b"SQLite format 3\x00"
    assert cli.revision() == revision


@pytest.mark.parametrize(
    "args",
    [
        ("export", "--tenant", "riverbend", "-o", "members.xlsx"),
        ("export", "--tenant", "riverbend", "--product", "marketing", "-o", "c.XLSX"),
        ("template", "--product", "marketing", "--tenant", "riverbend", "-o", "c.xlsm"),
        ("template", "-o", "members.xls"),
        ("validate", "in.csv", "--error-report", "errors.xlsx"),
        ("plan", "in.csv", "--tenant", "riverbend", "--actor", "dana", "--override",
         "row_errors", "--save", "plan.ods"),
        ("apply", "in.csv", "--tenant", "riverbend", "--actor", "dana", "--override",
         "row_errors", "--yes", "--results", "results.xlsx"),
    ],
)  # fmt: skip
def test_an_output_named_as_a_workbook_is_a_usage_error(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """``template -o members.xlsx`` wrote CSV text under a workbook's name, which Excel
    refuses to open: now a usage error (exit 2) naming the option and a name that
    works, with nothing written and nothing applied."""
    cli = Cli(tmp_path).with_riverbend()
    shutil.copyfile(SAMPLE, tmp_path / "in.csv")
    revision = cli.revision()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli(*args)
    assert result.code == 2, (result.out, result.err)
    assert "names an Excel workbook" in result.err
    assert "name it .csv or .txt" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert cli.revision() == revision
