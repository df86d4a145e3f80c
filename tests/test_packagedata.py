"""Package data is found through importlib.resources, or named in one line when it cannot be."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from tests.conftest import ROOT

from pipfleet.errors import PipfleetError
from pipfleet.packagedata import GUIDES, MIGRATIONS, package_folder


def test_an_editable_checkout_finds_the_top_level_folders() -> None:
    assert package_folder(MIGRATIONS) == ROOT / "migrations"
    assert package_folder(GUIDES) == ROOT / "docs"


def test_a_missing_package_is_one_line_saying_to_reinstall() -> None:
    with pytest.raises(PipfleetError) as raised:
        package_folder("pipfleet.no_such_data")

    assert str(raised.value) == (
        "pipfleet's installation has no pipfleet.no_such_data: reinstall pipfleet"
    )


def test_a_package_inside_a_zip_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped_data/__init__.py", "")
        zipped.writestr("zipped_data/env.py", "")
    monkeypatch.syspath_prepend(str(archive))

    with pytest.raises(PipfleetError, match=r"^zipped_data is inside an archive .*unpacked$"):
        package_folder("zipped_data")
