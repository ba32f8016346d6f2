"""Excel workbooks from the command: validate, plan and apply an .xlsx, --sheet."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from _cli import Cli

pytest.importorskip("python_calamine")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "spreadsheet"))

from _xlsx import Cell, Sheet, workbook

HEADER: list[Cell] = [
    "LegacyContactKey",
    "FirstName",
    "LastName",
    "EmailAddress",
    "CompanyName",
    "MemberSince",
]
ROWS: list[list[Cell]] = [
    [100000, "Ada", "Lovelace", "ada@example.com", "Analytical Engines", dt.date(2015, 4, 3)],
    [100001, "Zoë", "Müller", "zoe@example.com", "Acme", None],
]


def _book(cli: Cli, *extra: Sheet) -> Path:
    return cli.file("members.xlsx", workbook(Sheet("Members", [HEADER, *ROWS]), *extra))


def test_validate_names_sheet_and_cell(tmp_path: Path) -> None:
    """A bad cell of a workbook is reported with its sheet and cell, in text and JSON."""
    cli = Cli(tmp_path)
    bad: list[list[Cell]] = [[100002, "Bob", "", "bob@example", "Acme", "03/04/2015"]]
    path = cli.file("bad.xlsx", workbook(Sheet("Members", [HEADER, *ROWS, *bad])))
    result = cli("validate", path, "--format", "json")
    assert result.code == 1
    errors = result.json()["errors"]
    assert [(e["line"], e["cell"], e["code"]) for e in errors] == [
        (4, "Members!C4", "missing_value"),
        (4, "Members!D4", "invalid_email"),
        (4, "Members!F4", "ambiguous_date"),
    ]
    assert "--date-order day-first" in errors[2]["message"]
    text = cli("validate", path)
    assert "Members!D4" in text.out
    assert cli("validate", path, "--date-order", "day-first").code == 1  # the others remain


def test_several_sheets_need_the_flag(tmp_path: Path) -> None:
    """A workbook with two visible sheets: refused naming --sheet; read with it."""
    cli = Cli(tmp_path)
    path = _book(cli, Sheet("Notes", [["x"]]))
    refused = cli("validate", path)
    assert refused.code == 2
    assert "name the one to read with --sheet Members" in refused.err
    assert "sheet=" not in refused.err
    assert cli("validate", path, "--sheet", "Members").code == 0
    missing = cli("validate", path, "--sheet", "Nope")
    assert missing.code == 2
    assert "no sheet 'Nope'" in missing.err


def test_plan_save_and_apply_a_workbook(tmp_path: Path) -> None:
    """plan --save --sheet records the sheet; apply --plan reads it again and stores the rows."""
    cli = Cli(tmp_path).with_riverbend()
    path = _book(cli, Sheet("Notes", [["x"]]))
    upload = ("--tenant", "riverbend", "--actor", "dana", "--mode", "partial")
    saved = cli("plan", path, *upload, "--sheet", "Members", "--save", "p.json")
    assert saved.code == 0, saved.err
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert data["reading"]["sheet"] == "Members"
    other = cli("apply", path, *upload, "--plan", "p.json", "--yes", "--sheet", "Notes")
    assert other.code == 2
    assert "the plan was made --sheet Members" in other.err
    applied = cli("apply", path, *upload, "--plan", "p.json", "--yes")
    assert applied.code == 0, applied.err
    exported = cli("export", "--tenant", "riverbend").out
    assert "100000,Ada,Lovelace,ada@example.com,Analytical Engines" in exported
    assert "2015-04-03" in exported
    assert "Zoë,Müller" in exported
