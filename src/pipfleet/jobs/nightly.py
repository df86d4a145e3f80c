"""The nightly job: scan, fix, and optionally the dashboard, one run at a time per database."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from pipfleet.config import Settings
from pipfleet.files import write_atomically
from pipfleet.jobs.fix import FixSummary
from pipfleet.jobs.scan import Progress, ScanSummary
from pipfleet.jobs.setup import fix_fleet, open_database, scan_fleet
from pipfleet.report import ReportFormat
from pipfleet.report.output import make_report
from pipfleet.store.queries import unfixable_findings
from pipfleet.store.runlock import run_lock

DONE, UNFIXABLE, PARTIAL = 0, 1, 3


@dataclass(frozen=True)
class NightlyResult:
    scan: ScanSummary
    fix: FixSummary
    unfixable: int  # findings needing a human in the scan: no pull request can fix them
    report: Path | None

    def exit_code(self, strict: bool) -> int:
        if self.scan.failed or self.fix.stopped or self.fix.counts().get("failed"):
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
            f"Pull requests: {counts.get('open', 0)} opened, {counts.get('update', 0)} updated, "
            f"{counts.get('close', 0)} closed as fixed elsewhere, {counts.get('nothing', 0)} "
            f"already up to date, {counts.get('declined', 0)} declined by maintainers, "
            f"{counts.get('deferred', 0)} deferred, {counts.get('failed', 0)} failed "
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


def run_nightly(
    settings: Settings, *, report: Path | None = None, progress: Progress | None = None
) -> NightlyResult:
    """Scan then fix under the run lock, and write the HTML dashboard if asked."""
    engine = open_database(settings)
    with run_lock(engine, holder()):
        scanned = scan_fleet(settings, progress=progress)
        fixed = fix_fleet(settings)
        if report is not None:
            report.parent.mkdir(parents=True, exist_ok=True)
            html = make_report(settings.database.url, ReportFormat.HTML)
            write_atomically(report, html)
    unfixable = unfixable_findings(engine, scanned.run_id) if scanned.run_id else 0
    engine.dispose()
    return NightlyResult(scanned, fixed, unfixable, report)
