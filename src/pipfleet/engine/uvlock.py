"""What a uv.lock installs: whether its private packages come from CodeArtifact's files.

A uv.lock is TOML: one ``[[package]]`` per locked distribution, with ``name``,
``version``, ``source = { registry = "<index URL>" }`` (or git, path, url,
virtual, editable, directory) and its files, ``sdist = { url, hash }`` and
``wheels = [{ url, hash }, ...]``. For each private package locked from a
registry:

- a registry that is neither the pyproject's private index (its URL without
  credentials, which is what uv writes) nor a CodeArtifact host gives
  ``wrong-index``: the lock was resolved from another index;
- a hash that is not one of CodeArtifact's files for that version
  (``Listing.hashes``) gives ``foreign-hashes``, as ``provenance`` does for a
  Pipfile.lock; a version the listing does not have, ``version-not-found``;
- a private package the project does not list itself (another package needs it),
  locked from elsewhere, gives ``private-transitive`` instead of ``wrong-index``:
  uv applies [tool.uv.sources] to the project's own dependencies only, so it
  must be listed to be pinned. Measured with uv 0.13.9: orb-a pinned to an
  explicit CodeArtifact index locked its dependency orb-b from the public index
  (an impostor's 9.0.0 over CodeArtifact's 1.0.0), and a source for orb-b with
  orb-b in ``constraint-dependencies`` did not change that; with the index not
  explicit (and asked first) orb-b came from CodeArtifact.

Without a lock, ``listing_transitive_findings`` finds the same from the listing's
dependencies, as ``provenance`` does for a Pipfile.

**Updating the lock in place after the pyproject fix: not done; the fix leaves
uv.lock alone and says to run ``uv lock``.** Measured with uv 0.13.9 against two
loopback pypiserver indexes (tests/test_uv_e2e.py repeats it): pinning a package
to an explicit index changes three things in uv.lock, and ``uv lock --check``
rejects the lock until all three match (it accepts the one ``uv lock`` writes,
even offline):

1. the package's ``source = { registry = ... }`` becomes the index URL;
2. its ``sdist``/``wheels`` become the private index's files, each with its URL
   (for pypiserver ``<host>/packages/<filename>``; CodeArtifact's own layout is
   its own), its hash and, where the index gives them, size and upload time;
   the private index may hold files the public one did not (an sdist), or a
   different version altogether (the impostor's higher one), with other
   dependencies;
3. the root package's ``[package.metadata] requires-dist`` entry gains
   ``index = "<index URL>"``.

pipfleet knows (1) and (3), but for (2) the listing holds only each file's
sha256, not its filename, URL, size or upload time, nor the private version's
public dependencies; a lock written from it would be guessed, and a guessed lock
is worse than a stale one that ``uv sync --locked`` refuses loudly. So
``relock_note`` tells the pull request to run ``uv lock``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipfleet.engine.audit import AuditOptions, is_codeartifact_url
from pipfleet.engine.findings import Finding, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import load_toml
from pipfleet.engine.uvproject import (
    UvProject,
    UvRequirement,
    first_asked,
    first_index_strategy,
    pinned_source,
    private_index,
    without_credentials,
)
from pipfleet.errors import PipfileError

LOCK_NAME = "uv.lock"
_PACKAGE_HEADER = re.compile(r"^\[\[package\]\][ \t]*\r?$", re.MULTILINE)
_DEFAULT_OPTIONS = AuditOptions()


def sibling_lock(pyproject_path: str) -> str:
    """The path of the uv.lock beside a pyproject.toml."""
    folder = pyproject_path.rpartition("/")[0]
    return f"{folder}/{LOCK_NAME}" if folder else LOCK_NAME


@dataclass(frozen=True)
class UvLockedPackage:
    name: str  # PEP 503
    version: str | None
    registry: str | None  # the index URL it was locked from; None when not from an index
    hashes: tuple[str, ...]  # "sha256:<hex>" of its sdist and wheels, lower case
    line: int | None  # its [[package]] line in the lock
    dependencies: tuple[str, ...] = ()  # PEP 503 names of what it needs


def _hashes(entry: dict[str, Any]) -> Iterator[str]:
    wheels = entry.get("wheels")
    files = [entry.get("sdist"), *(wheels if isinstance(wheels, list) else [])]
    for file in files:
        if isinstance(file, dict) and isinstance(file.get("hash"), str):
            yield file["hash"].lower()


def _dependency_names(entry: dict[str, Any]) -> Iterator[str]:
    dependencies = entry.get("dependencies")
    for dependency in dependencies if isinstance(dependencies, list) else []:
        if isinstance(dependency, dict) and isinstance(dependency.get("name"), str):
            yield canonicalize_name(dependency["name"])


def parse_lock(text: str) -> tuple[UvLockedPackage, ...]:
    """Every ``[[package]]`` of a uv.lock; PipfileError (one line) when it is not one."""
    data = load_toml(text)
    packages = data.get("package", [])
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise PipfileError("uv.lock: package must be an array of tables")
    lines = _package_lines(text, len(packages))
    found = []
    for position, entry in enumerate(packages):
        name = entry.get("name")
        if not isinstance(name, str):
            raise PipfileError("uv.lock: each [[package]] needs a name", line=_at(lines, position))
        version = entry.get("version")
        source = entry.get("source")
        registry = source.get("registry") if isinstance(source, dict) else None
        found.append(
            UvLockedPackage(
                canonicalize_name(name),
                version if isinstance(version, str) else None,
                registry if isinstance(registry, str) else None,
                tuple(_hashes(entry)),
                _at(lines, position),
                tuple(_dependency_names(entry)),
            )
        )
    return tuple(found)


def _package_lines(text: str, count: int) -> list[int]:
    """The line of each ``[[package]]`` header; none when they cannot be told apart.

    uv writes each header on a line of its own, so a search finds them without
    scanning every value (which took as long as tomllib itself on a 5 MB lock); a count
    that differs from tomllib's (a header spelled otherwise) gives no lines at all.
    """
    starts = [match.start() for match in _PACKAGE_HEADER.finditer(text)]
    if len(starts) != count:
        return []
    lines, line, previous = [], 1, 0
    for start in starts:
        line += text.count("\n", previous, start)
        lines.append(line)
        previous = start
    return lines


def _at(lines: Sequence[int], position: int) -> int | None:
    return lines[position] if position < len(lines) else None


def _same_index(one: str, other: str) -> bool:
    """Whether two index URLs are one index: credentials, a final slash and the case of
    scheme and host aside."""

    def key(url: str) -> str:
        plain = without_credentials(url).rstrip("/")
        scheme, _, rest = plain.partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}://{host.lower()}{slash}{path}"

    return key(one) == key(other)


def lock_findings(
    project: UvProject,
    locked: Sequence[UvLockedPackage],
    listing: Listing,
    options: AuditOptions = _DEFAULT_OPTIONS,
    lock_path: str | None = None,
) -> list[Finding]:
    """wrong-index, foreign-hashes and version-not-found for the private packages a
    uv.lock (``parse_lock``) locks from an index; ``lock_path`` defaults to the sibling."""
    lock_path = lock_path or sibling_lock(project.path)
    index = private_index(project, options.index_name)
    target = index.name if index is not None and index.name else options.index_name
    direct = {requirement.name for requirement in project.requirements}
    findings = []
    for package in locked:
        if package.name not in listing or package.registry is None:
            continue
        spec = f"{package.name}=={package.version}"
        where = f"{lock_path} (line {package.line})" if package.line else lock_path
        trusted = is_codeartifact_url(package.registry) or (
            index is not None and _same_index(package.registry, index.url)
        )
        if not trusted and package.name not in direct:
            needed_by = next(
                (p.name for p in locked if package.name in p.dependencies), "another package"
            )
            findings.append(
                _finding(
                    FindingKind.PRIVATE_TRANSITIVE,
                    project,
                    package,
                    f"{where} locks {spec} (private, needed by {needed_by}) from "
                    f"{package.registry}: uv pins only the project's own dependencies to an "
                    f"index, so list {package.name} in [project] dependencies, pin it to "
                    f"{target!r} and run `uv lock`",
                    target,
                    lock_path,
                    expected=pinned_source(target),
                )
            )
        elif not trusted:
            findings.append(
                _finding(
                    FindingKind.WRONG_INDEX,
                    project,
                    package,
                    f"{where} locks {spec} from {package.registry}, not the private index "
                    f"{target!r}: run `uv lock` once the package is pinned to it",
                    target,
                    lock_path,
                )
            )
        if package.version is None:
            continue
        if listing.known_version(package.name, package.version) is False:
            known = ", ".join(sorted(listing.versions(package.name) or ())) or "none"
            findings.append(
                _finding(
                    FindingKind.VERSION_NOT_FOUND,
                    project,
                    package,
                    f"{where} locks {spec}, which is not in the private repository "
                    f"(it has: {known}): run `uv lock`",
                    target,
                    lock_path,
                )
            )
            continue
        files = listing.hashes_of(package.name, package.version)
        if files is None or not package.hashes:
            continue
        foreign = [h for h in package.hashes if h not in files]
        if foreign:
            matching = len(package.hashes) - len(foreign)
            findings.append(
                _finding(
                    FindingKind.FOREIGN_HASHES,
                    project,
                    package,
                    f"{where} holds files for {spec} that CodeArtifact does not have: it was "
                    f"resolved from another index (public PyPI?); {len(foreign)} foreign "
                    f"hash(es), {matching} matching CodeArtifact's {len(files)} file(s)",
                    target,
                    lock_path,
                )
            )
    return findings


def _finding(
    kind: FindingKind,
    project: UvProject,
    package: UvLockedPackage,
    message: str,
    target: str,
    lock_path: str,
    expected: str | None = None,
) -> Finding:
    return Finding(
        kind,
        project.path,
        message,
        category=lock_path,
        package=package.name,
        current=f"=={package.version}" if package.version else None,
        expected=expected,
        source=target,
    )


def listing_transitive_findings(
    project: UvProject, listing: Listing, options: AuditOptions = _DEFAULT_OPTIONS
) -> list[Finding]:
    """private-transitive for the private packages the project's private packages need
    (the listing's dependencies of the newest version each requirement allows, followed
    through private packages) and does not list: for a project without a uv.lock.

    None when CodeArtifact is the first index uv asks for unpinned packages (not
    explicit, first-index strategy): uv finds them there.
    """
    index = private_index(project, options.index_name)
    if index is not None and first_asked(project) is index and first_index_strategy(project):
        return []
    target = index.name if index is not None and index.name else options.index_name
    direct: dict[str, UvRequirement] = {}
    for requirement in project.requirements:
        direct.setdefault(requirement.name, requirement)
    needs: dict[str, tuple[str, UvRequirement]] = {}
    for requirement in direct.values():
        version = _newest_allowed(requirement, listing)
        # Breadth first, so "needed by" names the nearest private package; each
        # (name, version) is followed once, which also ends any cycle.
        queue = [(requirement.name, version)] if version else []
        seen = set(queue)
        while queue:
            name, version = queue.pop(0)
            for raw in listing.dependencies_of(name, version) or ():
                try:
                    dependency = Requirement(raw)
                except InvalidRequirement:  # parse_listing checked them; a hand-made one may not
                    continue
                needed = canonicalize_name(dependency.name)
                if needed not in listing:
                    continue
                if needed not in direct:
                    needs.setdefault(needed, (name, requirement))
                chosen = listing.newest(needed, str(dependency.specifier))
                if chosen is not None and (needed, chosen) not in seen:
                    seen.add((needed, chosen))
                    queue.append((needed, chosen))
    return [
        Finding(
            FindingKind.PRIVATE_TRANSITIVE,
            project.path,
            f"{needed} (private) is needed by {needed_by} but not listed: uv pins only the "
            "project's own dependencies to an index and looks for it on the default one, "
            f"where it is missing or could be an impostor; list it and pin it to {target!r}",
            category=requirement.group,
            package=needed,
            expected=pinned_source(target),
            source=target,
        )
        for needed, (needed_by, requirement) in needs.items()
    ]


def _newest_allowed(requirement: UvRequirement, listing: Listing) -> str | None:
    """The listed version uv would pick for a private requirement; None for a public one,
    one from a URL or one no listed version satisfies."""
    if requirement.name not in listing or requirement.direct_url:
        return None
    return listing.newest(requirement.name, str(Requirement(requirement.text).specifier))


def versions_used(
    project: UvProject, locked: Sequence[UvLockedPackage] | None, listing: Listing
) -> set[tuple[str, str]]:
    """The private (package, version) pairs a project installs: its lock's, or without one
    the newest version each private requirement allows (what the scan asks CodeArtifact
    about, for lock provenance and the private dependencies of private packages)."""
    if locked is not None:
        return {(p.name, p.version) for p in locked if p.version and p.name in listing}
    chosen = ((r.name, _newest_allowed(r, listing)) for r in project.requirements)
    return {(name, version) for name, version in chosen if version is not None}


def relock_note(lock_path: str, packages: Sequence[str]) -> str:
    """What the pull request says about a uv.lock its pyproject fix leaves stale.

    ``packages`` are the private packages whose source the fix changed.
    """
    names = ", ".join(sorted(packages)) or "the private packages"
    return (
        f"{lock_path} still locks {names} from where they resolved before this change, so "
        "`uv sync --locked` and `uv lock --check` refuse it: run `uv lock` (with the "
        "CodeArtifact credentials in UV_INDEX_<NAME>_USERNAME/PASSWORD) and commit the result"
    )
