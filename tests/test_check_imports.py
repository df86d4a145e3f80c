"""``pipfleet check`` as a pre-commit hook runs it loads the engine, not the fleet bot.

Its speed is measured by bench/check_startup.py; this checks what makes it fast: the
modules a plain audit never needs stay unimported, so a slim install (the core
without extras) can run it and a new top-level import cannot creep in unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOT_FOR_AN_AUDIT = (
    "rich",  # check prints with click's styles
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "github",
    "boto3",
    "botocore",
    "httpx",
    "starlette",
    "uvicorn",
    "mcp",
    "jinja2",
    "pipfleet.config",  # only without --listing
    "pipfleet.store",
    "pipfleet.jobs.scan",
    "pipfleet.jobs.fix",
    "pipfleet.engine.fixset",  # only when a fix is asked for
    "pipfleet.engine.lockfile",
    "importlib.metadata",  # pipfleet.__version__ reads it, only when asked
)

RUN_AND_LIST_MODULES = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["pipfleet", *sys.argv[1:]]
from pipfleet.cli import main
main()
"""


def _unneeded(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in NOT_FOR_AN_AUDIT)


def modules_loaded_by(*args: str, cwd: Path) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr
    return set(json.loads(result.stderr.splitlines()[-1]))


@pytest.mark.parametrize("output", ["text", "json"])
def test_an_audit_loads_none_of_the_bot(tmp_path: Path, output: str) -> None:
    (tmp_path / "Pipfile").write_text('[packages]\norb-common = "*"\nrequests = "*"\n')
    (tmp_path / "Pipfile.lock").write_text('{"_meta": {}, "default": {}, "develop": {}}\n')
    (tmp_path / "listing.txt").write_text("orb-common 2.1.0\n")
    loaded = modules_loaded_by(
        "check", "Pipfile", "--listing", "listing.txt", "--format", output, cwd=tmp_path
    )
    assert "pipfleet.engine.audit" in loaded  # it did run the audit
    assert not {name for name in loaded if _unneeded(name)}
    # Nor the engines of the other manifests: only a uv, Poetry or requirements file needs them.
    assert not loaded & {"pipfleet.jobs.checkmanifests", "pipfleet.engine.uvproject"}


def test_an_audit_of_other_manifests_loads_none_of_the_bot(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\ndependencies = ["orb-common"]\n\n[tool.uv]\n'
    )
    (tmp_path / "requirements.txt").write_text(
        "--extra-index-url https://x.test/simple\norb-common\n"
    )
    (tmp_path / "listing.txt").write_text("orb-common 2.1.0\n")
    loaded = modules_loaded_by("check", ".", "--listing", "listing.txt", cwd=tmp_path)
    assert {"pipfleet.engine.uvproject", "pipfleet.engine.requirementsrewrite"} <= loaded
    assert not {name for name in loaded if _unneeded(name)}


def test_help_loads_no_command(tmp_path: Path) -> None:
    loaded = modules_loaded_by("--help", cwd=tmp_path)
    assert not {
        name for name in loaded if name.startswith(("pipfleet.jobs", "pipfleet.engine.audit"))
    }
    assert not {name for name in loaded if _unneeded(name)}
