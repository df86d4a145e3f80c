"""Rewrite a uv pyproject.toml so its private packages resolve from CodeArtifact, and
nothing else: only the lines a fix needs change, as ``rewrite`` does for a Pipfile.

What is fixed (the findings ``uvproject.audit`` gives an ``expected``):

- missing-index: the package gets ``name = { index = "<private>" }`` in
  ``[tool.uv.sources]`` (the table is created before the first ``[[tool.uv.index]]``,
  or at the end, when the file has none);
- wrong-index and undefined-index of a private package: each index its source names
  becomes the private one (other keys, markers and list elements stay);
- missing-source: a ``[[tool.uv.index]]`` for CodeArtifact with ``explicit = true``
  and its URL without credentials (uv reads UV_INDEX_<NAME>_USERNAME/PASSWORD);
- private-transitive (``uvlock.lock_findings`` or, without a lock,
  ``uvlock.listing_transitive_findings``): the package is added to [project]
  dependencies (also when only a dependency group needs it) and pinned like a
  missing index, since uv pins only the project's own dependencies to an index.

What is reported and left to a person:

- index-not-explicit: ``explicit = true`` stops uv from asking CodeArtifact for the
  packages nobody pinned, and [tool.uv.sources] pins only the project's own
  dependencies, so a private package's private dependency would move to PyPI: the
  very confusion this tool prevents (tests/test_uv_e2e.py shows it with real uv).
  Where the listing does not name every private dependency, nobody can tell.
- unsafe-index-strategy: removing it changes where every package resolves (and can
  leave the project unsatisfiable), which is a decision for the project.

Every result is re-parsed and compared with the original's meaning plus the fix, and
audited again: the fixed findings must be gone. A second rewrite changes nothing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from packaging.utils import canonicalize_name

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.rewrite import Style, added_key
from pipfleet.engine.tomlspans import Header, Statement, inline_table, scan, value_end
from pipfleet.engine.uvproject import (
    SOURCES_CATEGORY,
    array_items,
    audit,
    index_block,
    parse,
    without_credentials,
)
from pipfleet.errors import FixError, PipfileError, RewriteError

_SOURCES = ("tool", "uv", "sources")
_INDEX = ("tool", "uv", "index")
# The kinds of package findings this module fixes (with missing-source for the index).
_PIN_KINDS = frozenset(
    {
        FindingKind.MISSING_INDEX,
        FindingKind.WRONG_INDEX,
        FindingKind.UNDEFINED_INDEX,
        FindingKind.PRIVATE_TRANSITIVE,
    }
)
_DEPENDENCIES = ("project", "dependencies")
_SEPARATOR = re.compile(r",[ \t]*")
_BLANKS = re.compile(r"[ \t]*")
_EQUALS = re.compile(r"[ \t]*=[ \t]*")
# uv's documentation writes sources as { index = "name" }: the style when the file has none.
_UV_STYLE = Style(pad_open=" ", pad_close=" ")


@dataclass(frozen=True, order=True)
class _Edit:
    start: int
    end: int
    text: str


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _decoded(raw: str) -> Any:
    return tomllib.loads(f"v = {raw}")["v"]


def _style(text: str, items: tuple[Header | Statement, ...]) -> Style:
    """The file's quotes and its source entries' brace padding (else uv's)."""
    quotes = [
        text[i.value.start]
        for i in items
        if isinstance(i, Statement) and text[i.value.start] in "\"'"
    ]
    statements = _source_statements(items)
    style = _UV_STYLE
    for statement in statements:
        if text[statement.value.start] != "{":
            continue
        table = inline_table(text, statement.value.start)
        if not table.pairs:
            continue
        first = table.pairs[0]
        pad_open = text[table.open_brace + 1 : first.key_span.start]
        pad_close = text[table.pairs[-1].value.end : table.close_brace]
        if _BLANKS.fullmatch(pad_open) and _BLANKS.fullmatch(pad_close):
            style = replace(style, pad_open=pad_open, pad_close=pad_close)
        equals = text[first.key_span.end : first.value.start]
        if _EQUALS.fullmatch(equals):
            style = replace(style, equals=equals)
        quotes += [text[pair.value.start] for pair in table.pairs]
        break
    if quotes.count("'") > quotes.count('"'):
        style = replace(style, quote="'")
    return style


def _source_statements(items: tuple[Header | Statement, ...]) -> list[Statement]:
    return [i for i in items if isinstance(i, Statement) and (i.table + i.key)[:3] == _SOURCES]


def _index_edits(text: str, statement: Statement, target: str, style: Style) -> list[_Edit]:
    """Point every ``index`` the statement writes (directly, in its inline table or in its
    array of inline tables) at ``target``; a statement that writes no index gives none."""
    path = statement.table + statement.key
    spans = []
    if path[-1] == "index" and len(path) == 5:
        spans.append(statement.value)
    elif len(path) == 4:
        start = statement.value.start
        tables = array_items(text, start) if text[start] == "[" else [start]
        for at in tables:
            if text[at] == "{":
                spans += [p.value for p in inline_table(text, at).pairs if p.key == ("index",)]
    edits = []
    for span in spans:
        raw = text[span.start : span.end]
        if _decoded(raw) != target:
            # The value replaced keeps its own quote.
            own = replace(style, quote=raw[0] if raw[0] in "\"'" else style.quote)
            edits.append(_Edit(span.start, span.end, own.quoted(target)))
    return edits


def _above_comments(text: str, line_start: int) -> int:
    """The start of the comment lines right above the line at ``line_start``, if any:
    they describe that line, so what is inserted goes above them."""
    while line_start > 0:
        previous = text.rfind("\n", 0, line_start - 1) + 1
        if not text[previous:line_start].lstrip().startswith("#"):
            break
        line_start = previous
    return line_start


def _written_inline(items: tuple[Header | Statement, ...], path: tuple[str, ...]) -> bool:
    """Whether ``path`` is written as a value of a parent table (``sources = {...}``,
    ``index = [...]``, dotted keys), where no [table] header can add to it."""
    return any(
        isinstance(i, Statement)
        and len(i.table) < len(path)
        and (i.table + i.key)[: len(path)] == path
        for i in items
    )


def _source_lines(names: Sequence[str], target: str, style: Style) -> list[str]:
    pin = style.inline([("index", style.quoted(target))])
    return [f"{added_key(name, style)} = {pin}" for name in sorted(names)]


def _entries_edits(
    text: str,
    items: tuple[Header | Statement, ...],
    names: Sequence[str],
    target: str,
    style: Style,
) -> list[_Edit]:
    """Add each of ``names`` to the existing [tool.uv.sources] table: where it sorts when
    the keys are in order, else after the last one."""
    newline = _newline(text)
    header = next(i for i in items if isinstance(i, Header) and i.path == _SOURCES)
    rows = [i for i in items if isinstance(i, Statement) and i.table == _SOURCES]
    keys = [canonicalize_name(row.key[0]) for row in rows]
    ordered = keys == sorted(keys)
    inserts: dict[int, list[str]] = {}
    for name, line in zip(sorted(names), _source_lines(names, target, style), strict=True):
        after = next((r for r, k in zip(rows, keys, strict=True) if k > name), None)
        if ordered and after is not None:
            inserts.setdefault(_above_comments(text, after.line_start), []).append(line + newline)
        else:
            at = rows[-1].line_end if rows else header.line_end
            inserts.setdefault(at, []).append(newline + line)
    return [_Edit(at, at, "".join(parts)) for at, parts in inserts.items()]


def _dependency_edits(
    text: str, items: tuple[Header | Statement, ...], names: Sequence[str], style: Style, path: str
) -> list[_Edit]:
    """Append ``names`` to the [project] dependencies array, written as its items are:
    one a line when its ``]`` has a line of its own, else on the same line."""
    statement = next(
        (i for i in items if isinstance(i, Statement) and i.table + i.key == _DEPENDENCIES), None
    )
    if statement is None or text[statement.value.start] != "[":
        raise RewriteError(f"{path}: no [project] dependencies array to add {', '.join(names)} to")
    starts = array_items(text, statement.value.start)
    close = statement.value.end - 1
    own = replace(style, quote=text[starts[0]]) if starts else style
    quoted = [own.quoted(name) for name in sorted(names)]
    if not starts:
        at = statement.value.start + 1
        return [_Edit(at, at, ", ".join(quoted))]
    last_end = value_end(text, starts[-1])
    after_last = text[last_end:close]
    if "\n" not in after_last:
        separator = ", "
        if len(starts) > 1 and (match := _SEPARATOR.match(text, value_end(text, starts[0]))):
            separator = match.group()
        return [_Edit(last_end, last_end, "".join(separator + q for q in quoted))]
    newline = _newline(text)
    line_start = text.rfind("\n", 0, starts[-1]) + 1
    indent = text[line_start : starts[-1]]
    indent = indent if _BLANKS.fullmatch(indent) else "    "
    comma = after_last.lstrip(" \t").startswith(",")
    edits = [] if comma else [_Edit(last_end, last_end, ",")]
    at = text.rfind("\n", 0, close) + 1
    lines = [f"{indent}{q}{',' if comma else ''}" for q in quoted]
    if not comma:
        lines = [line + "," for line in lines[:-1]] + lines[-1:]
    edits.append(_Edit(at, at, "".join(line + newline for line in lines)))
    return edits


def _last_index_end(items: tuple[Header | Statement, ...]) -> int | None:
    """The end of the last line of the last [[tool.uv.index]] table, if any."""
    headers = [i for i in items if isinstance(i, Header) and i.path == _INDEX]
    if not headers:
        return None
    last = len(headers) - 1
    rows = [
        i for i in items if isinstance(i, Statement) and i.table == _INDEX and i.array_index == last
    ]
    return max([headers[-1].line_end, *(row.line_end for row in rows)])


def _appended(text: str, blocks: list[str]) -> _Edit:
    """``blocks`` at the end of the text, a blank line before each; a text without a
    final newline keeps ending without one."""
    newline = _newline(text)
    body = (newline * 2).join(blocks)
    if not text.strip():
        return _Edit(len(text), len(text), body + newline)
    if text.endswith("\n"):
        return _Edit(len(text), len(text), newline + body + newline)
    return _Edit(len(text), len(text), newline * 2 + body)


def rewrite(text: str, report: FileReport, listing: Listing, options: AuditOptions) -> str:
    """The pyproject.toml text with every fixable finding of ``report`` fixed.

    ``report`` is ``uvproject.audit`` of ``text`` with ``listing`` and ``options``.
    Raises FixError when private packages need a CodeArtifact index and no URL is known
    for it, RewriteError when the fix cannot be written or would change more than it fixes.
    """
    fixes = [
        f for f in report.fixable if f.kind in _PIN_KINDS or f.kind is FindingKind.MISSING_SOURCE
    ]
    if not fixes:
        return text
    target = next(f.source for f in fixes if f.source is not None)
    missing_source = next((f for f in fixes if f.kind is FindingKind.MISSING_SOURCE), None)
    if (
        any(f.kind is FindingKind.MISSING_SOURCE for f in report.findings)
        and missing_source is None
    ):
        raise FixError(
            f"{report.path}: private packages need a CodeArtifact [[tool.uv.index]]; "
            "give its URL with --source-url"
        )
    items = scan(text)
    newline = _newline(text)
    statements = _source_statements(items)
    style = _style(text, items)
    transitive = sorted(
        {
            canonicalize_name(f.package or "")
            for f in fixes
            if f.kind is FindingKind.PRIVATE_TRANSITIVE
        }
    )
    # A transitive package may have a source already (uv ignored it, as the package was
    # not the project's own): it is repinned rather than given a second one.
    sourced = set(parse(text, report.path).sources)
    added = sorted(
        {
            canonicalize_name(f.package or "")
            for f in fixes
            if f.kind is FindingKind.MISSING_INDEX and f.category != SOURCES_CATEGORY
        }.union(name for name in transitive if name not in sourced)
    )
    repinned = {
        canonicalize_name(f.package or "") for f in fixes if f.category == SOURCES_CATEGORY
    }.union(name for name in transitive if name in sourced)
    edits = [
        edit
        for statement in statements
        if len(statement.table + statement.key) > 3
        and canonicalize_name((statement.table + statement.key)[3]) in repinned
        for edit in _index_edits(text, statement, target, style)
    ]
    if transitive:
        edits += _dependency_edits(text, items, transitive, style, report.path)
    tail: list[str] = []
    has_sources = any(isinstance(i, Header) and i.path == _SOURCES for i in items)
    if added and has_sources:
        edits += _entries_edits(text, items, added, target, style)
    elif added:
        if _written_inline(items, _SOURCES):
            raise RewriteError(
                f"{report.path}: [tool.uv.sources] is written inline or with dotted keys; "
                "cannot add an entry to it"
            )
        block = newline.join(["[tool.uv.sources]", *_source_lines(added, target, style)])
        first_index = next((i for i in items if isinstance(i, Header) and i.path == _INDEX), None)
        if first_index is None:
            tail.append(block)
        else:
            at = _above_comments(text, first_index.line_start)
            edits.append(_Edit(at, at, block + newline + newline))
    added_index = None
    if missing_source is not None:
        assert options.source_url is not None  # the audit gives no expected without it
        if _written_inline(items, _INDEX):
            raise RewriteError(
                f"{report.path}: [tool.uv] index is written inline; cannot add an index to it"
            )
        added_index = {
            "name": target,
            "url": without_credentials(options.source_url),
            "explicit": True,
        }
        block = index_block(target, options.source_url, newline, style.quoted)
        index_end = _last_index_end(items)
        if index_end is None:
            tail.append(block)
        else:
            edits.append(_Edit(index_end, index_end, newline + newline + block))
    if tail:
        edits.append(_appended(text, tail))
    new_text = text
    for edit in sorted(set(edits), reverse=True):
        new_text = new_text[: edit.start] + edit.text + new_text[edit.end :]
    _verify(
        text, new_text, report, repinned, target, added, transitive, added_index, listing, options
    )
    return new_text


def _expected_data(
    old: Mapping[str, Any],
    added: Sequence[str],
    transitive: Sequence[str],
    repinned: Collection[str],
    target: str,
    added_index: dict[str, Any] | None,
) -> dict[str, Any]:
    """What the fixed file must mean: the old data, the pins, the dependencies and the
    index added."""
    data = dict(old)
    if transitive:
        project = dict(data["project"])
        project["dependencies"] = [*project["dependencies"], *transitive]
        data["project"] = project
    tool = dict(data.get("tool", {}))
    uv = dict(tool.get("uv", {}))
    sources = dict(uv.get("sources", {}))
    for key, value in sources.items():
        if canonicalize_name(key) not in repinned:
            continue
        entries = value if isinstance(value, list) else [value]
        pinned = [
            {**entry, "index": target} if isinstance(entry, dict) and "index" in entry else entry
            for entry in entries
        ]
        sources[key] = pinned if isinstance(value, list) else pinned[0]
    for name in added:
        sources[name] = {"index": target}
    if sources:
        uv["sources"] = sources
    if added_index is not None:
        uv["index"] = [*uv.get("index", []), added_index]
    tool["uv"] = uv
    data["tool"] = tool
    return data


def _verify(
    old_text: str,
    new_text: str,
    report: FileReport,
    repinned: Collection[str],
    target: str,
    added: Sequence[str],
    transitive: Sequence[str],
    added_index: dict[str, Any] | None,
    listing: Listing,
    options: AuditOptions,
) -> None:
    """Check that the new text means the old one plus the fix, and that the fix worked."""
    try:
        new = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise RewriteError(f"{report.path}: the rewrite produced invalid TOML ({exc})") from None
    expected = _expected_data(
        tomllib.loads(old_text), added, transitive, repinned, target, added_index
    )
    if new != expected:
        raise RewriteError(
            f"{report.path}: the rewrite would change more than the fix; nothing written"
        )
    try:
        after = audit(parse(new_text, report.path), listing, options)
    except PipfileError as exc:
        raise RewriteError(f"{report.path}: the rewrite does not parse ({exc})") from None
    left = [f"{f.kind} {f.package or ''}".strip() for f in after.fixable]
    if left:
        raise RewriteError(f"{report.path}: the rewrite left {', '.join(left)}; nothing written")
