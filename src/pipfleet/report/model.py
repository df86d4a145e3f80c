"""What a report shows, as frozen dataclasses: built by ``data``, read by every format."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pipfleet.engine.findings import FindingKind, Severity
from pipfleet.errors import UsageError
from pipfleet.store.models import PullRequestState

TREND_RUNS = 12
KINDS = tuple(kind.value for kind in FindingKind)
SEVERITIES = tuple(severity.label for severity in sorted(Severity, reverse=True))
# Higher is worse. Rows from a newer engine may hold a severity this one does not know:
# look it up with .get(label, -1), so that it ranks below info.
SEVERITY_RANK = {severity.label: int(severity) for severity in Severity}
PR_STATES = tuple(state.value for state in PullRequestState)


@dataclass(frozen=True)
class ReportQuery:
    """Which run (default: the latest finished), which repositories, which finding kind."""

    run_id: int | None = None
    repo: str | None = None  # shell pattern on the name or full name, case-insensitive
    kind: str | None = None
    trend_runs: int = TREND_RUNS

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise UsageError(f"unknown finding kind {self.kind!r}: one of {', '.join(KINDS)}")
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
class RepositoryRow:
    repository_id: int
    full_name: str
    name: str
    html_url: str | None
    status: str  # fetched | carried | failed | skipped
    skip_reason: str | None
    compliant: bool | None  # None: nothing to judge
    pipfiles: int
    findings: int  # needing action (severity above info), of the --kind when given
    worst_severity: str | None  # of the findings needing action
    last_scanned_at: datetime
    error: str | None
    pull_request: PullRequestRow | None  # the open one, else the one updated last

    @property
    def state(self) -> str:
        """One word for the repository: failed, skipped, no-pipfile, compliant, non-compliant."""
        if self.status in ("failed", "skipped"):
            return self.status
        if self.compliant is None:
            return "no-pipfile"
        return "compliant" if self.compliant else "non-compliant"


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
    run_id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    run_error: str | None
    repositories: int
    repositories_with_pipfiles: int
    compliant_repositories: int
    compliant_share: float | None  # None when no selected repository has a Pipfile
    pipfiles: int
    failed_repositories: int
    skipped_repositories: int
    findings: int
    findings_needing_action: int
    findings_by_kind: Mapping[str, int]
    findings_by_severity: Mapping[str, int]  # every known severity, critical first
    pull_requests: Mapping[str, int]  # every state, of the selected repositories, any run
    confusion_risks: int
    foreign_hashes: int  # lock entries holding files CodeArtifact does not have


@dataclass(frozen=True)
class Report:
    query: ReportQuery
    generated_at: datetime
    summary: FleetSummary
    trend: tuple[TrendPoint, ...]  # oldest first, ending with this run
    repositories: tuple[RepositoryRow, ...]  # by full name
    packages: tuple[PackageRow, ...]  # by name
    findings: tuple[FindingRow, ...]  # most severe first

    @property
    def risks(self) -> tuple[FindingRow, ...]:
        """Dependency confusion: locks that show it may already have happened (foreign
        hashes) first, then the risks of it, critical first."""
        foreign = FindingKind.FOREIGN_HASHES.value
        return tuple(f for f in self.findings if f.kind == foreign) + tuple(
            f for f in self.findings if f.kind == FindingKind.CONFUSION_RISK.value
        )

    @property
    def errors(self) -> tuple[RepositoryRow, ...]:
        return tuple(r for r in self.repositories if r.status == "failed")
