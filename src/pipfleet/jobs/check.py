"""``pipfleet check``: audit local manifests and, when asked, fix them in place.

Pipfiles are checked here; uv and Poetry pyproject.toml files and requirements files by
``checkmanifests``, imported only when one is found (a pre-commit hook on a Pipfile
loads none of their engines). Each result names its file's kind.

A Pipfile.lock beside a Pipfile is read too: its provenance (``foreign-hashes``,
``version-not-found`` on lock entries) and the private packages it installs that
the Pipfile does not list (``private-transitive``) are judged against the
listing's hashes and dependencies, offline. ``--fix`` brings the lock along as the
fix pull request does (``fixset.build_fix``), or says why it cannot and that
``pipenv lock`` must.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from pipfleet.engine.audit import AuditOptions, audit_text
from pipfleet.engine.findings import FileReport, Finding, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.provenance import LOCK_NAME
from pipfleet.engine.rewrite import rewrite, unified_diff
from pipfleet.errors import FixError, PipfileError, RewriteError
from pipfleet.files import find_manifests, read_text, write_atomically
from pipfleet.manifests import PYPROJECT_NAME, is_requirements
from pipfleet.safetext import mask_credentials
from pipfleet.states import ManifestKind

if TYPE_CHECKING:
    from pipfleet.engine.fixset import RepoFix


class Mode(StrEnum):
    AUDIT = "audit"
    DIFF = "diff"  # compute the fix and show it, write nothing
    FIX = "fix"  # write the fix


class FileStatus(StrEnum):
    COMPLIANT = "compliant"
    NEEDS_ACTION = "needs-action"
    FIXED = "fixed"  # a fix was written and nothing is left to do
    INVALID = "invalid"  # unreadable or not a valid manifest
    # A pyproject.toml neither uv's nor Poetry's: no engine here reads its index settings.
    NOT_AUDITED = "not-audited"


RELOCK = "run `pipenv lock` (with CODEARTIFACT_AUTH_TOKEN exported)"


@dataclass(frozen=True)
class LockResult:
    """What the fix does to the Pipfile.lock beside the Pipfile."""

    path: str
    new_text: str | None  # the updated lock; None when it is left as it is
    problem: str | None = None  # why it is left as it is, or what still needs relocking
    rehashed: int = 0  # entries given CodeArtifact's files in place of foreign ones
    written: bool = False

    @classmethod
    def of(cls, fix: RepoFix, path: str, shown: str) -> LockResult | None:
        """The lock's part of ``fix`` (``path`` as build_fix names it, ``shown`` as the
        user gave it); None when the fix does not concern the lock."""
        new_text = next((c.new_text for c in fix.changes if c.path == path), None)
        prefix = f"{path}: "
        problems = [e.removeprefix(prefix) for e in fix.unfixable if e.startswith(prefix)]
        if path in fix.stale_locks:
            problems.append("it was already out of date with the Pipfile")
        for entry in (e.removeprefix(prefix) for e in fix.relock):
            if "==" in entry:
                problems.append(f"CodeArtifact does not have {entry}")
            else:
                problems.append(f"it does not hold {entry}, which the fix adds to the Pipfile")
        if new_text is None and not problems:
            return None
        problem = f"{'; '.join(problems)}: {RELOCK}" if problems else None
        rehashed = sum(1 for entry in fix.rehashed if entry.foreign)
        return cls(shown, new_text, problem, rehashed)


@dataclass(frozen=True)
class ChangedFile:
    """Another file a manifest's fix changes: a file a requirements file includes (-r/-c)."""

    path: str
    new_text: str
    written: bool = False


@dataclass(frozen=True)
class FileResult:
    path: str
    report: FileReport  # findings before any fix
    new_text: str | None = None  # the fixed text, when a fix changes the file
    diff: str = ""  # for people (text and JSON output): literal credentials masked
    written: bool = False
    fix_error: str | None = None
    # Findings still needing action: after the fix when one was written, else as found.
    remaining: tuple[Finding, ...] = ()
    lock: LockResult | None = None  # diff/fix mode: the lock beside it, when the fix concerns it
    kind: ManifestKind | None = ManifestKind.PIPFILE  # None: a pyproject.toml not audited
    also: tuple[ChangedFile, ...] = ()  # diff/fix mode: other files its fix changes

    @property
    def status(self) -> FileStatus:
        if self.kind is None:
            return FileStatus.NOT_AUDITED
        if self.report.parse_error is not None:
            return FileStatus.INVALID
        if any(finding.needs_action for finding in self.remaining):
            return FileStatus.NEEDS_ACTION
        fixed = self.written or any(
            f.written for f in (*self.also, *(() if self.lock is None else (self.lock,)))
        )
        return FileStatus.FIXED if fixed else FileStatus.COMPLIANT


@dataclass(frozen=True)
class CheckResult:
    files: tuple[FileResult, ...]
    mode: Mode

    @property
    def exit_code(self) -> int:
        statuses = {result.status for result in self.files}
        if FileStatus.INVALID in statuses:
            return 2
        return 1 if FileStatus.NEEDS_ACTION in statuses else 0

    def counts(self) -> Counter[str]:
        return Counter(f.kind.value for result in self.files for f in result.report.findings)


def check_text(
    text: str,
    path: str,
    listing: Listing,
    options: AuditOptions,
    mode: Mode,
    lock_text: str | None = None,
    lock_path: str | None = None,
) -> FileResult:
    """Audit one Pipfile's text (with its lock's, if any) and, unless only auditing, its
    fix: the Pipfile's and the lock's, as the fix pull request makes them."""
    pipfile, report = audit_text(text, path, listing, options, lock_text, lock_path)
    pending = tuple(f for f in report.findings if f.needs_action)
    if pipfile is None or mode is Mode.AUDIT:
        return FileResult(path, report, remaining=pending)
    lock = None
    foreign = any(f.kind is FindingKind.FOREIGN_HASHES for f in report.findings)
    if lock_text is not None and (report.fixable or foreign):
        # Imported here: the audit a pre-commit hook runs never rewrites a lock.
        from pipfleet.engine.fixset import build_fix
        from pipfleet.engine.fixset import lock_path as lock_path_of

        # Keyed as build_fix looks for it; shown as the caller named it.
        key = lock_path_of(path)
        fix = build_fix({path: text}, {key: lock_text}, listing, options)
        lock = LockResult.of(fix, key, lock_path or key)
    if not report.fixable and (lock is None or lock.new_text is None):
        return FileResult(path, report, remaining=pending, lock=lock)
    new_text = None
    if report.fixable:
        try:
            new_text = rewrite(pipfile, report, options.source_url)
        except (FixError, RewriteError) as exc:
            return FileResult(path, report, fix_error=str(exc), remaining=pending)
    remaining = pending
    if mode is Mode.FIX:
        new_lock = lock.new_text if lock is not None and lock.new_text is not None else lock_text
        _, after = audit_text(new_text or text, path, listing, options, new_lock, lock_path)
        remaining = tuple(f for f in after.findings if f.needs_action)
    return FileResult(
        path,
        report,
        new_text=new_text,
        diff=mask_credentials(unified_diff(text, new_text, path)) if new_text else "",
        remaining=remaining,
        lock=lock,
    )


def check_file(path: Path, listing: Listing, options: AuditOptions, mode: Mode) -> FileResult:
    try:
        text = read_text(path)
    except PipfileError as exc:
        finding = Finding(FindingKind.PARSE_ERROR, str(path), exc.message)
        return FileResult(str(path), FileReport(str(path), (finding,)), remaining=(finding,))
    lock = path.parent / LOCK_NAME
    lock_text = None
    if lock.is_file():
        try:
            lock_text = read_text(lock)
        except PipfileError:
            lock_text = None  # unreadable: pipenv cannot install from it either
    return check_text(text, str(path), listing, options, mode, lock_text, str(lock))


def write_fix(result: FileResult) -> FileResult:
    """``result`` once its fix is on disk: the file, the lock beside it and the other files
    its fix changes, each at the path the result names."""
    done = result
    if result.new_text is not None:
        write_atomically(Path(result.path), result.new_text)
        done = replace(done, written=True)
    if result.lock is not None and result.lock.new_text is not None:
        write_atomically(Path(result.lock.path), result.lock.new_text)
        done = replace(done, lock=replace(result.lock, written=True))
    for change in result.also:
        write_atomically(Path(change.path), change.new_text)
    return replace(done, also=tuple(replace(change, written=True) for change in result.also))


def is_other_manifest(path: Path) -> bool:
    """Whether ``path`` is checked by ``checkmanifests``: a pyproject.toml, a requirements
    file, or any .txt named on the command line (pip reads whatever -r names)."""
    return path.name == PYPROJECT_NAME or is_requirements(path.as_posix()) or path.suffix == ".txt"


def check_paths(
    paths: Iterable[Path], listing: Listing, options: AuditOptions, mode: Mode
) -> CheckResult:
    """Check every manifest named by or found under ``paths``, in the order found."""
    found = list(find_manifests(paths))  # a bad path fails before any file is written
    others = [path for path in found if is_other_manifest(path)]
    by_path: dict[Path, FileResult] = {}
    if others:
        # Imported here: their engines are not loaded for a check of Pipfiles alone.
        from pipfleet.jobs.checkmanifests import check_files

        by_path = dict(zip(others, check_files(others, listing, options, mode), strict=True))
    results = tuple(
        by_path[path] if path in by_path else check_file(path, listing, options, mode)
        for path in found
    )
    if mode is Mode.FIX:
        results = tuple(write_fix(result) for result in results)
    return CheckResult(results, mode)
