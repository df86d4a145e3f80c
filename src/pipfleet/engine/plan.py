"""What to do with a repository's fix pull request, given the fix and the last one. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipfleet.states import PullRequestState


class PullAction(StrEnum):
    """What becomes of a repository's fix pull request: ``decide`` gives one of the first
    six; the fix job's own outcomes (opted out, kept, deferred, failed) complete the set,
    so a run's summary counts one kind of thing. The values are in the JSON output."""

    OPEN = "open"  # no open pull request: open one
    UPDATE = "update"  # the fix changed: rebuild the branch, update and comment
    NOTHING = "nothing"  # the open pull request carries this very fix
    CLOSE = "close"  # fixed on the default branch by someone else: close ours
    DECLINED = "declined"  # a human closed this fix unmerged: never again
    NONE_NEEDED = "none-needed"  # nothing to fix and nothing open
    OPTED_OUT = "opted-out"  # the repository wants no pull requests
    KEPT = "kept"  # the fix looks gone, but without the evidence a closure needs
    DEFERRED = "deferred"  # a limit or a rate limit stopped the run first
    FAILED = "failed"  # the repository could not be read or acted on


@dataclass(frozen=True)
class LastPull:
    """The latest pull request pipfleet recorded for a repository, synced with GitHub."""

    state: PullRequestState
    fingerprint: str


@dataclass(frozen=True)
class Decision:
    action: PullAction
    reason: str


def decide(fingerprint: str | None, last: LastPull | None, reopen_dismissed: bool) -> Decision:
    """``fingerprint`` is the fix's, or None when the repository needs no change."""
    open_now = last is not None and last.state is PullRequestState.OPEN
    if fingerprint is None:
        if open_now:
            return Decision(PullAction.CLOSE, "the default branch no longer needs the change")
        return Decision(PullAction.NONE_NEEDED, "nothing to fix")
    if last is not None and last.state is PullRequestState.OPEN:
        if last.fingerprint == fingerprint:
            return Decision(PullAction.NOTHING, "the open pull request carries this fix")
        return Decision(PullAction.UPDATE, "the fix or the files under it changed")
    if last is not None and last.state is PullRequestState.DISMISSED:
        if last.fingerprint == fingerprint:
            return Decision(PullAction.DECLINED, "a maintainer closed this fix unmerged")
        if not reopen_dismissed:
            return Decision(
                PullAction.DECLINED,
                "a maintainer closed an earlier fix unmerged (reopen_dismissed is false)",
            )
    return Decision(PullAction.OPEN, "private packages need pinning")
