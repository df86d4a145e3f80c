"""Local files: finding manifests under a folder, reading them as-is, writing atomically."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipfleet.errors import PipfileError, UsageError

PIPFILE_NAME = "Pipfile"
_SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        "site-packages",
    }
)


def _is_virtualenv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


def find_manifests(paths: Iterable[Path]) -> Iterator[Path]:
    """Each given file, and every manifest under each given folder, in a stable order: the
    files the fleet scan reads (Pipfile, pyproject.toml, requirements files by
    ``pipfleet.manifests.is_requirements``).

    Version-control folders, virtualenvs and node_modules are not searched.
    """
    # Here, not on top: the CLI imports this module for every command, --help included.
    from pipfleet.manifests import PYPROJECT_NAME, is_requirements

    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs if d not in _SKIPPED_DIRS and not _is_virtualenv(Path(root, d))
                )
                for name in sorted(files):
                    found = Path(root, name)
                    if name in (PIPFILE_NAME, PYPROJECT_NAME) or is_requirements(found.as_posix()):
                        yield found
        else:
            raise UsageError(f"{path}: no such file or folder")


def read_text(path: Path) -> str:
    """The file's text with its line endings untouched."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PipfileError(f"cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PipfileError(f"not UTF-8 text (byte {exc.start})") from None


def prepare_output(path: Path, what: str) -> None:
    """Make sure ``path`` can be written before the work that produces it starts.

    Its folder is created when missing and a probe file is created and removed beside
    it, as ``write_atomically`` will; a failure is a UsageError naming ``what``.
    """
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder; give a file name")
    _probe(path.parent, path, what)


def prepare_folder(path: Path, what: str) -> None:
    """Make sure files can be written in the folder ``path`` (created when missing)."""
    _probe(path, path, what)


def _probe(folder: Path, path: Path, what: str) -> None:
    import tempfile  # here and below, not on top: a check that only reads never loads it

    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".pipfleet-probe.", suffix=".tmp")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` via a temporary file and a rename, keeping its mode.

    A device or a named pipe (``-o /dev/stdout``) is written to instead: a rename would
    replace the device node itself.
    """
    import tempfile

    if path.exists() and not path.is_file() and not path.is_dir():
        path.write_bytes(text.encode("utf-8"))
        return
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
