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
import tomllib
from dataclasses import dataclass
from typing import Any

import tomlkit

from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.pipfile import Entry, EntryForm, Pipfile
from pipfleet.engine.tomlspans import inline_table
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
        else:
            entry = entries[(finding.category or "", finding.package or "")]
            edits.extend(_entry_edits(pipfile.text, entry, finding.source, pipfile.newline))
    needs_source = any(f.kind is FindingKind.MISSING_SOURCE for f in report.findings)
    if needs_source and added_source is None:
        raise FixError(
            f"{pipfile.path}: private packages need a CodeArtifact [[source]]; "
            "give its URL with --source-url"
        )
    text = pipfile.text
    for edit in sorted(set(edits), reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    _verify(pipfile, report, text, added_source)
    return text


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
