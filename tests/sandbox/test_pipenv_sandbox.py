"""Real pipenv against the sandbox's indexes: the private package resolves from the
CodeArtifact stand-in only when the Pipfile names that index and a valid token is
exported, and the token never reaches Pipfile.lock.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from tests.distributions import lock_hash, wheel
from tests.pipenv_tools import PIPENV, PYTHON_VERSION, folded, isolated_env, output, run

from pipfleet.sandbox.index import JSON_V1, PRIVATE_SIMPLE, PUBLIC_SIMPLE
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import CodeArtifactPackage, PackageOrigin, World

PRIVATE = "orb-sbx-common"
PRIVATE_VERSION = "1.2.0"
PUBLIC = "orb-sbx-public"
PUBLIC_VERSION = "1.0.0"
NOT_FOUND = f"Could not find a version that satisfies the requirement {PRIVATE}=={PRIVATE_VERSION}"
# The sandbox counts requests by route, so these count every project's page.
PUBLIC_PAGE = ("GET", PUBLIC_SIMPLE + "/{project}/")
PRIVATE_PAGE = ("GET", PRIVATE_SIMPLE + "/{project}/")
PRIVATE_FILE = ("GET", PRIVATE_SIMPLE + "/{project}/{version}/{filename}")


@pytest.fixture
def files(world: World) -> dict[str, bytes]:
    """orb-sbx-common on the private index only, orb-sbx-public on the public index only."""
    private_name, private_data = wheel(PRIVATE, PRIVATE_VERSION)
    public_name, public_data = wheel(PUBLIC, PUBLIC_VERSION)
    world.add_file(private_name, private_data)
    world.add_file(public_name, public_data)
    world.codeartifact.packages[PRIVATE] = CodeArtifactPackage(
        PRIVATE, {PRIVATE_VERSION: "INTERNAL"}, PackageOrigin("ALLOW", "BLOCK")
    )
    world.pypi[PUBLIC] = [PUBLIC_VERSION]
    return {PRIVATE: private_data, PUBLIC: public_data}


def served_hashes(sandbox: SandboxServer, token: str, project: str) -> set[str]:
    """The sha256 of every file the sandbox serves for ``project``, as Pipfile.lock writes them."""
    if project == PRIVATE:
        url, auth = sandbox.urls.private_index, ("aws", token)
    else:
        url, auth = sandbox.urls.public_index, None
    page = httpx.get(f"{url}{project}/", auth=auth, headers={"Accept": JSON_V1})
    assert page.status_code == 200, page.text
    return {f"sha256:{file['hashes']['sha256']}" for file in page.json()["files"]}


def write_pipfile(project: Path, sandbox: SandboxServer, private_entry: str) -> None:
    project.joinpath("Pipfile").write_text(
        f"""\
[[source]]
name = "pypi"
url = "{sandbox.urls.public_index}"
verify_ssl = false

[[source]]
name = "codeartifact"
url = "{sandbox.urls.private_index_with_auth()}"
verify_ssl = false

[packages]
{PUBLIC} = "=={PUBLIC_VERSION}"
{PRIVATE} = {private_entry}

[requires]
python_version = "{PYTHON_VERSION}"
"""
    )


@pytest.mark.slow
def test_pipenv_lock_resolves_the_private_package_only_from_codeartifact(
    sandbox: SandboxServer, files: dict[str, bytes], token: str, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    home = tmp_path / "home"
    project.mkdir()
    home.mkdir()
    lock_file = project / "Pipfile.lock"
    lock = [PIPENV, "lock", "--verbose"]  # --verbose: pip's resolver log, for the failures

    # Without an index pipenv looks only on the first source, public PyPI, which
    # does not have the package: the token exported changes nothing.
    write_pipfile(project, sandbox, f'"=={PRIVATE_VERSION}"')
    unpinned = run(lock, project, isolated_env(home, token))
    assert unpinned.returncode != 0, output(unpinned)
    assert NOT_FOUND in folded(unpinned), output(unpinned)
    assert not lock_file.exists()
    counters = sandbox.world.counters
    assert counters[PUBLIC_PAGE] >= 1
    assert counters[PRIVATE_PAGE] == 0  # CodeArtifact was never asked

    # Pinned to the private index, but with a token CodeArtifact never issued: 401.
    write_pipfile(project, sandbox, f'{{version = "=={PRIVATE_VERSION}", index = "codeartifact"}}')
    wrong = run(lock, project, isolated_env(home, "sandbox-ca-not-issued"))
    assert wrong.returncode != 0, output(wrong)
    assert NOT_FOUND in folded(wrong), output(wrong)
    assert not lock_file.exists()
    # It did reach the private index, which refused it: no connection error explains it.
    assert counters[PRIVATE_PAGE] >= 1
    assert counters[PRIVATE_FILE] == 0

    # Pinned, with the token GetAuthorizationToken issued.
    locked = run(lock, project, isolated_env(home, token))
    assert locked.returncode == 0, output(locked)
    lock_text = lock_file.read_text()
    assert token not in lock_text
    locked_json = json.loads(lock_text)
    default = locked_json["default"]
    assert default[PRIVATE]["index"] == "codeartifact"
    assert default[PRIVATE]["version"] == f"=={PRIVATE_VERSION}"
    assert default[PUBLIC]["index"] == "pypi"
    assert default[PUBLIC]["version"] == f"=={PUBLIC_VERSION}"
    # The hashes prove pipenv locked the very files each sandbox index serves.
    assert set(default[PRIVATE]["hashes"]) == served_hashes(sandbox, token, PRIVATE)
    assert set(default[PRIVATE]["hashes"]) == {lock_hash(files[PRIVATE])}
    assert set(default[PUBLIC]["hashes"]) == served_hashes(sandbox, token, PUBLIC)
    assert set(default[PUBLIC]["hashes"]) == {lock_hash(files[PUBLIC])}
    sources = {source["name"]: source["url"] for source in locked_json["_meta"]["sources"]}
    assert sources["codeartifact"] == sandbox.urls.private_index_with_auth()
