"""A database filled by two real scans of the sandbox fleet, plus pull requests.

Run 1 scans the conftest fleet as it is. Before run 2, orb-api's root Pipfile is fixed
but its lock now holds a foreign orb-common file, and orb-good (compliant) and orb-gone
(deleted between listing and read: a scan error) appear; so the trend moves and every
report section has something to show. ``bad_nights`` adds a partial run 3 (orb-api
changed, then deleted between listing and read) and a failed run 4 (a revoked token).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select
from tests.conftest import cache_home

from pipfleet.config import parse_settings
from pipfleet.errors import PipfleetError
from pipfleet.jobs.setup import scan_fleet
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World
from pipfleet.store.db import make_engine, session_scope
from pipfleet.store.models import PullRequestRecord, PullRequestState, Repository

COMPLIANT_PIPFILE = """\
[[source]]
name = "pypi"
url = "https://pypi.org/simple"
verify_ssl = true

[[source]]
name = "codeartifact"
url = "{source_url}"
verify_ssl = true

[packages]
orb-common = {{version = "==2.1.0", index = "codeartifact"}}
"""

FIXED_API_PIPFILE = COMPLIANT_PIPFILE + 'requests = "*"\n'
# orb-common 2.1.0 locked from another index: a file CodeArtifact does not have.
FOREIGN_LOCK = json.dumps(
    {
        "_meta": {"hash": {"sha256": "0" * 64}, "pipfile-spec": 6, "requires": {}, "sources": []},
        "default": {
            "orb-common": {
                "hashes": ["sha256:" + "ab" * 32],
                "index": "codeartifact",
                "version": "==2.1.0",
            }
        },
        "develop": {},
    }
)


def scan_sandbox(
    sandbox: SandboxServer, world: World, url: str, token: str = "sandbox-token", **kwargs: Any
) -> None:
    """One real scan of the sandbox's org ``acme`` into the database at ``url``."""
    data = tomllib.loads(config_text(sandbox.urls, world, "acme"))
    env = {**cache_home(), "GITHUB_TOKEN": token, "PIPFLEET_DATABASE_URL": url}
    scan_fleet(parse_settings(data, env), **kwargs)


def add_pull_request(
    engine: Engine, full_name: str, state: PullRequestState, **fields: Any
) -> None:
    """A pull_requests row as the fix job records one."""
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        repository = session.exec(
            select(Repository).where(Repository.full_name == full_name)
        ).first()
        assert repository is not None, full_name
        number = fields.pop("number", 7)
        session.add(
            PullRequestRecord(
                repository_id=repository.id,
                number=number,
                branch="pipfleet/codeartifact-index",
                fingerprint=f"fp-{full_name}-{number}",
                state=state,
                title="Pin private packages to the codeartifact index",
                html_url=f"https://github.com/{full_name}/pull/{number}",
                created_at=now - timedelta(days=2),
                updated_at=fields.pop("updated_at", now - timedelta(days=1)),
                **fields,
            )
        )


def scan_twice(sandbox: SandboxServer, world: World, url: str) -> None:
    scan_sandbox(sandbox, world, url)
    source_url = sandbox.urls.private_index_with_auth()
    api = world.repository("acme", "orb-api")
    assert api is not None
    fixed = {
        "Pipfile": FIXED_API_PIPFILE.format(source_url=source_url).encode(),
        "Pipfile.lock": FOREIGN_LOCK.encode(),
    }
    world.commit_changes(api, "main", fixed, "fix\n")
    world.add_repository(
        "acme", "orb-good", {"Pipfile": COMPLIANT_PIPFILE.format(source_url=source_url).encode()}
    )
    world.add_repository("acme", "orb-gone", {"Pipfile": b'[packages]\nflask = "*"\n'})

    scan_sandbox(sandbox, world, url, progress=vanishing(world, "orb-gone"))


def vanishing(world: World, name: str) -> Callable[[str, int], None]:
    """A scan progress hook deleting ``name`` between the listing and the read: a scan error."""

    def vanish(phase: str, count: int) -> None:
        if phase == "listed":
            world.orgs["acme"].pop(name, None)

    return vanish


def bad_nights(sandbox: SandboxServer, world: World, url: str) -> str:
    """Runs 3 (partial: orb-api could not be read, its last good read is run 2's) and 4
    (failed: GitHub refused the token) after ``fill``."""
    api = world.repository("acme", "orb-api")
    assert api is not None
    world.commit_changes(api, "main", {"README.md": b"# changed\n"}, "docs\n")
    scan_sandbox(sandbox, world, url, progress=vanishing(world, "orb-api"))
    with pytest.raises(PipfleetError):
        scan_sandbox(sandbox, world, url, token="revoked-token")
    return url


def fill(sandbox: SandboxServer, world: World, url: str) -> str:
    """Two scans and three pull requests in the database at ``url``."""
    scan_twice(sandbox, world, url)
    engine = make_engine(url)
    add_pull_request(engine, "acme/orb-api", PullRequestState.OPEN, number=12)
    add_pull_request(
        engine,
        "acme/orb-api",
        PullRequestState.SUPERSEDED,
        number=3,
        updated_at=datetime.now(UTC) - timedelta(days=9),
    )
    add_pull_request(engine, "acme/orb-good", PullRequestState.MERGED, number=4)
    engine.dispose()
    return url


@pytest.fixture
def scanned(sandbox: SandboxServer, world: World, database_url: str) -> str:
    """A filled database on each dialect."""
    return fill(sandbox, world, database_url)


Rows = Callable[[str], list[dict[str, Any]]]

# v_run_summary's columns that are not a count of one finding kind.
_RUN_COLUMNS = {
    "org",
    "run_id",
    "started_at",
    "finished_at",
    "status",
    "repositories",
    "pipfiles",
    "repositories_with_pipfiles",
    "compliant_repositories",
    "compliant_share",
    "findings",
}


def view_kind_counts(row: dict[str, Any]) -> dict[str, int]:
    """A v_run_summary row's per-kind counts, keyed by finding kind (missing_index -> missing-index)."""
    return {c.replace("_", "-"): n for c, n in row.items() if c not in _RUN_COLUMNS}


@pytest.fixture
def query(scanned: str) -> Iterator[Rows]:
    """Plain SQL against the scanned database: what the report must agree with."""
    engine = make_engine(scanned)

    def run(sql: str) -> list[dict[str, Any]]:
        with engine.connect() as connection:
            return [dict(row) for row in connection.execute(text(sql)).mappings()]

    yield run
    engine.dispose()


@pytest.fixture
def sqlite_scanned(sandbox: SandboxServer, world: World, tmp_path: Path) -> str:
    """The same database as a SQLite file only, for tests that need no second dialect."""
    return fill(sandbox, world, f"sqlite:///{tmp_path / 'report.db'}")


@pytest.fixture
def after_bad_nights(sqlite_scanned: str, sandbox: SandboxServer, world: World) -> str:
    """``sqlite_scanned`` and then a partial run 3 and a failed run 4."""
    return bad_nights(sandbox, world, sqlite_scanned)


def expected_figures(query: Rows) -> dict[str, float | int | None]:
    """Every figure the dashboard of the latest run shows, computed by plain SQL on the views.

    The figures are those of the latest run that read the fleet; a later failed run shows
    its number and counts as a scan error.
    """
    good = "status IN ('completed', 'partial')"
    run = query(f"SELECT * FROM v_run_summary WHERE {good} ORDER BY run_id DESC")[0]
    run_id = run["run_id"]
    (latest,) = query("SELECT id, status FROM scan_runs ORDER BY id DESC LIMIT 1")
    (risks,) = query(
        "SELECT SUM(CASE WHEN severity = 'critical' THEN 1 ELSE 0 END) AS unpinned, COUNT(*) AS n"
        f" FROM findings WHERE run_id = {run_id} AND kind = 'confusion-risk'"
    )
    figures: dict[str, float | int | None] = {
        "run-id": latest["id"],
        "compliant-share": run["compliant_share"],
        "compliant-repositories": run["compliant_repositories"],
        "repositories-with-pipfiles": run["repositories_with_pipfiles"],
        "repositories": run["repositories"],
        "pipfiles": run["pipfiles"],
        "findings": run["findings"],
        "confusion-risks": risks["unpinned"] or 0,
        "confusion-risks-pinned": risks["n"] - (risks["unpinned"] or 0),
        "foreign-hashes": run["foreign_hashes"],
    }
    for row in query(f"SELECT run_id, compliant_share FROM v_run_summary WHERE {good}"):
        if row["compliant_share"] is not None:
            figures[f"trend-run-{row['run_id']}"] = row["compliant_share"]
    (scan,) = query(
        "SELECT repositories_failed, (SELECT COUNT(*) FROM repository_scans"
        f" WHERE run_id = {run_id} AND status = 'skipped') AS skipped"
        f" FROM scan_runs WHERE id = {run_id}"
    )
    run_failed = latest["status"] not in ("completed", "partial")
    figures["scan-errors"] = scan["repositories_failed"] + run_failed
    # The states: nothing in these databases opted out or was declined.
    (states,) = query(
        "SELECT SUM(CASE WHEN compliant = false THEN 1 ELSE 0 END) AS non_compliant"
        f" FROM repository_scans WHERE run_id = {run_id}"
    )
    figures["repositories-skipped"] = scan["skipped"]
    figures["repositories-non-compliant"] = states["non_compliant"]
    figures["repositories-opted-out"] = figures["repositories-declined"] = 0
    (needing,) = query(
        f"SELECT SUM(findings_needing_action) AS n FROM v_repository_latest WHERE run_id = {run_id}"
    )
    figures["findings-needing-action"] = needing["n"]
    # The chart: compliant left out, name-claimable counted per package.
    kinds = query(
        "SELECT kind, COUNT(*) AS n, COUNT(DISTINCT package_name) AS packages FROM findings"
        f" WHERE run_id = {run_id} AND kind <> 'compliant' GROUP BY kind"
    )
    figures |= {
        f"findings-{row['kind']}": row["packages" if row["kind"] == "name-claimable" else "n"]
        for row in kinds
    }
    for kind, count in view_kind_counts(run).items():  # the view agrees where it counts
        if kind != "name-claimable":
            assert figures.get(f"findings-{kind}", 0) == count, kind
    severities = query(
        f"SELECT severity, COUNT(*) AS n FROM findings WHERE run_id = {run_id} GROUP BY severity"
    )
    figures |= {f"findings-severity-{row['severity']}": row["n"] for row in severities}
    prs = query("SELECT state, COUNT(*) AS n FROM pull_requests GROUP BY state")
    states = {row["state"]: row["n"] for row in prs}
    figures |= {f"prs-{state}": states.get(state, 0) for state in ("open", "merged", "dismissed")}
    figures |= {f"prs-{state}": n for state, n in states.items()}
    (packages,) = query(
        f"SELECT COUNT(*) AS n FROM v_private_package_usage WHERE run_id = {run_id}"
    )
    figures["packages"] = packages["n"]
    manifests = query(
        "SELECT manifest_kind, COUNT(*) AS n FROM pipfiles"
        f" WHERE run_id = {run_id} GROUP BY manifest_kind"
    )
    figures |= {f"manifests-{row['manifest_kind']}": row["n"] for row in manifests}
    return figures


def assert_figures_match(page: dict[str, str], expected: dict[str, float | int | None]) -> None:
    """The page's data-figure values equal ``expected``; every figure on it is checked."""
    assert set(page) == set(expected), set(page) ^ set(expected)
    for name, value in expected.items():
        shown = page[name]
        if value is None:
            assert shown == "", name
        else:
            assert float(shown) == pytest.approx(float(value)), name
