"""The reader's options from the command: --date-order, --lenient-headers, and messages
that name the flags a shell user can type, never a Python argument."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import SAMPLE, Cli

_HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName"
_UK = _HEADER + ",MemberSince\r\n1001,Ada,Lovelace,ada@example.com,Engines,03/04/2015\r\n"


def test_validate_names_the_date_order_flag(tmp_path: Path) -> None:
    """An ambiguous date's message suggests --date-order, not date_order=DateOrder...."""
    result = Cli(tmp_path)("validate", SAMPLE, "--format", "json")
    ambiguous = [e for e in result.json()["errors"] if e["code"] == "ambiguous_date"]
    assert [e["message"] for e in ambiguous] == [
        (
            "'03/04/2019' is not an ISO 8601 date (YYYY-MM-DD) and no day/month order was "
            "declared; write it as YYYY-MM-DD or read the file with --date-order day-first "
            "or --date-order month-first"
        )
    ]
    assert "DateOrder" not in result.out


def test_validate_day_first(tmp_path: Path) -> None:
    """--date-order day-first reads 03/04/2015 as 3 April; month-first as 4 March."""
    cli = Cli(tmp_path)
    uk = cli.file("uk.csv", _UK)
    assert cli("validate", uk).code == 1
    assert cli("validate", uk, "--date-order", "day-first").code == 0
    assert cli("validate", uk, "--date-order", "month-first").code == 0
    bad = cli("validate", uk, "--date-order", "day_first")
    assert bad.code == 2
    assert "day-first" in bad.err


def test_plan_day_first(tmp_path: Path) -> None:
    """plan --date-order day-first plans the row a plain plan finds ambiguous."""
    cli = Cli(tmp_path).with_riverbend()
    uk = cli.file("uk.csv", _UK)
    args = ("plan", uk, "--tenant", "riverbend", "--actor", "dana", "--format", "json")
    plain = cli(*args)
    assert plain.json()["counts"]["errors"] == 1
    assert "--date-order day-first" in plain.out
    declared = cli(*args, "--date-order", "day-first")
    assert declared.json()["counts"]["errors"] == 0
    assert declared.json()["counts"]["created"] == 1


def test_apply_day_first(tmp_path: Path) -> None:
    """apply --date-order day-first stores the date as 3 April."""
    cli = Cli(tmp_path).with_riverbend()
    uk = cli.file("uk.csv", _UK)
    result = cli(
        "apply", uk, "--tenant", "riverbend", "--actor", "dana", "--yes",
        "--date-order", "day-first", "--mode", "partial",
    )  # fmt: skip
    assert result.code == 0, result.err
    exported = cli("export", "--tenant", "riverbend")
    assert "2015-04-03" in exported.out


def test_lenient_headers_flag(tmp_path: Path) -> None:
    """A header differing in case is an error that names --lenient-headers; with it, a warning."""
    cli = Cli(tmp_path)
    loose = cli.file("loose.csv", _UK.replace("EmailAddress", "emailaddress"))
    strict = cli("validate", loose, "--date-order", "day-first", "--format", "json")
    assert strict.code == 1
    message = strict.json()["errors"][0]["message"]
    assert message.endswith("read with --lenient-headers to accept it")
    lenient = cli(
        "validate", loose, "--date-order", "day-first", "--lenient-headers", "--format", "json"
    )
    assert lenient.code == 0
    assert [w["code"] for w in lenient.json()["warnings"]] == ["inexact_header"]


def test_plan_lenient_headers(tmp_path: Path) -> None:
    """plan --lenient-headers plans a file whose header differs only in case."""
    cli = Cli(tmp_path).with_riverbend()
    loose = cli.file("loose.csv", _UK.replace("EmailAddress", "emailaddress"))
    args = ("plan", loose, "--tenant", "riverbend", "--actor", "dana", "--date-order", "day-first")
    refused = cli(*args)
    assert refused.code == 1
    assert "--lenient-headers" in refused.err
    assert cli(*args, "--lenient-headers", "--mode", "partial").code == 0


def test_saved_plan_keeps_how_the_file_was_read(tmp_path: Path) -> None:
    """plan --save records the product and the reader's options; apply --plan reads so."""
    cli = Cli(tmp_path).with_riverbend()
    uk = cli.file("uk.csv", _UK.replace("EmailAddress", "emailaddress"))
    upload = ("--tenant", "riverbend", "--actor", "dana", "--mode", "partial")
    saved = cli(
        "plan", uk, *upload, "--date-order", "day-first", "--lenient-headers", "--save", "p.json"
    )
    assert saved.code == 0, saved.err
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert data["format"] == "provisioning-plan/3"
    assert data["product"] == "community"
    assert data["reading"] == {
        "date_order": "day_first",
        "lenient_headers": True,
        "encoding": None,
        "sheet": None,
        "max_file_size": 50_000_000,
    }
    # Applied without the flags: the plan's own options read the file again.
    applied = cli("apply", uk, *upload, "--plan", "p.json", "--yes")
    assert applied.code == 0, applied.err
    assert "2015-04-03" in cli("export", "--tenant", "riverbend").out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--date-order", "month-first"], "the plan was made --date-order day-first"),
        (["--lenient-headers"], "the plan was made without --lenient-headers"),
    ],
)
def test_saved_plan_refuses_other_reading_flags(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    """apply --plan with a reading flag the plan was not made with is a usage error."""
    cli = Cli(tmp_path).with_riverbend()
    uk = cli.file("uk.csv", _UK)
    upload = ("--tenant", "riverbend", "--actor", "dana", "--mode", "partial")
    saved = cli("plan", uk, *upload, "--date-order", "day-first", "--save", "p.json")
    assert saved.code == 0, saved.err
    refused = cli("apply", uk, *upload, "--plan", "p.json", "--yes", *flags)
    assert refused.code == 2
    assert message in refused.err
    assert cli.revision() == 0
    same = cli("apply", uk, *upload, "--plan", "p.json", "--yes", "--date-order", "day-first")
    assert same.code == 0, same.err


def test_plan_saved_by_an_older_version_is_refused(tmp_path: Path) -> None:
    """A plan file of format 2 (before the reader's options were saved): plan again."""
    cli = Cli(tmp_path).with_riverbend()
    uk = cli.file("uk.csv", _UK)
    upload = ("--tenant", "riverbend", "--actor", "dana", "--mode", "partial")
    assert cli("plan", uk, *upload, "--date-order", "day-first", "--save", "p.json").code == 0
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    data["format"] = "provisioning-plan/2"
    del data["reading"], data["product"]
    cli.file("p.json", json.dumps(data))
    refused = cli("apply", uk, *upload, "--plan", "p.json", "--yes")
    assert refused.code == 2
    assert "a plan saved by another version is never applied: run plan again" in refused.err
    assert cli.revision() == 0


_ZOE = (
    _HEADER
    + "\r\n1001,Ada,Lovelace,ada@example.com,Engines\r\n1002,Zoë,Müller,zoe@example.com,Acme\r\n"
)


def test_validate_encoding(tmp_path: Path) -> None:
    """A Windows-1252 file: refused naming --encoding; read with it; guessed with a warning."""
    cli = Cli(tmp_path)
    plain = cli.file("excel.csv", _ZOE.encode("cp1252"))
    refused = cli("validate", plain, "--format", "json")
    assert refused.code == 2
    assert refused.json()["errors"][0]["code"] == "encoding"
    assert "read it with --encoding cp1252, or with --encoding auto" in refused.err
    assert "encoding=" not in refused.err
    named = cli("validate", plain, "--encoding", "cp1252", "--format", "json")
    assert named.code == 0, named.err
    assert named.json()["warnings"] == []
    guessed = cli("validate", plain, "--encoding", "auto", "--format", "json")
    assert guessed.code == 0, guessed.err
    (warning,) = guessed.json()["warnings"]
    assert (warning["code"], warning["line"]) == ("encoding_guessed", 3)
    assert "read as Windows-1252 (cp1252), a guess allowed by --encoding auto" in warning["message"]
    assert "'Zoë' on line 3" in warning["message"]
    assert "--encoding cp1252 to say so" in warning["message"]
    assert cli("validate", plain, "--encoding", "ebcdic").code == 2


def test_apply_a_windows_1252_file(tmp_path: Path) -> None:
    """plan --save --encoding cp1252, then apply --plan: the names are stored as written."""
    cli = Cli(tmp_path).with_riverbend()
    plain = cli.file("excel.csv", _ZOE.encode("cp1252"))
    upload = ("--tenant", "riverbend", "--actor", "dana", "--mode", "partial")
    saved = cli("plan", plain, *upload, "--encoding", "cp1252", "--save", "p.json")
    assert saved.code == 0, saved.err
    assert (
        json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["reading"]["encoding"]
        == "cp1252"
    )
    other = cli("apply", plain, *upload, "--plan", "p.json", "--yes", "--encoding", "auto")
    assert other.code == 2
    assert "the plan was made --encoding cp1252" in other.err
    applied = cli("apply", plain, *upload, "--plan", "p.json", "--yes")
    assert applied.code == 0, applied.err
    assert "Zoë,Müller" in cli("export", "--tenant", "riverbend").out
