"""Render the scan and fix jobs' summaries: readable text (Rich) or JSON.

``pipfleet check`` has its own output module (checkoutput). Importing this one loads
no job, store or GitHub code: the summaries are only types here.

Names, paths, messages and diffs come from repositories: every one reaches the
terminal through ``_plain``, ``_masked`` or ``_lines``, controls and bidi characters
escaped (JSON escapes them itself), and the URLs of a diff or a note with their secrets
masked (in JSON too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from pipfleet.engine.plan import PullAction
from pipfleet.safetext import mask_credentials, printable

if TYPE_CHECKING:
    from pipfleet.engine.fixset import ManifestFix, RepoFix
    from pipfleet.engine.requirementsrewrite import LineChange, Proposal
    from pipfleet.jobs.fix import FixOutcome, FixSummary
    from pipfleet.scanresults import ScanSummary


def _plain(text: str, style: str = "") -> Text:
    """One line of repository text for the terminal (Rich keeps ESC in ``Text``)."""
    return Text(printable(text), style=style)


def _masked(text: str, style: str = "") -> Text:
    """One line of repository text that may hold a URL: its secrets masked too."""
    return _plain(mask_credentials(text), style)


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


def fix_summary_json(summary: FixSummary, dry_run: bool) -> dict[str, object]:
    """The fix job's summary as JSON: the counts, and per repository its outcome and what
    its fix does to each uv, Poetry and requirements manifest."""
    counts = summary.counts()
    return {
        "run_id": summary.run_id,
        "dry_run": dry_run,
        "writes": summary.writes,
        "stopped": summary.stopped,
        "counts": {action.value: counts[action] for action in _FIX_VERBS if counts[action]},
        "repositories": [_outcome_json(outcome) for outcome in summary.outcomes],
    }


def _outcome_json(outcome: FixOutcome) -> dict[str, object]:
    return {
        "repository": outcome.repository,
        "action": outcome.action.value,
        "reason": outcome.reason,
        "number": outcome.number,
        "url": outcome.url,
        "title": outcome.text.title if outcome.text else None,
        "fix": None if outcome.fix is None else _fix_json(outcome.fix),
    }


def _fix_json(fix: RepoFix) -> dict[str, object]:
    return {
        "files": [change.path for change in fix.changes],
        "lock_notes": [mask_credentials(note) for note in _lock_notes(fix)],
        "manifests": [_manifest_json(manifest) for manifest in fix.manifests],
    }


def _manifest_json(manifest: ManifestFix) -> dict[str, object]:
    # Texts that may quote a URL are masked as on the terminal; JSON escapes controls.
    relock = None if manifest.relock is None else mask_credentials(manifest.relock)
    return {
        "path": manifest.path,
        "kind": manifest.kind.value,
        "added_index": manifest.added_index,
        "lock": manifest.lock,
        "lock_updated": manifest.lock_updated,
        "relock": relock,
        "applied": [_proposal_json(proposal) for proposal in manifest.applied],
        "proposals": [_proposal_json(proposal) for proposal in manifest.proposals],
    }


def _proposal_json(proposal: Proposal) -> dict[str, object]:
    return {
        "kind": proposal.kind.value,
        "summary": mask_credentials(proposal.summary),
        "automatic": proposal.automatic,
        "changes": [
            {
                "file": change.file,
                "line": change.line,
                "before": [mask_credentials(line) for line in change.before],
                "after": [mask_credentials(line) for line in change.after],
            }
            for change in proposal.changes
        ],
    }


def print_fix_summary(console: Console, summary: FixSummary, dry_run: bool) -> None:
    """One line per repository; in a dry run, the title and diff of each would-be PR, and
    what it does to each uv, Poetry and requirements manifest beyond the diff."""
    for outcome in summary.outcomes:
        verb = _fix_verb(outcome.action, dry_run)
        if dry_run and outcome.fix is not None and not outcome.fix.empty and outcome.text:
            console.rule(_plain(f"{outcome.repository}: {verb}"))
            console.print(_plain(f"title: {outcome.text.title}"))
            for change in outcome.fix.changes:
                console.print(_lines(change.diff), highlight=False)
        else:
            where = f" #{outcome.number} {outcome.url}" if outcome.number else ""
            console.print(_plain(f"{outcome.repository}: {verb}{where} ({outcome.reason})"))
        # Also under a fix with nothing to change: its proposals are shown nowhere else.
        if dry_run and outcome.fix is not None:
            _print_lock_notes(console, outcome.fix)
            _print_manifests(console, outcome.fix.manifests)
    counts = summary.counts()
    said = ", ".join(f"{counts[a]} {_fix_verb(a, dry_run)}" for a in _FIX_VERBS if counts[a])
    mode = "dry run, nothing written" if dry_run else f"{summary.writes} write requests"
    console.print(f"fix (scan run {summary.run_id}): {said or 'no repository to fix'}; {mode}")
    if summary.stopped:
        console.print(_plain(f"stopped early: {summary.stopped}", style="yellow"))


def _lock_notes(fix: RepoFix) -> list[str]:
    """What the fix does to each Pipfile.lock beyond its diff, and what it cannot fix."""
    notes = [
        f"{entry.path}: {entry.section}/{entry.package}=={entry.version} given CodeArtifact's "
        f"{entry.after} file(s)"
        + (f", replacing {entry.foreign} foreign hash(es)" if entry.foreign else "")
        for entry in fix.rehashed
    ]
    notes += [
        f"{lock}: left alone, out of date with its Pipfile: run `pipenv lock`"
        for lock in fix.stale_locks
    ]
    notes += [f"{entry}: run `pipenv lock`" for entry in fix.relock]
    notes += [f"cannot fix {entry}" for entry in fix.unfixable]
    return notes


def _print_lock_notes(console: Console, fix: RepoFix) -> None:
    notes = _lock_notes(fix)
    if notes:
        console.print(Text("locks:", style="bold"))
    for note in notes:
        console.print(_masked(f"  {note}", style="yellow"))


def _print_manifests(console: Console, manifests: Sequence[ManifestFix]) -> None:
    """What the diff does not say: which locks must be made again, which requirements
    changes were made and which are only proposed, for a person to make or not."""
    if manifests:
        # A heading, since the indented lines below would otherwise read as the diff's context.
        console.print(Text("manifests:", style="bold"))
    for manifest in manifests:
        added = ": CodeArtifact index added" if manifest.added_index else ""
        console.print(_plain(f"  {manifest.kind.value} {manifest.path}{added}"))
        if manifest.lock_updated:
            console.print(_plain(f"    {manifest.lock} updated in place"))
        if manifest.relock is not None:
            # A Poetry note may quote the lock's own error, URLs and all.
            note = f"    {manifest.lock} left alone: {manifest.relock}"
            console.print(_masked(note, style="yellow"))
        for proposals, what in (
            (manifest.applied, "changed"),
            (manifest.proposals, "proposed, for a person to make"),
        ):
            for proposal in proposals:
                console.print(_masked(f"    {what}: {proposal.summary}"))
                for change in proposal.changes:
                    console.print(_masked(f"      {_line_change(change)}"))


def _line_change(change: LineChange) -> str:
    """``file:line: before → after``; a change of several lines joins them with ⏎."""
    after = " ⏎ ".join(change.after) if change.after else "(removed)"
    return f"{change.file}:{change.line}: {' ⏎ '.join(change.before)} → {after}"
