"""A small real fleet folder and a sandbox server serving it on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World

TOKEN = "sandbox-token"

API_PIPFILE = """\
[[source]]
name = "pypi"
url = "https://pypi.org/simple"
verify_ssl = true

[packages]
orb-common = "==2.1.0"
requests = "*"
"""

WORKER_PIPFILE = """\
[packages]
orb-events = {version = "*", index = "codeartifact"}
"""


def write_fleet(root: Path) -> Path:
    """A fleet of five repositories in org ``acme`` plus packages on both indexes."""
    repos = {
        "orb-api": {
            "Pipfile": API_PIPFILE,
            "Pipfile.lock": json.dumps({"_meta": {"hash": {"sha256": "0" * 64}}}, indent=4) + "\n",
            "README.md": "# orb-api\n",
            "services/worker/Pipfile": WORKER_PIPFILE,
        },
        "orb-archived": {"Pipfile": API_PIPFILE},
        "orb-no-pipfile": {"setup.py": "from setuptools import setup\nsetup()\n"},
        "orb-empty": {},
        "tools-internal": {"Pipfile": API_PIPFILE},
    }
    for name, files in repos.items():
        folder = root / "github" / "acme" / name
        folder.mkdir(parents=True)
        for path, text in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text)
    (root / "github" / "acme" / "orb-archived.json").write_text(
        json.dumps({"archived": True, "topics": ["legacy"]})
    )
    (root / "github" / "acme" / "tools-internal.json").write_text(
        json.dumps({"default_branch": "trunk", "fork": True, "visibility": "internal"})
    )
    (root / "codeartifact.toml").write_text(
        '[internal]\norb-common = ["2.0.0", "2.1.0"]\norb-events = ["1.0.0"]\n'
        '[external]\nrequests = ["2.31.0", "2.32.3"]\norb-events = ["0.1.0"]\n'
        '[origin]\norb-events = {upstream = "ALLOW"}\n'
    )
    (root / "pypi.toml").write_text('[packages]\nrequests = ["2.31.0", "2.32.3"]\norb-events = ["0.1.0"]\n')
    return root


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    return write_fleet(tmp_path / "fleet")


@pytest.fixture
def world(fleet_dir: Path) -> World:
    return load_fleet(fleet_dir)


@pytest.fixture
def sandbox(world: World) -> Iterator[SandboxServer]:
    with SandboxServer(world) as server:
        yield server
