"""The nightly job: scan, fix, and optionally the dashboard, one run at a time per org.

``pipfleet run``, ``scan`` and ``fix`` cover every configured org in turn (or the orgs
given), each org under its own run lock in the database: a scan cannot run beside a
nightly run of the same org, while runs for different orgs (shards on several runners
sharing one PostgreSQL) go at once. Dry runs write nothing and need no lock. A SIGTERM or
SIGINT stops any of them cleanly: the lock is released and a scan that was under way is
marked "interrupted" (a scan that had finished keeps its status when the fix is stopped).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from pipfleet.config import Settings, for_org
from pipfleet.engine.listing import Listing
from pipfleet.engine.plan import PullAction
from pipfleet.errors import PipfleetError, UsageError
from pipfleet.jobs.scan import Progress
from pipfleet.jobs.setup import fix_fleet, scan_fleet
from pipfleet.scanresults import ScanSummary
from pipfleet.signals import Stopping, stop_main_thread, stop_on_signals
from pipfleet.store.db import open_database
from pipfleet.store.queries import unfixable_findings
from pipfleet.store.runlock import Lease, mark_interrupted, run_lock

if TYPE_CHECKING:
    from pipfleet.jobs.fix import FixSummary

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
            f"{self.scan.failed} failed) with {self.scan.pipfiles} manifests: "
            f"{'n/a' if share is None else f'{share:.0%}'} of the repositories with a "
            "manifest are compliant.",
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


@dataclass(frozen=True)
class NightlyRun:
    """A nightly run over its orgs, each scanned and fixed in turn."""

    results: Mapping[str, NightlyResult]  # by org, in the order they ran
    report: Path | None

    def exit_code(self, strict: bool) -> int:
        # PARTIAL > UNFIXABLE > DONE: the worst org's outcome is the run's.
        return max(result.exit_code(strict) for result in self.results.values())

    def paragraph(self) -> str:
        if len(self.results) == 1:
            return next(iter(self.results.values())).paragraph()
        lines = [
            f"{org}: {replace(result, report=None).paragraph()}"
            for org, result in self.results.items()
        ]
        if self.report is not None:
            lines.append(f"Dashboard: {self.report}.")
        return "\n".join(lines)


def chosen_orgs(settings: Settings, orgs: Sequence[str] = ()) -> tuple[str, ...]:
    """``orgs`` (each a configured one), else every configured org."""
    if not orgs:
        return settings.github.every_org
    for org in orgs:
        for_org(settings, org)  # an org the config does not name is a UsageError
    return tuple(dict.fromkeys(orgs))


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
    """The nightly run of ``settings.github.org`` alone (see ``run_orgs``)."""
    night = run_orgs(
        settings,
        (settings.github.org,),
        report=report,
        progress=progress,
        accept_shrink=accept_shrink,
    )
    return night.results[settings.github.org]


def run_orgs(
    settings: Settings,
    orgs: Sequence[str] = (),
    *,
    report: Path | None = None,
    progress: Progress | None = None,
    accept_shrink: bool = False,
) -> NightlyRun:
    """Scan then fix each of ``orgs`` (default: every configured org) under its run lock,
    then write the HTML dashboard if asked.

    A scan that fails (an implausible picture included) raises before its fix starts, and
    the orgs after it are not run; the dashboard is written all the same, its banner
    saying what failed.
    """
    results: dict[str, NightlyResult] = {}
    with open_database(settings.database.url) as engine:
        try:
            for org in chosen_orgs(settings, orgs):
                results[org] = _night(
                    for_org(settings, org), engine, report, progress, accept_shrink
                )
        except Exception:
            # A bad night still gets its dashboard: the last good state under a banner
            # saying what failed. The run's own error is the one to report, though.
            if report is not None:
                with suppress(PipfleetError, OSError):
                    write_dashboard(settings, report)
            raise
        if report is not None:
            write_dashboard(settings, report)
    return NightlyRun(results, report)


def _night(
    settings: Settings,
    engine: Engine,
    report: Path | None,
    progress: Progress | None,
    accept_shrink: bool,
) -> NightlyResult:
    """One org's scan and fix, under its run lock."""
    with exclusive(settings, engine) as lease:
        scanned = _scan(settings, engine, lease, progress=progress, accept_shrink=accept_shrink)
        fixed = fix_fleet(settings)
    unfixable = unfixable_findings(engine, scanned.run_id) if scanned.run_id else 0
    return NightlyResult(scanned, fixed, unfixable, report)


def write_dashboard(settings: Settings, path: Path) -> None:
    """The HTML dashboard of the database's latest run, written whole to ``path``."""
    # Imported here, as the fix job is (see setup.fix_fleet): `pipfleet scan` needs neither.
    from pipfleet.report import ReportFormat
    from pipfleet.report.output import make_report, write_report

    path.parent.mkdir(parents=True, exist_ok=True)
    html = make_report(
        settings.database.url, ReportFormat.HTML, opt_out_topic=settings.github.opt_out_topic
    )
    write_report(path, html)


def scan_alone(
    settings: Settings,
    *,
    orgs: Sequence[str] = (),
    listing_override: Listing | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    accept_shrink: bool = False,
) -> dict[str, ScanSummary]:
    """``pipfleet scan``: each of ``orgs`` (default: every configured org) in turn, under
    its run lock unless a dry run (which writes nothing). By org."""
    chosen = [for_org(settings, org) for org in chosen_orgs(settings, orgs)]
    if dry_run:
        with stop_on_signals():
            return {
                one.github.org: scan_fleet(
                    one, listing_override=listing_override, dry_run=True, progress=progress
                )
                for one in chosen
            }
    summaries = {}
    with open_database(settings.database.url) as engine:
        for one in chosen:
            with exclusive(one, engine) as lease:
                summaries[one.github.org] = _scan(
                    one, engine, lease, listing_override, progress, accept_shrink
                )
    return summaries


def fix_alone(
    settings: Settings,
    *,
    orgs: Sequence[str] = (),
    dry_run: bool = False,
    only: Sequence[str] = (),
    max_prs: int | None = None,
) -> dict[str, FixSummary]:
    """``pipfleet fix``: each of ``orgs`` (default: every configured org) in turn, under
    its run lock unless a dry run (which writes nothing). By org."""
    wanted = _only_by_org(chosen_orgs(settings, orgs), only)
    chosen = [for_org(settings, org) for org in wanted]
    if dry_run:
        with stop_on_signals():
            return {
                one.github.org: fix_fleet(
                    one, dry_run=True, only=wanted[one.github.org], max_prs=max_prs
                )
                for one in chosen
            }
    summaries = {}
    with open_database(settings.database.url) as engine:
        for one in chosen:
            with exclusive(one, engine):
                summaries[one.github.org] = fix_fleet(
                    one, only=wanted[one.github.org], max_prs=max_prs
                )
    return summaries


def _only_by_org(orgs: Sequence[str], only: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The orgs a fix runs on, each with the ``--repo`` names that are its own.

    With several orgs a name must say its org ("org/repo"), and only the orgs named run:
    an org left with no name would otherwise be fixed whole.
    """
    if len(orgs) == 1 or not only:
        return {org: tuple(only) for org in orgs}
    by_org: dict[str, list[str]] = {}
    for name in only:
        org = name.partition("/")[0]
        if "/" not in name or org not in orgs:
            raise UsageError(
                f"--repo {name}: with several orgs ({', '.join(orgs)}), give the full name "
                "(org/repo) of a repository of one of them, or choose one with --org"
            )
        by_org.setdefault(org, []).append(name)
    return {org: tuple(by_org[org]) for org in orgs if org in by_org}
