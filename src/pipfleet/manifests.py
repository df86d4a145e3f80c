"""The files pipfleet audits and their kinds: which paths a scan reads, and what a
pyproject.toml is. Pure: the GitHub adapter, the scan and the store all use it.

A pyproject.toml is only a manifest pipfleet audits when it says which installer reads it:
[tool.poetry] makes it Poetry's, [tool.uv] or a uv.lock beside it makes it uv's. A plain
PEP 621 project without either is left out: pip, Hatch or PDM may install it, each with
its own index settings that no engine here reads, so any finding would be a guess.
"""

from __future__ import annotations

import re

from pipfleet.engine.pipfile import load_toml
from pipfleet.errors import PipfileError
from pipfleet.states import ManifestKind

PIPFILE_NAME = "Pipfile"
PIPFILE_LOCK = "Pipfile.lock"
PYPROJECT_NAME = "pyproject.toml"
UV_LOCK = "uv.lock"
POETRY_LOCK = "poetry.lock"
LOCK_NAMES = frozenset({PIPFILE_LOCK, UV_LOCK, POETRY_LOCK})
REQUIREMENTS_FOLDER = "requirements"  # the conventional folder of requirements/base.txt, ...
_REQUIREMENTS_PREFIXES = ("requirements", "constraints")

# For a pyproject.toml that is not valid TOML: its table headers still say whose it is, so
# its parse error is reported to the right engine rather than the file being ignored.
_TOOL_HEADER = re.compile(r"^[ \t]*\[{1,2}[ \t]*tool\.(poetry|uv)\b", re.MULTILINE)


def lock_name(kind: ManifestKind) -> str | None:
    """The lock its installer writes beside a manifest of this kind; None: it has none."""
    return {
        ManifestKind.PIPFILE: PIPFILE_LOCK,
        ManifestKind.UV: UV_LOCK,
        ManifestKind.POETRY: POETRY_LOCK,
    }.get(kind)


def sibling(path: str, name: str) -> str:
    """The path of the file called ``name`` in the folder of ``path``."""
    folder = path.rpartition("/")[0]
    return f"{folder}/{name}" if folder else name


def is_requirements(path: str) -> bool:
    """requirements*.txt or constraints*.txt anywhere, or any .txt in a requirements/ folder."""
    folder, _, name = path.rpartition("/")
    if not name.endswith(".txt"):
        return False
    return name.startswith(_REQUIREMENTS_PREFIXES) or folder.rpartition("/")[2] == (
        REQUIREMENTS_FOLDER
    )


def pyproject_kind(text: str | None, uv_lock_beside: bool) -> ManifestKind | None:
    """The kind of a pyproject.toml (its text, None when unreadable), or None: not audited."""
    tools: set[str] = set()
    if text is not None:
        try:
            tool = load_toml(text).get("tool")
            tools = {name for name in ("poetry", "uv") if isinstance(tool, dict) and name in tool}
        except PipfileError:
            tools = set(_TOOL_HEADER.findall(text))
    if "poetry" in tools:
        return ManifestKind.POETRY
    if "uv" in tools or uv_lock_beside:
        return ManifestKind.UV
    return None
