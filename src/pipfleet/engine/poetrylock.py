"""What a poetry.lock installs for private packages, and bringing it along with a fix. Pure.

A lock records, per ``[[package]]``, the version, its files' hashes and, under
``[package.source]``, the repository it came from (none for PyPI); ``[metadata]
content-hash`` vouches that it was resolved for the pyproject.toml's current
dependencies and sources (``poetry check --lock`` and ``poetry install`` refuse a
lock whose hash is not that of the pyproject).

- **Findings.** A private package locked from PyPI or another source is installed
  from there (wrong-index); hashes that are not CodeArtifact's files for the version
  mean the lock was resolved from another index (foreign-hashes, as for Pipfile.lock);
  a version CodeArtifact lacks is version-not-found; a private package the lock holds
  but the pyproject does not list is private-transitive (Poetry looks for it on the
  primary sources, PyPI unless another is primary).
- **Update.** After the pyproject rewrite, a lock that was fresh gets
  ``[package.source]`` = the private source for each private package the new
  pyproject pins to it, and the new content-hash, byte-minimal. Only when the
  locked files are provably CodeArtifact's (every hash among the listing's files
  for that version): otherwise the locked metadata (its dependencies, its files)
  may be an impostor's, and only ``poetry lock`` can resolve the genuine package.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipfleet.engine.audit import is_codeartifact_url
from pipfleet.engine.findings import Finding, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import load_toml
from pipfleet.engine.poetryproject import (
    Dependency,
    PoetryProject,
    PoetrySource,
    added_dependency,
    parse,
)
from pipfleet.engine.poetryrewrite import newline_of
from pipfleet.engine.rewrite import quote
from pipfleet.engine.tomlspans import Header, Statement, scan
from pipfleet.errors import PipfileError, RewriteError

LOCK_NAME = "poetry.lock"
_GENERATOR = re.compile(r"Poetry ([^ ]+)")
# poetry's Locker: [tool.poetry] keys in the content hash; the legacy ones are hashed
# (as null when absent) only when [project] and [dependency-groups] give nothing.
_LEGACY_KEYS = ("dependencies", "source", "extras", "dev-dependencies")
_RELEVANT_KEYS = (*_LEGACY_KEYS, "group")
_RELEVANT_PROJECT_KEYS = ("requires-python", "dependencies", "optional-dependencies")
_GROUPS_HASHED_SINCE = Version("2.3.0")
_PROJECT_HASHED_SINCE = Version("2.0.0")


def sibling_lock(pyproject_path: str) -> str:
    """The path of the poetry.lock beside a pyproject.toml."""
    folder = pyproject_path.rpartition("/")[0]
    return f"{folder}/{LOCK_NAME}" if folder else LOCK_NAME


class HashScheme(StrEnum):
    """How a Poetry release computes ``content-hash``."""

    GROUPS = "groups"  # [dependency-groups] included: Poetry >= 2.3
    NO_GROUPS = "no-groups"  # Poetry 2.0 to 2.2
    POETRY1 = "poetry1"  # [tool.poetry] alone: Poetry 1 read no [project]


@dataclass(frozen=True)
class LockSource:
    type: str | None  # "legacy" for an index, "git", "url", "file", "directory"...
    url: str | None
    reference: str | None  # the [[tool.poetry.source]] name, for an index


@dataclass(frozen=True)
class LockedPackage:
    key: str  # the name as written
    name: str  # PEP 503
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>", lower-cased
    source: LockSource | None  # None: PyPI
    line: int | None  # of its [[package]] header
    index: int  # its position among [[package]] tables


@dataclass(frozen=True)
class PoetryLock:
    text: str
    packages: tuple[LockedPackage, ...]
    content_hash: str | None
    generator: Version | None  # the Poetry release named in the header comment


def parse_lock(text: str) -> PoetryLock:
    """Parse a poetry.lock; raise PipfileError (one line) when it is not one."""
    try:
        data = load_toml(text)
    except PipfileError as exc:
        raise PipfileError(
            f"poetry.lock cannot be read: {exc.message}", line=exc.line, column=exc.column
        ) from None
    raw_packages = data.get("package", [])
    metadata = data.get("metadata", {})
    if not isinstance(raw_packages, list) or not isinstance(metadata, dict):
        raise PipfileError("poetry.lock needs [[package]] tables and a [metadata] table")
    headers = [
        i for i in scan(text) if isinstance(i, Header) and i.path == ("package",) and i.is_array
    ]
    # Locks before format 2.0 keep files in [metadata.files], by package name.
    legacy_files = metadata.get("files", {})
    packages = []
    for position, raw in enumerate(raw_packages):
        line = headers[position].line if position < len(headers) else None
        if not isinstance(raw, dict):
            raise PipfileError("each [[package]] must be a table", line=line)
        name, version = raw.get("name"), raw.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            raise PipfileError("each [[package]] needs a name and a version", line=line)
        files = raw.get("files")
        if files is None and isinstance(legacy_files, dict):
            files = legacy_files.get(name, [])
        packages.append(
            LockedPackage(
                name,
                canonicalize_name(name),
                version,
                _hashes(files, line),
                _source(raw.get("source"), line),
                line,
                position,
            )
        )
    content_hash = metadata.get("content-hash")
    return PoetryLock(
        text,
        tuple(packages),
        content_hash if isinstance(content_hash, str) else None,
        _generator(text),
    )


def _hashes(files: Any, line: int | None) -> tuple[str, ...]:
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise PipfileError("a [[package]]'s files must be an array of tables", line=line)
    return tuple(f["hash"].lower() for f in files if isinstance(f.get("hash"), str))


def _source(raw: Any, line: int | None) -> LockSource | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise PipfileError("[package.source] must be a table", line=line)

    def text(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) else None

    return LockSource(text("type"), text("url"), text("reference"))


def _generator(text: str) -> Version | None:
    first = text.split("\n", 1)[0]
    if first.startswith("#") and (match := _GENERATOR.search(first)):
        try:
            return Version(match.group(1))
        except InvalidVersion:
            return None
    return None


def content_hash(pyproject: Mapping[str, Any], scheme: HashScheme = HashScheme.GROUPS) -> str:
    """``[metadata] content-hash`` for the pyproject.toml tomllib read into ``pyproject``.

    poetry's ``Locker._get_content_hash``: the relevant [project], [dependency-groups]
    and [tool.poetry] content as sorted JSON; with neither of the first two, the
    [tool.poetry] keys alone, at top level.
    """
    project = pyproject.get("project", {}) if scheme is not HashScheme.POETRY1 else {}
    groups = pyproject.get("dependency-groups", {}) if scheme is HashScheme.GROUPS else {}
    tool_poetry = pyproject.get("tool", {}).get("poetry", {})
    relevant_project = {
        key: project[key] for key in _RELEVANT_PROJECT_KEYS if project.get(key) is not None
    }
    relevant_poetry = {}
    for key in _RELEVANT_KEYS:
        value = tool_poetry.get(key)
        if value is None and (key not in _LEGACY_KEYS or relevant_project or groups):
            continue
        relevant_poetry[key] = value
    relevant: dict[str, Any] = {}
    if relevant_project:
        relevant["project"] = relevant_project
    if groups:
        relevant["dependency-groups"] = groups
    if relevant:
        relevant["tool"] = {"poetry": relevant_poetry}
    else:
        relevant = relevant_poetry
    try:
        serialised = json.dumps(relevant, sort_keys=True)
    except TypeError:  # tomllib's dates and times: Poetry cannot hash them either
        raise PipfileError(
            "the pyproject.toml holds a date or time where poetry.lock's hash covers it"
        ) from None
    return hashlib.sha256(serialised.encode()).hexdigest()


def fresh_scheme(lock: PoetryLock, pyproject: Mapping[str, Any]) -> HashScheme | None:
    """The scheme under which ``lock`` is fresh for ``pyproject``, as the Poetry that
    wrote it judges it (an older scheme only for a lock an older Poetry wrote: Poetry 2
    accepts a pre-2.3 hash, a Poetry 1 user's lock holds Poetry 1's); None when stale."""
    schemes = [HashScheme.GROUPS]
    if lock.generator is not None and lock.generator < _GROUPS_HASHED_SINCE:
        schemes.append(HashScheme.NO_GROUPS)
    if lock.generator is not None and lock.generator < _PROJECT_HASHED_SINCE:
        schemes.append(HashScheme.POETRY1)
    return next((s for s in schemes if lock.content_hash == content_hash(pyproject, s)), None)


def _is_private_source(source: LockSource | None, private: PoetrySource | None) -> bool:
    if source is None or source.type != "legacy":
        return False
    if private is not None and source.reference == private.name:
        return True
    return source.url is not None and is_codeartifact_url(source.url)


def _where(source: LockSource | None) -> str:
    if source is None:
        return "PyPI"
    return repr(source.reference or source.url or source.type)


def lock_findings(
    project: PoetryProject,
    lock: PoetryLock,
    listing: Listing,
    target: str,
    lock_path: str | None = None,
) -> list[Finding]:
    """Findings about what ``lock`` installs for the private packages of ``project``.

    ``target`` is the private source's name (the audit's ``FileReport.private_source``,
    or the index name when the project has none yet).
    """
    path = lock_path or sibling_lock(project.path)
    private = project.source_named(target)
    declared = {d.name for d in project.dependencies}
    found = []
    for package in lock.packages:
        if package.name not in listing:
            continue
        spec = f"{package.key}=={package.version}"
        if package.name not in declared:
            message = (
                f"{package.key} (private) is locked but not listed in the pyproject.toml: "
                f'Poetry looks for it on the primary sources; add it with source = "{target}"'
            )
            found.append((FindingKind.PRIVATE_TRANSITIVE, package, message))
        if listing.known_version(package.name, package.version) is False:
            known = ", ".join(sorted(listing.versions(package.name) or ())) or "none"
            message = (
                f"locks {spec}, which is not in the private repository (it has: {known}): "
                "run poetry lock"
            )
            found.append((FindingKind.VERSION_NOT_FOUND, package, message))
            continue
        files = listing.hashes_of(package.name, package.version)
        foreign = [h for h in package.hashes if h not in files] if files is not None else []
        if files is not None and foreign:
            message = (
                f"the lock holds files for {spec} that CodeArtifact does not have: it was "
                f"resolved from another index ({_where(package.source)}); {len(foreign)} "
                f"foreign hash(es), {len(package.hashes) - len(foreign)} matching "
                f"CodeArtifact's {len(files)} file(s)"
            )
            found.append((FindingKind.FOREIGN_HASHES, package, message))
        elif not _is_private_source(package.source, private):
            message = (
                f"{spec} is locked from {_where(package.source)}, not {target!r}: "
                "poetry install downloads it from there"
            )
            found.append((FindingKind.WRONG_INDEX, package, message))
    added = added_dependency(target, in_project=project.lists_in_project)
    return [
        Finding(
            kind,
            project.path,
            f"{path}{f':{package.line}' if package.line else ''}: {message}",
            # The fix adds a private transitive package to the main dependencies.
            category="main" if kind is FindingKind.PRIVATE_TRANSITIVE else LOCK_NAME,
            package=package.key,
            current=package.version,
            expected=added if kind is FindingKind.PRIVATE_TRANSITIVE else None,
            source=target,
        )
        for kind, package, message in found
    ]


def listing_transitive_findings(
    project: PoetryProject, listing: Listing, target: str
) -> list[Finding]:
    """private-transitive for a project without a poetry.lock: the private packages its
    private dependencies need (the listing's dependencies of the newest version each
    constraint allows, followed through private packages) and it does not list.

    Poetry looks for a package no dependency pins on the primary sources, whatever the
    private source's priority, so none is left out here.
    """
    direct = {d.name for d in project.dependencies}
    needs: dict[str, tuple[str, str]] = {}  # PEP 503 name -> (as required, needed by)
    for dependency in project.dependencies:
        chosen = _newest_allowed(dependency, listing)
        # Breadth first, so "needed by" names the nearest private package; each
        # (name, version) is followed once, which also ends any cycle.
        queue = [(dependency.name, version, dependency.key) for version in chosen if version]
        seen = {(name, version) for name, version, _ in queue}
        while queue:
            name, version, key = queue.pop(0)
            for raw in listing.dependencies_of(name, version) or ():
                try:
                    requirement = Requirement(raw)
                except InvalidRequirement:  # parse_listing checked them; a hand-made one may not
                    continue
                needed = canonicalize_name(requirement.name)
                if needed not in listing:
                    continue
                if needed not in direct:
                    needs.setdefault(needed, (requirement.name, key))
                newest = listing.newest(needed, str(requirement.specifier))
                if newest is not None and (needed, newest) not in seen:
                    seen.add((needed, newest))
                    queue.append((needed, newest, requirement.name))
    added = added_dependency(target, in_project=project.lists_in_project)
    return [
        Finding(
            FindingKind.PRIVATE_TRANSITIVE,
            project.path,
            f"{key} (private) is needed by {needed_by} but not listed: Poetry looks for it on "
            f"the primary sources, where it is missing or could be an impostor; add it with "
            f'source = "{target}"',
            category="main",
            package=key,
            expected=added,
            source=target,
        )
        for key, needed_by in needs.values()
    ]


def _newest_allowed(dependency: Dependency, listing: Listing) -> set[str]:
    """The listed versions Poetry may pick for a private dependency (one per constraint,
    each the newest it allows); none for a public one or one from a path, URL or VCS."""
    if dependency.name not in listing or dependency.non_registry_key is not None:
        return set()
    specs = (_pep440(v) for v in dependency.versions)
    chosen = {listing.newest(dependency.name, spec) for spec in specs if spec is not None}
    return {version for version in chosen if version is not None}


def versions_used(
    project: PoetryProject, locked: PoetryLock | None, listing: Listing
) -> set[tuple[str, str]]:
    """The private (package, version) pairs a project installs: its lock's, or without one
    the newest version each private dependency allows (what the scan asks CodeArtifact
    about, for lock provenance and the private dependencies of private packages)."""
    if locked is not None:
        return {(p.name, p.version) for p in locked.packages if p.name in listing}
    return {(d.name, v) for d in project.dependencies for v in _newest_allowed(d, listing)}


def _pep440(constraint: str) -> str | None:
    """A Poetry version constraint as a PEP 440 specifier; None for one this cannot say
    (an "or" of constraints): its dependencies are then not followed."""
    parts = [p for p in re.split(r"[,\s]+", constraint.strip()) if p]
    if "||" in constraint:
        return None
    specs = []
    for part in parts:
        if part == "*":
            continue
        if part[0] in "^~" and not part.startswith("~="):
            bound = _upper(part[1:], caret=part[0] == "^")
            if bound is None:
                return None
            specs += [f">={part[1:]}", f"<{bound}"]
        elif part[0] in "<>!=~":
            specs.append("==" + part[1:] if part[0] == "=" and part[1:2] != "=" else part)
        else:
            specs.append(f"=={part}")
    return ",".join(specs) or "*"


def _upper(version: str, *, caret: bool) -> str | None:
    """The exclusive upper bound of Poetry's ^version (the left-most non-zero part may
    not change) or ~version (the minor, or the major when only that is given)."""
    try:
        release = list(Version(version).release)
    except InvalidVersion:
        return None
    written = len(version.split("."))
    release = (release + [0] * written)[:written]
    if caret:
        at = next((i for i, part in enumerate(release) if part), written - 1)
    else:
        at = 1 if written > 1 else 0
    return ".".join(map(str, [*release[:at], release[at] + 1]))


@dataclass(frozen=True)
class LockUpdate:
    text: str | None  # the updated lock; None when it is left alone (see note)
    note: str | None  # why it was left alone: what to run instead
    resourced: tuple[str, ...] = ()  # "name==version" whose [package.source] was set


def update_lock(
    lock_text: str, old_pyproject: str, new_pyproject: str, listing: Listing
) -> LockUpdate:
    """The lock for ``new_pyproject``, the rewrite of ``old_pyproject`` (poetryrewrite).

    The lock is updated only when it was fresh for the old pyproject and every private
    package the new one pins to the private source was locked with CodeArtifact's
    files; otherwise it is returned untouched (text None) with a note to run
    ``poetry lock``. Raises PipfileError when a text cannot be read, RewriteError
    when the lock is written in a way this cannot edit (the result is re-parsed).
    """
    lock = parse_lock(lock_text)
    old_data, new_data = load_toml(old_pyproject), load_toml(new_pyproject)
    scheme = fresh_scheme(lock, old_data)
    if scheme is None:
        return LockUpdate(
            None, "poetry.lock was not fresh for the old pyproject.toml: run poetry lock"
        )
    project = parse(new_pyproject)
    pinned = _pinned_sources(project)
    problems: list[str] = []
    moves: list[tuple[LockedPackage, PoetrySource]] = []
    for package in lock.packages:
        source = pinned.get(package.name)
        if package.name not in listing or source is None or source.url is None:
            continue
        if package.source is not None and package.source.reference == source.name:
            continue
        spec = f"{package.key}=={package.version}"
        files = listing.hashes_of(package.name, package.version)
        if files is None:
            problems.append(f"{spec} (CodeArtifact's files for it are not known)")
        elif not package.hashes or any(h not in files for h in package.hashes):
            problems.append(f"{spec} (its files are not CodeArtifact's)")
        elif package.source is not None and package.source.type != "legacy":
            problems.append(f"{spec} (locked from a {package.source.type} source)")
        else:
            moves.append((package, source))
    if problems:
        return LockUpdate(
            None, f"poetry.lock must be resolved again (run poetry lock): {'; '.join(problems)}"
        )
    text = _replace_content_hash(lock_text, content_hash(new_data, scheme))
    for package, source in sorted(moves, key=lambda move: move[0].index, reverse=True):
        text = _set_source(text, package, source)
    _verify(lock_text, text, moves, content_hash(new_data, scheme))
    return LockUpdate(text, None, tuple(f"{p.key}=={p.version}" for p, _ in moves))


def _pinned_sources(project: PoetryProject) -> dict[str, PoetrySource]:
    """PEP 503 name -> the source every constraint of its dependency names, if one does."""
    pinned: dict[str, PoetrySource] = {}
    for dependency in project.dependencies:
        named = set(dependency.sources)
        if len(named) == 1 and (name := next(iter(named))) is not None:
            if (source := project.source_named(name)) is not None:
                pinned.setdefault(dependency.name, source)
    return pinned


def _lock_url(source: PoetrySource) -> str:
    """The URL Poetry writes for a package from ``source`` (its LegacyRepository's)."""
    assert source.url is not None
    return source.url.rstrip("/")


def _replace_content_hash(text: str, digest: str) -> str:
    for item in scan(text):
        if isinstance(item, Statement) and item.table == ("metadata",):
            if item.key == ("content-hash",):
                span = item.value
                return text[: span.start] + quote(digest) + text[span.end :]
    raise RewriteError("poetry.lock has no [metadata] content-hash to update")


def _set_source(text: str, package: LockedPackage, source: PoetrySource) -> str:
    """``text`` with the ``[package.source]`` of ``package`` naming ``source``."""
    newline = newline_of(text)
    values = {"type": "legacy", "url": _lock_url(source), "reference": source.name}
    items = scan(text)
    headers = [i for i in items if isinstance(i, Header)]
    starts = [h for h in headers if h.path == ("package",) and h.is_array]
    begin = starts[package.index].line_start
    # The package's text runs to the next table that is not one of its own sub-tables.
    stop = next(
        (
            h.line_start
            for h in headers
            if h.line_start > begin and (h.is_array or h.path[:1] != ("package",))
        ),
        len(text),
    )
    block = [i for i in items if isinstance(i, Statement) and begin <= i.line_start < stop]
    existing = [s for s in block if s.table == ("package", "source")]
    if existing:
        # An index's source has these three keys; anything else fails _verify.
        for statement in sorted(existing, key=lambda s: s.value.start, reverse=True):
            if (wanted := values.get(statement.key[0])) is not None:
                span = statement.value
                text = text[: span.start] + quote(wanted) + text[span.end :]
        return text
    end = max(s.line_end for s in block)
    lines = ["[package.source]", *(f"{key} = {quote(value)}" for key, value in values.items())]
    return text[:end] + newline * 2 + newline.join(lines) + text[end:]


def _verify(
    old_text: str, new_text: str, moves: Sequence[tuple[LockedPackage, PoetrySource]], digest: str
) -> None:
    """The new lock must be the old one plus the new sources and hash, nothing else."""
    expected = copy.deepcopy(tomllib.loads(old_text))
    expected["metadata"]["content-hash"] = digest
    for package, source in moves:
        expected["package"][package.index]["source"] = {
            "type": "legacy",
            "url": _lock_url(source),
            "reference": source.name,
        }
    try:
        new = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise RewriteError(f"the poetry.lock update produced invalid TOML ({exc})") from None
    if new != expected:
        raise RewriteError("the poetry.lock update would change more than the sources and hash")
