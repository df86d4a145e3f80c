"""The Poetry rewrite: byte-minimal, meaning-checked and idempotent, on small texts and the corpus."""

from __future__ import annotations

import csv
import difflib
import tomllib
from pathlib import Path

import pytest

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import Listing
from pipfleet.engine.poetryproject import audit, parse
from pipfleet.engine.poetryrewrite import rewrite
from pipfleet.engine.tomlspans import Header, Statement, scan
from pipfleet.errors import FixError, RewriteError

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "poetry"
CA_URL = "https://acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
TOKEN_URL = "https://aws:s3cr3t@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
LISTING = Listing.of(["orb-common", "orb-utils"])
OPTIONS = AuditOptions(source_url=TOKEN_URL)
HEAD = '[tool.poetry]\nname = "app"\n\n'
CA = f'[[tool.poetry.source]]\nname = "codeartifact"\nurl = "{CA_URL}"\npriority = "explicit"\n'


def report(text: str, listing: Listing = LISTING, options: AuditOptions = OPTIONS) -> FileReport:
    return audit(parse(text), listing, options)


def fixed(text: str, listing: Listing = LISTING, options: AuditOptions = OPTIONS) -> str:
    new = rewrite(text, report(text, listing, options))
    after = report(new, listing, options)
    # Idempotent, and nothing the fix was for is left.
    assert after.fixable == ()
    assert rewrite(new, after) == new
    return new


def changed(old: str, new: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) of a line diff."""
    removed, added = [], []
    for line in difflib.ndiff(old.splitlines(keepends=True), new.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def deps(body: str) -> str:
    return HEAD + "[tool.poetry.dependencies]\npython = '^3.11'\n" + body


def test_string_constraint_becomes_an_inline_table_in_its_own_quotes() -> None:
    old = deps("orb-common = '^2'  # ours\nrequests = \"*\"\n") + CA
    assert fixed(old) == old.replace(
        "orb-common = '^2'", "orb-common = {version = '^2', source = \"codeartifact\"}"
    ).replace('source = "codeartifact"}', "source = 'codeartifact'}")


def test_inline_table_gains_the_key_in_its_own_spacing_and_wrong_source_is_replaced() -> None:
    mirror = '[[tool.poetry.source]]\nname = "mirror"\nurl = "https://m.example/simple"\n'
    old = (
        deps(
            "orb-common = { version = '^2',extras = ['x'] }\n"
            'orb-utils = {version="*", source="mirror"}\n'
        )
        + CA
        + mirror
    )
    new = fixed(old)
    assert new == old.replace(
        "extras = ['x'] }", "extras = ['x'],source = 'codeartifact' }"
    ).replace('source="mirror"', 'source="codeartifact"')


def test_table_form_and_group_entries_and_constraint_lists() -> None:
    old = (
        HEAD
        + (
            "[tool.poetry.group.dev.dependencies]\n"
            'orb-utils = [\n  {version = "^1", python = "<3.12"},  # old\n'
            '  {version = "^2", python = ">=3.12", source = "pypi"},\n]\n\n'
            "[tool.poetry.dependencies.orb-common]\n"
            '    version = "^2"\n    optional = true\n'
        )
        + CA
    )
    new = fixed(old)
    assert new == old.replace(
        'python = "<3.12"}', 'python = "<3.12", source = "codeartifact"}'
    ).replace('source = "pypi"', 'source = "codeartifact"').replace(
        "optional = true\n", 'optional = true\n    source = "codeartifact"\n'
    )
    orb_utils = tomllib.loads(new)["tool"]["poetry"]["group"]["dev"]["dependencies"]["orb-utils"]
    assert [c["source"] for c in orb_utils] == ["codeartifact", "codeartifact"]


def test_missing_source_is_appended_without_credentials_as_explicit() -> None:
    old = deps('orb-common = "^2"\n')
    new = fixed(old)
    removed, added = changed(old, new)
    assert removed == ['orb-common = "^2"\n']
    assert added == [
        'orb-common = {version = "^2", source = "codeartifact"}\n',
        "\n",
        "[[tool.poetry.source]]\n",
        'name = "codeartifact"\n',
        f'url = "{CA_URL}"\n',
        'priority = "explicit"\n',
    ]
    assert "s3cr3t" not in new


def test_missing_source_goes_after_the_last_source_and_keeps_crlf_and_no_final_newline() -> None:
    old = (
        deps('orb-common = "^2"\n') + '[[tool.poetry.source]]\nname = "PyPI"\n\n[x]\ny = 1'
    ).replace("\n", "\r\n")
    new = fixed(old)
    assert "\n" not in new.replace("\r\n", "") and not new.endswith("\n")
    assert (
        '[[tool.poetry.source]]\r\nname = "PyPI"\r\n\r\n[[tool.poetry.source]]\r\nname = "codeartifact"'
        in new
    )
    assert new.endswith("\r\n\r\n[x]\r\ny = 1")


def test_missing_source_without_a_url_is_a_fix_error() -> None:
    text = deps('orb-common = "^2"\n')
    with pytest.raises(FixError, match="--source-url"):
        rewrite(text, report(text, options=AuditOptions()))


def test_supplemental_and_primary_sources_become_explicit() -> None:
    pinned = deps('orb-common = {version = "^2", source = "codeartifact"}\n')
    supplemental = pinned + CA.replace("explicit", "supplemental")
    assert fixed(supplemental) == pinned + CA
    primary = (
        pinned
        + CA.replace('priority = "explicit"\n', "")
        + '[[tool.poetry.source]]\nname = "PyPI"\n'
    )
    assert fixed(primary) == pinned + CA + '[[tool.poetry.source]]\nname = "PyPI"\n'


def test_legacy_secondary_flag_is_replaced_by_the_priority() -> None:
    pinned = deps('orb-common = {version = "^2", source = "codeartifact"}\n')
    legacy = pinned + CA.replace('priority = "explicit"', "default = false\nsecondary = true")
    assert fixed(legacy) == pinned + CA.replace(
        'priority = "explicit"', 'default = false\npriority = "explicit"'
    )


def test_pep621_dependencies_get_a_source_in_tool_poetry_dependencies() -> None:
    old = (
        '[project]\nname = "app"\ndependencies = ["orb-common (>=2)", "requests"]\n'
        '[project.optional-dependencies]\nx = ["Orb_Utils[a]>=1", "orb-common"]\n\n'
        "[tool.poetry]\npackage-mode = false\n\n"
        "[tool.poetry.dependencies]\nrequests = {markers = \"python_version > '3'\"}\n\n"
    ) + CA
    new = fixed(old)
    removed, added = changed(old, new)
    assert removed == []
    assert added == [
        'orb-common = {source = "codeartifact"}\n',
        'Orb_Utils = {source = "codeartifact"}\n',
    ]
    assert new.index("Orb_Utils") < new.index("[[tool.poetry.source]]")


def test_pep621_without_a_poetry_dependencies_table_gets_one_at_the_end() -> None:
    old = '[project]\nname = "app"\ndependencies = ["orb-common"]\n\n[tool.poetry]\n' + CA
    new = fixed(old)
    assert new == old + '\n[tool.poetry.dependencies]\norb-common = {source = "codeartifact"}\n'


def test_nothing_to_fix_returns_the_text_itself() -> None:
    text = deps('orb-common = {version = "^2", source = "codeartifact"}\nrequests = "*"\n') + CA
    assert rewrite(text, report(text)) is text


def test_dotted_keys_and_inline_source_arrays_are_refused() -> None:
    dotted = deps('orb-common.version = "^2"\n') + CA
    with pytest.raises(RewriteError, match="dotted"):
        rewrite(dotted, report(dotted))
    inline = (
        HEAD.replace(
            "\n\n",
            f'\nsource = [{{name = "codeartifact", url = "{CA_URL}", priority = "supplemental"}}]\n\n',
        )
        + '[tool.poetry.dependencies]\norb-common = {version = "*", source = "codeartifact"}\n'
    )
    with pytest.raises(RewriteError, match="inline"):
        rewrite(inline, report(inline))


def test_a_report_of_another_text_is_refused() -> None:
    text = deps('orb-common = "^2"\n') + CA
    with pytest.raises(RewriteError, match="cannot locate orb-common"):
        rewrite(text.replace("orb-common", "orb-utils"), report(text))


def _corpus() -> list[Path]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        CORPUS / row["dir"] / "pyproject.toml"
        for row in rows
        if "NEGATIVE-CASE:INVALID-TOML" not in row["note"]
    ]


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.parent.name[:3])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_every_corpus_file_is_fixed_minimally_and_idempotently(path: Path, newline: str) -> None:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\n", newline)
    project = parse(text)
    public = report(text, Listing.of([]))
    # Nothing to fix is no change; 005's CodeArtifact source is supplemental, private or not.
    assert (rewrite(text, public) == text) is (public.fixable == ())
    # Every registry dependency private: each one is fixed.
    everything = Listing.of(d.name for d in project.dependencies)
    before = report(text, everything)
    new = fixed(text, everything)
    assert newline == "\n" or "\n" not in new.replace("\r\n", "")
    # Only lines of fixed entries (a constraint list's, a table's) or of the source made
    # explicit are replaced; everything else is kept or is a whole new line.
    allowed: set[int] = set()
    for finding in before.fixable:
        if finding.line is not None:
            allowed |= _lines_of_item_at(text, finding.line)
    # A block added after a last line without a terminator gives that line one.
    end = "" if text.endswith("\n") else newline
    old_lines = (text + end).splitlines(keepends=True)
    new_lines = (new + end).splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            assert set(range(i1 + 1, i2 + 1)) <= allowed, (old_lines[i1:i2], new_lines[j1:j2])
            # Each replaced line keeps its key, lead and trailing comment.
            for line in old_lines[i1:i2]:
                key = line.split("=", 1)[0]
                assert any(n.startswith(key) for n in new_lines[j1:j2]), line
                comment = line[line.index("#") :] if "#" in line else ""
                if comment and "{" not in comment and "'" not in comment and '"' not in comment:
                    assert any(n.endswith(comment) for n in new_lines[j1:j2]), line
    after = report(new, everything)
    assert all(f.kind is not FindingKind.MISSING_INDEX for f in after.findings)
    assert all(f.kind is not FindingKind.WRONG_INDEX for f in after.findings)


def _lines_of_item_at(text: str, line: int) -> set[int]:
    """The lines of the statement starting on ``line``, or of the table whose header it is."""
    items = scan(text)
    for index, item in enumerate(items):
        if item.line != line:
            continue
        if isinstance(item, Statement):
            return set(range(line, text.count("\n", 0, item.line_end) + 2))
        following = [i for i in items[index + 1 :] if isinstance(i, Header)]
        last = following[0].line - 1 if following else text.count("\n") + 1
        return set(range(line, last + 1))
    return set()
