"""Rewrite a Poetry pyproject.toml so private packages come from CodeArtifact, byte-minimal.

As ``rewrite`` does for a Pipfile, each fix is a character span computed from
``tomlspans`` and spliced into the text, so comments, order, quoting, blank lines,
CRLF endings and a missing final newline survive; the result is re-parsed and must
mean the old file plus exactly the fixes. What each fixable finding becomes:

- a private dependency in a Poetry table (missing, wrong or undefined source) gets
  ``source = "<private source>"``: a string constraint ``"^2"`` becomes
  ``{version = "^2", source = ...}``, an inline table or ``[...dependencies.name]``
  table gets (or changes) the key, and each table of a multiple-constraints list too;
- a private dependency of Poetry 2's ``[project]`` (main or optional) gets an entry
  ``name = {source = ...}`` in ``[tool.poetry.dependencies]``, which poetry-core
  merges into the ``[project]`` requirement of that name;
- missing-source appends the finding's ``[[tool.poetry.source]]`` block (URL without
  credentials, ``priority = "explicit"``) after the last source, else at the end;
- index-not-explicit sets ``priority = "explicit"`` on the private source, in place of
  a legacy ``default``/``secondary = true`` flag when it has one.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from packaging.requirements import Requirement

from pipfleet.engine.findings import FileReport, Finding, FindingKind
from pipfleet.engine.pipfile import load_toml, package_name
from pipfleet.engine.poetryproject import (
    EXPLICIT,
    MAIN_TABLE,
    PROJECT_DEPENDENCIES,
    Dependency,
    PoetryProject,
    parse,
)
from pipfleet.engine.rewrite import Style, quote
from pipfleet.engine.tomlspans import Header, Span, Statement, inline_table, scan, value_end
from pipfleet.errors import FixError, RewriteError

_SOURCES = ("tool", "poetry", "source")
_LEGACY_FLAGS = ("default", "secondary")
_DEPENDENCY_KINDS = frozenset(
    {FindingKind.MISSING_INDEX, FindingKind.WRONG_INDEX, FindingKind.UNDEFINED_INDEX}
)
_GAP = re.compile(r"(?:[ \t\r\n,]+|#[^\n]*)*")
_EQUALS = re.compile(r"[ \t]*=[ \t]*")
_COMMA = re.compile(r"[ \t]*,[ \t]*")
_BLANKS = re.compile(r"[ \t]*")


@dataclass(frozen=True, order=True)
class _Edit:
    start: int
    end: int
    text: str


def newline_of(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def rewrite(text: str, report: FileReport) -> str:
    """``text`` with every fixable finding of ``report`` (its audit) fixed.

    Raises FixError when a private source is needed and the finding has no URL for it,
    RewriteError when an entry is written in a way this cannot edit (dotted keys, an
    inline source list) or the result would mean more than the fix.
    """
    fixes = report.fixable
    if not fixes:
        return text
    if any(f.kind is FindingKind.MISSING_SOURCE and not f.fixable for f in report.findings):
        raise FixError(
            f"{report.path}: private packages need a CodeArtifact [[tool.poetry.source]]; "
            "give its URL with --source-url"
        )
    project = parse(text, report.path)
    items = scan(text)
    newline = newline_of(text)
    style = _style(text, items)
    edits: list[_Edit] = []
    enrich: dict[str, str] = {}  # PEP 503 name -> the name as [project] writes it
    added: dict[str, str] = {}  # PEP 503 name -> the key of a private package to list
    target = next(f.source for f in fixes if f.source is not None)
    for finding in fixes:
        if finding.kind in _DEPENDENCY_KINDS:
            dependency = _dependency(project, finding)
            if dependency.is_pep621:
                enrich.setdefault(dependency.name, Requirement(dependency.key).name)
            else:
                edits.extend(_dependency_edits(text, items, dependency, target, style, newline))
        elif finding.kind is FindingKind.MISSING_SOURCE:
            assert finding.expected is not None
            edits.append(_source_edit(text, items, finding.expected, newline))
        elif finding.kind is FindingKind.INDEX_NOT_EXPLICIT:
            edits.append(_explicit_edit(text, items, project, target, style, newline))
        elif finding.kind is FindingKind.PRIVATE_TRANSITIVE:
            assert finding.package is not None
            added.setdefault(package_name(finding.package), finding.package)
    listed = [name for name in added.values() if not project.lists_in_project]
    if project.lists_in_project and added:
        # Poetry 2 locks [project]'s requirements only: the package joins them.
        edits.append(_project_edit(text, items, list(added.values()), style, newline))
        enrich.update((name, key) for name, key in added.items() if name not in enrich)
    source_only = style.inline([("source", style.quoted(target))])
    any_version = style.inline([("version", style.quoted("*")), ("source", style.quoted(target))])
    lines = [f"{_key(name)} = {source_only}" for name in enrich.values()]
    lines += [f"{_key(name)} = {any_version}" for name in listed]
    if lines:
        edits.append(_main_table_edit(text, items, lines, newline))
    new_text = text
    for edit in sorted(set(edits), reverse=True):
        new_text = new_text[: edit.start] + edit.text + new_text[edit.end :]
    _verify(project, report, new_text, _Additions(list(enrich.values()), listed, added), target)
    return new_text


def _dependency(project: PoetryProject, finding: Finding) -> Dependency:
    for dependency in project.dependencies:
        if (dependency.group, dependency.key, dependency.line) == (
            finding.category,
            finding.package,
            finding.line,
        ):
            return dependency
    raise RewriteError(f"{project.path}: cannot locate {finding.package} in {finding.category}")


def _style(text: str, items: Sequence[Header | Statement]) -> Style:
    """How the dependency tables write values: their quotes and inline tables' spacing."""
    quotes: Counter[str] = Counter()
    pads: Counter[tuple[str, str]] = Counter()
    equals: Counter[str] = Counter()
    separators: Counter[str] = Counter()
    for item in items:
        if not isinstance(item, Statement) or "dependencies" not in item.table[:5]:
            continue
        first = text[item.value.start]
        if first != "{":
            if first in "\"'":
                quotes[first] += 1
            continue
        table = inline_table(text, item.value.start)
        quotes.update(text[p.value.start] for p in table.pairs if text[p.value.start] in "\"'")
        if not table.pairs:
            continue
        pad = (
            text[table.open_brace + 1 : table.pairs[0].key_span.start],
            text[table.pairs[-1].value.end : table.close_brace],
        )
        if all(_BLANKS.fullmatch(side) for side in pad):
            pads[pad] += 1
        for pair in table.pairs:
            if _EQUALS.fullmatch(between := text[pair.key_span.end : pair.value.start]):
                equals[between] += 1
        for one, two in zip(table.pairs, table.pairs[1:], strict=False):
            if _COMMA.fullmatch(between := text[one.value.end : two.key_span.start]):
                separators[between] += 1
    default = Style()
    pad_open, pad_close = pads.most_common(1)[0][0] if pads else ("", "")
    return Style(
        quote="'" if quotes["'"] > quotes['"'] else '"',
        pad_open=pad_open,
        pad_close=pad_close,
        equals=equals.most_common(1)[0][0] if equals else default.equals,
        separator=separators.most_common(1)[0][0] if separators else default.separator,
    )


def _own(style: Style, text: str, at: int) -> Style:
    """``style`` with the quote of the value at ``at``, when it is a string."""
    return replace(style, quote=text[at]) if text[at] in "\"'" else style


def _dependency_edits(
    text: str,
    items: Sequence[Header | Statement],
    dependency: Dependency,
    target: str,
    style: Style,
    newline: str,
) -> list[_Edit]:
    statements = [i for i in items if isinstance(i, Statement) and i.table == dependency.table]
    for statement in statements:
        if statement.key[0] != dependency.key:
            continue
        if len(statement.key) > 1:
            raise RewriteError(
                f"{dependency.key} is written with dotted keys; cannot add its source"
            )
        if text[statement.value.start] == "[":
            return [
                _value_edit(text, span, target, style)
                for span in _array_items(text, statement.value)
            ]
        return [_value_edit(text, statement.value, target, style)]
    members = [
        i
        for i in items
        if isinstance(i, Statement) and i.table == (*dependency.table, dependency.key)
    ]
    for member in members:
        if member.key == ("source",):
            own = _own(style, text, member.value.start)
            return [_Edit(member.value.start, member.value.end, own.quoted(target))]
    if members:
        last = max(members, key=lambda m: m.line_end)
        lead = text[last.line_start : last.key_span.start]
        own = _own(style, text, last.value.start)
        return [
            _Edit(last.line_end, last.line_end, f"{newline}{lead}source = {own.quoted(target)}")
        ]
    raise RewriteError(f"cannot locate {dependency.key} in [{'.'.join(dependency.table)}]")


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where ``pattern`` (which matches the empty string too) stops matching at ``pos``."""
    match = pattern.match(text, pos)
    assert match is not None
    return match.end()


def _array_items(text: str, span: Span) -> list[Span]:
    """The values of the array at ``span`` (a multiple-constraints dependency)."""
    spans = []
    at = _match_end(_GAP, text, span.start + 1)
    while text[at] != "]":
        end = value_end(text, at)
        spans.append(Span(at, end))
        at = _match_end(_GAP, text, end)
    return spans


def _value_edit(text: str, span: Span, target: str, style: Style) -> _Edit:
    """The edit that gives the constraint at ``span`` ``source = target``."""
    if text[span.start] != "{":
        own = _own(style, text, span.start)
        version = text[span.start : span.end]
        pinned = own.inline([("version", version), ("source", own.quoted(target))])
        return _Edit(span.start, span.end, pinned)
    table = inline_table(text, span.start)
    firsts = [text[p.value.start] for p in table.pairs if text[p.value.start] in "\"'"]
    own = replace(style, quote=Counter(firsts).most_common(1)[0][0]) if firsts else style
    for pair in table.pairs:
        if pair.key == ("source",):
            own = _own(own, text, pair.value.start)
            return _Edit(pair.value.start, pair.value.end, own.quoted(target))
    if not table.pairs:
        at = table.open_brace + 1
        return _Edit(at, at, f"source{style.equals}{own.quoted(target)}")
    first, last = table.pairs[0], table.pairs[-1]
    equals = text[first.key_span.end : first.value.start]
    separator = style.separator
    if len(table.pairs) > 1:
        separator = text[table.pairs[0].value.end : table.pairs[1].key_span.start]
    return _Edit(last.value.end, last.value.end, f"{separator}source{equals}{own.quoted(target)}")


def _source_statements(items: Sequence[Header | Statement], index: int) -> list[Statement]:
    return [
        i
        for i in items
        if isinstance(i, Statement) and i.table == _SOURCES and i.array_index == index
    ]


def _source_headers(items: Sequence[Header | Statement]) -> list[Header]:
    return [i for i in items if isinstance(i, Header) and i.path == _SOURCES and i.is_array]


def _written_inline(items: Sequence[Header | Statement]) -> bool:
    return any(
        isinstance(i, Statement) and (*i.table, *i.key)[:3] == _SOURCES for i in items
    ) and not _source_headers(items)


def _source_edit(text: str, items: Sequence[Header | Statement], block: str, newline: str) -> _Edit:
    block = block.replace("\n", newline)
    if _written_inline(items):
        raise RewriteError("the sources are written as an inline array; cannot add one")
    headers = _source_headers(items)
    if headers:
        last = len(headers) - 1
        end = max([s.line_end for s in _source_statements(items, last)] + [headers[last].line_end])
        return _Edit(end, end, newline * 2 + block)
    lead = newline if text and not text.endswith("\n") else ""
    if text.strip():
        lead += newline
    return _Edit(len(text), len(text), lead + block + newline)


def _explicit_edit(
    text: str,
    items: Sequence[Header | Statement],
    project: PoetryProject,
    name: str,
    style: Style,
    newline: str,
) -> _Edit:
    if _written_inline(items):
        raise RewriteError("the sources are written as an inline array; cannot edit one")
    index = next(i for i, s in enumerate(project.sources) if s.name == name)
    statements = _source_statements(items, index)
    for statement in statements:
        if statement.key == ("priority",):
            own = _own(style, text, statement.value.start)
            return _Edit(statement.value.start, statement.value.end, own.quoted("explicit"))
    for statement in statements:
        if statement.key[0] in _LEGACY_FLAGS and text[statement.value.start] == "t":
            # Poetry 1.5+ reads priority; both at once would contradict each other.
            return _Edit(statement.key_span.start, statement.value.end, EXPLICIT)
    last = max(statements, key=lambda s: s.line_end)
    lead = text[last.line_start : last.key_span.start]
    return _Edit(last.line_end, last.line_end, f"{newline}{lead}{EXPLICIT}")


@dataclass(frozen=True)
class _Additions:
    enriched: Sequence[str]  # [project] names given a source in [tool.poetry.dependencies]
    listed: Sequence[str]  # keys added to [tool.poetry.dependencies] (Poetry 1 layout)
    added: Mapping[str, str]  # every private package the fix lists, by PEP 503 name


def _project_edit(
    text: str, items: Sequence[Header | Statement], names: Sequence[str], style: Style, newline: str
) -> _Edit:
    """Append ``names`` to [project] dependencies, written as the array's items are."""
    statement = next(
        i for i in items if isinstance(i, Statement) and (*i.table, *i.key) == PROJECT_DEPENDENCIES
    )
    span = statement.value
    elements = _array_items(text, span)
    firsts = [text[e.start] for e in elements if text[e.start] in "\"'"]
    own = replace(style, quote=Counter(firsts).most_common(1)[0][0]) if firsts else style
    quoted = [own.quoted(name) for name in names]
    if not elements:
        return _Edit(span.start + 1, span.start + 1, ", ".join(quoted))
    last = elements[-1]
    close = span.end - 1
    line_end = text.find("\n", last.end)
    if line_end < 0 or line_end > close:
        # One line: the items' own separator.
        gap = text[elements[-2].end : elements[-1].start] if len(elements) > 1 else ", "
        separator = gap if "\n" not in gap and "#" not in gap else ", "
        return _Edit(last.end, last.end, "".join(separator + q for q in quoted))
    line_start = text.rfind("\n", 0, last.start) + 1
    indent = text[line_start : _match_end(_BLANKS, text, line_start)]
    trailing = text[last.end : line_end].lstrip().startswith(",")
    at = line_end - 1 if text[line_end - 1] == "\r" else line_end
    block = "".join(newline + indent + q + "," for q in quoted)
    if trailing:
        return _Edit(at, at, block)
    # The last item gains the comma it lacked; the new ones follow on lines of their own.
    return _Edit(last.end, at, "," + text[last.end : at] + block.rstrip(","))


def _main_table_edit(
    text: str, items: Sequence[Header | Statement], lines: Sequence[str], newline: str
) -> _Edit:
    """``lines`` at the end of [tool.poetry.dependencies], or in a new such table at the end."""
    header = next((i for i in items if isinstance(i, Header) and i.path == MAIN_TABLE), None)
    if header is not None:
        rows = [i for i in items if isinstance(i, Statement) and i.table == MAIN_TABLE]
        at = max([r.line_end for r in rows] + [header.line_end])
        return _Edit(at, at, "".join(newline + line for line in lines))
    if any(isinstance(i, Statement) and (*i.table, *i.key)[:3] == MAIN_TABLE for i in items):
        raise RewriteError(
            "[tool.poetry.dependencies] is written with dotted keys or inline; "
            "cannot add a source to it"
        )
    lead = newline if text and not text.endswith("\n") else ""
    if text.strip():
        lead += newline
    block = newline.join(["[tool.poetry.dependencies]", *lines])
    return _Edit(len(text), len(text), lead + block + newline)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else quote(name)


def _verify(
    project: PoetryProject,
    report: FileReport,
    new_text: str,
    additions: _Additions,
    target: str,
) -> None:
    """The new text must mean the old one plus the fixes, nothing else."""
    try:
        new = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise RewriteError(f"{project.path}: the rewrite produced invalid TOML ({exc})") from None
    expected = copy.deepcopy(load_toml(project.text))
    poetry = expected["tool"]["poetry"]
    for finding in report.fixable:
        if finding.kind in _DEPENDENCY_KINDS:
            dependency = _dependency(project, finding)
            if dependency.is_pep621:
                continue
            table: Any = expected
            for part in dependency.table:
                table = table[part]
            value = table[dependency.key]
            constraints = value if isinstance(value, list) else [value]
            pinned = [
                {"version": c, "source": target} if isinstance(c, str) else {**c, "source": target}
                for c in constraints
            ]
            table[dependency.key] = pinned if isinstance(value, list) else pinned[0]
        elif finding.kind is FindingKind.MISSING_SOURCE:
            assert finding.expected is not None
            added = tomllib.loads(finding.expected)["tool"]["poetry"]["source"]
            poetry["source"] = [*poetry.get("source", []), *added]
        elif finding.kind is FindingKind.INDEX_NOT_EXPLICIT:
            source = next(s for s in poetry["source"] if s.get("name") == target)
            for flag in _LEGACY_FLAGS:
                if source.get(flag) is True:
                    del source[flag]
                    break
            source["priority"] = "explicit"
    if additions.added and project.lists_in_project:
        expected["project"]["dependencies"] += list(additions.added.values())
    if additions.enriched or additions.listed:
        main = poetry.setdefault("dependencies", {})
        for name in additions.enriched:
            main[name] = {"source": target}
        for name in additions.listed:
            main[name] = {"version": "*", "source": target}
    if new != expected:
        raise RewriteError(
            f"{project.path}: the rewrite would change more than the fix; nothing written"
        )
