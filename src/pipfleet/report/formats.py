"""The report as a terminal table (Rich), CSV (one row per finding) or Markdown.

Pure: a ``Report`` in, a string out. Every string from the database is shown as data,
never as markup or code: Rich ``Text`` with controls escaped for the table, escaped
cells for Markdown, cells a spreadsheet cannot evaluate for CSV.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from pipfleet.report.model import (
    SEVERITY_RANK,
    STATES,
    FindingRow,
    Report,
    RepositoryRow,
    age,
    when,
)
from pipfleet.safetext import printable, without_controls

CSV_COLUMNS = (
    "run_id",
    "repository",
    "path",
    "line",
    "category",
    "package",
    "kind",
    "severity",
    "fixable",
    "current",
    "expected",
    "index_name",
    "message",
    "manifest_kind",  # last: the columns before it are as they were before the kinds
)
# How many rows the short formats show before pointing at the complete ones.
MARKDOWN_TOP = 10
TABLE_TOP = 25
# Rich lays out every row before printing: thousands would take seconds and fill scrollback.
TABLE_REPOSITORIES = 100
NARROW = 100  # terminal columns below which the table leaves out what it can spare
_SPARK = "▁▂▃▄▅▆▇█"
_SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
_STATE_STYLE = {
    "compliant": "green",
    "non-compliant": "red",
    "failed": "bold red",
    "declined": "yellow",
    "opted-out": "yellow",
    "skipped": "dim",
    "no-pipfile": "dim",
}
_STATE_ORDER = {state: i for i, state in enumerate(STATES)}
_BANNER_STYLE = {"ok": "green", "warning": "bold yellow", "error": "bold white on red"}
# A spreadsheet evaluates a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Enough to keep a cell one cell and its text plain; "(" only matters after "]".
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.1%}"


def web_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL, else None: a link never runs a script."""
    if url is None:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def attention_order(rows: Sequence[RepositoryRow]) -> list[RepositoryRow]:
    """Non-compliant (worst severity, then most findings, first), failed, then the rest."""
    return sorted(
        rows,
        key=lambda r: (
            _STATE_ORDER.get(r.state, len(STATES)),
            -SEVERITY_RANK.get(r.worst_severity or "", -1),
            -r.findings,
            r.full_name,
        ),
    )


def pr_label(row: RepositoryRow) -> str:
    pr = row.pull_request
    if pr is None:
        return ""
    return f"#{pr.number} {pr.state}" if pr.number is not None else pr.state


def sparkline(shares: Sequence[float | None]) -> str:
    return "".join(
        " " if s is None else _SPARK[min(int(s * len(_SPARK)), len(_SPARK) - 1)] for s in shares
    )


def headline(report: Report) -> str:
    s = report.summary
    query = report.query
    filters = (("repo", query.repo), ("kind", query.kind), ("manifest", query.manifest))
    narrowed = [f"{name} {value}" for name, value in filters if value is not None]
    where = f" ({', '.join(narrowed)})" if narrowed else ""
    return f"pipfleet compliance, run {s.run_id} ({s.status}, {when(s.started_at)}){where}"


def state_counts(report: Report) -> str:
    """The repositories by state, the states that have any."""
    by_state = report.summary.repositories_by_state
    return ", ".join(f"{n:,} {state}" for state, n in by_state.items() if n)


def manifest_counts(report: Report) -> str:
    """The manifests read, with the kinds there are, as '12 (9 pipfile, 3 uv)'."""
    s = report.summary
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in s.manifests_by_kind.items() if n)
    return f"{s.pipfiles:,} ({kinds})" if kinds else f"{s.pipfiles:,}"


def risk_counts(report: Report) -> str:
    s = report.summary
    return (
        f"{s.confusion_risks:,} can install the public package; "
        f"{s.confusion_risks_pinned:,} pinned, the name taken on PyPI"
    )


def read_age(row: RepositoryRow, report: Report, *, with_date: bool = True) -> str:
    if row.read_at is None:
        return "never"
    ago = f"{age(report.generated_at - row.read_at)} ago"
    return f"{when(row.read_at)} ({ago})" if with_date else ago


def pr_counts(report: Report) -> str:
    prs = report.summary.pull_requests
    return f"{prs['open']:,} open, {prs['merged']:,} merged, {prs['dismissed']:,} dismissed"


# --- CSV -------------------------------------------------------------------------------


def csv_cell(value: str | None) -> str:
    """A cell holding text from a repository: no control characters, never a formula.

    A leading quote is what OWASP recommends: spreadsheets show the text as typed. Line
    breaks stay, as LF: a quoted cell may hold them (a source block spans lines).
    """
    text = without_controls(value or "", multiline=True)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(report: Report) -> str:
    """One row per finding (after the filters), most severe first; RFC 4180 line ends.

    Numbers are pipfleet's own and stay numbers; every text cell goes through ``csv_cell``.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    # With several orgs a last column says each finding's org; one org's CSV is unchanged.
    org_of = {r.full_name: r.org for r in report.repositories} if report.several_orgs else None
    writer.writerow(CSV_COLUMNS if org_of is None else (*CSV_COLUMNS, "org"))
    run_id = report.summary.run_id
    for f in report.findings:
        org = () if org_of is None else (csv_cell(org_of.get(f.repository)),)
        writer.writerow(
            (
                run_id,
                csv_cell(f.repository),
                csv_cell(f.path),
                "" if f.line is None else f.line,
                csv_cell(f.category),
                csv_cell(f.package),
                csv_cell(f.kind),
                csv_cell(f.severity),
                "true" if f.fixable else "false",
                csv_cell(f.current),
                csv_cell(f.expected),
                csv_cell(f.index_name),
                csv_cell(f.message),
                csv_cell(f.manifest_kind),
                *org,
            )
        )
    return out.getvalue()


# --- Markdown --------------------------------------------------------------------------


def md(value: object) -> str:
    """A table cell's text: Markdown and HTML specials escaped, one line."""
    text = printable(" ".join(str(value).split()))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def md_link(text: str, url: str | None) -> str:
    safe = web_url(url)
    if safe is None:
        return md(text)
    return f"[{md(text)}](<{safe.replace('<', '%3C').replace('>', '%3E').replace(' ', '%20')}>)"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _where(f: FindingRow) -> str:
    return f"{f.path}:{f.line}" if f.line else f.path


def to_markdown(report: Report) -> str:
    """A short summary for a GitHub issue or a chat post: figures, top risks, worst repositories."""
    s = report.summary
    banner = report.banner()
    mark = {"ok": "", "warning": "⚠️ ", "error": "❌ "}[banner.level]
    lines = [f"### {md(headline(report))}", "", f"> {mark}{md(banner.text)}", ""]
    share = percent(s.compliant_share)
    lines += _md_table(
        ("Metric", "Value"),
        [
            (
                "Compliant repositories",
                f"**{share}** ({s.compliant_repositories:,} of "
                f"{s.repositories_with_pipfiles:,} with manifests)",
            ),
            ("Repositories scanned", f"{s.repositories:,} ({md(state_counts(report))})"),
            ("Manifests", md(manifest_counts(report))),
            ("Findings needing action", f"{s.findings_needing_action:,}"),
            ("Confusion risks", md(risk_counts(report))),
            ("Foreign files in locks", f"{s.foreign_hashes:,}"),
            ("Pull requests", pr_counts(report)),
            ("Scan errors", f"{s.scan_errors:,}"),
        ],
        "lr",
    )
    if len(report.trend) > 1:
        trend = " → ".join(percent(p.compliant_share) for p in report.trend)
        lines += ["", f"Trend over the last {len(report.trend)} runs: {trend}"]
    if report.risks:
        lines += ["", f"#### Dependency-confusion risks ({len(report.risks):,})", ""]
        lines += _md_table(
            ("Severity", "Repository", "Where", "Manifest", "Package"),
            [
                (
                    md(f.severity),
                    md(f.repository),
                    md(_where(f)),
                    md(f.manifest_kind),
                    md(f.package or ""),
                )
                for f in report.risks[:MARKDOWN_TOP]
            ],
            "lllll",
        )
    worst = [r for r in attention_order(report.repositories) if r.findings or r.error]
    if worst:
        lines += ["", "#### Repositories needing action", ""]
        org = ("Org",) if report.several_orgs else ()
        lines += _md_table(
            (*org, "Repository", "State", "Findings", "Pull request", "Read"),
            [
                (
                    *((md(r.org),) if org else ()),
                    md_link(r.full_name, r.html_url),
                    md(r.state),
                    f"{r.findings:,}",
                    md_link(pr_label(r), r.pull_request.html_url) if r.pull_request else "",
                    md(read_age(r, report)),
                )
                for r in worst[:MARKDOWN_TOP]
            ],
            "l" * len(org) + "llrll",
        )
    if report.chart:
        lines += ["", "#### Findings by kind", ""]
        rows = [(md(k), f"{n:,}") for k, n in report.chart.items()]
        lines += _md_table(("Kind", "Count"), rows, "lr")
    more = len(worst) > MARKDOWN_TOP or len(report.risks) > MARKDOWN_TOP
    if report.errors:
        lines += ["", "#### Scan errors", ""]
        lines += [f"- **{md(x.subject)}**: {md(x.message)}" for x in report.errors[:MARKDOWN_TOP]]
    if more:
        lines += ["", "_Top rows only: `pipfleet report --format html` has them all._"]
    return "\n".join(lines) + "\n"


# --- Terminal table --------------------------------------------------------------------


def _plain(text: str, style: str = "") -> Text:
    """Rich keeps ESC and bidi controls in ``Text``: they are escaped to reach no terminal."""
    return Text(printable(text), style=style)


def _severity(label: str | None) -> Text:
    return _plain(label or "", style=_SEVERITY_STYLE.get(label or "", ""))


def _summary_table(report: Report) -> Table:
    s = report.summary
    table = Table(title=_plain(headline(report)), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    trend = sparkline([p.compliant_share for p in report.trend])
    rows = [
        (
            "Compliant",
            f"{percent(s.compliant_share)} ({s.compliant_repositories:,} of "
            f"{s.repositories_with_pipfiles:,} repositories with manifests)",
        ),
        (
            f"Trend ({len(report.trend)} runs)",
            f"{trend}  " + " ".join(percent(p.compliant_share) for p in report.trend[-4:]),
        ),
        ("Repositories", f"{s.repositories:,} ({state_counts(report)})"),
        ("Manifests", manifest_counts(report)),
        ("Findings", f"{s.findings:,} ({s.findings_needing_action:,} needing action)"),
        ("Confusion risks", risk_counts(report)),
        ("Foreign files in locks", f"{s.foreign_hashes:,}"),
        ("Pull requests", pr_counts(report)),
        ("Scan errors", f"{s.scan_errors:,}"),
    ]
    for name, value in rows:
        table.add_row(name, Text(value))
    return table


def _risk_table(risks: Sequence[FindingRow]) -> Table:
    table = Table(title=f"Dependency-confusion risks ({len(risks):,})", title_justify="left")
    table.add_column("Severity")
    # The repository above its file: one column fewer, so the message keeps some width.
    table.add_column("Where", overflow="fold")
    table.add_column("Package", overflow="fold")
    table.add_column("Message", ratio=1)
    for f in risks[:TABLE_TOP]:
        table.add_row(
            _severity(f.severity),
            Text("\n").join((_plain(f.repository), _plain(_where(f)))),
            _plain(f.package or ""),
            _plain(f.message),
        )
    return table


def _repository_table(
    report: Report, rows: Sequence[RepositoryRow], total: int, narrow: bool
) -> Table:
    shown = f", the {len(rows):,} needing most attention" if len(rows) < total else ""
    table = Table(title=f"Repositories ({total:,}{shown})", title_justify="left")
    # Six columns do not fit in 80: there the read's age goes under the name and the pull
    # request under the state.
    columns = ["Repository", "State", "Findings", "Worst"]
    if not narrow:
        columns += ["Pull request", "Read"]
    # In 80 columns the full name (org/name) says the org.
    org = report.several_orgs and not narrow
    if org:
        columns.insert(0, "Org")
    for column in columns:
        # A name or state cut short with "…" says nothing: cells fold onto more lines.
        table.add_column(
            column, justify="right" if column == "Findings" else "left", overflow="fold"
        )
    for r in rows:
        state = _plain(r.state, style=_STATE_STYLE.get(r.state, ""))
        if r.failure or r.why:
            state.append(printable(f": {r.failure or r.why}"))
        name = _plain(r.full_name)
        cells: list[RenderableType] = [name, state, str(r.findings), _severity(r.worst_severity)]
        if org:
            cells.insert(0, _plain(r.org))
        if narrow:
            name.append(f"\nread {read_age(r, report, with_date=False)}", style="dim")
            if r.pull_request is not None:
                state.append("\n" + printable(f"pull request {pr_label(r)}"))
        else:
            cells += [_plain(pr_label(r)), read_age(r, report)]
        table.add_row(*cells)
    return table


def _package_table(report: Report) -> Table:
    table = Table(title=f"Private packages ({len(report.packages):,})", title_justify="left")
    for column in ("Package", "On public PyPI", "Repositories", "Pinned", "Unpinned", "Versions"):
        right = column in ("Pinned", "Unpinned")
        table.add_column(column, justify="right" if right else "left", overflow="fold")
    for p in report.packages:
        table.add_row(
            _plain(p.name),
            _plain(p.public_status, style="bold red" if p.public_status == "taken" else ""),
            str(len(p.repositories)),
            str(p.pinned_entries),
            str(p.unpinned_entries),
            _plain("; ".join(p.versions)),
        )
    return table


def _kind_table(report: Report) -> Table:
    table = Table(
        title="Findings by kind", caption="name-claimable counts packages", title_justify="left"
    )
    table.add_column("Kind")
    table.add_column("Count", justify="right")
    for kind, count in report.chart.items():
        table.add_row(_plain(kind), f"{count:,}")
    return table


def to_table(report: Report, *, width: int = 120, color: bool = False) -> str:
    """Rich tables for a terminal: summary, risks, repositories (worst first), packages."""
    banner = report.banner()
    parts: list[RenderableType] = [
        _plain(banner.text, style=_BANNER_STYLE[banner.level]),
        _summary_table(report),
    ]
    if report.risks:
        parts.append(_risk_table(report.risks))
    repositories = attention_order(report.repositories)
    narrow = width < NARROW
    parts += [
        _kind_table(report),
        _repository_table(report, repositories[:TABLE_REPOSITORIES], len(repositories), narrow),
        _package_table(report),
    ]
    hidden = {
        "risks": len(report.risks) - TABLE_TOP,
        "repositories": len(repositories) - TABLE_REPOSITORIES,
    }
    for what, count in hidden.items():
        if count > 0:
            parts.append(
                Text(
                    f"{count:,} more {what} not shown: --repo narrows, "
                    "--format html, json or csv shows them all"
                )
            )
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
    )
    console.print(Group(*parts))
    return out.getvalue()
