"""Where things are in a TOML text: the byte spans tomllib does not give.

tomllib tells what a Pipfile means; this scanner tells where each table header
and key/value statement sits, so findings can name a line and rewrites can touch
exactly the characters they change. It runs only on text tomllib has already
accepted, so it can trust the grammar instead of re-validating it; ``too_deep``
alone reads any text, before a parser does.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

_SPACE = re.compile(r"[ \t]*")
_SPACE_NL_COMMENT = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_TO_EOL = re.compile(r"[^\r\n]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# The string patterns are "unrolled" (runs of plain characters between escapes), the
# same strings as one alternation per character but several times faster in re: a
# lock is mostly strings.
_BASIC_REST = r'[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"'  # after the opening quote
_LITERAL_REST = r"[^'\r\n]*'"
_BASIC = re.compile('"' + _BASIC_REST)
_LITERAL = re.compile("'" + _LITERAL_REST)
_ML_BASIC = re.compile(r'"""[^\\"]*(?:(?:\\[\s\S]|"(?!""))[^\\"]*)*"""(?:"{1,2})?')
_ML_LITERAL = re.compile(r"'''[\s\S]*?'''(?:'{1,2})?")
# Numbers, booleans, dates; a date-time may hold one space before its time part.
_ATOM = re.compile(r"[0-9A-Za-z_+\-.:]+(?: [0-9][0-9:.+\-Z]*)?")
_BRACKET_EVENT = re.compile(r"[\[\]{}\"'#]")
# What opens or closes a level, starts a string or comment, or joins or ends a dotted key.
_NESTING_EVENT = re.compile(r"[\[\]{}\"'#.,=\n]")
# Each string and comment as ``_first_too_deep`` reads them (three quotes start a
# multi-line string or nothing), else a quote that starts no valid string and all
# that follows it: a parser stops there, and so does one pass of ``sub``.
_NOT_STRUCTURE = re.compile(
    "|".join(
        (
            _ML_BASIC.pattern,
            '"(?!"")' + _BASIC_REST,
            _ML_LITERAL.pattern,
            "'(?!'')" + _LITERAL_REST,
            "#" + _TO_EOL.pattern,
            "[\"'][\\s\\S]*",
        )
    )
)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"[\[{][\]}]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Header:
    """A ``[table]`` or ``[[array.of.tables]]`` line."""

    path: tuple[str, ...]
    is_array: bool
    line: int
    line_start: int
    line_end: int  # offset of the line terminator (or end of text)


@dataclass(frozen=True)
class Statement:
    """A ``key = value`` statement and the table it belongs to."""

    table: tuple[str, ...]
    array_index: int | None  # which [[table]] element, for arrays of tables
    key: tuple[str, ...]
    key_span: Span
    value: Span
    line: int
    line_start: int
    line_end: int  # offset of the terminator of the statement's last line


@dataclass(frozen=True)
class InlinePair:
    key: tuple[str, ...]
    key_span: Span
    value: Span


@dataclass(frozen=True)
class InlineTable:
    pairs: tuple[InlinePair, ...]
    open_brace: int
    close_brace: int


def _decode_basic(raw: str) -> str:
    if "\\" not in raw:
        return raw[1:-1]
    decoded = tomllib.loads(f"k = {raw}")["k"]
    assert isinstance(decoded, str)
    return decoded


class _Lines:
    def __init__(self, text: str):
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def number(self, offset: int) -> int:
        return bisect_right(self._starts, offset)


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Offset just past ``pattern``'s match at ``pos``.

    The spacing, comment and to-end-of-line patterns match the empty string, and the key
    patterns are tried only where tomllib has accepted a key: a miss is a bug here.
    """
    match = pattern.match(text, pos)
    assert match is not None, f"no {pattern.pattern!r} at offset {pos}"
    return match.end()


def _string(text: str, pos: int) -> re.Match[str] | None:
    if text.startswith('"""', pos):
        return _ML_BASIC.match(text, pos)
    if text.startswith("'''", pos):
        return _ML_LITERAL.match(text, pos)
    if text[pos] == '"':
        return _BASIC.match(text, pos)
    return _LITERAL.match(text, pos)


def _string_end(text: str, pos: int) -> int:
    match = _string(text, pos)
    assert match is not None, f"unterminated string at offset {pos}"
    return match.end()


def too_deep(text: str, limit: int) -> int | None:
    """Offset of the first bracket or key dot that nests ``text`` deeper than ``limit``.

    Each ``[`` or ``{`` opens a level, and a dotted key of n dots nests at least n levels
    (the tables it creates), so a text this returns an offset for, if valid, nests deeper
    than ``limit`` once parsed. It reads any text, valid or not (see ``_first_too_deep``).
    Every Pipfile and lock is checked and nearly none nests deep, so the walk one event
    at a time, which finds the offset, runs only when a look at the whole text with
    regular expressions (the same strings and comments skipped, the same brackets and
    key dots counted) cannot rule a too deep nesting out.
    """
    # The brackets and key dots a parser reaches, with no string or comment around.
    reached = _NOT_STRUCTURE.sub("", text)
    if _dot_run(limit).search(reached) is not None:
        return _first_too_deep(text, limit)
    brackets = _NOT_BRACKET.sub("", reached)
    # Each round removes the innermost pairs: brackets that never close more than they
    # opened and nest at most ``limit`` deep are all gone after ``limit`` rounds.
    for _ in range(limit):
        if not brackets:
            return None
        brackets = _INNERMOST_PAIR.sub("", brackets)
    return None if not brackets else _first_too_deep(text, limit)


@cache
def _dot_run(limit: int) -> re.Pattern[str]:
    """More than ``limit`` key dots with nothing that ends a dotted key between them."""
    return re.compile(rf"\.(?:[^\[\]{{}},=\n.]*\.){{{limit}}}")


def _first_too_deep(text: str, limit: int) -> int | None:
    """``too_deep``, one event at a time.

    It reads any text, valid or not: the string patterns
    accept every valid string, and a parser reading left to right stops at the first
    invalid character, so what is counted up to a string they refuse (or a bracket that
    closes nothing) is all a parser can reach. JSON is read alike: valid JSON has no
    ``'``, ``#`` or ``\"\"\"`` outside its strings.
    """
    depth = dots = pos = 0
    while (event := _NESTING_EVENT.search(text, pos)) is not None:
        char, pos = event.group(), event.start()
        if char in "\"'":
            string = _string(text, pos)
            if string is None:
                return None
            pos = string.end()
            continue
        if char == "#":
            pos = _match_end(_TO_EOL, text, pos)
            continue
        pos += 1
        if char == ".":
            dots += 1
            if dots > limit:
                return event.start()
            continue
        dots = 0
        if char in "[{":
            depth += 1
            if depth > limit:
                return event.start()
        elif char in "]}":
            depth -= 1
            if depth < 0:
                return None
    return None


def _bracketed_end(text: str, pos: int) -> int:
    depth = 0
    while True:
        event = _BRACKET_EVENT.search(text, pos)
        assert event is not None, "unbalanced brackets"
        char, pos = event.group(), event.start()
        if char in "\"'":
            pos = _string_end(text, pos)
        elif char == "#":
            pos = _match_end(_TO_EOL, text, pos)
        elif char in "[{":
            depth += 1
            pos += 1
        else:
            depth -= 1
            pos += 1
            if depth == 0:
                return pos


def value_end(text: str, pos: int) -> int:
    """Offset just past the TOML value that starts at ``pos``."""
    char = text[pos]
    if char in "\"'":
        return _string_end(text, pos)
    if char in "[{":
        return _bracketed_end(text, pos)
    match = _ATOM.match(text, pos)
    assert match is not None and match.end() > pos, f"no value at offset {pos}"
    return match.end()


def _key(text: str, pos: int) -> tuple[tuple[str, ...], int]:
    parts: list[str] = []
    while True:
        char = text[pos]
        if char == '"':
            end = _match_end(_BASIC, text, pos)
            parts.append(_decode_basic(text[pos:end]))
        elif char == "'":
            end = _match_end(_LITERAL, text, pos)
            parts.append(text[pos + 1 : end - 1])
        else:
            end = _match_end(_BARE_KEY, text, pos)
            parts.append(text[pos:end])
        after = _match_end(_SPACE, text, end)
        if after < len(text) and text[after] == ".":
            pos = _match_end(_SPACE, text, after + 1)
            continue
        return tuple(parts), end


def _line_end(text: str, pos: int) -> int:
    """Offset of the terminator of the line holding ``pos`` (the '\\r' of CRLF) or len(text)."""
    return _match_end(_TO_EOL, text, pos)


# Cached by text: parsing a Pipfile, working out its style for the audit's expected values
# and rewriting it each walk the same text (about a third of an audit's time before).
@lru_cache(maxsize=8)
def scan(text: str) -> tuple[Header | Statement, ...]:
    """Every header and key/value statement of a valid TOML text, in order."""
    return tuple(_statements(text))


def _statements(text: str) -> Iterator[Header | Statement]:
    lines = _Lines(text)
    table: tuple[str, ...] = ()
    array_index: int | None = None
    array_counts: dict[tuple[str, ...], int] = {}
    pos, size = 0, len(text)
    while pos < size:
        pos = _match_end(_SPACE, text, pos)
        if pos >= size:
            break
        char = text[pos]
        if char in "\r\n":
            pos += 1
            continue
        if char == "#":
            pos = _match_end(_TO_EOL, text, pos)
            continue
        line_start = text.rfind("\n", 0, pos) + 1
        if char == "[":
            is_array = text.startswith("[[", pos)
            key_pos = _match_end(_SPACE, text, pos + (2 if is_array else 1))
            path, key_stop = _key(text, key_pos)
            close = text.index("]", key_stop) + (2 if is_array else 1)
            end = _line_end(text, close)
            table = path
            if is_array:
                array_index = array_counts.get(path, -1) + 1
                array_counts[path] = array_index
            else:
                array_index = None
            yield Header(path, is_array, lines.number(pos), line_start, end)
            pos = end
            continue
        key, key_stop = _key(text, pos)
        eq = _match_end(_SPACE, text, key_stop)
        start = _match_end(_SPACE, text, eq + 1)
        stop = value_end(text, start)
        end = _line_end(text, stop)
        yield Statement(
            table=table,
            array_index=array_index,
            key=key,
            key_span=Span(pos, key_stop),
            value=Span(start, stop),
            line=lines.number(pos),
            line_start=line_start,
            line_end=end,
        )
        pos = end


def inline_table(text: str, start: int) -> InlineTable:
    """The key/value pairs of the inline table whose ``{`` is at ``start``."""
    assert text[start] == "{", f"no inline table at offset {start}"
    pairs: list[InlinePair] = []
    pos = _match_end(_SPACE_NL_COMMENT, text, start + 1)
    while text[pos] != "}":
        key, key_stop = _key(text, pos)
        eq = _match_end(_SPACE, text, key_stop)
        value_start = _match_end(_SPACE, text, eq + 1)
        stop = value_end(text, value_start)
        pairs.append(InlinePair(key, Span(pos, key_stop), Span(value_start, stop)))
        pos = _match_end(_SPACE_NL_COMMENT, text, stop)
        if text[pos] == ",":
            pos = _match_end(_SPACE_NL_COMMENT, text, pos + 1)
    return InlineTable(tuple(pairs), start, pos)
