"""Load the example tenant files, check each one and ask where it stands on SSO.

The files in ``examples/tenants/`` are tenant documents plus the ``[[actors]]`` the
``provisioning`` command stores; the library reads the tenant part, and the actors
become :class:`provisioning.Actor` values. Run ``python examples/tenant_files.py``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import provisioning as pv
from provisioning.serialization import tenant_from_dict

TENANTS = Path(__file__).resolve().parent / "tenants"
AS_OF = dt.date(2026, 11, 25)


def load(path: Path) -> tuple[pv.Tenant, list[pv.Actor]]:
    """The tenant of a file and its actors."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    actors = [pv.Actor(**a) for a in data.pop("actors", [])]
    return tenant_from_dict(data), actors


for path in sorted(TENANTS.glob("*.toml")):
    tenant, actors = load(path)
    print(f"== {path.name}: {tenant.name}")
    result = pv.check(tenant)
    assert result.ok, result
    print(result)
    print(pv.sso_eligibility(tenant, as_of=AS_OF))
    for actor in actors:
        # What each actor may do with the records: upload a file, or edit a profile.
        for action in (pv.Action.SUBSEQUENT_UPLOAD, pv.Action.EDIT_OWN_PROFILE):
            decision = pv.decide(tenant, actor, action, as_of=AS_OF)
            refusals = ", ".join(f.rule for f in decision.refusals) or "-"
            verdict = "allowed" if decision else "refused"
            print(f"  {actor.id:>10} ({actor.role}): {action} {verdict} [{refusals}]")
    print()

# The standalone tenant cannot have SSO; the integrated one has it through iMIS.
harbor, _ = load(TENANTS / "harbor-standalone.toml")
summit, _ = load(TENANTS / "summit-integration.toml")
assert pv.sso_eligibility(harbor, as_of=AS_OF).status is pv.SsoStatus.NOT_SUPPORTED
assert pv.sso_eligibility(summit, as_of=AS_OF).in_effect
