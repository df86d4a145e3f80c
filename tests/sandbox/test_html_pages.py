"""The sandbox's web pages: the html_url links its API hands out lead somewhere while it runs."""

from __future__ import annotations

import html
import json
import re
import tomllib
from pathlib import Path

import httpx
from tests.conftest import cache_home

from pipfleet.config import parse_settings
from pipfleet.jobs.nightly import run_nightly
from pipfleet.report import ReportFormat
from pipfleet.report.output import make_report
from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World

AUTH = {"Authorization": "token sandbox-token"}
HOSTILE = '<script>alert("x")</script>'
HOSTILE_PIPFILE = (
    f'[packages]\norb-common = {{version = "==2.1.0", index = "codeartifact"}}  # {HOSTILE}\n'
)


def open_hostile_pull(sandbox: SandboxServer) -> dict[str, object]:
    """A pull request opened over the REST API, with markup in its title, body and files."""
    api = sandbox.urls.github_api + "/repos/acme/orb-api"
    main = httpx.get(api + "/git/ref/heads/main", headers=AUTH).json()["object"]["sha"]
    created = httpx.post(
        api + "/git/refs", headers=AUTH, json={"ref": "refs/heads/fix", "sha": main}
    )
    assert created.status_code == 201
    pushed = httpx.post(
        sandbox.urls.control + "/repos/acme/orb-api/commits",
        json={"branch": "fix", "files": {"Pipfile": HOSTILE_PIPFILE, f"{HOSTILE}.md": "hi\n"}},
    )
    assert pushed.status_code == 201
    pull = httpx.post(
        api + "/pulls",
        headers=AUTH,
        json={"title": f"Pin {HOSTILE}", "head": "fix", "base": "main", "body": HOSTILE},
    )
    assert pull.status_code == 201
    body: dict[str, object] = pull.json()
    return body


def visible_text(page: str) -> str:
    """What a browser shows of an escaped page: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_pull_request_page_shows_its_state_and_diff_escaped(
    sandbox: SandboxServer, world: World
) -> None:
    pull = open_hostile_pull(sandbox)
    page = httpx.get(str(pull["html_url"]))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text and "&lt;script&gt;" in page.text
    shown = visible_text(page.text)
    assert f"Pin {HOSTILE} #1" in shown
    assert "open: pipfleet-sandbox-bot wants to merge fix into main" in shown
    assert '-orb-common = "==2.1.0"' in shown and "+orb-common = {version" in shown
    assert f"{HOSTILE}.md" in shown and "+hi" in shown
    merged = httpx.post(sandbox.urls.control + "/repos/acme/orb-api/pulls/1/merge")
    assert merged.status_code == 200
    after = visible_text(httpx.get(str(pull["html_url"])).text)
    # Measured against the base before the merge: the diff is still the pull request's own.
    assert "merged:" in after and '-orb-common = "==2.1.0"' in after


def test_the_repository_page_lists_pull_requests_files_and_pipfiles(
    sandbox: SandboxServer, world: World
) -> None:
    open_hostile_pull(sandbox)
    httpx.post(
        sandbox.urls.control + "/repos/acme/orb-api/commits",
        json={"files": {"Pipfile": HOSTILE_PIPFILE}},
    )
    repository = httpx.get(sandbox.urls.github_api + "/repos/acme/orb-api", headers=AUTH).json()
    page = httpx.get(repository["html_url"])
    assert page.status_code == 200 and "<script" not in page.text
    assert 'href="/github-html/acme/orb-api/pull/1"' in page.text
    shown = visible_text(page.text)
    assert f"#1 Pin {HOSTILE} (open, fix into main)" in shown
    assert "services/worker/Pipfile" in shown and "README.md" in shown
    assert HOSTILE_PIPFILE.strip() in shown  # the default branch's Pipfile, in full
    assert 'orb-events = {version = "*", index = "codeartifact"}' in shown


def test_unknown_pages_are_not_found_and_cost_no_github_request(sandbox: SandboxServer) -> None:
    base = sandbox.urls.base + "/github-html/acme"
    assert httpx.get(base + "/nope").status_code == 404
    assert httpx.get(base + "/orb-api/pull/99").status_code == 404
    assert httpx.get(base + "/orb-api").status_code == 200  # no token: a browser has none
    counters = httpx.get(sandbox.urls.control + "/counters").json()
    assert counters["github"]["total"] == 0 and counters["total"] == 3


def test_the_links_a_run_records_open_while_the_sandbox_runs(
    sandbox: SandboxServer, world: World, tmp_path: Path
) -> None:
    data = tomllib.loads(config_text(sandbox.urls, world, "acme"))
    data["github"]["write_pause"] = 0.0
    environ = {
        **cache_home(),
        "GITHUB_TOKEN": "sandbox-token",
        "PIPFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'pipfleet.db'}",
    }
    settings = parse_settings(data, environ)
    run_nightly(settings)
    report = json.loads(make_report(settings.database.url, ReportFormat.JSON))
    repositories = report["repositories"]
    pages = {row["html_url"] for row in repositories}
    pages |= {row["pull_request"]["html_url"] for row in repositories if row["pull_request"]}
    assert len(pages) >= 3 and any("/pull/" in page for page in pages)
    for page in pages:
        answer = httpx.get(page)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(
            "text/html"
        ), page
