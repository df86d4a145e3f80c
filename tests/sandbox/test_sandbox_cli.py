"""`pipfleet sandbox serve` and `make-fleet` as a user runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import boto3
import httpx

from pipfleet.config import parse_settings

PIPFLEET = Path(sys.executable).with_name("pipfleet")
# Generous: under pytest-xdist on a loaded 2-CPU machine a server can take long to answer.
TIMEOUT = httpx.Timeout(60.0)


def wait_until_served(url: str, headers: dict[str, str], deadline: float = 120.0) -> httpx.Response:
    """The first answer from a server just started: its banner comes before it listens."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            return httpx.get(url, headers=headers, timeout=TIMEOUT)
        except httpx.TransportError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.1)


def test_make_fleet_then_serve_with_written_config(tmp_path: Path) -> None:
    fleet, config = tmp_path / "fleet", tmp_path / "pipfleet.toml"
    made = subprocess.run(
        [PIPFLEET, "sandbox", "make-fleet", fleet, "--repos", "12", "--seed", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0 and "repositories 12" in made.stdout
    again = subprocess.run(
        [PIPFLEET, "sandbox", "make-fleet", fleet, "--repos", "3"], capture_output=True, text=True
    )
    assert again.returncode == 2 and "exists and is not an empty folder" in again.stderr

    server = subprocess.Popen(
        [
            PIPFLEET,
            "sandbox",
            "serve",
            "--fleet",
            fleet,
            "--write-config",
            config,
            "--token",
            "t0k",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(8)]
        assert banner[0].startswith("pipfleet sandbox: 12 repositories")
        assert "export GITHUB_TOKEN=t0k\n" in [server.stdout.readline() for _ in range(4)]
        settings = parse_settings(tomllib.loads(config.read_text()), {})
        assert "t0k" not in config.read_text()
        repos = wait_until_served(
            settings.github.api_url + "/orgs/acme/repos", headers={"Authorization": "token t0k"}
        )
        assert repos.status_code == 200 and len(repos.json()) == 12
        ca = settings.codeartifact
        client = boto3.client("codeartifact", region_name=ca.region, endpoint_url=ca.endpoint_url)
        token = client.get_authorization_token(domain=ca.domain, domainOwner=ca.domain_owner)
        index = ca.source_url.replace("${CODEARTIFACT_AUTH_TOKEN}", token["authorizationToken"])
        assert httpx.get(index + "orb-common/", timeout=TIMEOUT).status_code == 200
        assert httpx.get(settings.pypi.index_url, timeout=TIMEOUT).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 130  # interrupted, as a shell reports Ctrl-C


def test_serve_refuses_a_public_address(tmp_path: Path) -> None:
    (tmp_path / "github").mkdir()
    refused = subprocess.run(
        [PIPFLEET, "sandbox", "serve", "--fleet", tmp_path, "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert (
        refused.stderr.strip()
        == "pipfleet: error: the sandbox binds only loopback addresses, not '0.0.0.0'"
    )
