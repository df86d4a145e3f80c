"""What a scan finds and where it writes it: the results of each repository, the run's
summary, and the Recorder protocol the store implements.

Both the scan job and the store depend on this module, and it on neither, so imports run
one way: jobs -> store -> here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pipfleet.engine.confusion import PackageIntel
from pipfleet.engine.findings import FileReport
from pipfleet.repositories import RepoSummary
from pipfleet.states import ManifestKind, PipfileStatus, RunStatus, ScanStatus


@dataclass(frozen=True)
class PipfileResult:
    """One manifest's result: a Pipfile, or a uv, Poetry or requirements manifest."""

    path: str
    blob_oid: str | None
    status: PipfileStatus
    report: FileReport
    has_lock: bool = False  # its installer's lock sits beside it
    kind: ManifestKind = ManifestKind.PIPFILE

    @property
    def compliant(self) -> bool:
        return self.status is PipfileStatus.OK and self.report.compliant


@dataclass(frozen=True)
class RepoResult:
    repo: RepoSummary
    status: ScanStatus
    pipfiles: tuple[PipfileResult, ...] = ()  # every manifest read, whatever its kind
    skip_reason: str | None = None
    error: str | None = None
    opted_out: str | None = None  # why its .pipfleet.toml wants no pull requests

    @property
    def compliant(self) -> bool | None:
        """None when there is nothing to judge (no manifest, skipped or failed)."""
        if self.status not in (ScanStatus.FETCHED, ScanStatus.CARRIED) or not self.pipfiles:
            return None
        return all(pipfile.compliant for pipfile in self.pipfiles)


@dataclass(frozen=True)
class PreviousState:
    head_oid: str | None
    audit_digest: str | None
    run_id: int


@dataclass(frozen=True)
class Baseline:
    """The last good scan (completed or partial): what a new picture is judged against."""

    run_id: int
    packages: int  # private packages in its listing
    repositories: int  # matching repositories it saw


@dataclass(frozen=True)
class CarriedState:
    """What repositories carried over from their last scan contribute to this run's figures."""

    repositories: int
    pipfiles: int
    judged: int  # repositories with a Pipfile read
    compliant: int
    findings: Counter[str]


class Recorder(Protocol):
    """Where a scan writes (the database), each repository in its own transaction.

    ``start`` opens the run the other writes belong to and returns its id.
    """

    def previous(self) -> Mapping[str, PreviousState]: ...
    def baseline(self) -> Baseline | None: ...
    def start(self, audit_digest: str) -> int | None: ...
    def record(self, result: RepoResult, audit_digest: str) -> None: ...
    def carry(self, carried: Sequence[tuple[RepoSummary, PreviousState]]) -> CarriedState: ...
    def record_packages(self, intel: Mapping[str, PackageIntel]) -> None: ...
    def finish(self, summary: ScanSummary) -> None: ...


class DryRun:
    """The Recorder of a dry run: it knows no earlier scan, so every repository is read
    afresh, and it writes nothing, so the run has no id."""

    def previous(self) -> Mapping[str, PreviousState]:
        return {}

    def baseline(self) -> Baseline | None:
        return None

    def start(self, audit_digest: str) -> int | None:
        return None

    def record(self, result: RepoResult, audit_digest: str) -> None:
        return None

    def carry(self, carried: Sequence[tuple[RepoSummary, PreviousState]]) -> CarriedState:
        # Nothing is carried when nothing earlier is known; an empty carry adds nothing.
        return CarriedState(0, 0, 0, 0, Counter())

    def record_packages(self, intel: Mapping[str, PackageIntel]) -> None:
        return None

    def finish(self, summary: ScanSummary) -> None:
        return None


@dataclass
class ScanSummary:
    run_id: int | None = None
    repositories: int = 0  # matching the include/exclude patterns
    fetched: int = 0
    carried: int = 0
    skipped: int = 0
    failed: int = 0
    pipfiles: int = 0  # manifests read, of every kind (the name is older than the kinds)
    compliant_repositories: int = 0
    judged_repositories: int = 0  # with at least one manifest read
    findings: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    github_requests: int = 0
    status: RunStatus = RunStatus.COMPLETED

    @property
    def compliant_share(self) -> float | None:
        if not self.judged_repositories:
            return None
        return self.compliant_repositories / self.judged_repositories

    def add_carried(self, state: CarriedState) -> None:
        self.carried += state.repositories
        self.pipfiles += state.pipfiles
        self.judged_repositories += state.judged
        self.compliant_repositories += state.compliant
        self.findings.update(state.findings)

    def add(self, result: RepoResult) -> None:
        match result.status:
            case ScanStatus.FETCHED:
                self.fetched += 1
            case ScanStatus.CARRIED:
                self.carried += 1
            case ScanStatus.SKIPPED:
                self.skipped += 1
            case ScanStatus.FAILED:
                self.failed += 1
                self.errors.append(f"{result.repo.full_name}: {result.error}")
        self.pipfiles += len(result.pipfiles)
        if result.compliant is not None:
            self.judged_repositories += 1
            self.compliant_repositories += int(result.compliant)
        for pipfile in result.pipfiles:
            self.findings.update(f.kind.value for f in pipfile.report.findings)
