"""Plan an upload file against a SQLite store, look at the plan, apply it, then try a stale one.

Everything happens in a temporary folder: the upload files, and the SQLite file the
command-line tool would use. Run it with ``python examples/plan_and_apply.py``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import provisioning as pv
from provisioning.adapters import SqliteRepository

AS_OF = dt.date(2026, 11, 25)
HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName,Title,Status\n"

ACME = pv.Tenant(id="acme", name="Acme Association", products={"community": "spreadsheet_upload"})
SAM = pv.Actor(id="sa-1", role="super_admin", name="Sam")

FIRST = [
    "1001,Ada,Lovelace,ada@example.com,Analytical Engines,,",
    "1002,Charles,Babbage,charles@example.com,Analytical Engines,,",
    "1003,Grace,Hopper,grace@example.com,Navy,Rear Admiral,",
    "1004,Alan,Turing,alan@example.com,Bletchley Park,,",
    "1005,Mary,Somerville,mary@example.com,Royal Society,,",
    "1006,Emmy,Noether,emmy@example.com,Göttingen,,",
]
SECOND = [
    "1001,Ada,Lovelace,ada@example.com,Analytical Engines,Countess,",  # a new title
    "1002,Charles,Babbage,charles@example.com,Analytical Engines,,",
    "1003,Grace,Hopper,grace@example.com,Navy,Rear Admiral,",
    "1004,Alan,Turing,alan@example.com,Bletchley Park,,Deactivated",  # by its Status
    # 1005 is left out: a full import deactivates Mary
    "1006,Emmy,Noether,emmy@example.com,Göttingen,,",
    "1007,Ada,Yonath,yonath@example.com,Weizmann Institute,,",  # new
    "1008,Mary,Impostor,MARY@example.com,Navy,,",  # the email of (stored) Mary: a conflict
]


def write_file(path: Path, rows: list[str]) -> Path:
    """An upload file with ``rows`` under the template's header."""
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def plan_file(
    path: Path, repo: SqliteRepository, overrides: tuple[str, ...] = (), mode: str = "full"
) -> pv.UploadPlan:
    """Read ``path`` and plan it for Sam; the plan carries the file's digest."""
    return pv.plan_upload_file(path, ACME, SAM, repo, as_of=AS_OF, mode=mode, overrides=overrides)


def main() -> None:
    """Run the whole story, printing what a person would look at."""
    with tempfile.TemporaryDirectory() as folder:
        here = Path(folder)
        with SqliteRepository(here / "acme.sqlite") as repo:
            print("== the first file: everyone is new")
            plan = plan_file(write_file(here / "members.csv", FIRST), repo)
            print(plan.summary())
            receipt = pv.apply_plan(plan, repo)
            print(receipt)
            print("tell to set a password:", ", ".join(plan.password_notices))

            print("\n== the second file: held until a person says yes")
            second = write_file(here / "members-2.csv", SECOND)
            plan = plan_file(second, repo)
            print(plan.summary())
            try:
                pv.apply_plan(plan, repo)
            except pv.SafeguardError as error:
                print("not applied:", error)
            assert plan.held_by == {pv.Safeguard.MASS_DEACTIVATION, pv.Safeguard.IDENTITY_CONFLICT}

            print("\n== what it would change")
            for change in plan.to_records():
                print(f"  {change['kind']:<12} {change['key']:<6} {change['detail']}")

            print("\n== overridden by name, then applied")
            accepted = plan_file(second, repo, overrides=("mass_deactivation", "identity_conflict"))
            receipt = pv.apply_plan(accepted, repo)
            print(receipt)
            for event in receipt.events():
                changed = "; ".join(str(c) for c in event.changes)
                print(f"  {event.kind.value:<12} {event.key} by {event.actor_id}  {changed}")
            for entry in repo.uploads("acme"):
                print(f"  history: {entry.at:%Y-%m-%d %H:%M} {entry.actor_id} {entry.mode}")

            print("\n== the same file again changes nothing")
            again = plan_file(second, repo, overrides=("identity_conflict",))
            print(again.summary())
            assert list(again.changes()) == []

            print("\n== a plan made stale by another writer is refused")
            stale = plan_file(second, repo, overrides=("identity_conflict",))
            fix = write_file(here / "fix.csv", [SECOND[0].replace("Countess", "Countess of L.")])
            pv.apply_plan(plan_file(fix, repo, mode="partial"), repo)  # another writer, first
            try:
                pv.apply_plan(stale, repo)
            except pv.ConflictError as error:
                print("conflict:", error)
            else:
                raise AssertionError("a stale plan must not apply")
            assert repo.revision("acme") == 3


if __name__ == "__main__":
    main()
