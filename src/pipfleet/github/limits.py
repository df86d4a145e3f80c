"""Retries and rate limits: transient failures are retried, rate limits waited out or not.

PyGithub's own retry sleeps for as long as a Retry-After header says, an hour
if need be, and does not cover a 429 without one. pipfleet retries only server
errors by itself and decides about rate limits here: wait once when GitHub says
how long and the wait is within ``max_wait``, else stop the run cleanly.
"""

from __future__ import annotations

import errno
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from github import GithubException
from urllib3.util.retry import Retry

from pipfleet.errors import GitHubError, NotFound, RateLimited, Unauthorized

T = TypeVar("T")


def server_error_retry(*, writes: bool = False) -> Retry:
    """Retry 5xx answers and dropped connections a few times; never sleep on Retry-After.

    A client that writes does not resend a POST after an answer failed: GitHub may have
    made the comment or pull request already, and a second POST makes a second one. The
    fix job finds out what exists on its next run instead. A request that never reached
    GitHub (a refused connection) is retried whatever its method.
    """
    return Retry(
        total=3,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"PATCH"} if writes else None,
        respect_retry_after_header=False,
        raise_on_status=False,
    )


def translate(exc: GithubException, doing: str) -> GitHubError:
    """A one-line GitHubError for a PyGithub exception, without any credential in it."""
    status = exc.status
    message = exc.data.get("message") if isinstance(exc.data, dict) else None
    reason = f"{status} {message}" if message else str(status)
    if status == 401:
        return Unauthorized(
            f"GitHub refused the credentials while {doing} ({reason}): check GITHUB_TOKEN "
            "or the GitHub App id, key and installation"
        )
    headers = exc.headers or {}
    retry_after = headers.get("retry-after")
    if status == 429 or (
        status == 403
        and ("rate limit" in (message or "").lower() or headers.get("x-ratelimit-remaining") == "0")
    ):
        wait = float(retry_after) if retry_after else None
        if wait is None and headers.get("x-ratelimit-reset"):
            wait = max(float(headers["x-ratelimit-reset"]) - time.time(), 0.0)
        return RateLimited(f"GitHub's rate limit stopped {doing} ({reason})", retry_after=wait)
    if status == 404:
        return NotFound(f"not found while {doing} ({reason}): check the org and the token's access")
    return GitHubError(f"GitHub failed while {doing} ({reason})")


# What requests and urllib3 raise when the network or the answer's bytes fail, and what
# PyGithub's json.loads raises on a cut body; PyGithub lets all of these through.
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    json.JSONDecodeError,
    UnicodeDecodeError,
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests keeps urllib3's error in args, urllib3 in reason."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = (current.__cause__, current.__context__, getattr(current, "reason", None))
        pending += [e for e in (*wrapped, *current.args) if isinstance(e, BaseException)]


def _where(exc: BaseException) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if not isinstance(url, str):
        return ""
    # Host and port only: the path and any user:password part stay out of the message.
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return f" {host}:{parts.port}" if parts.port else f" {host}" if host else ""
    except ValueError:
        return ""


def _network_reason(exc: BaseException) -> str:
    chain = list(_chain(exc))

    def seen(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    where = _where(exc)
    server = where or " the server"
    if seen(urllib3.exceptions.NameResolutionError, socket.gaierror):
        return f"cannot resolve{where or ' the host'}: check github.api_url and DNS"
    if seen(ConnectionRefusedError):
        return f"connection refused by{server}: check github.api_url"
    # Before timeouts: urllib3's NewConnectionError is a ConnectTimeoutError too.
    unreachable = (errno.EHOSTUNREACH, errno.ENETUNREACH)
    lost = [e.strerror for e in chain if isinstance(e, OSError) and e.errno in unreachable]
    if lost:
        return f"cannot reach{server} ({lost[0]}): check github.api_url, the network and any proxy"
    if seen(requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
        return f"no answer in time from{server}"
    if seen(requests.exceptions.SSLError, ssl.SSLError):
        return f"TLS failed with{server}"
    if seen(json.JSONDecodeError, UnicodeDecodeError, requests.exceptions.InvalidJSONError):
        return "the answer is not valid JSON"
    if seen(requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError):
        return "the answer's content encoding is broken"
    if seen(
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.ProtocolError,
        ConnectionError,
    ):
        return f"the connection to{server} dropped before the answer was complete"
    system = next((e.strerror for e in chain if isinstance(e, OSError) and e.strerror), None)
    if system:
        return f"cannot connect to{server}: {system}"
    # Only the type: an unknown error's text may carry the URL and whatever is in it.
    return f"{type(exc).__name__} from{server}"


def network_error(exc: Exception, doing: str) -> GitHubError:
    """A one-line GitHubError for a failed connection or an unreadable answer, no URL path."""
    return GitHubError(f"GitHub failed while {doing} ({_network_reason(exc)})")


class Patience:
    """Runs GitHub calls, waiting out one rate limit per call if it is short enough."""

    def __init__(self, max_wait: float = 300.0, sleep: Callable[[float], None] = time.sleep):
        self.max_wait = max_wait
        self._sleep = sleep

    def call(self, doing: str, action: Callable[[], T], count: Callable[[], None]) -> T:
        for attempt in (1, 2):
            count()
            try:
                return action()
            except GithubException as exc:
                error = translate(exc, doing)
                if not isinstance(error, RateLimited) or attempt == 2:
                    raise error from exc
                if error.retry_after is None or error.retry_after > self.max_wait:
                    raise error from exc
                self._sleep(error.retry_after)
            except NETWORK_ERRORS as exc:
                # urllib3 has already retried what can be retried (see server_error_retry).
                raise network_error(exc, doing) from exc
        raise AssertionError("unreachable")
