"""The key of the model's field metadata, shared by the model and the code built from it."""

from __future__ import annotations

__all__ = ["FIELD_MEMBERSHIP", "FIELD_ROLE"]

#: ``attrs.field(metadata={FIELD_ROLE: ...})``: what a field is beyond its type,
#: ``"identifier"`` (a key, capped in length) or ``"email"``.
FIELD_ROLE = "provisioning.role"

#: ``attrs.field(metadata={FIELD_MEMBERSHIP: True})``: a fact of the person's membership
#: that the organisation keeps (a member id, dates, the member flag): an administrator or
#: the source of truth sets it, never the member editing their own profile.
FIELD_MEMBERSHIP = "provisioning.membership"
