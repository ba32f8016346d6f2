"""``provisioning scim``: bearer tokens, and the SCIM 2.0 service on waitress.

Needs the ``scim`` extra. Tokens are kept in the store given by ``--db`` (SQLite file or
PostgreSQL schema), hashed; ``serve`` serves every tenant of that store at
``/{tenant_id}/v2/...``.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

import click

from ..adapters import SqliteRepository
from ..repository import Repository
from . import _render as render
from ._app import (
    BadInput,
    _emit_json,
    _format_option,
    _Group,
    _load_actor,
    _load_tenant,
    _state,
    _tenant_option,
    cli,
)
from ._store import CACHE_MIB, Store

if TYPE_CHECKING:
    from ..scim import ScimState

__all__ = ["scim_group"]

#: The largest request body the service reads: a SCIM User is a few kilobytes.
MOST_BODY: Final = 1_000_000
#: Seconds an idle or slow connection is kept.
IDLE_SECONDS: Final = 60


def _scim() -> Any:
    """The ``provisioning.scim`` package, or a usage error naming the extra."""
    try:
        from provisioning import scim  # noqa: PLC0415 - the extra is optional
    except ImportError:
        raise BadInput(
            "the scim commands need the extra: pip install -e '.[scim]' in a clone of the project"
        ) from None
    return scim


def _scim_state(store: Store) -> ScimState:
    """The store's SCIM tables: in the SQLite file, or in the PostgreSQL schema."""
    scim = _scim()
    if isinstance(store.path, Path):
        state: ScimState = scim.ScimState(store.path)
        return state
    from ..scim.postgres import PostgresScimState  # noqa: PLC0415 - psycopg is optional

    return PostgresScimState(store.repo, store._url)  # type: ignore[arg-type, attr-defined]


def migrate_tables(store: Store, roles: tuple[str, ...]) -> bool:
    """Make the store's SCIM tables, and let ``roles`` use them (PostgreSQL), when the
    ``scim`` extra is installed; whether it is."""
    try:
        scim_state = _scim_state(store)
    except BadInput:
        return False
    try:
        for role in roles:
            scim_state.grant(role)  # type: ignore[attr-defined]  # roles: PostgreSQL only
    finally:
        scim_state.close()
    return True


@cli.group("scim", cls=_Group)
def scim_group() -> None:
    """SCIM 2.0 for identity providers: bearer tokens, and the service."""


@scim_group.group("token", cls=_Group)
def token_group() -> None:
    """Issue, list and revoke a tenant's SCIM bearer tokens."""


@token_group.command("issue")
@_tenant_option
@click.option("--actor", "actor_id", required=True, help="The actor the token acts as.")
@_format_option
@click.pass_context
def token_issue(ctx: click.Context, *, tenant_id: str, actor_id: str, fmt: str) -> None:
    """Issue a new token; it is printed this once (only its digest is kept).

    The token acts as the actor: SCIM writes are allowed when the actor's role may write
    under the tenant's method (the integration actor of a standard-integration tenant).
    Earlier tokens stay valid until revoked.
    """
    state = _state(ctx)
    store = state.open(ctx)
    tenant = _load_tenant(store, tenant_id)
    actor = _load_actor(store, tenant, actor_id)
    scim_state = _scim_state(store)
    try:
        issued = scim_state.issue(tenant.id, actor)
    finally:
        scim_state.close()
    if fmt == "json":
        _emit_json(state, {"id": issued.info.id, **_token_json(issued.info), "token": issued.token})
        return
    click.echo(issued.token)
    state.err.print(
        render.safe(
            f"Issued SCIM token {issued.info.id} of tenant {tenant.id!r} for actor "
            f"{actor.id!r} ({actor.role.value}). It is shown this once: give it to the "
            "identity provider now. Revoke it with "
            f"`provisioning scim token revoke --tenant {tenant.id} {issued.info.id}`."
        ),
        markup=False,
    )


def _token_json(info: Any) -> dict[str, Any]:
    return {
        "id": info.id,
        "tenant": info.tenant_id,
        "actor": info.actor.id,
        "role": info.actor.role.value,
        "created_at": info.created_at.isoformat(),
        "revoked_at": None if info.revoked_at is None else info.revoked_at.isoformat(),
    }


@token_group.command("list")
@_tenant_option
@_format_option
@click.pass_context
def token_list(ctx: click.Context, *, tenant_id: str, fmt: str) -> None:
    """The tenant's tokens, revoked ones included (never the tokens themselves)."""
    state = _state(ctx)
    store = state.open(ctx)
    tenant = _load_tenant(store, tenant_id)
    scim_state = _scim_state(store)
    try:
        tokens = scim_state.tokens(tenant.id)
    finally:
        scim_state.close()
    if fmt == "json":
        _emit_json(state, [_token_json(t) for t in tokens])
        return
    if not tokens:
        click.echo(f"tenant {tenant.id!r} has no SCIM tokens")
        return
    for info in tokens:
        revoked = (
            "active" if info.revoked_at is None else f"revoked {info.revoked_at:%Y-%m-%d %H:%M}"
        )
        click.echo(
            render.safe(
                f"{info.id}  {info.actor.id} ({info.actor.role.value})  "
                f"issued {info.created_at:%Y-%m-%d %H:%M}  {revoked}"
            )
        )


@token_group.command("revoke")
@_tenant_option
@click.argument("token_id", metavar="ID")
@_format_option
@click.pass_context
def token_revoke(ctx: click.Context, *, tenant_id: str, token_id: str, fmt: str) -> None:
    """Revoke the tenant's token ID: requests bearing it are refused (401) from now on."""
    state = _state(ctx)
    store = state.open(ctx)
    tenant = _load_tenant(store, tenant_id)
    scim_state = _scim_state(store)
    try:
        info = scim_state.revoke(tenant.id, token_id)
    finally:
        scim_state.close()
    if fmt == "json":
        _emit_json(state, _token_json(info))
        return
    assert info.revoked_at is not None
    click.echo(
        render.safe(
            f"SCIM token {info.id} of tenant {tenant.id!r} revoked at "
            f"{info.revoked_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    )


def _thread_repositories(path: Path) -> Callable[[], Repository]:
    """Each server thread's own SQLite connection to the store (a connection is one
    thread's), opened on its first request."""
    local = threading.local()

    def repository() -> Repository:
        repo: SqliteRepository | None = getattr(local, "repo", None)
        if repo is None:
            repo = local.repo = SqliteRepository(path, cache_mib=CACHE_MIB)
        return repo

    return repository


@scim_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="The port to listen on (0: any free port, printed when serving).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Requests served at once.",
)
@click.pass_context
def serve(ctx: click.Context, *, host: str, port: int, threads: int) -> None:
    """Serve SCIM 2.0 for every tenant of the store at /{tenant_id}/v2/ on waitress.

    Writes one log line per request on stderr (method, path, status, milliseconds; never
    the token or the query). Stops on Ctrl-C or SIGTERM. Put it behind a TLS-terminating
    proxy: identity providers send the bearer token with every request.
    """
    gc.enable()  # a long-running process: the command's short-run shortcut does not hold
    scim = _scim()
    from waitress.server import create_server  # type: ignore[import-untyped]  # noqa: PLC0415

    state = _state(ctx)
    store = state.open(ctx)
    scim_state = _scim_state(store)
    ctx.call_on_close(scim_state.close)
    repository: Repository | Callable[[], Repository] = (
        _thread_repositories(store.path) if isinstance(store.path, Path) else store.repo
    )
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    app = scim.request_log(scim.make_application(repository, scim_state))
    try:
        server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="provisioning",
            max_request_body_size=MOST_BODY,
            channel_timeout=IDLE_SECONDS,
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        raise BadInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    where = f"http://{host}:{server.effective_port}"
    click.echo(
        render.safe(f"serving SCIM 2.0 of {store.path} at {where}/{{tenant_id}}/v2/"), err=True
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    click.echo("stopped", err=True)
