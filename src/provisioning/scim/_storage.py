"""scim2-server's storage interface, backed by a tenant's records and the write path.

Every write is a :func:`provisioning.writes.push` of the integration's operations,
decided by the rulebook for the request's actor: a refusal is a SCIM 403 whose detail
names the rule ids. A user's SCIM facts (:class:`~provisioning.repository.ScimFacts`:
its id, userName, externalId) are committed with the record's change, in one
transaction; the checks of a write (``If-Match``, the userName) are made again at each
attempt of its commit, at the revision the attempt commits at. ``DELETE`` deactivates
the record (``DEACTIVATE_NOT_DELETE``) and removes the SCIM resource (404 afterwards);
the record stays, deactivated and audited.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import secrets
import threading
import uuid
from collections.abc import Callable
from typing import Any, Final, cast

import attrs
from scim2_models import (
    ConflictException,
    ForbiddenException,
    InvalidFilterException,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ScimFilter,
    SearchRequest,
    UnauthorizedException,
    UniquenessException,
)
from scim2_models.path import (
    CompareOperator,
    Comparison,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from scim2_server.storage import ScimStorage, SearchPage
from scim2_server.utils import parametrize

from .._validators import text_problem
from ..actors import Actor
from ..audit import Channel, FieldChange
from ..exceptions import ConflictError, InvalidValueError, RefusedError
from ..records import RecordStatus, UserRecord
from ..repository import (
    ChangeSetError,
    Repository,
    ScimFacts,
    ScimFactStore,
    TenantStore,
    fold_user_name,
)
from ..rules import DEFAULT_RULEBOOK, RuleBook
from ..tenants import IntegrationKey
from ..writes import PushOp, PushOperation, PushResult, push
from ._mapping import RecordView, cells_of, kept_as_stored, resource_of, version_of
from ._models import USER_MODEL, CommunityUser
from ._state import ScimState

__all__ = ["ACTOR", "REASSIGN_KEEPS_DEACTIVATION", "RecordStorage"]

#: The actor of the request being served (set by the application once authenticated).
ACTOR: Final[contextvars.ContextVar[Actor | None]] = contextvars.ContextVar(
    "provisioning_scim_actor", default=None
)

#: [ours] A ``POST`` for a user whose resource was ``DELETE``d (the identity provider
#: assigns the person again) restores the resource with the fields it sends, and the
#: record stays deactivated: a sync does not undo a deactivation
#: (``DEACTIVATE_NOT_DELETE``); an explicit reactivation (``active: true`` in a PUT or
#: PATCH) does. Answered 201, never 409. ``RecordStorage(reassign_reactivates=True)``
#: makes the POST's ``active: true`` reactivate instead.
REASSIGN_KEEPS_DEACTIVATION: Final = "SCIM_REASSIGN_KEEPS_DEACTIVATION"
#: The most comparisons (and presence tests) a filter may hold: each is evaluated on
#: every record a filter is not looked up by index for. Identity providers send one or
#: two.
MOST_FILTER_TERMS: Final = 50

#: The most bytes (UTF-8) a userName may take once folded (as two are compared), and an
#: externalId: each is an index's entry, which PostgreSQL bounds (2,704 bytes a btree
#: entry); an email, Okta's login or Entra's userPrincipalName is far shorter.
MOST_NAME_BYTES: Final = 1024

#: How many times a write is checked and committed again when another writer moved the
#: tenant on in between, before the client is told to retry (503).
_TRIES: Final = 5


class BusyException(SCIMException):
    """The tenant's store is busy with other writes: a 503 the client retries."""

    status = 503


class RecordStorage(ScimStorage):
    """The Users of one tenant of ``repository`` (a repository, tenant store and
    :class:`~provisioning.repository.ScimFactStore`), as scim2-server reads and writes
    them; ``state`` keeps the tokens.

    ``repository`` may also be a function returning the repository to use, called at
    each use: a server's threads each use their own SQLite connection that way.
    """

    def __init__(
        self,
        repository: Repository | Callable[[], Repository],
        state: ScimState,
        tenant_id: str,
        *,
        rulebook: RuleBook = DEFAULT_RULEBOOK,
        reassign_reactivates: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not callable(repository) and not isinstance(repository, ScimFactStore):
            raise InvalidValueError(
                f"the repository keeps no SCIM facts (no ScimFactStore): {repository!r:.80}",
                field="repository",
            )
        self._repository = repository if callable(repository) else (lambda: repository)
        self.state = state
        self.tenant_id = tenant_id
        self.rulebook = rulebook
        self.reassign_reactivates = reassign_reactivates
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # One write of this tenant at a time in this process; other processes' writes
        # are ordered by the tenant's revision, each write's checks made again at it.
        self._writing = threading.Lock()
        #: The tenant's revision up to which every record has its SCIM facts (-1: none).
        self._adopted = -1

    @property
    def repository(self) -> Repository:
        """The repository (of this thread, when given a function)."""
        return self._repository()

    @property
    def _facts(self) -> ScimFactStore:
        store = self.repository
        if not isinstance(store, ScimFactStore):
            raise InvalidValueError(
                f"the repository keeps no SCIM facts (no ScimFactStore): {store!r:.80}",
                field="repository",
            )
        return store

    def _one(self, **lookup: str) -> ScimFacts | None:
        found = self._facts.scim_facts(self.tenant_id, **lookup)
        return found[0] if found else None

    # -- reads ----------------------------------------------------------------------------

    def _visible(self, resource_id: str) -> tuple[UserRecord, ScimFacts]:
        # No id holds a character no record may hold (PostgreSQL is not even asked).
        entry = None if text_problem(resource_id) else self._one(resource_id=resource_id)
        record = None if entry is None else self.repository.get(self.tenant_id, entry.key)
        if entry is None or entry.removed or record is None or _gone(record):
            raise NotFoundException(detail=f"No User {resource_id!r}")
        return record, entry

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        _users_only(resource_type, resource_id)
        return resource_of(*self._visible(resource_id))

    def _entries(self) -> list[tuple[UserRecord, ScimFacts]]:
        """Every visible user; a record written by another channel gets its SCIM facts
        (its email as userName) when first seen."""
        entries = {f.key: f for f in self._facts.scim_facts(self.tenant_id)}
        found = []
        for record in self.repository.records(self.tenant_id):
            if _gone(record):
                continue
            entry = entries.get(record.legacy_contact_key)
            if entry is None:
                entry = self._adopt(record)
            if not entry.removed:
                found.append((record, entry))
        return found

    def _adopt(self, record: UserRecord) -> ScimFacts:
        """Give the record its SCIM facts: its email as userName, else its key, else (both
        held by other users) its key with a random suffix, never failing."""
        key = record.legacy_contact_key
        now = self._clock()
        for name in (record.email, key, *(f"{key}-{secrets.token_hex(4)}" for _ in range(8))):
            if self._one(user_name=name) is not None:
                continue
            facts = ScimFacts(
                key=key,
                id=str(uuid.uuid4()),
                user_name=name,
                external_id=key,
                created_at=now,
                modified_at=now,
            )
            if self._facts.adopt_scim_facts(self.tenant_id, facts):
                return facts
            found = self._one(key=key)  # another process gave them first
            if found is not None:
                return found
        raise BusyException(detail=f"no free userName for the record {key!r}; retry")

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        if all(t.name != "User" for t in resource_types):
            return SearchPage(0, [])  # no resource of another type is kept
        scim_filter = search_request.filter
        if scim_filter is not None and not scim_filter.models:
            scim_filter = parametrize(ScimFilter, USER_MODEL)(str(scim_filter))
        start = search_request.start_index_0 or 0
        stop = None if search_request.count is None else start + search_request.count
        pairs = self._candidates(scim_filter)
        if pairs is None:
            pairs = self._entries()
        if scim_filter is None:
            # No filter: order and page by the stored facts, and make resources of the
            # page alone (making one costs far more than reading its record).
            pairs.sort(key=lambda pair: (pair[1].user_name.casefold(), pair[1].id))
            return SearchPage(len(pairs), [resource_of(r, e) for r, e in pairs[start:stop]])
        check_filter(scim_filter)
        # A filter reads a few attributes: match views of the records, and make
        # resources of the page alone.
        views = [RecordView(r, e) for r, e in pairs]
        found = [v for v in views if scim_filter.match(cast(Any, v))]
        found.sort(key=lambda v: (v.user_name.casefold(), v.id))
        return SearchPage(len(found), [v.resource for v in found[start:stop]])

    def _candidates(
        self, scim_filter: ScimFilter[Any] | None
    ) -> list[tuple[UserRecord, ScimFacts]] | None:
        """The users a filter ``ATTR eq "value"`` on ``userName``, ``externalId``, ``id`` or
        ``emails.value`` can match, looked up by index rather than read all (identity
        providers ask it before every create), also as a term of an ``and``; ``None``
        for any other filter. The filter is still applied to them, for its exact
        semantics."""
        return None if scim_filter is None else self._looked_up(scim_filter.ast)

    def _looked_up(self, node: Any) -> list[tuple[UserRecord, ScimFacts]] | None:
        if isinstance(node, LogicalExpr) and node.op is LogicalOperator.and_:
            for term in node.terms:
                if (found := self._looked_up(term)) is not None:
                    return found
            return None
        if (
            not isinstance(node, Comparison)
            or node.op is not CompareOperator.eq
            or not isinstance(node.value, str)
            or node.attr_path.uri
        ):
            return None
        attribute, value = str(node.attr_path).lower(), node.value
        lookups = {"username": "user_name", "externalid": "external_id", "id": "resource_id"}
        if attribute not in {*lookups, "emails.value"}:
            return None
        self._adopt_all()  # every record has its SCIM facts: the lookups see them all
        if attribute in lookups:
            facts = list(self._facts.scim_facts(self.tenant_id, **{lookups[attribute]: value}))
        else:
            record = self.repository.get_by_email(self.tenant_id, value)
            key = None if record is None else record.legacy_contact_key
            facts = [] if key is None else list(self._facts.scim_facts(self.tenant_id, key=key))
        found = []
        for entry in facts:
            record = self.repository.get(self.tenant_id, entry.key)
            if record is not None and not entry.removed and not _gone(record):
                found.append((record, entry))
        return found

    def _adopt_all(self) -> None:
        """Give SCIM facts to the records written since last looked at (by other channels
        or processes): read them all, unless the tenant's revision has not moved but by
        this storage's own writes."""
        revision = self.repository.revision(self.tenant_id)
        if revision != self._adopted:
            self._entries()
            self._adopted = revision

    # -- writes ---------------------------------------------------------------------------

    def _attempts(self, write: Callable[[int], Resource[Any] | None]) -> Resource[Any] | None:
        """``write(revision)``, its checks and its commit at the tenant's revision, tried
        again from its checks when another writer moved the tenant on in between."""
        for _ in range(_TRIES):
            try:
                return write(self.repository.revision(self.tenant_id))
            except ConflictError:
                continue
        raise BusyException(
            detail=f"tenant {self.tenant_id!r} is busy with other writes; nothing was written: "
            "retry"
        )

    def _push(  # noqa: PLR0917 - private, one operation's parts
        self,
        op: PushOp,
        cells: dict[str, str],
        then: PushOp | None,
        also: tuple[FieldChange, ...],
        revision: int,
        facts: ScimFacts,
    ) -> PushResult:
        """One operation with the user's SCIM facts, committed at ``revision`` (a
        :class:`~provisioning.ConflictError` when the tenant moved on)."""
        actor = ACTOR.get()
        if actor is None:
            raise UnauthorizedException(detail="No bearer token")
        tenant = cast(TenantStore, self.repository).get_tenant(self.tenant_id)
        try:
            result = push(
                tenant,
                actor,
                [PushOperation(op, cells, line=1, then=then, also=also)],
                self.repository,
                rulebook=self.rulebook,
                now=self._clock(),
                channel=Channel.SCIM,
                revision=revision,
                scim=(facts,),
            )
        except RefusedError as exc:
            reason = str(exc)
            for rule in exc.rules:  # named once, at the front
                reason = reason.replace(f"{rule}: ", "")
            raise ForbiddenException(detail=f"refused by {' '.join(exc.rules)}: {reason}") from None
        except ChangeSetError as exc:  # the store's unique indexes: a name taken meanwhile
            raise UniquenessException(detail="; ".join(exc.problems) or str(exc)) from None
        if not isinstance(result, PushResult):
            raise InvalidValueException(detail="; ".join(e.message for e in result))
        if result.revision is not None and self._adopted == result.revision - 1:
            self._adopted = result.revision  # its records have their SCIM facts already
        return result

    def _key(self, user: CommunityUser[Any]) -> str:
        """The new record's LegacyContactKey: the ``externalId``, else the userName (a
        client need not send ``externalId``: Okta does not by default); the userName
        always when the tenant's ``integration_key`` says so (``SSO_IDENTIFIER_MATCH``)."""
        tenant = cast(TenantStore, self.repository).get_tenant(self.tenant_id)
        by_id = tenant.integration_key is IntegrationKey.EXTERNAL_ID
        key = user.external_id if by_id else None
        key = key if key and str(key).strip() else user.user_name
        if not key or not str(key).strip():
            raise InvalidValueException(
                detail="userName is required; it is the record's LegacyContactKey when no "
                "externalId is sent (SSO_IDENTIFIER_MATCH)"
            )
        key = str(key).strip()
        _check_text("externalId" if key == _text(user.external_id) else "userName", key)
        return key

    def _check_name(self, user: CommunityUser[Any], key: str) -> str:
        name = str(user.user_name or "").strip()
        if not name:
            raise InvalidValueException(detail="userName is required and may not be blank")
        if (problem := _name_problem(name, folded=True)) is not None:
            raise InvalidValueException(detail=f"userName {name!r:.80} {problem}")
        holder = self._one(user_name=name)
        if holder is not None and holder.key != key:
            raise UniquenessException(detail=f"userName {name!r} is another user's")
        return name

    def _check_external_id(self, external_id: str | None, key: str) -> None:
        """An ``externalId`` names one user of the tenant: identity providers match on it,
        and two users answering one ``externalId eq`` filter leave them unable to choose."""
        if external_id is None:
            return
        if (problem := _name_problem(external_id)) is not None:
            raise InvalidValueException(detail=f"externalId {external_id!r:.80} {problem}")
        for other in self._facts.scim_facts(self.tenant_id, external_id=external_id):
            if other.key != key and not other.removed:
                raise UniquenessException(detail=f"externalId {external_id!r} is another user's")

    def _then(self, stored: UserRecord | None, active: bool | None) -> PushOp | None:
        """The status change ``active`` asks of the record (``None``: none)."""
        status = RecordStatus.ENABLED if stored is None else stored.status
        if active is False and status is RecordStatus.ENABLED:
            return PushOp.DEACTIVATE
        if active is True and status is RecordStatus.DEACTIVATED:
            return PushOp.REACTIVATE
        return None

    def _facts_of(
        self, entry: ScimFacts | None, key: str, name: str, external_id: str | None
    ) -> ScimFacts:
        """The user's SCIM facts after this write: its id made at the first, kept after."""
        now = self._clock()
        if entry is None:
            return ScimFacts(
                key=key,
                id=str(uuid.uuid4()),
                user_name=name,
                external_id=external_id,
                created_at=now,
                modified_at=now,
            )
        return attrs.evolve(
            entry, user_name=name, external_id=external_id, removed=False, modified_at=now
        )

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        if resource_type.name != "User":
            raise InvalidValueException(
                detail=f"this service keeps Users only, not {resource_type.name!r} resources"
            )
        with self._writing:
            created = self._attempts(lambda revision: self._create(resource, revision))
            assert created is not None
            return created

    def _create(self, resource: Resource[Any], revision: int) -> Resource[Any]:
        user = cast(CommunityUser[Any], resource)
        key = self._key(user)
        name = self._check_name(user, key)
        stored = self.repository.get(self.tenant_id, key)
        entry = self._one(key=key)
        if stored is not None and _gone(stored):
            raise ConflictException(
                detail=f"the person of {key!r} had their data deleted; nothing brings it back "
                "(DEACTIVATE_NOT_DELETE)"
            )
        restoring = stored is not None and entry is not None and entry.removed
        if stored is not None and not restoring:
            raise UniquenessException(detail=f"a User has the externalId {key!r}")
        # One commit: the fields, the SCIM facts, and the status the POST asks (a restored
        # user stays deactivated unless reassign_reactivates:
        # SCIM_REASSIGN_KEEPS_DEACTIVATION).
        then = (
            self._then(stored, user.active) if not restoring or self.reassign_reactivates else None
        )
        external_id = _text(user.external_id)
        self._check_external_id(external_id, key)
        also = _facts(entry, name, external_id)
        if restoring:
            assert entry is not None
            also += (FieldChange("scimResource", None, entry.id),)
        facts = self._facts_of(entry, key, name, external_id)
        self._push(PushOp.UPSERT, cells_of(user, key), then, also, revision, facts)
        return self._shown(facts)

    def _shown(self, entry: ScimFacts) -> Resource[Any]:
        """The user as written: its record read back, its SCIM facts as just committed."""
        record = self.repository.get(self.tenant_id, entry.key)
        if record is None or _gone(record):  # pragma: no cover - just written
            raise NotFoundException(detail=f"No User {entry.id!r}")
        return resource_of(record, entry)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        _users_only(resource_type, str(resource.id))
        with self._writing:
            updated = self._attempts(
                lambda revision: self._update(resource, expected_version, revision)
            )
            assert updated is not None
            return updated

    def _update(
        self, resource: Resource[Any], expected_version: str | None, revision: int
    ) -> Resource[Any]:
        user = cast(CommunityUser[Any], resource)
        record, entry = self._visible(str(user.id))
        _check_version(record, entry, expected_version)  # at each attempt, at its revision
        key = entry.key
        name = self._check_name(user, key)
        # One commit: the fields (when changed), the status ``active`` asks, the facts.
        then = self._then(record, user.active)
        external_id = _text(user.external_id)
        self._check_external_id(external_id, key)
        also = _facts(entry, name, external_id)
        cells, shown = cells_of(user, key), cells_of(resource_of(record, entry), key)
        changed = cells != shown
        if not (changed or then or also):
            return resource_of(record, entry)  # nothing to write
        facts = self._facts_of(entry, key, name, external_id)
        keyed = {"LegacyContactKey": key}
        if changed:  # the fields it shows merged and left alone are written as stored
            cells = kept_as_stored(cells, shown, record)
            self._push(PushOp.UPSERT, cells, then, also, revision, facts)
        elif then is not None:
            self._push(then, keyed, None, also, revision, facts)
        else:  # only the SCIM facts changed: their own audited event
            self._push(PushOp.PATCH, keyed, None, also, revision, facts)
        return self._shown(facts)

    def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        _users_only(resource_type, resource_id)
        with self._writing:
            self._attempts(lambda revision: self._delete(resource_id, expected_version, revision))

    def _delete(self, resource_id: str, expected_version: str | None, revision: int) -> None:
        record, entry = self._visible(resource_id)
        _check_version(record, entry, expected_version)  # at each attempt, at its revision
        # DEACTIVATE_NOT_DELETE: the record is deactivated and kept; the resource goes,
        # audited even when the record was deactivated already, and gives its userName
        # up (a new user may take it; a POST restoring this one sends it again).
        facts = attrs.evolve(
            entry, removed=True, user_name=_released(entry), modified_at=self._clock()
        )
        also = (
            FieldChange("scimResource", entry.id, None),
            FieldChange("userName", entry.user_name, None),
        )
        keyed = {"LegacyContactKey": entry.key}
        self._push(PushOp.DEACTIVATE, keyed, None, also, revision, facts)


def check_filter(scim_filter: ScimFilter[Any]) -> None:
    """Refuse (400 ``invalidFilter``) a filter of more than :data:`MOST_FILTER_TERMS`
    comparisons, before it is evaluated on any record."""
    terms, nodes = 0, [scim_filter.ast]
    while nodes:
        node = nodes.pop()
        if isinstance(node, Comparison | Present):
            terms += 1
        elif isinstance(node, Not):
            nodes.append(node.expr)
        elif isinstance(node, LogicalExpr):
            nodes.extend(node.terms)
        elif isinstance(node, ValuePath):
            nodes.append(node.val_filter)
    if terms > MOST_FILTER_TERMS:
        raise InvalidFilterException(
            detail=f"The filter has {terms:,} comparisons; at most {MOST_FILTER_TERMS} are served"
        )


def _facts(entry: ScimFacts | None, name: str, external_id: str | None) -> tuple[FieldChange, ...]:
    """The changes of the SCIM facts kept with the record, for its audit event."""
    gone = entry is None or entry.removed  # a DELETEd user gave its userName up
    old_name = None if gone or entry is None else entry.user_name
    old_external = None if entry is None else entry.external_id
    changes = []
    if name != old_name:
        changes.append(FieldChange("userName", old_name, name))
    if external_id != old_external:
        changes.append(FieldChange("externalId", old_external, external_id))
    return tuple(changes)


def _released(entry: ScimFacts) -> str:
    """What a DELETEd user's facts hold in place of the userName it gave up: unique, and
    no name a client sends (it is never shown: the resource is gone)."""
    return f"~deleted~{entry.id}"


def _users_only(resource_type: ResourceType, resource_id: str) -> None:
    """No resource of another type than User is kept: a 404 for any of its ids."""
    if resource_type.name != "User":
        raise NotFoundException(detail=f"No {resource_type.name} {resource_id!r}")


def _text(value: object) -> str | None:
    """An attribute's text, ``None`` when absent or blank."""
    return str(value).strip() or None if value is not None else None


def _name_problem(value: str, *, folded: bool = False) -> str | None:
    """Why ``value`` cannot be a userName (``folded``: compared folded) or an externalId: a
    character no record may hold, or more bytes than :data:`MOST_NAME_BYTES`."""
    if (problem := text_problem(value)) is not None:
        return problem
    size = len((fold_user_name(value) if folded else value).encode("utf-8"))
    if size > MOST_NAME_BYTES:
        once = " once case-folded" if folded else ""
        return f"has {size:,} bytes in UTF-8{once}; the limit is {MOST_NAME_BYTES:,}"
    return None


def _check_text(attribute: str, value: str) -> None:
    """Refuse (400) a value holding a character no record may hold (a NUL, a control
    character), before any store is asked for it."""
    if (problem := text_problem(value)) is not None:
        raise InvalidValueException(detail=f"{attribute} {value!r:.80} {problem}")


def _gone(record: UserRecord) -> bool:
    """A tombstone (the person's data deleted) is no SCIM resource."""
    return record.status is RecordStatus.DELETED


def _check_version(record: UserRecord, entry: ScimFacts, expected: str | None) -> None:
    if expected is not None and expected != version_of(record, entry):
        raise PreconditionFailedException(detail="The User changed since that version was read")
