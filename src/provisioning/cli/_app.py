"""The commands: argument parsing (click), output (rich), and the error edge."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, BinaryIO, Final, TypeVar, cast

import attrs
import click
import rich.progress
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import __version__, writes
from ..actors import Action, Actor, Role
from ..audit import events_to_csv, events_to_jsonl
from ..catalog import Product
from ..exceptions import (
    ConflictError,
    DocumentError,
    InvalidValueError,
    NotFoundError,
    ProvisioningError,
    RefusedError,
    RepositoryError,
    SpreadsheetError,
)
from ..records import Contact, RecordStatus, SubscriptionStatus, UserRecord
from ..repository import ChangeSetError, ContactStore, UploadMode
from ..rules import ACTING_ROLE, check, decide, sso_eligibility
from ..serialization import tenant_to_json
from ..spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    DEFAULT_MAX_FILE_SIZE,
    MARKETING_ENTERPRISE,
    MARKETING_PROFESSIONAL,
    ErrorCode,
    HeaderError,
    RowError,
    RowSeverity,
    Template,
    write,
    write_blank,
    write_error_report,
)
from ..tenants import Tenant
from ..uploads import (
    Receipt,
    Safeguard,
    apply_plan,
    contact_template,
    plan_contacts,
    plan_contacts_revert,
    plan_revert,
    plan_spooled,
    tenant_as_stored,
    write_results,
)
from ..writes import WriteResult
from . import _render as render
from ._documents import SavedPlan, load_tenant_file
from ._inputs import (
    InputError,
    Spooled,
    Watch,
    atomic_output,
    format_size,
    open_regular,
    parse_size,
    spool,
)
from ._reading import COMMAND_NAMES, PARAMETERS, ReadingOptions, open_reader, reading_options
from ._render import AnyPlan
from ._store import DB, DEFAULT_DB, Store, open_store

__all__ = ["cli", "main"]

#: Exit codes: success or valid; data or request refused; usage error or unreadable input.
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

#: Files at least this large get a progress bar while read (on a terminal only).
_PROGRESS_FROM = 256 * 1024
#: How many problems the text output lists before pointing at JSON or the error report.
_SHOWN = 50

_F = TypeVar("_F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """The data or the request is refused: ``Error: ...`` on stderr and exit code 1."""

    exit_code = EXIT_REFUSED


class BadInput(click.ClickException):
    """An input cannot be used (unreadable, unknown id): ``Error: ...`` and exit code 2."""

    exit_code = EXIT_USAGE


#: Upload files are read up to the spreadsheet reader's own limit (50 MB) by default;
#: ``--max-file-size`` sets another.
UPLOAD_CAP = DEFAULT_MAX_FILE_SIZE


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """``--max-file-size``: bytes from ``200000000``, ``200MB``, ``1.5GB``, ``64MiB`` (any case)."""
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _max_file_size_option(command: _F) -> _F:
    return click.option(
        "--max-file-size",
        "max_file_size",
        metavar="SIZE",
        callback=_size,
        default=format_size(UPLOAD_CAP),
        show_default=True,
        help="Refuse an upload file larger than this: bytes, or KB, MB, GB (decimal) or "
        "KiB, MiB, GiB (binary).",
    )(command)


def _size_hint(*, saved_plan: bool = False) -> Callable[[int], str]:
    """The end of the message for an upload file over ``--max-file-size``."""

    def hint(size: int) -> str:
        if saved_plan:
            # The plan's own limit is used: the file grew past it since the plan was made.
            return "the plan was made within that limit, so the file changed since; run plan again"
        return f"pass --max-file-size {_enough(size)} (or more) to read it"

    return hint


def _enough(size: int) -> str:
    """A round size at least ``size`` bytes, to suggest: whole MB, or bytes when small."""
    if size < 1_000_000:
        return str(size)
    return f"{-(-size // 1_000_000)}MB"


def _failure(exc: ProvisioningError) -> click.ClickException:
    """The exit code and message for an error of the library's family."""
    if isinstance(exc, HeaderError):
        head = str(exc).split(": ", 1)[0] if exc.problems else str(exc)
        lines = [f"{head}:" if exc.problems else head, *(f"  {p}" for p in exc.problems)]
        return Failure("\n".join(lines))
    if isinstance(exc, ConflictError):
        return Failure(f"stale plan: {exc}; run `provisioning plan` again")
    if isinstance(exc, RefusedError | ChangeSetError):
        return Failure(str(exc))
    if isinstance(exc, DocumentError):
        return BadInput("\n".join([str(exc).splitlines()[0], *(f"  {e}" for e in exc.errors)]))
    if isinstance(exc, SpreadsheetError | NotFoundError | RepositoryError | InvalidValueError):
        return BadInput(str(exc))
    return Failure(str(exc))


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


#: The sections ``provisioning --help`` lists the commands in, in order.
_SECTIONS: Final = (
    ("Uploads", ("template", "validate", "plan", "apply", "export")),
    (
        "Users and requests",
        ("register", "verify-email", "approve", "reject", "user", "push", "scim"),
    ),
    ("Audit", ("uploads", "history", "revert")),
    ("Rules", ("explain", "sso")),
    ("Tenants", ("tenant", "db")),
)


class _Group(click.Group):
    """A group whose commands' user errors become messages and exit codes."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands in sections (uploads, users and requests, audit, rules, tenants)."""
        listed: set[str] = set()
        for title, names in _SECTIONS:
            rows = []
            for name in names:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit=formatter.width)))
                    listed.add(name)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        rest = [n for n in self.list_commands(ctx) if n not in listed]
        if rest:
            with formatter.section("Other"):
                formatter.write_dl(
                    [(n, c.get_short_help_str()) for n in rest if (c := self.get_command(ctx, n))]
                )

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke(ctx)
        except click.ClickException as exc:
            # Messages quote file names, ids and values: no control character reaches
            # the terminal (an escape sequence in a tenant's name would be obeyed).
            exc.message = render.safe(exc.message)  # type: ignore[misc]  # Final in stubs
            raise

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise BadInput(str(exc)) from None
        # RefusedError is a PermissionError, so an OSError: the library's family first.
        except ProvisioningError as exc:
            raise _failure(exc) from None
        except BrokenPipeError:
            raise BadInput(
                "the output was closed before it was written whole (broken pipe); what the "
                "command applied, if anything, stays applied: `provisioning uploads` lists it"
            ) from None
        except OSError as exc:
            raise BadInput(_os_message(exc)) from None


@attrs.define
class _State:
    db: Path | str
    out: Console
    err: Console
    store: Store | None = None

    def open(self, ctx: click.Context, *, create: bool = False) -> Store:
        """The store; only a command that writes (``create``) may make a new one."""
        if self.store is None:
            if not create and isinstance(self.db, Path) and not self.db.exists():
                raise BadInput(
                    f"there is no store at {self.db}: `provisioning tenant add FILE.toml` "
                    "creates one (or name another with --db or PROVISIONING_DB)"
                )
            self.store = open_store(self.db)
            ctx.call_on_close(self.store.close)
        return self.store


def _same_file(a: Path, b: Path) -> bool:
    """Whether the paths name one file (one path, or links to one file)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return Path(a).samefile(b)
    except OSError:
        return False


#: Names of workbooks a spreadsheet program opens by their format, never as text.
_WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".xltx", ".ods"})


def _check_not_clobbering(
    ctx: click.Context, output: Path | None, option: str, *reads: Path | None
) -> None:
    """Refuse, before anything is read or applied, an output that names the store's file
    (or its journal) or a file the command reads: the rename would replace it. Refuse a
    spreadsheet program's workbook name too: what is written is text, which Excel
    refuses to open under such a name."""
    if output is None:
        return
    if output.suffix.lower() in _WORKBOOK_SUFFIXES:
        raise click.BadParameter(
            f"{output} names an Excel workbook ({output.suffix}), but the command writes "
            "text (CSV; a Professional contact file is tab-delimited): name it .csv or "
            ".txt, which Excel opens too",
            param_hint=f"'{option}'",
        )
    db = ctx.find_object(_State)
    kept: list[tuple[Path, str]] = []
    if db is not None and isinstance(db.db, Path):
        kept += [(Path(f"{db.db}{end}"), "the store") for end in ("", "-wal", "-shm", "-journal")]
    kept += [(p, "a file this command reads") for p in reads if p is not None]
    for path, what in kept:
        if _same_file(output, path):
            raise click.BadParameter(
                f"{output} is {what}: writing there would replace it", param_hint=f"'{option}'"
            )


def _state(ctx: click.Context) -> _State:
    state = ctx.find_object(_State)
    assert state is not None  # the group callback always sets it
    return state


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped text is read in editors and logs: wider than the 80 columns rich assumes.
        console.width = 120
    return console


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=DB,
    default=DEFAULT_DB,
    envvar="PROVISIONING_DB",
    show_default=True,
    show_envvar=True,
    help="The store of tenants, their actors, records and upload history: a SQLite file, "
    "or a postgresql:// URL.",
)
@click.version_option(__version__, prog_name="provisioning")
@click.pass_context
def cli(ctx: click.Context, db: Path | str) -> None:
    """Decide, explain and apply how tenants create and update user records.

    Exit codes: 0 success or valid; 1 the data or the request is refused (invalid rows,
    a refused decision, a tripped safeguard, a stale plan); 2 a usage error or an
    unreadable input.
    """
    ctx.obj = _State(db=db, out=_console(stderr=False), err=_console(stderr=True))


def _format_option(command: _F) -> _F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people, json for machines (see docs/cli.md for the schema).",
    )(command)


def _tenant_option(command: _F) -> _F:
    return click.option("--tenant", "tenant_id", required=True, help="The tenant's id.")(command)


def _as_of_option(command: _F) -> _F:
    return click.option(
        "--as-of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="The reference date, YYYY-MM-DD (default: today, UTC).",
    )(command)


def _product_option(command: _F) -> _F:
    return click.option(
        "--product",
        type=click.Choice([p.value for p in Product]),
        default=Product.COMMUNITY.value,
        show_default=True,
    )(command)


_INPUT = click.Path(exists=True, dir_okay=False, path_type=Path)
_OUTPUT = click.Path(dir_okay=False, writable=True, path_type=Path)


def _day(value: dt.datetime | None) -> dt.date | None:
    return None if value is None else value.date()


def _emit_json(state: _State, data: object) -> None:
    click.echo(render.dump(data))


def _load_tenant(store: Store, tenant_id: str) -> Tenant:
    """The tenant as the store knows it: with the facts its upload history settles."""
    try:
        return tenant_as_stored(store.repo.get_tenant(tenant_id), store.repo)
    except NotFoundError:
        known = ", ".join(t.id for t in store.repo.tenants()) or "none yet"
        raise BadInput(
            f"no tenant {tenant_id!r} in {store.path} (stored tenants: {known}); "
            "add one with `provisioning tenant add FILE.toml`",
        ) from None


def _load_actor(store: Store, tenant: Tenant, actor_id: str) -> Actor:
    actor = store.actor(tenant.id, actor_id)
    if actor is None:
        known = ", ".join(a.id for a in store.actors(tenant.id)) or "none"
        raise click.BadParameter(
            f"tenant {tenant.id!r} has no actor {actor_id!r} (its actors: {known}); "
            "actors come from the [[actors]] tables of the tenant file",
            param_hint="'--actor'",
        )
    return actor


# -- db ----------------------------------------------------------------------------------


@cli.group("db", cls=_Group)
def db_group() -> None:
    """Create or migrate the store's schema."""


@db_group.command("migrate")
@click.option(
    "--grant",
    "roles",
    multiple=True,
    metavar="ROLE",
    help="PostgreSQL: let this application role (without DDL rights) read and write the "
    "store; row-level security binds it. Repeatable.",
)
@click.pass_context
def db_migrate(ctx: click.Context, roles: tuple[str, ...]) -> None:
    """Create the store, or migrate its schema to this version (run as the database's owner)."""
    state = _state(ctx)
    store = state.open(ctx, create=True)  # opening creates or migrates the schema
    for role in roles:
        store.grant(role)
    from ._scim import migrate_tables  # noqa: PLC0415 - it imports this module

    migrate_tables(store, roles)  # the SCIM tables too, with the scim extra
    granted = f"; granted its use to {', '.join(roles)}" if roles else ""
    state.out.print(
        render.text(f"{store.path} is at schema version {store.repo.schema_version}{granted}")
    )


# -- tenant ------------------------------------------------------------------------------


@cli.group(cls=_Group)
def tenant() -> None:
    """Add, list, show and check tenants."""


@tenant.command("add")
@click.argument("file", type=_INPUT)
@click.option(
    "--actor",
    "actor_id",
    default=None,
    help="Change a stored tenant as this actor of it (a Super Admin; the change is decided "
    "as change_method). Without it the store's operator changes it, undecided; both audited.",
)
@_format_option
@click.pass_context
def tenant_add(ctx: click.Context, *, file: Path, fmt: str, actor_id: str | None) -> None:
    """Store the tenant (and its [[actors]]) of a TOML file, replacing one with the same id."""
    state = _state(ctx)
    document = load_tenant_file(file)
    store = state.open(ctx, create=True)
    actor = None
    if actor_id is not None:
        if document.tenant.id not in {t.id for t in store.repo.tenants()}:
            raise BadInput(
                f"tenant {document.tenant.id!r} is not stored yet: a new tenant is added by "
                "the store's operator; leave out --actor"
            )
        # One of the tenant's actors as stored, never one the file would add.
        actor = _load_actor(store, _load_tenant(store, document.tenant.id), actor_id)
    _check_contact_key(store, document.tenant)
    rekeyed = _integration_rekeyed(store, document.tenant)
    store.save(document.tenant, document.actors, actor)
    if rekeyed is not None:
        state.err.print(render.text(rekeyed))
    result = check(document.tenant)
    if fmt == "json":
        _emit_json(
            state,
            {
                "tenant": document.tenant.id,
                "actors": [render.actor_data(a) for a in document.actors],
                "check": render.check_data(result),
            },
        )
        return
    t = document.tenant
    methods = ", ".join(f"{p} by {m}" for p, m in t.products.items())
    state.out.print(
        render.text(f"added tenant {t.id} ({t.name}): {methods}; {len(document.actors)} actors")
    )
    if not result.ok:
        state.out.print(
            render.text(
                f"{len(result.errors)} configuration error(s): "
                f"see `provisioning tenant check {t.id}`"
            )
        )


def _integration_rekeyed(store: Store, tenant: Tenant) -> str | None:
    """A note when ``integration_key`` changes while the tenant keeps records: they keep
    the keys they have, so only records an integration creates from now on are keyed
    the new way (a person a SCIM client assigns again is looked up by the new key)."""
    repo = store.repo
    if tenant.id not in {t.id for t in repo.tenants()}:
        return None
    stored = repo.get_tenant(tenant.id).integration_key
    if stored is tenant.integration_key:
        return None
    kept = repo.count(tenant.id)
    if not kept:
        return None
    return (
        f"note: integration_key changed from {stored.value} to {tenant.integration_key.value} "
        f"while tenant {tenant.id} keeps {kept:,} record(s): they keep their keys, and only "
        f"records an integration creates from now on are keyed by {tenant.integration_key.value}"
    )


def _check_contact_key(store: Store, tenant: Tenant) -> None:
    """MARKETING_CONTACT_KEY: refuse to change how a tenant's contacts are keyed while it
    keeps contacts. Those stored stay under the old key: a file keyed the new way would
    add each person again, and a full import would not see the old ones."""
    repo = store.repo
    if tenant.id not in {t.id for t in repo.tenants()} or not isinstance(repo, ContactStore):
        return
    stored = repo.get_tenant(tenant.id).marketing_key
    if stored is tenant.marketing_key:
        return
    kept = repo.contact_count(tenant.id)
    if kept:
        raise Failure(
            f"refused by MARKETING_CONTACT_KEY: tenant {tenant.id} keeps {kept:,} Marketing "
            f"contact(s) keyed by {stored.value}; keying them by {tenant.marketing_key.value} "
            "would add each person again. Leave marketing_key as it is"
        )


@tenant.command("list")
@_format_option
@click.pass_context
def tenant_list(ctx: click.Context, fmt: str) -> None:
    """List the stored tenants."""
    state = _state(ctx)
    store = state.open(ctx)
    rows = [render.tenant_summary(t, len(store.actors(t.id))) for t in store.repo.tenants()]
    if fmt == "json":
        _emit_json(state, rows)
        return
    if not rows:
        state.out.print(
            render.text(f"no tenants in {store.path}; add one with `provisioning tenant add`")
        )
        return
    table = Table()
    for name in ("id", "name", "products", "sso", "integration", "actors"):
        table.add_column(name)
    for row in rows:
        products = row["products"]
        assert isinstance(products, dict)
        table.add_row(
            render.text(str(row["id"])),
            render.text(str(row["name"])),
            render.text(", ".join(f"{p}: {m}" for p, m in products.items())),
            str(row["sso"] or ""),
            render.text(str(row["integration"] or "")),
            str(row["actors"]),
        )
    state.out.print(table)


@tenant.command("show")
@click.argument("tenant_id", metavar="ID")
@_format_option
@click.pass_context
def tenant_show(ctx: click.Context, *, tenant_id: str, fmt: str) -> None:
    """Show a tenant: its setup, actors, stored records and upload history."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actors = store.actors(t.id)
    repo = store.repo
    data = render.tenant_data(
        t,
        actors,
        records=repo.count(t.id),
        revision=repo.revision(t.id),
        uploads=repo.uploads(t.id),
    )
    if fmt == "json":
        _emit_json(state, data)
        return
    out = state.out
    facts = Table(show_header=False, title=render.text(f"tenant {t.id}"), title_justify="left")
    facts.add_column("item", style="bold")
    facts.add_column("value")
    facts.add_row("name", render.text(t.name))
    for product, method in t.products.items():
        if product is Product.MARKETING:
            # Which contact file the tenant uploads: its edition's, keyed as it says.
            facts.add_row(
                str(product), f"{method} ({t.marketing_edition}, keyed by {t.marketing_key})"
            )
        else:
            facts.add_row(str(product), str(method))
    if t.sso is not None:
        go_live = t.sso.go_live.isoformat() if t.sso.go_live else "not set"
        facts.add_row(
            "sso",
            render.text(f"{t.sso.protocol} via {t.sso.identity_provider.name}, go-live {go_live}"),
        )
    if t.integration:
        # What keys the records an integration (a push, SCIM) creates.
        facts.add_row("integration", render.text(f"{t.integration} (keyed by {t.integration_key})"))
    facts.add_row("records", str(data["records"]))
    facts.add_row("revision", str(data["revision"]))
    out.print(facts)
    if actors:
        table = Table(title="actors", title_justify="left")
        for name in ("id", "role", "name"):
            table.add_column(name)
        for a in actors:
            table.add_row(render.text(a.id), str(a.role), render.text(a.name))
        out.print(table)
    uploads = repo.uploads(t.id)
    if uploads:
        table = Table(title="uploads", title_justify="left")
        for name in ("at", "actor", "mode", "counts"):
            table.add_column(name)
        for u in uploads:
            counts = ", ".join(f"{n} {k}" for k, n in u.counts.items() if n)
            table.add_row(
                u.at.isoformat(timespec="seconds"),
                render.text(u.actor_id),
                str(u.mode),
                render.text(counts),
            )
        out.print(table)


@tenant.command("check")
@click.argument("tenant_id", metavar="ID")
@_format_option
@click.pass_context
def tenant_check(ctx: click.Context, *, tenant_id: str, fmt: str) -> None:
    """Every configuration problem of a tenant, each with its rule id (exit 1 on errors)."""
    state = _state(ctx)
    result = check(_load_tenant(state.open(ctx), tenant_id))
    if fmt == "json":
        _emit_json(state, render.check_data(result))
    elif result.findings:
        title = f"tenant {result.tenant_id}: {len(result.findings)} finding(s)"
        state.out.print(render.findings_table(result.findings, title=title))
    else:
        state.out.print(render.text(f"tenant {result.tenant_id}: no problems found"))
    if not result.ok:
        ctx.exit(EXIT_REFUSED)


# -- files -------------------------------------------------------------------------------

_PRODUCT_CHOICE = click.Choice([p.value for p in Product])
_EDITION_CHOICE = click.Choice(["enterprise", "professional"])


def _template(product: str, edition: str | None) -> Template[Any]:
    if product == Product.COMMUNITY.value:
        if edition is not None:
            raise click.BadParameter("only Marketing files have editions", param_hint="'--edition'")
        return COMMUNITY_UPLOAD_USERS
    return MARKETING_PROFESSIONAL if edition == "professional" else MARKETING_ENTERPRISE


def _progress(path: Path, console: Console, doing: str = "reading") -> Watch:
    """A progress bar on stderr over a file being read, when long and on a terminal."""

    def watch(stream: BinaryIO, size: int) -> AbstractContextManager[BinaryIO]:
        if not console.is_terminal or size < _PROGRESS_FROM:
            return nullcontext(stream)
        return rich.progress.wrap_file(
            stream,
            size,
            description=escape(render.safe(f"{doing} {path.name}")),
            console=console,
            transient=True,
        )

    return watch


@contextmanager
def _committing(console: Console, tenant_id: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr over the records handed to the store, on a terminal."""
    if not console.is_terminal:
        yield lambda _done: None
        return
    with rich.progress.Progress(
        rich.progress.TextColumn("{task.description}"),
        rich.progress.BarColumn(),
        rich.progress.MofNCompleteColumn(),
        rich.progress.TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(escape(render.safe(f"applying to {tenant_id}")), total=total)
        yield lambda done: bar.update(task, completed=done)


def _too_large(path: Path, cap: int, exc: SpreadsheetError) -> SpreadsheetError:
    """The reader's size error, naming the command's flag instead of the Python argument."""
    size = path.stat().st_size
    return SpreadsheetError(
        f"the file is larger than the limit of {cap:,} bytes (--max-file-size); it passes "
        f"the limit on line {exc.line}: {_size_hint()(max(size, cap + 1))}",
        code=exc.code,
        line=exc.line,
    )


@contextmanager
def _reading(path: Path, console: Console) -> Iterator[BinaryIO]:
    """The upload file, a regular file, read by the spreadsheet reader (with its limit)."""
    with open_regular(path, "upload file") as stream:
        size = os.fstat(stream.fileno()).st_size
        with _progress(path, console)(stream, size) as watched:
            yield watched


def _spooled(
    state: _State, path: Path, cap: int, *, saved_plan: bool = False
) -> AbstractContextManager[Spooled]:
    """The upload file read once, within ``cap`` bytes (``--max-file-size``), with its digest."""
    return spool(
        path,
        "upload file",
        cap,
        watch=_progress(path, state.err),
        hint=_size_hint(saved_plan=saved_plan),
    )


def _tenants_template(
    ctx: click.Context, product: str, edition: str | None, tenant_id: str | None
) -> Template[Any]:
    """The template of ``product`` (and ``edition``), or with a tenant, the file that
    tenant uploads for it: for Marketing, its edition's, keyed as its marketing_key says."""
    if tenant_id is None:
        return _template(product, edition)
    if edition is not None:
        raise click.BadParameter(
            "the tenant's edition picks the file; leave out --edition",
            param_hint="'--edition'",
        )
    tenant = _load_tenant(_state(ctx).open(ctx), tenant_id)
    chosen = Product(product)
    if chosen not in tenant.products:
        others = [p for p in tenant.products if p is not chosen]
        hint = f"; its file: --product {others[0].value}" if others else ""
        raise BadInput(f"tenant {tenant.id!r} has no {chosen.value} product{hint}")
    if chosen is Product.MARKETING:
        return contact_template(tenant)
    return _template(product, None)


@cli.command("template")
@click.option("--product", type=_PRODUCT_CHOICE, default="community", show_default=True)
@click.option("--edition", type=_EDITION_CHOICE, default=None, help="Marketing only.")
@click.option(
    "--tenant",
    "tenant_id",
    default=None,
    help="The file this tenant uploads: its edition and contact key pick the Marketing one.",
)
@click.option("--example", is_flag=True, help="Add one example row under the header.")
@click.option("-o", "--output", type=_OUTPUT, default=None, help="Write here, not to stdout.")
@click.pass_context
def template_command(
    ctx: click.Context,
    *,
    product: str,
    edition: str | None,
    tenant_id: str | None,
    example: bool,
    output: Path | None,
) -> None:
    """Write a blank upload file: the template's header row.

    With --tenant, the file that tenant uploads for --product: for Marketing, its
    edition's (Professional: tab-delimited; Enterprise: CSV) keyed as its marketing_key
    says (by email, or by member id).
    """
    _check_not_clobbering(ctx, output, "-o")
    template = _tenants_template(ctx, product, edition, tenant_id)
    with atomic_output(output) as stream:
        write_blank(template, stream, example=example)
    _note_tab_delimited(_state(ctx), template, output)


def _note_tab_delimited(state: _State, template: Template[Any], output: Path | None) -> None:
    """Say so when a tab-delimited file was written under a ``.csv`` name, which Excel
    splits at commas instead: a ``.txt`` name says what the file is."""
    if output is not None and template.delimiter == "\t" and output.suffix.lower() == ".csv":
        state.err.print(
            render.text(
                f"note: {output} is tab-delimited, as {template.name} files are, though "
                "its name ends in .csv; name it .txt for Excel to read its columns"
            )
        )


@cli.command("validate")
@click.argument("file", type=_INPUT)
@click.option("--product", type=_PRODUCT_CHOICE, default="community", show_default=True)
@click.option("--edition", type=_EDITION_CHOICE, default=None, help="Marketing only.")
@click.option(
    "--tenant",
    "tenant_id",
    default=None,
    help="The tenant whose file this is: for Marketing, its edition and contact key pick "
    "the file (instead of --edition).",
)
@_format_option
@click.option(
    "--error-report",
    type=_OUTPUT,
    default=None,
    help="Write the failed rows, with error_* columns first, to this CSV file.",
)
@_max_file_size_option
@reading_options
@click.pass_context
def validate_command(
    ctx: click.Context,
    *,
    file: Path,
    product: str,
    edition: str | None,
    tenant_id: str | None,
    fmt: str,
    error_report: Path | None,
    max_file_size: int,
    reading: ReadingOptions,
) -> None:
    """Check an upload file against its template; exit 0 when every row is valid."""
    _check_not_clobbering(ctx, error_report, "--error-report", file)
    state = _state(ctx)
    template = _tenants_template(ctx, product, edition, tenant_id)
    problems: list[RowError] = []
    header: tuple[str, ...] = template.headers
    rows = blank = 0
    valid = False
    try:
        with _reading(file, state.err) as stream:
            try:
                reader = open_reader(stream, template, reading, max_file_size)
            except HeaderError as exc:
                problems = list(exc.problems)
            else:
                header = reader.header
                problems = [item for item in reader if isinstance(item, RowError)]
                # The summary's rows count blank rows too: they are no records.
                blank = reader.summary.blank
                rows = reader.summary.rows - blank
                valid = reader.summary.ok
    except SpreadsheetError as exc:
        # The file's own size; a workbook's sheet or unpacked size has words of its own.
        if exc.code == ErrorCode.FILE_TOO_LARGE and file.stat().st_size > max_file_size:
            exc = _too_large(file, max_file_size, exc)
        if fmt == "json":
            data = {
                "valid": False,
                "rows": rows,
                "blank_lines": blank,
                "errors": [render.problem_data(exc)],
                "warnings": [],
            }
            _emit_json(state, data)
        raise BadInput(f"{file}: {exc}") from None
    # A row the vendor skips (a Marketing row without a usable email) does not stop the
    # file loading, as a plan of it is ready: it is counted apart from the errors.
    errors = [p for p in problems if p.severity is RowSeverity.ERROR]
    skipped = [p for p in problems if p.severity is RowSeverity.SKIPPED]
    warnings = [p for p in problems if not p.is_error]
    valid = not errors and (valid or bool(skipped))
    if error_report is not None:
        with atomic_output(error_report) as stream:
            write_error_report(problems, stream, template, header=header)
    if fmt == "json":
        _emit_json(
            state,
            {
                "valid": valid,
                "rows": rows,
                "blank_lines": blank,
                "errors": [render.problem_data(p) for p in errors],
                "skipped": [render.problem_data(p) for p in skipped],
                "warnings": [render.problem_data(p) for p in warnings],
            },
        )
    else:
        verdict = (
            render.text("valid", style="bold green")
            if valid
            else render.text("invalid", style="bold red")
        )
        line = render.text(
            f"{file}: {rows} rows, {len(errors)} errors, "
            + (f"{len(skipped)} skipped, " if skipped else "")
            + f"{len(warnings)} warnings ({template.name}): "
        )
        state.out.print(line + verdict)
        if problems:
            state.out.print(render.problems_table(problems, limit=_SHOWN))
        if len(problems) > _SHOWN:
            state.out.print(
                render.text(
                    f"... and {len(problems) - _SHOWN} more: --format json or --error-report "
                    "lists them all"
                )
            )
    if not valid:
        ctx.exit(EXIT_REFUSED)


# -- uploads -----------------------------------------------------------------------------

_MODE_CHOICE = click.Choice([m.value for m in UploadMode])
_SAFEGUARD_CHOICE = click.Choice([s.value for s in Safeguard])


def _override_option(command: _F) -> _F:
    return click.option(
        "--override",
        "overrides",
        type=_SAFEGUARD_CHOICE,
        multiple=True,
        help="Let the upload go ahead despite this safeguard; repeat for several.",
    )(command)


def _plan(
    state: _State,
    store: Store,
    upload: Spooled,
    tenant: Tenant,
    actor: Actor,
    *,
    mode: str,
    as_of: dt.date | None,
    overrides: tuple[str, ...],
    reading: ReadingOptions,
    product: Product = Product.COMMUNITY,
) -> AnyPlan:
    admins = [a.id for a in store.actors(tenant.id) if a.role is Role.SUPER_ADMIN]
    decided_by = _still(store, tenant, actor)
    # The spool has held the file to --max-file-size already: the reader reads the copy.
    watch = _progress(upload.path, state.err, "planning")
    plan: AnyPlan
    with watch(cast(BinaryIO, upload.stream), upload.size) as stream, store.repo.snapshot():
        # One read snapshot: the plan's lookups all see the revision it was made at.
        if product is Product.MARKETING:
            # The tenant's edition (and contact key) says which file it uploads.
            plan = plan_contacts(
                tenant,
                actor,
                open_reader(stream, contact_template(tenant), reading, None),
                store.repo,
                mode=mode,
                as_of=as_of,
                overrides=overrides,
                file_digest=upload.digest,
            )
        else:
            plan = plan_spooled(
                upload,
                tenant,
                actor,
                store.repo,
                stream=stream,
                max_file_size=None,
                date_order=reading.date_order,
                lenient_headers=reading.lenient_headers,
                encoding=reading.encoding,
                sheet=reading.sheet,
                option_names=COMMAND_NAMES,
                mode=mode,
                as_of=as_of,
                overrides=overrides,
                protected_keys=admins,
            )
    # The tenant and actors were read before the plan's snapshot: if `tenant add` changed
    # them since, the plan was decided by who the actor was, not who the actor is.
    if _stored_digest(store, tenant.id) != decided_by:
        raise _changed_meanwhile(tenant.id)
    return plan


def _changed_meanwhile(tenant_id: str) -> Failure:
    return Failure(
        f"tenant {tenant_id} or its actors changed while the command ran (tenant add); "
        "nothing was applied: run the command again"
    )


def _stored_digest(store: Store, tenant_id: str) -> str:
    """The digest of the tenant and its actors as stored now ("" when it is gone)."""
    try:
        return _tenant_digest(store, store.repo.get_tenant(tenant_id))
    except NotFoundError:
        return ""


def _still(store: Store, tenant: Tenant, actor: Actor) -> str:
    """The stored digest, once the tenant and actor the command loaded are checked to be
    the stored ones still (:class:`Failure` otherwise)."""
    digest = _stored_digest(store, tenant.id)
    try:
        stored = tenant_as_stored(store.repo.get_tenant(tenant.id), store.repo)
    except NotFoundError:
        raise _changed_meanwhile(tenant.id) from None
    same_actor = any(a == actor for a in store.actors(tenant.id))
    if tenant_to_json(stored) != tenant_to_json(tenant) or not same_actor:
        raise _changed_meanwhile(tenant.id)
    return digest


def _show_plan(state: _State, plan: AnyPlan, fmt: str) -> None:
    if fmt == "json":
        render.write_plan_json(sys.stdout.write, plan)
    else:
        render.print_plan(state.out, plan)


def _not_applicable(plan: AnyPlan) -> Failure:
    if plan.refused:
        reasons = "; ".join(f"{f.rule}: {f.message}" for f in plan.decision.refusals)
        return Failure(f"the upload is refused: {reasons}")
    held = ", ".join(f"{s.rule} (--override {s.value})" for s in sorted(plan.held_by, key=str))
    return Failure(f"the upload is held by {held}; nothing was applied")


def _tenant_digest(store: Store, tenant: Tenant) -> str:
    """A digest of the tenant and its actors as stored: what a saved plan was decided by."""
    actors = [(a.id, a.role.value, a.name) for a in store.actors(tenant.id)]
    facts = json.dumps([tenant_to_json(tenant), actors], sort_keys=True)
    return "sha256:" + hashlib.sha256(facts.encode("utf-8")).hexdigest()


def _check_replan(saved: SavedPlan, plan: AnyPlan) -> None:
    """Refuse a re-plan that is not the saved plan: the commit is then held to its revision.

    The re-plan's revision is the one its commit must find, so a commit landing after
    the saved plan (even after the early check, while the file is read) is refused,
    never applied over.
    """
    if plan.revision is not None and plan.revision != saved.revision:
        raise Failure(
            f"stale plan: the store of {plan.tenant_id} moved from revision {saved.revision} "
            f"to {plan.revision} since the plan was saved (another upload was applied); "
            "run plan again"
        )
    if plan.file_digest != saved.file_digest:
        raise Failure("stale plan: the file changed since the plan was saved; run plan again")
    if plan.applicable and plan.counts.as_dict() != dict(saved.counts):
        raise Failure(
            f"stale plan: it would now do {plan.counts}, not what was saved; run plan again"
        )


_UPLOAD_PRODUCT = click.option(
    "--product",
    type=_PRODUCT_CHOICE,
    default="community",
    show_default=True,
    help="marketing: a contact file, in the format of the tenant's edition.",
)


@cli.command("plan")
@click.argument("file", type=_INPUT)
@_tenant_option
@_UPLOAD_PRODUCT
@click.option("--actor", "actor_id", required=True, help="Who uploads (an actor of the tenant).")
@click.option("--mode", type=_MODE_CHOICE, default="full", show_default=True)
@_override_option
@_as_of_option
@click.option(
    "--save",
    type=_OUTPUT,
    default=None,
    help="Save the plan's facts for `apply --plan`, which refuses it once stale.",
)
@_max_file_size_option
@reading_options
@_format_option
@click.pass_context
def plan_command(
    ctx: click.Context,
    *,
    file: Path,
    tenant_id: str,
    product: str,
    actor_id: str,
    mode: str,
    overrides: tuple[str, ...],
    as_of: dt.datetime | None,
    save: Path | None,
    max_file_size: int,
    reading: ReadingOptions,
    fmt: str,
) -> None:
    """Dry run: what an upload would change, and what refuses or holds it."""
    _check_not_clobbering(ctx, save, "--save", file)
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    with _spooled(state, file, max_file_size) as upload:
        plan = _plan(
            state,
            store,
            upload,
            t,
            actor,
            mode=mode,
            as_of=_day(as_of),
            overrides=overrides,
            reading=reading,
            product=Product(product),
        )
    _show_plan(state, plan, fmt)
    if save is not None:
        if not plan.applicable:
            # What apply --plan applies is what was reviewed: a refused or held plan is no
            # such thing, and no later override may turn it into one.
            verdict = "refused" if plan.refused else "held"
            raise Failure(f"the upload is {verdict}, so no plan was saved to {save}")
        with atomic_output(save) as stream:
            saved = SavedPlan.of(
                plan,
                tenant_digest=_tenant_digest(store, t),
                product=Product(product),
                reading=reading,
                max_file_size=max_file_size,
            )
            stream.write(saved.to_json())
    if not plan.applicable:
        ctx.exit(EXIT_REFUSED)


def _check_saved(
    saved: SavedPlan,
    store: Store,
    t: Tenant,
    actor: Actor,
    upload: Spooled,
    *,
    file: Path,
    mode: str | None,
    day: dt.date | None,
    overrides: tuple[str, ...],
) -> tuple[str, dt.date, tuple[str, ...]]:
    """A saved plan's mode, date and overrides, once it is checked against the command.

    Usage errors for another tenant, actor, mode, date or set of overrides; "stale plan"
    when the tenant, the file or the store moved since the plan was saved.
    """
    if (saved.tenant, saved.actor) != (t.id, actor.id):
        raise click.BadParameter(
            f"the plan is for tenant {saved.tenant!r} and actor {saved.actor!r}",
            param_hint="'--plan'",
        )
    if mode is not None and mode != saved.mode:
        raise click.BadParameter(f"the plan was made in {saved.mode} mode", param_hint="'--mode'")
    if day is not None and day != saved.as_of:
        raise click.BadParameter(
            f"the plan was made as of {saved.as_of.isoformat()}", param_hint="'--as-of'"
        )
    added = sorted(set(overrides) - set(saved.overrides))
    if added:
        # What a person reviewed is what is applied: no safeguard overridden afterwards.
        raise click.BadParameter(
            f"the plan was saved without --override {added[0]}; plan again with it",
            param_hint="'--override'",
        )
    missing = sorted(set(saved.overrides) - set(overrides))
    if missing:
        # A plan file is no authority: whoever applies names each override again.
        raise click.BadParameter(
            f"the plan was saved with --override {missing[0]}; pass it here too to "
            "apply the plan as it was reviewed",
            param_hint="'--override'",
        )
    if _tenant_digest(store, t) != saved.tenant_digest:
        raise Failure(
            f"stale plan: tenant {t.id} or its actors changed since the plan was saved "
            "(tenant add); run plan again"
        )
    if upload.digest != saved.file_digest:
        raise Failure(f"stale plan: {file} changed since the plan was saved; run plan again")
    now = store.repo.revision(t.id)
    if now != saved.revision:
        raise Failure(
            f"stale plan: the store of {t.id} moved from revision {saved.revision} to {now} "
            "since the plan was saved (another upload was applied); run plan again"
        )
    return saved.mode, saved.as_of, saved.overrides


def _saved_reading(
    ctx: click.Context, saved: SavedPlan, reading: ReadingOptions, max_file_size: int
) -> tuple[ReadingOptions, int]:
    """How a saved plan read its file: the file is read again exactly so.

    A reading flag given here that the plan was not made with is a usage error, as
    another ``--mode`` is: what is applied is what was reviewed.
    """
    given = click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT
    for name in PARAMETERS:
        if ctx.get_parameter_source(name) in given and getattr(reading, name) != getattr(
            saved.reading, name
        ):
            flag = "--" + name.replace("_", "-")
            raise click.BadParameter(
                f"the plan was made {saved.reading.flag(name)}; plan again to read the file "
                "otherwise",
                param_hint=f"'{flag}'",
            )
    if ctx.get_parameter_source("max_file_size") in given and max_file_size != saved.max_file_size:
        raise click.BadParameter(
            f"the plan was made with --max-file-size {format_size(saved.max_file_size)}",
            param_hint="'--max-file-size'",
        )
    return saved.reading, saved.max_file_size


@cli.command("apply")
@click.argument("file", type=_INPUT)
@_tenant_option
@_UPLOAD_PRODUCT
@click.option("--actor", "actor_id", required=True, help="Who uploads (an actor of the tenant).")
@click.option("--mode", type=_MODE_CHOICE, default=None, help="full (default) or partial.")
@_override_option
@_as_of_option
@click.option(
    "--plan",
    "plan_file",
    type=_INPUT,
    default=None,
    help="A plan saved by `plan --save`: refuse if the file or the store changed since.",
)
@click.option(
    "--results",
    type=_OUTPUT,
    default=None,
    help="Once applied, write each row's outcome (created, updated, skipped...) to this CSV.",
)
@click.option("-y", "--yes", is_flag=True, help="Apply without asking for confirmation.")
@_max_file_size_option
@reading_options
@_format_option
@click.pass_context
def apply_command(
    ctx: click.Context,
    *,
    file: Path,
    tenant_id: str,
    product: str,
    actor_id: str,
    mode: str | None,
    overrides: tuple[str, ...],
    as_of: dt.datetime | None,
    plan_file: Path | None,
    results: Path | None,
    yes: bool,
    max_file_size: int,
    reading: ReadingOptions,
    fmt: str,
) -> None:
    """Plan an upload and apply it whole, or not at all."""
    _someone_to_ask(yes)
    if results is not None:
        _check_output_folder(results, "--results")
        _check_not_clobbering(ctx, results, "--results", file, plan_file)
    state = _state(ctx)
    store = state.open(ctx, create=True)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    day = _day(as_of)
    saved: SavedPlan | None = None
    if plan_file is not None:
        saved = SavedPlan.load(plan_file)
        if saved.product != product:
            raise click.BadParameter(
                f"the plan is for a {saved.product} upload", param_hint="'--product'"
            )
        reading, max_file_size = _saved_reading(ctx, saved, reading, max_file_size)
    upload = ctx.with_resource(
        _spooled(state, file, max_file_size, saved_plan=plan_file is not None)
    )
    if saved is not None:
        mode, day, overrides = _check_saved(
            saved, store, t, actor, upload, file=file, mode=mode, day=day, overrides=overrides
        )
    plan = _plan(
        state,
        store,
        upload,
        t,
        actor,
        mode=mode or "full",
        as_of=day,
        overrides=overrides,
        reading=reading,
        product=Product(product),
    )
    if saved is not None:
        _check_replan(saved, plan)
    if not plan.applicable:
        _show_plan(state, plan, fmt)
        raise _not_applicable(plan)
    if fmt == "text":
        render.print_plan(state.out, plan)
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(
                "standard input is not a terminal, so there is no one to confirm: "
                "review with `provisioning plan`, then apply with --yes"
            )
        changes = render.change_total(plan)
        if not click.confirm(
            render.safe(f"Apply {changes} change(s) to {t.id}?"), default=False, err=True
        ):
            raise Failure("nothing was applied")
    total = render.change_total(plan)
    with _committing(state.err, t.id, total) as progress:
        approved = None if saved is None else saved.revision
        receipt = apply_plan(plan, store.repo, expected_revision=approved, progress=progress)
    if fmt == "json":
        render.write_plan_json(sys.stdout.write, plan, receipt)
    else:
        state.out.print(render.text(f"{receipt} (upload {receipt.entry.id})", style="bold green"))
    if results is not None:
        _write_results(state, receipt, results, fmt)


def _check_output_folder(path: Path, option: str) -> None:
    """Refuse, before anything is applied, an output whose folder cannot take the file."""
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        raise click.BadParameter(f"{folder} is not a folder", param_hint=f"'{option}'")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.BadParameter(f"cannot write in {folder}", param_hint=f"'{option}'")


def _write_results(state: _State, receipt: Receipt, path: Path, fmt: str) -> None:
    """Write the applied upload's results file; the upload stays applied if this fails."""
    try:
        with atomic_output(path) as stream:
            count = write_results(receipt, stream)
    except OSError as exc:
        raise Failure(
            f"the upload was applied (upload {receipt.entry.id}), but its results could not "
            f"be written to {path}: {_os_message(exc)}"
        ) from None
    if fmt == "text":
        state.out.print(render.text(f"{count} result row(s) written to {path}"))


def _someone_to_ask(yes: bool, review: str = "review first (`provisioning plan`)") -> None:
    """Refuse at once, before any file is read, to ask a question no one can answer."""
    if not yes and not sys.stdin.isatty():
        raise click.UsageError(
            f"standard input is not a terminal, so there is no one to confirm: "
            f"{review}, then run again with --yes"
        )


def _confirm_and_apply(state: _State, store: Store, plan: AnyPlan, yes: bool, fmt: str) -> Receipt:
    """Ask (unless ``--yes``), then apply ``plan`` with a progress bar; the receipt."""
    total = render.change_total(plan)
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(
                "standard input is not a terminal, so there is no one to confirm: "
                "review first, then run again with --yes"
            )
        if not click.confirm(
            render.safe(f"Apply {total} change(s) to {plan.tenant_id}?"), default=False, err=True
        ):
            raise Failure("nothing was applied")
    with _committing(state.err, plan.tenant_id, total) as progress:
        receipt = apply_plan(plan, store.repo, progress=progress)
    if fmt == "json":
        render.write_plan_json(sys.stdout.write, plan, receipt)
    else:
        state.out.print(render.text(f"{receipt} (upload {receipt.entry.id})", style="bold green"))
    return receipt


@cli.command("uploads")
@_tenant_option
@_format_option
@click.pass_context
def uploads_command(ctx: click.Context, *, tenant_id: str, fmt: str) -> None:
    """List a tenant's applied uploads (and reverts): id, when, who, mode, counts."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    entries = store.repo.uploads(t.id)
    reverted = render.reverts_of(entries)
    if fmt == "json":
        _emit_json(state, [render.upload_data(e, reverted.get(str(e.id))) for e in entries])
        return
    if not entries:
        state.out.print(render.text(f"no uploads of {t.id} yet"))
        return
    table = Table(title=escape(render.safe(f"uploads of {t.id}")))
    for column in ("id", "at", "actor", "product", "mode", "file", "counts", "revertible"):
        table.add_column(column)
    for e in entries:
        counts = ", ".join(f"{n} {k}" for k, n in e.counts.items() if n and k != "rows")
        table.add_row(
            str(e.id),
            e.at.isoformat(timespec="seconds"),
            render.text(e.actor_id),
            e.product.value,
            e.mode.value,
            render.text(e.file_digest[:23]),
            render.text(counts or "nothing"),
            render.revertible_text(e, reverted.get(str(e.id))),
        )
    state.out.print(table)


@cli.command("history")
@click.argument("key", required=False)
@_tenant_option
@click.option(
    "--upload",
    "upload_id",
    type=click.IntRange(min=1),
    default=None,
    help="Only the events of this upload (its id in `uploads`).",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only events on or after this day (UTC), YYYY-MM-DD.",
)
@click.option(
    "--product",
    type=_PRODUCT_CHOICE,
    default=None,
    help="Only the events of this product's records (a user and a contact may share a key).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="text for people; json: one JSON object a line; csv: formula-safe CSV.",
)
@click.pass_context
def history_command(
    ctx: click.Context,
    *,
    key: str | None,
    tenant_id: str,
    upload_id: int | None,
    since: dt.datetime | None,
    product: str | None,
    fmt: str,
) -> None:
    """The audit trail: every change to a record (KEY) or to the tenant, refusals included.

    A Community user and a Marketing contact may have the same KEY (a member id): each
    event names its product, and --product shows one product's events only.
    """
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    start = None if since is None else since.replace(tzinfo=dt.UTC)
    events = store.repo.events(t.id, key=key, upload_id=upload_id, since=start, product=product)
    if fmt == "json":
        for line in events_to_jsonl(events):
            sys.stdout.write(line)
        return
    if fmt == "csv":
        events_to_csv(events, sys.stdout)
        return
    table = Table(title=escape(render.safe(f"history of {key or t.id}")))
    columns = ("at", "key", "product", "actor", "channel", "kind", "changes", "upload", "rules")
    for column in columns:
        table.add_column(column)
    shown = 0
    for event in events:
        shown += 1
        table.add_row(
            event.at.isoformat(timespec="seconds"),
            render.text(event.key or ""),
            event.product.value,
            render.text(
                f"{event.actor_id} ({'operator' if event.role is None else event.role.value})"
            ),
            event.channel.value,
            event.kind.value,
            render.text("; ".join(str(c) for c in event.changes)),
            "" if event.upload_id is None else str(event.upload_id),
            render.text(" ".join(event.rules)),
        )
    state.out.print(table if shown else render.text("no events"))


@cli.command("revert")
@click.argument("upload_id", type=click.IntRange(min=1))
@_tenant_option
@click.option("--actor", "actor_id", required=True, help="Who reverts (a Super Admin).")
@_override_option
@_as_of_option
@click.option("-y", "--yes", is_flag=True, help="Apply without asking for confirmation.")
@_format_option
@click.pass_context
def revert_command(
    ctx: click.Context,
    *,
    upload_id: int,
    tenant_id: str,
    actor_id: str,
    overrides: tuple[str, ...],
    as_of: dt.datetime | None,
    yes: bool,
    fmt: str,
) -> None:
    """Undo an upload: plan its records back, show the plan, ask, apply it whole.

    The upload's id says which product it was: a Marketing upload's contacts get their
    old values back, and the contacts it created are unsubscribed.
    """
    _someone_to_ask(yes, review="to review the revert first, run it on a terminal")
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    admins = [a.id for a in store.actors(t.id) if a.role is Role.SUPER_ADMIN]
    decided_by = _still(store, t, actor)
    plan: AnyPlan
    with store.repo.snapshot():
        entry = next((e for e in store.repo.uploads(t.id) if e.id == upload_id), None)
        if entry is not None and entry.product is Product.MARKETING:
            plan = plan_contacts_revert(
                t, actor, upload_id, store.repo, as_of=_day(as_of), overrides=overrides
            )
        else:
            plan = plan_revert(
                t,
                actor,
                upload_id,
                store.repo,
                as_of=_day(as_of),
                overrides=overrides,
                protected_keys=admins,
            )
    if _stored_digest(store, t.id) != decided_by:
        raise _changed_meanwhile(t.id)
    if not plan.applicable:
        _show_plan(state, plan, fmt)
        raise _not_applicable(plan)
    if fmt == "text":
        render.print_plan(state.out, plan)
    _confirm_and_apply(state, store, plan, yes, fmt)


# -- one record at a time ----------------------------------------------------------------

_SET_HELP = (
    "Set a field, named as in the upload template: --set Title=Dr (repeat for several; "
    "an empty value clears an optional field)."
)


def _cells(pairs: tuple[str, ...]) -> dict[str, str]:
    """``Header=Value`` pairs, each header a column of the Community template."""
    known = {c.header.lower(): c.header for c in COMMUNITY_UPLOAD_USERS.columns}
    cells: dict[str, str] = {}
    for pair in pairs:
        header, sep, value = pair.partition("=")
        column = known.get(header.strip().lower())
        if not sep or column is None:
            raise click.BadParameter(
                f"{pair!r} is not Field=Value with a column of the upload template "
                "(e.g. Title=Dr; `provisioning template` lists them)",
                param_hint="'--set'",
            )
        if column in cells:
            raise click.BadParameter(f"{column} is set twice", param_hint="'--set'")
        cells[column] = value
    return cells


def _record_from_cells(cells: dict[str, str], base: UserRecord | None = None) -> UserRecord:
    """The record the cells make, read as an upload row is; a bad cell is a usage error."""
    try:
        return writes.record_from_cells(cells, base)
    except InvalidValueError as exc:
        raise BadInput(str(exc)) from None


def _write_result(state: _State, fmt: str, verb: str, result: WriteResult) -> None:
    if fmt == "json":
        _emit_json(
            state,
            {
                "key": result.record.legacy_contact_key,
                "status": result.record.status.value,
                "revision": result.revision,
                "event": result.event.to_dict(),
            },
        )
        return
    record = result.record
    state.out.print(
        render.text(
            f"{verb} {record.legacy_contact_key} ({record.status.value}) at revision "
            f"{result.revision}",
            style="bold green",
        )
    )


@cli.command("register")
@_tenant_option
@click.option("--key", required=True, help="The registrant's LegacyContactKey.")
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--email", required=True)
@click.option("--company", required=True)
@click.option("--set", "pairs", multiple=True, help=_SET_HELP)
@_format_option
@click.pass_context
def register_command(
    ctx: click.Context,
    *,
    tenant_id: str,
    key: str,
    first_name: str,
    last_name: str,
    email: str,
    company: str,
    pairs: tuple[str, ...],
    fmt: str,
) -> None:
    """A self-registration on a standalone site: the registrant is the actor."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    cells = {
        "LegacyContactKey": key,
        "FirstName": first_name,
        "LastName": last_name,
        "EmailAddress": email,
        "CompanyName": company,
    } | _cells(pairs)
    result = writes.register(t, _record_from_cells(cells), store.repo)
    _write_result(state, fmt, "registered", result)


@cli.group("user")
def user_group() -> None:
    """Create, edit, deactivate or reactivate one user record, or delete a person's data."""


@user_group.command("create")
@_tenant_option
@click.option("--actor", "actor_id", required=True, help="Who creates (a user admin).")
@click.option("--set", "pairs", multiple=True, required=True, help=_SET_HELP)
@_format_option
@click.pass_context
def user_create(
    ctx: click.Context, *, tenant_id: str, actor_id: str, pairs: tuple[str, ...], fmt: str
) -> None:
    """Create a record from --set Field=Value pairs (the template's required ones at least)."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    record = _record_from_cells(_cells(pairs))
    _write_result(state, fmt, "created", writes.create_user(t, actor, record, store.repo))


@user_group.command("edit")
@click.argument("key")
@_tenant_option
@click.option("--actor", "actor_id", required=True, help="Who edits (a user admin).")
@click.option("--set", "pairs", multiple=True, required=True, help=_SET_HELP)
@_format_option
@click.pass_context
def user_edit(
    ctx: click.Context, *, key: str, tenant_id: str, actor_id: str, pairs: tuple[str, ...], fmt: str
) -> None:
    """Change fields of the record KEY (not its key, nor its status)."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    cells = _cells(pairs)
    for fixed in ("LegacyContactKey", "Status"):
        if fixed in cells:
            why = "the key names the record" if fixed == "LegacyContactKey" else "use deactivate"
            raise click.BadParameter(f"{fixed} is not edited: {why}", param_hint="'--set'")
    stored = store.repo.get(t.id, key)
    if stored is None:
        raise BadInput(f"tenant {t.id} has no record {key!r}")
    if stored.status is RecordStatus.DELETED:
        raise BadInput(
            f"record {key!r}: the person's data was deleted, and nothing brings it back "
            "(DEACTIVATE_NOT_DELETE)"
        )
    edited = _record_from_cells(cells, base=stored)
    fields = {c.field for c in COMMUNITY_UPLOAD_USERS.columns if c.header in cells and c.field}
    values = {name: getattr(edited, name) for name in fields}
    _write_result(state, fmt, "edited", writes.edit_user(t, actor, key, values, store.repo))


@user_group.command("deactivate")
@click.argument("key")
@_tenant_option
@click.option("--actor", "actor_id", required=True, help="Who deactivates (a user admin).")
@_format_option
@click.pass_context
def user_deactivate(
    ctx: click.Context, *, key: str, tenant_id: str, actor_id: str, fmt: str
) -> None:
    """Deactivate the user KEY: login blocked, the record and its content kept."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    _write_result(state, fmt, "deactivated", writes.deactivate_user(t, actor, key, store.repo))


@user_group.command("delete-personal-data")
@click.argument("key")
@_tenant_option
@click.option("--actor", "actor_id", required=True, help="Who deletes (a user admin).")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking for confirmation.")
@_format_option
@click.pass_context
def user_delete_personal_data(
    ctx: click.Context, *, key: str, tenant_id: str, actor_id: str, yes: bool, fmt: str
) -> None:
    """Delete the personal data of user KEY, in the record and the audit trail: final.

    The record stays, status Deleted, so no upload or push brings the person back; its
    earlier audit events keep when, who and which fields, not the values.
    """
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(
                "standard input is not a terminal, so there is no one to confirm: deleting "
                "personal data cannot be undone; run again with --yes"
            )
        if not click.confirm(
            render.safe(f"Delete the personal data of {key} in {t.id}? It cannot be undone."),
            default=False,
            err=True,
        ):
            raise Failure("nothing was deleted")
    result = writes.delete_personal_data(t, actor, key, store.repo)
    _write_result(state, fmt, "deleted the personal data of", result)


def _review_command(name: str, verb: str, write: Callable[..., WriteResult], doc: str) -> None:
    @cli.command(name, help=doc)
    @click.argument("key")
    @_tenant_option
    @click.option("--actor", "actor_id", required=True, help="Who reviews (a user admin).")
    @_format_option
    @click.pass_context
    def command(ctx: click.Context, *, key: str, tenant_id: str, actor_id: str, fmt: str) -> None:
        state = _state(ctx)
        store = state.open(ctx)
        t = _load_tenant(store, tenant_id)
        actor = _load_actor(store, t, actor_id)
        _write_result(state, fmt, verb, write(t, actor, key, store.repo))


_review_command(
    "approve",
    "approved",
    writes.approve_request,
    "Approve the Pending Approval account request KEY: the account is enabled.",
)
_review_command(
    "reject",
    "rejected",
    writes.reject_request,
    "Reject the Pending Approval account request KEY (the record is kept, Rejected).",
)


@cli.command("verify-email")
@click.argument("key")
@_tenant_option
@_format_option
@click.pass_context
def verify_email_command(ctx: click.Context, *, key: str, tenant_id: str, fmt: str) -> None:
    """The registrant KEY followed the verification link (what the host calls then)."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    _write_result(state, fmt, "verified", writes.verify_email(t, key, store.repo))


@user_group.command("reactivate")
@click.argument("key")
@_tenant_option
@click.option("--actor", "actor_id", required=True, help="Who reactivates (a user admin).")
@_format_option
@click.pass_context
def user_reactivate(
    ctx: click.Context, *, key: str, tenant_id: str, actor_id: str, fmt: str
) -> None:
    """Reactivate the deactivated user KEY: login works again."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    _write_result(state, fmt, "reactivated", writes.reactivate_user(t, actor, key, store.repo))


#: The most bytes a push file may hold, and one of its lines.
_PUSH_CAP: Final = 200 * 1024 * 1024
_PUSH_LINE_CAP: Final = 1024 * 1024


def _push_operations(path: Path) -> tuple[list[writes.PushOperation], list[str]]:
    """The operations of a JSON-lines push file (``-``: standard input), and the errors of
    the lines that are none, each naming its line."""
    operations: list[writes.PushOperation] = []
    problems: list[str] = []
    stream = sys.stdin.buffer if str(path) == "-" else None
    opened = nullcontext(stream) if stream is not None else open_regular(path, "push file")
    total = 0
    with opened as source:
        assert source is not None
        for number, raw in enumerate(iter(lambda: source.readline(_PUSH_LINE_CAP + 1), b""), 1):
            total += len(raw)
            if total > _PUSH_CAP:
                raise BadInput(
                    f"{path}: the push file is larger than {_PUSH_CAP:,} bytes; split it"
                )
            if len(raw) > _PUSH_LINE_CAP:
                raise BadInput(f"{path}: line {number} is longer than {_PUSH_LINE_CAP:,} bytes")
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8"), object_pairs_hook=_one_each)
                if not isinstance(data, dict) or set(data) - {"op", "record"}:
                    raise ValueError('each line is {"op": ..., "record": {...}} and nothing else')
                record = data.get("record", {})
                if not isinstance(record, dict) or not all(
                    isinstance(v, str) for v in record.values()
                ):
                    raise ValueError("record is an object of template headers to text")
                operations.append(writes.PushOperation(data.get("op", ""), record, number))
            except RecursionError:
                problems.append(f"line {number}: the JSON is nested too deeply")
            except json.JSONDecodeError as exc:
                problems.append(f"line {number}: not JSON: {exc.msg} at column {exc.colno}")
            except (ValueError, UnicodeDecodeError, InvalidValueError) as exc:
                problems.append(f"line {number}: {exc}")
    return operations, problems


def _one_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose names are each given once (a repeat is no guess of ours)."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise ValueError(f"{name!r} is given twice in one object")
        if isinstance(value, str) and _SURROGATE(value):
            raise ValueError(f"the value of {name!r} holds a lone surrogate, which is no text")
        found[name] = value
    return found


_SURROGATE = re.compile("[\ud800-\udfff]").search


@cli.command("push")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@_tenant_option
@click.option(
    "--actor", "actor_id", required=True, help="The integration (an actor of the tenant)."
)
@_format_option
@click.pass_context
def push_command(
    ctx: click.Context, *, file: Path, tenant_id: str, actor_id: str, fmt: str
) -> None:
    """Apply an integration push: JSON lines of upsert / patch / deactivate / reactivate."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = _load_actor(store, t, actor_id)
    operations, problems = _push_operations(file)
    outcome: writes.PushResult | tuple[writes.PushError, ...] = ()
    if not problems:
        outcome = writes.push(t, actor, operations, store.repo)
        if not isinstance(outcome, writes.PushResult):
            problems = [str(e) for e in outcome]
    if problems:
        if fmt == "json":
            _emit_json(state, {"applied": False, "errors": problems})
        else:
            for problem in problems[:50]:
                state.err.print(render.text(problem))
        raise Failure(f"{len(problems)} line(s) of the push cannot be applied; nothing was written")
    assert isinstance(outcome, writes.PushResult)
    if fmt == "json":
        _emit_json(
            state,
            {
                "applied": True,
                "revision": outcome.revision,
                "events": [e.to_dict() for e in outcome.events],
                "unchanged": list(outcome.unchanged),
            },
        )
        return
    kinds = Counter(e.kind.value for e in outcome.events)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no change"
    state.out.print(
        render.text(
            f"pushed to {t.id}: {summary}, {len(outcome.unchanged)} unchanged"
            + (f" (revision {outcome.revision})" if outcome.revision is not None else ""),
            style="bold green",
        )
    )


@cli.command("export")
@_tenant_option
@_UPLOAD_PRODUCT
@click.option("-o", "--output", type=_OUTPUT, default=None, help="Write here, not to stdout.")
@click.pass_context
def export_command(
    ctx: click.Context, *, tenant_id: str, product: str, output: Path | None
) -> None:
    """Write a tenant's stored records as an Upload Users file (formula-safe); records whose
    person's data was deleted are left out. With --product marketing, its contacts as the
    contact file of its edition."""
    _check_not_clobbering(ctx, output, "-o")
    state = _state(ctx)
    store = state.open(ctx)
    if product == Product.MARKETING.value:
        _export_contacts(state, store, tenant_id, output)
        return
    template = COMMUNITY_UPLOAD_USERS
    known = set(template.headers)
    # One read transaction: both passes over the records see the same snapshot, even
    # while an upload is applied; the file is replaced whole, or left as it was.
    with store.repo.snapshot():
        t = _load_tenant(store, tenant_id)
        extra = sorted({k for r in store.repo.records(t.id) for k in r.custom if k not in known})
        with atomic_output(output) as stream:
            kept = (r for r in store.repo.records(t.id) if r.status is not RecordStatus.DELETED)
            count = write(kept, stream, template, extra_columns=extra)
    if output is not None:
        state.err.print(render.text(f"exported {count} records of {t.id} to {output}"))


def _export_contacts(state: _State, store: Store, tenant_id: str, output: Path | None) -> None:
    """Write a tenant's Marketing contacts as the contact file its edition uploads."""
    with store.repo.snapshot():
        t = _load_tenant(store, tenant_id)
        template = contact_template(t)
        known = set(template.headers)
        extra = sorted(
            {k for _, c in store.repo.contacts(t.id) for k in c.custom if k not in known}
        )
        # A contact file has no subscription column (MARKETING_SUBSCRIPTION_UPLOADS):
        # the unsubscribed contacts (by a full import, or a revert) are left out, and
        # said to be; an upload of the file keeps them as they are.
        unsubscribed = [0]

        def subscribed() -> Iterator[Contact]:
            for _, contact in store.repo.contacts(t.id):
                if contact.subscription is SubscriptionStatus.UNSUBSCRIBED:
                    unsubscribed[0] += 1
                else:
                    yield contact

        with atomic_output(output) as stream:
            count = write(subscribed(), stream, template, extra_columns=extra)
    if output is not None:
        state.err.print(render.text(f"exported {count} contacts of {t.id} to {output}"))
    _note_tab_delimited(state, template, output)
    if unsubscribed[0]:
        state.err.print(
            render.text(
                f"{unsubscribed[0]} unsubscribed contact(s) left out: a contact file has no "
                "subscription column, and an upload of it keeps them as they are"
            )
        )


# -- rules -------------------------------------------------------------------------------


@cli.command("explain")
@_tenant_option
@click.option(
    "--actor",
    "actor_id",
    default=None,
    help="An actor of the tenant (default: for each action, the role that takes it).",
)
@click.option("--action", type=click.Choice([a.value for a in Action]), default=None)
@_product_option
@_as_of_option
@_format_option
@click.pass_context
def explain_command(
    ctx: click.Context,
    *,
    tenant_id: str,
    actor_id: str | None,
    action: str | None,
    product: str,
    as_of: dt.datetime | None,
    fmt: str,
) -> None:
    """What an actor may do on a tenant, and the rules why (exit 1 if --action is refused)."""
    state = _state(ctx)
    store = state.open(ctx)
    t = _load_tenant(store, tenant_id)
    actor = None if actor_id is None else _load_actor(store, t, actor_id)
    actions = [Action(action)] if action else list(Action)
    day = _day(as_of)
    decisions = []
    for each in actions:
        who = actor or Actor(id=f"any-{ACTING_ROLE[each].value}", role=ACTING_ROLE[each])
        decisions.append(decide(t, who, each, product=Product(product), as_of=day))
    if fmt == "json":
        _emit_json(
            state,
            {"tenant": t.id, "decisions": [render.decision_data(d, actor) for d in decisions]},
        )
    elif action is not None:
        d = decisions[0]
        who_text = actor.id if actor else f"any {d.role}"
        head = render.text(f"{d.action} on {d.product} by {who_text} ({d.role}): ")
        head.append(*(("allowed", "bold green") if d.allowed else ("refused", "bold red")))
        state.out.print(head)
        state.out.print(render.findings_table(d.findings))
    else:
        table = Table(title=render.text(f"tenant {t.id}, {product}"), title_justify="left")
        for name in ("action", "role", "verdict", "rules"):
            table.add_column(name)
        for d in decisions:
            verdict = (
                render.styled("allowed", "met") if d.allowed else render.styled("refused", "error")
            )
            table.add_row(str(d.action), str(d.role), verdict, render.text(", ".join(d.rules)))
        state.out.print(table)
    if action is not None and not decisions[0].allowed:
        ctx.exit(EXIT_REFUSED)


@cli.command("sso")
@_tenant_option
@_product_option
@_as_of_option
@_format_option
@click.pass_context
def sso_command(
    ctx: click.Context, *, tenant_id: str, product: str, as_of: dt.datetime | None, fmt: str
) -> None:
    """Where a tenant stands on SSO, requirement by requirement (exit 1 unless eligible)."""
    state = _state(ctx)
    t = _load_tenant(state.open(ctx), tenant_id)
    result = sso_eligibility(t, product=Product(product), as_of=_day(as_of))
    if fmt == "json":
        _emit_json(state, render.sso_data(t.id, result))
    else:
        tone = "bold green" if result.eligible else "bold red"
        head = render.text(f"SSO for {t.id} ({result.product}) as of {result.as_of.isoformat()}: ")
        head.append(str(result.status), style=tone)
        state.out.print(head)
        if result.findings:
            state.out.print(render.findings_table(result.findings))
        if result.requirements:
            table = Table()
            for name in ("state", "requirement", "rule", "detail"):
                table.add_column(name)
            for r in result.requirements:
                mark = "met" if r.met else "unmet"
                table.add_row(
                    render.styled(mark), render.text(r.name), r.rule, render.text(r.detail)
                )
            state.out.print(table)
        state.out.print(
            render.text(f"earliest go-live the lead time allows: {result.earliest_go_live}")
        )
    if not result.eligible:
        ctx.exit(EXIT_REFUSED)


def main() -> None:
    """Run the ``provisioning`` command."""
    # One command, one short process: its millions of records hold no reference cycles,
    # and the cycle collector's full passes over them cost about 14% of a
    # 1,000,000-row apply. Reference counting frees everything as before.
    gc.disable()
    cli.main(prog_name="provisioning")
