"""How the MCP server is reached: stdio (the default), or Streamable HTTP on loopback.

Over HTTP the Host header must name the address served, as for ``pipfleet serve``, so a
web page elsewhere cannot reach the server through DNS rebinding; the SDK's own check of
the Origin header stays on too. ``public=True`` lifts both and the loopback-only bind.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.middleware.trustedhost import TrustedHostMiddleware

from pipfleet.loopback import ServedApp, bind_guarded, served_hosts

HTTP_PATH = "/mcp"


def serve_stdio(server: MCPServer) -> None:
    """Answer on stdin/stdout until the client closes them (or Ctrl-C)."""
    try:
        anyio.run(server.run_stdio_async)
    except KeyboardInterrupt:
        pass  # the client's way of stopping a server it started, not an error


class HttpServer(ServedApp):
    """The MCP server over Streamable HTTP: on a thread (tests) or in the foreground."""

    def __init__(
        self, server: MCPServer, host: str = "127.0.0.1", port: int = 8000, *, public: bool = False
    ):
        sock = bind_guarded(host, port, "MCP server", public=public)
        hosts = served_hosts(host)
        bound = sock.getsockname()[1]
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=not public,
            allowed_hosts=[f"{name}:{bound}" for name in hosts],
            # Any port: a browser-based client (an MCP inspector) runs on a port of its own.
            allowed_origins=[f"http://{name}:*" for name in hosts],
        )
        app = server.streamable_http_app(
            streamable_http_path=HTTP_PATH, transport_security=security
        )
        guarded = TrustedHostMiddleware(app, allowed_hosts=["*"] if public else hosts)
        super().__init__(guarded, sock, "MCP")
        # The SDK starts its session manager in the app's lifespan, which ServedApp turns off.
        self._server.config.lifespan = "on"

    @property
    def url(self) -> str:
        return f"http://{self.netloc_host}:{self.port}{HTTP_PATH}"


def serve_http(
    server: MCPServer,
    host: str,
    port: int,
    *,
    public: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted; ``ready`` gets the endpoint's URL once the port is bound."""
    http = HttpServer(server, host, port, public=public)
    if ready is not None:
        ready(http.url)
    http.serve_forever()
