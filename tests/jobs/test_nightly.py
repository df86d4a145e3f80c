"""The nightly job and the demo, as a scheduler and a new user run them."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
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
    acquire(make_engine(url), "acme", "other-host:42")
    result = run("run", "--config", config, tmp_path=tmp_path)
    assert result.returncode == 4
    assert result.stderr.strip().startswith(
        "pipfleet: error: another pipfleet run (other-host:42) holds the lock"
    )


def test_scan_and_fix_take_the_lock_but_their_dry_runs_do_not(config: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pipfleet.db'}"
    upgrade(url)
    acquire(make_engine(url), "acme", "other-host:42")
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
            row = session.get(RunLock, "acme")
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


Demo = tuple[Path, subprocess.CompletedProcess[str]]


def user_environment() -> dict[str, str]:
    """The environment of someone trying pipfleet out: no token, database or config set."""
    unset = ("PIPFLEET_DATABASE_URL", "PIPFLEET_CONFIG", "GITHUB_TOKEN")
    return {name: value for name, value in os.environ.items() if name not in unset}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`pipfleet demo` as `make demo` runs it (the default, relative --out), once, over the
    folder an earlier demo left behind."""
    where = tmp_path_factory.mktemp("make-demo")
    earlier = where / "pipfleet-demo"
    earlier.mkdir()
    (earlier / DEMO_MARKER).write_text("made by pipfleet demo\n")
    (earlier / "leftover.txt").write_text("from the last demo\n")
    # Settings of the user's own, which the demo's runs must not take up.
    elsewhere = where / "elsewhere"
    users = {
        "GITHUB_TOKEN": "the-users-own-token",
        "PIPFLEET_DATABASE_URL": f"sqlite:///{elsewhere / 'pipfleet.db'}",
        "XDG_CACHE_HOME": str(elsewhere / "cache"),
    }
    elsewhere.mkdir()
    result = subprocess.run(
        [str(PIPFLEET), "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=where,
        env={**user_environment(), **users},
    )
    assert result.returncode == 0, result.stderr
    assert not any(elsewhere.iterdir())
    assert (earlier / "cache" / "pipfleet" / "pypi-etags.json").is_file()
    return where, result


def printed_steps(stdout: str) -> list[tuple[int, list[str]]]:
    """The demo's next steps: each command as printed, and the exit code it says to expect."""
    lines = stdout.split("Next, from this folder:\n", 1)[1].splitlines()
    steps = []
    for purpose, command in zip(lines[::2], lines[1::2], strict=True):
        expected = re.fullmatch(r"  .+ \(exit (\d)\):", purpose)
        assert expected is not None and command.startswith("    "), (purpose, command)
        steps.append((int(expected[1]), shlex.split(command)))
    return steps


def test_the_demo_runs_three_nights_and_sums_them_up_in_a_few_lines(demo: Demo) -> None:
    where, result = demo
    folder = where / "pipfleet-demo"
    assert (folder / DEMO_MARKER).is_file() and not (folder / "leftover.txt").exists()
    assert result.stdout.count("title: Pin private packages to the codeartifact index") == 3
    assert result.stdout.count("+++ b/") >= 3
    summary = result.stdout.split("done: the sandbox is stopped", 1)[1].splitlines()[1:5]
    nights = re.fullmatch(
        r"3 nights on 41 repositories \(4 skipped, 0 failed\); compliant: (\d+)% → (\d+)% → "
        r"(\d+)%\.",
        summary[0],
    )
    assert nights is not None, summary
    shares = [int(share) for share in nights.groups()]
    assert shares == sorted(set(shares)), "each night's merges raise the compliant share"
    pulls = re.fullmatch(
        r"Pull requests: (\d+) opened; maintainers merged (\d+), declined 1 and fixed 1 by "
        r"hand \(1 closed by pipfleet as fixed elsewhere\); (\d+) still open\.",
        summary[1],
    )
    assert pulls is not None, summary
    opened, merged, still_open = map(int, pulls.groups())
    assert opened == merged + 2 + still_open and merged > still_open > 0
    assert summary[3] == "Dashboard: pipfleet-demo/dashboard.html"
    assert (folder / "dashboard.html").is_file()

    # What the last line says needs a human is what the last night recorded, kind by kind.
    report = subprocess.run(
        [str(PIPFLEET), "report", "--config", "pipfleet-demo/pipfleet.toml", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=where,
        env=user_environment(),
    )
    document = json.loads(report.stdout)
    human: dict[str, int] = {}
    for finding in document["findings"]:
        if not finding["fixable"] and finding["severity"] != "info":
            human[finding["kind"]] = human.get(finding["kind"], 0) + 1
    needs = summary[2].removeprefix("Need a human, no pull request fixes them: ").rstrip(".")
    assert {kind: int(n) for n, kind in (part.split(" ") for part in needs.split(", "))} == human
    assert len(human) >= 2
    states = document["summary"]["pull_requests"]
    assert (states["merged"], states["dismissed"], states["closed"], states["open"]) == (
        merged,
        1,
        1,
        still_open,
    )
    assert [point["run_id"] for point in document["trend"]] == [1, 2, 3]


def test_the_demo_prints_commands_that_work_as_printed(demo: Demo) -> None:
    where, result = demo
    steps = printed_steps(result.stdout)
    assert [command[1] for _, command in steps] == ["report", "report", "check"]
    assert steps[-1][0] == 1, "the checked repository's Pipfile needs action"
    for expected, command in steps:
        ran = subprocess.run(
            command, capture_output=True, text=True, cwd=where, env=user_environment()
        )
        assert ran.returncode == expected, (command, ran.stdout[-2000:], ran.stderr)
        assert ran.stdout.strip() and not ran.stderr.strip(), command


def test_reports_show_an_interrupted_run_over_the_last_good_state(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        session.add(ScanRun(status=RunStatus.COMPLETED, finished_at=utcnow()))
        session.add(ScanRun(status=RunStatus.INTERRUPTED, finished_at=utcnow(), error=KILLED))
        session.commit()
    engine.dispose()
    for query in (None, ReportQuery(run_id=2)):
        document = json.loads(make_report(database_url, ReportFormat.JSON, query))
        jsonschema.validate(document, SCHEMA)
        assert document["run"]["status"] == "interrupted" and document["run"]["error"] == KILLED
        assert document["data_run"]["id"] == 1 and document["banner"]["level"] == "error"
        assert [point["run_id"] for point in document["trend"]] == [1]


def test_run_report_writes_the_dashboard_when_the_run_fails(
    config: Path, tmp_path: Path, world: World
) -> None:
    dashboard = tmp_path / "index.html"
    assert run("run", "--config", config, "--report", dashboard, tmp_path=tmp_path).returncode == 0
    good = dashboard.read_text()
    world.github_tokens.clear()  # the token is revoked: the next run fails at once
    failed = run("run", "--config", config, "--report", dashboard, tmp_path=tmp_path)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    page = dashboard.read_text()
    assert 'data-banner="error"' in page and 'data-banner="ok"' in good
    assert 'data-figure="run-id" data-value="2"' in page
    share = 'data-figure="compliant-share" data-value="0.0"'
    assert share in good and share in page  # the last good state, not zeros


def test_the_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "checkout"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me\n")

    with pytest.raises(UsageError, match="is not a pipfleet demo folder"):
        run_demo(precious)
    assert (precious / "notes.txt").read_text() == "keep me\n"
