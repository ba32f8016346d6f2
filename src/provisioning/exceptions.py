"""Every error the library raises, in one tree.

Concrete errors also subclass the builtin a caller already catches, so existing
``except ValueError`` or ``except LookupError`` clauses keep working::

    ProvisioningError                       base of everything raised here
    +-- InvalidValueError (ValueError)      a model value breaks an invariant
    |   +-- DocumentError                   a tenant/rulebook document is invalid;
    |                                       .errors lists every problem with its path
    +-- SpreadsheetError (ValueError)       a file cannot be read at all (encoding,
    |   |                                   size, header); .line, .column, .code
    |   +-- spreadsheet.HeaderError         the header breaks the template; .problems
    |                                       lists every header problem as a RowError
    +-- NotFoundError (LookupError)         an unknown tenant, system, record, rule
    +-- RefusedError (PermissionError)      a decision refused what was asked;
    |                                       .rules names the rule ids
    |   +-- SafeguardError                  an upload tripped a safeguard that was not
    |                                       overridden; .rules has the safeguards' rule ids
    +-- ConflictError (RuntimeError)        the store moved since the plan was made
    +-- RepositoryError (RuntimeError)      the store failed; nothing was written
        +-- repository.ChangeSetError       a change set breaks the store's rules
                                            (key or email taken, missing key); .problems

Data errors inside a file are not raised one at a time: the spreadsheet reader reports
them as ``RowError`` values. Context is carried in keyword-only attributes, and every
error pickles with its context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rules import Decision

from typing import Any

__all__ = [
    "ConflictError",
    "DocumentError",
    "InvalidValueError",
    "NotFoundError",
    "ProvisioningError",
    "RefusedError",
    "RepositoryError",
    "SafeguardError",
    "SpreadsheetError",
]


class ProvisioningError(Exception):
    """Base class of every error raised by :mod:`provisioning`."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self._context = context

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._context))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[ProvisioningError], message: str, context: dict[str, Any]) -> Any:
    return cls(message, **context)


class InvalidValueError(ProvisioningError, ValueError):
    """A value given to a model class breaks one of its invariants."""

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message, field=field, rule=rule)
        #: The attribute that was given the bad value.
        self.field = field
        #: The rule id the value breaks, if a domain rule is involved.
        self.rule = rule


class DocumentError(InvalidValueError):
    """A tenant or rulebook document (dict, JSON, TOML) is invalid.

    ``errors`` holds every problem of the document, each ``"path: message"``.
    """

    def __init__(self, message: str, *, errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self._context = {"errors": errors}
        #: Every problem found, e.g. ``"products.community: 'x' is not one of ..."``.
        self.errors = errors


class SpreadsheetError(ProvisioningError, ValueError):
    """A spreadsheet cannot be read at all (undecodable bytes, size limit, bad header).

    Row-level problems are not raised: they are reported as ``RowError`` values.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message, code=code, line=line, column=column)
        #: A stable, documented error code such as ``"encoding"``.
        self.code = code
        #: The 1-based physical line of the file, when one applies.
        self.line = line
        #: The column header, when one applies.
        self.column = column


class NotFoundError(ProvisioningError, LookupError):
    """Something looked up by id does not exist."""

    def __init__(self, message: str, *, kind: str, key: str) -> None:
        super().__init__(message, kind=kind, key=key)
        #: What was looked up: ``"tenant"``, ``"integration system"``, ``"rule"``...
        self.kind = kind
        #: The id that was not found.
        self.key = key


class RefusedError(ProvisioningError, PermissionError):
    """What was asked is refused by the rules; ``rules`` names why, ``decision`` (when a
    decision refused it) is the whole :class:`~provisioning.Decision`."""

    def __init__(
        self, message: str, *, rules: tuple[str, ...] = (), decision: Decision | None = None
    ) -> None:
        super().__init__(message, rules=rules, decision=decision)
        #: The rule ids behind the refusal.
        self.rules = rules
        #: The decision that refused, when one did.
        self.decision = decision


class SafeguardError(RefusedError):
    """An upload tripped a safeguard that the caller did not override."""


class ConflictError(ProvisioningError, RuntimeError):
    """The store's revision moved since the plan was made; nothing was written."""

    def __init__(
        self, message: str, *, tenant_id: str, expected: int | None, actual: int | None
    ) -> None:
        super().__init__(message, tenant_id=tenant_id, expected=expected, actual=actual)
        self.tenant_id = tenant_id
        #: The revision the plan was made against.
        self.expected = expected
        #: The revision the store has now.
        self.actual = actual


class RepositoryError(ProvisioningError, RuntimeError):
    """The store failed or refused a change; the change was not applied."""
