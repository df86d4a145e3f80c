"""Run the sandbox on a loopback port: in the foreground (CLI) or on a thread (tests)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType

import uvicorn

from pipfleet.errors import UsageError
from pipfleet.sandbox.app import (
    CODEARTIFACT_API,
    CONTROL,
    GITHUB,
    PRIVATE_INDEX,
    PUBLIC_INDEX,
    create_app,
)
from pipfleet.sandbox.world import World

TOKEN_PLACEHOLDER = "${CODEARTIFACT_AUTH_TOKEN}"


@dataclass(frozen=True)
class SandboxURLs:
    base: str
    github_api: str  # PyGithub's base_url
    graphql: str
    codeartifact_endpoint: str  # boto3's endpoint_url
    private_index: str  # the CodeArtifact repository's simple index
    public_index: str  # public PyPI's simple index
    control: str

    def private_index_with_auth(self, token: str = TOKEN_PLACEHOLDER) -> str:
        """The private index URL with basic auth ``aws:<token>``, as a Pipfile source holds it."""
        scheme, rest = self.private_index.split("://", 1)
        return f"{scheme}://aws:{token}@{rest}"


def ensure_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"the sandbox binds only loopback addresses, not {host!r}")


class SandboxServer:
    """A uvicorn server for one world. ``with SandboxServer(world) as server:`` in tests."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0):
        ensure_loopback(host)
        self.world = world
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it, h11's separate header and body
        # writes meet the client's delayed ACK and every answer waits about 40 ms.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._socket.bind((host, port))
        except OSError as exc:
            self._socket.close()
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(world), log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def urls(self) -> SandboxURLs:
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{self.port}"
        ca = self.world.codeartifact
        return SandboxURLs(
            base=base,
            github_api=base + GITHUB,
            graphql=base + GITHUB + "/graphql",
            codeartifact_endpoint=base + CODEARTIFACT_API,
            private_index=(
                f"{base}{PRIVATE_INDEX}/{ca.domain}-{ca.domain_owner}/pypi/{ca.repository}/simple/"
            ),
            public_index=f"{base}{PUBLIC_INDEX}/simple/",
            control=base + CONTROL,
        )

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C or SIGTERM)."""
        self._server.run(sockets=[self._socket])

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
