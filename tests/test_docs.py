"""Every ```python block in docs/ runs, in order, one namespace per page."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)


#: Pages whose examples talk to PostgreSQL: they are given ``conninfo``, a new database
#: of a throwaway server, owned by an ordinary role (skipped with the other PostgreSQL
#: tests when the machine has no server binaries).
_NEEDS_POSTGRES = {"use-postgresql.md"}


def _new_database(request: pytest.FixtureRequest) -> str:
    from _postgres import OWNER

    server = request.getfixturevalue("postgres_server")
    name = f"docs_{uuid.uuid4().hex[:12]}"
    with server.superuser() as con:
        con.execute(f"CREATE DATABASE {name} OWNER {OWNER}")
    conninfo: str = server.conninfo(dbname=name)
    return conninfo


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The page's Python examples run top to bottom without error, in a scratch folder."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    if page.name in _NEEDS_POSTGRES:
        namespace["conninfo"] = _new_database(request)
    text = page.read_text(encoding="utf-8")
    for number, match in enumerate(_BLOCK.finditer(text), start=1):
        line = text.count("\n", 0, match.start()) + 2
        code = compile(match.group(1), f"{page.name}:block{number}:line{line}", "exec")
        exec(code, namespace)  # noqa: S102 - the docs are our own code, run on purpose
