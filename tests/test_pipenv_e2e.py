"""End to end: real pipenv against two loopback indexes, one playing public PyPI
and one playing CodeArtifact, proves that `pipfleet check --fix` turns a lock
failure into a lock that resolves the private package from the private index.

Distributions are written by hand with zipfile/tarfile so that no build
backend, and therefore no network access, is needed to produce them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PRIVATE = "orb-e2e-common"
PRIVATE_VERSION = "2.1.0"
PUBLIC = "orb-e2e-public"
TOKEN_VAR = "CODEARTIFACT_AUTH_TOKEN"
BIN = Path(sys.executable).parent
PIPENV_TIMEOUT = 60


def _normalized(name: str) -> str:
    return name.replace("-", "_")


def _metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: >=3.8\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def write_wheel(dest: Path, name: str, version: str) -> Path:
    """Write a pure-Python wheel holding one module that exposes __version__."""
    dist = _normalized(name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{info}/METADATA": _metadata(name, version).encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: pipfleet-tests\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()

    wheel = dest / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def write_sdist(dest: Path, name: str, version: str) -> Path:
    """Write an sdist whose pyproject.toml would build the same module."""
    dist = _normalized(name)
    root = f"{dist}-{version}"
    files = {
        f"{root}/PKG-INFO": _metadata(name, version),
        f"{root}/pyproject.toml": (
            '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
        ),
        f"{root}/{dist}/__init__.py": f'__version__ = "{version}"\n',
    }
    sdist = dest / f"{root}.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for path, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(path)
            member.size = len(data)
            member.mtime = int(time.time())
            tf.addfile(member, io.BytesIO(data))
    return sdist


def write_htpasswd(path: Path, user: str, password: str) -> Path:
    """Write an htpasswd file using the {SHA} scheme, which passlib accepts and
    which needs no hashing library to produce."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    path.write_text(f"{user}:{{SHA}}{digest}\n")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    port: int

    @property
    def simple_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple"


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError:
        # A 401 from the authenticated index still proves it is serving.
        return True
    except OSError:
        return False
    return True


@contextmanager
def pypiserver(
    packages: Path,
    log: Path,
    htpasswd: Path | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[Server]:
    """Run pypiserver on a free loopback port for the duration of the block.

    With htpasswd, every action (list, download, update) requires basic auth,
    as CodeArtifact does; without it, the index is open like public PyPI.
    """
    port = free_port()
    auth = ["-P", str(htpasswd), "-a", "download,list,update"] if htpasswd else []
    cmd = [
        sys.executable,
        "-m",
        "pypiserver",
        "run",
        "-p",
        str(port),
        "-i",
        "127.0.0.1",
        # Without this a miss redirects to pypi.org, which would hide the very
        # "not on this index" failure the tests rely on.
        "--disable-fallback",
        *auth,
        str(packages),
    ]
    with log.open("wb") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            server = Server(port=port)
            deadline = time.monotonic() + startup_timeout
            while not _answers(server.simple_url + "/"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"pypiserver did not come up on port {port}:\n{log.read_text()}"
                    )
                time.sleep(0.1)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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
    private_hashes = frozenset(
        f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}" for path in private_files
    )

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


def _isolated_env(home: Path, token: str) -> dict[str, str]:
    """The caller's environment minus everything that could point pip or
    pipenv at another index, another virtualenv, or config and caches outside
    the temporary HOME (XDG_* would)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PIPENV_", "VIRTUALENV_", "XDG_"))
        and key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", TOKEN_VAR}
    }
    env.update(
        {
            # /dev/null makes pip skip the global (/etc/xdg/pip) and user
            # config files too, not just the one named here.
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIPENV_VENV_IN_PROJECT": "1",
            "PIPENV_IGNORE_VIRTUALENVS": "1",
            "PIPENV_PYTHON": sys.executable,
            "PIPENV_YES": "1",
            "PIPENV_NOSPIN": "1",
            "CI": "1",
            "HOME": str(home),
            TOKEN_VAR: token,
        }
    )
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=PIPENV_TIMEOUT,
        check=False,
    )


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


@pytest.mark.slow
def test_fix_makes_pipenv_lock_resolve_private_package(indexes: Indexes, tmp_path: Path) -> None:
    project = tmp_path / "project"
    home = tmp_path / "home"
    project.mkdir()
    home.mkdir()
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    private_url = f"http://aws:${{{TOKEN_VAR}}}@127.0.0.1:{indexes.private.port}/simple"
    pipfile = project / "Pipfile"
    pipfile.write_text(
        f"""\
[[source]]
name = "pypi"
url = "{indexes.public.simple_url}"
verify_ssl = false

[[source]]
name = "codeartifact"
url = "{private_url}"
verify_ssl = false

[packages]
{PRIVATE} = "=={PRIVATE_VERSION}"   # private

[requires]
python_version = "{python_version}"
"""
    )
    listing = tmp_path / "listing.txt"
    listing.write_text(f"{PRIVATE} {PRIVATE_VERSION}\n")
    env = _isolated_env(home, indexes.token)
    pipenv = [str(BIN / "pipenv"), "lock"]

    # Before the fix pipenv searches only the first source, which lacks the
    # package. Only --verbose surfaces pip's own resolver log, and rich wraps
    # it at the terminal width, hence the whitespace folding.
    before = _run([*pipenv, "--verbose"], project, env)
    assert before.returncode != 0, _output(before)
    folded = " ".join((before.stdout + before.stderr).split())
    assert (
        f"Could not find a version that satisfies the requirement {PRIVATE}=={PRIVATE_VERSION}"
        in folded
    ), _output(before)
    assert not (project / "Pipfile.lock").exists()

    fix = _run(
        [str(BIN / "pipfleet"), "check", "Pipfile", "--listing", str(listing), "--fix"],
        project,
        env,
    )
    assert fix.returncode == 0, _output(fix)
    expected = (
        f'{PRIVATE} = {{version = "=={PRIVATE_VERSION}", index = "codeartifact"}}   # private'
    )
    assert expected in pipfile.read_text().splitlines(), pipfile.read_text()

    after = _run(pipenv, project, env)
    assert after.returncode == 0, _output(after)
    lock_text = (project / "Pipfile.lock").read_text()
    lock = json.loads(lock_text)
    assert lock["default"][PRIVATE]["index"] == "codeartifact"
    assert lock["default"][PRIVATE]["version"] == f"=={PRIVATE_VERSION}"
    # The hashes prove the files pipenv locked are the ones only the private index serves.
    assert set(lock["default"][PRIVATE]["hashes"]) == indexes.private_hashes
    assert indexes.token not in lock_text
    sources = {source["name"]: source["url"] for source in lock["_meta"]["sources"]}
    assert sources["codeartifact"] == private_url
