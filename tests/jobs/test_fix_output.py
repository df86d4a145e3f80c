"""Repository text on its way out of the fix job: to GitHub comments, and to the terminal."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from sqlalchemy import text
from tests.conftest import cache_home
from tests.gfm import code_spans, prose

from pipfleet.config import Settings, parse_settings
from pipfleet.jobs.setup import fix_fleet, scan_fleet
from pipfleet.render import print_fix_summary
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import Repository, World
from pipfleet.store.db import make_engine

BRANCH = "pipfleet/codeartifact-index"
HOSTILE_BRANCH = "main`@security-team"
TOKEN = "eyJ2ZXIiOjEsImlzdSI6MTcxNjAwMDAwMH0.LITERAL-TOKEN"


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


@pytest.fixture
def hostile_default_branch(fleet_dir: Path) -> None:
    (fleet_dir / "github" / "acme" / "orb-api.json").write_text(
        json.dumps({"default_branch": HOSTILE_BRANCH})
    )


def api_repo(world: World) -> Repository:
    repo = world.repository("acme", "orb-api")
    assert repo is not None
    return repo


def push(sandbox: SandboxServer, files: dict[str, str]) -> None:
    answer = httpx.post(sandbox.urls.control + "/repos/acme/orb-api/commits", json={"files": files})
    assert answer.status_code == 201


def test_a_hostile_default_branch_name_mentions_no_one(
    hostile_default_branch: None, sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    assert api_repo(world).default_branch == HOSTILE_BRANCH
    scan_fleet(settings)
    fix_fleet(settings)
    (pull,) = api_repo(world).pulls.values()
    assert pull.base == HOSTILE_BRANCH
    main = (world.file_at(api_repo(world), HOSTILE_BRANCH, "Pipfile") or b"").decode()
    push(sandbox, {"Pipfile": main + "orb-events = '*'\n"})
    scan_fleet(settings)
    fix_fleet(settings)  # rebuilt: the first comment
    for path in ("Pipfile", "services/worker/Pipfile"):
        push(sandbox, {path: (world.file_at(api_repo(world), BRANCH, path) or b"").decode()})
    scan_fleet(settings)
    fix_fleet(settings)  # fixed on the default branch: closed, the second comment
    rebuilt, closed = (comment.body for comment in api_repo(world).comments[pull.number])
    assert "rebuilt this branch" in rebuilt and "no longer needs this change" in closed
    for body in (rebuilt, closed):
        # Shown as written, in a code span: no mention, nothing closed early.
        assert HOSTILE_BRANCH in code_spans(body) and "@" not in prose(body), body


def test_dry_run_shows_no_token_and_no_bidi_control(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    api = (world.file_at(api_repo(world), "main", "Pipfile") or b"").decode()
    hostile = api.replace(
        "verify_ssl = true\n",
        f'verify_ssl = true\n\n[[source]]\nname = "mirror"\n'
        f'url = "https://aws:{TOKEN}@mirror.example/simple/"\nverify_ssl = true\n',
    ).replace('orb-common = "==2.1.0"', 'orb-common = "==2.1.0"  # \u202enip ton od')
    push(sandbox, {"Pipfile": hostile})
    scan_fleet(settings)
    summary = fix_fleet(settings, dry_run=True)
    out = io.StringIO()
    print_fix_summary(Console(file=out, width=200), summary, dry_run=True)
    shown = out.getvalue()
    assert "would open" in shown and '+orb-common = {version = "==2.1.0"' in shown
    assert TOKEN not in shown and "\u202e" not in shown
    assert ' url = "https://aws:****@mirror.example/simple/"' in shown
    assert "# \\u202enip ton od" in shown
    assert not api_repo(world).pulls


def test_recorded_findings_do_not_carry_the_token(
    sandbox: SandboxServer, world: World, settings: Settings
) -> None:
    api = (world.file_at(api_repo(world), "main", "Pipfile") or b"").decode()
    push(sandbox, {"Pipfile": api.replace("https://pypi.org", f"https://aws:{TOKEN}@pypi.org")})
    scan_fleet(settings)
    engine = make_engine(settings.database.url)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(text("SELECT * FROM findings")).mappings()]
    engine.dispose()
    assert any(row["kind"] == "hardcoded-credential" for row in rows)
    assert TOKEN not in json.dumps(rows, default=str)
