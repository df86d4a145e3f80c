"""One repository's content never stops the fleet: hostile Pipfiles in a sandbox fleet.

Each hostile Pipfile is recorded as that file's ``parse-error`` (or, for text a database
cannot hold, with the characters replaced), on SQLite and PostgreSQL, and every other
repository is scanned and fixed as if they were not there. ``pipfleet check`` reports
such a file in one line.
"""

from __future__ import annotations

import random
import string
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import cache_home

from pipfleet.config import Settings, parse_settings
from pipfleet.engine.limits import MAX_DIGITS, TOO_DEEP, TOO_LONG
from pipfleet.jobs.setup import fix_fleet, scan_fleet
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World
from pipfleet.store.db import make_engine

PIPFLEET = Path(sys.executable).with_name("pipfleet")
GIT = '{git = "https://example.com/x.git"}'
# Random letters: PostgreSQL compresses a repetitive value before it indexes it.
LONG_NAME = "orb-" + "".join(random.Random(7).choices(string.ascii_lowercase, k=100_000))
NEEDS_FIX = '[packages]\norb-common = "==2.1.0"\n'
DEEP_HEADER = "[" + ".".join(["a"] + ["b"] * 3000) + "]\n"

# repository -> (Pipfile, the parse error it is recorded with)
PARSE_ERRORS = {
    "orb-nines": (f'[packages]\norb-auth = "=={"9" * 5000}"\n', TOO_LONG),
    "orb-bigint": (f"{NEEDS_FIX}[requires]\nx = {'9' * 5000}\n", TOO_LONG),
    "orb-deep-array": (f"{NEEDS_FIX}[requires]\nx = {'[' * 500}{']' * 500}\n", TOO_DEEP),
    "orb-deep-table": (f"{NEEDS_FIX}[requires]\nx = {'{a = ' * 600}1{'}' * 600}\n", TOO_DEEP),
    "orb-deep-header": (NEEDS_FIX + DEEP_HEADER, TOO_DEEP),
}
# repository -> (Pipfile, the package keys recorded, with U+FFFD for what cannot be stored)
STORED = {
    "orb-nul": (
        f'[packages]\n"evil\\u0000name" = {GIT}\n"orb-common[\\u0000]" = "==2.1.0"\n',
        {"evil\ufffdname", "orb-common[\ufffd]"},
    ),
    "orb-escape": (f'[packages]\n"\\u001b[2J\\u202e" = {GIT}\n', {"\x1b[2J\u202e"}),
    "orb-long-name": (f'[packages]\n"{LONG_NAME}" = {GIT}\n', {LONG_NAME}),
}

SettingsFactory = Callable[[str], Settings]


@pytest.fixture
def fleet_dir(fleet_dir: Path) -> Path:
    for name, (pipfile, _) in {**PARSE_ERRORS, **STORED}.items():
        folder = fleet_dir / "github" / "acme" / name
        folder.mkdir()
        (folder / "Pipfile").write_text(pipfile)
    return fleet_dir


@pytest.fixture
def settings_for(sandbox: SandboxServer, world: World) -> SettingsFactory:
    def make(database_url: str) -> Settings:
        data = tomllib.loads(config_text(sandbox.urls, world, "acme"))
        data["github"]["write_pause"] = 0.0
        data["fix"] = {"max_wait": 5.0}
        env = {
            **cache_home(),
            "GITHUB_TOKEN": "sandbox-token",
            "PIPFLEET_DATABASE_URL": database_url,
        }
        return parse_settings(data, env)

    return make


def rows(url: str, query: str) -> list[tuple]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = [tuple(row) for row in connection.execute(text(query))]
    engine.dispose()
    return found


def test_hostile_pipfiles_are_recorded_and_the_rest_of_the_fleet_is_scanned(
    settings_for: SettingsFactory, database_url: str
) -> None:
    summary = scan_fleet(settings_for(database_url))

    assert (summary.status, summary.failed) == ("completed", 0), summary.errors
    latest = dict(rows(database_url, "SELECT full_name, status FROM v_repository_latest"))
    hostile = {f"acme/{name}" for name in {**PARSE_ERRORS, **STORED}}
    assert {name: latest[name] for name in hostile} == dict.fromkeys(hostile, "fetched")
    pipfiles = {
        name: (status, error)
        for name, status, error in rows(
            database_url,
            "SELECT r.name, p.status, p.parse_error FROM pipfiles p "
            "JOIN repositories r ON r.id = p.repository_id",
        )
    }
    for name, (_, message) in PARSE_ERRORS.items():
        assert pipfiles[name] == ("parse-error", message)
    for name in STORED:
        assert pipfiles[name] == ("ok", None)
    findings = rows(
        database_url,
        "SELECT r.name, f.path, f.package, f.kind FROM findings f "
        "JOIN repositories r ON r.id = f.repository_id",
    )
    for name, (_, packages) in STORED.items():
        assert {package for repo, _, package, _ in findings if repo == name and package} == packages
    # The rest of the fleet, as tests/jobs/test_scan.py finds it without hostile neighbours.
    assert latest["acme/orb-api"] == "fetched"
    assert ("orb-api", "Pipfile", "orb-common", "missing-index") in findings
    assert ("orb-api", "services/worker/Pipfile", "orb-events", "undefined-index") in findings
    assert ("orb-nul", "Pipfile", "orb-common[\ufffd]", "missing-index") in findings
    (cut,) = rows(
        database_url,
        f"SELECT package_name FROM findings WHERE package LIKE '{LONG_NAME[:20]}%'",
    )
    assert cut == (LONG_NAME[:255] + "\u2026",)  # an indexed column: cut to index it


def test_the_fix_opens_pull_requests_around_hostile_pipfiles(
    settings_for: SettingsFactory, world: World, database_url: str
) -> None:
    settings = settings_for(database_url)
    scan_fleet(settings)

    summary = fix_fleet(settings)

    actions = {outcome.repository: outcome.action for outcome in summary.outcomes}
    assert actions["acme/orb-api"] == "open"
    assert actions["acme/orb-nul"] == "open"  # its NUL-named private entry is pinned too
    assert not {f"acme/{name}" for name in PARSE_ERRORS} & {
        name for name, action in actions.items() if action == "open"
    }
    nul = world.repository("acme", "orb-nul")
    assert nul is not None
    (pull,) = nul.pulls.values()
    pinned = world.file_at(nul, pull.head, "Pipfile") or b""
    assert b'"orb-common[\\u0000]" = {version = "==2.1.0", index = "codeartifact"}' in pinned


def check(path: Path, listing: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PIPFLEET), "check", str(path), "--listing", str(listing)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("pipfile", "message"),
    [(pipfile, message) for pipfile, message in PARSE_ERRORS.values()]
    + [(f'[packages]\norb-auth = "==1.{"9" * (MAX_DIGITS + 1)}"\n', TOO_LONG)],
    ids=[*PARSE_ERRORS, "version-segment"],
)
def test_check_reports_a_hostile_pipfile_in_one_line(
    tmp_path: Path, pipfile: str, message: str
) -> None:
    (tmp_path / "listing.txt").write_text("orb-common 2.1.0\norb-auth 1.0\n")
    (tmp_path / "Pipfile").write_text(pipfile)

    result = check(tmp_path / "Pipfile", tmp_path / "listing.txt")

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    (line,) = [line for line in result.stdout.splitlines() if "parse-error" in line]
    assert message in line and len(line) < 200


@pytest.mark.parametrize(
    ("name", "exit_code"), [("orb-nul", 1), ("orb-escape", 0), ("orb-long-name", 0)]
)
def test_check_audits_names_a_database_cannot_hold(
    tmp_path: Path, name: str, exit_code: int
) -> None:
    (tmp_path / "listing.txt").write_text("orb-common 2.1.0\n")
    (tmp_path / "Pipfile").write_text(STORED[name][0])

    result = check(tmp_path / "Pipfile", tmp_path / "listing.txt")

    assert result.returncode == exit_code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
