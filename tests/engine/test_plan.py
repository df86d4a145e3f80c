from __future__ import annotations

import pytest

from pipfleet.engine.plan import LastPull, PullAction, decide

A, B = "a" * 64, "b" * 64


@pytest.mark.parametrize(
    ("fingerprint", "last", "reopen", "action"),
    [
        (A, None, False, PullAction.OPEN),
        (A, LastPull("open", A), False, PullAction.NOTHING),
        (B, LastPull("open", A), False, PullAction.UPDATE),
        (None, LastPull("open", A), False, PullAction.CLOSE),
        (None, None, False, PullAction.NONE_NEEDED),
        (None, LastPull("merged", A), False, PullAction.NONE_NEEDED),
        (A, LastPull("dismissed", A), True, PullAction.DECLINED),
        (B, LastPull("dismissed", A), False, PullAction.DECLINED),
        (B, LastPull("dismissed", A), True, PullAction.OPEN),
        (B, LastPull("merged", A), False, PullAction.OPEN),
        (A, LastPull("pending", A), False, PullAction.OPEN),
        (A, LastPull("closed", A), False, PullAction.OPEN),
    ],
)
def test_decisions(
    fingerprint: str | None, last: LastPull | None, reopen: bool, action: PullAction
) -> None:
    assert decide(fingerprint, last, reopen).action is action
