"""The sandbox's ASGI application: every service's routes behind one middleware.

The middleware does what GitHub and AWS do around every request: it counts the
request by method and route (the counters tests and benchmarks read), plays any
injected fault, checks the GitHub token, adds the rate-limit headers, and answers
``If-None-Match`` with 304 from an ``ETag`` over the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from pipfleet.sandbox.world import CORE_LIMIT, GRAPHQL_LIMIT, Fault, World

GITHUB = "/github"
HTML_PAGES = "/github-html"  # stands in for https://github.com: the pages html_url values name
CODEARTIFACT_API = "/codeartifact"
PRIVATE_INDEX = "/ca"
PUBLIC_INDEX = "/pypi"
CONTROL = "/_sandbox"
DOCS = "https://docs.github.com/rest"
# Routes a GitHub App calls with its JWT, and the manifest conversion that needs no
# credentials; their handlers verify what they need.
_APP_JWT_ROUTES = re.compile(
    rf"^{GITHUB}/(app(/|$)|orgs/[^/]+/installation$|app-manifests/[^/]+/conversions$)"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def github_error(
    status: int, message: str, errors: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """An error body in GitHub's shape."""
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def github_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") and value else None


async def _discard(message: Message) -> None:
    """An ASGI send that throws the answer away."""


class SandboxMiddleware:
    def __init__(self, app: ASGIApp, world: World):
        self.app = app
        self.world = world

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith((PUBLIC_INDEX + "/", PRIVATE_INDEX + "/")) and "//" in path:
            # pip and pipenv join an index URL ending in "/" with "/name/"; indexes accept it.
            path = re.sub("/{2,}", "/", path)
            scope = {**scope, "path": path, "raw_path": path.encode()}
        method: str = scope["method"]
        if not path.startswith(CONTROL):
            if self.world.latency > 0:  # a slow network: every answer waits, none fails
                await asyncio.sleep(self.world.latency)
            fault = self._take_fault(method, path)
            if fault is not None:
                if fault.after:  # the request is served, then its answer is lost or replaced
                    await self.app(scope, receive, _discard)
                await self._play(fault, scope, receive, send)
                return
        if path.startswith(GITHUB + "/") and not _APP_JWT_ROUTES.match(path):
            token = github_token(Request(scope))
            if token not in self.world.github_tokens:
                self._count(scope, method)
                await github_error(401, "Bad credentials")(scope, receive, send)
                return
        counted = False

        async def counting_send(message: Message) -> None:
            # Counted before the answer leaves: a client that reads the counters right
            # after its last answer must see that request.
            nonlocal counted
            if message["type"] == "http.response.start" and not counted:
                counted = True
                self._count(scope, method)
            await send(message)

        if path.startswith(GITHUB + "/"):
            await self._buffered(scope, receive, counting_send, github=True)
        elif path.startswith((PUBLIC_INDEX + "/", PRIVATE_INDEX + "/")):
            await self._buffered(scope, receive, counting_send, github=False)
        else:
            await self.app(scope, receive, counting_send)
        if not counted:
            self._count(scope, method)

    def _count(self, scope: Scope, method: str) -> None:
        if scope["path"].startswith(CONTROL):  # the observer must not show in what it observes
            return
        route = scope.get("route")
        template = getattr(route, "path", None) or scope["path"]
        with self.world.lock:
            self.world.counters[(method, template)] += 1

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.world.lock:
            for fault in self.world.faults:
                if fault.count > 0 and fault.matches(method, path):
                    if fault.skip > 0:  # let this many matching requests through first
                        fault.skip -= 1
                        return None
                    fault.count -= 1
                    return fault
        return None

    async def _play(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        self._count(scope, scope["method"])
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            # Promise a body and break off: the client sees the connection die mid-answer.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"100")],
                }
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ConnectionAbortedError("sandbox fault: dropped connection")
        headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
        if scope["path"].startswith(GITHUB + "/") and (fault.body is None or fault.status >= 400):
            # A GitHub error: ``body`` is the message of GitHub's error shape.
            message = "Injected fault" if fault.body is None else fault.body
            response: Response = github_error(fault.status, message)
            response.headers.update(headers)
        else:
            # ``body`` is the whole answer, as sent: "" is an empty body, "{" a cut one.
            body = "Injected fault" if fault.body is None else fault.body
            media = "application/json" if fault.body is not None else None
            response = Response(body, fault.status, headers=headers, media_type=media)
        await response(scope, receive, send)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, github: bool) -> None:
        """Run a request with ETag / 304 handling, and GitHub's rate-limit headers for GitHub."""
        started: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        status: int = started.get("status", 500)
        headers = [(k, v) for k, v in started.get("headers", []) if k.lower() != b"content-length"]
        graphql = scope["path"].startswith(GITHUB + "/graphql")
        resource = "graphql" if graphql else "core"
        limit = GRAPHQL_LIMIT if graphql else CORE_LIMIT
        etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        request_headers = dict(scope.get("headers", []))
        not_modified = (
            scope["method"] == "GET"
            and status == 200
            and request_headers.get(b"if-none-match", b"").decode() in (etag, "W/" + etag)
        )
        if github:
            with self.world.lock:
                if not not_modified:  # GitHub does not charge a conditional request answered 304
                    self.world.rate_used[resource] += 1
                used = self.world.rate_used[resource]
            reset = (int(time.time()) // 3600 + 1) * 3600
            headers += [
                (b"x-ratelimit-limit", str(limit).encode()),
                (b"x-ratelimit-remaining", str(max(limit - used, 0)).encode()),
                (b"x-ratelimit-reset", str(reset).encode()),
                (b"x-ratelimit-used", str(used).encode()),
                (b"x-ratelimit-resource", resource.encode()),
                (b"x-github-media-type", b"github.v3; format=json"),
            ]
        if status == 200 and scope["method"] == "GET":
            headers.append((b"etag", etag.encode()))
        if not_modified:
            status, body = 304, b""
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_app(world: World) -> ASGIApp:
    """The whole sandbox as one ASGI app: GitHub, CodeArtifact, both indexes, control."""
    from pipfleet.sandbox import (
        codeartifact_api,
        control,
        github_graphql,
        github_rest,
        html_pages,
        index,
    )

    routes: list[BaseRoute] = [
        *github_rest.routes(world),
        *github_graphql.routes(world),
        *codeartifact_api.routes(world),
        *index.routes(world),
        *control.routes(world),
        *html_pages.routes(world),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(GITHUB + "/"):
            return github_error(404, "Not Found")
        return JSONResponse({"message": "Not Found"}, status_code=404)

    app = Starlette(routes=routes, exception_handlers={404: not_found})
    return SandboxMiddleware(app, world)
