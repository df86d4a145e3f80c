from __future__ import annotations

from datetime import timedelta

import pytest

from pipfleet.errors import LockHeld
from pipfleet.store.db import make_engine, upgrade
from pipfleet.store.runlock import acquire, release, run_lock


def test_one_holder_at_a_time_and_expiry_frees_a_dead_run(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with run_lock(engine, "host:1"):
        with pytest.raises(LockHeld, match=r"another pipfleet run \(host:1\) holds the lock until"):
            acquire(engine, "host:2")
    acquire(engine, "host:2")  # released on leaving the block
    release(engine, "host:1")  # someone else's release changes nothing
    with pytest.raises(LockHeld):
        acquire(engine, "host:3")
    release(engine, "host:2")
    acquire(engine, "crashed", ttl=timedelta(seconds=-1))  # a run that died long ago
    acquire(engine, "host:4")  # expired: taken over
    with pytest.raises(LockHeld, match="host:4"):
        acquire(engine, "host:5")
