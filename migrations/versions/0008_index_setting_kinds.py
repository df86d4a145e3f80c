"""v_run_summary counts the index-setting findings of uv, Poetry and requirements files.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

v_run_summary gains three columns after private_transitive: index_not_explicit (a private
index that is not reserved for the packages pinned to it), unsafe_index_strategy (uv told
to compare versions across indexes) and extra_index_url (pip given CodeArtifact as an extra
index beside PyPI). Every other column is as in 0007.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# View column name -> FindingKind value, in column order (0007's, then the new ones).
KINDS_0007 = {
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
KINDS = KINDS_0007 | {
    "index_not_explicit": "index-not-explicit",
    "unsafe_index_strategy": "unsafe-index-strategy",
    "extra_index_url": "extra-index-url",
}

V_RUN_SUMMARY = """
CREATE VIEW v_run_summary AS
SELECT
    r.id AS run_id,
    r.org,
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
    op.execute(_view(KINDS_0007))
