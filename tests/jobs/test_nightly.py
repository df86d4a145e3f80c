"""The nightly job and the demo, as a scheduler and a new user run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World
from pipfleet.store.db import make_engine, upgrade
from pipfleet.store.runlock import acquire

PIPFLEET = Path(sys.executable).with_name("pipfleet")


@pytest.fixture
def config(sandbox: SandboxServer, world: World, tmp_path: Path) -> Path:
    path = tmp_path / "pipfleet.toml"
    path.write_text(
        config_text(sandbox.urls, world, "acme").replace(
            "[github]\n", "[github]\nwrite_pause = 0.0\n"
        )
    )
    return path


def run(*args: str | Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "GITHUB_TOKEN": "sandbox-token",
        "PIPFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'pipfleet.db'}",
    }
    return subprocess.run(
        [str(PIPFLEET), *map(str, args)], capture_output=True, text=True, env=environ, timeout=120
    )


def test_run_scans_fixes_and_writes_the_dashboard(
    config: Path, tmp_path: Path, world: World
) -> None:
    dashboard = tmp_path / "site" / "index.html"
    result = run("run", "--config", config, "--report", dashboard, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    paragraph = result.stdout.strip()
    assert paragraph.startswith("Scanned 4 repositories (2 read, 0 unchanged, 2 skipped, 0 failed)")
    assert "Pull requests: 1 opened" in paragraph and f"Dashboard: {dashboard}." in paragraph
    assert dashboard.read_text().lstrip().lower().startswith("<!doctype html>")
    repo = world.repository("acme", "orb-api")
    assert repo is not None and len(repo.pulls) == 1
    strict = run("run", "--config", config, "--strict", tmp_path=tmp_path)
    assert strict.returncode == 1  # the critical confusion risk needs a human
    assert (
        "Pull requests: 0 opened, 0 updated, 0 closed as fixed elsewhere, 1 already up to date"
        in strict.stdout
    )


def test_a_second_run_waits_for_the_lock(config: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pipfleet.db'}"
    upgrade(url)
    acquire(make_engine(url), "other-host:42")
    result = run("run", "--config", config, tmp_path=tmp_path)
    assert result.returncode == 4
    assert result.stderr.strip().startswith(
        "pipfleet: error: another pipfleet run (other-host:42) holds the lock"
    )


def test_demo_runs_the_nightly_job_end_to_end(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(PIPFLEET), "demo", "--out", tmp_path / "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Scanned 41 repositories" in result.stdout and "opened" in result.stdout
    assert result.stdout.count("title: Pin private packages to the codeartifact index") == 3
    assert result.stdout.count("+++ b/") >= 3
    assert (tmp_path / "demo" / "dashboard.html").is_file()
    assert f"dashboard: {tmp_path / 'demo' / 'dashboard.html'}" in result.stdout
