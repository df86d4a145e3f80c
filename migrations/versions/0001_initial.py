"""Scan history, findings, private packages, pull requests, the run lock, dashboard views.

Revision ID: 0001
Revises:
Create Date: 2025-11-25

Views (read-only, for dashboards and BI tools; SQLite shows booleans as 0/1):

v_repository_latest — one row per repository, with its scan from the latest run that
    scanned it (scan columns are NULL for a repository never scanned):
    repository_id, full_name, org, default_branch, archived, fork,
    head_oid (as of the last successful scan), last_scanned_at, run_id,
    status (fetched | carried | failed | skipped), skip_reason, compliant, pipfiles,
    findings_needing_action (that run's findings for it whose severity is not 'info'),
    last_error.

v_run_summary — one row per scan run:
    run_id, started_at, finished_at, status, repositories, pipfiles,
    repositories_with_pipfiles, compliant_repositories (those among them that are
    compliant), compliant_share (compliant_repositories / repositories_with_pipfiles, a
    float in [0, 1]; NULL when no repository has a Pipfile), findings, and one count per
    main finding kind: missing_index, wrong_index, missing_source, undefined_index,
    version_not_found, confusion_risk, name_claimable, origin_drift, parse_error,
    hardcoded_credential, insecure_source, public_first.

v_private_package_usage — one row per run and private package:
    run_id, name, repositories (distinct repositories with a finding on it), entries
    (distinct repository/Pipfile/category entries naming it), pinned_entries (entries
    found 'compliant'), unpinned_entries (entries found missing-index, wrong-index or
    undefined-index), versions (the distinct specs as written, sorted, joined by '; '),
    public_status, origin.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# View column name -> FindingKind value; kinds the engine does not emit yet count 0.
SUMMARY_KINDS = {
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

V_REPOSITORY_LATEST = """
CREATE VIEW v_repository_latest AS
SELECT
    r.id AS repository_id,
    r.full_name,
    r.org,
    r.default_branch,
    r.archived,
    r.fork,
    r.head_oid,
    r.last_scanned_at,
    s.run_id,
    s.status,
    s.skip_reason,
    s.compliant,
    s.pipfiles,
    (SELECT COUNT(*) FROM findings f
      WHERE f.run_id = s.run_id AND f.repository_id = r.id AND f.severity <> 'info'
    ) AS findings_needing_action,
    r.last_error
FROM repositories r
LEFT JOIN repository_scans s
    ON s.repository_id = r.id
    AND s.run_id = (SELECT MAX(l.run_id) FROM repository_scans l WHERE l.repository_id = r.id)
"""

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
""".format(
    kind_columns=",\n    ".join(f"COALESCE(f.{c}, 0) AS {c}" for c in SUMMARY_KINDS),
    kind_counts=",\n        ".join(
        f"COUNT(CASE WHEN kind = '{k}' THEN 1 END) AS {c}" for c, k in SUMMARY_KINDS.items()
    ),
)

# Only the string aggregate differs: SQLite's group_concat takes no ORDER BY before 3.44,
# so it is fed from an ordered subquery, which SQLite aggregates in order.
VERSIONS_AGGREGATE = {
    "postgresql": "string_agg(d.spec, '; ' ORDER BY d.spec)",
    "sqlite": "group_concat(d.spec, '; ')",
}

V_PRIVATE_PACKAGE_USAGE = """
CREATE VIEW v_private_package_usage AS
SELECT
    p.run_id,
    p.name,
    COUNT(DISTINCT u.repository_id) AS repositories,
    COUNT(DISTINCT u.entry) AS entries,
    COUNT(DISTINCT CASE WHEN u.kind = 'compliant' THEN u.entry END) AS pinned_entries,
    COUNT(DISTINCT CASE
        WHEN u.kind IN ('missing-index', 'wrong-index', 'undefined-index') THEN u.entry
    END) AS unpinned_entries,
    v.versions,
    p.public_status,
    p.origin
FROM private_packages p
LEFT JOIN (
    SELECT run_id, package_name, repository_id, kind,
        CAST(repository_id AS VARCHAR(20)) || ':' || path || ':' || COALESCE(category, '')
            AS entry
    FROM findings
) u ON u.run_id = p.run_id AND u.package_name = p.name
LEFT JOIN (
    SELECT d.run_id, d.package_name, {aggregate} AS versions
    FROM (
        SELECT DISTINCT run_id, package_name, "current" AS spec
        FROM findings
        WHERE package_name IS NOT NULL AND "current" IS NOT NULL
        ORDER BY run_id, package_name, spec
    ) d
    GROUP BY d.run_id, d.package_name
) v ON v.run_id = p.run_id AND v.package_name = p.name
GROUP BY p.run_id, p.name, v.versions, p.public_status, p.origin
"""

VIEWS = ("v_private_package_usage", "v_run_summary", "v_repository_latest")


def _run_id() -> sa.Column[int]:
    return sa.Column("run_id", sa.Integer(), nullable=False)


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"], ["scan_runs.id"], name=f"fk_{table}_run_id_scan_runs", ondelete="CASCADE"
    )


def _repository_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["repository_id"],
        ["repositories.id"],
        name=f"fk_{table}_repository_id_repositories",
        ondelete="CASCADE",
    )


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "scan_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        _when("started_at"),
        _when("finished_at", nullable=True),
        _text("status", nullable=False),
        _text("listing_digest"),
        _count("repositories"),
        _count("repositories_fetched"),
        _count("repositories_carried"),
        _count("repositories_failed"),
        _count("pipfiles"),
        _count("findings"),
        sa.Column("github_requests", sa.Integer(), nullable=True),
        _text("error"),
        sa.PrimaryKeyConstraint("id", name="pk_scan_runs"),
    )
    op.create_table(
        "repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("full_name", nullable=False),
        _text("org", nullable=False),
        _text("name", nullable=False),
        _text("default_branch"),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("fork", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("empty", sa.Boolean(), nullable=False),
        sa.Column("topics", sa.String(), server_default="[]", nullable=False),
        _text("html_url"),
        _text("head_oid"),
        _text("listing_digest"),
        _when("last_scanned_at", nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        _text("last_error"),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["scan_runs.id"],
            name="fk_repositories_last_run_id_scan_runs",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_repositories"),
        sa.UniqueConstraint("full_name", name="uq_repositories_full_name"),
    )
    op.create_index("ix_repositories_org", "repositories", ["org"])
    op.create_index("ix_repositories_last_run_id", "repositories", ["last_run_id"])

    op.create_table(
        "repository_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        _run_id(),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        _text("head_oid"),
        _text("status", nullable=False),
        _text("skip_reason"),
        _text("error"),
        _count("pipfiles"),
        sa.Column("compliant", sa.Boolean(), nullable=True),
        _when("scanned_at"),
        _run_fk("repository_scans"),
        _repository_fk("repository_scans"),
        sa.PrimaryKeyConstraint("id", name="pk_repository_scans"),
        sa.UniqueConstraint(
            "run_id", "repository_id", name="uq_repository_scans_run_id_repository_id"
        ),
    )
    op.create_index("ix_repository_scans_repository_id", "repository_scans", ["repository_id"])

    op.create_table(
        "pipfiles",
        sa.Column("id", sa.Integer(), nullable=False),
        _run_id(),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        _text("path", nullable=False),
        _text("blob_oid"),
        _text("status", nullable=False),
        _text("parse_error"),
        sa.Column("error_line", sa.Integer(), nullable=True),
        sa.Column("error_column", sa.Integer(), nullable=True),
        _text("private_source"),
        sa.Column("has_lock", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=True),
        _run_fk("pipfiles"),
        _repository_fk("pipfiles"),
        sa.PrimaryKeyConstraint("id", name="pk_pipfiles"),
        sa.UniqueConstraint(
            "run_id", "repository_id", "path", name="uq_pipfiles_run_id_repository_id_path"
        ),
    )
    op.create_index("ix_pipfiles_repository_id", "pipfiles", ["repository_id"])

    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        _run_id(),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        _text("path", nullable=False),
        _text("category"),
        _text("package"),
        _text("package_name"),
        _text("current"),
        _text("expected"),
        _text("index_name"),
        _text("kind", nullable=False),
        _text("severity", nullable=False),
        sa.Column("fixable", sa.Boolean(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        _text("message", nullable=False),
        _run_fk("findings"),
        _repository_fk("findings"),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
    )
    op.create_index("ix_findings_run_id_repository_id", "findings", ["run_id", "repository_id"])
    op.create_index("ix_findings_repository_id", "findings", ["repository_id"])
    op.create_index("ix_findings_package_name", "findings", ["package_name"])
    op.create_index("ix_findings_kind", "findings", ["kind"])

    op.create_table(
        "private_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        _run_id(),
        _text("name", nullable=False),
        sa.Column("versions", sa.String(), server_default="[]", nullable=False),
        _text("origin", nullable=False),
        _text("upstream", nullable=False),
        _text("public_status", nullable=False),
        _when("checked_at", nullable=True),
        _run_fk("private_packages"),
        sa.PrimaryKeyConstraint("id", name="pk_private_packages"),
        sa.UniqueConstraint("run_id", "name", name="uq_private_packages_run_id_name"),
    )

    op.create_table(
        "pull_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        _text("branch", nullable=False),
        _text("fingerprint", nullable=False),
        _text("state", nullable=False),
        _text("title", nullable=False),
        _text("html_url"),
        _when("created_at"),
        _when("updated_at"),
        _when("closed_at", nullable=True),
        _text("last_error"),
        _repository_fk("pull_requests"),
        sa.PrimaryKeyConstraint("id", name="pk_pull_requests"),
    )
    op.create_index(
        "ix_pull_requests_repository_id_state", "pull_requests", ["repository_id", "state"]
    )

    op.create_table(
        "run_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        _text("holder", nullable=False),
        _when("acquired_at"),
        _when("expires_at"),
        sa.CheckConstraint("id = 1", name="ck_run_lock_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_run_lock"),
    )

    dialect = op.get_context().dialect.name
    if dialect not in VERSIONS_AGGREGATE:
        raise NotImplementedError(f"no views for the {dialect} dialect")
    op.execute(V_REPOSITORY_LATEST)
    op.execute(V_RUN_SUMMARY)
    op.execute(V_PRIVATE_PACKAGE_USAGE.format(aggregate=VERSIONS_AGGREGATE[dialect]))


def downgrade() -> None:
    for view in VIEWS:
        op.execute(f"DROP VIEW {view}")
    for table in (
        "run_lock",
        "pull_requests",
        "private_packages",
        "findings",
        "pipfiles",
        "repository_scans",
        "repositories",
        "scan_runs",
    ):
        op.drop_table(table)
