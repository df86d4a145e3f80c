"""What a scan writes: one transaction per repository, so a run that dies keeps what it did."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from packaging.utils import canonicalize_name
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from pipfleet.engine.confusion import PackageIntel
from pipfleet.repositories import RepoSummary
from pipfleet.scanresults import Baseline, CarriedState, PreviousState, RepoResult, ScanSummary
from pipfleet.states import RunStatus, ScanStatus, SkipReason, UpstreamPolicy
from pipfleet.store.db import session_scope
from pipfleet.store.models import (
    PrivatePackage,
    Repository,
    ScanRun,
    UTCDateTime,
    utcnow,
)

_CHUNK = 500  # ids per IN (...) list, well inside every database's parameter limit
# The per-run tables whose rows a carried repository copies into the new run.
_CARRIED_TABLES: tuple[Table, ...] = tuple(
    SQLModel.metadata.tables[name] for name in ("repository_scans", "pipfiles", "findings")
)
_REPOSITORIES: Table = SQLModel.metadata.tables["repositories"]
_SCANS, _PIPFILES, _FINDINGS = _CARRIED_TABLES
# Built once: a statement made anew for each repository costs more than running it.
_REPOSITORY_ID = sa_select(_REPOSITORIES.c.id).where(
    _REPOSITORIES.c.full_name == bindparam("full_name")
)
_UPDATE_REPOSITORY = update(_REPOSITORIES).where(_REPOSITORIES.c.id == bindparam("repository_id"))
# PostgreSQL text cannot hold NUL, and no driver encodes a lone surrogate; a repository's
# files can spell either (a TOML "\u0000" escape, a path). Both are stored as U+FFFD.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_Row = TypeVar("_Row", bound=SQLModel)


def _stored(value: Any) -> Any:
    """``value`` with U+FFFD for every character a string cannot be stored with."""
    # An enum is a str too: only a value that needs it is replaced.
    if isinstance(value, str) and _UNSTORABLE.search(value):
        return _UNSTORABLE.sub("\ufffd", value)
    return value


def _storable(row: _Row) -> _Row:
    """``row`` with U+FFFD for every character its strings cannot be stored with."""
    for name in type(row).model_fields:
        value = getattr(row, name)
        if (stored := _stored(value)) is not value:
            setattr(row, name, stored)
    return row


def _storable_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for a Core statement, each as ``_stored`` makes it."""
    return {name: _stored(value) for name, value in values.items()}


# A PostgreSQL btree index entry holds about 2,700 bytes, and CodeArtifact allows package
# names of 255 characters: a longer name, which only a hostile key can give, is cut and
# marked with "…", so it still indexes and never matches a private package.
_MAX_INDEXED_NAME = 255


def _package_name(key: str) -> str:
    name = canonicalize_name(key.split("[")[0])
    return name if len(name) <= _MAX_INDEXED_NAME else name[:_MAX_INDEXED_NAME] + "…"


def _copy_from_last_run(
    table: Table, copied: list[str], run_id: int, now: datetime, repository_ids: list[int]
) -> Select[Any]:
    """The rows of ``table`` from each repository's last run, readied for run ``run_id``."""
    earlier = table.alias("earlier")
    overrides: dict[str, Any] = {}
    if table.name == "repository_scans":
        overrides = {
            "status": literal(ScanStatus.CARRIED.value),
            "scanned_at": literal(now, type_=UTCDateTime()),
        }
    columns = [literal(run_id), *(overrides.get(c, earlier.c[c]) for c in copied)]
    joined = earlier.join(
        _REPOSITORIES,
        (_REPOSITORIES.c.id == earlier.c.repository_id)
        & (_REPOSITORIES.c.last_run_id == earlier.c.run_id),
    )
    return (
        sa_select(*columns).select_from(joined).where(earlier.c.repository_id.in_(repository_ids))
    )


def _metadata(repo: RepoSummary) -> dict[str, object]:
    """What GitHub says of a repository, as the repositories table keeps it."""
    return {
        "default_branch": repo.default_branch,
        "archived": repo.archived,
        "fork": repo.fork,
        "disabled": repo.disabled,
        "empty": repo.empty,
        "topics": json.dumps(list(repo.topics)),
        "html_url": repo.url or None,
    }


class DatabaseRecorder:
    """The scan job's Recorder over a SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, org: str, holder: str | None = None):
        self._engine = engine
        self._org = org
        self._holder = holder  # the run lock's holder: who to ask whether the run is alive
        self._run_id: int | None = None  # the run ``start`` opened

    @property
    def _run(self) -> int:
        assert self._run_id is not None, "start() opens the run the writes belong to"
        return self._run_id

    def baseline(self) -> Baseline | None:
        """The org's last good scan (completed or partial), or None before the first one."""
        with Session(self._engine) as session:
            run = session.exec(
                select(ScanRun)
                .where(
                    ScanRun.org == self._org,
                    col(ScanRun.status).in_([RunStatus.COMPLETED, RunStatus.PARTIAL]),
                )
                .order_by(col(ScanRun.id).desc())
            ).first()
            if run is None or run.id is None:
                return None
            packages = session.exec(
                select(func.count()).where(col(PrivatePackage.run_id) == run.id)
            ).one()
            return Baseline(run.id, int(packages), run.repositories)

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
            run = ScanRun(listing_digest=audit_digest, holder=self._holder, org=self._org)
            session.add(_storable(run))
            session.flush()
            assert run.id is not None
            self._run_id = run.id
            return run.id

    def _repository_id(
        self, connection: Connection, repo: RepoSummary, last: dict[str, Any]
    ) -> int:
        """The repository's row written with GitHub's metadata and ``last``; its id."""
        values = _storable_values({**_metadata(repo), **last})
        found = connection.execute(_REPOSITORY_ID, {"full_name": repo.full_name}).scalar()
        if found is not None:
            connection.execute(_UPDATE_REPOSITORY, {"repository_id": found, **values})
            return int(found)
        row = {"full_name": repo.full_name, "org": repo.owner, "name": repo.name}
        created = connection.execute(insert(_REPOSITORIES), {**_storable_values(row), **values})
        key = created.inserted_primary_key
        assert key is not None
        return int(key[0])

    def record(self, result: RepoResult, audit_digest: str) -> None:
        # Core statements on a connection, not ORM objects in a session: building and
        # flushing thousands of SQLModel rows cost more than the audit. The same rows, in
        # the same order, in one transaction.
        now, run_id = utcnow(), self._run
        last: dict[str, Any] = {"last_scanned_at": now, "last_run_id": run_id}
        if result.status is ScanStatus.FAILED:
            last["last_error"] = result.error
        else:
            last.update(last_error=None, head_oid=result.repo.head_oid, listing_digest=audit_digest)
        with self._engine.begin() as connection:
            repository_id = self._repository_id(connection, result.repo, last)
            owner = {"run_id": run_id, "repository_id": repository_id}
            scan = {
                **owner,
                "head_oid": result.repo.head_oid,
                "status": result.status,
                "skip_reason": SkipReason(result.skip_reason) if result.skip_reason else None,
                "error": result.error,
                "pipfiles": len(result.pipfiles),
                "compliant": result.compliant,
                "scanned_at": now,
                "opted_out": result.opted_out,
            }
            connection.execute(insert(_SCANS), _storable_values(scan))
            pipfiles: list[dict[str, Any]] = []
            findings: list[dict[str, Any]] = []
            for pipfile in result.pipfiles:
                error = pipfile.report.parse_error
                pipfiles.append(
                    {
                        **owner,
                        "path": pipfile.path,
                        "blob_oid": pipfile.blob_oid,
                        "status": pipfile.status,
                        "parse_error": error.message if error else None,
                        "error_line": error.line if error else None,
                        "error_column": error.column if error else None,
                        "private_source": pipfile.report.private_source,
                        "has_lock": pipfile.has_lock,
                        "compliant": pipfile.compliant,
                        "manifest_kind": pipfile.kind,
                    }
                )
                findings.extend(
                    {
                        **owner,
                        "path": pipfile.path,
                        "category": f.category,
                        "package": f.package,
                        "package_name": _package_name(f.package) if f.package else None,
                        "current": f.current,
                        "expected": f.expected,
                        "index_name": f.source,
                        "kind": f.kind.value,
                        "severity": f.severity.label,
                        "fixable": f.fixable,
                        "line": f.line,
                        "message": f.message,
                    }
                    for f in pipfile.report.findings
                )
            for table, rows in ((_PIPFILES, pipfiles), (_FINDINGS, findings)):
                if rows:
                    connection.execute(insert(table), [_storable_values(row) for row in rows])

    def carry(self, carried: Sequence[tuple[RepoSummary, PreviousState]]) -> CarriedState:
        """Copy unchanged repositories' rows from their last scan into this run, set-wise.

        Thousands of unchanged repositories cost a handful of statements, not thousands
        of transactions; the copy is all or nothing.
        """
        names = [repo.full_name for repo, _ in carried]
        by_name = {repo.full_name: repo for repo, _ in carried}
        now, run_id = utcnow(), self._run
        with session_scope(self._engine) as session:
            ids: dict[str, int] = {}
            for start in range(0, len(names), _CHUNK):
                rows = session.exec(
                    select(Repository.full_name, Repository.id).where(
                        col(Repository.full_name).in_(names[start : start + _CHUNK])
                    )
                ).all()
                ids.update({name: id_ for name, id_ in rows if id_ is not None})
            id_list = list(ids.values())
            for start in range(0, len(id_list), _CHUNK):
                for table in _CARRIED_TABLES:
                    copied = [c.name for c in table.columns if c.name not in ("id", "run_id")]
                    query = _copy_from_last_run(
                        table, copied, run_id, now, id_list[start : start + _CHUNK]
                    )
                    session.execute(insert(table).from_select(["run_id", *copied], query))
            session.execute(
                update(Repository),
                [
                    {
                        "id": id_,
                        **_metadata(by_name[name]),
                        "last_scanned_at": now,
                        "last_run_id": run_id,
                    }
                    for name, id_ in ids.items()
                ],
            )
            scans, findings = _CARRIED_TABLES[0], _CARRIED_TABLES[2]
            totals = session.execute(
                sa_select(
                    func.count(),
                    func.coalesce(func.sum(scans.c.pipfiles), 0),
                    func.count(scans.c.compliant),
                    func.coalesce(func.sum(case((scans.c.compliant, 1), else_=0)), 0),
                ).where(scans.c.run_id == run_id, scans.c.status == ScanStatus.CARRIED.value)
            ).one()
            kinds = session.execute(
                sa_select(findings.c.kind, func.count())
                .where(findings.c.run_id == run_id)
                .group_by(findings.c.kind)
            ).all()
        return CarriedState(
            int(totals[0]),
            int(totals[1]),
            int(totals[2]),
            int(totals[3]),
            Counter({str(kind): int(count) for kind, count in kinds}),
        )

    def record_packages(self, intel: Mapping[str, PackageIntel]) -> None:
        with session_scope(self._engine) as session:
            session.add_all(
                _storable(
                    PrivatePackage(
                        run_id=self._run,
                        name=item.name,
                        versions=json.dumps(list(item.versions)),
                        origin=item.origin,
                        upstream=UpstreamPolicy.ALLOWED
                        if item.upstream_allowed
                        else UpstreamPolicy.BLOCKED,
                        public_status=item.public,
                        checked_at=utcnow(),
                    )
                )
                for item in intel.values()
            )

    def finish(self, summary: ScanSummary) -> None:
        with session_scope(self._engine) as session:
            run = session.get(ScanRun, self._run)
            assert run is not None
            run.finished_at = utcnow()
            run.status = summary.status
            run.repositories = summary.repositories
            run.repositories_fetched = summary.fetched
            run.repositories_carried = summary.carried
            run.repositories_failed = summary.failed
            run.pipfiles = summary.pipfiles
            run.findings = sum(summary.findings.values())
            run.github_requests = summary.github_requests
            run.error = "; ".join(summary.errors)[:2000] or None
            session.add(_storable(run))
