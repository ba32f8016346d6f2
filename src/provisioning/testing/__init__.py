"""Helpers for host test suites: policy assertions, Hypothesis strategies, repository contracts.

``assert_allowed`` and ``assert_refused`` need nothing beyond the library. The
strategies need Hypothesis and the contract suites need pytest (both in the ``test``
extra); they are imported on first use, so importing this module never requires them.

- Policy: :func:`assert_allowed`, :func:`assert_refused`.
- Strategies: :func:`tenants`, :func:`actors`, :func:`actions`, :func:`dates`,
  :func:`sso_setups`, :func:`user_records`, :func:`contacts`, :func:`emails`,
  :func:`record_texts`.
- Contracts: :class:`RepositoryContract`, :class:`TenantStoreContract`,
  :class:`BatchRepositoryContract` for a store with the optional batch reads and
  streamed commits, :class:`AuditLogContract` for a store that keeps an audit
  trail, :class:`ContactStoreContract` for one that keeps Marketing contacts, and
  :class:`ScimFactStoreContract` for one that keeps the records' SCIM facts;
  subclass one in your test suite and provide a ``repository`` fixture (see
  "Implement a repository").
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._policy import assert_allowed, assert_refused

if TYPE_CHECKING:
    from ._contract import (
        AuditLogContract,
        BatchRepositoryContract,
        ContactStoreContract,
        RepositoryContract,
        ScimFactStoreContract,
        TenantStoreContract,
    )
    from ._policy_strategies import actions, actors, dates, sso_setups, tenants
    from ._record_strategies import contacts, emails, record_texts, user_records

__all__ = [
    "AuditLogContract",
    "BatchRepositoryContract",
    "ContactStoreContract",
    "RepositoryContract",
    "ScimFactStoreContract",
    "TenantStoreContract",
    "actions",
    "actors",
    "assert_allowed",
    "assert_refused",
    "contacts",
    "dates",
    "emails",
    "record_texts",
    "sso_setups",
    "tenants",
    "user_records",
]

_LAZY = {
    "AuditLogContract": "._contract",
    "BatchRepositoryContract": "._contract",
    "ContactStoreContract": "._contract",
    "RepositoryContract": "._contract",
    "ScimFactStoreContract": "._contract",
    "TenantStoreContract": "._contract",
    "actions": "._policy_strategies",
    "actors": "._policy_strategies",
    "dates": "._policy_strategies",
    "sso_setups": "._policy_strategies",
    "tenants": "._policy_strategies",
    "contacts": "._record_strategies",
    "emails": "._record_strategies",
    "record_texts": "._record_strategies",
    "user_records": "._record_strategies",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)
