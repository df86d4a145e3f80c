"""Real pipenv accepts the locks ``update_lock`` writes, in both hash schemes.

CANONICAL is this virtualenv's pipenv (>= 2026.4); LEGACY is the last release
before it, installed from PyPI once into the pytest cache folder and reused.
Each starts from a Pipfile.lock it accepts for a Pipfile with a private package
that has no index, under a name the two schemes hash differently; after
pipfleet's fix, the untouched lock is out of date, and the updated one passes
``pipenv verify`` and installs the private package from the sandbox's
CodeArtifact with ``pipenv install --deploy``.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.distributions import lock_hash, wheel
from tests.pipenv_tools import PIPENV, PYTHON_VERSION, folded, isolated_env, output, run

from pipfleet.engine.audit import AuditOptions, audit
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.lockfile import HashScheme, dump_lock, pipfile_hash, update_lock
from pipfleet.engine.pipfile import parse
from pipfleet.engine.rewrite import rewrite
from pipfleet.sandbox.index import PRIVATE_SIMPLE
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import CodeArtifactPackage, PackageOrigin, World

# The newest release that hashes package names as written (2026.4.0 canonicalises them).
LEGACY_PIPENV = "2026.2.2"
PRIVATE = "orb-lock-common"
WRITTEN = "Orb_Lock_Common"  # how the Pipfile spells it: the schemes hash it differently
PUBLIC = "orb-lock-public"
VERSION = "1.0.0"
PRIVATE_FILE = ("GET", PRIVATE_SIMPLE + "/{project}/{version}/{filename}")


@pytest.fixture(scope="session")
def legacy_pipenv(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> str:
    """pipenv LEGACY_PIPENV in a virtualenv under .pytest_cache, made on first use."""
    folder = pytestconfig.cache.mkdir(f"pipenv-{LEGACY_PIPENV}")
    pipenv = folder / "venv" / "bin" / "pipenv"
    home = tmp_path_factory.mktemp("pipenv-install-home")
    env = isolated_env(home, None)
    # pytest-xdist workers share the folder: one builds the virtualenv, the others wait.
    with (folder / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _version(pipenv, env) != LEGACY_PIPENV:
            # Also rebuilt when the repository moved: a virtualenv holds absolute paths.
            shutil.rmtree(folder / "venv", ignore_errors=True)
            steps = [
                [sys.executable, "-m", "venv", str(folder / "venv")],
                [str(folder / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
                + [f"pipenv=={LEGACY_PIPENV}"],
            ]
            for step in steps:
                done = run(step, folder, env, timeout=300)
                assert done.returncode == 0, output(done)
            assert _version(pipenv, env) == LEGACY_PIPENV
    return str(pipenv)


def _version(pipenv: Path, env: dict[str, str]) -> str | None:
    if not pipenv.is_file():
        return None
    try:
        proc = run([str(pipenv), "--version"], pipenv.parent, env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.split()[-1] if proc.returncode == 0 and proc.stdout.split() else None


@pytest.fixture
def files(world: World) -> dict[str, bytes]:
    """The private wheel on the sandbox's CodeArtifact only, the public one on its PyPI only."""
    built = {name: wheel(name, VERSION) for name in (PRIVATE, PUBLIC)}
    for filename, data in built.values():
        world.add_file(filename, data)
    world.codeartifact.packages[PRIVATE] = CodeArtifactPackage(
        PRIVATE, {VERSION: "INTERNAL"}, PackageOrigin("ALLOW", "BLOCK")
    )
    world.pypi[PUBLIC] = [VERSION]
    return {name: data for name, (_, data) in built.items()}


def _old_lock(pipfile_text: str, scheme: HashScheme, files: dict[str, bytes]) -> dict[str, Any]:
    """A lock as that pipenv would have written it; LEGACY-era keys as the Pipfile spells them."""
    data = parse(pipfile_text).data
    private_key = WRITTEN if scheme is HashScheme.LEGACY else PRIVATE
    return {
        "_meta": {
            "hash": {"sha256": pipfile_hash(data, scheme)},
            "pipfile-spec": 6,
            "requires": data["requires"],
            "sources": data["source"],
        },
        "default": {
            private_key: {"hashes": [lock_hash(files[PRIVATE])], "version": f"=={VERSION}"},
            PUBLIC: {
                "hashes": [lock_hash(files[PUBLIC])],
                "index": "pypi",
                "version": f"=={VERSION}",
            },
        },
        "develop": {},
    }


@pytest.mark.slow
@pytest.mark.parametrize("scheme", list(HashScheme))
def test_pipenv_accepts_the_updated_lock_and_not_the_old_one(
    scheme: HashScheme,
    request: pytest.FixtureRequest,
    sandbox: SandboxServer,
    files: dict[str, bytes],
    token: str,
    tmp_path: Path,
) -> None:
    pipenv = PIPENV if scheme is HashScheme.CANONICAL else request.getfixturevalue("legacy_pipenv")
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    env = isolated_env(home, token)
    pipfile, lock_file = project / "Pipfile", project / "Pipfile.lock"

    def pipenv_run(*args: str) -> subprocess.CompletedProcess[str]:
        return run([pipenv, *args], project, env)

    old_text = f"""\
[[source]]
name = "pypi"
url = "{sandbox.urls.public_index}"
verify_ssl = true

[packages]
{WRITTEN} = "=={VERSION}"
{PUBLIC} = "=={VERSION}"

[requires]
python_version = "{PYTHON_VERSION}"
"""
    old_lock = _old_lock(old_text, scheme, files)
    pipfile.write_text(old_text)

    # This pipenv accepts a lock of its own scheme only.
    lock_file.write_text(dump_lock(old_lock))
    accepted = pipenv_run("verify")
    assert accepted.returncode == 0, output(accepted)
    other = HashScheme.LEGACY if scheme is HashScheme.CANONICAL else HashScheme.CANONICAL
    other_hash = {
        **old_lock["_meta"],
        "hash": {"sha256": pipfile_hash(parse(old_text).data, other)},
    }
    lock_file.write_text(dump_lock({**old_lock, "_meta": other_hash}))
    assert pipenv_run("verify").returncode != 0

    private_url = sandbox.urls.private_index_with_auth()
    options = AuditOptions(source_url=private_url)
    old = parse(old_text)
    report = audit(old, Listing.of([PRIVATE]), options)
    new_text = rewrite(old, report, private_url)
    assert f'{WRITTEN} = {{version = "=={VERSION}", index = "codeartifact"}}' in new_text
    assert any(f.kind is FindingKind.MISSING_SOURCE for f in report.fixable)
    pinned = [(f.category, f.package) for f in report.fixable if f.category and f.package]
    update = update_lock(
        dump_lock(old_lock),
        old.data,
        parse(new_text).data,
        "codeartifact",
        pinned,
        {"name": "codeartifact", "url": private_url, "verify_ssl": True},
    )
    assert update.scheme is scheme and update.text is not None
    assert token not in update.text

    # The fixed Pipfile beside the untouched lock: out of date for both commands.
    pipfile.write_text(new_text)
    lock_file.write_text(dump_lock(old_lock))
    stale = pipenv_run("verify")
    assert stale.returncode != 0, output(stale)
    refused = pipenv_run("install", "--deploy")
    assert refused.returncode != 0, output(refused)
    assert "out of date" in folded(refused), output(refused)

    # The updated lock: up to date, and it installs the private wheel from CodeArtifact.
    lock_file.write_text(update.text)
    verified = pipenv_run("verify")
    assert verified.returncode == 0, output(verified)
    fetched_before = sandbox.world.counters[PRIVATE_FILE]
    installed = pipenv_run("install", "--deploy")
    assert installed.returncode == 0, output(installed)
    assert sandbox.world.counters[PRIVATE_FILE] > fetched_before
    site_packages = next((project / ".venv" / "lib").glob("python*/site-packages"))
    assert (site_packages / f"orb_lock_common-{VERSION}.dist-info").is_dir()
    assert lock_file.read_text() == update.text  # installed as locked, not relocked
    assert json.loads(update.text)["_meta"]["sources"][1]["url"] == private_url
