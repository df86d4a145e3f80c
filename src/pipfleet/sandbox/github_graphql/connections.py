"""Relay connections over lists, paged by first/after/last/before with GitHub's cursors."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)

from pipfleet.sandbox.github_graphql.errors import Fields, GitHubGraphQLError

T = TypeVar("T")

MAX_PAGE = 100
_CURSOR = re.compile(r"cursor:v2:(\d+)")


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index + 1}".encode()).decode()


def _cursor_position(cursor: str) -> int:
    """The 1-based position a cursor names."""
    try:
        match = _CURSOR.fullmatch(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError):
        match = None
    if match is None:
        raise GitHubGraphQLError(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        )
    return int(match.group(1))


def _connection(
    items: Sequence[T], info: GraphQLResolveInfo[Any], args: Fields, node: Callable[[T], Fields]
) -> Fields:
    """A Relay connection over ``items``, paged by first/after/last/before as on GitHub."""
    name = info.field_name
    first, last = args.get("first"), args.get("last")
    # Counting needs no page; listing does.
    if first is None and last is None and {"nodes", "edges"} & _selected(info):
        raise GitHubGraphQLError(
            "MISSING_PAGINATION_BOUNDARIES",
            f"You must provide a `first` or `last` value to properly paginate the `{name}`"
            " connection.",
        )
    for argument, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise GitHubGraphQLError(
                "EXCESSIVE_PAGINATION",
                f"Requesting {value} records on the `{name}` connection exceeds the"
                f" `{argument}` limit of {MAX_PAGE} records.",
            )
    after, before = args.get("after"), args.get("before")
    start = min(_cursor_position(after), len(items)) if after is not None else 0
    end = min(_cursor_position(before) - 1, len(items)) if before is not None else len(items)
    end = max(end, start)
    if first is not None:
        end = min(end, start + max(first, 0))
    if last is not None:
        start = max(start, end - max(last, 0))
    window = range(start, end)
    return {
        "edges": lambda _info: [{"cursor": _cursor(i), "node": node(items[i])} for i in window],
        "nodes": lambda _info: [node(items[i]) for i in window],
        "pageInfo": {
            "endCursor": _cursor(end - 1) if window else None,
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if window else None,
        },
        "totalCount": len(items),
    }


def _selected(info: GraphQLResolveInfo[Any]) -> set[str]:
    """The names of the fields selected under the field being resolved."""
    names: set[str] = set()

    def visit(selection_set: SelectionSetNode | None) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                visit(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                visit(info.fragments[selection.name.value].selection_set)

    for field_node in info.field_nodes:
        visit(field_node.selection_set)
    return names
