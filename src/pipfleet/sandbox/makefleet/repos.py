"""Repositories: the plan of names and metadata, and the files each one holds."""

from __future__ import annotations

import posixpath
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipfleet.sandbox.makefleet.locks import _LockWriter
from pipfleet.sandbox.makefleet.manifests import _ManifestDraws
from pipfleet.sandbox.makefleet.names import _MAIN, _PRIVATE_RUNTIME
from pipfleet.sandbox.makefleet.pipfiles import _PipfileDraws

PREFIX = "orb-"
IGNORE_TOPIC = "pipfleet-ignore"
_NOUNS = (
    "api", "auth", "billing", "catalog", "checkout", "search", "payments", "ledger", "orders",
    "inventory", "shipping", "pricing", "reports", "ingest", "events", "notify", "identity",
    "gateway", "scheduler", "profile", "media", "export", "import", "audit", "fraud", "risk",
    "crm", "warehouse", "geo", "routing", "feeds", "sync", "tenant", "admin", "support",
    "analytics", "ml", "forecast", "ranking", "tax",
)  # fmt: skip
_SUFFIXES = ("service", "api", "worker", "jobs", "lib", "cli", "etl", "web", "sdk", "bot")
_OUTSIDE_HEADS = (
    "web", "infra", "data", "ml", "tools", "docs", "platform", "sre", "legacy", "analytics",
    "mobile", "ops", "security", "qa",
)  # fmt: skip
_OUTSIDE_TAILS = (
    "portal", "terraform", "pipeline", "notebooks", "scripts", "site", "dashboards",
    "runbooks", "billing", "etl", "ansible", "k8s", "monitoring", "jobs", "sandbox",
)  # fmt: skip
_DESCRIPTIONS = (
    "Backend service.",
    "Shared library.",
    "Batch jobs and scheduled tasks.",
    "Internal tooling.",
    "Deprecated: kept for reference.",
    "Data pipeline.",
)
_TOPICS = ("python", "service", "library", "backend", "data", "team-payments", "team-platform")
_BARE_FILES = (
    ("setup.py", "from setuptools import setup\n\nsetup(name={name!r}, version='0.1.0')\n"),
    ("pyproject.toml", '[project]\nname = "{name}"\nversion = "0.1.0"\n'),
    ("requirements.txt", "requests==2.32.3\nboto3==1.35.36\n"),
    ("package.json", '{{\n  "name": "{name}",\n  "private": true\n}}\n'),
    ("main.tf", 'terraform {{\n  required_version = ">= 1.5"\n}}\n'),
)
_EXTRA_FILES = (
    ("Dockerfile", "FROM python:3.11-slim\nRUN pip install pipenv\nCOPY . /app\n"),
    (".gitignore", ".venv/\n__pycache__/\n*.pyc\n"),
    ("Makefile", "test:\n\tpipenv run pytest\n"),
    ("tests/test_smoke.py", "def test_imports():\n    assert True\n"),
)
_OPT_OUT = "# Moving to poetry this quarter: no pipfleet pull requests here.\nenabled = false\n"


@dataclass
class _Repo:
    name: str
    outside: bool
    bare: bool
    monorepo: bool
    malformed: bool
    meta: dict[str, Any] = field(default_factory=dict)
    opted_out: bool = False


def _quota(rng: random.Random, population: Sequence[int], count: int) -> set[int]:
    return set(rng.sample(population, min(count, len(population))))


class _RepoDraws(_PipfileDraws, _LockWriter, _ManifestDraws):
    """Draws the repositories and the files each one holds."""

    repos: int

    # -- repositories --------------------------------------------------------

    def _names(self, outside: set[int]) -> list[str]:
        rng = self.rng
        taken: set[str] = set()
        names = []
        for number in range(self.repos):
            if number in outside:
                base = f"{rng.choice(_OUTSIDE_HEADS)}-{rng.choice(_OUTSIDE_TAILS)}"
            elif rng.random() < 0.3:
                base = f"{PREFIX}{rng.choice(_NOUNS)}-{rng.choice(_SUFFIXES)}"
            else:
                base = PREFIX + "-".join(
                    (rng.choice(_NOUNS), rng.choice(_NOUNS), rng.choice(_SUFFIXES))
                )
            name, copy = base, 2
            while name in taken:
                name, copy = f"{base}-{copy}", copy + 1
            taken.add(name)
            names.append(name)
        return names

    def _plan(self) -> list[_Repo]:
        rng = self.rng
        everyone = range(self.repos)

        def share(fraction: float) -> int:
            return max(1, round(self.repos * fraction))

        outside = _quota(rng, everyone, share(0.10))
        bare = _quota(rng, everyone, share(0.10))
        with_pipfile = [n for n in everyone if n not in bare]
        monorepos = _quota(rng, with_pipfile, share(0.15))
        malformed = _quota(rng, with_pipfile, share(0.02))
        archived = _quota(rng, everyone, share(0.05))
        forks = _quota(rng, everyone, share(0.05))
        few = 1 if self.repos < 500 else 2
        disabled = _quota(rng, everyone, few)
        ignored = _quota(rng, with_pipfile, share(0.02))
        opted_out = _quota(rng, [n for n in with_pipfile if n not in outside], few)
        plan = []
        for number, name in enumerate(self._names(outside)):
            repo = _Repo(
                name,
                outside=number in outside,
                bare=number in bare,
                monorepo=number in monorepos,
                malformed=number in malformed,
                opted_out=number in opted_out,
            )
            branch = rng.choices(("main", "master", "trunk"), (80, 15, 5))[0]
            if branch != "main":
                repo.meta["default_branch"] = branch
            for flag, members in (
                ("archived", archived),
                ("fork", forks),
                ("disabled", disabled),
            ):
                if number in members:
                    repo.meta[flag] = True
            topics = sorted(rng.sample(_TOPICS, rng.randint(1, 3))) if rng.random() < 0.3 else []
            if number in ignored:
                topics.append(IGNORE_TOPIC)
            if topics:
                repo.meta["topics"] = topics
            visibility = rng.choices(("private", "internal", "public"), (85, 12, 3))[0]
            if visibility != "private":
                repo.meta["visibility"] = visibility
            plan.append(repo)
        return plan

    def _layout(self) -> list[tuple[str, str | None]]:
        """A monorepo's Pipfile folders, each with the library it holds, if any."""
        rng = self.rng
        folders: list[tuple[str, str | None]] = [(".", None)] if rng.random() < 0.5 else []
        libs = rng.sample(_PRIVATE_RUNTIME, 2)
        services = rng.sample(_NOUNS, 3)
        candidates: list[tuple[str, str | None]] = [
            (f"services/{services[0]}", None),
            (f"services/{services[1]}", None),
            (f"services/{services[2]}/worker", None),
            (f"libs/{libs[0]}", libs[0]),
            (f"libs/python/{libs[1]}", libs[1]),
            (f"jobs/{services[1]}", None),
            (f"apps/{services[2]}/backend", None),
            ("tools", None),
        ]
        nested = rng.sample(candidates, rng.randint(2, 4))
        return sorted(folders + nested, key=lambda item: item[1] is None)

    def _repository(self, repo: _Repo) -> dict[str, str]:
        rng = self.rng
        description = rng.choice(_DESCRIPTIONS)
        files = {"README.md": f"# {repo.name}\n\n{description}\n"}
        if repo.bare:
            path, template = rng.choice(_BARE_FILES)
            files[path] = template.format(name=repo.name)
            self.tally["without_pipfile"] += 1
            files.update(self._manifests(repo.name, [], bare=True))
            self._count_manifests(files)
            return files
        for path, text in rng.sample(_EXTRA_FILES, rng.randint(0, 2)):
            files[path] = text
        if repo.opted_out:
            files[".pipfleet.toml"] = _OPT_OUT
            self.tally["opted_out"] += 1
        folders = self._layout() if repo.monorepo else [(".", None)]
        if repo.monorepo:
            self.tally["monorepos"] += 1
        libs: list[tuple[str, str]] = []
        for number, (folder, own_lib) in enumerate(folders):
            siblings = [(name, posixpath.relpath(path, folder)) for name, path in libs]
            prefix = "" if folder == "." else f"{folder}/"
            broken = repo.malformed and number == 0
            text, lock = self._pipfile_files(repo.outside, siblings, own_lib, broken)
            files[f"{prefix}Pipfile"] = text
            if lock is not None:
                files[f"{prefix}Pipfile.lock"] = lock
            if own_lib is not None:
                libs.append((own_lib, folder))
        files.update(self._manifests(repo.name, [folder for folder, _ in folders], bare=False))
        self._count_manifests(files)
        return files

    def _pipfile_files(
        self, outside: bool, libs: list[tuple[str, str]], own_lib: str | None, broken: bool
    ) -> tuple[str, str | None]:
        rng = self.rng
        locked = not broken and rng.random() < 0.4
        pipfile = self._model(locked, outside, libs, own_lib)
        text = self._render(pipfile)
        packages = pipfile.categories["packages"]
        while len(text.splitlines()) < 10:  # hand-kept Pipfiles are seldom shorter
            (name,) = self._distinct(_MAIN, 1, {entry.name for entry in packages})
            pypi_source = any(source[0] == "pypi" for source in pipfile.sources)
            packages.insert(0, self._public(name, not locked, pypi_source))
            text = self._render(pipfile)
        self.tally["pipfiles"] += 1
        if broken:
            text = self._break(text)
            self.tally["malformed"] += 1
        else:
            self._count(pipfile)
        lock = self._lock(text, pipfile) if locked else None
        self.tally["lockfiles"] += lock is not None
        if rng.random() < 0.03:
            text = text.replace("\n", "\r\n")
        if rng.random() < 0.03:
            text = text.rstrip("\r\n")
        return text, lock
