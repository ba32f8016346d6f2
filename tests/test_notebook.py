"""examples/explore-scenarios.ipynb runs top to bottom and its outputs state the key facts."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "explore-scenarios.ipynb"


def _outputs(notebook: nbformat.NotebookNode, kind: str) -> str:
    parts: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if kind == "stream" and output["output_type"] == "stream":
                parts.append(output["text"])
            elif kind != "stream" and kind in output.get("data", {}):
                parts.append(output["data"][kind])
    return "".join(parts)


def test_notebook_executes_and_shows_the_facts(tmp_path: Path) -> None:
    """Scenario table, SSO matrix and Harbor's move to upload with SSO, as the rules say."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call] # nbformat leaves read() unannotated
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert errors == []

    text = _outputs(notebook, "stream")
    assert "144 scenarios, 44 columns" in text  # each action adds two: allowed, rules
    assert "Marketing SSO statuses: ['not_applicable']" in text  # SSO_NOT_MARKETING
    lines = {
        line.split(":")[0].split()[0]: line for line in text.splitlines() if "eligible with" in line
    }
    assert lines["spreadsheet_upload"].endswith("eligible with saml_live, oidc_live")
    assert lines["standalone"].endswith("eligible with nothing")  # SSO_NOT_WITH_STANDALONE
    assert "standalone: not_supported" in text
    assert "migration: blocked by STANDALONE_ACCOUNT_REQUESTS" in text
    assert "target check: ok" in text
    assert "two weeks' notice: requirements_unmet ['SSO_LEAD_TIME'] earliest 2026-12-16" in text
    assert "2026-12-22: eligible, in effect False, sso_login allowed False" in text
    assert "2026-12-23: eligible, in effect True, sso_login allowed True" in text

    html = _outputs(notebook, "text/html")
    assert "Community SSO status by method and SSO setup, as of 2026-11-25" in html
    assert "background-color: #ffc7ce" in html  # not_supported cells are coloured
    assert "migrate community: standalone -&gt; spreadsheet_upload" in html
    # The tenant's activity: every kind of write, a week at a time, charted.
    assert "refused: ROLE_PERMISSIONS" in text
    assert "43 events, kinds: ['approved', 'created', 'refused', 'tenant_changed', 'updated']" in (
        text
    )
    assert "events a week: [14, 11, 5, 13]" in text
    assert "Harbor&#x27;s activity by week" in html or "Harbor's activity by week" in html
    assert "linear-gradient(90deg, #8fb8de 100.0%" in html  # the busiest week's full bar
