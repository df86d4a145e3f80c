"""Fail-safe runs: who ran a scan, the run lock's heartbeat, branches still to delete.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

scan_runs.holder — the run lock holder (host:pid) that started the run, so a run found
    "running" after its holder died can be marked "interrupted".
run_lock.heartbeat_at — when the holder last proved it is alive; a lock whose heartbeat
    stopped is taken over at once.
pull_requests.branch_pending_delete — the pull request was closed but deleting its
    branch failed: later runs retry the delete.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not batch mode: a batch rebuild of scan_runs on SQLite drops the
# table the views read, and SQLite (3.35+) adds and drops columns in place.
def upgrade() -> None:
    op.add_column("scan_runs", sa.Column("holder", sa.String(), nullable=True))
    op.add_column("run_lock", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "pull_requests",
        sa.Column("branch_pending_delete", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("pull_requests", "branch_pending_delete")
    op.drop_column("run_lock", "heartbeat_at")
    op.drop_column("scan_runs", "holder")
