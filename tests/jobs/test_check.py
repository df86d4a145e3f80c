from __future__ import annotations

from pathlib import Path

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.listing import Listing
from pipfleet.jobs.check import CheckResult, FileStatus, Mode, check_paths, check_text

LISTING = Listing.of(["orb-common"])
URL = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@a-1.d.codeartifact.us-east-1.amazonaws.com/pypi/r/simple/"
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
