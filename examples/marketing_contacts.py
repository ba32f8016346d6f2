"""Read the sample Marketing Enterprise contact file: what loads, and what the vendor skips.

Of repeated emails only the first row loads; malformed emails are skipped and reported
(as the vendor's Enterprise import does). Run it with ``python examples/marketing_contacts.py``.
"""

from __future__ import annotations

from pathlib import Path

from provisioning.spreadsheet import MARKETING_ENTERPRISE, read_all

CONTACTS = Path(__file__).resolve().parent / "data" / "marketing-contacts.csv"

with CONTACTS.open("rb") as stream:
    report = read_all(stream, MARKETING_ENTERPRISE)

print(f"{report.summary.rows} rows: {len(report.records)} contacts load")
for problem in report.errors:
    print(f"  line {problem.line}: {problem.severity} {problem.code}: {problem.message}")
print("first contact:", report.records[0])
assert len(report.records) == 23
assert {str(p.code) for p in report.errors} == {"invalid_email", "duplicate_email"}
