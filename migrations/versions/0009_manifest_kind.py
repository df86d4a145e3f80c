"""Which kind of manifest each recorded file is: a Pipfile, or a uv, Poetry or requirements one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

pipfiles.manifest_kind — pipfile | uv | poetry | requirements (ManifestKind): scans read
    uv and Poetry pyproject.toml files and requirements files beside Pipfiles, each
    audited by its own engine. Every row written before is a Pipfile, so the server
    default 'pipfile' is the truth for them, not a guess. The views read no column of
    this table and stay as 0008 left them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not batch mode, as in 0005: SQLite (3.35+) adds and drops columns in
# place, and a batch rebuild would drop the views over the run's tables.
def upgrade() -> None:
    op.add_column(
        "pipfiles",
        sa.Column("manifest_kind", sa.String(), server_default="pipfile", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("pipfiles", "manifest_kind")
