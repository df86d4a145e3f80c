"""A cache of what CodeArtifact holds per private package version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

package_versions — per (CodeArtifact repository, package, version): the SHA-256 of every
    file (ListPackageVersionAssets) and the dependencies (ListPackageVersionDependencies),
    as JSON lists. A published version never changes, so a warm scan asks CodeArtifact
    nothing about a version it has seen.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "package_versions",
        sa.Column("codeartifact", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("hashes", sa.String(), server_default="[]", nullable=False),
        sa.Column("dependencies", sa.String(), server_default="[]", nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("codeartifact", "name", "version", name="pk_package_versions"),
    )


def downgrade() -> None:
    op.drop_table("package_versions")
