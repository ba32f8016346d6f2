"""No user-facing text cites a file outside the repository: the docs are the reference."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Built from pieces, so this file does not cite them itself.
FORBIDDEN = ("DOMAIN" + ".md", "shared" + "/")


def _files() -> list[Path]:
    found = []
    for top in ("src", "docs", "tests"):
        for path in sorted((ROOT / top).rglob("*")):
            parts = path.relative_to(ROOT).parts
            if not path.is_file() or "_build" in parts or "__pycache__" in parts:
                continue
            found.append(path)
    return found


def test_the_walk_sees_the_sources_and_the_docs() -> None:
    """The walk covers the package, the docs pages and the tests."""
    names = {path.relative_to(ROOT).as_posix() for path in _files()}
    assert "src/provisioning/records.py" in names
    assert "docs/domain.md" in names
    assert "tests/test_no_outside_citations.py" in names
    assert not any(name.startswith("docs/_build/") for name in names)


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_file_cites_an_outside_file(path: Path) -> None:
    """Messages, docstrings, comments and pages cite rule ids, codes and docs/ pages only."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    for cited in FORBIDDEN:
        assert cited not in text, f"{path.relative_to(ROOT)} cites {cited!r}"
