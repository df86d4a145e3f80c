"""pipfleet's version comes from one place, the package metadata pyproject.toml's
``version`` sets, and reading it costs nothing until it is asked for."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import pipfleet

ROOT = Path(__file__).resolve().parents[1]
PIPFLEET = Path(sys.executable).with_name("pipfleet")


def pyproject_version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project.get("dynamic", [])
    return str(project["version"])


def test_the_version_is_pyprojects() -> None:
    assert pipfleet.__version__ == pyproject_version()


def test_the_command_prints_it() -> None:
    for args in (["--version"], ["version"]):
        result = subprocess.run(
            [str(PIPFLEET), *args], capture_output=True, text=True, timeout=60, check=True
        )
        assert result.stdout == f"{pyproject_version()}\n"


def test_importing_pipfleet_reads_no_metadata() -> None:
    code = "import sys, pipfleet; print('importlib.metadata' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == "False\n"


def test_a_source_tree_without_metadata_says_unknown(tmp_path: Path) -> None:
    # Only the package's __init__, on a path holding no pipfleet metadata (no site-packages).
    (tmp_path / "pipfleet").mkdir()
    shutil.copy(ROOT / "src" / "pipfleet" / "__init__.py", tmp_path / "pipfleet")
    result = subprocess.run(
        [sys.executable, "-S", "-c", "import pipfleet; print(pipfleet.__version__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == f"{pipfleet.UNKNOWN_VERSION}\n"


def test_other_names_are_still_missing() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = pipfleet.no_such_name
