from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipfleet.errors import PipfileError, UsageError
from pipfleet.files import find_manifests, read_text, write_atomically


def test_find_manifests_walks_folders_and_skips_tooling(tmp_path: Path) -> None:
    for folder in ("a", "a/b/c", ".git", "node_modules/x", "env", ".venv", "z"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "Pipfile").write_text("")
    (tmp_path / "env" / "pyvenv.cfg").write_text("")
    (tmp_path / "z" / "Pipfile.lock").write_text("{}")
    # The files the scan reads besides Pipfiles, and ones it does not.
    (tmp_path / "a" / "requirements").mkdir()
    for name in (
        "a/pyproject.toml",
        "a/requirements-dev.txt",
        "a/requirements/base.txt",
        "a/constraints.txt",
        "a/notes.txt",
        "a/uv.lock",
        ".venv/pyproject.toml",
        "node_modules/x/requirements.txt",
    ):
        (tmp_path / name).write_text("")
    found = [p.relative_to(tmp_path).as_posix() for p in find_manifests([tmp_path])]
    assert found == [
        "a/Pipfile",
        "a/constraints.txt",
        "a/pyproject.toml",
        "a/requirements-dev.txt",
        "a/b/c/Pipfile",
        "a/requirements/base.txt",
        "z/Pipfile",
    ]


def test_named_file_is_taken_as_is_and_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    named = tmp_path / "Pipfile.custom"
    named.write_text("")
    assert list(find_manifests([named])) == [named]
    with pytest.raises(UsageError, match="no such file or folder"):
        list(find_manifests([tmp_path / "nope"]))


def test_read_text_keeps_line_endings_and_rejects_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "Pipfile"
    path.write_bytes(b"a = 1\r\nb = 2")
    assert read_text(path) == "a = 1\r\nb = 2"
    path.write_bytes(b"a = '\xff'")
    with pytest.raises(PipfileError, match="not UTF-8"):
        read_text(path)


def test_write_atomically_keeps_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "Pipfile"
    path.write_text("old")
    path.chmod(0o604)
    write_atomically(path, "new\r\n✓")
    assert path.read_bytes() == "new\r\n✓".encode()
    assert oct(path.stat().st_mode & 0o777) == oct(0o604)
    assert os.listdir(tmp_path) == ["Pipfile"]


def test_failed_write_keeps_the_original(tmp_path: Path) -> None:
    path = tmp_path / "Pipfile"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "\udcff")  # a lone surrogate cannot be encoded
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["Pipfile"]
