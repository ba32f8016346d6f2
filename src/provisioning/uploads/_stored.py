"""The tenant as its store knows it: facts the stored history settles, for pure rules."""

from __future__ import annotations

import attrs

from .._validators import check_type
from ..catalog import Product
from ..repository import UploadHistory
from ..tenants import Tenant

__all__ = ["tenant_as_stored"]


def tenant_as_stored(tenant: Tenant, history: UploadHistory) -> Tenant:
    """``tenant`` with the facts its store's upload history settles.

    :func:`~provisioning.decide` is pure: it answers for the tenant it is given, and the
    store's history is the truth about what already happened. Pass the tenant through
    this function wherever a repository is at hand, and ``decide`` and
    :func:`~provisioning.plan_upload` give the same answer: once a Community upload is
    applied, ``initial_upload_done`` is true (``STANDALONE_ONE_TIME_UPLOAD``), whatever
    the tenant object said.

    >>> import provisioning as pv
    >>> from provisioning.adapters import MemoryRepository
    >>> site = pv.Tenant(id="harbor", name="Harbor", products={"community": "standalone"})
    >>> tenant_as_stored(site, MemoryRepository()).initial_upload_done
    False
    """
    tenant = check_type(tenant, Tenant, "tenant", "a Tenant")
    check_type(history, UploadHistory, "history", "an UploadHistory (a repository)")  # type: ignore[type-abstract]
    if tenant.initial_upload_done:
        return tenant
    community = Product.COMMUNITY
    if any(entry.product is community for entry in history.uploads(tenant.id)):
        return attrs.evolve(tenant, initial_upload_done=True)
    return tenant
