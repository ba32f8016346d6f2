"""plan_upload_file: open, digest, read and plan a file in one call; pandas interop."""

from __future__ import annotations

import hashlib
import io
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import pytest
from _upload_helpers import ADMIN, AS_OF, TENANT, store, users

import provisioning as pv
from provisioning.adapters import MemoryRepository
from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, ErrorCode, read, read_all

HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,MemberSince\r\n"


def _plain(frame: Any) -> list[dict[str, Any]]:
    """The frame's rows as dicts, pandas' missing values as ``None``."""
    return [
        {k: None if v is pd.NA else v for k, v in row.items()} for row in frame.to_dict("records")
    ]


def write_csv(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_bytes((HEADER + "".join(f"{line}\r\n" for line in lines)).encode(encoding))
    return path


def test_the_plan_is_the_one_the_copied_sequence_made(tmp_path: Path) -> None:
    """The same plan as open + digest + read + plan_upload, the digest of the bytes read."""
    path = write_csv(
        tmp_path / "members.csv",
        "1,Ada,Lovelace,ada@example.com,Acme,2024-01-31",
        "2,Bob,,bob@example.com,Acme,",
    )
    repo = store(users("1", "3"))
    plan = pv.plan_upload_file(path, TENANT, ADMIN, repo, as_of=AS_OF, mode="partial")
    with path.open("rb") as stream:
        by_hand = pv.plan_upload(
            TENANT, ADMIN, read(stream, COMMUNITY_UPLOAD_USERS), repo, as_of=AS_OF, mode="partial"
        )
    assert plan.file_digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert plan.to_records() == by_hand.to_records()
    assert plan.counts == by_hand.counts
    assert [e.code for e in plan.row_errors] == [ErrorCode.MISSING_VALUE]


def test_the_reader_options_reach_the_reader(tmp_path: Path) -> None:
    """Day-first dates, cp1252 and lenient headers, as read() takes them."""
    path = tmp_path / "regional.csv"
    path.write_bytes(
        (
            "legacycontactkey,FirstName,LastName,EmailAddress,CompanyName,MemberSince\r\n"
            "1,Zoë,Müller,zoe@example.com,Acme,31/01/2024\r\n"
        ).encode("cp1252")
    )
    repo = MemoryRepository()
    with pytest.raises(pv.HeaderError, match="lenient_headers=True"):
        pv.plan_upload_file(path, TENANT, ADMIN, repo, as_of=AS_OF)
    plan = pv.plan_upload_file(
        path,
        TENANT,
        ADMIN,
        repo,
        as_of=AS_OF,
        encoding="cp1252",
        date_order=pv.DateOrder.DAY_FIRST,
        lenient_headers=True,
    )
    assert plan.counts.created == 1
    (created,) = plan.creates
    assert (created.first_name, created.last_name) == ("Zoë", "Müller")
    assert str(created.member_since) == "2024-01-31"


def test_a_file_over_the_limit_is_refused_by_the_reader(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv", *(f"{i},A,B,u{i}@example.com,Acme," for i in range(50)))
    with pytest.raises(pv.SpreadsheetError) as caught:
        pv.plan_upload_file(path, TENANT, ADMIN, MemoryRepository(), max_file_size=200)
    assert caught.value.code == ErrorCode.FILE_TOO_LARGE
    assert "max_file_size" in str(caught.value)


@pytest.mark.parametrize("size", [0, -1, 1.5, "10"])
def test_a_bad_limit_is_refused(tmp_path: Path, size: object) -> None:
    path = write_csv(tmp_path / "m.csv")
    with pytest.raises(pv.InvalidValueError, match="max_file_size"):
        pv.plan_upload_file(path, TENANT, ADMIN, MemoryRepository(), max_file_size=size)  # type: ignore[arg-type]


def test_only_a_regular_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(pv.InvalidValueError, match="folder"):
        pv.plan_upload_file(tmp_path, TENANT, ADMIN, MemoryRepository())
    with pytest.raises(FileNotFoundError):
        pv.plan_upload_file(tmp_path / "missing.csv", TENANT, ADMIN, MemoryRepository())
    with pytest.raises(pv.InvalidValueError, match="path"):
        pv.plan_upload_file(b"m.csv", TENANT, ADMIN, MemoryRepository())  # type: ignore[arg-type]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(pv.InvalidValueError, match="not a regular file"):
        pv.plan_upload_file(fifo, TENANT, ADMIN, MemoryRepository())


def test_a_plan_and_a_report_as_data_frames(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv",
        "1,Ada,Lovelace,ada@example.com,Acme,",
        "2,Bob,,bob@example.com,Acme,",
        "3,Cy,Young,not-an-email,Acme,",
    )
    plan = pv.plan_upload_file(path, TENANT, ADMIN, MemoryRepository(), as_of=AS_OF)
    frame = plan.to_pandas()
    assert list(frame.columns) == ["kind", "key", "line", "code", "detail"]
    assert _plain(frame) == plan.to_records()
    assert str(frame["line"].dtype) == "Int64"
    with path.open("rb") as stream:
        report = read_all(stream, COMMUNITY_UPLOAD_USERS)
    problems = report.to_pandas()
    assert list(problems.columns) == [
        "record", "line", "cell", "column", "code", "severity", "message", "value",
    ]  # fmt: skip
    assert problems.groupby("code").size().to_dict() == {"invalid_email": 1, "missing_value": 1}
    assert list(problems["line"]) == [3, 4]


def test_the_rule_tables_as_data_frames() -> None:
    matrix = pv.permission_matrix()
    assert _plain(matrix.to_pandas()) == matrix.to_records()
    table = pv.scenarios(as_of=AS_OF)
    assert len(table.to_pandas()) == len(table)


def test_an_empty_table_keeps_its_columns() -> None:
    report = read_all(io.BytesIO(HEADER.encode()), COMMUNITY_UPLOAD_USERS)
    assert report.to_pandas().empty
    assert list(report.to_pandas().columns)[:2] == ["record", "line"]


def test_without_pandas_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an import finds when it is absent
    with pytest.raises(ImportError, match=r"pip install -e '\.\[pandas\]'") as caught:
        pv.permission_matrix().to_pandas()
    assert caught.value.name == "pandas"


def test_a_marketing_template_is_refused_with_the_way_out(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv")
    with pytest.raises(pv.InvalidValueError, match="plan_contacts") as caught:
        pv.plan_upload_file(
            path, TENANT, ADMIN, MemoryRepository(), template=pv.MARKETING_ENTERPRISE
        )
    assert caught.value.field == "template"
