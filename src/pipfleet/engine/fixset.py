"""A repository's whole fix: every manifest rewritten and every lock brought along. Pure.

One pull request per repository covers all of its manifests: Pipfiles (and the
Pipfile.lock beside each, updated in place), uv pyproject.toml files (uv.lock is never
edited: the body says to run ``uv lock``, see ``uvlock``), Poetry pyproject.toml files
(poetry.lock updated in place when ``poetrylock.update_lock`` can, else a note to run
``poetry lock``) and requirements installs (the changes ``requirementsrewrite`` applies,
and the proposals it does not, for the body to show).

The fix PR carries exactly this set of file changes. Its fingerprint names the
change and what it was made from, so a later run can tell "same fix, nothing to
do" from "the fix or the files under it changed".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pipfleet.engine import (
    poetrylock,
    poetryproject,
    poetryrewrite,
    projects,
    requirementsrewrite,
    uvlock,
    uvproject,
    uvrewrite,
)
from pipfleet.engine.audit import AuditOptions, audit_text
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.lockfile import Rehashed, update_lock
from pipfleet.engine.requirementsincludes import audit_loaded, load_tree, wanted_includes
from pipfleet.engine.requirementsrewrite import Proposal
from pipfleet.engine.rewrite import rewrite, unified_diff
from pipfleet.errors import FixError, PipfileError, RewriteError
from pipfleet.states import ManifestKind

LOCK_NAME = "Pipfile.lock"


@dataclass(frozen=True)
class ChangedEntry:
    path: str
    category: str
    package: str
    before: str
    after: str


@dataclass(frozen=True)
class RehashedEntry:
    """A lock entry whose hashes the fix replaced with CodeArtifact's files."""

    path: str  # the lock's
    section: str
    package: str
    version: str
    before: int  # hashes the lock had
    foreign: int  # of them, not CodeArtifact's: a foreign-hashes finding fixed when > 0
    after: int  # CodeArtifact's files for the version

    @classmethod
    def of(cls, path: str, rehashed: Rehashed) -> RehashedEntry:
        r = rehashed
        return cls(path, r.section, r.key, r.version, r.before, r.foreign, r.after)


@dataclass(frozen=True)
class FileChange:
    path: str
    old_text: str
    new_text: str

    @property
    def diff(self) -> str:
        return unified_diff(self.old_text, self.new_text, self.path)


@dataclass(frozen=True)
class ManifestFix:
    """What the fix did to one uv, Poetry or requirements manifest, beyond its entries."""

    path: str  # the pyproject.toml, or the requirements file pip is given (-r path)
    kind: ManifestKind
    added_index: bool = False  # gained the CodeArtifact index or source (no credentials)
    lock: str | None = None  # the lock beside it, if the repository has one
    lock_updated: bool = False  # the lock is among the changes (Poetry only)
    relock: str | None = None  # why the lock was left alone: its installer must lock again
    applied: tuple[Proposal, ...] = ()  # requirements: the changes made
    proposals: tuple[Proposal, ...] = ()  # requirements: the changes shown but not made


@dataclass(frozen=True)
class Manifests:
    """A repository's manifests other than Pipfiles, path -> text, as ``build_fix`` reads
    them; their locks come in ``build_fix``'s ``locks`` beside the Pipfile.locks."""

    uv: Mapping[str, str] = field(default_factory=dict)
    poetry: Mapping[str, str] = field(default_factory=dict)
    requirements: Mapping[str, str] = field(default_factory=dict)
    # Other files the requirements files include (-r/-c); None: not in the repository.
    includes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RepoFix:
    changes: tuple[FileChange, ...]
    entries: tuple[ChangedEntry, ...]
    added_sources: tuple[str, ...] = ()  # Pipfiles that gained the private [[source]]
    stale_locks: tuple[str, ...] = ()  # locks that matched neither hash scheme: left alone
    unfixable: tuple[str, ...] = ()  # "path: reason" for manifests that needed a fix but got none
    rehashed: tuple[RehashedEntry, ...] = ()  # lock entries given CodeArtifact's hashes
    # "lock: section/key==version" of private lock entries whose version CodeArtifact does
    # not have (hashes left alone), or "lock: section/key" of an added entry the lock does
    # not hold (lock left alone): run `pipenv lock`.
    relock: tuple[str, ...] = ()
    manifests: tuple[ManifestFix, ...] = ()  # the uv, Poetry and requirements manifests fixed

    @property
    def foreign_hashes_fixed(self) -> bool:
        """Whether a lock held files CodeArtifact does not have: a possible impostor."""
        return any(entry.foreign for entry in self.rehashed)

    @property
    def fingerprint(self) -> str:
        """sha256 of every changed file's path, old content and new content."""
        digest = hashlib.sha256()
        for change in sorted(self.changes, key=lambda c: c.path):
            for part in (change.path, change.old_text, change.new_text):
                digest.update(hashlib.sha256(part.encode()).digest())
        return digest.hexdigest()

    @property
    def empty(self) -> bool:
        return not self.changes


def lock_path(pipfile_path: str) -> str:
    folder = pipfile_path.rpartition("/")[0]
    return f"{folder}/{LOCK_NAME}" if folder else LOCK_NAME


@dataclass
class _Parts:
    """A RepoFix being built, manifest by manifest."""

    changes: list[FileChange] = field(default_factory=list)
    entries: list[ChangedEntry] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unfixable: list[str] = field(default_factory=list)
    rehashed: list[RehashedEntry] = field(default_factory=list)
    relock: list[str] = field(default_factory=list)
    manifests: list[ManifestFix] = field(default_factory=list)

    def fix(self) -> RepoFix:
        return RepoFix(
            tuple(self.changes),
            tuple(self.entries),
            tuple(self.added),
            tuple(self.stale),
            tuple(self.unfixable),
            tuple(self.rehashed),
            tuple(self.relock),
            tuple(self.manifests),
        )


def build_fix(
    pipfiles: Mapping[str, str],
    locks: Mapping[str, str],
    listing: Listing,
    options: AuditOptions,
    manifests: Manifests | None = None,
) -> RepoFix:
    """Rewrite each manifest's fixable entries and bring the lock beside each one along.

    ``locks`` maps a lock's path (Pipfile.lock, uv.lock, poetry.lock) to its text.
    """
    parts = _Parts()
    _fix_pipfiles(parts, pipfiles, locks, listing, options)
    if manifests is not None:
        for path in sorted(manifests.uv):
            _fix_uv(parts, path, manifests.uv[path], locks, listing, options)
        for path in sorted(manifests.poetry):
            _fix_poetry(parts, path, manifests.poetry[path], locks, listing, options)
        _fix_requirements(parts, manifests, listing, options)
    return parts.fix()


def _fix_pipfiles(
    parts: _Parts,
    pipfiles: Mapping[str, str],
    locks: Mapping[str, str],
    listing: Listing,
    options: AuditOptions,
) -> None:
    changes, entries, added = parts.changes, parts.entries, parts.added
    stale, unfixable, rehashed, relock = parts.stale, parts.unfixable, parts.rehashed, parts.relock
    for path in sorted(pipfiles):
        text = pipfiles[path]
        lock = lock_path(path)
        lock_text = locks.get(lock)
        pipfile, report = audit_text(text, path, listing, options, lock_text=lock_text)
        if pipfile is None:
            continue
        # A lock holding foreign files for a private package is fixed even when the
        # Pipfile is right: its hashes become CodeArtifact's.
        foreign = any(f.kind is FindingKind.FOREIGN_HASHES for f in report.findings)
        if not report.fixable and not foreign:
            continue
        try:
            new_text = rewrite(pipfile, report, options.source_url)
        except (FixError, RewriteError) as exc:
            unfixable.append(f"{path}: {exc}")
            continue
        if new_text == text and not foreign:
            continue
        if new_text != text:
            changes.append(FileChange(path, text, new_text))
        pinned, additions = [], []
        for finding in report.fixable:
            if finding.kind is FindingKind.MISSING_SOURCE:
                added.append(path)
            elif finding.category and finding.package:
                if finding.kind is FindingKind.PRIVATE_TRANSITIVE:
                    additions.append((finding.category, finding.package))
                else:
                    pinned.append((finding.category, finding.package))
                entries.append(
                    ChangedEntry(
                        path,
                        finding.category,
                        finding.package,
                        finding.current or "",
                        finding.expected or "",
                    )
                )
        if lock_text is None:
            continue
        new_pipfile = audit_text(new_text, path, listing, options)[0]
        assert new_pipfile is not None
        index = report.private_source or options.index_name
        new_source = new_pipfile.source_named(index) if path in added else None
        added_source = (
            {"name": new_source.name, "url": new_source.url, "verify_ssl": True}
            if new_source
            else None
        )
        try:
            update = update_lock(
                lock_text,
                pipfile.data,
                new_pipfile.data,
                index,
                pinned,
                added_source,
                additions,
                listing,
            )
        except (PipfileError, FixError) as exc:
            unfixable.append(f"{lock}: {exc}")
            continue
        relock.extend(f"{lock}: {entry}" for entry in update.relock)
        if update.stale:
            stale.append(lock)
        elif update.text is not None and update.text != lock_text:
            changes.append(FileChange(lock, lock_text, update.text))
            rehashed.extend(RehashedEntry.of(lock, r) for r in update.rehashed)


def _entries(path: str, report: FileReport) -> list[ChangedEntry]:
    """The table rows of a pyproject's fixed package findings: before is the requirement
    as written (Poetry's findings give none: its name), or "" for a package the project
    did not list (private-transitive), whatever version a lock holds."""
    return [
        ChangedEntry(
            path,
            finding.category,
            finding.package,
            ""
            if finding.kind is FindingKind.PRIVATE_TRANSITIVE
            else finding.current or finding.package,
            finding.expected or "",
        )
        for finding in report.fixable
        if finding.category and finding.package and finding.kind is not FindingKind.MISSING_SOURCE
    ]


def _rewritten(
    parts: _Parts, text: str, report: FileReport, rewrite: Callable[[], str]
) -> str | None:
    """A pyproject's new text from ``rewrite``, recorded with its entries; None when it has
    nothing to fix, or the fix cannot be made (recorded as unfixable) or changes nothing."""
    if not report.fixable:
        return None
    try:
        new_text = rewrite()
    except (FixError, RewriteError) as exc:
        parts.unfixable.append(f"{report.path}: {exc}")
        return None
    if new_text == text:
        return None
    parts.changes.append(FileChange(report.path, text, new_text))
    parts.entries.extend(_entries(report.path, report))
    return new_text


def _added_index(report: FileReport) -> bool:
    return any(f.kind is FindingKind.MISSING_SOURCE for f in report.fixable)


def _project_report(
    parts: _Parts,
    project: projects.Project,
    locks: Mapping[str, str],
    lock: str,
    listing: Listing,
    options: AuditOptions,
) -> FileReport | None:
    """The manifest's findings with its lock's; None (recorded as unfixable) when the lock
    beside it is not one."""
    lock_text = locks.get(lock)
    try:
        locked = None if lock_text is None else projects.parse_project_lock(project, lock_text)
    except PipfileError as exc:
        parts.unfixable.append(f"{lock}: {exc}")
        return None
    return projects.project_report(project, listing, options, locked, lock)


def _fix_uv(
    parts: _Parts,
    path: str,
    text: str,
    locks: Mapping[str, str],
    listing: Listing,
    options: AuditOptions,
) -> None:
    """A uv pyproject.toml's fix; its uv.lock is left alone with a note to run ``uv lock``."""
    try:
        project = uvproject.parse(text, path)
    except PipfileError:
        return  # the scan reports it; the fix job keeps an open pull request open
    lock = uvlock.sibling_lock(path)
    lock_text = locks.get(lock)
    report = _project_report(parts, project, locks, lock, listing, options)
    if report is None:
        return
    if not _rewritten(
        parts, text, report, lambda: uvrewrite.rewrite(text, report, listing, options)
    ):
        return
    relock = None
    if lock_text is not None:
        packages = {f.package for f in report.fixable if f.package}
        relock = uvlock.relock_note(lock, sorted(packages))
    parts.manifests.append(
        ManifestFix(
            path,
            ManifestKind.UV,
            added_index=_added_index(report),
            lock=lock if lock_text is not None else None,
            relock=relock,
        )
    )


def _fix_poetry(
    parts: _Parts,
    path: str,
    text: str,
    locks: Mapping[str, str],
    listing: Listing,
    options: AuditOptions,
) -> None:
    """A Poetry pyproject.toml's fix, and its poetry.lock updated in place when it can be."""
    try:
        project = poetryproject.parse(text, path)
    except PipfileError:
        return  # the scan reports it; the fix job keeps an open pull request open
    lock = poetrylock.sibling_lock(path)
    lock_text = locks.get(lock)
    report = _project_report(parts, project, locks, lock, listing, options)
    if report is None:
        return
    new_text = _rewritten(parts, text, report, lambda: poetryrewrite.rewrite(text, report))
    if new_text is None:
        return
    updated, relock = False, None
    if lock_text is not None:
        try:
            update = poetrylock.update_lock(lock_text, text, new_text, listing)
        except (PipfileError, RewriteError) as exc:
            relock = f"{lock} could not be updated ({exc}): run poetry lock"
        else:
            if update.text is not None and update.text != lock_text:
                parts.changes.append(FileChange(lock, lock_text, update.text))
                updated = True
            relock = update.note
    parts.manifests.append(
        ManifestFix(
            path,
            ManifestKind.POETRY,
            added_index=_added_index(report),
            lock=lock if lock_text is not None else None,
            lock_updated=updated,
            relock=relock,
        )
    )


def _fix_requirements(
    parts: _Parts, manifests: Manifests, listing: Listing, options: AuditOptions
) -> None:
    """Each requirements install's applied changes and the proposals left to a person.

    An install is a requirements file no other one includes: pip reads the index options
    of every included file as one set, so a file is only judged within what includes it.
    A later install reads the files as the earlier ones left them.
    """
    original: dict[str, str | None] = {**manifests.includes, **manifests.requirements}
    texts = dict(original)
    # Through any file read: a discovered file included only by way of another (-r dev.in)
    # is no install of its own either.
    included = {
        wanted
        for path, text in original.items()
        if text is not None
        for wanted in wanted_includes(path, text)
    }
    shown: set[Proposal] = set()
    for root in sorted(path for path in manifests.requirements if path not in included):
        try:
            tree = load_tree(root, texts)
        except PipfileError:
            continue  # the scan reports it; the fix job keeps an open pull request open
        report = audit_loaded(tree, listing, options)
        proposed = requirementsrewrite.proposals(tree, report, options)
        if not proposed:
            continue
        applied: dict[str, str] = {}
        automatic = any(p.automatic for p in proposed)  # else all are for a person to make
        if automatic and tree.problems:
            # An include not read may hold index options that change the right answer.
            parts.unfixable.append(f"{root}: {tree.problems[0].message}")
        elif automatic:
            try:
                applied = requirementsrewrite.rewrite(tree, report, listing, options)
            except RewriteError as exc:
                parts.unfixable.append(f"{root}: {exc}")
        texts.update(applied)
        made = tuple(p for p in proposed if applied and p.automatic)
        left = tuple(p for p in proposed if p not in made and p not in shown)
        shown.update(left)
        if made or left:
            parts.manifests.append(
                ManifestFix(root, ManifestKind.REQUIREMENTS, applied=made, proposals=left)
            )
    for path, text in texts.items():
        old = original[path]
        if text is not None and old is not None and text != old:
            parts.changes.append(FileChange(path, old, text))
