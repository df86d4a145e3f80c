"""The dashboard: one self-contained HTML page (inline CSS, inline SVG, a little inline JS).

Every string that comes from the database goes through ``e`` (HTML-escaped, quotes
included) and every link through ``web_url`` (http and https only). Every figure carries
``data-figure`` and its raw number in ``data-value``, so a test can read the page back and
compare it with the database.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from urllib.parse import quote

from pipfleet import __version__
from pipfleet.engine.findings import FindingKind
from pipfleet.report.assets import CONTENT_SECURITY_POLICY, CSS, JS
from pipfleet.report.document import REPORT_SCHEMA
from pipfleet.report.formats import headline, percent, web_url
from pipfleet.report.model import (
    KINDS,
    SEVERITY_RANK,
    STATES,
    FindingRow,
    PipfileRow,
    Report,
    RepositoryRow,
    age,
    when,
)
from pipfleet.report.svg import bar, trend_chart

# Beyond this many risks the page lists the most severe and says how many more there are.
RISK_ROWS = 1000


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
    states = s.repositories_by_state
    cards = [
        hero,
        _card(
            "Repositories scanned",
            figure("repositories", s.repositories, f"{s.repositories:,}", css_class="value"),
            ", ".join(
                figure(f"repositories-{state}", states[state], f"{states[state]:,} {state}")
                for state in ("non-compliant", "opted-out", "declined", "skipped")
            ),
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
            "entries that can install the public package; "
            + figure(
                "confusion-risks-pinned",
                s.confusion_risks_pinned,
                f"{s.confusion_risks_pinned:,}",
            )
            + " pinned, the name taken on PyPI",
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
            figure("scan-errors", s.scan_errors, f"{s.scan_errors:,}", css_class="value"),
            "a failed run, repositories that could not be read",
            "card alert" if report.errors else "card",
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
    counts = list(report.chart.items())
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
        f'<div class="panel">{body}<p class="note">Compliant entries are not drawn; '
        "name-claimable counts packages, not entries.</p>"
        f'<div class="chips">{chips}</div></div></section>'
    )


def _th(label: str, sort: str = "text", num: bool = False) -> str:
    css = ' class="num"' if num else ""
    return f'<th data-sort="{sort}"{css}><button type="button">{e(label)}</button></th>'


def _select(table: str, key: str, label: str, every: str, values: Iterable[str]) -> str:
    """A filter on the rows' ``data-KEY`` (space-separated values): the rows holding one."""
    options = "".join(f'<option value="{e(v)}">{e(v)}</option>' for v in values)
    return (
        f'<select aria-label="{e(label)}" id="{table}-{key}" data-key="{key}">'
        f'<option value="">{e(every)}</option>{options}</select>'
    )


def _filters(table: str, placeholder: str, selects: str = "") -> str:
    return (
        f'<div class="tools" data-filters="{table}"><input type="search" id="{table}-filter" '
        f'placeholder="{e(placeholder)}" aria-label="{e(placeholder)}">{selects}'
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


def _read(row: RepositoryRow, report: Report) -> str:
    """When the state shown was read, and how long ago: old when its last scan failed."""
    if row.read_at is None:
        return '<td class="nowrap">never</td>'
    ago = age(report.generated_at - row.read_at)
    data_run = report.summary.data_run
    stale = row.status == "failed" or (data_run is not None and row.read_run_id != data_run.id)
    css = "age stale" if stale else "age"
    # No data-value: the text starts with the date, which sorts as text.
    return f'<td class="nowrap">{e(when(row.read_at))} <span class="{css}">{e(ago)} ago</span></td>'


def _tokens(key: str, values: Sequence[str]) -> str:
    """A row's ``data-KEY`` for the filters, left out when empty (thousands of rows)."""
    return f' data-{key}="{e(" ".join(values))}"' if values else ""


def detail_anchor(row: RepositoryRow) -> str:
    return f"r-{row.repository_id}"


def _repository_rows(report: Report, served: bool) -> str:
    def name(row: RepositoryRow) -> str:
        if served:
            page = "/repositories/" + quote(row.full_name, safe="/")
            return f'<a href="{e(page)}">{e(row.full_name)}</a>'
        if has_detail(row):
            return f'<a href="#{detail_anchor(row)}">{e(row.full_name)}</a>'
        return link(row.full_name, row.html_url)

    return "".join(
        f'<tr data-state="{e(r.state)}"{_tokens("kinds", r.kinds)}{_tokens("topics", r.topics)}>'
        f"<td>{name(r)}</td>"
        f'<td><span class="badge st-{e(r.state)}">{e(r.state)}</span></td>'
        f'<td class="num">{r.pipfiles}</td><td class="num">{r.findings}</td>'
        f"{_severity_cell(r.worst_severity)}{_pull_request_cell(r)}{_read(r, report)}"
        f'<td class="err">{e(r.failure or r.why or "")}</td></tr>'
        for r in report.repositories
    )


def _repositories(report: Report, served: bool) -> str:
    head = "".join(
        [
            _th("Repository"),
            _th("State"),
            _th("Pipfiles", "number", num=True),
            _th("Findings", "number", num=True),
            _th("Worst", "number"),
            _th("Pull request"),
            _th("Read"),
            _th("Why"),
        ]
    )
    kinds = sorted({k for r in report.repositories for k in r.kinds}, key=KINDS.index)
    topics = sorted({t for r in report.repositories for t in r.topics})
    selects = (
        _select("repositories", "state", "State", "every state", STATES)
        + _select("repositories", "kinds", "Finding kind", "every finding kind", kinds)
        + _select("repositories", "topics", "Topic", "every topic (team)", topics)
    )
    return (
        f'<section id="repositories-section"><h2>Repositories ({len(report.repositories):,})</h2>'
        f"{_filters('repositories', 'Filter repositories, pull requests, errors', selects)}"
        '<div class="scroll"><table id="repositories" class="responsive" data-sortable>'
        f"<thead><tr>{head}</tr></thead>"
        f"<tbody>{_repository_rows(report, served)}</tbody></table></div></section>"
    )


def _change(f: FindingRow) -> str:
    if f.expected is None:
        return ""
    before = f"<code>{e(f.current)}</code> → " if f.current is not None else ""
    return f"{before}<code>{e(f.expected)}</code>"


def repository_detail(
    row: RepositoryRow, findings: Sequence[FindingRow], report: Report, *, compact: bool = False
) -> str:
    """Everything the report knows of one repository: why it is in the state it is in.

    ``compact`` (the dashboard file, with up to thousands of them) counts the info
    findings by kind rather than listing them: the JSON, the CSV and ``pipfleet serve``'s
    page of the repository list every one.
    """
    facts = (
        []
        if compact
        else [("State", f'<span class="badge st-{e(row.state)}">{e(row.state)}</span>')]
    )
    facts.append(("On GitHub", link(row.full_name, row.html_url)))
    if row.read_at is not None:
        read = f"{when(row.read_at)} ({age(report.generated_at - row.read_at)} ago)"
        facts.append(("Read", f"{e(read)}, run {row.read_run_id}"))
    if row.error:
        facts.append(
            (
                "Last scan",
                f'<span class="err">failed {e(when(row.last_scanned_at))}: {e(row.error)}</span>',
            )
        )
    if row.why:
        facts.append(("Why", e(row.why)))
    if row.topics:
        facts.append(("Topics", " ".join(f'<span class="badge">{e(t)}</span>' for t in row.topics)))
    pulls = "".join(
        f"<li>{link(f'#{pr.number}' if pr.number is not None else 'not opened yet', pr.html_url)} "
        f'<span class="badge pr-{e(pr.state)}">{e(pr.state)}</span> {e(pr.title)} '
        f'<span class="age">updated {e(when(pr.updated_at))}</span></li>'
        for pr in row.pull_requests
    )
    if pulls or not compact:
        facts.append(("Pull requests", f"<ul>{pulls}</ul>" if pulls else "none"))
    dl = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in facts)
    files = "".join(
        f"<tr><td>{e(p.path)}</td><td>{e(p.status)}</td>"
        f"<td>{'yes' if p.has_lock else 'no'}</td>"
        f"<td>{'' if p.compliant is None else 'yes' if p.compliant else 'no'}</td>"
        f"<td>{e(_parse_error(p.parse_error, p.error_line, p.error_column))}</td></tr>"
        for p in row.pipfile_states
    )
    files_table = (
        _files_list(row)
        if compact
        else '<table class="responsive rpipfiles"><thead><tr><th>Pipfile</th><th>Status</th>'
        f"<th>Lock</th><th>Compliant</th><th>Error</th></tr></thead><tbody>{files}</tbody></table>"
        if files
        else '<p class="none">No Pipfile read.</p>'
    )
    listed = [f for f in findings if f.needs_action or not compact]
    found = "".join(
        f'<tr><td><span class="badge sev-{e(f.severity)}">{e(f.severity)}</span></td>'
        f"<td>{e(_where(f))}</td><td>{e(f.kind)}</td>"
        f"<td>{e(f.package or '')}</td><td>{e(f.message)}</td><td>{_change(f)}</td></tr>"
        for f in listed
    )
    findings_table = (
        '<table class="responsive rfindings"><thead><tr><th>Severity</th><th>Where</th>'
        "<th>Kind</th><th>Package</th><th>Message</th><th>Proposed change</th></tr></thead>"
        f"<tbody>{found}</tbody></table>"
        if found
        else ""
    )
    info = Counter(f.kind for f in findings if compact and not f.needs_action)
    items = "".join(f"<li><b>{e(kind)}</b> {n:,}</li>" for kind, n in sorted(info.items()))
    info_list = f'<ul class="info">Info: {items}</ul>' if items else ""
    none = "" if findings else '<p class="none">No findings.</p>'
    return (
        f'<dl class="facts">{dl}</dl><h3>Pipfiles ({len(row.pipfile_states)})</h3>'
        f'<div class="scroll">{files_table}</div><h3>Findings ({len(findings)})</h3>'
        f'<div class="scroll">{findings_table}</div>{info_list}{none}'
    )


def _files_list(row: RepositoryRow) -> str:
    def state(p: PipfileRow) -> str:
        judged = "" if p.compliant is None else ", compliant" if p.compliant else ", not compliant"
        error = _parse_error(p.parse_error, p.error_line, p.error_column)
        lock = ", with Pipfile.lock" if p.has_lock else ""
        return f"{p.status}{lock}{judged}" + (f": {error}" if error else "")

    items = "".join(f"<li><b>{e(p.path)}</b> {e(state(p))}</li>" for p in row.pipfile_states)
    return f'<ul class="files">{items}</ul>' if items else '<p class="none">No Pipfile read.</p>'


def has_detail(row: RepositoryRow) -> bool:
    """Whether the dashboard file gives it a section: it needs action, or pipfleet leaves
    it alone for a reason other than skipping it. A compliant, skipped or Pipfile-less
    repository's row says all (``pipfleet serve`` has a page for every one): thousands of
    sections would take the file past what a browser opens quickly."""
    return row.state not in ("compliant", "no-pipfile", "skipped") or row.error is not None


def _parse_error(message: str | None, line: int | None, column: int | None) -> str:
    if message is None:
        return ""
    where = f"line {line}" + (f", column {column}" if column else "") + ": " if line else ""
    return where + message


def by_repository(findings: Iterable[FindingRow]) -> Mapping[str, list[FindingRow]]:
    grouped: dict[str, list[FindingRow]] = defaultdict(list)
    for f in findings:
        grouped[f.repository].append(f)
    return grouped


def _details(report: Report) -> str:
    findings = by_repository(report.findings)
    shown = [r for r in report.repositories if has_detail(r)]
    sections = "".join(
        f'<details id="{detail_anchor(r)}" class="repository">'
        f'<summary><b>{e(r.full_name)}</b> <span class="badge st-{e(r.state)}">'
        f"{e(r.state)}</span> {r.findings:,} needing action</summary>"
        f"{repository_detail(r, findings.get(r.full_name, ()), report, compact=True)}</details>"
        for r in shown
    )
    return (
        f'<section id="details-section"><h2>Repositories needing action ({len(shown):,})</h2>'
        '<p class="note">Why each is in its state: its Pipfiles, every finding with the '
        "change proposed, its pull requests, and why pipfleet leaves it alone, if it does. "
        "Compliant, skipped and Pipfile-less repositories are in the table above; "
        f"pipfleet serve has a page for every repository.</p>{sections}</section>"
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
        f"<li><b>{link(error.subject, error.html_url)}</b>: {e(error.message)}</li>"
        for error in report.errors
    ]
    body = f'<ul class="errors">{"".join(items)}</ul>' if items else '<p class="none">None.</p>'
    return f'<section id="errors"><h2>Scan errors</h2><div class="panel">{body}</div></section>'


def banner_html(report: Report) -> str:
    banner = report.banner()
    return (
        f'<div class="banner banner-{e(banner.level)}" role="status" '
        f'data-banner="{e(banner.level)}">{e(banner.text)}</div>'
    )


def _page(title: str, header: str, main: str, script: bool) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f'<header class="top">{header}</header><main>{main}</main>'
        f"<footer>pipfleet {e(__version__)} · {REPORT_SCHEMA} · the same figures: "
        "pipfleet report --format json</footer>"
        + (f"<script>{JS}</script>" if script else "")
        + "</body></html>\n"
    )


def _meta(report: Report) -> str:
    s = report.summary
    return (
        f"Run {figure('run-id', s.run_id, str(s.run_id), tag='b')} · {e(s.status)} · "
        f"started {e(when(s.started_at))}"
        + (f" · finished {e(when(s.finished_at))}" if s.finished_at else "")
        + f" · generated {e(when(report.generated_at))}"
    )


def to_html(report: Report, *, served: bool = False) -> str:
    """The dashboard as one HTML document; ``served``: repositories link to their own
    page (``pipfleet serve``) rather than to their section below."""
    urls = {r.full_name: r.html_url for r in report.repositories}
    header = f'<h1>pipfleet compliance</h1><p class="meta">{_meta(report)}</p>'
    main = (
        f"{banner_html(report)}{_cards(report)}{_risks(report.risks, urls)}"
        f"{_findings_by_kind(report)}{_repositories(report, served)}{_packages(report)}"
        f"{_errors(report)}{_details(report)}"
    )
    return _page(headline(report), header, main, script=True)


def repository_page(report: Report, row: RepositoryRow) -> str:
    """One repository's page (``pipfleet serve``'s /repositories/NAME)."""
    findings = by_repository(report.findings).get(row.full_name, [])
    header = (
        f'<p class="meta"><a href="/">pipfleet compliance</a> · {_meta(report)}</p>'
        f"<h1>{e(row.full_name)}</h1>"
    )
    main = f"{banner_html(report)}<section>{repository_detail(row, findings, report)}</section>"
    return _page(f"{row.full_name} · pipfleet", header, main, script=False)
