"""The examples in the package's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import provisioning


def _modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(provisioning.__path__, "provisioning.")
        if ".cli" not in info.name
    )


#: Modules whose examples talk to a database: they are given ``conninfo``, a throwaway
#: PostgreSQL server's (the examples skip with it when there are no server binaries).
_NEEDS_POSTGRES = {"provisioning.adapters.postgres"}


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str, request: pytest.FixtureRequest) -> None:
    """Every ``>>>`` example in the module gives the output it shows."""
    module = importlib.import_module(name)
    extra: dict[str, object] = {}
    if name in _NEEDS_POSTGRES:
        extra["conninfo"] = request.getfixturevalue("postgres_server").conninfo()
    result = doctest.testmod(
        module, extraglobs=extra, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.failed == 0
