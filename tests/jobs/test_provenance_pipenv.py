"""Issue 11's proof with real pipenv: the fix pull request pipfleet opens makes pipenv install
CodeArtifact's file where the lock held an impostor's, and makes `pipenv lock` succeed where a
private package that arrives as a dependency made it fail.

Two loopback indexes: a pypiserver plays public PyPI and serves an impostor of the private
``orb-http`` 2.5.1 (same name, same version, other bytes); the sandbox plays GitHub and
CodeArtifact (its API, ListPackageVersionAssets and ListPackageVersionDependencies included,
and its private index, which serves exactly the version's assets). Each repository's Pipfile
names the pypiserver as its first source, ``pypi``. pipfleet runs as the CLI runs it
(``scan_fleet`` then ``fix_fleet``); the pull request's branch files are read back from the
sandbox and handed to pipenv: in a fresh project to install from (pip would keep a package
already installed at the same version), over the failed one to lock again.

pipenv runs six times in all; the pypiserver is shared by the module, the sandbox world is
conftest's fleet with each case's packages and repository added.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import cache_home
from tests.distributions import lock_hash, wheel
from tests.loopback_indexes import Server, pypiserver
from tests.pipenv_tools import PIPENV, PYTHON_VERSION, folded, isolated_env, output, run

from pipfleet.config import Settings, parse_settings
from pipfleet.engine.prbody import code
from pipfleet.jobs.setup import fix_fleet, scan_fleet
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import CodeArtifactPackage, PackageOrigin, PullRequest, World
from pipfleet.store.db import make_engine

BRANCH = "pipfleet/codeartifact-index"
HTTP, HTTP_VERSION = "orb-http", "2.5.1"  # private; public PyPI serves an impostor of it
API, API_VERSION = "orb-api", "1.3.0"  # private; depends on orb-common
COMMON, COMMON_VERSION = "orb-common", "2.1.0"  # private; on CodeArtifact only

IMPOSTOR = wheel(HTTP, HTTP_VERSION, origin="impostor")
REAL_HTTP = wheel(HTTP, HTTP_VERSION, origin="codeartifact")
REAL_API = wheel(API, API_VERSION, requires=[f"{COMMON}>=2.0"], origin="codeartifact")
REAL_COMMON = wheel(COMMON, COMMON_VERSION, origin="codeartifact")


@pytest.fixture(scope="module")
def public_pypi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Public PyPI: the impostor of orb-http 2.5.1, and no orb-api or orb-common."""
    root = tmp_path_factory.mktemp("public-pypi")
    packages = root / "packages"
    packages.mkdir()
    filename, data = IMPOSTOR
    (packages / filename).write_bytes(data)
    with pypiserver(packages, root / "pypiserver.log") as server:
        yield server


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


def private(world: World, name: str, version: str, data: tuple[str, bytes]) -> None:
    """``name`` ``version`` on the sandbox's CodeArtifact, served with the file ``data`` alone."""
    world.codeartifact.packages[name] = CodeArtifactPackage(
        name, {version: "INTERNAL"}, PackageOrigin("ALLOW", "BLOCK")
    )
    world.add_file(*data, codeartifact_only=True)


def pipfile(public: Server, sandbox: SandboxServer, packages: str) -> str:
    # verify_ssl = true over plain http: pip counts loopback as a secure origin.
    return f"""\
[[source]]
name = "pypi"
url = "{public.simple_url}"
verify_ssl = true

[[source]]
name = "codeartifact"
url = "{sandbox.urls.private_index_with_auth()}"
verify_ssl = true

[packages]
{packages}

[requires]
python_version = "{PYTHON_VERSION}"
"""


def project(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for path, content in files.items():
        (folder / path).write_text(content)
    return folder


def findings(settings: Settings, repository: str) -> set[tuple[str, str, str]]:
    query = text(
        "SELECT f.package, f.kind, f.severity FROM findings f "
        "JOIN repositories r ON r.id = f.repository_id WHERE r.name = :name"
    )
    with make_engine(settings.database.url).connect() as connection:
        return {tuple(row) for row in connection.execute(query, {"name": repository})}


def fix_one(
    world: World, settings: Settings, repository: str
) -> tuple[PullRequest, dict[str, str]]:
    """Run the fix job for ``repository``; its pull request and the branch's Pipfile and lock."""
    summary = fix_fleet(settings, only=[repository])
    assert {o.repository: o.action for o in summary.outcomes} == {f"acme/{repository}": "open"}
    repo = world.repository("acme", repository)
    assert repo is not None
    (pull,) = repo.pulls.values()
    assert pull.head == BRANCH
    files = {}
    for path in ("Pipfile", "Pipfile.lock"):
        data = world.file_at(repo, pull.head, path)
        if data is not None:
            files[path] = data.decode()
    return pull, files


def installed_origin(folder: Path, module: str) -> str:
    """The ORIGIN of the module pipenv installed in the project's virtualenv."""
    (init,) = (folder / ".venv").glob(f"lib/python*/site-packages/{module}/__init__.py")
    found = re.search(r'^ORIGIN = "(\w+)"$', init.read_text(), re.MULTILINE)
    assert found is not None, init.read_text()
    return found.group(1)


def asked(world: World, request: str) -> int:
    """How many ListPackageVersion<request> calls the sandbox's CodeArtifact answered."""
    with world.lock:
        return sum(
            count
            for (_, route), count in world.counters.items()
            if route.endswith(f"/v1/package/version/{request}")
        )


@pytest.mark.slow
def test_a_lock_of_the_impostor_gets_codeartifacts_file(
    public_pypi: Server,
    sandbox: SandboxServer,
    world: World,
    token: str,
    settings: Settings,
    tmp_path: Path,
) -> None:
    private(world, HTTP, HTTP_VERSION, REAL_HTTP)
    world.pypi[HTTP] = [HTTP_VERSION]  # the scan's public PyPI knows the name is taken too
    env = isolated_env(tmp_path / "home", token)
    (tmp_path / "home").mkdir()

    # Locked without `index`: pipenv took orb-http from the first source, public PyPI.
    before = project(
        tmp_path,
        "before",
        {"Pipfile": pipfile(public_pypi, sandbox, f'{HTTP} = "=={HTTP_VERSION}"')},
    )
    locked = run([PIPENV, "lock"], before, env)
    assert locked.returncode == 0, output(locked)
    lock_text = (before / "Pipfile.lock").read_text()
    entry = json.loads(lock_text)["default"][HTTP]
    assert (entry["index"], entry["hashes"]) == ("pypi", [lock_hash(IMPOSTOR[1])])
    installed = run([PIPENV, "install", "--deploy"], before, env)
    assert installed.returncode == 0, output(installed)
    assert installed_origin(before, "orb_http") == "impostor"

    with world.lock:
        world.add_repository(
            "acme",
            "orb-shop",
            {"Pipfile": (before / "Pipfile").read_bytes(), "Pipfile.lock": lock_text.encode()},
        )
    scan_fleet(settings)
    assert asked(world, "assets") >= 1
    assert (HTTP, "foreign-hashes", "critical") in findings(settings, "orb-shop")
    assert (HTTP, "missing-index", "high") in findings(settings, "orb-shop")

    pull, files = fix_one(world, settings, "orb-shop")
    assert pull.body.startswith("## Security\n"), pull.body
    security = pull.body.split("## Why")[0]
    assert code(f"{HTTP}=={HTTP_VERSION}") in security and "git log -p Pipfile.lock" in security
    assert f'{HTTP} = {{version = "=={HTTP_VERSION}", index = "codeartifact"}}' in files["Pipfile"]
    entry = json.loads(files["Pipfile.lock"])["default"][HTTP]
    assert (entry["index"], entry["hashes"]) == ("codeartifact", [lock_hash(REAL_HTTP[1])])

    # The PR's Pipfile and lock, as a teammate checks the branch out on a clean machine.
    after = project(tmp_path, "after", files)
    installed = run([PIPENV, "install", "--deploy"], after, env)
    assert installed.returncode == 0, output(installed)
    assert installed_origin(after, "orb_http") == "codeartifact"
    verified = run([PIPENV, "verify"], after, env)
    assert verified.returncode == 0, output(verified)
    assert (after / "Pipfile.lock").read_text() == files["Pipfile.lock"]  # nothing relocked


@pytest.mark.slow
def test_a_private_dependency_of_a_private_package_gets_listed(
    public_pypi: Server,
    sandbox: SandboxServer,
    world: World,
    token: str,
    settings: Settings,
    tmp_path: Path,
) -> None:
    # orb-api's METADATA requires orb-common, which CodeArtifact alone holds; the sandbox's
    # ListPackageVersionDependencies reads the same line from the file.
    private(world, API, API_VERSION, REAL_API)
    private(world, COMMON, COMMON_VERSION, REAL_COMMON)
    assert world.codeartifact_dependencies(API, API_VERSION) == [f"{COMMON}>=2.0"]
    env = isolated_env(tmp_path / "home", token)
    (tmp_path / "home").mkdir()
    listed = pipfile(
        public_pypi, sandbox, f'{API} = {{version = "=={API_VERSION}", index = "codeartifact"}}'
    )
    folder = project(tmp_path, "project", {"Pipfile": listed})

    # orb-api comes from CodeArtifact, but pipenv looks for its dependency on public PyPI.
    failed = run([PIPENV, "lock", "--verbose"], folder, env)
    assert failed.returncode != 0, output(failed)
    assert f"Could not find a version that satisfies the requirement {COMMON}>=2.0" in folded(
        failed
    ), output(failed)
    assert not (folder / "Pipfile.lock").exists()

    with world.lock:
        world.add_repository("acme", "orb-feed", {"Pipfile": listed.encode()})
    scan_fleet(settings)
    assert asked(world, "dependencies") >= 1  # no lock: CodeArtifact named the dependency
    assert (COMMON, "private-transitive", "high") in findings(settings, "orb-feed")

    pull, files = fix_one(world, settings, "orb-feed")
    assert set(files) == {"Pipfile"}  # there was no lock to bring along
    assert "## Security" not in pull.body and "not listed" in pull.body
    assert f'{COMMON} = {{version = "*", index = "codeartifact"}}' in files["Pipfile"]

    (folder / "Pipfile").write_text(files["Pipfile"])
    locked = run([PIPENV, "lock"], folder, env)
    assert locked.returncode == 0, output(locked)
    default = json.loads((folder / "Pipfile.lock").read_text())["default"]
    common = default[COMMON]
    assert (common["index"], common["version"]) == ("codeartifact", f"=={COMMON_VERSION}")
    assert common["hashes"] == [lock_hash(REAL_COMMON[1])]
    assert (default[API]["index"], default[API]["hashes"]) == (
        "codeartifact",
        [lock_hash(REAL_API[1])],
    )
