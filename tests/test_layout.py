"""The package's layout: no package imports another package's private modules or names.

A subpackage (``rules``, ``uploads``, ``spreadsheet``, ``adapters``, ``cli``,
``testing``) offers what it exports; its ``_modules`` and ``_names`` are its own. What
two packages share lives in the root's underscore modules (``provisioning/_clock.py``,
``_html.py``, ``_validators.py``...), which any module may import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import provisioning

ROOT = Path(provisioning.__file__).parent
SUBPACKAGES = frozenset(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _package_of(parts: tuple[str, ...]) -> str:
    """The subpackage a module path (below ``provisioning``) is in; "" for the root."""
    return parts[0] if len(parts) > 1 and parts[0] in SUBPACKAGES else ""


def violations(module: tuple[str, ...], source: str, *, is_package: bool = False) -> list[str]:
    """Imports in ``module`` (its path below ``provisioning``) of another package's privates.

    ``module`` is e.g. ``("uploads", "_plan")``; ``is_package`` when it is an
    ``__init__``, whose relative imports start from the module itself.
    """
    package = _package_of(module) if not is_package else (module[0] if module else "")
    here = module if is_package else module[:-1]
    found = []
    imports: list[tuple[tuple[str, ...], str | None]]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = (*base, *(node.module.split(".") if node.module else ()))
            elif node.module and node.module.split(".")[0] == "provisioning":
                target = tuple(node.module.split(".")[1:])
            else:
                continue
            imports = [(target, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            imports = [
                (tuple(alias.name.split(".")[1:]), None)
                for alias in node.names
                if alias.name.split(".")[0] == "provisioning"
            ]
        else:
            continue
        for target, name in imports:
            owner = target[0] if target and target[0] in SUBPACKAGES else ""
            if owner == package:
                continue
            where = ".".join(("provisioning", *target))
            if owner:
                # Another subpackage: only its public modules and public names.
                if any(_private(part) for part in target[1:]):
                    found.append(f"{'.'.join(module)}: imports the private module {where}")
                elif name is not None and _private(name):
                    found.append(f"{'.'.join(module)}: imports the private name {where}.{name}")
            elif target and not _private(target[0]) and name is not None and _private(name):
                # A public root module (records, repository...): only its public names.
                found.append(f"{'.'.join(module)}: imports the private name {where}.{name}")
    return found


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_packages_privates(path: Path) -> None:
    parts = path.relative_to(ROOT).with_suffix("").parts
    is_package = parts[-1] == "__init__"
    module = parts[:-1] if is_package else parts
    assert violations(module, path.read_text(encoding="utf-8"), is_package=is_package) == []


def test_the_subpackages_are_the_ones_the_rule_is_about() -> None:
    assert {"rules", "uploads", "spreadsheet", "adapters", "cli", "testing"} <= SUBPACKAGES


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (("uploads", "_plan"), "from ..rules._engine import today"),
        (("uploads", "_plan"), "from ..rules._results import _html_table"),
        (("uploads", "_plan"), "from ..rules import _engine"),
        (("uploads", "_plan"), "from ..rules import _private_name"),
        (("uploads", "_plan"), "from provisioning.rules._engine import today"),
        (("uploads", "_plan"), "import provisioning.rules._engine"),
        (("cli", "_app"), "def f():\n    from ..spreadsheet._parse import parse_row"),
        (("spreadsheet", "_parse"), "from ..records import _EMAIL"),
        (("serialization",), "from .uploads._plan import plan_upload"),
    ],
)
def test_the_check_finds_a_cross_package_private_import(
    module: tuple[str, ...], source: str
) -> None:
    assert len(violations(module, source)) == 1


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (("uploads", "_plan"), "from ._results import RECORD_FIELDS, _shown"),
        (("uploads", "_plan"), "from .._clock import today"),
        (("uploads", "_plan"), "from .._fields import make_carry"),
        (("uploads", "_plan"), "from ..rules import DEFAULT_RULEBOOK, RuleBook"),
        (("uploads", "_plan"), "from ..spreadsheet import Reader"),
        (("uploads", "_plan"), "from .. import __version__"),
        (("rules", "_book"), "from . import _engine, _migration"),
        (("serialization",), "from ._validators import check_type"),
        (("serialization",), "from .records import UserRecord"),
        (("uploads", "_plan"), "import datetime as dt\nfrom collections import _private"),
    ],
)
def test_the_check_allows_what_is_shared(module: tuple[str, ...], source: str) -> None:
    assert violations(module, source) == []


def test_an_init_imports_from_its_own_package() -> None:
    source = "from ._plan import plan_upload\nfrom ..rules._engine import today"
    assert violations(("uploads",), source, is_package=True) == [
        "uploads: imports the private module provisioning.rules._engine"
    ]
