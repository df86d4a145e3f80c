"""Build the jobs' adapters from settings: the one place that wires real systems together."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from pipfleet.config import Settings
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.listing import Listing
from pipfleet.github.gateway import GitHubGateway, connect
from pipfleet.github.limits import Patience
from pipfleet.github.pulls import PullRequests
from pipfleet.jobs.fix import FixJob, FixSummary
from pipfleet.jobs.scan import Progress, ScanSummary, run_scan
from pipfleet.registry.intel import gather
from pipfleet.registry.pypi import EtagCache
from pipfleet.store.db import make_engine, upgrade
from pipfleet.store.prs import PullRequestStore
from pipfleet.store.recorder import DatabaseRecorder


def etag_cache_path() -> Path:
    """Where the public index's ETags are kept between runs ($XDG_CACHE_HOME/pipfleet)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "pipfleet" / "pypi-etags.json"


def open_database(settings: Settings) -> Engine:
    """The configured database, migrated to the current schema first."""
    upgrade(settings.database.url)
    return make_engine(settings.database.url)


def scan_fleet(
    settings: Settings,
    *,
    listing_override: Listing | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ScanSummary:
    """The scan from settings. A dry run opens no database and writes nothing."""
    gateway = GitHubGateway(connect(settings.github, settings.secrets), settings.github)
    recorder = None
    if not dry_run:
        recorder = DatabaseRecorder(open_database(settings), settings.github.org)
    cache = EtagCache.load(etag_cache_path())
    listing, intel = gather(settings, listing_override, cache)
    if not dry_run:
        cache.save()
    if progress:
        progress("listing", len(listing))
    options = AuditOptions(
        index_name=settings.codeartifact.source_name,
        source_url=settings.codeartifact.source_url,
        intel=intel,
    )
    return run_scan(settings.github, gateway, listing, intel, options, recorder, progress)


def fix_fleet(
    settings: Settings,
    *,
    dry_run: bool = False,
    only: Sequence[str] = (),
    max_prs: int | None = None,
) -> FixSummary:
    """The fix job from settings. A dry run sends no write request and records nothing."""
    reader = GitHubGateway(connect(settings.github, settings.secrets), settings.github)
    pulls = None
    if not dry_run:
        writer = connect(settings.github, settings.secrets, writes=True)
        pulls = PullRequests(writer, settings.github.org, patience=Patience(settings.fix.max_wait))
    store = PullRequestStore(open_database(settings))
    return FixJob(settings, reader, store, pulls).run(only, max_prs)
