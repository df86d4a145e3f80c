from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, FindingKind, Severity
from pipfleet.engine.listing import Listing
from pipfleet.engine.poetryproject import Priority, audit, parse
from pipfleet.errors import PipfileError

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "poetry"
CA_URL = "https://acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
LISTING = Listing.of(["orb-common", "orb-utils"])
HEAD = '[tool.poetry]\nname = "app"\n\n'
CA = f'[[tool.poetry.source]]\nname = "codeartifact"\nurl = "{CA_URL}"\npriority = "explicit"\n'


def report(text: str, listing: Listing = LISTING) -> FileReport:
    return audit(parse(text, "pyproject.toml"), listing, AuditOptions())


def kinds(text: str) -> list[tuple[FindingKind, str | None, int | None]]:
    return [(f.kind, f.package, f.line) for f in report(text).findings]


def deps(body: str) -> str:
    return HEAD + "[tool.poetry.dependencies]\npython = '^3.11'\n" + body


def test_pinned_to_the_explicit_codeartifact_source_is_compliant() -> None:
    text = deps('orb-common = {version = "^2", source = "codeartifact"}\nrequests = "*"\n') + CA
    assert kinds(text) == [(FindingKind.COMPLIANT, "orb-common", 6)]
    assert report(text).compliant and report(text).private_source == "codeartifact"


def test_private_dependency_without_source_is_missing_index() -> None:
    assert kinds(deps('orb-common = "^2"\n') + CA) == [(FindingKind.MISSING_INDEX, "orb-common", 6)]


def test_missing_source_with_codeartifact_as_the_only_primary_source_is_info() -> None:
    primary = CA.replace('priority = "explicit"\n', "")
    (finding,) = report(deps('orb-common = "^2"\n') + primary).findings
    assert (finding.kind, finding.severity) == (FindingKind.MISSING_INDEX, Severity.INFO)
    assert report(deps('orb-common = "^2"\n') + primary).compliant
    beside = primary + '[[tool.poetry.source]]\nname = "PyPI"\n'
    severities = [
        (f.kind, f.severity) for f in report(deps('orb-common = "^2"\n') + beside).findings
    ]
    assert severities[-1] == (FindingKind.MISSING_INDEX, Severity.HIGH)


def test_private_dependency_on_another_declared_source_is_wrong_index() -> None:
    other = '[[tool.poetry.source]]\nname = "mirror"\nurl = "https://m.example/simple"\n'
    text = deps('orb-utils = {version = "*", source = "mirror"}\n') + CA + other
    assert kinds(text) == [(FindingKind.WRONG_INDEX, "orb-utils", 6)]


def test_undefined_source_is_reported_for_private_and_public_dependencies() -> None:
    text = deps(
        'orb-common = {version = "*", source = "nope"}\nflask = {version = "*", source = "gone"}\n'
    )
    found = kinds(text + CA)
    assert found == [
        (FindingKind.UNDEFINED_INDEX, "orb-common", 6),
        (FindingKind.UNDEFINED_INDEX, "flask", 7),
    ]


def test_private_dependencies_without_any_codeartifact_source_are_missing_source() -> None:
    found = kinds(deps('orb-common = "^2"\n'))
    assert found == [
        (FindingKind.MISSING_SOURCE, None, None),
        (FindingKind.MISSING_INDEX, "orb-common", 6),
    ]


def test_public_only_project_has_no_findings() -> None:
    assert kinds(deps('requests = "*"\n')) == []


def test_codeartifact_source_is_recognised_by_its_url_under_another_name() -> None:
    text = deps('orb-common = {version = "*", source = "esc"}\n') + CA.replace(
        '"codeartifact"', '"esc"'
    )
    result = report(text)
    assert [f.kind for f in result.findings] == [FindingKind.COMPLIANT]
    assert (result.private_source, result.private_source_match) == ("esc", "url-host")


def test_supplemental_codeartifact_source_is_a_weaker_finding() -> None:
    text = deps('orb-common = {version = "*", source = "codeartifact"}\n')
    text += CA.replace("explicit", "supplemental")
    (note, entry) = report(text).findings
    assert (note.kind, note.severity, note.line) == (
        FindingKind.INDEX_NOT_EXPLICIT,
        Severity.LOW,
        7,
    )
    assert entry.kind is FindingKind.COMPLIANT


def test_primary_codeartifact_source_beside_pypi_is_a_finding_but_alone_is_not() -> None:
    alone = deps('orb-common = {version = "*", source = "codeartifact"}\n') + CA.replace(
        'priority = "explicit"\n', ""
    )
    assert [f.kind for f in report(alone).findings] == [FindingKind.COMPLIANT]
    beside = alone + '[[tool.poetry.source]]\nname = "PyPI"\npriority = "primary"\n'
    note = report(beside).findings[0]
    assert (note.kind, note.severity) == (FindingKind.INDEX_NOT_EXPLICIT, Severity.MEDIUM)
    explicit_pypi = alone + '[[tool.poetry.source]]\nname = "PyPI"\npriority = "explicit"\n'
    assert [f.kind for f in report(explicit_pypi).findings] == [FindingKind.COMPLIANT]


def test_legacy_flags_map_to_priorities() -> None:
    text = HEAD + (
        '[[tool.poetry.source]]\nname = "a"\nurl = "https://a/simple"\ndefault = true\n'
        '[[tool.poetry.source]]\nname = "b"\nurl = "https://b/simple"\nsecondary = true\n'
        '[[tool.poetry.source]]\nname = "c"\nurl = "https://c/simple"\n'
    )
    sources = parse(text).sources
    assert [(s.priority, s.line) for s in sources] == [
        (Priority.DEFAULT, 4),
        (Priority.SECONDARY, 8),
        (Priority.PRIMARY, 12),
    ]


def test_literal_token_in_a_source_url_is_a_hardcoded_credential() -> None:
    token_url = CA_URL.replace("https://", "https://aws:eyJ2ZXIiOjEsImlzdSI6MTcw@")
    text = deps('orb-common = {version = "*", source = "codeartifact"}\n')
    finding = report(text + CA.replace(CA_URL, token_url)).findings[0]
    assert (finding.kind, finding.line) == (FindingKind.HARDCODED_CREDENTIAL, 7)
    assert "eyJ2" not in finding.message
    assert report(text + CA).findings[0].kind is FindingKind.COMPLIANT


def test_poetry2_project_dependencies_take_sources_from_tool_poetry() -> None:
    text = (
        '[project]\nname = "app"\ndependencies = [\n  "requests>=2",\n'
        '  "orb-common (>=2)",\n  "orb-utils[x]; python_version > \'3.8\'",\n]\n\n'
        '[tool.poetry]\n\n[tool.poetry.dependencies]\norb-utils = {source = "codeartifact"}\n' + CA
    )
    assert kinds(text) == [
        (FindingKind.COMPLIANT, "orb-utils", 12),
        (FindingKind.MISSING_INDEX, "orb-common (>=2)", 5),
    ]


def test_groups_legacy_dev_table_and_constraint_lists() -> None:
    text = (
        HEAD
        + (
            '[tool.poetry.group.test.dependencies]\norb-common = "*"\n\n'
            "[tool.poetry.dev-dependencies]\norb-utils = [\n"
            '  {version = "1", markers = "sys_platform == \'linux\'", source = "codeartifact"},\n'
            '  {version = "1", markers = "sys_platform != \'linux\'"},\n]\n'
        )
        + CA
    )
    # [tool.poetry.dependencies] and the legacy dev table come before the groups.
    found = [(f.kind, f.category, f.line) for f in report(text).findings]
    assert found == [
        (FindingKind.MISSING_INDEX, "dev", 8),
        (FindingKind.MISSING_INDEX, "test", 5),
    ]


def test_git_and_path_dependencies_are_not_audited_against_sources() -> None:
    assert kinds(deps('orb-common = {git = "https://g.example/o.git"}\n') + CA) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[project]\nname = 'x'\n", "no [tool.poetry] table: not a Poetry project"),
        (
            HEAD + "[[tool.poetry.source]]\nurl = 'https://x'\n",
            "each [[tool.poetry.source]] needs a name as a string (line 4)",
        ),
        (
            HEAD + "[[tool.poetry.source]]\nname = 'a'\npriority = 'first'\n",
            "unknown source priority 'first' (line 4)",
        ),
        (
            HEAD + "[tool.poetry.dependencies]\nx = 1\n",
            "dependency 'x' must be a string or a table (line 5)",
        ),
        (
            "[project]\ndependencies = ['!!']\n[tool.poetry]\n",
            "invalid requirement '!!' in [project] dependencies (line 2)",
        ),
        ("[tool.poetry\n", "Expected ']' at the end of a table declaration (line 1, column 13)"),
    ],
)
def test_bad_input_is_a_one_line_error(text: str, message: str) -> None:
    with pytest.raises(PipfileError) as caught:
        parse(text)
    assert str(caught.value) == message


def _manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("row", _manifest(), ids=lambda row: row["dir"][:3])
def test_every_corpus_file_parses_or_fails_as_its_manifest_says(row: dict[str, str]) -> None:
    text = (CORPUS / row["dir"] / "pyproject.toml").read_text(encoding="utf-8")
    if "NEGATIVE-CASE:INVALID-TOML" in row["note"]:
        with pytest.raises(PipfileError) as caught:
            parse(text)
        assert caught.value.line is not None and "\n" not in str(caught.value)
        return
    project = parse(text, row["path"])
    # Counted from the raw text, independently of tomllib and tomlspans.
    headers = [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if re.match(r"\s*\[\[\s*tool\.poetry\.source\s*\]\]", line)
    ]
    assert [source.line for source in project.sources] == headers
    assert all(dependency.line is not None for dependency in project.dependencies)
    # With every name private, each registry dependency gets exactly one verdict (a
    # Poetry 2 [project] string only when [tool.poetry.dependencies] does not constrain it).
    names = Listing.of(d.name for d in project.dependencies)
    verdicts = {
        FindingKind.COMPLIANT,
        FindingKind.MISSING_INDEX,
        FindingKind.WRONG_INDEX,
        FindingKind.UNDEFINED_INDEX,
    }
    result = audit(project, names, AuditOptions())
    # Only [tool.poetry.dependencies] enriches [project]'s entries, optional ones included.
    poetry_names = {
        d.name for d in project.dependencies if d.table == ("tool", "poetry", "dependencies")
    }
    expected = [
        d.key
        for d in project.dependencies
        if d.non_registry_key is None and not (d.table[0] == "project" and d.name in poetry_names)
    ]
    assert [f.package for f in result.findings if f.kind in verdicts] == expected


def test_known_corpus_files() -> None:
    def load(prefix: str) -> str:
        (folder,) = CORPUS.glob(f"{prefix}-*")
        return (folder / "pyproject.toml").read_text(encoding="utf-8")

    nep = parse(load("018"))
    (torch,) = [d for d in nep.dependencies if d.name == "torch" and d.group == "main"]
    assert torch.sources == ("pytorch-cuda", "pytorch-cpu") and torch.line == 10
    langchain = parse(load("012"))
    torch_like = Listing.of(["torch", "torchvision", "torchaudio"])
    result = audit(langchain, torch_like, AuditOptions(index_name="pytorch-cuda"))
    assert [(f.kind, f.package, f.line) for f in result.findings] == [
        (FindingKind.COMPLIANT, "torch", 24),
        (FindingKind.COMPLIANT, "torchvision", 25),
        (FindingKind.COMPLIANT, "torchaudio", 26),
    ]
    esc = audit(parse(load("005")), Listing.of(["x"]), AuditOptions())
    assert esc.private_source == "esc" and esc.private_source_match == "url-host"
    assert [(f.kind, f.severity) for f in esc.findings] == [
        (FindingKind.INDEX_NOT_EXPLICIT, Severity.LOW)
    ]
