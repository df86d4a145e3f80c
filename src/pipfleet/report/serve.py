"""The dashboard and its JSON, live from the database, read-only, on loopback by default.

Every request reads the database afresh through a read-only engine, so the page shows
the latest run as soon as a scan records it. Only GET (and HEAD) exist. The Host header
must name the address served, so a web page elsewhere cannot reach the dashboard through
DNS rebinding; ``public=True`` lifts both that check and the loopback-only bind.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from pipfleet.errors import PipfleetError, StoreError, UsageError
from pipfleet.report.assets import CONTENT_SECURITY_POLICY
from pipfleet.report.data import load_report, open_read_only
from pipfleet.report.document import PARTS, to_json
from pipfleet.report.html import e, to_html
from pipfleet.report.model import ReportQuery

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _query(request: Request) -> ReportQuery:
    params = request.query_params
    run = params.get("run") or None
    if run is not None and not run.isdigit():
        raise UsageError(f"run must be a run number, not {run!r}")
    return ReportQuery(
        run_id=None if run is None else int(run),
        repo=params.get("repo") or None,
        kind=params.get("kind") or None,
    )


def _status(exc: PipfleetError) -> int:
    if isinstance(exc, UsageError):
        return 404 if str(exc).startswith("no scan run") else 400
    return 503  # StoreError: no scan yet, or the database is unreachable


def create_app(engine: Engine, allowed_hosts: list[str] | None = None) -> Starlette:
    """The ASGI app over ``engine`` (which should be read-only: see ``open_read_only``)."""

    def dashboard(request: Request) -> Response:
        try:
            page = to_html(load_report(engine, _query(request)))
        except PipfleetError as exc:
            page = (
                '<!DOCTYPE html><html lang="en"><meta charset="utf-8"><title>pipfleet</title>'
                f"<p>pipfleet: {e(exc)}</p></html>\n"
            )
            return HTMLResponse(page, _status(exc), headers=_HEADERS)
        headers = _HEADERS | {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
        return HTMLResponse(page, headers=headers)

    def api(request: Request) -> Response:
        part = request.path_params["part"]
        if part != "report" and part not in PARTS:
            known = ", ".join(f"/api/{name}.json" for name in ("report", *PARTS))
            return JSONResponse({"error": f"no such document: {known}"}, 404, headers=_HEADERS)
        try:
            report = load_report(engine, _query(request))
        except PipfleetError as exc:
            return JSONResponse({"error": str(exc)}, _status(exc), headers=_HEADERS)
        body = to_json(report, None if part == "report" else part)
        return Response(body, media_type="application/json", headers=_HEADERS)

    return Starlette(
        routes=[
            Route("/", dashboard, methods=["GET", "HEAD"]),
            Route("/api/{part}.json", api, methods=["GET", "HEAD"]),
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or ["*"])],
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DashboardServer:
    """uvicorn serving ``create_app`` for one database: on a thread (tests) or in the foreground."""

    def __init__(
        self, database_url: str, host: str = "127.0.0.1", port: int = 8080, *, public: bool = False
    ):
        if not public and not is_loopback(host):
            raise UsageError(
                f"the dashboard binds loopback addresses only, not {host!r}: pass --public to "
                "serve it to the network (it has no authentication)"
            )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # As in the sandbox: without it, h11's split writes meet delayed ACKs (~40 ms each).
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._socket.bind((host, port))
        except OSError as exc:
            self._socket.close()
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        try:
            self._engine = open_read_only(database_url)
        except StoreError:
            self._socket.close()
            raise
        hosts = None if public else ["localhost", "127.0.0.1", "[::1]", self._netloc_host]
        config = uvicorn.Config(
            create_app(self._engine, hosts),
            log_level="warning",
            lifespan="off",
            access_log=False,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def _netloc_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def url(self) -> str:
        return f"http://{self._netloc_host}:{self.port}/"

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C or SIGTERM)."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._close()

    def start(self) -> DashboardServer:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._close()

    def _close(self) -> None:
        self._socket.close()
        self._engine.dispose()

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    database_url: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    public: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the dashboard until interrupted; ``ready`` gets its URL once the port is bound."""
    server = DashboardServer(database_url, host, port, public=public)
    if ready is not None:
        ready(server.url)
    server.serve_forever()
