"""End to end: real Poetry against two loopback indexes, one playing public PyPI (open) and
one playing CodeArtifact (basic auth, as its token is), proves the Poetry fix.

An impostor of the private name sits on the public index at a higher version. Before the
fix ``poetry lock`` takes it; after pipfleet's rewrite Poetry resolves CodeArtifact's
package (its files' hashes in the lock), ``poetry check --lock`` accepts the lock and
``poetry install`` installs the genuine module. Where the lock already holds CodeArtifact's
files (a public mirror of them), ``update_lock`` brings it along in place, byte for byte
the lock ``poetry lock --regenerate`` writes.

The public index replaces PyPI as Poetry's primary source, so nothing reaches the network;
Poetry's config, cache, data and virtualenvs live in the test's temporary folders.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.distributions import lock_hash, wheel
from tests.loopback_indexes import Server, pypiserver, write_htpasswd
from tests.pipenv_tools import isolated_env, output, run

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import Listing, version_key
from pipfleet.engine.poetrylock import content_hash, lock_findings, parse_lock, update_lock
from pipfleet.engine.poetryproject import audit, parse
from pipfleet.engine.poetryrewrite import rewrite

pytestmark = pytest.mark.slow

POETRY = str(Path(sys.executable).parent / "poetry")
PRIVATE = "orb-poetry-common"
PUBLIC = "orb-poetry-public"
API = "orb-poetry-api"  # private, needs PRIVATE
GENUINE = "1.2.0"
IMPOSTOR = "9.9.9"
TIMEOUT = 180


@dataclass(frozen=True)
class Indexes:
    public: Server  # the impostor and a public package
    mirror: Server  # the public package and a copy of CodeArtifact's files
    private: Server
    token: str
    listing: Listing


def _put(folder: Path, name: str, version: str, origin: str | None = None) -> bytes:
    filename, data = wheel(name, version, origin=origin)
    (folder / filename).write_bytes(data)
    return data


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexes]:
    root = tmp_path_factory.mktemp("poetry-indexes")
    public, mirror, private = (root / name for name in ("public", "mirror", "private"))
    for folder in (public, mirror, private):
        folder.mkdir()
        _put(folder, PUBLIC, "1.0.0")
    _put(public, PRIVATE, IMPOSTOR, origin="impostor")
    genuine = _put(private, PRIVATE, GENUINE, origin="codeartifact")
    _put(mirror, PRIVATE, GENUINE, origin="codeartifact")
    filename, api = wheel(API, "1.0.0", requires=[f"{PRIVATE}>=1"])
    (private / filename).write_bytes(api)
    listing = Listing(
        packages={PRIVATE: frozenset({GENUINE}), API: frozenset({"1.0.0"})},
        hashes={
            version_key(PRIVATE, GENUINE): frozenset({lock_hash(genuine)}),
            version_key(API, "1.0.0"): frozenset({lock_hash(api)}),
        },
    )
    token = secrets.token_urlsafe(24)
    htpasswd = write_htpasswd(root / "htpasswd", "aws", token)
    with (
        pypiserver(public, root / "public.log") as public_server,
        pypiserver(mirror, root / "mirror.log") as mirror_server,
        pypiserver(private, root / "private.log", htpasswd=htpasswd) as private_server,
    ):
        yield Indexes(public_server, mirror_server, private_server, token, listing)


def _env(home: Path, token: str) -> dict[str, str]:
    env = {k: v for k, v in isolated_env(home, None).items() if not k.startswith("POETRY_")}
    env.update(
        {
            "POETRY_CONFIG_DIR": str(home / "config"),
            "POETRY_CACHE_DIR": str(home / "cache"),
            "POETRY_DATA_DIR": str(home / "data"),
            "POETRY_VIRTUALENVS_IN_PROJECT": "true",
            "POETRY_NO_INTERACTION": "1",
            "POETRY_KEYRING_ENABLED": "false",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "POETRY_HTTP_BASIC_CODEARTIFACT_USERNAME": "aws",
            "POETRY_HTTP_BASIC_CODEARTIFACT_PASSWORD": token,
        }
    )
    return env


def _poetry(project: Path, env: dict[str, str], *args: str) -> str:
    proc = run([POETRY, *args], cwd=project, env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, output(proc)
    return proc.stdout + proc.stderr


def _pyproject(layout: str, public: Server, private: Server, priority: str | None) -> str:
    """Poetry 1 or PEP 621 layout; the CodeArtifact source with ``priority``, or none."""
    # The public index is primary: Poetry then leaves PyPI out.
    sources = (
        f'[[tool.poetry.source]]\nname = "public"\nurl = "{public.simple_url}/"\n'
        'priority = "primary"\n'
    )
    if priority is not None:
        sources += (
            f'\n[[tool.poetry.source]]\nname = "codeartifact"\nurl = "{private.simple_url}/"\n'
            f'priority = "{priority}"\n'
        )
    if layout == "poetry1":
        return (
            "[tool.poetry]\npackage-mode = false\n\n"
            f'[tool.poetry.dependencies]\npython = "^3.11"\n{PRIVATE} = "*"\n{PUBLIC} = "^1"\n\n'
            + sources
        )
    return (
        f'[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        f'dependencies = ["{PRIVATE}", "{PUBLIC} (>=1,<2)"]\n\n'
        "[tool.poetry]\npackage-mode = false\n\n" + sources
    )


def _installed_origin(project: Path, env: dict[str, str]) -> str:
    python = project / ".venv" / "bin" / "python"
    module = PRIVATE.replace("-", "_")
    proc = run([str(python), "-c", f"import {module}; print({module}.ORIGIN)"], project, env)
    assert proc.returncode == 0, output(proc)
    return proc.stdout.strip()


def _locked(project: Path) -> dict[str, tuple[str, str | None, frozenset[str]]]:
    lock = parse_lock((project / "poetry.lock").read_text(encoding="utf-8"))
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    # Poetry's content-hash is ours, bit for bit.
    assert lock.content_hash == content_hash(pyproject)
    return {
        p.name: (p.version, p.source.reference if p.source else None, frozenset(p.hashes))
        for p in lock.packages
    }


def _fix(project: Path, indexes: Indexes) -> tuple[str, str]:
    """Audit and rewrite the pyproject.toml as the fix job does; (old, new) text."""
    old = (project / "pyproject.toml").read_text(encoding="utf-8")
    options = AuditOptions(
        source_url=f"http://aws:{indexes.token}@{indexes.private.simple_url[7:]}/"
    )
    report = audit(parse(old), indexes.listing, options)
    source_kind = (
        FindingKind.INDEX_NOT_EXPLICIT if "codeartifact" in old else FindingKind.MISSING_SOURCE
    )
    assert {f.kind for f in report.fixable} == {FindingKind.MISSING_INDEX, source_kind}
    new = rewrite(old, report)
    assert indexes.token not in new  # Poetry reads it from POETRY_HTTP_BASIC_CODEARTIFACT_*
    (project / "pyproject.toml").write_text(new, encoding="utf-8")
    return old, new


@pytest.mark.parametrize(
    ("layout", "priority"),
    [("poetry1", "supplemental"), ("pep621", "supplemental"), ("poetry1", None)],
)
def test_the_impostor_wins_before_the_fix_and_codeartifact_after_it(
    indexes: Indexes, tmp_path: Path, layout: str, priority: str | None
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = _env(tmp_path / "home", indexes.token)
    text = _pyproject(layout, indexes.public, indexes.private, priority)
    (project / "pyproject.toml").write_text(text, encoding="utf-8")

    _poetry(project, env, "lock")
    assert _locked(project)[PRIVATE][:2] == (IMPOSTOR, "public")
    lock_text = (project / "poetry.lock").read_text(encoding="utf-8")
    before = lock_findings(parse(text), parse_lock(lock_text), indexes.listing, "codeartifact")
    assert [f.kind for f in before] == [FindingKind.VERSION_NOT_FOUND]

    old, new = _fix(project, indexes)
    update = update_lock(lock_text, old, new, indexes.listing)
    # The impostor's metadata cannot be kept: only a new resolution helps.
    assert update.text is None and update.note is not None and "poetry lock" in update.note
    assert "poetry check" not in _poetry(project, env, "lock")

    version, source, hashes = _locked(project)[PRIVATE]
    assert (version, source) == (GENUINE, "codeartifact")
    assert hashes == indexes.listing.hashes_of(PRIVATE, GENUINE)
    lock = parse_lock((project / "poetry.lock").read_text(encoding="utf-8"))
    assert lock_findings(parse(new), lock, indexes.listing, "codeartifact") == []
    _poetry(project, env, "check", "--lock")
    _poetry(project, env, "install")
    assert _installed_origin(project, env) == "codeartifact"


@pytest.mark.parametrize("layout", ["poetry1", "pep621"])
def test_a_lock_of_codeartifact_files_is_updated_in_place_as_poetry_would_write_it(
    indexes: Indexes, tmp_path: Path, layout: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = _env(tmp_path / "home", indexes.token)
    text = _pyproject(layout, indexes.mirror, indexes.private, "supplemental")
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    _poetry(project, env, "lock")
    locked = _locked(project)[PRIVATE]
    # The mirror is primary, so it serves the genuine files under its own name.
    assert locked == (GENUINE, "public", indexes.listing.hashes_of(PRIVATE, GENUINE))
    lock_text = (project / "poetry.lock").read_text(encoding="utf-8")
    before = lock_findings(parse(text), parse_lock(lock_text), indexes.listing, "codeartifact")
    assert [f.kind for f in before] == [FindingKind.WRONG_INDEX]

    old, new = _fix(project, indexes)
    update = update_lock(lock_text, old, new, indexes.listing)
    assert update.text is not None and update.note is None
    assert update.resourced == (f"{PRIVATE}=={GENUINE}",)
    # The old lock no longer matches the fixed pyproject.toml.
    stale = run([POETRY, "check", "--lock"], cwd=project, env=env, timeout=TIMEOUT)
    assert stale.returncode != 0 and "poetry lock" in stale.stdout + stale.stderr, output(stale)
    (project / "poetry.lock").write_text(update.text, encoding="utf-8")
    _poetry(project, env, "check", "--lock")
    assert _locked(project)[PRIVATE] == (
        GENUINE,
        "codeartifact",
        indexes.listing.hashes_of(PRIVATE, GENUINE),
    )

    relocked = tmp_path / "relocked"
    shutil.copytree(project, relocked)
    _poetry(relocked, env, "lock", "--regenerate")
    assert (relocked / "poetry.lock").read_text(encoding="utf-8") == update.text

    _poetry(project, env, "install")
    assert _installed_origin(project, env) == "codeartifact"


@pytest.mark.parametrize("layout", ["poetry1", "pep621"])
def test_a_private_dependency_of_a_private_package_is_pinned_from_the_lock(
    indexes: Indexes, tmp_path: Path, layout: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = _env(tmp_path / "home", indexes.token)
    pin = f'{API} = {{version = "*", source = "codeartifact"}}'
    head = '[tool.poetry]\npackage-mode = false\n\n[tool.poetry.dependencies]\npython = "^3.11"\n'
    if layout == "pep621":
        pin = f'{API} = {{source = "codeartifact"}}'
        head = (
            f'[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
            f'dependencies = [\n    "{API}",\n]\n\n'
            "[tool.poetry]\npackage-mode = false\n\n[tool.poetry.dependencies]\n"
        )
    text = (
        f"{head}{pin}\n\n"
        f'[[tool.poetry.source]]\nname = "public"\nurl = "{indexes.public.simple_url}/"\n'
        'priority = "primary"\n\n'
        f'[[tool.poetry.source]]\nname = "codeartifact"\nurl = "{indexes.private.simple_url}/"\n'
        'priority = "explicit"\n'
    )
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    # The pyproject.toml is compliant, yet Poetry takes the private package's private
    # dependency from the primary source: the impostor.
    report = audit(parse(text), indexes.listing, AuditOptions())
    assert report.compliant and report.fixable == ()
    _poetry(project, env, "lock")
    assert _locked(project)[PRIVATE][:2] == (IMPOSTOR, "public")
    lock_text = (project / "poetry.lock").read_text(encoding="utf-8")
    found = lock_findings(parse(text), parse_lock(lock_text), indexes.listing, "codeartifact")
    assert [f.kind for f in found] == [
        FindingKind.PRIVATE_TRANSITIVE,
        FindingKind.VERSION_NOT_FOUND,
    ]

    new = rewrite(text, FileReport("pyproject.toml", (*report.findings, *found)))
    (project / "pyproject.toml").write_text(new, encoding="utf-8")
    update = update_lock(lock_text, text, new, indexes.listing)
    assert update.text is None and update.note is not None
    _poetry(project, env, "lock")
    version, source, hashes = _locked(project)[PRIVATE]
    assert (version, source) == (GENUINE, "codeartifact")
    assert hashes == indexes.listing.hashes_of(PRIVATE, GENUINE)
    _poetry(project, env, "check", "--lock")
    _poetry(project, env, "install")
    assert _installed_origin(project, env) == "codeartifact"
