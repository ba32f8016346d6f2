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

from pydantic import Field
from scim2_models import (
    URN,
    AnyExtension,
    ComplexAttribute,
    Extension,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Uniqueness,
)

__all__ = [
    "COMMUNITY_SCHEMA",
    "ENTERPRISE_SCHEMA",
    "USER_MODEL",
    "CommunityExtension",
    "CommunityUser",
    "RecordAddress",
    "RecordEmail",
    "RecordEnterprise",
    "RecordName",
    "RecordPhone",
    "make_provider",
]

#: Our schema extension: the record's fields the core and enterprise schemas do not name.
COMMUNITY_SCHEMA: Final = "urn:provisioning:params:scim:schemas:extension:community:2.0:User"
#: The core User schema of RFC 7643 section 4.1.
CORE_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
#: Example days, for clients that fill attributes from a model's examples.
_DAYS: Final = ["2024-01-31", "2025-06-02", "1990-12-24"]
#: The enterprise extension of RFC 7643 section 4.3.
ENTERPRISE_SCHEMA: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class RecordName(ComplexAttribute):
    """``name``: a record's FirstName and LastName (required), MiddleName, PrefixCode and
    SuffixCode. No ``formatted``: a record does not keep it."""

    family_name: Annotated[str | None, Required.true] = None
    given_name: Annotated[str | None, Required.true] = None
    middle_name: str | None = None
    honorific_prefix: str | None = None
    honorific_suffix: str | None = None


class RecordEmail(ComplexAttribute):
    """An email: its ``value`` is the record's EmailAddress (one is kept: the first sent,
    or the one marked ``primary``, which a payload may carry and is not kept). ``type`` is
    ``work``, so that Entra's ``emails[type eq "work"].value`` finds it."""

    value: Annotated[str | None, Required.true] = None
    type: Annotated[str | None, Field(examples=["work"])] = None


class RecordPhone(ComplexAttribute):
    """A phone number: ``value`` and ``type`` are a record's Phone1 and Phone1Type (or 2)."""

    value: Annotated[str | None, Required.true] = None
    type: str | None = None


class RecordAddress(ComplexAttribute):
    """The record's address (one is kept): ``streetAddress`` is Address1 and Address2,
    a line each. ``type`` is ``work``, so that Entra's ``addresses[type eq "work"]``
    paths find it."""

    type: Annotated[str | None, Field(examples=["work"])] = None
    street_address: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class RecordEnterprise(Extension):
    """The enterprise extension's attributes a record keeps: ``organization`` is its
    CompanyName (required), ``employeeNumber`` its MemberId."""

    __schema__ = URN(ENTERPRISE_SCHEMA)

    employee_number: str | None = None
    organization: Annotated[str | None, Required.true] = None


class CommunityExtension(Extension):
    """The record's fields no standard schema names (dates are ISO 8601 days, sent as
    strings ``YYYY-MM-DD``)."""

    __schema__ = URN(COMMUNITY_SCHEMA)

    member_since: Annotated[dt.date | None, Field(examples=_DAYS)] = None
    member_expires_on: Annotated[dt.date | None, Field(examples=_DAYS)] = None
    birthday: Annotated[dt.date | None, Field(examples=_DAYS)] = None
    is_member: bool | None = None


class CommunityUser(Resource[AnyExtension]):
    """A tenant's user: exactly the core ``User`` attributes a record keeps (``name`` and
    one email are required, as in a record)."""

    __schema__ = URN(CORE_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Annotated[RecordName | None, Required.true] = None
    nick_name: str | None = None
    title: str | None = None
    active: Annotated[bool | None, Required.true] = None
    emails: Annotated[list[RecordEmail] | None, Required.true] = None
    phone_numbers: list[RecordPhone] | None = None
    addresses: list[RecordAddress] | None = None


#: The model of every User resource served: the core schema and both extensions.
USER_MODEL: Final[type[CommunityUser[Any]]] = CommunityUser[
    Annotated[RecordEnterprise, Required.true] | CommunityExtension
]


#: What the service tolerates of what identity providers send: attributes a record does
#: not keep are ignored (Okta sends ``locale``, ``displayName``, ``groups``...), a PATCH
#: ``remove`` may carry a ``value`` and a path filter matching no entry adds it (both as
#: Microsoft Entra sends them).
POLICY: Final = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


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
        policy=POLICY,
    )
