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


def _read() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call,no-any-return] # nbformat leaves read() unannotated


def _charts(notebook: nbformat.NotebookNode) -> list[str]:
    """The titles of the cells' charts: the first line of each code cell with an image."""
    return [
        cell.source.splitlines()[0]
        for cell in notebook.cells
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
    ]


def test_the_notebook_is_stored_with_its_outputs_and_charts() -> None:
    """On GitHub or in a viewer, the notebook shows its results without being run."""
    notebook = _read()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run in order"
    silent = [c.source.splitlines()[0] for c in code if not c.outputs]
    assert silent == ["import datetime as dt"], "every cell but the imports shows its outputs"
    assert len(_charts(notebook)) == 3  # decisions, errors by code, deactivation shares


def test_notebook_executes_and_shows_the_facts() -> None:
    """Scenario table, SSO matrix and Harbor's move to upload with SSO, as the rules say;
    the charts of uploads; and the outputs stored are the ones a run gives."""
    stored = _read()
    notebook = _read()
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        # Jupyter runs a notebook in its own folder: the sample file is beside it.
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    assert _outputs(notebook, "stream") == _outputs(stored, "stream"), (
        "the stored outputs are stale: run the notebook and save it"
    )
    assert _charts(notebook) == _charts(stored)
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
    # Uploads: decisions by action and method, errors by code, the safeguards' shares.
    assert "initial_upload allowed to: {'spreadsheet_upload': 1, 'standalone': 0," in text
    assert "293 records, 7 errors, 1 warnings" in text
    assert "'ambiguous_date': 1, 'duplicate_email': 1" in text
    assert "held by nothing: shares 0% to 15%" in text
    assert "held by mass_deactivation: shares 20% to 46%" in text
    assert "held by mass_deactivation, truncated_file: shares 51% to 97%" in text
