"""The pre-commit hooks, installed and run by real pre-commit from this repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
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
