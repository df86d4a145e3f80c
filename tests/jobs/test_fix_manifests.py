"""The fix job for a repository with a uv project, a Poetry project and a requirements file:
one pull request covers them all, against the sandbox."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import cache_home, write_fleet
from tests.engine.test_uvlock import PUBLIC
from tests.engine.test_uvlock import lock as uv_lock

from pipfleet.config import Settings, parse_settings
from pipfleet.jobs.setup import fix_fleet, scan_fleet
from pipfleet.report import ReportFormat
from pipfleet.report.output import make_report
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import Repository, World
from pipfleet.store.db import make_engine

BRANCH = "pipfleet/codeartifact-index"
CA = (
    "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact"
    ".eu-west-1.amazonaws.com/pypi/internal/simple/"
)
PYPROJECT = (
    '[project]\nname = "orb-uv"\nversion = "0.1.0"\n'
    'dependencies = ["orb-common>=2", "requests"]\n\n[tool.uv]\n'
)
REQUIREMENTS = f"--extra-index-url {CA}\nrequests\norb-common==2.1.0\n"
LEAKED = CA.replace("${CODEARTIFACT_AUTH_TOKEN}", "eyJ2ZXIiOjEsImlzdSI6MTcxNjAwMDAwMH0.LEAKED")
POETRY = '[tool.poetry]\nname = "jobs"\n\n[tool.poetry.dependencies]\norb-events = "^1"\n'


CA_PLAIN = CA.replace("aws:${CODEARTIFACT_AUTH_TOKEN}@", "")
# orb-events is pinned to CodeArtifact, but the lock says its dependency orb-common (private
# too) came from PyPI: uv pins only the project's own dependencies to an index.
LOCK_ONLY_PYPROJECT = f"""\
[project]
name = "svc"
version = "0.1.0"
dependencies = ["orb-events>=1"]

[[tool.uv.index]]
name = "codeartifact"
url = "{CA_PLAIN}"
explicit = true

[tool.uv.sources]
orb-events = {{ index = "codeartifact" }}
"""
LOCK_ONLY_LOCK = f"""\
version = 1
revision = 2
requires-python = ">=3.11"

[[package]]
name = "orb-common"
version = "2.1.0"
source = {{ registry = "{PUBLIC}" }}
sdist = {{ url = "https://files.pythonhosted.org/orb_common-2.1.0.tar.gz", hash = "sha256:{"e" * 64}" }}

[[package]]
name = "orb-events"
version = "1.0.0"
source = {{ registry = "{CA_PLAIN}" }}
dependencies = [
    {{ name = "orb-common" }},
]
sdist = {{ url = "{CA_PLAIN}orb-events/1.0.0/orb_events-1.0.0.tar.gz", hash = "sha256:{"f" * 64}" }}

[[package]]
name = "svc"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "orb-events" }},
]
"""
# Repositories with one problem each, in a manifest that is not a Pipfile.
ONE_PROBLEM = {
    "orb-uv-lock": {"pyproject.toml": LOCK_ONLY_PYPROJECT, "uv.lock": LOCK_ONLY_LOCK},
    # CodeArtifact beside PyPI alone: the file settles the fix.
    "orb-pip": {"requirements.txt": f"--extra-index-url {CA}\norb-common==2.1.0\n"},
    # Beside another index too: dropping it is for a person to decide.
    "orb-torch": {
        "requirements.txt": "--extra-index-url https://download.pytorch.org/whl/cpu\n"
        f"--extra-index-url {CA}\norb-common==2.1.0\n"
    },
}


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    root = write_fleet(tmp_path / "fleet")
    folder = root / "github" / "acme" / "orb-uv"
    (folder / "service").mkdir(parents=True)
    (folder / "service" / "pyproject.toml").write_text(PYPROJECT)
    (folder / "service" / "uv.lock").write_text(uv_lock(PUBLIC))
    (folder / "requirements.txt").write_text("-r requirements/base.txt\n")
    (folder / "requirements").mkdir()
    (folder / "requirements" / "base.txt").write_text(REQUIREMENTS)
    # An install whose include only the fix job's own reads find (not a requirements name).
    (folder / "requirements-dev.txt").write_text("-r dev/extra.in\npytest\n")
    (folder / "dev").mkdir()
    (folder / "dev" / "extra.in").write_text(f"--extra-index-url {LEAKED}\norb-common\n")
    (folder / "jobs").mkdir()
    (folder / "jobs" / "pyproject.toml").write_text(POETRY)
    for name, files in ONE_PROBLEM.items():
        for path, content in files.items():
            (root / "github" / "acme" / name / path).parent.mkdir(parents=True, exist_ok=True)
            (root / "github" / "acme" / name / path).write_text(content)
    return root


@pytest.fixture
def settings(sandbox: SandboxServer, world: World, tmp_path: Path) -> Settings:
    data = tomllib.loads(config_text(sandbox.urls, world, "acme"))
    data["github"]["write_pause"] = 0.0
    env = {
        **cache_home(),
        "GITHUB_TOKEN": "sandbox-token",
        "PIPFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    return parse_settings(data, env)


def uv_repo(world: World) -> Repository:
    repo = world.repository("acme", "orb-uv")
    assert repo is not None
    return repo


def branch_file(world: World, path: str) -> str:
    return (world.file_at(uv_repo(world), BRANCH, path) or b"").decode()


def test_one_pull_request_fixes_the_uv_project_and_the_requirements_file(
    world: World, settings: Settings
) -> None:
    scan_fleet(settings)
    summary = fix_fleet(settings)

    outcome = next(o for o in summary.outcomes if o.repository == "acme/orb-uv")
    assert outcome.action == "open" and outcome.fix is not None
    assert sorted(c.path for c in outcome.fix.changes) == [
        "dev/extra.in",
        "jobs/pyproject.toml",
        "requirements/base.txt",
        "service/pyproject.toml",
    ]
    (pull,) = uv_repo(world).pulls.values()
    pyproject = branch_file(world, "service/pyproject.toml")
    assert pyproject.startswith(PYPROJECT)
    assert '[tool.uv.sources]\norb-common = { index = "codeartifact" }\n' in pyproject
    assert '[[tool.uv.index]]\nname = "codeartifact"\n' in pyproject
    assert "${" not in pyproject  # uv reads the credentials from its environment
    # CodeArtifact beside PyPI alone: pip's only index, in the file that names it.
    assert branch_file(world, "requirements/base.txt") == REQUIREMENTS.replace(
        "--extra-index-url", "--index-url"
    )
    # The leaked token gives way to the variable, and CodeArtifact becomes the only index.
    assert branch_file(world, "dev/extra.in") == f"--index-url {CA}\norb-common\n"
    poetry = branch_file(world, "jobs/pyproject.toml")
    assert 'orb-events = {version = "^1", source = "codeartifact"}' in poetry
    assert '[[tool.poetry.source]]\nname = "codeartifact"\n' in poetry
    # uv.lock is not edited: the pull request asks for `uv lock`.
    assert branch_file(world, "service/uv.lock") == uv_lock(PUBLIC)
    assert pull.head == BRANCH
    # The body: each manifest's change, the lock command, pip's change, in code.
    assert "| `service/pyproject.toml` | `project` | `orb-common` |" in pull.body
    assert "| `jobs/pyproject.toml` | `main` | `orb-events` |" in pull.body
    assert "Left `service/uv.lock` unchanged" in pull.body and "run `uv lock`" in pull.body
    assert "Changed for `pip install -r requirements.txt`:" in pull.body
    assert "requirements/base.txt:1\n- --extra-index-url https://aws:${" in pull.body
    assert "+ --index-url https://aws:${CODEARTIFACT_AUTH_TOKEN}@" in pull.body
    assert "Changed for `pip install -r requirements-dev.txt`:" in pull.body
    assert "LEAKED" not in pull.body and "https://aws:****@" in pull.body

    again = fix_fleet(settings)
    assert {o.repository: o.action for o in again.outcomes}["acme/orb-uv"] == "nothing"


def test_a_manifest_that_does_not_parse_keeps_the_pull_request_open(
    world: World, settings: Settings
) -> None:
    scan_fleet(settings)
    fix_fleet(settings)
    fixed = {
        path: branch_file(world, path).encode()
        for path in (
            "service/pyproject.toml",
            "requirements/base.txt",
            "jobs/pyproject.toml",
            "dev/extra.in",
        )
    }
    # The fix reached the default branch by hand, beside a uv project that does not parse.
    broken = b"[tool.uv]\n[project\n"
    world.commit_changes(uv_repo(world), "main", {**fixed, "other/pyproject.toml": broken}, "x\n")
    scan_fleet(settings)
    summary = fix_fleet(settings)

    outcome = next(o for o in summary.outcomes if o.repository == "acme/orb-uv")
    assert (outcome.action, outcome.reason) == ("kept", "other/pyproject.toml does not parse")
    (pull,) = uv_repo(world).pulls.values()
    assert pull.state == "open"

    world.commit_changes(uv_repo(world), "main", {"other/pyproject.toml": None}, "y\n")
    scan_fleet(settings)
    closed = fix_fleet(settings)
    assert {o.repository: o.action for o in closed.outcomes}["acme/orb-uv"] == "close"


def test_a_problem_only_a_lock_or_a_requirements_file_shows_is_fixed_or_proposed(
    world: World, settings: Settings
) -> None:
    """The scan records what a uv.lock adds and what a requirements file's fix would be, so
    a repository whose Pipfile-free manifests look right on their own is still fixed."""
    scan_fleet(settings)
    with make_engine(settings.database.url).connect() as connection:
        recorded = connection.execute(
            text(
                "SELECT r.name, f.path, f.package, f.kind, f.fixable, f.expected FROM findings f"
                " JOIN repositories r ON r.id = f.repository_id"
                " WHERE r.name IN ('orb-uv-lock', 'orb-pip', 'orb-torch')"
                " AND f.kind IN ('private-transitive', 'extra-index-url') ORDER BY r.name"
            )
        ).all()
    found = {row[0]: tuple(row[1:5]) for row in recorded}
    assert found == {
        "orb-pip": ("requirements.txt", "orb-common", "extra-index-url", True),
        "orb-torch": ("requirements.txt", "orb-common", "extra-index-url", False),
        "orb-uv-lock": ("pyproject.toml", "orb-common", "private-transitive", True),
    }
    proposal = next(row[5] for row in recorded if row[0] == "orb-torch")
    assert proposal == (
        f"requirements.txt:1: (removed)\nrequirements.txt:2: --index-url {CA}"
    )  # a variable is no secret: it stays as written

    # The dashboard says which proposed change is left to a person.
    page = make_report(settings.database.url, ReportFormat.HTML)
    by_hand = page.split("(for a person to make)")
    assert len(by_hand) == 2  # orb-torch's; orb-pip's change is pipfleet's to make
    assert "requirements.txt:1: (removed)" in by_hand[0].rpartition("<tr>")[2]

    summary = fix_fleet(settings)
    actions = {o.repository: o.action for o in summary.outcomes}
    assert actions["acme/orb-uv-lock"] == "open" and actions["acme/orb-pip"] == "open"
    assert "acme/orb-torch" not in actions  # nothing pipfleet can make: the report proposes
    uv = world.repository("acme", "orb-uv-lock")
    pip = world.repository("acme", "orb-pip")
    assert uv is not None and pip is not None
    pyproject = (world.file_at(uv, BRANCH, "pyproject.toml") or b"").decode()
    assert 'dependencies = ["orb-events>=1", "orb-common"]' in pyproject
    assert 'orb-common = { index = "codeartifact" }' in pyproject
    assert (world.file_at(pip, BRANCH, "requirements.txt") or b"").decode() == (
        f"--index-url {CA}\norb-common==2.1.0\n"
    )
