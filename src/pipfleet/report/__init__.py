"""Reports over the compliance database: rows -> table | json | csv | markdown | html.

``data`` reads one run into the frozen dataclasses of ``model``; the format modules turn
them into text and never touch the database; ``output`` is what ``pipfleet report``
calls and ``serve`` puts the same dashboard and JSON behind HTTP. Only ``ReportFormat``
lives here, so that the CLI can name the formats without importing the rest.
"""

from enum import StrEnum


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"
    HTML = "html"
