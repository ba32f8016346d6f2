"""The key of the model's field metadata, shared by the model and the code built from it."""

from __future__ import annotations

__all__ = ["FIELD_ROLE"]

#: ``attrs.field(metadata={FIELD_ROLE: ...})``: what a field is beyond its type,
#: ``"identifier"`` (a key, capped in length) or ``"email"``.
FIELD_ROLE = "provisioning.role"
