"""The dashboard: one self-contained HTML page (inline CSS, inline SVG, a little inline JS).

Every string that comes from the database goes through ``e`` (HTML-escaped, quotes
included) and every link through ``web_url`` (http and https only). Every figure carries
``data-figure`` and its raw number in ``data-value``, so a test can read the page back and
compare it with the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from pipfleet import __version__
from pipfleet.engine.findings import FindingKind
from pipfleet.report.assets import CONTENT_SECURITY_POLICY, CSS, JS
from pipfleet.report.document import REPORT_SCHEMA
from pipfleet.report.formats import headline, percent, web_url, when
from pipfleet.report.model import SEVERITY_RANK, FindingRow, Report, RepositoryRow
from pipfleet.report.svg import bar, trend_chart

# Beyond this many risks the page lists the most severe and says how many more there are.
RISK_ROWS = 1000
_STATES = ("non-compliant", "failed", "compliant", "no-pipfile", "skipped")


def e(value: object) -> str:
    return escape(str(value), quote=True)


def link(text: str, url: str | None) -> str:
    safe = web_url(url)
    return e(text) if safe is None else f'<a href="{e(safe)}">{e(text)}</a>'


def figure(
    name: str, value: float | None, shown: str, *, tag: str = "span", css_class: str = ""
) -> str:
    """An element holding one figure: ``shown`` to read, ``data-value`` to check."""
    raw = "" if value is None else repr(value)
    css = f' class="{e(css_class)}"' if css_class else ""
    return f'<{tag}{css} data-figure="{e(name)}" data-value="{raw}">{e(shown)}</{tag}>'


def _card(label: str, value: str, sub: str = "", css: str = "card", extra: str = "") -> str:
    sub_html = f'<span class="sub">{sub}</span>' if sub else ""
    return f'<div class="{css}"><span class="label">{e(label)}</span>{value}{sub_html}{extra}</div>'


def _cards(report: Report) -> str:
    s = report.summary
    prs = s.pull_requests
    others = ", ".join(
        figure(f"prs-{state}", count, f"{count:,} {state}")
        for state, count in prs.items()
        if count and state not in ("open", "merged", "dismissed")
    )
    compliant = figure(
        "compliant-repositories", s.compliant_repositories, f"{s.compliant_repositories:,}"
    )
    judged = figure(
        "repositories-with-pipfiles",
        s.repositories_with_pipfiles,
        f"{s.repositories_with_pipfiles:,}",
    )
    hero = _card(
        "Compliant repositories",
        figure("compliant-share", s.compliant_share, percent(s.compliant_share), css_class="value"),
        f"{compliant} of {judged} repositories with Pipfiles; the last {len(report.trend)} runs:",
        "card hero",
        trend_chart(report.trend),
    )
    cards = [
        hero,
        _card(
            "Repositories scanned",
            figure("repositories", s.repositories, f"{s.repositories:,}", css_class="value"),
            figure("skipped-repositories", s.skipped_repositories, f"{s.skipped_repositories:,}")
            + " skipped",
        ),
        _card("Pipfiles", figure("pipfiles", s.pipfiles, f"{s.pipfiles:,}", css_class="value")),
        _card(
            "Findings needing action",
            figure(
                "findings-needing-action",
                s.findings_needing_action,
                f"{s.findings_needing_action:,}",
                css_class="value",
            ),
            figure("findings", s.findings, f"{s.findings:,}") + " findings in all",
        ),
        _card(
            "Confusion risks",
            figure(
                "confusion-risks", s.confusion_risks, f"{s.confusion_risks:,}", css_class="value"
            ),
            "public name, private package",
            "card alert" if s.confusion_risks else "card",
        ),
        _card(
            "Foreign files in locks",
            figure("foreign-hashes", s.foreign_hashes, f"{s.foreign_hashes:,}", css_class="value"),
            "private package locked from another index",
            "card alert" if s.foreign_hashes else "card",
        ),
        _card(
            "Pull requests open",
            figure("prs-open", prs["open"], f"{prs['open']:,}", css_class="value"),
            figure("prs-merged", prs["merged"], f"{prs['merged']:,} merged")
            + ", "
            + figure("prs-dismissed", prs["dismissed"], f"{prs['dismissed']:,} dismissed")
            + (f"; {others}" if others else ""),
        ),
        _card(
            "Scan errors",
            figure(
                "scan-errors",
                s.failed_repositories,
                f"{s.failed_repositories:,}",
                css_class="value",
            ),
            "repositories that could not be read",
            "card alert" if s.failed_repositories else "card",
        ),
    ]
    return f'<section class="cards" aria-label="Headline figures">{"".join(cards)}</section>'


def _kind_severity(kind: str) -> str:
    try:
        return FindingKind(kind).severity.label
    except ValueError:
        return "info"


def _findings_by_kind(report: Report) -> str:
    s = report.summary
    counts = sorted(s.findings_by_kind.items(), key=lambda item: (-item[1], item[0]))
    largest = max((n for _, n in counts), default=0)
    rows = "".join(
        f"<span>{e(kind)}</span>{bar(n, largest, 'sev-' + _kind_severity(kind))}"
        + figure(f"findings-{kind}", n, f"{n:,}", css_class="n")
        for kind, n in counts
    )
    chips = "".join(
        figure(f"findings-severity-{sev}", n, f"{n:,} {sev}", css_class=f"badge sev-{e(sev)}")
        for sev, n in s.findings_by_severity.items()
        if n
    )
    body = f'<div class="bars">{rows}</div>' if rows else '<p class="none">No findings.</p>'
    return (
        '<section id="kinds"><h2>Findings by kind</h2>'
        f'<div class="panel">{body}<div class="chips">{chips}</div></div></section>'
    )


def _th(label: str, sort: str = "text", num: bool = False) -> str:
    css = ' class="num"' if num else ""
    return f'<th data-sort="{sort}"{css}><button type="button">{e(label)}</button></th>'


def _filters(table: str, placeholder: str, states: Sequence[str] = ()) -> str:
    select = ""
    if states:
        options = "".join(f'<option value="{e(s)}">{e(s)}</option>' for s in states)
        select = (
            f'<select aria-label="State" id="{table}-state"><option value="">every state</option>'
            f"{options}</select>"
        )
    return (
        f'<div class="tools" data-filters="{table}"><input type="search" id="{table}-filter" '
        f'placeholder="{e(placeholder)}" aria-label="{e(placeholder)}">{select}'
        '<span class="count"></span></div>'
    )


def _severity_cell(label: str | None) -> str:
    if label is None:
        return '<td data-value="0"></td>'
    return (
        f'<td data-value="{SEVERITY_RANK.get(label, -1) + 1}">'
        f'<span class="badge sev-{e(label)}">{e(label)}</span></td>'
    )


def _where(f: FindingRow) -> str:
    return f"{f.path}:{f.line}" if f.line else f.path


def _risks(risks: Sequence[FindingRow], urls: dict[str, str | None]) -> str:
    if not risks:
        return ""
    rows = "".join(
        f"<tr>{_severity_cell(f.severity)}<td>{link(f.repository, urls.get(f.repository))}</td>"
        f"<td>{e(_where(f))}</td><td>{e(f.package or '')}</td><td>{e(f.message)}</td></tr>"
        for f in risks[:RISK_ROWS]
    )
    more = (
        f'<p class="none">{len(risks) - RISK_ROWS:,} more: pipfleet report --format csv '
        "--kind foreign-hashes (and --kind confusion-risk) lists them all.</p>"
        if len(risks) > RISK_ROWS
        else ""
    )
    head = "".join(
        [_th("Severity", "number"), _th("Repository"), _th("Where"), _th("Package"), _th("Message")]
    )
    return (
        f'<section id="risks-section"><h2>Dependency-confusion risks ({len(risks):,})</h2>'
        f"{_filters('risks', 'Filter risks')}"
        f'<div class="scroll capped"><table id="risks" class="responsive" data-sortable>'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>{more}</section>"
    )


def _pull_request_cell(row: RepositoryRow) -> str:
    pr = row.pull_request
    if pr is None:
        return '<td data-value=""></td>'
    number = link(f"#{pr.number}", pr.html_url) + " " if pr.number is not None else ""
    return (
        f'<td data-value="{e(pr.state)}">{number}'
        f'<span class="badge pr-{e(pr.state)}">{e(pr.state)}</span></td>'
    )


def _repository_rows(rows: Iterable[RepositoryRow]) -> str:
    return "".join(
        f'<tr data-state="{e(r.state)}"><td>{link(r.full_name, r.html_url)}</td>'
        f'<td><span class="badge st-{e(r.state)}">{e(r.state)}</span></td>'
        f'<td class="num">{r.pipfiles}</td><td class="num">{r.findings}</td>'
        f"{_severity_cell(r.worst_severity)}{_pull_request_cell(r)}"
        f'<td class="nowrap">{e(when(r.last_scanned_at))}</td>'
        f'<td class="err">{e(r.error or "")}</td></tr>'
        for r in rows
    )


def _repositories(report: Report) -> str:
    head = "".join(
        [
            _th("Repository"),
            _th("State"),
            _th("Pipfiles", "number", num=True),
            _th("Findings", "number", num=True),
            _th("Worst", "number"),
            _th("Pull request"),
            _th("Last scanned"),
            _th("Error"),
        ]
    )
    return (
        f'<section id="repositories-section"><h2>Repositories ({len(report.repositories):,})</h2>'
        f"{_filters('repositories', 'Filter repositories, pull requests, errors', _STATES)}"
        '<div class="scroll"><table id="repositories" class="responsive" data-sortable>'
        f"<thead><tr>{head}</tr></thead>"
        f"<tbody>{_repository_rows(report.repositories)}</tbody></table></div></section>"
    )


def _packages(report: Report) -> str:
    if not report.packages:
        return ""
    rows = "".join(
        f"<tr><td>{e(p.name)}</td>"
        f'<td><span class="badge {"sev-critical" if p.public_status == "taken" else "sev-info"}">'
        f"{e(p.public_status)}</span></td><td>{e(p.origin)}, upstream {e(p.upstream)}</td>"
        f'<td class="num" title="{e(", ".join(p.repositories))}">{len(p.repositories)}</td>'
        f'<td class="num">{p.pinned_entries}</td><td class="num">{p.unpinned_entries}</td>'
        f"<td>{e('; '.join(p.versions))}</td></tr>"
        for p in report.packages
    )
    head = "".join(
        [
            _th("Package"),
            _th("On public PyPI"),
            _th("Origin"),
            _th("Repositories", "number", num=True),
            _th("Pinned", "number", num=True),
            _th("Unpinned", "number", num=True),
            _th("Versions written"),
        ]
    )
    return (
        f'<section id="packages-section"><h2>Private packages ('
        f"{figure('packages', len(report.packages), f'{len(report.packages):,}')})</h2>"
        '<div class="scroll"><table id="packages" class="responsive" data-sortable>'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div></section>"
    )


def _errors(report: Report) -> str:
    items = [
        f"<li><b>{link(r.full_name, r.html_url)}</b>: {e(r.error or 'failed')}</li>"
        for r in report.errors
    ]
    if report.summary.run_error:
        items.insert(
            0, f"<li><b>run {report.summary.run_id}</b>: {e(report.summary.run_error)}</li>"
        )
    body = f'<ul class="errors">{"".join(items)}</ul>' if items else '<p class="none">None.</p>'
    return f'<section id="errors"><h2>Scan errors</h2><div class="panel">{body}</div></section>'


def to_html(report: Report) -> str:
    """The dashboard as one HTML document."""
    s = report.summary
    urls = {r.full_name: r.html_url for r in report.repositories}
    meta = (
        f"Run {figure('run-id', s.run_id, str(s.run_id), tag='b')} · {e(s.status)} · "
        f"started {e(when(s.started_at))}"
        + (f" · finished {e(when(s.finished_at))}" if s.finished_at else "")
        + f" · generated {e(when(report.generated_at))}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{e(headline(report))}</title><style>{CSS}</style></head><body>"
        f'<header class="top"><h1>pipfleet compliance</h1>'
        f'<p class="meta">{meta}</p></header><main>'
        f"{_cards(report)}{_risks(report.risks, urls)}{_findings_by_kind(report)}"
        f"{_repositories(report)}{_packages(report)}{_errors(report)}</main>"
        f"<footer>pipfleet {e(__version__)} · {REPORT_SCHEMA} · the same figures: "
        "pipfleet report --format json</footer>"
        f"<script>{JS}</script></body></html>\n"
    )
