from __future__ import annotations

from pipfleet.engine.audit import AuditOptions, audit, audit_text, is_codeartifact_url
from pipfleet.engine.findings import FindingKind, Severity
from pipfleet.engine.listing import Listing, parse_listing
from pipfleet.engine.pipfile import parse

CA_URL = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
PYPI = '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
PRIVATE = f'[[source]]\nname = "codeartifact"\nurl = "{CA_URL}"\nverify_ssl = true\n\n'
LISTING = parse_listing("orb-common 2.0.0 2.1.0\norb-utils\n")


def kinds(text: str, listing: Listing = LISTING, **options: str) -> list[tuple[str, str | None]]:
    report = audit(parse(text), listing, AuditOptions(**options))  # type: ignore[arg-type]
    return [(f.kind.value, f.package) for f in report.findings]


def test_private_entry_without_index_is_missing_index() -> None:
    report = audit(parse(PYPI + PRIVATE + '[packages]\norb-common = "==2.1.0"  # c\n'), LISTING)
    (finding,) = report.findings
    assert finding.kind is FindingKind.MISSING_INDEX and finding.severity is Severity.HIGH
    assert (finding.category, finding.package, finding.line) == ("packages", "orb-common", 12)
    assert finding.current == '"==2.1.0"'
    assert finding.expected == '{version = "==2.1.0", index = "codeartifact"}'
    assert finding.source == "codeartifact" and finding.fixable
    assert "'pypi' (the first source)" in finding.message
    assert report.private_source == "codeartifact" and report.private_source_match == "name"


def test_compliant_wrong_and_undefined_index() -> None:
    text = (
        PYPI
        + PRIVATE
        + (
            "[packages]\n"
            'orb-common = {version = "*", index = "codeartifact"}\n'
            '"Orb.Utils" = {version = "*", index = "pypi"}\n'
            "[dev-packages]\n"
            'orb_utils = {version = "*", index = "nexus"}\n'
            'requests = {version = "*", index = "nexus"}\n'
            'flask = "*"\n'
        )
    )
    assert kinds(text) == [
        ("compliant", "orb-common"),
        ("wrong-index", "Orb.Utils"),
        ("undefined-index", "orb_utils"),
        ("undefined-index", "requests"),
    ]
    findings = audit(parse(text), LISTING).findings
    assert findings[2].fixable and not findings[3].fixable


def test_missing_source_needs_a_url_to_be_fixable() -> None:
    text = PYPI + '[packages]\norb-common = "*"\n'
    without = audit(parse(text), LISTING).findings
    assert [f.kind for f in without] == [FindingKind.MISSING_SOURCE, FindingKind.MISSING_INDEX]
    assert not without[0].fixable and "--source-url" in without[0].message
    with_url = audit(parse(text), LISTING, AuditOptions(source_url=CA_URL)).findings
    assert with_url[0].fixable and CA_URL in (with_url[0].expected or "")


def test_private_source_is_recognised_by_codeartifact_host() -> None:
    text = (
        PYPI + f'[[source]]\nname = "private"\nurl = "{CA_URL}"\n\n[packages]\norb-common = "*"\n'
    )
    report = audit(parse(text), LISTING)
    assert report.private_source == "private" and report.private_source_match == "url-host"
    assert report.findings[0].expected == '{version = "*", index = "private"}'


def test_configured_index_name_is_used() -> None:
    text = (
        PYPI
        + '[[source]]\nname = "ca"\nurl = "https://mirror.example/simple"\n\n[packages]\norb-common = {version = "*", index = "ca"}\n'
    )
    assert kinds(text, index_name="ca") == [("compliant", "orb-common")]


def test_version_not_found_only_for_exact_pins_with_known_versions() -> None:
    text = (
        PYPI
        + PRIVATE
        + (
            "[packages]\n"
            'orb-common = {version = "==3.0.0", index = "codeartifact"}\n'
            'orb-utils = {version = "==9.9", index = "codeartifact"}\n'
            "[dev-packages]\n"
            'orb-common = {version = ">=3", index = "codeartifact"}\n'
        )
    )
    assert kinds(text) == [
        ("compliant", "orb-common"),
        ("version-not-found", "orb-common"),
        ("compliant", "orb-utils"),
        ("compliant", "orb-common"),
    ]


def test_non_registry_entries_are_reported_never_fixed() -> None:
    text = PYPI + '[packages]\norb-common = {git = "https://x/y.git"}\nlocal = {path = "."}\n'
    report = audit(parse(text), LISTING)
    assert [(f.kind.value, f.fixable) for f in report.findings] == [
        ("non-registry", False),
        ("non-registry", False),
    ]
    assert "private package fetched outside CodeArtifact" in report.findings[0].message
    assert not report.needs_action


def test_table_form_entries_report_inline_renderings() -> None:
    text = PYPI + PRIVATE + '[packages.orb-common]\nversion = "==2.1.0"\nextras = ["x"]\n'
    (finding,) = audit(parse(text), LISTING).findings
    assert finding.kind is FindingKind.MISSING_INDEX and finding.line == 11
    assert finding.current == '{version = "==2.1.0", extras = ["x"]}'
    assert finding.expected == '{version = "==2.1.0", extras = ["x"], index = "codeartifact"}'


def test_public_packages_and_empty_listing_give_no_findings() -> None:
    assert kinds(PYPI + '[packages]\norb-common = "*"\n', Listing()) == []


def test_parse_error_becomes_a_finding() -> None:
    pipfile, report = audit_text("[packages\n", "Pipfile", LISTING)
    assert pipfile is None
    (finding,) = report.findings
    assert finding.kind is FindingKind.PARSE_ERROR and finding.line == 1 and finding.column
    assert report.needs_action


def test_codeartifact_host_pattern() -> None:
    assert is_codeartifact_url(CA_URL)
    assert not is_codeartifact_url("https://pypi.org/simple")
    assert not is_codeartifact_url("https://evil.example/d.codeartifact.us-east-1.amazonaws.com/")
