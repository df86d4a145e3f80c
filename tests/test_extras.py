"""Every third-party module src/ imports is declared: in the core or in the extra named for it."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from tests.conftest import ROOT

from pipfleet.extras import EXTRA_OF_MODULE

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _imported_modules() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "src" / "pipfleet").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"pipfleet"}


def _distributions(requirements: list[str]) -> set[str]:
    """The distributions ``requirements`` name, following pipfleet[...] into other extras."""
    found: set[str] = set()
    for line in requirements:
        requirement = Requirement(line)
        if requirement.name == "pipfleet":
            for extra in requirement.extras:
                found |= _distributions(PROJECT["optional-dependencies"][extra])
        else:
            found.add(canonicalize_name(requirement.name))
    return found


def _providers(module: str) -> set[str]:
    return {canonicalize_name(name) for name in packages_distributions().get(module, [])}


def test_each_imported_module_comes_from_the_core_or_its_named_extra() -> None:
    core = _distributions(PROJECT["dependencies"])
    undeclared = []
    for module in sorted(_imported_modules()):
        if _providers(module) & core:
            continue
        extra = EXTRA_OF_MODULE.get(module)
        declared = _distributions(PROJECT["optional-dependencies"].get(extra, []))
        if not _providers(module) & declared:
            undeclared.append(f"{module} (extra {extra})")

    assert undeclared == []


def test_the_core_is_only_what_check_needs() -> None:
    assert _distributions(PROJECT["dependencies"]) == {"packaging", "tomlkit", "typer", "rich"}


def test_every_named_extra_exists_and_all_holds_them() -> None:
    extras = set(EXTRA_OF_MODULE.values())

    assert extras <= set(PROJECT["optional-dependencies"])
    assert PROJECT["optional-dependencies"]["all"] == [f"pipfleet[{','.join(sorted(extras))}]"]
