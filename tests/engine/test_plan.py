from __future__ import annotations

import pytest

from pipfleet.engine.plan import LastPull, PullAction, decide
from pipfleet.states import PullRequestState

A, B = "a" * 64, "b" * 64


@pytest.mark.parametrize(
    ("fingerprint", "last", "reopen", "action"),
    [
        (A, None, False, PullAction.OPEN),
        (A, LastPull(PullRequestState.OPEN, A), False, PullAction.NOTHING),
        (B, LastPull(PullRequestState.OPEN, A), False, PullAction.UPDATE),
        (None, LastPull(PullRequestState.OPEN, A), False, PullAction.CLOSE),
        (None, None, False, PullAction.NONE_NEEDED),
        (None, LastPull(PullRequestState.MERGED, A), False, PullAction.NONE_NEEDED),
        (A, LastPull(PullRequestState.DISMISSED, A), True, PullAction.DECLINED),
        (B, LastPull(PullRequestState.DISMISSED, A), False, PullAction.DECLINED),
        (B, LastPull(PullRequestState.DISMISSED, A), True, PullAction.OPEN),
        (B, LastPull(PullRequestState.MERGED, A), False, PullAction.OPEN),
        (A, LastPull(PullRequestState.PENDING, A), False, PullAction.OPEN),
        (A, LastPull(PullRequestState.CLOSED, A), False, PullAction.OPEN),
    ],
)
def test_decisions(
    fingerprint: str | None, last: LastPull | None, reopen: bool, action: PullAction
) -> None:
    assert decide(fingerprint, last, reopen).action is action
