"""The database as the MCP server reads it: read-only, opened afresh for every question.

An engine per question rather than one for the server's life: a database that is missing
when the server starts, replaced by a restore, or locked by a scan for a moment is an
error for that one question, and the next one sees the database as it is then.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine, func, inspect
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from pipfleet.config import Settings
from pipfleet.engine.listing import Listing
from pipfleet.errors import StoreError
from pipfleet.report.data import load_report, open_read_only
from pipfleet.report.model import Report
from pipfleet.store.models import PackageVersionCache, PipfileRecord, PrivatePackage, Repository
from pipfleet.store.prs import PullRequestStore

T = TypeVar("T")


@dataclass(frozen=True)
class KnownListing:
    """The private packages a check judges by, and where they came from."""

    listing: Listing
    origin: str  # "scan run N of the database" or the listing file's path


@dataclass(frozen=True)
class PipfileState:
    path: str
    status: str  # ok | parse-error | too-large | binary | truncated | missing
    parse_error: str | None
    private_source: str | None
    has_lock: bool
    compliant: bool | None
    manifest_kind: str  # pipfile | uv | poetry | requirements


class FleetData:
    """Reads for the server's tools: the report, one repository's manifests, the listing."""

    def __init__(self, settings: Settings, fallback: KnownListing | None = None):
        self._settings = settings
        self._fallback = fallback  # the listing file given, for a database without one
        self._cached: tuple[tuple[int, int], KnownListing] | None = None

    @contextmanager
    def _engine(self) -> Iterator[Engine]:
        engine = open_read_only(self._settings.database.url)
        try:
            yield engine
        finally:
            engine.dispose()

    def _read(self, reader: Callable[[Engine], T]) -> T:
        with self._engine() as engine:
            try:
                return reader(engine)
            except DBAPIError as exc:  # locked, not a pipfleet database, or another schema
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
                raise StoreError(
                    f"cannot read the database: {reason} (a scan may hold it: ask again shortly)"
                ) from exc

    def report(self) -> Report:
        """The latest finished run, as ``pipfleet report`` shows it."""
        return self._read(load_report)

    def pipfiles(self, run_id: int, repository_id: int) -> tuple[PipfileState, ...]:
        def read(engine: Engine) -> tuple[PipfileState, ...]:
            with Session(engine) as session:
                rows = session.exec(
                    select(PipfileRecord)
                    .where(
                        PipfileRecord.run_id == run_id, PipfileRecord.repository_id == repository_id
                    )
                    .order_by(col(PipfileRecord.path))
                ).all()
            return tuple(
                PipfileState(
                    row.path,
                    row.status.value,
                    row.parse_error,
                    row.private_source,
                    row.has_lock,
                    row.compliant,
                    row.manifest_kind.value,
                )
                for row in rows
            )

        return self._read(read)

    def topics(self, repository_id: int) -> tuple[str, ...]:
        def read(engine: Engine) -> tuple[str, ...]:
            with Session(engine) as session:
                repository = session.get(Repository, repository_id)
            topics = json.loads(repository.topics) if repository is not None else []
            return tuple(str(topic) for topic in topics) if isinstance(topics, list) else ()

        return self._read(read)

    def listing(self) -> KnownListing:
        """The newest listing a scan recorded, else the listing file, else a StoreError.

        The database's listing carries what CodeArtifact holds per version (hashes and
        private dependencies) as far as scans have read it, so a check needs no AWS access.
        """
        try:
            recorded = self.recorded_listing()
        except StoreError as exc:
            if self._fallback is None:
                raise StoreError(
                    f"no private-package listing: {exc}; and no listing file was given (set "
                    "mcp.listing in the config, or start pipfleet mcp with --listing FILE)"
                ) from exc
            recorded = None
        if recorded is not None:
            return recorded
        if self._fallback is None:
            raise StoreError(
                "no private-package listing: no scan has recorded one in the database and no "
                "listing file was given (set mcp.listing in the config, start pipfleet mcp "
                "with --listing FILE, or run pipfleet scan)"
            )
        return self._fallback

    def recorded_listing(self) -> KnownListing | None:
        """The newest listing a scan recorded, with what scans read per version; None
        before any scan. A missing or unreadable database is a StoreError."""
        return self._read(self._recorded_listing)

    def _recorded_listing(self, engine: Engine) -> KnownListing | None:
        # Imported here: the registry package brings boto3, which only this read needs.
        from pipfleet.registry.versions import codeartifact_key, with_contents
        from pipfleet.store.versions import VersionCacheStore

        codeartifact = codeartifact_key(self._settings.codeartifact)
        with engine.connect() as connection:
            if not inspect(connection).has_table(PrivatePackage.__tablename__):
                return None
        with Session(engine) as session:
            run_id = session.exec(select(func.max(PrivatePackage.run_id))).one()
            versions = session.exec(
                select(func.count()).where(col(PackageVersionCache.codeartifact) == codeartifact)
            ).one()
        if run_id is None:
            return None
        # A run's packages are written once and cached versions never change, only add
        # up: the same run and count is the same listing, and a check skips reading it.
        stamp = (run_id, versions)
        if self._cached is not None and self._cached[0] == stamp:
            return self._cached[1]
        listing = PullRequestStore(engine).listing(run_id)
        known = VersionCacheStore(engine, codeartifact).load()
        recorded = KnownListing(with_contents(listing, known), f"scan run {run_id} of the database")
        self._cached = (stamp, recorded)
        return recorded
