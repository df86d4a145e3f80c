"""`pipfleet scan` and `pipfleet db` as a nightly job runs them: a real process against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World

PIPFLEET = Path(sys.executable).with_name("pipfleet")


@pytest.fixture
def config(sandbox: SandboxServer, world: World, tmp_path: Path) -> Path:
    path = tmp_path / "pipfleet.toml"
    path.write_text(config_text(sandbox.urls, world, "acme"))
    return path


def run(*args: str | Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "GITHUB_TOKEN": "sandbox-token",
        "PIPFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'pipfleet.db'}",
        **env,
    }
    return subprocess.run(
        [str(PIPFLEET), *map(str, args)], capture_output=True, text=True, env=environ, timeout=120
    )


def test_scan_prints_progress_and_a_summary(config: Path, tmp_path: Path) -> None:
    result = run("scan", "--config", config, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "scan.repositories: matching=4" in result.stderr
    assert "scan.progress: done=4 total=4" in result.stderr
    summary = result.stdout.splitlines()[0]
    assert summary.startswith(
        "scan completed (run 1): 4 repositories (2 read, 0 unchanged, 2 skipped"
    )
    assert "compliant 0%" in summary and "missing-index" in result.stdout
    again = run("scan", "--config", config, tmp_path=tmp_path)
    assert "(run 2): 4 repositories (0 read, 2 unchanged" in again.stdout


def test_json_logs_and_summary(config: Path, tmp_path: Path) -> None:
    result = run("scan", "--config", config, "--log-format", "json", "--dry-run", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events][:2] == ["scan.listing", "scan.repositories"]
    summary = json.loads(result.stdout)
    assert summary["event"] == "scan.summary" and summary["dry_run"] is True
    assert summary["run_id"] is None and summary["findings"]["missing-index"] == 1
    assert not (tmp_path / "pipfleet.db").exists()


def test_a_run_github_stops_exits_3_with_one_line(
    sandbox: SandboxServer, config: Path, tmp_path: Path
) -> None:
    httpx.post(sandbox.urls.control + "/faults", json={"route": "/github/graphql", "status": 403})
    result = run("scan", "--config", config, tmp_path=tmp_path)
    assert result.returncode == 3
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("pipfleet: error: GitHub failed while listing acme's repositories (403")
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("[pypi]", "[pypi]\nmirror = 1"), "unknown key pypi.mirror"),
        (lambda text: text.replace('org = "acme"', "org = 3"), "github.org must be a str"),
    ],
)
def test_config_errors_exit_2(config: Path, tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    config.write_text(edit(config.read_text()))
    result = run("scan", "--config", config, tmp_path=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_credentials_exit_2(config: Path, tmp_path: Path) -> None:
    result = run("scan", "--config", config, tmp_path=tmp_path, GITHUB_TOKEN="")
    assert result.returncode == 2 and "no GitHub credentials" in result.stderr


def test_db_upgrade_and_current(config: Path, tmp_path: Path) -> None:
    assert run("db", "current", "--config", config, tmp_path=tmp_path).stdout.strip() == "none"
    upgraded = run("db", "upgrade", "--config", config, tmp_path=tmp_path)
    assert upgraded.returncode == 0 and upgraded.stdout.startswith("database at revision ")
    assert run("db", "current", "--config", config, tmp_path=tmp_path).stdout.strip() != "none"
