"""Every ```python block in docs/ runs, in order, one namespace per page.

A ```text block right after a ```python block is the output that block prints: the test
compares them, line by line (spaces at the end of a line aside).
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(
    r"^```python\n(?P<code>.*?)^```\n(?:\s*^```text\n(?P<shown>.*?)^```$)?",
    re.MULTILINE | re.DOTALL,
)


def _lines(text: str) -> list[str]:
    """``text`` line by line, without the spaces that end a line (a page has none)."""
    return [line.rstrip() for line in text.splitlines()]


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
        where = f"{page.name}:block{number}:line{line}"
        code = compile(match["code"], where, "exec")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)  # noqa: S102 - the docs are our own code, run on purpose
        if match["shown"] is not None:
            shown, out = _lines(match["shown"]), _lines(printed.getvalue())
            assert out == shown, f"{where}: the output shown is not what the block prints"
