"""Untrusted inputs: plan files, special and endless files, damaged stores, hostile text.

Every case ends in exit 2 (or 1 for a refusal) and one clear message naming the file and
the problem; the ``Cli`` helper fails any run that prints a traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _cli import RIVERBEND, SAMPLE, Cli

UPLOAD = ("--tenant", "riverbend", "--actor", "dana")
LIMIT = "1,048,576 bytes"


# -- A: saved plan files -------------------------------------------------------------------


def _saved(cli: Cli) -> tuple[Path, dict[str, Any]]:
    upload = cli.members("ten.csv", 10)
    assert cli("plan", upload, *UPLOAD, "--save", "plan.json").code == 0
    data: dict[str, Any] = json.loads((cli.folder / "plan.json").read_text(encoding="utf-8"))
    return upload, data


def _set(field: str, value: object) -> Callable[[dict[str, Any]], object]:
    def change(data: dict[str, Any]) -> object:
        data[field] = value
        return data

    return change


def _drop(field: str) -> Callable[[dict[str, Any]], object]:
    def change(data: dict[str, Any]) -> object:
        del data[field]
        return data

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("revision", None), "revision: expected a whole number 0 or more, got null"),
        (_drop("revision"), "revision: required"),
        (_set("revision", "0"), "revision: expected a whole number 0 or more, got '0' (a string)"),
        (_set("revision", 0.0), "revision: expected a whole number 0 or more, got 0.0 (a number)"),
        (_set("revision", True), "revision: expected a whole number 0 or more, got true"),
        (_set("revision", -1), "revision: expected a whole number 0 or more, got -1 (a number)"),
        (_set("tenant", ["riverbend"]), "tenant: expected a string, got an array"),
        (_set("actor", None), "actor: expected a string, got null"),
        (_set("mode", "half"), "mode: expected one of full, partial, got 'half'"),
        (_set("as_of", "yesterday"), "as_of: expected a date YYYY-MM-DD, got 'yesterday'"),
        (_set("as_of", 20261125), "as_of: expected a string, got 20261125 (a number)"),
        (_set("as_of", "20261125"), "as_of: expected a date YYYY-MM-DD, got '20261125'"),
        (_set("file_digest", "sha256:00"), "file_digest: expected 'sha256:' and 64 hex digits"),
        (_set("overrides", "row_errors"), "overrides: expected an array, got 'row_errors'"),
        (_set("overrides", ["everything"]), "overrides[0]: expected one of empty_file"),
        (_set("overrides", [1]), "overrides[0]: expected a string, got 1 (a number)"),
        (_set("counts", []), "counts: expected an object, got an array"),
        (_set("counts", {"rows": -3}), "counts.rows: expected a whole number 0 or more, got -3"),
        (_set("counts", {"rows": "3"}), "counts.rows: expected a whole number 0 or more"),
        (
            _set("format", "provisioning-plan/2"),
            (
                "format: expected 'provisioning-plan/3', got 'provisioning-plan/2'; a plan "
                "saved by another version is never applied: run plan again"
            ),
        ),
        (_drop("reading"), "reading: required"),
        (_set("product", "crm"), "product: expected one of community, marketing, got 'crm'"),
        (_set("reading", []), "reading: expected an object, got an array"),
        (
            lambda data: data | {"reading": data["reading"] | {"date_order": "day-first"}},
            "reading.date_order: expected one of day_first, month_first, got 'day-first'",
        ),
        (
            lambda data: data | {"reading": data["reading"] | {"lenient_headers": "yes"}},
            "reading.lenient_headers: expected true or false, got 'yes' (a string)",
        ),
        (
            lambda data: data | {"reading": data["reading"] | {"max_file_size": 0}},
            "reading.max_file_size: expected a whole number 1 or more, got 0",
        ),
        (
            lambda data: data | {"reading": data["reading"] | {"sheet": 3}},
            "reading.sheet: expected a string, got 3 (a number)",
        ),
        (
            lambda data: data | {"reading": data["reading"] | {"delimiter": ";"}},
            "reading.delimiter: unknown key; reading has date_order, lenient_headers",
        ),
        (
            lambda data: data | {"reading": {"encoding": None}},
            "reading.date_order: required",
        ),
        (_set("approved", True), "approved: unknown key; a plan file has format, tenant"),
        (lambda data: [data], "expected a JSON object, got an array"),
    ],
)
def test_malformed_plan_file_is_refused(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    """A plan file is untrusted: each field strictly checked; a bad one is exit 2, no apply."""
    cli = Cli(tmp_path).with_riverbend()
    upload, data = _saved(cli)
    cli.file("plan.json", json.dumps(change(data)))
    result = cli("apply", upload, *UPLOAD, "--plan", "plan.json", "--yes")
    assert result.code == 2
    assert f"Error: plan.json: not a valid plan file: {message}" in result.err
    assert cli.revision() == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e400", "revision: expected a whole number 0 or more, got inf (a number)"),
        ("9" * 5000, "the plan file is not valid JSON: Exceeds the limit"),
    ],
)
def test_plan_file_numbers_that_python_cannot_take(tmp_path: Path, text: str, message: str) -> None:
    """A revision of 1e400 or of 5,000 digits is refused as invalid, not an OverflowError."""
    cli = Cli(tmp_path).with_riverbend()
    upload, data = _saved(cli)
    cli.file("plan.json", json.dumps(data).replace('"revision": 0', f'"revision": {text}'))
    result = cli("apply", upload, *UPLOAD, "--plan", "plan.json", "--yes")
    assert result.code == 2
    assert f"Error: plan.json: {message}" in result.err.replace("not a valid plan file: ", "")
    assert cli.revision() == 0


def test_deeply_nested_plan_file(tmp_path: Path) -> None:
    """A plan file nested a hundred thousand deep is refused, not a RecursionError."""
    cli = Cli(tmp_path).with_riverbend()
    cli.file("plan.json", "[" * 100_000 + "]" * 100_000)
    result = cli("apply", cli.members("ten.csv", 10), *UPLOAD, "--plan", "plan.json", "--yes")
    assert result.code == 2
    assert "Error: plan.json: the plan file nests arrays or objects too deeply" in result.err


def test_refused_plan_is_not_saved(tmp_path: Path) -> None:
    """A refused plan has no revision to check: `plan --save` says so and writes nothing."""
    cli = Cli(tmp_path).with_riverbend()
    result = cli(
        "plan",
        cli.members("ten.csv", 10),
        "--tenant",
        "riverbend",
        "--actor",
        "lee",
        "--save",
        "p.json",
    )
    assert result.code == 1
    assert "Error: the upload is refused, so no plan was saved to p.json" in result.err
    assert not (tmp_path / "p.json").exists()


# -- B: bounded reads, regular files only --------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "/dev/zero", *UPLOAD),
        ("apply", "/dev/zero", *UPLOAD, "--yes"),
        ("validate", "/dev/zero"),
        ("tenant", "add", "/dev/zero"),
    ],
)
def test_devices_are_refused_at_once(tmp_path: Path, args: tuple[str, ...]) -> None:
    """/dev/zero never ends: it is refused unread, as a character device (exit 2)."""
    cli = Cli(tmp_path).with_riverbend()
    result = cli(*args)
    assert result.code == 2
    assert "Error: /dev/zero: the " in result.err
    assert "is a character device; only regular files are read" in result.err


def test_plan_file_that_is_a_device(tmp_path: Path) -> None:
    """`apply --plan /dev/zero` is refused unread."""
    cli = Cli(tmp_path).with_riverbend()
    result = cli("apply", cli.members("ten.csv", 10), *UPLOAD, "--plan", "/dev/zero", "--yes")
    assert result.code == 2
    expected = "Error: /dev/zero: the plan file is a character device; only regular files are read"
    assert expected in result.err


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("plan", "pipe", *UPLOAD), "upload file"),
        (("apply", "pipe", *UPLOAD, "--yes"), "upload file"),
        (("validate", "pipe"), "upload file"),
        (("tenant", "add", "pipe"), "tenant file"),
        (("apply", str(SAMPLE), *UPLOAD, "--plan", "pipe", "--yes"), "plan file"),
    ],
)
def test_fifos_are_refused_without_blocking(
    tmp_path: Path, args: tuple[str, ...], what: str
) -> None:
    """A named pipe with no writer would block the read for ever: refused at once."""
    cli = Cli(tmp_path).with_riverbend()
    os.mkfifo(tmp_path / "pipe")
    result = cli(*args)
    assert result.code == 2
    assert f"Error: pipe: the {what} is a named pipe (FIFO); only regular files" in result.err


def test_tenant_file_over_the_cap(tmp_path: Path) -> None:
    """A tenant file over 1 MiB is refused at the cap, unread past it."""
    cli = Cli(tmp_path)
    big = cli.file("big.toml", RIVERBEND.read_text(encoding="utf-8") + "#" * (1 << 20) + "\n")
    result = cli("tenant", "add", big.name)
    assert result.code == 2
    assert f"Error: big.toml: the tenant file is larger than the limit of {LIMIT}" in result.err
    assert not cli.db.exists()


def test_plan_file_over_the_cap(tmp_path: Path) -> None:
    """A plan file over 1 MiB is refused at the cap."""
    cli = Cli(tmp_path).with_riverbend()
    upload, data = _saved(cli)
    cli.file("plan.json", json.dumps(data) + " " * (1 << 20))
    result = cli("apply", upload, *UPLOAD, "--plan", "plan.json", "--yes")
    assert result.code == 2
    assert f"Error: plan.json: the plan file is larger than the limit of {LIMIT}" in result.err


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_upload_over_the_cap(tmp_path: Path, command: str) -> None:
    """An upload over the reader's 50 MB limit is refused before it is digested whole."""
    cli = Cli(tmp_path).with_riverbend()
    huge = cli.members("huge.csv", 10)
    with huge.open("r+b") as stream:
        stream.truncate(50_000_001)  # sparse: the tail reads as NUL bytes
    extra = ("--yes",) if command == "apply" else ()
    result = cli(command, huge.name, *UPLOAD, *extra)
    assert result.code == 2
    assert "Error: huge.csv: the upload file is larger than the limit of 50,000,000 bytes" in (
        result.err
    )
    assert cli.revision() == 0


# -- C: damaged documents and stores -------------------------------------------------------


def test_deeply_nested_tenant_file(tmp_path: Path) -> None:
    """TOML nested thousands deep is refused, not a RecursionError."""
    cli = Cli(tmp_path)
    deep = cli.file("deep.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    result = cli("tenant", "add", deep.name)
    assert result.code == 2
    assert "Error: deep.toml: the tenant file nests tables or arrays too deeply" in result.err


def _sql(cli: Cli, *statements: str) -> None:
    with sqlite3.connect(cli.db) as con:
        for statement in statements:
            con.execute(statement)
    con.close()


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE schema_version SET version = 'one'", "schema_version table holds 'one'"),
        ("UPDATE schema_version SET version = 0", "schema_version table holds 0,"),
        ("DELETE FROM schema_version", "schema_version table holds 0 rows, not 1"),
        ("INSERT INTO schema_version VALUES (1)", "schema_version table holds 2 rows, not 1"),
    ],
)
def test_store_with_a_bad_schema_version(tmp_path: Path, statement: str, message: str) -> None:
    """A schema_version table changed by hand is a named, unreadable store (exit 2)."""
    cli = Cli(tmp_path).with_riverbend()
    _sql(cli, statement)
    result = cli("tenant", "list")
    assert result.code == 2
    assert f"Error: SQLite database '{cli.db}': its {message}" in result.err


@pytest.mark.parametrize(
    "args",
    [
        ("export", "--tenant", "riverbend"),
        ("plan", "ten.csv", *UPLOAD),
        ("apply", "ten.csv", *UPLOAD, "--yes"),
    ],
)
def test_stored_record_with_an_unknown_status(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A record whose status is not one (Banned) names the tenant, key and value: exit 2."""
    cli = Cli(tmp_path).with_riverbend()
    assert cli("apply", cli.members("ten.csv", 10), *UPLOAD, "--yes").code == 0
    _sql(cli, "UPDATE records SET status = 'Banned' WHERE legacy_contact_key = '903'")
    result = cli(*args)
    assert result.code == 2
    assert (
        f"Error: SQLite database '{cli.db}', tenant 'riverbend': the stored record '903': "
        "status 'Banned' is not a record status (Enabled, Deactivated, "
    ) in result.err
    assert cli.revision() == 1


def test_stored_record_with_a_bad_date(tmp_path: Path) -> None:
    """A stored date that is not ISO 8601 is named too."""
    cli = Cli(tmp_path).with_riverbend()
    assert cli("apply", cli.members("ten.csv", 10), *UPLOAD, "--yes").code == 0
    _sql(cli, "UPDATE records SET birthday = 'soon' WHERE legacy_contact_key = '901'")
    result = cli("export", "--tenant", "riverbend")
    assert result.code == 2
    assert "tenant 'riverbend': the stored record '901': birthday 'soon' is not an ISO date" in (
        result.err
    )


def test_stored_actor_with_an_unknown_role(tmp_path: Path) -> None:
    """An actor row changed by hand names the store, the tenant and the actor."""
    cli = Cli(tmp_path).with_riverbend()
    _sql(cli, "UPDATE cli_actors SET role = 'boss' WHERE actor_id = 'dana'")
    result = cli("tenant", "show", "riverbend")
    assert result.code == 2
    assert f"Error: SQLite database '{cli.db}': the stored actor 'dana' of tenant 'riverbend'" in (
        result.err
    )


# -- E: the smaller edges ------------------------------------------------------------------


def test_validate_counts_records_not_blank_lines(tmp_path: Path) -> None:
    """Three records and two trailing blank lines are 3 rows, with 2 blank lines."""
    cli = Cli(tmp_path)
    text = cli.members("ten.csv", 3).read_text(encoding="utf-8") + "\r\n\r\n"
    padded = cli.file("padded.csv", text)
    data = cli("validate", padded, "--format", "json").json()
    assert (data["valid"], data["rows"], data["blank_lines"]) == (True, 3, 2)
    assert "padded.csv: 3 rows, 0 errors, 0 warnings" in cli("validate", padded).out


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-le", "utf-32-be"])
def test_utf32_is_named(tmp_path: Path, encoding: str) -> None:
    """A UTF-32 file is called UTF-32, with or without its byte-order mark."""
    cli = Cli(tmp_path)
    text = cli.members("ten.csv", 2).read_text(encoding="utf-8")
    wide = cli.file("wide.csv", text.encode(encoding))
    result = cli("validate", wide.name)
    assert result.code == 2
    assert "Error: wide.csv: the file is UTF-32" in result.err
    assert "UTF-16" not in result.err


HOSTILE = (
    'id = "evil"\nname = "Evil\\u001b[2J\\u009b31m\\u007f"\n[products]\ncommunity = "standalone"\n'
)


@pytest.mark.parametrize(
    "args",
    [
        ("tenant", "add", "evil.toml"),
        ("tenant", "list"),
        ("tenant", "show", "evil"),
    ],
)
def test_control_characters_are_escaped(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A tenant name holding an escape sequence is printed escaped, never obeyed."""
    cli = Cli(tmp_path)
    cli.file("evil.toml", HOSTILE)
    assert cli("tenant", "add", "evil.toml").code == 0
    result = cli(*args)
    assert result.code == 0, result.err
    assert "Evil\\x1b[2J\\x9b31m\\x7f" in result.out
    assert not any(c in result.out for c in "\x1b\x9b\x7f")


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "missing\x1b[2J.csv"),  # click's own message
        ("tenant", "add", "bad\x1b[2J.toml"),  # the command's message
        ("validate", "bad\x1b[2J.toml"),  # the report of an invalid file (exit 1)
    ],
)
def test_control_characters_in_error_messages(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A file name with an escape sequence is escaped in messages and reports too."""
    cli = Cli(tmp_path)
    cli.file("bad\x1b[2J.toml", "this is [not TOML\n")
    result = cli(*args)
    assert result.code == (1 if args[0] == "validate" and "bad" in args[1] else 2)
    assert "\\x1b[2J." in result.out + result.err
    assert "\x1b" not in result.out + result.err


@pytest.mark.parametrize(
    "args",
    [
        ("tenant", "list"),
        ("tenant", "show", "riverbend"),
        ("tenant", "check", "riverbend"),
        ("export", "--tenant", "riverbend"),
        ("explain", "--tenant", "riverbend"),
        ("sso", "--tenant", "riverbend"),
        ("plan", str(SAMPLE), *UPLOAD),
    ],
)
def test_read_only_commands_create_no_store(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Where there is no store, a command that only reads says so and creates none."""
    cli = Cli(tmp_path)
    result = cli(*args)
    assert result.code == 2
    assert f"Error: there is no store at {cli.db}: `provisioning tenant add FILE.toml`" in (
        result.err
    )
    assert not cli.db.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [("tenant", "list"), ("tenant", "add", str(RIVERBEND))])
def test_store_that_is_a_device(tmp_path: Path, command: tuple[str, ...]) -> None:
    """--db /dev/zero is refused at once, before SQLite is given it."""
    result = Cli(tmp_path)("--db", "/dev/zero", *command)
    assert result.code == 2
    assert "Error: cannot open SQLite database '/dev/zero': not a regular file" in result.err


def test_plan_file_with_a_repeated_key_is_refused(tmp_path: Path) -> None:
    """A repeated key would let a later value hide behind the one a person read."""
    cli = Cli(tmp_path).with_riverbend()
    upload, data = _saved(cli)
    text = json.dumps(data).replace(
        '"overrides": []', '"overrides": [], "overrides": ["row_errors"]'
    )
    cli.file("plan.json", text)
    result = cli("apply", upload, *UPLOAD, "--plan", "plan.json", "--yes")
    assert result.code == 2
    assert "not a valid plan file: overrides: the key appears twice" in result.err
    assert cli.revision() == 0
