"""The dashboard and its JSON, live from the database, read-only, on loopback by default.

Every request reads the database afresh through a read-only engine, so the page shows
the latest run as soon as a scan records it. Only GET (and HEAD) exist. The Host header
must name the address served, so a web page elsewhere cannot reach the dashboard through
DNS rebinding; ``public=True`` lifts both that check and the loopback-only bind.
There is no login: behind a reverse proxy (the org's SSO), ``base_path`` serves every
page, link and redirect under a path prefix such as ``/pipfleet``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from pipfleet.errors import PipfleetError, StoreError, UsageError
from pipfleet.loopback import ServedApp, bind_guarded, served_hosts
from pipfleet.report.assets import CONTENT_SECURITY_POLICY
from pipfleet.report.data import OPT_OUT_TOPIC, latest_run, load_report, open_read_only
from pipfleet.report.document import PARTS, to_json
from pipfleet.report.html import error_page, repository_page, to_html
from pipfleet.report.model import Report, ReportQuery

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

# Plain path segments only: a prefix goes verbatim into hrefs and route patterns.
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def base_path(value: str) -> str:
    """``--base-path`` as the routes' prefix: ``""`` for ``/``, else ``/a/b`` without
    the trailing slash."""
    prefix = value.rstrip("/")
    segments = prefix.split("/")[1:]
    if not value.startswith("/") or not all(
        _SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments
    ):
        raise UsageError(
            f"the base path must be a path such as /pipfleet (letters, digits, '.', '_', "
            f"'~', '-' between slashes), not {value!r}"
        )
    return prefix


def _query(request: Request) -> ReportQuery:
    params = request.query_params
    run = params.get("run") or None
    if run is not None and not run.isdigit():
        raise UsageError(f"run must be a run number, not {run!r}")
    return ReportQuery(
        run_id=None if run is None else int(run),
        repo=params.get("repo") or None,
        kind=params.get("kind") or None,
        manifest=params.get("manifest") or None,
    )


def _status(exc: PipfleetError) -> int:
    if isinstance(exc, UsageError):
        return 404 if str(exc).startswith("no scan run") else 400
    return 503  # StoreError: no scan yet, or the database is unreachable


def _error_page(message: str, status: int) -> Response:
    return HTMLResponse(error_page(message), status, headers=_HEADERS)


def _repository_named(report: Report, name: str, prefix: str) -> Response:
    wanted = name.strip("/").lower()
    for row in report.repositories:
        if wanted in (row.full_name.lower(), row.name.lower()):
            headers = _HEADERS | {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
            page = repository_page(report, row, base_path=prefix)
            return HTMLResponse(page, headers=headers)
    return _error_page(f"no repository {name!r} in scan run {report.summary.run_id}", 404)


def create_app(
    engine: Engine,
    allowed_hosts: list[str] | None = None,
    opt_out_topic: str = OPT_OUT_TOPIC,
    prefix: str = "",
) -> Starlette:
    """The ASGI app over ``engine`` (which should be read-only: see ``open_read_only``),
    its paths under ``prefix`` (from ``base_path``; anything outside it is a 404)."""

    def report_for(request: Request) -> Report:
        return load_report(engine, _query(request), opt_out_topic=opt_out_topic)

    def dashboard(request: Request) -> Response:
        try:
            page = to_html(report_for(request), served=True, base_path=prefix)
        except PipfleetError as exc:
            return _error_page(str(exc), _status(exc))
        headers = _HEADERS | {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
        return HTMLResponse(page, headers=headers)

    def repository(request: Request) -> Response:
        try:
            report = report_for(request)
        except PipfleetError as exc:
            return _error_page(str(exc), _status(exc))
        return _repository_named(report, request.path_params["name"], prefix)

    def healthz(request: Request) -> Response:
        """200 while the database answers, with the latest run; 503 when it does not."""
        try:
            run = latest_run(engine)
        except StoreError as exc:
            body = {"status": "unavailable", "error": str(exc)}
            return JSONResponse(body, 503, headers=_HEADERS)
        latest = None if run is None else {"id": run.id, "status": run.status}
        return JSONResponse({"status": "ok", "latest_run": latest}, headers=_HEADERS)

    def api(request: Request) -> Response:
        part = request.path_params["part"]
        if part != "report" and part not in PARTS:
            known = ", ".join(f"{prefix}/api/{name}.json" for name in ("report", *PARTS))
            return JSONResponse({"error": f"no such document: {known}"}, 404, headers=_HEADERS)
        try:
            report = report_for(request)
        except PipfleetError as exc:
            return JSONResponse({"error": str(exc)}, _status(exc), headers=_HEADERS)
        body = to_json(report, None if part == "report" else part)
        return Response(body, media_type="application/json", headers=_HEADERS)

    def to_dashboard(request: Request) -> Response:
        # A path, not a URL: behind a proxy, the Host this server sees is not the user's.
        query = request.url.query
        return RedirectResponse(f"{prefix}/" + (f"?{query}" if query else ""), 308, _HEADERS)

    get = ["GET", "HEAD"]
    routes = [
        Route(f"{prefix}/", dashboard, methods=get),
        Route(f"{prefix}/api/{{part}}.json", api, methods=get),
        Route(f"{prefix}/repositories/{{name:path}}", repository, methods=get),
        Route(f"{prefix}/healthz", healthz, methods=get),
    ]
    if prefix:
        routes.append(Route(prefix, to_dashboard, methods=get))
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or ["*"])],
    )


class DashboardServer(ServedApp):
    """The live dashboard for one database: on a thread (tests) or in the foreground."""

    def __init__(
        self,
        database_url: str,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        public: bool = False,
        opt_out_topic: str = OPT_OUT_TOPIC,
        base: str = "/",
    ):
        self.prefix = base_path(base)
        sock = bind_guarded(host, port, "dashboard", public=public)
        try:
            self._engine = open_read_only(database_url)
        except StoreError:
            sock.close()
            raise
        hosts = None if public else served_hosts(host)
        app = create_app(self._engine, hosts, opt_out_topic, self.prefix)
        super().__init__(app, sock, "dashboard")

    @property
    def url(self) -> str:
        return f"http://{self.netloc_host}:{self.port}{self.prefix}/"

    def serve_forever(self) -> None:
        try:
            super().serve_forever()
        finally:
            self._engine.dispose()

    def stop(self) -> None:
        super().stop()
        self._engine.dispose()


def serve(
    database_url: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    public: bool = False,
    ready: Callable[[str], None] | None = None,
    opt_out_topic: str = OPT_OUT_TOPIC,
    base: str = "/",
) -> None:
    """Serve the dashboard until interrupted; ``ready`` gets its URL once the port is bound."""
    server = DashboardServer(
        database_url, host, port, public=public, opt_out_topic=opt_out_topic, base=base
    )
    if ready is not None:
        ready(server.url)
    server.serve_forever()
