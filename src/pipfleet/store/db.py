"""Engines, sessions and migrations for a database given by URL.

Nothing here holds an engine at module level: callers make one with ``make_engine`` and
pass it (or a session from ``session_scope``) to whatever needs the database.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session

from pipfleet.errors import StoreError
from pipfleet.packagedata import MIGRATIONS, package_folder

CHECK_URL = "check database.url or PIPFLEET_DATABASE_URL"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files are created (with their folder) on first use.

    A relative SQLite path is taken from the current directory now, so a later ``chdir``
    cannot point the engine at another file. Connection failures surface as ``StoreError``
    whose message shows the URL without its password.
    """
    parsed = parse_url(url)
    if parsed.drivername == "postgresql":
        # Plain postgresql:// means psycopg2 to SQLAlchemy; psycopg 3 is the driver we ship.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser().resolve()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # mkdir says "File exists" when a file stands where a folder should be.
            reason = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
            raise StoreError(
                f"cannot create the folder {path.parent} for the database "
                f"({reason or exc}): {CHECK_URL}"
            ) from exc
        parsed = parsed.set(database=str(path))
    try:
        engine = create_engine(parsed)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"unsupported database URL {_shown(parsed)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_foreign_keys)
    event.listen(engine, "handle_error", _connect_error)
    return engine


def parse_url(url: str) -> URL:
    """``url`` parsed; a malformed one is a ``StoreError`` that does not repeat it."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        # The parser's message or traceback can show the URL, password included.
        raise StoreError(
            "the database URL is not valid: expected dialect://user:password@host:port/name"
        ) from None


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores REFERENCES clauses unless each connection asks it not to.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _connect_error(context: ExceptionContext) -> None:
    # A statement's errors keep their own type; only "cannot connect" and a file that is
    # not (or no longer) a SQLite database become user errors.
    original = context.original_exception
    url = context.engine.url if context.engine is not None else None
    where = url.database if url is not None and url.database else "the configured path"
    if isinstance(original, sqlite3.DatabaseError) and _sqlite_damaged(original):
        reason = str(original).strip().splitlines()[0]
        raise StoreError(
            f"the database at {where} is not a valid SQLite database ({reason}): restore it "
            "from a backup or move it away to start a new one"
        ) from context.sqlalchemy_exception
    if isinstance(original, sqlite3.OperationalError) and _sqlite_unwritable(original):
        reason = str(original).strip().splitlines()[0]
        raise StoreError(
            f"cannot write the database at {where} ({reason}): check the free space there "
            "and that the file and its folder are writable"
        ) from context.sqlalchemy_exception
    if context.connection is not None or not isinstance(
        context.sqlalchemy_exception, OperationalError
    ):
        return
    url = context.engine.url if context.engine is not None else None
    where = _shown(url) if url is not None else "the database"
    reason = str(context.original_exception).strip().splitlines()[0]
    if url is not None and url.password:
        reason = reason.replace(str(url.password), "***")
    raise StoreError(
        f"cannot connect to {where}: {reason}: {CHECK_URL}"
    ) from context.sqlalchemy_exception


def _sqlite_unwritable(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the disk is full, the file read-only, or the write failed."""
    primary = getattr(error, "sqlite_errorcode", 0) & 0xFF
    return primary in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR)


def _sqlite_damaged(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is not a database or is corrupt (truncated, overwritten)."""
    primary = getattr(error, "sqlite_errorcode", 0) & 0xFF  # extended codes keep it low
    return primary in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def migrations_dir() -> Path:
    """The Alembic script folder, shipped as the package ``pipfleet.migrations``."""
    return package_folder(MIGRATIONS)


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that needs no alembic.ini or pyproject.toml."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # Not set_main_option: its ConfigParser would read a %-escaped password as interpolation.
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database at ``url`` to ``revision``; return the revision it is now at."""
    command.upgrade(alembic_config(url), revision)
    now = current(url)
    if now is None:
        raise StoreError(f"{_shown(parse_url(url))} has no schema revision after the upgrade")
    return now


@contextmanager
def open_database(url: str) -> Iterator[Engine]:
    """An engine for the database at ``url``, at the current schema, disposed when the
    block ends.

    The migrations run only when the database is behind: a nightly run opens it three
    times, and an Alembic upgrade with nothing to do still loads every migration script.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
        if revision != _head():
            upgrade(url)
        yield engine
    finally:
        engine.dispose()


@functools.cache
def _head() -> str | None:
    """The newest revision of pipfleet's migrations (they cannot change while it runs)."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at; None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
