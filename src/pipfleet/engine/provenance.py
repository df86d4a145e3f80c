"""What gets installed, not only what the Pipfile says: lock provenance and private
transitive dependencies. Pure: the Pipfile, its lock's packages and the listing in, findings out.

- **Lock provenance.** For each private package a Pipfile.lock pins (``==x``, any
  section), the lock's hashes are compared with the files CodeArtifact holds for
  that version (``Listing.hashes``). Any hash that is not one of them gives
  ``foreign-hashes``: the lock was resolved from another index. A locked version
  the listing does not have gives ``version-not-found`` on the lock entry.
  Versions whose files the listing does not know are not judged.
- **Private transitive dependencies.** pipenv resolves every package the Pipfile
  does not list from the first source. A private package it needs but does not
  list gives ``private-transitive``: found in the lock when there is one, else
  from the listing's dependencies of the versions the Pipfile asks for (an exact
  pin, or the newest listed version satisfying a range), followed through
  private packages only. Nothing is reported when the private source is the
  first source: then pipenv looks for such packages there.

A lock that is not a JSON object counts as no lock (pipenv cannot install from it
either); entries that are not objects are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipfleet.engine.findings import Finding, FindingKind
from pipfleet.engine.limits import check_text
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import Pipfile, package_name
from pipfleet.engine.rewrite import added_value, style_of
from pipfleet.errors import PipfileError

LOCK_NAME = "Pipfile.lock"
# Lock sections and the Pipfile categories they lock; any other section keeps its name.
_CATEGORY_OF_SECTION = {"default": "packages", "develop": "dev-packages"}
_PRIMARY = "packages"


def sibling_lock(pipfile_path: str) -> str:
    """The path of the Pipfile.lock beside a Pipfile."""
    folder = pipfile_path.rpartition("/")[0]
    return f"{folder}/{LOCK_NAME}" if folder else LOCK_NAME


@dataclass(frozen=True)
class LockedPackage:
    section: str  # "default", "develop" or a custom category
    key: str  # as written in the lock
    name: str  # PEP 503
    version: str | None  # "2.5.1" from "==2.5.1"; None when not one exact version
    hashes: tuple[str, ...]  # as written, lower-cased


def locked_packages(lock_text: str) -> list[LockedPackage] | None:
    """Every package entry of a Pipfile.lock; None when the text is not a lock."""
    try:
        check_text(lock_text)
        lock = json.loads(lock_text.removeprefix("\ufeff"))
    except (PipfileError, json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(lock, dict):
        return None
    packages = []
    for section, entries in lock.items():
        if section == "_meta" or not isinstance(entries, dict):
            continue
        for key, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            raw = entry.get("version")
            version = None
            if isinstance(raw, str) and raw.startswith("==") and not raw.startswith("==="):
                version = raw[2:].strip() or None
            hashes = entry.get("hashes")
            found = (
                tuple(h.lower() for h in hashes if isinstance(h, str))
                if isinstance(hashes, list)
                else ()
            )
            packages.append(LockedPackage(section, key, package_name(key), version, found))
    return packages


def provenance_findings(
    pipfile: Pipfile,
    listing: Listing,
    locked: Sequence[LockedPackage] | None,
    target: str,
    lock_path: str | None = None,
) -> list[Finding]:
    """foreign-hashes, version-not-found (lock) and private-transitive findings for one Pipfile.

    ``locked`` is its lock's packages (``locked_packages``), None without a lock;
    ``target`` is the private source's name; ``lock_path`` defaults to the lock beside
    the Pipfile. With no lock and no dependencies in the listing, this is empty.
    """
    lock_path = lock_path or sibling_lock(pipfile.path)
    findings: list[Finding] = []
    if locked is not None:
        findings.extend(_lock_findings(pipfile.path, lock_path, locked, listing, target))
    findings.extend(_transitive_findings(pipfile, listing, locked, lock_path, target))
    return findings


def _lock_findings(
    path: str, lock_path: str, locked: Sequence[LockedPackage], listing: Listing, target: str
) -> Iterator[Finding]:
    for package in locked:
        if package.name not in listing or package.version is None:
            continue
        spec = f"{package.name}=={package.version}"
        if listing.known_version(package.name, package.version) is False:
            known = ", ".join(sorted(listing.versions(package.name) or ())) or "none"
            yield Finding(
                FindingKind.VERSION_NOT_FOUND,
                path,
                f"{lock_path} locks {spec}, which is not in the private repository "
                f"(it has: {known}): run pipenv lock",
                category=package.section,
                package=package.key,
                current=f"=={package.version}",
                source=target,
            )
            continue
        files = listing.hashes_of(package.name, package.version)
        if files is None or not package.hashes:
            continue
        foreign = [h for h in package.hashes if h not in files]
        if not foreign:
            continue
        matching = len(package.hashes) - len(foreign)
        yield Finding(
            FindingKind.FOREIGN_HASHES,
            path,
            f"{lock_path}: the lock holds files for {spec} that CodeArtifact does not have: "
            f"it was resolved from another index (public PyPI?); {len(foreign)} foreign "
            f"hash(es), {matching} matching CodeArtifact's {len(files)} file(s)",
            category=package.section,
            package=package.key,
            current=f"=={package.version}",
            source=target,
        )


@dataclass(frozen=True)
class _Need:
    name: str  # PEP 503
    key: str  # as the finding names it
    needed_by: str
    category: str


def _transitive_findings(
    pipfile: Pipfile,
    listing: Listing,
    locked: Sequence[LockedPackage] | None,
    lock_path: str,
    target: str,
) -> list[Finding]:
    first = pipfile.sources[0].name if pipfile.sources else "pypi"
    if first == target:
        return []  # unlisted packages resolve from the private source itself
    listed = {entry.name for entry in pipfile.entries()}
    if locked is not None:
        needs = _needs_from_lock(pipfile, listing, locked, listed)
        way = f"found in {lock_path}"
    else:
        needs = _needs_from_listing(pipfile, listing, listed)
        way = "found from the private packages' dependencies"
    where = repr(first) if first else "the first source"
    # The fix adds the entry to the Pipfile, any version, from the private source.
    expected = added_value(target, style_of(pipfile))
    return [
        Finding(
            FindingKind.PRIVATE_TRANSITIVE,
            pipfile.path,
            f"{need.key} (private) is needed by {need.needed_by} but not listed: pipenv "
            f"looks for it on {where}, where it is missing or could be an impostor ({way})",
            category=need.category,
            package=need.key,
            expected=expected,
            source=target,
        )
        for need in needs
    ]


def _needs_from_lock(
    pipfile: Pipfile, listing: Listing, locked: Sequence[LockedPackage], listed: set[str]
) -> list[_Need]:
    # Who needs it, where the listing says: a locked private package whose locked
    # version depends on it.
    parents: dict[str, str] = {}
    for package in locked:
        if package.name in listing and package.version is not None:
            for requirement in _requirements(listing, package.name, package.version):
                parents.setdefault(canonicalize_name(requirement.name), package.key)
    needs: dict[str, _Need] = {}
    for package in locked:
        if package.name not in listing or package.name in listed:
            continue
        category = _CATEGORY_OF_SECTION.get(package.section, package.section)
        known = needs.get(package.name)
        if known is not None and (known.category == _PRIMARY or category != _PRIMARY):
            continue
        needed_by = parents.get(package.name, "another locked package")
        needs[package.name] = _Need(package.name, package.key, needed_by, category)
    return list(needs.values())


def _needs_from_listing(pipfile: Pipfile, listing: Listing, listed: set[str]) -> list[_Need]:
    needs: dict[str, _Need] = {}
    for entry in pipfile.entries():
        if entry.non_registry_key is not None or entry.name not in listing:
            continue
        version = _chosen(listing, entry.name, entry.version or "*")
        if version is None:
            continue
        # Breadth first, so "needed by" names the nearest private package; each
        # (name, version) is followed once, which also ends any cycle.
        queue: list[tuple[str, str, str]] = [(entry.name, version, entry.key)]
        seen = {(entry.name, version)}
        while queue:
            name, version, key = queue.pop(0)
            for requirement in _requirements(listing, name, version):
                dependency = canonicalize_name(requirement.name)
                if dependency not in listing:
                    continue  # public dependencies are not this audit's business
                if dependency not in listed:
                    known = needs.get(dependency)
                    if known is None or (known.category != _PRIMARY and entry.category == _PRIMARY):
                        needs[dependency] = _Need(dependency, requirement.name, key, entry.category)
                chosen = _chosen(listing, dependency, str(requirement.specifier))
                if chosen is not None and (dependency, chosen) not in seen:
                    seen.add((dependency, chosen))
                    queue.append((dependency, chosen, requirement.name))
    return list(needs.values())


def _chosen(listing: Listing, name: str, spec: str) -> str | None:
    """The listed version pipenv would pick for ``spec``: the newest that satisfies it."""
    return listing.newest(name, spec)


def _requirements(listing: Listing, name: str, version: str) -> Iterator[Requirement]:
    for raw in listing.dependencies_of(name, version) or ():
        try:
            yield Requirement(raw)
        except InvalidRequirement:  # parse_listing checked them; a hand-made Listing may not
            continue
