"""What ``pipfleet report`` calls: read the database, render one format, write a file."""

from __future__ import annotations

from pathlib import Path
from typing import assert_never

from pipfleet.errors import UsageError
from pipfleet.files import write_atomically
from pipfleet.report import ReportFormat
from pipfleet.report.data import OPT_OUT_TOPIC, load_report, open_read_only
from pipfleet.report.document import to_json
from pipfleet.report.formats import to_csv, to_markdown, to_table
from pipfleet.report.html import to_html
from pipfleet.report.model import Report, ReportQuery

# ReportFormat lives in pipfleet.report (light enough for the CLI to import at start-up);
# it is exported here too, beside the functions that take it.
__all__ = ["ReportFormat", "make_report", "render", "write_report"]


def render(report: Report, fmt: ReportFormat, *, width: int = 120, color: bool = False) -> str:
    """``report`` as text in ``fmt``; ``width`` and ``color`` concern the table only."""
    match fmt:
        case ReportFormat.TABLE:
            return to_table(report, width=width, color=color)
        case ReportFormat.JSON:
            return to_json(report)
        case ReportFormat.CSV:
            return to_csv(report)
        case ReportFormat.MARKDOWN:
            return to_markdown(report)
        case ReportFormat.HTML:
            return to_html(report)
        case _:
            assert_never(fmt)


def make_report(
    database_url: str,
    fmt: ReportFormat,
    query: ReportQuery | None = None,
    *,
    width: int = 120,
    color: bool = False,
    opt_out_topic: str = OPT_OUT_TOPIC,
) -> str:
    """The report on the database at ``database_url``, opened read-only."""
    engine = open_read_only(database_url)
    try:
        report = load_report(engine, query, opt_out_topic=opt_out_topic)
    finally:
        engine.dispose()
    return render(report, fmt, width=width, color=color)


def write_report(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all; a failure is one line for the user."""
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
