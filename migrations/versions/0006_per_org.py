"""Several orgs in one database: each scan run is one org's, and each org has its own lock.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

scan_runs.org — the org the run scanned. Backfilled from the repositories each run
    recorded; a run that recorded none (it failed first) gets the org of the database's
    repositories when they are all of one org, else stays NULL.
run_lock — one row per org (primary key org) instead of a single row, so runs for two
    orgs proceed at once while two runs for one org still exclude each other. The table is
    rebuilt: a lock held while the database is upgraded is dropped with it (the old
    holder's heartbeats then fail, and a new run no longer waits for it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_FROM_SCANS = """
UPDATE scan_runs SET org = (
    SELECT MIN(r.org) FROM repository_scans s JOIN repositories r ON r.id = s.repository_id
    WHERE s.run_id = scan_runs.id
)
"""
BACKFILL_THE_ONLY_ORG = """
UPDATE scan_runs SET org = (SELECT MIN(org) FROM repositories)
WHERE org IS NULL AND (SELECT COUNT(DISTINCT org) FROM repositories) = 1
"""


def _lock(key: sa.Column[object], *constraints: sa.Constraint) -> None:
    op.create_table(
        "run_lock",
        key,
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        *constraints,
        sa.PrimaryKeyConstraint(key.name, name="pk_run_lock"),
    )


# Plain ALTER TABLE, not batch mode, for scan_runs: a batch rebuild on SQLite drops the
# views that read it. run_lock, which no view reads, is simply made anew.
def upgrade() -> None:
    op.add_column("scan_runs", sa.Column("org", sa.String(), nullable=True))
    op.create_index("ix_scan_runs_org", "scan_runs", ["org"])
    op.execute(BACKFILL_FROM_SCANS)
    op.execute(BACKFILL_THE_ONLY_ORG)
    op.drop_table("run_lock")
    _lock(sa.Column("org", sa.String(), nullable=False))


def downgrade() -> None:
    op.drop_table("run_lock")
    _lock(
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_run_lock_single_row"),
    )
    op.drop_index("ix_scan_runs_org", table_name="scan_runs")
    op.drop_column("scan_runs", "org")
