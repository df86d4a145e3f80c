"""Creating pipfleet's GitHub App with GitHub's manifest flow, from the command line.

A loopback page posts the manifest to GitHub's new-App page; GitHub sends the
browser back to the loopback callback with a one-time code, which is exchanged
for the App's id and private key. The key goes to a file only its owner can
read; it is never printed or logged, and no other secret is kept (pipfleet uses
neither OAuth nor webhooks).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from pipfleet import __version__
from pipfleet.config import Secret
from pipfleet.errors import GitHubError, UsageError
from pipfleet.github.permissions import manifest
from pipfleet.loopback import ServedApp, bind, interrupt_on_sigint, served_hosts

HOST = "127.0.0.1"
CALLBACK = "/callback"
# The page's one script submits its form; nothing else may run or load.
SUBMIT = "document.forms[0].submit()"
PAGE_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


@dataclass(frozen=True)
class FlowSettings:
    org: str
    name: str  # the App's name: unique across GitHub
    out: Path  # the folder the key and the settings go to
    api_url: str = "https://api.github.com"
    web_url: str = "https://github.com"
    timeout: float = 600


@dataclass(frozen=True)
class CreatedApp:
    app_id: int
    slug: str
    html_url: str
    key_file: Path
    env_file: Path

    @property
    def install_url(self) -> str:
        return f"{self.html_url}/installations/new"


def key_file(settings: FlowSettings) -> Path:
    return settings.out / "github-app.private-key.pem"


def env_file(settings: FlowSettings) -> Path:
    return settings.out / "github-app.env"


class _Callback:
    """The code GitHub's redirect brings, once, for the state this flow sent."""

    def __init__(self, state: str):
        self.state = state
        self.code: str | None = None
        self.arrived = threading.Event()

    def take(self, code: str | None, state: str | None) -> bool:
        if not code or not secrets.compare_digest(state or "", self.state) or self.arrived.is_set():
            return False
        self.code = code
        self.arrived.set()
        return True


def _page(title: str, body: str, status: int = 200, form_to: str | None = None) -> Response:
    # The hash keeps the submit script allowed and every other script refused.
    digest = base64.b64encode(hashlib.sha256(SUBMIT.encode()).digest()).decode()
    policy = "default-src 'none'" + (
        f"; script-src 'sha256-{digest}'; form-action 'self' {form_to}" if form_to else ""
    )
    document = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title></head><body>{body}</body></html>\n"
    )
    headers = PAGE_HEADERS | {"content-security-policy": policy}
    return HTMLResponse(document, status_code=status, headers=headers)


def start_page(settings: FlowSettings, state: str, redirect_url: str) -> Response:
    """The page the user opens: a form holding the manifest, posted to GitHub at once."""
    action = (
        f"{settings.web_url.rstrip('/')}/organizations/{quote(settings.org)}"
        f"/settings/apps/new?state={quote(state)}"
    )
    document = json.dumps(manifest(settings.name, redirect_url))
    body = (
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="manifest" value="{escape(document)}">'
        f"<p>Creating the GitHub App {escape(settings.name)} on {escape(settings.org)}: "
        f'<button type="submit">continue on GitHub</button></p></form>'
        f"<script>{SUBMIT}</script>"
    )
    # 'self' too: browsers hold the redirect that ends the flow to form-action as well.
    web = urlsplit(settings.web_url)
    return _page("pipfleet: create the GitHub App", body, form_to=f"{web.scheme}://{web.netloc}")


def _flow_app(settings: FlowSettings, callback: _Callback, redirect_url: str) -> Starlette:
    async def start(request: Request) -> Response:
        return start_page(settings, callback.state, redirect_url)

    async def arrive(request: Request) -> Response:
        if not callback.take(request.query_params.get("code"), request.query_params.get("state")):
            body = "<h1>Not this flow's answer</h1><p>Start again from pipfleet's page.</p>"
            return _page("pipfleet: wrong answer", body, 400)
        body = "<h1>GitHub App created</h1><p>Back to the terminal: pipfleet finishes there.</p>"
        return _page("pipfleet: done", body)

    return Starlette(
        routes=[Route("/", start), Route(CALLBACK, arrive)],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=served_hosts(HOST))],
    )


def check_out_folder(settings: FlowSettings) -> None:
    """Refuse before any browser step, not after GitHub has made the App."""
    for path in (key_file(settings), env_file(settings)):
        if path.exists():
            raise UsageError(f"{path} already exists: give another --out, or move it away")


def wait_for_code(settings: FlowSettings, announce: Callable[[str], None]) -> str:
    """Serve the loopback page and callback until GitHub's redirect brings a code."""
    callback = _Callback(secrets.token_urlsafe(24))
    sock = bind(HOST, 0)
    port = sock.getsockname()[1]
    base = f"http://{HOST}:{port}"
    server = ServedApp(_flow_app(settings, callback, base + CALLBACK), sock, "App manifest flow")
    interrupt_on_sigint()
    with server:
        announce(base + "/")
        # Waited for in short slices: a Ctrl-C the kernel hands to the server's thread leaves
        # a wait on the main thread asleep until it returns, and only then is it raised.
        deadline = time.monotonic() + settings.timeout
        while not callback.arrived.wait(min(0.2, max(deadline - time.monotonic(), 0))):
            if time.monotonic() >= deadline:
                break
        if not callback.arrived.is_set():
            raise UsageError(
                f"GitHub did not send the browser back within {settings.timeout:g} s: "
                "no App was created; run the command again"
            )
    assert callback.code is not None
    return callback.code


def exchange(settings: FlowSettings, code: str) -> tuple[int, str, str, Secret]:
    """The App's id, slug, page and private key, for the flow's one-time code."""
    url = f"{settings.api_url.rstrip('/')}/app-manifests/{quote(code)}/conversions"
    headers = {"accept": "application/vnd.github+json", "user-agent": f"pipfleet/{__version__}"}
    try:
        answer = httpx.post(url, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise GitHubError(f"cannot reach {settings.api_url} to finish the App: {exc}") from None
    if answer.status_code != 201:
        raise GitHubError(
            f"GitHub refused the App manifest code ({answer.status_code}): codes work once "
            "and for an hour; run the command again"
        )
    try:
        body = answer.json()
        return int(body["id"]), str(body["slug"]), str(body["html_url"]), Secret(body["pem"])
    except (ValueError, KeyError, TypeError):
        raise GitHubError("GitHub's answer for the App manifest code lacks its id or key") from None


def write_app(settings: FlowSettings, app_id: int, pem: Secret) -> None:
    """The key, readable by its owner only, and the settings that point at it."""
    key = key_file(settings)
    descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(pem.reveal())
    env_file(settings).write_text(
        f"PIPFLEET_GITHUB_APP_ID={app_id}\nPIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH={key.resolve()}\n",
        encoding="utf-8",
    )


def create_app(settings: FlowSettings, announce: Callable[[str], None]) -> CreatedApp:
    check_out_folder(settings)
    code = wait_for_code(settings, announce)
    app_id, slug, html_url, pem = exchange(settings, code)
    write_app(settings, app_id, pem)
    return CreatedApp(app_id, slug, html_url, key_file(settings), env_file(settings))
