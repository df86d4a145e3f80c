"""A pyproject.toml as uv reads it, and whether its private packages come from CodeArtifact.

uv pins a package to an index with ``[tool.uv.sources] name = { index = "..." }``
and declares indexes in ``[[tool.uv.index]]``; an index with ``explicit = true``
serves only the packages pinned to it. tomllib decides what the file means and
``tomlspans`` where each value sits, so every finding names a line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipfleet.engine.audit import AuditOptions, is_codeartifact_url
from pipfleet.engine.findings import FileReport, Finding, FindingKind, Severity
from pipfleet.engine.hygiene import has_literal_credential
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import load_toml
from pipfleet.engine.rewrite import quote
from pipfleet.engine.tomlspans import Header, Statement, scan, value_end
from pipfleet.errors import PipfileError
from pipfleet.safetext import mask_credentials

# What may sit between two items of an array: spacing, newlines, comments and one comma.
_BETWEEN_ITEMS = re.compile(r"(?:[ \t\r\n,]+|#[^\n]*)*")
# The [tool.uv.sources] keys that fetch a package from somewhere other than an index.
_NON_REGISTRY_KEYS = ("git", "path", "url", "workspace")
UNSAFE_STRATEGY = "unsafe-best-match"
# The category of findings about a [tool.uv.sources] entry (others name a dependency list).
SOURCES_CATEGORY = "tool.uv.sources"
_DEFAULT_OPTIONS = AuditOptions()


@dataclass(frozen=True)
class UvRequirement:
    """One PEP 508 string of a dependency list."""

    name: str  # PEP 503
    text: str  # as written
    group: str  # "project", "extra:<name>", "group:<name>" or "dev-dependencies"
    line: int | None
    direct_url: bool = False  # "name @ https://...": fetched from that URL, not an index


@dataclass(frozen=True)
class UvSource:
    """One ``[tool.uv.sources]`` entry, or one element of an entry's list."""

    package: str  # the key as written
    index: str | None
    non_registry: str | None  # "git", "path", "url" or "workspace" when not an index
    line: int | None


@dataclass(frozen=True)
class UvIndex:
    """One ``[[tool.uv.index]]``, or a URL of the older index-url and extra-index-url."""

    name: str | None
    url: str
    explicit: bool
    default: bool
    line: int | None
    setting: str = "[[tool.uv.index]]"


@dataclass(frozen=True)
class UvProject:
    path: str
    requirements: tuple[UvRequirement, ...]
    sources: Mapping[str, tuple[UvSource, ...]]  # PEP 503 name -> its sources
    indexes: tuple[UvIndex, ...]
    index_strategy: str | None
    index_strategy_line: int | None

    def index_named(self, name: str) -> UvIndex | None:
        return next((index for index in self.indexes if index.name == name), None)


class _Lines:
    """Where each value of the text sits, by its full key path."""

    def __init__(self, text: str):
        self._text = text
        self._statements: dict[tuple[str, ...], Statement] = {}
        self._array_headers: dict[tuple[str, ...], list[int]] = {}
        for item in scan(text):
            if isinstance(item, Header):
                if item.is_array:
                    self._array_headers.setdefault(item.path, []).append(item.line)
            elif item.array_index is None:
                self._statements.setdefault(item.table + item.key, item)

    def of(self, path: tuple[str, ...]) -> int | None:
        """The line of the statement holding ``path``, or of its nearest written parent."""
        for size in range(len(path), 0, -1):
            if (statement := self._statements.get(path[:size])) is not None:
                return statement.line
        return None

    def array_header(self, path: tuple[str, ...], position: int) -> int | None:
        lines = self._array_headers.get(path, [])
        return lines[position] if position < len(lines) else None

    def items(self, path: tuple[str, ...]) -> list[int] | None:
        """The line of each item of the array written at ``path``; None when not one array."""
        statement = self._statements.get(path)
        if statement is None or self._text[statement.value.start] != "[":
            return None
        starts = array_items(self._text, statement.value.start)
        return [self._text.count("\n", 0, start) + 1 for start in starts]


def array_items(text: str, open_bracket: int) -> list[int]:
    """The offset where each item of the array whose ``[`` is at ``open_bracket`` starts."""
    starts: list[int] = []
    pos = open_bracket + 1
    while True:
        match = _BETWEEN_ITEMS.match(text, pos)
        assert match is not None  # the pattern matches the empty string
        pos = match.end()
        if text[pos] == "]":
            return starts
        starts.append(pos)
        pos = value_end(text, pos)


def _table(value: Any, what: str, line: int | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PipfileError(f"{what} must be a table", line=line)
    return value


def _requirement_list(
    value: Any, path: tuple[str, ...], group: str, lines: _Lines
) -> list[UvRequirement]:
    where = ".".join(path)
    if not isinstance(value, list):
        raise PipfileError(f"{where} must be an array", line=lines.of(path))
    item_lines = lines.items(path)
    found = []
    for position, item in enumerate(value):
        line = item_lines[position] if item_lines is not None else lines.of(path)
        if not isinstance(item, str):  # {include-group = "..."} in [dependency-groups]
            continue
        try:
            requirement = Requirement(item)
        except InvalidRequirement:
            message = f"{where}: {mask_credentials(repr(item))} is not a valid requirement"
            raise PipfileError(message, line=line) from None
        name = canonicalize_name(requirement.name)
        found.append(UvRequirement(name, item, group, line, requirement.url is not None))
    return found


def _requirements(data: dict[str, Any], lines: _Lines) -> list[UvRequirement]:
    found: list[UvRequirement] = []
    project = _table(data.get("project", {}), "[project]", lines.of(("project",)))
    if "dependencies" in project:
        found += _requirement_list(
            project["dependencies"], ("project", "dependencies"), "project", lines
        )
    extras_path = ("project", "optional-dependencies")
    extras = _table(
        project.get("optional-dependencies", {}), ".".join(extras_path), lines.of(extras_path)
    )
    for extra, value in extras.items():
        found += _requirement_list(value, (*extras_path, extra), f"extra:{extra}", lines)
    groups = _table(
        data.get("dependency-groups", {}), "[dependency-groups]", lines.of(("dependency-groups",))
    )
    for group, value in groups.items():
        found += _requirement_list(value, ("dependency-groups", group), f"group:{group}", lines)
    uv = _uv_table(data, lines)
    if "dev-dependencies" in uv:
        dev_path = ("tool", "uv", "dev-dependencies")
        found += _requirement_list(uv["dev-dependencies"], dev_path, "dev-dependencies", lines)
    return found


def _uv_table(data: dict[str, Any], lines: _Lines) -> dict[str, Any]:
    tool = _table(data.get("tool", {}), "[tool]", lines.of(("tool",)))
    return _table(tool.get("uv", {}), "[tool.uv]", lines.of(("tool", "uv")))


def _sources(uv: dict[str, Any], lines: _Lines) -> dict[str, tuple[UvSource, ...]]:
    table = _table(uv.get("sources", {}), "[tool.uv.sources]", lines.of(("tool", "uv", "sources")))
    sources: dict[str, tuple[UvSource, ...]] = {}
    for package, value in table.items():
        line = lines.of(("tool", "uv", "sources", package))
        entries = value if isinstance(value, list) else [value]
        parsed = []
        for entry in entries:
            entry = _table(entry, f"[tool.uv.sources] {package}", line)
            index = entry.get("index")
            if index is not None and not isinstance(index, str):
                raise PipfileError(
                    f"[tool.uv.sources] {package}: index must be a string", line=line
                )
            other = next((key for key in _NON_REGISTRY_KEYS if key in entry), None)
            parsed.append(UvSource(package, index, other, line))
        sources[canonicalize_name(package)] = tuple(parsed)
    return sources


def _indexes(uv: dict[str, Any], lines: _Lines) -> tuple[UvIndex, ...]:
    path = ("tool", "uv", "index")
    value = uv.get("index", [])
    if not isinstance(value, list):
        raise PipfileError("[[tool.uv.index]] must be an array of tables", line=lines.of(path))
    indexes = []
    for position, entry in enumerate(value):
        line = lines.array_header(path, position) or lines.of(path)
        entry = _table(entry, "each [[tool.uv.index]]", line)
        name, url = entry.get("name"), entry.get("url")
        if not isinstance(url, str) or not isinstance(name, str | None):
            raise PipfileError(
                "each [[tool.uv.index]] needs a url (and a name) as strings", line=line
            )
        explicit, default = entry.get("explicit", False), entry.get("default", False)
        indexes.append(UvIndex(name, url, explicit is True, default is True, line))
    # The older settings: unnamed, so no source can pin a package to them; uv asks
    # extra-index-url after [[tool.uv.index]] and index-url last, as the default.
    for setting, default in (("extra-index-url", False), ("index-url", True)):
        urls = uv.get(setting, [])
        line = lines.of(("tool", "uv", setting))
        for url in urls if isinstance(urls, list) else [urls]:
            if not isinstance(url, str):
                raise PipfileError(f"[tool.uv] {setting} must hold URLs as strings", line=line)
            indexes.append(UvIndex(None, url, False, default, line, setting))
    return tuple(indexes)


def parse(text: str, path: str = "pyproject.toml") -> UvProject:
    """Parse a pyproject.toml text; raise PipfileError (with a line when known) when invalid."""
    data = load_toml(text)
    lines = _Lines(text)
    uv = _uv_table(data, lines)
    strategy = uv.get("index-strategy")
    strategy_line = lines.of(("tool", "uv", "index-strategy"))
    if strategy is not None and not isinstance(strategy, str):
        raise PipfileError("[tool.uv] index-strategy must be a string", line=strategy_line)
    return UvProject(
        path=path,
        requirements=tuple(_requirements(data, lines)),
        sources=_sources(uv, lines),
        indexes=_indexes(uv, lines),
        index_strategy=strategy,
        index_strategy_line=strategy_line if strategy is not None else None,
    )


def pinned_source(index: str) -> str:
    """The ``[tool.uv.sources]`` value that pins a package to ``index``."""
    return f"{{ index = {quote(index)} }}"


def without_credentials(url: str) -> str:
    """``url`` without its user info: uv reads an index's credentials from
    UV_INDEX_<NAME>_USERNAME/PASSWORD, so the file never needs them."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def index_block(
    name: str, url: str, newline: str = "\n", quoted: Callable[[str], str] = quote
) -> str:
    """The ``[[tool.uv.index]]`` table the fix adds for CodeArtifact, without a final newline.

    explicit = true: only the packages pinned to it resolve there, so adding it moves
    no public package; the URL goes without credentials (see ``without_credentials``).
    """
    return newline.join(
        [
            "[[tool.uv.index]]",
            f"name = {quoted(name)}",
            f"url = {quoted(without_credentials(url))}",
            "explicit = true",
        ]
    )


def private_index(project: UvProject, index_name: str) -> UvIndex | None:
    """The index private packages belong to: the one named ``index_name``, else CodeArtifact's."""
    if (named := project.index_named(index_name)) is not None:
        return named
    return next(
        (index for index in project.indexes if index.name and is_codeartifact_url(index.url)),
        None,
    )


def audit(
    project: UvProject, listing: Listing, options: AuditOptions = _DEFAULT_OPTIONS
) -> FileReport:
    """Findings for every private package, every undeclared index and the indexes themselves."""
    index = private_index(project, options.index_name)
    target = index.name if index is not None and index.name else options.index_name
    findings: list[Finding] = []
    first_requirement: dict[str, UvRequirement] = {}
    for requirement in project.requirements:
        first_requirement.setdefault(requirement.name, requirement)
    for name, requirement in first_requirement.items():
        if name in listing:
            findings += _private_package(project, requirement, target, index)
    for name, sources in project.sources.items():
        if name in listing:
            continue
        for source in sources:
            if source.index is not None and project.index_named(source.index) is None:
                message = (
                    f"{source.package} names index {source.index!r}, "
                    "which no [[tool.uv.index]] declares: uv cannot lock it"
                )
                findings.append(
                    _source_finding(FindingKind.UNDEFINED_INDEX, project, source, message)
                )
    has_private = any(name in listing for name in first_requirement)
    if has_private and index is None:
        findings.insert(0, _missing_source(project, target, options.source_url))
    findings[:0] = _index_findings(project, index, has_private)
    return FileReport(
        project.path,
        tuple(findings),
        private_source=target if index is not None else None,
        private_source_match=(
            None if index is None else "name" if index.name == options.index_name else "url-host"
        ),
    )


def first_asked(project: UvProject) -> UvIndex | None:
    """The index uv asks first for a package without a source; None for PyPI.

    uv tries the indexes that are neither explicit nor default in their order, then
    the default one (PyPI unless an index says default = true).
    """
    candidates = [index for index in project.indexes if not index.explicit]
    ordered = [i for i in candidates if not i.default] + [i for i in candidates if i.default]
    return ordered[0] if ordered else None


def _private_package(
    project: UvProject, requirement: UvRequirement, target: str, index: UvIndex | None
) -> list[Finding]:
    sources = project.sources.get(requirement.name, ())
    key = requirement.name  # the text as written may hold a URL with a credential
    if not sources and requirement.direct_url:
        message = (
            f"{key} comes from a direct URL, not a package index; it is a private package "
            "fetched outside CodeArtifact"
        )
        return [
            _requirement_finding(FindingKind.NON_REGISTRY, project, requirement, message, target)
        ]
    if not sources:
        if index is not None and first_asked(project) is index and first_index_strategy(project):
            # uv stops at the first index that has the name: here the private one, so the
            # package resolves, but only as long as the order and the strategy hold.
            message = (
                f"{key} has no [tool.uv.sources] entry: uv finds it on {target!r} only "
                "because that is the first index it asks; pin it so that adding or "
                "reordering indexes cannot change that"
            )
            severity = Severity.INFO
        else:
            message = (
                f"{key} is private but has no [tool.uv.sources] entry: uv looks for it on "
                "the default index, where it is missing or could be an impostor"
            )
            severity = Severity.HIGH
        return [
            _requirement_finding(
                FindingKind.MISSING_INDEX,
                project,
                requirement,
                message,
                target,
                severity,
                expected=pinned_source(target),
            )
        ]
    findings = []
    for source in sources:
        if source.non_registry is not None:
            message = (
                f"{source.package} comes from a {source.non_registry} source, not a package "
                "index; it is a private package fetched outside CodeArtifact"
            )
            findings.append(_source_finding(FindingKind.NON_REGISTRY, project, source, message))
        elif source.index is None:
            message = (
                f"{source.package} has a source without an index: uv may take it from any index"
            )
            findings.append(
                _source_finding(FindingKind.MISSING_INDEX, project, source, message, target)
            )
        elif project.index_named(source.index) is None:
            message = (
                f"{source.package} names index {source.index!r}, "
                "which no [[tool.uv.index]] declares"
            )
            findings.append(
                _source_finding(
                    FindingKind.UNDEFINED_INDEX,
                    project,
                    source,
                    message,
                    target,
                    expected=pinned_source(target),
                )
            )
        elif source.index != target or index is None:
            message = (
                f"{source.package} is private but pinned to {source.index!r} instead of {target!r}"
            )
            findings.append(
                _source_finding(
                    FindingKind.WRONG_INDEX,
                    project,
                    source,
                    message,
                    target,
                    expected=pinned_source(target),
                )
            )
    if findings:
        return findings
    message = f"{requirement.name} resolves from the private index {target!r}"
    return [_requirement_finding(FindingKind.COMPLIANT, project, requirement, message, target)]


def _index_findings(
    project: UvProject, private: UvIndex | None, has_private: bool
) -> list[Finding]:
    findings = []
    for index in project.indexes:
        label = index.setting + (f" {index.name!r}" if index.name else "")
        if has_literal_credential(index.url):
            findings.append(
                Finding(
                    FindingKind.HARDCODED_CREDENTIAL,
                    project.path,
                    f"{label} has a literal credential in its URL: anyone who can read the "
                    f"repository can use it; {_credential_advice(index.name)}, and revoke "
                    "the exposed credential",
                    line=index.line,
                    source=index.name,
                )
            )
    if private is not None and not private.explicit and not private.default:
        # Without explicit = true uv asks this index for every package: the private index
        # stops being the one place private names come from, and anything it serves by
        # mistake (a typo, an upstream's impostor) is installed. A default = true index
        # is meant to serve everything (CodeArtifact with PyPI as its upstream).
        findings.append(
            Finding(
                FindingKind.INDEX_NOT_EXPLICIT,
                project.path,
                f"the private index {private.name!r} is not explicit: uv asks it for every "
                "package; set explicit = true so only the packages pinned to it resolve there",
                line=private.line,
                source=private.name,
            )
        )
    if project.index_strategy == UNSAFE_STRATEGY:
        findings.append(
            Finding(
                FindingKind.UNSAFE_INDEX_STRATEGY,
                project.path,
                f'index-strategy = "{UNSAFE_STRATEGY}" makes uv take the highest version from any '
                "index, so a public impostor of a private name can win; remove it",
                line=project.index_strategy_line,
                severity=Severity.CRITICAL if has_private else Severity.HIGH,
            )
        )
    return findings


def first_index_strategy(project: UvProject) -> bool:
    """Whether uv stops at the first index that has a name (its default strategy)."""
    return project.index_strategy in (None, "first-index")


def _credential_advice(name: str | None) -> str:
    """Where uv reads an index's credentials from instead: UV_INDEX_<NAME>_USERNAME/PASSWORD."""
    if name is None:
        return (
            "declare it as a named [[tool.uv.index]] and set UV_INDEX_<NAME>_USERNAME "
            "and UV_INDEX_<NAME>_PASSWORD in the environment instead"
        )
    upper = re.sub(r"[^A-Z0-9]", "_", name.upper())
    return f"set UV_INDEX_{upper}_USERNAME and UV_INDEX_{upper}_PASSWORD in the environment instead"


def _missing_source(project: UvProject, target: str, source_url: str | None) -> Finding:
    message = (
        f"private packages are present but no [[tool.uv.index]] named {target!r} or with a "
        "CodeArtifact URL exists"
    )
    if source_url is None:
        message += "; give --source-url (or the config's source URL) to add one"
    expected = None if source_url is None else index_block(target, source_url)
    return Finding(
        FindingKind.MISSING_SOURCE, project.path, message, expected=expected, source=target
    )


def _requirement_finding(
    kind: FindingKind,
    project: UvProject,
    requirement: UvRequirement,
    message: str,
    target: str,
    severity: Severity | None = None,
    expected: str | None = None,
) -> Finding:
    return Finding(
        kind,
        project.path,
        message,
        category=requirement.group,
        package=requirement.name,
        current=mask_credentials(requirement.text),
        expected=expected,
        line=requirement.line,
        source=target,
        severity=kind.severity if severity is None else severity,
    )


def _source_finding(
    kind: FindingKind,
    project: UvProject,
    source: UvSource,
    message: str,
    target: str | None = None,
    expected: str | None = None,
) -> Finding:
    return Finding(
        kind,
        project.path,
        message,
        category=SOURCES_CATEGORY,
        package=source.package,
        expected=expected,
        line=source.line,
        source=target,
    )
