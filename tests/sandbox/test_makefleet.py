"""make_fleet: deterministic, realistic, and consistent with what pipfleet and pipenv read."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import plette
import pytest
from packaging.utils import canonicalize_name
from pipenv.utils.pipfile import Pipfile as PipenvPipfile

from pipfleet.engine import requirements
from pipfleet.engine.audit import AuditOptions, audit, audit_text
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import Listing, version_key
from pipfleet.engine.pipfile import EntryForm, Pipfile, parse
from pipfleet.engine.projects import Project, audit_project, parse_project
from pipfleet.engine.requirements import RequirementsFile
from pipfleet.errors import PipfileError, UsageError
from pipfleet.manifests import is_requirements, pyproject_kind
from pipfleet.sandbox.fleet import load_fleet
from pipfleet.sandbox.makefleet import IGNORE_TOPIC, PREFIX, FleetSummary, make_fleet
from pipfleet.states import ManifestKind

REPOS = 200
SEED = 7


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FleetSummary]:
    out = tmp_path_factory.mktemp("makefleet") / "fleet"
    return out, make_fleet(out, REPOS, seed=SEED)


@pytest.fixture(scope="module")
def pipfiles(fleet: tuple[Path, FleetSummary]) -> dict[str, str]:
    """Every Pipfile's text (line endings kept), by path relative to the org folder."""
    org = fleet[0] / "github" / "acme"
    return {
        path.relative_to(org).as_posix(): path.read_bytes().decode("utf-8")
        for path in sorted(org.rglob("Pipfile"))
    }


@pytest.fixture(scope="module")
def parsed(pipfiles: dict[str, str]) -> dict[str, Pipfile | PipfileError]:
    results: dict[str, Pipfile | PipfileError] = {}
    for path, text in pipfiles.items():
        try:
            results[path] = parse(text, path)
        except PipfileError as exc:
            results[path] = exc
    return results


@pytest.fixture(scope="module")
def manifests(fleet: tuple[Path, FleetSummary]) -> dict[str, ManifestKind]:
    """The kind of every uv, Poetry and requirements manifest, by path from the org folder."""
    org = fleet[0] / "github" / "acme"
    found: dict[str, ManifestKind] = {}
    for path in sorted(org.rglob("*")):
        relative = path.relative_to(org).as_posix()
        inner = relative.partition("/")[2]
        if path.name == "pyproject.toml":
            kind = pyproject_kind(path.read_text(), path.with_name("uv.lock").exists())
            if kind is not None:
                found[relative] = kind
        elif path.is_file() and is_requirements(inner):
            found[relative] = ManifestKind.REQUIREMENTS
    return found


@pytest.fixture(scope="module")
def projects(
    fleet: tuple[Path, FleetSummary], manifests: dict[str, ManifestKind]
) -> dict[str, Project | RequirementsFile | PipfileError]:
    org = fleet[0] / "github" / "acme"
    results: dict[str, Project | RequirementsFile | PipfileError] = {}
    for path, kind in manifests.items():
        try:
            text = (org / path).read_text()
            if kind is ManifestKind.REQUIREMENTS:
                results[path] = requirements.parse(text, path)
            else:
                results[path] = parse_project(kind, text, path)
        except PipfileError as exc:
            results[path] = exc
    return results


@pytest.fixture(scope="module")
def listing(fleet: tuple[Path, FleetSummary]) -> Listing:
    internal = tomllib.loads((fleet[0] / "codeartifact.toml").read_text())["internal"]
    return Listing({canonicalize_name(name): frozenset(v) for name, v in internal.items()})


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    make_fleet(tmp_path / "a", 60, seed=3)
    make_fleet(tmp_path / "b", 60, seed=3)
    make_fleet(tmp_path / "c", 60, seed=4)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert tree(tmp_path / "a") != tree(tmp_path / "c")


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    # Iterating a set of strings would differ between processes with other hash seeds.
    make_fleet(tmp_path / "here", 60, seed=3)
    code = (
        "import sys; from pathlib import Path; from pipfleet.sandbox.makefleet import make_fleet; "
        "make_fleet(Path(sys.argv[1]), 60, seed=3)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], check=True, env=env)
    assert tree(tmp_path / "here") == tree(tmp_path / "there")


def test_shares_are_roughly_as_asked(fleet: tuple[Path, FleetSummary]) -> None:
    summary = fleet[1]
    assert summary.repositories == REPOS
    assert summary.outside_prefix == summary.without_pipfile == 20
    assert summary.monorepos == 30
    assert summary.archived == summary.forks == 10
    assert summary.malformed == 4
    assert 1 <= summary.disabled <= 2 and 1 <= summary.opted_out <= 2
    assert summary.ignored >= 1
    assert 220 <= summary.pipfiles <= 320
    assert 0.25 <= summary.lockfiles / summary.pipfiles <= 0.55
    assert 0.03 <= summary.missing_source / summary.pipfiles <= 0.15
    assert 0.3 <= summary.compliant_entries / summary.private_entries <= 0.7
    assert summary.version_not_found >= 1 and summary.non_registry_entries >= 5
    assert 20 <= summary.private_packages <= 40 and summary.confusion_candidates >= 2
    # Most repositories stay on pipenv; some moved a service (or all) to uv or Poetry.
    assert 0.08 * REPOS <= summary.uv_projects <= 0.25 * REPOS
    assert 0.05 * REPOS <= summary.poetry_projects <= 0.18 * REPOS
    assert 0.2 <= summary.uv_locks / summary.uv_projects <= 0.9
    assert 0.12 * REPOS <= summary.requirements_files <= 0.6 * REPOS
    assert summary.several_kinds >= 0.1 * REPOS


def test_summary_matches_the_files(
    fleet: tuple[Path, FleetSummary],
    parsed: dict[str, Pipfile | PipfileError],
    listing: Listing,
    manifests: dict[str, ManifestKind],
    projects: dict[str, Project | RequirementsFile | PipfileError],
) -> None:
    root, summary = fleet
    kinds_of: dict[str, set[ManifestKind]] = {}
    for path, kind in manifests.items():
        kinds_of.setdefault(path.split("/", 1)[0], set()).add(kind)
    org = root / "github" / "acme"
    repos = sorted(path for path in org.iterdir() if path.is_dir())
    meta = {p.stem: json.loads(p.read_text()) for p in org.glob("*.json")}
    nested = {path.split("/", 1)[0] for path in parsed if path.count("/") > 1}
    with_pipfile = {path.split("/", 1)[0] for path in parsed}
    kinds: Counter[FindingKind] = Counter()
    for pipfile in parsed.values():
        if isinstance(pipfile, Pipfile):
            kinds.update(finding.kind for finding in audit(pipfile, listing).findings)
    codeartifact = tomllib.loads((root / "codeartifact.toml").read_text())
    pypi = tomllib.loads((root / "pypi.toml").read_text())["packages"]
    on_disk = FleetSummary(
        repositories=len(repos),
        pipfiles=len(parsed),
        lockfiles=len(list(org.rglob("Pipfile.lock"))),
        monorepos=len(nested),
        archived=sum(m.get("archived", False) for m in meta.values()),
        forks=sum(m.get("fork", False) for m in meta.values()),
        disabled=sum(m.get("disabled", False) for m in meta.values()),
        ignored=sum(IGNORE_TOPIC in m.get("topics", []) for m in meta.values()),
        opted_out=sum(
            tomllib.loads(p.read_text()) == {"enabled": False} for p in org.glob("*/.pipfleet.toml")
        ),
        without_pipfile=sum(repo.name not in with_pipfile for repo in repos),
        outside_prefix=sum(not repo.name.startswith(PREFIX) for repo in repos),
        malformed=sum(isinstance(p, PipfileError) for p in parsed.values()),
        missing_source=kinds[FindingKind.MISSING_SOURCE],
        private_entries=kinds[FindingKind.COMPLIANT]
        + kinds[FindingKind.MISSING_INDEX]
        + kinds[FindingKind.WRONG_INDEX]
        + kinds[FindingKind.UNDEFINED_INDEX],
        compliant_entries=kinds[FindingKind.COMPLIANT],
        noncompliant_entries=kinds[FindingKind.MISSING_INDEX]
        + kinds[FindingKind.WRONG_INDEX]
        + kinds[FindingKind.UNDEFINED_INDEX],
        version_not_found=kinds[FindingKind.VERSION_NOT_FOUND],
        non_registry_entries=kinds[FindingKind.NON_REGISTRY],
        private_packages=len(codeartifact["internal"]),
        confusion_candidates=len(set(codeartifact["internal"]) & set(pypi)),
        private_dependents=len(codeartifact["dependencies"]),
        uv_projects=sum(kind is ManifestKind.UV for kind in manifests.values()),
        uv_locks=len(list(org.rglob("uv.lock"))),
        poetry_projects=sum(kind is ManifestKind.POETRY for kind in manifests.values()),
        requirements_files=sum(kind is ManifestKind.REQUIREMENTS for kind in manifests.values()),
        malformed_manifests=sum(isinstance(project, PipfileError) for project in projects.values()),
        several_kinds=sum(
            len(kinds | ({ManifestKind.PIPFILE} if repo in with_pipfile else set())) > 1
            for repo, kinds in kinds_of.items()
        ),
    )
    assert on_disk == summary
    assert all(kinds[kind] for kind in (FindingKind.WRONG_INDEX, FindingKind.UNDEFINED_INDEX))


def test_every_pipfile_parses_unless_it_is_meant_to_be_broken(
    pipfiles: dict[str, str], parsed: dict[str, Pipfile | PipfileError]
) -> None:
    broken = {path: exc for path, exc in parsed.items() if isinstance(exc, PipfileError)}
    assert all(exc.line is not None for exc in broken.values())
    for path, pipfile in parsed.items():
        if isinstance(pipfile, Pipfile):
            assert 10 <= len(pipfile.text.splitlines()) <= 60, path
            assert plette.Pipfile.load(io.StringIO(pipfile.text)) is not None
    texts = [text for path, text in pipfiles.items() if path not in broken]
    valid = [p for p in parsed.values() if isinstance(p, Pipfile)]
    entries = [entry for pipfile in valid for entry in pipfile.entries()]
    assert sum("\r\n" in text for text in texts) >= 2
    assert sum(not text.endswith("\n") for text in texts) >= 2
    assert any("<<<<<<<" in pipfiles[path] or "Cannot" in str(exc) for path, exc in broken.items())
    assert {EntryForm.STRING, EntryForm.INLINE, EntryForm.TABLE} <= {e.form for e in entries}
    assert {"git", "path"} <= {e.non_registry_key for e in entries}
    assert any(set(p.categories) - {"packages", "dev-packages"} for p in valid)
    assert any(p.scripts for p in valid) and any(p.pipenv for p in valid)
    assert any(p.requires for p in valid) and any(not p.sources for p in valid)
    assert any(" = '" in text for text in texts) and any('="' in text for text in texts)
    assert any("  # " in text for text in texts) and any("\n# " in text for text in texts)
    assert any(path.count("/") == 4 for path in parsed)  # repo/libs/python/<lib>/Pipfile
    sources = {s.name for p in valid for s in p.sources}
    assert {"pypi", "codeartifact"} < sources  # and some differently named private source


def test_fleet_loads_into_a_world(fleet: tuple[Path, FleetSummary], listing: Listing) -> None:
    root, summary = fleet
    world = load_fleet(root)
    repos = world.orgs["acme"]
    meta = {p.stem: json.loads(p.read_text()) for p in (root / "github" / "acme").glob("*.json")}
    assert len(repos) == summary.repositories
    assert sum(repo.archived for repo in repos.values()) == summary.archived
    assert sum(repo.fork for repo in repos.values()) == summary.forks
    for name, data in meta.items():
        assert repos[name].archived == data.get("archived", False)
        assert repos[name].fork == data.get("fork", False)
        assert repos[name].default_branch == data.get("default_branch", "main")
    assert {repo.default_branch for repo in repos.values()} == {"main", "master", "trunk"}
    assert all(repo.head is not None for repo in repos.values())  # every repo has a README
    assert sorted(world.internal_names()) == sorted(listing.packages)
    drift = [p for p in world.codeartifact.packages.values() if p.origin.upstream == "ALLOW"]
    assert any("INTERNAL" in p.versions.values() for p in drift)
    mixed = [p for p in world.codeartifact.packages.values() if len(set(p.versions.values())) > 1]
    assert mixed and all(p.name in world.pypi for p in mixed)


def test_provenance_cases_are_planted(
    fleet: tuple[Path, FleetSummary], pipfiles: dict[str, str], listing: Listing
) -> None:
    """Locks with foreign files for private packages, and private packages needed only
    as another private package's dependency, found both from locks and from CodeArtifact."""
    world = load_fleet(fleet[0])
    hashes, dependencies = {}, {}
    for package in world.codeartifact.packages.values():
        for version in package.versions:
            key = version_key(package.name, version)
            files = world.codeartifact_assets(package.name, version).values()
            hashes[key] = frozenset(f"sha256:{hashlib.sha256(d).hexdigest()}" for d in files)
            requirements = world.codeartifact_dependencies(package.name, version)
            dependencies[key] = tuple(r for r in requirements if r.startswith("orb-"))
    full = Listing(listing.packages, dependencies, hashes)
    org = fleet[0] / "github" / "acme"
    kinds: Counter[str] = Counter()
    locked = 0
    for path, text in pipfiles.items():
        lock = org / path.replace("Pipfile", "Pipfile.lock")
        lock_text = lock.read_text() if lock.is_file() else None
        locked += lock_text is not None
        for finding in audit_text(text, path, full, lock_text=lock_text)[1].findings:
            kinds[finding.kind.value] += 1
            if finding.kind is FindingKind.PRIVATE_TRANSITIVE:
                kinds["from lock" if "(found in " in finding.message else "from CodeArtifact"] += 1
    assert 7 <= fleet[1].private_dependents <= 9
    assert 0.1 <= kinds["foreign-hashes"] / locked <= 1.0
    assert kinds["from lock"] >= 5 and kinds["from CodeArtifact"] >= 5
    assert kinds["private-transitive"] <= 0.3 * len(pipfiles)


def test_locks_are_pipenv_locks_of_their_pipfiles(fleet: tuple[Path, FleetSummary]) -> None:
    locks = sorted((fleet[0] / "github").rglob("Pipfile.lock"))
    assert len(locks) == fleet[1].lockfiles
    for lock_path in locks:
        text = lock_path.read_text()
        lock = json.loads(text)
        assert text == json.dumps(lock, indent=4, sort_keys=True) + "\n"
        assert lock["_meta"]["pipfile-spec"] == 6 and {"default", "develop"} <= set(lock)
        pipfile_path = lock_path.with_name("Pipfile")
        pipfile_text = pipfile_path.read_bytes().decode("utf-8")
        legacy = plette.Pipfile.load(io.StringIO(pipfile_text)).get_hash().value
        project = SimpleNamespace(s=SimpleNamespace(PIPENV_PIPFILE=str(pipfile_path)))
        current = PipenvPipfile(project).calculate_hash()
        assert lock["_meta"]["hash"]["sha256"] == legacy == current, lock_path
        data = tomllib.loads(pipfile_text)
        assert lock["_meta"]["requires"] == data.get("requires", {})
        for name, entry in lock["default"].items():
            assert name == canonicalize_name(name)
            assert "git" in entry or "path" in entry or entry["version"].startswith("==")


def test_a_thousand_repositories(tmp_path: Path) -> None:
    summary = make_fleet(tmp_path / "big", 1000, seed=11)
    org = tmp_path / "big" / "github" / "acme"
    assert summary.repositories == len([p for p in org.iterdir() if p.is_dir()]) == 1000
    assert summary.pipfiles == len(list(org.rglob("Pipfile")))
    assert summary.disabled == summary.opted_out == 2


@pytest.mark.parametrize("repos", [0, -1])
def test_rejects_a_fleet_without_repositories(tmp_path: Path, repos: int) -> None:
    with pytest.raises(UsageError):
        make_fleet(tmp_path / "fleet", repos)


def test_refuses_to_write_into_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n")
    with pytest.raises(UsageError, match="not an empty folder"):
        make_fleet(tmp_path, 5)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_uv_poetry_and_requirements_manifests_mix_compliant_and_offending_entries(
    fleet: tuple[Path, FleetSummary],
    projects: dict[str, Project | RequirementsFile | PipfileError],
    listing: Listing,
) -> None:
    options = AuditOptions()
    results: dict[str, Counter[bool]] = {}
    kinds: Counter[FindingKind] = Counter()
    for path, project in projects.items():
        if isinstance(project, PipfileError):
            assert project.line is not None, path
            continue
        if isinstance(project, RequirementsFile):
            report = requirements.audit(project, listing, options)
        else:
            report = audit_project(project, listing, options)
        kind = type(project).__name__
        results.setdefault(kind, Counter())[report.compliant] += 1
        kinds.update(finding.kind for finding in report.findings)
    assert set(results) == {"UvProject", "PoetryProject", "RequirementsFile"}
    assert all(counts[True] and counts[False] for counts in results.values()), results
    assert {
        FindingKind.COMPLIANT,
        FindingKind.MISSING_INDEX,
        FindingKind.MISSING_SOURCE,
        FindingKind.INDEX_NOT_EXPLICIT,
        FindingKind.EXTRA_INDEX_URL,
    } <= set(kinds)
    # The uv.lock beside a uv project resolves what the project asks for.
    org = fleet[0] / "github" / "acme"
    for lock in org.rglob("uv.lock"):
        packages = {p["name"] for p in tomllib.loads(lock.read_text())["package"]}
        project = projects[lock.with_name("pyproject.toml").relative_to(org).as_posix()]
        if not isinstance(project, PipfileError):
            assert {r.name for r in project.requirements} <= packages, lock
