"""The nightly job and the demo, as a scheduler and a new user run them."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jsonschema
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from pipfleet.config import DatabaseSettings, load_settings
from pipfleet.errors import Interrupted, UsageError
from pipfleet.jobs.demo import DEMO_MARKER, run_demo
from pipfleet.report import ReportFormat
from pipfleet.report.document import SCHEMA
from pipfleet.report.model import ReportQuery
from pipfleet.report.output import make_report
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World
from pipfleet.store.db import make_engine, upgrade
from pipfleet.store.models import RunLock, RunStatus, ScanRun, utcnow
from pipfleet.store.runlock import KILLED, acquire

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


def environment(database_url: str) -> dict[str, str]:
    return {**os.environ, "GITHUB_TOKEN": "sandbox-token", "PIPFLEET_DATABASE_URL": database_url}


def run(
    *args: str | Path, tmp_path: Path, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    environ = environment(database_url or f"sqlite:///{tmp_path / 'pipfleet.db'}")
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


def test_scan_and_fix_take_the_lock_but_their_dry_runs_do_not(config: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pipfleet.db'}"
    upgrade(url)
    acquire(make_engine(url), "other-host:42")
    for command in ("scan", "fix"):
        held = run(command, "--config", config, tmp_path=tmp_path)
        assert held.returncode == 4, held.stderr
        assert "another pipfleet run (other-host:42) holds the lock" in held.stderr
    dry = run("scan", "--config", config, "--dry-run", tmp_path=tmp_path)
    assert dry.returncode == 0, dry.stderr


def scans(database_url: str) -> list[ScanRun]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(ScanRun).order_by(col(ScanRun.id))).all()
            session.expunge_all()
            return list(rows)
    finally:
        engine.dispose()


def lock_holder(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            row = session.get(RunLock, 1)
            return None if row is None else row.holder
    finally:
        engine.dispose()


def start_a_slow_run(
    config: Path, sandbox: SandboxServer, database_url: str
) -> subprocess.Popen[str]:
    """``pipfleet run`` held up in its scan, with the scan's row recorded as running."""
    slow = {"route": "/github/graphql", "status": 500, "delay": 5.0, "count": 1000}
    httpx.post(sandbox.urls.control + "/faults", json=slow).raise_for_status()
    process = subprocess.Popen(
        [str(PIPFLEET), "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(database_url),
    )
    deadline = time.monotonic() + 60
    while not any(row.status is RunStatus.RUNNING for row in scans(database_url)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never started its scan"
        time.sleep(0.05)
    return process


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_stopped_run_neither_blocks_the_next_nor_stays_running(
    how: signal.Signals, config: Path, sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    process = start_a_slow_run(config, sandbox, database_url)
    holder = f"{socket.gethostname()}:{process.pid}"
    assert lock_holder(database_url) == holder
    process.send_signal(how)
    _, stderr = process.communicate(timeout=60)
    httpx.delete(sandbox.urls.control + "/faults").raise_for_status()
    [stopped] = scans(database_url)
    assert stopped.holder == holder
    if how is signal.SIGTERM:
        assert process.returncode == 3
        assert "Traceback" not in stderr
        assert stderr.splitlines()[-1] == (  # after the progress lines
            "pipfleet: error: stopped by SIGTERM before the run finished"
        )
        assert lock_holder(database_url) is None
        assert stopped.status is RunStatus.INTERRUPTED
        assert stopped.error == "interrupted: stopped by SIGTERM before the run finished"
    else:
        assert lock_holder(database_url) == holder  # left behind, with the row "running"
        assert stopped.status is RunStatus.RUNNING
    following = run("run", "--config", config, tmp_path=tmp_path, database_url=database_url)
    assert following.returncode == 0, following.stderr
    stopped, completed = scans(database_url)
    assert stopped.status is RunStatus.INTERRUPTED and stopped.finished_at is not None
    if how is signal.SIGKILL:
        assert stopped.error == KILLED
    assert completed.status is RunStatus.COMPLETED and completed.holder != holder
    assert lock_holder(database_url) is None


def test_a_run_that_lost_its_lock_stops(config: Path, tmp_path: Path) -> None:
    from pipfleet.jobs.nightly import exclusive

    url = f"sqlite:///{tmp_path / 'pipfleet.db'}"
    upgrade(url)
    settings = load_settings(config)
    settings = dataclasses.replace(
        settings, database=DatabaseSettings(url, lock_heartbeat=0.05, lock_stale_after=0.5)
    )
    engine = make_engine(url)
    with pytest.raises(Interrupted, match="another run took the run lock over"):
        with exclusive(settings, engine):
            with engine.begin() as connection:  # as a run would after this one froze
                connection.execute(update(RunLock).values(holder="other-host:42"))
            time.sleep(30)  # cut short by the heartbeat thread
    assert lock_holder(url) == "other-host:42"
    engine.dispose()


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


def test_reports_pass_over_an_interrupted_run_unless_asked_for_it(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        session.add(ScanRun(status=RunStatus.COMPLETED, finished_at=utcnow()))
        session.add(ScanRun(status=RunStatus.INTERRUPTED, finished_at=utcnow(), error=KILLED))
        session.commit()
    engine.dispose()
    latest = json.loads(make_report(database_url, ReportFormat.JSON))
    assert latest["run"]["id"] == 1 and [point["run_id"] for point in latest["trend"]] == [1]
    asked = json.loads(make_report(database_url, ReportFormat.JSON, ReportQuery(run_id=2)))
    jsonschema.validate(asked, SCHEMA)
    assert asked["run"]["status"] == "interrupted" and asked["run"]["error"] == KILLED


def test_demo_replaces_its_own_folder_and_refuses_any_other(tmp_path: Path) -> None:
    precious = tmp_path / "checkout"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me\n")

    with pytest.raises(UsageError, match="is not a pipfleet demo folder"):
        run_demo(precious)
    assert (precious / "notes.txt").read_text() == "keep me\n"

    demo = tmp_path / "demo"
    run_demo(demo)
    (demo / "leftover.txt").write_text("from the last demo\n")
    run_demo(demo)
    assert (demo / DEMO_MARKER).is_file() and not (demo / "leftover.txt").exists()
