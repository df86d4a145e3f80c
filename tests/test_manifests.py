"""Which files a scan reads and what a pyproject.toml is."""

from __future__ import annotations

import pytest

from pipfleet.manifests import is_requirements, pyproject_kind, sibling
from pipfleet.states import ManifestKind

POETRY = '[tool.poetry]\nname = "svc"\n[tool.poetry.dependencies]\norb-common = "^1"\n'
UV = '[project]\nname = "svc"\ndependencies = ["orb-common"]\n[tool.uv]\ndev-dependencies = []\n'
PEP621 = '[project]\nname = "svc"\ndependencies = ["orb-common"]\n'


@pytest.mark.parametrize(
    ("text", "uv_lock", "kind"),
    [
        (POETRY, False, ManifestKind.POETRY),
        (POETRY, True, ManifestKind.POETRY),  # its own table says whose it is
        (UV, False, ManifestKind.UV),
        (PEP621, True, ManifestKind.UV),  # uv locked it
        (PEP621, False, None),  # pip, Hatch or PDM: no engine reads its index settings
        ("[tool.black]\nline-length = 99\n", False, None),
        # Not TOML: its headers still say whose parse error it is.
        ("[tool.poetry\nname = 'x'\n", False, ManifestKind.POETRY),
        ("  [[tool.uv.index]]\nname = \n", False, ManifestKind.UV),
        ("[project\n", False, None),
        (None, True, ManifestKind.UV),  # unreadable (too large, binary): the lock tells
        (None, False, None),
    ],
)
def test_a_pyproject_is_audited_when_it_names_its_installer(
    text: str | None, uv_lock: bool, kind: ManifestKind | None
) -> None:
    assert pyproject_kind(text, uv_lock) is kind


@pytest.mark.parametrize(
    ("path", "wanted"),
    [
        ("requirements.txt", True),
        ("requirements-dev.txt", True),
        ("svc/constraints.txt", True),
        ("requirements/base.txt", True),
        ("svc/requirements/test.txt", True),
        ("requirements.in", False),
        ("docs/notes.txt", False),
        ("requirements/README.md", False),
        ("my-requirements.txt", False),
    ],
)
def test_requirements_files_by_name_or_folder(path: str, wanted: bool) -> None:
    assert is_requirements(path) is wanted


def test_sibling_paths() -> None:
    assert sibling("pyproject.toml", "uv.lock") == "uv.lock"
    assert sibling("a/b/pyproject.toml", "poetry.lock") == "a/b/poetry.lock"
