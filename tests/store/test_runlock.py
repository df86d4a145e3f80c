"""The run lock on both dialects: one live holder at a time, dead holders taken over at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from pipfleet.errors import LockHeld
from pipfleet.store.db import make_engine, upgrade
from pipfleet.store.models import RunLock, RunStatus, ScanRun, utcnow
from pipfleet.store.runlock import KILLED, acquire, release, run_lock

HERE = socket.gethostname()
ORG = "acme"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def lock_row(engine: Engine) -> RunLock | None:
    with Session(engine) as session:
        return session.get(RunLock, ORG)


def add_run(
    engine: Engine, holder: str, status: RunStatus = RunStatus.RUNNING, org: str = ORG
) -> int:
    with Session(engine) as session:
        run = ScanRun(holder=holder, status=status, org=org)
        session.add(run)
        session.commit()
        assert run.id is not None
        return run.id


def run_of(engine: Engine, run_id: int) -> ScanRun:
    with Session(engine) as session:
        run = session.exec(select(ScanRun).where(ScanRun.id == run_id)).one()
        session.expunge(run)
        return run


def exited_pid() -> int:
    """The pid of a process of this host that has finished and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_holder_blocks_until_it_releases(engine: Engine) -> None:
    with run_lock(engine, ORG, "other-host:1"):
        with pytest.raises(
            LockHeld,
            match=r"another pipfleet run \(other-host:1\) holds the lock on acme: its last heartbeat was",
        ):
            acquire(engine, ORG, "other-host:2")
    acquire(engine, ORG, "other-host:2")  # released on leaving the block
    release(engine, ORG, "other-host:1")  # someone else's release changes nothing
    with pytest.raises(LockHeld, match="other-host:2"):
        acquire(engine, ORG, "other-host:3")
    # A live process of this host (this one) holds it as firmly as another host's run.
    release(engine, ORG, "other-host:2")
    acquire(engine, ORG, f"{HERE}:{os.getpid()}")
    with pytest.raises(LockHeld):
        acquire(engine, ORG, "other-host:3")


def test_a_lock_whose_heartbeat_stopped_is_taken_over_and_its_run_marked(engine: Engine) -> None:
    stale_after = timedelta(seconds=0.3)
    acquire(engine, ORG, "other-host:7", stale_after)  # and then it never beats again
    running = add_run(engine, "other-host:7")
    finished = add_run(engine, "other-host:7", RunStatus.COMPLETED)
    someone_elses = add_run(engine, "other-host:8")
    another_orgs = add_run(engine, "other-host:7", org="acme-labs")
    with pytest.raises(LockHeld, match="other-host:7"):
        acquire(engine, ORG, "other-host:9", stale_after)
    time.sleep(stale_after.total_seconds() + 0.1)
    lease = acquire(engine, ORG, "other-host:9", stale_after)
    row = lock_row(engine)
    assert row is not None and row.holder == "other-host:9"
    assert row.acquired_at == lease.acquired_at
    interrupted = run_of(engine, running)
    assert interrupted.status is RunStatus.INTERRUPTED
    assert interrupted.error == KILLED and interrupted.finished_at is not None
    assert run_of(engine, finished).status is RunStatus.COMPLETED
    assert run_of(engine, someone_elses).status is RunStatus.RUNNING
    assert run_of(engine, another_orgs).status is RunStatus.RUNNING  # not this lock's run


def test_a_lock_whose_process_on_this_host_is_gone_is_taken_over_at_once(
    engine: Engine,
) -> None:
    dead = f"{HERE}:{exited_pid()}"
    acquire(engine, ORG, dead, timedelta(hours=1))
    running = add_run(engine, dead)
    acquire(engine, ORG, "other-host:1")
    row = lock_row(engine)
    assert row is not None and row.holder == "other-host:1"
    assert run_of(engine, running).status is RunStatus.INTERRUPTED


def test_a_zombie_or_a_reused_pid_is_not_the_holder(engine: Engine) -> None:
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        while open(f"/proc/{zombie.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
            time.sleep(0.01)  # exited, and not reaped until wait() below
        acquire(engine, ORG, f"{HERE}:{zombie.pid}", timedelta(hours=1))
        acquire(engine, ORG, "other-host:1")
    finally:
        zombie.wait()
    release(engine, ORG, "other-host:1")
    # This process is alive, but started long after a lock taken a day ago: a reused pid.
    acquire(engine, ORG, f"{HERE}:{os.getpid()}", timedelta(hours=1))
    with engine.begin() as connection:
        connection.execute(update(RunLock).values(acquired_at=utcnow() - timedelta(days=30)))
    acquire(engine, ORG, "other-host:1")
    row = lock_row(engine)
    assert row is not None and row.holder == "other-host:1"


def test_the_heartbeat_keeps_a_long_run_s_lock(engine: Engine) -> None:
    # Twenty beats to a stale window: a busy CI worker can starve the heartbeat thread
    # for a few hundred milliseconds (0.3 s windows failed once on 2 CPUs, 3 workers).
    every, stale_after = timedelta(seconds=0.05), timedelta(seconds=1.0)
    with run_lock(engine, ORG, "other-host:1", every=every, stale_after=stale_after) as lease:
        time.sleep(1.5 * stale_after.total_seconds())  # past the first expiry
        with pytest.raises(LockHeld, match="other-host:1"):
            acquire(engine, ORG, "other-host:2", stale_after)
        row = lock_row(engine)
        assert row is not None and row.heartbeat_at is not None
        assert row.heartbeat_at > lease.acquired_at + stale_after
    assert lock_row(engine) is None


def test_a_holder_whose_lock_was_taken_over_is_told(engine: Engine) -> None:
    lost = threading.Event()
    every = timedelta(seconds=0.05)
    with run_lock(engine, ORG, "other-host:1", every=every, on_lost=lost.set):
        with engine.begin() as connection:  # as a run would after this one froze too long
            connection.execute(update(RunLock).values(holder="other-host:2"))
        assert lost.wait(timeout=10)
    row = lock_row(engine)  # leaving the block releases only its own lock
    assert row is not None and row.holder == "other-host:2"


def test_each_org_has_its_own_lock(engine: Engine) -> None:
    with run_lock(engine, ORG, "other-host:1"):
        labs = acquire(engine, "acme-labs", "other-host:2")  # another org: not held
        assert labs.org == "acme-labs"
        with pytest.raises(LockHeld, match=r"\(other-host:2\) holds the lock on acme-labs"):
            acquire(engine, "acme-labs", "other-host:3")
        with pytest.raises(LockHeld, match=r"\(other-host:1\) holds the lock on acme:"):
            acquire(engine, ORG, "other-host:3")
        release(engine, "acme-labs", "other-host:1")  # the holder of another org's lock
        assert lock_row(engine) is not None
    acquire(engine, ORG, "other-host:3")
    with pytest.raises(LockHeld, match="other-host:2"):
        acquire(engine, "acme-labs", "other-host:3")
