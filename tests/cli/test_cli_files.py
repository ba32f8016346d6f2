"""``provisioning template``, ``validate`` and ``export``: upload files in and out."""

from __future__ import annotations

import csv
import io
import os
import pty
from pathlib import Path

from _cli import MARKETING, SAMPLE, SCRIPT, Cli, on_terminal

import provisioning as pv
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, MARKETING_PROFESSIONAL, write

_PROBLEM_KEYS = {"record", "line", "column", "code", "message"}


def test_validate_json_schema_on_the_sample(tmp_path: Path) -> None:
    """validate --format json prints exactly valid, rows, blank lines, errors, skips and
    warnings; exit 1."""
    result = Cli(tmp_path)("validate", SAMPLE, "--format", "json")
    assert result.code == 1
    data = result.json()
    assert set(data) == {"valid", "rows", "blank_lines", "errors", "skipped", "warnings"}
    assert data["valid"] is False
    assert data["rows"] == 300
    assert all(set(p) == _PROBLEM_KEYS for p in data["errors"] + data["warnings"])
    assert [(e["line"], e["record"], e["code"]) for e in data["errors"]] == [
        (19, 18, "missing_value"),
        (44, 43, "invalid_email"),
        (90, 89, "duplicate_key"),
        (133, 132, "duplicate_email"),
        (178, 177, "ambiguous_date"),
        (205, 204, "invalid_boolean"),
        (269, 268, "too_few_fields"),
    ]
    assert data["errors"][0]["column"] == "EmailAddress"
    assert data["errors"][-1]["column"] is None  # the row as a whole
    assert [(w["line"], w["column"], w["code"]) for w in data["warnings"]] == [
        (242, "CompanyName", "formula_like")
    ]


def test_validate_text_and_error_report(tmp_path: Path) -> None:
    """Text output is a table of problems; --error-report writes each failed row once."""
    cli = Cli(tmp_path)
    result = cli("validate", SAMPLE, "--error-report", "errors.csv")
    assert result.code == 1
    assert "7 errors, 1 warnings" in result.out
    assert "ambiguous_date" in result.out
    with (tmp_path / "errors.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["error_line"] for r in rows] == ["19", "44", "90", "133", "178", "205", "269"]
    assert rows[4]["MemberSince"] == "03/04/2019"


def test_validate_a_valid_file(tmp_path: Path) -> None:
    """A file whose rows are all valid exits 0, with an empty error list."""
    cli = Cli(tmp_path)
    good = "".join(SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:15])
    result = cli("validate", cli.file("good.csv", good), "--format", "json")
    assert result.code == 0
    assert result.json() == {
        "valid": True,
        "rows": 14,
        "blank_lines": 0,
        "errors": [],
        "skipped": [],
        "warnings": [],
    }


def test_validate_header_errors(tmp_path: Path) -> None:
    """A header that breaks the template is invalid data (exit 1), reported on line 1."""
    cli = Cli(tmp_path)
    bad = cli.file("bad.csv", "LegacyContactKey,FirstName,LastName,CompanyName\r\n1,A,B,C\r\n")
    result = cli("validate", bad, "--format", "json")
    assert result.code == 1
    data = result.json()
    assert data["valid"] is False
    assert data["errors"][0] | {"message": ""} == {
        "record": None,
        "line": 1,
        "column": "EmailAddress",
        "code": "missing_column",
        "message": "",
    }


def test_validate_wrong_encoding(tmp_path: Path) -> None:
    """A file that is not UTF-8 is unreadable input: exit 2, the JSON error says encoding."""
    cli = Cli(tmp_path)
    text = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\r\n1,Zoë,X,z@x.org,Y\r\n"
    latin1 = cli.file("latin1.csv", text.encode("latin-1"))
    result = cli("validate", latin1, "--format", "json")
    assert result.code == 2
    assert result.json()["errors"][0]["code"] == "encoding"
    assert result.json()["errors"][0]["line"] == 2
    assert "UTF-8" in result.err


def test_validate_missing_file(tmp_path: Path) -> None:
    """A missing file is a usage error."""
    result = Cli(tmp_path)("validate", "nowhere.csv")
    assert result.code == 2
    assert "does not exist" in result.err


def test_validate_marketing_skips(tmp_path: Path) -> None:
    """Marketing rows the vendor skips (bad or repeated emails) are listed apart from
    errors; they cost their rows, not the file, which is valid (exit 0)."""
    result = Cli(tmp_path)("validate", MARKETING, "--product", "marketing", "--format", "json")
    assert result.code == 0
    data = result.json()
    assert (data["rows"], data["valid"], data["errors"]) == (25, True, [])
    assert [(e["line"], e["code"]) for e in data["skipped"]] == [
        (11, "invalid_email"),
        (22, "duplicate_email"),
    ]


def test_edition_is_for_marketing_only(tmp_path: Path) -> None:
    """--edition with the Community template is a usage error."""
    result = Cli(tmp_path)("validate", SAMPLE, "--edition", "professional")
    assert result.code == 2
    assert "only Marketing files have editions" in result.err


def test_templates(tmp_path: Path) -> None:
    """template writes each template's header row, to stdout or to a file."""
    cli = Cli(tmp_path)
    community = cli("template")
    assert community.code == 0
    assert next(csv.reader(io.StringIO(community.out))) == list(COMMUNITY_UPLOAD_USERS.headers)
    assert (
        cli("template", "--product", "marketing", "--edition", "professional", "-o", "p.txt").code
        == 0
    )
    header = (tmp_path / "p.txt").read_text(encoding="utf-8").splitlines()[0]
    assert header.split("\t") == list(MARKETING_PROFESSIONAL.headers)


def test_export_is_formula_safe(tmp_path: Path) -> None:
    """export writes the stored records; a formula-like value is escaped with a quote."""
    cli = Cli(tmp_path).with_riverbend()
    applied = cli(
        "apply",
        SAMPLE,
        "--tenant",
        "riverbend",
        "--actor",
        "dana",
        "--override",
        "row_errors",
        "--yes",
    )
    assert applied.code == 0, applied.err
    assert cli("export", "--tenant", "riverbend", "-o", "out.csv").code == 0
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as f:
        rows = {r["LegacyContactKey"]: r for r in csv.DictReader(f)}
    assert len(rows) == 293
    assert rows["204241"]["CompanyName"].startswith("'=HYPERLINK(")
    assert rows["204001"]["FirstName"] == "Dmitri"


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    """Reading a long file draws a progress bar on stderr when it is a terminal, else nothing."""
    records = [
        pv.UserRecord(
            legacy_contact_key=str(n),
            first_name="Firstname" * 3,
            last_name="Lastname" * 3,
            email=f"user{n}@example.org",
            company_name="Company" * 5,
        )
        for n in range(2500)
    ]
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8", newline="") as f:
        write(records, f, COMMUNITY_UPLOAD_USERS)
    assert big.stat().st_size >= 256 * 1024
    piped = Cli(tmp_path)("validate", big)
    assert piped.code == 0
    assert piped.err == ""
    assert SCRIPT is not None
    code, drawn = on_terminal([SCRIPT, "validate", str(big)], cwd=tmp_path, stream="stderr")
    assert code == 0
    assert b"reading big.csv" in drawn


def test_export_to_a_terminal_escapes_control_characters(tmp_path: Path) -> None:
    """Stored values are untrusted: on a terminal an escape sequence is shown, not run."""
    cli = Cli(tmp_path).with_riverbend()
    row = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\n"
    row += "1,Ada,Love\x1b[2Jlace,ada@example.org,Riverbend\n"
    upload = cli.file("one.csv", row)
    assert cli("apply", upload, "--tenant", "riverbend", "--actor", "dana", "--yes").code == 0
    piped = cli("export", "--tenant", "riverbend")
    assert "Love\x1b[2Jlace" in piped.out  # to a pipe or a file the CSV is as stored
    assert SCRIPT is not None
    env = {**os.environ, "PROVISIONING_DB": str(cli.db)}
    code, shown = on_terminal([SCRIPT, "export", "--tenant", "riverbend"], cwd=tmp_path, env=env)
    assert code == 0
    assert b"Love\\x1b[2Jlace" in shown
    assert b"\x1b[2J" not in shown


def test_an_output_path_that_is_a_terminal_escapes_control_characters(tmp_path: Path) -> None:
    """-o /dev/tty (any terminal named as a path) gets the same escaping as standard output."""
    cli = Cli(tmp_path).with_riverbend()
    row = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\n"
    row += "1,Ada,Love\x1b[2Jlace,ada@example.org,Riverbend\n"
    upload = cli.file("one.csv", row)
    assert cli("apply", upload, "--tenant", "riverbend", "--actor", "dana", "--yes").code == 0
    controller, terminal = pty.openpty()
    try:
        result = cli("export", "--tenant", "riverbend", "-o", os.ttyname(terminal))
        assert result.code == 0, result.err
        shown = os.read(controller, 65536)
    finally:
        os.close(terminal)
        os.close(controller)
    assert b"Love\\x1b[2Jlace" in shown
    assert b"\x1b[2J" not in shown
