"""Read throughput and peak memory: ``csv.reader`` vs ``provisioning`` vs pydantic v2.

A fourth contender, "naive", is the straightforward loop a user would write with the
library's own record class (csv.reader, parse each cell, ``UserRecord(**values)``): the
issue's reference point for what the codec's optimisations buy.

Each contender reads the same generated Community file in a fresh interpreter, so the
peak memory (the process's maximum resident set size) is its own. Ratios are rows per
second relative to plain ``csv.reader`` iteration, measured in the same run.

    pip install -e '.[bench]'
    python benchmarks/read.py                      # 1,000,000 rows in a temp folder
    python benchmarks/read.py --rows 200000 --file users.csv --repeat 3

Targets (issue 3): full read >= 0.4x csv.reader, >= 1.3x pydantic v2, peak < 250 MB.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate

from provisioning.records import RecordStatus, UserRecord, is_valid_email, normalize_email
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    Column,
    ColumnType,
    DateOrder,
    RowError,
    read,
)

CONTENDERS = ("csv", "provisioning", "pydantic", "naive")


def run_csv(path: Path) -> dict[str, int]:
    """Plain csv.reader iteration: the floor every reader pays."""
    rows = 0
    with path.open(encoding="utf-8", newline="") as stream:
        for _row in csv.reader(stream):
            rows += 1
    return {"rows": rows - 1}


def run_provisioning(path: Path) -> dict[str, int]:
    """The full read: decode, parse, validate, build records, check duplicates."""
    records = problems = 0
    with path.open("rb") as stream:
        reader = read(
            stream, COMMUNITY_UPLOAD_USERS, date_order=DateOrder.DAY_FIRST, max_file_size=None
        )
        for item in reader:
            if isinstance(item, RowError):
                problems += 1
            else:
                records += 1
        summary = reader.summary
    return {"rows": summary.rows, "records": records, "problems": problems}


def _peer_date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return dt.datetime.strptime(value, "%d/%m/%Y").date()  # noqa: DTZ007 - a date only


def _peer_email(value: str) -> str:
    value = normalize_email(value)
    if not is_valid_email(value):
        raise ValueError("not a valid email")
    return value


def _peer_optional(value: Any) -> Any:
    return value or None


def _peer_status(value: Any) -> Any:
    if not value:
        return RecordStatus.ENABLED
    for member in RecordStatus:
        if member.value.lower() == value.lower():
            return member
    return value


def _peer_model() -> Any:
    """A pydantic v2 model equivalent to the template, built from its columns."""
    pydantic: Any = importlib.import_module("pydantic")
    annotated: Any = importlib.import_module("typing").Annotated
    before, after = pydantic.BeforeValidator, pydantic.AfterValidator
    fields: dict[str, Any] = {}
    for column in COMMUNITY_UPLOAD_USERS.columns:
        field = pydantic.Field(alias=column.header, min_length=1 if column.required else None)
        kind: Any
        if column.kind is ColumnType.EMAIL:
            kind = annotated[str, after(_peer_email)]
        elif column.kind is ColumnType.DATE:
            kind = annotated[dt.date | None, before(_peer_date)]
            field = pydantic.Field(alias=column.header)
        elif column.kind is ColumnType.BOOLEAN:
            kind = annotated[bool | None, before(_peer_optional)]
        elif column.kind is ColumnType.CHOICE:
            kind = annotated[RecordStatus, before(_peer_status)]
            field = pydantic.Field(alias=column.header)
        elif column.required:
            kind = str
        else:
            kind = annotated[str | None, before(_peer_optional)]
        fields[column.field or column.header] = (kind, field)
    config = pydantic.ConfigDict(str_strip_whitespace=True, frozen=True)
    return pydantic.create_model("PeerUser", __config__=config, **fields)


def run_pydantic(path: Path) -> dict[str, int]:
    """What a user would otherwise write: csv.reader, a pydantic v2 model, a duplicate set."""
    model = _peer_model()
    validate: Callable[[dict[str, str]], Any] = model.model_validate
    error: Any = importlib.import_module("pydantic").ValidationError
    records = problems = rows = 0
    keys: dict[int, int] = {}
    emails: dict[int, int] = {}
    with path.open(encoding="utf-8", newline="") as stream:
        parsed = csv.reader(stream)
        header = next(parsed)
        width = len(header)
        for line, row in enumerate(parsed, start=2):
            rows += 1
            if len(row) != width:
                problems += 1
                continue
            try:
                user = validate(dict(zip(header, row, strict=True)))
            except error:
                problems += 1
                continue
            key, email = hash(user.legacy_contact_key), hash(user.email.lower())
            if key in keys or email in emails:
                problems += 1
                continue
            keys[key] = emails[email] = line
            records += 1
    return {"rows": rows, "records": records, "problems": problems}


def _naive_value(column: Column, text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    if column.kind is ColumnType.DATE:
        return _peer_date(text)
    if column.kind is ColumnType.BOOLEAN:
        return text.lower() in ("true", "yes", "y", "1")
    if column.kind is ColumnType.CHOICE:
        return _peer_status(text)
    return text


def run_naive(path: Path) -> dict[str, int]:
    """A straightforward loop: csv.reader, parse each cell, UserRecord(**values)."""
    records = problems = rows = 0
    keys: dict[int, int] = {}
    emails: dict[int, int] = {}
    by_header = {c.header: c for c in COMMUNITY_UPLOAD_USERS.columns}
    with path.open(encoding="utf-8", newline="") as stream:
        parsed = csv.reader(stream)
        columns = [by_header[h] for h in next(parsed)]
        for line, row in enumerate(parsed, start=2):
            rows += 1
            try:
                values = {
                    c.field: v
                    for c, cell in zip(columns, row, strict=True)
                    if (v := _naive_value(c, cell)) is not None and c.field
                }
                user = UserRecord(**values)
            except (ValueError, TypeError):
                problems += 1
                continue
            key, email = hash(user.legacy_contact_key), hash(user.email_key)
            if key in keys or email in emails:
                problems += 1
                continue
            keys[key] = emails[email] = line
            records += 1
    return {"rows": rows, "records": records, "problems": problems}


RUNNERS: dict[str, Callable[[Path], dict[str, int]]] = {
    "csv": run_csv,
    "provisioning": run_provisioning,
    "pydantic": run_pydantic,
    "naive": run_naive,
}


def _phase(name: str, path: Path) -> None:
    """Run one contender in this process and print its measurements as JSON."""
    start = time.perf_counter()
    result: dict[str, Any] = dict(RUNNERS[name](path))
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _measure(name: str, path: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--file", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, help="reuse (or create) this file")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs each")
    parser.add_argument("--phase", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path: Path = args.file or Path(scratch) / "users.csv"
        if args.phase:
            _phase(args.phase, path)
            return 0
        if not path.exists():
            print(f"generating {args.rows:,} rows into {path} ...", flush=True)
            generate.write(path, args.rows)
        print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB)")
        best: dict[str, dict[str, Any]] = {}
        # Rounds interleave the contenders, so a busy spell on the machine hits them alike.
        for _ in range(args.repeat):
            for name in CONTENDERS:
                result = _measure(name, path)
                if name not in best or result["seconds"] < best[name]["seconds"]:
                    best[name] = result
        for name in CONTENDERS:
            seconds = best[name]["seconds"]
            rows = best[name]["rows"]
            print(
                f"{name:>13}: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s, "
                f"peak {best[name]['peak_mb']:.0f} MB"
            )
        speed = {name: r["rows"] / r["seconds"] for name, r in best.items()}
        vs_csv = speed["provisioning"] / speed["csv"]
        vs_pydantic = speed["provisioning"] / speed["pydantic"]
        peak = best["provisioning"]["peak_mb"]
        print(f"provisioning / csv.reader : {vs_csv:.2f}x  (target >= 0.40x)")
        print(f"provisioning / pydantic v2: {vs_pydantic:.2f}x  (target >= 1.30x)")
        print(f"provisioning peak memory  : {peak:.0f} MB  (target < 250 MB)")
        print(f"pydantic v2 / csv.reader  : {speed['pydantic'] / speed['csv']:.2f}x")
        print(f"naive loop / csv.reader   : {speed['naive'] / speed['csv']:.2f}x")
        met = vs_csv >= 0.4 and vs_pydantic >= 1.3 and peak < 250
        print("all targets met" if met else "TARGETS MISSED")
        return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
