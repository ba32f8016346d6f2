"""``provisioning explain`` and ``sso``: decisions and SSO eligibility with their rule ids."""

from __future__ import annotations

from pathlib import Path

from _cli import HARBOR, Cli

import provisioning as pv


def test_explain_one_refused_action(tmp_path: Path) -> None:
    """One action asked and refused: exit 1, with the refusing rule named."""
    cli = Cli(tmp_path).with_riverbend()
    args = ("explain", "--tenant", "riverbend", "--actor", "sam", "--action", "edit_own_profile")
    result = cli(*args, "--format", "json")
    assert result.code == 1
    (decision,) = result.json()["decisions"]
    assert decision["allowed"] is False
    assert decision["actor"] == "sam"
    assert "UPLOAD_SINGLE_SOURCE" in [f["rule"] for f in decision["findings"]]
    text = cli(*args)
    assert text.code == 1
    assert "refused" in text.out
    assert "UPLOAD_SINGLE_SOURCE" in text.out


def test_explain_every_action(tmp_path: Path) -> None:
    """Without --action every action is decided for the role that takes it; exit 0."""
    cli = Cli(tmp_path).with_riverbend()
    result = cli("explain", "--tenant", "riverbend", "--as-of", "2027-02-01", "--format", "json")
    assert result.code == 0
    decisions = {d["action"]: d for d in result.json()["decisions"]}
    assert set(decisions) == {a.value for a in pv.Action}
    assert decisions["subsequent_upload"]["allowed"] is True
    assert decisions["sso_login"]["allowed"] is True  # live since 2027-01-11
    assert decisions["self_register"]["actor"] is None


def test_sso_exit_codes(tmp_path: Path) -> None:
    """sso exits 0 when eligible and 1 otherwise (standalone: SSO_NOT_WITH_STANDALONE)."""
    cli = Cli(tmp_path).with_riverbend()
    live = cli("sso", "--tenant", "riverbend", "--as-of", "2027-02-01", "--format", "json")
    assert live.code == 0
    assert live.json()["status"] == "eligible"
    assert live.json()["in_effect"] is True
    cli("tenant", "add", HARBOR)
    standalone = cli("sso", "--tenant", "harbor")
    assert standalone.code == 1
    assert "not_supported" in standalone.out
    assert "SSO_NOT_WITH_STANDALONE" in standalone.out


def test_explain_knows_the_initial_upload_happened(tmp_path: Path) -> None:
    """STANDALONE_ONE_TIME_UPLOAD: after the initial upload, explain refuses another one."""
    cli = Cli(tmp_path)
    assert cli("tenant", "add", HARBOR).code == 0
    ask = ("explain", "--tenant", "harbor", "--actor", "ines", "--action", "initial_upload")
    assert cli(*ask).code == 0
    upload = cli.file(
        "first.csv",
        "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\n"
        "1,Ada,Lovelace,ada@example.org,Harbor\n",
    )
    applied = cli("apply", upload, "--tenant", "harbor", "--actor", "ines", "--yes")
    assert applied.code == 0, applied.err
    again = cli(*ask, "--format", "json")
    assert again.code == 1
    (decision,) = again.json()["decisions"]
    assert [f["rule"] for f in decision["findings"]] == ["STANDALONE_ONE_TIME_UPLOAD"]
    shown = cli("tenant", "show", "harbor", "--format", "json").json()
    assert shown["tenant"]["initial_upload_done"] is True
