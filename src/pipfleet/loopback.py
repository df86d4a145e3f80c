"""A uvicorn server on a socket bound here: in the foreground (CLI) or on a thread (tests).

The sandbox and the live dashboard both serve this way; binding, the TCP option
that keeps small answers fast, and starting and stopping live here once.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

from pipfleet.errors import UsageError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port`` (port 0 picks a free one)."""
    if not 0 <= port <= 65535:  # else socket.bind raises OverflowError, not OSError
        raise UsageError(f"the port must be 0 to 65535, not {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, h11's separate header and body
    # writes meet the client's delayed ACK and every answer waits about 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        # Listening from here on: a command prints its URL before uvicorn's loop starts,
        # and a client that connects in between waits in the backlog instead of being
        # refused (an MCP test's client was, on a busy machine).
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def bind_guarded(host: str, port: int, what: str, *, public: bool) -> socket.socket:
    """``bind`` for a server without login: loopback only unless ``public``."""
    if not public and not is_loopback(host):
        raise UsageError(
            f"the {what} binds loopback addresses only, not {host!r}: pass --public to "
            "serve it to the network (it has no authentication)"
        )
    return bind(host, port)


def served_hosts(host: str) -> list[str]:
    """The Host header values that name a loopback server bound to ``host``: checking
    them keeps a web page elsewhere from reaching it through DNS rebinding."""
    netloc = f"[{host}]" if ":" in host else host
    return list(dict.fromkeys(["localhost", "127.0.0.1", "[::1]", netloc]))


def interrupt_on_sigint() -> None:
    """Make SIGINT raise KeyboardInterrupt in the main thread, as Python does unless the
    process started with it ignored: a shell starts background jobs so (and a test runner
    may start its workers so), and a waiting command would then sleep through a SIGINT."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


class ServedApp:
    """One ASGI app served by uvicorn on a socket from ``bind``."""

    def __init__(self, app: Any, sock: socket.socket, name: str):
        self.name = name
        self._socket = sock
        host, self.port = sock.getsockname()[:2]
        self.host: str = host
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, server_header=False
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def netloc_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C or SIGTERM)."""
        # uvicorn re-raises the signal that stopped it under the handler it found, so
        # SIGINT would end the server with exit 0 where it was ignored and 130
        # (interrupted) from a terminal: stop the same way everywhere.
        interrupt_on_sigint()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
