"""Who acts (an :class:`Actor` with a :class:`Role`) and what they ask to do (an :class:`Action`).

>>> from provisioning import Actor, Role
>>> Actor(id="sa-1", role="super_admin")
Actor(id='sa-1', role=<Role.SUPER_ADMIN: 'super_admin'>, name='')
"""

from __future__ import annotations

import attrs

from ._enum import ValueEnum
from ._validators import identifier, text, to_enum

__all__ = ["Action", "Actor", "Role"]


class Role(ValueEnum):
    """An actor's role (see the domain reference, docs/domain.md), plus the integration itself."""

    SUPER_ADMIN = "super_admin"
    SITE_ADMIN = "site_admin"
    COMMUNITY_ADMIN = "community_admin"
    COMMUNITY_MODERATOR = "community_moderator"
    VOLUNTEER_ADMIN = "volunteer_admin"
    MEMBER = "member"
    #: The AMS/CRM integration, acting as a system.
    INTEGRATION = "integration"

    @property
    def is_person(self) -> bool:
        """Whether the role is held by a person (everything but the integration)."""
        return self is not Role.INTEGRATION


class Action(ValueEnum):
    """What an actor asks to do."""

    SELF_REGISTER = "self_register"
    EDIT_OWN_PROFILE = "edit_own_profile"
    ADMIN_CREATE_USER = "admin_create_user"
    ADMIN_EDIT_USER = "admin_edit_user"
    INITIAL_UPLOAD = "initial_upload"
    SUBSEQUENT_UPLOAD = "subsequent_upload"
    INTEGRATION_SYNC = "integration_sync"
    LOCAL_LOGIN = "local_login"
    SSO_LOGIN = "sso_login"
    DEACTIVATE_USER = "deactivate_user"
    DELETE_PERSONAL_DATA = "delete_personal_data"
    CHANGE_METHOD = "change_method"
    REVERT_UPLOAD = "revert_upload"
    APPROVE_REQUEST = "approve_request"
    REJECT_REQUEST = "reject_request"
    VERIFY_EMAIL = "verify_email"
    REACTIVATE_USER = "reactivate_user"


def _role(value: Role | str) -> Role:
    return to_enum(Role, value, "role")


_check_id = identifier("id")
_check_name = text("name", required=False, file=False)


def _id(value: str) -> str:
    return _check_id(value)


def _name(value: str) -> str:
    return _check_name(value)


@attrs.frozen(kw_only=True)
class Actor:
    """Someone (or the integration) acting on a tenant."""

    #: At most ``ID_MAX_LENGTH`` (255) characters, without control characters.
    id: str = attrs.field(converter=_id)
    role: Role = attrs.field(converter=_role)
    name: str = attrs.field(default="", converter=_name)
