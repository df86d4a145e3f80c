"""The report's figures agree with the dashboard views, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pipfleet.errors import StoreError, UsageError
from pipfleet.report.data import NO_SCAN, load_report, open_read_only
from pipfleet.report.model import Report, ReportQuery
from pipfleet.report.output import ReportFormat, make_report
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World
from pipfleet.store.db import make_engine, session_scope, upgrade
from pipfleet.store.models import RunStatus, ScanRun

from .conftest import Rows, scan_sandbox, view_kind_counts


def report_of(url: str, **query: object) -> Report:
    engine = open_read_only(url)
    try:
        return load_report(engine, ReportQuery(**query))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def latest_run(query: Rows) -> dict[str, object]:
    return query("SELECT * FROM v_run_summary ORDER BY run_id DESC")[0]


def test_summary_equals_the_run_summary_view(scanned: str, query: Rows) -> None:
    summary = report_of(scanned).summary
    view = latest_run(query)
    assert summary.run_id == view["run_id"] == 2
    assert summary.status == view["status"] == "partial"
    assert summary.repositories == view["repositories"] == 6
    assert summary.pipfiles == view["pipfiles"] == 3
    assert summary.repositories_with_pipfiles == view["repositories_with_pipfiles"] == 2
    assert summary.compliant_repositories == view["compliant_repositories"] == 1
    assert summary.compliant_share == pytest.approx(view["compliant_share"]) == 0.5
    assert summary.findings == view["findings"] == 11
    for kind, count in view_kind_counts(view).items():
        assert summary.findings_by_kind.get(kind, 0) == count, kind
    assert summary.confusion_risks == view["confusion_risk"] == 1
    assert summary.foreign_hashes == view["foreign_hashes"] == 1
    assert summary.failed_repositories == 1
    assert summary.pull_requests["open"] == 1 and summary.pull_requests["merged"] == 1
    assert summary.pull_requests["superseded"] == 1 and summary.pull_requests["dismissed"] == 0


def test_trend_equals_each_run_of_the_view(scanned: str, query: Rows) -> None:
    trend = report_of(scanned).trend
    view = query("SELECT run_id, compliant_share, findings FROM v_run_summary ORDER BY run_id")
    assert [(p.run_id, p.compliant_share, p.findings) for p in trend] == [
        (row["run_id"], pytest.approx(row["compliant_share"]), row["findings"]) for row in view
    ]
    assert [p.compliant_share for p in trend] == [0.0, 0.5]


def test_repositories_equal_the_latest_view(scanned: str, query: Rows) -> None:
    rows = {r.full_name: r for r in report_of(scanned).repositories}
    view = {row["full_name"]: row for row in query("SELECT * FROM v_repository_latest")}
    assert set(rows) == set(view)
    for name, row in rows.items():
        latest = view[name]
        assert (row.status, row.pipfiles, row.findings) == (
            latest["status"],
            latest["pipfiles"],
            latest["findings_needing_action"],
        ), name
        assert row.compliant == (None if latest["compliant"] is None else bool(latest["compliant"]))
        assert row.error == latest["last_error"]
    api, good, gone = rows["acme/orb-api"], rows["acme/orb-good"], rows["acme/orb-gone"]
    assert (api.state, api.worst_severity) == ("non-compliant", "critical")
    assert api.html_url is not None and api.html_url.endswith("/acme/orb-api")
    assert api.pull_request is not None  # the open one wins over the superseded one
    assert (api.pull_request.number, api.pull_request.state) == (12, "open")
    assert (good.state, good.worst_severity, good.findings) == ("compliant", None, 0)
    assert good.pull_request is not None and good.pull_request.state == "merged"
    assert gone.state == "failed" and "orb-gone" in (gone.error or "")
    assert rows["acme/orb-archived"].state == "skipped"
    assert rows["acme/orb-no-pipfile"].state == "no-pipfile"


def test_packages_equal_the_usage_view(scanned: str, query: Rows) -> None:
    packages = {p.name: p for p in report_of(scanned).packages}
    view = query("SELECT * FROM v_private_package_usage WHERE run_id = 2")
    assert set(packages) == {row["name"] for row in view} == {"orb-common", "orb-events"}
    for row in view:
        package = packages[row["name"]]
        assert len(package.repositories) == row["repositories"]
        assert (package.entries, package.pinned_entries, package.unpinned_entries) == (
            row["entries"],
            row["pinned_entries"],
            row["unpinned_entries"],
        )
        assert "; ".join(package.versions) == row["versions"]
        assert package.public_status == row["public_status"]
    assert packages["orb-common"].repositories == ("acme/orb-api", "acme/orb-good")
    assert packages["orb-events"].public_status == "taken"
    assert packages["orb-common"].published == ("2.0.0", "2.1.0")


def test_findings_come_most_severe_first_with_the_risks(scanned: str) -> None:
    report = report_of(scanned)
    assert report.findings[0].severity == "critical"
    # A lock that shows confusion may have happened comes before the risk of it.
    assert [(f.repository, f.kind, f.package) for f in report.risks] == [
        ("acme/orb-api", "foreign-hashes", "orb-common"),
        ("acme/orb-api", "confusion-risk", "orb-events"),
    ]


def test_run_picks_an_earlier_run(scanned: str, query: Rows) -> None:
    report = report_of(scanned, run_id=1)
    view = query("SELECT * FROM v_run_summary WHERE run_id = 1")[0]
    assert (report.summary.run_id, report.summary.repositories) == (1, view["repositories"])
    assert report.summary.compliant_share == 0.0
    assert [p.run_id for p in report.trend] == [1]
    assert "acme/orb-good" not in {r.full_name for r in report.repositories}


def test_a_run_still_running_is_reported_only_when_asked_for(sqlite_scanned: str) -> None:
    engine = make_engine(sqlite_scanned)
    with session_scope(engine) as session:
        session.add(ScanRun(status=RunStatus.RUNNING))
    engine.dispose()
    default = report_of(sqlite_scanned)
    assert default.summary.run_id == 2 and [p.run_id for p in default.trend] == [1, 2]
    running = report_of(sqlite_scanned, run_id=3)
    # Its figures are the last run's that read the fleet: a run under way has read part.
    assert (running.summary.status, running.summary.repositories) == ("running", 6)
    assert running.summary.data_run is not None and running.summary.data_run.id == 2
    assert running.banner().level == "warning"
    assert running.banner().text.startswith("Run 3 is still running")
    assert [p.run_id for p in running.trend] == [1, 2]


def test_repo_pattern_narrows_every_figure(sqlite_scanned: str) -> None:
    report = report_of(sqlite_scanned, repo="ORB-G*")  # case-insensitive, on the name
    assert [r.full_name for r in report.repositories] == ["acme/orb-gone", "acme/orb-good"]
    s = report.summary
    assert (s.repositories, s.pipfiles, s.compliant_share, s.failed_repositories) == (2, 1, 1.0, 1)
    assert s.pull_requests["merged"] == 1 and s.pull_requests["open"] == 0
    assert s.confusion_risks == 0 and not report.risks
    assert {f.repository for f in report.findings} == {"acme/orb-good"}
    assert [p.compliant_share for p in report.trend] == [None, 1.0]
    common = next(p for p in report.packages if p.name == "orb-common")
    assert common.repositories == ("acme/orb-good",)
    by_full_name = report_of(sqlite_scanned, repo="acme/orb-api")
    assert [r.full_name for r in by_full_name.repositories] == ["acme/orb-api"]


def test_kind_narrows_findings_and_the_repositories_listed(sqlite_scanned: str) -> None:
    report = report_of(sqlite_scanned, kind="name-claimable")
    assert {f.kind for f in report.findings} == {"name-claimable"}
    assert report.summary.findings == 2 and report.summary.findings_needing_action == 0
    assert report.summary.findings_by_kind == {"name-claimable": 2}
    assert [r.full_name for r in report.repositories] == ["acme/orb-api", "acme/orb-good"]
    assert report.summary.repositories == 6  # compliance still covers every repository
    assert [p.findings for p in report.trend] == [1, 2]


def test_unknown_kind_and_run_are_one_line_errors(sqlite_scanned: str) -> None:
    with pytest.raises(UsageError, match=r"^unknown finding kind 'nope': one of compliant, "):
        ReportQuery(kind="nope")
    with pytest.raises(UsageError) as caught:
        report_of(sqlite_scanned, run_id=99)
    assert str(caught.value) == "no scan run 99 in the database: the latest is run 2"
    with pytest.raises(UsageError, match=r"^no repository of run 2 matches --repo 'orb-x\*'$"):
        report_of(sqlite_scanned, repo="orb-x*")


def test_empty_database_says_to_scan(database_url: str) -> None:
    upgrade(database_url)
    with pytest.raises(StoreError) as caught:
        report_of(database_url)
    assert str(caught.value) == NO_SCAN == "no scan recorded yet: run pipfleet scan"


def test_unmigrated_and_missing_databases(tmp_path: Path) -> None:
    (tmp_path / "blank.db").write_bytes(b"")
    with pytest.raises(StoreError, match="^no scan recorded yet: run pipfleet scan$"):
        report_of(f"sqlite:///{tmp_path / 'blank.db'}")
    (tmp_path / "notes.txt").write_text("not a database, but long enough to be read as one\n" * 20)
    with pytest.raises(StoreError, match="^cannot read the report from the database: file is not"):
        report_of(f"sqlite:///{tmp_path / 'notes.txt'}")
    missing = tmp_path / "nowhere" / "pipfleet.db"
    with pytest.raises(
        StoreError, match=r"^no database at .*pipfleet\.db: run pipfleet scan first$"
    ):
        open_read_only(f"sqlite:///{missing}")
    assert not missing.parent.exists()  # a report creates no file and no folder


def test_the_report_engine_cannot_write(scanned: str) -> None:
    engine = open_read_only(scanned)
    try:
        with pytest.raises(DBAPIError, match="(?i)read.?only"):
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM pull_requests"))
    finally:
        engine.dispose()
    assert report_of(scanned).summary.pull_requests["open"] == 1


def test_the_example_queries_in_the_docs_run(scanned: str) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
    block = docs.split("Example queries", 1)[1].split("```sql\n", 1)[1].split("```", 1)[0]
    statements = [s.strip() for s in block.split(";") if s.strip()]
    assert len(statements) == 7
    engine = open_read_only(scanned)
    try:
        with engine.connect() as connection:
            results = [connection.execute(text(sql)).all() for sql in statements]
    finally:
        engine.dispose()
    trend, needing, failed, taken, risks, states, open_prs = results
    assert [float(row[1]) for row in trend] == [0.0, 50.0]
    assert [row[0] for row in needing] == ["acme/orb-api"]
    assert [row[0] for row in failed] == ["acme/orb-gone"]
    assert [row[0] for row in taken] == ["orb-events"]
    assert [(row[0], row[4]) for row in risks] == [("acme/orb-api", "critical")]
    assert sorted(states) == [("merged", 1), ("open", 1), ("superseded", 1)]
    assert [row[2] for row in open_prs] == ["https://github.com/acme/orb-api/pull/12"]


def test_a_failed_run_shows_the_last_good_state_under_its_banner(after_bad_nights: str) -> None:
    report = report_of(after_bad_nights)
    last_good = report_of(after_bad_nights, run_id=3)
    s, good = report.summary, last_good.summary
    assert (s.run_id, s.status) == (4, "failed") and "401" in (s.run_error or "")
    assert s.data_run is not None and s.data_run.id == 3
    # Every figure is run 3's: nothing drops to zero.
    same = ("repositories", "pipfiles", "compliant_share", "findings", "pull_requests")
    assert [getattr(s, name) for name in same] == [getattr(good, name) for name in same]
    assert s.repositories_by_state == good.repositories_by_state
    assert report.repositories == last_good.repositories and report.findings == last_good.findings
    banner = report.banner()
    assert banner.level == "error" and banner.text.startswith("Run 4 failed ")
    assert "401" in banner.text and "from run 3, read " in banner.text
    assert [p.run_id for p in report.trend] == [1, 2, 3]  # the failed run is left out
    # Scan errors is the error list: the run's failure, then the repository run 3 could not read.
    assert [e.subject for e in report.errors] == ["run 4", "acme/orb-api"]
    assert s.scan_errors == len(report.errors) == 2 and good.scan_errors == 1


def test_a_repository_that_could_not_be_read_keeps_its_last_read(after_bad_nights: str) -> None:
    report, earlier = report_of(after_bad_nights, run_id=3), report_of(after_bad_nights, run_id=2)
    api = next(r for r in report.repositories if r.full_name == "acme/orb-api")
    before = next(r for r in earlier.repositories if r.full_name == "acme/orb-api")
    assert api.status == "failed" and "orb-api" in (api.error or "")
    assert (api.state, api.read_run_id, api.read_at) == ("non-compliant", 2, before.read_at)
    assert api.last_scanned_at > before.last_scanned_at
    assert api.pipfile_states == before.pipfile_states and len(api.pipfile_states) == 2
    mine = [f for f in report.findings if f.repository == "acme/orb-api"]
    assert mine == [f for f in earlier.findings if f.repository == "acme/orb-api"] != []
    assert api.findings == before.findings
    assert report.summary.compliant_share == 0.5  # orb-api counts, as last read
    assert report.banner().level == "warning"
    assert "could not read 1 repositories" in report.banner().text


def test_declines_and_opt_outs_are_states_of_their_own(sqlite_scanned: str) -> None:
    engine = make_engine(sqlite_scanned)
    with engine.begin() as connection:
        connection.execute(text("UPDATE pull_requests SET state = 'dismissed' WHERE number = 12"))
    declined = report_of(sqlite_scanned)
    api = next(r for r in declined.repositories if r.name == "orb-api")
    assert api.state == "declined" and "closed pipfleet's pull request unmerged" in (api.why or "")
    assert declined.summary.repositories_by_state["declined"] == 1
    assert declined.summary.repositories_by_state["non-compliant"] == 0
    with engine.begin() as connection:
        connection.execute(
            text(
                'UPDATE repositories SET topics = \'["team-pay", "keep-out"]\''
                " WHERE name = 'orb-api'"
            )
        )
    engine.dispose()
    opted = report_of(sqlite_scanned)  # the default topic is pipfleet-ignore: not this one
    assert next(r for r in opted.repositories if r.name == "orb-api").state == "declined"
    engine = open_read_only(sqlite_scanned)
    try:
        opted = load_report(engine, opt_out_topic="keep-out")
    finally:
        engine.dispose()
    api = next(r for r in opted.repositories if r.name == "orb-api")
    assert (api.state, api.opted_out, api.topics) == (
        "opted-out",
        "topic keep-out",
        ("team-pay", "keep-out"),
    )
    assert api.why == "opted out of pull requests (topic keep-out)"
    by_state = opted.summary.repositories_by_state
    assert (by_state["opted-out"], by_state["declined"], by_state["compliant"]) == (1, 0, 1)
    assert sum(by_state.values()) == opted.summary.repositories == 6
    assert opted.summary.compliant_share == 0.5  # still non-compliant, counted apart


def test_headline_figures_move_when_things_get_fixed(sqlite_scanned: str) -> None:
    report = report_of(sqlite_scanned)
    # orb-events in services/worker is not pinned: it can install the public package.
    assert (report.summary.confusion_risks, report.summary.confusion_risks_pinned) == (1, 0)
    assert report.summary.findings_by_kind["name-claimable"] == 2  # two entries ...
    assert report.chart["name-claimable"] == 1  # ... of one package: one name to register
    assert "compliant" not in report.chart and report.summary.findings_by_kind["compliant"] > 0
    engine = make_engine(sqlite_scanned)
    with engine.begin() as connection:  # the entry is pinned now: the name stays taken
        connection.execute(
            text("UPDATE findings SET severity = 'high' WHERE kind = 'confusion-risk'")
        )
    engine.dispose()
    pinned = report_of(sqlite_scanned).summary
    assert (pinned.confusion_risks, pinned.confusion_risks_pinned) == (0, 1)


def test_a_pipfleet_toml_opt_out_is_its_own_state_across_runs(
    sandbox: SandboxServer, world: World, tmp_path: Path
) -> None:
    world.add_repository(
        "acme",
        "orb-quiet",
        {
            "Pipfile": b'[packages]\norb-common = "==2.1.0"\n',
            ".pipfleet.toml": b"enabled = false\n",
        },
    )
    url = f"sqlite:///{tmp_path / 'quiet.db'}"
    for run_id in (1, 2):  # read, then carried over unchanged
        scan_sandbox(sandbox, world, url)
        quiet = next(r for r in report_of(url).repositories if r.name == "orb-quiet")
        assert (quiet.state, quiet.read_run_id) == ("opted-out", run_id)
        assert quiet.why == "opted out of pull requests (.pipfleet.toml says enabled = false)"
        assert quiet.status == ("fetched", "carried")[run_id - 1]
    api = next(r for r in report_of(url).repositories if r.name == "orb-api")
    assert api.state == "non-compliant" and api.opted_out is None


UV_PROJECT = """\
[project]
name = "svc"
dependencies = ["orb-common"]

[tool.uv]
dev-dependencies = []
"""


def test_the_manifest_filter_keeps_repositories_and_findings_of_that_kind(
    sandbox: SandboxServer, world: World, tmp_path: Path
) -> None:
    world.add_repository(
        "acme",
        "orb-mixed",
        {
            "Pipfile": b'[packages]\nrequests = "*"\n',
            "services/api/pyproject.toml": UV_PROJECT.encode(),
            "requirements.txt": (
                b"--extra-index-url https://acme-111122223333.d.codeartifact.eu-west-1"
                b".amazonaws.com/pypi/private/simple/\norb-common==2.1.0\n"
            ),
        },
    )
    url = f"sqlite:///{tmp_path / 'manifests.db'}"
    scan_sandbox(sandbox, world, url)

    everything = report_of(url)
    mixed = next(r for r in everything.repositories if r.name == "orb-mixed")
    assert mixed.manifest_kinds == ("pipfile", "uv", "requirements")
    assert [(p.path, p.manifest_kind) for p in mixed.pipfile_states] == [
        ("Pipfile", "pipfile"),
        ("requirements.txt", "requirements"),
        ("services/api/pyproject.toml", "uv"),
    ]
    assert dict(everything.summary.manifests_by_kind) == {
        "pipfile": 3,  # orb-api's two and orb-mixed's
        "uv": 1,
        "poetry": 0,
        "requirements": 1,
    }

    uv = report_of(url, manifest="uv")
    assert [r.full_name for r in uv.repositories] == ["acme/orb-mixed"]
    assert {(f.path, f.manifest_kind) for f in uv.findings} == {
        ("services/api/pyproject.toml", "uv")
    }
    assert {f.kind for f in uv.findings} >= {"missing-source", "missing-index"}
    assert uv.summary.compliant_repositories == 0  # compliance still covers every manifest
    assert uv.trend[-1].findings == len(uv.findings)
    pipfile = report_of(url, manifest="pipfile")
    assert {r.full_name for r in pipfile.repositories} == {"acme/orb-api", "acme/orb-mixed"}
    assert {f.manifest_kind for f in pipfile.findings} == {"pipfile"}
    assert report_of(url, manifest="poetry").repositories == ()
    with pytest.raises(UsageError, match="unknown manifest kind 'npm'"):
        ReportQuery(manifest="npm")

    rows = list(csv.DictReader(io.StringIO(make_report(url, ReportFormat.CSV))))
    assert {(r["path"], r["manifest_kind"]) for r in rows if "orb-mixed" in r["repository"]} >= {
        ("requirements.txt", "requirements"),
        ("services/api/pyproject.toml", "uv"),
    }
    page = make_report(url, ReportFormat.HTML)
    assert 'data-manifests="pipfile uv requirements"' in page
    assert '<option value="uv">uv</option>' in page
    assert '<option value="poetry">' not in page  # only the kinds the fleet has
    assert "<td>pipfile, uv, requirements</td>" in page
