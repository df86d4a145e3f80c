"""The uv pyproject.toml model and audit, on small texts and the uv corpus."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FindingKind, Severity
from pipfleet.engine.listing import Listing
from pipfleet.engine.uvproject import audit, parse
from pipfleet.errors import PipfileError

CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "uv"
CA_URL = "https://acme-111122223333.d.codeartifact.us-east-1.amazonaws.com/pypi/internal/simple/"
LISTING = Listing.of(["orb-common", "orb-utils"])

COMPLIANT = f"""\
[project]
name = "svc"
dependencies = [
    "requests>=2",
    "orb-common>=2.0",  # private
]

[tool.uv.sources]
orb-common = {{ index = "codeartifact" }}

[[tool.uv.index]]
name = "codeartifact"
url = "{CA_URL}"
explicit = true
"""


def kinds(text: str, listing: Listing = LISTING) -> list[tuple[FindingKind, int | None]]:
    report = audit(parse(text, "pyproject.toml"), listing)
    return [(finding.kind, finding.line) for finding in report.findings]


def test_a_pinned_private_package_on_an_explicit_codeartifact_index_complies() -> None:
    report = audit(parse(COMPLIANT), LISTING)
    assert [(f.kind, f.line, f.package) for f in report.findings] == [
        (FindingKind.COMPLIANT, 5, "orb-common")
    ]
    assert report.compliant and report.private_source == "codeartifact"
    assert report.private_source_match == "name"


def test_a_private_package_without_a_source_is_missing_index() -> None:
    text = COMPLIANT.replace('orb-common = { index = "codeartifact" }\n', "")
    assert kinds(text) == [(FindingKind.MISSING_INDEX, 5)]


def test_a_private_package_on_another_declared_index_is_wrong_index() -> None:
    text = (
        COMPLIANT.replace(
            'orb-common = { index = "codeartifact" }',
            'orb-common = { index = "mirror" }',
        )
        + '\n[[tool.uv.index]]\nname = "mirror"\nurl = "https://mirror.example/simple"\n'
    )
    assert kinds(text) == [(FindingKind.WRONG_INDEX, 9)]


def test_a_private_package_on_an_undeclared_index_is_undefined_index() -> None:
    text = COMPLIANT.replace('index = "codeartifact" }', 'index = "nowhere" }')
    assert kinds(text) == [(FindingKind.UNDEFINED_INDEX, 9)]


def test_a_public_package_on_an_undeclared_index_is_undefined_index_too() -> None:
    text = COMPLIANT.replace(
        "[tool.uv.sources]\n", '[tool.uv.sources]\nrequests = { index = "gone" }\n'
    )
    assert kinds(text) == [(FindingKind.COMPLIANT, 5), (FindingKind.UNDEFINED_INDEX, 9)]


def test_private_packages_without_any_codeartifact_index_are_missing_source() -> None:
    text = COMPLIANT.split("[tool.uv.sources]")[0]
    assert kinds(text) == [(FindingKind.MISSING_SOURCE, None), (FindingKind.MISSING_INDEX, 5)]
    # Without a private package nothing is missing.
    assert kinds(text, Listing.of(["other"])) == []


def test_a_codeartifact_url_under_another_name_is_the_private_index() -> None:
    text = COMPLIANT.replace('"codeartifact"', '"internal"')
    report = audit(parse(text), LISTING)
    assert [f.kind for f in report.findings] == [FindingKind.COMPLIANT]
    assert report.private_source == "internal" and report.private_source_match == "url-host"


def test_a_codeartifact_index_without_explicit_is_reported() -> None:
    report = audit(parse(COMPLIANT.replace("explicit = true\n", "")), LISTING)
    risk = report.findings[0]
    assert (risk.kind, risk.line, risk.severity) == (
        FindingKind.INDEX_NOT_EXPLICIT,
        11,
        Severity.MEDIUM,
    )
    assert "explicit = true" in risk.message
    assert not any(
        f.kind is FindingKind.INDEX_NOT_EXPLICIT for f in audit(parse(COMPLIANT), LISTING).findings
    )


def test_unsafe_best_match_is_critical_with_private_packages() -> None:
    text = COMPLIANT + '\n[tool.uv]\nindex-strategy = "unsafe-best-match"\n'
    report = audit(parse(text), LISTING)
    assert [(f.kind, f.line, f.severity) for f in report.findings][0] == (
        FindingKind.UNSAFE_INDEX_STRATEGY,
        17,
        Severity.CRITICAL,
    )
    other = text.replace("unsafe-best-match", "first-index")
    assert FindingKind.UNSAFE_INDEX_STRATEGY not in [k for k, _ in kinds(other)]


def test_a_literal_token_in_an_index_url_is_a_hardcoded_credential() -> None:
    secret = "https://aws:eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0@"
    text = COMPLIANT.replace("https://", secret)
    report = audit(parse(text), LISTING)
    leak = report.findings[0]
    assert (leak.kind, leak.line) == (FindingKind.HARDCODED_CREDENTIAL, 11)
    assert "UV_INDEX_CODEARTIFACT_PASSWORD" in leak.message
    assert "eyJ2" not in leak.message and not report.compliant


def test_every_dependency_list_is_read_with_its_line() -> None:
    text = """\
[project]
name = "svc"
dependencies = ["orb-common"]
[project.optional-dependencies]
cli = ["click", "orb-utils[x]>=1"]
[dependency-groups]
dev = [{ include-group = "lint" }, "pytest"]
lint = ["ruff"]
[tool.uv]
dev-dependencies = ["mypy"]
"""
    project = parse(text)
    assert [(r.name, r.group, r.line) for r in project.requirements] == [
        ("orb-common", "project", 3),
        ("click", "extra:cli", 5),
        ("orb-utils", "extra:cli", 5),
        ("pytest", "group:dev", 7),
        ("ruff", "group:lint", 8),
        ("mypy", "dev-dependencies", 10),
    ]


def test_a_git_source_for_a_private_package_is_non_registry() -> None:
    text = COMPLIANT.replace(
        'orb-common = { index = "codeartifact" }',
        'orb-common = { git = "https://github.com/acme/orb-common" }',
    )
    assert kinds(text) == [(FindingKind.NON_REGISTRY, 9)]


def test_marker_split_sources_each_count() -> None:
    text = COMPLIANT.replace(
        'orb-common = { index = "codeartifact" }',
        'orb-common = [{ index = "codeartifact", marker = "sys_platform == \'linux\'" },'
        ' { index = "other", marker = "sys_platform != \'linux\'" }]',
    )
    assert kinds(text) == [(FindingKind.UNDEFINED_INDEX, 9)]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("[project\n", "Expected ']' at the end of a table declaration", 1),
        ('[project]\ndependencies = "x"\n', "project.dependencies must be an array", 2),
        ('[project]\ndependencies = ["not a req !"]\n', "is not a valid requirement", 2),
        ("[tool.uv]\nindex = 3\n", "[[tool.uv.index]] must be an array of tables", 2),
        ('[[tool.uv.index]]\nname = "x"\n', "needs a url", 1),
        ("[tool.uv]\nsources = 1\n", "[tool.uv.sources] must be a table", 2),
        ("[tool.uv]\nindex-strategy = 1\n", "index-strategy must be a string", 2),
    ],
)
def test_bad_input_is_one_line_error(text: str, message: str, line: int) -> None:
    with pytest.raises(PipfileError) as error:
        parse(text)
    assert message in error.value.message and "\n" not in str(error.value)
    assert error.value.line == line


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*/pyproject.toml"))


def _strings(value: Any) -> int:
    return sum(isinstance(item, str) for item in value)


def _expected_count(data: dict[str, Any]) -> int:
    """Dependency strings counted straight from tomllib, independent of the spans."""
    project = data.get("project", {})
    count = _strings(project.get("dependencies", []))
    count += sum(_strings(v) for v in project.get("optional-dependencies", {}).values())
    count += sum(_strings(v) for v in data.get("dependency-groups", {}).values())
    return count + _strings(data.get("tool", {}).get("uv", {}).get("dev-dependencies", []))


def test_the_corpus_is_there() -> None:
    assert len(_corpus()) == 24


@pytest.mark.parametrize("path", _corpus(), ids=lambda path: path.parent.name[:40])
def test_every_corpus_file_parses_with_lines_that_hold_what_they_name(path: Path) -> None:
    text = path.read_text()
    lines = text.splitlines()
    project = parse(text, str(path))
    data = tomllib.loads(text)
    assert len(project.requirements) == _expected_count(data)
    assert all(r.line and r.text in lines[r.line - 1] for r in project.requirements)
    uv = data.get("tool", {}).get("uv", {})
    legacy = [*uv.get("extra-index-url", []), *([uv["index-url"]] if "index-url" in uv else [])]
    assert [i.url for i in project.indexes] == [i["url"] for i in uv.get("index", [])] + legacy
    for index in project.indexes:
        assert index.line and index.setting in lines[index.line - 1]
    assert set(project.sources) == {s.replace("_", "-").lower() for s in uv.get("sources", {})}
    for sources in project.sources.values():
        assert all(s.line and s.package in lines[s.line - 1] for s in sources)
    audit(project, Listing.of(r.name for r in project.requirements))


def _corpus_text(prefix: str) -> str:
    return next(CORPUS.glob(f"{prefix}*/pyproject.toml")).read_text()


def test_known_corpus_files_findings() -> None:
    # TensorRT sets unsafe-best-match (line 184) and pins torch to its nightly index.
    tensorrt = audit(parse(_corpus_text("012-")), Listing.of(["torch"]))
    assert [(f.kind, f.line) for f in tensorrt.findings] == [
        (FindingKind.UNSAFE_INDEX_STRATEGY, 184)
    ]
    # nanochat pins torch to pytorch-cpu or pytorch-cu128 by extra: with cu128 as the
    # private index, the cpu pin is the wrong index (both sit on the torch line, 67).
    options = AuditOptions(index_name="pytorch-cu128")
    nanochat = audit(parse(_corpus_text("008-")), Listing.of(["torch"]), options)
    assert [(f.kind, f.line) for f in nanochat.findings] == [(FindingKind.WRONG_INDEX, 67)]
    assert "'pytorch-cpu'" in nanochat.findings[0].message
    # ragflow declares an unnamed mirror and no sources: a private name has no index.
    ragflow = audit(parse(_corpus_text("003-")), Listing.of(["ragflow-sdk", "peewee"]))
    assert [f.kind for f in ragflow.findings] == [
        FindingKind.MISSING_SOURCE,
        FindingKind.MISSING_INDEX,
    ]


def _unpinned(index_options: str, before: str = "") -> str:
    """orb-common without a source, the CodeArtifact index with ``index_options``."""
    text = COMPLIANT.replace('orb-common = { index = "codeartifact" }\n', "")
    text = text.replace("explicit = true\n", index_options)
    return text.replace("[[tool.uv.index]]\n", before + "[[tool.uv.index]]\n", 1)


def severities(text: str) -> list[tuple[FindingKind, Severity]]:
    return [(f.kind, f.severity) for f in audit(parse(text), LISTING).findings]


def test_an_unpinned_private_package_on_the_first_asked_index_is_only_info() -> None:
    # Not explicit and asked first: uv finds orb-common there, as long as that holds.
    assert severities(_unpinned("")) == [
        (FindingKind.INDEX_NOT_EXPLICIT, Severity.MEDIUM),
        (FindingKind.MISSING_INDEX, Severity.INFO),
    ]
    # default = true: CodeArtifact serves everything, which is what it is there for.
    assert severities(_unpinned("default = true\n")) == [(FindingKind.MISSING_INDEX, Severity.INFO)]
    assert audit(parse(_unpinned("default = true\n")), LISTING).compliant


def test_an_unpinned_private_package_is_high_when_the_private_index_is_not_first() -> None:
    mirror = '[[tool.uv.index]]\nname = "mirror"\nurl = "https://mirror.example/simple"\n\n'
    assert (FindingKind.MISSING_INDEX, Severity.HIGH) in severities(_unpinned("", mirror))
    # An explicit index is never asked for an unpinned package.
    assert severities(_unpinned("explicit = true\n")) == [
        (FindingKind.MISSING_INDEX, Severity.HIGH)
    ]
    # Nor is the order any guard when uv takes the best match from every index.
    unsafe = _unpinned("") + '\n[tool.uv]\nindex-strategy = "unsafe-best-match"\n'
    assert (FindingKind.MISSING_INDEX, Severity.HIGH) in severities(unsafe)


def test_older_index_urls_are_read_and_their_credentials_reported() -> None:
    text = COMPLIANT + (
        "\n[tool.uv]\n"
        'extra-index-url = ["https://aws:eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0@x.example/simple"]\n'
        'index-url = "https://pypi.example/simple"\n'
    )
    project = parse(text)
    assert [(i.setting, i.default, i.line) for i in project.indexes[1:]] == [
        ("extra-index-url", False, 17),
        ("index-url", True, 18),
    ]
    leak = audit(project, LISTING).findings[0]
    assert (leak.kind, leak.line) == (FindingKind.HARDCODED_CREDENTIAL, 17)
    assert leak.message.startswith("extra-index-url has a literal credential")
    assert "eyJ2" not in leak.message


def test_a_private_package_from_a_direct_url_is_non_registry_without_its_credential() -> None:
    url = "https://ci:eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0@files.example/orb_common-2.0.whl"
    text = COMPLIANT.replace('"orb-common>=2.0"', f'"orb-common @ {url}"').replace(
        'orb-common = { index = "codeartifact" }\n', ""
    )
    finding = audit(parse(text), LISTING).findings[0]
    assert (finding.kind, finding.line, finding.package) == (
        FindingKind.NON_REGISTRY,
        5,
        "orb-common",
    )
    assert "eyJ2" not in finding.message + (finding.current or "")
    # A [tool.uv.sources] entry wins over the URL, as in uv.
    assert kinds(text.replace("[tool.uv.sources]\n", COMPLIANT.split("\n\n")[1] + "\n")) == [
        (FindingKind.COMPLIANT, 5)
    ]


def test_an_invalid_requirement_is_quoted_without_its_credential() -> None:
    text = '[dependency-groups]\ndev = [\n  "x @ https://ci:eyJ2ZXIiOjEsImlzdSI6MTcwMDAw@h.example/x.whl ;;",\n]\n'
    with pytest.raises(PipfileError) as error:
        parse(text)
    assert error.value.line == 3 and "dependency-groups.dev" in error.value.message
    assert "eyJ2" not in str(error.value)
