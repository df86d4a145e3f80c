from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.listing import Listing, parse_listing
from pipfleet.jobs.check import CheckResult, FileStatus, Mode, check_paths, check_text
from pipfleet.render import check_json

LISTING = Listing.of(["orb-common"])
URL = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@a-1.d.codeartifact.us-east-1.amazonaws.com/pypi/r/simple/"
PIPFLEET = str(Path(sys.executable).with_name("pipfleet"))
NEEDS_FIX = '[packages]\norb-common = "*"\n'


def test_audit_mode_computes_no_fix() -> None:
    result = check_text(NEEDS_FIX, "Pipfile", LISTING, AuditOptions(source_url=URL), Mode.AUDIT)
    assert result.new_text is None and result.status is FileStatus.NEEDS_ACTION


def test_diff_mode_has_the_fix_but_the_file_still_needs_action() -> None:
    result = check_text(NEEDS_FIX, "Pipfile", LISTING, AuditOptions(source_url=URL), Mode.DIFF)
    assert result.new_text is not None and "+orb-common = {version" in result.diff
    assert result.status is FileStatus.NEEDS_ACTION and not result.written


def test_fix_without_source_url_reports_why() -> None:
    result = check_text(NEEDS_FIX, "Pipfile", LISTING, AuditOptions(), Mode.FIX)
    assert result.new_text is None and "--source-url" in (result.fix_error or "")
    assert result.status is FileStatus.NEEDS_ACTION


def test_fix_mode_writes_and_what_remains_decides_the_status(tmp_path: Path) -> None:
    fixable = tmp_path / "a" / "Pipfile"
    stuck = tmp_path / "b" / "Pipfile"
    for path in (fixable, stuck):
        path.parent.mkdir()
    fixable.write_text(NEEDS_FIX)
    stuck.write_text('[packages]\nx = {version = "*", index = "nowhere"}\n')
    options = AuditOptions(source_url=URL)
    result = check_paths([tmp_path], LISTING, options, Mode.FIX)
    assert [r.status for r in result.files] == [FileStatus.FIXED, FileStatus.NEEDS_ACTION]
    assert result.exit_code == 1
    assert 'index = "codeartifact"' in fixable.read_text()
    assert check_paths([fixable], LISTING, options, Mode.AUDIT).exit_code == 0


def test_exit_code_prefers_invalid_over_needs_action(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(NEEDS_FIX)
    bad = check_text("[packages", "x/Pipfile", LISTING, AuditOptions(), Mode.AUDIT)
    good = check_paths([tmp_path], LISTING, AuditOptions(), Mode.AUDIT)
    assert CheckResult(good.files + (bad,), Mode.AUDIT).exit_code == 2
    assert bad.status is FileStatus.INVALID


CA1, EVIL = "sha256:" + "1" * 64, "sha256:" + "e" * 64
PROVENANCE_LISTING = f"orb-http 2.5.1 {CA1}\norb-api 1.3.0 -> orb-common>=2\norb-common 2.0.0\n"
PROVENANCE_PIPFILE = (
    '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
    f'[[source]]\nname = "codeartifact"\nurl = "{URL}"\nverify_ssl = true\n\n'
    "[packages]\n"
    'orb-http = {version = "==2.5.1", index = "codeartifact"}\n'
    'orb-api = {version = "==1.3.0", index = "codeartifact"}\n'
)


def provenance_lock(http_hashes: list[str]) -> str:
    return json.dumps(
        {
            "_meta": {"hash": {"sha256": "0" * 64}, "pipfile-spec": 6},
            "default": {
                "orb-http": {"hashes": http_hashes, "index": "codeartifact", "version": "==2.5.1"},
                "orb-api": {"hashes": [CA1], "index": "codeartifact", "version": "==1.3.0"},
                "orb-common": {"hashes": [CA1], "version": "==2.0.0"},
            },
            "develop": {},
        },
        indent=4,
    )


def test_check_reads_the_lock_beside_the_pipfile(tmp_path: Path) -> None:
    listing = parse_listing(PROVENANCE_LISTING)
    (tmp_path / "Pipfile").write_text(PROVENANCE_PIPFILE)
    lock = tmp_path / "Pipfile.lock"
    lock.write_text(provenance_lock([CA1, EVIL]))
    result = check_paths([tmp_path], listing, AuditOptions(), Mode.AUDIT)
    (item,) = result.files
    got = [(f.kind, f.package) for f in item.remaining]
    assert got == [
        (FindingKind.FOREIGN_HASHES, "orb-http"),
        (FindingKind.PRIVATE_TRANSITIVE, "orb-common"),
    ]
    foreign, transitive = item.remaining
    assert f"{lock}: the lock holds files for orb-http==2.5.1" in foreign.message
    assert "1 foreign hash(es), 1 matching" in foreign.message
    assert "needed by orb-api but not listed: pipenv looks for it on 'pypi'" in transitive.message
    assert f"(found in {lock})" in transitive.message
    assert item.status is FileStatus.NEEDS_ACTION and result.exit_code == 1

    document = json.loads(check_json(result, listing, "codeartifact"))
    kinds = [(f["kind"], f["severity"], f["fixable"]) for f in document["files"][0]["findings"]]
    assert ("foreign-hashes", "critical", False) in kinds
    assert ("private-transitive", "high", True) in kinds  # the fix adds it to the Pipfile
    assert document["summary"]["findings"]["foreign-hashes"] == 1

    # CodeArtifact's hashes only: the lock's provenance is good; the transitive need stays.
    lock.write_text(provenance_lock([CA1]))
    (item,) = check_paths([tmp_path], listing, AuditOptions(), Mode.AUDIT).files
    assert [f.kind for f in item.remaining] == [FindingKind.PRIVATE_TRANSITIVE]
    lock.write_text(provenance_lock([CA1, EVIL]))

    # --fix adds the private dependency to the Pipfile but never writes the lock: the
    # foreign hashes remain (only the fix PR replaces them).
    fixed = check_paths([tmp_path], listing, AuditOptions(), Mode.FIX)
    assert [f.kind for f in fixed.files[0].remaining] == [FindingKind.FOREIGN_HASHES]
    assert fixed.files[0].written and lock.read_text() == provenance_lock([CA1, EVIL])
    assert (
        'orb-common = {version = "*", index = "codeartifact"}' in (tmp_path / "Pipfile").read_text()
    )


def test_check_without_a_lock_follows_the_listing_dependencies(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(PROVENANCE_PIPFILE)
    listing = parse_listing(PROVENANCE_LISTING)
    (item,) = check_paths([tmp_path], listing, AuditOptions(), Mode.AUDIT).files
    (finding,) = item.remaining
    assert finding.kind is FindingKind.PRIVATE_TRANSITIVE
    assert finding.message.endswith("(found from the private packages' dependencies)")
    # An old-style listing (no dependencies, no hashes) finds nothing new.
    plain = parse_listing("orb-http 2.5.1\norb-api 1.3.0\norb-common 2.0.0\n")
    (item,) = check_paths([tmp_path], plain, AuditOptions(), Mode.AUDIT).files
    assert item.status is FileStatus.COMPLIANT


def test_an_unreadable_lock_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(PROVENANCE_PIPFILE)
    (tmp_path / "Pipfile.lock").write_bytes(b"\xff\xfe not utf-8")
    plain = parse_listing("orb-http 2.5.1\norb-api 1.3.0\norb-common 2.0.0\n")
    (item,) = check_paths([tmp_path], plain, AuditOptions(), Mode.AUDIT).files
    assert item.status is FileStatus.COMPLIANT


def test_the_command_reports_both_kinds_from_a_listing_file(tmp_path: Path) -> None:
    (tmp_path / "listing.txt").write_text(PROVENANCE_LISTING)
    (tmp_path / "Pipfile").write_text(PROVENANCE_PIPFILE)
    (tmp_path / "Pipfile.lock").write_text(provenance_lock([EVIL]))
    done = subprocess.run(
        [PIPFLEET, "check", ".", "--listing", "listing.txt", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["summary"]["findings"]["foreign-hashes"] == 1
    assert document["summary"]["findings"]["private-transitive"] == 1
    assert document["listing"]["digest"] == parse_listing(PROVENANCE_LISTING).digest()
    messages = [f["message"] for f in document["files"][0]["findings"]]
    assert any(
        m.startswith("Pipfile.lock: the lock holds files for orb-http==2.5.1") for m in messages
    )
