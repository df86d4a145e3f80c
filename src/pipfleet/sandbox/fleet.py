"""Load a fleet folder into a sandbox world.

Layout::

    github/<org>/<repo>/...        the files of the repository's default branch
    github/<org>/<repo>.json       optional metadata: default_branch, archived, fork,
                                   disabled, topics, visibility
    codeartifact.toml              [internal] / [external] name = [versions],
                                   optional [origin] name = {publish, upstream},
                                   optional [dependencies] name = {version = [requirements]}
                                   and top-level domain, domain_owner, region,
                                   repository, placeholders
    pypi.toml                      [packages] name = [versions]: public PyPI
    wheels/                        wheels and sdists, served by each index listing them
    wheels/codeartifact/           wheels and sdists CodeArtifact alone holds: for their
                                   version they replace the files of wheels/ (a public
                                   impostor of a private version then differs from it)

A CodeArtifact version's files (its assets, as ListPackageVersionAssets names them and
the private index serves them) are its wheels and sdists in ``wheels/codeartifact/``,
else those in ``wheels/``; a version with none in either is served with one generated
placeholder wheel, ``<name>-<version>-py3-none-any.whl``, whose bytes (and so sha256)
depend only on the name, the version and its dependencies. ``placeholders = false``
turns that off.

A version's dependencies (ListPackageVersionDependencies, and the placeholder wheel's
Requires-Dist lines) are PEP 508 requirements, for example::

    [dependencies]
    orb-api = {"1.3.0" = ["orb-common>=2.0", "requests"]}

A version the table does not name has the Requires-Dist lines of its files.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipfleet.errors import UsageError
from pipfleet.sandbox.world import (
    CodeArtifactPackage,
    CodeArtifactRepository,
    PackageOrigin,
    World,
)

_METADATA_KEYS = {"default_branch", "archived", "fork", "disabled", "topics", "visibility"}
_LOCATION_KEYS = ("domain", "domain_owner", "region", "repository")


def _toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None


def _versions(path: Path, table: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: [{table}] values must be lists of version strings")
    return list(value)


def _repository_files(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(folder).parts:
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def _metadata(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not set(data) <= _METADATA_KEYS:
        raise UsageError(f"{path}: metadata keys are {', '.join(sorted(_METADATA_KEYS))}")
    return data


def load_fleet(folder: Path, world: World | None = None) -> World:
    """A world holding everything the fleet folder describes."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such fleet folder")
    world = world or World()
    github = folder / "github"
    for org in sorted(p for p in github.glob("*") if p.is_dir()):
        for repo_folder in sorted(p for p in org.iterdir() if p.is_dir()):
            meta = _metadata(org / f"{repo_folder.name}.json")
            repo = world.add_repository(
                org.name,
                repo_folder.name,
                _repository_files(repo_folder),
                default_branch=meta.get("default_branch", "main"),
            )
            repo.archived = bool(meta.get("archived", False))
            repo.fork = bool(meta.get("fork", False))
            repo.disabled = bool(meta.get("disabled", False))
            repo.topics = list(meta.get("topics", []))
            repo.visibility = meta.get("visibility", "private")
    world.codeartifact = _codeartifact(folder / "codeartifact.toml")
    pypi = _toml(folder / "pypi.toml").get("packages", {})
    for name, versions in pypi.items():
        world.pypi[canonicalize_name(name)] = _versions(folder / "pypi.toml", "packages", versions)
    wheels = folder / "wheels"
    for path in sorted(wheels.glob("*")) if wheels.is_dir() else ():
        if path.is_file():
            world.add_file(path.name, path.read_bytes())
    private = wheels / "codeartifact"
    for path in sorted(private.glob("*")) if private.is_dir() else ():
        if path.is_file():
            world.add_file(path.name, path.read_bytes(), codeartifact_only=True)
    return world


def _codeartifact(path: Path) -> CodeArtifactRepository:
    data = _toml(path)
    unknown = set(data) - {
        "internal",
        "external",
        "origin",
        "dependencies",
        "placeholders",
        *_LOCATION_KEYS,
    }
    if unknown:
        raise UsageError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    repository = CodeArtifactRepository()
    placeholders = data.get("placeholders", True)
    if not isinstance(placeholders, bool):
        raise UsageError(f"{path}: placeholders must be true or false")
    repository.placeholders = placeholders
    for key in _LOCATION_KEYS:
        if key in data:
            setattr(repository, key, str(data[key]))
    for origin_type, table in (("INTERNAL", "internal"), ("EXTERNAL", "external")):
        for name, versions in data.get(table, {}).items():
            key = canonicalize_name(name)
            default = (
                PackageOrigin("ALLOW", "BLOCK")
                if origin_type == "INTERNAL"
                else PackageOrigin("BLOCK", "ALLOW")
            )
            package = repository.packages.setdefault(key, CodeArtifactPackage(key, {}, default))
            for version in _versions(path, table, versions):
                package.versions[version] = origin_type
    for name, override in data.get("origin", {}).items():
        overridden = repository.packages.get(canonicalize_name(name))
        if overridden is None or not isinstance(override, dict):
            raise UsageError(f"{path}: [origin] {name} names no package, or is not a table")
        overridden.origin = PackageOrigin(
            str(override.get("publish", overridden.origin.publish)),
            str(override.get("upstream", overridden.origin.upstream)),
        )
    for name, table in data.get("dependencies", {}).items():
        depending = repository.packages.get(canonicalize_name(name))
        if depending is None or not isinstance(table, dict):
            raise UsageError(f"{path}: [dependencies] {name} names no package, or is not a table")
        for version, lines in table.items():
            if version not in depending.versions:
                raise UsageError(f"{path}: [dependencies] {name} has no version {version}")
            if not isinstance(lines, list) or not all(isinstance(v, str) for v in lines):
                raise UsageError(f"{path}: [dependencies] {name} {version}: not a list of strings")
            for line in lines:
                try:
                    Requirement(line)
                except InvalidRequirement as exc:
                    raise UsageError(f"{path}: [dependencies] {name} {version}: {exc}") from None
            depending.dependencies[version] = list(lines)
    return repository
