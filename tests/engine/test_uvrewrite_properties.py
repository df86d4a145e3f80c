"""Property tests for the uv rewrite, over pyproject.toml files written in many styles.

Each generated file is fixed with ``audit`` + ``rewrite`` and checked, against what the
generator planned rather than the parser under test, for:

(a) meaning: tomllib reads the old data with every private package pinned to the
    private index (its sources' indexes replaced, or a new ``{ index = ... }``), plus
    the CodeArtifact [[tool.uv.index]] when the file had none;
(b) a minimal diff: every old line is kept, or only its index name changes; every
    added line is a source pin, the [tool.uv.sources] header, a line of the added
    index or a blank line; the file's newline and final-newline style are kept;
(c) idempotence: auditing the output leaves nothing to fix; rewriting it changes nothing.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.listing import Listing
from pipfleet.engine.uvproject import audit, parse
from pipfleet.engine.uvrewrite import rewrite

CA_HOST = "acme-111122223333.d.codeartifact.eu-west-1.amazonaws.com"
CA_URL = f"https://{CA_HOST}/pypi/private/simple/"
SOURCE_URL = f"https://aws:${{CODEARTIFACT_AUTH_TOKEN}}@{CA_HOST}/pypi/private/simple/"
PRIVATE_NAMES = ("orb-common", "orb_utils", "Acme.Auth")
PUBLIC_NAMES = ("requests", "flask", "django-filter")
LISTING = Listing.of(PRIVATE_NAMES)
OPTIONS = AuditOptions(source_url=SOURCE_URL)
SPACES = st.sampled_from(["", " ", "  "])


@dataclass
class Doc:
    text: str
    newline: str
    target: str  # the private index's name once fixed
    has_private_index: bool
    private: list[str]  # the private names the file depends on, as written


def q(value: str, quote: str) -> str:
    return f"{quote}{value}{quote}"


@st.composite
def docs(draw: st.DrawFn) -> Doc:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    quote = draw(st.sampled_from(['"', "'"]))
    names = draw(
        st.lists(st.sampled_from(PRIVATE_NAMES + PUBLIC_NAMES), min_size=1, max_size=6, unique=True)
    )
    specs = [draw(st.sampled_from(["", ">=1", "==2.0", "[x]>=1,<3"])) for _ in names]
    items = [q(name + spec, quote) for name, spec in zip(names, specs, strict=True)]
    if draw(st.booleans()):
        body = "[" + ", ".join(items) + "]"
    else:
        comments = [draw(st.sampled_from(["", "  # private?", " # index = 'x'"])) for _ in items]
        body = newline.join(
            ["[", *(f"    {i},{c}" for i, c in zip(items, comments, strict=True)), "]"]
        )
    blocks = [newline.join(["[project]", f"name = {q('svc', quote)}", f"dependencies = {body}"])]
    ca_name = draw(st.sampled_from([None, "codeartifact", "internal"]))
    index_names = ["mirror", *([ca_name] if ca_name else [])]
    sourced = draw(st.lists(st.sampled_from(names), unique=True))
    source_lines, sub_tables = [], []
    for name in sourced:
        index = draw(st.sampled_from([*index_names, "nowhere"]))
        pad, eq = draw(SPACES), draw(st.sampled_from(["=", " = "]))
        form = draw(st.sampled_from(["inline", "marker", "array", "table"]))
        pin = f"index{eq}{q(index, quote)}"
        if form == "inline":
            source_lines.append(f"{name} = {{{pad}{pin}{pad}}}")
        elif form == "marker":
            marker = q("sys_platform == 'linux'", '"')
            source_lines.append(f"{name} = {{{pad}{pin}, marker = {marker}{pad}}}")
        elif form == "array":
            other = q("mirror", quote)
            source_lines.append(
                f"{name} = [{newline}    {{ {pin} }},{newline}    {{ index = {other} }},{newline}]"
            )
        else:
            sub_tables.append(newline.join([f"[tool.uv.sources.{q(name, chr(34))}]", pin]))
    if draw(st.booleans()):
        source_lines.sort(key=lambda line: canonicalize_name(line.split(" ")[0]))
    if source_lines or draw(st.booleans()):
        blocks.append(newline.join(["[tool.uv.sources]", *source_lines]))
    blocks += sub_tables
    index_blocks = [
        newline.join(
            [
                *(["# the mirror"] if draw(st.booleans()) else []),
                "[[tool.uv.index]]",
                f"name = {q('mirror', quote)}",
                f"url = {q('https://mirror.example/simple', quote)}",
            ]
        )
    ]
    if ca_name:
        explicit = [] if draw(st.booleans()) else ["explicit = true"]
        index_blocks.append(
            newline.join(
                [
                    "[[tool.uv.index]]",
                    f"name = {q(ca_name, quote)}",
                    f"url = {q(CA_URL, quote)}",
                    *explicit,
                ]
            )
        )
    at = draw(st.integers(0, len(blocks)))
    blocks[at:at] = index_blocks
    text = (newline * 2).join(blocks) + (newline if draw(st.booleans()) else "")
    private = [name for name in names if name in PRIVATE_NAMES]
    return Doc(text, newline, ca_name or "codeartifact", ca_name is not None, private)


def expected_data(doc: Doc) -> dict[str, Any]:
    data = copy.deepcopy(tomllib.loads(doc.text))
    uv = data.setdefault("tool", {}).setdefault("uv", {})
    sources = uv.get("sources", {})
    private = {canonicalize_name(name) for name in doc.private}
    pinned = set()
    for key, value in sources.items():
        if canonicalize_name(key) in private:
            pinned.add(canonicalize_name(key))
            for entry in value if isinstance(value, list) else [value]:
                entry["index"] = doc.target
    for name in private - pinned:
        uv.setdefault("sources", {})[name] = {"index": doc.target}
    if not doc.has_private_index and private:
        url = CA_URL
        uv.setdefault("index", []).append({"name": doc.target, "url": url, "explicit": True})
    return data


def allowed_addition(line: str, target: str) -> bool:
    pin = re.escape(target)
    return bool(
        line == ""
        or line == "[tool.uv.sources]"
        or line == "[[tool.uv.index]]"
        or re.fullmatch(rf"[a-z0-9-]+ = \{{ *index ?= ?[\"']{pin}[\"'] *\}}", line)
        or re.fullmatch(rf"name = [\"']{pin}[\"']", line)
        or line == f"url = {q(CA_URL, chr(34))}"
        or line == f"url = {q(CA_URL, chr(39))}"
        or line == "explicit = true"
    )


@settings(max_examples=200, deadline=None)
@given(docs())
def test_the_uv_rewrite_is_minimal_faithful_and_idempotent(doc: Doc) -> None:
    note(doc.text)
    report = audit(parse(doc.text), LISTING, OPTIONS)
    new = rewrite(doc.text, report, LISTING, OPTIONS)
    note(new)
    if not doc.private:
        assert new == doc.text
        return
    # (a) meaning
    assert tomllib.loads(new) == expected_data(doc)
    # (b) minimal diff, newline style kept
    if doc.newline == "\r\n":
        assert "\n" not in new.replace("\r\n", "")
    assert new.endswith("\n") == doc.text.endswith("\n")
    old_lines, new_lines = doc.text.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed, added = old_lines[i1:i2], new_lines[j1:j2]
        repinned = [
            line
            for line in removed
            if re.sub(r"(index ?= ?)([\"'])[a-z]+\2", rf"\1\2{doc.target}\2", line) in added
        ]
        assert repinned == removed, (tag, removed, added)
        rest = [
            line
            for line in added
            if not any(
                line == re.sub(r"(index ?= ?)([\"'])[a-z]+\2", rf"\1\2{doc.target}\2", old)
                for old in removed
            )
        ]
        assert all(allowed_addition(line, doc.target) for line in rest), rest
    # (c) idempotence
    after = audit(parse(new), LISTING, OPTIONS)
    assert after.fixable == ()
    assert rewrite(new, after, LISTING, OPTIONS) == new
