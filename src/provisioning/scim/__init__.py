"""SCIM 2.0 for the standard integration method (the optional extra ``scim``).

Built on scim2-models (the resources) and scim2-server (the protocol): a tenant's
records are its SCIM ``User`` resources, every write goes through
:func:`provisioning.writes.push` (decided by the rulebook for the bearer token's actor,
committed with its audit event), and ``DELETE`` deactivates (``DEACTIVATE_NOT_DELETE``).
``import provisioning`` does not import this package; importing it without the extra
raises :class:`ImportError` naming the extra.
"""

try:
    import scim2_models as _scim2_models  # noqa: F401 - the extra's presence is checked here
    import scim2_server as _scim2_server  # noqa: F401
except ImportError as exc:  # pragma: no cover - the test extra installs it
    raise ImportError(
        "provisioning.scim needs the extra: pip install -e '.[scim]' in a clone of the project"
    ) from exc

from ._app import TenantApplication, make_application, request_log
from ._mapping import cells_of, resource_of, version_of
from ._models import COMMUNITY_SCHEMA, ENTERPRISE_SCHEMA, USER_MODEL, make_provider
from ._state import IssuedToken, ScimState, TokenInfo
from ._storage import ACTOR, REASSIGN_KEEPS_DEACTIVATION, RecordStorage

__all__ = [
    "ACTOR",
    "COMMUNITY_SCHEMA",
    "ENTERPRISE_SCHEMA",
    "REASSIGN_KEEPS_DEACTIVATION",
    "USER_MODEL",
    "IssuedToken",
    "RecordStorage",
    "ScimState",
    "TenantApplication",
    "TokenInfo",
    "cells_of",
    "make_application",
    "make_provider",
    "request_log",
    "resource_of",
    "version_of",
]
