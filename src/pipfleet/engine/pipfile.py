"""Parse a Pipfile's text into a model of its sources, categories and entries.

tomllib decides what the file means (and rejects invalid TOML with a line and
column); ``tomlspans`` adds where each entry is written, which the audit reports
and the rewrite edits.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from packaging.utils import canonicalize_name

from pipfleet.engine.limits import check_depth, check_text
from pipfleet.engine.tomlspans import Header, Span, Statement, scan
from pipfleet.errors import PipfileError

#: Top-level tables with a fixed meaning; every other table is a package category.
RESERVED_TABLES = frozenset({"source", "requires", "pipenv", "scripts"})
#: Keys that make an entry come from somewhere other than a package index.
NON_REGISTRY_KEYS = ("git", "hg", "svn", "bzr", "path", "file", "url")

_TOMLLIB_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOMLLIB_AT_END = re.compile(r"\s*\(at end of document\)$")


class EntryForm(StrEnum):
    STRING = "string"  # name = "==1.0"
    INLINE = "inline"  # name = {version = "==1.0", ...}
    TABLE = "table"  # [packages.name] or name.version = ... (dotted keys)


@dataclass(frozen=True)
class Member:
    """One key of a table-form entry, with the raw text that leads up to it."""

    key: str
    value: Span
    line: int
    line_end: int
    lead: str  # indentation and any dotted prefix, e.g. "" or "  name."


@dataclass(frozen=True)
class Entry:
    category: str
    key: str  # as written, extras included: "requests[socks]"
    name: str  # PEP 503 normalised, extras stripped
    value: str | Mapping[str, Any]
    form: EntryForm
    line: int | None
    span: Span | None = None  # the value's text, for STRING and INLINE forms
    members: tuple[Member, ...] = ()  # for TABLE form
    header_end: int | None = None  # end of the [cat.name] line, for TABLE form

    @property
    def version(self) -> str | None:
        if isinstance(self.value, str):
            return self.value
        version = self.value.get("version")
        return version if isinstance(version, str) else None

    @property
    def index(self) -> str | None:
        if isinstance(self.value, str):
            return None
        index = self.value.get("index")
        return index if isinstance(index, str) else None

    @property
    def non_registry_key(self) -> str | None:
        """The key (git, path, file, ...) that takes this entry off the index, if any."""
        if isinstance(self.value, str):
            return None
        return next((key for key in NON_REGISTRY_KEYS if key in self.value), None)


@dataclass(frozen=True)
class Source:
    name: str | None  # old Pipfiles have unnamed sources; nothing can refer to them
    url: str
    verify_ssl: bool | None
    line: int | None
    position: int  # order in the file: pipenv's first source is the default index


@dataclass(frozen=True)
class Pipfile:
    path: str
    text: str
    data: Mapping[str, Any]  # what tomllib made of the text
    sources: tuple[Source, ...]
    categories: Mapping[str, tuple[Entry, ...]]
    requires: Mapping[str, Any] = field(default_factory=dict)
    pipenv: Mapping[str, Any] = field(default_factory=dict)
    scripts: Mapping[str, Any] = field(default_factory=dict)
    source_block_end: int | None = None  # where the last [[source]] table's text ends
    first_header_start: int | None = None  # where the first table header line starts

    @property
    def newline(self) -> str:
        first = self.text.find("\n")
        return "\r\n" if first > 0 and self.text[first - 1] == "\r" else "\n"

    def entries(self) -> list[Entry]:
        return [entry for entries in self.categories.values() for entry in entries]

    def source_named(self, name: str) -> Source | None:
        return next((source for source in self.sources if source.name == name), None)


def package_name(key: str) -> str:
    """The PEP 503 name of a package key, ignoring extras written in the key."""
    return canonicalize_name(key.split("[", 1)[0].strip())


def toml_parse_error(exc: tomllib.TOMLDecodeError) -> PipfileError:
    """tomllib's error as one line naming its position, for every TOML manifest's parser."""
    message = str(exc)
    if match := _TOMLLIB_POSITION.search(message):
        return PipfileError(
            message[: match.start()], line=int(match.group(1)), column=int(match.group(2))
        )
    return PipfileError(_TOMLLIB_AT_END.sub(" at end of file", message))


def _table_of(value: Any, what: str, line: int | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PipfileError(f"{what} must be a table", line=line)
    return value


def load_toml(text: str) -> dict[str, Any]:
    """A manifest's TOML within the size and nesting limits, else a one-line PipfileError
    (with line and column); every TOML manifest's parser starts here."""
    check_text(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_parse_error(exc) from None
    check_depth(data)
    return data


def parse(text: str, path: str = "Pipfile") -> Pipfile:
    """Parse a Pipfile text; raise PipfileError (with line and column) when it is invalid."""
    data = load_toml(text)

    statements = scan(text)
    headers = [item for item in statements if isinstance(item, Header)]
    pairs = [item for item in statements if isinstance(item, Statement)]

    sources = _sources(data, headers)
    index = _Locations(text, headers, pairs)
    categories: dict[str, tuple[Entry, ...]] = {}
    for name, table in data.items():
        if name in RESERVED_TABLES or not isinstance(table, dict):
            continue
        categories[name] = tuple(index.entry(name, key, value) for key, value in table.items())

    source_block_end = max(
        (
            item.line_end
            for item in statements
            if (isinstance(item, Statement) and item.table == ("source",))
            or (isinstance(item, Header) and item.path == ("source",))
        ),
        default=None,
    )
    return Pipfile(
        path=path,
        text=text,
        data=data,
        sources=sources,
        categories=categories,
        requires=_table_of(data.get("requires", {}), "[requires]"),
        pipenv=_table_of(data.get("pipenv", {}), "[pipenv]"),
        scripts=_table_of(data.get("scripts", {}), "[scripts]"),
        source_block_end=source_block_end,
        first_header_start=headers[0].line_start if headers else None,
    )


def _sources(data: dict[str, Any], headers: list[Header]) -> tuple[Source, ...]:
    raw = data.get("source", [])
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise PipfileError("[[source]] must be an array of tables")
    lines = [header.line for header in headers if header.path == ("source",)]
    sources = []
    for position, item in enumerate(raw):
        line = lines[position] if position < len(lines) else None
        if not isinstance(item, dict):
            raise PipfileError("each [[source]] must be a table", line=line)
        name, url = item.get("name"), item.get("url")
        if not isinstance(url, str) or not isinstance(name, str | None):
            raise PipfileError("each [[source]] needs a url (and a name) as strings", line=line)
        verify = item.get("verify_ssl")
        sources.append(
            Source(name, url, verify if isinstance(verify, bool) else None, line, position)
        )
    return tuple(sources)


class _Locations:
    """Finds where each package entry is written, by category and key."""

    def __init__(self, text: str, headers: list[Header], pairs: list[Statement]):
        self._text = text
        self._headers = {h.path: h for h in headers if not h.is_array}
        self._pairs: dict[tuple[tuple[str, ...], tuple[str, ...]], Statement] = {}
        self._tables: dict[tuple[str, ...], list[Statement]] = {}
        for pair in pairs:
            self._pairs.setdefault((pair.table, pair.key), pair)
            if len(pair.key) == 1:
                self._tables.setdefault(pair.table, []).append(pair)
            elif len(pair.key) == 2:
                self._tables.setdefault(pair.table + pair.key[:1], []).append(pair)

    def entry(self, category: str, key: str, value: Any) -> Entry:
        name = package_name(key)
        pair = self._pairs.get(((category,), (key,)))
        if pair is not None:
            if isinstance(value, str):
                form = EntryForm.STRING
            elif isinstance(value, dict):
                form = EntryForm.INLINE
            else:
                raise PipfileError(
                    f"package {key!r} in [{category}] must be a version string or a table",
                    line=pair.line,
                )
            return Entry(category, key, name, value, form, pair.line, span=pair.value)
        if not isinstance(value, dict):
            raise PipfileError(
                f"package {key!r} in [{category}] must be a version string or a table"
            )
        header = self._headers.get((category, key))
        members = tuple(self._member(p) for p in self._tables.get((category, key), ()))
        line = header.line if header else (members[0].line if members else None)
        return Entry(
            category,
            key,
            name,
            value,
            EntryForm.TABLE,
            line,
            members=members,
            header_end=header.line_end if header else None,
        )

    def _member(self, pair: Statement) -> Member:
        own_key_start = pair.key_span.start
        if len(pair.key) == 2:  # dotted form: name.version = ...
            raw_key = self._text[pair.key_span.start : pair.key_span.end]
            own_key_start += raw_key.rfind(".") + 1
            while self._text[own_key_start] in " \t":
                own_key_start += 1
        return Member(
            key=pair.key[-1],
            value=pair.value,
            line=pair.line,
            line_end=pair.line_end,
            lead=self._text[pair.line_start : own_key_start],
        )
