"""A repository's whole fix: every Pipfile rewritten and every lock brought along. Pure.

The fix PR carries exactly this set of file changes. Its fingerprint names the
change and what it was made from, so a later run can tell "same fix, nothing to
do" from "the fix or the files under it changed".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from pipfleet.engine.audit import AuditOptions, audit_text
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.lockfile import Rehashed, update_lock
from pipfleet.engine.rewrite import rewrite, unified_diff
from pipfleet.errors import FixError, PipfileError, RewriteError

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
class RepoFix:
    changes: tuple[FileChange, ...]
    entries: tuple[ChangedEntry, ...]
    added_sources: tuple[str, ...] = ()  # Pipfiles that gained the private [[source]]
    stale_locks: tuple[str, ...] = ()  # locks that matched neither hash scheme: left alone
    unfixable: tuple[str, ...] = ()  # "path: reason" for Pipfiles that needed a fix but got none
    rehashed: tuple[RehashedEntry, ...] = ()  # lock entries given CodeArtifact's hashes
    # "lock: section/key==version" of private lock entries whose version CodeArtifact does
    # not have (hashes left alone), or "lock: section/key" of an added entry the lock does
    # not hold (lock left alone): run `pipenv lock`.
    relock: tuple[str, ...] = ()

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


def build_fix(
    pipfiles: Mapping[str, str],
    locks: Mapping[str, str],
    listing: Listing,
    options: AuditOptions,
) -> RepoFix:
    """Rewrite each Pipfile's fixable entries and update the lock beside each one."""
    changes: list[FileChange] = []
    entries: list[ChangedEntry] = []
    added, stale, unfixable = [], [], []
    rehashed: list[RehashedEntry] = []
    relock: list[str] = []
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
    return RepoFix(
        tuple(changes),
        tuple(entries),
        tuple(added),
        tuple(stale),
        tuple(unfixable),
        tuple(rehashed),
        tuple(relock),
    )
