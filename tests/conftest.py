"""Shared fixtures: small real things (Pipfile texts, corpus paths, a sandbox fleet)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World

pytest_plugins = ["tests.postgres"]  # the throwaway PostgreSQL server and database_url

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pipfiles"
SOURCE_URL = (
    "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact."
    "eu-west-1.amazonaws.com/pypi/private/simple/"
)


# The longest tests, longest first (measured under pytest-xdist on 2 CPUs). `make test`
# runs ``-n 3 --dist load --maxschedchunk 2``: each worker is dealt two tests at a time in
# collection order, so with each long test followed by a short one, the first three start at
# once on three workers and each next one goes to the first worker free: the suite's wall
# time is not a long test started last. The order changes nothing else: no test needs one.
LONGEST_FIRST = (
    "tests/chaos/test_chaos.py::test_sigkills_at_random_points_then_a_clean_run_reach_the_oracles_state",
    "tests/test_new_user.py::test_fresh_clone_runs_make_demo_then_make_test",
    "tests/chaos/test_chaos.py::test_a_soak_with_faults_of_every_kind_reaches_the_oracles_state",
    "tests/test_precommit_hook.py::test_hooks_run_from_a_consumer_repository",
)


def _long_rank(item: pytest.Item) -> int | None:
    if item.nodeid in LONGEST_FIRST:
        return LONGEST_FIRST.index(item.nodeid)
    return len(LONGEST_FIRST) if item.get_closest_marker("slow") else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first, each followed by a short one; the rest keep their order."""
    ranked = [(rank, item) for item in items if (rank := _long_rank(item)) is not None]
    long_ = [item for _, item in sorted(ranked, key=lambda pair: pair[0])]
    short = [item for item in items if _long_rank(item) is None]
    ordered: list[pytest.Item] = []
    for index, item in enumerate(long_):
        ordered.append(item)
        if index < len(short):
            ordered.append(short[index])
    ordered += short[len(long_) :]
    items[:] = ordered


def corpus_dirs() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared Pipfile corpus is missing at {CORPUS}")
    return sorted(path for path in CORPUS.iterdir() if (path / "Pipfile").is_file())


def corpus_features() -> dict[str, str]:
    rows = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {row.split("\t")[0]: row.split("\t")[4] for row in rows if row.strip()}


@pytest.fixture(autouse=True)
def _isolated_from_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep this machine's pip settings and any real AWS or GitHub credentials out of tests."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "GITHUB_TOKEN",
        "CODEARTIFACT_AUTH_TOKEN",
        "PIPFLEET_CONFIG",
        "PIPFLEET_DATABASE_URL",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "sandbox")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sandbox")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def _cache_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing a test runs writes to the real home folder's caches."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def cache_home() -> dict[str, str]:
    """XDG_CACHE_HOME as ``_cache_in_tmp`` set it, for settings parsed from an environment
    of the test's own making (settings take the cache folder from the environment given)."""
    return {"XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", "")}


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
    (root / "pypi.toml").write_text(
        '[packages]\nrequests = ["2.31.0", "2.32.3"]\norb-events = ["0.1.0"]\n'
    )
    return root


def write_two_org_fleet(root: Path) -> Path:
    """``write_fleet``'s org acme plus an org acme-labs with a repository named as one of
    acme's (orb-api), for the several-orgs tests."""
    write_fleet(root)
    github = root / "github"
    shutil.copytree(github / "acme" / "orb-api", github / "acme-labs" / "orb-api")
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


@pytest.fixture
def token(sandbox: SandboxServer) -> str:
    """A CodeArtifact authorization token from the sandbox, asked for as the AWS CLI asks."""
    ca = sandbox.world.codeartifact
    client = boto3.client(
        "codeartifact", region_name=ca.region, endpoint_url=sandbox.urls.codeartifact_endpoint
    )
    answer = client.get_authorization_token(domain=ca.domain, domainOwner=ca.domain_owner)
    return str(answer["authorizationToken"])
