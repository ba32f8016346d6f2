"""Helpers for host test suites: policy assertions, Hypothesis strategies, a repository contract.

``assert_allowed`` and ``assert_refused`` need nothing beyond the library. The strategies
need Hypothesis and the contract suite needs pytest (both in the ``test`` extra); they
are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._policy import assert_allowed, assert_refused

if TYPE_CHECKING:
    from ._policy_strategies import actions, actors, dates, sso_setups, tenants

__all__ = [
    "actions",
    "actors",
    "assert_allowed",
    "assert_refused",
    "dates",
    "sso_setups",
    "tenants",
]

_LAZY = {
    "actions": "._policy_strategies",
    "actors": "._policy_strategies",
    "dates": "._policy_strategies",
    "sso_setups": "._policy_strategies",
    "tenants": "._policy_strategies",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)
