"""Hostile Pipfiles and locks: each is a parse-error, an unfixable lock or plain data.

A family of files is generated per way of nesting and per way of spelling a number, at
the bounds of ``limits`` and far past them. At a bound a file is audited and fixed like
any other (its lock brought along), so every consumer of the parsed data copes with
that depth; past it the file is one ``parse-error`` finding, never an exception.
"""

from __future__ import annotations

import json
import random
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import SOURCE_URL

from pipfleet.engine.audit import AuditOptions, audit_text
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.fixset import build_fix
from pipfleet.engine.limits import MAX_DEPTH, MAX_DIGITS, TOO_DEEP, TOO_LONG
from pipfleet.engine.listing import Listing
from pipfleet.engine.lockfile import HashScheme, detect_scheme, dump_lock, pipfile_hash
from pipfleet.engine.pipfile import parse
from pipfleet.errors import PipfileError

LISTING = Listing({"orb-common": frozenset({"2.1.0"}), "orb-auth": frozenset({"1.0"})})
OPTIONS = AuditOptions(source_url=SOURCE_URL)
PRIVATE = '[packages]\norb-common = "==2.1.0"\n'
FORMS = ("array", "inline-table", "dotted-key", "table", "array-of-tables", "private-entry")


def nested(form: str, depth: int) -> str:
    """A Pipfile with a private entry to fix, nesting ``depth`` levels (the document is 0).

    [requires] holds the deep value: it is part of the lock's hash, so fixing the file
    also serialises it.
    """
    match form:
        case "array":  # requires, then depth - 1 arrays
            return PRIVATE + "[requires]\ndeep = " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
        case "inline-table":
            braces = depth - 1
            return PRIVATE + "[requires]\ndeep = " + "{a = " * braces + "1" + "}" * braces + "\n"
        case "dotted-key":  # requires.deep.a...: the last part names a value
            return PRIVATE + "[requires]\ndeep" + ".a" * (depth - 1) + " = 1\n"
        case "table":
            return PRIVATE + "[" + ".".join(["requires"] + ["t"] * (depth - 1)) + "]\nk = 1\n"
        case "array-of-tables":  # the last part is the array, its table one level deeper
            return PRIVATE + "[[" + ".".join(["requires"] + ["t"] * (depth - 2)) + "]]\nk = 1\n"
        case "private-entry":  # rendered by tomlkit for the finding's current value
            arrays = depth - 2  # packages and orb-common, then the arrays
            return (
                '[packages.orb-common]\nversion = "==2.1.0"\nmarkers = "os_name == \'posix\'"\n'
                "x = " + "[" * arrays + "]" * arrays + "\n"
            )
    raise AssertionError(form)


def lock_for(text: str) -> str:
    data = parse(text).data
    return dump_lock(
        {
            "_meta": {"hash": {"sha256": pipfile_hash(data, HashScheme.CANONICAL)}, "sources": []},
            "default": {"orb-common": {"version": "==2.1.0"}},
        }
    )


def only_parse_error(text: str) -> Any:
    pipfile, report = audit_text(text, "Pipfile", LISTING, OPTIONS)
    assert pipfile is None
    (finding,) = report.findings
    assert finding.kind is FindingKind.PARSE_ERROR
    fix = build_fix({"Pipfile": text}, {"Pipfile.lock": "{}"}, LISTING, OPTIONS)
    assert fix.empty and not fix.unfixable
    return finding


def fixed_with_its_lock(text: str) -> str:
    _, report = audit_text(text, "Pipfile", LISTING, OPTIONS)
    assert [f.kind for f in report.findings if f.fixable] == [
        FindingKind.MISSING_SOURCE,
        FindingKind.MISSING_INDEX,
    ]
    fix = build_fix({"Pipfile": text}, {"Pipfile.lock": lock_for(text)}, LISTING, OPTIONS)
    assert not fix.unfixable
    assert [change.path for change in fix.changes] == ["Pipfile", "Pipfile.lock"]
    new_text = fix.changes[0].new_text
    assert audit_text(new_text, "Pipfile", LISTING, OPTIONS)[1].compliant
    return new_text


@pytest.mark.parametrize("form", FORMS)
def test_nesting_at_the_bound_is_audited_and_fixed(form: str) -> None:
    text = nested(form, MAX_DEPTH)
    old, new = parse(text).data, parse(fixed_with_its_lock(text)).data
    if form == "private-entry":
        assert new["packages"]["orb-common"]["x"] == old["packages"]["orb-common"]["x"]
    else:
        assert new["requires"] == old["requires"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 3000])
@pytest.mark.parametrize("form", FORMS)
def test_nesting_past_the_bound_is_a_parse_error(form: str, depth: int) -> None:
    finding = only_parse_error(nested(form, depth))
    assert finding.message == TOO_DEEP


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("x = " + "[" * 500 + "]" * 500, 1, 4 + MAX_DEPTH + 1),
        (
            '[packages]\n\nx = {a = {b = [{c = "' + "[" * 900 + '"}]}}\ny = ' + "{a=" * 99,
            4,
            5 + 3 * MAX_DEPTH,
        ),
        ("[" + "a." * 3000 + "a]", 1, 2 + 2 * MAX_DEPTH + 1),
    ],
    ids=["arrays", "after-brackets-in-a-string", "header"],
)
def test_the_text_check_names_where_the_nesting_goes_too_deep(
    text: str, line: int, column: int
) -> None:
    finding = only_parse_error(text)
    assert (finding.message, finding.line, finding.column) == (TOO_DEEP, line, column)


@pytest.mark.parametrize(
    "text",
    [
        '[packages]\nx = "' + "[" * 5000 + '"\n',
        "[packages]\nx = '" + "{" * 5000 + "'\n",
        '[packages]\nx = """\n' + "[" * 5000 + '\n"""\n',
        "[packages]\nx = '''" + "[." * 5000 + "'''\n",
        "# " + "[" * 5000 + "\n[packages]\nx = '*'\n",
        '[packages]\n"' + "a." * 5000 + '" = "*"\n',
        '[packages]\nx = "\\"' + "[" * 5000 + '"\n',
    ],
    ids=["basic", "literal", "multiline-basic", "multiline-literal", "comment", "key", "escape"],
)
def test_brackets_and_dots_in_strings_and_comments_do_not_nest(text: str) -> None:
    pipfile, report = audit_text(text, "Pipfile", LISTING, OPTIONS)
    assert pipfile is not None and report.parse_error is None


def test_an_unterminated_string_stops_the_count_where_tomllib_stops() -> None:
    finding = only_parse_error('[packages]\nx = "open\n' + "[" * 5000)
    assert finding.message != TOO_DEEP and finding.line == 2


NUMBERS = {
    "version-string": '[packages]\norb-auth = "=={}"\n',
    "version-segment": '[packages]\norb-auth = "==1.{}"\n',
    "integer": "[requires]\nn = {}\n",
    "negative-integer": "[requires]\nn = -{}\n",
    "float": "[requires]\nn = 0.{}\n",
    "underscores": "[requires]\nn = {}\n",
    "in-an-array": "[requires]\nn = [1, {}]\n",
}


def digits(form: str, count: int) -> str:
    return "_".join("9" * count) if form == "underscores" else "9" * count


@pytest.mark.parametrize("count", [MAX_DIGITS + 1, 4301, 5000, 100_000])
@pytest.mark.parametrize("form", NUMBERS)
def test_a_number_past_the_bound_is_a_parse_error(form: str, count: int) -> None:
    finding = only_parse_error(NUMBERS[form].format(digits(form, count)))
    assert (finding.message, finding.line) == (TOO_LONG, 2)


@pytest.mark.parametrize("form", NUMBERS)
def test_a_number_at_the_bound_is_read(form: str) -> None:
    text = NUMBERS[form].format(digits(form, MAX_DIGITS))
    pipfile, report = audit_text(text, "Pipfile", LISTING, OPTIONS)
    assert pipfile is not None and report.parse_error is None
    if form.startswith("version"):
        assert FindingKind.VERSION_NOT_FOUND in {f.kind for f in report.findings}


GIT = '{git = "https://example.com/x.git"}'


@pytest.mark.parametrize(
    ("line", "package", "kind"),
    [
        (f'"evil\\u0000name" = {GIT}', "evil\x00name", FindingKind.NON_REGISTRY),
        (f'"\\u001b[2J\\u0007" = {GIT}', "\x1b[2J\x07", FindingKind.NON_REGISTRY),
        ('"orb-auth[\\u0000]" = "==1.0"', "orb-auth[\x00]", FindingKind.MISSING_INDEX),
        ('"orb-auth[\\u202e]" = "==1.0"', "orb-auth[\u202e]", FindingKind.MISSING_INDEX),
    ],
)
def test_escaped_control_characters_are_data(line: str, package: str, kind: FindingKind) -> None:
    text = f"[packages]\n{line}\n"
    _, report = audit_text(text, "Pipfile", LISTING, OPTIONS)
    finding = next(f for f in report.findings if f.package is not None)
    assert (finding.kind, finding.package) == (kind, package)
    fix = build_fix({"Pipfile": text}, {}, LISTING, OPTIONS)
    assert not fix.unfixable and fix.empty is (kind is FindingKind.NON_REGISTRY)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f"])
def test_raw_control_characters_are_a_parse_error(char: str) -> None:
    finding = only_parse_error(f'[packages]\norb-common = "=={char}2.1.0"\n')
    assert finding.line == 2


def test_a_lone_surrogate_is_data() -> None:
    text = '[packages]\n"orb-auth[\ud800]" = "==1.0"\n'
    _, report = audit_text(text, "Pipfile", LISTING, OPTIONS)
    assert [f.package for f in report.findings if f.package] == ["orb-auth[\ud800]"]


def test_a_100k_character_private_name_is_fixed() -> None:
    name = "orb-" + "".join(random.Random(10).choices(string.ascii_lowercase, k=100_000))
    listing = Listing({name: frozenset({"1.0"})})
    text = f'[packages]\n{name} = "==1.0"\n"{"x" * 100_000}" = "*"\n'
    fix = build_fix({"Pipfile": text}, {}, listing, OPTIONS)
    assert [entry.package for entry in fix.entries] == [name]
    assert f'{name} = {{version = "==1.0", index = "codeartifact"}}' in fix.changes[0].new_text


# --- locks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        ('{"_meta": ' + "[" * 5000 + "]" * 5000 + "}", TOO_DEEP),
        ('{"_meta": ' + '{"a": ' * 3000 + "1" + "}" * 3001, TOO_DEEP),
        ('{"_meta": {"hash": {"sha256": ' + "9" * 5000 + "}}}", TOO_LONG),
        ('{"_meta": {"n": -' + "9" * (MAX_DIGITS + 1) + "}}", TOO_LONG),
    ],
    ids=["arrays", "objects", "integer", "negative-integer"],
)
def test_a_hostile_lock_is_a_pipfile_error_and_unfixable(lock: str, message: str) -> None:
    with pytest.raises(PipfileError) as caught:
        detect_scheme(lock, parse(PRIVATE).data)
    assert caught.value.message == f"Pipfile.lock cannot be read: {message}"
    assert caught.value.line == 1
    fix = build_fix({"Pipfile": PRIVATE}, {"Pipfile.lock": lock}, LISTING, OPTIONS)
    assert fix.unfixable == (f"Pipfile.lock: {caught.value}",)


def test_a_lock_at_the_bound_is_read() -> None:
    arrays = MAX_DEPTH - 1  # the object is level 1
    lock = '{"x": ' + "[" * arrays + "]" * arrays + ', "n": ' + "9" * MAX_DIGITS + "}"
    assert detect_scheme(lock, parse(PRIVATE).data) is None


# --- anything at all -----------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "[packages]\n",
        "[[source]]\n",
        "[requires]\n",
        "orb-common = ",
        "orb-auth.version = ",
        '"==2.1.0"',
        '"==' + "9" * 700 + '"',
        "9" * 700,
        '"evil\\u0000name"',
        "{",
        "}",
        "[",
        "]",
        ", ",
        " = ",
        ".a" * 70,
        "\n",
        "#",
        '"',
        "'''",
        'name = "codeartifact"\n',
        'url = "http://[::1"\n',
        'index = "codeartifact"',
        "1979-05-27",
        "nan",
        "\x00",
    ]
)


# Valid TOML more often than not: keys and strings quoted by json.dumps, which TOML reads.
KEYS = st.one_of(
    st.sampled_from(["orb-common", "orb-auth[x]", "version", "index", "git", "name", "url"]),
    st.text(max_size=8),
).map(json.dumps)
SCALARS = st.one_of(
    st.sampled_from(["1979-05-27", "07:32:00", "nan", "-inf", "true", "9" * (MAX_DIGITS + 1)]),
    st.sampled_from(["==2.1.0", "*", "codeartifact", "pypi", "http://[::1", SOURCE_URL]).map(
        json.dumps
    ),
    st.integers().map(str),
    st.text(max_size=8).map(json.dumps),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(KEYS, inner), max_size=3).map(
            lambda pairs: "{" + ", ".join(f"{key} = {value}" for key, value in pairs) + "}"
        ),
    ),
    max_leaves=8,
)
HEADERS = st.sampled_from(
    ["[packages]", "[dev-packages]", "[requires]", "[[source]]", "[packages.orb-common]", "[x]"]
)
DOCUMENTS = st.lists(
    st.tuples(HEADERS, st.lists(st.tuples(KEYS, VALUES), max_size=4)), max_size=4
).map(
    lambda tables: "".join(
        header + "\n" + "".join(f"{key} = {value}\n" for key, value in pairs)
        for header, pairs in tables
    )
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(DOCUMENTS, st.lists(st.one_of(FRAGMENTS, st.text(max_size=5))).map("".join)))
def test_no_text_makes_audit_or_fix_raise(text: str) -> None:
    pipfile, _ = audit_text(text, "Pipfile", LISTING, OPTIONS)
    lock = text
    if pipfile is not None:
        try:
            lock = lock_for(text)
        except PipfileError:  # a date or time: no lock can hash it
            pass
    build_fix({"Pipfile": text}, {"Pipfile.lock": lock}, LISTING, OPTIONS)
