"""Retries and rate limits: transient failures are retried, rate limits waited out or not.

PyGithub's own retry sleeps for as long as a Retry-After header says, an hour
if need be, and does not cover a 429 without one. pipfleet retries only server
errors by itself and decides about rate limits here: wait once when GitHub says
how long and the wait is within ``max_wait``, else stop the run cleanly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from github import GithubException
from urllib3.util.retry import Retry

from pipfleet.errors import GitHubError, NotFound, RateLimited

T = TypeVar("T")


def server_error_retry() -> Retry:
    """Retry 5xx answers and dropped connections a few times; never sleep on Retry-After."""
    return Retry(
        total=3,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=None,
        respect_retry_after_header=False,
        raise_on_status=False,
    )


def translate(exc: GithubException, doing: str) -> GitHubError:
    """A one-line GitHubError for a PyGithub exception, without any credential in it."""
    status = exc.status
    message = exc.data.get("message") if isinstance(exc.data, dict) else None
    reason = f"{status} {message}" if message else str(status)
    if status == 401:
        return GitHubError(
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
        raise AssertionError("unreachable")
