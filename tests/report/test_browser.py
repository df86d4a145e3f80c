"""The dashboard in headless Chromium: no errors, the database's figures, sorting, filtering.

Chromium comes from Debian (`apt-get install -y chromium`), driven by Playwright's Python
package; Playwright never downloads a browser here. A missing browser fails the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipfleet.report import ReportFormat
from pipfleet.report.model import ReportQuery
from pipfleet.report.output import make_report

from .conftest import Rows, assert_figures_match, expected_figures

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "the dashboard tests need Debian's Chromium and Playwright's Python package: "
    "apt-get install -y chromium && .venv/bin/pip install -e '.[dev]' "
    "(never `playwright install`: no browser downloads)"
)


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Headless Chromium. Started only once the database is filled: Playwright's sync API
    keeps an event loop running, and the scan's registry checks start their own."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"playwright is not installed: {INSTALL_HINT}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Browser, path: Path, width: int, problems: list[str]) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "request",
        lambda r: problems.append(f"request: {r.url}") if r.url != path.as_uri() else None,
    )
    page.goto(path.as_uri())
    return page


def column(page: Page, table: str, index: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr:not([hidden])",
        f"rows => rows.map(r => r.cells[{index}].textContent.trim())",
    )


def test_dashboard_in_chromium(scanned: str, query: Rows, tmp_path: Path) -> None:
    path = tmp_path / "dashboard.html"
    path.write_text(make_report(scanned, ReportFormat.HTML), encoding="utf-8")
    expected = expected_figures(query)
    with launch_chromium() as browser:
        check_dashboard(browser, path, expected, tmp_path)


def check_dashboard(
    browser: Browser, path: Path, expected: dict[str, float | int | None], shots: Path
) -> None:
    problems: list[str] = []
    page = open_page(browser, path, 1280, problems)

    figures = page.eval_on_selector_all(
        "[data-figure]",
        "els => Object.fromEntries(els.map(e => [e.dataset.figure, e.dataset.value]))",
    )
    assert_figures_match(figures, expected)
    assert page.inner_text("[data-figure=compliant-share]") == "50.0%"

    names = column(page, "repositories", 0)
    assert len(names) == 6
    page.click("#repositories th:nth-child(1) button")
    assert column(page, "repositories", 0) == sorted(names)
    assert page.get_attribute("#repositories th:nth-child(1)", "aria-sort") == "ascending"
    page.click("#repositories th:nth-child(1) button")
    assert column(page, "repositories", 0) == sorted(names, reverse=True)
    page.click("#repositories th:nth-child(5) button")  # findings, as numbers
    findings = [int(n) for n in column(page, "repositories", 4)]
    assert findings == sorted(findings) and findings[-1] == 5
    assert column(page, "repositories", 0)[-1] == "acme/orb-api"

    assert page.inner_text("[data-filters=repositories] .count") == "6 of 6"
    page.fill("#repositories-filter", "orb-g")
    assert sorted(column(page, "repositories", 0)) == ["acme/orb-gone", "acme/orb-good"]
    assert page.inner_text("[data-filters=repositories] .count") == "2 of 6"
    page.select_option("#repositories-state", "failed")
    assert column(page, "repositories", 0) == ["acme/orb-gone"]
    page.fill("#repositories-filter", "")
    page.select_option("#repositories-state", "")
    assert len(column(page, "repositories", 0)) == 6
    page.select_option("#repositories-manifests", "pipfile")  # those with a Pipfile read
    assert sorted(column(page, "repositories", 0)) == ["acme/orb-api", "acme/orb-good"]
    assert set(column(page, "repositories", 3)) == {"pipfile"}  # the Kinds column
    page.select_option("#repositories-manifests", "")
    page.fill("#repositories-filter", "#12 open")  # pull requests are searchable too
    assert column(page, "repositories", 0) == ["acme/orb-api"]

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"the page scrolls sideways at {width} px"
        page.screenshot(path=str(shots / f"dashboard-{width}.png"), full_page=True)
        assert (shots / f"dashboard-{width}.png").stat().st_size > 10_000
    assert problems == []


def figures_of(page: Page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "[data-figure]",
        "els => Object.fromEntries(els.map(e => [e.dataset.figure, e.dataset.value]))",
    )


def test_failed_run_dashboard_in_chromium(after_bad_nights: str, tmp_path: Path) -> None:
    """Run 4 failed: its dashboard shows run 3's figures under a banner saying so, and a
    repository's section answers why it is in its state (the screenshots in the docs)."""
    failed, last_good = tmp_path / "failed.html", tmp_path / "good.html"
    failed.write_text(make_report(after_bad_nights, ReportFormat.HTML), encoding="utf-8")
    good_html = make_report(after_bad_nights, ReportFormat.HTML, ReportQuery(run_id=3))
    last_good.write_text(good_html, encoding="utf-8")
    shots = Path(os.environ.get("PIPFLEET_SCREENSHOTS") or tmp_path)
    problems: list[str] = []
    with launch_chromium() as browser:
        good = figures_of(open_page(browser, last_good, 1280, problems))
        page = open_page(browser, failed, 1280, problems)
        shown = figures_of(page)
        assert (shown.pop("run-id"), good.pop("run-id")) == ("4", "3")
        assert (shown.pop("scan-errors"), good.pop("scan-errors")) == ("2", "1")
        assert shown == good and shown["compliant-share"] == "0.5"  # run 3's, not zeros
        banner = page.locator("[data-banner=error]")
        assert banner.is_visible()
        assert banner.inner_text().startswith("Run 4 failed ")
        assert "from run 3, read " in banner.inner_text()
        assert page.locator("#errors li").count() == 2

        page.select_option("#repositories-kinds", "confusion-risk")
        assert column(page, "repositories", 0) == ["acme/orb-api"]
        page.select_option("#repositories-kinds", "")
        page.select_option("#repositories-topics", "legacy")
        assert column(page, "repositories", 0) == ["acme/orb-archived"]
        page.select_option("#repositories-topics", "")

        page.click("#repositories a:text-is('acme/orb-api')")
        # The section opens on `hashchange`, a task Chromium queues after the click
        # returns: wait for it, or a busy machine sees the section still closed.
        section = page.locator("details.repository[open]")
        section.wait_for(state="visible", timeout=10_000)
        assert section.count() == 1
        text = section.inner_text()
        assert "Could not resolve" in text and "run 2" in text  # read by run 2, then failed
        assert "services/worker/Pipfile:2" in text and "#12" in text and "superseded" in text
        assert section.locator(".rfindings tbody tr").count() >= 5
        assert section.locator(".rfindings code").count() >= 1  # a proposed change
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"the page scrolls sideways at {width} px"
            shot = shots / f"dashboard-repository-{width}.png"
            section.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
    assert problems == []
