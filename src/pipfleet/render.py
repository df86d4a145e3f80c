"""Render the scan and fix jobs' summaries: readable text (Rich) or JSON.

``pipfleet check`` has its own output module (checkoutput). Importing this one loads
no job, store or GitHub code: the summaries are only types here.

Names, paths, messages and diffs come from repositories: every one reaches the
terminal through ``_plain`` or ``_lines``, controls and bidi characters escaped
(JSON escapes them itself), and a diff's URLs with their secrets masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from pipfleet.engine.plan import PullAction
from pipfleet.safetext import mask_credentials, printable

if TYPE_CHECKING:
    from pipfleet.jobs.fix import FixSummary
    from pipfleet.scanresults import ScanSummary


def _plain(text: str, style: str = "") -> Text:
    """One line of repository text for the terminal (Rich keeps ESC in ``Text``)."""
    return Text(printable(text), style=style)


def _lines(diff: str) -> Text:
    """A diff for the terminal: its lines kept, its controls escaped, its secrets masked."""
    return Text(printable(mask_credentials(diff.rstrip("\n")), multiline=True))


def scan_summary_json(summary: ScanSummary, dry_run: bool) -> dict[str, object]:
    share = summary.compliant_share
    return {
        "run_id": summary.run_id,
        "status": summary.status,
        "dry_run": dry_run,
        "repositories": summary.repositories,
        "fetched": summary.fetched,
        "carried": summary.carried,
        "skipped": summary.skipped,
        "failed": summary.failed,
        "pipfiles": summary.pipfiles,
        "compliant_share": None if share is None else round(share, 4),
        "findings": dict(sorted(summary.findings.items())),
        "github_requests": summary.github_requests,
        "errors": summary.errors,
    }


def print_scan_summary(console: Console, summary: ScanSummary, dry_run: bool) -> None:
    share = summary.compliant_share
    shown = "n/a" if share is None else f"{share:.0%}"
    run = "dry run, nothing recorded" if dry_run else f"run {summary.run_id}"
    console.print(
        f"scan {summary.status} ({run}): {summary.repositories} repositories "
        f"({summary.fetched} read, {summary.carried} unchanged, {summary.skipped} skipped, "
        f"{summary.failed} failed), {summary.pipfiles} manifests, compliant {shown}, "
        f"{summary.github_requests} GitHub requests"
    )
    for kind, count in sorted(summary.findings.items(), key=lambda item: (-item[1], item[0])):
        console.print(f"  {count:6d}  {kind}")
    for error in summary.errors:
        console.print(_plain(f"  error: {error}", style="red"))


# In the order the summary counts them; the per-repository lines use the same words.
_FIX_VERBS = {
    PullAction.OPEN: "opened",
    PullAction.UPDATE: "updated",
    PullAction.CLOSE: "closed (fixed on the default branch)",
    PullAction.NOTHING: "up to date",
    PullAction.NONE_NEEDED: "nothing to fix",
    PullAction.DECLINED: "declined earlier (left alone)",
    PullAction.OPTED_OUT: "opted out",
    PullAction.KEPT: "kept open (not enough evidence to close)",
    PullAction.DEFERRED: "deferred",
    PullAction.FAILED: "failed",
}
# A dry run writes nothing: what it would have written says so.
_DRY_RUN_VERBS = {
    PullAction.OPEN: "would open",
    PullAction.UPDATE: "would update",
    PullAction.CLOSE: "would close",
}


def _fix_verb(action: PullAction, dry_run: bool) -> str:
    if dry_run and action in _DRY_RUN_VERBS:
        return _DRY_RUN_VERBS[action]
    return _FIX_VERBS[action]


def print_fix_summary(console: Console, summary: FixSummary, dry_run: bool) -> None:
    """One line per repository; in a dry run, the title and diff of each would-be PR."""
    for outcome in summary.outcomes:
        verb = _fix_verb(outcome.action, dry_run)
        if dry_run and outcome.fix is not None and not outcome.fix.empty and outcome.text:
            console.rule(_plain(f"{outcome.repository}: {verb}"))
            console.print(_plain(f"title: {outcome.text.title}"))
            for change in outcome.fix.changes:
                console.print(_lines(change.diff), highlight=False)
            continue
        where = f" #{outcome.number} {outcome.url}" if outcome.number else ""
        console.print(_plain(f"{outcome.repository}: {verb}{where} ({outcome.reason})"))
    counts = summary.counts()
    said = ", ".join(f"{counts[a]} {_fix_verb(a, dry_run)}" for a in _FIX_VERBS if counts[a])
    mode = "dry run, nothing written" if dry_run else f"{summary.writes} write requests"
    console.print(f"fix (scan run {summary.run_id}): {said or 'no repository to fix'}; {mode}")
    if summary.stopped:
        console.print(_plain(f"stopped early: {summary.stopped}", style="yellow"))
