"""What a scan writes: one transaction per repository, so a run that dies keeps what it did."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping

from packaging.utils import canonicalize_name
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pipfleet.engine.confusion import PackageIntel
from pipfleet.github.queries import RepoSummary
from pipfleet.jobs.scan import CarriedState, PreviousState, RepoResult, ScanSummary
from pipfleet.store.db import session_scope
from pipfleet.store.models import (
    FindingRecord,
    PipfileRecord,
    PrivatePackage,
    Repository,
    RepositoryScan,
    RunStatus,
    ScanRun,
    ScanStatus,
    SkipReason,
    UpstreamPolicy,
    utcnow,
)


class DatabaseRecorder:
    """The scan job's Recorder over a SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, org: str):
        self._engine = engine
        self._org = org

    def previous(self) -> dict[str, PreviousState]:
        """Repositories whose last scan succeeded, with the head and audit digest it saw."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(Repository).where(
                    Repository.org == self._org,
                    col(Repository.last_run_id).is_not(None),
                    col(Repository.last_error).is_(None),
                )
            ).all()
            return {
                row.full_name: PreviousState(row.head_oid, row.listing_digest, row.last_run_id)
                for row in rows
                if row.last_run_id is not None
            }

    def start(self, audit_digest: str) -> int:
        with session_scope(self._engine) as session:
            run = ScanRun(listing_digest=audit_digest)
            session.add(run)
            session.flush()
            assert run.id is not None
            return run.id

    def _repository(self, session: Session, repo: RepoSummary) -> Repository:
        row = session.exec(select(Repository).where(Repository.full_name == repo.full_name)).first()
        if row is None:
            row = Repository(full_name=repo.full_name, org=repo.owner, name=repo.name)
        row.default_branch = repo.default_branch
        row.archived, row.fork, row.disabled, row.empty = (
            repo.archived,
            repo.fork,
            repo.disabled,
            repo.empty,
        )
        row.topics = json.dumps(list(repo.topics))
        row.html_url = repo.url or None
        session.add(row)
        session.flush()
        return row

    def record(self, run_id: int, result: RepoResult, audit_digest: str) -> None:
        with session_scope(self._engine) as session:
            repository = self._repository(session, result.repo)
            assert repository.id is not None
            session.add(
                RepositoryScan(
                    run_id=run_id,
                    repository_id=repository.id,
                    head_oid=result.repo.head_oid,
                    status=result.status,
                    skip_reason=SkipReason(result.skip_reason) if result.skip_reason else None,
                    error=result.error,
                    pipfiles=len(result.pipfiles),
                    compliant=result.compliant,
                )
            )
            for pipfile in result.pipfiles:
                error = pipfile.report.parse_error
                session.add(
                    PipfileRecord(
                        run_id=run_id,
                        repository_id=repository.id,
                        path=pipfile.path,
                        blob_oid=pipfile.blob_oid,
                        status=pipfile.status,
                        parse_error=error.message if error else None,
                        error_line=error.line if error else None,
                        error_column=error.column if error else None,
                        private_source=pipfile.report.private_source,
                        has_lock=pipfile.has_lock,
                        compliant=pipfile.compliant,
                    )
                )
                session.add_all(
                    FindingRecord(
                        run_id=run_id,
                        repository_id=repository.id,
                        path=pipfile.path,
                        category=f.category,
                        package=f.package,
                        package_name=canonicalize_name(f.package.split("[")[0])
                        if f.package
                        else None,
                        current=f.current,
                        expected=f.expected,
                        index_name=f.source,
                        kind=f.kind.value,
                        severity=f.severity.label,
                        fixable=f.fixable,
                        line=f.line,
                        message=f.message,
                    )
                    for f in pipfile.report.findings
                )
            repository.last_scanned_at = utcnow()
            repository.last_run_id = run_id
            if result.status is ScanStatus.FAILED:
                repository.last_error = result.error
            else:
                repository.last_error = None
                repository.head_oid = result.repo.head_oid
                repository.listing_digest = audit_digest
            session.add(repository)

    def carry(self, run_id: int, repo: RepoSummary, previous: PreviousState) -> CarriedState:
        """Copy a repository's rows from its last scan into this run."""
        with session_scope(self._engine) as session:
            repository = self._repository(session, repo)
            assert repository.id is not None
            earlier = session.exec(
                select(RepositoryScan).where(
                    RepositoryScan.run_id == previous.run_id,
                    RepositoryScan.repository_id == repository.id,
                )
            ).one()
            session.add(
                RepositoryScan(
                    run_id=run_id,
                    repository_id=repository.id,
                    head_oid=repo.head_oid,
                    status=ScanStatus.CARRIED,
                    pipfiles=earlier.pipfiles,
                    compliant=earlier.compliant,
                )
            )
            for pipfile in session.exec(
                select(PipfileRecord).where(
                    PipfileRecord.run_id == previous.run_id,
                    PipfileRecord.repository_id == repository.id,
                )
            ).all():
                session.add(
                    PipfileRecord(**pipfile.model_dump(exclude={"id", "run_id"}), run_id=run_id)
                )
            kinds: Counter[str] = Counter()
            for finding in session.exec(
                select(FindingRecord).where(
                    FindingRecord.run_id == previous.run_id,
                    FindingRecord.repository_id == repository.id,
                )
            ).all():
                kinds[finding.kind] += 1
                session.add(
                    FindingRecord(**finding.model_dump(exclude={"id", "run_id"}), run_id=run_id)
                )
            repository.last_scanned_at = utcnow()
            repository.last_run_id = run_id
            session.add(repository)
            return CarriedState(earlier.pipfiles, earlier.compliant, kinds)

    def record_packages(self, run_id: int, intel: Mapping[str, PackageIntel]) -> None:
        with session_scope(self._engine) as session:
            session.add_all(
                PrivatePackage(
                    run_id=run_id,
                    name=item.name,
                    versions=json.dumps(list(item.versions)),
                    origin=item.origin,
                    upstream=UpstreamPolicy.ALLOWED
                    if item.upstream_allowed
                    else UpstreamPolicy.BLOCKED,
                    public_status=item.public,
                    checked_at=utcnow(),
                )
                for item in intel.values()
            )

    def finish(self, run_id: int, summary: ScanSummary) -> None:
        with session_scope(self._engine) as session:
            run = session.get(ScanRun, run_id)
            assert run is not None
            run.finished_at = utcnow()
            run.status = RunStatus(summary.status)
            run.repositories = summary.repositories
            run.repositories_fetched = summary.fetched
            run.repositories_carried = summary.carried
            run.repositories_failed = summary.failed
            run.pipfiles = summary.pipfiles
            run.findings = sum(summary.findings.values())
            run.github_requests = summary.github_requests
            run.error = "; ".join(summary.errors)[:2000] or None
            session.add(run)
