"""`pipfleet github-app check` against the sandbox's App installation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import GitHubApp, World

APP_ID = 4711
PIPFLEET = Path(sys.executable).with_name("pipfleet")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def config(tmp_path: Path, sandbox: SandboxServer, world: World, key: rsa.RSAPrivateKey) -> Path:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    world.github_app = GitHubApp(app_id=APP_ID, public_key_pem=public.decode())
    path = tmp_path / "pipfleet.toml"
    path.write_text(config_text(sandbox.urls, world, "acme"))
    return path


def check(config: Path, key: rsa.RSAPrivateKey | None, **env: str) -> tuple[int, str]:
    """The command as a user runs it: its exit code, and stdout then stderr."""
    environ = dict(os.environ) | env
    if key is not None:
        environ["PIPFLEET_GITHUB_APP_ID"] = str(APP_ID)
        environ["PIPFLEET_GITHUB_APP_PRIVATE_KEY"] = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    done = subprocess.run(
        [PIPFLEET, "github-app", "check", "--config", config],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def grant(sandbox: SandboxServer, **permissions: str) -> None:
    answer = httpx.put(f"{sandbox.urls.control}/app/permissions", json=permissions)
    assert answer.status_code == 200


def test_an_installation_with_what_pipfleet_needs(
    config: Path, key: rsa.RSAPrivateKey, sandbox: SandboxServer
) -> None:
    grant(sandbox, contents="write", metadata="read", pull_requests="write")
    code, output = check(config, key)
    assert code == 0, output
    assert output.splitlines() == [
        f"the GitHub App {APP_ID} is installed on acme (installation 4242)",
        "repositories: 5 visible to the installation, 4 of them selected by "
        "github.include / github.exclude",
        "permissions: contents: write, metadata: read, pull_requests: write",
        "scan: has every permission it needs",
        "fix: has every permission it needs",
    ]


def test_what_is_missing_for_fix_but_not_scan(
    config: Path, key: rsa.RSAPrivateKey, sandbox: SandboxServer
) -> None:
    grant(sandbox, contents="read", metadata="read")
    code, output = check(config, key)
    assert code == 1
    assert output.splitlines()[-2:] == [
        "scan: has every permission it needs",
        "fix: missing Contents: read and write (has read); "
        "missing Pull requests: read and write (has none)",
    ]


def test_an_app_not_installed_on_the_org(
    config: Path, key: rsa.RSAPrivateKey, world: World
) -> None:
    config.write_text(config.read_text().replace('org = "acme"', 'org = "elsewhere"'))
    code, output = check(config, key)
    assert code == 1
    assert output.startswith(f"the GitHub App {APP_ID} is not installed on elsewhere")


def test_config_problems_exit_2(config: Path, key: rsa.RSAPrivateKey) -> None:
    code, output = check(config, key, PIPFLEET_GITHUB_APP_INSTALLATION_ID="9")
    assert (code, output) == (
        2,
        "pipfleet: error: the configured installation id for acme is 9, but the App's "
        "installation on acme is 4242: fix or remove it\n",
    )
    code, output = check(config, None)
    assert code == 2
    assert output.startswith("pipfleet: error: github-app check needs the App's credentials")
    assert output.count("\n") == 1


def test_a_key_github_refuses_is_one_line(config: Path) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    code, output = check(config, stranger)
    assert code == 2 and output.startswith("pipfleet: error: ") and output.count("\n") == 1


def test_every_configured_org_is_checked(
    config: Path, key: rsa.RSAPrivateKey, sandbox: SandboxServer
) -> None:
    grant(sandbox, contents="write", metadata="read", pull_requests="write")
    config.write_text(config.read_text().replace('org = "acme"', 'orgs = ["acme", "elsewhere"]'))
    code, output = check(config, key)
    assert code == 1  # installed on acme with all it needs, not installed on elsewhere
    lines = output.splitlines()
    assert lines[0] == f"the GitHub App {APP_ID} is installed on acme (installation 4242)"
    assert lines[3:5] == [
        "scan: has every permission it needs",
        "fix: has every permission it needs",
    ]
    assert lines[5].startswith(f"the GitHub App {APP_ID} is not installed on elsewhere")
