from __future__ import annotations

from pipfleet.engine.audit import AuditOptions, audit, audit_text, is_codeartifact_url
from pipfleet.engine.confusion import Origin, PackageIntel, PublicStatus
from pipfleet.engine.findings import FileReport, Finding, FindingKind, Severity
from pipfleet.engine.listing import Listing, parse_listing
from pipfleet.engine.pipfile import parse

CA_URL = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
PYPI = '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
PRIVATE = f'[[source]]\nname = "codeartifact"\nurl = "{CA_URL}"\nverify_ssl = true\n\n'
LISTING = parse_listing("orb-common 2.0.0 2.1.0\norb-utils\n")


HYGIENE = {FindingKind.PUBLIC_FIRST, FindingKind.INSECURE_SOURCE, FindingKind.HARDCODED_CREDENTIAL}


def entry_findings(report: FileReport) -> list[Finding]:
    """The findings about entries, without the source-hygiene ones tested on their own."""
    return [f for f in report.findings if f.kind not in HYGIENE]


def kinds(text: str, listing: Listing = LISTING, **options: str) -> list[tuple[str, str | None]]:
    report = audit(parse(text), listing, AuditOptions(**options))  # type: ignore[arg-type]
    return [(f.kind.value, f.package) for f in entry_findings(report)]


def test_private_entry_without_index_is_missing_index() -> None:
    report = audit(parse(PYPI + PRIVATE + '[packages]\norb-common = "==2.1.0"  # c\n'), LISTING)
    (finding,) = entry_findings(report)
    assert finding.kind is FindingKind.MISSING_INDEX and finding.severity is Severity.HIGH
    assert (finding.category, finding.package, finding.line) == ("packages", "orb-common", 12)
    assert finding.current == '"==2.1.0"'
    assert finding.expected == '{version = "==2.1.0", index = "codeartifact"}'
    assert finding.source == "codeartifact" and finding.fixable
    assert "'pypi' (the first source)" in finding.message
    assert report.private_source == "codeartifact" and report.private_source_match == "name"


def test_missing_index_with_the_private_source_first_is_info_and_still_fixed() -> None:
    listing = parse_listing("orb-common 2.1.0\n")
    intel = {"orb-common": PackageIntel("orb-common", Origin.INTERNAL, False, PublicStatus.TAKEN)}
    text = PRIVATE + PYPI + '[packages]\norb-common = "==2.1.0"\n'
    report = audit(parse(text), listing, AuditOptions(intel=intel))
    missing, risk = entry_findings(report)
    assert missing.kind is FindingKind.MISSING_INDEX and missing.severity is Severity.INFO
    assert missing.message == (
        "orb-common has no index: pipenv finds it on 'codeartifact' only because that is the "
        "first source; pin it so that adding or reordering sources cannot change that"
    )
    assert missing.fixable and missing.expected == '{version = "==2.1.0", index = "codeartifact"}'
    assert not missing.needs_action and report.compliant
    # pipenv asks only the first source, so the public package cannot be installed instead.
    assert risk.kind is FindingKind.CONFUSION_RISK and risk.severity is Severity.HIGH


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
    findings = entry_findings(audit(parse(text), LISTING))
    assert findings[2].fixable and not findings[3].fixable


def test_missing_source_needs_a_url_to_be_fixable() -> None:
    text = PYPI + '[packages]\norb-common = "*"\n'
    without = entry_findings(audit(parse(text), LISTING))
    assert [f.kind for f in without] == [FindingKind.MISSING_SOURCE, FindingKind.MISSING_INDEX]
    assert not without[0].fixable and "--source-url" in without[0].message
    with_url = entry_findings(audit(parse(text), LISTING, AuditOptions(source_url=CA_URL)))
    assert with_url[0].fixable and CA_URL in (with_url[0].expected or "")


def test_private_source_is_recognised_by_codeartifact_host() -> None:
    text = (
        PYPI + f'[[source]]\nname = "private"\nurl = "{CA_URL}"\n\n[packages]\norb-common = "*"\n'
    )
    report = audit(parse(text), LISTING)
    assert report.private_source == "private" and report.private_source_match == "url-host"
    assert entry_findings(report)[0].expected == '{version = "*", index = "private"}'


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
    assert [(f.kind.value, f.fixable) for f in entry_findings(report)] == [
        ("non-registry", False),
        ("non-registry", False),
    ]
    assert "private package fetched outside CodeArtifact" in report.findings[0].message
    assert not report.needs_action


def test_table_form_entries_report_inline_renderings() -> None:
    text = PYPI + PRIVATE + '[packages.orb-common]\nversion = "==2.1.0"\nextras = ["x"]\n'
    (finding,) = entry_findings(audit(parse(text), LISTING))
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


def test_source_hygiene_findings_never_show_the_credential() -> None:
    text = (
        '[[source]]\nname = "pypi"\nurl = "http://pypi.example/simple"\n\n'
        '[[source]]\nname = "ca"\nurl = "https://aws:eyJ2ZXIiOjEsImlzdSI6MTc@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"\n'
        "verify_ssl = false\n\n"
        '[[source]]\nname = "ok"\nurl = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@x.example/simple"\n\n'
        '[[source]]\nname = "local"\nurl = "http://127.0.0.1:8080/simple"\n\n'
        '[packages]\norb-common = "*"\n'
    )
    report = audit(parse(text), LISTING)
    hygiene = [(f.kind.value, f.source, f.severity) for f in report.findings if f.kind in HYGIENE]
    assert hygiene == [
        ("insecure-source", "pypi", Severity.HIGH),
        ("hardcoded-credential", "ca", Severity.CRITICAL),
        ("insecure-source", "ca", Severity.MEDIUM),
        ("public-first", "pypi", Severity.INFO),
    ]
    assert all("eyJ2ZXIiOjEsImlzdSI6MTc" not in f.message for f in report.findings)


def test_token_as_user_name_is_a_credential_but_a_plain_user_is_not() -> None:
    from pipfleet.engine.hygiene import has_literal_credential

    assert has_literal_credential("https://ghp_abcdefghijklmnopqrstuvwxyz0123@host/simple")
    assert not has_literal_credential("https://aws@host/simple")
    assert not has_literal_credential("https://${USER}:${PASS}@host/simple")
    assert has_literal_credential("https://user:hunter2@host/simple")


def test_confusion_findings_follow_registry_intel() -> None:
    from pipfleet.engine.confusion import Origin, PackageIntel, PublicStatus

    intel = {
        "orb-common": PackageIntel("orb-common", Origin.INTERNAL, False, PublicStatus.TAKEN),
        "orb-utils": PackageIntel("orb-utils", Origin.MIXED, True, PublicStatus.FREE),
    }
    text = (
        PYPI
        + PRIVATE
        + (
            '[packages]\norb-common = "*"\norb-utils = {version = "*", index = "codeartifact"}\n'
            '[dev-packages]\norb-common = {version = "*", index = "codeartifact"}\n'
        )
    )
    report = audit(parse(text), LISTING, AuditOptions(intel=intel))
    got = [(f.kind.value, f.category, f.severity) for f in entry_findings(report)]
    assert got == [
        ("missing-index", "packages", Severity.HIGH),
        ("confusion-risk", "packages", Severity.CRITICAL),
        ("compliant", "packages", Severity.INFO),
        ("name-claimable", "packages", Severity.INFO),
        ("origin-drift", "packages", Severity.HIGH),
        ("compliant", "dev-packages", Severity.INFO),
        ("confusion-risk", "dev-packages", Severity.HIGH),
    ]


def test_an_entry_as_written_never_carries_a_urls_literal_credential() -> None:
    text = (
        '[packages]\nsix = { file = "https://user:hunter2@files.example.org/six-1.16.0.whl" }\n'
        'orb-x = {git = "https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/acme/orb-x.git"}\n'
    )
    report = audit(parse(text, "Pipfile"), Listing({"orb-x": None}))
    shown = [f.current for f in report.findings if f.current]
    assert len(shown) == 2
    assert not any(
        "hunter2" in s or "ghp_16C7e42F292c6912E7710c838347Ae178B4a" in s for s in shown
    ), shown
    assert any("https://user:****@files.example.org" in s for s in shown), shown
