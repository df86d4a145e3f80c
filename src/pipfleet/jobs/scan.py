"""The fleet scan: enumerate repositories, read their manifests, audit, record.

The job orchestrates injected parts: a GitHub gateway, the registry answers
(listing and intel), and a recorder for the database (None in a dry run). The
per-repository audit is a pure function of what GitHub returned.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pipfleet.config import GitHubSettings, SafetySettings
from pipfleet.engine.audit import AuditOptions, audit, parse_error_report
from pipfleet.engine.confusion import PackageIntel
from pipfleet.engine.findings import FileReport
from pipfleet.engine.listing import Listing, versions_used
from pipfleet.engine.pipfile import Pipfile, parse
from pipfleet.engine.projects import (
    Project,
    ProjectLock,
    lock_or_none,
    parse_project,
    project_report,
    project_versions,
)
from pipfleet.engine.provenance import LockedPackage, locked_packages, sibling_lock
from pipfleet.engine.requirementsrewrite import audit_with_proposals
from pipfleet.errors import ImplausibleChange, Interrupted, PipfileError, PipfleetError
from pipfleet.github.queries import BlobRead, PullRead, RepoFiles
from pipfleet.manifests import PIPFILE_LOCK, lock_name, sibling
from pipfleet.repositories import RepoSummary
from pipfleet.scanresults import (
    Baseline,
    DryRun,
    PipfileResult,
    Recorder,
    RepoResult,
    ScanSummary,
)
from pipfleet.states import ManifestKind, PipfileStatus, RunStatus, ScanStatus


class Gateway(Protocol):
    requests: int

    def list_repositories(self) -> list[RepoSummary]: ...
    def read_files(
        self, repos: Sequence[RepoSummary], on_batch: Callable[[int], None] | None = None
    ) -> list[RepoFiles]: ...
    def read_texts(
        self, wanted: Sequence[tuple[RepoSummary, Sequence[str]]]
    ) -> dict[str, dict[str, str]]: ...
    def read_pulls(
        self, wanted: Sequence[tuple[RepoSummary, int]]
    ) -> dict[tuple[str, int], PullRead]: ...


def audit_digest(listing: Listing, intel: Mapping[str, PackageIntel], options: AuditOptions) -> str:
    """Everything besides the Pipfiles that an audit depends on: a change forces a re-read."""
    state = {
        "listing": listing.digest(),
        "intel": sorted(
            (i.name, i.origin.value, i.upstream_allowed, i.public.value) for i in intel.values()
        ),
        "index": options.index_name,
        "source_url": options.source_url,
        # The kinds of manifest a scan reads: a repository carried over from a scan that read
        # fewer kinds would keep a result blind to its other manifests.
        "manifests": [kind.value for kind in ManifestKind],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def skip_reason(repo: RepoSummary, settings: GitHubSettings) -> str | None:
    """Why a matching repository is not read, or None."""
    if settings.skip_archived and repo.archived:
        return "archived"
    if settings.skip_forks and repo.fork:
        return "fork"
    if settings.skip_disabled and repo.disabled:
        return "disabled"
    if repo.empty or repo.head_oid is None:
        return "empty"
    return None


def matches(repo: RepoSummary, settings: GitHubSettings) -> bool:
    def hit(patterns: Sequence[str]) -> bool:
        return any(fnmatch.fnmatchcase(repo.name, pattern) for pattern in patterns)

    return hit(settings.include) and not hit(settings.exclude)


@dataclass(frozen=True)
class ParsedFiles:
    """A repository's files, each manifest and Pipfile.lock parsed once: the version lookup
    and the audit both read them, and parsing is most of a scan's own work."""

    files: RepoFiles
    pipfiles: Mapping[str, Pipfile | PipfileError]  # by path, the readable blobs only
    locks: Mapping[str, list[LockedPackage] | None]  # by path; None: not a Pipfile.lock
    # the readable uv and Poetry manifests, by path
    projects: Mapping[str, Project | PipfileError] = field(default_factory=dict)
    # the lock beside each of those that has a readable one, by the manifest's path; a
    # lock that is not one is audited as no lock, as a Pipfile.lock is
    project_locks: Mapping[str, ProjectLock] = field(default_factory=dict)

    @property
    def repo(self) -> RepoSummary:
        return self.files.repo


def _readable(blob: BlobRead) -> bool:
    return not (blob.text is None or blob.truncated or blob.binary or blob.too_large)


def parse_files(files: RepoFiles) -> ParsedFiles:
    """Parse a repository's readable manifests and its Pipfile.lock files. Pure."""
    pipfiles: dict[str, Pipfile | PipfileError] = {}
    projects: dict[str, Project | PipfileError] = {}
    if files.error is None:
        for blob in files.all_manifests:
            if not _readable(blob) or blob.kind is ManifestKind.REQUIREMENTS:
                continue  # a requirements file is read with its includes when audited
            assert blob.text is not None
            try:
                if blob.kind is ManifestKind.PIPFILE:
                    pipfiles[blob.path] = parse(blob.text, blob.path)
                else:
                    projects[blob.path] = parse_project(blob.kind, blob.text, blob.path)
            except PipfileError as exc:
                (pipfiles if blob.kind is ManifestKind.PIPFILE else projects)[blob.path] = exc
    locks = {} if files.error is not None else files.lock_texts
    project_locks: dict[str, ProjectLock] = {}
    for blob in files.all_manifests if files.error is None else ():
        project = projects.get(blob.path)
        lock = lock_name(blob.kind)
        lock_text = locks.get(sibling(blob.path, lock)) if lock else None
        if project is None or isinstance(project, PipfileError):
            continue
        if (locked := lock_or_none(project, lock_text)) is not None:
            project_locks[blob.path] = locked
    return ParsedFiles(
        files,
        pipfiles,
        {
            path: locked_packages(text)
            for path, text in locks.items()
            if path.rpartition("/")[2] == PIPFILE_LOCK
        },
        projects,
        project_locks,
    )


def _manifest_result(
    blob: BlobRead, parsed: ParsedFiles, listing: Listing, options: AuditOptions
) -> PipfileResult:
    lock = lock_name(blob.kind)
    has_lock = lock is not None and sibling(blob.path, lock) in parsed.files.lockfiles
    unreadable = None
    if blob.too_large:
        unreadable = PipfileStatus.TOO_LARGE
    elif blob.binary:
        unreadable = PipfileStatus.BINARY
    elif blob.truncated or blob.text is None:
        unreadable = PipfileStatus.TRUNCATED
    if unreadable is not None:  # recorded as such, never parsed
        report = FileReport(blob.path, ())
        return PipfileResult(blob.path, blob.oid, unreadable, report, has_lock, blob.kind)
    if blob.kind is ManifestKind.REQUIREMENTS:  # pip reads what it includes as one install
        texts = parsed.files.requirements_texts()
        report = audit_with_proposals(blob.path, texts, listing, options)
        status = PipfileStatus.PARSE_ERROR if report.parse_error else PipfileStatus.OK
        return PipfileResult(blob.path, blob.oid, status, report, has_lock, blob.kind)
    manifest = (parsed.pipfiles if blob.kind is ManifestKind.PIPFILE else parsed.projects)[
        blob.path
    ]
    if isinstance(manifest, PipfileError):
        report = parse_error_report(blob.path, manifest)
    elif isinstance(manifest, Pipfile):
        locked = parsed.locks.get(sibling_lock(blob.path))
        report = audit(manifest, listing, options, locked, sibling_lock(blob.path))
    else:
        lock_path = sibling(blob.path, lock) if lock else None
        project_lock = parsed.project_locks.get(blob.path)
        report = project_report(manifest, listing, options, project_lock, lock_path)
    status = PipfileStatus.PARSE_ERROR if report.parse_error else PipfileStatus.OK
    return PipfileResult(blob.path, blob.oid, status, report, has_lock, blob.kind)


def file_opt_out(text: str | None) -> str | None:
    """Why a repository's .pipfleet.toml (its text, if any) opts it out of pull requests."""
    if not text:
        return None
    try:
        enabled = tomllib.loads(text).get("enabled", True)
    except tomllib.TOMLDecodeError:
        return None
    return ".pipfleet.toml says enabled = false" if enabled is False else None


def audit_repository(parsed: ParsedFiles, listing: Listing, options: AuditOptions) -> RepoResult:
    """A repository's result from what GitHub returned for it, parsed. Pure."""
    files = parsed.files
    if files.error is not None:
        return RepoResult(files.repo, ScanStatus.FAILED, error=files.error)
    results = tuple(
        _manifest_result(blob, parsed, listing, options) for blob in files.all_manifests
    )
    return RepoResult(
        files.repo, ScanStatus.FETCHED, results, opted_out=file_opt_out(files.opt_out)
    )


def wanted_versions(fleet: Sequence[ParsedFiles], listing: Listing) -> set[tuple[str, str]]:
    """The private (package, version) pairs the read manifests and their locks use. Pure."""
    wanted = versions_used(
        (p for parsed in fleet for p in parsed.pipfiles.values() if isinstance(p, Pipfile)),
        (locked for parsed in fleet for locked in parsed.locks.values() if locked),
        listing,
    )
    for parsed in fleet:
        for path, project in parsed.projects.items():
            if not isinstance(project, PipfileError):
                wanted |= project_versions(project, parsed.project_locks.get(path), listing)
    return wanted


# (listing, wanted private versions) -> the listing with their hashes and dependencies
VersionReader = Callable[[Listing, set[tuple[str, str]]], Listing]

Progress = Callable[[str, int], None]  # (phase, how many more done)


def no_progress(phase: str, count: int) -> None:
    """The Progress of a scan nobody watches."""


def one_line(exc: BaseException) -> str:
    """An unexpected exception as a short one-line reason fit for a record."""
    text = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {text}"[:300]


def _shrunk(before: int, now: int, allowed: float) -> bool:
    return before > 0 and (before - now) / before > allowed


def check_listing(listing: Listing, baseline: Baseline | None, safety: SafetySettings) -> None:
    """Refuse a private listing that lost more than the allowed share since the last good run."""
    if baseline is not None and _shrunk(baseline.packages, len(listing), safety.max_listing_shrink):
        raise ImplausibleChange(
            f"the private-package listing shrank from {baseline.packages} (run "
            f"{baseline.run_id}) to {len(listing)}, more than safety.max_listing_shrink = "
            f"{safety.max_listing_shrink:g} allows: nothing was acted on; if CodeArtifact "
            "really lost them, run again with --accept-shrink"
        )


def check_repositories(count: int, baseline: Baseline | None, safety: SafetySettings) -> None:
    """Refuse a repository list that lost more than the allowed share since the last good run."""
    if baseline is not None and _shrunk(baseline.repositories, count, safety.max_repository_shrink):
        raise ImplausibleChange(
            f"GitHub listed {count} matching repositories, down from {baseline.repositories} "
            f"(run {baseline.run_id}), more than safety.max_repository_shrink = "
            f"{safety.max_repository_shrink:g} allows: nothing was acted on; if they are "
            "really gone, run again with --accept-shrink"
        )


def _parsed(files: RepoFiles) -> ParsedFiles | RepoResult:
    try:
        return parse_files(files)
    except Exception as exc:  # one repository's content never stops the fleet
        return RepoResult(files.repo, ScanStatus.FAILED, error=one_line(exc))


def _audited(
    parsed: ParsedFiles | RepoResult, listing: Listing, options: AuditOptions
) -> RepoResult:
    if isinstance(parsed, RepoResult):
        return parsed
    try:
        return audit_repository(parsed, listing, options)
    except Exception as exc:  # one repository's content never stops the fleet
        return RepoResult(parsed.repo, ScanStatus.FAILED, error=one_line(exc))


def _record(recorder: Recorder, result: RepoResult, digest: str) -> RepoResult:
    """Record a result; one the database refuses is recorded as that repository's failure.

    A second refusal is the database's own failure, not the repository's: it stops the scan.
    """
    try:
        recorder.record(result, digest)
        return result
    except Exception as exc:
        failed = RepoResult(result.repo, ScanStatus.FAILED, error=one_line(exc))
        recorder.record(failed, digest)
        return failed


def run_scan(
    settings: GitHubSettings,
    gateway: Gateway,
    listing: Listing,
    intel: Mapping[str, PackageIntel],
    options: AuditOptions,
    recorder: Recorder | None,
    progress: Progress | None = None,
    *,
    safety: SafetySettings | None = None,
    accept_shrink: bool = False,
    versions: VersionReader | None = None,
) -> ScanSummary:
    """Scan the org: repositories unchanged since the last successful scan carry over.

    A dry run (no recorder) records through ``DryRun``: it writes nothing and so reads
    every repository afresh. A
    listing or repository list that shrank implausibly since the last good run stops the
    scan (recorded as failed) unless ``accept_shrink``. Any exception marks the run
    failed (or interrupted) before it propagates: only completed scans drive closures.

    ``versions`` completes the listing with what CodeArtifact holds for the private
    versions the read files use (hashes, dependencies) before they are audited; the
    audit digest they are recorded with covers what it added.
    """
    recorder = DryRun() if recorder is None else recorder
    progress = progress or no_progress
    summary = ScanSummary()
    digest = audit_digest(listing, intel, options)
    previous = recorder.previous()
    baseline = None if accept_shrink else recorder.baseline()
    guard = safety or SafetySettings()
    summary.run_id = recorder.start(digest)
    try:
        check_listing(listing, baseline, guard)
        repos = [repo for repo in gateway.list_repositories() if matches(repo, settings)]
        check_repositories(len(repos), baseline, guard)
        summary.repositories = len(repos)
        progress("listed", len(repos))
        recorder.record_packages(intel)
        to_read, to_carry = [], []
        for repo in repos:
            reason = skip_reason(repo, settings)
            earlier = previous.get(repo.full_name)
            if reason is not None:
                result = RepoResult(repo, ScanStatus.SKIPPED, skip_reason=reason)
            elif earlier and earlier.head_oid == repo.head_oid and earlier.audit_digest == digest:
                to_carry.append((repo, earlier))
                continue
            else:
                to_read.append(repo)
                continue
            summary.add(_record(recorder, result, digest))
            progress("repository", 1)
        if to_carry:
            summary.add_carried(recorder.carry(to_carry))
            progress("repository", len(to_carry))
        fleet = [_parsed(files) for files in gateway.read_files(to_read)]
        if versions is not None and fleet:
            parsed = [item for item in fleet if isinstance(item, ParsedFiles)]
            listing = versions(listing, wanted_versions(parsed, listing))
            digest = audit_digest(listing, intel, options)
        for item in fleet:
            summary.add(_record(recorder, _audited(item, listing, options), digest))
            progress("repository", 1)
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt | SystemExit | Interrupted)
        summary.status = RunStatus.INTERRUPTED if stopped else RunStatus.FAILED
        summary.errors.append(str(exc) if isinstance(exc, PipfleetError) else one_line(exc))
        raise
    finally:
        summary.github_requests = gateway.requests
        if summary.status not in (RunStatus.FAILED, RunStatus.INTERRUPTED):
            summary.status = RunStatus.PARTIAL if summary.failed else RunStatus.COMPLETED
        recorder.finish(summary)
    return summary
