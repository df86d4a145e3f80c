from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.engine.test_poetrylock import OTHER, package
from tests.engine.test_poetrylock import PYPROJECT as POETRY_PYPROJECT
from tests.engine.test_poetrylock import lock as poetry_lock
from tests.engine.test_uvlock import PUBLIC
from tests.engine.test_uvlock import lock as uv_lock

from pipfleet.checkoutput import check_json
from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FindingKind
from pipfleet.engine.fixset import Manifests, RepoFix, build_fix
from pipfleet.engine.listing import Listing, parse_listing
from pipfleet.engine.lockfile import HashScheme, pipfile_hash
from pipfleet.engine.uvlock import relock_note
from pipfleet.jobs.check import (
    ChangedFile,
    CheckResult,
    FileStatus,
    LockResult,
    Mode,
    check_paths,
    check_text,
)
from pipfleet.states import ManifestKind

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

    # This lock's hash matches no Pipfile: --fix adds the private dependency to the
    # Pipfile and leaves the lock, saying why and that pipenv lock must write it.
    fixed = check_paths([tmp_path], listing, AuditOptions(), Mode.FIX)
    assert [f.kind for f in fixed.files[0].remaining] == [FindingKind.FOREIGN_HASHES]
    assert fixed.files[0].written and lock.read_text() == provenance_lock([CA1, EVIL])
    assert fixed.files[0].lock == LockResult(
        str(lock),
        None,
        "it was already out of date with the Pipfile: run `pipenv lock` (with "
        "CODEARTIFACT_AUTH_TOKEN exported)",
    )
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


def current_lock(pipfile: str, http_hashes: list[str]) -> str:
    """``provenance_lock`` as pipenv would have written it for ``pipfile``: not stale."""
    lock = json.loads(provenance_lock(http_hashes))
    data = tomllib.loads(pipfile)
    lock["_meta"]["hash"]["sha256"] = pipfile_hash(data, HashScheme.CANONICAL)
    lock["_meta"]["sources"] = data["source"]
    return json.dumps(lock, indent=4) + "\n"


def test_fix_brings_the_lock_along_as_the_pull_request_does(tmp_path: Path) -> None:
    listing = parse_listing(PROVENANCE_LISTING)
    unpinned = PROVENANCE_PIPFILE.replace(
        'orb-api = {version = "==1.3.0", index = "codeartifact"}', 'orb-api = "==1.3.0"'
    )
    pipfile, lock = tmp_path / "Pipfile", tmp_path / "Pipfile.lock"
    pipfile.write_text(unpinned)
    lock.write_text(current_lock(unpinned, [CA1, EVIL]))

    (item,) = check_paths([tmp_path], listing, AuditOptions(), Mode.DIFF).files
    assert item.lock is not None and item.lock.new_text is not None and not item.lock.written
    assert lock.read_text() == current_lock(unpinned, [CA1, EVIL])  # --diff writes nothing

    result = check_paths([tmp_path], listing, AuditOptions(), Mode.FIX)
    (item,) = result.files
    assert item.written and item.lock is not None and item.lock.written
    assert (item.lock.rehashed, item.lock.problem) == (1, None)
    assert item.status is FileStatus.FIXED and result.exit_code == 0
    new_pipfile = pipfile.read_text()
    written = json.loads(lock.read_text())
    # The lock matches the new Pipfile, the pinned and added entries name the index, and
    # the foreign file is gone: what the fix pull request's lock holds.
    assert written["_meta"]["hash"]["sha256"] == pipfile_hash(
        tomllib.loads(new_pipfile), HashScheme.CANONICAL
    )
    assert written["default"]["orb-api"]["index"] == "codeartifact"
    assert written["default"]["orb-common"]["index"] == "codeartifact"
    assert written["default"]["orb-http"]["hashes"] == [CA1]
    assert check_paths([tmp_path], listing, AuditOptions(), Mode.AUDIT).exit_code == 0

    (document,) = json.loads(check_json(result, listing, "codeartifact"))["files"]
    assert document["lock"] == {
        "path": str(lock),
        "changed": True,
        "written": True,
        "rehashed": 1,
        "problem": None,
    }


def test_fix_says_when_the_lock_needs_pipenv_lock(tmp_path: Path) -> None:
    # orb-http 2.6.0 is locked but the listing has no files for it: the lock is updated
    # for the new index, and the output says that entry still needs relocking.
    listing = parse_listing(PROVENANCE_LISTING.replace(f"orb-http 2.5.1 {CA1}", "orb-http 2.7.0"))
    pipfile, lock = tmp_path / "Pipfile", tmp_path / "Pipfile.lock"
    (tmp_path / "listing.txt").write_text(
        PROVENANCE_LISTING.replace(f"orb-http 2.5.1 {CA1}", "orb-http 2.7.0")
    )
    unpinned = PROVENANCE_PIPFILE.replace(
        'orb-http = {version = "==2.5.1", index = "codeartifact"}', 'orb-http = "==2.5.1"'
    )
    pipfile.write_text(unpinned)
    lock.write_text(current_lock(unpinned, [CA1]))
    (item,) = check_paths([tmp_path], listing, AuditOptions(), Mode.DIFF).files
    assert item.lock is not None and item.lock.problem is not None
    assert "CodeArtifact does not have default/orb-http==2.5.1" in item.lock.problem
    done = subprocess.run(
        [PIPFLEET, "check", ".", "--listing", "listing.txt", "--fix"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr  # version-not-found stays
    assert "Pipfile.lock: updated; CodeArtifact does not have " in done.stdout
    assert "run `pipenv lock`" in done.stdout
    assert json.loads(lock.read_text())["default"]["orb-http"]["index"] == "codeartifact"


def test_fix_replaces_foreign_files_when_only_the_lock_is_wrong(tmp_path: Path) -> None:
    # orb-common is listed and pinned: the Pipfile is right, the lock holds a foreign file.
    listing = parse_listing(PROVENANCE_LISTING)
    pipfile = PROVENANCE_PIPFILE + 'orb-common = {version = "*", index = "codeartifact"}\n'
    (tmp_path / "Pipfile").write_text(pipfile)
    lock = tmp_path / "Pipfile.lock"
    lock.write_text(current_lock(pipfile, [EVIL]))
    result = check_paths([tmp_path], listing, AuditOptions(), Mode.FIX)
    (item,) = result.files
    assert [f.kind for f in item.report.findings if f.needs_action] == [FindingKind.FOREIGN_HASHES]
    assert not item.written and (tmp_path / "Pipfile").read_text() == pipfile
    assert item.lock is not None and (item.lock.written, item.lock.rehashed) == (True, 1)
    assert json.loads(lock.read_text())["default"]["orb-http"]["hashes"] == [CA1]
    assert item.status is FileStatus.FIXED and result.exit_code == 0


# uv, Poetry and requirements files: the scan's audit, the fix pull request's fix.
GENUINE = "sha256:" + "a" * 64
MANIFEST_LISTING = f"orb-common 2.0.0 {GENUINE} 2.1.0\n"
CA = "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/"
UV_PYPROJECT = '[project]\nname = "svc"\ndependencies = ["orb-common", "requests"]\n\n[tool.uv]\n'
REQUIREMENTS = f"--extra-index-url {CA}\nrequests\norb-common==2.1.0\n"


def manifests_fix(root: Path, listing: Listing, options: AuditOptions) -> RepoFix:
    """What the fix pull request makes of ``root``'s uv, Poetry and requirements files."""
    texts = {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}
    uv = {p: t for p, t in texts.items() if p.endswith("pyproject.toml") and "tool.uv" in t}
    poetry = {p: t for p, t in texts.items() if p.endswith("pyproject.toml") and p not in uv}
    requirements = {p: t for p, t in texts.items() if p.startswith("requirements")}
    locks = {p: t for p, t in texts.items() if p.endswith(".lock")}
    return build_fix({}, locks, listing, options, Manifests(uv, poetry, requirements))


def test_a_uv_project_is_audited_with_its_lock_and_fixed_as_the_pull_request_does(
    tmp_path: Path,
) -> None:
    listing = parse_listing(MANIFEST_LISTING)
    options = AuditOptions(source_url=CA)
    (tmp_path / "pyproject.toml").write_text(UV_PYPROJECT)
    (tmp_path / "uv.lock").write_text(uv_lock(PUBLIC, "2.1.0"))
    audit = check_paths([tmp_path], listing, options, Mode.AUDIT)
    (item,) = audit.files
    assert item.kind is ManifestKind.UV and item.status is FileStatus.NEEDS_ACTION
    assert {(f.kind, f.package) for f in item.remaining} == {
        (FindingKind.MISSING_SOURCE, None),
        (FindingKind.MISSING_INDEX, "orb-common"),
        (FindingKind.WRONG_INDEX, "orb-common"),  # the lock: it came from PyPI
    }
    assert audit.exit_code == 1

    expected = manifests_fix(tmp_path, listing, options)
    result = check_paths([tmp_path], listing, options, Mode.FIX)
    (item,) = result.files
    (change,) = expected.changes  # the pyproject.toml alone: uv.lock is never edited
    assert item.written and (tmp_path / "pyproject.toml").read_text() == change.new_text
    assert (tmp_path / "uv.lock").read_text() == uv_lock(PUBLIC, "2.1.0")
    assert item.lock == LockResult(
        str(tmp_path / "uv.lock"), None, relock_note(f"{tmp_path}/uv.lock", ["orb-common"])
    )
    # The lock still holds PyPI's file until `uv lock` runs: that is what remains.
    assert [(f.kind, f.category) for f in item.remaining] == [
        (FindingKind.WRONG_INDEX, str(tmp_path / "uv.lock"))
    ]
    assert result.exit_code == 1


def test_a_poetry_project_and_its_lock_are_fixed_in_place(tmp_path: Path) -> None:
    listing = parse_listing(MANIFEST_LISTING)
    options = AuditOptions(source_url=CA)
    pyproject = tmp_path / "app" / "pyproject.toml"
    pyproject.parent.mkdir()
    pyproject.write_text(POETRY_PYPROJECT)
    lock = tmp_path / "app" / "poetry.lock"
    lock.write_text(
        poetry_lock(
            POETRY_PYPROJECT,
            package("orb-common", "2.0.0", GENUINE, "public"),
            package("requests", "2.31.0", OTHER),
        )
    )
    expected = {c.path: c.new_text for c in manifests_fix(tmp_path, listing, options).changes}
    assert sorted(expected) == ["app/poetry.lock", "app/pyproject.toml"]
    diff = check_paths([tmp_path], listing, options, Mode.DIFF)
    (item,) = diff.files
    assert item.kind is ManifestKind.POETRY and item.new_text == expected["app/pyproject.toml"]
    assert item.lock is not None and item.lock.new_text == expected["app/poetry.lock"]
    assert item.diff.startswith(f"--- a/{str(pyproject).lstrip('/')}\n") and not item.written

    result = check_paths([tmp_path], listing, options, Mode.FIX)
    (item,) = result.files
    assert pyproject.read_text() == expected["app/pyproject.toml"]
    assert lock.read_text() == expected["app/poetry.lock"]
    assert 'reference = "codeartifact"' in lock.read_text()
    assert item.lock is not None and item.lock.written and item.lock.problem is None
    assert item.status is FileStatus.FIXED and result.exit_code == 0
    assert check_paths([tmp_path], listing, options, Mode.AUDIT).exit_code == 0


def test_a_requirements_install_is_fixed_through_the_file_it_includes(tmp_path: Path) -> None:
    listing = parse_listing(MANIFEST_LISTING)
    options = AuditOptions(source_url=CA)
    (tmp_path / "requirements").mkdir()
    root = tmp_path / "requirements.txt"
    root.write_text("-r requirements/base.txt\nflask\n")
    base = tmp_path / "requirements" / "base.txt"
    base.write_text(REQUIREMENTS)
    # Only the file pip is given is checked: the one it includes is read from disk.
    (item,) = check_paths([root], listing, options, Mode.AUDIT).files
    (finding,) = item.remaining
    assert (finding.kind, finding.file, finding.line) == (
        FindingKind.EXTRA_INDEX_URL,
        str(base),
        3,
    )
    assert finding.fixable and finding.expected == f"{base}:1: --index-url {CA}"

    result = check_paths([root], listing, options, Mode.FIX)
    (item,) = result.files
    assert item.new_text is None and item.also == (
        ChangedFile(str(base), REQUIREMENTS.replace("--extra-index-url", "--index-url"), True),
    )
    assert base.read_text() == REQUIREMENTS.replace("--extra-index-url", "--index-url")
    assert root.read_text() == "-r requirements/base.txt\nflask\n"
    assert item.status is FileStatus.FIXED and result.exit_code == 0


def test_a_requirements_change_pipfleet_does_not_make_stays_a_proposal(tmp_path: Path) -> None:
    leaked = "https://aws:LEAKED-9f8e7d@download.pytorch.org/whl/cpu"
    requirements = tmp_path / "requirements-dev.txt"
    text = f"--extra-index-url {leaked}\n{REQUIREMENTS}"
    requirements.write_text(text)
    listing = parse_listing(MANIFEST_LISTING)
    result = check_paths([tmp_path], listing, AuditOptions(source_url=CA), Mode.FIX)
    (item,) = result.files
    assert {f.kind for f in item.remaining} == {
        FindingKind.HARDCODED_CREDENTIAL,
        FindingKind.EXTRA_INDEX_URL,
    }
    assert all(f.manual and f.expected for f in item.remaining)
    assert requirements.read_text() == text and not item.written
    assert result.exit_code == 1
    document = check_json(result, listing, "codeartifact")
    assert "LEAKED-9f8e7d" not in document.replace(f"{tmp_path}", "")
    (file,) = json.loads(document)["files"]
    assert file["kind"] == "requirements"
    assert {f["kind"]: f["manual"] for f in file["findings"]} == {
        "hardcoded-credential": True,
        "extra-index-url": True,
    }


def test_a_plain_pyproject_is_not_audited_and_a_broken_one_is_invalid(tmp_path: Path) -> None:
    plain, broken = tmp_path / "plain" / "pyproject.toml", tmp_path / "broken" / "pyproject.toml"
    for path in (plain, broken):
        path.parent.mkdir()
    plain.write_text('[project]\nname = "x"\ndependencies = ["orb-common"]\n')
    broken.write_text('[tool.poetry]\nname = "x"\n[tool.poetry.dependencies\n')
    result = check_paths([plain], LISTING, AuditOptions(), Mode.AUDIT)
    (item,) = result.files
    assert (item.kind, item.status, result.exit_code) == (None, FileStatus.NOT_AUDITED, 0)
    (item,) = check_paths([broken], LISTING, AuditOptions(), Mode.FIX).files
    assert (item.kind, item.status) == (ManifestKind.POETRY, FileStatus.INVALID)
