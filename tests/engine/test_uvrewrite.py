"""The uv pyproject.toml rewrite: small texts per fix, and round-trip properties over the
uv corpus (nothing to fix: unchanged; a fix: only the lines it needs, same meaning plus
the pins, idempotent, CRLF kept)."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

import pytest

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import Listing, version_key
from pipfleet.engine.uvlock import listing_transitive_findings, lock_findings, parse_lock
from pipfleet.engine.uvproject import audit, parse
from pipfleet.engine.uvrewrite import rewrite
from pipfleet.errors import FixError, RewriteError

CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "uv"
CA_HOST = "acme-111122223333.d.codeartifact.us-east-1.amazonaws.com"
CA_URL = f"https://{CA_HOST}/pypi/internal/simple/"
SOURCE_URL = f"https://aws:${{CODEARTIFACT_AUTH_TOKEN}}@{CA_HOST}/pypi/internal/simple/"
OPTIONS = AuditOptions(source_url=SOURCE_URL)
LISTING = Listing.of(["orb-common", "orb-utils"])


def fixed(text: str, listing: Listing = LISTING, options: AuditOptions = OPTIONS) -> str:
    return rewrite(text, audit(parse(text), listing, options), listing, options)


def test_a_missing_source_and_sources_table_are_added_without_the_credential() -> None:
    text = '[project]\nname = "svc"\ndependencies = ["requests", "orb-common>=2"]  # keep\n'
    assert fixed(text) == text + (
        "\n[tool.uv.sources]\n"
        'orb-common = { index = "codeartifact" }\n'
        "\n[[tool.uv.index]]\n"
        'name = "codeartifact"\n'
        f'url = "{CA_URL}"\n'
        "explicit = true\n"
    )
    report = audit(parse(text), LISTING, OPTIONS)
    assert [f.expected for f in report.fixable] == [
        f'[[tool.uv.index]]\nname = "codeartifact"\nurl = "{CA_URL}"\nexplicit = true',
        '{ index = "codeartifact" }',
    ]


def test_without_a_source_url_a_missing_index_cannot_be_fixed() -> None:
    text = '[project]\nname = "svc"\ndependencies = ["orb-common"]\n'
    report = audit(parse(text), LISTING)
    with pytest.raises(FixError, match="--source-url"):
        rewrite(text, report, LISTING, AuditOptions())


def test_a_wrong_index_is_repinned_in_place_keeping_markers_and_quotes() -> None:
    text = f"""\
[project]
name = "svc"
dependencies = ["orb-common", "orb-utils"]

[tool.uv.sources]
orb-common = [{{ index = 'mirror', marker = "sys_platform == 'linux'" }}, {{ git = "https://g/x" }}]
orb-utils = {{ index = "nowhere" }}  # undefined

[[tool.uv.index]]
name = "mirror"
url = "https://mirror.example/simple"

[[tool.uv.index]]
name = "codeartifact"
url = "{CA_URL}"
explicit = true
"""
    report = audit(parse(text), LISTING, OPTIONS)
    assert {(f.kind, f.package) for f in report.fixable} == {
        (FindingKind.WRONG_INDEX, "orb-common"),
        (FindingKind.UNDEFINED_INDEX, "orb-utils"),
    }
    new = rewrite(text, report, LISTING, OPTIONS)
    assert new == text.replace("'mirror'", "'codeartifact'").replace('"nowhere"', '"codeartifact"')
    # The git element stays what it is: reported, never rewritten.
    assert [f.kind for f in audit(parse(new), LISTING, OPTIONS).findings] == [
        FindingKind.NON_REGISTRY,
        FindingKind.COMPLIANT,
    ]


def test_table_form_sources_are_repinned_and_entries_inserted_where_they_sort() -> None:
    text = f"""\
[project]
name = "svc"
dependencies = ["orb-common", "orb-utils", "zz"]

[tool.uv.sources]
aa = {{ path = "aa" }}
# zz is vendored
zz = {{ path = "zz" }}

[tool.uv.sources.orb-utils]
index = "mirror"

[[tool.uv.index]]
name = "mirror"
url = "https://mirror.example/simple"

[[tool.uv.index]]
name = "codeartifact"
url = "{CA_URL}"
explicit = true
"""
    new = fixed(text)
    assert new == text.replace(
        "# zz is vendored", 'orb-common = { index = "codeartifact" }\n# zz is vendored'
    ).replace('index = "mirror"', 'index = "codeartifact"')


def test_crlf_and_a_missing_final_newline_are_kept() -> None:
    text = "[project]\r\nname = 'svc'\r\ndependencies = ['orb-common']"
    new = fixed(text)
    assert new.startswith(text + "\r\n\r\n[tool.uv.sources]\r\n")
    assert "\n" not in new.replace("\r\n", "") and not new.endswith("\n")
    assert "orb-common = { index = 'codeartifact' }" in new
    assert fixed(new) == new


def test_sources_go_before_the_first_index_and_its_comments() -> None:
    text = f"""\
[project]
name = "svc"
dependencies = ["orb-common"]

# CodeArtifact, token from the environment
[[tool.uv.index]]
name = "internal"
url = "{CA_URL}"
explicit = true
"""
    assert fixed(text) == text.replace(
        "# CodeArtifact", '[tool.uv.sources]\norb-common = { index = "internal" }\n\n# CodeArtifact'
    )


@pytest.mark.parametrize(
    "text",
    [
        '[project]\nname = "s"\ndependencies = ["orb-common"]\n[tool.uv]\nsources = { x = { path = "x" } }\n',
        '[project]\nname = "s"\ndependencies = ["orb-common"]\n[tool.uv]\nindex = []\n',
    ],
)
def test_inline_tables_that_cannot_grow_a_header_are_refused(text: str) -> None:
    with pytest.raises(RewriteError, match="inline"):
        fixed(text)


def test_index_settings_are_reported_not_rewritten() -> None:
    text = f"""\
[project]
name = "svc"
dependencies = ["orb-common"]

[tool.uv]
index-strategy = "unsafe-best-match"

[tool.uv.sources]
orb-common = {{ index = "codeartifact" }}

[[tool.uv.index]]
name = "codeartifact"
url = "{CA_URL}"
"""
    report = audit(parse(text), LISTING, OPTIONS)
    assert {f.kind for f in report.findings} >= {
        FindingKind.INDEX_NOT_EXPLICIT,
        FindingKind.UNSAFE_INDEX_STRATEGY,
    }
    assert report.fixable == () and rewrite(text, report, LISTING, OPTIONS) == text


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*/pyproject.toml"))


def _private(text: str) -> Listing:
    """Every third dependency and every package a source pins to an index, as private."""
    project = parse(text)
    names = [r.name for r in project.requirements][::3]
    names += [n for n, sources in project.sources.items() if any(s.index for s in sources)]
    return Listing.of(names)


def _changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += old.splitlines()[i1:i2]
            added += new.splitlines()[j1:j2]
    return removed, added


@pytest.mark.parametrize("path", _corpus(), ids=lambda path: path.parent.name[:40])
def test_every_corpus_file_round_trips(path: Path) -> None:
    text = path.read_text()
    # Nothing private: not a byte changes.
    assert fixed(text, Listing.of(["not-in-this-file"])) == text
    listing = _private(text)
    report = audit(parse(text), listing, OPTIONS)
    new = rewrite(text, report, listing, OPTIONS)
    assert report.fixable and new != text
    # Minimal: a changed line only changes an index's name; everything else is added.
    removed, added = _changed_lines(text, new)
    assert all("index" in line for line in removed), removed
    repinned = [line for line in added if "index" in line and "=" in line]
    assert len(repinned) >= len(removed)
    # Same meaning plus the fix, nothing fixable left, and a second pass changes nothing.
    assert tomllib.loads(new)["project"] == tomllib.loads(text)["project"]
    after = audit(parse(new), listing, OPTIONS)
    assert after.fixable == ()
    assert all(
        f.kind in {FindingKind.COMPLIANT, FindingKind.NON_REGISTRY}
        for f in after.findings
        if f.package is not None and f.package in listing
    ), after.findings
    assert rewrite(new, after, listing, OPTIONS) == new
    # CRLF in, CRLF out.
    crlf = text.replace("\n", "\r\n")
    new_crlf = fixed(crlf, listing)
    assert new_crlf == new.replace("\n", "\r\n")


TRANSITIVE_LOCK = f"""\
[[package]]
name = "orb-common"
version = "2.1.0"
source = {{ registry = "{CA_URL}" }}
dependencies = [{{ name = "orb-events" }}, {{ name = "orb-auth" }}]

[[package]]
name = "orb-events"
version = "1.0.0"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "orb-auth"
version = "1.0.0"
source = {{ registry = "https://pypi.org/simple" }}
"""


def fixed_with_lock(text: str) -> str:
    listing = Listing.of(["orb-common", "orb-events", "orb-auth"])
    project = parse(text)
    report = audit(project, listing, OPTIONS)
    found = lock_findings(project, parse_lock(TRANSITIVE_LOCK), listing, OPTIONS)
    assert [f.kind for f in found] == [FindingKind.PRIVATE_TRANSITIVE] * 2
    merged = FileReport(report.path, report.findings + tuple(found), report.private_source)
    return rewrite(text, merged, listing, OPTIONS)


PINNED = f"""\

[tool.uv.sources]
orb-common = {{ index = "codeartifact" }}

[[tool.uv.index]]
name = "codeartifact"
url = "{CA_URL}"
explicit = true
"""
ADDED_PINS = 'orb-auth = { index = "codeartifact" }\norb-common = { index = "codeartifact" }\norb-events = { index = "codeartifact" }\n'


@pytest.mark.parametrize(
    ("dependencies", "after"),
    [
        ('["orb-common"]', '["orb-common", "orb-auth", "orb-events"]'),
        ("['orb-common',  'x']", "['orb-common',  'x',  'orb-auth',  'orb-events']"),
        ("[]", '["orb-auth", "orb-events"]'),
        (
            '[\n    "orb-common",  # ours\n    # "old",\n]',
            '[\n    "orb-common",  # ours\n    # "old",\n    "orb-auth",\n    "orb-events",\n]',
        ),
        (
            '[\n  "orb-common"  # ours\n]',
            '[\n  "orb-common",  # ours\n  "orb-auth",\n  "orb-events"\n]',
        ),
    ],
)
def test_a_private_transitive_dependency_is_listed_and_pinned(
    dependencies: str, after: str
) -> None:
    head = '[project]\nname = "svc"\ndependencies = '
    new = fixed_with_lock(head + dependencies + "\n" + PINNED)
    assert new == head + after + "\n" + PINNED.replace(
        'orb-common = { index = "codeartifact" }\n', ADDED_PINS
    )


def test_private_dependencies_found_from_the_listing_are_listed_and_pinned() -> None:
    listing = Listing(
        packages={"orb-common": frozenset({"2.0.0"}), "orb-events": frozenset({"1.0.0"})},
        dependencies={version_key("orb-common", "2.0.0"): ("orb-events>=1",)},
    )
    text = '[project]\nname = "svc"\ndependencies = [\n    "orb-common>=2",\n]\n' + PINNED
    project = parse(text)
    report = audit(project, listing, OPTIONS)
    found = tuple(listing_transitive_findings(project, listing, OPTIONS))
    new = rewrite(text, FileReport(report.path, report.findings + found), listing, OPTIONS)
    assert new == text.replace(
        '"orb-common>=2",\n', '"orb-common>=2",\n    "orb-events",\n'
    ).replace(
        'orb-common = { index = "codeartifact" }\n',
        'orb-common = { index = "codeartifact" }\norb-events = { index = "codeartifact" }\n',
    )
    assert listing_transitive_findings(parse(new), listing, OPTIONS) == []
