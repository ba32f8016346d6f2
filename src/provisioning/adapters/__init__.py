"""Reference repositories: :class:`MemoryRepository` (in process) and :class:`SqliteRepository`.

Both implement :class:`provisioning.repository.Repository` and
:class:`provisioning.repository.TenantStore`, pass
:class:`provisioning.testing.RepositoryContract`, and take a ``fault`` hook that fails a
commit at a chosen step of :data:`COMMIT_STEPS`, for testing what happens then.
:func:`row_codec` turns records into rows of column values and back, for a host's own
SQL store; it is written from the model's fields, as the SQLite adapter's is.
"""

from .._rows import RowCodec, row_codec
from ._faults import COMMIT_STEPS, FaultHook, fail_at
from .memory import MemoryRepository
from .sqlite import SqliteRepository

__all__ = [
    "COMMIT_STEPS",
    "FaultHook",
    "MemoryRepository",
    "RowCodec",
    "SqliteRepository",
    "fail_at",
    "row_codec",
]
