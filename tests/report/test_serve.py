"""pipfleet serve: the dashboard and its JSON over a real uvicorn on a loopback port."""

from __future__ import annotations

import html
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jsonschema
import psycopg
import pytest
from sqlalchemy.engine import make_url
from tests.conftest import ROOT

from pipfleet.errors import StoreError, UsageError
from pipfleet.report import ReportFormat
from pipfleet.report.assets import CONTENT_SECURITY_POLICY
from pipfleet.report.data import NO_SCAN
from pipfleet.report.document import PARTS, SCHEMA, part_schema
from pipfleet.report.output import make_report
from pipfleet.report.serve import DashboardServer, base_path
from pipfleet.store.db import make_engine, upgrade
from pipfleet.store.models import PullRequestState

from .conftest import add_pull_request


@pytest.fixture
def server(scanned: str) -> Iterator[DashboardServer]:
    with DashboardServer(scanned, port=0) as running:
        yield running


def get(server: DashboardServer, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(server.url + path.lstrip("/"), timeout=10, **kwargs)  # type: ignore[arg-type]


def test_dashboard_page(server: DashboardServer, scanned: str) -> None:
    response = get(server, "/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "server" not in response.headers
    assert 'data-figure="compliant-share" data-value="0.5"' in response.text
    earlier = get(server, "/", params={"run": "1"})
    assert 'data-figure="compliant-share" data-value="0.0"' in earlier.text
    assert httpx.head(server.url, timeout=10).status_code == 200


def test_json_endpoints_mirror_report_json(server: DashboardServer, scanned: str) -> None:
    served = get(server, "/api/report.json").json()
    jsonschema.validate(served, SCHEMA)
    reported = json.loads(make_report(scanned, ReportFormat.JSON))
    for document in (served, reported):
        document.pop("generated_at")
    assert served == reported
    for part in PARTS:
        document = get(server, f"/api/{part}.json").json()
        jsonschema.validate(document, part_schema(part))


def test_query_parameters_filter_like_the_cli(server: DashboardServer) -> None:
    repos = get(server, "/api/repositories.json", params={"repo": "orb-g*"}).json()
    assert [r["full_name"] for r in repos["repositories"]] == ["acme/orb-gone", "acme/orb-good"]
    assert repos["query"] == {
        "run": None,
        "repo": "orb-g*",
        "kind": None,
        "org": None,
        "manifest": None,
    }
    risks = get(server, "/api/findings.json", params={"kind": "confusion-risk"}).json()
    assert [f["kind"] for f in risks["findings"]] == ["confusion-risk"]
    packages = get(server, "/api/packages.json", params={"run": "1"}).json()
    assert packages["run"]["id"] == 1 and len(packages["packages"]) == 2


def test_errors_are_one_line_with_a_status(server: DashboardServer) -> None:
    cases = {
        ("/api/report.json", "run=99"): (
            404,
            "no scan run 99 in the database: the latest is run 2",
        ),
        ("/api/report.json", "run=x"): (400, "run must be a run number, not 'x'"),
        ("/api/trend.json", "kind=nope"): (400, "unknown finding kind 'nope': one of "),
        ("/api/secrets.json", ""): (404, "no such document: /api/report.json, "),
    }
    for (path, params), (status, message) in cases.items():
        response = get(server, f"{path}?{params}")
        assert response.status_code == status, path
        assert response.json()["error"].startswith(message)
    page = get(server, "/?run=99")
    assert page.status_code == 404 and "no scan run 99" in page.text
    assert httpx.post(server.url, timeout=10).status_code == 405


def test_only_its_own_host_name_is_answered(server: DashboardServer, scanned: str) -> None:
    """A page elsewhere cannot read the dashboard by rebinding its DNS name to loopback."""
    assert get(server, "/", headers={"Host": "evil.example"}).status_code == 400
    assert get(server, "/", headers={"Host": f"localhost:{server.port}"}).status_code == 200
    with DashboardServer(scanned, port=0, public=True) as public:
        assert get(public, "/", headers={"Host": "dashboard.example"}).status_code == 200


def test_pages_are_live_and_concurrent(server: DashboardServer, scanned: str) -> None:
    def open_prs() -> int:
        summary = get(server, "/api/report.json").json()["summary"]
        return int(summary["pull_requests"]["open"])

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: open_prs(), range(8))) == [1] * 8
    engine = make_engine(scanned)
    add_pull_request(
        engine, "acme/orb-good", PullRequestState.OPEN, number=9, updated_at=datetime.now(UTC)
    )
    engine.dispose()
    assert open_prs() == 2  # no restart: every request reads the database


def test_no_scan_yet(database_url: str) -> None:
    upgrade(database_url)
    with DashboardServer(database_url, port=0) as server:
        response = get(server, "/api/report.json")
        assert (response.status_code, response.json()) == (503, {"error": NO_SCAN})
        assert get(server, "/").status_code == 503


def test_refuses_other_addresses_and_missing_databases(sqlite_scanned: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="loopback addresses only, not '0.0.0.0': pass --public"):
        DashboardServer(sqlite_scanned, host="0.0.0.0", port=0)
    with pytest.raises(StoreError, match="no database at"):
        DashboardServer(f"sqlite:///{tmp_path / 'none.db'}", port=0)
    assert not (tmp_path / "none.db").exists()


def test_serve_runs_in_the_foreground_until_terminated(sqlite_scanned: str) -> None:
    code = (
        "import sys; from pipfleet.report.serve import serve; "
        "serve(sys.argv[1], port=0, ready=lambda url: print(url, flush=True))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, sqlite_scanned], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        for _ in range(100):  # ready comes once bound; uvicorn starts serving just after
            try:
                response = httpx.get(url + "api/trend.json", timeout=10)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert response.json()["trend"][-1]["compliant_share"] == 0.5
    finally:
        process.terminate()
        # uvicorn shuts down, then re-raises SIGTERM so the exit status still says why.
        assert process.wait(timeout=10) in (0, -signal.SIGTERM)


def test_a_page_per_repository(server: DashboardServer) -> None:
    dashboard = get(server, "/").text
    assert 'href="/repositories/acme/orb-api"' in dashboard  # the table leads to the page
    for path in ("/repositories/acme/orb-api", "/repositories/ORB-API"):
        page = get(server, path)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        text = page.text
        assert "<h1>acme/orb-api</h1>" in text and 'data-banner="warning"' in text
        assert "services/worker/Pipfile:2" in text  # each finding, where it is
        assert "Proposed change" in text and "<code>" in text
        assert 'href="https://github.com/acme/orb-api/pull/12"' in text
        assert "superseded" in text  # every pull request, not just the latest
    archived = get(server, "/repositories/orb-archived").text
    assert "archived repositories are not read" in archived
    missing = get(server, "/repositories/orb-nope")
    assert missing.status_code == 404
    assert "no repository 'orb-nope' in scan run 2" in html.unescape(missing.text)
    assert get(server, "/repositories/orb-api", params={"run": "99"}).status_code == 404


def test_healthz(server: DashboardServer, tmp_path: Path, database_url: str) -> None:
    answer = get(server, "/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "latest_run": {"id": 2, "status": "partial"}}
    broken = tmp_path / "broken.db"
    broken.write_text("not a database, but long enough to be read as one\n" * 20)
    with DashboardServer(f"sqlite:///{broken}", port=0) as unreadable:
        answer = get(unreadable, "/healthz")
        assert answer.status_code == 503 and answer.json()["status"] == "unavailable"
        assert answer.json()["error"].startswith("cannot read the database: ")


def test_served_under_a_base_path(scanned: str) -> None:
    """Behind a proxy at /pipfleet: every page, link and redirect stays under the prefix."""
    with DashboardServer(scanned, port=0, base="/pipfleet/") as server:
        assert server.url.endswith("/pipfleet/")
        origin = server.url.removesuffix("/pipfleet/")
        dashboard = get(server, "/")
        assert dashboard.status_code == 200
        links = re.findall(r'href="(/[^"]*)"', dashboard.text)
        assert "/pipfleet/repositories/acme/orb-api" in links
        assert all(link.startswith("/pipfleet/") for link in links), links
        page = httpx.get(origin + "/pipfleet/repositories/acme/orb-api", timeout=10)
        assert page.status_code == 200 and "<h1>acme/orb-api</h1>" in page.text
        assert re.findall(r'href="(/[^"]*)"', page.text) == ["/pipfleet/"]
        assert get(server, "/healthz").json()["status"] == "ok"
        assert get(server, "/api/trend.json").json()["trend"][-1]["compliant_share"] == 0.5
        unknown = get(server, "/api/secrets.json").json()["error"]
        assert unknown.startswith("no such document: /pipfleet/api/report.json, ")
        bare = httpx.get(origin + "/pipfleet?run=1", timeout=10)
        assert (bare.status_code, bare.headers["location"]) == (308, "/pipfleet/?run=1")
        followed = httpx.get(origin + "/pipfleet?run=1", timeout=10, follow_redirects=True)
        assert 'data-figure="compliant-share" data-value="0.0"' in followed.text
        for outside in ("/", "/healthz", "/api/report.json", "/repositories/orb-api", "/pip/"):
            assert httpx.get(origin + outside, timeout=10).status_code == 404, outside
        assert httpx.get(origin + "/pipfleetx/", timeout=10).status_code == 404


@pytest.mark.parametrize(
    ("value", "prefix"),
    [("/", ""), ("/pipfleet", "/pipfleet"), ("/tools/pipfleet/", "/tools/pipfleet")],
)
def test_base_path_is_normalised(value: str, prefix: str) -> None:
    assert base_path(value) == prefix


@pytest.mark.parametrize(
    "value", ["", "pipfleet", "/pip fleet", "/a//b", "/../etc", "/a?b", "/a#b", "/%2e", "//x"]
)
def test_a_bad_base_path_is_a_usage_error(value: str, sqlite_scanned: str) -> None:
    with pytest.raises(UsageError, match="^the base path must be a path such as /pipfleet"):
        DashboardServer(sqlite_scanned, port=0, base=value)


def documented_read_only_role(database: str) -> list[str]:
    """The SQL that config/kubernetes/pipfleet-dashboard.yaml's comments run for the
    dashboard's role, aimed at ``database`` instead of ``pipfleet``."""
    text = (ROOT / "config" / "kubernetes" / "pipfleet-dashboard.yaml").read_text()
    block = text.split("<<SQL\n", 1)[1].split("\n#   SQL\n", 1)[0]
    sql = " ".join(line.removeprefix("#").strip() for line in block.splitlines())
    sql = sql.replace("$DASHBOARD_PASSWORD", "unused-with-trust-auth")
    sql = sql.replace("ON DATABASE pipfleet ", f'ON DATABASE "{database}" ')
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_documented_select_only_role_serves_every_page(scanned: str) -> None:
    """The Kubernetes dashboard's database role can read all serve needs and write nothing,
    in today's tables and in those a later migration creates."""
    owner = make_url(scanned)
    statements = documented_read_only_role(owner.database or "")
    assert any(s.startswith("ALTER DEFAULT PRIVILEGES FOR ROLE pipfleet ") for s in statements)
    libpq = owner.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.execute("CREATE TABLE a_later_migration (x integer)")
    reader = owner.set(username="pipfleet_dashboard")
    with DashboardServer(reader.render_as_string(hide_password=False), port=0) as server:
        assert get(server, "/healthz").json()["latest_run"] == {"id": 2, "status": "partial"}
        for path in ("/", "/repositories/acme/orb-api", "/api/report.json"):
            assert get(server, path).status_code == 200, path
    reader_libpq = reader.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(reader_libpq, autocommit=True) as connection:
        connection.execute("SELECT count(*) FROM a_later_migration")
        for write in ("DELETE FROM pull_requests", "INSERT INTO a_later_migration VALUES (1)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(write)
