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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import tomlkit

from pipfleet.engine.findings import FileReport, Finding, FindingKind
from pipfleet.engine.pipfile import Entry, EntryForm, Pipfile, package_name
from pipfleet.engine.tomlspans import Header, Statement, inline_table, scan
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
# A string value's opening quote: what an entry's value starts with, or any inline value.
_OPENING_QUOTE = re.compile(r"""(?:^|=\s*)(["'])""")


def quote_style(pipfile: Pipfile) -> str:
    """The quote the Pipfile's package values are written with: ' if most are, else "."""
    single = double = 0
    for entry in pipfile.entries():
        if entry.span is None:
            continue
        raw = pipfile.text[entry.span.start : entry.span.end]
        for match in _OPENING_QUOTE.finditer(raw):
            if match.group(1) == "'":
                single += 1
            else:
                double += 1
    return "'" if single > double else '"'


def _quoted(value: str, style: str) -> str:
    if style == "'" and "'" not in value and value.isprintable():
        return f"'{value}'"
    return quote(value)


def added_value(index: str, style: str = '"') -> str:
    """The value of an entry the fix adds: any version, from ``index``."""
    return f"{{version = {_quoted('*', style)}, index = {_quoted(index, style)}}}"


def added_key(key: str, style: str = '"') -> str:
    return key if _BARE_KEY.fullmatch(key) else _quoted(key, style)


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
        return _inline({**entry.value, "index": index})  # type: ignore[dict-item]
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
    quoted = quote(index)
    if entry.form is EntryForm.STRING:
        assert entry.span is not None
        raw = text[entry.span.start : entry.span.end]
        return [_Edit(entry.span.start, entry.span.end, f"{{version = {raw}, index = {quoted}}}")]
    if entry.form is EntryForm.INLINE:
        assert entry.span is not None
        table = inline_table(text, entry.span.start)
        for pair in table.pairs:
            if pair.key == ("index",):
                return [_Edit(pair.value.start, pair.value.end, quoted)]
        if not table.pairs:
            return [_Edit(table.open_brace + 1, table.open_brace + 1, f"index = {quoted}")]
        first, last = table.pairs[0], table.pairs[-1]
        equals = text[first.key_span.end : first.value.start]
        separator = ", "
        if len(table.pairs) > 1:
            separator = text[table.pairs[0].value.end : table.pairs[1].key_span.start]
        return [_Edit(last.value.end, last.value.end, f"{separator}index{equals}{quoted}")]
    for member in entry.members:
        if member.key == "index":
            return [_Edit(member.value.start, member.value.end, quoted)]
    if entry.members:
        last_member = max(entry.members, key=lambda member: member.line_end)
        line = f"{newline}{last_member.lead}index = {quoted}"
        return [_Edit(last_member.line_end, last_member.line_end, line)]
    if entry.header_end is not None:
        return [_Edit(entry.header_end, entry.header_end, f"{newline}index = {quoted}")]
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
    style = quote_style(pipfile)
    items = list(scan(text))
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
