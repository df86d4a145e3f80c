"""The files a requirements file includes with -r/-c, followed as pip follows them.

Everything here is pure: the scan fetches the files (``missing_includes`` says which
paths it still needs, round after round) and passes them in as a mapping from repository
path to text, ``None`` for a path it found absent.

pip's rules, from its req_file.py: an include is relative to the folder of the file that
names it; an http(s) or file: URL is fetched as it is (pipfleet does not: it reads only
the repository, so the include is reported as not read); a file that includes one of the
files that led to it is an error ("recursively references itself"), while the same file
reached twice by different paths is read twice. Index options are global to the whole
invocation: pip reads every line in order, files included where their -r/-c stands, so an
--extra-index-url in an included file applies to the requirements of the file that
includes it, and an --index-url replaces every index read before it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pipfleet.engine.audit import AuditOptions, parse_error_report
from pipfleet.engine.findings import FileReport, Finding, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.requirements import (
    Include,
    PlacedIndex,
    RequirementsFile,
    confusion_findings,
    hygiene_findings,
    parse,
)
from pipfleet.errors import PipfileError
from pipfleet.safetext import mask_credentials

# pip's SCHEME_RE: what it fetches as a URL rather than opens as a path.
_URL = re.compile(r"^(http|https|file):", re.I)
# The same file reached by many paths is read once per path, as pip does; this bounds a
# hostile diamond of includes (each level doubling the reads) long before it matters.
MAX_READS = 500


def include_path(including: str, target: str) -> str | None:
    """The repository path pip opens for ``target`` named in ``including``; None for a URL,
    an absolute path or one that leaves the repository, which no scan can fetch."""
    if _URL.match(target) or target.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(including), target))
    if path == ".." or path.startswith("../"):
        return None
    return path


def wanted_includes(path: str, text: str) -> list[str]:
    """The repository paths ``text`` (the file at ``path``) includes, in order, each once;
    a file that does not parse wants nothing (its audit reports why)."""
    try:
        parsed = parse(text, path)
    except PipfileError:
        return []
    wanted = (include_path(path, include.target) for include in parsed.includes)
    return list(dict.fromkeys(p for p in wanted if p is not None))


def missing_includes(root: str, files: Mapping[str, str | None]) -> list[str]:
    """Paths reachable from ``root`` through the files already in ``files`` that are not in
    it yet: what the scan fetches next (an empty list once it has them all)."""
    seen, queue, missing = {root}, [root], list[str]()
    while queue:
        path = queue.pop(0)
        if path not in files:
            missing.append(path)
            continue
        text = files[path]
        for wanted in wanted_includes(path, text) if text is not None else []:
            if wanted not in seen:
                seen.add(wanted)
                queue.append(wanted)
    return missing


@dataclass(frozen=True)
class IncludeTree:
    """What one ``pip install -r root`` reads: every file once, in the order pip first
    reads it, with their texts, the index options in the order pip applies them, and what
    could not be followed."""

    root: str
    files: tuple[RequirementsFile, ...]
    texts: Mapping[str, str]
    indexes: tuple[PlacedIndex, ...]
    no_index: bool
    problems: tuple[Finding, ...]

    def file(self, path: str) -> RequirementsFile | None:
        return next((f for f in self.files if f.path == path), None)


def _problem(include: Include, path: str, message: str) -> Finding:
    """pip fails on this include: the whole install fails, so the file does not parse."""
    return Finding(FindingKind.PARSE_ERROR, path, message, line=include.line)


class _Reader:
    """One walk of the includes in pip's order."""

    def __init__(self, files: Mapping[str, str | None]) -> None:
        self.sources = files
        self.parsed: dict[str, RequirementsFile] = {}
        self.indexes: list[PlacedIndex] = []
        self.problems: list[Finding] = []
        self.reads = 0
        self.stopped = False

    def read(self, path: str, chain: tuple[str, ...]) -> None:
        self.reads += 1
        requirements = self.parsed[path]
        steps: list[PlacedIndex | Include] = [PlacedIndex(path, o) for o in requirements.indexes]
        steps += requirements.includes
        # An option and an include on one line: the option is read first.
        for step in sorted(steps, key=lambda s: (_line(s), isinstance(s, Include))):
            if isinstance(step, PlacedIndex):
                self.indexes.append(step)
            else:
                self.include(path, step, chain)

    def include(self, path: str, include: Include, chain: tuple[str, ...]) -> None:
        where = f"{include.kind.value} {mask_credentials(include.target)}"
        target = include_path(path, include.target)
        if target is None:
            # Not a failure of the install, so no parse-error: a note (info) that what it
            # holds, index options included, is out of sight.
            self.problems.append(
                Finding(
                    FindingKind.NON_REGISTRY,
                    path,
                    f"{where} is not read: pipfleet reads only files in the repository, so "
                    "index options and requirements in it are not audited",
                    line=include.line,
                )
            )
            return
        if target in chain:
            self.problems.append(
                _problem(
                    include,
                    path,
                    f"{where} includes {target}, which leads back here: pip refuses the "
                    "whole install (it recursively references itself); remove one include",
                )
            )
            return
        if self.reads >= MAX_READS:
            if not self.stopped:
                self.stopped = True
                self.problems.append(
                    _problem(
                        include,
                        path,
                        f"{where} and the includes after it are not read: more than "
                        f"{MAX_READS} includes were read for this install",
                    )
                )
            return
        if target not in self.parsed:
            text = self.sources.get(target)
            if text is None:
                self.problems.append(
                    _problem(
                        include,
                        path,
                        f"{where}: {target} is not in the repository; pip fails to open it",
                    )
                )
                return
            try:
                self.parsed[target] = parse(text, target)
            except PipfileError as exc:
                self.problems.append(
                    Finding(
                        FindingKind.PARSE_ERROR,
                        target,
                        f"{exc.message} (in {target}, included by {path})",
                        line=exc.line,
                        column=exc.column,
                    )
                )
                return
        self.read(target, (*chain, target))


def _line(step: PlacedIndex | Include) -> int:
    return step.option.line if isinstance(step, PlacedIndex) else step.line


def load_tree(root: str, files: Mapping[str, str | None]) -> IncludeTree:
    """Parse ``root`` and what it includes from ``files``; only ``root`` failing to parse
    raises ``PipfileError``, any other problem is a finding in ``problems``."""
    text = files.get(root)
    if text is None:
        raise PipfileError(f"{root} is not among the files read")
    reader = _Reader(files)
    reader.parsed[root] = parse(text, root)
    reader.read(root, (root,))
    parsed = tuple(reader.parsed.values())
    return IncludeTree(
        root,
        parsed,
        {path: files[path] or "" for path in reader.parsed},
        tuple(reader.indexes),
        any(f.no_index for f in parsed),
        tuple(reader.problems),
    )


def audit_tree(
    root: str,
    files: Mapping[str, str | None],
    listing: Listing,
    options: AuditOptions | None = None,
) -> FileReport:
    """The audit of ``pip install -r root``: confusion over every requirement and index
    option it reads, hygiene of each file read, and what could not be followed. Findings
    name the file they are in; a root that does not parse gives one parse-error."""
    try:
        tree = load_tree(root, files)
    except PipfileError as exc:
        return parse_error_report(root, exc)
    return audit_loaded(tree, listing, options)


def audit_loaded(
    tree: IncludeTree, listing: Listing, options: AuditOptions | None = None
) -> FileReport:
    """``audit_tree`` for a tree already loaded."""
    findings = confusion_findings(
        tree.files, tree.indexes, tree.no_index, listing, options or AuditOptions()
    )
    for requirements in tree.files:
        findings += hygiene_findings(requirements)
    findings += tree.problems
    order = {f.path: position for position, f in enumerate(tree.files)}
    findings.sort(key=lambda f: (order.get(f.file, len(order)), f.line or 0))
    return FileReport(tree.root, tuple(findings))
