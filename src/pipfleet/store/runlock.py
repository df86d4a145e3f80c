"""One run at a time per org and database: a lock row that a dead run cannot keep.

Each org has its own row, so runs for different orgs (shards sharing one database) go
at once while a second run for the same org is refused.

The holder proves it is alive with a heartbeat: every few seconds it pushes the lock's
``expires_at`` forward. A lock past its expiry belongs to a run that stopped
heart-beating (killed, frozen, cut off from the database) and is taken over at once; so
is a lock whose holder was a process on this host that no longer exists. Whoever takes a
lock over marks the dead holder's unfinished scan runs "interrupted".

Holders are "hostname:pid". The process check only ever frees a lock early: a pid reused
by an unrelated process looks alive, and then the heartbeat's expiry frees the lock (on
Linux a process started after the lock was taken is recognised as not the holder). Two
machines sharing a hostname but not a pid namespace must not share a database; hosts'
clocks must agree to well within ``stale_after``.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, Table, delete, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import SQLModel

from pipfleet.errors import LockHeld
from pipfleet.states import RunStatus
from pipfleet.store.models import utcnow

_LOCK: Table = SQLModel.metadata.tables["run_lock"]
_RUNS: Table = SQLModel.metadata.tables["scan_runs"]

DEFAULT_HEARTBEAT = timedelta(seconds=15)
DEFAULT_STALE_AFTER = timedelta(seconds=60)
KILLED = "interrupted: the run stopped without finishing (killed?)"
# /proc/<pid>/stat's start time is in clock ticks and the boot time in whole seconds.
_START_TIME_SLACK = timedelta(seconds=2)
_ATTEMPTS = 3  # reads of a lock that changes under us before giving up


@dataclass(frozen=True)
class Lease:
    org: str
    holder: str
    acquired_at: datetime


def acquire(
    engine: Engine, org: str, holder: str, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> Lease:
    """Take ``org``'s lock for ``holder`` or raise LockHeld naming who has it.

    A lock left by a dead or silent holder is taken over, and that holder's running scan
    runs of the org are marked interrupted in the same transaction.
    """
    mine = _LOCK.c.org == org
    for _ in range(_ATTEMPTS):
        now = utcnow()
        values = {
            "holder": holder,
            "acquired_at": now,
            "heartbeat_at": now,
            "expires_at": now + stale_after,
        }
        try:
            with engine.begin() as connection:
                connection.execute(insert(_LOCK).values(org=org, **values))
            return Lease(org, holder, now)
        except IntegrityError:
            pass  # held, or left behind by a run that died
        with engine.begin() as connection:
            row = connection.execute(_LOCK.select().where(mine)).one_or_none()
            if row is None:
                continue  # released meanwhile
            if row.expires_at >= now and _alive(row.holder, row.acquired_at):
                heartbeat = row.heartbeat_at or row.acquired_at
                raise LockHeld(
                    f"another pipfleet run ({row.holder}) holds the lock on {org}: its last "
                    f"heartbeat was {max(0, int((now - heartbeat).total_seconds()))} s ago, and "
                    f"it is taken over if none comes by {row.expires_at:%Y-%m-%d %H:%M:%S} UTC"
                )
            # Only the lock as read is replaced: a holder that heart-beat since, or a run
            # that took it over first, keeps it.
            taken = connection.execute(
                update(_LOCK)
                .where(
                    mine,
                    _LOCK.c.holder == row.holder,
                    _LOCK.c.expires_at == row.expires_at,
                )
                .values(**values)
            ).rowcount
            if not taken:
                continue
            connection.execute(
                update(_RUNS)
                .where(
                    _RUNS.c.holder == row.holder,
                    _RUNS.c.org == org,
                    _RUNS.c.status == RunStatus.RUNNING.value,
                )
                .values(status=RunStatus.INTERRUPTED.value, finished_at=now, error=KILLED)
            )
        return Lease(org, holder, now)
    raise LockHeld("other pipfleet runs are taking the lock at this very moment; try again")


def heartbeat(
    engine: Engine, org: str, holder: str, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> bool:
    """Prove ``holder`` alive; False when ``org``'s lock is no longer its own."""
    now = utcnow()
    with engine.begin() as connection:
        return bool(
            connection.execute(
                update(_LOCK)
                .where(_LOCK.c.org == org, _LOCK.c.holder == holder)
                .values(heartbeat_at=now, expires_at=now + stale_after)
            ).rowcount
        )


def release(engine: Engine, org: str, holder: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(_LOCK).where(_LOCK.c.org == org, _LOCK.c.holder == holder))


def mark_interrupted(engine: Engine, lease: Lease, error: str) -> None:
    """Mark the scan runs ``lease``'s holder started under it as interrupted."""
    with engine.begin() as connection:
        connection.execute(
            update(_RUNS)
            .where(
                _RUNS.c.holder == lease.holder,
                _RUNS.c.org == lease.org,
                _RUNS.c.started_at >= lease.acquired_at,
            )
            .values(status=RunStatus.INTERRUPTED.value, finished_at=utcnow(), error=error)
        )


@contextmanager
def run_lock(
    engine: Engine,
    org: str,
    holder: str,
    *,
    every: timedelta = DEFAULT_HEARTBEAT,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    on_lost: Callable[[], None] | None = None,
) -> Iterator[Lease]:
    """Hold ``org``'s lock while the block runs, heart-beating from a background thread.

    ``on_lost`` is called from that thread if another run took the lock over (this
    process was frozen or cut off for longer than ``stale_after``).
    """
    lease = acquire(engine, org, holder, stale_after)
    stop = threading.Event()
    beating = threading.Thread(
        target=_beat,
        args=(engine, org, holder, every, stale_after, stop, on_lost),
        name="pipfleet-lock-heartbeat",
        daemon=True,
    )
    beating.start()
    try:
        yield lease
    finally:
        stop.set()
        beating.join()
        release(engine, org, holder)


def _beat(
    engine: Engine,
    org: str,
    holder: str,
    every: timedelta,
    stale_after: timedelta,
    stop: threading.Event,
    on_lost: Callable[[], None] | None,
) -> None:
    while not stop.wait(every.total_seconds()):
        try:
            ours = heartbeat(engine, org, holder, stale_after)
        except SQLAlchemyError:
            continue  # a busy or briefly unreachable database: the next beat may get through
        if not ours:
            if on_lost is not None and not stop.is_set():
                on_lost()
            return


def _alive(holder: str, since: datetime) -> bool:
    """False only when ``holder`` certainly is a process of this host that is gone."""
    host, _, pid_text = holder.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    started = _process_start(pid)
    if started is None:
        return True
    state, started_at = started
    # A zombie has finished running; a process younger than the lock is a reused pid.
    return state not in "ZX" and started_at <= since + _START_TIME_SLACK


def _process_start(pid: int) -> tuple[str, datetime] | None:
    """The state letter and start time of ``pid`` from Linux's /proc, else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
    except (OSError, StopIteration):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    started = datetime.fromtimestamp(int(boot.split()[1]) + ticks, UTC)
    return str(fields[0]), started
