"""The Dockerfile, checked without pulling an image (this machine cannot): hadolint finds
nothing in it, it installs pipfleet exactly as the README's container section documents,
its final stage runs pipfleet as a non-root user with a health check on serve's /healthz,
and its build context keeps out everything the build does not copy."""

from __future__ import annotations

import inspect
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest
from tests.conftest import ROOT
from tests.test_scheduler_configs import assert_pipfleet_accepts

from pipfleet import cli

DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).with_name("hadolint")
# pip options that change how, not what, it installs.
QUIET_OPTIONS = {"--no-cache-dir", "-q", "--quiet"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", re.sub(r"^\s*#.*\n", "", text, flags=re.M))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, argument = line.strip().partition(" ")
            found.append(Instruction(keyword.upper(), argument.strip()))
    return found


def stages(text: str) -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def pip_installs(shell: str) -> list[list[str]]:
    """What each `pip install` in a shell text installs: its arguments, quiet options left out."""
    words = shlex.split(shell, comments=True)
    found = []
    for at, word in enumerate(words):
        if Path(word).name == "pip" and words[at + 1 : at + 2] == ["install"]:
            rest = []
            for argument in words[at + 2 :]:
                if argument in {"&&", ";", "||"}:
                    break
                if argument not in QUIET_OPTIONS:
                    rest.append(argument)
            found.append(rest)
    return found


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, f"README has no '{title}' section"
    return match.group(1)


def shell_blocks(markdown: str) -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```$", markdown, re.M | re.S)
    return [block.replace("\\\n", " ") for block in blocks]


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_the_image_installs_what_the_readme_documents() -> None:
    runs = [i.argument for i in instructions(DOCKERFILE.read_text()) if i.keyword == "RUN"]
    installed = [install for run in runs for install in pip_installs(run)]
    assert installed == [["-c", "constraints.txt", ".[bot,postgres]"]]
    documented = [
        install
        for block in shell_blocks(readme_section("Container"))
        for install in pip_installs(block)
    ]
    assert documented == installed
    assert "pip install -c constraints.txt '.[bot,postgres]'" in readme_section("Installing")


def test_the_readmes_docker_commands_are_pipfleet_commands() -> None:
    text = readme_section("Container")
    assert "docker build -t pipfleet ." in text
    runs = [
        shlex.split(line)
        for block in shell_blocks(text)
        for line in block.splitlines()
        if line.startswith("docker run ")
    ]
    assert {run[run.index("pipfleet") + 1] for run in runs} == {"run", "serve"}
    for run in runs:
        assert_pipfleet_accepts(run[run.index("pipfleet") + 1 :], f"README: {shlex.join(run)}")


def test_the_final_stage_runs_pipfleet_unprivileged_with_a_serve_healthcheck() -> None:
    builder, final = stages(DOCKERFILE.read_text())
    assert builder[0].argument.endswith(" AS builder")
    assert final[0].argument == builder[0].argument.removesuffix(" AS builder"), "same base"
    keywords = {i.keyword: i.argument for i in final}
    runs = [i.argument for i in final if i.keyword == "RUN"]
    assert not [run for run in runs if re.search(r"\b(apt-get|apt|pip)\b", run)], "installs nothing"
    copies = [i.argument for i in final if i.keyword in {"COPY", "ADD"}]
    assert copies == ["--from=builder /opt/venv /opt/venv"], "only the venv comes across"
    uid, _, gid = keywords["USER"].partition(":")
    assert int(uid) >= 1000 and int(gid) >= 1000
    assert keywords["ENTRYPOINT"] == '["pipfleet"]'
    port = inspect.signature(cli.serve).parameters["port"].default
    assert keywords["EXPOSE"] == str(port)
    assert f"http://127.0.0.1:{port}/healthz" in keywords["HEALTHCHECK"]
    assert "urllib.request" in keywords["HEALTHCHECK"]


def test_the_base_is_pinned_to_an_exact_python() -> None:
    (argument,) = [
        i.argument
        for i in instructions(DOCKERFILE.read_text())
        if i.keyword == "ARG" and i.argument.startswith("PYTHON_IMAGE=")
    ]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", argument)


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, for the patterns .dockerignore uses: the last matching line wins and a
    folder's pattern covers what is inside it."""
    verdict = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        if fnmatch(path, pattern) or path.startswith(pattern + "/"):
            verdict = not keep
    return verdict


DOCKERIGNORE = [
    line.strip()
    for line in (ROOT / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def test_the_context_holds_what_the_build_copies() -> None:
    builder, _ = stages(DOCKERFILE.read_text())
    copied = [
        source.rstrip("/")
        for i in builder
        if i.keyword == "COPY"
        for source in i.argument.split()[:-1]
    ]
    assert {"pyproject.toml", "src", "migrations", "docs", "constraints.txt"} <= set(copied)
    tracked = subprocess.run(
        ["git", "ls-files", "--", *copied], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(tracked) > len(copied)
    assert [path for path in tracked if ignored(path, DOCKERIGNORE)] == []


@pytest.mark.parametrize(
    "path",
    [
        ".venv",
        ".git",
        ".pytest_cache",
        ".mypy_cache",
        "pipfleet-demo",
        "build",
        "dist",
        "tests",
        "pipfleet.toml",
        "pipfleet.db",
        "app-key.pem",
        "src/pipfleet.egg-info",
        "src/pipfleet/__pycache__",
        "src/pipfleet/report/__pycache__",
    ],
)
def test_the_context_keeps_out_local_state(path: str) -> None:
    assert ignored(path, DOCKERIGNORE)
