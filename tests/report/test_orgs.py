"""Reports over a database of two orgs: an org column and filter in every format, each
org as of its own latest run, and --org for one org alone."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
from tests.conftest import cache_home, write_two_org_fleet
from typer.testing import CliRunner

from pipfleet.cli import app
from pipfleet.config import parse_settings
from pipfleet.errors import UsageError
from pipfleet.jobs.nightly import scan_alone
from pipfleet.report import ReportFormat
from pipfleet.report.data import load_report, open_read_only
from pipfleet.report.document import SCHEMA
from pipfleet.report.model import Report, ReportQuery
from pipfleet.report.output import make_report
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    return write_two_org_fleet(tmp_path / "fleet")


def scanned(sandbox: SandboxServer, world: World, url: str, orgs: list[str]) -> str:
    data = tomllib.loads(config_text(sandbox.urls, world, "acme"))
    del data["github"]["org"]
    data["github"]["orgs"] = orgs
    env = {**cache_home(), "GITHUB_TOKEN": "sandbox-token", "PIPFLEET_DATABASE_URL": url}
    scan_alone(parse_settings(data, env))
    return url


@pytest.fixture
def two_orgs(sandbox: SandboxServer, world: World, tmp_path: Path) -> str:
    return scanned(sandbox, world, f"sqlite:///{tmp_path / 'orgs.db'}", ["acme", "acme-labs"])


def report_of(url: str, query: ReportQuery | None = None) -> Report:
    engine = open_read_only(url)
    try:
        return load_report(engine, query)
    finally:
        engine.dispose()


def test_a_report_covers_each_org_as_of_its_latest_run(two_orgs: str) -> None:
    report = report_of(two_orgs)
    assert report.orgs == ("acme", "acme-labs") and report.several_orgs
    by_name = {r.full_name: r.org for r in report.repositories}
    assert by_name["acme/orb-api"] == "acme" and by_name["acme-labs/orb-api"] == "acme-labs"
    assert report.summary.repositories == 5  # acme's 4 (one run), acme-labs' 1 (another)
    assert report.summary.repositories_with_pipfiles == 2
    [point] = report.trend  # the two orgs' runs of one night, added up
    assert point.repositories_with_pipfiles == 2
    assert {f.repository for f in report.findings} == {"acme/orb-api", "acme-labs/orb-api"}


def test_org_narrows_the_report_to_one_org(two_orgs: str) -> None:
    labs = report_of(two_orgs, ReportQuery(org="acme-labs"))
    assert [r.full_name for r in labs.repositories] == ["acme-labs/orb-api"]
    assert labs.orgs == () and not labs.several_orgs  # one org: no org column
    assert labs.summary.repositories == 1
    with pytest.raises(UsageError, match=r"no scan of org 'acme-lab' .*orgs: acme, acme-labs"):
        report_of(two_orgs, ReportQuery(org="acme-lab"))
    with pytest.raises(UsageError, match="no repository of run 1 and run 2 matches --repo"):
        report_of(two_orgs, ReportQuery(repo="nothing-*"))


def test_every_format_has_an_org_column(two_orgs: str) -> None:
    table = make_report(two_orgs, ReportFormat.TABLE, width=160)
    assert "┃ Org " in table and "│ acme-labs │ acme-labs/orb-api" in table
    markdown = make_report(two_orgs, ReportFormat.MARKDOWN)
    assert "| Org | Repository | State |" in markdown
    assert "| acme-labs | [acme-labs/orb-api]" in markdown
    rows = list(csv.DictReader(io.StringIO(make_report(two_orgs, ReportFormat.CSV))))
    assert {(row["repository"].split("/")[0], row["org"]) for row in rows} == {
        ("acme", "acme"),
        ("acme-labs", "acme-labs"),
    }
    document = json.loads(make_report(two_orgs, ReportFormat.JSON))
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert document["orgs"] == ["acme", "acme-labs"]
    assert {r["full_name"]: r["org"] for r in document["repositories"]}["acme-labs/orb-api"] == (
        "acme-labs"
    )


def test_the_dashboard_filters_by_org(two_orgs: str) -> None:
    html = make_report(two_orgs, ReportFormat.HTML)
    assert '<select aria-label="Org" id="repositories-org" data-key="org">' in html
    assert '<option value="acme">acme</option><option value="acme-labs">acme-labs</option>' in html
    assert html.count('data-org="acme-labs"') == 1 and html.count('data-org="acme"') == 4


def test_one_org_shows_no_org_column(sandbox: SandboxServer, world: World, tmp_path: Path) -> None:
    url = scanned(sandbox, world, f"sqlite:///{tmp_path / 'one.db'}", ["acme"])
    assert report_of(url).orgs == ()
    assert "repositories-org" not in make_report(url, ReportFormat.HTML)
    assert "org" not in next(csv.reader(io.StringIO(make_report(url, ReportFormat.CSV))))
    assert "Org" not in make_report(url, ReportFormat.MARKDOWN)


def test_the_report_command_takes_org(two_orgs: str) -> None:
    env = {"PIPFLEET_DATABASE_URL": two_orgs}
    result = CliRunner().invoke(app, ["report", "-f", "csv", "--org", "acme-labs"], env=env)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {row["repository"] for row in rows} == {"acme-labs/orb-api"}
    refused = CliRunner().invoke(app, ["report", "--org", "nope"], env=env)
    assert isinstance(refused.exception, UsageError)  # main() makes it exit 2, one line
