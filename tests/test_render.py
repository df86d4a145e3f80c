"""What pipfleet prints: `pipfleet check` on a hostile Pipfile (a real run of the installed
command), and the fix job's summary."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from pipfleet.engine.plan import PullAction
from pipfleet.jobs.fix import FixOutcome, FixSummary
from pipfleet.render import print_fix_summary

PIPFLEET = Path(sys.executable).with_name("pipfleet")
TOKEN = "eyJ2ZXIiOjEsImlzdSI6MTcxNjAwMDAwMH0.LITERAL-TOKEN"
# The comment reads "do not pin" on screen, but the entry is reviewed as pinned.
REVERSED_COMMENT = "# reviewed \u202enip ton od"
HOSTILE = f"""\
[[source]]
name = "codeartifact"
verify_ssl = true
url = "https://aws:{TOKEN}@a-1.d.codeartifact.us-east-1.amazonaws.com/pypi/r/simple/"

[packages]
orb-common = "==2.1.0"  {REVERSED_COMMENT}
"orb\\u001b[2J" = {{git = "https://example.com/x.git"}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "listing.txt").write_text("orb-common 2.1.0\n")
    (tmp_path / "Pipfile").write_text(HOSTILE)
    return tmp_path


def check(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PIPFLEET), "check", "Pipfile", "--listing", "listing.txt", *args],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
    )


def test_verbose_check_shows_a_package_names_escape_sequence_as_text(project: Path) -> None:
    result = check(project, "-v")
    assert result.returncode == 1, result.stderr
    assert "\x1b" not in result.stdout
    assert "non-registry [packages] orb\\x1b[2J: orb\\x1b[2J comes from git" in result.stdout
    assert "hardcoded-credential" in result.stdout and TOKEN not in result.stdout


def test_diff_shows_bidi_controls_as_escapes_and_masks_the_token(project: Path) -> None:
    result = check(project, "--diff")
    assert result.returncode == 1, result.stderr
    assert "\u202e" not in result.stdout and TOKEN not in result.stdout
    assert ' url = "https://aws:****@a-1.d.codeartifact.us-east-1' in result.stdout
    assert '-orb-common = "==2.1.0"  # reviewed \\u202enip ton od\n' in result.stdout
    assert (project / "Pipfile").read_text() == HOSTILE


def test_json_output_carries_no_token(project: Path) -> None:
    result = check(project, "--diff", "--format", "json")
    assert TOKEN not in result.stdout and "\u202e" not in result.stdout  # JSON escapes it
    (item,) = json.loads(result.stdout)["files"]
    assert "https://aws:****@a-1" in item["diff"] and REVERSED_COMMENT in item["diff"]
    kinds = {finding["kind"] for finding in item["findings"]}
    assert {"hardcoded-credential", "missing-index", "non-registry"} <= kinds


def test_fix_writes_the_file_as_it_is_masking_only_what_is_shown(project: Path) -> None:
    result = check(project, "--fix")
    assert TOKEN not in result.stdout
    fixed = (project / "Pipfile").read_text()
    assert f"aws:{TOKEN}@" in fixed and REVERSED_COMMENT in fixed
    assert 'orb-common = {version = "==2.1.0", index = "codeartifact"}' in fixed


def test_a_package_the_fix_adds_reads_not_listed(tmp_path: Path) -> None:
    (tmp_path / "listing.txt").write_text("orb-api 1.3.0 -> orb-common>=2.0\norb-common 2.1.0\n")
    (tmp_path / "Pipfile").write_text(
        '[[source]]\nname = "codeartifact"\nurl = "https://example.invalid/simple"\n'
        'verify_ssl = true\n\n[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\n'
        'verify_ssl = true\n\n[packages]\nrequests = {version = "*", index = "pypi"}\n'
        '\n[dev-packages]\norb-api = {version = "==1.3.0", index = "codeartifact"}\n'
    )
    shown = check(tmp_path).stdout
    assert (
        "private-transitive [dev-packages] orb-common" not in shown
    )  # the first source is private
    (tmp_path / "Pipfile").write_text(
        '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
        '[[source]]\nname = "codeartifact"\nurl = "https://example.invalid/simple"\n'
        'verify_ssl = true\n\n[dev-packages]\norb-api = {version = "==1.3.0", index = "codeartifact"}\n'
    )
    shown = check(tmp_path).stdout
    assert "private-transitive [dev-packages] orb-common" in shown
    assert '    not listed -> {version = "*", index = "codeartifact"}' in shown


def fix_output(summary: FixSummary, dry_run: bool) -> list[str]:
    out = io.StringIO()
    print_fix_summary(Console(file=out, width=200), summary, dry_run)
    return out.getvalue().splitlines()


def test_the_fix_summary_counts_with_the_words_of_the_repository_lines() -> None:
    outcomes = [
        FixOutcome(f"acme/orb-{n}", PullAction.NOTHING, "carries this fix") for n in range(15)
    ]
    outcomes += [
        FixOutcome("acme/orb-new", PullAction.OPEN, "2 entries", number=7, url="https://x/7"),
        FixOutcome("acme/orb-gone", PullAction.CLOSE, "fixed on main", number=3, url="https://x/3"),
        FixOutcome("acme/orb-no", PullAction.DECLINED, "closed unmerged"),
    ]
    summary = FixSummary(run_id=4, outcomes=outcomes, writes=9)
    lines = fix_output(summary, dry_run=False)
    assert lines[0] == "acme/orb-0: up to date (carries this fix)"
    assert "acme/orb-new: opened #7 https://x/7 (2 entries)" in lines
    assert lines[-1] == (
        "fix (scan run 4): 1 opened, 1 closed (fixed on the default branch), 15 up to date, "
        "1 declined earlier (left alone); 9 write requests"
    )
    dry = fix_output(summary, dry_run=True)
    assert "acme/orb-gone: would close #3 https://x/3 (fixed on main)" in dry
    assert dry[-1] == (
        "fix (scan run 4): 1 would open, 1 would close, 15 up to date, "
        "1 declined earlier (left alone); dry run, nothing written"
    )


def test_every_fix_outcome_is_counted_in_its_own_words() -> None:
    outcomes = [FixOutcome(f"acme/{action}", action, "why") for action in PullAction]
    text = " ".join(fix_output(FixSummary(run_id=1, outcomes=outcomes), dry_run=False))
    counted = text.partition("fix (scan run 1): ")[2].split(";")[0].split(", ")
    assert len(counted) == len(PullAction)
    assert all(part.startswith("1 ") for part in counted)


def test_importing_render_loads_no_job_store_or_github_code() -> None:
    # `pipfleet check` should start fast; the summaries are only types to this module.
    code = "import sys, pipfleet.render; print(*sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = ("pipfleet.jobs", "pipfleet.store", "pipfleet.github", "sqlalchemy", "boto3")
    assert [name for name in loaded if name.startswith(heavy)] == []
