"""``pipfleet check``: audit local Pipfiles and, when asked, fix them in place.

A Pipfile.lock beside a Pipfile is read too: its provenance (``foreign-hashes``,
``version-not-found`` on lock entries) and the private packages it installs that
the Pipfile does not list (``private-transitive``) are judged against the
listing's hashes and dependencies, offline. ``--fix`` never writes the lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pipfleet.engine.audit import AuditOptions, audit_text
from pipfleet.engine.findings import FileReport, Finding, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.provenance import LOCK_NAME
from pipfleet.engine.rewrite import rewrite, unified_diff
from pipfleet.errors import FixError, PipfileError, RewriteError
from pipfleet.files import find_pipfiles, read_text, write_atomically
from pipfleet.safetext import mask_credentials


class Mode(StrEnum):
    AUDIT = "audit"
    DIFF = "diff"  # compute the fix and show it, write nothing
    FIX = "fix"  # write the fix


class FileStatus(StrEnum):
    COMPLIANT = "compliant"
    NEEDS_ACTION = "needs-action"
    FIXED = "fixed"  # a fix was written and nothing is left to do
    INVALID = "invalid"  # unreadable or not a valid Pipfile


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

    @property
    def status(self) -> FileStatus:
        if self.report.parse_error is not None:
            return FileStatus.INVALID
        if any(finding.needs_action for finding in self.remaining):
            return FileStatus.NEEDS_ACTION
        return FileStatus.FIXED if self.written else FileStatus.COMPLIANT


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
    """Audit one Pipfile's text (with its lock's, if any) and, unless only auditing, its fix."""
    pipfile, report = audit_text(text, path, listing, options, lock_text, lock_path)
    pending = tuple(f for f in report.findings if f.needs_action)
    if pipfile is None or mode is Mode.AUDIT or not report.fixable:
        return FileResult(path, report, remaining=pending)
    try:
        new_text = rewrite(pipfile, report, options.source_url)
    except (FixError, RewriteError) as exc:
        return FileResult(path, report, fix_error=str(exc), remaining=pending)
    remaining = pending
    if mode is Mode.FIX:
        _, after = audit_text(new_text, path, listing, options, lock_text, lock_path)
        remaining = tuple(f for f in after.findings if f.needs_action)
    return FileResult(
        path,
        report,
        new_text=new_text,
        diff=mask_credentials(unified_diff(text, new_text, path)),
        remaining=remaining,
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
    result = check_text(text, str(path), listing, options, mode, lock_text, str(lock))
    if mode is Mode.FIX and result.new_text is not None:
        write_atomically(path, result.new_text)
        return FileResult(
            result.path,
            result.report,
            new_text=result.new_text,
            diff=result.diff,
            written=True,
            remaining=result.remaining,
        )
    return result


def check_paths(
    paths: Iterable[Path], listing: Listing, options: AuditOptions, mode: Mode
) -> CheckResult:
    """Check every Pipfile named by or found under ``paths``."""
    pipfiles = list(find_pipfiles(paths))  # a bad path fails before any file is written
    results = tuple(check_file(path, listing, options, mode) for path in pipfiles)
    return CheckResult(results, mode)
