from __future__ import annotations

import json

import pytest

from pipfleet.engine.audit import AuditOptions, audit
from pipfleet.engine.listing import parse_listing
from pipfleet.engine.pipfile import parse
from pipfleet.engine.provenance import locked_packages
from pipfleet.engine.rewrite import rewrite, unified_diff
from pipfleet.errors import FixError, RewriteError

CA_URL = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
PYPI = '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
PRIVATE = f'[[source]]\nname = "codeartifact"\nurl = "{CA_URL}"\nverify_ssl = true\n\n'
LISTING = parse_listing("orb-common\norb-utils\norb-x\n")


def fix(text: str, source_url: str | None = CA_URL) -> str:
    pipfile = parse(text)
    return rewrite(
        pipfile, audit(pipfile, LISTING, AuditOptions(source_url=source_url)), source_url
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'orb-common = "==2.1.0"   # keep me',
            'orb-common = {version = "==2.1.0", index = "codeartifact"}   # keep me',
        ),
        ("orb-common='*'", "orb-common={version = '*', index = 'codeartifact'}"),
        ('"Orb_Common" = ">=1,<2"', '"Orb_Common" = {version = ">=1,<2", index = "codeartifact"}'),
        (
            'orb-common = {version = ">=1", extras = ["a", "b"]}  # c',
            'orb-common = {version = ">=1", extras = ["a", "b"], index = "codeartifact"}  # c',
        ),
        (
            "orb-common = {  version='*',markers=\"os_name=='nt'\"  }",
            "orb-common = {  version='*',markers=\"os_name=='nt'\",index=\"codeartifact\"  }",
        ),
        ('orb-common={version="*"}', 'orb-common={version="*", index="codeartifact"}'),
        (
            'orb-common = {version = "*", index = "pypi", extras = ["x"]}',
            'orb-common = {version = "*", index = "codeartifact", extras = ["x"]}',
        ),
        (
            'orb-common = {version = "*", index = "nowhere"}',
            'orb-common = {version = "*", index = "codeartifact"}',
        ),
    ],
)
def test_entry_rewrites_keep_style(line: str, expected: str) -> None:
    before = PYPI + PRIVATE + "[packages]\n" + line + "\nrequests = '*'\n"
    assert fix(before) == PYPI + PRIVATE + "[packages]\n" + expected + "\nrequests = '*'\n"


# --- quoting and spacing: what the fix writes looks like the file around it ----------------


def packages(*lines: str) -> str:
    return PYPI + PRIVATE + "[packages]\n" + "".join(line + "\n" for line in lines)


def test_a_single_quoted_file_gets_a_single_quoted_index() -> None:
    # The demo's orb-storage came out as {version = '>=3.6.0', index = "codeartifact"}.
    before = packages("orb-common = '>=3.6.0'", "requests = '*'")
    assert fix(before) == packages(
        "orb-common = {version = '>=3.6.0', index = 'codeartifact'}", "requests = '*'"
    )


def test_an_inline_table_keeps_its_own_quotes() -> None:
    before = packages("orb-common = {version = '>=1', extras = ['a']}", 'requests = "*"')
    assert fix(before) == packages(
        "orb-common = {version = '>=1', extras = ['a'], index = 'codeartifact'}", 'requests = "*"'
    )


def test_a_replaced_index_keeps_its_quote() -> None:
    before = packages("orb-common = {version = \"*\", index = 'pypi'}")
    assert fix(before) == packages("orb-common = {version = \"*\", index = 'codeartifact'}")


def test_a_string_entry_gets_the_spacing_of_the_neighbouring_inline_tables() -> None:
    before = packages(
        'orb-common = "==2.1.0"',
        'requests = { version = "*", extras = ["socks"] }',
        'django = { version = "==5.0" }',
    )
    assert fix(before) == packages(
        'orb-common = { version = "==2.1.0", index = "codeartifact" }',
        'requests = { version = "*", extras = ["socks"] }',
        'django = { version = "==5.0" }',
    )


def test_a_tight_file_stays_tight_and_the_majority_decides() -> None:
    before = packages(
        "orb-common = '==2.1.0'",
        "a = {version='*', extras=['x']}",
        "b = {version='*'}",
        "c = { version = '*' }",
    )
    assert fix(before) == packages(
        "orb-common = {version='==2.1.0', index='codeartifact'}",
        "a = {version='*', extras=['x']}",
        "b = {version='*'}",
        "c = { version = '*' }",
    )


def test_a_one_key_inline_table_is_separated_as_the_file_separates() -> None:
    before = packages("orb-common = {version = '*'}", "a = {version = '*' ,  extras = ['x']}")
    assert fix(before) == packages(
        "orb-common = {version = '*' ,  index = 'codeartifact'}",
        "a = {version = '*' ,  extras = ['x']}",
    )


def test_a_single_quoted_sub_table_gets_a_single_quoted_index_line() -> None:
    before = PYPI + PRIVATE + "[packages.orb-common]\nversion = '==1'\n"
    assert fix(before) == before + "index = 'codeartifact'\n"


def test_an_index_a_literal_string_cannot_hold_is_double_quoted() -> None:
    private = PRIVATE.replace('"codeartifact"', '"it\'s"')
    pipfile = parse(PYPI + private + "[packages]\norb-common = '*'\n")
    report = audit(pipfile, LISTING, AuditOptions(index_name="it's"))
    new = rewrite(pipfile, report, CA_URL)
    assert "orb-common = {version = '*', index = \"it's\"}" in new


def test_sub_table_gets_an_index_line_after_its_last_key() -> None:
    before = (
        PYPI
        + PRIVATE
        + '[packages.orb-common]\nversion = "==1"\nextras = ["x"]  # e\n\n\n[dev-packages]\n'
    )
    after = (
        PYPI
        + PRIVATE
        + '[packages.orb-common]\nversion = "==1"\nextras = ["x"]  # e\nindex = "codeartifact"\n\n\n[dev-packages]\n'
    )
    assert fix(before) == after


def test_sub_table_with_wrong_index_has_its_value_replaced() -> None:
    before = PYPI + PRIVATE + '[packages.orb-common]\nindex = "pypi" # old\nversion = "*"\n'
    assert fix(before) == before.replace('index = "pypi"', 'index = "codeartifact"')


def test_dotted_key_entry_gets_a_dotted_index_line() -> None:
    before = PYPI + PRIVATE + '[packages]\n  orb-common.version = "*"\nz = "*"\n'
    after = (
        PYPI
        + PRIVATE
        + '[packages]\n  orb-common.version = "*"\n  orb-common.index = "codeartifact"\nz = "*"\n'
    )
    assert fix(before) == after


def test_missing_source_goes_after_the_last_source_block() -> None:
    before = PYPI + '[packages]\norb-x = "*"\n'
    after = fix(before)
    assert after == (
        PYPI.rstrip("\n") + "\n\n"
        f'[[source]]\nname = "codeartifact"\nurl = "{CA_URL}"\nverify_ssl = true\n\n'
        '[packages]\norb-x = {version = "*", index = "codeartifact"}\n'
    )


def test_missing_source_without_any_source_goes_before_the_first_table() -> None:
    # pipenv's implicit pypi source is written out first, so public packages stay on it.
    before = '# comment\n\n[packages]\norb-x = "*"\n'
    assert fix(before) == (
        "# comment\n\n"
        '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
        f'[[source]]\nname = "codeartifact"\nurl = "{CA_URL}"\nverify_ssl = true\n\n'
        '[packages]\norb-x = {version = "*", index = "codeartifact"}\n'
    )


def test_missing_source_without_url_is_not_fixed() -> None:
    with pytest.raises(FixError, match="--source-url"):
        fix(PYPI + '[packages]\norb-x = "*"\n', source_url=None)


def test_crlf_and_missing_final_newline_are_kept() -> None:
    before = PYPI.replace("\n", "\r\n") + '[packages.orb-x]\r\nversion = "*"'
    after = fix(before)
    assert after.endswith('version = "*"\r\nindex = "codeartifact"')
    assert '\r\n[[source]]\r\nname = "codeartifact"\r\n' in after
    assert after.count("\n") == after.count("\r\n")


def test_unicode_and_other_bytes_survive() -> None:
    before = PYPI + PRIVATE + '[packages]\n# Ünïcødé ✓\norb-x = "*" # café\n"naïve" = "*"\n'
    after = fix(before)
    assert after == before.replace('orb-x = "*"', 'orb-x = {version = "*", index = "codeartifact"}')


def test_second_rewrite_changes_nothing() -> None:
    before = (
        PYPI
        + '[packages]\norb-x = "*"\norb-utils = {version = "*"}\n[packages.orb-common]\nversion = "*"\n'
    )
    once = fix(before)
    assert once != before and fix(once) == once


def test_files_needing_nothing_come_back_identical() -> None:
    text = PYPI + '[packages]\nrequests = "*"\n'
    assert fix(text) is not None and fix(text) == text


def test_unified_diff_marks_missing_final_newline() -> None:
    diff = unified_diff('a = "1"\nb = "2"', 'a = "1"\nb = "3"', "dir/Pipfile")
    assert diff.startswith("--- a/dir/Pipfile\n+++ b/dir/Pipfile\n")
    assert (
        '-b = "2"\n\\ No newline at end of file\n+b = "3"\n\\ No newline at end of file\n' in diff
    )


# --- private dependencies the Pipfile does not list (private-transitive) ----------------

DEPS = parse_listing(
    "orb-api 1.0 -> orb-common\norb-common 2.0\norb-tool 1.0 -> orb-lint\norb-lint 1\n"
)
ADDED = 'orb-common = {version = "*", index = "codeartifact"}'


def add(text: str) -> str:
    pipfile = parse(text)
    report = audit(pipfile, DEPS, AuditOptions(source_url=CA_URL))
    assert any(f.kind.value == "private-transitive" and f.fixable for f in report.findings)
    new = rewrite(pipfile, report, CA_URL)
    after = parse(new)
    assert not [f for f in audit(after, DEPS, AuditOptions()).findings if f.fixable]
    return new


API = 'orb-api = {version = "==1.0", index = "codeartifact"}'


def test_an_added_entry_goes_where_it_sorts_in_a_sorted_section() -> None:
    # above the comments that belong to the next entry
    before = PYPI + PRIVATE + f'[packages]\n{API}\n# web\n  # server\nrequests = "*"\n'
    assert add(before) == before.replace("# web", f"{ADDED}\n# web")


def test_an_added_entry_goes_last_in_a_sorted_section_it_sorts_after() -> None:
    before = PYPI + PRIVATE + f'[packages]\nalpha = "*"\n{API}  # api\n\n[dev-packages]\n'
    assert add(before) == before.replace("# api\n", f"# api\n{ADDED}\n")


def test_an_added_entry_goes_after_the_last_line_of_an_unsorted_section() -> None:
    before = PYPI + PRIVATE + f'[packages]\nzeta = "*"\n{API}\n[packages.x]\nversion = "*"\n'
    assert add(before) == before.replace(f"{API}\n", f"{API}\n{ADDED}\n")


def test_an_added_entry_keeps_single_quotes_and_crlf() -> None:
    api = "orb-api = {version = '==1.0', index = 'codeartifact'}"
    before = (PYPI + PRIVATE + f"[packages]\n{api}\nzeta = '*'").replace("\n", "\r\n")
    after = add(before)
    assert after == before.replace(
        f"{api}\r\n", f"{api}\r\norb-common = {{version = '*', index = 'codeartifact'}}\r\n"
    )
    assert after.count("\n") == after.count("\r\n")


def test_an_added_entry_is_spaced_like_the_sections_inline_tables() -> None:
    api = 'orb-api = { version = "==1.0", index = "codeartifact" }'
    before = PYPI + PRIVATE + f"[packages]\n{api}\n"
    added = 'orb-common = { version = "*", index = "codeartifact" }'
    assert add(before) == before.replace(f"{api}\n", f"{api}\n{added}\n")


def test_an_entry_of_another_category_gets_its_dependency_in_that_category() -> None:
    tool = 'orb-tool = {version = "==1.0", index = "codeartifact"}'
    before = PYPI + PRIVATE + f"[ci]\n{tool}"  # no final newline
    lint = 'orb-lint = {version = "*", index = "codeartifact"}'
    assert add(before) == before.replace(tool, f"{lint}\n{tool}")


def test_a_missing_category_table_is_appended_as_a_new_section() -> None:
    # The lock installs orb-common in "default", but the Pipfile has no [packages] table.
    before = PYPI + PRIVATE + "[dev-packages]\n" + API + "\n"
    lock = json.dumps({"default": {"orb-common": {"version": "==2.0"}}, "develop": {}})
    pipfile = parse(before)
    report = audit(pipfile, DEPS, AuditOptions(), locked_packages(lock))
    after = rewrite(pipfile, report, None)
    assert after == before + f"\n[packages]\n{ADDED}\n"


def test_an_added_entry_in_a_file_without_the_private_source_comes_with_it() -> None:
    before = PYPI + '[packages]\norb-api = "==1.0"\n'
    after = add(before)
    assert 'name = "codeartifact"' in after
    assert f'orb-api = {{version = "==1.0", index = "codeartifact"}}\n{ADDED}\n' in after


def test_an_added_entry_is_refused_for_a_dotted_category() -> None:
    api = "packages.orb-api = {version = '==1.0', index = 'codeartifact'}\n"
    before = api + "\n" + PYPI + PRIVATE
    pipfile = parse(before)
    report = audit(pipfile, DEPS, AuditOptions())
    with pytest.raises(RewriteError, match="dotted keys"):
        rewrite(pipfile, report, None)
