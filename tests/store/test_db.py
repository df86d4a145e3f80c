"""Engines, sessions and errors: what callers of pipfleet.store.db rely on."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import select

from pipfleet.errors import PipfleetError, StoreError
from pipfleet.store import db
from pipfleet.store.models import RepositoryScan, RunStatus, ScanRun, ScanStatus

PASSWORD = "s3cret-Pa55"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("operation", [db.current, db.upgrade], ids=["current", "upgrade"])
def test_unreachable_database_is_a_store_error_without_the_password(
    operation: Callable[[str], object],
) -> None:
    url = f"postgresql+psycopg://fleet:{PASSWORD}@127.0.0.1:{closed_port()}/fleet"

    with pytest.raises(StoreError) as raised:
        operation(url)

    message = str(raised.value)
    assert isinstance(raised.value, PipfleetError)
    assert PASSWORD not in message
    assert "\n" not in message
    assert message.startswith("cannot connect to postgresql+psycopg://fleet:***@127.0.0.1:")


def test_open_database_brings_the_schema_to_head_and_disposes_the_engine(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    script = ScriptDirectory.from_config(db.alembic_config(url))
    head = script.get_current_head()
    assert head is not None
    earlier = script.get_revision(head).down_revision
    assert isinstance(earlier, str)
    db.upgrade(url, earlier)

    with db.open_database(url) as engine:
        assert db.current(url) == head
        with db.session_scope(engine) as session:
            session.add(ScanRun())
        assert engine.pool.checkedin() == 1
    assert engine.pool.checkedin() == 0  # disposed: no connection is left open


def test_open_database_creates_a_new_database_at_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with db.open_database(url):
        pass
    assert db.current(url) == ScriptDirectory.from_config(db.alembic_config(url)).get_current_head()


def test_a_full_sqlite_disk_is_a_store_error_saying_what_to_check(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    db.upgrade(f"sqlite:///{path}")
    engine = db.make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def no_room_to_grow(connection: Any, _record: Any) -> None:
        # SQLite's own "database or disk is full", without filling a disk.
        connection.execute("PRAGMA max_page_count = 1")

    with pytest.raises(StoreError) as raised, db.session_scope(engine) as session:
        session.add_all(ScanRun(started_at=datetime.now(UTC)) for _ in range(200))
    engine.dispose()
    assert str(raised.value) == (
        f"cannot write the database at {path} (database or disk is full): check the free "
        "space there and that the file and its folder are writable"
    )


def test_malformed_url_is_a_store_error_that_does_not_repeat_it() -> None:
    with pytest.raises(StoreError) as raised:
        db.make_engine(f"postgresql://fleet:{PASSWORD}@db.example:not-a-port/fleet")

    assert PASSWORD not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_relative_sqlite_path_is_fixed_at_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    engine = db.make_engine("sqlite:///state/pipfleet.db")

    assert engine.url.database == str(tmp_path / "state" / "pipfleet.db")
    assert (tmp_path / "state").is_dir()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)

    with pytest.raises(IntegrityError), db.session_scope(engine) as session:
        session.add(RepositoryScan(run_id=41, repository_id=42, status=ScanStatus.FAILED))
    engine.dispose()


def test_session_scope_commits_on_success_and_rolls_back_on_error(database_url: str) -> None:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)

    with db.session_scope(engine) as session:
        session.add(ScanRun(status=RunStatus.COMPLETED))
    with pytest.raises(RuntimeError), db.session_scope(engine) as session:
        session.add(ScanRun(status=RunStatus.FAILED))
        session.flush()
        raise RuntimeError("the scan broke")

    with db.session_scope(engine) as session:
        assert [run.status for run in session.exec(select(ScanRun))] == [RunStatus.COMPLETED]
    engine.dispose()


def test_timestamps_and_enums_read_back_as_written(database_url: str) -> None:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    started = datetime(2025, 3, 30, 1, 30, tzinfo=timezone(timedelta(hours=2)))

    with db.session_scope(engine) as session:
        session.add(ScanRun(started_at=started, status=RunStatus.PARTIAL))
    with db.session_scope(engine) as session:
        run = session.exec(select(ScanRun)).one()
        assert run.started_at == started
        assert run.started_at.tzinfo is UTC
        assert run.status is RunStatus.PARTIAL

    with pytest.raises(StatementError, match="naive datetime"), db.session_scope(engine) as session:
        session.add(ScanRun(started_at=datetime(2025, 3, 30, 1, 30)))
    engine.dispose()


def test_sqlite_folder_that_cannot_be_made_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")

    with pytest.raises(StoreError, match="cannot create"):
        db.make_engine(f"sqlite:///{tmp_path / 'file' / 'pipfleet.db'}")
