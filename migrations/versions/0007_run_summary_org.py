"""v_run_summary says the org each run scanned.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

v_run_summary gains org (scan_runs.org, 0006) after run_id, so a SQL dashboard over several
orgs can tell their runs apart. Every other column is as in 0004.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# View column name -> FindingKind value, in column order (as 0004 left them).
KINDS = {
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
    "foreign_hashes": "foreign-hashes",
    "private_transitive": "private-transitive",
}

V_RUN_SUMMARY = """
CREATE VIEW v_run_summary AS
SELECT
    r.id AS run_id,{org}
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


def _view(org: str) -> str:
    return V_RUN_SUMMARY.format(
        org=org,
        kind_columns=",\n    ".join(f"COALESCE(f.{c}, 0) AS {c}" for c in KINDS),
        kind_counts=",\n        ".join(
            f"COUNT(CASE WHEN kind = '{k}' THEN 1 END) AS {c}" for c, k in KINDS.items()
        ),
    )


def upgrade() -> None:
    op.execute("DROP VIEW v_run_summary")
    op.execute(_view("\n    r.org,"))


def downgrade() -> None:
    op.execute("DROP VIEW v_run_summary")
    op.execute(_view(""))
