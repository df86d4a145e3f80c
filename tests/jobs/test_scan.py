"""The fleet scan end to end against the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text
from tests.conftest import cache_home
from tests.jobs.provenance import plant_provenance, version_requests

from pipfleet.config import Settings, parse_settings
from pipfleet.engine.listing import parse_listing
from pipfleet.errors import RegistryError
from pipfleet.github.queries import BlobRead, RepoFiles
from pipfleet.jobs.scan import parse_files, wanted_versions
from pipfleet.jobs.setup import scan_fleet
from pipfleet.registry.pypi import EtagCache
from pipfleet.repositories import RepoSummary
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.makefleet import make_fleet
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import GitHubApp, World
from pipfleet.states import ManifestKind
from pipfleet.store.db import make_engine

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def settings_for(sandbox: SandboxServer, world: World, tmp_path: Path) -> SettingsFactory:
    def make(database_url: str | None = None, **environ: str) -> Settings:
        data = tomllib.loads(config_text(sandbox.urls, world, "acme"))
        env = {**cache_home(), "GITHUB_TOKEN": "sandbox-token", **environ}
        env["PIPFLEET_DATABASE_URL"] = database_url or f"sqlite:///{tmp_path / 'pipfleet.db'}"
        return parse_settings(data, env)

    return make


def counters(sandbox: SandboxServer) -> dict[str, int]:
    document = httpx.get(sandbox.urls.control + "/counters").json()
    httpx.post(sandbox.urls.control + "/counters/reset")
    return document["github"]


def rows(url: str, query: str) -> list[tuple]:
    with make_engine(url).connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]


def test_scan_records_every_repository_and_finding(
    sandbox: SandboxServer, settings_for: SettingsFactory, database_url: str
) -> None:
    summary = scan_fleet(settings_for(database_url))
    assert summary.status == "completed" and summary.failed == 0
    # orb-api, orb-no-pipfile and orb-empty match orb-*; the archived one is skipped.
    assert (summary.repositories, summary.fetched, summary.skipped) == (4, 2, 2)
    assert summary.pipfiles == 2 and summary.compliant_share == 0.0
    latest = dict(
        (name, (status, compliant, skip))
        for name, status, compliant, skip in rows(
            database_url,
            "SELECT full_name, status, compliant, skip_reason FROM v_repository_latest",
        )
    )
    assert latest["acme/orb-api"][:2] == ("fetched", False)
    assert latest["acme/orb-archived"] == ("skipped", None, "archived")
    assert latest["acme/orb-empty"] == ("skipped", None, "empty")
    kinds = rows(
        database_url,
        "SELECT path, package, kind, severity FROM findings ORDER BY path, package, kind",
    )
    assert ("Pipfile", "orb-common", "missing-index", "high") in kinds
    assert ("Pipfile", None, "missing-source", "high") in kinds
    # The worker pins orb-events to an index its Pipfile does not define: not pinned at all.
    assert ("services/worker/Pipfile", "orb-events", "undefined-index", "high") in kinds
    assert ("services/worker/Pipfile", "orb-events", "confusion-risk", "critical") in kinds
    assert ("services/worker/Pipfile", "orb-events", "origin-drift", "high") in kinds
    assert ("Pipfile", "orb-common", "name-claimable", "info") in kinds
    packages = rows(
        database_url,
        "SELECT name, origin, upstream, public_status FROM private_packages ORDER BY name",
    )
    assert packages == [
        ("orb-common", "internal", "blocked", "free"),
        ("orb-events", "mixed", "allowed", "taken"),
    ]
    usage = rows(
        database_url,
        "SELECT name, repositories, unpinned_entries, pinned_entries FROM v_private_package_usage ORDER BY name",
    )
    assert usage == [("orb-common", 1, 1, 0), ("orb-events", 1, 1, 0)]
    github = counters(sandbox)
    assert github["writes"] == 0 and github["graphql"] == 3  # list, read, nested read


def test_rescan_reads_only_what_changed(
    sandbox: SandboxServer, settings_for: SettingsFactory
) -> None:
    settings = settings_for()
    scan_fleet(settings)
    counters(sandbox)
    warm = scan_fleet(settings)
    assert (warm.fetched, warm.carried, warm.pipfiles) == (0, 2, 2)
    assert counters(sandbox)["total"] == 1  # the listing alone
    httpx.post(
        sandbox.urls.control + "/repos/acme/orb-api/commits",
        json={
            "files": {
                "Pipfile": '[packages]\norb-common = {version = "*", index = "codeartifact"}\n'
            }
        },
    )
    pushed = scan_fleet(settings)
    assert (pushed.fetched, pushed.carried) == (1, 1)
    history = rows(
        settings.database.url,
        "SELECT run_id, repositories, compliant_repositories FROM v_run_summary ORDER BY run_id",
    )
    assert [h[1] for h in history] == [4, 4, 4]
    assert history[0][2] == history[1][2] == 0


def test_partial_errors_and_malformed_pipfiles_do_not_stop_the_run(
    sandbox: SandboxServer, world: World, settings_for: SettingsFactory
) -> None:
    repo = world.repository("acme", "orb-no-pipfile")
    assert repo is not None
    world.commit_changes(repo, "main", {"Pipfile": b"[packages\norb-common = '*'\n"}, "broken\n")
    for name in ("orb-gone", "orb-third"):
        world.add_repository("acme", name, {"Pipfile": b'[packages]\nflask = "*"\n'})

    def vanish(phase: str, count: int) -> None:
        if phase == "listed":  # deleted between the listing and the read: GraphQL NOT_FOUND
            del world.orgs["acme"]["orb-gone"]

    summary = scan_fleet(settings_for(), progress=vanish)
    assert summary.status == "partial" and summary.failed == 1
    assert "acme/orb-gone" in summary.errors[0]
    assert summary.fetched == 3 and summary.findings["parse-error"] == 1
    broken = rows(
        settings_for().database.url,
        "SELECT status, error_line FROM pipfiles p JOIN repositories r ON r.id = p.repository_id"
        " WHERE r.name = 'orb-no-pipfile'",
    )
    assert broken == [("parse-error", 1)]


def test_github_app_authentication(world: World, settings_for: SettingsFactory) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    world.github_app = GitHubApp(app_id=314, public_key_pem=public)
    world.github_tokens.clear()  # only the installation token can work now
    settings = settings_for(PIPFLEET_GITHUB_APP_ID="314", PIPFLEET_GITHUB_APP_PRIVATE_KEY=pem)
    summary = scan_fleet(settings)  # the App is preferred over GITHUB_TOKEN when both are set
    assert summary.status == "completed" and summary.fetched == 2


def test_dry_run_writes_nothing(
    sandbox: SandboxServer, settings_for: SettingsFactory, tmp_path: Path
) -> None:
    summary = scan_fleet(settings_for(), dry_run=True)
    assert summary.run_id is None and summary.fetched == 2
    assert not (tmp_path / "pipfleet.db").exists()
    assert counters(sandbox)["writes"] == 0


def test_listing_file_overrides_codeartifact(settings_for: SettingsFactory) -> None:
    summary = scan_fleet(settings_for(), listing_override=parse_listing("requests\n"))
    assert "origin-drift" not in summary.findings  # a file tells no origins: none claimed
    assert summary.findings["missing-index"] == 1  # requests, now private, lacks an index


def test_no_secret_reaches_the_database(
    sandbox: SandboxServer, settings_for: SettingsFactory, tmp_path: Path
) -> None:
    scan_fleet(settings_for())
    dump = (tmp_path / "pipfleet.db").read_bytes()
    assert b"sandbox-token" not in dump
    for token in sandbox.world.codeartifact_tokens:
        assert token.encode() not in dump


def test_oversized_and_binary_pipfiles_are_recorded_not_parsed(
    world: World, settings_for: SettingsFactory
) -> None:
    repo = world.repository("acme", "orb-no-pipfile")
    assert repo is not None
    huge = b"[packages]\n" + b"# padding\n" * 110_000
    world.commit_changes(
        repo, "main", {"Pipfile": huge, "tools/Pipfile": b"\x00\x01binary"}, "odd\n"
    )
    settings = settings_for()
    scan_fleet(settings)
    recorded = rows(
        settings.database.url,
        "SELECT p.path, p.status, p.compliant FROM pipfiles p"
        " JOIN repositories r ON r.id = p.repository_id WHERE r.name = 'orb-no-pipfile' ORDER BY p.path",
    )
    assert recorded == [("Pipfile", "too-large", False), ("tools/Pipfile", "binary", False)]


def test_public_index_etags_are_kept_between_runs(
    settings_for: SettingsFactory, tmp_path: Path
) -> None:
    scan_fleet(settings_for(), dry_run=True)
    cache_file = tmp_path / "xdg-cache" / "pipfleet" / "pypi-etags.json"
    assert not cache_file.exists()  # a dry run writes nothing, not even the cache
    scan_fleet(settings_for())
    entries = EtagCache.load(cache_file).entries
    assert [status for url, (_, status) in entries.items() if url.endswith("/orb-events/")] == [
        "taken"
    ]


@pytest.fixture
def provenance_fleet(world: World) -> World:
    return plant_provenance(world)


def test_lock_provenance_and_private_dependencies_are_recorded_and_cached(
    sandbox: SandboxServer,
    provenance_fleet: World,
    settings_for: SettingsFactory,
    database_url: str,
) -> None:
    settings = settings_for(database_url)
    version_requests(sandbox)
    cold = scan_fleet(settings)
    assert cold.status == "completed" and cold.failed == 0
    kinds = rows(
        database_url,
        "SELECT r.name, f.path, f.package, f.kind, f.severity FROM findings f "
        "JOIN repositories r ON r.id = f.repository_id "
        "WHERE f.kind IN ('foreign-hashes', 'private-transitive', 'version-not-found') "
        "ORDER BY r.name, f.package, f.kind",
    )
    assert kinds == [
        ("orb-feed", "Pipfile", "orb-common", "private-transitive", "high"),
        ("orb-shop", "Pipfile", "orb-common", "private-transitive", "high"),
        ("orb-shop", "Pipfile", "orb-http", "foreign-hashes", "critical"),
    ]
    (message,) = rows(database_url, "SELECT message FROM findings WHERE kind = 'foreign-hashes'")
    assert "Pipfile.lock: the lock holds files for orb-http==2.5.1" in message[0]
    # One request pair per distinct private version across the fleet: orb-http 2.5.1,
    # orb-api 1.3.0 (two repositories), orb-common 2.1.0 (three), orb-events 1.0.0.
    assert version_requests(sandbox) == {"assets": 4, "dependencies": 4}

    warm = scan_fleet(settings)
    assert warm.fetched == 0 and warm.carried == cold.fetched
    assert version_requests(sandbox) == {"assets": 0, "dependencies": 0}

    httpx.post(
        sandbox.urls.control + "/repos/acme/orb-feed/commits",
        json={"files": {"README.md": "# orb-feed\n"}},
    )
    pushed = scan_fleet(settings)
    assert (pushed.fetched, pushed.findings["private-transitive"]) == (1, 2)
    assert version_requests(sandbox) == {"assets": 0, "dependencies": 0}


@pytest.mark.parametrize(
    "route", ["/v1/package/version/assets$", "/v1/package/version/dependencies$"]
)
def test_a_cut_version_answer_stops_the_scan(
    sandbox: SandboxServer, provenance_fleet: World, settings_for: SettingsFactory, route: str
) -> None:
    settings = settings_for()
    fault = {"route": route, "status": 200, "body": ""}
    assert httpx.post(sandbox.urls.control + "/faults", json=fault).status_code == 201

    with pytest.raises(RegistryError, match="without its"):
        scan_fleet(settings)
    (status,) = rows(settings.database.url, "SELECT status FROM scan_runs")
    assert status == ("failed",)


def test_a_cut_answer_for_a_lock_is_a_repository_failure_not_no_lock(
    sandbox: SandboxServer, provenance_fleet: World, settings_for: SettingsFactory
) -> None:
    # Requests: the listing, every repository's files, then the nested read of orb-api
    # (its worker Pipfile and lock) and orb-shop (its lock), whose answer is cut.
    cut = {"route": "/graphql$", "status": 200, "body": '{"data": {"r0": {}, "r1": {}}}', "skip": 2}
    assert httpx.post(sandbox.urls.control + "/faults", json=cut).status_code == 201

    summary = scan_fleet(settings_for())

    assert (summary.status, summary.failed) == ("partial", 2)
    assert any(e.startswith("acme/orb-shop: GitHub's answer") for e in summary.errors)
    assert summary.findings["foreign-hashes"] == 0


CODEARTIFACT_URL = (
    "https://acme-111122223333.d.codeartifact.eu-west-1.amazonaws.com/pypi/private/simple/"
)
UV_PINNED = f"""\
[project]
name = "svc"
dependencies = ["orb-common>=2", "requests"]

[[tool.uv.index]]
name = "codeartifact"
url = "{CODEARTIFACT_URL}"
explicit = true

[tool.uv.sources]
orb-common = {{ index = "codeartifact" }}
"""
POETRY_UNPINNED = """\
[tool.poetry]
name = "svc"

[tool.poetry.dependencies]
python = "^3.11"
orb-events = "^1.0"
"""
REQUIREMENTS_EXTRA = f"--extra-index-url {CODEARTIFACT_URL}\norb-common==2.1.0\nrequests\n"
PLAIN_PEP621 = '[project]\nname = "lib"\ndependencies = ["orb-common"]\n'


def test_uv_poetry_and_requirements_manifests_are_audited_with_their_kind(
    sandbox: SandboxServer, world: World, settings_for: SettingsFactory
) -> None:
    world.add_repository(
        "acme",
        "orb-manifests",
        {
            "pyproject.toml": UV_PINNED.encode(),
            "uv.lock": b"version = 1\n",
            "services/billing/pyproject.toml": POETRY_UNPINNED.encode(),
            "requirements/prod.txt": REQUIREMENTS_EXTRA.encode(),
            "libs/plain/pyproject.toml": PLAIN_PEP621.encode(),  # no installer named: not read
            "tools/pyproject.toml": b"[tool.poetry\nname = 'x'\n",
        },
    )
    world.add_repository("acme", "orb-uv-only", {"pyproject.toml": UV_PINNED.encode()})
    settings = settings_for()
    summary = scan_fleet(settings)
    assert summary.status == "completed" and summary.failed == 0
    assert summary.pipfiles == 2 + 4 + 1  # two Pipfiles, four manifests here, one there
    files = rows(
        settings.database.url,
        "SELECT r.name, p.path, p.status, p.has_lock, p.compliant, p.manifest_kind FROM pipfiles p"
        " JOIN repositories r ON r.id = p.repository_id"
        " WHERE r.name IN ('orb-manifests', 'orb-uv-only') ORDER BY r.name, p.path",
    )
    assert [row[:4] for row in files] == [
        ("orb-manifests", "pyproject.toml", "ok", True),
        ("orb-manifests", "requirements/prod.txt", "ok", False),
        ("orb-manifests", "services/billing/pyproject.toml", "ok", False),
        ("orb-manifests", "tools/pyproject.toml", "parse-error", False),
        ("orb-uv-only", "pyproject.toml", "ok", False),
    ]
    assert [row[4] for row in files] == [True, False, False, False, True]
    assert [row[5] for row in files] == ["uv", "requirements", "poetry", "poetry", "uv"]
    findings = rows(
        settings.database.url,
        "SELECT f.path, f.package, f.kind FROM findings f"
        " JOIN repositories r ON r.id = f.repository_id"
        " WHERE r.name = 'orb-manifests' ORDER BY f.path, f.kind",
    )
    assert "libs/plain/pyproject.toml" not in {path for path, _, _ in findings}
    assert ("pyproject.toml", "orb-common", "compliant") in findings
    assert ("requirements/prod.txt", "orb-common", "extra-index-url") in findings
    assert ("services/billing/pyproject.toml", "orb-events", "missing-index") in findings
    assert ("services/billing/pyproject.toml", None, "missing-source") in findings
    assert ("tools/pyproject.toml", None, "parse-error") in findings
    latest = dict(
        rows(
            settings.database.url,
            "SELECT full_name, compliant FROM v_repository_latest"
            " WHERE full_name IN ('acme/orb-manifests', 'acme/orb-uv-only')",
        )
    )
    assert latest == {"acme/orb-manifests": False, "acme/orb-uv-only": True}
    carried = scan_fleet(settings)
    assert (carried.fetched, carried.pipfiles) == (0, 7)
    kinds = rows(
        settings.database.url,
        "SELECT p.manifest_kind, COUNT(*) FROM pipfiles p"
        f" WHERE p.run_id = {carried.run_id} GROUP BY p.manifest_kind ORDER BY 1",
    )
    assert kinds == [("pipfile", 2), ("poetry", 2), ("requirements", 1), ("uv", 2)]


def test_a_generated_fleet_scans_every_manifest_kind_it_planted(tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    planted = make_fleet(folder, 40, seed=5)
    world = load_fleet(folder)
    with SandboxServer(world) as server:
        data = tomllib.loads(config_text(server.urls, world, "acme"))
        url = f"sqlite:///{tmp_path / 'fleet.db'}"
        env = {**cache_home(), "GITHUB_TOKEN": "sandbox-token", "PIPFLEET_DATABASE_URL": url}
        summary = scan_fleet(parse_settings(data, env))
    assert summary.failed == 0, summary.errors
    recorded = dict(rows(url, "SELECT manifest_kind, COUNT(*) FROM pipfiles GROUP BY 1"))
    assert set(recorded) == {"pipfile", "uv", "poetry", "requirements"}
    # Every planted manifest of a repository the scan reads (orb-*, not archived, ...).
    assert recorded["uv"] <= planted.uv_projects and recorded["poetry"] <= planted.poetry_projects
    assert recorded["requirements"] <= planted.requirements_files
    assert sum(recorded.values()) == summary.pipfiles


def test_a_requirements_file_is_audited_with_what_it_includes(
    sandbox: SandboxServer, world: World, settings_for: SettingsFactory
) -> None:
    world.add_repository(
        "acme",
        "orb-pip",
        {
            # pip reads common.in where -r stands: its extra index serves orb-common too.
            "requirements.txt": b"-r deps/common.in\norb-common==2.1.0\n",
            "deps/common.in": f"--extra-index-url {CODEARTIFACT_URL}\n-r more.in\n".encode(),
            "deps/more.in": b"requests\n",
            "requirements-dev.txt": b"-r gone.txt\npytest\n",
        },
    )
    settings = settings_for()
    summary = scan_fleet(settings)
    assert summary.failed == 0, summary.errors
    findings = rows(
        settings.database.url,
        "SELECT f.path, f.package, f.kind FROM findings f"
        " JOIN repositories r ON r.id = f.repository_id"
        " WHERE r.name = 'orb-pip' ORDER BY f.path, f.kind",
    )
    assert findings == [
        ("requirements-dev.txt", None, "parse-error"),  # gone.txt is not in the repository
        ("requirements.txt", "orb-common", "extra-index-url"),
    ]
    files = rows(
        settings.database.url,
        "SELECT p.path, p.manifest_kind FROM pipfiles p"
        " JOIN repositories r ON r.id = p.repository_id WHERE r.name = 'orb-pip' ORDER BY 1",
    )
    assert files == [("requirements-dev.txt", "requirements"), ("requirements.txt", "requirements")]


def test_the_versions_asked_about_include_uv_and_poetry_manifests_and_their_locks() -> None:
    """CodeArtifact is asked for the files and dependencies of what uv and Poetry projects
    install: a lock's versions, or without one the newest each requirement allows."""
    listing = parse_listing("orb-common 2.0.0 2.1.0\norb-events 1.0.0 1.2.0\n")
    poetry_lock = (
        '[[package]]\nname = "orb-events"\nversion = "1.0.0"\ndescription = ""\n'
        'optional = false\npython-versions = "*"\nfiles = []\n\n'
        '[metadata]\nlock-version = "2.0"\npython-versions = "^3.11"\ncontent-hash = "0"\n'
    )
    blobs = (
        BlobRead("pyproject.toml", "a", 1, text=UV_PINNED, kind=ManifestKind.UV),
        BlobRead("jobs/pyproject.toml", "b", 1, text=POETRY_UNPINNED, kind=ManifestKind.POETRY),
        BlobRead("old/pyproject.toml", "c", 1, text=POETRY_UNPINNED, kind=ManifestKind.POETRY),
    )
    repo = RepoSummary("acme", "orb-x", False, False, False, False, "private", "", (), "main", "1")
    files = RepoFiles(
        repo,
        lockfiles=frozenset({"old/poetry.lock"}),
        lock_texts={"old/poetry.lock": poetry_lock},
        manifests=blobs,
    )
    parsed = parse_files(files)
    assert wanted_versions([parsed], listing) == {
        ("orb-common", "2.1.0"),  # uv, no lock: the newest >=2 allows
        ("orb-events", "1.2.0"),  # Poetry, no lock: the newest ^1.0 allows
        ("orb-events", "1.0.0"),  # Poetry, its lock's
    }
