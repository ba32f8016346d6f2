"""Plan an upload against stored records, then apply it whole or not at all.

>>> import datetime as dt
>>> import provisioning as pv
>>> from provisioning.adapters import MemoryRepository
>>> tenant = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
>>> admin = pv.Actor(id="sa-1", role="super_admin")
>>> ada = pv.UserRecord(legacy_contact_key="1001", first_name="Ada", last_name="Lovelace",
...                     email="ada@example.com", company_name="Analytical Engines")
>>> repo = MemoryRepository()
>>> plan = pv.plan_upload(tenant, admin, [ada], repo, as_of=dt.date(2026, 11, 25))
>>> plan.counts.created, plan.applicable
(1, True)
>>> pv.apply_plan(plan, repo).revision
1
>>> pv.plan_upload(tenant, admin, [ada], repo, as_of=dt.date(2026, 11, 25)).counts.unchanged
1
"""

from ..repository import UploadMode
from ._apply import EventKind, Receipt, RecordEvent, apply_plan
from ._contact_revert import plan_contacts_revert
from ._contacts import (
    ContactConflict,
    ContactCounts,
    ContactPlan,
    ContactUpdate,
    contact_template,
    plan_contacts,
    plan_contacts_file,
)
from ._file import Spooled, plan_spooled, plan_upload_file, spool
from ._outcomes import RESULTS_COLUMNS, write_results
from ._plan import plan_upload
from ._results import Conflict, FieldChange, Update, UploadCounts, UploadPlan
from ._revert import plan_revert
from ._safeguards import Safeguard
from ._stored import tenant_as_stored

__all__ = [
    "RESULTS_COLUMNS",
    "Conflict",
    "ContactConflict",
    "ContactCounts",
    "ContactPlan",
    "ContactUpdate",
    "EventKind",
    "FieldChange",
    "Receipt",
    "RecordEvent",
    "Safeguard",
    "Spooled",
    "Update",
    "UploadCounts",
    "UploadMode",
    "UploadPlan",
    "apply_plan",
    "contact_template",
    "plan_contacts",
    "plan_contacts_file",
    "plan_contacts_revert",
    "plan_revert",
    "plan_spooled",
    "plan_upload",
    "plan_upload_file",
    "spool",
    "tenant_as_stored",
    "write_results",
]
