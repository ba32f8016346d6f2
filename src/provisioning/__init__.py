"""Typed rules for how a SaaS vendor's customers create and update user records.

>>> import provisioning as pv
>>> tenant = pv.Tenant(id="acme", name="Acme", products={"community": "standalone"})
>>> tenant.method_for(pv.Product.COMMUNITY)
<ProvisioningMethod.STANDALONE: 'standalone'>
"""

from ._version import __version__
from .actors import Action, Actor, Role
from .catalog import (
    DEFAULT_CATALOG,
    Capability,
    IntegrationCatalog,
    IntegrationSystem,
    MarketingEdition,
    Product,
    ProvisioningMethod,
    Support,
)
from .exceptions import (
    ConflictError,
    DocumentError,
    InvalidValueError,
    NotFoundError,
    ProvisioningError,
    RefusedError,
    RepositoryError,
    SafeguardError,
    SpreadsheetError,
)
from .records import Contact, CustomFields, RecordStatus, SubscriptionStatus, UserRecord
from .tenants import (
    AccountRequestPolicy,
    AccountRequests,
    IdentityProvider,
    ProductMethods,
    SsoProtocol,
    SsoSetup,
    Tenant,
)

__all__ = [
    "DEFAULT_CATALOG",
    "AccountRequestPolicy",
    "AccountRequests",
    "Action",
    "Actor",
    "Capability",
    "ConflictError",
    "Contact",
    "CustomFields",
    "DocumentError",
    "IdentityProvider",
    "IntegrationCatalog",
    "IntegrationSystem",
    "InvalidValueError",
    "MarketingEdition",
    "NotFoundError",
    "Product",
    "ProductMethods",
    "ProvisioningError",
    "ProvisioningMethod",
    "RecordStatus",
    "RefusedError",
    "RepositoryError",
    "Role",
    "SafeguardError",
    "SpreadsheetError",
    "SsoProtocol",
    "SsoSetup",
    "SubscriptionStatus",
    "Support",
    "Tenant",
    "UserRecord",
    "__version__",
]
