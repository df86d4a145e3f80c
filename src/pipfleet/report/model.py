"""What a report shows, as frozen dataclasses: built by ``data``, read by every format."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from packaging.utils import canonicalize_name

from pipfleet.engine.findings import FindingKind, Severity
from pipfleet.errors import UsageError
from pipfleet.states import ManifestKind, PullRequestState, RunStatus

TREND_RUNS = 12
KINDS = tuple(kind.value for kind in FindingKind)
MANIFEST_KINDS = tuple(kind.value for kind in ManifestKind)
SEVERITIES = tuple(severity.label for severity in sorted(Severity, reverse=True))
# Higher is worse. Rows from a newer engine may hold a severity this one does not know:
# look it up with .get(label, -1), so that it ranks below info.
SEVERITY_RANK = {severity.label: int(severity) for severity in Severity}
PR_STATES = tuple(state.value for state in PullRequestState)
# A repository's one word, worst first: what the dashboard filters and the summaries count.
STATES = (
    "non-compliant",
    "failed",
    "declined",
    "opted-out",
    "compliant",
    "no-pipfile",
    "skipped",
)
# Runs whose records are a picture of the whole fleet.
GOOD_RUNS = (RunStatus.COMPLETED.value, RunStatus.PARTIAL.value)


@dataclass(frozen=True)
class ReportQuery:
    """Which run (default: the latest finished), which repositories, which finding kind,
    which org (default: every org, each as of its own latest run), which manifest kind."""

    run_id: int | None = None
    repo: str | None = None  # shell pattern on the name or full name, case-insensitive
    kind: str | None = None
    trend_runs: int = TREND_RUNS
    org: str | None = None
    manifest: str | None = None  # a ManifestKind value: only files of that kind

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise UsageError(f"unknown finding kind {self.kind!r}: one of {', '.join(KINDS)}")
        if self.manifest is not None and self.manifest not in MANIFEST_KINDS:
            raise UsageError(
                f"unknown manifest kind {self.manifest!r}: one of {', '.join(MANIFEST_KINDS)}"
            )
        if self.trend_runs < 1:
            raise UsageError("the trend needs at least one run")

    def selects(self, name: str, full_name: str) -> bool:
        if self.repo is None:
            return True
        pattern = self.repo.lower()
        return fnmatch.fnmatchcase(name.lower(), pattern) or fnmatch.fnmatchcase(
            full_name.lower(), pattern
        )


@dataclass(frozen=True)
class PullRequestRow:
    number: int | None  # None until GitHub has opened it
    state: str
    title: str
    html_url: str | None
    updated_at: datetime


@dataclass(frozen=True)
class PipfileRow:
    path: str
    status: str  # ok | parse-error | too-large | binary | truncated | missing
    parse_error: str | None
    error_line: int | None
    error_column: int | None
    has_lock: bool
    compliant: bool | None
    manifest_kind: str  # a ManifestKind value


@dataclass(frozen=True)
class RunRow:
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str  # a RunStatus value
    error: str | None

    @property
    def good(self) -> bool:
        """Whether its records picture the fleet (completed, or partial)."""
        return self.status in GOOD_RUNS


@dataclass(frozen=True)
class RepositoryRow:
    repository_id: int
    full_name: str
    name: str
    html_url: str | None
    status: str  # of the run's scan: fetched | carried | failed | skipped
    skip_reason: str | None
    compliant: bool | None  # None: nothing to judge
    pipfiles: int
    findings: int  # needing action (severity above info), of the --kind when given
    worst_severity: str | None  # of the findings needing action
    last_scanned_at: datetime
    error: str | None
    pull_request: PullRequestRow | None  # the open one, else the one updated last
    # When the state shown was read, and by which run: the last successful read, which is
    # older than last_scanned_at when this scan failed (None: never read successfully).
    read_at: datetime | None = None
    read_run_id: int | None = None
    topics: tuple[str, ...] = ()
    opted_out: str | None = None  # why it wants no pull requests: topic or .pipfleet.toml
    pipfile_states: tuple[PipfileRow, ...] = ()  # its manifests of every kind, as last read
    pull_requests: tuple[PullRequestRow, ...] = ()  # every one, pull_request first
    kinds: tuple[str, ...] = ()  # the kinds of its findings, compliant left out
    org: str = ""
    why: str | None = None  # why pipfleet does not act on it: set from the fields above

    def __post_init__(self) -> None:
        # A field rather than a property: asdict (the MCP answers) and the JSON carry it.
        object.__setattr__(self, "why", self.reason_left_alone())

    @property
    def state(self) -> str:
        """One word for the repository, one of ``STATES``.

        A failed scan with an earlier successful read shows that read's state (the error
        stays on the row); a non-compliant repository that opted out, or whose pull
        request a maintainer closed unmerged, is counted as such, not as merely
        non-compliant.
        """
        if self.status == "failed" and self.read_at is None:
            return "failed"
        if self.status == "skipped":
            return "skipped"
        if self.compliant is None:
            return "no-pipfile"
        if self.compliant:
            return "compliant"
        if self.opted_out is not None:
            return "opted-out"
        if self.pull_request is not None and self.pull_request.state == "dismissed":
            return "declined"
        return "non-compliant"

    @property
    def manifest_kinds(self) -> tuple[str, ...]:
        """The kinds of its manifests as last read, in ManifestKind's order."""
        held = {p.manifest_kind for p in self.pipfile_states}
        return tuple(kind for kind in MANIFEST_KINDS if kind in held)

    @property
    def failure(self) -> str | None:
        """The scan error, saying so when the state shown is that of an earlier read."""
        if self.error is None:
            return None
        return f"last read failed: {self.error}" if self.read_at is not None else self.error

    def reason_left_alone(self) -> str | None:
        """Why pipfleet does not act on it, in words, or None."""
        if self.status == "skipped":
            return f"{self.skip_reason or 'such'} repositories are not read"
        if self.state == "opted-out":
            return f"opted out of pull requests ({self.opted_out})"
        if self.state == "declined":
            return "a maintainer closed pipfleet's pull request unmerged: it is not proposed again"
        return None


@dataclass(frozen=True)
class FindingRow:
    repository: str  # full name
    path: str
    line: int | None
    category: str | None
    package: str | None
    current: str | None
    expected: str | None
    index_name: str | None
    kind: str
    severity: str
    fixable: bool
    message: str
    manifest_kind: str  # of the file it is in: a ManifestKind value

    @property
    def needs_action(self) -> bool:
        return self.severity != Severity.INFO.label


@dataclass(frozen=True)
class PackageRow:
    name: str
    public_status: str  # taken | free | unknown: does public PyPI have the name
    origin: str
    upstream: str
    published: tuple[str, ...]  # versions CodeArtifact holds
    repositories: tuple[str, ...]  # full names of the selected repositories using it
    entries: int
    pinned_entries: int
    unpinned_entries: int
    versions: tuple[str, ...]  # the specs Pipfiles write for it, as written


@dataclass(frozen=True)
class TrendPoint:
    run_id: int
    started_at: datetime
    status: str
    repositories_with_pipfiles: int
    compliant_repositories: int
    compliant_share: float | None
    findings: int


@dataclass(frozen=True)
class FleetSummary:
    """The latest known state of the selected repositories, as of run ``run_id``.

    ``run_id`` is the run reported on (the latest, or the one asked for); the figures
    come from ``data_run``, the last run that read the fleet (completed or partial),
    which is that run itself unless it failed. Repositories whose read failed keep
    their last successful read.
    """

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    run_error: str | None
    data_run: RunRow | None  # None: no run has read the fleet yet
    repositories: int
    repositories_with_pipfiles: int
    compliant_repositories: int
    compliant_share: float | None  # None when no selected repository has a Pipfile
    pipfiles: int  # manifests of every kind
    manifests_by_kind: Mapping[str, int]  # every ManifestKind value, in its order
    failed_repositories: int
    skipped_repositories: int
    findings: int
    findings_needing_action: int
    findings_by_kind: Mapping[str, int]
    findings_by_severity: Mapping[str, int]  # every known severity, critical first
    pull_requests: Mapping[str, int]  # every state, of the selected repositories, any run
    confusion_risks: int  # entries that can install the public package: not pinned
    confusion_risks_pinned: int  # the name is taken on PyPI, the entry pinned to the index
    foreign_hashes: int  # lock entries holding files CodeArtifact does not have
    repositories_by_state: Mapping[str, int]  # every one of STATES
    scan_errors: int  # the entries of Report.errors


def run_failed(status: str) -> bool:
    """Whether a run ended without reading the fleet: failed, or interrupted."""
    return status not in (*GOOD_RUNS, RunStatus.RUNNING.value)


@dataclass(frozen=True)
class ScanError:
    subject: str  # "run 12", or a repository's full name
    message: str
    html_url: str | None = None


@dataclass(frozen=True)
class Report:
    query: ReportQuery
    generated_at: datetime
    summary: FleetSummary
    trend: tuple[TrendPoint, ...]  # oldest first, ending with this run
    repositories: tuple[RepositoryRow, ...]  # by full name
    packages: tuple[PackageRow, ...]  # by name
    findings: tuple[FindingRow, ...]  # most severe first
    # The orgs it covers when they are several (each shown as of its own latest run);
    # empty for one org, whose reports stay as they were before several orgs.
    orgs: tuple[str, ...] = ()

    @property
    def several_orgs(self) -> bool:
        """Whether the reports show an org column and filter."""
        return len(self.orgs) > 1

    @property
    def risks(self) -> tuple[FindingRow, ...]:
        """Dependency confusion: locks that show it may already have happened (foreign
        hashes) first, then the risks of it, critical first."""
        foreign = FindingKind.FOREIGN_HASHES.value
        return tuple(f for f in self.findings if f.kind == foreign) + tuple(
            f for f in self.findings if f.kind == FindingKind.CONFUSION_RISK.value
        )

    @property
    def errors(self) -> tuple[ScanError, ...]:
        """The run's own failure, if it failed, then each repository it could not read."""
        s = self.summary
        run: tuple[ScanError, ...] = ()
        if run_failed(s.status):
            run = (ScanError(f"run {s.run_id}", s.run_error or s.status),)
        return run + tuple(
            ScanError(r.full_name, r.error or "failed", r.html_url)
            for r in self.repositories
            if r.status == "failed"
        )

    @property
    def chart(self) -> dict[str, int]:
        """Findings by kind as the chart counts them: what moves when things get fixed.

        ``compliant`` is left out, and ``name-claimable`` counts packages, not entries:
        one free name is one name to register, however many Pipfiles use it.
        """
        claimable = FindingKind.NAME_CLAIMABLE.value
        counts = {
            kind: n
            for kind, n in self.summary.findings_by_kind.items()
            if kind not in (FindingKind.COMPLIANT.value, claimable)
        }
        names = {
            canonicalize_name(f.package)
            for f in self.findings
            if f.kind == claimable and f.package is not None
        }
        if names:
            counts[claimable] = len(names)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def banner(self) -> Banner:
        """The latest run's status, in words, for the top of every report."""
        return banner(self.summary, self.generated_at)


@dataclass(frozen=True)
class Banner:
    level: str  # ok | warning | error
    text: str


def age(delta: timedelta) -> str:
    """A duration as a person says it: "40 min", "5 h", "3 days"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 90:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def banner(s: FleetSummary, now: datetime) -> Banner:
    ended = s.finished_at or s.started_at
    data = s.data_run
    if s.status == RunStatus.RUNNING.value:
        return Banner("warning", f"Run {s.run_id} is still running (started {when(s.started_at)}).")
    if s.status == RunStatus.COMPLETED.value:
        return Banner("ok", f"Run {s.run_id} completed {when(ended)}: every repository was read.")
    if s.status == RunStatus.PARTIAL.value:
        return Banner(
            "warning",
            f"Run {s.run_id} finished {when(ended)} but could not read "
            f"{s.failed_repositories:,} repositories: they show their last successful "
            "read, with its age (see Scan errors).",
        )
    reason = (s.run_error or "no reason recorded").rstrip(".")
    if data is None:
        shown = "No run has read the fleet yet: there is nothing to show."
    else:
        read = data.finished_at or data.started_at
        shown = (
            f"The figures are the latest known state, from run {data.id}, read "
            f"{when(read)} ({age(now - read)} ago)."
        )
    return Banner("error", f"Run {s.run_id} {s.status} {when(ended)}: {reason}. {shown}")
