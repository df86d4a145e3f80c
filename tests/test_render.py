"""What pipfleet prints: `pipfleet check` on a hostile Pipfile (a real run of the installed
command), and the fix job's summary (text and JSON), with what each fix does to its uv,
Poetry and requirements manifests."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from tests.engine.test_fixset_manifests import (
    CA,
    HOST,
    LISTING,
    OPTIONS,
    POETRY_LOCK,
    TORCH,
    UV_PYPROJECT,
)
from tests.engine.test_poetrylock import PYPROJECT as POETRY_PYPROJECT
from tests.engine.test_prbody import SETTINGS
from tests.engine.test_uvlock import PUBLIC
from tests.engine.test_uvlock import lock as uv_lock

from pipfleet.engine.fixset import Manifests, RehashedEntry, RepoFix, build_fix
from pipfleet.engine.plan import PullAction
from pipfleet.engine.prbody import render
from pipfleet.engine.uvlock import relock_note
from pipfleet.jobs.fix import FixOutcome, FixSummary
from pipfleet.render import fix_summary_json, print_fix_summary

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


# A requirements file under a folder whose name holds ESC, with a literal CodeArtifact token:
# build_fix makes CodeArtifact the only index and the token a variable, both automatically.
HOSTILE_INSTALL = "\x1b[2J/requirements.txt"
LITERAL_CA = CA.replace("${CODEARTIFACT_AUTH_TOKEN}", TOKEN)
# Another extra index beside CodeArtifact: dropping it is for a person to decide.
TORCH_INSTALL = f"--extra-index-url {CA}\n--extra-index-url {TORCH}\norb-common\n"


def repo_fix(**requirements: str) -> RepoFix:
    return build_fix(
        {},
        {"svc/uv.lock": uv_lock(PUBLIC, "2.1.0")},
        LISTING,
        OPTIONS,
        Manifests(
            uv={"svc/pyproject.toml": UV_PYPROJECT},
            requirements=requirements
            or {
                HOSTILE_INSTALL: f"--extra-index-url {LITERAL_CA}\nrequests\norb-common==2.1.0\n",
                "ml/requirements.txt": TORCH_INSTALL,
            },
        ),
    )


def opened(fix: RepoFix) -> FixSummary:
    outcome = FixOutcome("acme/orb", PullAction.OPEN, "new", fix, render(fix, "Pin", SETTINGS))
    return FixSummary(run_id=2, outcomes=[outcome])


def wide_output(summary: FixSummary, dry_run: bool) -> str:
    out = io.StringIO()
    print_fix_summary(Console(file=out, width=1000), summary, dry_run)
    return out.getvalue()


def test_a_dry_run_says_what_each_manifest_fix_does_beyond_its_diff() -> None:
    fix = repo_fix()
    shown = wide_output(opened(fix), dry_run=True)
    assert TOKEN not in shown and "\x1b" not in shown
    escaped = "\\x1b[2J/requirements.txt"
    ca = f"https://aws:${{CODEARTIFACT_AUTH_TOKEN}}@{HOST}/pypi/p/simple/"
    uv, requirements, torch = fix.manifests
    only, token = requirements.applied  # each shown as its own change of line 1
    (dropped,) = torch.proposals
    literal = f"--extra-index-url https://aws:****@{HOST}/pypi/p/simple/"
    expected = [
        "manifests:",
        "  uv svc/pyproject.toml: CodeArtifact index added",
        f"    svc/uv.lock left alone: {relock_note('svc/uv.lock', ['orb-common'])}",
        f"  requirements {escaped}",
        f"    changed: {only.summary}",
        f"      {escaped}:1: {literal} → --index-url {ca}",
        f"    changed: {token.summary}",
        f"      {escaped}:1: {literal} → --extra-index-url {ca}",
        "  requirements ml/requirements.txt",
        f"    proposed, for a person to make: {dropped.summary}",
        f"      ml/requirements.txt:1: --extra-index-url {ca} → --index-url {ca}",
        f"      ml/requirements.txt:2: --extra-index-url {TORCH} → (removed)",
    ]
    lines = shown.splitlines()
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected
    # After the repository's diffs, before the summary line.
    hunks = [n for n, line in enumerate(lines) if line.startswith("@@ ")]
    assert len(hunks) == 2 and hunks[-1] < start
    assert lines[start + len(expected)].startswith("fix (scan run 2): 1 would open")
    assert "manifests:" not in wide_output(opened(fix), dry_run=False)


def test_the_fix_summary_json_lists_each_manifest_fix() -> None:
    fix = repo_fix()
    dumped = json.dumps(fix_summary_json(opened(fix), dry_run=True))
    assert TOKEN not in dumped and "\x1b" not in dumped
    data = json.loads(dumped)
    assert {key: data[key] for key in ("run_id", "dry_run", "counts")} == {
        "run_id": 2,
        "dry_run": True,
        "counts": {"open": 1},
    }
    (repository,) = data["repositories"]
    assert (repository["repository"], repository["action"], repository["title"]) == (
        "acme/orb",
        "open",
        "Pin",
    )
    assert repository["fix"]["files"] == ["svc/pyproject.toml", HOSTILE_INSTALL]
    uv, requirements, torch = repository["fix"]["manifests"]
    assert uv == {
        "path": "svc/pyproject.toml",
        "kind": "uv",
        "added_index": True,
        "lock": "svc/uv.lock",
        "lock_updated": False,
        "relock": relock_note("svc/uv.lock", ["orb-common"]),
        "applied": [],
        "proposals": [],
    }
    assert (requirements["path"], requirements["kind"]) == (HOSTILE_INSTALL, "requirements")
    only, token = requirements["applied"]
    assert (only["kind"], token["kind"]) == ("extra-index-url", "hardcoded-credential")
    assert only["automatic"] is True and requirements["proposals"] == []
    assert only["changes"] == [
        {
            "file": HOSTILE_INSTALL,
            "line": 1,
            "before": [f"--extra-index-url https://aws:****@{HOST}/pypi/p/simple/"],
            "after": [f"--index-url {CA}"],
        }
    ]
    (dropped,) = torch["proposals"]
    assert (dropped["kind"], dropped["automatic"], torch["applied"]) == (
        "extra-index-url",
        False,
        [],
    )
    assert dropped["changes"][1] == {
        "file": "ml/requirements.txt",
        "line": 2,
        "before": [f"--extra-index-url {TORCH}"],
        "after": [],
    }


def test_a_poetry_lock_updated_or_left_alone_is_said_with_its_secrets_masked() -> None:
    fix = build_fix(
        {},
        {"app/poetry.lock": POETRY_LOCK},
        LISTING,
        OPTIONS,
        Manifests(poetry={"app/pyproject.toml": POETRY_PYPROJECT}),
    )
    (poetry,) = fix.manifests
    assert poetry.lock_updated
    assert "    app/poetry.lock updated in place" in wide_output(opened(fix), dry_run=True)
    # poetry.lock's own error, quoted in the note, may hold a source's URL as written.
    note = f"app/poetry.lock could not be updated (source https://aws:{TOKEN}@{HOST}/): run it"
    left = replace(fix, manifests=(replace(poetry, lock_updated=False, relock=note),))
    shown = wide_output(opened(left), dry_run=True)
    masked = note.replace(TOKEN, "****")
    assert f"    app/poetry.lock left alone: {masked}" in shown.splitlines()
    assert "updated in place" not in shown and TOKEN not in shown
    (entry,) = json.loads(json.dumps(fix_summary_json(opened(left), dry_run=True)))["repositories"]
    assert entry["fix"]["manifests"][0]["relock"] == masked


def test_a_proposal_alone_is_shown_though_there_is_no_pull_request() -> None:
    fix = build_fix({}, {}, LISTING, OPTIONS, Manifests(requirements={"r.txt": TORCH_INSTALL}))
    assert fix.empty
    summary = FixSummary(1, [FixOutcome("acme/ml", PullAction.NONE_NEEDED, "no change", fix)])
    lines = wide_output(summary, dry_run=True).splitlines()
    assert lines[:4] == [
        "acme/ml: nothing to fix (no change)",
        "manifests:",
        "  requirements r.txt",
        f"    proposed, for a person to make: {fix.manifests[0].proposals[0].summary}",
    ]


def test_a_summary_or_line_quoting_a_secret_is_masked_in_text_and_json() -> None:
    """The engine masks what it quotes; what is shown masks again, whatever a change says."""
    fix = repo_fix(**{"r.txt": TORCH_INSTALL})
    uv, install = fix.manifests
    (proposal,) = install.proposals
    url = f"https://u:{TOKEN}@torch.example/whl"
    change = replace(proposal.changes[0], before=(f"--extra-index-url {url}",), after=())
    leaky = replace(proposal, summary=f"{url} would be dropped", changes=(change,))
    summary = opened(replace(fix, manifests=(uv, replace(install, proposals=(leaky,)))))
    masked = url.replace(TOKEN, "****")
    lines = wide_output(summary, dry_run=True).splitlines()
    assert f"    proposed, for a person to make: {masked} would be dropped" in lines
    assert f"      r.txt:1: --extra-index-url {masked} → (removed)" in lines
    dumped = json.dumps(fix_summary_json(summary, dry_run=True))
    assert TOKEN not in dumped and dumped.count(masked) == 2


def test_a_dry_run_says_what_the_fix_does_to_each_pipfile_lock_and_what_it_cannot_fix() -> None:
    rehashed = RehashedEntry("Pipfile.lock", "default", "orb-http", "2.5.1", 2, 1, 2)
    unfixable = f"api/Pipfile: its source https://aws:{TOKEN}@{HOST}/ is not CodeArtifact's"
    fix = replace(
        repo_fix(),
        rehashed=(rehashed,),
        stale_locks=("api/Pipfile.lock",),
        relock=("Pipfile.lock: default/orb-api==9.9.9",),
        unfixable=(unfixable,),
    )
    lines = wide_output(opened(fix), dry_run=True).splitlines()
    start = lines.index("locks:")
    assert lines[start + 1 : start + 5] == [
        "  Pipfile.lock: default/orb-http==2.5.1 given CodeArtifact's 2 file(s), replacing 1 "
        "foreign hash(es)",
        "  api/Pipfile.lock: left alone, out of date with its Pipfile: run `pipenv lock`",
        "  Pipfile.lock: default/orb-api==9.9.9: run `pipenv lock`",
        f"  cannot fix {unfixable.replace(TOKEN, '****')}",
    ]
    assert lines[start + 5] == "manifests:" and TOKEN not in "\n".join(lines)
    (entry,) = json.loads(json.dumps(fix_summary_json(opened(fix), dry_run=True)))["repositories"]
    notes = entry["fix"]["lock_notes"]
    assert len(notes) == 4 and notes[3] == lines[start + 4].strip()
    assert "locks:" not in wide_output(opened(repo_fix()), dry_run=True)
