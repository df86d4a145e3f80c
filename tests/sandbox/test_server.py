from __future__ import annotations

import httpx
import pytest

from pipfleet.errors import UsageError
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World


def test_refuses_non_loopback_addresses() -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(UsageError, match="only loopback"):
            SandboxServer(World(), host=host)


def test_serves_on_an_ephemeral_port_and_stops(sandbox: SandboxServer) -> None:
    assert sandbox.port > 0
    urls = sandbox.urls
    assert urls.github_api == f"http://127.0.0.1:{sandbox.port}/github"
    assert urls.private_index_with_auth().startswith(
        f"http://aws:${{CODEARTIFACT_AUTH_TOKEN}}@127.0.0.1:{sandbox.port}/ca/"
    )
    response = httpx.get(urls.github_api + "/rate_limit")
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"
