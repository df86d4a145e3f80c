"""The dashboard views give the same numbers on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from pipfleet.store import db
from pipfleet.store.models import (
    FindingRecord,
    PackageOrigin,
    PipfileRecord,
    PipfileStatus,
    PrivatePackage,
    PublicStatus,
    Repository,
    RepositoryScan,
    RunStatus,
    ScanRun,
    ScanStatus,
    SkipReason,
    UpstreamPolicy,
)


def finding(
    run: ScanRun, repo: Repository, kind: str, severity: str, **fields: Any
) -> FindingRecord:
    assert run.id is not None and repo.id is not None
    defaults: dict[str, Any] = {"path": "Pipfile", "fixable": False, "message": kind}
    return FindingRecord(
        run_id=run.id, repository_id=repo.id, kind=kind, severity=severity, **defaults | fields
    )


def scan(
    run: ScanRun, repo: Repository, status: ScanStatus, pipfiles: int, **fields: Any
) -> RepositoryScan:
    assert run.id is not None and repo.id is not None
    return RepositoryScan(
        run_id=run.id, repository_id=repo.id, status=status, pipfiles=pipfiles, **fields
    )


def package(run: ScanRun, name: str, public_status: PublicStatus) -> PrivatePackage:
    assert run.id is not None
    return PrivatePackage(
        run_id=run.id,
        name=name,
        origin=PackageOrigin.INTERNAL,
        upstream=UpstreamPolicy.BLOCKED,
        public_status=public_status,
    )


def seed(session: Session) -> None:
    """Three runs over four repositories.

    Run 1 saw alpha non-compliant. Run 2 saw alpha compliant, beta with four problems in
    two Pipfiles, gamma archived. Run 3 looked at gamma only. delta was never scanned.
    """
    runs = [
        ScanRun(status=RunStatus.COMPLETED, repositories=1, pipfiles=1, findings=1),
        ScanRun(status=RunStatus.COMPLETED, repositories=3, pipfiles=3, findings=6),
        ScanRun(status=RunStatus.PARTIAL, repositories=1),
    ]
    repos = [
        Repository(full_name=f"acme/{name}", org="acme", name=name)
        for name in ("alpha", "beta", "gamma", "delta")
    ]
    session.add_all([*runs, *repos])
    session.flush()
    run1, run2, run3 = runs
    alpha, beta, gamma, _delta = repos
    gamma.archived = True
    alpha.head_oid, alpha.last_run_id = "a" * 40, run2.id

    session.add_all(
        [
            scan(run1, alpha, ScanStatus.FETCHED, 1, compliant=False),
            scan(run2, alpha, ScanStatus.CARRIED, 1, compliant=True, head_oid="a" * 40),
            scan(run2, beta, ScanStatus.FETCHED, 2, compliant=False),
            scan(run2, gamma, ScanStatus.SKIPPED, 0, skip_reason=SkipReason.ARCHIVED),
            scan(run3, gamma, ScanStatus.SKIPPED, 0, skip_reason=SkipReason.ARCHIVED),
        ]
    )
    assert run2.id is not None and beta.id is not None
    session.add_all(
        [
            PipfileRecord(
                run_id=run2.id,
                repository_id=beta.id,
                path="Pipfile",
                status=PipfileStatus.OK,
                compliant=False,
            ),
            PipfileRecord(
                run_id=run2.id,
                repository_id=beta.id,
                path="svc/Pipfile",
                status=PipfileStatus.PARSE_ERROR,
                parse_error="bad",
                error_line=3,
            ),
        ]
    )
    utils = {"package": "Acme_Utils", "package_name": "acme-utils"}
    session.add_all(
        [
            finding(
                run1, alpha, "wrong-index", "high", category="packages", current="==1.1", **utils
            ),
            finding(
                run2, alpha, "compliant", "info", category="packages", current="==1.2", **utils
            ),
            finding(
                run2,
                alpha,
                "compliant",
                "info",
                category="packages",
                current=">=2",
                package="acme-core",
                package_name="acme-core",
            ),
            finding(
                run2, beta, "missing-index", "high", category="packages", current="==1.3", **utils
            ),
            finding(
                run2,
                beta,
                "version-not-found",
                "medium",
                category="packages",
                current="==1.3",
                **utils,
            ),
            finding(
                run2, beta, "wrong-index", "high", category="dev-packages", current="*", **utils
            ),
            finding(run2, beta, "parse-error", "high", path="svc/Pipfile"),
        ]
    )
    session.add_all(
        [
            package(run1, "acme-utils", PublicStatus.FREE),
            package(run2, "acme-utils", PublicStatus.FREE),
            package(run2, "acme-core", PublicStatus.TAKEN),
            package(run2, "acme-unused", PublicStatus.UNKNOWN),
        ]
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    with db.session_scope(engine) as session:
        seed(session)
    yield engine
    engine.dispose()


def rows(engine: Engine, sql: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(text(sql)).mappings()]


def test_repository_latest_shows_each_repository_with_its_latest_scan(engine: Engine) -> None:
    latest = {
        row["full_name"]: row
        for row in rows(engine, "SELECT * FROM v_repository_latest ORDER BY full_name")
    }

    assert list(latest) == ["acme/alpha", "acme/beta", "acme/delta", "acme/gamma"]
    alpha, beta, delta, gamma = latest.values()
    assert (alpha["run_id"], alpha["status"], alpha["compliant"], alpha["pipfiles"]) == (
        2,
        "carried",
        True,
        1,
    )
    assert alpha["head_oid"] == "a" * 40
    assert alpha["findings_needing_action"] == 0  # run 1's problem was fixed by run 2
    assert (beta["run_id"], beta["compliant"], beta["findings_needing_action"]) == (2, False, 4)
    assert (gamma["run_id"], gamma["status"], gamma["skip_reason"]) == (3, "skipped", "archived")
    assert gamma["archived"] and gamma["compliant"] is None
    assert (delta["run_id"], delta["status"], delta["findings_needing_action"]) == (None, None, 0)


def test_run_summary_counts_compliance_and_findings_by_kind(engine: Engine) -> None:
    run1, run2, run3 = rows(engine, "SELECT * FROM v_run_summary ORDER BY run_id")

    assert run2["status"] == "completed"
    assert (run2["repositories"], run2["pipfiles"], run2["findings"]) == (3, 3, 6)
    assert (run2["repositories_with_pipfiles"], run2["compliant_repositories"]) == (2, 1)
    assert isinstance(run2["compliant_share"], float)
    assert run2["compliant_share"] == 0.5
    by_kind = {
        kind: run2[kind]
        for kind in (
            "missing_index",
            "wrong_index",
            "version_not_found",
            "parse_error",
            "missing_source",
            "confusion_risk",
            "public_first",
        )
    }
    assert by_kind == {
        "missing_index": 1,
        "wrong_index": 1,
        "version_not_found": 1,
        "parse_error": 1,
        "missing_source": 0,
        "confusion_risk": 0,
        "public_first": 0,
    }
    assert (run1["compliant_share"], run1["wrong_index"]) == (0.0, 1)
    assert run3["compliant_share"] is None  # no repository with a Pipfile: no share to give
    assert (run3["compliant_repositories"], run3["missing_index"]) == (0, 0)


def test_private_package_usage_counts_entries_not_findings(engine: Engine) -> None:
    usage = {
        (row["run_id"], row["name"]): row
        for row in rows(engine, "SELECT * FROM v_private_package_usage")
    }

    utils = usage[2, "acme-utils"]
    # beta's [packages] entry has two findings but is one entry.
    assert (utils["repositories"], utils["entries"]) == (2, 3)
    assert (utils["pinned_entries"], utils["unpinned_entries"]) == (1, 2)
    assert utils["versions"] == "*; ==1.2; ==1.3"
    assert (utils["public_status"], utils["origin"]) == ("free", "internal")
    core = usage[2, "acme-core"]
    assert (core["repositories"], core["entries"], core["pinned_entries"]) == (1, 1, 1)
    assert (core["versions"], core["public_status"]) == (">=2", "taken")
    unused = usage[2, "acme-unused"]
    assert (unused["repositories"], unused["entries"], unused["versions"]) == (0, 0, None)
    assert (usage[1, "acme-utils"]["unpinned_entries"], usage[1, "acme-utils"]["versions"]) == (
        1,
        "==1.1",
    )
