"""Patience: every failure of a GitHub call, network ones included, is one GitHubError line."""

from __future__ import annotations

import errno
import json
import os
import socket
from collections.abc import Callable

import pytest
import requests
import urllib3.exceptions
from github import Auth, Github

from pipfleet.errors import GitHubError
from pipfleet.github.limits import Patience, server_error_retry
from pipfleet.sandbox.server import SandboxServer

SECRET = "ghp_never-shown-0123456789"


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def graphql_call(base_url: str) -> Callable[[], object]:
    github = Github(
        auth=Auth.Token(SECRET), base_url=base_url, retry=server_error_retry(), timeout=5
    )
    requester = github.requester
    return lambda: requester.requestJsonAndCheck(
        "POST", requester.graphql_url, input={"query": "{ viewer { login } }"}
    )


def failure(action: Callable[[], object]) -> str:
    with pytest.raises(GitHubError) as raised:
        Patience(sleep=lambda _: None).call("listing acme's repositories", action, lambda: None)
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message
    assert message.startswith("GitHub failed while listing acme's repositories (")
    return message


def test_connection_refused() -> None:
    port = unused_port()
    assert f"connection refused by 127.0.0.1:{port}" in failure(
        graphql_call(f"http://127.0.0.1:{port}")
    )


def test_unresolvable_host() -> None:
    assert "cannot resolve github.pipfleet.invalid" in failure(
        graphql_call("http://github.pipfleet.invalid")
    )


def test_a_dropped_answer(sandbox: SandboxServer) -> None:
    requests.post(
        sandbox.urls.control + "/faults", json={"route": "/graphql$", "drop": True}, timeout=5
    )
    message = failure(graphql_call(sandbox.urls.github_api))
    assert "dropped before the answer was complete" in message


@pytest.mark.parametrize("body", ["{", '[{"data": '])
def test_a_cut_json_body(sandbox: SandboxServer, body: str) -> None:
    fault = {"route": "/graphql$", "status": 200, "body": body}
    requests.post(sandbox.urls.control + "/faults", json=fault, timeout=5)
    assert "the answer is not valid JSON" in failure(graphql_call(sandbox.urls.github_api))


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), "no answer in time"),
        (requests.exceptions.ChunkedEncodingError("broken"), "dropped before the answer"),
        (requests.exceptions.ContentDecodingError("bad gzip"), "content encoding is broken"),
        (json.JSONDecodeError("Expecting value", "{", 1), "not valid JSON"),
        (requests.exceptions.TooManyRedirects("loop"), "TooManyRedirects"),
    ],
)
def test_each_network_failure_is_named(error: Exception, reason: str) -> None:
    def action() -> object:
        raise error

    assert reason in failure(action)


@pytest.mark.parametrize("code", [errno.EHOSTUNREACH, errno.ENETUNREACH])
def test_an_unreachable_host_is_not_called_a_timeout(code: int) -> None:
    # urllib3's NewConnectionError is also a ConnectTimeoutError: the errno must win.
    def action() -> object:
        try:
            try:
                raise OSError(code, os.strerror(code))
            except OSError as cause:
                raise urllib3.exceptions.NewConnectionError(None, "cannot connect") from cause
        except urllib3.exceptions.NewConnectionError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc

    message = failure(action)
    assert f"cannot reach the server ({os.strerror(code)}): check github.api_url" in message
    assert "in time" not in message


def test_other_errors_are_not_swallowed() -> None:
    def action() -> object:
        raise KeyError("a bug keeps its traceback")

    with pytest.raises(KeyError):
        Patience().call("reading", action, lambda: None)
