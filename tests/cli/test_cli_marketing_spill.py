"""A Marketing file of more contacts than a plan holds in memory, from the command."""

from __future__ import annotations

from pathlib import Path

from _cli import Cli

from provisioning.uploads._plan import HOLD

PRO_TENANT = """\
id = "harbor"
name = "Harbor Guild"
marketing_edition = "professional"

[products]
marketing = "spreadsheet_upload"

[[actors]]
id = "pat"
role = "super_admin"
"""

#: Past what a plan keeps in memory of one kind: the rest is in a temporary file.
N = HOLD + 25


def _file(name: str) -> str:
    return "Email\tFirstName\tLastName\r\n" + "".join(
        f"c{n}@example.com\t{name}{n}\tLast\r\n" for n in range(N)
    )


def test_a_saved_spilled_plan_round_trips_and_applies(tmp_path: Path) -> None:
    """plan --save of a file past the in-memory hold, then apply --plan: the plan made
    again matches the saved one, and every contact lands, created then updated."""
    cli = Cli(tmp_path)
    assert cli("tenant", "add", cli.file("harbor.toml", PRO_TENANT)).code == 0
    for name, kind in (("First", "created"), ("Second", "updated")):
        upload = cli.file(f"{name}.txt", _file(name))
        planned = cli(
            "plan", upload, "--tenant", "harbor", "--actor", "pat", "--product", "marketing",
            "--format", "json", "--save", f"{name}.json",
        )  # fmt: skip
        assert planned.code == 0, planned.err
        assert planned.json()["counts"][kind] == N
        applied = cli(
            "apply", upload, "--tenant", "harbor", "--actor", "pat", "--product",
            "marketing", "--plan", f"{name}.json", "--yes", "--format", "json",
        )  # fmt: skip
        assert applied.code == 0, applied.err
        assert applied.json()["counts"][kind] == N
    again = cli(
        "plan", tmp_path / "Second.txt", "--tenant", "harbor", "--actor", "pat",
        "--product", "marketing", "--format", "json",
    )  # fmt: skip
    assert again.json()["counts"]["unchanged"] == N
