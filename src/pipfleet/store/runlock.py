"""One nightly run at a time per database: a lock row that a crashed run cannot keep.

The lock expires: a run that dies without releasing it blocks others only until
its expiry, after which the next run takes the lock over.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine, Table, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from pipfleet.errors import LockHeld
from pipfleet.store.models import utcnow

_LOCK: Table = SQLModel.metadata.tables["run_lock"]

DEFAULT_TTL = timedelta(hours=3)


def acquire(engine: Engine, holder: str, ttl: timedelta = DEFAULT_TTL) -> None:
    """Take the lock for ``holder`` or raise LockHeld naming who has it and until when."""
    now = utcnow()
    values = {"holder": holder, "acquired_at": now, "expires_at": now + ttl}
    try:
        with engine.begin() as connection:
            connection.execute(insert(_LOCK).values(id=1, **values))
        return
    except IntegrityError:
        pass  # held, or left behind by a run that died: take it over only once expired
    with engine.begin() as connection:
        taken = connection.execute(
            update(_LOCK).where(_LOCK.c.id == 1, _LOCK.c.expires_at < now).values(**values)
        ).rowcount
        if taken:
            return
        row = connection.execute(_LOCK.select()).one()
    until = f"{row.expires_at:%Y-%m-%d %H:%M} UTC"
    raise LockHeld(f"another pipfleet run ({row.holder}) holds the lock until {until}")


def release(engine: Engine, holder: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(_LOCK).where(_LOCK.c.id == 1, _LOCK.c.holder == holder))


@contextmanager
def run_lock(engine: Engine, holder: str, ttl: timedelta = DEFAULT_TTL) -> Iterator[None]:
    acquire(engine, holder, ttl)
    try:
        yield
    finally:
        release(engine, holder)
