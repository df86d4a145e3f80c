"""The dashboard in headless Chromium: no errors, the database's figures, sorting, filtering.

Chromium comes from Debian (`apt-get install -y chromium`), driven by Playwright's Python
package; Playwright never downloads a browser here. A missing browser fails the test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipfleet.report import ReportFormat
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
    page.click("#repositories th:nth-child(4) button")  # findings, as numbers
    findings = [int(n) for n in column(page, "repositories", 3)]
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
    page.fill("#repositories-filter", "#12 open")  # pull requests are searchable too
    assert column(page, "repositories", 0) == ["acme/orb-api"]

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"the page scrolls sideways at {width} px"
        page.screenshot(path=str(shots / f"dashboard-{width}.png"), full_page=True)
        assert (shots / f"dashboard-{width}.png").stat().st_size > 10_000
    assert problems == []
