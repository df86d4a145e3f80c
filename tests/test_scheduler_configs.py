"""The ways to schedule pipfleet under config/ (GitHub Actions, cron, systemd, Kubernetes)
and the CodeArtifact guide under docs/integration-guides/.

Each file must parse; every pipfleet command it runs must exist, with options that
command accepts (asked of the installed ``pipfleet`` with ``--help``, then parsed by the
CLI itself without running); the files it names must exist or be explained; no secret may
be written in it; and the promises it makes (a nightly schedule, never two runs at once,
least privilege, a database kept between runs, no run outliving pipfleet's run lock) must
hold in the file itself.
"""

from __future__ import annotations

import configparser
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import typer.main
import yaml
from sqlalchemy.engine import make_url
from tests.conftest import ROOT

from pipfleet.cli import app
from pipfleet.config import FixSettings, GitHubSettings, parse_settings
from pipfleet.engine.audit import audit_text
from pipfleet.engine.listing import parse_listing
from pipfleet.github.queries import OPT_OUT_FILE
from pipfleet.loopback import is_loopback
from pipfleet.report.serve import base_path

CONFIG = ROOT / "config"
WORKFLOW = CONFIG / "github-actions" / "pipfleet-nightly.yml"
CRONTAB = CONFIG / "cron" / "pipfleet.crontab"
SERVICE = CONFIG / "systemd" / "pipfleet.service"
TIMER = CONFIG / "systemd" / "pipfleet.timer"
SERVE_SERVICE = CONFIG / "systemd" / "pipfleet-serve.service"
KUBERNETES = CONFIG / "kubernetes"
DOCKERFILE = ROOT / "Dockerfile"
GUIDE = ROOT / "docs" / "integration-guides" / "codeartifact.md"
DASHBOARD_DOC = ROOT / "docs" / "dashboard.md"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
PIPFLEET = Path(sys.executable).with_name("pipfleet")
# A hung run keeps the run lock as long as it lives (its heartbeat holds it): every
# scheduler must stop it (SIGTERM releases the lock) long before the next night's run.
LONGEST_RUN = 3 * 3600


# --- reading the files ------------------------------------------------------------------


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    assert documents, f"{path} holds no YAML document"
    assert all(isinstance(doc, dict) for doc in documents), path
    return documents


def workflow() -> dict[str, Any]:
    (document,) = yaml_documents(WORKFLOW)
    return document


def workflow_triggers(document: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads a bare `on` key as the boolean True.
    triggers = document.get("on", document.get(True))
    assert isinstance(triggers, dict), "the workflow's `on:` must be a mapping"
    return triggers


def kubernetes_documents() -> list[dict[str, Any]]:
    files = sorted(KUBERNETES.glob("*.yaml"))
    assert files, "no Kubernetes manifest under config/kubernetes/"
    return [doc for path in files for doc in yaml_documents(path)]


def kubernetes_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in kubernetes_documents() if doc["kind"] == kind]


def cronjob() -> dict[str, Any]:
    (job,) = kubernetes_kind("CronJob")
    return job


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    return job["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def dashboard() -> dict[str, Any]:
    (deployment,) = kubernetes_kind("Deployment")
    return deployment


def named(kind: str, name: str) -> dict[str, Any]:
    (document,) = [d for d in kubernetes_kind(kind) if d["metadata"]["name"] == name]
    return document


def configmap_toml(name: str, key: str) -> str:
    (configmap,) = [m for m in kubernetes_kind("ConfigMap") if m["metadata"]["name"] == name]
    assert key in configmap["data"], f"ConfigMap {name} has no key {key}"
    return str(configmap["data"][key])


def unit(path: Path) -> configparser.ConfigParser:
    """A systemd unit through configparser: case kept, no interpolation (% is systemd's)."""
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, empty_lines_in_values=False
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def unit_values(path: Path, section: str, key: str) -> list[str]:
    """Every value of a key systemd allows more than once (configparser keeps the last)."""
    values, current = [], None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == section and line.partition("=")[0].strip() == key:
            values.append(line.partition("=")[2].strip())
    return values


def unit_environment(path: Path) -> dict[str, str]:
    pairs = (shlex.split(value) for value in unit_values(path, "Service", "Environment"))
    return dict(item.split("=", 1) for words in pairs for item in words)


CRON_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$")
CRON_ENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def crontab() -> tuple[dict[str, str], list[tuple[list[str], str]]]:
    """The crontab's environment lines and its jobs (5 schedule fields, command)."""
    environment: dict[str, str] = {}
    jobs: list[tuple[list[str], str]] = []
    for number, raw in enumerate(CRONTAB.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if env := CRON_ENV.match(line):
            environment[env.group(1)] = env.group(2).strip().strip("\"'")
            continue
        job = CRON_LINE.match(line)
        assert job, f"{CRONTAB}:{number}: neither a job (5 fields and a command) nor NAME=value"
        jobs.append((list(job.groups()[:5]), job.group(6)))
    return environment, jobs


# --- finding the pipfleet commands ------------------------------------------------------

_SHELL_OPERATORS = frozenset(";&|<>()")


def pipfleet_in_argv(tokens: list[str]) -> list[list[str]]:
    """The arguments of every pipfleet call in an argument vector, looking into `sh -c`."""
    found: list[list[str]] = []
    for i, token in enumerate(tokens):
        if i and tokens[i - 1] == "-c":
            found += pipfleet_in_shell(token)
        elif token == "pipfleet" or token.endswith("/bin/pipfleet"):
            args = []
            for word in tokens[i + 1 :]:
                if set(word) <= _SHELL_OPERATORS:
                    break
                args.append(word)
            found.append(args)
    return found


def pipfleet_in_shell(script: str) -> list[list[str]]:
    """pipfleet calls in a shell script: a line at a time, continuation lines joined."""
    found: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        found += pipfleet_in_argv(list(lexer))
    return found


def workflow_commands() -> list[list[str]]:
    return [
        call
        for job in workflow()["jobs"].values()
        for step in job.get("steps", [])
        for call in pipfleet_in_shell(step.get("run", ""))
    ]


def crontab_commands() -> list[list[str]]:
    _, jobs = crontab()
    return [call for _, command in jobs for call in pipfleet_in_shell(command)]


def systemd_commands(path: Path = SERVICE) -> list[list[str]]:
    calls = []
    for key in ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecStop"):
        for value in unit_values(path, "Service", key):
            calls += pipfleet_in_argv(shlex.split(value.lstrip("-@:+!")))
    return calls


def systemd_units_commands() -> list[list[str]]:
    return systemd_commands(SERVICE) + systemd_commands(SERVE_SERVICE)


def containers() -> Iterator[dict[str, Any]]:
    for doc in kubernetes_documents():
        spec = doc.get("spec", {})
        template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
        pod = template.get("spec", {})
        yield from pod.get("initContainers", [])
        yield from pod.get("containers", [])


def image_entrypoint() -> list[str]:
    """The ENTRYPOINT of the repository's Dockerfile: the image the manifests run."""
    (line,) = [
        line
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.startswith("ENTRYPOINT ")
    ]
    entrypoint = json.loads(line.removeprefix("ENTRYPOINT "))
    assert isinstance(entrypoint, list), "ENTRYPOINT in exec form"
    return [str(word) for word in entrypoint]


def is_pipfleet_image(container: dict[str, Any]) -> bool:
    return str(container["image"]).rpartition(":")[0].endswith("/pipfleet")


def container_argv(container: dict[str, Any]) -> list[str]:
    """What the container runs: its command, else the image's entrypoint, then its args."""
    command = container.get("command")
    if command is None and is_pipfleet_image(container):
        command = image_entrypoint()
    return [*(command or []), *container.get("args", [])]


def kubernetes_commands() -> list[list[str]]:
    return [
        call for container in containers() for call in pipfleet_in_argv(container_argv(container))
    ]


def only_call(container: dict[str, Any]) -> list[str]:
    (args,) = pipfleet_in_argv(container_argv(container))
    return args


SOURCES: dict[str, Callable[[], list[list[str]]]] = {
    "github-actions": workflow_commands,
    "cron": crontab_commands,
    "systemd": systemd_units_commands,
    "kubernetes": kubernetes_commands,
}


def option(args: list[str], name: str) -> str | None:
    for i, word in enumerate(args):
        if word == name and i + 1 < len(args):
            return args[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


# --- asking the installed pipfleet ------------------------------------------------------


@functools.cache
def pipfleet_help(*path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [str(PIPFLEET), *path, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def is_group(path: tuple[str, ...]) -> bool:
    return re.search(r"^\W*Commands\b", pipfleet_help(*path).stdout, re.MULTILINE) is not None


def assert_pipfleet_accepts(args: list[str], where: str) -> None:
    """The subcommand exists, every option is in its --help, and the CLI parses the call."""
    assert args, f"{where}: `pipfleet` without a subcommand"
    path: tuple[str, ...] = ()
    rest = list(args)
    while rest and not rest[0].startswith("-") and is_group(path):
        path += (rest.pop(0),)
    assert path, f"{where}: no subcommand in `pipfleet {' '.join(args)}`"
    shown = pipfleet_help(*path)
    assert shown.returncode == 0, (
        f"{where}: `pipfleet {' '.join(path)}` is not a pipfleet command:\n{shown.stderr}"
    )
    for word in rest:
        if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", word):
            name = word.split("=", 1)[0]
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", shown.stdout), (
                f"{where}: `pipfleet {' '.join(path)}` has no option {name}:\n{shown.stdout}"
            )
    # The CLI's own parser: option values, missing values, extra arguments. Nothing runs.
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    try:
        command.make_context(f"pipfleet {' '.join(path)}", list(rest))
    except Exception as exc:  # the vendored click's UsageError family
        pytest.fail(f"{where}: `pipfleet {' '.join(args)}` does not parse: {exc}")


# --- every scheduler --------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_runs_the_nightly_job_with_options_that_exist(source: str) -> None:
    calls = SOURCES[source]()
    assert calls, f"{source}: no pipfleet command found"
    for args in calls:
        assert_pipfleet_accepts(args, source)
    assert any(args[0] == "run" and option(args, "--config") for args in calls), (
        f"{source}: the nightly job is `pipfleet run --config FILE`"
    )


def test_the_workflow_config_file_is_in_this_repository_and_valid() -> None:
    (args,) = workflow_commands()
    config = option(args, "--config")
    assert config and not Path(config).is_absolute()
    path = ROOT / config
    assert path.is_file(), f"the workflow reads {config}, which does not exist"
    parse_settings(tomllib.loads(path.read_text(encoding="utf-8")), {})


@pytest.mark.parametrize("path", [CRONTAB, SERVICE], ids=lambda p: p.name)
def test_host_config_paths_are_absolute_and_their_set_up_is_explained(path: Path) -> None:
    (args,) = crontab_commands() if path == CRONTAB else systemd_commands()
    text = path.read_text(encoding="utf-8")
    config = option(args, "--config")
    assert config and config.startswith("/etc/"), config
    assert re.search(rf"config/pipfleet\.toml\s+{re.escape(config)}\b", text), (
        f"{path.name}: the set-up notes must say where {config} comes from"
    )
    report = option(args, "--report")
    assert report and report.startswith("/var/lib/pipfleet/"), report


@pytest.mark.parametrize("path", [CRONTAB, SERVICE], ids=lambda p: p.name)
def test_the_set_up_notes_install_the_pipfleet_that_runs(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    venvs = set(re.findall(r"(/\S+?/\.venv)/bin/pipfleet\b", text))
    assert venvs, f"{path.name}: pipfleet does not run from a virtualenv"
    for venv in venvs:
        assert re.search(rf"python3? -m venv {re.escape(venv)}\b", text), venv
        assert re.search(rf"{re.escape(venv)}/bin/pip install \S", text), venv
    # The bot's commands need the bot extra; the constraints are the versions tested.
    assert re.search(r"-c /\S+/constraints\.txt \"/\S+\[bot(,postgres)?\]\"", text)
    assert re.search(
        r'^\s+run: python -m pip install -c constraints\.txt "\.\[bot,postgres\]"$',
        WORKFLOW.read_text(),
        re.M,
    )


def test_every_schedule_is_nightly_at_02_30() -> None:
    (schedule,) = workflow_triggers(workflow())["schedule"]
    _, jobs = crontab()
    expressions = {
        "github-actions": schedule["cron"],
        "kubernetes": cronjob()["spec"]["schedule"],
        **{f"cron {i}": " ".join(fields) for i, (fields, _) in enumerate(jobs)},
    }
    for where, expression in expressions.items():
        assert valid_cron(expression), f"{where}: invalid schedule {expression!r}"
        assert expression.split()[:2] == ["30", "2"], f"{where}: {expression!r} is not 02:30"
    assert unit(TIMER)["Timer"]["OnCalendar"] == "*-*-* 02:30:00"


CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def valid_cron(expression: str) -> bool:
    fields = expression.split()
    if len(fields) != 5:
        return False
    for field, (low, high) in zip(fields, CRON_RANGES, strict=True):
        for part in field.split(","):
            base, slash, step = part.partition("/")
            if slash and not (step.isdigit() and int(step) > 0):
                return False
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2 or not all(b.isdigit() and low <= int(b) <= high for b in bounds):
                return False
    return True


def test_cron_validator() -> None:
    assert valid_cron("30 2 * * *") and valid_cron("*/15 0-6 1,15 * 1-5")
    assert not valid_cron("60 2 * * *") and not valid_cron("30 2 * *")
    assert not valid_cron("30 24 * * *") and not valid_cron("30 2 * * * extra")


def seconds(span: str) -> float:
    """A duration as systemd, coreutils timeout or GitHub write it: 170min, 170m, 2h, 90s."""
    units = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}
    parts = re.findall(r"(\d+)\s*([a-z]+)?", span)
    assert parts and re.fullmatch(r"(\s*\d+\s*[a-z]*)+", span), span
    return sum(int(n) * units[u or "s"] for n, u in parts)


def test_every_scheduler_stops_a_hung_run() -> None:
    """A run that never ends would hold the run lock, and every later run would exit 4."""
    jobs = workflow()["jobs"]
    assert all("timeout-minutes" in job for job in jobs.values())
    assert jobs["nightly"]["timeout-minutes"] * 60 < LONGEST_RUN
    assert seconds(unit(SERVICE)["Service"]["TimeoutStartSec"]) < LONGEST_RUN
    assert cronjob()["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] < LONGEST_RUN
    ((_, command),) = crontab()[1]
    limit = re.search(r"\btimeout\s+(\S+)\s+\S*/bin/pipfleet\b", command)
    assert limit, "the cron job must run pipfleet under `timeout`"
    assert seconds(limit.group(1)) < LONGEST_RUN


# --- no secret anywhere -----------------------------------------------------------------

SECRET_PATTERNS = {
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,})"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "CodeArtifact token in a URL": re.compile(
        r"https://aws:(?!\$\{CODEARTIFACT_AUTH_TOKEN\}@)[^@\s]+@"
    ),
    "password in a database URL": re.compile(
        r"postgres(?:ql)?(?:\+\w+)?://[^:/@\s]+:(?!PASSWORD@|<)[^@\s]+@"
    ),
}
OWNED_FILES = [
    WORKFLOW,
    CRONTAB,
    SERVICE,
    TIMER,
    SERVE_SERVICE,
    *sorted(KUBERNETES.glob("*.yaml")),
    GUIDE,
]


def secrets_in(text: str) -> list[str]:
    return [name for name, pattern in SECRET_PATTERNS.items() if pattern.search(text)]


def test_secret_patterns_catch_secrets() -> None:
    # Assembled at run time so that this file holds no secret-looking literal either.
    samples = {
        "GitHub token": "GITHUB_TOKEN=" + "ghp_" + "a1B2" * 9,
        "AWS access key id": "AWS_ACCESS_KEY_ID=" + "AKIA" + "Q" * 16,
        "AWS secret key": "aws_secret_access_key = " + "aB3/" * 10,
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
        "CodeArtifact token in a URL": "url = 'https://aws:" + "eyJ" + "x" * 40 + "@acme/'",
        "password in a database URL": "postgresql+psycopg://pipfleet:" + "hunter2" + "@db/p",
    }
    for name, sample in samples.items():
        assert secrets_in(sample) == [name], name
    assert not secrets_in("https://aws:${CODEARTIFACT_AUTH_TOKEN}@acme.example/simple/")
    assert not secrets_in("postgresql+psycopg://pipfleet@pipfleet-postgres:5432/pipfleet")


@pytest.mark.parametrize("path", OWNED_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_secret_is_written(path: Path) -> None:
    assert not secrets_in(path.read_text(encoding="utf-8")), path


# --- GitHub Actions ---------------------------------------------------------------------


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def test_workflow_schedule_permissions_and_concurrency() -> None:
    document = workflow()
    triggers = workflow_triggers(document)
    assert triggers["schedule"] and "workflow_dispatch" in triggers
    # Least privilege: read by default; only OIDC and Pages may be granted write.
    assert document["permissions"] == {"contents": "read"}
    for name, job in document["jobs"].items():
        granted = job.get("permissions", document["permissions"])
        assert isinstance(granted, dict), f"{name}: permissions must be listed one by one"
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes <= {"id-token", "pages"}, f"{name} may write {writes}"
    concurrency = document["concurrency"]
    assert concurrency["group"] and concurrency["cancel-in-progress"] is False
    assert "${{" not in concurrency["group"], "one group for every run, whatever its ref"


def test_workflow_scripts_and_secrets_hygiene() -> None:
    document = workflow()
    assert "secrets." not in yaml.safe_dump(document.get("env", {}))
    for name, job in document["jobs"].items():
        assert "secrets." not in yaml.safe_dump(job.get("env", {})), f"{name}: job-wide secret"
        for step in job["steps"]:
            if "uses" in step:
                assert re.search(r"@(v\d+|[0-9a-f]{40})$", step["uses"]), step["uses"]
            # Expressions in scripts are an injection risk and put secrets in the script.
            assert "${{" not in step.get("run", ""), f"{name}: expression in a script"
    checkout = steps_using(document["jobs"]["nightly"], "actions/checkout")
    assert checkout and checkout[0]["with"]["persist-credentials"] is False


def test_workflow_authenticates_to_aws_with_oidc_and_to_github_as_the_app() -> None:
    job = workflow()["jobs"]["nightly"]
    assert job["permissions"].get("id-token") == "write"
    (aws,) = steps_using(job, "aws-actions/configure-aws-credentials")
    assert "role-to-assume" in aws["with"] and "aws-access-key-id" not in aws["with"]
    steps = job["steps"]
    run = next(i for i, s in enumerate(steps) if pipfleet_in_shell(s.get("run", "")))
    assert steps.index(aws) < run
    env = steps[run]["env"]
    assert (
        env["PIPFLEET_GITHUB_APP_PRIVATE_KEY"] == "${{ secrets.PIPFLEET_GITHUB_APP_PRIVATE_KEY }}"
    )
    assert "PIPFLEET_GITHUB_APP_ID" in env
    # The workflow's own token reaches only this repository: never hand it to pipfleet.
    assert "GITHUB_TOKEN" not in env and "secrets.GITHUB_TOKEN" not in WORKFLOW.read_text()


def test_workflow_keeps_the_database_between_runs() -> None:
    job = workflow()["jobs"]["nightly"]
    steps = job["steps"]
    (restore,) = steps_using(job, "actions/cache/restore")
    (save,) = steps_using(job, "actions/cache/save")
    run = next(s for s in steps if pipfleet_in_shell(s.get("run", "")))
    assert steps.index(restore) < steps.index(run) < steps.index(save)
    assert restore["with"]["path"] == save["with"]["path"]
    key = save["with"]["key"]
    assert restore["with"]["key"] == key and "github.run_id" in key
    prefix = restore["with"]["restore-keys"].strip()
    assert key.startswith(prefix), "restore-keys must find the previous runs' entries"
    # Saved even when the run fails: a run that opened pull requests must remember them.
    assert "always()" in save["if"]
    cached = PurePosixPath(save["with"]["path"].rstrip("/"))
    url = make_url(run["env"]["PIPFLEET_DATABASE_URL"].split("|| '")[1].rstrip("' }"))
    assert url.get_backend_name() == "sqlite"
    assert cached in PurePosixPath(url.database or "").parents
    assert run["env"]["XDG_CACHE_HOME"].endswith(f"/{cached}/cache")
    assert "XDG_CACHE_HOME" not in job.get("env", {}), "pip's cache would be saved with it"


def test_workflow_publishes_the_dashboard_it_writes() -> None:
    document = workflow()
    job = document["jobs"]["nightly"]
    (args,) = workflow_commands()
    report = PurePosixPath(option(args, "--report") or "")
    assert report.suffix == ".html"
    (upload,) = steps_using(job, "actions/upload-artifact")
    (pages_upload,) = steps_using(job, "actions/upload-pages-artifact")
    for step in (upload, pages_upload):
        assert PurePosixPath(step["with"]["path"].rstrip("/")) == report.parent
        assert "!cancelled()" in step["if"], "a partial run (exit 3) still has a dashboard"
    pages = document["jobs"]["pages"]
    assert pages["needs"] == "nightly" and pages["environment"]["name"] == "github-pages"
    assert pages["permissions"] == {"pages": "write", "id-token": "write"}
    assert steps_using(pages, "actions/deploy-pages")
    # Pages is an option beside the artifact, which every run uploads: a repository
    # variable turns it on, and the set-up notes say which.
    gate = "vars.PIPFLEET_PAGES == 'true'"
    assert gate in pages_upload["if"] and gate in pages["if"]
    assert "vars." not in upload["if"]
    assert re.search(r"^#\s+PIPFLEET_PAGES\s+\"true\" to also publish", WORKFLOW.read_text(), re.M)


# --- cron -------------------------------------------------------------------------------


def test_crontab_line() -> None:
    environment, jobs = crontab()
    assert len(jobs) == 1, "one job line"
    ((fields, command),) = jobs
    assert valid_cron(" ".join(fields))
    # cron turns an unescaped % into a newline and feeds the rest to stdin.
    assert not re.search(r"(?<!\\)%", command)
    words = shlex.split(command)
    assert words[0] == "/usr/bin/flock" and words[1] in ("-n", "--nonblock"), words[:2]
    assert re.search(r"\bset -a && \. /etc/pipfleet/\S+\.env && set \+a\b", command)
    assert re.search(r">> ?/var/log/pipfleet/\S+\.log 2>&1$", command)
    url = make_url(environment["PIPFLEET_DATABASE_URL"])
    assert url.get_backend_name() == "sqlite" and (url.database or "").startswith("/var/lib/")


def test_crontab_command_runs_in_a_shell(tmp_path: Path) -> None:
    """The `sh -c` script parses, and with a stand-in pipfleet it sources the env file."""
    ((_, command),) = crontab()[1]
    script = shlex.split(command)[shlex.split(command).index("-c") + 1]
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    env_file = tmp_path / "pipfleet.env"
    env_file.write_text("PIPFLEET_GITHUB_APP_ID=42\n")
    fake = tmp_path / "bin" / "pipfleet"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "app=$PIPFLEET_GITHUB_APP_ID args=$*"\n')
    fake.chmod(0o755)
    local = (
        script.replace("/etc/pipfleet/pipfleet.env", str(env_file))
        .replace("/opt/pipfleet/.venv/bin/pipfleet", str(fake))
        .replace("cd /var/lib/pipfleet", f"cd {tmp_path}")
        .replace("/usr/bin/timeout", shutil.which("timeout") or "/usr/bin/timeout")
    )
    result = subprocess.run(["sh", "-c", local], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "app=42 args=run --config /etc/pipfleet/pipfleet.toml" in result.stdout


# --- systemd ----------------------------------------------------------------------------


# The settings that make a unit's file system read-only, its devices, kernel and other
# users' files out of reach, and its privileges impossible to raise.
HARDENING = {
    "ProtectSystem": "strict",
    "NoNewPrivileges": "yes",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "PrivateDevices": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
}


def test_systemd_service_is_a_hardened_oneshot() -> None:
    service = unit(SERVICE)["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"].startswith("/opt/pipfleet/.venv/bin/pipfleet run ")
    assert service["EnvironmentFile"].startswith("/etc/pipfleet/")
    assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "", "root")
    assert {key: service.get(key) for key in HARDENING} == HARDENING
    assert service["StateDirectory"] == "pipfleet"


def test_systemd_service_writes_only_where_protect_system_allows() -> None:
    service = unit(SERVICE)["Service"]
    state = PurePosixPath("/var/lib") / service["StateDirectory"]
    (args,) = systemd_commands()
    environment = unit_environment(SERVICE)
    database = make_url(environment["PIPFLEET_DATABASE_URL"]).database or ""
    for path in (option(args, "--report") or "", database):
        assert state in PurePosixPath(path).parents, f"{path} is outside {state}"
    assert service["WorkingDirectory"] == str(state)
    assert environment["XDG_CACHE_HOME"] == "%C" and service["CacheDirectory"] == "pipfleet"


def test_systemd_app_key_is_a_credential() -> None:
    (credential,) = unit_values(SERVICE, "Service", "LoadCredential")
    name, _, source = credential.partition(":")
    assert source.startswith("/etc/pipfleet/")
    key_path = unit_environment(SERVICE)["PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH"]
    assert key_path == f"%d/{name}"


def test_systemd_timer() -> None:
    parsed = unit(TIMER)
    timer = parsed["Timer"]
    assert timer["OnCalendar"] == "*-*-* 02:30:00"
    assert timer["Persistent"] == "true"
    assert seconds(timer["RandomizedDelaySec"]) > 0
    assert timer.get("Unit", SERVICE.name) == SERVICE.name
    assert parsed["Install"]["WantedBy"] == "timers.target"
    if analyze := shutil.which("systemd-analyze"):
        result = subprocess.run(
            [analyze, "calendar", timer["OnCalendar"]], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr


def test_systemd_serve_is_hardened_read_only_and_on_loopback() -> None:
    service = unit(SERVE_SERVICE)["Service"]
    assert service["Type"] in ("exec", "simple", "notify")
    assert service["ExecStart"].startswith("/opt/pipfleet/.venv/bin/pipfleet serve ")
    assert service.get("Restart") in ("on-failure", "always")
    assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "", "root")
    assert {key: service.get(key) for key in HARDENING} == HARDENING
    # Read-only: nothing made writable beside the private /tmp.
    for key in ("StateDirectory", "CacheDirectory", "LogsDirectory", "ReadWritePaths"):
        assert key not in service, f"{key} would give the dashboard somewhere to write"
    (args,) = systemd_commands(SERVE_SERVICE)
    assert is_loopback(option(args, "--host") or ""), "a proxy in front, never the network"
    assert "--public" not in args
    assert base_path(option(args, "--base-path") or "/") == "/pipfleet"
    # The nightly's config and database, none of its secrets.
    (nightly,) = systemd_commands(SERVICE)
    assert option(args, "--config") == option(nightly, "--config")
    database = unit_environment(SERVE_SERVICE)["PIPFLEET_DATABASE_URL"]
    assert database == unit_environment(SERVICE)["PIPFLEET_DATABASE_URL"]
    assert "LoadCredential" not in service
    assert service["EnvironmentFile"].lstrip("-") != unit(SERVICE)["Service"]["EnvironmentFile"]
    assert unit(SERVE_SERVICE)["Install"]["WantedBy"] == "multi-user.target"
    text = SERVE_SERVICE.read_text(encoding="utf-8")
    assert "no authentication of its own" in text
    assert f"systemctl enable --now {SERVE_SERVICE.name}" in text
    if analyze := shutil.which("systemd-analyze"):
        result = subprocess.run(
            [analyze, "verify", "--man=no", str(SERVE_SERVICE)], capture_output=True, text=True
        )
        # The unit's syntax; the executable is only on the host it is installed on.
        problems = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if line.strip() and "/opt/pipfleet/.venv/bin/pipfleet" not in line
        ]
        assert not problems, problems


# --- the dashboard behind the SSO proxy (docs/dashboard.md) -----------------------------


def test_the_documented_serve_commands_exist() -> None:
    text = DASHBOARD_DOC.read_text(encoding="utf-8")
    spans = [" ".join(span.split()) for span in re.findall(r"`(pipfleet serve [^`]+)`", text)]
    assert any("--base-path" in span for span in spans), spans
    for span in spans:
        assert_pipfleet_accepts(shlex.split(span)[1:], f"docs/dashboard.md: {span}")
    assert "has no authentication of its own" in text


def test_the_nginx_example_reaches_the_systemd_dashboard_under_its_base_path() -> None:
    (args,) = systemd_commands(SERVE_SERVICE)
    prefix = base_path(option(args, "--base-path") or "/")
    (nginx,) = re.findall(r"```nginx\n(.*?)```", DASHBOARD_DOC.read_text(encoding="utf-8"), re.S)
    location = re.search(rf"location {re.escape(prefix)}/ \{{(.*?)\n    \}}", nginx, re.S)
    assert location, f"no nginx location for {prefix}/"
    body = location.group(1)
    assert re.search(r"^\s*auth_request /oauth2/auth;", body, re.M), "signed in first"
    # No URI after the address, so the path arrives unchanged, prefix included.
    address = f"http://{option(args, '--host')}:{option(args, '--port')}"
    assert re.search(rf"^\s*proxy_pass {re.escape(address)};", body, re.M)
    # nginx's default Host is that address, the only one a loopback serve answers.
    assert not re.search(r"^\s*proxy_set_header Host", body, re.M)


def test_the_kubernetes_sso_example_names_the_dashboard_service() -> None:
    service = named("Service", "pipfleet-dashboard")
    (port,) = service["spec"]["ports"]
    upstream = f"--upstream=http://{service['metadata']['name']}.pipfleet.svc:{port['port']}/"
    for path in (DASHBOARD_DOC, KUBERNETES / "pipfleet-dashboard.yaml"):
        assert upstream in path.read_text(encoding="utf-8"), path


# --- Kubernetes -------------------------------------------------------------------------


def test_kubernetes_documents_are_objects() -> None:
    for doc in kubernetes_documents():
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), doc
        assert "namespace" not in doc["metadata"], "namespace chosen with kubectl -n"
    assert not kubernetes_kind("Secret"), "secrets are created with kubectl, never shipped"


def assert_hardened(pod: dict[str, Any], where: str) -> None:
    """Non-root, nothing to escalate, a read-only root with a writable /tmp as HOME."""
    assert pod["securityContext"]["runAsNonRoot"] is True, where
    assert pod["securityContext"]["runAsUser"] != 0, where
    assert pod["automountServiceAccountToken"] is False, where
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["capabilities"]["drop"] == ["ALL"], where
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}: a writable /tmp"
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["HOME"].startswith("/tmp"), where


def assert_secrets_from_secrets(container: dict[str, Any]) -> None:
    env = {e["name"]: e for e in container["env"]}
    for name, entry in env.items():
        if re.search(r"TOKEN|PRIVATE_KEY|PASSWORD|SECRET|DATABASE_URL", name):
            assert "value" not in entry, f"{name} is written in the manifest"
            reference = entry["valueFrom"]["secretKeyRef"]
            assert reference["name"] and reference["key"], name


def test_cronjob_never_overlaps_and_runs_as_non_root() -> None:
    job = cronjob()
    spec = job["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert isinstance(spec["startingDeadlineSeconds"], int) and spec["startingDeadlineSeconds"] > 0
    assert isinstance(spec["jobTemplate"]["spec"]["backoffLimit"], int)
    pod = pod_spec(job)
    assert pod["restartPolicy"] == "Never"
    assert_hardened(pod, "CronJob")
    for container in pod["containers"]:
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["XDG_CACHE_HOME"].startswith("/tmp")


def test_cronjob_secrets_come_from_secrets() -> None:
    (container,) = pod_spec(cronjob())["containers"]
    env = {e["name"]: e for e in container["env"]}
    for name in ("PIPFLEET_GITHUB_APP_PRIVATE_KEY", "PIPFLEET_DATABASE_URL", "PGPASSWORD"):
        assert name in env, name
    assert_secrets_from_secrets(container)


def test_pipfleet_runs_from_the_image_this_repository_builds() -> None:
    """No command in the manifests: the Dockerfile's entrypoint, pipfleet, runs their args."""
    assert image_entrypoint() == ["pipfleet"]
    pipfleet = [c for c in containers() if is_pipfleet_image(c)]
    assert len(pipfleet) == 2, "the CronJob's and the dashboard's"
    images = {c["image"] for c in pipfleet}
    assert len(images) == 1, f"one image for the job and the dashboard, not {images}"
    for container in pipfleet:
        assert "command" not in container, container["name"]
    text = (KUBERNETES / "pipfleet-cronjob.yaml").read_text(encoding="utf-8")
    assert re.search(rf"docker build -t {re.escape(images.pop())} \.$", text, re.M)


def test_cronjob_writes_the_dashboard_to_a_volume() -> None:
    pod = pod_spec(cronjob())
    (container,) = pod["containers"]
    report = PurePosixPath(option(only_call(container), "--report") or "")
    assert report.suffix == ".html"
    mounts = {PurePosixPath(m["mountPath"]): m for m in container["volumeMounts"]}
    mount = mounts[report.parent]
    assert not mount.get("readOnly"), "the run writes there"
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    claim = named("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["resources"]["requests"]["storage"]
    # A new volume belongs to root: the pod's group must be made able to write it.
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]


# --- Kubernetes: the dashboard ----------------------------------------------------------


def dashboard_pod() -> dict[str, Any]:
    pod: dict[str, Any] = dashboard()["spec"]["template"]["spec"]
    return pod


def test_dashboard_serves_the_same_database_read_only() -> None:
    pod = dashboard_pod()
    assert_hardened(pod, "Deployment")
    (container,) = pod["containers"]
    assert_secrets_from_secrets(container)
    args = only_call(container)
    assert args[0] == "serve"
    # The CronJob's config, mounted the same way, for everything but the database role.
    (job,) = pod_spec(cronjob())["containers"]
    config = option(args, "--config")
    assert config == option(only_call(job), "--config")
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    mount = mounts[str(PurePosixPath(config or "").parent)]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    (job_volume,) = [v for v in pod_spec(cronjob())["volumes"] if v["name"] == mount["name"]]
    assert volume == job_volume
    # Its own PostgreSQL role, which can only SELECT (created as the comments say).
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert env["PIPFLEET_DATABASE_URL"]["name"] == env["PGPASSWORD"]["name"] == "pipfleet-dashboard"
    assert all(not ref.get("optional") for ref in env.values()), "no silent fallback"
    text = (KUBERNETES / "pipfleet-dashboard.yaml").read_text(encoding="utf-8")
    grants = re.findall(r"\bGRANT (\w+)", text)
    assert "SELECT" in grants and set(grants) <= {"SELECT", "CONNECT", "USAGE"}, grants
    url = re.search(r"database-url=(\S+)", text)
    assert url and make_url(url.group(1)).username == "pipfleet_dashboard"
    assert "pipfleet_dashboard" in re.findall(r"CREATE ROLE (\w+) LOGIN", text)
    # Its pods reach PostgreSQL through the policy that admits pipfleet's.
    postgres = named("NetworkPolicy", "pipfleet-postgres")
    (peer,) = postgres["spec"]["ingress"][0]["from"]
    labels = dashboard()["spec"]["template"]["metadata"]["labels"]
    assert peer["podSelector"]["matchLabels"].items() <= labels.items()


def test_dashboard_probes_and_service_reach_serve() -> None:
    deployment = dashboard()
    (container,) = dashboard_pod()["containers"]
    args = only_call(container)
    port = int(option(args, "--port") or 0)
    assert option(args, "--host") == "0.0.0.0" and "--public" in args
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port in ports.values()
    base = option(args, "--base-path") or ""
    for probe in ("readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["path"] == f"{base.rstrip('/')}/healthz", probe
        assert ports.get(check["port"], check["port"]) == port, probe
    service = named("Service", "pipfleet-dashboard")
    assert service["spec"]["type"] == "ClusterIP", "only the SSO proxy is exposed"
    (service_port,) = service["spec"]["ports"]
    assert ports.get(service_port["targetPort"], service_port["targetPort"]) == port
    pods = deployment["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"]["selector"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pods.items()
    assert selector.items() <= pods.items()
    job_pods = cronjob()["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= job_pods.items(), "the Service must not pick the job's pods"
    assert dashboard_pod()["serviceAccountName"] != pod_spec(cronjob())["serviceAccountName"]


def test_only_the_sso_proxy_may_reach_the_dashboard() -> None:
    policy = named("NetworkPolicy", "pipfleet-dashboard")
    pods = dashboard()["spec"]["template"]["metadata"]["labels"]
    job_pods = cronjob()["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    selected = policy["spec"]["podSelector"]["matchLabels"]
    assert selected.items() <= pods.items() and not selected.items() <= job_pods.items()
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "oauth2-proxy"}
    (container,) = dashboard_pod()["containers"]
    assert [p["port"] for p in rule["ports"]] == [int(option(only_call(container), "--port") or 0)]
    text = (KUBERNETES / "pipfleet-dashboard.yaml").read_text(encoding="utf-8")
    assert "no authentication of its own" in text


def test_cronjob_config_is_the_mounted_configmap() -> None:
    pod = pod_spec(cronjob())
    (container,) = pod["containers"]
    args = only_call(container)
    config = PurePosixPath(option(args, "--config") or "")
    mounts = {PurePosixPath(m["mountPath"]): m for m in container["volumeMounts"]}
    mount = mounts[config.parent]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    text = configmap_toml(volume["configMap"]["name"], config.name)
    settings = parse_settings(tomllib.loads(text), {})
    assert settings.database.url.startswith("postgresql")


def test_postgresql_is_reachable_as_the_config_says() -> None:
    (statefulset,) = kubernetes_kind("StatefulSet")
    (service,) = [
        s for s in kubernetes_kind("Service") if s["metadata"]["name"] == "pipfleet-postgres"
    ]
    template = statefulset["spec"]["template"]
    labels = template["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    assert statefulset["spec"]["volumeClaimTemplates"], "the data needs a PersistentVolumeClaim"
    (postgres,) = template["spec"]["containers"]
    env = {e["name"]: e for e in postgres["env"]}
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True

    (container,) = pod_spec(cronjob())["containers"]
    config = PurePosixPath(option(only_call(container), "--config") or "")
    url = make_url(
        parse_settings(
            tomllib.loads(configmap_toml("pipfleet-config", config.name)), {}
        ).database.url
    )
    assert url.drivername == "postgresql+psycopg"
    assert url.host == service["metadata"]["name"]
    assert url.port in [p["port"] for p in service["spec"]["ports"]]
    assert url.username == env["POSTGRES_USER"]["value"]
    assert url.database == env["POSTGRES_DB"]["value"]
    assert url.password is None, "the password comes from the Secret, as PGPASSWORD"
    pgpassword = {e["name"]: e for e in container["env"]}["PGPASSWORD"]["valueFrom"]
    server = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert {k: pgpassword["secretKeyRef"][k] for k in ("name", "key")} == server


def test_only_pipfleet_may_connect_to_postgresql() -> None:
    policy = named("NetworkPolicy", "pipfleet-postgres")
    (statefulset,) = kubernetes_kind("StatefulSet")
    pods = statefulset["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pods.items()
    job_pods = cronjob()["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchLabels"].items() <= job_pods.items()
    assert [p["port"] for p in rule["ports"]] == [5432]


# --- the CodeArtifact guide -------------------------------------------------------------

FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)


def guide_blocks(lang: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        if match.group("lang") == lang:
            indent = len(match.group("indent"))
            blocks.append("".join(line[indent:] for line in match.group("body").splitlines(True)))
    return blocks


def guide_listing() -> str:
    (listing,) = [block for block in guide_blocks("") if "orb-common 2.0.0 2.1.0" in block]
    return listing


def guide_pipfile() -> str:
    (pipfile,) = [block for block in guide_blocks("toml") if "[[source]]" in block]
    return pipfile


def test_guide_code_blocks_parse() -> None:
    assert guide_blocks("toml") and guide_blocks("yaml") and guide_blocks("sh")
    for block in guide_blocks("toml"):
        tomllib.loads(block)
    for block in guide_blocks("yaml"):
        assert isinstance(yaml.safe_load(block), dict)
    for block in guide_blocks("sh"):
        assert subprocess.run(["sh", "-n", "-c", block], check=False).returncode == 0, block
    parse_listing(guide_listing(), "guide listing")


def test_guide_pipfile_is_compliant_and_the_bare_pin_is_not() -> None:
    listing = parse_listing(guide_listing())
    pipfile, report = audit_text(guide_pipfile(), "Pipfile", listing)
    assert pipfile is not None
    assert not [f for f in report.findings if f.needs_action], report.findings
    private = {e.name for e in pipfile.entries() if e.name in listing}
    assert private == set(listing.packages), "every listed package appears, pinned"
    _, bare = audit_text('[packages]\norb-common = "==2.1.0"\n', "Pipfile", listing)
    assert "missing-index" in {f.kind.value for f in bare.findings}


def test_guide_shows_the_real_check_output(tmp_path: Path) -> None:
    before = guide_pipfile().replace(
        'orb-common = {version = "==2.1.0", index = "codeartifact"}', 'orb-common = "==2.1.0"'
    )
    (tmp_path / "Pipfile").write_text(before)
    (tmp_path / "listing.txt").write_text(guide_listing())
    result = subprocess.run(
        [str(PIPFLEET), "check", "--listing", "listing.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300", "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    (shown,) = [block for block in guide_blocks("") if "missing-index" in block]
    for line in shown.strip().splitlines():
        assert line in result.stdout.splitlines(), f"{line!r} not in:\n{result.stdout}"


def test_guide_commands_and_hooks_exist() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    inline = re.findall(r"`(pipfleet [^`]+)`", text)
    assert inline
    for command in inline:
        assert_pipfleet_accepts(shlex.split(command)[1:], f"guide: {command}")
    hook_ids = {hook["id"] for hook in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    configs = [doc for doc in map(yaml.safe_load, guide_blocks("yaml")) if "repos" in doc]
    assert configs, "the guide shows a .pre-commit-config.yaml"
    for config in configs:
        for repo in config["repos"]:
            for hook in repo["hooks"]:
                assert hook["id"] in hook_ids, hook["id"]
    mentioned = set(re.findall(r"`(pipfleet-(?:check|fix|[a-z]+))`", text)) - {"pipfleet-ignore"}
    assert mentioned <= hook_ids


def test_guide_matches_what_pipfleet_does() -> None:
    """The pull request's defaults and the opt-outs, as the code has them."""
    text = " ".join(GUIDE.read_text(encoding="utf-8").split())
    fix = FixSettings()
    assert f"*{fix.title}*" in text
    assert f"`{fix.branch}`" in text
    assert all(f"`{label}`" in text for label in fix.labels)
    assert f"**`{GitHubSettings.opt_out_topic}`**" in text
    assert f"**`{OPT_OUT_FILE}`**" in text and "enabled = false" in text
    assert "reopen_dismissed = true" in text
    source = re.search(r"url = \"(https://aws:[^\"]+)\"", guide_pipfile())
    assert source and "${CODEARTIFACT_AUTH_TOKEN}" in source.group(1)
