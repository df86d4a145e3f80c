"""Markdown read as GitHub reads it (CommonMark with GFM tables), for tests of what
pipfleet posts: what a reader sees, not how the text happens to be written."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Raw HTML stays on, as on GitHub, so an injected tag would show up as a token.
GFM = MarkdownIt("commonmark").enable("table")


def inlines(markdown: str) -> list[Token]:
    """Every inline token of the document, in order."""
    return [child for token in GFM.parse(markdown) for child in token.children or []]


def code_spans(markdown: str) -> list[str]:
    """The text of each code span, as shown."""
    return [token.content for token in inlines(markdown) if token.type == "code_inline"]


def prose(markdown: str) -> str:
    """The text shown outside code spans and code blocks."""
    return " ".join(token.content for token in inlines(markdown) if token.type == "text")


def live(markdown: str) -> list[Token]:
    """Inline tokens that do something: links, images, raw HTML."""
    kinds = ("link_open", "image", "html_inline")
    return [token for token in inlines(markdown) if token.type in kinds]


def table_rows(markdown: str) -> list[list[list[Token]]]:
    """The body rows of the document's tables: each cell's inline tokens."""
    rows: list[list[list[Token]]] = []
    in_body = False
    for token in GFM.parse(markdown):
        if token.type in ("tbody_open", "tbody_close"):
            in_body = token.type == "tbody_open"
        elif in_body and token.type == "tr_open":
            rows.append([])
        elif in_body and token.type == "inline":
            rows[-1].append(list(token.children or []))
    return rows
