from __future__ import annotations

import json
from typing import Any

import pytest

from pipfleet.engine.audit import AuditOptions, audit_text
from pipfleet.engine.findings import Finding, FindingKind, Severity
from pipfleet.engine.fixset import build_fix
from pipfleet.engine.listing import Listing, parse_listing
from pipfleet.engine.lockfile import HashScheme, dump_lock, pipfile_hash
from pipfleet.engine.pipfile import parse
from pipfleet.engine.provenance import locked_packages, provenance_findings, sibling_lock

CA_URL = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
PYPI = '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
PRIVATE = f'[[source]]\nname = "codeartifact"\nurl = "{CA_URL}"\nverify_ssl = true\n\n'
CA1, CA2, EVIL, REQ = ("sha256:" + c * 64 for c in "12ef")

PIPFILE = (
    PYPI
    + PRIVATE
    + "[packages]\n"
    + 'requests = "*"\n'
    + 'orb-http = {version = "==2.5.1", index = "codeartifact"}\n'
    + 'orb-api = {version = ">=1.3", index = "codeartifact"}\n'
    + "\n[dev-packages]\n"
    + 'orb-testkit = {version = "*", index = "codeartifact"}\n'
)
LISTING = parse_listing(
    f"""
    orb-http 2.5.1 {CA1} {CA2} 2.6.0
    orb-api 1.3.0 1.4.0 -> orb-common>=2.0, requests
    orb-common 2.0.0 2.1.0 -> orb-events
    orb-common 1.0.0
    orb-events 1.0.0 -> orb-common
    orb-testkit 0.9 -> orb-fixtures
    orb-fixtures 0.1
    """
)


def lock(
    default: dict[str, Any], develop: dict[str, Any] | None = None, pipfile: str = PIPFILE
) -> str:
    meta = {
        "hash": {"sha256": pipfile_hash(parse(pipfile).data, HashScheme.CANONICAL)},
        "pipfile-spec": 6,
        "requires": {},
        "sources": [
            {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True},
            {"name": "codeartifact", "url": CA_URL, "verify_ssl": True},
        ],
    }
    return dump_lock({"_meta": meta, "default": default, "develop": develop or {}})


def locked(version: str, *hashes: str, index: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"hashes": sorted(hashes), "version": f"=={version}"}
    if index:
        entry["index"] = index
    return entry


def found(
    lock_text: str | None,
    listing: Listing = LISTING,
    pipfile: str = PIPFILE,
    path: str = "svc/Pipfile",
) -> list[Finding]:
    _, report = audit_text(pipfile, path, listing, AuditOptions(), lock_text=lock_text)
    return [
        f
        for f in report.findings
        if f.kind not in {FindingKind.COMPLIANT, FindingKind.PUBLIC_FIRST}
    ]


GOOD_DEFAULT = {
    "requests": locked("2.32.3", REQ),
    "orb-http": locked("2.5.1", CA1, CA2, index="codeartifact"),
    "orb-api": locked("1.4.0", CA1, index="codeartifact"),
    "orb-common": locked("2.1.0", CA2),
    "orb-events": locked("1.0.0", CA1),
}


def test_a_lock_of_codeartifact_files_has_good_provenance() -> None:
    default = {
        "requests": locked("2.32.3", REQ),
        "orb-http": locked("2.5.1", CA1, CA2, index="codeartifact"),
        "orb-http-extra": locked("1.0", EVIL),  # not private: not judged
    }
    pipfile = PIPFILE.replace('orb-api = {version = ">=1.3", index = "codeartifact"}\n', "")
    assert not found(lock(default, pipfile=pipfile), pipfile=pipfile)
    # One of CodeArtifact's files is enough: a lock need not hold every wheel.
    default["orb-http"] = locked("2.5.1", CA2, index="codeartifact")
    assert not found(lock(default, pipfile=pipfile), pipfile=pipfile)


@pytest.mark.parametrize(("hashes", "foreign", "matching"), [((EVIL,), 1, 0), ((CA1, EVIL), 1, 1)])
def test_foreign_hashes_in_the_lock_are_critical(
    hashes: tuple[str, ...], foreign: int, matching: int
) -> None:
    pipfile = PIPFILE.replace('orb-api = {version = ">=1.3", index = "codeartifact"}\n', "")
    default = {"orb-http": locked("2.5.1", *hashes, index="codeartifact")}
    (finding,) = found(lock(default, pipfile=pipfile), pipfile=pipfile)
    assert finding.kind is FindingKind.FOREIGN_HASHES
    assert finding.severity is Severity.CRITICAL and not finding.fixable
    assert finding.breaks_compliance
    assert (finding.file, finding.category, finding.package) == (
        "svc/Pipfile",
        "default",
        "orb-http",
    )
    assert finding.message == (
        "svc/Pipfile.lock: the lock holds files for orb-http==2.5.1 that CodeArtifact does not "
        "have: it was resolved from another index (public PyPI?); "
        f"{foreign} foreign hash(es), {matching} matching CodeArtifact's 2 file(s)"
    )


def test_versions_whose_files_are_unknown_are_not_judged() -> None:
    pipfile = PIPFILE.replace("==2.5.1", "==2.6.0").replace(
        'orb-api = {version = ">=1.3", index = "codeartifact"}\n', ""
    )
    default = {"orb-http": locked("2.6.0", EVIL, index="codeartifact")}
    assert not found(lock(default, pipfile=pipfile), pipfile=pipfile)


def test_a_locked_version_codeartifact_lacks_is_version_not_found_on_the_lock() -> None:
    pipfile = PIPFILE.replace('orb-api = {version = ">=1.3", index = "codeartifact"}\n', "")
    default = {"orb-http": locked("9.9.9", EVIL, index="codeartifact")}
    findings = found(lock(default, pipfile=pipfile), pipfile=pipfile)
    assert [(f.kind, f.category, f.package, f.current) for f in findings] == [
        (FindingKind.VERSION_NOT_FOUND, "default", "orb-http", "==9.9.9")
    ]
    assert findings[0].message.startswith("svc/Pipfile.lock locks orb-http==9.9.9, which is not")


def test_private_packages_in_the_lock_but_not_the_pipfile_are_private_transitive() -> None:
    develop = {
        "orb-testkit": locked("0.9", CA1, index="codeartifact"),
        "orb-fixtures": locked("0.1", CA1),
        "orb-common": locked("2.1.0", CA2),
    }
    findings = found(lock(GOOD_DEFAULT, develop))
    got = [(f.kind, f.category, f.package) for f in findings]
    assert got == [
        (FindingKind.PRIVATE_TRANSITIVE, "packages", "orb-common"),
        (FindingKind.PRIVATE_TRANSITIVE, "packages", "orb-events"),
        (FindingKind.PRIVATE_TRANSITIVE, "dev-packages", "orb-fixtures"),
    ]
    common, events, fixtures = findings
    assert common.severity is Severity.HIGH and common.fixable and common.breaks_compliance
    assert common.expected == '{version = "*", index = "codeartifact"}'
    assert common.message == (
        "orb-common (private) is needed by orb-api but not listed: pipenv looks for it on "
        "'pypi', where it is missing or could be an impostor (found in svc/Pipfile.lock)"
    )
    assert "is needed by orb-common but" in events.message
    assert "is needed by orb-testkit but" in fixtures.message


def test_without_dependencies_in_the_listing_the_lock_still_tells() -> None:
    listing = parse_listing("orb-http\norb-api\norb-common\norb-testkit\n")
    findings = found(lock({"orb-common": locked("2.1.0", CA2)}), listing)
    assert [(f.kind, f.package) for f in findings] == [
        (FindingKind.PRIVATE_TRANSITIVE, "orb-common")
    ]
    assert "needed by another locked package but not listed" in findings[0].message


def test_without_a_lock_the_listing_dependencies_are_followed() -> None:
    findings = found(None)
    got = [(f.kind, f.category, f.package) for f in findings]
    assert got == [
        (FindingKind.PRIVATE_TRANSITIVE, "packages", "orb-common"),
        (FindingKind.PRIVATE_TRANSITIVE, "packages", "orb-events"),
        (FindingKind.PRIVATE_TRANSITIVE, "dev-packages", "orb-fixtures"),
    ]
    assert findings[0].message.endswith("(found from the private packages' dependencies)")
    assert "orb-events (private) is needed by orb-common but" in findings[1].message


def test_the_version_followed_is_the_pin_or_the_newest_in_range() -> None:
    listing = parse_listing(
        "orb-api 1.0 -> orb-old\norb-api 2.0 -> orb-new\norb-old 1.0\norb-new 1.0\n"
    )
    pipfile = PYPI + PRIVATE + '[packages]\norb-api = {version = "%s", index = "codeartifact"}\n'
    for spec, needed in [("==1.0", "orb-old"), ("<2", "orb-old"), ("*", "orb-new"), (">=9", None)]:
        packages = [f.package for f in found(None, listing, pipfile % spec)]
        assert packages == ([needed] if needed else []), spec


def test_dependencies_are_followed_through_private_packages_only_and_cycles_end() -> None:
    listing = parse_listing(
        "a 1.0 -> b, public-lib\nb 1.0 -> c\nc 1.0 -> a, b\n"  # a -> b -> c -> a
    )
    pipfile = PYPI + PRIVATE + '[packages]\na = {version = "*", index = "codeartifact"}\n'
    assert [(f.package, f.message.split(" but")[0]) for f in found(None, listing, pipfile)] == [
        ("b", "b (private) is needed by a"),
        ("c", "c (private) is needed by b"),
    ]


def test_listed_dependencies_are_not_reported() -> None:
    pipfile = PIPFILE + 'orb-common = {version = "*", index = "codeartifact"}\n'
    packages = [f.package for f in found(None, pipfile=pipfile)]
    assert packages == ["orb-events", "orb-fixtures"]


def test_a_private_first_source_needs_no_transitive_entries() -> None:
    pipfile = PRIVATE + PYPI + PIPFILE.removeprefix(PYPI + PRIVATE)
    assert not found(None, pipfile=pipfile)
    assert not found(lock(GOOD_DEFAULT, pipfile=pipfile), pipfile=pipfile)


def test_nothing_changes_without_a_lock_or_listing_data() -> None:
    plain = parse_listing("orb-http 2.5.1 2.6.0\norb-api 1.3.0\norb-testkit\n")
    _, with_none = audit_text(PIPFILE, "Pipfile", plain, AuditOptions())
    _, with_args = audit_text(PIPFILE, "Pipfile", plain, AuditOptions(), None, None)
    assert with_none == with_args
    assert {f.kind for f in with_none.findings} == {FindingKind.COMPLIANT, FindingKind.PUBLIC_FIRST}


@pytest.mark.parametrize("text", ["", "not json", "[]", '"text"'])
def test_an_unreadable_lock_is_no_lock(text: str) -> None:
    pipfile = PIPFILE.replace('orb-api = {version = ">=1.3", index = "codeartifact"}\n', "")
    assert found(text, pipfile=pipfile) == found(None, pipfile=pipfile)
    assert [f.package for f in found(text, pipfile=pipfile)] == ["orb-fixtures"]


@pytest.mark.parametrize("text", ['{"default": []}', '{"default": {"x": 1, "orb-http": []}}'])
def test_malformed_lock_entries_are_skipped(text: str) -> None:
    pipfile = PIPFILE.replace('orb-api = {version = ">=1.3", index = "codeartifact"}\n', "")
    assert not found(text, pipfile=pipfile)


def test_locked_packages_reads_every_section() -> None:
    text = lock({"Orb_HTTP": locked("2.5.1", CA1.upper())}, {"x": {"version": "*"}})
    packages = locked_packages(text)
    assert packages is not None
    assert [(p.section, p.key, p.name, p.version, p.hashes) for p in packages] == [
        ("default", "Orb_HTTP", "orb-http", "2.5.1", ("sha256:" + "1" * 64,)),
        ("develop", "x", "x", None, ()),
    ]


def test_sibling_lock_and_explicit_lock_path() -> None:
    assert sibling_lock("Pipfile") == "Pipfile.lock"
    assert sibling_lock("a/b/Pipfile") == "a/b/Pipfile.lock"
    pipfile = parse(PIPFILE.replace('orb-api = {version = ">=1.3", index = "codeartifact"}\n', ""))
    text = lock({"orb-http": locked("2.5.1", EVIL)})
    packages = locked_packages(text)
    (finding,) = provenance_findings(pipfile, LISTING, packages, "codeartifact", "x/y.lock")
    assert finding.message.startswith("x/y.lock: the lock holds files")


def test_build_fix_leaves_a_stale_lock_alone() -> None:
    """A lock that matches no scheme is stale: no hashes are replaced, only the Pipfile is fixed.

    (The fixes of private-transitive and foreign-hashes: test_fixset_provenance.)"""
    pipfile = PIPFILE.replace(
        'orb-http = {version = "==2.5.1", index = "codeartifact"}', 'orb-http = "==2.5.1"'
    )
    lock_text = json.dumps({"_meta": {}, "default": {"orb-http": locked("2.5.1", EVIL)}})
    fix = build_fix({"Pipfile": pipfile}, {"Pipfile.lock": lock_text}, LISTING, AuditOptions())
    assert [(e.package, e.after) for e in fix.entries] == [
        ("orb-http", '{version = "==2.5.1", index = "codeartifact"}')
    ]
    assert fix.stale_locks == ("Pipfile.lock",) and not fix.rehashed


def test_a_deeply_nested_lock_is_no_lock() -> None:
    assert locked_packages("[" * 100_000 + "]" * 100_000) is None
