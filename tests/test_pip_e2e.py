"""End to end: real pip against two loopback indexes, one playing public PyPI (holding an
impostor of a private name at a higher version) and one playing CodeArtifact (behind a
token, PyPI as its upstream through pypiserver's fallback), proves what pipfleet's audit
of requirements files says: CodeArtifact as an extra index installs the impostor, in the
file itself or in one it includes; an --index-url read later drops CodeArtifact, and one
after a requirement on its line is ignored; and the
arrangement pipfleet proposes (CodeArtifact the only --index-url) installs the private
package and still the public ones.

pip runs isolated (tests/pipenv_tools.py) with --dry-run --report, so it resolves and
downloads metadata like an install and installs nothing; the command line's
--index-url stands for PyPI, the default a requirements file starts from.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.distributions import write_wheel
from tests.loopback_indexes import Server, pypiserver, write_htpasswd
from tests.pipenv_tools import TOKEN_VAR, isolated_env, output, run

from pipfleet.engine.audit import AuditOptions
from pipfleet.engine.findings import FileReport, FindingKind
from pipfleet.engine.listing import parse_listing
from pipfleet.engine.requirementsincludes import audit_loaded, load_tree
from pipfleet.engine.requirementsrewrite import Proposal, proposals

PRIVATE = "orb-e2e-common"
PRIVATE_VERSION = "2.1.0"
IMPOSTOR_VERSION = "9.0.0"
PUBLIC = "orb-e2e-public"
LISTING = parse_listing(f"{PRIVATE} {PRIVATE_VERSION}\n")


@dataclass(frozen=True)
class Indexes:
    public: Server
    private: Server
    token: str

    @property
    def private_url(self) -> str:
        # "localhost", not 127.0.0.1: pipfleet tells the indexes apart by host, as it
        # tells CodeArtifact's from PyPI's; pip sends the token from the environment.
        return f"http://aws:${{{TOKEN_VAR}}}@localhost:{self.private.port}/simple/"

    @property
    def options(self) -> AuditOptions:
        return AuditOptions(source_url=f"http://localhost:{self.private.port}/simple/")


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexes]:
    root = tmp_path_factory.mktemp("indexes")
    public_dir, private_dir = root / "public", root / "private"
    public_dir.mkdir()
    private_dir.mkdir()
    write_wheel(public_dir, PUBLIC, "1.0.0")
    write_wheel(public_dir, PRIVATE, IMPOSTOR_VERSION)  # the dependency-confusion squat
    write_wheel(private_dir, PRIVATE, PRIVATE_VERSION)
    token = secrets.token_urlsafe(24)
    htpasswd = write_htpasswd(root / "htpasswd", "aws", token)
    with pypiserver(public_dir, root / "public.log") as public:
        with pypiserver(
            private_dir, root / "private.log", htpasswd=htpasswd, fallback_url=public.simple_url
        ) as private:
            yield Indexes(public, private, token)


def pip_dry_run(
    indexes: Indexes, folder: Path, root: str, token: str
) -> subprocess.CompletedProcess[str]:
    """``pip install -r root`` resolved and its report written to folder/report.json."""
    home = folder / "home"
    home.mkdir(exist_ok=True)
    cmd = [
        *(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"),
        *("--no-cache-dir", "--quiet", "--report", str(folder / "report.json")),
        *("--index-url", indexes.public.simple_url, "-r", root),
    ]
    return run(cmd, folder, isolated_env(home, token), timeout=120)


def pip_installs(indexes: Indexes, folder: Path, root: str) -> dict[str, tuple[str, int | None]]:
    """What ``pip install -r root`` would install: name -> (version, port it came from)."""
    proc = pip_dry_run(indexes, folder, root, indexes.token)
    assert proc.returncode == 0, output(proc)
    installed = json.loads((folder / "report.json").read_text())["install"]
    return {
        item["metadata"]["name"]: (
            item["metadata"]["version"],
            urlsplit(item["download_info"]["url"]).port,
        )
        for item in installed
    }


def audited(folder: Path, root: str, indexes: Indexes) -> tuple[FileReport, tuple[Proposal, ...]]:
    files = {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in folder.rglob("*.txt")
        if "home" not in path.parts
    }
    tree = load_tree(root, files)
    report = audit_loaded(tree, LISTING, indexes.options)
    return report, proposals(tree, report, indexes.options)


def write(folder: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)


def applied(folder: Path, proposal: Proposal) -> None:
    """Make the proposal's changes as the report shows them (no credential is literal)."""
    for path in {change.file for change in proposal.changes}:
        lines = (folder / path).read_text().splitlines(keepends=True)
        for change in sorted(proposal.changes, key=lambda c: -c.line):
            if change.file == path:
                assert [
                    line.rstrip("\n") for line in lines[change.line - 1 :][: len(change.before)]
                ] == list(change.before)
                lines[change.line - 1 : change.line - 1 + len(change.before)] = [
                    f"{line}\n" for line in change.after
                ]
        (folder / path).write_text("".join(lines))


@pytest.mark.slow
def test_the_private_index_wants_the_token(indexes: Indexes, tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": f"--index-url {indexes.private_url}\n{PRIVATE}\n"})
    installs = pip_installs(indexes, tmp_path, "requirements.txt")
    assert installs == {PRIVATE: (PRIVATE_VERSION, indexes.private.port)}
    refused = pip_dry_run(indexes, tmp_path, "requirements.txt", "not-the-token")
    assert refused.returncode != 0, output(refused)
    assert f"No matching distribution found for {PRIVATE}" in refused.stderr, output(refused)


CASES = {
    # CodeArtifact as an extra index in the file itself.
    "extra-index": (
        {"requirements.txt": "--extra-index-url {private}\n{names}"},
        FindingKind.EXTRA_INDEX_URL,
    ),
    # ... in a file it includes: pip's index options are global to the install.
    "extra-index-included": (
        {
            "requirements.txt": "-r requirements/base.txt\n{names}",
            "requirements/base.txt": "--extra-index-url {private}\n",
        },
        FindingKind.EXTRA_INDEX_URL,
    ),
    # An --index-url in an included file read after it: CodeArtifact is never asked.
    "index-url-read-later": (
        {
            "requirements.txt": "--extra-index-url {private}\n-r base.txt\n{names}",
            "base.txt": "--index-url {public}\n",
        },
        FindingKind.MISSING_INDEX,
    ),
    # CodeArtifact after the private requirement on its line: pip ignores it there.
    "index-url-on-the-requirement-line": (
        {"requirements.txt": "{public_name}\n{private_name} --index-url {private}\n"},
        FindingKind.MISSING_INDEX,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_flagged_files_install_the_impostor_and_the_proposal_does_not(
    indexes: Indexes, tmp_path: Path, case: str
) -> None:
    templates, kind = CASES[case]
    names = f"{PRIVATE}\n{PUBLIC}\n"
    public = indexes.public.simple_url
    write(
        tmp_path,
        {
            path: text.format(
                private=indexes.private_url,
                public=public,
                names=names,
                private_name=PRIVATE,
                public_name=PUBLIC,
            )
            for path, text in templates.items()
        },
    )
    before = pip_installs(indexes, tmp_path, "requirements.txt")
    assert before[PRIVATE] == (IMPOSTOR_VERSION, indexes.public.port)
    report, found = audited(tmp_path, "requirements.txt", indexes)
    assert [(f.kind, f.file, f.package, f.severity.label) for f in report.findings] == [
        (
            kind,
            "requirements.txt",
            PRIVATE,
            "critical" if kind is FindingKind.EXTRA_INDEX_URL else "high",
        )
    ]

    (only,) = found
    applied(tmp_path, only)
    after = pip_installs(indexes, tmp_path, "requirements.txt")
    assert after == {
        PRIVATE: (PRIVATE_VERSION, indexes.private.port),
        PUBLIC: ("1.0.0", indexes.public.port),  # through CodeArtifact's PyPI upstream
    }
    assert audited(tmp_path, "requirements.txt", indexes) == (
        FileReport("requirements.txt", ()),
        (),
    )
