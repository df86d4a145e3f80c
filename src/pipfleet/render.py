"""Render ``pipfleet check`` results: readable text (Rich) or the stable JSON schema.

The JSON schema is documented in docs/check-json.md; bump ``CHECK_SCHEMA`` on
any change that is not a pure addition.

Names, paths, messages and diffs come from repositories: every one reaches the
terminal through ``_plain`` or ``_lines``, controls and bidi characters escaped
(JSON escapes them itself), and a diff's URLs with their secrets masked.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from pipfleet.engine.findings import Finding, FindingKind, Severity
from pipfleet.engine.listing import Listing
from pipfleet.engine.plan import PullAction
from pipfleet.jobs.check import CheckResult, FileResult, FileStatus, LockResult, Mode
from pipfleet.jobs.fix import FixSummary
from pipfleet.safetext import mask_credentials, printable
from pipfleet.scanresults import ScanSummary

CHECK_SCHEMA = "pipfleet.check/1"

_SEVERITY_STYLE = {
    Severity.INFO: "dim",
    Severity.LOW: "cyan",
    Severity.MEDIUM: "yellow",
    Severity.HIGH: "bold red",
    Severity.CRITICAL: "bold white on red",
}
_STATUS_STYLE = {
    FileStatus.COMPLIANT: "green",
    FileStatus.FIXED: "green",
    FileStatus.NEEDS_ACTION: "red",
    FileStatus.INVALID: "bold red",
}


def _plain(text: str, style: str = "") -> Text:
    """One line of repository text for the terminal (Rich keeps ESC in ``Text``)."""
    return Text(printable(text), style=style)


def _lines(diff: str) -> Text:
    """A diff for the terminal: its lines kept, its controls escaped, its secrets masked."""
    return Text(printable(mask_credentials(diff.rstrip("\n")), multiline=True))


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "kind": finding.kind.value,
        "severity": finding.severity.label,
        "fixable": finding.fixable,
        "category": finding.category,
        "package": finding.package,
        "current": finding.current,
        "expected": finding.expected,
        "line": finding.line,
        "column": finding.column,
        "source": finding.source,
        "message": finding.message,
    }


def check_json(result: CheckResult, listing: Listing, index_name: str) -> str:
    files = []
    for item in result.files:
        files.append(
            {
                "path": item.path,
                "status": item.status.value,
                "private_source": item.report.private_source,
                "private_source_match": item.report.private_source_match,
                "changed": item.new_text is not None,
                "written": item.written,
                "fix_error": item.fix_error,
                "findings": [finding_json(f) for f in item.report.findings],
                "remaining": [finding_json(f) for f in item.remaining],
                "diff": item.diff if result.mode is not Mode.AUDIT else None,
                "lock": None if item.lock is None else _lock_json(item.lock),
            }
        )
    statuses = [item.status for item in result.files]
    document = {
        "schema": CHECK_SCHEMA,
        "mode": result.mode.value,
        "index_name": index_name,
        "listing": {"packages": len(listing), "digest": listing.digest()},
        "files": files,
        "summary": {
            "files": len(files),
            **{status.value: statuses.count(status) for status in FileStatus},
            "findings": dict(sorted(result.counts().items())),
        },
        "exit_code": result.exit_code,
    }
    return json.dumps(document, indent=2) + "\n"


def _lock_json(lock: LockResult) -> dict[str, Any]:
    return {
        "path": lock.path,
        "changed": lock.new_text is not None,
        "written": lock.written,
        "rehashed": lock.rehashed,
        "problem": lock.problem,
    }


def _lock_line(lock: LockResult, mode: Mode) -> Text | None:
    """What the fix does to the lock; None when there is nothing to say."""
    rehashed = ""
    if lock.rehashed:
        rehashed = (
            f" ({lock.rehashed} {'entry' if lock.rehashed == 1 else 'entries'} given "
            "CodeArtifact's files: the ones locked before came from another index; reinstall "
            "with `pipenv sync`)"
        )
    if lock.written:
        line = _plain(f"{lock.path}: updated{rehashed}", style="green")
    elif mode is Mode.DIFF and lock.new_text is not None:
        line = _plain(f"{lock.path}: --fix updates it too{rehashed}")
    elif lock.problem is None:
        return None
    else:
        return _plain(f"{lock.path}: not updated: {lock.problem}", style="yellow")
    if lock.problem is not None:
        line.append(printable(f"; {lock.problem}"), style="yellow")
    return line


def _finding_line(item: FileResult, finding: Finding) -> Text:
    where = f"{item.path}:{finding.line}" if finding.line else item.path
    if finding.column:
        where += f":{finding.column}"
    line = Text.assemble(
        (printable(where), "bold"),
        ": ",
        (finding.kind.value, _SEVERITY_STYLE[finding.severity]),
        " ",
    )
    if finding.category and finding.package:
        line.append(printable(f"[{finding.category}] {finding.package}: "))
    line.append(printable(finding.message))
    if finding.fixable and finding.kind is not FindingKind.MISSING_SOURCE:
        before = "not listed" if finding.current is None else finding.current
        change = printable(f"{before} -> {finding.expected}")
        line.append(f"\n    {change}", style="dim")
    return line


def print_check(console: Console, result: CheckResult, *, verbose: bool = False) -> None:
    """Lint-style lines per finding, diffs in diff mode, then a one-line summary."""
    for item in result.files:
        for finding in item.report.findings:
            if verbose or finding.needs_action:
                console.print(_finding_line(item, finding), soft_wrap=True)
        if item.fix_error:
            console.print(_plain(f"{item.path}: not fixed: {item.fix_error}", style="yellow"))
        if result.mode is Mode.DIFF and item.diff:
            console.print(_lines(item.diff), soft_wrap=True, highlight=False)
        if result.mode is Mode.FIX and item.written:
            console.print(_plain(f"{item.path}: fixed", style="green"))
        if item.lock is not None and (line := _lock_line(item.lock, result.mode)) is not None:
            console.print(line, soft_wrap=True)
    statuses = [item.status for item in result.files]
    parts = [f"{len(statuses)} Pipfile(s)"]
    for status in FileStatus:
        if count := statuses.count(status):
            parts.append(Text(f"{count} {status.value}", style=_STATUS_STYLE[status]).markup)
    console.print(", ".join(parts))


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
        f"{summary.failed} failed), {summary.pipfiles} Pipfiles, compliant {shown}, "
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
