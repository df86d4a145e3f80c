"""uv and Poetry projects and pip requirements files, beside Pipfiles or instead of them.

Most of a fleet stays on pipenv; some repositories have moved a service to uv or Poetry
(a few entirely), and many keep a requirements file for Docker images or CI. Each file
is compliant or offends the way such files do in an org: a private package without its
index, no private index at all, an index other packages may also come from, CodeArtifact
as pip's extra index beside PyPI.

They are drawn from a ``random.Random`` of their own, seeded from the fleet's seed, so the
Pipfiles, locks and metadata a seed gave before these files existed stay the same bytes.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass

from pipfleet.manifests import (
    PIPFILE_NAME,
    PYPROJECT_NAME,
    UV_LOCK,
    is_requirements,
    pyproject_kind,
    sibling,
)
from pipfleet.sandbox.makefleet.catalog import _Catalog
from pipfleet.sandbox.makefleet.names import _PRIVATE_RUNTIME, PUBLIC
from pipfleet.states import ManifestKind

UV_SHARE = 0.15  # of the repositories with Pipfiles: a uv project too
POETRY_SHARE = 0.10
REQUIREMENTS_SHARE = 0.20
MIGRATED_SHARE = 0.4  # of the repositories without a Pipfile: a uv or Poetry project
UV_LOCK_SHARE = 0.6
BROKEN_SHARE = 0.03  # uv and Poetry projects that are not valid TOML
_PYPI = "https://pypi.org/simple"
_INDEX = "codeartifact"
_TOKEN_USER = "aws:${CODEARTIFACT_AUTH_TOKEN}@"
_REQUIREMENTS_LAYOUTS = (
    ("requirements.txt",),
    ("requirements.txt", "requirements-dev.txt"),
    ("requirements/base.txt", "requirements/dev.txt"),
    ("requirements.txt", "constraints.txt"),
)
_DEV_TOOLS = {"pytest": "8.3.3", "ruff": "0.7.0", "mypy": "1.13.0"}  # name: latest version


@dataclass(frozen=True)
class _Dependency:
    name: str
    version: str  # the one a lock resolves; the specifier allows it
    private: bool


class _ManifestDraws:
    """Draws the uv, Poetry and requirements files of a repository."""

    manifest_rng: random.Random
    catalog: _Catalog
    tally: Counter[str]

    def _manifests(self, name: str, folders: list[str], bare: bool) -> dict[str, str]:
        """The files of repository ``name``: its Pipfiles are in ``folders`` (none if bare)."""
        rng = self.manifest_rng
        files: dict[str, str] = {}
        if bare:
            if rng.random() < MIGRATED_SHARE:
                uv = rng.random() < 0.6
                files.update(self._uv(name, ".") if uv else self._poetry(name, "."))
        else:
            uv, poetry = rng.random() < UV_SHARE, rng.random() < POETRY_SHARE
            places = rng.sample(folders + ["tools/migration"], 2)
            if uv:
                files.update(self._uv(name, places[0]))
            if poetry:
                files.update(self._poetry(name, places[1]))
        if rng.random() < REQUIREMENTS_SHARE:
            files.update(self._requirements(rng.choice(folders or ["."])))
        return files

    def _count_manifests(self, files: dict[str, str]) -> None:
        """Tally a repository's manifests as a scan will tell their kinds."""
        kinds: set[ManifestKind] = set()
        for path, text in files.items():
            name = path.rpartition("/")[2]
            if name == PIPFILE_NAME:
                kinds.add(ManifestKind.PIPFILE)
            elif name == PYPROJECT_NAME:
                kind = pyproject_kind(text, sibling(path, UV_LOCK) in files)
                if kind is not None:
                    kinds.add(kind)
                    self.tally[f"{kind.value}_projects"] += 1
            elif is_requirements(path):
                kinds.add(ManifestKind.REQUIREMENTS)
                self.tally["requirements_files"] += 1
        self.tally["several_kinds"] += len(kinds) > 1

    # -- dependencies --------------------------------------------------------

    def _dependencies(self, private: bool) -> list[_Dependency]:
        rng = self.manifest_rng
        public = [
            _Dependency(n, rng.choice(PUBLIC[n]), False)
            for n in rng.sample(sorted(PUBLIC), rng.randint(2, 5))
        ]
        if not private:
            return public
        chosen = rng.sample(_PRIVATE_RUNTIME[:12], rng.choice((1, 1, 2, 3)))
        return public + [_Dependency(n, rng.choice(self.catalog.internal[n]), True) for n in chosen]

    def _index_url(self) -> str:
        """CodeArtifact's URL as uv and Poetry take it: credentials come from the environment."""
        return self.catalog.url.replace(_TOKEN_USER, "")

    def _broken(self, text: str) -> str:
        """A merge left half done: the tables stay recognisable, the TOML does not parse."""
        if self.manifest_rng.random() >= BROKEN_SHARE:
            return text
        self.tally["malformed_manifests"] += 1
        return text.replace("\n\n", "\n<<<<<<< HEAD\n", 1)

    def _project(self) -> tuple[str, list[_Dependency], set[str]]:
        """A uv or Poetry project's profile, its dependencies and the private ones pinned.

        pinned: every private package pinned to an index kept for them; missing: all but the
        first; no-index: no private index at all; shared: all pinned to an index that other
        packages may come from too (uv's explicit = false, Poetry's supplemental).
        """
        rng = self.manifest_rng
        profile = rng.choices(("pinned", "missing", "no-index", "shared"), (50, 20, 15, 15))[0]
        dependencies = self._dependencies(private=rng.random() < 0.9)
        private = [d.name for d in dependencies if d.private]
        if profile in ("pinned", "shared"):
            return profile, dependencies, set(private)
        return profile, dependencies, set(private[1:]) if profile == "missing" else set()

    # -- uv --------------------------------------------------------------------

    def _uv(self, name: str, folder: str) -> dict[str, str]:
        rng = self.manifest_rng
        profile, dependencies, pinned = self._project()
        dev = [_Dependency(n, _DEV_TOOLS[n], False) for n in rng.sample(sorted(_DEV_TOOLS), 2)]
        lines = [
            "[project]",
            f'name = "{name}"',
            'version = "0.1.0"',
            'requires-python = ">=3.11"',
            "dependencies = [",
            *(f'    "{d.name}>={d.version}",' for d in dependencies),
            "]",
            "",
            "[dependency-groups]",
            f"dev = [{', '.join(json.dumps(f'{d.name}>={d.version}') for d in dev)}]",
        ]
        if profile != "no-index":
            lines += ["", "[[tool.uv.index]]", f'name = "{_INDEX}"', f'url = "{self._index_url()}"']
            if profile != "shared":
                lines.append("explicit = true")
        else:
            lines += ["", "[tool.uv]", "package = false"]
        if pinned:
            lines += ["", "[tool.uv.sources]"]
            lines += [f'{n} = {{ index = "{_INDEX}" }}' for n in sorted(pinned)]
        prefix = "" if folder == "." else f"{folder}/"
        files = {f"{prefix}pyproject.toml": self._broken("\n".join(lines) + "\n")}
        if rng.random() < UV_LOCK_SHARE:
            files[f"{prefix}uv.lock"] = self._uv_lock(name, dependencies, dev, pinned)
            self.tally["uv_locks"] += 1
        return files

    def _uv_lock(
        self, name: str, dependencies: list[_Dependency], dev: list[_Dependency], pinned: set[str]
    ) -> str:
        """uv.lock as uv writes it, hashes left out: where each package was resolved from."""
        lines = ["version = 1", "revision = 2", 'requires-python = ">=3.11"']
        for dependency in sorted(dependencies + dev, key=lambda d: d.name):
            registry = self._index_url() if dependency.name in pinned else _PYPI
            lines += [
                "",
                "[[package]]",
                f'name = "{dependency.name}"',
                f'version = "{dependency.version}"',
                f'source = {{ registry = "{registry}" }}',
            ]
        lines += [
            "",
            "[[package]]",
            f'name = "{name}"',
            'version = "0.1.0"',
            'source = { virtual = "." }',
            "dependencies = [",
            *(f'    {{ name = "{d.name}" }},' for d in sorted(dependencies, key=lambda d: d.name)),
            "]",
            "",
            "[package.dev-dependencies]",
            "dev = [",
            *(f'    {{ name = "{d.name}" }},' for d in sorted(dev, key=lambda d: d.name)),
            "]",
        ]
        return "\n".join(lines) + "\n"

    # -- Poetry ----------------------------------------------------------------

    def _poetry(self, name: str, folder: str) -> dict[str, str]:
        rng = self.manifest_rng
        profile, dependencies, pinned = self._project()
        lines = [
            "[tool.poetry]",
            f'name = "{name}"',
            'version = "0.1.0"',
            'description = ""',
            "",
            "[tool.poetry.dependencies]",
            'python = "^3.11"',
        ]
        for d in dependencies:
            if d.name in pinned:
                lines.append(f'{d.name} = {{ version = "^{d.version}", source = "{_INDEX}" }}')
            else:
                lines.append(f'{d.name} = "^{d.version}"')
        lines += ["", "[tool.poetry.group.dev.dependencies]"]
        lines += [f'{tool} = "^{_DEV_TOOLS[tool]}"' for tool in rng.sample(sorted(_DEV_TOOLS), 2)]
        if profile != "no-index":
            priority = "supplemental" if profile == "shared" else "explicit"
            lines += [
                "",
                "[[tool.poetry.source]]",
                f'name = "{_INDEX}"',
                f'url = "{self._index_url()}"',
                f'priority = "{priority}"',
            ]
        lines += ["", "[build-system]", 'requires = ["poetry-core"]']
        lines.append('build-backend = "poetry.core.masonry.api"')
        prefix = "" if folder == "." else f"{folder}/"
        return {f"{prefix}pyproject.toml": self._broken("\n".join(lines) + "\n")}

    # -- requirements files ----------------------------------------------------

    def _requirements(self, folder: str) -> dict[str, str]:
        rng = self.manifest_rng
        profile = rng.choices(("index-url", "extra-index-url", "public"), (45, 30, 25))[0]
        dependencies = self._dependencies(private=profile != "public")
        head = {
            "index-url": [f"--index-url {self.catalog.url}"],
            "extra-index-url": [f"--extra-index-url {self.catalog.url}"],
            "public": [],
        }[profile]
        main, *others = rng.choice(_REQUIREMENTS_LAYOUTS)
        prefix = "" if folder == "." else f"{folder}/"
        pins = [f"{d.name}=={d.version}" for d in dependencies]
        files = {}
        for other in others:
            if other == "constraints.txt":  # the public pins, which the main file names
                head = [*head, "-c constraints.txt"]
                public = [pin for pin, d in zip(pins, dependencies, strict=True) if not d.private]
                files[f"{prefix}{other}"] = "\n".join(public) + "\n"
            else:  # a dev file names the main one as pip reads it, from its own folder
                tools = [f"{t}=={_DEV_TOOLS[t]}" for t in rng.sample(sorted(_DEV_TOOLS), 2)]
                lines = [f"-r {main.rpartition('/')[2]}", *tools]
                files[f"{prefix}{other}"] = "\n".join(lines) + "\n"
        files[f"{prefix}{main}"] = "\n".join([*head, *pins]) + "\n"
        return files
