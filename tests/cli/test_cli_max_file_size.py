"""``--max-file-size`` on ``validate``, ``plan`` and ``apply``: parsing, refusals, messages.

A file over the limit is refused with a message naming the flag (and a size that would
do), never advice to split the file: a full import cannot be split, since every record a
file leaves out is deactivated.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from _cli import Cli

import provisioning as pv
from provisioning.cli._inputs import format_size, parse_size
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS

UPLOAD = ("--tenant", "riverbend", "--actor", "dana")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1", 1),
        ("1000", 1000),
        ("12B", 12),
        ("1KB", 1000),
        ("1kb", 1000),
        ("2 MB", 2_000_000),
        ("50MB", 50_000_000),
        ("1GB", 1_000_000_000),
        ("1.5GB", 1_500_000_000),
        ("1KiB", 1024),
        ("64mib", 64 << 20),
        ("1GiB", 1 << 30),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "at least 1 byte"),
        ("0KB", "at least 1 byte"),
        ("0.1B", "at least 1 byte"),
        ("-5", "negative"),
        ("-5MB", "negative"),
        ("", "not a size"),
        ("MB", "not a size"),
        ("lots", "not a size"),
        ("1e6", "not a size"),
        ("5 TB", "unknown unit"),
        ("5 M", "unknown unit"),
    ],
)
def test_bad_sizes(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_size(text)


def test_format_size() -> None:
    assert format_size(50_000_000) == "50MB"
    assert format_size(1_000_000_000) == "1GB"
    assert format_size(1500) == "1500"
    assert format_size(2000) == "2KB"


@pytest.mark.parametrize("value", ["0", "-1", "-2MB", "huge", "10XB"])
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_bad_values_are_usage_errors(tmp_path: Path, command: str, value: str) -> None:
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("users.csv", 40)
    extra = () if command == "validate" else UPLOAD
    result = cli(command, upload.name, *extra, f"--max-file-size={value}")
    assert result.code == 2
    assert "Invalid value for '--max-file-size'" in result.err
    assert "Usage:" in result.err


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_upload_over_a_small_limit(tmp_path: Path, command: str) -> None:
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("users.csv", 40)
    size = upload.stat().st_size
    extra = ("--yes",) if command == "apply" else ()
    result = cli(command, upload.name, *UPLOAD, *extra, "--max-file-size", "1KB")
    assert result.code == 2
    assert "the upload file is larger than the limit of 1,000 bytes" in result.err
    assert f"pass --max-file-size {size} (or more)" in result.err
    assert "split" not in result.err.lower()
    assert cli.revision() == 0
    # The size it suggests is enough.
    result = cli(command, upload.name, *UPLOAD, *extra, "--max-file-size", str(size))
    assert result.code == 0, result.err


def test_binary_units_on_the_command(tmp_path: Path) -> None:
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("users.csv", 40)
    result = cli("plan", upload.name, *UPLOAD, "--max-file-size", "2KiB")
    assert result.code == 2
    assert "larger than the limit of 2,048 bytes" in result.err
    assert cli("plan", upload.name, *UPLOAD, "--max-file-size", "1MiB").code == 0


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_over_a_small_limit(tmp_path: Path, fmt: str) -> None:
    cli = Cli(tmp_path)
    upload = cli.members("users.csv", 40)
    size = upload.stat().st_size
    result = cli("validate", upload.name, "--max-file-size", "1kb", "--format", fmt)
    assert result.code == 2
    assert "larger than the limit of 1,000 bytes (--max-file-size)" in result.err
    assert f"pass --max-file-size {size} (or more)" in result.err
    assert "max_file_size=" not in result.err
    assert "split" not in result.err.lower()
    if fmt == "json":
        (error,) = result.json()["errors"]
        assert error["code"] == "file_too_large"
        assert "--max-file-size" in error["message"]
    assert cli("validate", upload.name, "--max-file-size", "1MB").code == 0


def test_the_default_stays_50_mb(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    result = cli("plan", "--help")
    assert "--max-file-size" in result.out
    assert "50MB" in result.out


def test_over_the_default_names_the_flag(tmp_path: Path) -> None:
    """Over the 50 MB default: refused unread, with the flag and a size that would do."""
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("users.csv", 40)
    with upload.open("r+b") as stream:
        stream.truncate(50_000_001)  # sparse: refused by its size before it is read
    result = cli("plan", upload.name, *UPLOAD)
    assert result.code == 2
    assert "larger than the limit of 50,000,000 bytes" in result.err
    assert "pass --max-file-size 51MB (or more)" in result.err


def test_saved_plan_keeps_its_limit(tmp_path: Path) -> None:
    """A plan saved with a larger limit is applied within it; another limit is a usage error."""
    cli = Cli(tmp_path).with_riverbend()
    upload = cli.members("users.csv", 40)
    saved = cli("plan", upload.name, *UPLOAD, "--max-file-size", "1MB", "--save", "plan.json")
    assert saved.code == 0, saved.err
    result = cli(
        "apply", upload.name, *UPLOAD, "--plan", "plan.json", "--yes", "--max-file-size", "1KB"
    )
    assert result.code == 2
    assert "the plan was made with --max-file-size 1MB" in result.err
    assert cli.revision() == 0
    result = cli("apply", upload.name, *UPLOAD, "--plan", "plan.json", "--yes")
    assert result.code == 0, result.err
    assert cli.revision() == 1


def test_library_message_names_the_argument() -> None:
    header = b"LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\n"
    row = b"1,Ada,Lovelace,ada@example.org,Engines\n"
    stream = io.BytesIO(header + row * 10)
    reader = pv.read(stream, COMMUNITY_UPLOAD_USERS, max_file_size=100)
    with pytest.raises(pv.SpreadsheetError, match=r"pass a larger max_file_size= to read it"):
        list(reader)
