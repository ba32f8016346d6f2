"""The model is the one field list: no code under src/ names a record field elsewhere.

Adding a field to ``UserRecord`` takes three edits: the model (records.py), its template
column (spreadsheet/_templates.py) and the SQLite schema migration (adapters/sqlite.py's
``_MIGRATIONS``). Every other piece of field-shaped code is generated from the model's
fields. This test reads the source with ``ast`` and fails when code anywhere else names
an individual field: as an attribute (``record.city``), a keyword (``city=...``) or a
string (``"city"``). Docstrings are prose and examples, and are not code.

The key and the email are the record's identity, reached through the model's own
``key`` and ``email_key`` where the code means them; the planner, stores and
repositories still say ``legacy_contact_key`` and ``email`` for what they index on, so
those two are not checked here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrs

import provisioning as pv

SRC = Path(pv.__file__).resolve().parent
#: The fields checked: every field but the key and the email the stores index on.
FIELDS = {a.name for a in attrs.fields(pv.UserRecord)} - {"legacy_contact_key", "email"}
#: Words that are also field names in unrelated code (``enum.state``, ``Text(title=...)``).
AMBIGUOUS = {"state", "title", "status", "custom", "prefix", "suffix"}
#: The places that name fields (the model, its two wire formats, the SQLite migrations),
#: each with the part of the file allowed to.
ALLOWED = {
    "records.py": None,  # the model
    "spreadsheet/_templates.py": None,  # its template columns
    "adapters/sqlite.py": "_MIGRATIONS",  # the schema migrations only
    "scim/_mapping.py": None,  # the SCIM attribute mapping: a wire format, as the template
}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _named(tree: ast.AST, fields: set[str]) -> list[tuple[int, str]]:
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in fields:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.keyword) and node.arg in fields:
            found.append((node.value.lineno, f"{node.arg}="))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in fields
            and id(node) not in skip
        ):
            found.append((node.lineno, repr(node.value)))
    return found


def _allowed_lines(tree: ast.AST, name: str | None) -> set[int]:
    """The lines of the module-level assignment ``name`` (all lines when ``None``)."""
    if name is None:
        return {n.lineno for n in ast.walk(tree) if hasattr(n, "lineno")}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                assert node.end_lineno is not None
                return set(range(node.lineno, node.end_lineno + 1))
    raise AssertionError(f"no {name} found")


def test_no_code_outside_the_three_places_names_a_record_field() -> None:
    """Only the model, the template and the SQLite migrations name the fields."""
    offences = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed = _allowed_lines(tree, ALLOWED[relative]) if relative in ALLOWED else set()
        offences += [
            f"{relative}:{line}: {what}"
            for line, what in _named(tree, FIELDS - AMBIGUOUS)
            if line not in allowed
        ]
    assert offences == []


def test_the_check_catches_a_field_named_in_code() -> None:
    """The walker sees an attribute, a keyword and a string, and passes over docstrings."""
    source = '''
def f(record):
    """Mentions "city" in prose."""
    g(city="x")
    return record.city, "city"
'''
    found = _named(ast.parse(source), {"city"})
    assert sorted(what for _, what in found) == ["'city'", ".city", "city="]
