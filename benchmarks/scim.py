"""SCIM creates over HTTP, beside the direct write path, on SQLite and PostgreSQL.

For each store, a live ``provisioning scim serve`` (waitress, ``--threads 4``) in a
subprocess takes ``--requests`` ``POST /Users`` of new users for an integration tenant,
first over 1 client connection (one request after another, kept alive), then over 4 at
once; each is a decided, audited commit. Beside it, the same number of single-record
creates through :func:`provisioning.writes.push` in this process (the direct write
path: no HTTP, no SCIM), before and after, the better kept. Reported: requests
(commits) a second, and each SCIM figure as a ratio of the direct one.

PostgreSQL is the database of ``--postgres-url`` (a ``postgresql://`` URL: the command
serves URLs), in its ``provisioning`` schema, under a tenant id of its own; without the
flag, a throwaway server is started from the machine's binaries, as the tests do; with
``--no-postgres``, SQLite only. Report only: there is no target, so the exit status is 0
unless a request fails.

    python benchmarks/scim.py                          # 2,000 creates per measure
    python benchmarks/scim.py --requests 200 --postgres-url postgresql://me@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import provisioning as pv
from provisioning import writes
from provisioning.adapters import SqliteRepository
from provisioning.scim import ScimState
from provisioning.writes import PushOperation

ACTOR = pv.Actor(id="okta", role="integration")
_SERVING = re.compile(r"serving SCIM 2\.0 of .* at http://([^:/]+):(\d+)/")


def tenant(tenant_id: str) -> pv.Tenant:
    return pv.Tenant(
        id=tenant_id,
        name="Bench",
        products={"community": "standard_integration"},
        integration="salesforce",
    )


def user(n: int, run: str) -> dict[str, Any]:
    key = f"{run}-{n:07d}"
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"{key}@example.org",
        "externalId": key,
        "active": True,
        "name": {"givenName": "Member", "familyName": str(n)},
        "emails": [{"value": f"{key}@example.org", "primary": True}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"organization": "Guild"},
    }


def cells(n: int, run: str) -> dict[str, str]:
    key = f"{run}-{n:07d}"
    return {
        "LegacyContactKey": key,
        "FirstName": "Member",
        "LastName": str(n),
        "EmailAddress": f"{key}@example.org",
        "CompanyName": "Guild",
    }


@contextlib.contextmanager
def serving(db: str, folder: Path) -> Iterator[tuple[str, int]]:
    """``provisioning --db DB scim serve --port 0 --threads 4``: its host and port."""
    log = folder / f"serve-{uuid.uuid4().hex[:8]}.log"
    with log.open("w", encoding="utf-8") as err:
        command = [sys.executable, "-m", "provisioning.cli", "--db", db, "scim", "serve"]
        proc = subprocess.Popen(
            [*command, "--port", "0", "--threads", "4"], stdout=subprocess.DEVNULL, stderr=err
        )
    try:
        deadline = time.monotonic() + 60
        while (found := _SERVING.search(log.read_text(encoding="utf-8"))) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {log.read_text(encoding='utf-8')}")
            time.sleep(0.05)
        yield found.group(1), int(found.group(2))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def post_all(where: tuple[str, int], tenant_id: str, token: str, numbers: range, run: str) -> None:
    """POST a user for each of ``numbers`` over one kept-alive connection."""
    con = http.client.HTTPConnection(*where, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    try:
        for n in numbers:
            con.request("POST", f"/{tenant_id}/v2/Users", json.dumps(user(n, run)), headers)
            response = con.getresponse()
            body = response.read()
            if response.status != 201:
                raise SystemExit(f"POST answered {response.status}: {body[:300]!r}")
    finally:
        con.close()


def over_http(
    where: tuple[str, int], tenant_id: str, token: str, count: int, connections: int
) -> float:
    """Creates a second over ``connections`` connections at once."""
    run = uuid.uuid4().hex[:8]
    share = -(-count // connections)
    parts = [range(i * share, min(count, (i + 1) * share)) for i in range(connections)]
    failures: list[BaseException] = []

    def work(numbers: range) -> None:
        try:
            post_all(where, tenant_id, token, numbers, run)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in parts]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if failures:
        raise failures[0]
    return count / seconds


def direct(repo: Any, tenant_id: str, count: int) -> float:
    """Single-record creates a second through writes.push, in this process."""
    run = uuid.uuid4().hex[:8]
    start = time.perf_counter()
    for n in range(count):
        done = writes.push(tenant(tenant_id), ACTOR, [PushOperation("upsert", cells(n, run))], repo)
        assert isinstance(done, writes.PushResult), done
    return count / (time.perf_counter() - start)


def measure(db: str, repo: Any, state: ScimState, count: int, folder: Path) -> list[float]:
    """The direct figure, then SCIM over 1 and over 4 connections, each on its own tenant."""
    ids = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    for tenant_id in ids:
        repo.save_tenant(tenant(tenant_id))
    before = direct(repo, ids[0], count)
    tokens = [state.issue(tenant_id, ACTOR).token for tenant_id in ids[1:3]]
    with serving(db, folder) as where:
        post_all(where, ids[1], tokens[0], range(1), "warm")  # the tenant's app is built
        post_all(where, ids[2], tokens[1], range(1), "warm")
        one = over_http(where, ids[1], tokens[0], count, 1)
        four = over_http(where, ids[2], tokens[1], count, 4)
    # The direct figure is measured before and after the server's, the better one kept:
    # the machine's other load moves either.
    return [max(before, direct(repo, ids[3], count)), one, four]


@contextlib.contextmanager
def postgres_url(given: str | None) -> Iterator[str]:
    """The given URL, or one of a throwaway server's database."""
    if given is not None:
        yield given
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    helper = importlib.import_module("_postgres")  # the tests' throwaway server
    binaries = helper.server_binaries()
    if binaries is None:
        raise SystemExit("no PostgreSQL server binaries: pass --postgres-url or --no-postgres")
    with helper.throwaway_server(binaries) as server:
        yield server.url()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SCIM creates over HTTP beside direct writes.")
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--postgres-url", default=None, help="a postgresql:// database to use")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    results: list[tuple[str, list[float]]] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        path = folder / "store.db"
        with SqliteRepository(path) as repo:
            state = ScimState(path)
            results.append(("SQLite", measure(str(path), repo, state, args.requests, folder)))
            state.close()
        if not args.no_postgres:
            from provisioning.adapters import PostgresRepository  # noqa: PLC0415
            from provisioning.scim.postgres import PostgresScimState  # noqa: PLC0415

            with postgres_url(args.postgres_url) as url, PostgresRepository(url) as pg:
                pg_state = PostgresScimState(pg, url)
                results.append(("PostgreSQL", measure(url, pg, pg_state, args.requests, folder)))
    print(f"SCIM POST /Users over HTTP (waitress, 4 threads); {args.requests:,} creates each")
    print(f"  {'store':<11} {'direct push/s':>14} {'SCIM 1 conn/s':>14} {'SCIM 4 conn/s':>14}")
    for store, (pushed, one, four) in results:
        print(f"  {store:<11} {pushed:>14,.0f} {one:>14,.0f} {four:>14,.0f}")
        print(
            f"  {store:<11} SCIM as a share of the direct path: 1 connection {one / pushed:.2f}x,"
            f" 4 connections {four / pushed:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
