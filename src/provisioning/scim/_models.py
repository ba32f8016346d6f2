"""The SCIM resources a tenant's users are: scim2-models' ``User``, with what a record requires.

The core ``User`` and the enterprise extension are scim2-models' own; the subclasses
below only mark required what a :class:`~provisioning.UserRecord` requires (the
template's required headers), so ``/Schemas`` says it and a create without them is a
SCIM ``invalidValue`` before any write. What neither schema has a place for is in our
extension, :data:`COMMUNITY_SCHEMA`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from scim2_models import (
    URN,
    AnyExtension,
    Email,
    EnterpriseUser,
    Extension,
    Name,
    Required,
    ResourceType,
    ScimProvider,
    ServiceProviderConfig,
    User,
)

__all__ = [
    "COMMUNITY_SCHEMA",
    "ENTERPRISE_SCHEMA",
    "USER_MODEL",
    "CommunityExtension",
    "CommunityUser",
    "RecordEnterprise",
    "RecordName",
    "make_provider",
]

#: Our schema extension: the record's fields the core and enterprise schemas do not name.
COMMUNITY_SCHEMA: Final = "urn:provisioning:params:scim:schemas:extension:community:2.0:User"
#: The enterprise extension of RFC 7643 section 4.3.
ENTERPRISE_SCHEMA: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class RecordName(Name):
    """``name``: givenName and familyName are a record's FirstName and LastName."""

    given_name: Annotated[str | None, Required.true] = None
    family_name: Annotated[str | None, Required.true] = None


class RecordEnterprise(EnterpriseUser):
    """The enterprise extension: ``organization`` is the record's CompanyName."""

    __schema__ = URN(ENTERPRISE_SCHEMA)

    organization: Annotated[str | None, Required.true] = None


class CommunityExtension(Extension):
    """The record's fields no standard schema names (dates are ISO 8601 days)."""

    __schema__ = URN(COMMUNITY_SCHEMA)

    member_since: dt.date | None = None
    member_expires_on: dt.date | None = None
    birthday: dt.date | None = None
    is_member: bool | None = None


class CommunityUser(User[AnyExtension]):
    """A tenant's user: ``name`` and one email are required, as in a record."""

    name: Annotated[RecordName | None, Required.true] = None
    emails: Annotated[list[Email] | None, Required.true] = None


#: The model of every User resource served: the core schema and both extensions.
USER_MODEL: Final[type[User[Any]]] = CommunityUser[RecordEnterprise | CommunityExtension]


def make_provider(*, max_results: int = 1000) -> ScimProvider:
    """What the service serves (``/Schemas``, ``/ResourceTypes``) and announces
    (``/ServiceProviderConfig``): Users only, PATCH, filtering, ETags; no bulk, sort or
    password change."""
    config = ServiceProviderConfig.model_validate(
        {
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": max_results},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "Bearer token",
                    "description": "A token issued by 'provisioning scim token issue'",
                    "primary": True,
                }
            ],
        }
    )
    return ScimProvider(
        models=[CommunityUser, RecordEnterprise, CommunityExtension],
        resource_types=[ResourceType.from_resource(USER_MODEL)],
        config=config,
    )
