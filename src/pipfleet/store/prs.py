"""Reads and writes of the fix job: the latest scan's fixable repositories, PR records."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from pipfleet.engine.listing import Listing
from pipfleet.errors import StoreError
from pipfleet.states import PullRequestState, RunStatus
from pipfleet.store.db import session_scope
from pipfleet.store.models import (
    FindingRecord,
    PrivatePackage,
    PullRequestRecord,
    Repository,
    RepositoryScan,
    ScanRun,
    utcnow,
)


@dataclass(frozen=True)
class Candidate:
    """A repository the fix job looks at, with what the database knows of it."""

    repository_id: int
    full_name: str
    name: str
    topics: tuple[str, ...]
    record: PullRequestRecord | None  # the latest pull request pipfleet recorded


class PullRequestStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def latest_run(self, org: str) -> int | None:
        """``org``'s latest finished scan run."""
        with Session(self._engine) as session:
            return session.exec(
                # Whatever its status: the fix job refuses to act on a failed or
                # interrupted one rather than fall back to an older picture.
                select(func.max(ScanRun.id)).where(
                    ScanRun.org == org, col(ScanRun.finished_at).is_not(None)
                )
            ).one()

    def run_status(self, run_id: int) -> RunStatus:
        with Session(self._engine) as session:
            run = session.get(ScanRun, run_id)
            if run is None:
                raise StoreError(f"scan run {run_id} is not recorded")
            return run.status

    def pending_branch_deletes(self, org: str) -> list[tuple[str, PullRequestRecord]]:
        """Closed pull requests whose branch delete failed, when nothing newer uses the branch.

        The branch name is the same for every fix pull request of a repository: once a
        newer one exists, the branch is its branch and must stay.
        """
        with Session(self._engine) as session:
            newest = (
                select(func.max(PullRequestRecord.id))
                .group_by(col(PullRequestRecord.repository_id))
                .scalar_subquery()
            )
            rows = session.exec(
                select(Repository.full_name, PullRequestRecord)
                .join(Repository, col(Repository.id) == col(PullRequestRecord.repository_id))
                .where(
                    Repository.org == org,
                    col(PullRequestRecord.branch_pending_delete).is_(True),
                    PullRequestRecord.state == PullRequestState.CLOSED,
                    col(PullRequestRecord.id).in_(newest),
                )
                .order_by(Repository.full_name)
            ).all()
            for _, record in rows:
                session.expunge(record)
            return [(full_name, record) for full_name, record in rows]

    def listing(self, run_id: int) -> Listing:
        """The private packages the scan ``run_id`` judged by."""
        with Session(self._engine) as session:
            rows = session.exec(select(PrivatePackage).where(PrivatePackage.run_id == run_id)).all()
            return Listing({row.name: frozenset(json.loads(row.versions)) or None for row in rows})

    def candidates(self, run_id: int, org: str) -> list[Candidate]:
        """Repositories with fixable findings in ``run_id``, or with a pull request open."""
        with Session(self._engine) as session:
            fixable = select(FindingRecord.repository_id).where(
                FindingRecord.run_id == run_id, col(FindingRecord.fixable).is_(True)
            )
            with_open_pull = select(PullRequestRecord.repository_id).where(
                col(PullRequestRecord.state).in_(
                    [PullRequestState.OPEN, PullRequestState.PENDING, PullRequestState.CLOSING]
                )
            )
            repos = session.exec(
                select(Repository)
                .where(
                    Repository.org == org,
                    col(Repository.id).in_(fixable) | col(Repository.id).in_(with_open_pull),
                )
                .order_by(Repository.full_name)
            ).all()
            result = []
            for repo in repos:
                assert repo.id is not None
                record = session.exec(
                    select(PullRequestRecord)
                    .where(PullRequestRecord.repository_id == repo.id)
                    .order_by(col(PullRequestRecord.id).desc())
                ).first()
                if record is not None:
                    session.expunge(record)
                result.append(
                    Candidate(
                        repo.id, repo.full_name, repo.name, tuple(json.loads(repo.topics)), record
                    )
                )
            return result

    def scanned_names(self, run_id: int, org: str) -> list[tuple[str, str]]:
        """Name and full name of each repository of ``org`` that the scan ``run_id`` listed."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(Repository.name, Repository.full_name)
                .join(RepositoryScan, col(RepositoryScan.repository_id) == Repository.id)
                .where(RepositoryScan.run_id == run_id, Repository.org == org)
                .order_by(Repository.full_name)
            ).all()
            return [(name, full_name) for name, full_name in rows]

    def repository_id(self, full_name: str) -> int:
        with Session(self._engine) as session:
            found = session.exec(
                select(Repository.id).where(Repository.full_name == full_name)
            ).first()
        if found is None:
            raise StoreError(f"{full_name} has never been scanned")
        return found

    def save(self, record: PullRequestRecord) -> PullRequestRecord:
        record.updated_at = utcnow()
        with session_scope(self._engine) as session:
            merged = session.merge(record)
            session.flush()
            session.expunge(merged)
            return merged
