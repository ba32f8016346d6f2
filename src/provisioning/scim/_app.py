"""The WSGI application: every tenant of one store at ``/{tenant_id}/v2/...``.

Built on scim2-server's ``WSGIApplication`` (one per tenant) and ``TenantDispatcher``;
ours are the bearer-token check (a token of the tenant in the path, else 401) and the
actor it gives the writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from scim2_models import (
    ForbiddenException,
    PayloadTooLargeException,
    SCIMException,
    UnauthorizedException,
)
from scim2_server.applications.wsgi import TenantDispatcher, WSGIApplication
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService

from ..actors import Actor, Role
from ..exceptions import InvalidValueError, NotFoundError
from ..repository import Repository, TenantStore
from ..rules import DEFAULT_RULEBOOK, RuleBook
from ._models import make_provider
from ._state import ScimState
from ._storage import ACTOR, RecordStorage

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from _typeshed.wsgi import WSGIApplication as WSGICallable

__all__ = ["TenantApplication", "make_application", "request_log"]

LOG: Final = logging.getLogger("provisioning.scim")
#: The largest request body served (413 beyond): a SCIM User is a few kilobytes, and a
#: body is read whole before it is parsed, whichever WSGI server runs the application.
MOST_BODY: Final = 1_000_000


class _Service(ScimService):
    """scim2-server's service, logging what it answers with a 500 (its traceback stays
    in the log, never in the answer)."""

    def max_body_size(self, request: ScimRequest) -> int | None:
        limit = super().max_body_size(request)
        return MOST_BODY if limit is None else min(limit, MOST_BODY)

    def error_response(self, exception: Exception) -> ScimResponse:
        if not isinstance(exception, SCIMException):
            LOG.error("unexpected error serving a SCIM request", exc_info=exception)
        return super().error_response(exception)


class TenantApplication(WSGIApplication):
    """One tenant's SCIM application: scim2-server's, with our bearer tokens."""

    def __init__(self, storage: RecordStorage) -> None:
        provider = make_provider()
        super().__init__(storage, provider, _Service(provider))
        self.records = storage

    def get_subject(self, request: ScimRequest) -> Any:
        """The actor the request's bearer token acts as (``None`` without a valid one)."""
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.records.state.authenticate(self.records.tenant_id, token.strip())

    def check_auth(self, request: ScimRequest) -> None:
        """Refuse (401) a request without a valid token of this tenant."""
        if self.get_subject(request) is None:
            raise UnauthorizedException(detail="A valid bearer token of this tenant is required")

    def _check_role(self, actor: Actor) -> None:
        """Refuse (403) a token whose actor manages no user records: it would read them
        all (ROLE_PERMISSIONS). Writes are decided by the rulebook as well."""
        allowed = {Role.INTEGRATION, *self.records.rulebook.settings.user_admin_roles}
        if actor.role not in allowed:
            raise ForbiddenException(
                detail=f"refused by ROLE_PERMISSIONS: a {actor.role.value} does not manage "
                "user records, so its token may not read or write them"
            )

    def dispatch_request(self, request: ScimRequest) -> ScimResponse:
        """Serve the request as its token's actor."""
        if self.needs_auth(request):
            self.check_auth(request)
        if len(request.body) > MOST_BODY:  # read up to one byte more (max_body_size)
            raise PayloadTooLargeException(
                detail=f"The request body is larger than {MOST_BODY:,} bytes"
            )
        request.subject = self.get_subject(request)
        if self.needs_auth(request):
            self._check_role(request.subject)
        reset = ACTOR.set(request.subject)
        try:
            return self.handler.handle(request)
        finally:
            ACTOR.reset(reset)


def make_application(
    repository: Repository | Callable[[], Repository],
    state: ScimState,
    *,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    reassign_reactivates: bool = False,
) -> WSGICallable:
    """A WSGI application serving every tenant of ``repository`` (a repository and tenant
    store) at ``/{tenant_id}/v2/``; an unknown tenant is a SCIM 404.

    A tenant's ``integration_key`` says which SCIM attribute gives its records' key
    (LegacyContactKey): ``externalId``, the default, or ``userName``.
    ``repository`` may be a function returning it (each thread's own, say).
    """

    def factory(tenant_id: str) -> WSGICallable | None:
        tenants = repository() if callable(repository) else repository
        try:
            assert isinstance(tenants, TenantStore)
            tenants.get_tenant(tenant_id)
        except (NotFoundError, InvalidValueError):
            return None
        storage = RecordStorage(
            repository,
            state,
            tenant_id,
            rulebook=rulebook,
            reassign_reactivates=reassign_reactivates,
        )
        return TenantApplication(storage)

    return TenantDispatcher(factory)


def request_log(application: WSGICallable, log: Callable[[str], None] = LOG.info) -> WSGICallable:
    """``application`` writing one line per request: method, path, status, milliseconds."""

    def logged(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        began = time.perf_counter()
        status: list[str] = []

        def start(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        try:
            return application(environ, start)
        finally:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            log(
                f"{environ.get('REMOTE_ADDR', '-')} {environ.get('REQUEST_METHOD')} {path} "
                f"{(status or ['-'])[0].partition(' ')[0]} "
                f"{(time.perf_counter() - began) * 1000:.1f}ms"
            )

    return logged
