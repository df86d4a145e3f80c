"""The wheel pipfleet builds: every package listed, migrations and guides as package data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from tests.conftest import ROOT

from pipfleet.store import db

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]

# Run from the installed copy only: it must find its own data without the checkout.
PROBE = """
import json, sys
from alembic.script import ScriptDirectory
import pipfleet
from pipfleet.assistant.server import docs_dir
from pipfleet.store import db

url = sys.argv[1]
guides = docs_dir()
print(json.dumps({
    "package": pipfleet.__file__,
    "migrations": str(db.migrations_dir()),
    "revisions": sorted(
        script.revision
        for script in ScriptDirectory.from_config(db.alembic_config(url)).walk_revisions()
    ),
    "upgraded_to": db.upgrade(url),
    "guides": str(guides),
    "guide_files": sorted(str(path.relative_to(guides)) for path in guides.rglob("*.md")),
}))
"""


def test_every_package_under_src_is_listed_for_the_wheel() -> None:
    src = ROOT / "src"
    found = {".".join(init.parent.relative_to(src).parts) for init in src.rglob("__init__.py")}

    assert found <= set(SETUPTOOLS["packages"])


def test_migrations_and_guides_map_to_their_folders_in_the_checkout() -> None:
    mapped = SETUPTOOLS["package-dir"]

    assert (ROOT / mapped["pipfleet.migrations"] / "env.py").is_file()
    assert (ROOT / mapped["pipfleet.guides"] / "integration-guides" / "codeartifact.md").is_file()
    assert "data-files" not in SETUPTOOLS


def _checkout_copy(to: Path) -> Path:
    """The files a build reads, so that building leaves no build/ in the checkout."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("src", "migrations", "docs"):
        shutil.copytree(ROOT / folder, to / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, to / name)
    return to


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, capture_output=True)


@pytest.mark.slow
def test_an_installed_wheel_finds_its_migrations_and_guides_without_the_checkout(
    tmp_path: Path,
) -> None:
    source = _checkout_copy(tmp_path / "source")
    _pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source))
    (wheel,) = tmp_path.glob("pipfleet-*.whl")
    assert not [name for name in zipfile.ZipFile(wheel).namelist() if ".data/" in name]
    target = tmp_path / "installed"
    _pip("install", "--quiet", "--no-deps", "--target", str(target), str(wheel))
    url = f"sqlite:///{tmp_path / 'fleet.db'}"

    probe = subprocess.run(
        [sys.executable, "-c", PROBE, url],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )

    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert Path(found["package"]).is_relative_to(target)
    assert Path(found["migrations"]) == target / "pipfleet" / "migrations"
    checkout = ScriptDirectory.from_config(db.alembic_config(url)).walk_revisions()
    revisions = sorted(script.revision for script in checkout)
    assert found["revisions"] == revisions
    assert found["upgraded_to"] == revisions[-1]
    assert Path(found["guides"]) == target / "pipfleet" / "guides"
    assert found["guide_files"] == [
        "integration-guides/codeartifact.md",
        "templates/project-standards.md",
    ]
