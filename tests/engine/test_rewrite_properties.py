"""Property tests for the rewrite, over Pipfiles written in many different styles.

Every generated Pipfile is fixed with ``audit`` + ``rewrite`` and checked for three things:

(a) meaning: tomllib (and plette, when it accepts the original) reads the same file with
    ``index`` = the private source added to exactly the private entries, plus the
    CodeArtifact [[source]] when the file had none;
(b) a minimal diff: only the lines of rewritten entries change, table-form entries only
    gain an ``index = ...`` line, the added [[source]] block is made of whole new lines,
    and every rewritten line keeps its key, spacing and trailing comment;
(c) idempotence: auditing the output finds every private entry compliant, and rewriting
    it again changes nothing.

The generator knows what each file means and where each entry is written, so the
checks do not trust the parser or the rewrite they test.
"""

from __future__ import annotations

import copy
import difflib
import io
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import plette
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from plette.models.base import DataValidationError
from tomlkit.exceptions import TOMLKitError

from pipfleet.engine.audit import AuditOptions, audit
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.pipfile import Pipfile, parse
from pipfleet.engine.rewrite import rewrite

INDEX_NAME = "codeartifact"
SOURCE_URL = (
    "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-111122223333.d.codeartifact."
    "eu-west-1.amazonaws.com/pypi/private/simple/"
)
# An existing private source has a CodeArtifact URL of its own: it is found by name
# ("codeartifact") or, under another name, by its URL's host.
EXISTING_PRIVATE_URL = (
    "https://acme-111122223333.d.codeartifact.eu-west-1.amazonaws.com/pypi/private/simple/"
)
PYPI_URL = "https://pypi.org/simple"
# plette reads a Pipfile without [[source]] as if it had this one.
PLETTE_DEFAULT_SOURCE = {"name": "pypi", "url": PYPI_URL, "verify_ssl": True}
PRIVATE_NAMES = ("orb-common", "orb-utils", "acme-auth")
PUBLIC_NAMES = ("requests", "flask", "django-filter")
LISTING = Listing.of(PRIVATE_NAMES)
OPTIONS = AuditOptions(index_name=INDEX_NAME, source_url=SOURCE_URL)

SPECS = ("==1.0", "*", ">=1,<2", "~=2.1", "==2.0.*")
MARKERS = ("python_version >= '3.8'", 'sys_platform == "linux"')
EXTRAS = ("socks", "security", "cli")
FIELDS = ("version", "extras", "markers", "index")
# Names an entry's index may hold: "private" is the private source's name when it is
# found by URL; "pypi" is wrong for a private package (or undefined without that source).
PRIVATE_INDEXES = ("pypi", "codeartifact", "private")
PUBLIC_INDEXES = ("pypi", "codeartifact")

SPACES = st.sampled_from(["", " ", "   ", "\t", " \t "])
INDENTS = st.sampled_from(["", "  ", "\t"])
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
COMMENT_BODIES = st.one_of(
    # Comments that look like what the rewrite edits must stay comments.
    st.sampled_from(["", " keep me", ' index = "pypi"', ' {version = "*"}', " [packages]", "#"]),
    # splitlines() would cut a line at U+2028/U+2029, where TOML does not.
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=8),
)


@dataclass(eq=False)
class PlannedEntry:
    """One generated package entry and where it is written."""

    category: str
    key: str  # the TOML key, decoded
    private: bool
    value: str | dict[str, Any]
    form: str  # "string", "inline", "table" ([cat.key] sub-table) or "dotted" (key.version = ...)
    # The line whose value the fix may replace: a string/inline entry's line, or an
    # existing index key's line in a table-form entry; what surrounds the value there.
    edit_prefix: str = ""
    edit_suffix: str = ""
    # What precedes ``index = ...`` on the line the fix inserts into a table-form entry
    # without an index key (its last key's indentation, or its dotted prefix).
    insert_lead: str | None = None
    line: int = 0  # 1-based; set when the file is assembled
    edit_line: int | None = None


@dataclass(eq=False)
class Line:
    """One generated line; its text holds "\\n" only inside a multi-line array."""

    text: str
    entry: PlannedEntry | None = None
    starts_entry: bool = False
    is_edit_line: bool = False


@dataclass
class Doc:
    """A generated Pipfile, what it means and where its entries are written."""

    text: str
    newline: str
    entries: list[PlannedEntry]
    data: dict[str, Any]  # what tomllib must read from ``text``
    private_source: str | None  # name of the [[source]] with a CodeArtifact URL, if any

    @property
    def target(self) -> str:
        return self.private_source or INDEX_NAME

    @property
    def needs_source(self) -> bool:
        return self.private_source is None and any(e.private for e in self.entries)

    def needs_fix(self, entry: PlannedEntry) -> bool:
        already = isinstance(entry.value, dict) and entry.value.get("index") == self.target
        return entry.private and not (already and self.private_source is not None)


Draw = Callable[[st.SearchStrategy[Any]], Any]


def key_text(draw: Draw, key: str) -> str:
    styles = (["bare"] if BARE_KEY.fullmatch(key) else []) + ["double", "single", "escaped"]
    style = draw(st.sampled_from(styles))
    if style == "bare":
        return key
    if style == "single":
        return f"'{key}'"
    if style == "escaped":  # a \uXXXX escape that the span scanner must decode like tomllib
        at = draw(st.integers(0, len(key) - 1))
        return f'"{key[:at]}\\u{ord(key[at]):04X}{key[at + 1 :]}"'
    return f'"{key}"'


def string_text(draw: Draw, value: str) -> str:
    """``value`` as a basic, literal or (one-line) multi-line string, whichever can hold it."""
    forms = [
        f"{quote}{value}{quote}" for quote in ('"', "'", '"""', "'''") if quote[0] not in value
    ]
    return draw(st.sampled_from(forms))


def array_text(draw: Draw, items: list[str], multiline: bool) -> str:
    rendered = [string_text(draw, item) for item in items]
    if multiline:
        return "[\n" + "".join(f"    {item},\n" for item in rendered) + "]"
    inner = draw(SPACES)
    separator = draw(SPACES) + "," + draw(SPACES)
    trailing = draw(st.sampled_from(["", ","])) if rendered else ""
    return "[" + inner + separator.join(rendered) + trailing + inner + "]"


def equals(draw: Draw) -> str:
    return draw(SPACES) + "=" + draw(SPACES)


def trailing_comment(draw: Draw) -> str:
    """What follows a value on its line: nothing, trailing whitespace or a comment."""
    kind = draw(st.sampled_from(["none", "spaces", "comment"]))
    if kind == "none":
        return ""
    spaces = draw(st.sampled_from([" ", "  ", "\t"]))
    return spaces if kind == "spaces" else spaces + "#" + draw(COMMENT_BODIES)


def fillers(draw: Draw) -> list[Line]:
    """Blank, whitespace-only and full-line comment lines."""
    kinds = draw(st.lists(st.sampled_from(["blank", "spaces", "comment"]), max_size=2))
    return [
        Line(
            ""
            if kind == "blank"
            else "  \t"
            if kind == "spaces"
            else draw(INDENTS) + "#" + draw(COMMENT_BODIES)
        )
        for kind in kinds
    ]


def draw_fields(
    draw: Draw, private: bool, min_size: int, multiline: bool
) -> list[tuple[str, Any, str]]:
    """(key, value, value as written) for a table entry's keys, in a random order."""
    fields = []
    for name in draw(st.lists(st.sampled_from(FIELDS), unique=True, min_size=min_size, max_size=4)):
        if name == "version":
            value: Any = draw(st.sampled_from(SPECS))
            text = string_text(draw, value)
        elif name == "extras":
            value = draw(st.lists(st.sampled_from(EXTRAS), unique=True, max_size=2))
            text = array_text(draw, value, multiline and draw(st.booleans()))
        elif name == "markers":
            value = draw(st.sampled_from(MARKERS))
            text = string_text(draw, value)
        else:
            value = draw(st.sampled_from(PRIVATE_INDEXES if private else PUBLIC_INDEXES))
            text = string_text(draw, value)
        fields.append((name, value, text))
    return fields


def member_lines(
    draw: Draw, entry: PlannedEntry, lead: str, fields: list[tuple[str, Any, str]]
) -> list[Line]:
    """The key lines of a table-form entry, each ``lead`` + key = value."""
    lines: list[Line] = []
    for name, _, text in fields:
        lines.extend(fillers(draw) if lines else [])
        prefix = lead + key_text(draw, name) + equals(draw)
        suffix = trailing_comment(draw)
        if name == "index":
            entry.edit_prefix, entry.edit_suffix = prefix, suffix
        lines.append(Line(prefix + text + suffix, entry, is_edit_line=name == "index"))
    if not any(name == "index" for name, _, _ in fields):
        entry.insert_lead = lead if fields or entry.form == "dotted" else ""
    return lines


@st.composite
def spellings(draw: Draw, canonical: str) -> str:
    """The canonical name with random case and separators: Orb_Common, ORB.common, ..."""
    words = [draw(st.sampled_from([w, w.capitalize(), w.upper()])) for w in canonical.split("-")]
    key = words[0]
    for word in words[1:]:
        key += draw(st.sampled_from(["-", "_", ".", "__"])) + word
    return key


NAMED_KEYS = st.sampled_from(PRIVATE_NAMES + PUBLIC_NAMES).flatmap(
    lambda canonical: spellings(canonical).map(lambda key: (canonical, key))
)


def draw_entry(
    draw: Draw, category: str, category_key: str, canonical: str, key: str
) -> tuple[PlannedEntry, list[Line], list[Line]]:
    """An entry, its lines inside the category table, and its own [cat.key] block if any."""
    private = canonical in PRIVATE_NAMES
    form = draw(st.sampled_from(["string", "inline", "table", "dotted"]))
    entry = PlannedEntry(category, key, private, "", form)
    written_key = key_text(draw, key)
    indent = draw(INDENTS)
    if form == "string":
        entry.value = draw(st.sampled_from(SPECS))
        value_text = string_text(draw, entry.value)
    elif form == "inline":
        fields = draw_fields(draw, private, 0, multiline=False)
        entry.value = {name: value for name, value, _ in fields}
        pairs = [key_text(draw, name) + equals(draw) + text for name, _, text in fields]
        value_text = "{" + draw(SPACES)
        for number, pair in enumerate(pairs):
            value_text += (draw(SPACES) + "," + draw(SPACES) if number else "") + pair
        value_text += draw(SPACES) + "}"
    if form in ("string", "inline"):
        entry.edit_prefix = indent + written_key + equals(draw)
        entry.edit_suffix = trailing_comment(draw)
        line = Line(entry.edit_prefix + value_text + entry.edit_suffix, entry, True, True)
        return entry, [line], []
    fields = draw_fields(draw, private, 1 if form == "dotted" else 0, multiline=True)
    entry.value = {name: value for name, value, _ in fields}
    if form == "dotted":
        dot = draw(st.sampled_from(["", " "]))
        lines = member_lines(draw, entry, indent + written_key + dot + "." + dot, fields)
        lines[0].starts_entry = True
        return entry, lines, []
    space = draw(st.sampled_from(["", " "]))
    header = f"{draw(INDENTS)}[{space}{category_key}{space}.{space}{written_key}{space}]"
    block = [Line(header + trailing_comment(draw), entry, starts_entry=True)]
    block.extend(member_lines(draw, entry, draw(INDENTS), fields))
    return entry, [], block


def source_lines(draw: Draw, name: str, url: str, verify: bool) -> list[Line]:
    values = {
        "name": string_text(draw, name),
        "url": string_text(draw, url),
        "verify_ssl": str(verify).lower(),
    }
    return [Line(draw(INDENTS) + "[[source]]" + trailing_comment(draw))] + [
        Line(key_text(draw, key) + equals(draw) + text + trailing_comment(draw))
        for key, text in values.items()
    ]


@st.composite
def pipfiles(draw: Draw) -> Doc:
    data: dict[str, Any] = {}
    blocks: list[list[Line]] = []
    sources = []
    if draw(st.booleans()):
        sources.append({"name": "pypi", "url": PYPI_URL, "verify_ssl": True})
    private_source = draw(st.one_of(st.none(), st.sampled_from(["codeartifact", "private"])))
    if private_source is not None:
        sources.append(
            {"name": private_source, "url": EXISTING_PRIVATE_URL, "verify_ssl": draw(st.booleans())}
        )
    source_blocks = [source_lines(draw, s["name"], s["url"], s["verify_ssl"]) for s in sources]
    if sources:
        data["source"] = sources
    blocks.extend(source_blocks)

    entries: list[PlannedEntry] = []
    for category in draw(
        st.lists(st.sampled_from(["packages", "dev-packages", "docs"]), unique=True, min_size=1)
    ):
        category_key = key_text(draw, category)
        # TOML keys must be unique within a table; two spellings of one package are fine.
        named = draw(st.lists(NAMED_KEYS, min_size=1, max_size=4, unique_by=lambda pair: pair[1]))
        drawn = [
            draw_entry(draw, category, category_key, canonical, key) for canonical, key in named
        ]
        # A category holding only sub-tables needs no [category] header of its own.
        has_header = any(lines for _, lines, _ in drawn) or draw(st.booleans())
        if has_header:
            space = draw(SPACES)
            header = f"{draw(INDENTS)}[{space}{category_key}{space}]{trailing_comment(draw)}"
            block = [Line(header)]
            for _, lines, _ in drawn:
                block += fillers(draw) + lines
            blocks.append(block)
        blocks.extend(own for _, _, own in drawn if own)
        if has_header or drawn:
            data[category] = {entry.key: entry.value for entry, _, _ in drawn}
        entries += [entry for entry, _, _ in drawn]
    if draw(st.booleans()):
        blocks.append([Line("[requires]"), Line("python_version" + equals(draw) + '"3.11"')])
        data["requires"] = {"python_version": "3.11"}
    if draw(st.booleans()):
        blocks.append(
            [
                Line("[scripts]"),
                Line("test" + equals(draw) + "'pytest -q'" + trailing_comment(draw)),
            ]
        )
        data["scripts"] = {"test": "pytest -q"}
    if draw(st.booleans()):
        blocks.append([Line("[pipenv]"), Line("allow_prereleases" + equals(draw) + "false")])
        data["pipenv"] = {"allow_prereleases": False}

    # Tables may come in any order, except that pypi stays the first source.
    blocks = draw(st.permutations(blocks))
    if len(source_blocks) == 2:
        first, second = (blocks.index(b) for b in source_blocks)
        if first > second:
            blocks[first], blocks[second] = blocks[second], blocks[first]

    lines = fillers(draw) + [line for block in blocks for line in block + fillers(draw)]
    number = 1
    for line in lines:
        if line.entry is not None and line.starts_entry:
            line.entry.line = number
        if line.entry is not None and line.is_edit_line:
            line.entry.edit_line = number
        number += line.text.count("\n") + 1
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(line.text.replace("\n", newline) for line in lines)
    if draw(st.booleans()):
        text += newline
    # A one-line file without a final newline shows no line-ending style to keep.
    return Doc(text, newline if newline in text else "\n", entries, data, private_source)


def pinned(value: str | dict[str, Any], index: str) -> dict[str, Any]:
    return (
        {"version": value, "index": index} if isinstance(value, str) else {**value, "index": index}
    )


def expected_data(doc: Doc) -> dict[str, Any]:
    data = copy.deepcopy(doc.data)
    for entry in doc.entries:
        if entry.private:
            data[entry.category][entry.key] = pinned(entry.value, doc.target)
    if doc.needs_source:
        added = {"name": INDEX_NAME, "url": SOURCE_URL, "verify_ssl": True}
        # Without sources, pipenv's implicit pypi is written out before the private one.
        data["source"] = [*(data.get("source") or [PLETTE_DEFAULT_SOURCE]), added]
    return data


def plette_data(text: str) -> dict[str, Any] | None:
    """What plette (pipenv's Pipfile reader) makes of a text, or None when it rejects it."""
    try:
        pipfile = plette.Pipfile.load(io.StringIO(text))
    except (DataValidationError, TOMLKitError):
        return None
    dumped = io.StringIO()
    pipfile.dump(dumped)
    return tomllib.loads(dumped.getvalue())


def check_meaning(doc: Doc, new: str) -> None:
    """(a) The output means the input plus the pins (and the added source)."""
    expected = expected_data(doc)
    assert tomllib.loads(new) == expected, "tomllib reads more (or less) than the fix in the output"
    if plette_data(doc.text) is None:
        event("plette rejects the original")
        return
    with_default = (
        expected if "source" in expected else {**expected, "source": [PLETTE_DEFAULT_SOURCE]}
    )
    assert plette_data(new) == with_default, (
        "plette reads more (or less) than the fix in the output"
    )


def without_added_source(doc: Doc, report: FileReport, new: str) -> str:
    """The output minus the [[source]] block the fix adds, checked to be whole lines."""
    if not doc.needs_source:
        return new
    # The block the audit announces as the fix is the block that must be written.
    [announced] = [f.expected for f in report.findings if f.kind is FindingKind.MISSING_SOURCE]
    assert announced is not None, "a missing source is reported without the block that fixes it"
    block, gap = announced.replace("\n", doc.newline), doc.newline * 2
    assert new.count(block) == 1, f"the output does not hold the announced block {block!r} once"
    start = new.index(block)
    end = start + len(block)
    assert start == 0 or new[start - 1] == "\n", "the added [[source]] block does not start a line"
    assert end == len(new) or new.startswith(doc.newline, end), (
        "the added block does not end a line"
    )
    if new[:start].endswith(gap):
        return new[: start - len(gap)] + new[end:]
    assert new.startswith(gap, end), "the added [[source]] block is not set off by a blank line"
    return new[:start] + new[end + len(gap) :]


def lines_of(text: str, newline: str) -> list[str]:
    # Supplying a missing final newline keeps text appended to the last line (an index
    # line after a file's last key) from counting as a change of that line.
    return (text if text.endswith("\n") else text + newline).splitlines(keepends=True)


def check_lines(doc: Doc, pipfile: Pipfile, report: FileReport, new: str) -> None:
    """(b) Only the lines of rewritten entries change; table forms only gain index lines."""
    located = {(entry.category, entry.key): entry.line for entry in pipfile.entries()}
    planned = {(entry.category, entry.key): entry.line for entry in doc.entries}
    assert located == planned, "the parsed model puts entries on other lines than they start on"
    assert new.endswith("\n") == doc.text.endswith("\n"), "the final newline was added or dropped"
    assert not set(new.replace(doc.newline, "")) & {"\r", "\n"}, "line endings got mixed"

    old_lines = lines_of(doc.text, doc.newline)
    new_lines = lines_of(without_added_source(doc, report, new), doc.newline)
    removed: list[tuple[int, str]] = []
    added: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag != "equal":
            removed += [(at + 1, old_lines[at]) for at in range(old_start, old_end)]
            added += new_lines[new_start:new_end]

    editable = {e.edit_line: e for e in doc.entries if doc.needs_fix(e) and e.edit_line is not None}
    unmatched = list(added)
    for number, old_line in removed:
        entry = editable.get(number)
        assert entry is not None, f"line {number} changed but holds no entry to fix: {old_line!r}"
        head = entry.edit_prefix
        tail = entry.edit_suffix + old_line[len(old_line.rstrip("\r\n")) :]
        rewritten = next(
            (
                line
                for line in unmatched
                if line.startswith(head)
                and line.endswith(tail)
                and len(line) > len(head) + len(tail)
            ),
            None,
        )
        assert rewritten is not None, (
            f"line {number} {old_line!r} is not rewritten in place: no added line keeps "
            f"{head!r} before the value and {tail!r} after it (added: {added!r})"
        )
        unmatched.remove(rewritten)
        value = tomllib.loads("v = " + rewritten[len(head) : len(rewritten) - len(tail)])["v"]
        wanted = (
            pinned(entry.value, doc.target) if entry.form in ("string", "inline") else doc.target
        )
        assert value == wanted, f"line {number} now holds {value!r} instead of {wanted!r}"
    inserted = Counter(
        f'{entry.insert_lead}index = "{doc.target}"{doc.newline}'
        for entry in doc.entries
        if doc.needs_fix(entry) and entry.insert_lead is not None
    )
    # An index line is single-quoted where its entry's values are; either quote means the same.
    single = f"index = '{doc.target}'"
    added_lines = [line.replace(single, f'index = "{doc.target}"') for line in unmatched]
    assert Counter(added_lines) == inserted, (
        f"added lines {unmatched!r} are not the index lines {sorted(inserted.elements())!r}"
    )


def check_idempotent(doc: Doc, new: str) -> None:
    """(c) The output audits clean for private entries and rewrites to itself."""
    again = parse(new)
    report = audit(again, LISTING, OPTIONS)
    private = {(entry.category, entry.key) for entry in doc.entries if entry.private}
    left = [
        finding
        for finding in report.findings
        if finding.kind is FindingKind.MISSING_SOURCE
        or (
            (finding.category, finding.package) in private
            and finding.kind is not FindingKind.COMPLIANT
        )
    ]
    assert not left, f"the fixed file still has findings: {left!r}"
    assert rewrite(again, report, SOURCE_URL) == new, "rewriting the fixed file changed it again"


@settings(max_examples=200, deadline=None)
@given(pipfiles())
def test_rewrite_pins_private_entries_and_changes_nothing_else(doc: Doc) -> None:
    assert tomllib.loads(doc.text) == doc.data, "test generator bug: the text means something else"
    event("a source is added" if doc.needs_source else "no source is added")
    event(f"{sum(doc.needs_fix(entry) for entry in doc.entries)} entries to fix")
    pipfile = parse(doc.text)
    report = audit(pipfile, LISTING, OPTIONS)
    new = rewrite(pipfile, report, SOURCE_URL)
    note(f"rewritten: {new!r}")
    check_meaning(doc, new)
    check_lines(doc, pipfile, report, new)
    check_idempotent(doc, new)
