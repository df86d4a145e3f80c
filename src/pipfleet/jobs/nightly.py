"""The nightly job: scan, fix, and optionally the dashboard, one run at a time per database.

``pipfleet run``, ``scan`` and ``fix`` all write under the database's run lock, so a scan
cannot run beside a nightly run; dry runs write nothing and need no lock. A SIGTERM or
SIGINT stops any of them cleanly: the lock is released and a scan that was under way is
marked "interrupted" (a scan that had finished keeps its status when the fix is stopped).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from pipfleet.config import Settings
from pipfleet.engine.listing import Listing
from pipfleet.engine.plan import PullAction
from pipfleet.errors import PipfleetError
from pipfleet.jobs.fix import FixSummary
from pipfleet.jobs.scan import Progress
from pipfleet.jobs.setup import fix_fleet, scan_fleet
from pipfleet.report import ReportFormat
from pipfleet.report.output import make_report, write_report
from pipfleet.scanresults import ScanSummary
from pipfleet.signals import Stopping, stop_main_thread, stop_on_signals
from pipfleet.store.db import open_database
from pipfleet.store.queries import unfixable_findings
from pipfleet.store.runlock import Lease, mark_interrupted, run_lock

DONE, UNFIXABLE, PARTIAL = 0, 1, 3


@dataclass(frozen=True)
class NightlyResult:
    scan: ScanSummary
    fix: FixSummary
    unfixable: int  # findings needing a human in the scan: no pull request can fix them
    report: Path | None

    def exit_code(self, strict: bool) -> int:
        if self.scan.failed or self.fix.stopped or self.fix.failed:
            return PARTIAL
        return UNFIXABLE if strict and self.unfixable else DONE

    def paragraph(self) -> str:
        share = self.scan.compliant_share
        counts = self.fix.counts()
        parts = [
            f"Scanned {self.scan.repositories} repositories ({self.scan.fetched} read, "
            f"{self.scan.carried} unchanged, {self.scan.skipped} skipped, "
            f"{self.scan.failed} failed) with {self.scan.pipfiles} Pipfiles: "
            f"{'n/a' if share is None else f'{share:.0%}'} of the repositories with a "
            "Pipfile are compliant.",
            f"Pull requests: {counts[PullAction.OPEN]} opened, {counts[PullAction.UPDATE]} "
            f"updated, {counts[PullAction.CLOSE]} closed as fixed elsewhere, "
            f"{counts[PullAction.NOTHING]} already up to date, {counts[PullAction.DECLINED]} "
            f"declined by maintainers, {counts[PullAction.KEPT]} kept open for want of "
            f"evidence to close, {counts[PullAction.DEFERRED]} deferred, "
            f"{counts[PullAction.FAILED]} failed "
            f"({self.fix.writes} write requests).",
            f"{self.unfixable} finding(s) need a human: no pull request can fix them.",
        ]
        if self.fix.stopped:
            parts.append(f"The fix stopped early: {self.fix.stopped}.")
        if self.report is not None:
            parts.append(f"Dashboard: {self.report}.")
        return " ".join(parts)


def holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def exclusive(settings: Settings, engine: Engine) -> Iterator[Lease]:
    """The block under the run lock, heart-beating, stopped cleanly by SIGTERM or SIGINT."""
    database = settings.database
    stale_after = timedelta(seconds=database.lock_stale_after)

    def lost() -> None:
        stop_main_thread(
            "stopped: another run took the run lock over, this run's heartbeat having "
            f"stopped for more than {database.lock_stale_after:g} s"
        )

    with (
        stop_on_signals(),
        run_lock(
            engine,
            settings.github.org,
            holder(),
            every=timedelta(seconds=database.lock_heartbeat),
            stale_after=stale_after,
            on_lost=lost,
        ) as lease,
    ):
        yield lease


def _scan(
    settings: Settings,
    engine: Engine,
    lease: Lease,
    listing_override: Listing | None = None,
    progress: Progress | None = None,
    accept_shrink: bool = False,
) -> ScanSummary:
    try:
        return scan_fleet(
            settings,
            listing_override=listing_override,
            progress=progress,
            holder=lease.holder,
            accept_shrink=accept_shrink,
        )
    except Stopping as exc:
        # The scan records its own interruption, unless the signal cut that very write
        # short (or came before the run's row existed); say it here too, in plain words.
        mark_interrupted(engine, lease, f"interrupted: {exc}")
        raise


def run_nightly(
    settings: Settings,
    *,
    report: Path | None = None,
    progress: Progress | None = None,
    accept_shrink: bool = False,
) -> NightlyResult:
    """Scan then fix under the run lock, and write the HTML dashboard if asked.

    A scan that fails (an implausible picture included) raises before the fix starts;
    the dashboard is written all the same, its banner saying what failed.
    """
    with open_database(settings.database.url) as engine:
        with exclusive(settings, engine) as lease:
            try:
                scanned = _scan(
                    settings, engine, lease, progress=progress, accept_shrink=accept_shrink
                )
                fixed = fix_fleet(settings)
            except Exception:
                # A bad night still gets its dashboard: the last good state under a banner
                # saying what failed. The run's own error is the one to report, though.
                if report is not None:
                    with suppress(PipfleetError, OSError):
                        write_dashboard(settings, report)
                raise
            if report is not None:
                write_dashboard(settings, report)
        unfixable = unfixable_findings(engine, scanned.run_id) if scanned.run_id else 0
    return NightlyResult(scanned, fixed, unfixable, report)


def write_dashboard(settings: Settings, path: Path) -> None:
    """The HTML dashboard of the database's latest run, written whole to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    html = make_report(
        settings.database.url, ReportFormat.HTML, opt_out_topic=settings.github.opt_out_topic
    )
    write_report(path, html)


def scan_alone(
    settings: Settings,
    *,
    listing_override: Listing | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    accept_shrink: bool = False,
) -> ScanSummary:
    """``pipfleet scan``: under the run lock, unless a dry run (which writes nothing)."""
    if dry_run:
        with stop_on_signals():
            return scan_fleet(
                settings, listing_override=listing_override, dry_run=True, progress=progress
            )
    with open_database(settings.database.url) as engine, exclusive(settings, engine) as lease:
        return _scan(settings, engine, lease, listing_override, progress, accept_shrink)


def fix_alone(
    settings: Settings,
    *,
    dry_run: bool = False,
    only: Sequence[str] = (),
    max_prs: int | None = None,
) -> FixSummary:
    """``pipfleet fix``: under the run lock, unless a dry run (which writes nothing)."""
    if dry_run:
        with stop_on_signals():
            return fix_fleet(settings, dry_run=True, only=only, max_prs=max_prs)
    with open_database(settings.database.url) as engine, exclusive(settings, engine):
        return fix_fleet(settings, only=only, max_prs=max_prs)
