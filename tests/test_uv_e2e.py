"""End to end: the real uv of this virtualenv against two loopback indexes, one playing
public PyPI (holding an impostor of a private name at a higher version) and one playing
CodeArtifact (token-protected), proves that pipfleet's uv rewrite turns a lock of the
impostor into a lock of CodeArtifact's files, and why the fix leaves uv.lock to `uv lock`.

uv runs isolated: no UV_* or PIP_* setting of this machine, HOME, XDG config and the
cache in the test's folder, the public index as uv's default (as PyPI is) through
UV_DEFAULT_INDEX. Not UV_NO_CONFIG: with it uv 0.13.9 ignores [tool.uv] in
pyproject.toml too (measured: it asked pypi.org despite a [[tool.uv.index]]), which is
the very setting under test.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.distributions import lock_hash, wheel, write_sdist, write_wheel
from tests.loopback_indexes import Server, pypiserver, write_htpasswd

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import Listing, version_key
from pipfleet.engine.uvlock import lock_findings, parse_lock
from pipfleet.engine.uvproject import audit, parse
from pipfleet.engine.uvrewrite import rewrite

UV = str(Path(sys.executable).parent / "uv")
PRIVATE = "orb-e2e-common"
PRIVATE_VERSION = "2.1.0"
IMPOSTOR_VERSION = "9.0.0"
PUBLIC = "orb-e2e-public"
# A private package needing another private one, which an impostor on PyPI outbids.
API, EVENTS = "orb-e2e-api", "orb-e2e-events"
UV_TIMEOUT = 120


@dataclass(frozen=True)
class Indexes:
    public: Server
    private: Server
    token: str
    private_hashes: frozenset[str]


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexes]:
    root = tmp_path_factory.mktemp("uv-indexes")
    public_dir, private_dir = root / "public", root / "private"
    public_dir.mkdir()
    private_dir.mkdir()
    write_wheel(public_dir, PUBLIC, "1.0.0")
    write_wheel(public_dir, PRIVATE, IMPOSTOR_VERSION)
    write_wheel(public_dir, EVENTS, IMPOSTOR_VERSION)
    write_wheel(private_dir, EVENTS, "1.0.0")
    filename, data = wheel(API, "1.0.0", requires=[EVENTS])
    (private_dir / filename).write_bytes(data)
    private_files = [
        write_wheel(private_dir, PRIVATE, PRIVATE_VERSION),
        write_sdist(private_dir, PRIVATE, PRIVATE_VERSION),
    ]
    private_hashes = frozenset(lock_hash(path.read_bytes()) for path in private_files)
    token = secrets.token_urlsafe(24)
    htpasswd = write_htpasswd(root / "htpasswd", "aws", token)
    with (
        pypiserver(public_dir, root / "public.log") as public,
        pypiserver(private_dir, root / "private.log", htpasswd=htpasswd) as private,
    ):
        yield Indexes(public, private, token, private_hashes)


def uv_env(tmp: Path, indexes: Indexes, token: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("UV_", "PIP_", "XDG_"))
        and key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    env.update(
        HOME=str(tmp / "home"),
        XDG_CONFIG_HOME=str(tmp / "xdg"),
        XDG_CONFIG_DIRS=str(tmp / "xdg"),
        UV_CACHE_DIR=str(tmp / "cache"),
        UV_PYTHON=sys.executable,
        UV_PYTHON_DOWNLOADS="never",
        UV_DEFAULT_INDEX=indexes.public.simple_url,
        UV_INDEX_CODEARTIFACT_USERNAME="aws",
    )
    if token is not None:
        env["UV_INDEX_CODEARTIFACT_PASSWORD"] = token
    return env


def uv(args: list[str], project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [UV, *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=UV_TIMEOUT,
        check=False,
    )


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def locked(project: Path, name: str) -> dict[str, Any]:
    packages = tomllib.loads((project / "uv.lock").read_text())["package"]
    return next(package for package in packages if package["name"] == name)


def file_hashes(package: dict[str, Any]) -> set[str]:
    files = [package.get("sdist"), *package.get("wheels", [])]
    return {file["hash"] for file in files if file}


@pytest.mark.slow
def test_fix_makes_uv_lock_resolve_codeartifacts_package(indexes: Indexes, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        f"""\
[project]
name = "svc"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [
    "{PRIVATE}",  # private
    "{PUBLIC}",
]
"""
    )
    env = uv_env(tmp_path, indexes, indexes.token)
    listing = Listing(
        packages={PRIVATE: frozenset({PRIVATE_VERSION})},
        hashes={version_key(PRIVATE, PRIVATE_VERSION): indexes.private_hashes},
    )
    private_url = f"http://127.0.0.1:{indexes.private.port}/simple"
    options = AuditOptions(
        source_url=f"http://aws:${{TOKEN}}@127.0.0.1:{indexes.private.port}/simple"
    )

    # Before: uv asks only its default index, which serves the impostor.
    before = uv(["lock"], project, env)
    assert before.returncode == 0, said(before)
    impostor = locked(project, PRIVATE)
    assert impostor["version"] == IMPOSTOR_VERSION
    assert impostor["source"] == {"registry": indexes.public.simple_url}
    stale_lock = (project / "uv.lock").read_text()
    kinds = [
        f.kind for f in lock_findings(parse(pyproject.read_text()), parse_lock(stale_lock), listing)
    ]
    assert kinds == [FindingKind.WRONG_INDEX, FindingKind.VERSION_NOT_FOUND]

    text = pyproject.read_text()
    report = audit(parse(text), listing, options)
    pyproject.write_text(rewrite(text, report, listing, options))
    assert pyproject.read_text() == text + (
        f'\n[tool.uv.sources]\n{PRIVATE} = {{ index = "codeartifact" }}\n'
        f'\n[[tool.uv.index]]\nname = "codeartifact"\nurl = "{private_url}"\nexplicit = true\n'
    )

    # The lock the fix leaves is stale, and uv says so: hence the "run uv lock" note.
    check = uv(["lock", "--check"], project, env)
    assert check.returncode != 0 and "needs to be updated" in check.stderr, said(check)

    # Without the token uv cannot read CodeArtifact, and does not fall back to the impostor.
    no_token = uv(["lock"], project, uv_env(tmp_path, indexes, None))
    assert no_token.returncode != 0, said(no_token)
    assert f"An index ({private_url}) returned a 403 Forbidden" in no_token.stderr, said(no_token)
    assert (project / "uv.lock").read_text() == stale_lock

    after = uv(["lock"], project, env)
    assert after.returncode == 0, said(after)
    private = locked(project, PRIVATE)
    assert private["version"] == PRIVATE_VERSION
    assert private["source"] == {"registry": private_url}
    # The hashes prove the files locked are the ones only CodeArtifact serves.
    assert file_hashes(private) == indexes.private_hashes
    assert locked(project, PUBLIC)["source"] == {"registry": indexes.public.simple_url}
    lock_text = (project / "uv.lock").read_text()
    assert indexes.token not in lock_text
    assert lock_findings(parse(pyproject.read_text()), parse_lock(lock_text), listing) == []

    # uv accepts the lock `uv lock` wrote, without asking an index again, and installs it.
    assert uv(["lock", "--check", "--offline"], project, env).returncode == 0
    sync = uv(["sync", "--locked"], project, env)
    assert sync.returncode == 0, said(sync)
    version = subprocess.run(
        [
            str(project / ".venv" / "bin" / "python"),
            "-c",
            "import orb_e2e_common as m; print(m.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == PRIVATE_VERSION


@pytest.mark.slow
@pytest.mark.parametrize("explicit", [True, False])
def test_an_explicit_index_leaves_private_dependencies_to_the_default_index(
    indexes: Indexes, tmp_path: Path, explicit: bool
) -> None:
    """Why index-not-explicit is not rewritten and why uvlock reports private-transitive:
    uv pins only the project's own dependencies to an index."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f"""\
[project]
name = "svc"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["{API}"]

[tool.uv]
# A source for a package the project does not list does not pin it either.
constraint-dependencies = ["{EVENTS}"]

[tool.uv.sources]
{API} = {{ index = "codeartifact" }}
{EVENTS} = {{ index = "codeartifact" }}

[[tool.uv.index]]
name = "codeartifact"
url = "http://127.0.0.1:{indexes.private.port}/simple"
explicit = {str(explicit).lower()}
"""
    )
    env = uv_env(tmp_path, indexes, indexes.token)
    result = uv(["lock"], project, env)
    assert result.returncode == 0, said(result)
    events = locked(project, EVENTS)
    listing = Listing.of([API, EVENTS])
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    found = lock_findings(parse(text), parse_lock((project / "uv.lock").read_text()), listing)
    if explicit:
        assert (events["version"], events["source"]) == (
            IMPOSTOR_VERSION,
            {"registry": indexes.public.simple_url},
        )
        assert [(f.kind, f.package) for f in found] == [(FindingKind.PRIVATE_TRANSITIVE, EVENTS)]
        assert f"needed by {API}" in found[0].message
        # The fix lists it (its source is there already); then `uv lock` takes CodeArtifact's.
        report = audit(parse(text), listing)
        merged = FileReport(report.path, report.findings + tuple(found), report.private_source)
        pyproject.write_text(rewrite(text, merged, listing, AuditOptions()))
        assert pyproject.read_text() == text.replace(
            f'dependencies = ["{API}"]', f'dependencies = ["{API}", "{EVENTS}"]'
        )
        relocked = uv(["lock"], project, env)
        assert relocked.returncode == 0, said(relocked)
        assert locked(project, EVENTS)["version"] == "1.0.0"
        assert locked(project, EVENTS)["source"] == {"registry": indexes.private.simple_url}
    else:
        # Not explicit and asked before the default index: uv finds it on CodeArtifact.
        assert events["version"] == "1.0.0"
        assert found == []
