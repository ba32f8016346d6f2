"""Assertions on decisions, for host test suites: failures show every finding."""

from __future__ import annotations

from ..rules import Decision

__all__ = ["assert_allowed", "assert_refused"]


def assert_allowed(decision: Decision) -> None:
    """Fail, showing the findings, unless ``decision`` allows the action.

    >>> import provisioning as pv
    >>> from provisioning.testing import assert_allowed
    >>> tenant = pv.Tenant(id="t", name="T", products={"community": "standalone"})
    >>> assert_allowed(pv.decide(tenant, pv.Actor(id="m", role="member"), pv.Action.LOCAL_LOGIN))
    """
    __tracebackhide__ = True
    if not decision.allowed:
        raise AssertionError(f"expected the action to be allowed, but it was refused:\n{decision}")


def assert_refused(decision: Decision, *, rule: str | None = None) -> None:
    """Fail, showing the findings, unless ``decision`` refuses the action (by ``rule``, if given).

    >>> import provisioning as pv
    >>> from provisioning.testing import assert_refused
    >>> tenant = pv.Tenant(id="t", name="T", products={"community": "standalone"})
    >>> member = pv.Actor(id="m", role="member")
    >>> decision = pv.decide(tenant, member, pv.Action.SSO_LOGIN)
    >>> assert_refused(decision, rule="SSO_NOT_WITH_STANDALONE")
    """
    __tracebackhide__ = True
    if decision.allowed:
        raise AssertionError(f"expected the action to be refused, but it was allowed:\n{decision}")
    if rule is not None:
        refusing = [f.rule for f in decision.refusals]
        if rule not in refusing:
            raise AssertionError(
                f"expected a refusal by {rule}, but it was refused by "
                f"{', '.join(refusing)}:\n{decision}"
            )
