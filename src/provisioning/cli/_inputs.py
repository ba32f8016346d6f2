"""Every file the command reads or writes, bounded and checked.

Inputs: only regular files are read (a device or a FIFO named as a path is refused at
once, before a byte is read), and never more than a cap, so an endless stream is refused
instead of hanging the command or filling memory. Outputs are written to a temporary
file beside the target, flushed to disk, then moved into place: the target is either the
old file or the whole new one.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import IO, BinaryIO, cast

from ..uploads import Spooled
from ._render import TerminalText

__all__ = [
    "DOCUMENT_CAP",
    "InputError",
    "Spooled",
    "Watch",
    "atomic_output",
    "format_size",
    "open_regular",
    "parse_size",
    "read_capped",
    "spool",
]

#: The most a tenant TOML file or a plan JSON file may hold: 1 MiB.
DOCUMENT_CAP = 1 << 20

_CHUNK = 1 << 16
# How much of a spooled upload is kept in memory before it moves to a temporary file.
_SPOOL_IN_MEMORY = 8 << 20


class InputError(Exception):
    """A file the command was given cannot be used: unreadable, undecodable or malformed."""


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
}
_SIZE = re.compile(r"\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-z]*)\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """A size in bytes from ``text``: a number with an optional ``B``, ``KB``/``MB``/``GB``
    (decimal: 1 MB is 1,000,000 bytes) or ``KiB``/``MiB``/``GiB`` (binary), in any case.

    :class:`ValueError`, with the reason, for anything else and for sizes under one byte.
    """
    match = _SIZE.fullmatch(text)
    if match is None:
        if text.strip().startswith("-"):
            raise ValueError(f"{text!r} is negative; a size is a number of bytes above 0")
        raise ValueError(
            f"{text!r} is not a size: give bytes, or a number with KB, MB, GB "
            "(decimal) or KiB, MiB, GiB (binary), such as 200MB"
        )
    unit = match["unit"].lower()
    if unit not in _UNITS:
        raise ValueError(
            f"{text!r}: unknown unit {match['unit']!r}; use B, KB, MB, GB, KiB, MiB or GiB"
        )
    whole, _, fraction = match["number"].partition(".")
    scale = _UNITS[unit]
    size = int(whole) * scale + int(fraction or "0") * scale // int("1" + "0" * len(fraction))
    if size < 1:
        raise ValueError(f"{text!r} is {size} bytes; the limit must be at least 1 byte")
    return size


def format_size(size: int) -> str:
    """``size`` bytes in the shortest decimal unit that states it exactly: ``50MB``."""
    for unit in ("GB", "MB", "KB"):
        scale = _UNITS[unit.lower()]
        if size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@contextmanager
def open_regular(path: Path, what: str) -> Iterator[BinaryIO]:
    """``path`` opened for reading in binary; :class:`InputError` unless a regular file.

    The file is opened without blocking (a FIFO would otherwise wait for a writer) and
    checked on the opened descriptor, so what is checked is what is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except IsADirectoryError:
        raise InputError(f"{path}: the {what} is a folder, not a file") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{path}: the {what} is {_kind(mode)}; only regular files are read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream


def _too_large(path: Path, what: str, cap: int, hint: str = "") -> InputError:
    return InputError(
        f"{path}: the {what} is larger than the limit of {cap:,} bytes; it is refused unread"
        + (f": {hint}" if hint else "")
    )


def read_capped(path: Path, what: str, cap: int = DOCUMENT_CAP) -> bytes:
    """The bytes of the regular file ``path``; :class:`InputError` past ``cap`` bytes."""
    with open_regular(path, what) as stream:
        data = stream.read(cap + 1)
    if len(data) > cap:
        raise _too_large(path, what, cap)
    return data


#: Wraps the opened file, given its size: a progress bar, say.
Watch = Callable[[BinaryIO, int], AbstractContextManager[BinaryIO]]


@contextmanager
def spool(
    path: Path,
    what: str,
    cap: int,
    *,
    watch: Watch | None = None,
    hint: Callable[[int], str] | None = None,
) -> Iterator[Spooled]:
    """Copy the regular file ``path`` (at most ``cap`` bytes) aside, digesting it on the way.

    The reader then reads the copy, so the digest is of exactly the bytes it reads even
    if the file changes meanwhile; past ``cap`` bytes :class:`InputError` is raised
    without reading on, its message ending with ``hint(size)`` (``size``: the file's
    size as the system reports it) when given.
    """
    with (
        open_regular(path, what) as opened,
        tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as copy,
    ):
        reported = os.fstat(opened.fileno()).st_size
        if reported > cap:  # known too large: refused before a byte is read
            raise _too_large(path, what, cap, hint(reported) if hint else "")
        total = reported
        digest = hashlib.sha256()
        size = 0
        with watch(opened, total) if watch else nullcontext(opened) as source:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise _too_large(path, what, cap, hint(max(reported, size)) if hint else "")
                digest.update(chunk)
                copy.write(chunk)
        copy.seek(0)
        yield Spooled(copy, "sha256:" + digest.hexdigest(), size, path)


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _on_screen(stream: IO[str]) -> IO[str]:
    """``stream``, or on a terminal a view that escapes control characters, line by line.

    Stored values and file cells are untrusted text: no escape sequence among them may
    reach a terminal (to a file or a pipe, the text goes out as it is).
    """
    if stream.isatty():
        return cast(IO[str], TerminalText(stream))
    return stream


@contextmanager
def atomic_output(path: Path | None) -> Iterator[IO[str]]:
    """A text stream for ``path`` (standard output when ``None``), replaced whole or not at all.

    The text goes to a temporary file in the target's folder, which is flushed to disk
    and then renamed over the target; if anything fails first, the temporary file is
    removed and the target is left as it was. A target that exists and is not a regular
    file (``/dev/stdout``, a FIFO) cannot be replaced and is written directly.
    """
    if path is None:
        yield _on_screen(sys.stdout)
        return
    target = Path(os.path.realpath(path))  # through a symbolic link, as open() would
    try:
        existing: int | None = target.stat().st_mode
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing):
        with target.open("w", encoding="utf-8", newline="") as direct:
            yield _on_screen(direct)
        return
    mode = _mode_for(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        temp.chmod(mode)
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable; not every system lets a folder be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
