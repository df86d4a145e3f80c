"""v_run_summary counts the findings about what gets installed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

v_run_summary gains two columns after public_first: foreign_hashes (lock entries of
private packages whose files CodeArtifact does not hold: confusion may already have
happened) and private_transitive (private packages needed but not listed). Every other
column is as in 0001.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# View column name -> FindingKind value, in column order.
KINDS_0001 = {
    "missing_index": "missing-index",
    "wrong_index": "wrong-index",
    "missing_source": "missing-source",
    "undefined_index": "undefined-index",
    "version_not_found": "version-not-found",
    "confusion_risk": "confusion-risk",
    "name_claimable": "name-claimable",
    "origin_drift": "origin-drift",
    "parse_error": "parse-error",
    "hardcoded_credential": "hardcoded-credential",
    "insecure_source": "insecure-source",
    "public_first": "public-first",
}
KINDS = KINDS_0001 | {
    "foreign_hashes": "foreign-hashes",
    "private_transitive": "private-transitive",
}

V_RUN_SUMMARY = """
CREATE VIEW v_run_summary AS
SELECT
    r.id AS run_id,
    r.started_at,
    r.finished_at,
    r.status,
    r.repositories,
    r.pipfiles,
    COALESCE(s.with_pipfiles, 0) AS repositories_with_pipfiles,
    COALESCE(s.compliant, 0) AS compliant_repositories,
    CAST(s.compliant AS DOUBLE PRECISION) / NULLIF(s.with_pipfiles, 0) AS compliant_share,
    r.findings,
    {kind_columns}
FROM scan_runs r
LEFT JOIN (
    SELECT run_id,
        COUNT(CASE WHEN pipfiles > 0 THEN 1 END) AS with_pipfiles,
        COUNT(CASE WHEN pipfiles > 0 AND compliant THEN 1 END) AS compliant
    FROM repository_scans
    GROUP BY run_id
) s ON s.run_id = r.id
LEFT JOIN (
    SELECT run_id,
        {kind_counts}
    FROM findings
    GROUP BY run_id
) f ON f.run_id = r.id
"""


def _view(kinds: dict[str, str]) -> str:
    return V_RUN_SUMMARY.format(
        kind_columns=",\n    ".join(f"COALESCE(f.{c}, 0) AS {c}" for c in kinds),
        kind_counts=",\n        ".join(
            f"COUNT(CASE WHEN kind = '{k}' THEN 1 END) AS {c}" for c, k in kinds.items()
        ),
    )


def upgrade() -> None:
    op.execute("DROP VIEW v_run_summary")
    op.execute(_view(KINDS))


def downgrade() -> None:
    op.execute("DROP VIEW v_run_summary")
    op.execute(_view(KINDS_0001))
