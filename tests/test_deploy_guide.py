"""The README's Deploy section is a guide a new user can follow: its five steps each use a
file in config/ that exists, every pipfleet command it shows parses with those options, and
the secrets it places are the variables pipfleet (or boto3) reads and the config files set."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping

from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES
from botocore.credentials import EnvProvider
from tests.conftest import ROOT
from tests.gfm import GFM, code_spans
from tests.test_dockerfile import readme_section
from tests.test_scheduler_configs import (
    CONFIG,
    SERVICE,
    SOURCES,
    WORKFLOW,
    assert_pipfleet_accepts,
    cronjob,
    pipfleet_in_shell,
    pod_spec,
    unit_values,
)

from pipfleet.config import load_settings

STEPS = ["GitHub App", "Secrets", "database", "schedule", "dashboard"]
STEP = re.compile(r"^### (\d+)\. (.+)$", re.M)
CONFIG_PATH = re.compile(r"(?<![\w/.-])config/[\w./-]*")
ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
SCHEDULER_FILES = {
    "github-actions": "config/github-actions/pipfleet-nightly.yml",
    "kubernetes": "config/kubernetes/",
    "systemd": "config/systemd/pipfleet.service",
    "cron": "config/cron/pipfleet.crontab",
}


def guide() -> str:
    return readme_section("Deploy")


def steps() -> dict[str, str]:
    """Each numbered step's title and text, in order."""
    text = guide()
    found = list(STEP.finditer(text))
    assert [int(m.group(1)) for m in found] == list(range(1, len(found) + 1)), "numbered 1, 2, ..."
    ends = [m.start() for m in found[1:]] + [len(text)]
    return {m.group(2): text[m.end() : end] for m, end in zip(found, ends, strict=True)}


def commands() -> Iterator[tuple[str, list[str]]]:
    """Every pipfleet call: in the shell blocks, and the code spans that are one."""
    tokens = GFM.parse(guide())
    for block in (t.content for t in tokens if t.type == "fence"):
        for args in pipfleet_in_shell(block):
            yield f"README Deploy: pipfleet {shlex.join(args)}", args
    for span in code_spans(guide()):
        if span.startswith("pipfleet "):
            yield f"README Deploy: `{span}`", shlex.split(span)[1:]


class Recording(Mapping[str, str]):
    """An environment that remembers every name asked of it."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def pipfleet_reads() -> set[str]:
    environ = Recording({"PIPFLEET_CONFIG": str(CONFIG / "pipfleet.toml")})
    load_settings(None, environ)
    return environ.asked


def boto3_reads() -> set[str]:
    names = {EnvProvider.ACCESS_KEY, EnvProvider.SECRET_KEY, *EnvProvider.TOKENS}
    for variable in BOTOCORE_DEFAUT_SESSION_VARIABLES.values():
        env = variable[1]
        names.update([env] if isinstance(env, str) else env or [])
    return names


def set_in_config_files() -> str:
    """The text of every scheduler file: where a variable is set, with its value or key."""
    files = [path for path in sorted(CONFIG.rglob("*")) if path.is_file()]
    return "\n".join(p.read_text(encoding="utf-8") for p in files if "examples" not in p.parts)


def is_set(name: str, text: str) -> bool:
    # NAME=value (systemd, env files, crontab), NAME: value (Actions), - name: NAME (Kubernetes)
    return re.search(rf"(?<![\w.]){name}\s*[=:]|name: {name}\b", text) is not None


def actions_settings() -> set[str]:
    """The repository variables and secrets the workflow (and its notes) use."""
    return set(re.findall(r"\b(?:vars|secrets)\.(\w+)", WORKFLOW.read_text(encoding="utf-8")))


# --- the tests --------------------------------------------------------------------------


def test_five_steps_app_secrets_database_schedule_dashboard() -> None:
    titles = list(steps())
    assert len(titles) == len(STEPS), titles
    for title, subject in zip(titles, STEPS, strict=True):
        assert subject.lower() in title.lower(), (title, subject)


def test_every_step_uses_a_config_file_that_exists() -> None:
    for title, text in steps().items():
        paths = CONFIG_PATH.findall(text)
        assert paths, f"step {title!r} names no config/ file"
        for path in paths:
            assert (ROOT / path).exists(), f"step {title!r}: {path} does not exist"


def test_the_schedule_step_offers_every_scheduler() -> None:
    assert sorted(SCHEDULER_FILES) == sorted(SOURCES)
    text = steps()["The schedule"]
    for path in SCHEDULER_FILES.values():
        assert f"`{path}`" in text, path


def test_every_command_shown_exists_with_its_options() -> None:
    shown = list(commands())
    subcommands = {" ".join(args[:2]) for _, args in shown}
    assert {"github-app create", "github-app check", "db upgrade"} <= subcommands, subcommands
    for where, args in shown:
        assert_pipfleet_accepts(args, where)


def test_the_variables_named_are_read_by_pipfleet_or_boto3_and_set_in_config() -> None:
    named = set(ENV_NAME.findall(guide()))
    read = pipfleet_reads() | boto3_reads()
    settings = actions_settings()
    assert {"GITHUB_TOKEN", "PIPFLEET_DATABASE_URL", "PIPFLEET_GITHUB_APP_ID"} <= read & named
    files = set_in_config_files()
    for name in named:
        assert name in read | settings, f"{name}: neither pipfleet nor boto3 reads it"
        if name in read:
            assert is_set(name, files), f"{name}: no file in config/ sets it"


def test_every_actions_setting_the_workflow_uses_is_placed() -> None:
    named = set(ENV_NAME.findall(guide()))
    assert actions_settings() <= named, actions_settings() - named


def test_every_key_of_the_kubernetes_secret_is_placed() -> None:
    (container,) = pod_spec(cronjob())["containers"]
    keys = {
        env["valueFrom"]["secretKeyRef"]["key"]
        for env in container["env"]
        if env.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "pipfleet"
    }
    assert keys, "the CronJob reads the pipfleet Secret"
    text = steps()["Secrets"]
    assert all(f"`{key}`" in text for key in keys), keys


def test_the_systemd_secrets_are_where_the_unit_reads_them() -> None:
    text = steps()["Secrets"]
    (environment_file,) = unit_values(SERVICE, "Service", "EnvironmentFile")
    assert f"EnvironmentFile={environment_file}" in text
    (credential,) = unit_values(SERVICE, "Service", "LoadCredential")
    assert f"`{credential.split(':', 1)[1]}`" in text


def test_the_sections_links_resolve() -> None:
    text = guide()
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert (ROOT / target).exists(), target
    headings = {
        re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), re.M)
    }
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert anchor in headings, anchor


def test_the_env_name_pattern_and_recording_catch_what_they_should() -> None:
    assert ENV_NAME.findall("`GITHUB_TOKEN` in EnvironmentFile= or PIPFLEET_PAGES") == [
        "GITHUB_TOKEN",
        "PIPFLEET_PAGES",
    ]
    assert {"GITHUB_TOKEN", "PIPFLEET_GITHUB_APP_PRIVATE_KEY_PATH"} <= pipfleet_reads()
    assert "AWS_PROFILE" in boto3_reads() and "AWS_ACCESS_KEY_ID" in boto3_reads()
    assert is_set("AWS_PROFILE", "#   AWS_PROFILE=<profile>")
    assert not is_set("AWS_PROFILE", "uses AWS_PROFILE too")
