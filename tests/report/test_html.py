"""The dashboard page read back as HTML: figures, escaping, and nothing loaded from outside."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import text
from sqlmodel import Session

from pipfleet.report import ReportFormat
from pipfleet.report.assets import CSS, JS, csp_hash
from pipfleet.report.output import make_report
from pipfleet.store.db import make_engine
from pipfleet.store.models import (
    FindingRecord,
    PipfileRecord,
    PipfileStatus,
    PullRequestRecord,
    PullRequestState,
    Repository,
    RepositoryScan,
    ScanStatus,
)

from .conftest import Rows, assert_figures_match, expected_figures

NASTY_NAME = '<script>alert("name")</script>&co'
NASTY_MESSAGE = "<img src=x onerror=alert(1)> \"quoted\" & 'single' </td></tr></table>"
NASTY_PACKAGE = 'evil"pkg<'
RICH_MARKUP = "[bold red]rich[/]"


class Page(HTMLParser):
    """What a test needs from a page: its figures, scripts, links and loaded resources."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # element id -> tag
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids[attributes["id"] or ""] = tag
        if "data-figure" in attributes:
            self.figures[attributes["data-figure"] or ""] = attributes.get("data-value") or ""
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


@pytest.fixture
def nasty(sqlite_scanned: str) -> str:
    """The scanned database plus repositories whose every string tries to break the page:
    one read (a finding, a pull request), one whose read failed (the error)."""
    engine = make_engine(sqlite_scanned)
    with Session(engine) as session:
        repo, failed = (
            Repository(
                full_name=f"acme/{NASTY_NAME}{suffix}",
                org="acme",
                name=f"{NASTY_NAME}{suffix}",
                html_url="javascript:alert('repo')",
                topics=json.dumps([NASTY_PACKAGE]),
            )
            for suffix in ("", "-failed")
        )
        session.add_all([repo, failed])
        session.flush()
        assert repo.id is not None and failed.id is not None
        session.add(
            RepositoryScan(run_id=2, repository_id=repo.id, status=ScanStatus.FETCHED, pipfiles=1)
        )
        session.add(
            RepositoryScan(
                run_id=2,
                repository_id=failed.id,
                status=ScanStatus.FAILED,
                error=f"{RICH_MARKUP} {NASTY_MESSAGE}",
            )
        )
        session.add(
            PipfileRecord(
                run_id=2,
                repository_id=repo.id,
                path=NASTY_PACKAGE,
                status=PipfileStatus.PARSE_ERROR,
                parse_error=NASTY_MESSAGE,
            )
        )
        session.add(
            FindingRecord(
                run_id=2,
                repository_id=repo.id,
                path="Pipfile",
                package=NASTY_PACKAGE,
                current=NASTY_MESSAGE,
                expected=NASTY_NAME,
                kind="confusion-risk",
                severity="critical",
                fixable=False,
                message=NASTY_MESSAGE,
            )
        )
        session.add(
            PullRequestRecord(
                repository_id=repo.id,
                number=5,
                branch="b",
                fingerprint="f",
                state=PullRequestState.OPEN,
                title=NASTY_MESSAGE,
                html_url='https://github.com/acme/x/pull/5"><script>alert(2)</script>',
            )
        )
        session.commit()
    engine.dispose()
    return sqlite_scanned


def test_figures_on_the_page_equal_the_database(scanned: str, query: Rows) -> None:
    page = Page(make_report(scanned, ReportFormat.HTML))
    assert_figures_match(page.figures, expected_figures(query))
    assert page.figures["compliant-share"] == "0.5"
    # The trend's axis shows dates; a run's number shows on hover.
    html = make_report(scanned, ReportFormat.HTML)
    assert re.search(r'<text class="axis"[^>]*>[A-Z][a-z]{2} \d{2}<title>run 1</title>', html)
    assert re.search(r"<title>run 2, \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC: 50\.0% compliant", html)


def test_the_page_is_self_contained(sqlite_scanned: str) -> None:
    html = make_report(sqlite_scanned, ReportFormat.HTML)
    page = Page(html)
    assert page.scripts == [JS] and page.styles == [CSS]
    for tag, attributes in page.tags:
        assert "src" not in attributes, tag  # no image, script or frame from anywhere
        assert "style" not in attributes, tag  # the CSP allows the one stylesheet only
        if tag == "link":
            assert attributes == {"rel": "icon", "href": "data:,"}
        if tag == "a":  # out to GitHub, or to a repository's section of the page
            href = attributes["href"] or ""
            assert href.startswith(("https://", "http://")) or page.ids.get(href[1:]) == "details"
    (policy,) = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy is not None and policy.startswith("default-src 'none'; ")
    assert f"script-src {csp_hash(JS)};" in policy and f"style-src {csp_hash(CSS)};" in policy
    assert "@import" not in CSS and "url(" not in CSS


def test_every_database_string_is_escaped(nasty: str) -> None:
    html = make_report(nasty, ReportFormat.HTML)
    page = Page(html)
    assert page.scripts == [JS]  # no injected script element
    assert [t for t, _ in page.tags if t in ("img", "iframe", "object")] == []
    assert "javascript:" not in html
    assert all(not (a.get("href") or "").startswith("javascript:") for _, a in page.tags)
    text = "".join(page.text)
    assert f"acme/{NASTY_NAME}" in text  # shown, as text
    assert NASTY_MESSAGE in text and NASTY_PACKAGE in text
    # Escaped, whichever character references spell it: the raw markup is nowhere.
    assert "&lt;script&gt;alert(" in html
    assert all(raw not in html for raw in (NASTY_NAME, NASTY_MESSAGE, NASTY_PACKAGE))
    assert page.figures["confusion-risks"] == "2" and page.figures["scan-errors"] == "2"


def test_other_formats_keep_database_strings_as_data(nasty: str) -> None:
    markdown = make_report(nasty, ReportFormat.MARKDOWN)
    assert "<script>" not in markdown and "<img" not in markdown
    assert "&lt;script&gt;" in markdown
    table = make_report(nasty, ReportFormat.TABLE, width=400)
    assert RICH_MARKUP in table  # printed, not read as Rich markup
    document = json.loads(make_report(nasty, ReportFormat.JSON))
    assert NASTY_MESSAGE in {f["message"] for f in document["risks"]}
    rows = list(csv.DictReader(io.StringIO(make_report(nasty, ReportFormat.CSV))))
    assert {"repository": f"acme/{NASTY_NAME}", "message": NASTY_MESSAGE}.items() <= rows[0].items()


def test_declined_and_opted_out_repositories_are_counted_and_filterable(
    sqlite_scanned: str,
) -> None:
    engine = make_engine(sqlite_scanned)
    with engine.begin() as connection:
        connection.execute(text("UPDATE pull_requests SET state = 'dismissed' WHERE number = 12"))
        connection.execute(
            text("UPDATE repositories SET topics = '[\"pipfleet-ignore\"]' WHERE name = 'orb-good'")
        )
    engine.dispose()
    html = make_report(sqlite_scanned, ReportFormat.HTML)
    page = Page(html)
    assert page.figures["repositories-declined"] == "1"
    assert page.figures["repositories-non-compliant"] == "0"
    assert page.figures["repositories-opted-out"] == "0"  # compliant: nothing to opt out of
    assert '<tr data-state="declined" data-kinds="' in html
    assert '<option value="pipfleet-ignore">pipfleet-ignore</option>' in html  # topic filter
    assert '<option value="confusion-risk">confusion-risk</option>' in html  # kind filter
    assert "closed pipfleet's pull request unmerged" in "".join(page.text)  # why, in its row
    markdown = make_report(sqlite_scanned, ReportFormat.MARKDOWN)
    assert "| Repositories scanned | 6 (1 failed, 1 declined, 1 compliant, " in markdown
