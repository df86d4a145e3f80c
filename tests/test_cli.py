"""The command line as a user runs it: a real process, exit codes, output, files on disk."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import CORPUS, SOURCE_URL, corpus_features
from typer.testing import CliRunner

from pipfleet import __version__
from pipfleet.cli import app

PIPFLEET = Path(sys.executable).with_name("pipfleet")
BEFORE = (
    '[[source]]\r\nname = "pypi"\r\nurl = "https://pypi.org/simple"\r\nverify_ssl = true\r\n\r\n'
    f'[[source]]\r\nname = "codeartifact"\r\nurl = "{SOURCE_URL}"\r\nverify_ssl = true\r\n\r\n'
    '[packages]\r\norb-common = "==2.1.0"  # shared\r\nrequests = "*"'
)


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PIPFLEET), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "listing.txt").write_text("orb-common 2.0.0 2.1.0\n")
    (tmp_path / "Pipfile").write_bytes(BEFORE.encode())
    (tmp_path / "Pipfile").chmod(0o640)
    for skipped in (".git", "node_modules", "venv-x"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "Pipfile").write_text('[packages]\norb-common = "*"\n')
    (tmp_path / "venv-x" / "pyvenv.cfg").write_text("home = /usr\n")
    return tmp_path


def test_audit_exits_1_and_names_the_finding(project: Path) -> None:
    result = run("check", project, "--listing", project / "listing.txt")
    assert result.returncode == 1, result.stderr
    assert f"{project / 'Pipfile'}:12: missing-index [packages] orb-common" in result.stdout
    assert "1 file(s) (1 pipfile), 1 needs-action" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when not on a terminal


def test_diff_prints_the_fix_and_writes_nothing(project: Path) -> None:
    result = run("check", "Pipfile", "--listing", "listing.txt", "--diff", cwd=project)
    assert result.returncode == 1
    assert '-orb-common = "==2.1.0"  # shared' in result.stdout
    assert '+orb-common = {version = "==2.1.0", index = "codeartifact"}  # shared' in result.stdout
    assert (project / "Pipfile").read_bytes() == BEFORE.encode()


def test_fix_rewrites_in_place_keeping_bytes_and_mode(project: Path) -> None:
    result = run("check", project, "--listing", project / "listing.txt", "--fix")
    assert result.returncode == 0, result.stdout
    after = (project / "Pipfile").read_bytes()
    assert (
        after
        == BEFORE.replace('"==2.1.0"', '{version = "==2.1.0", index = "codeartifact"}').encode()
    )
    assert stat.S_IMODE((project / "Pipfile").stat().st_mode) == 0o640
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".Pipfile")) == []
    assert run("check", project, "--listing", project / "listing.txt").returncode == 0


def test_fix_adds_the_missing_source_when_given_its_url(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text('[packages]\norb-common = "*"\n')
    (tmp_path / "listing.txt").write_text("orb-common\n")
    without = run("check", tmp_path, "--listing", tmp_path / "listing.txt", "--fix")
    assert without.returncode == 1 and "--source-url" in without.stdout
    with_url = run(
        "check",
        tmp_path,
        "--listing",
        tmp_path / "listing.txt",
        "--fix",
        "--source-url",
        SOURCE_URL,
    )
    assert with_url.returncode == 0, with_url.stdout
    assert (
        (tmp_path / "Pipfile")
        .read_text()
        .startswith(
            '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
            f'[[source]]\nname = "codeartifact"\nurl = "{SOURCE_URL}"\nverify_ssl = true\n\n[packages]\n'
        )
    )


def test_json_output_follows_the_schema(project: Path) -> None:
    result = run("check", project, "--listing", project / "listing.txt", "--format", "json")
    document = json.loads(result.stdout)
    assert (
        document["schema"] == "pipfleet.check/1" and document["exit_code"] == 1 == result.returncode
    )
    (file,) = document["files"]
    assert file["status"] == "needs-action" and file["private_source"] == "codeartifact"
    assert (file["kind"], file["also_changed"]) == ("pipfile", [])
    assert [f["kind"] for f in file["findings"]] == ["public-first", "missing-index"]
    assert file["findings"][1] | {"message": ""} == {
        "kind": "missing-index",
        "severity": "high",
        "fixable": True,
        "category": "packages",
        "package": "orb-common",
        "current": '"==2.1.0"',
        "expected": '{version = "==2.1.0", index = "codeartifact"}',
        "line": 12,
        "column": None,
        "source": "codeartifact",
        "message": "",
        "file": str(project / "Pipfile"),
        "manual": False,
    }
    assert document["summary"]["findings"] == {"missing-index": 1, "public-first": 1}


@pytest.mark.parametrize(
    "folder", [d for d, f in corpus_features().items() if "NEGATIVE-CASE" in f]
)
def test_invalid_corpus_files_exit_2_without_traceback(folder: str, tmp_path: Path) -> None:
    (tmp_path / "listing.txt").write_text("")
    result = run("check", CORPUS / folder / "Pipfile", "--listing", tmp_path / "listing.txt")
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "parse-error" in result.stdout


def test_one_bad_file_does_not_stop_the_others(project: Path) -> None:
    (project / "sub").mkdir()
    (project / "sub" / "Pipfile").write_text("[packages\n")
    result = run("check", project, "--listing", project / "listing.txt", "--fix")
    assert result.returncode == 2
    assert "sub/Pipfile:1:10: parse-error" in result.stdout
    assert b"index = " in (project / "Pipfile").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("check", "missing-dir", "--listing", "listing.txt"),
            "missing-dir: no such file or folder",
        ),
        (("check", ".", "--listing", "nope.txt"), "cannot read listing nope.txt"),
        (("check", ".", "--listing", "listing.txt", "--fix", "--diff"), "cannot be used together"),
        (("check", ".", "--listing", "bad-listing.txt"), "bad-listing.txt:1: 'a/b' is not a valid"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    project: Path, args: tuple[str, ...], message: str
) -> None:
    (project / "bad-listing.txt").write_text("a/b\n")
    result = run(*args, cwd=project)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("pipfleet: error: ") and message in line


def test_unreadable_file_is_reported_not_raised(project: Path) -> None:
    # Bytes that are not text: unreadable whoever runs it (root, as CI does, ignores modes).
    pipfile = project / "Pipfile"
    pipfile.write_bytes(b"\xff\xfe not utf-8")
    result = run("check", pipfile, "--listing", project / "listing.txt")
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert f"{pipfile}: parse-error not UTF-8 text" in result.stdout, result.stdout


def invoke(*args: str) -> str:
    """The CLI in this process: help screens need no subprocess."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_version_and_plain_help_screens() -> None:
    assert invoke("--version") == f"{__version__}\n"
    for command in ((), ("run",), ("db",), ("sandbox", "serve")):
        text = invoke(*command, "--help")
        assert "  --help  " in text and "<bool>" not in text
    check = invoke("check", "--help")
    assert "  --fix  " in check and "<bool>" not in check
    assert "Name of the private [[source]]" in check  # Rich markup would swallow the brackets
    serve = " ".join(invoke("serve", "--help").split())
    assert "--base-path" in serve and "no authentication of its own" in serve


# Runs pipfleet with one third-party package made unimportable, as in an install
# without the extra that provides it (a meta path finder: fault injection only).
WITHOUT_MODULE = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == MISSING:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

MISSING = sys.argv.pop(1)
sys.meta_path.insert(0, Missing())
sys.argv[0] = "pipfleet"
from pipfleet.cli import main
main()
"""


@pytest.mark.parametrize(
    ("missing", "args", "extra"),
    [
        ("sqlalchemy", ["db", "current"], "bot"),
        ("github", ["scan"], "bot"),
        ("boto3", ["listing", "export"], "aws"),
        ("graphql", ["sandbox", "serve", "--help"], None),  # help needs no module
    ],
)
def test_a_command_without_its_extra_says_which_to_install(
    tmp_path: Path, missing: str, args: list[str], extra: str | None
) -> None:
    (tmp_path / "pipfleet.toml").write_text(
        (Path(__file__).parents[1] / "config" / "pipfleet.toml").read_text()
    )
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_MODULE, missing, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    if extra is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"pipfleet: error: pipfleet {args[0]} needs {missing}")
    assert f"pip install 'pipfleet[{extra}]'" in result.stderr


CA = (
    "https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme-1.d.codeartifact.eu-west-1.amazonaws.com"
    "/pypi/p/simple/"
)


def test_every_kind_of_manifest_is_checked_and_named(tmp_path: Path) -> None:
    """A folder with a uv, a Poetry, a plain and requirements manifests: JSON and text name
    each file and its kind; a proposal pipfleet does not make is shown, its secret masked."""
    (tmp_path / "listing.txt").write_text("orb-common 2.0.0 2.1.0\n")
    for folder in ("svc", "app", "plain", ".venv"):
        (tmp_path / folder).mkdir()
    (tmp_path / "svc" / "pyproject.toml").write_text(
        '[project]\nname = "svc"\ndependencies = ["orb-common"]\n\n[tool.uv]\n'
    )
    (tmp_path / "app" / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "app"\n\n[tool.poetry.dependencies]\norb-common = "^2"\n'
    )
    (tmp_path / "plain" / "pyproject.toml").write_text('[project]\nname = "plain"\n')
    (tmp_path / ".venv" / "requirements.txt").write_text("orb-common\n")  # not searched
    leaked = "https://aws:LEAKED-9f8e7d@download.pytorch.org/whl/cpu"
    (tmp_path / "requirements.txt").write_text(
        f"--extra-index-url {leaked}\n--extra-index-url {CA}\norb-common==2.1.0\n"
    )
    result = run("check", ".", "--listing", "listing.txt", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    files = {f["path"]: (f["kind"], f["status"]) for f in document["files"]}
    assert files == {
        "app/pyproject.toml": ("poetry", "needs-action"),
        "plain/pyproject.toml": (None, "not-audited"),
        "requirements.txt": ("requirements", "needs-action"),
        "svc/pyproject.toml": ("uv", "needs-action"),
    }
    assert document["summary"]["not-audited"] == 1
    assert "LEAKED-9f8e7d" not in result.stdout

    text = run("check", ".", "--listing", "listing.txt", cwd=tmp_path)
    assert text.returncode == 1 and "LEAKED-9f8e7d" not in text.stdout
    assert "svc/pyproject.toml:3: missing-index [project] orb-common" in text.stdout
    assert "requirements.txt:3: extra-index-url" in text.stdout
    assert "    proposed, for you to make:\n    requirements.txt:1: (removed)" in text.stdout
    assert "plain/pyproject.toml: not audited" in text.stdout
    assert text.stdout.splitlines()[-1] == (
        "4 file(s) (1 uv, 1 poetry, 1 requirements), 3 needs-action, 1 not-audited"
    )
