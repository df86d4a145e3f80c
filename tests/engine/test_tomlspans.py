from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipfleet.engine.tomlspans import (
    Header,
    Statement,
    _first_too_deep,
    inline_table,
    scan,
    too_deep,
    value_end,
)

# What too_deep reads, and fragments that start strings and comments or break them.
_NESTING_PIECES = ["[", "]", "{", "}", '"', "'", "#", ".", ",", "=", "\n", "\r", "a", " "]
_NESTING_PIECES += ["\\", '"""', "'''", "[[", "]]", '"s"', "'l'", "a.b"]


def test_scan_reports_headers_and_statements_with_lines() -> None:
    text = '# top\n[[source]]\nname = "pypi"\n\n[packages]\n"a.b" = "*"  # c\n[packages.x]\nv = 1\n'
    items = list(scan(text))
    assert [type(item) for item in items] == [
        Header,
        Statement,
        Header,
        Statement,
        Header,
        Statement,
    ]
    source, name, packages, quoted, sub, member = items
    assert isinstance(source, Header) and source.is_array and source.line == 2
    assert isinstance(name, Statement) and name.table == ("source",) and name.array_index == 0
    assert isinstance(quoted, Statement) and quoted.key == ("a.b",) and quoted.line == 6
    assert text[quoted.value.start : quoted.value.end] == '"*"'
    assert text[quoted.line_end] == "\n" and text[quoted.line_start : quoted.line_end].endswith(
        "# c"
    )
    assert isinstance(sub, Header) and sub.path == ("packages", "x")
    assert isinstance(member, Statement) and member.table == ("packages", "x")


def test_multiline_values_and_strings_are_skipped_whole() -> None:
    text = (
        'a = [\n  "x", # comment ]\n  "y",\n]\n'
        'b = """multi\nline ] { \\""" """\n'
        "c = '''lit'''\n"
        'd = {e = ["[", "}"], f = "\\"q\\""}\n'
        "g = 1979-05-27 07:32:00Z\n"
    )
    items = [item for item in scan(text) if isinstance(item, Statement)]
    assert [item.key for item in items] == [("a",), ("b",), ("c",), ("d",), ("g",)]
    assert [item.line for item in items] == [1, 5, 7, 8, 9]
    assert text[items[4].value.start : items[4].value.end] == "1979-05-27 07:32:00Z"


def test_crlf_line_end_points_at_carriage_return() -> None:
    text = 'a = "1"  # x\r\nb = "2"\r\n'
    first = next(item for item in scan(text) if isinstance(item, Statement))
    assert text[first.line_end : first.line_end + 2] == "\r\n"


def test_dotted_and_quoted_keys_are_decoded() -> None:
    text = '[packages]\nfoo . version = \'1\'\n"b\\u0061r" = "*"\n\'lit\' = "*"\n'
    keys = [item.key for item in scan(text) if isinstance(item, Statement)]
    assert keys == [("foo", "version"), ("bar",), ("lit",)]


def test_inline_table_pairs_and_braces() -> None:
    text = 'x = {  version="*" ,extras = ["a", "b"],index="pypi"  }'
    start = text.index("{")
    table = inline_table(text, start)
    assert [pair.key for pair in table.pairs] == [("version",), ("extras",), ("index",)]
    assert text[table.pairs[2].value.start : table.pairs[2].value.end] == '"pypi"'
    assert text[table.close_brace] == "}"
    assert value_end(text, start) == len(text)


@given(st.lists(st.sampled_from(_NESTING_PIECES), max_size=40), st.integers(0, 4))
def test_too_deep_agrees_with_the_walk_one_event_at_a_time(pieces: list[str], limit: int) -> None:
    # too_deep rules nesting out with regular expressions and walks only when they cannot.
    text = "".join(pieces)
    assert too_deep(text, limit) == _first_too_deep(text, limit)
