"""End to end: real pipenv against two loopback indexes, one playing public PyPI
and one playing CodeArtifact, proves that `pipfleet check --fix` turns a lock
failure into a lock that resolves the private package from the private index.

Distributions come from tests/distributions.py, written by hand with
zipfile/tarfile so that no build backend, and therefore no network access, is
needed to produce them; pipenv runs isolated by tests/pipenv_tools.py.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.distributions import lock_hash, write_sdist, write_wheel
from tests.loopback_indexes import Server, pypiserver, write_htpasswd
from tests.pipenv_tools import (
    PIPENV,
    PIPFLEET,
    PYTHON_VERSION,
    TOKEN_VAR,
    folded,
    isolated_env,
    output,
    run,
)

PRIVATE = "orb-e2e-common"
PRIVATE_VERSION = "2.1.0"
PUBLIC = "orb-e2e-public"


@dataclass(frozen=True)
class Indexes:
    public: Server
    private: Server
    token: str
    private_hashes: frozenset[str]


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexes]:
    root = tmp_path_factory.mktemp("indexes")
    public_dir = root / "public"
    private_dir = root / "private"
    public_dir.mkdir()
    private_dir.mkdir()

    write_wheel(public_dir, PUBLIC, "1.0.0")
    private_files = [
        write_wheel(private_dir, PRIVATE, PRIVATE_VERSION),
        write_sdist(private_dir, PRIVATE, PRIVATE_VERSION),
    ]
    private_hashes = frozenset(lock_hash(path.read_bytes()) for path in private_files)

    # Long and random so that finding it in Pipfile.lock cannot be a coincidence.
    token = secrets.token_urlsafe(24)
    htpasswd = write_htpasswd(root / "htpasswd", "aws", token)

    with (
        pypiserver(public_dir, root / "public.log") as public,
        pypiserver(private_dir, root / "private.log", htpasswd=htpasswd) as private,
    ):
        yield Indexes(public=public, private=private, token=token, private_hashes=private_hashes)


def _status(url: str, auth: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_private_index_requires_the_token(indexes: Indexes) -> None:
    url = f"{indexes.private.simple_url}/{PRIVATE}/"
    assert _status(url) == 401
    # pypiserver answers a wrong password with 403 rather than 401.
    assert _status(url, ("aws", "not-the-token")) == 403
    assert _status(url, ("aws", indexes.token)) == 200
    assert _status(f"{indexes.public.simple_url}/{PUBLIC}/") == 200
    assert _status(f"{indexes.public.simple_url}/{PRIVATE}/") == 404


@pytest.mark.slow
def test_fix_makes_pipenv_lock_resolve_private_package(indexes: Indexes, tmp_path: Path) -> None:
    project = tmp_path / "project"
    home = tmp_path / "home"
    project.mkdir()
    home.mkdir()
    private_url = f"http://aws:${{{TOKEN_VAR}}}@127.0.0.1:{indexes.private.port}/simple"
    # verify_ssl = true although the indexes speak plain http: pip counts loopback
    # as a secure origin, and `false` would draw insecure-source findings, which
    # --fix cannot settle, so check would exit 1 after fixing.
    pipfile = project / "Pipfile"
    pipfile.write_text(
        f"""\
[[source]]
name = "pypi"
url = "{indexes.public.simple_url}"
verify_ssl = true

[[source]]
name = "codeartifact"
url = "{private_url}"
verify_ssl = true

[packages]
{PRIVATE} = "=={PRIVATE_VERSION}"   # private

[requires]
python_version = "{PYTHON_VERSION}"
"""
    )
    listing = tmp_path / "listing.txt"
    listing.write_text(f"{PRIVATE} {PRIVATE_VERSION}\n")
    env = isolated_env(home, indexes.token)
    pipenv = [PIPENV, "lock"]

    # Before the fix pipenv searches only the first source, which lacks the
    # package. Only --verbose surfaces pip's own resolver log, and rich wraps
    # it at the terminal width, hence the whitespace folding.
    before = run([*pipenv, "--verbose"], project, env)
    assert before.returncode != 0, output(before)
    assert (
        f"Could not find a version that satisfies the requirement {PRIVATE}=={PRIVATE_VERSION}"
        in folded(before)
    ), output(before)
    assert not (project / "Pipfile.lock").exists()

    fix = run([PIPFLEET, "check", "Pipfile", "--listing", str(listing), "--fix"], project, env)
    assert fix.returncode == 0, output(fix)
    expected = (
        f'{PRIVATE} = {{version = "=={PRIVATE_VERSION}", index = "codeartifact"}}   # private'
    )
    assert expected in pipfile.read_text().splitlines(), pipfile.read_text()

    after = run(pipenv, project, env)
    assert after.returncode == 0, output(after)
    lock_text = (project / "Pipfile.lock").read_text()
    lock = json.loads(lock_text)
    assert lock["default"][PRIVATE]["index"] == "codeartifact"
    assert lock["default"][PRIVATE]["version"] == f"=={PRIVATE_VERSION}"
    # The hashes prove the files pipenv locked are the ones only the private index serves.
    assert set(lock["default"][PRIVATE]["hashes"]) == indexes.private_hashes
    assert indexes.token not in lock_text
    sources = {source["name"]: source["url"] for source in lock["_meta"]["sources"]}
    assert sources["codeartifact"] == private_url
