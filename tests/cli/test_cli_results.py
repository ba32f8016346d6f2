"""``provisioning apply --results``: the outcome of every row, in a file people can open."""

from __future__ import annotations

import csv
from pathlib import Path

from _cli import SAMPLE, Cli

UPLOAD = ("--tenant", "riverbend", "--actor", "dana")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_apply_writes_one_result_row_per_input_row(tmp_path: Path) -> None:
    """Each of the sample's 300 rows has its outcome; the 7 bad ones are skipped with a code."""
    cli = Cli(tmp_path).with_riverbend()
    result = cli(
        "apply", SAMPLE, *UPLOAD, "--override", "row_errors", "--yes", "--results", "r.csv"
    )
    assert result.code == 0, result.err
    assert "300 result row(s) written to r.csv" in result.out
    rows = _rows(tmp_path / "r.csv")
    assert list(rows[0]) == [
        "record",
        "line",
        "key",
        "outcome",
        "code",
        "column",
        "message",
        "changes",
    ]
    assert len(rows) == 300
    assert [int(r["record"]) for r in rows] == list(range(1, 301))
    skipped = {r["key"]: r["code"] for r in rows if r["outcome"] == "skipped"}
    assert len(skipped) == 7
    assert skipped["204043"] == "invalid_email"
    assert {r["outcome"] for r in rows} == {"created", "skipped"}


def test_results_of_a_full_import_list_the_records_it_deactivates(tmp_path: Path) -> None:
    """A record the file leaves out has a row of its own: deactivated, with no line."""
    cli = Cli(tmp_path).with_riverbend()
    assert cli("apply", cli.members("ten.csv", 10), *UPLOAD, "--yes").code == 0
    nine = cli.members("nine.csv", 9)
    result = cli("apply", nine, *UPLOAD, "--yes", "--results", "r.csv")
    assert result.code == 0, result.err
    rows = _rows(tmp_path / "r.csv")
    assert [r["outcome"] for r in rows] == ["unchanged"] * 9 + ["deactivated"]
    assert (rows[-1]["key"], rows[-1]["line"], rows[-1]["record"]) == ("909", "", "")


def test_a_saved_plan_applies_with_results(tmp_path: Path) -> None:
    """apply --plan reads the file again, so it writes the same results."""
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("ten.csv", 10)
    assert cli("plan", upload, *UPLOAD, "--save", "plan.json").code == 0
    result = cli("apply", upload, *UPLOAD, "--plan", "plan.json", "--yes", "--results", "r.csv")
    assert result.code == 0, result.err
    assert [r["outcome"] for r in _rows(tmp_path / "r.csv")] == ["created"] * 10


def test_results_in_a_missing_folder_are_refused_before_anything_is_applied(
    tmp_path: Path,
) -> None:
    """A results file that cannot be written is a usage error, and nothing is applied."""
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("ten.csv", 10)
    result = cli("apply", upload, *UPLOAD, "--yes", "--results", tmp_path / "no" / "r.csv")
    assert result.code == 2
    assert "'--results'" in result.err
    assert cli.revision() == 0


def test_a_held_upload_writes_no_results(tmp_path: Path) -> None:
    """Nothing applied, nothing written: an existing results file is left as it was."""
    cli = Cli(tmp_path).with_riverbend()
    old = cli.file("r.csv", "old\n")
    result = cli("apply", SAMPLE, *UPLOAD, "--yes", "--results", old)
    assert result.code == 1
    assert old.read_text(encoding="utf-8") == "old\n"
