"""The pre-commit hooks, installed and run by real pre-commit from this repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.conftest import ROOT

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.mark.slow
def test_hooks_run_from_a_consumer_repository(tmp_path: Path) -> None:
    head = _git("rev-parse", "HEAD", cwd=ROOT)
    consumer = tmp_path / "consumer"
    (consumer / "svc").mkdir(parents=True)
    (consumer / "svc" / "Pipfile").write_text('[packages]\norb-common = "*"\n')
    # The hooks' `files` pattern takes requirements files and pyproject.toml too.
    (consumer / "requirements-dev.txt").write_text(
        "--extra-index-url https://acme-1.d.codeartifact.eu-west-1.amazonaws.com/pypi/p/simple/\n"
        "orb-common\n"
    )
    (consumer / "pyproject.toml").write_text('[project]\nname = "consumer"\n')
    (consumer / "listing.txt").write_text("orb-common\n")
    (consumer / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n"
        "      - id: pipfleet-check\n        args: [--listing, listing.txt]\n"
    )
    _git("init", "-q", cwd=consumer)
    _git("add", ".", cwd=consumer)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    result = subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files"],
        cwd=consumer,
        env=env,
        capture_output=True,
        text=True,
        # pre-commit builds the hook's virtualenv and pip-installs pipfleet into it from PyPI:
        # 1-2 minutes on a quiet machine, over 300 s under pytest-xdist on a loaded 2-CPU one.
        timeout=900,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "svc/Pipfile:2: missing-index [packages] orb-common" in result.stdout
    assert "requirements-dev.txt:2: extra-index-url" in result.stdout
    assert "pyproject.toml: not audited" in result.stdout


def documented_configs() -> dict[str, str]:
    """Every .pre-commit-config.yaml the documentation shows, by where it is shown."""
    found = {}
    for name in ("README.md", "docs/integration-guides/codeartifact.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        for at, block in enumerate(re.findall(r"^```yaml\n(.*?)^```$", text, re.M | re.S)):
            if "repos:" in block:
                found[f"{name} block {at}"] = block
    comment = "".join(
        line.removeprefix("#")[1:] + "\n"
        for line in (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    )
    example = re.search(r"^  - repo:.*?(?=^\s*$)", comment, re.M | re.S)
    assert example, ".pre-commit-hooks.yaml's comment shows a configuration"
    found[".pre-commit-hooks.yaml comment"] = "repos:\n" + example.group(0)
    return found


def test_documented_configs_are_valid_and_pin_a_rev_that_exists(tmp_path: Path) -> None:
    configs = documented_configs()
    assert len(configs) == 3, configs.keys()
    tags = set(_git("tag", "--list", cwd=ROOT).split())
    for where, text in configs.items():
        (repo,) = yaml.safe_load(text)["repos"]
        # A tag that exists, or a full commit SHA (the example's, until releases are tagged).
        assert repo["rev"] in tags or re.fullmatch(r"[0-9a-f]{40}", repo["rev"]), where
        config = tmp_path / f"{len(where)}.yaml"
        config.write_text(text)
        result = subprocess.run(
            [str(PRE_COMMIT), "validate-config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{where}: {result.stdout}{result.stderr}"


def test_autoupdate_freeze_pins_the_example_to_a_real_commit(tmp_path: Path) -> None:
    """What the README says to run: the example SHA becomes a commit pipfleet has."""
    readme_example = documented_configs()["README.md block 0"]
    example_rev = yaml.safe_load(readme_example)["repos"][0]["rev"]
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    _git("init", "-q", cwd=consumer)
    config = consumer / ".pre-commit-config.yaml"
    config.write_text(re.sub(r"(?m)^(\s*- repo: ).*$", rf"\g<1>{ROOT}", readme_example))
    result = subprocess.run(
        [str(PRE_COMMIT), "autoupdate", "--freeze"],
        cwd=consumer,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rev = yaml.safe_load(config.read_text())["repos"][0]["rev"]
    assert rev != example_rev and re.fullmatch(r"[0-9a-f]{40}", rev)
    assert _git("cat-file", "-t", rev, cwd=ROOT) == "commit"
