"""Property tests for the Poetry rewrite, over pyproject.toml files written in many styles.

Each generated file is fixed with ``audit`` + ``rewrite`` and checked for: (a) meaning:
tomllib reads the generated data with ``source = "codeartifact"`` on every constraint
of every private dependency, an ``orb = {source = ...}`` entry per private [project]
requirement, the explicit CodeArtifact source added or made explicit, nothing else;
(b) a minimal diff: only the lines of private entries and of the CodeArtifact source
change, each keeping its key, indentation and trailing comment; (c) idempotence.
The generator knows what each file means and which lines may change, so the checks do
not trust the parser or the rewrite they test.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.listing import Listing
from pipfleet.engine.poetryproject import audit, parse
from pipfleet.engine.poetryrewrite import rewrite

CA_URL = "https://acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
TOKEN_URL = CA_URL.replace("https://", "https://aws:tok@")
PRIVATE = ("orb-common", "orb_utils", "Acme.Auth")
PUBLIC = ("requests", "flask")
LISTING = Listing.of(PRIVATE)
OPTIONS = AuditOptions(source_url=TOKEN_URL)
ADDED_SOURCE = {"name": "codeartifact", "url": CA_URL, "priority": "explicit"}

Draw = Callable[[st.SearchStrategy[Any]], Any]
QUOTES = st.sampled_from(['"', "'"])
SPACES = st.sampled_from(["", " ", "  "])
COMMENTS = st.sampled_from(["", "  # keep", ' # source = "pypi"', "\t#{x}"])


@dataclass
class Doc:
    lines: list[str] = field(default_factory=list)
    changeable: set[int] = field(default_factory=set)  # 0-based indexes into lines

    def add(self, line: str, changeable: bool = False) -> None:
        if changeable:
            self.changeable.add(len(self.lines))
        self.lines.append(line)


def key_of(name: str) -> str:
    return f'"{name}"' if "." in name else name


def text_of(draw: Draw, value: str) -> str:
    quote = draw(QUOTES)
    return f"{quote}{value}{quote}"


def inline(draw: Draw, pairs: dict[str, str]) -> str:
    pad = draw(SPACES)
    equals = draw(st.sampled_from(["=", " = "]))
    body = ", ".join(f"{k}{equals}{text_of(draw, v)}" for k, v in pairs.items())
    return "{" + pad + body + pad + "}"


def constraint(draw: Draw, private: bool, sources: list[str]) -> dict[str, str]:
    pairs = {"version": draw(st.sampled_from(["*", "^2", ">=1,<3"]))}
    if draw(st.booleans()):
        pairs["markers"] = "python_version >= '3.8'".replace("'", "")
    choices = ["none", *sources, "gone"] if private else ["none"]
    source = draw(st.sampled_from(choices))
    if source != "none":
        pairs["source"] = source
    return pairs


def dependency(
    draw: Draw,
    doc: Doc,
    table: list[tuple[str, Any]],
    subtables: list[Callable[[], None]],
    table_path: str,
    name: str,
    private: bool,
    sources: list[str],
    data: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    form = draw(st.sampled_from(["string", "inline", "list", "table"]))
    comment = draw(COMMENTS)
    if form == "string":
        version = draw(st.sampled_from(["*", "^2"]))
        table.append((f"{key_of(name)} = {text_of(draw, version)}{comment}", private))
        data[name] = version
        expected[name] = {"version": version, "source": "codeartifact"} if private else version
    elif form == "inline":
        pairs = constraint(draw, private, sources)
        table.append((f"{key_of(name)} = {inline(draw, pairs)}{comment}", private))
        data[name] = pairs
        expected[name] = {**pairs, "source": "codeartifact"} if private else pairs
    elif form == "list":
        both = [constraint(draw, private, sources) for _ in range(2)]
        rows = [f"{key_of(name)} = ["] + [f"    {inline(draw, c)}," for c in both] + ["]"]
        table.extend((row, private) for row in rows)
        data[name] = both
        expected[name] = [{**c, "source": "codeartifact"} for c in both] if private else both
    else:
        pairs = constraint(draw, private, sources)
        indent = draw(st.sampled_from(["", "  "]))

        def write() -> None:
            doc.add("")
            doc.add(f"[{table_path}.{key_of(name)}]")
            for key, value in pairs.items():
                doc.add(f"{indent}{key} = {text_of(draw, value)}", private and key == "source")

        subtables.append(write)
        data[name] = pairs
        expected[name] = {**pairs, "source": "codeartifact"} if private else pairs


@st.composite
def documents(draw: Draw) -> tuple[str, dict[str, Any], set[int], str]:
    doc = Doc()
    data: dict[str, Any] = {}
    pep621 = draw(st.booleans())
    project_names = draw(st.lists(st.sampled_from(PRIVATE + PUBLIC), unique=True)) if pep621 else []
    if pep621:
        doc.add("[project]")
        doc.add('name = "app"')
        doc.add("dependencies = [" + ", ".join(text_of(draw, n) for n in project_names) + "]")
        doc.add("")
        data["project"] = {"name": "app", "dependencies": project_names}
    doc.add("[tool.poetry]")
    doc.add("package-mode = false")
    data["tool"] = {"poetry": {"package-mode": False}}
    poetry = data["tool"]["poetry"]
    ca = draw(
        st.sampled_from(["absent", "explicit", "supplemental", "primary", "unset", "secondary"])
    )
    pypi = draw(st.sampled_from(["absent", "primary", "explicit"]))
    sources: list[dict[str, Any]] = []
    if pypi != "absent":
        sources.append({"name": "PyPI", "priority": pypi})
    sources.append({"name": "mirror", "url": "https://m.example/simple", "priority": "explicit"})
    if ca != "absent":
        source: dict[str, Any] = {"name": "codeartifact", "url": CA_URL}
        if ca == "secondary":
            source["secondary"] = True
        elif ca != "unset":
            source["priority"] = ca
        sources.insert(draw(st.integers(0, len(sources))), source)
    names = [s["name"] for s in sources]
    expected = copy.deepcopy(data)
    main_names = draw(st.lists(st.sampled_from(PRIVATE + PUBLIC), unique=True, max_size=4))
    group_names = draw(st.lists(st.sampled_from(PRIVATE + PUBLIC), unique=True, max_size=2))
    blocks: list[Callable[[], None]] = []
    for path, chosen in (
        ("tool.poetry.dependencies", main_names),
        ("tool.poetry.group.dev.dependencies", group_names),
    ):
        if not chosen and path.endswith("dev.dependencies"):
            continue
        rows: list[tuple[str, Any]] = []
        subtables: list[Callable[[], None]] = []
        table: dict[str, Any] = {}
        wanted: dict[str, Any] = {}
        if path == "tool.poetry.dependencies":
            rows.append(("python = '^3.11'", False))
            table["python"] = wanted["python"] = "^3.11"
        for name in chosen:
            dependency(
                draw, doc, rows, subtables, path, name, name in PRIVATE, names, table, wanted
            )

        def write(
            path: str = path,
            rows: list[tuple[str, Any]] = rows,
            subtables: list[Callable[[], None]] = subtables,
        ) -> None:
            doc.add("")
            doc.add(f"[{path}]")
            for row, changeable in rows:
                doc.add(row, changeable)
            for sub in subtables:
                sub()

        blocks.append(write)
        target = (
            poetry
            if path == "tool.poetry.dependencies"
            else poetry.setdefault("group", {}).setdefault("dev", {})
        )
        wanted_target = (
            expected["tool"]["poetry"]
            if path == "tool.poetry.dependencies"
            else (expected["tool"]["poetry"].setdefault("group", {}).setdefault("dev", {}))
        )
        target["dependencies"] = table
        wanted_target["dependencies"] = wanted
    for block in blocks:
        block()
    poetry["source"] = sources
    expected["tool"]["poetry"]["source"] = copy.deepcopy(sources)
    for source in sources:
        doc.add("")
        doc.add("[[tool.poetry.source]]")
        for key, value in source.items():
            written = "true" if value is True else text_of(draw, value)
            changeable = source["name"] == "codeartifact" and key in ("priority", "secondary")
            doc.add(f"{key} = {written}", changeable)
        if source["name"] == "codeartifact":
            doc.changeable.add(len(doc.lines) - 1)  # a priority line may follow the last
    # What the fix must make of it.
    main = expected["tool"]["poetry"].get("dependencies", {})
    pinned = set(main)
    private_used = [n for n in main_names + group_names if n in PRIVATE] + [
        n for n in project_names if n in PRIVATE and n not in pinned
    ]
    for name in project_names:
        if name in PRIVATE and name not in pinned:
            expected["tool"]["poetry"].setdefault("dependencies", {})[name] = {
                "source": "codeartifact"
            }
    wanted_sources = expected["tool"]["poetry"]["source"]
    if ca == "absent" and private_used:
        wanted_sources.append(dict(ADDED_SOURCE))
    elif ca in ("supplemental", "secondary") or (ca in ("primary", "unset") and pypi == "primary"):
        source = next(s for s in wanted_sources if s["name"] == "codeartifact")
        source.pop("secondary", None)
        source["priority"] = "explicit"
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(doc.lines) + newline, expected, doc.changeable, newline


@settings(max_examples=300, deadline=None)
@given(documents())
def test_the_fix_means_exactly_the_pins_changes_only_their_lines_and_is_idempotent(
    document: tuple[str, dict[str, Any], set[int], str],
) -> None:
    text, expected, changeable, newline = document
    note(text)
    report = audit(parse(text), LISTING, OPTIONS)
    new = rewrite(text, report)
    note(new)
    assert tomllib.loads(new) == expected
    assert newline == "\n" or "\n" not in new.replace("\r\n", "")
    old_lines, new_lines = text.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            assert set(range(i1, i2)) <= changeable, old_lines[i1:i2]
            for line in old_lines[i1:i2]:
                # A legacy flag gives way to the priority, on its line.
                lead = "priority = " if line.startswith("secondary") else line.split("=", 1)[0]
                lead = lead.split("{", 1)[0]
                assert any(n.startswith(lead) for n in new_lines[j1:j2]), line
                if "#" in line:
                    assert any(n.endswith(line[line.index("#") :]) for n in new_lines[j1:j2])
    after = audit(parse(new), LISTING, OPTIONS)
    assert after.fixable == ()
    assert rewrite(new, after) == new
