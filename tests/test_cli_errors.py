"""Bad input, unreachable services and damaged files: one line on stderr, the documented code.

Every case runs the installed `pipfleet` as a user would, against real things: a port
nothing listens on, a host name under .invalid, garbage bytes where the database should
be, the sandbox with an injected fault.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import GitHubApp, World

PIPFLEET = Path(sys.executable).with_name("pipfleet")
TOKEN = "sandbox-token"
USAGE, PARTIAL = 2, 3


def run(*args: str | Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "GITHUB_TOKEN": TOKEN,
        "PIPFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'pipfleet.db'}",
        **env,
    }
    return subprocess.run(
        [str(PIPFLEET), *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        cwd=tmp_path,
    )


def one_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The error line, after checking it is the only line on stderr besides scan progress."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == code, output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("scan.")]
    assert len(lines) == 1 and lines[0].startswith("pipfleet: error: "), result.stderr
    assert TOKEN not in output
    return lines[0]


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_setting(config: Path, key: str, value: str) -> Path:
    """``config`` with the line ``key = "..."`` given ``value`` (keys are unique in it)."""
    text, count = re.subn(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', config.read_text())
    assert count == 1, key
    config.write_text(text)
    return config


@pytest.fixture
def config(sandbox: SandboxServer, world: World, tmp_path: Path) -> Path:
    path = tmp_path / "pipfleet.toml"
    path.write_text(config_text(sandbox.urls, world, "acme"))
    return path


@pytest.fixture
def offline_config(tmp_path: Path) -> Path:
    """A config for commands that fail before any service is asked."""
    path = tmp_path / "offline.toml"
    path.write_text(
        '[github]\norg = "acme"\n[codeartifact]\ndomain = "acme"\n'
        'domain_owner = "111122223333"\nregion = "eu-west-1"\nrepository = "private"\n'
    )
    return path


def github_requests(sandbox: SandboxServer) -> int:
    return int(httpx.get(sandbox.urls.control + "/counters").json()["github"]["total"])


def fault(sandbox: SandboxServer, **spec: object) -> None:
    httpx.post(sandbox.urls.control + "/faults", json=spec).raise_for_status()


# GitHub unreachable, or answering with a broken connection


def test_connection_refused_is_one_line_exit_3(config: Path, tmp_path: Path) -> None:
    port = unused_port()
    with_setting(config, "api_url", f"http://127.0.0.1:{port}")
    error = one_error(run("scan", "--config", config, tmp_path=tmp_path), PARTIAL)
    assert error == (
        "pipfleet: error: GitHub failed while listing acme's repositories "
        f"(connection refused by 127.0.0.1:{port}: check github.api_url)"
    )


def test_an_unresolvable_api_host_is_one_line_exit_3(config: Path, tmp_path: Path) -> None:
    with_setting(config, "api_url", "http://github.pipfleet.invalid/api")
    error = one_error(run("scan", "--config", config, tmp_path=tmp_path), PARTIAL)
    assert "cannot resolve github.pipfleet.invalid" in error


def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_an_unreachable_app_installation_lookup_is_one_line_exit_3(
    config: Path, tmp_path: Path
) -> None:
    pem = pem_of(app_key())
    port = unused_port()
    with_setting(config, "api_url", f"http://127.0.0.1:{port}")
    result = run(
        "scan",
        "--config",
        config,
        tmp_path=tmp_path,
        PIPFLEET_GITHUB_APP_ID="314",
        PIPFLEET_GITHUB_APP_PRIVATE_KEY=pem,
    )
    assert one_error(result, PARTIAL) == (
        "pipfleet: error: GitHub failed while looking up the App installation on acme "
        f"(connection refused by 127.0.0.1:{port}: check github.api_url)"
    )
    assert pem.splitlines()[1] not in result.stdout + result.stderr


def test_a_tls_failure_is_one_line_exit_3(
    sandbox: SandboxServer, config: Path, tmp_path: Path
) -> None:
    # The sandbox speaks plain HTTP, so a TLS handshake with it fails as a wrong
    # certificate or a proxy in the middle would.
    with_setting(config, "api_url", sandbox.urls.github_api.replace("http://", "https://"))
    port = urlsplit(sandbox.urls.github_api).port
    error = one_error(run("scan", "--config", config, tmp_path=tmp_path), PARTIAL)
    assert error == (
        "pipfleet: error: GitHub failed while listing acme's repositories "
        f"(TLS failed with 127.0.0.1:{port})"
    )


def test_a_dropped_connection_is_one_line_exit_3(
    sandbox: SandboxServer, config: Path, tmp_path: Path
) -> None:
    fault(sandbox, route="/graphql$", drop=True)
    error = one_error(run("scan", "--config", config, tmp_path=tmp_path), PARTIAL)
    assert error.startswith("pipfleet: error: GitHub failed while listing acme's repositories")
    assert error.endswith("dropped before the answer was complete)")


def test_a_cut_graphql_body_is_one_line_exit_3(
    sandbox: SandboxServer, config: Path, tmp_path: Path
) -> None:
    fault(sandbox, route="/graphql$", status=200, body='{"data": {"organization"')
    error = one_error(run("scan", "--config", config, tmp_path=tmp_path), PARTIAL)
    assert error.endswith("(the answer is not valid JSON)")


def test_a_drop_after_the_scan_stops_fix_with_one_line(
    sandbox: SandboxServer, config: Path, tmp_path: Path
) -> None:
    assert run("scan", "--config", config, tmp_path=tmp_path).returncode == 0
    fault(sandbox, route="/graphql$", drop=True)
    error = one_error(run("fix", "--config", config, tmp_path=tmp_path), PARTIAL)
    assert "dropped before the answer was complete" in error


def test_a_drop_on_a_write_mid_run_fails_that_repository_not_the_run(
    sandbox: SandboxServer, config: Path, tmp_path: Path
) -> None:
    fault(sandbox, route="/git/trees$", method="POST", drop=True)
    result = run("run", "--config", config, tmp_path=tmp_path)
    assert result.returncode == PARTIAL, result.stderr
    assert "Traceback" not in result.stderr and "1 failed" in result.stdout


# configuration: found out by asking, still exit 2


def test_an_org_that_does_not_exist_exits_2(config: Path, tmp_path: Path) -> None:
    config.write_text(config.read_text().replace('org = "acme"', 'org = "acme-typo"'))
    error = one_error(run("scan", "--config", config, tmp_path=tmp_path), USAGE)
    assert error == (
        "pipfleet: error: GitHub has no organisation 'acme-typo' that these credentials can "
        "see: check github.org, and that the token or GitHub App has access to it"
    )


def test_a_refused_token_exits_2(config: Path, tmp_path: Path) -> None:
    result = run("run", "--config", config, tmp_path=tmp_path, GITHUB_TOKEN="ghp_revoked")
    assert one_error(result, USAGE) == (
        "pipfleet: error: GitHub refused the credentials while listing acme's repositories "
        "(401 Bad credentials): check GITHUB_TOKEN or the GitHub App id, key and installation"
    )
    assert "ghp_revoked" not in result.stdout + result.stderr


def test_an_app_not_installed_on_the_org_exits_2(
    world: World, config: Path, tmp_path: Path
) -> None:
    key = app_key()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    world.github_app = GitHubApp(app_id=314, public_key_pem=public.decode())
    config.write_text(config.read_text().replace('org = "acme"', 'org = "acme-typo"'))
    result = run(
        "scan",
        "--config",
        config,
        tmp_path=tmp_path,
        PIPFLEET_GITHUB_APP_ID="314",
        PIPFLEET_GITHUB_APP_PRIVATE_KEY=pem_of(key),
    )
    assert one_error(result, USAGE) == (
        "pipfleet: error: the GitHub App 314 is not installed on 'acme-typo': install it on "
        "the org, or check github.org"
    )


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, "Unable to locate credentials"),
        ({"AWS_PROFILE": "no-such-profile"}, "The config profile (no-such-profile) could not"),
    ],
    ids=["none", "unknown-profile"],
)
def test_missing_aws_credentials_exit_2(
    offline_config: Path, tmp_path: Path, env: dict[str, str], reason: str
) -> None:
    result = run("scan", "--config", offline_config, tmp_path=tmp_path, **env)
    error = one_error(result, USAGE)
    assert error.startswith(
        "pipfleet: error: no usable AWS credentials for CodeArtifact acme/private (eu-west-1) ("
        + reason
    )
    assert error.endswith(
        "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where boto3 "
        "finds a role"
    )


def test_a_malformed_api_url_names_the_key(offline_config: Path, tmp_path: Path) -> None:
    offline_config.write_text(
        offline_config.read_text().replace('org = "acme"', 'org = "acme"\napi_url = "http://[::1"')
    )
    error = one_error(run("scan", "--config", offline_config, tmp_path=tmp_path), USAGE)
    assert error.endswith("github.api_url is not a valid URL (Invalid IPv6 URL)")


def test_an_app_key_that_is_not_pem_names_the_variable(
    offline_config: Path, tmp_path: Path
) -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretsecretsecret\n-----END RSA PRIVATE KEY-----\n"
    result = run(
        "scan",
        "--config",
        offline_config,
        tmp_path=tmp_path,
        PIPFLEET_GITHUB_APP_ID="314",
        PIPFLEET_GITHUB_APP_PRIVATE_KEY=key,
    )
    error = one_error(result, USAGE)
    assert "PIPFLEET_GITHUB_APP_PRIVATE_KEY is not a PEM private key" in error
    assert "MIIEsecret" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_bytes(b'[github]\norg = "\xe9"\n'), "not UTF-8 text (byte 16)"),
        (lambda path: path.mkdir(), "Is a directory"),
    ],
)
def test_an_unreadable_config_file(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "odd.toml"
    make(path)
    error = one_error(run("scan", "--config", path, tmp_path=tmp_path), USAGE)
    assert error == f"pipfleet: error: cannot read {path}: {message}"


def test_a_listing_that_is_a_folder(offline_config: Path, tmp_path: Path) -> None:
    (tmp_path / "listing").mkdir()
    for args in (
        ["check", "--listing", "listing", "."],
        ["scan", "--config", offline_config, "--listing", "listing"],
    ):
        error = one_error(run(*args, tmp_path=tmp_path), USAGE)
        assert error == "pipfleet: error: cannot read listing listing: Is a directory"


# the database


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def truncated(path: Path) -> None:
    """A real pipfleet database cut short, as a full disk or a bad copy leaves it."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE filler (x TEXT)")
        db.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 200)
    db.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.fixture(params=[garbage, truncated], ids=["garbage", "truncated"])
def damaged_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "damaged.db"
    request.param(path)
    yield path


@pytest.mark.parametrize("args", [["scan"], ["run"], ["db", "current"], ["db", "upgrade"]])
def test_a_damaged_sqlite_file_is_one_line_exit_2(
    config: Path, damaged_database: Path, tmp_path: Path, args: list[str]
) -> None:
    result = run(
        *args,
        "--config",
        config,
        tmp_path=tmp_path,
        PIPFLEET_DATABASE_URL=f"sqlite:///{damaged_database}",
    )
    error = one_error(result, USAGE)
    assert error.startswith(
        f"pipfleet: error: the database at {damaged_database} is not a valid SQLite database ("
    )


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        (
            "a-file/pipfleet.db",
            "cannot create the folder {tmp}/a-file for the database (a file is in the way)",
        ),
        (
            "/proc/pipfleet.db",
            "cannot connect to sqlite:////proc/pipfleet.db: unable to open database file",
        ),
    ],
    ids=["under-a-file", "proc"],
)
def test_a_database_path_that_cannot_be_written_is_one_line_exit_2(
    offline_config: Path, tmp_path: Path, where: str, reason: str
) -> None:
    # Root ignores a read-only folder's mode; a path under a file, or in /proc, fails for all.
    (tmp_path / "a-file").write_text("")
    url = f"sqlite:///{tmp_path / where}"
    result = run(
        "db", "upgrade", "--config", offline_config, tmp_path=tmp_path, PIPFLEET_DATABASE_URL=url
    )
    assert one_error(result, USAGE) == (
        f"pipfleet: error: {reason.format(tmp=tmp_path)}: check database.url or PIPFLEET_DATABASE_URL"
    )


def test_a_database_password_is_never_shown(offline_config: Path, tmp_path: Path) -> None:
    url = f"postgresql://pipfleet:s3cret-pw@127.0.0.1:{unused_port()}/pipfleet"
    result = run(
        "db", "current", "--config", offline_config, tmp_path=tmp_path, PIPFLEET_DATABASE_URL=url
    )
    error = one_error(result, USAGE)
    assert "cannot connect to" in error and "s3cret-pw" not in result.stdout + result.stderr


# output paths and ports, checked before any work


@pytest.mark.parametrize(
    ("target", "reason"),
    [("/proc/pipfleet/x.html", "cannot write the report"), (".", "is a folder")],
)
def test_run_checks_the_report_path_before_scanning(
    sandbox: SandboxServer, config: Path, tmp_path: Path, target: str, reason: str
) -> None:
    error = one_error(run("run", "--config", config, "--report", target, tmp_path=tmp_path), USAGE)
    assert reason in error and target in error
    assert github_requests(sandbox) == 0
    assert not (tmp_path / "pipfleet.db").exists()


def test_a_full_disk_under_the_report_is_one_line_exit_2(config: Path, tmp_path: Path) -> None:
    assert run("scan", "--config", config, tmp_path=tmp_path).returncode == 0
    result = run("report", "--config", config, "-o", "/dev/full", tmp_path=tmp_path)
    error = one_error(result, USAGE)
    assert error == "pipfleet: error: cannot write /dev/full: No space left on device"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # written to, not renamed over
    result = run("run", "--config", config, "--report", "/dev/full", tmp_path=tmp_path)
    assert one_error(result, USAGE) == error


def on_a_full_disk(cache: Path) -> None:
    cache.parent.mkdir(parents=True)
    cache.symlink_to("/dev/full")


def under_a_file(cache: Path) -> None:
    cache.parent.parent.write_text("")  # XDG_CACHE_HOME names a file


@pytest.mark.parametrize(
    ("make", "reason"),
    [(on_a_full_disk, "No space left on device"), (under_a_file, "Not a directory")],
    ids=["disk-full", "under-a-file"],
)
def test_an_etag_cache_that_cannot_be_written_is_one_line_exit_2(
    config: Path, tmp_path: Path, make: Callable[[Path], None], reason: str
) -> None:
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "pipfleet" / "pypi-etags.json"
    make(cache)
    error = one_error(run("scan", "--config", config, tmp_path=tmp_path), USAGE)
    assert error == (
        f"pipfleet: error: cannot write the public index's ETag cache {cache}: {reason}: "
        "check XDG_CACHE_HOME and the free space there"
    )


def test_run_creates_the_report_folder(config: Path, tmp_path: Path) -> None:
    report = tmp_path / "new" / "folder" / "index.html"
    result = run("run", "--config", config, "--report", report, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert report.read_text().startswith("<!DOCTYPE html>")


def test_report_checks_its_output_path_first(offline_config: Path, tmp_path: Path) -> None:
    # No database exists: the output path is judged before the report is made.
    result = run("report", "--config", offline_config, "-o", "/proc/x.html", tmp_path=tmp_path)
    assert "cannot write the report /proc/x.html" in one_error(result, USAGE)


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--out", "/proc/pipfleet-demo"],
        ["sandbox", "make-fleet", "/proc/pipfleet-fleet", "--repos", "1"],
        ["sandbox", "serve", "--fleet", "fleet", "--write-config", "/proc/x.toml"],
    ],
)
def test_folders_and_files_the_sandbox_writes_are_checked_first(
    fleet_dir: Path, tmp_path: Path, args: list[str]
) -> None:
    error = one_error(run(*args, tmp_path=tmp_path), USAGE)
    assert error.startswith("pipfleet: error: cannot write the ") and "/proc/" in error


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_serve_rejects_a_port_out_of_range(offline_config: Path, tmp_path: Path, port: str) -> None:
    result = run("serve", "--config", offline_config, "--port", port, tmp_path=tmp_path)
    assert one_error(result, USAGE) == f"pipfleet: error: the port must be 0 to 65535, not {port}"


def test_serve_on_a_port_in_use(offline_config: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--config", offline_config, "--port", str(port), tmp_path=tmp_path)
    assert f"cannot listen on 127.0.0.1:{port}" in one_error(result, USAGE)


def test_serve_rejects_a_base_path_that_is_not_a_path(offline_config: Path, tmp_path: Path) -> None:
    result = run("serve", "--config", offline_config, "--base-path", "pipfleet", tmp_path=tmp_path)
    assert one_error(result, USAGE).startswith(
        "pipfleet: error: the base path must be a path such as /pipfleet"
    )


# fix arguments


def test_fix_rejects_a_negative_max_prs(config: Path, tmp_path: Path) -> None:
    result = run("fix", "--config", config, "--max-prs", "-1", tmp_path=tmp_path)
    assert one_error(result, USAGE) == "pipfleet: error: --max-prs must be 0 or more, not -1"


def test_fix_names_an_unknown_repo_and_suggests_close_ones(
    sandbox: SandboxServer, config: Path, tmp_path: Path
) -> None:
    assert run("scan", "--config", config, tmp_path=tmp_path).returncode == 0
    before = github_requests(sandbox)
    result = run(
        "fix",
        "--config",
        config,
        "--repo",
        "orb-apj",
        "--repo",
        "orb-api",
        "--repo",
        "nothing",
        "--dry-run",
        tmp_path=tmp_path,
    )
    assert one_error(result, USAGE) == (
        "pipfleet: error: --repo names no repository of acme in the latest scan (run 1): "
        "orb-apj (did you mean orb-api?), nothing"
    )
    assert github_requests(sandbox) == before
    known = run("fix", "--config", config, "--repo", "acme/orb-api", "--dry-run", tmp_path=tmp_path)
    assert known.returncode == 0, known.stderr
    as_json = run("fix", "--config", config, "--dry-run", "--log-format", "json", tmp_path=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    (line,) = as_json.stdout.splitlines()  # one JSON document, nothing else on stdout
    summary = json.loads(line)
    assert (summary["event"], summary["dry_run"], summary["writes"]) == ("fix.summary", True, 0)
    fixes = {r["repository"]: r for r in summary["repositories"]}
    assert fixes["acme/orb-api"]["action"] == "open"
    assert "Pipfile" in fixes["acme/orb-api"]["fix"]["files"]
