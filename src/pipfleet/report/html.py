"""The dashboard: one self-contained HTML page (inline CSS, inline SVG, a little inline JS).

Laid out by the Jinja2 templates in ``templates/``, with autoescape on: every string from
the database is HTML-escaped (quotes included) by the template engine, and every link
goes through ``web_url`` (http and https only). What to show is worked out here; the
templates only lay it out. Every figure carries ``data-figure`` and its raw number in
``data-value``, so a test can read the page back and compare it with the database.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from pipfleet import __version__
from pipfleet.engine.findings import FIXABLE_KINDS, FindingKind
from pipfleet.manifests import lock_name
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
    TrendPoint,
    age,
    when,
)
from pipfleet.report.svg import bar_length, trend_chart
from pipfleet.states import ManifestKind

# Beyond this many risks the page lists the most severe and says how many more there are.
RISK_ROWS = 1000


def _kind_severity(kind: str) -> str:
    try:
        return FindingKind(kind).severity.label
    except ValueError:
        return "info"


def _severity_rank(label: str) -> int:
    """A severity's sort key in its cell's ``data-value``: 0 is no severity at all."""
    return SEVERITY_RANK.get(label, -1) + 1


def _where(f: FindingRow) -> str:
    return f"{f.path}:{f.line}" if f.line else f.path


def _parse_error(p: PipfileRow) -> str:
    if p.parse_error is None:
        return ""
    where = f"line {p.error_line}" if p.error_line else ""
    if where and p.error_column:
        where += f", column {p.error_column}"
    return f"{where}: {p.parse_error}" if where else p.parse_error


def _pipfile_state(p: PipfileRow) -> str:
    """A manifest's state in words, for the dashboard file's short list."""
    judged = "" if p.compliant is None else ", compliant" if p.compliant else ", not compliant"
    error = _parse_error(p)
    lock = f", with {lock_name(ManifestKind(p.manifest_kind))}" if p.has_lock else ""
    return f"{p.status}{lock}{judged}" + (f": {error}" if error else "")


def _by_hand(finding: FindingRow) -> bool:
    """Whether the proposed change is one pipfleet leaves to a person: a kind it fixes,
    with a change it does not make (a requirements file's, where the file does not settle
    it). Other unfixable kinds' changes come with the fix of a finding beside them."""
    return finding.expected is not None and not finding.fixable and finding.kind in _FIXABLE


_FIXABLE = frozenset(kind.value for kind in FIXABLE_KINDS)


def _listed(findings: Sequence[FindingRow], compact: bool) -> list[FindingRow]:
    """The findings a repository's detail lists: in the file, those needing action."""
    return [f for f in findings if f.needs_action or not compact]


def _info_counts(findings: Sequence[FindingRow], compact: bool) -> list[tuple[str, int]]:
    """The info findings the file counts by kind instead of listing them."""
    if not compact:
        return []
    return sorted(Counter(f.kind for f in findings if not f.needs_action).items())


def _stale(row: RepositoryRow, report: Report) -> bool:
    """Whether the state shown is old: its last scan failed, or an earlier run read it."""
    data_run = report.summary.data_run
    return row.status == "failed" or (data_run is not None and row.read_run_id != data_run.id)


def detail_anchor(row: RepositoryRow) -> str:
    return f"r-{row.repository_id}"


def has_detail(row: RepositoryRow) -> bool:
    """Whether the dashboard file gives it a section: it needs action, or pipfleet leaves
    it alone for a reason other than skipping it. A compliant, skipped or Pipfile-less
    repository's row says all (``pipfleet serve`` has a page for every one): thousands of
    sections would take the file past what a browser opens quickly."""
    return row.state not in ("compliant", "no-pipfile", "skipped") or row.error is not None


def by_repository(findings: Iterable[FindingRow]) -> Mapping[str, list[FindingRow]]:
    grouped: dict[str, list[FindingRow]] = defaultdict(list)
    for f in findings:
        grouped[f.repository].append(f)
    return grouped


# The chart is SVG built in Python from numbers and dates, never from database strings.
def _trend_chart(points: Sequence[TrendPoint]) -> Markup:
    return Markup(trend_chart(points))


@cache
def _environment() -> Environment:
    """Built on first use: ``pipfleet report`` in other formats never loads a template."""
    env = Environment(
        loader=PackageLoader("pipfleet.report"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        age=age,
        bar_length=bar_length,
        by_hand=_by_hand,
        detail_anchor=detail_anchor,
        has_detail=has_detail,
        info_counts=_info_counts,
        kind_severity=_kind_severity,
        listed=_listed,
        parse_error=_parse_error,
        percent=percent,
        pipfile_state=_pipfile_state,
        repr=repr,
        severity_rank=_severity_rank,
        stale=_stale,
        thousands="{:,}".format,
        web_url=web_url,
        when=when,
        where=_where,
    )
    env.globals.update(
        trend_chart=_trend_chart,
        # Our own files, inlined as they are: the CSP allows them by their hash.
        css=Markup(CSS),
        js=Markup(JS),
        csp=CONTENT_SECURITY_POLICY,
        version=__version__,
        schema=REPORT_SCHEMA,
    )
    return env


def _render(template: str, **context: object) -> str:
    return _environment().get_template(template).render(context)


def to_html(report: Report, *, served: bool = False, base_path: str = "") -> str:
    """The dashboard as one HTML document; ``served``: repositories link to their own
    page (``pipfleet serve``, under ``base_path``) rather than to their section below."""
    prs = report.summary.pull_requests
    chart = list(report.chart.items())
    return _render(
        "dashboard.html.j2",
        title=headline(report),
        report=report,
        served=served,
        base_path=base_path,
        script=True,
        errors=report.errors,
        other_pull_requests=[
            (state, n)
            for state, n in prs.items()
            if n and state not in ("open", "merged", "dismissed")
        ],
        risks=report.risks,
        risk_rows=RISK_ROWS,
        urls={r.full_name: r.html_url for r in report.repositories},
        chart=chart,
        largest=max((n for _, n in chart), default=0),
        states=STATES,
        kinds=sorted({k for r in report.repositories for k in r.kinds}, key=KINDS.index),
        manifest_kinds=[kind for kind, n in report.summary.manifests_by_kind.items() if n],
        topics=sorted({t for r in report.repositories for t in r.topics}),
        details=[r for r in report.repositories if has_detail(r)],
        findings=by_repository(report.findings),
    )


def repository_page(report: Report, row: RepositoryRow, *, base_path: str = "") -> str:
    """One repository's page (``pipfleet serve``'s BASE_PATH/repositories/NAME)."""
    return _render(
        "repository.html.j2",
        report=report,
        row=row,
        base_path=base_path,
        findings=by_repository(report.findings).get(row.full_name, []),
        script=False,
    )


def error_page(message: str) -> str:
    """``pipfleet serve``'s page when it has none to show: the one-line error."""
    return _render("error.html.j2", message=message)
