"""Reference repositories: :class:`MemoryRepository` (in process) and :class:`SqliteRepository`.

Both implement :class:`provisioning.repository.Repository` and
:class:`provisioning.repository.TenantStore`, pass
:class:`provisioning.testing.RepositoryContract`, and take a ``fault`` hook that fails a
commit at a chosen step of :data:`COMMIT_STEPS`, for testing what happens then.
:func:`row_codec` turns records into rows of column values and back, for a host's own
SQL store; it is written from the model's fields, as the SQLite adapter's is.

:class:`PostgresRepository` (the ``postgres`` extra) is imported from
:mod:`provisioning.adapters.postgres` when first named, so that this package imports
without psycopg installed.
"""

from typing import TYPE_CHECKING, Any

from .._rows import RowCodec, row_codec
from ._faults import COMMIT_STEPS, FaultHook, fail_at
from .memory import MemoryRepository
from .sqlite import SqliteRepository

if TYPE_CHECKING:
    from .postgres import PostgresRepository

__all__ = [
    "COMMIT_STEPS",
    "FaultHook",
    "MemoryRepository",
    "PostgresRepository",
    "RowCodec",
    "SqliteRepository",
    "fail_at",
    "row_codec",
]


def __getattr__(name: str) -> Any:
    """``PostgresRepository``, imported when first named (it needs psycopg)."""
    if name == "PostgresRepository":
        try:
            from .postgres import PostgresRepository  # noqa: PLC0415 - psycopg is optional
        except ImportError as exc:
            raise ImportError(
                "PostgresRepository needs psycopg: "
                "pip install -e '.[postgres]' in a clone of the project"
            ) from exc
        return PostgresRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
