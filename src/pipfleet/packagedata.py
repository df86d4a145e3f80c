"""Folders pipfleet ships inside its package: Alembic's migrations and the MCP guides.

They are found through ``importlib.resources``, so every install (a virtualenv, ``pip
install --user`` or ``--target``, an editable checkout) finds them wherever it put them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from pipfleet.errors import PipfleetError

MIGRATIONS = "pipfleet.migrations"
GUIDES = "pipfleet.guides"


def package_folder(package: str) -> Path:
    """The folder on disk holding ``package``'s files.

    Alembic and the MCP server read these as plain files for as long as they run, which
    ``importlib.resources.as_file`` cannot promise for a folder inside a zip on Python
    3.11; pip always installs unpacked, so a zipped copy is refused rather than extracted.
    """
    try:
        folder = files(package)
    except ModuleNotFoundError:
        raise PipfleetError(
            f"pipfleet's installation has no {package}: reinstall pipfleet"
        ) from None
    if not isinstance(folder, Path):
        raise PipfleetError(f"{package} is inside an archive ({folder}): install pipfleet unpacked")
    return folder
