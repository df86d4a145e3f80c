"""SIGTERM and SIGINT as a clean stop: an exception, so every ``finally`` runs.

A scheduler's SIGTERM (systemd, Kubernetes, a CI timeout) or a Ctrl-C must not leave
the run lock held nor the run recorded as "running": within ``stop_on_signals`` such a
signal raises ``Stopping`` in the main thread, which unwinds the run (the scan records
itself interrupted, the lock is released) and leaves the block as ``Interrupted``: one
line and exit 3 from the CLI.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from pipfleet.errors import Interrupted

_STOPPING = (signal.SIGTERM, signal.SIGINT)


class Stopping(KeyboardInterrupt):
    """A stop asked for while the run unwinds.

    Like KeyboardInterrupt it is no ``Exception``: the handlers that contain one
    repository's failure (``except Exception``) cannot swallow it and carry on.
    """


_reason: str | None = None  # why stop_main_thread stopped the run, instead of a signal


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Stopping(_reason or f"stopped by {signal.Signals(signum).name} before the run finished")


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT stop the run; it leaves as ``Interrupted``.

    Outside the main thread signals cannot be handled, and the block runs unchanged.
    """
    global _reason
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise) for signum in _STOPPING}
    try:
        yield
    except Stopping as stop:
        raise Interrupted(str(stop)) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _reason = None


def stop_main_thread(reason: str) -> None:
    """From another thread: stop the run in the main thread as a signal would.

    Does nothing unless the main thread is within ``stop_on_signals``.
    """
    global _reason
    if signal.getsignal(signal.SIGINT) is _raise:
        _reason = reason
        # A real signal, not _thread.interrupt_main: only a signal cuts a blocking call short.
        main = threading.main_thread().ident
        assert main is not None  # the main thread is running: it is the one to stop
        signal.pthread_kill(main, signal.SIGINT)
