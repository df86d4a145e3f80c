"""Build the jobs' adapters from settings: the one place that wires real systems together."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from pipfleet.config import Settings
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.listing import Listing
from pipfleet.errors import UsageError
from pipfleet.github.gateway import GitHubGateway, connect
from pipfleet.github.limits import Patience
from pipfleet.jobs.scan import Progress, no_progress, run_scan
from pipfleet.registry.intel import gather
from pipfleet.registry.pypi import EtagCache
from pipfleet.registry.versions import VersionIntel, codeartifact_key
from pipfleet.scanresults import ScanSummary
from pipfleet.store.db import open_database
from pipfleet.store.recorder import DatabaseRecorder
from pipfleet.store.versions import VersionCacheStore

if TYPE_CHECKING:
    from pipfleet.jobs.fix import FixSummary
    from pipfleet.store.prs import PullRequestStore


def etag_cache_path(settings: Settings) -> Path:
    """Where the public index's ETags are kept between runs."""
    return settings.cache / "pypi-etags.json"


def scan_fleet(
    settings: Settings,
    *,
    listing_override: Listing | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    holder: str | None = None,
    accept_shrink: bool = False,
) -> ScanSummary:
    """The scan from settings. A dry run opens no database and writes nothing.

    ``holder`` is the run lock holder the scan runs under, recorded with the run.
    ``accept_shrink`` lets a listing or repository list that shrank sharply through.
    """
    if dry_run:
        return _scan(settings, None, listing_override, progress, holder, accept_shrink)
    with open_database(settings.database.url) as engine:
        return _scan(settings, engine, listing_override, progress, holder, accept_shrink)


def _scan(
    settings: Settings,
    engine: Engine | None,
    listing_override: Listing | None,
    progress: Progress | None,
    holder: str | None,
    accept_shrink: bool,
) -> ScanSummary:
    """The scan with the database ``engine`` (None: a dry run)."""
    dry_run = engine is None
    gateway = GitHubGateway(connect(settings.github, settings.secrets), settings.github)
    recorder = None if engine is None else DatabaseRecorder(engine, settings.github.org, holder)
    cache = EtagCache.load(etag_cache_path(settings))
    listing, intel = gather(settings, listing_override, cache)
    if not dry_run:
        cache.save()
    versions = None
    if listing_override is None:  # a listing file carries its own hashes and dependencies
        store = None
        if engine is not None:
            store = VersionCacheStore(engine, codeartifact_key(settings.codeartifact))
        version_intel = VersionIntel(settings.codeartifact, store)
        listing = version_intel.listing(listing)
        versions = version_intel.complete
    (progress or no_progress)("listing", len(listing))
    options = AuditOptions(
        index_name=settings.codeartifact.source_name,
        source_url=settings.codeartifact.source_url,
        intel=intel,
    )
    return run_scan(
        settings.github,
        gateway,
        listing,
        intel,
        options,
        recorder,
        progress,
        safety=settings.safety,
        accept_shrink=accept_shrink,
        versions=versions,
    )


def fix_fleet(
    settings: Settings,
    *,
    dry_run: bool = False,
    only: Sequence[str] = (),
    max_prs: int | None = None,
) -> FixSummary:
    """The fix job from settings. A dry run sends no write request and records nothing."""
    # Imported here: `pipfleet scan` never loads the fix job, its pull request writer or
    # their rewriting engines (most of a second of every scan's start-up).
    from pipfleet.github.pulls import PullRequests
    from pipfleet.jobs.fix import FixJob
    from pipfleet.store.prs import PullRequestStore

    if max_prs is not None and max_prs < 0:
        raise UsageError(f"--max-prs must be 0 or more, not {max_prs}")
    with open_database(settings.database.url) as engine:
        store = PullRequestStore(engine)
        versions = VersionCacheStore(engine, codeartifact_key(settings.codeartifact)).load()
        _check_only(store, settings.github.org, only)
        reader = GitHubGateway(connect(settings.github, settings.secrets), settings.github)
        pulls = None
        if not dry_run:
            writer = connect(settings.github, settings.secrets, writes=True)
            patience = Patience(settings.fix.max_wait)
            pulls = PullRequests(writer, settings.github.org, patience=patience)
        return FixJob(settings, reader, store, pulls, versions).run(only, max_prs)


def _check_only(store: PullRequestStore, org: str, only: Sequence[str]) -> None:
    """A UsageError when ``--repo`` names a repository the latest scan did not list.

    Without it a typo fixes nothing and says nothing. Before any scan there is nothing to
    check against; the fix job itself says a scan must come first.
    """
    run_id = store.latest_run(org) if only else None
    if run_id is None:
        return
    known = store.scanned_names(run_id, org)
    names = {name for pair in known for name in pair}
    unknown = [name for name in dict.fromkeys(only) if name not in names]
    if not unknown:
        return

    def described(name: str) -> str:
        pool = [full if "/" in name else short for short, full in known]
        close = difflib.get_close_matches(name, pool, n=3, cutoff=0.75)
        return f"{name} (did you mean {' or '.join(close)}?)" if close else name

    raise UsageError(
        f"--repo names no repository of {org} in the latest scan (run {run_id}): "
        + ", ".join(described(name) for name in unknown)
    )
