"""A throwaway PostgreSQL server for the session, and one fresh database per test.

Under pytest-xdist each worker is its own session: its own cluster, folder and port.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

PG_SUPERUSER = "pipfleet"
# PostgreSQL refuses to run as root; when the tests do, the server runs as this OS user.
PG_OS_USER = "postgres"


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(
            f"PostgreSQL's {name} is not installed (nor on PATH): the store tests need a "
            "real server; on Debian: apt-get install postgresql"
        )
    return found


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(PG_OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER],
            check=True,
        )
    return ["runuser", "-u", PG_OS_USER, "--"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server on a loopback port; yields the URL of its ``postgres`` database.

    Data and socket live in a temporary folder; durability is switched off because the
    cluster is thrown away with it.
    """
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    prefix = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="pipfleet-pg-", dir="/tmp"))
    if prefix:
        shutil.chown(root, PG_OS_USER)
    data, log = root / "data", root / "server.log"
    subprocess.run(
        [
            *prefix,
            initdb,
            "-D",
            str(data),
            "-U",
            PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    # The port is free when picked, but under pytest-xdist another worker's server (or any
    # loopback listener) may take it before pg_ctl binds it: pick again, a few times.
    for attempt in range(5):
        port = _free_port()
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-o", options]
            + ["-w", "-t", "180", "start"],  # a generous wait: a loaded CI machine is slow
            capture_output=True,
            text=True,
        )
        if started.returncode == 0:
            break
        server_log = log.read_text() if log.exists() else ""
        if attempt < 4 and "could not bind" in server_log:
            log.unlink()
            continue
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start:\n{started.stderr}\n{server_log}")
    try:
        yield f"postgresql+psycopg://{PG_SUPERUSER}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _new_postgres_database(server_url: str) -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    libpq_url = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each dialect: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pipfleet.db'}"
    return _new_postgres_database(request.getfixturevalue("postgres_server"))
