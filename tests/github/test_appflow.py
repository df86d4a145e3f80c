"""`pipfleet github-app create`: GitHub's manifest flow against the sandbox, over real HTTP.

The test plays the browser: it opens the page the command prints, posts its form to
the sandbox's stand-in for github.com's new-App page and follows the redirect to the
command's loopback callback.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from github import Auth

from pipfleet.sandbox.clientconfig import config_text
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import World


class Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.action = found["action"] or ""
        if tag == "input" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


class Create:
    """The command running in its own process, its output read line by line."""

    def __init__(
        self, sandbox: SandboxServer, out: Path, *extra: str, sigint_ignored: bool = False
    ) -> None:
        # The API from --api-url, unless the test gives a --config that names it.
        api = [] if "--config" in extra else ["--api-url", sandbox.urls.github_api]
        command = [
            *(sys.executable, "-m", "pipfleet", "github-app", "create", "--org", "acme"),
            *("--out", str(out), *api),
            *("--github-url", sandbox.urls.base + "/github-html", *extra),
        ]
        # An ignored signal stays ignored across exec: as a shell starts a background job.
        ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ignore
        )

    def page_url(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("  http://"):
                return line.strip()
        pytest.fail(f"no URL printed: {self.process.stderr.read() if self.process.stderr else ''}")

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, stdout, stderr


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "app"


def form_of(page_url: str) -> Form:
    page = httpx.get(page_url)
    assert page.status_code == 200
    assert "script-src 'sha256-" in page.headers["content-security-policy"]
    form = Form()
    form.feed(page.text)
    return form


def press_the_button(page_url: str) -> httpx.Response:
    """What a browser does: load the page, submit its form, follow GitHub's redirect."""
    form = form_of(page_url)
    return httpx.post(form.action, data=form.fields, follow_redirects=True)


def test_create_writes_the_app_id_and_a_private_key_only_its_owner_reads(
    sandbox: SandboxServer, world: World, out: Path
) -> None:
    run = Create(sandbox, out)
    page_url = run.page_url()
    manifest = json.loads(form_of(page_url).fields["manifest"])
    assert manifest["redirect_url"].startswith("http://127.0.0.1:")
    assert manifest["default_permissions"] == {
        "contents": "write",
        "metadata": "read",
        "pull_requests": "write",
    }
    done = press_the_button(page_url)
    assert done.status_code == 200 and "GitHub App created" in done.text
    code, stdout, stderr = run.finish()
    assert code == 0, stderr

    app = world.github_app
    assert app is not None and app.slug == "pipfleet-acme"
    key = out / "github-app.private-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    pem = key.read_text()
    assert pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert "PRIVATE KEY" not in stdout + stderr
    assert (out / "github-app.env").read_text() == (
        f"PIPFLEET_GITHUB_APP_ID={app.app_id}\n"
        f"PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH={key.resolve()}\n"
    )
    assert f"id {app.app_id}" in stdout
    assert "/apps/pipfleet-acme/installations/new" in stdout

    # The written key is the App's: GitHub accepts JWTs it signs.
    jwt = Auth.AppAuth(app.app_id, pem).create_jwt()
    installation = httpx.get(
        f"{sandbox.urls.github_api}/orgs/acme/installation",
        headers={"Authorization": f"Bearer {jwt}"},
    )
    assert installation.status_code == 200


def test_another_state_or_host_is_refused_and_the_flow_goes_on(
    sandbox: SandboxServer, out: Path
) -> None:
    run = Create(sandbox, out)
    page_url = run.page_url()
    forged = httpx.get(page_url.rstrip("/") + "/callback", params={"code": "x", "state": "y"})
    assert forged.status_code == 400
    rebound = httpx.get(page_url, headers={"host": "attacker.example"})  # DNS rebinding
    assert rebound.status_code == 400
    assert press_the_button(page_url).status_code == 200
    code, _, stderr = run.finish()
    assert code == 0, stderr


def test_the_api_url_can_come_from_the_config(
    sandbox: SandboxServer, world: World, out: Path, tmp_path: Path
) -> None:
    config = tmp_path / "pipfleet.toml"
    config.write_text(config_text(sandbox.urls, world, "acme"))
    run = Create(sandbox, out, "--config", str(config))
    assert press_the_button(run.page_url()).status_code == 200
    code, _, stderr = run.finish()
    assert code == 0, stderr


def test_no_answer_in_time_is_one_line(sandbox: SandboxServer, out: Path) -> None:
    run = Create(sandbox, out, "--timeout", "0.5")
    run.page_url()
    code, _, stderr = run.finish()
    assert code == 2
    assert stderr.startswith("pipfleet: error: GitHub did not send the browser back within 0.5 s")
    assert stderr.count("\n") == 1
    assert not (out / "github-app.private-key.pem").exists()


def test_ctrl_c_is_one_line(sandbox: SandboxServer, out: Path) -> None:
    run = Create(sandbox, out)
    run.page_url()
    run.process.send_signal(signal.SIGINT)
    code, _, stderr = run.finish()
    assert (code, stderr) == (130, "pipfleet: error: interrupted: no App was created\n")


def test_ctrl_c_is_one_line_whichever_thread_the_kernel_hands_it_to(
    sandbox: SandboxServer, out: Path
) -> None:
    """A signal sent to a thread's id goes to that thread: here the loopback server's,
    as the kernel may choose for a Ctrl-C. The main thread must still stop at once (it
    slept through the whole timeout when it waited in one piece)."""
    run = Create(sandbox, out, "--timeout", "120")
    run.page_url()
    pid = run.process.pid
    others = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    assert others, "the loopback server runs in a thread of its own"
    os.kill(others[0], signal.SIGINT)
    code, _, stderr = run.finish(timeout=20)
    assert (code, stderr) == (130, "pipfleet: error: interrupted: no App was created\n")


def test_ctrl_c_stops_it_though_it_started_with_sigint_ignored(
    sandbox: SandboxServer, out: Path
) -> None:
    """Started as a shell starts a background job (CI ran it so): SIGINT still stops it."""
    run = Create(sandbox, out, "--timeout", "120", sigint_ignored=True)
    run.page_url()
    run.process.send_signal(signal.SIGINT)
    code, _, stderr = run.finish(timeout=20)
    assert (code, stderr) == (130, "pipfleet: error: interrupted: no App was created\n")


def test_an_existing_key_is_never_overwritten(sandbox: SandboxServer, out: Path) -> None:
    out.mkdir()
    (out / "github-app.private-key.pem").write_text("mine")
    code, stdout, stderr = Create(sandbox, out).finish()
    assert code == 2 and "already exists" in stderr and stdout == ""
    assert (out / "github-app.private-key.pem").read_text() == "mine"


def test_a_used_code_is_a_one_line_github_error(sandbox: SandboxServer, out: Path) -> None:
    run = Create(sandbox, out)
    page_url = run.page_url()
    form = form_of(page_url)
    redirect = httpx.post(form.action, data=form.fields)
    taken = httpx.URL(redirect.headers["location"]).params["code"]
    assert httpx.post(f"{sandbox.urls.github_api}/app-manifests/{taken}/conversions").is_success
    assert httpx.get(redirect.headers["location"]).status_code == 200
    code, _, stderr = run.finish()
    assert code == 3
    assert stderr == (
        "pipfleet: error: GitHub refused the App manifest code (404): codes work once and "
        "for an hour; run the command again\n"
    )
    assert not os.path.exists(out / "github-app.private-key.pem")
