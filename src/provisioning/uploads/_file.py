"""Plan an upload straight from a file: open it, digest it, read it and plan it, once.

Every caller needs the same four steps, and the order matters: the digest the history
records must be of exactly the bytes the reader read, even if the file changes while it
is read. So the file is copied aside once (at most ``max_file_size`` bytes, digested on
the way) and the reader reads the copy. The command-line tool plans through
:func:`plan_spooled` too, with its own progress bar and flag names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any, BinaryIO, Final

import attrs

from .._validators import check_type
from ..actors import Actor
from ..exceptions import InvalidValueError
from ..records import UserRecord
from ..repository import Repository, UploadMode
from ..rules import DEFAULT_RULEBOOK, RuleBook
from ..spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    DEFAULT_MAX_FILE_SIZE,
    DateOrder,
    OptionNames,
    Template,
    read,
)
from ..tenants import Tenant
from ._plan import HOLD, plan_upload
from ._results import UploadPlan
from ._safeguards import Safeguard

__all__ = ["Spooled", "plan_spooled", "plan_upload_file", "spool"]

_CHUNK: Final = 1 << 16
#: How much of a spooled file stays in memory before it moves to a temporary file.
_IN_MEMORY: Final = 8 << 20

#: Wraps the opened file, given its size as the system reports it: a progress bar, say.
Watch = Callable[[BinaryIO, int], AbstractContextManager[BinaryIO]]


@attrs.frozen
class Spooled:
    """An upload file read once, within its cap: a copy of its bytes and their digest."""

    stream: IO[bytes]
    #: ``sha256:`` and the hex digest of exactly the bytes in ``stream``.
    digest: str
    #: How many bytes were copied (one more than the cap when the file is over it).
    size: int
    #: The file it is a copy of.
    path: Path


@contextmanager
def spool(
    opened: BinaryIO, path: Path, cap: int | None, *, watch: Watch | None = None
) -> Iterator[Spooled]:
    """Copy the open file ``opened`` aside, digesting it on the way.

    At most ``cap + 1`` bytes are copied: the reader, given the same cap, then refuses a
    file over it with its own ``file_too_large`` error, having read no more than that.
    """
    reported = os.fstat(opened.fileno()).st_size if hasattr(opened, "fileno") else 0
    limit = None if cap is None else cap + 1
    digest = hashlib.sha256()
    size = 0
    with (
        tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as copy,
        watch(opened, reported) if watch else nullcontext(opened) as source,
    ):
        while limit is None or size < limit:
            chunk = source.read(_CHUNK if limit is None else min(_CHUNK, limit - size))
            if not chunk:
                break
            size += len(chunk)
            digest.update(chunk)
            copy.write(chunk)
        copy.seek(0)
        yield Spooled(copy, "sha256:" + digest.hexdigest(), size, path)


@contextmanager
def spool_file(path: str | os.PathLike[str], max_file_size: int | None) -> Iterator[Spooled]:
    """The regular file at ``path`` opened and :func:`spool`-ed, ``path`` and
    ``max_file_size`` checked first (the ``*_file`` planners' common start)."""
    check_type(path, str | os.PathLike, "path", "a file path")  # type: ignore[arg-type]
    where = Path(path)
    if max_file_size is not None and (type(max_file_size) is not int or max_file_size < 1):
        raise InvalidValueError(
            f"max_file_size must be a whole number of bytes above 0 or None, got {max_file_size!r}",
            field="max_file_size",
        )
    with _open_regular(where) as opened, spool(opened, where, max_file_size) as upload:
        yield upload


def plan_spooled(
    upload: Spooled,
    tenant: Tenant,
    actor: Actor,
    repository: Repository,
    *,
    template: Template[Any] = COMMUNITY_UPLOAD_USERS,
    stream: IO[bytes] | None = None,
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
    date_order: DateOrder | None = None,
    lenient_headers: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
    option_names: OptionNames | None = None,
    mode: UploadMode | str = UploadMode.FULL,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    overrides: Safeguard | str | Iterable[Safeguard | str] = (),
    protected_keys: Collection[str] | str = (),
    hold: int = HOLD,
) -> UploadPlan:
    """Read the spooled ``upload`` (or ``stream``, a view of it) and plan it.

    The plan's ``file_digest`` is the spool's: the digest of the bytes read.
    """
    rows = read(
        upload.stream if stream is None else stream,
        template,
        date_order=date_order,
        lenient_headers=lenient_headers,
        max_file_size=max_file_size,
        option_names=option_names,
        encoding=encoding,
        sheet=sheet,
    )
    return plan_upload(
        tenant,
        actor,
        rows,
        repository,
        mode=mode,
        rulebook=rulebook,
        as_of=as_of,
        overrides=overrides,
        protected_keys=protected_keys,
        file_digest=upload.digest,
        hold=hold,
    )


def plan_upload_file(
    path: str | os.PathLike[str],
    tenant: Tenant,
    actor: Actor,
    repository: Repository,
    *,
    template: Template[Any] = COMMUNITY_UPLOAD_USERS,
    date_order: DateOrder | None = None,
    lenient_headers: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
    mode: UploadMode | str = UploadMode.FULL,
    rulebook: RuleBook = DEFAULT_RULEBOOK,
    as_of: dt.date | None = None,
    overrides: Safeguard | str | Iterable[Safeguard | str] = (),
    protected_keys: Collection[str] | str = (),
) -> UploadPlan:
    """Plan the Community upload file at ``path`` (CSV, or a workbook with the extra
    ``xlsx``); ``template`` is a template of user records (the Community template, or
    one extended with custom columns).

    The file is opened, digested, read and planned in one go: the plan's
    ``file_digest`` is the SHA-256 of exactly the bytes read, however the file changes
    meanwhile, and :func:`apply_plan` records it in the history. The reader's options
    (``date_order``, ``lenient_headers``, ``encoding``, ``sheet``, ``max_file_size``)
    are :func:`provisioning.spreadsheet.read`'s; the planning options (``mode``,
    ``rulebook``, ``as_of``, ``overrides``, ``protected_keys``) are :func:`plan_upload`'s.

    Only a regular file is read (a folder, a FIFO or a device raises
    :class:`~provisioning.InvalidValueError`), and no more than ``max_file_size`` bytes
    of it: a larger file raises :class:`~provisioning.SpreadsheetError` with code
    ``file_too_large`` once the limit is passed. ``OSError`` (a missing file, say)
    propagates as it is.
    """
    template = check_type(template, Template, "template", "a Template")
    if not issubclass(template.record_type, UserRecord):
        raise InvalidValueError(
            f"template: plan_upload_file plans Community uploads (user records); the "
            f"{template.name!r} template's rows are {template.record_type.__name__}s: read "
            "a Marketing file with the tenant's contact template and plan it with "
            "plan_contacts",
            field="template",
        )
    with spool_file(path, max_file_size) as upload:
        return plan_spooled(
            upload,
            tenant,
            actor,
            repository,
            template=template,
            max_file_size=max_file_size,
            date_order=date_order,
            lenient_headers=lenient_headers,
            encoding=encoding,
            sheet=sheet,
            mode=mode,
            rulebook=rulebook,
            as_of=as_of,
            overrides=overrides,
            protected_keys=protected_keys,
        )


@contextmanager
def _open_regular(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for binary reading, checked on the descriptor to be a regular file.

    Opened without blocking, so a FIFO named as the file is refused instead of waiting
    for a writer.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    if path.is_dir():
        raise InvalidValueError(f"{path}: the upload file is a folder", field="path")
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidValueError(
                f"{path}: the upload file is not a regular file (a pipe or a device?); "
                "only regular files are read",
                field="path",
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream
