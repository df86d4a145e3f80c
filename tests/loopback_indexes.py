"""Loopback package indexes for tests that run real installers: pypiserver playing public
PyPI (open) or CodeArtifact (every action behind basic auth, as CodeArtifact's token is)."""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


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
    fallback_url: str | None = None,
) -> Iterator[Server]:
    """Run pypiserver on a free loopback port for the duration of the block.

    With htpasswd, every action (list, download, update) requires basic auth,
    as CodeArtifact does; without it, the index is open like public PyPI.
    With fallback_url, a project page it does not hold redirects there: a
    CodeArtifact repository with that index as its upstream.
    """
    port = free_port()
    auth = ["-P", str(htpasswd), "-a", "download,list,update"] if htpasswd else []
    # Without a fallback URL a miss would redirect to pypi.org, which would hide
    # the very "not on this index" failure the tests rely on.
    fallback = ["--fallback-url", fallback_url] if fallback_url else ["--disable-fallback"]
    cmd = [
        sys.executable,
        "-m",
        "pypiserver",
        "run",
        "-p",
        str(port),
        "-i",
        "127.0.0.1",
        *fallback,
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
