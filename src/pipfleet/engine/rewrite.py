"""Rewrite exactly the entries a fix needs, leaving every other byte alone.

Edits are computed as character spans from the parsed model and spliced into the
original text, so comments, quoting, key order, blank lines, CRLF endings and a
missing final newline all survive. (A tomlkit document round-trip was tried
first: replacing a value dropped its trailing comment and mixed line endings in
CRLF files.) tomlkit renders the TOML values that are inserted, and every result
is re-parsed and compared with the original before it is returned.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import tomlkit

from pipfleet.engine.findings import FileReport, Finding, FindingKind
from pipfleet.engine.pipfile import RESERVED_TABLES, Entry, EntryForm, Pipfile, package_name
from pipfleet.engine.tomlspans import Header, Span, Statement, inline_table, scan
from pipfleet.errors import FixError, RewriteError


@dataclass(frozen=True, order=True)
class _Edit:
    start: int
    end: int
    text: str


@functools.lru_cache(maxsize=256)
def quote(value: str) -> str:
    """A TOML string literal for ``value`` (cached: nearly always the same index name)."""
    return tomlkit.string(value).as_string()


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# Inline-table spacing worth copying: blanks only (a comment or line break is no style).
_BLANKS = re.compile(r"[ \t]*")
_EQUALS = re.compile(r"[ \t]*=[ \t]*")
_COMMA = re.compile(r"[ \t]*,[ \t]*")


@dataclass(frozen=True)
class Style:
    """How a Pipfile writes its values, so that what the fix writes looks like the rest.

    ``pad_open`` and ``pad_close`` are the blanks inside an inline table's braces.
    """

    quote: str = '"'
    pad_open: str = ""
    pad_close: str = ""
    equals: str = " = "
    separator: str = ", "

    def quoted(self, value: str) -> str:
        # A literal string cannot hold a ' or a control character.
        if self.quote == "'" and "'" not in value and value.isprintable():
            return f"'{value}'"
        return quote(value)

    def inline(self, pairs: Sequence[tuple[str, str]]) -> str:
        """An inline table of ``pairs`` (keys and values as TOML text)."""
        body = self.separator.join(f"{key}{self.equals}{value}" for key, value in pairs)
        return f"{{{self.pad_open}{body}{self.pad_close}}}"


def _quote_in(firsts: Iterable[str], default: str) -> str:
    """The quote most string values open with ('"' on a tie), else ``default``.

    ``firsts`` are the first characters of values: quotes, or what starts another value.
    """
    found = Counter(first for first in firsts if first in "\"'")
    if not found:
        return default
    return "'" if found["'"] > found['"'] else '"'


def _firsts(text: str, span: Span) -> list[str]:
    """The first character of the value at ``span`` and, for an inline table, of its values."""
    first = text[span.start]
    if first != "{":
        return [first]
    return [text[pair.value.start] for pair in inline_table(text, span.start).pairs]


def _most_common(counts: Counter[Any], default: Any) -> Any:
    return counts.most_common(1)[0][0] if counts else default


def style_of(pipfile: Pipfile) -> Style:
    """How the Pipfile's package entries are written: their quotes, their inline tables'
    spacing."""
    return _file_style(pipfile.text)


# Cached by text: the audit asks once per private entry, and a Pipfile may hold thousands.
@functools.lru_cache(maxsize=8)
def _file_style(text: str) -> Style:
    firsts: list[str] = []
    pads: Counter[tuple[str, str]] = Counter()
    equals: Counter[str] = Counter()
    separators: Counter[str] = Counter()
    for item in scan(text):
        if not isinstance(item, Statement) or (item.table + item.key)[0] in RESERVED_TABLES:
            continue
        firsts.extend(_firsts(text, item.value))
        if text[item.value.start] != "{":
            continue
        table = inline_table(text, item.value.start)
        if not table.pairs:
            continue
        pad = (
            text[table.open_brace + 1 : table.pairs[0].key_span.start],
            text[table.pairs[-1].value.end : table.close_brace],
        )
        if all(_BLANKS.fullmatch(side) for side in pad):
            pads[pad] += 1
        for pair in table.pairs:
            between = text[pair.key_span.end : pair.value.start]
            if _EQUALS.fullmatch(between):
                equals[between] += 1
        for one, two in zip(table.pairs, table.pairs[1:], strict=False):
            between = text[one.value.end : two.key_span.start]
            if _COMMA.fullmatch(between):
                separators[between] += 1
    default = Style()
    pad_open, pad_close = _most_common(pads, (default.pad_open, default.pad_close))
    return Style(
        quote=_quote_in(firsts, default.quote),
        pad_open=pad_open,
        pad_close=pad_close,
        equals=_most_common(equals, default.equals),
        separator=_most_common(separators, default.separator),
    )


def added_value(index: str, style: Style) -> str:
    """The value of an entry the fix adds: any version, from ``index``."""
    return style.inline([("version", style.quoted("*")), ("index", style.quoted(index))])


def added_key(key: str, style: Style) -> str:
    return key if _BARE_KEY.fullmatch(key) else style.quoted(key)


def _inline(value: Any) -> str:
    table = tomlkit.inline_table()
    table.update(value)
    return table.as_string().strip()


def current_value(text: str, entry: Entry) -> str:
    """The entry's value as written (an inline rendering for table-form entries)."""
    if entry.span is not None:
        return text[entry.span.start : entry.span.end]
    return _inline(entry.value)


def pinned_value(text: str, entry: Entry, index: str) -> str:
    """The entry's value once pinned to ``index``, in the same style as written."""
    if entry.form is EntryForm.TABLE:
        assert not isinstance(entry.value, str), "a table-form entry holds a table"
        return _inline({**entry.value, "index": index})
    assert entry.span is not None
    start = entry.span.start
    edits = _entry_edits(text, entry, index)
    value = text[start : entry.span.end]
    for edit in sorted(edits, reverse=True):
        value = value[: edit.start - start] + edit.text + value[edit.end - start :]
    return value


# pipenv reads a Pipfile without any [[source]] as if it had this one. Adding the private
# source alone would make it the default index for every public package, so it is written
# out first.
IMPLICIT_SOURCE = {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}


def source_block(name: str, url: str, newline: str, *, with_implicit: bool = False) -> str:
    """The ``[[source]]`` table(s) the fix adds, without a trailing newline.

    ``with_implicit`` (for a Pipfile without sources) writes pipenv's implicit pypi source
    before the private one, so public packages keep resolving where they did.
    """
    tables = [(name, url)]
    if with_implicit:
        tables.insert(0, (str(IMPLICIT_SOURCE["name"]), str(IMPLICIT_SOURCE["url"])))
    return (newline * 2).join(
        newline.join(
            [
                "[[source]]",
                f"name = {quote(table_name)}",
                f"url = {quote(table_url)}",
                "verify_ssl = true",
            ]
        )
        for table_name, table_url in tables
    )


def _entry_edits(text: str, entry: Entry, index: str, newline: str = "\n") -> list[_Edit]:
    """The edits that pin ``entry`` to ``index``, quoted and spaced as the entry or file is."""
    style = _file_style(text)
    if entry.form is EntryForm.STRING:
        assert entry.span is not None
        raw = text[entry.span.start : entry.span.end]
        own = replace(style, quote=_quote_in(raw[0], style.quote))
        pinned = own.inline([("version", raw), ("index", own.quoted(index))])
        return [_Edit(entry.span.start, entry.span.end, pinned)]
    if entry.form is EntryForm.INLINE:
        assert entry.span is not None
        table = inline_table(text, entry.span.start)
        firsts = [text[pair.value.start] for pair in table.pairs]
        own = replace(style, quote=_quote_in(firsts, style.quote))
        for pair in table.pairs:
            if pair.key == ("index",):
                # The value replaced keeps its own quote.
                quoted = replace(own, quote=_quote_in(text[pair.value.start], own.quote))
                return [_Edit(pair.value.start, pair.value.end, quoted.quoted(index))]
        if not table.pairs:
            at = table.open_brace + 1
            return [_Edit(at, at, f"index{style.equals}{own.quoted(index)}")]
        first, last = table.pairs[0], table.pairs[-1]
        equals = text[first.key_span.end : first.value.start]
        separator = style.separator
        if len(table.pairs) > 1:
            separator = text[table.pairs[0].value.end : table.pairs[1].key_span.start]
        added = f"{separator}index{equals}{own.quoted(index)}"
        return [_Edit(last.value.end, last.value.end, added)]
    own = replace(style, quote=_quote_in((text[m.value.start] for m in entry.members), style.quote))
    for member in entry.members:
        if member.key == "index":
            quoted = replace(own, quote=_quote_in(text[member.value.start], own.quote))
            return [_Edit(member.value.start, member.value.end, quoted.quoted(index))]
    if entry.members:
        last_member = max(entry.members, key=lambda member: member.line_end)
        line = f"{newline}{last_member.lead}index = {own.quoted(index)}"
        return [_Edit(last_member.line_end, last_member.line_end, line)]
    if entry.header_end is not None:
        return [_Edit(entry.header_end, entry.header_end, f"{newline}index = {own.quoted(index)}")]
    raise RewriteError(f"cannot locate [{entry.category}] {entry.key} in {entry.category}")


def _source_edit(pipfile: Pipfile, name: str, url: str) -> _Edit:
    newline = pipfile.newline
    block = source_block(name, url, newline, with_implicit=not pipfile.sources)
    if pipfile.source_block_end is not None:
        at = pipfile.source_block_end
        return _Edit(at, at, newline + newline + block)
    if pipfile.first_header_start is not None:
        at = pipfile.first_header_start
        return _Edit(at, at, block + newline + newline)
    text = pipfile.text
    lead = newline if text and not text.endswith("\n") else ""
    return _Edit(len(text), len(text), lead + block + newline)


def rewrite(pipfile: Pipfile, report: FileReport, source_url: str | None) -> str:
    """The Pipfile text with every fixable finding of ``report`` fixed.

    Raises FixError when the file needs a private source and no URL is known for it.
    """
    fixes = report.fixable
    if not fixes:
        return pipfile.text
    entries = {(entry.category, entry.key): entry for entry in pipfile.entries()}
    edits: list[_Edit] = []
    added_source: tuple[str, str] | None = None
    for finding in fixes:
        assert finding.source is not None
        if finding.kind is FindingKind.MISSING_SOURCE:
            assert source_url is not None
            added_source = (finding.source, source_url)
            edits.append(_source_edit(pipfile, finding.source, source_url))
        elif finding.kind is not FindingKind.PRIVATE_TRANSITIVE:
            entry = entries[(finding.category or "", finding.package or "")]
            edits.extend(_entry_edits(pipfile.text, entry, finding.source, pipfile.newline))
    needs_source = any(f.kind is FindingKind.MISSING_SOURCE for f in report.findings)
    if needs_source and added_source is None:
        raise FixError(
            f"{pipfile.path}: private packages need a CodeArtifact [[source]]; "
            "give its URL with --source-url"
        )
    additions = [f for f in fixes if f.kind is FindingKind.PRIVATE_TRANSITIVE]
    edits.extend(_addition_edits(pipfile, additions))
    text = pipfile.text
    for edit in sorted(set(edits), reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    _verify(pipfile, report, text, added_source)
    return text


def _addition_edits(pipfile: Pipfile, additions: Sequence[Finding]) -> list[_Edit]:
    """Insert one line per added entry, in the section's order, or a new section at the end.

    A section whose keys are in alphabetical order (PEP 503 names) gets each new
    key where it sorts; any other section gets them after its last key/value line.
    """
    if not additions:
        return []
    text, newline = pipfile.text, pipfile.newline
    style = style_of(pipfile)
    items = scan(text)
    by_category: dict[str, list[Finding]] = {}
    for finding in additions:
        assert finding.category is not None and finding.package is not None
        by_category.setdefault(finding.category, []).append(finding)
    inserts: dict[int, list[str]] = {}
    new_sections: list[str] = []
    for category, found in sorted(by_category.items()):
        found.sort(key=lambda f: package_name(f.package or ""))
        lines = {
            f.package or "": f"{added_key(f.package or '', style)} = "
            f"{added_value(f.source or '', style)}"
            for f in found
        }
        header = next((i for i in items if isinstance(i, Header) and i.path == (category,)), None)
        if header is None:
            if any(isinstance(i, Statement) and i.key[:1] == (category,) for i in items):
                raise RewriteError(
                    f"{pipfile.path}: [{category}] is written with dotted keys; "
                    "cannot add an entry to it"
                )
            new_sections.append(newline.join([f"[{category}]", *lines.values()]))
            continue
        rows = [
            i
            for i in items
            if isinstance(i, Statement) and i.table == (category,) and len(i.key) == 1
        ]
        names = [package_name(row.key[0]) for row in rows]
        ordered = names == sorted(names)
        for key, line in lines.items():
            if ordered:
                after = next((r for r in rows if package_name(r.key[0]) > package_name(key)), None)
                if after is not None:
                    at = _above_comments(text, after.line_start)
                    inserts.setdefault(at, []).append(line + newline)
                    continue
            at = rows[-1].line_end if rows else header.line_end
            inserts.setdefault(at, []).append(newline + line)
    edits = [_Edit(at, at, "".join(parts)) for at, parts in inserts.items()]
    if new_sections:
        lead = newline if text and not text.endswith("\n") else ""
        if text.strip():
            lead += newline
        block = (newline * 2).join(new_sections)
        edits.append(_Edit(len(text), len(text), lead + block + newline))
    return edits


def _above_comments(text: str, line_start: int) -> int:
    """The start of the comment lines right above the line at ``line_start``, if any."""
    while line_start > 0:
        previous = text.rfind("\n", 0, line_start - 1) + 1
        if not text[previous:line_start].lstrip().startswith("#"):
            break
        line_start = previous
    return line_start


def _verify(
    pipfile: Pipfile, report: FileReport, new_text: str, added_source: tuple[str, str] | None
) -> None:
    """Check that the new text means the old one plus the intended pins, nothing else."""
    old = pipfile.data
    try:
        new = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise RewriteError(f"{pipfile.path}: the rewrite produced invalid TOML ({exc})") from None
    expected = dict(old)
    for finding in report.fixable:
        if finding.kind is FindingKind.MISSING_SOURCE:
            continue
        assert finding.category is not None and finding.package is not None
        if finding.kind is FindingKind.PRIVATE_TRANSITIVE:
            category = dict(expected.get(finding.category, {}))
            category[finding.package] = {"version": "*", "index": finding.source}
            expected[finding.category] = category
            continue
        category = dict(expected[finding.category])
        value = category[finding.package]
        value = {"version": value} if isinstance(value, str) else dict(value)
        value["index"] = finding.source
        category[finding.package] = value
        expected[finding.category] = category
    if added_source is not None:
        name, url = added_source
        sources = old.get("source") or [IMPLICIT_SOURCE]
        expected["source"] = [*sources, {"name": name, "url": url, "verify_ssl": True}]
    if new != expected:
        raise RewriteError(
            f"{pipfile.path}: the rewrite would change more than the fix; nothing written"
        )


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff of a rewrite, as ``git diff`` would show it."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path.lstrip('/')}",
        tofile=f"b/{path.lstrip('/')}",
    )
    marker = "\n\\ No newline at end of file\n"
    return "".join(line if line.endswith("\n") else line + marker for line in lines)
