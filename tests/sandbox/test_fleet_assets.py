"""A CodeArtifact version's files and dependencies, from the fleet folder to both APIs.

The files ListPackageVersionAssets names are exactly the files the private index
serves, with the same sha256; they come from ``wheels/`` or, failing that, are one
deterministic placeholder wheel carrying the version's ``[dependencies]``.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from tests.conftest import write_fleet
from tests.distributions import sdist, wheel

from pipfleet.errors import UsageError
from pipfleet.sandbox.distributions import placeholder_wheel, requires_dist
from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.index import JSON_V1
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World

CODEARTIFACT_TOML = """\
[internal]
orb-api = ["1.3.0"]
orb-common = ["2.0.0", "2.1.0"]
orb-events = ["1.0.0"]
[external]
requests = ["2.32.3"]
orb-events = ["0.1.0"]
[dependencies]
orb-events = {"1.0.0" = ["orb-common>=2.0", "requests"]}
"""
# orb-api's wheel in wheels/ names its dependency itself; no [dependencies] entry does.
ORB_API = placeholder_wheel("orb-api", "1.3.0", ("orb-common>=2.1",))
# Pinned: a placeholder's bytes must not drift, or every lock that holds it breaks.
ORB_COMMON_210_SHA256 = "37639a9aa3cb4c51f40170d0369385d65ba5570bd527de5a75fc68bd294da621"


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    root = write_fleet(tmp_path / "fleet")
    (root / "codeartifact.toml").write_text(CODEARTIFACT_TOML)
    wheels = root / "wheels"
    wheels.mkdir()
    for filename, data in (
        wheel("orb-common", "2.0.0"),
        sdist("orb-common", "2.0.0"),
        wheel("requests", "2.32.3"),
        ORB_API,
    ):
        (wheels / filename).write_bytes(data)
    return root


def client(sandbox: SandboxServer) -> Any:
    return boto3.client(
        "codeartifact",
        region_name=sandbox.world.codeartifact.region,
        endpoint_url=sandbox.urls.codeartifact_endpoint,
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )


def api_assets(sandbox: SandboxServer, package: str, version: str) -> dict[str, str]:
    """filename -> SHA-256, as ListPackageVersionAssets names them (every page)."""
    ca = sandbox.world.codeartifact
    pages = (
        client(sandbox)
        .get_paginator("list_package_version_assets")
        .paginate(
            domain=ca.domain,
            repository=ca.repository,
            format="pypi",
            package=package,
            packageVersion=version,
            PaginationConfig={"PageSize": 1},
        )
    )
    return {asset["name"]: asset["hashes"]["SHA-256"] for page in pages for asset in page["assets"]}


def api_dependencies(sandbox: SandboxServer, package: str, version: str) -> list[tuple[str, str]]:
    ca = sandbox.world.codeartifact
    answer = client(sandbox).list_package_version_dependencies(
        domain=ca.domain,
        repository=ca.repository,
        format="pypi",
        package=package,
        packageVersion=version,
    )
    return [(d["package"], d["versionRequirement"]) for d in answer["dependencies"]]


def downloaded(sandbox: SandboxServer, token: str, package: str) -> dict[str, dict[str, bytes]]:
    """version -> filename -> bytes, for every file the private index links for ``package``."""
    url = f"{sandbox.urls.private_index}{package}/"
    page = httpx.get(url, auth=("aws", token), headers={"Accept": JSON_V1})
    assert page.status_code == 200, page.text
    files: dict[str, dict[str, bytes]] = {}
    for file in page.json()["files"]:
        response = httpx.get(httpx.URL(url).join(file["url"]), auth=("aws", token))
        assert response.status_code == 200, file
        assert hashlib.sha256(response.content).hexdigest() == file["hashes"]["sha256"]
        version = file["url"].split("/")[0]
        files.setdefault(version, {})[file["filename"]] = response.content
    return files


def test_index_serves_exactly_the_assets_with_the_same_hashes(
    sandbox: SandboxServer, world: World, token: str
) -> None:
    served_any = False
    for name, package in world.codeartifact.packages.items():
        served = downloaded(sandbox, token, name)
        assert set(served) == set(package.versions), name
        for version in package.versions:
            files = served[version]
            hashes = {
                filename: hashlib.sha256(data).hexdigest() for filename, data in files.items()
            }
            assert hashes == api_assets(sandbox, name, version), (name, version)
            served_any = True
    assert served_any

    assert set(downloaded(sandbox, token, "orb-common")["2.0.0"]) == {
        "orb_common-2.0.0-py3-none-any.whl",
        "orb_common-2.0.0.tar.gz",
    }
    common_210 = downloaded(sandbox, token, "orb-common")["2.1.0"]
    assert list(common_210) == ["orb_common-2.1.0-py3-none-any.whl"]
    assert hashlib.sha256(common_210["orb_common-2.1.0-py3-none-any.whl"]).hexdigest() == (
        ORB_COMMON_210_SHA256
    )
    assert downloaded(sandbox, token, "orb-api")["1.3.0"] == {ORB_API[0]: ORB_API[1]}
    # Public PyPI serves only wheels/ files: placeholders are CodeArtifact's alone.
    public = httpx.get(f"{sandbox.urls.public_index}orb-events/", headers={"Accept": JSON_V1})
    assert public.json()["files"] == []


def test_dependencies_from_the_table_or_from_the_files(sandbox: SandboxServer, token: str) -> None:
    assert api_dependencies(sandbox, "orb-events", "1.0.0") == [
        ("orb-common", ">=2.0"),
        ("requests", ""),
    ]
    assert api_dependencies(sandbox, "orb-api", "1.3.0") == [("orb-common", ">=2.1")]
    assert api_dependencies(sandbox, "orb-common", "2.1.0") == []
    # The placeholder wheel carries the table's dependencies, so pip and pipenv follow them.
    (filename, data), *_ = downloaded(sandbox, token, "orb-events")["1.0.0"].items()
    assert requires_dist(filename, data) == ["orb-common>=2.0", "requests"]


def test_placeholders_are_deterministic_and_installable(fleet_dir: Path, tmp_path: Path) -> None:
    first, second = load_fleet(fleet_dir), load_fleet(fleet_dir)
    for name, package in first.codeartifact.packages.items():
        for version in package.versions:
            assert first.codeartifact_assets(name, version) == second.codeartifact_assets(
                name, version
            )
    filename, data = placeholder_wheel("orb-common", "2.1.0")
    assert hashlib.sha256(data).hexdigest() == ORB_COMMON_210_SHA256
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        assert zipped.testzip() is None
        assert sorted(zipped.namelist()) == [
            "orb_common-2.1.0.dist-info/METADATA",
            "orb_common-2.1.0.dist-info/RECORD",
            "orb_common-2.1.0.dist-info/WHEEL",
        ]
    (tmp_path / filename).write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir"]
        + [
            "--disable-pip-version-check",
            "--target",
            str(tmp_path / "site"),
            str(tmp_path / filename),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "orb_common-2.1.0.dist-info" / "METADATA").is_file()


def test_placeholders_can_be_turned_off(fleet_dir: Path) -> None:
    toml = fleet_dir / "codeartifact.toml"
    toml.write_text("placeholders = false\n" + toml.read_text())
    world = load_fleet(fleet_dir)
    assert world.codeartifact_assets("orb-common", "2.1.0") == {}
    assert set(world.codeartifact_assets("orb-common", "2.0.0")) == {
        "orb_common-2.0.0-py3-none-any.whl",
        "orb_common-2.0.0.tar.gz",
    }
    assert world.codeartifact_assets("orb-common", "9.9.9") == {}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[dependencies]\norb-nowhere = {"1.0" = []}\n', "names no package"),
        ('[dependencies]\norb-common = {"9.9" = []}\n', "has no version 9.9"),
        ('[dependencies]\norb-common = {"2.1.0" = "orb-x"}\n', "not a list of strings"),
        ('[dependencies]\norb-common = {"2.1.0" = ["orb x y"]}\n', "orb-common 2.1.0"),
        ("placeholders = 1\n", "placeholders must be true or false"),
    ],
)
def test_bad_dependency_tables_are_usage_errors(fleet_dir: Path, table: str, message: str) -> None:
    toml = fleet_dir / "codeartifact.toml"
    text = toml.read_text().split("[dependencies]")[0]
    toml.write_text(table + text if table.startswith("placeholders") else text + table)
    with pytest.raises(UsageError, match=message):
        load_fleet(fleet_dir)


def test_codeartifact_only_files_differ_from_a_public_impostor(fleet_dir: Path) -> None:
    # orb-http 2.5.1 on both indexes: public PyPI's is an impostor, CodeArtifact's the real one.
    toml = fleet_dir / "codeartifact.toml"
    toml.write_text(toml.read_text().replace("[internal]\n", '[internal]\norb-http = ["2.5.1"]\n'))
    (fleet_dir / "pypi.toml").write_text('[packages]\norb-http = ["2.5.1"]\n')
    impostor_name, impostor = wheel("orb-http", "2.5.1")
    real_name, real = placeholder_wheel("orb-http", "2.5.1", ("orb-common>=2.0",))
    assert impostor_name == real_name and impostor != real
    (fleet_dir / "wheels" / impostor_name).write_bytes(impostor)
    (fleet_dir / "wheels" / "codeartifact").mkdir()
    (fleet_dir / "wheels" / "codeartifact" / real_name).write_bytes(real)

    world = load_fleet(fleet_dir)
    assert world.codeartifact_assets("orb-http", "2.5.1") == {real_name: real}
    with SandboxServer(world) as sandbox:
        ca = world.codeartifact
        token = client(sandbox).get_authorization_token(domain=ca.domain)["authorizationToken"]
        assert downloaded(sandbox, token, "orb-http") == {"2.5.1": {real_name: real}}
        assert api_assets(sandbox, "orb-http", "2.5.1") == {
            real_name: hashlib.sha256(real).hexdigest()
        }
        assert api_dependencies(sandbox, "orb-http", "2.5.1") == [("orb-common", ">=2.0")]
        url = f"{sandbox.urls.public_index}orb-http/"
        public = httpx.get(url, headers={"Accept": JSON_V1}).json()["files"]
        assert [f["hashes"]["sha256"] for f in public] == [hashlib.sha256(impostor).hexdigest()]
        assert httpx.get(httpx.URL(url).join(public[0]["url"])).content == impostor


def test_pip_follows_a_placeholders_dependencies_through_the_private_index(
    sandbox: SandboxServer, token: str, tmp_path: Path
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PIP_") and key not in ("PYTHONPATH",)
    }
    env |= {"PIP_CONFIG_FILE": "/dev/null", "PIP_NO_CACHE_DIR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-input", "--disable-pip-version-check"]
        + [
            "--dest",
            str(tmp_path / "downloads"),
            "--index-url",
            sandbox.urls.private_index_with_auth(token),
        ]
        + ["orb-events==1.0.0"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(path.name for path in (tmp_path / "downloads").iterdir()) == [
        "orb_common-2.1.0-py3-none-any.whl",
        "orb_events-1.0.0-py3-none-any.whl",
        "requests-2.32.3-py3-none-any.whl",
    ]
