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


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    """Every ``>>>`` example in the module gives the output it shows."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
