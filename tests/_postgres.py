"""A throwaway PostgreSQL server for the tests, from the binaries this machine has.

``initdb`` into a temporary folder, ``pg_ctl start`` on a free local port with the socket
in that folder, an ordinary role owning a database, ``pg_ctl stop`` at the end. As root
(as CI runs), the server runs as the ``postgres`` system user: ``pg_ctl`` refuses root.
The database's default collation is ICU's English one, so that a query relying on the
database's collation for key order would sort differently from Python (the adapter's
keys are ``COLLATE "C"``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs
import psycopg

#: The ordinary role the tests connect as: it owns the database, and is no superuser
#: and has no BYPASSRLS.
OWNER = "provisioning_owner"
#: An application role without rights of its own, for the tests of ``db migrate --grant``.
APP = "provisioning_app"
#: The database the owner owns.
DATABASE = "provisioning"
#: The server's superuser (the role ``initdb`` makes).
SUPERUSER = "postgres"

_WHERE = (
    Path("/usr/local/bin"),
    *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True),
)


def server_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, in /usr/local/bin or in
    Debian's /usr/lib/postgresql/VERSION/bin; ``None`` when there is none."""
    found = shutil.which("initdb")
    folders = [Path(found).parent] if found else []
    folders += _WHERE
    for folder in folders:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


NO_SERVER = (
    "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH, in /usr/local/bin or "
    "in /usr/lib/postgresql/*/bin: install PostgreSQL to run the PostgreSQL tests"
)


@attrs.frozen
class Server:
    """A running throwaway server: its socket folder and port."""

    socket_dir: Path
    port: int

    def conninfo(self, user: str = OWNER, dbname: str = DATABASE) -> str:
        """A libpq connection string through the server's socket."""
        return f"host={self.socket_dir} port={self.port} user={user} dbname={dbname}"

    def url(self, user: str = OWNER, dbname: str = DATABASE) -> str:
        """A ``postgresql://`` URL over TCP on the local interface."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def superuser(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection as the superuser, to the owner's database."""
        return psycopg.connect(self.conninfo(SUPERUSER), autocommit=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def throwaway_server(
    binaries: Path, *, settings: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """Start a server in a new temporary folder; stop it and remove the folder after.

    ``settings`` are server settings beyond the tests' own (``{"shared_buffers": "1GB"}``).
    """
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="provisioning-pg-"))
    if os.geteuid() == 0:  # pg_ctl refuses root: run the server as the postgres user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            raise RuntimeError(
                "running as root, the tests start PostgreSQL as the `postgres` system user, "
                "and there is none: create it (useradd --system postgres) or run as another user"
            ) from None
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    try:
        subprocess.run(
            [
                *prefix,
                str(binaries / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
                "--locale-provider",
                "icu",
                "--icu-locale",
                "en-US",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        for attempt in range(3):
            port = _free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
                + "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
            )
            started = subprocess.run(
                [
                    *prefix,
                    *(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log)),
                    *("-w", "-t", "60", "-o", options, "start"),
                ],
                check=False,
                capture_output=True,
            )
            if started.returncode == 0:
                break
            if attempt == 2:
                raise RuntimeError(
                    f"pg_ctl start failed: {started.stderr.decode()}\n{log.read_text()}"
                )
        server = Server(socket_dir=root, port=port)
        with psycopg.connect(server.conninfo(SUPERUSER, "postgres"), autocommit=True) as con:
            con.execute(f"CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOBYPASSRLS")
            con.execute(f"CREATE ROLE {APP} LOGIN NOSUPERUSER NOBYPASSRLS")
            con.execute(f"CREATE DATABASE {DATABASE} OWNER {OWNER}")
        yield server
    finally:
        if data.exists():
            subprocess.run(
                [*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                check=False,
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)
