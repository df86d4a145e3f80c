"""The tables pipfleet records scans, findings and pull requests in.

Every run keeps its own rows (scans, Pipfiles, findings, private packages), so history is
a query away and a failed run never overwrites the state of the last good one. The SQL
views for dashboards are defined in the migrations, not here: see
``migrations/versions/0001_initial.py``.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Index, UniqueConstraint, false, types
from sqlalchemy.engine.interfaces import Dialect
from sqlmodel import Field, SQLModel

from pipfleet.engine.confusion import Origin as PackageOrigin
from pipfleet.engine.confusion import PublicStatus
from pipfleet.states import (
    ManifestKind,
    PipfileStatus,
    PullRequestState,
    RunStatus,
    ScanStatus,
    SkipReason,
    UpstreamPolicy,
)

# Deterministic constraint names: SQLite batch migrations can only drop or alter a
# constraint by name, and both dialects must end up with the same names.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every dialect.

    SQLite keeps no offset, so values are normalised to UTC before they are written and
    marked UTC when read back; a naive value is refused rather than guessed at.
    """

    impl = types.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class StrEnumType(types.TypeDecorator[E]):
    """A StrEnum kept as its plain string value.

    Native PostgreSQL enum types need a migration for every new value; a string column
    does not, and reads back the enum member (or raises on a value this code never wrote).
    """

    impl = types.String
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, index=index)


def _count() -> Any:
    return Field(default=0, sa_column_kwargs={"server_default": "0"})


def _run_id() -> Any:
    # Runs own their rows: deleting an old run prunes its history in one statement.
    return Field(foreign_key="scan_runs.id", ondelete="CASCADE")


def _repository_id(*, index: bool = True) -> Any:
    return Field(foreign_key="repositories.id", ondelete="CASCADE", index=index)


class ScanRun(SQLModel, table=True):
    __tablename__ = "scan_runs"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)
    status: RunStatus = Field(default=RunStatus.RUNNING, sa_type=StrEnumType(RunStatus))
    listing_digest: str | None = None
    repositories: int = _count()  # scanned this run, whatever the outcome
    repositories_fetched: int = _count()
    repositories_carried: int = _count()
    repositories_failed: int = _count()
    pipfiles: int = _count()
    findings: int = _count()
    github_requests: int | None = None
    error: str | None = None
    holder: str | None = None  # the run lock holder (host:pid) that started it
    # The org it scanned; None only for a run from before several orgs whose org is unknown.
    org: str | None = Field(default=None, index=True)


class Repository(SQLModel, table=True):
    __tablename__ = "repositories"

    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(unique=True)
    org: str = Field(index=True)
    name: str
    default_branch: str | None = None
    archived: bool = False
    fork: bool = False
    disabled: bool = False
    empty: bool = False
    topics: str = Field(default="[]", sa_column_kwargs={"server_default": "[]"})  # JSON list
    html_url: str | None = None
    # Both are as of the last successful scan: a rescan may skip the repository only
    # when neither its head commit nor the private-package listing changed.
    head_oid: str | None = None
    listing_digest: str | None = None
    last_scanned_at: datetime | None = _when(nullable=True)
    last_run_id: int | None = Field(
        default=None, foreign_key="scan_runs.id", ondelete="SET NULL", index=True
    )
    last_error: str | None = None


# Where a unique constraint starts with run_id, its index already serves lookups by run,
# so run_id gets no index of its own.


class RepositoryScan(SQLModel, table=True):
    __tablename__ = "repository_scans"
    __table_args__ = (UniqueConstraint("run_id", "repository_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()
    repository_id: int = _repository_id()
    head_oid: str | None = None
    status: ScanStatus = Field(sa_type=StrEnumType(ScanStatus))
    skip_reason: SkipReason | None = Field(default=None, sa_type=StrEnumType(SkipReason))
    error: str | None = None
    pipfiles: int = _count()
    compliant: bool | None = None  # None: nothing to judge (skipped, failed, no Pipfile)
    scanned_at: datetime = _when()
    # Why its .pipfleet.toml, as read, wants no pull requests (the topic is read live from
    # repositories.topics: a topic changes without a commit, and a carried scan would not).
    opted_out: str | None = None


class PipfileRecord(SQLModel, table=True):
    __tablename__ = "pipfiles"
    __table_args__ = (UniqueConstraint("run_id", "repository_id", "path"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()
    repository_id: int = _repository_id()
    path: str
    blob_oid: str | None = None
    status: PipfileStatus = Field(sa_type=StrEnumType(PipfileStatus))
    parse_error: str | None = None
    error_line: int | None = None
    error_column: int | None = None
    private_source: str | None = None
    has_lock: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    compliant: bool | None = None
    # Which engine audited it; the table keeps its older name, as every row was a Pipfile.
    manifest_kind: ManifestKind = Field(
        default=ManifestKind.PIPFILE,
        sa_type=StrEnumType(ManifestKind),
        sa_column_kwargs={"server_default": ManifestKind.PIPFILE.value},
    )


class FindingRecord(SQLModel, table=True):
    """One ``pipfleet.engine.findings.Finding`` as recorded by a run.

    ``kind`` and ``severity`` hold ``FindingKind`` values and ``Severity.label`` as plain
    strings: rows written by an older or newer engine stay readable.
    """

    __tablename__ = "findings"
    # Reports read the findings of one repository in one run.
    __table_args__ = (Index(None, "run_id", "repository_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()
    repository_id: int = _repository_id()
    path: str
    category: str | None = None
    package: str | None = None  # the key as written in the Pipfile
    package_name: str | None = Field(default=None, index=True)  # PEP 503 normalised
    current: str | None = None  # the entry's value as written
    expected: str | None = None
    index_name: str | None = None
    kind: str = Field(index=True)
    severity: str
    fixable: bool
    line: int | None = None
    message: str


class PrivatePackage(SQLModel, table=True):
    __tablename__ = "private_packages"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()
    name: str  # PEP 503 normalised
    versions: str = Field(default="[]", sa_column_kwargs={"server_default": "[]"})  # JSON list
    origin: PackageOrigin = Field(sa_type=StrEnumType(PackageOrigin))
    upstream: UpstreamPolicy = Field(sa_type=StrEnumType(UpstreamPolicy))
    public_status: PublicStatus = Field(
        default=PublicStatus.UNKNOWN, sa_type=StrEnumType(PublicStatus)
    )
    checked_at: datetime | None = _when(nullable=True)


class PullRequestRecord(SQLModel, table=True):
    __tablename__ = "pull_requests"
    # Leads with repository_id, so it also serves the foreign key.
    __table_args__ = (Index(None, "repository_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    repository_id: int = _repository_id(index=False)
    number: int | None = None  # None until GitHub has opened it
    branch: str
    fingerprint: str  # of the change it carries: the same fix is never proposed twice
    state: PullRequestState = Field(sa_type=StrEnumType(PullRequestState))
    title: str
    html_url: str | None = None
    created_at: datetime = _when()
    updated_at: datetime = _when()
    closed_at: datetime | None = _when(nullable=True)
    last_error: str | None = None
    # Closed, but deleting the branch failed: later runs retry.
    branch_pending_delete: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class RunLock(SQLModel, table=True):
    """At most one row per org: the run that holds its lock, until it releases or it expires."""

    __tablename__ = "run_lock"

    org: str = Field(primary_key=True)
    holder: str
    acquired_at: datetime = _when()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime | None = _when(nullable=True)


class PackageVersionCache(SQLModel, table=True):
    """What CodeArtifact holds for one private package version: its files' SHA-256 and its
    dependencies. A published version never changes, so a row is fetched once, ever.

    ``codeartifact`` is ``domain/owner/repository``: another CodeArtifact repository is
    another cache. ``version`` is canonical (1.4 and 1.4.0 are one row).
    """

    __tablename__ = "package_versions"

    codeartifact: str = Field(primary_key=True)
    name: str = Field(primary_key=True)  # PEP 503 normalised
    version: str = Field(primary_key=True)
    hashes: str = Field(default="[]", sa_column_kwargs={"server_default": "[]"})  # JSON list
    dependencies: str = Field(default="[]", sa_column_kwargs={"server_default": "[]"})  # JSON
    fetched_at: datetime = _when()
