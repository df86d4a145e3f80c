"""Imports run one way: cli -> jobs -> engine/adapters/store, report -> store.

Read from the source with ``ast`` (imports inside functions and TYPE_CHECKING blocks
count too): a new back-edge fails here, naming the file and the import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import ROOT

PACKAGE = ROOT / "src" / "pipfleet"

# A part of pipfleet (a subpackage or a top-level module, by its first name under
# pipfleet) and every other part it may import; pipfleet's own __init__ (the version)
# is open to all. These are the bottom layers: anything they do not list is a back-edge.
ALLOWED = {
    "errors": set(),
    "states": set(),
    "repositories": set(),
    "engine": {"errors", "safetext", "states"},
    "manifests": {"engine", "errors", "states"},
    "scanresults": {"engine", "repositories", "states"},
}
# The layers above: what each must never import.
FORBIDDEN = {
    "store": {"jobs", "github", "registry", "report", "assistant", "cli", "render", "progress"},
    "github": {"jobs", "store", "report", "cli", "render", "progress"},
    "registry": {"jobs", "report", "cli", "render", "progress"},
    "report": {"jobs", "cli", "render", "progress", "github"},
    "jobs": {"cli", "render", "progress"},
    "render": {"cli", "store", "github", "registry"},
}


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def _imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, part of pipfleet) for each pipfleet import in ``path``."""
    module = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = module[:-1]  # an __init__'s package is its folder, as for any module in it
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            names = [".".join((*base, *([node.module] if node.module else [])))]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "pipfleet" and len(parts) > 1:
                yield node.lineno, parts[1]


def _edges() -> list[tuple[str, str, str]]:
    """(importing part, imported part, where) for each import across two parts."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _part(path)
        for line, target in _imported(path):
            if target != source:
                edges.append((source, target, f"{path.relative_to(ROOT)}:{line}"))
    return edges


def test_the_rules_name_parts_that_exist() -> None:
    parts = {_part(path) for path in PACKAGE.rglob("*.py")}
    named = set(ALLOWED) | set(FORBIDDEN)
    named |= {target for targets in (*ALLOWED.values(), *FORBIDDEN.values()) for target in targets}
    assert named - parts == set()


@pytest.mark.parametrize("source", sorted(ALLOWED))
def test_a_bottom_layer_imports_only_what_it_may(source: str) -> None:
    wrong = [
        f"{where} imports pipfleet.{target}"
        for importer, target, where in _edges()
        if importer == source and target != "__init__" and target not in ALLOWED[source]
    ]
    assert wrong == []


@pytest.mark.parametrize("source", sorted(FORBIDDEN))
def test_an_upper_layer_does_not_import_back(source: str) -> None:
    wrong = [
        f"{where} imports pipfleet.{target}"
        for importer, target, where in _edges()
        if importer == source and target in FORBIDDEN[source]
    ]
    assert wrong == []
