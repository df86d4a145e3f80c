"""Parse and audit a Poetry pyproject.toml: its sources and which one each dependency uses.

Both layouts: Poetry 1 lists every dependency under ``[tool.poetry.dependencies]``
(and its groups, and the legacy ``dev-dependencies``); Poetry 2 lists them as PEP 508
strings in ``[project]``, with ``[tool.poetry.dependencies]`` only adding constraints
such as ``source``. tomllib decides what the file means; ``tomlspans`` says where.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement

from pipfleet.engine.audit import AuditOptions, is_codeartifact_url
from pipfleet.engine.findings import FileReport, Finding, FindingKind, Severity
from pipfleet.engine.hygiene import has_literal_credential
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import NON_REGISTRY_KEYS, load_toml, package_name
from pipfleet.engine.rewrite import quote
from pipfleet.engine.tomlspans import Header, Statement, scan
from pipfleet.errors import PipfileError

_POETRY = ("tool", "poetry")
MAIN_TABLE = (*_POETRY, "dependencies")
PROJECT_DEPENDENCIES = ("project", "dependencies")
_PYPI = "pypi"


class Priority(StrEnum):
    PRIMARY = "primary"
    DEFAULT = "default"  # deprecated: a primary source searched before all others
    SECONDARY = "secondary"  # deprecated: what supplemental replaced
    SUPPLEMENTAL = "supplemental"
    EXPLICIT = "explicit"


@dataclass(frozen=True)
class PoetrySource:
    name: str
    url: str | None  # PyPI is declared by name alone
    priority: Priority
    line: int | None

    @property
    def is_pypi(self) -> bool:
        return self.name.lower() == _PYPI


@dataclass(frozen=True)
class Dependency:
    group: str  # "main", a group name, "dev" (legacy table) or "project" (PEP 621)
    key: str  # as written
    name: str  # PEP 503
    sources: tuple[str | None, ...]  # one per constraint; None where none is named
    line: int | None
    non_registry_key: str | None = None  # git, path, url...: not from an index
    table: tuple[str, ...] = ()  # where it is written: a Poetry table, or [project]'s array
    versions: tuple[str, ...] = ()  # each constraint's version as written; "*" for any

    @property
    def is_pep621(self) -> bool:
        """Written in [project] (Poetry 2): a source is given in [tool.poetry.dependencies]."""
        return self.table[:1] == ("project",)


@dataclass(frozen=True)
class PoetryProject:
    path: str
    sources: tuple[PoetrySource, ...]
    dependencies: tuple[Dependency, ...]
    text: str = ""

    def source_named(self, name: str) -> PoetrySource | None:
        return next((s for s in self.sources if s.name.lower() == name.lower()), None)

    @property
    def lists_in_project(self) -> bool:
        """Whether [project] dependencies list the main dependencies (Poetry 2), so that
        [tool.poetry.dependencies] can only add to those, not list more."""
        return any(d.table == PROJECT_DEPENDENCIES for d in self.dependencies)


def parse(text: str, path: str = "pyproject.toml") -> PoetryProject:
    """Parse a Poetry pyproject.toml; raise PipfileError (one line) when it is not one."""
    data = load_toml(text)
    poetry = data.get("tool", {}).get("poetry") if isinstance(data.get("tool"), dict) else None
    if not isinstance(poetry, dict):
        raise PipfileError("no [tool.poetry] table: not a Poetry project")
    items = scan(text)
    lines = _Lines(items)
    sources = _sources(poetry.get("source", []), lines)
    constraints: dict[tuple[str, ...], Any] = {
        (*_POETRY, "dependencies"): poetry.get("dependencies", {}),
        (*_POETRY, "dev-dependencies"): poetry.get("dev-dependencies", {}),
    }
    groups = poetry.get("group", {})
    if not isinstance(groups, dict):
        raise PipfileError("[tool.poetry.group] must be a table")
    for group, table in groups.items():
        if isinstance(table, dict):
            constraints[(*_POETRY, "group", group, "dependencies")] = table.get("dependencies", {})
    dependencies: list[Dependency] = []
    for table_path, table in constraints.items():
        if not isinstance(table, dict):
            raise PipfileError(f"[{'.'.join(table_path)}] must be a table")
        group = _group_of(table_path)
        for key, value in table.items():
            if key.lower() != "python":
                dependency = _dependency(group, key, value, lines.of(table_path, key))
                dependencies.append(replace(dependency, table=table_path))
    project = data.get("project", {})
    if isinstance(project, dict):
        dependencies.extend(_pep621(project, text, lines))
    return PoetryProject(path, sources, tuple(dependencies), text)


def _group_of(table_path: tuple[str, ...]) -> str:
    if table_path[-1] == "dev-dependencies":
        return "dev"
    return table_path[3] if table_path[2] == "group" else "main"


class _Lines:
    """Where each key and [[tool.poetry.source]] is written."""

    def __init__(self, items: Sequence[Header | Statement]):
        self.statements: dict[tuple[tuple[str, ...], str], Statement] = {}
        self.headers: dict[tuple[str, ...], int] = {}
        self.source_lines: list[int] = []
        for item in items:
            if isinstance(item, Header):
                self.headers.setdefault(item.path, item.line)
                if item.path == (*_POETRY, "source"):
                    self.source_lines.append(item.line)
            else:
                self.statements.setdefault((item.table, item.key[0]), item)

    def of(self, table: tuple[str, ...], key: str) -> int | None:
        if (statement := self.statements.get((table, key))) is not None:
            return statement.line
        return self.headers.get((*table, key))


def _sources(raw: Any, lines: _Lines) -> tuple[PoetrySource, ...]:
    if not isinstance(raw, list):
        raise PipfileError("[[tool.poetry.source]] must be an array of tables")
    sources = []
    for position, item in enumerate(raw):
        line = lines.source_lines[position] if position < len(lines.source_lines) else None
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise PipfileError("each [[tool.poetry.source]] needs a name as a string", line=line)
        url = item.get("url")
        if not isinstance(url, str | None):
            raise PipfileError("a [[tool.poetry.source]] url must be a string", line=line)
        sources.append(PoetrySource(item["name"], url, _priority(item, line), line))
    return tuple(sources)


def _priority(item: Mapping[str, Any], line: int | None) -> Priority:
    raw = item.get("priority")
    if raw is not None:
        try:
            return Priority(raw)
        except ValueError:
            raise PipfileError(f"unknown source priority {raw!r}", line=line) from None
    # Before priorities, Poetry had two booleans; a source with neither is primary.
    if item.get("default") is True:
        return Priority.DEFAULT
    if item.get("secondary") is True:
        return Priority.SECONDARY
    return Priority.PRIMARY


def _dependency(group: str, key: str, value: Any, line: int | None) -> Dependency:
    constraints = value if isinstance(value, list) else [value]
    sources: list[str | None] = []
    versions: list[str] = []
    non_registry = None
    for constraint in constraints:
        if isinstance(constraint, str):
            sources.append(None)
            versions.append(constraint)
        elif isinstance(constraint, dict):
            source = constraint.get("source")
            sources.append(source if isinstance(source, str) else None)
            version = constraint.get("version")
            versions.append(version if isinstance(version, str) else "*")
            non_registry = non_registry or next(
                (k for k in NON_REGISTRY_KEYS if k in constraint), None
            )
        else:
            raise PipfileError(f"dependency {key!r} must be a string or a table", line=line)
    return Dependency(
        group, key, package_name(key), tuple(sources), line, non_registry, versions=tuple(versions)
    )


def _pep621(project: Mapping[str, Any], text: str, lines: _Lines) -> list[Dependency]:
    arrays: list[tuple[str, tuple[str, ...], str, Any]] = [
        ("project", ("project",), "dependencies", project.get("dependencies", []))
    ]
    optional = project.get("optional-dependencies", {})
    if isinstance(optional, dict):
        arrays.extend(
            (extra, ("project", "optional-dependencies"), extra, value)
            for extra, value in optional.items()
        )
    found = []
    for group, table, key, value in arrays:
        if not isinstance(value, list):
            raise PipfileError(f"[{'.'.join(table)}] {key} must be an array of strings")
        statement = lines.statements.get((table, key))
        cursor = statement.value.start if statement else 0
        for requirement in value:
            try:
                parsed = Requirement(requirement)
            except (InvalidRequirement, TypeError):
                raise PipfileError(
                    f"invalid requirement {requirement!r} in [project] {key}",
                    line=statement.line if statement else None,
                ) from None
            # Each string's own line: the array lists them in order, so search onward.
            line = None
            if statement is not None and (at := text.find(requirement, cursor)) >= 0:
                cursor = at + len(requirement)
                line = text.count("\n", 0, at) + 1
            origin = "url" if parsed.url else None
            found.append(
                Dependency(
                    group,
                    requirement,
                    package_name(parsed.name),
                    (None,),
                    line,
                    origin,
                    (*table, key),
                    (str(parsed.specifier) or "*",),
                )
            )
    return found


def audit(project: PoetryProject, listing: Listing, options: AuditOptions) -> FileReport:
    """Findings for each private dependency, each undefined source and the private source."""
    private = _private_source(project, options.index_name)
    target = private.name if private else options.index_name
    # Poetry 2 constraints in [tool.poetry.dependencies] apply to [project]'s entries
    # (its optional ones too), matched by name.
    pinned = {d.name for d in project.dependencies if d.table == MAIN_TABLE}
    findings: list[Finding] = []
    private_count = 0
    for dependency in project.dependencies:
        if dependency.is_pep621 and dependency.name in pinned:
            continue
        if dependency.non_registry_key is not None:
            continue
        if dependency.name not in listing:
            findings.extend(_undefined(project, dependency, target, private=False))
            continue
        private_count += 1
        findings.append(_private_dependency(project, dependency, target))
    if private_count and private is None:
        findings.insert(0, _missing_source(project, target, options.source_url))
    if private is not None:
        findings[:0] = _priority_findings(project, private)
    findings[:0] = _credential_findings(project)
    return FileReport(
        project.path,
        tuple(findings),
        private_source=target if private else None,
        private_source_match=None
        if private is None
        else ("name" if private.name == options.index_name else "url-host"),
    )


def _private_source(project: PoetryProject, index_name: str) -> PoetrySource | None:
    if (named := project.source_named(index_name)) is not None:
        return named
    return next(
        (s for s in project.sources if s.url is not None and is_codeartifact_url(s.url)), None
    )


def _finding(
    kind: FindingKind,
    project: PoetryProject,
    dependency: Dependency,
    message: str,
    target: str,
    severity: Severity | None = None,
    *,
    fix: bool = False,
) -> Finding:
    return Finding(
        kind,
        project.path,
        message,
        category=dependency.group,
        package=dependency.key,
        expected=source_setting(target) if fix else None,
        line=dependency.line,
        source=target,
        severity=kind.severity if severity is None else severity,
    )


def source_setting(name: str) -> str:
    """What the fix gives a private dependency (in [tool.poetry.dependencies] for [project]'s)."""
    return f"source = {quote(name)}"


EXPLICIT = 'priority = "explicit"'


def added_dependency(target: str, *, in_project: bool) -> str:
    """The [tool.poetry.dependencies] value of a private package the fix adds: any
    version from ``target``; with ``in_project`` its [project] requirement is added too."""
    if in_project:
        return f"{{source = {quote(target)}}}"
    return f'{{version = "*", source = {quote(target)}}}'


def without_credentials(url: str) -> str:
    """``url`` with no user or password: Poetry takes them from POETRY_HTTP_BASIC_<NAME>_*."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def source_block(name: str, url: str, newline: str = "\n") -> str:
    """The ``[[tool.poetry.source]]`` table the fix adds, without a trailing newline."""
    return newline.join(
        [
            "[[tool.poetry.source]]",
            f"name = {quote(name)}",
            f"url = {quote(without_credentials(url))}",
            EXPLICIT,
        ]
    )


def _sole_primary(project: PoetryProject, target: str) -> bool:
    primary = [s for s in project.sources if s.priority in (Priority.PRIMARY, Priority.DEFAULT)]
    return len(primary) == 1 and primary[0].name == target


def _undefined(
    project: PoetryProject, dependency: Dependency, target: str, *, private: bool
) -> list[Finding]:
    return [
        _finding(
            FindingKind.UNDEFINED_INDEX,
            project,
            dependency,
            f"{dependency.key} names source {source!r}, which is no [[tool.poetry.source]]",
            target,
            fix=private,
        )
        for source in dict.fromkeys(dependency.sources)
        if source is not None and project.source_named(source) is None
    ][: 1 if private else None]


def _private_dependency(project: PoetryProject, dependency: Dependency, target: str) -> Finding:
    if undefined := _undefined(project, dependency, target, private=True):
        return undefined[0]
    if None in dependency.sources:
        if _sole_primary(project, target):
            # Declaring a primary source turns the implicit PyPI off: it resolves from
            # CodeArtifact, but only as long as no other primary source is added.
            return _finding(
                FindingKind.MISSING_INDEX,
                project,
                dependency,
                f"{dependency.key} has no source: Poetry finds it on {target!r} only because "
                f'that is the only primary source; add source = "{target}"',
                target,
                Severity.INFO,
                fix=True,
            )
        return _finding(
            FindingKind.MISSING_INDEX,
            project,
            dependency,
            f"{dependency.key} is private but has no source: Poetry looks for it on the "
            f'primary sources (PyPI unless another is primary); add source = "{target}"',
            target,
            fix=True,
        )
    others = sorted({s for s in dependency.sources if s is not None and s != target})
    if others:
        return _finding(
            FindingKind.WRONG_INDEX,
            project,
            dependency,
            f"{dependency.key} is private but uses source {others[0]!r} instead of {target!r}",
            target,
            fix=True,
        )
    return _finding(
        FindingKind.COMPLIANT,
        project,
        dependency,
        f"{dependency.key} resolves from the source {target!r}",
        target,
    )


def _missing_source(project: PoetryProject, target: str, source_url: str | None) -> Finding:
    return Finding(
        FindingKind.MISSING_SOURCE,
        project.path,
        f"private packages are present but no [[tool.poetry.source]] named {target!r} or "
        'with a CodeArtifact URL exists: add one with priority = "explicit"'
        + ("" if source_url else " (give its URL with --source-url)"),
        expected=source_block(target, source_url) if source_url else None,
        source=target,
    )


def _priority_findings(project: PoetryProject, private: PoetrySource) -> list[Finding]:
    label = f"source {private.name!r}"
    if private.priority in (Priority.SUPPLEMENTAL, Priority.SECONDARY):
        # Pinned dependencies still resolve from it; everything else (transitive private
        # dependencies included) is asked of the primary sources first.
        message = (
            f"{label} has priority {private.priority.value!r}: a private package without "
            'source = ... is looked for on the primary sources first; use priority = "explicit"'
        )
        severity = Severity.LOW
    elif private.priority in (Priority.PRIMARY, Priority.DEFAULT) and any(
        s.is_pypi and s.priority is not Priority.EXPLICIT for s in project.sources
    ):
        message = (
            f"{label} has priority {private.priority.value!r} beside PyPI: Poetry searches both "
            'for every package, so a public impostor can win; use priority = "explicit"'
        )
        severity = Severity.MEDIUM
    else:
        return []
    return [
        Finding(
            FindingKind.INDEX_NOT_EXPLICIT,
            project.path,
            message,
            current=f"priority = {quote(private.priority.value)}",
            expected=EXPLICIT,
            line=private.line,
            source=private.name,
            severity=severity,
        )
    ]


def _credential_findings(project: PoetryProject) -> list[Finding]:
    return [
        Finding(
            FindingKind.HARDCODED_CREDENTIAL,
            project.path,
            f"source {source.name!r} has a literal credential in its URL: Poetry reads it from "
            f"POETRY_HTTP_BASIC_{source.name.upper().replace('-', '_')}_PASSWORD instead; "
            "revoke the exposed credential",
            line=source.line,
            source=source.name,
        )
        for source in project.sources
        if source.url is not None and has_literal_credential(source.url)
    ]
