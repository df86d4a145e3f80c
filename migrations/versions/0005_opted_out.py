"""Why a repository's .pipfleet.toml opts it out of pull requests, as each scan read it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

repository_scans.opted_out — ".pipfleet.toml says enabled = false", or NULL: reports show
    such a repository as opted out rather than as one more non-compliant repository.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not batch mode: a batch rebuild of repository_scans on SQLite drops
# the views that read it, and SQLite (3.35+) adds and drops columns in place.
def upgrade() -> None:
    op.add_column("repository_scans", sa.Column("opted_out", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("repository_scans", "opted_out")
