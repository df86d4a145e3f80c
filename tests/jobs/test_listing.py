"""Where check and listing export get the private listing: CodeArtifact (cached on disk),
a listing file, or the newest scan; against the sandbox's CodeArtifact API over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
from tests.conftest import cache_home
from tests.jobs.provenance import (
    PROVENANCE_PIPFILE,
    asset_hashes,
    plant_provenance,
    provenance_lock,
    version_requests,
)

from pipfleet.config import Settings, parse_settings
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import parse_listing
from pipfleet.errors import ListingError
from pipfleet.jobs.check import Mode, check_paths
from pipfleet.jobs.listing import (
    DiskCache,
    check_listing,
    check_settings,
    codeartifact_listing,
    every_version,
)
from pipfleet.jobs.setup import scan_fleet
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World

PIPFLEET = str(Path(sys.executable).with_name("pipfleet"))
PROVENANCE = [
    (FindingKind.FOREIGN_HASHES, "orb-http"),
    (FindingKind.PRIVATE_TRANSITIVE, "orb-common"),
]


@pytest.fixture
def shop(world: World, tmp_path: Path) -> Path:
    """orb-shop's Pipfile and its lock with a foreign orb-http file, checked out locally."""
    plant_provenance(world)
    folder = tmp_path / "orb-shop"
    folder.mkdir()
    (folder / "Pipfile").write_text(PROVENANCE_PIPFILE)
    (folder / "Pipfile.lock").write_text(provenance_lock(world))
    return folder


@pytest.fixture
def config(sandbox: SandboxServer, world: World, tmp_path: Path) -> Path:
    path = tmp_path / "pipfleet.toml"
    database = f"sqlite:///{tmp_path / 'pipfleet.db'}"
    text = config_text(sandbox.urls, world, "acme")
    path.write_text(text + f'\n[database]\nurl = "{database}"\n\n[check]\nlisting_cache = 600\n')
    return path


def settings_of(config: Path, **environ: str) -> Settings:
    return parse_settings(tomllib.loads(config.read_text()), {**cache_home(), **environ}, config)


def codeartifact_requests(sandbox: SandboxServer) -> int:
    document = httpx.get(sandbox.urls.control + "/counters").json()
    return sum(row["count"] for row in document["requests"] if "/v1/" in row["route"])


def findings(folder: Path, settings: Settings) -> list[tuple[FindingKind, str | None]]:
    (item,) = check_paths(
        [folder], check_listing(settings, [folder]), AuditOptions(), Mode.AUDIT
    ).files
    return [(f.kind, f.package) for f in item.remaining]


def test_check_reads_codeartifact_once_per_cache_period(
    sandbox: SandboxServer, world: World, shop: Path, config: Path
) -> None:
    settings = settings_of(config)
    version_requests(sandbox)
    # The lock's provenance is judged from CodeArtifact: its files and dependencies are read
    # for the versions this Pipfile and lock use, and no others.
    assert findings(shop, settings) == PROVENANCE
    assert version_requests(sandbox) == {"assets": 3, "dependencies": 3}

    # Within listing_cache seconds nothing is asked at all: the pre-commit case.
    assert findings(shop, settings) == PROVENANCE
    assert codeartifact_requests(sandbox) == 0

    # Once it expires the names are listed again; what versions hold is never asked twice.
    cache = DiskCache.for_settings(settings)
    written = json.loads(cache.path.read_text())["listing"]["written"]
    listing = codeartifact_listing(
        settings, lambda _: [("orb-http", "2.5.1")], max_age=600, now=lambda: written + 600
    )
    assert codeartifact_requests(sandbox) > 0
    assert version_requests(sandbox) == {"assets": 0, "dependencies": 0}
    assert listing.hashes_of("orb-http", "2.5.1") == frozenset(
        asset_hashes(world, "orb-http", "2.5.1")
    )


def test_without_a_listing_or_codeartifact_the_error_says_how_to_get_either(
    shop: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(shop)
    with pytest.raises(ListingError) as no_config:
        check_settings(None, {})
    for way in ("--listing FILE", "pipfleet listing export", "[codeartifact]", "AWS credentials"):
        assert way in str(no_config.value)

    # boto3 keeps the credentials it found for the process: ask from a fresh one.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    done = run("check", "--config", config, cwd=shop)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("pipfleet: error: no private-package listing: ")
    reason, _, how = done.stderr.partition("; give --listing FILE")
    assert "CodeArtifact acme/private" in reason and "credentials" in reason and how


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PIPFLEET, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_the_commands_check_and_export_without_a_listing_file(
    sandbox: SandboxServer, world: World, shop: Path, config: Path
) -> None:
    (shop / "pipfleet.toml").write_text(config.read_text())  # found as ./pipfleet.toml
    checked = run("check", "--format", "json", cwd=shop)
    assert checked.returncode == 1, checked.stderr
    counts = json.loads(checked.stdout)["summary"]["findings"]
    assert (counts["foreign-hashes"], counts["private-transitive"]) == (1, 1)

    # The exported file judges the same offline: every version with its files.
    exported = run(
        "listing", "export", "--config", config, "-o", "ci/private-packages.txt", cwd=shop
    )
    assert exported.returncode == 0, exported.stderr
    text = (shop / "ci" / "private-packages.txt").read_text()
    assert text.startswith("# pipfleet listing export: CodeArtifact ")
    listing = parse_listing(text)
    assert all(listing.hashes_of(n, v) for n, v in every_version(listing))
    offline = check_paths([shop], listing, AuditOptions(), Mode.AUDIT).files[0].remaining
    assert [(f.kind, f.package) for f in offline] == PROVENANCE

    bad = run("listing", "export", "--config", config, "-o", shop / "Pipfile" / "x", cwd=shop)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("pipfleet: error: cannot write the listing ")


def test_export_from_the_database(
    sandbox: SandboxServer, world: World, shop: Path, config: Path
) -> None:
    scan_fleet(settings_of(config, GITHUB_TOKEN="sandbox-token"))
    done = run("listing", "export", "--config", config, "--from-database", cwd=shop)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# pipfleet listing export: scan run 1 of the database\n")
    listing = parse_listing(done.stdout)
    assert {"orb-http", "orb-api", "orb-common", "orb-events"} <= set(listing.packages)
    # What the scan read from CodeArtifact per version comes along: the lock's provenance.
    assert listing.hashes_of("orb-http", "2.5.1") == frozenset(
        asset_hashes(world, "orb-http", "2.5.1")
    )
    assert listing.dependencies_of("orb-api", "1.3.0") == ("orb-common>=2.0",)


def test_a_damaged_or_unwritable_cache_is_no_cache(tmp_path: Path) -> None:
    path = tmp_path / "codeartifact-x.json"
    cache = DiskCache(path, "internal")
    cache.save_listing(parse_listing("orb-common 2.0.0\n"), now=1000.0)
    cache.save({("orb-common", "2.0.0"): (("sha256:" + "a" * 64,), ())})
    assert cache.listing(max_age=60, now=1059.0) == parse_listing("orb-common 2.0.0\n")
    assert cache.listing(max_age=60, now=1060.0) is None  # expired
    assert cache.listing(max_age=60, now=999.0) is None  # written "in the future"
    assert DiskCache(path, "listed").listing(max_age=60, now=1001.0) is None  # other policy
    path.write_text('{"listing": {"written": 1000, "policy": "internal", "text": "bad/name"}}')
    assert cache.listing(max_age=60, now=1001.0) is None and cache.load() == {}
    path.write_text("not json")
    assert cache.listing(max_age=60, now=1001.0) is None and cache.load() == {}
    blocked = DiskCache(tmp_path / "Pipfile" / "cache.json", "internal")
    (tmp_path / "Pipfile").write_text("")  # a file where the folder would be
    blocked.save_listing(parse_listing("orb-common\n"), now=1000.0)  # no error
    assert blocked.listing(max_age=60, now=1001.0) is None


def test_check_asks_codeartifact_about_the_versions_a_uv_project_uses(
    sandbox: SandboxServer, world: World, config: Path, tmp_path: Path
) -> None:
    plant_provenance(world)
    folder = tmp_path / "orb-uv"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "orb-uv"\ndependencies = ["orb-http==2.5.1"]\n\n[tool.uv]\n'
    )
    version_requests(sandbox)
    listing = check_listing(settings_of(config), [folder])
    # Only the version the project pins: its files and dependencies, once each.
    assert version_requests(sandbox) == {"assets": 1, "dependencies": 1}
    assert listing.hashes_of("orb-http", "2.5.1") == frozenset(
        asset_hashes(world, "orb-http", "2.5.1")
    )
