"""Several orgs in one database: one run covers them all, and runs for different orgs
(shards) go at once while two for the same org still exclude each other."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text
from tests.conftest import cache_home, write_two_org_fleet

from pipfleet.config import Settings, parse_settings
from pipfleet.errors import PipfleetError
from pipfleet.jobs.nightly import scan_alone
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.github_rest.app_auth import installations as installations_of
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import GitHubApp, World
from pipfleet.store.db import make_engine, upgrade
from pipfleet.store.runlock import acquire

PIPFLEET = Path(sys.executable).with_name("pipfleet")
ORGS = ("acme", "acme-labs")


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    return write_two_org_fleet(tmp_path / "fleet")


@pytest.fixture
def config(sandbox: SandboxServer, world: World, tmp_path: Path) -> Path:
    path = tmp_path / "pipfleet.toml"
    written = config_text(sandbox.urls, world, "acme", write_pause=0.0)
    path.write_text(written.replace('org = "acme"', f"orgs = {list(ORGS)!r}".replace("'", '"')))
    return path


def settings_of(config: Path, database_url: str) -> Settings:
    env = {**cache_home(), "GITHUB_TOKEN": "sandbox-token", "PIPFLEET_DATABASE_URL": database_url}
    return parse_settings(tomllib.loads(config.read_text()), env)


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def pipfleet(*args: str | Path, database_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GITHUB_TOKEN": "sandbox-token", "PIPFLEET_DATABASE_URL": database_url}
    return subprocess.Popen(
        [str(PIPFLEET), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_one_scan_covers_every_org_each_in_its_own_run(config: Path, database_url: str) -> None:
    settings = settings_of(config, database_url)
    summaries = scan_alone(settings)
    assert list(summaries) == list(ORGS)
    acme, labs = summaries["acme"], summaries["acme-labs"]
    assert (acme.repositories, acme.fetched, acme.skipped) == (4, 2, 2)
    # 1 repository after acme's 4: only a shrink baseline of labs' own runs lets it through.
    assert (labs.repositories, labs.fetched, labs.status) == (1, 1, "completed")
    assert rows(database_url, "SELECT id, org, status FROM scan_runs ORDER BY id") == [
        (acme.run_id, "acme", "completed"),
        (labs.run_id, "acme-labs", "completed"),
    ]
    names = rows(database_url, "SELECT full_name, org FROM repositories WHERE name = 'orb-api'")
    assert sorted(names) == [("acme-labs/orb-api", "acme-labs"), ("acme/orb-api", "acme")]

    again = scan_alone(settings, orgs=["acme-labs"])  # one org alone: a shard
    assert list(again) == ["acme-labs"]
    assert (again["acme-labs"].carried, again["acme-labs"].fetched) == (1, 0)
    runs = rows(database_url, "SELECT org, COUNT(*) FROM scan_runs GROUP BY org ORDER BY org")
    assert runs == [("acme", 1), ("acme-labs", 2)]


def test_run_covers_every_org_and_names_each(config: Path, tmp_path: Path, world: World) -> None:
    url = f"sqlite:///{tmp_path / 'pipfleet.db'}"
    dashboard = tmp_path / "index.html"
    code, out, err = finished(
        pipfleet("run", "--config", config, "--report", dashboard, database_url=url)
    )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("acme: Scanned 4 repositories (2 read,")
    assert lines[1].startswith("acme-labs: Scanned 1 repositories (1 read,")
    assert lines[2] == f"Dashboard: {dashboard}."
    for org in ORGS:
        repo = world.repository(org, "orb-api")
        assert repo is not None and len(repo.pulls) == 1

    code, _, err = finished(
        pipfleet("scan", "--config", config, "--org", "acme-lab", database_url=url)
    )
    assert code == 2
    assert err.strip() == (
        "pipfleet: error: 'acme-lab' is not one of the configured orgs "
        "(github.org or github.orgs: acme, acme-labs)"
    )
    code, _, err = finished(
        pipfleet("fix", "--config", config, "--repo", "orb-api", database_url=url)
    )
    assert code == 2 and "give the full name (org/repo)" in err
    code, out, err = finished(
        pipfleet("fix", "--config", config, "--repo", "acme-labs/orb-api", database_url=url)
    )
    assert code == 0, err
    assert "acme-labs/orb-api" in out and "acme/orb-api" not in out


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_runs_for_two_orgs_go_at_once_and_one_org_stays_locked(
    config: Path, database_url: str
) -> None:
    upgrade(database_url)
    shards = [
        pipfleet("run", "--config", config, "--org", org, database_url=database_url) for org in ORGS
    ]
    for shard in shards:
        code, _, err = finished(shard)
        assert code == 0, err
    assert rows(database_url, "SELECT org, status FROM scan_runs ORDER BY org") == [
        ("acme", "completed"),
        ("acme-labs", "completed"),
    ]

    engine = make_engine(database_url)
    try:
        acquire(engine, "acme", "other-host:42", timedelta(hours=1))  # a live run of acme
    finally:
        engine.dispose()
    labs = pipfleet("run", "--config", config, "--org", "acme-labs", database_url=database_url)
    acme = pipfleet("run", "--config", config, "--org", "acme", database_url=database_url)
    code, _, err = finished(acme)
    assert code == 4
    assert "another pipfleet run (other-host:42) holds the lock on acme" in err
    code, out, err = finished(labs)
    assert code == 0, err
    assert out.startswith("Scanned 1 repositories (0 read, 1 unchanged")


def app_environment(world: World) -> dict[str, str]:
    """A GitHub App for the sandbox (installed on each of its orgs), and no token."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    world.github_app = GitHubApp(app_id=314, public_key_pem=public.decode())
    world.github_tokens.clear()  # only installation tokens can work now
    return {"PIPFLEET_GITHUB_APP_ID": "314", "PIPFLEET_GITHUB_APP_PRIVATE_KEY": pem}


def test_each_org_uses_its_own_app_installation(config: Path, world: World, tmp_path: Path) -> None:
    environ = {
        **cache_home(),
        **app_environment(world),
        "PIPFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
    }
    data = tomllib.loads(config.read_text())
    assert world.github_app is not None
    installations = {org: id_ for id_, org in installations_of(world, world.github_app).items()}
    # acme-labs' installation id is given, acme's is looked up.
    data["github"]["installations"] = {"acme-labs": installations["acme-labs"]}
    summaries = scan_alone(parse_settings(data, environ))
    assert [(s.repositories, s.fetched) for s in summaries.values()] == [(4, 2), (1, 1)]

    # An id the App does not have fails, where a lookup would have found labs' own.
    data["github"]["installations"] = {"acme-labs": 1}
    with pytest.raises(PipfleetError, match="listing acme-labs's repositories \\(404"):
        scan_alone(parse_settings(data, environ), orgs=["acme-labs"])
