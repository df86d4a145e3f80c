"""Write a synthetic fleet folder: many repositories, realistic Pipfiles, both package indexes.

The folder is what ``pipfleet.sandbox.fleet.load_fleet`` reads. It mixes what a
real org accumulates: compliant and non-compliant private entries, monorepos,
lock files, archived repositories and forks, repositories outside the ``orb-*``
prefix, opt-outs and a few broken Pipfiles.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, sets are
only ever used for membership, and no timestamp is written: a seed always gives
the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import random
import re
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pipfleet.engine.lockfile import HashScheme, dump_lock, pipfile_hash
from pipfleet.engine.rewrite import IMPLICIT_SOURCE
from pipfleet.errors import UsageError


@dataclass(frozen=True)
class FleetSummary:
    """What a generated fleet holds; entry counts cover the Pipfiles that parse."""

    repositories: int
    pipfiles: int
    lockfiles: int
    monorepos: int  # repositories with a Pipfile below the top folder
    archived: int
    forks: int
    disabled: int
    ignored: int  # topic pipfleet-ignore
    opted_out: int  # .pipfleet.toml with enabled = false
    without_pipfile: int
    outside_prefix: int  # repositories not named orb-*
    malformed: int  # Pipfiles that are not valid TOML
    missing_source: int  # Pipfiles with private registry entries and no private source
    private_entries: int  # private packages taken from an index (not git or path)
    compliant_entries: int
    noncompliant_entries: int
    version_not_found: int  # private ==pins of versions CodeArtifact does not have
    non_registry_entries: int  # git and path entries, private or public
    private_packages: int
    confusion_candidates: int  # private names that also exist on public PyPI


PREFIX = "orb-"
IGNORE_TOPIC = "pipfleet-ignore"
_DOMAIN_OWNER = "111122223333"
_REGION = "us-east-1"
_REPOSITORY = "private"
_ORG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

_LOCK_SECTION = {"packages": "default", "dev-packages": "develop"}

# Earlier names are used more, as a few core libraries always are.
PRIVATE_NAMES = (
    "orb-common", "orb-utils", "orb-auth", "orb-models", "orb-client", "orb-events",
    "orb-config", "orb-logging", "orb-metrics", "orb-db", "orb-http", "orb-cache",
    "orb-queue", "orb-storage", "orb-schemas", "orb-tracing", "orb-flags", "orb-secrets",
    "orb-billing", "orb-notify", "orb-search", "orb-geo", "orb-ml", "orb-pipelines",
    "orb-tasks", "orb-contracts", "orb-api-client", "orb-audit-log", "orb-cli",
    "orb-testing", "orb-lint", "orb-sphinx-theme",
)  # fmt: skip
_PRIVATE_DEV = ("orb-testing", "orb-lint")
_PRIVATE_DOCS = "orb-sphinx-theme"
_PRIVATE_RUNTIME = tuple(n for n in PRIVATE_NAMES if n not in _PRIVATE_DEV and n != _PRIVATE_DOCS)
_PRIVATE_EXTRAS = ("kafka", "aws", "async", "cli")
_ALT_SOURCE_NAMES = ("private", "orb-private", "aws", "internal")

# name version... : what public PyPI offers, oldest first.
_PUBLIC_TABLE = """
requests 2.28.2 2.31.0 2.32.3
flask 2.2.5 2.3.3 3.0.3
django 3.2.25 4.2.16 5.0.9 5.1.2
boto3 1.28.85 1.34.162 1.35.36
botocore 1.31.85 1.34.162 1.35.36
pandas 1.5.3 2.0.3 2.2.3
numpy 1.24.4 1.26.4 2.1.2
sqlalchemy 1.4.54 2.0.35
celery 5.2.7 5.3.6 5.4.0
redis 4.6.0 5.0.8 5.1.1
pydantic 1.10.18 2.8.2 2.9.2
pydantic-core 2.20.1 2.23.4
fastapi 0.103.2 0.110.3 0.115.2
uvicorn 0.23.2 0.30.6 0.31.1
gunicorn 21.2.0 22.0.0 23.0.0
httpx 0.24.1 0.27.2
click 8.1.3 8.1.7
pyyaml 6.0.1 6.0.2
jinja2 3.1.2 3.1.4
psycopg2-binary 2.9.6 2.9.9
sentry-sdk 1.45.1 2.16.0
structlog 23.3.0 24.4.0
attrs 23.2.0 24.2.0
marshmallow 3.20.2 3.22.0
alembic 1.12.1 1.13.3
python-dateutil 2.8.2 2.9.0
pytz 2023.4 2024.2
orjson 3.9.15 3.10.7
tenacity 8.5.0 9.0.0
cryptography 42.0.8 43.0.1
pyjwt 2.8.0 2.9.0
kafka-python 2.0.2
prometheus-client 0.20.0 0.21.0
certifi 2024.7.4 2024.8.30
charset-normalizer 3.3.2 3.4.0
idna 3.7 3.10
urllib3 1.26.20 2.2.3
werkzeug 2.3.8 3.0.4
itsdangerous 2.1.2 2.2.0
blinker 1.7.0 1.8.2
markupsafe 2.1.5 3.0.1
asgiref 3.7.2 3.8.1
sqlparse 0.4.4 0.5.1
jmespath 1.0.1
s3transfer 0.7.0 0.10.3
tzdata 2024.1 2024.2
kombu 5.3.7 5.4.2
billiard 4.2.0 4.2.1
vine 5.1.0
starlette 0.27.0 0.38.6
typing-extensions 4.9.0 4.12.2
annotated-types 0.6.0 0.7.0
anyio 3.7.1 4.6.0
httpcore 0.17.3 1.0.6
sniffio 1.3.1
h11 0.14.0
greenlet 3.0.3 3.1.1
mako 1.3.5
pytest 7.4.4 8.2.2 8.3.3
iniconfig 2.0.0
packaging 23.2 24.1
pluggy 1.5.0
black 23.12.1 24.8.0 24.10.0
mypy-extensions 1.0.0
pathspec 0.12.1
platformdirs 4.2.2 4.3.6
ruff 0.5.7 0.6.9
mypy 1.10.1 1.11.2 1.12.0
pytest-cov 4.1.0 5.0.0
coverage 7.5.4 7.6.1
flake8 6.1.0 7.1.1
isort 5.12.0 5.13.2
freezegun 1.4.0 1.5.1
factory-boy 3.3.0 3.3.1
moto 4.2.14 5.0.16
responses 0.24.1 0.25.3
pre-commit 3.5.0 3.8.0 4.0.1
ipython 8.18.1 8.28.0
pytest-mock 3.12.0 3.14.0
types-requests 2.31.0.20240406 2.32.0.20240914
sphinx 7.2.6 7.4.7 8.1.3
sphinx-rtd-theme 1.3.0 2.0.0 3.0.1
mkdocs 1.5.3 1.6.1
mkdocs-material 9.5.3 9.5.40
myst-parser 2.0.0 4.0.0
pytest-xdist 3.5.0 3.6.1
hypothesis 6.100.1 6.115.0
tox 4.11.4 4.21.2
pytest-asyncio 0.21.2 0.24.0
docutils 0.20.1 0.21.2
pygments 2.17.2 2.18.0
"""
PUBLIC: dict[str, tuple[str, ...]] = {
    name: tuple(versions)
    for name, *versions in (line.split() for line in _PUBLIC_TABLE.strip().splitlines())
}
_MAIN = (
    "requests", "flask", "django", "boto3", "pandas", "numpy", "sqlalchemy", "celery",
    "redis", "pydantic", "fastapi", "uvicorn", "gunicorn", "httpx", "click", "pyyaml",
    "jinja2", "psycopg2-binary", "sentry-sdk", "structlog", "attrs", "marshmallow",
    "alembic", "python-dateutil", "pytz", "orjson", "tenacity", "cryptography", "pyjwt",
    "kafka-python", "prometheus-client",
)  # fmt: skip
_DEV = (
    "pytest", "black", "ruff", "mypy", "pytest-cov", "coverage", "flake8", "isort",
    "freezegun", "factory-boy", "moto", "responses", "pre-commit", "ipython", "pytest-mock",
    "types-requests",
)  # fmt: skip
_CUSTOM = {
    "docs": ("sphinx", "sphinx-rtd-theme", "mkdocs", "mkdocs-material", "myst-parser"),
    "tests": ("pytest", "pytest-xdist", "hypothesis", "tox", "pytest-asyncio", "coverage"),
    "lint": ("ruff", "black", "mypy", "flake8", "isort"),
}
# How people write some names; pipenv's lock hash only agrees with plette's for
# canonical keys, so these spellings stay out of Pipfiles that have a lock.
_SPELLING = {
    "django": "Django", "flask": "Flask", "pyyaml": "PyYAML", "sqlalchemy": "SQLAlchemy",
    "jinja2": "Jinja2", "pyjwt": "PyJWT", "psycopg2-binary": "psycopg2_binary",
    "python-dateutil": "python_dateutil", "sphinx": "Sphinx",
}  # fmt: skip
_PUBLIC_EXTRAS = {"requests": "socks", "celery": "redis", "uvicorn": "standard", "moto": "s3"}
_DEPENDS = {
    "requests": ("certifi", "charset-normalizer", "idna", "urllib3"),
    "flask": ("werkzeug", "jinja2", "itsdangerous", "click", "blinker"),
    "django": ("asgiref", "sqlparse"),
    "boto3": ("botocore", "jmespath", "s3transfer"),
    "botocore": ("jmespath", "python-dateutil", "urllib3"),
    "pandas": ("numpy", "python-dateutil", "pytz", "tzdata"),
    "celery": ("kombu", "billiard", "vine", "click"),
    "fastapi": ("starlette", "pydantic", "typing-extensions"),
    "pydantic": ("pydantic-core", "annotated-types", "typing-extensions"),
    "httpx": ("anyio", "certifi", "httpcore", "idna", "sniffio"),
    "uvicorn": ("click", "h11"),
    "sqlalchemy": ("greenlet", "typing-extensions"),
    "alembic": ("mako", "sqlalchemy"),
    "jinja2": ("markupsafe",),
    "werkzeug": ("markupsafe",),
    "pytest": ("iniconfig", "packaging", "pluggy"),
    "black": ("click", "mypy-extensions", "packaging", "pathspec", "platformdirs"),
    "mypy": ("mypy-extensions", "typing-extensions"),
    "sphinx": ("docutils", "jinja2", "pygments", "packaging"),
    "pytest-cov": ("coverage", "pytest"),
}
_LOCK_MARKERS = {
    "greenlet": "platform_machine == 'aarch64' or platform_machine == 'x86_64'",
    "typing-extensions": "python_version >= '3.8'",
    "tzdata": "python_version >= '2'",
    "urllib3": "python_version >= '3.8'",
}
_MARKERS = (
    "sys_platform == 'linux'",
    "python_version < '3.12'",
    "platform_machine == 'x86_64'",
    "sys_platform != 'win32'",
)
_SCRIPTS = (
    ("test", "pytest -q"),
    ("lint", "ruff check ."),
    ("serve", "uvicorn app.main:app --reload"),
    ("migrate", "alembic upgrade head"),
    ("docs", "sphinx-build docs docs/_build"),
    ("fmt", "black ."),
)
_PYTHONS = ("3.8", "3.9", "3.10", "3.11", "3.11", "3.12", "3.12")
_TOP_COMMENTS = (
    "# Run `pipenv lock` after editing and commit Pipfile.lock.",
    "# Managed by the platform team; ask in #python before adding dependencies.",
    "# Private packages come from CodeArtifact (see docs/codeartifact.md).",
)
_PRIVATE_COMMENTS = (
    "# internal packages",
    "# --- private (CodeArtifact) ---",
    "# orb libraries",
    "# Internal",
)
_TRAILING_COMMENTS = (
    "# pinned, see INC-1432",
    "# bump after the 2.x migration",
    "# keep in sync with the worker",
    "# CVE-2024-35195",
    "# do not upgrade yet",
)

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
_HEADER = "# Generated by pipfleet sandbox make-fleet (seed {seed})."


def _codeartifact_url(domain: str) -> str:
    """The private index URL as Pipfiles write it, token left to the environment."""
    return (
        f"https://aws:${{CODEARTIFACT_AUTH_TOKEN}}@{domain}-{_DOMAIN_OWNER}.d.codeartifact."
        f"{_REGION}.amazonaws.com/pypi/{_REPOSITORY}/simple/"
    )


def _key_of(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class _Catalog:
    internal: dict[str, list[str]]
    external: dict[str, list[str]]
    origin: dict[str, str]  # name -> upstream setting that differs from the default
    pypi: dict[str, list[str]]
    url: str


@dataclass(frozen=True)
class _Style:
    """How one Pipfile is written: people and tools each have their habits."""

    eq: str
    quote: str
    inline_eq: str
    inline_sep: str
    brace_pad: str
    quote_keys: bool
    align: bool
    sort: bool
    comments: bool
    blank_after_header: bool
    gap: int  # blank lines between sections


@dataclass
class _Entry:
    key: str  # as written, extras included
    name: str  # canonical
    pairs: list[tuple[str, object]]  # table members; empty for the string form
    spec: str | None  # the version specifier, when there is one
    form: str  # "string", "inline" or "table"
    private: bool
    locked: str | None = None  # the version a lock resolves; None off an index
    comment: str = ""

    def get(self, key: str) -> object:
        return next((value for k, value in self.pairs if k == key), None)

    @property
    def registry(self) -> bool:
        return self.get("git") is None and self.get("path") is None


@dataclass
class _Pipfile:
    categories: dict[str, list[_Entry]]
    sources: list[tuple[str, str, bool]]  # name, url, whether verify_ssl = true is written
    private_source: str | None
    requires: tuple[str, str] | None
    scripts: list[tuple[str, str]]
    allow_prereleases: bool | None
    top_comment: str | None
    style: _Style


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


class _Generator:
    def __init__(self, out: Path, repos: int, seed: int, org: str) -> None:
        self.rng = random.Random(seed)
        self.root = out
        self.org = org
        self.repos = repos
        self.seed = seed
        self.tally: Counter[str] = Counter()
        self.folders: set[str] = set()
        self.catalog = self._catalog()

    # -- packages ------------------------------------------------------------

    def _catalog(self) -> _Catalog:
        rng = self.rng
        internal: dict[str, list[str]] = {}
        for name in PRIVATE_NAMES:
            major, minor, patch = rng.randint(0, 3), rng.randint(1, 5), 0
            versions = []
            for _ in range(rng.randint(2, 6)):
                versions.append(f"{major}.{minor}.{patch}")
                step = rng.random()
                if step < 0.5:
                    patch += 1
                elif step < 0.85:
                    minor, patch = minor + 1, 0
                else:
                    major, minor, patch = major + 1, 0, 0
            internal[name] = versions
        confusion = sorted(rng.sample(PRIVATE_NAMES, 5))
        pypi = {name: list(versions) for name, versions in PUBLIC.items()}
        for name in confusion:
            # An attacker's squat outbids every real version; an old name clash does not.
            pypi[name] = ["99.0.0"] if rng.random() < 0.6 else ["0.0.1", "0.0.2"]
        mixed = confusion[: rng.randint(1, 2)]
        external = {name: pypi[name][-1:] for name in mixed}
        for name in sorted(rng.sample(sorted(PUBLIC), 12)):
            cached = rng.sample(PUBLIC[name], 1 + (len(PUBLIC[name]) > 2))
            external[name] = sorted(cached, key=_key_of)
        drift = [mixed[0], *rng.sample([n for n in PRIVATE_NAMES if n not in mixed], 1)]
        origin = {name: "ALLOW" for name in drift[: rng.randint(1, 2)]}
        self.tally["private_packages"] = len(internal)
        self.tally["confusion_candidates"] = len(confusion)
        return _Catalog(internal, external, origin, pypi, _codeartifact_url(self.org.lower()))

    def _spec(self, versions: Sequence[str]) -> tuple[str, str]:
        """A specifier over ``versions`` and the version a lock would resolve for it."""
        rng = self.rng
        latest = versions[-1]
        pick = rng.choice(versions)
        kind = rng.random()
        if kind < 0.35:
            return f"=={pick}", pick
        if kind < 0.55:
            return "*", latest
        if kind < 0.7:
            return f">={pick}", latest
        major = pick.split(".")[0]
        same_major = [v for v in versions if v.split(".")[0] == major]
        if kind < 0.88:
            best = max((v for v in same_major if _key_of(v) >= _key_of(pick)), key=_key_of)
            sep = ", " if rng.random() < 0.15 else ","
            return f">={pick}{sep}<{int(major) + 1}", best
        floor = ".".join(pick.split(".")[:2])
        best = max((v for v in same_major if _key_of(v) >= _key_of(floor)), key=_key_of)
        return f"~={floor}", best

    def _distinct(self, pool: Sequence[str], count: int, taken: set[str]) -> list[str]:
        """``count`` names not yet taken, earlier names of ``pool`` favoured."""
        rng = self.rng
        names: list[str] = []
        free = [name for name in pool if name not in taken]
        while free and len(names) < count:
            name = free[min(int(rng.expovariate(1 / 6)), len(free) - 1)]
            free.remove(name)
            names.append(name)
            taken.add(name)
        return names

    # -- entries -------------------------------------------------------------

    def _order(self, pairs: list[tuple[str, object]]) -> list[tuple[str, object]]:
        if self.rng.random() < 0.35:
            self.rng.shuffle(pairs)
        return pairs

    def _public(self, name: str, may_respell: bool, pypi_source: bool) -> _Entry:
        rng = self.rng
        spec, locked = self._spec(PUBLIC[name])
        key = name
        if may_respell and name in _SPELLING and rng.random() < 0.5:
            key = _SPELLING[name]
        if name in _PUBLIC_EXTRAS and rng.random() < 0.15:
            key = f"{key}[{_PUBLIC_EXTRAS[name]}]"
        pairs: list[tuple[str, object]] = [("version", spec)]
        if rng.random() < 0.05:
            pairs.append(("markers", rng.choice(_MARKERS)))
        if pypi_source and rng.random() < 0.04:
            pairs.append(("index", "pypi"))
        inline = len(pairs) > 1 or rng.random() < 0.08
        pairs = self._order(pairs) if inline else []
        entry = _Entry(key, name, pairs, spec, "inline" if inline else "string", False, locked)
        if rng.random() < 0.04:
            entry.comment = rng.choice(_TRAILING_COMMENTS)
        return entry

    def _private(self, name: str, status: str, target: str, may_vary: bool) -> _Entry:
        """A private entry; status is pinned (index = target), missing or wrong (pypi)."""
        rng = self.rng
        versions = self.catalog.internal[name]
        spec, locked = self._spec(versions)
        if may_vary and spec.startswith("==") and rng.random() < 0.06:
            major, minor = _key_of(versions[-1])[:2]
            spec = f"=={major}.{minor + 1}.0"  # bumped before the release was published
        key = name.replace("-", "_") if may_vary and rng.random() < 0.08 else name
        pairs: list[tuple[str, object]] = [("version", spec)]
        if rng.random() < 0.08:
            extra = rng.choice(_PRIVATE_EXTRAS)
            if rng.random() < 0.5:
                key = f"{key}[{extra}]"
            else:
                pairs.append(("extras", [extra]))
        if rng.random() < 0.04:
            pairs.append(("markers", rng.choice(_MARKERS)))
        if status != "missing":
            pairs.append(("index", target if status == "pinned" else "pypi"))
        if len(pairs) == 1 and rng.random() < 0.7:
            form, pairs = "string", []
        else:
            form = "table" if rng.random() < 0.12 else "inline"
            pairs = self._order(pairs)
        entry = _Entry(key, name, pairs, spec, form, True, locked)
        if rng.random() < 0.06:
            entry.comment = rng.choice(_TRAILING_COMMENTS)
        return entry

    def _git(self, name: str) -> _Entry:
        rng = self.rng
        if rng.random() < 0.5:
            url = f"https://github.com/{self.org}/{name}.git"
        else:
            url = f"git+ssh://git@github.com/{self.org}/{name}.git"
        ref = rng.choice(("main", f"v{self.catalog.internal[name][-1]}", "release-2024.10"))
        pairs: list[tuple[str, object]] = [("git", url), ("ref", ref)]
        if rng.random() < 0.3:
            pairs.append(("editable", True))
        return _Entry(name, name, pairs, None, "inline", True)

    @staticmethod
    def _path(name: str, path: str) -> _Entry:
        return _Entry(name, name, [("path", path), ("editable", True)], None, "inline", True)

    # -- Pipfiles ------------------------------------------------------------

    def _style(self) -> _Style:
        rng = self.rng
        tight = rng.random() < 0.12
        return _Style(
            eq="=" if tight else ("  =  " if rng.random() < 0.03 else " = "),
            quote="'" if rng.random() < 0.1 else '"',
            inline_eq="=" if tight or rng.random() < 0.1 else " = ",
            inline_sep="," if tight else ", ",
            brace_pad=" " if rng.random() < 0.3 else "",
            quote_keys=rng.random() < 0.05,
            align=not tight and rng.random() < 0.1,
            sort=rng.random() < 0.4,
            comments=rng.random() < 0.45,
            blank_after_header=rng.random() < 0.06,
            gap=rng.choices((1, 2, 0), (90, 7, 3))[0],
        )

    def _model(
        self, locked: bool, outside: bool, libs: list[tuple[str, str]], own_lib: str | None
    ) -> _Pipfile:
        """What one Pipfile says. ``libs`` are (name, relative path) of sibling libraries."""
        rng = self.rng
        may_vary = not locked  # respellings and unpublished pins would break a lock's hash
        has_private = rng.random() < (0.6 if outside else 0.9)
        draw = rng.random()
        if has_private and draw < 0.07:
            private_source = None
        elif has_private and draw < 0.12:
            private_source = rng.choice(_ALT_SOURCE_NAMES)
        elif has_private or draw < 0.15:
            private_source = "codeartifact"
        else:
            private_source = None
        sources: list[tuple[str, str, bool]] = []
        if rng.random() < (0.95 if private_source else 0.8):
            url = (
                "https://pypi.org/simple"
                if rng.random() < 0.85
                else "https://pypi.python.org/simple"
            )
            sources.append(("pypi", url, rng.random() < 0.9))
        if private_source:
            private = (private_source, self.catalog.url, True)
            sources.insert(0 if rng.random() < 0.25 else len(sources), private)
        pypi_source = any(source[0] == "pypi" for source in sources)

        profile = rng.choices(("clean", "mixed", "legacy"), (35, 40, 25))[0]
        target = private_source or "codeartifact"

        def status() -> str:
            if profile == "clean" or (private_source is None and rng.random() < 0.15):
                return "pinned"
            if profile == "legacy" or private_source is None:
                return "missing"
            chosen = rng.choice(("pinned", "pinned", "missing", "wrong"))
            return "missing" if chosen == "wrong" and not pypi_source else chosen

        taken: set[str] = set()
        packages = [
            self._public(name, may_vary, pypi_source)
            for name in self._distinct(_MAIN, rng.randint(3 if sources else 4, 9), taken)
        ]
        if own_lib is not None and rng.random() < 0.5:
            taken.add(own_lib)
            packages.append(self._path(own_lib, "."))
        for name, path in libs:
            if name not in taken and rng.random() < 0.6:
                taken.add(name)
                packages.append(self._path(name, path))
        if has_private:
            count = rng.choices((1, 2, 3, 4), (30, 35, 20, 15))[0]
            for name in self._distinct(_PRIVATE_RUNTIME, count, taken):
                packages.append(self._private(name, status(), target, may_vary))
            if rng.random() < 0.08:
                packages.extend(self._git(n) for n in self._distinct(_PRIVATE_RUNTIME, 1, taken))
        categories = {"packages": packages}

        if rng.random() < 0.7 or not sources:
            taken = set()
            dev = [
                self._public(name, may_vary, pypi_source)
                for name in self._distinct(_DEV, rng.randint(2, 6), taken)
            ]
            if has_private and rng.random() < 0.3:
                dev.append(self._private(rng.choice(_PRIVATE_DEV), status(), target, may_vary))
            categories["dev-packages"] = dev
        if rng.random() < 0.15:
            custom = rng.choice(sorted(_CUSTOM))
            taken = set()
            entries = [
                self._public(name, may_vary, pypi_source)
                for name in self._distinct(_CUSTOM[custom], rng.randint(2, 4), taken)
            ]
            if custom == "docs" and has_private and rng.random() < 0.5:
                entries.append(self._private(_PRIVATE_DOCS, status(), target, may_vary))
            categories[custom] = entries

        requires = None
        if rng.random() < 0.9:
            python = rng.choice(_PYTHONS)
            requires = ("python_version", python)
            if rng.random() < 0.05:
                requires = ("python_full_version", f"{python}.{rng.randint(1, 9)}")
        scripts = sorted(rng.sample(_SCRIPTS, rng.randint(1, 3))) if rng.random() < 0.25 else []
        allow = rng.random() < 0.3 if rng.random() < 0.1 else None
        top = rng.choice(_TOP_COMMENTS) if rng.random() < 0.12 else None
        return _Pipfile(
            categories, sources, private_source, requires, scripts, allow, top, self._style()
        )

    def _count(self, pipfile: _Pipfile) -> None:
        """Tally what the audit will find in a Pipfile that parses."""
        private = 0
        for entries in pipfile.categories.values():
            for entry in entries:
                if not entry.registry:
                    self.tally["non_registry_entries"] += 1
                    continue
                if not entry.private:
                    continue
                private += 1
                compliant = pipfile.private_source is not None and (
                    entry.get("index") == pipfile.private_source
                )
                self.tally["compliant_entries" if compliant else "noncompliant_entries"] += 1
                pin = entry.spec[2:] if entry.spec and entry.spec.startswith("==") else None
                if pin and pin not in self.catalog.internal[entry.name]:
                    self.tally["version_not_found"] += 1
        self.tally["private_entries"] += private
        if private and pipfile.private_source is None:
            self.tally["missing_source"] += 1

    # -- rendering -----------------------------------------------------------

    @staticmethod
    def _string(value: str, style: _Style) -> str:
        if style.quote == "'" and "'" not in value:
            return f"'{value}'"
        return json.dumps(value)  # a TOML basic string, for the ASCII text written here

    def _value(self, value: object, style: _Style) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "[" + ", ".join(self._string(str(item), style) for item in value) + "]"
        return self._string(str(value), style)

    def _key(self, key: str, style: _Style) -> str:
        if _BARE_KEY.fullmatch(key) and not style.quote_keys:
            return key
        return json.dumps(key)

    def _render(self, pipfile: _Pipfile) -> str:
        rng = self.rng
        style = pipfile.style
        blocks: list[list[str]] = []
        for name, url, verify in pipfile.sources:
            members = [("name", name), ("url", url)]
            if verify:
                members.append(("verify_ssl", "true"))
            if rng.random() < 0.4:
                members = [*members[1:], members[0]]
            lines = ["[[source]]"]
            for key, value in members:
                text = value if key == "verify_ssl" else self._string(value, style)
                lines.append(f"{key}{style.eq}{text}")
            blocks.append(lines)
        requires: list[list[str]] = []
        if pipfile.requires:
            key, version = pipfile.requires
            requires.append(["[requires]", f"{key}{style.eq}{self._string(version, style)}"])
        early_requires = rng.random() < 0.1
        if early_requires:
            blocks.extend(requires)
        order = list(pipfile.categories)
        if "dev-packages" in order and rng.random() < 0.12:
            order.remove("dev-packages")
            order.insert(0, "dev-packages")
        for category in order:
            blocks.extend(self._category(category, pipfile.categories[category], style))
        if not early_requires:
            blocks.extend(requires)
        if pipfile.scripts:
            blocks.append(
                ["[scripts]"]
                + [f"{k}{style.eq}{self._string(v, style)}" for k, v in pipfile.scripts]
            )
        if pipfile.allow_prereleases is not None:
            flag = "true" if pipfile.allow_prereleases else "false"
            blocks.append(["[pipenv]", f"allow_prereleases{style.eq}{flag}"])
        lines = [pipfile.top_comment, ""] if pipfile.top_comment else []
        for number, block in enumerate(blocks):
            if number:
                lines.extend([""] * style.gap)
            lines.extend(block)
        return "\n".join(lines) + "\n"

    def _category(self, category: str, entries: list[_Entry], style: _Style) -> list[list[str]]:
        """The [category] block, then one block per [category.name] table."""
        rng = self.rng
        if style.sort:
            entries = sorted(entries, key=lambda e: e.key.lower())
        else:
            entries = [e for e in entries if not e.private] + [e for e in entries if e.private]
        inline = [e for e in entries if e.form != "table"]
        width = max((len(self._key(e.key, style)) for e in inline), default=0)
        lines = [f"[{category}]"] + ([""] if style.blank_after_header else [])
        announced = False
        for entry in inline:
            if entry.private and style.comments and not style.sort and not announced:
                lines.append(rng.choice(_PRIVATE_COMMENTS))
                announced = True
            key = self._key(entry.key, style)
            if style.align:
                key = key.ljust(width)
            eq = style.eq if rng.random() < 0.94 else rng.choice((" = ", "="))
            if entry.form == "string":
                value = self._string(entry.spec or "*", style)
            else:
                body = style.inline_sep.join(
                    f"{k}{style.inline_eq}{self._value(v, style)}" for k, v in entry.pairs
                )
                value = "{" + style.brace_pad + body + style.brace_pad + "}"
            comment = f"  {entry.comment}" if entry.comment else ""
            lines.append(f"{key}{eq}{value}{comment}")
        blocks = [lines]
        for entry in entries:
            if entry.form == "table":
                header = f"[{category}.{self._key(entry.key, style)}]"
                members = [f"{k}{style.eq}{self._value(v, style)}" for k, v in entry.pairs]
                blocks.append([header, *members])
        return blocks

    def _break(self, text: str) -> str:
        """The text made invalid the ways Pipfiles really break."""
        rng = self.rng
        lines = text.split("\n")
        start = lines.index("[packages]") + 1
        at = next(i for i in range(start, len(lines)) if lines[i] and lines[i][0] not in "#[")
        kind = rng.choice(("duplicate", "junk", "conflict", "table"))
        if kind == "duplicate":
            lines.insert(at + 1, lines[at].split("=", 1)[0].rstrip() + ' = "*"')
        elif kind == "junk":
            lines.insert(at + 1, "pip install -r requirements.txt")
        elif kind == "conflict":
            ours = lines[at]
            lines[at : at + 1] = ["<<<<<<< HEAD", ours, "=======", ours, ">>>>>>> bump-deps"]
        else:
            lines[-1:] = ["", "[packages]", 'requests = "*"', ""]
        return "\n".join(lines)

    def _lock(self, text: str, pipfile: _Pipfile) -> str:
        data = tomllib.loads(text)
        sources = [dict(source) for source in data.get("source", [IMPLICIT_SOURCE])]
        for source in sources:
            source.setdefault("verify_ssl", "https://" in source["url"])
        default_index = pipfile.sources[0][0] if pipfile.sources else "pypi"
        private_index = pipfile.private_source or default_index
        lock: dict[str, Any] = {
            "_meta": {
                "hash": {"sha256": pipfile_hash(data, HashScheme.LEGACY)},
                "pipfile-spec": 6,
                "requires": data.get("requires", {}),
                "sources": sources,
            },
            "default": {},
            "develop": {},
        }
        for category, entries in pipfile.categories.items():
            section: dict[str, Any] = lock.setdefault(_LOCK_SECTION.get(category, category), {})
            pending: list[str] = []
            for entry in entries:
                section[entry.name] = self._locked(entry, default_index)
                pending.extend(_DEPENDS.get(entry.name, ()))
                if entry.private and entry.name != "orb-common":
                    pending.append("orb-common")
            while pending:
                name = pending.pop()
                if name in section:
                    continue
                private = name in self.catalog.internal
                versions = self.catalog.internal[name] if private else PUBLIC[name]
                section[name] = {
                    "hashes": _hashes(name, versions[-1]),
                    "index": private_index if private else default_index,
                    "version": f"=={versions[-1]}",
                }
                if name in _LOCK_MARKERS:
                    section[name]["markers"] = _LOCK_MARKERS[name]
                pending.extend(_DEPENDS.get(name, ()))
        return dump_lock(lock)

    @staticmethod
    def _locked(entry: _Entry, default_index: str) -> dict[str, Any]:
        git = entry.get("git")
        if isinstance(git, str):
            return {
                "git": git,
                "ref": hashlib.sha1(f"{git}@{entry.get('ref')}".encode()).hexdigest(),
            }
        if entry.get("path") is not None:
            return {"editable": True, "path": entry.get("path")}
        assert entry.locked is not None
        index = entry.get("index")
        locked: dict[str, Any] = {
            "hashes": _hashes(entry.name, entry.locked),
            "index": index if isinstance(index, str) else default_index,
            "version": f"=={entry.locked}",
        }
        extras = entry.get("extras")
        if "[" in entry.key:
            extras = [entry.key.split("[", 1)[1].rstrip("]")]
        if extras:
            locked["extras"] = extras
        if entry.get("markers"):
            locked["markers"] = entry.get("markers")
        return locked

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

    # -- output --------------------------------------------------------------

    def _write(self, relative: str, text: str) -> None:
        path = os.path.join(self.root, relative)
        folder = os.path.dirname(path)
        if folder not in self.folders:
            os.makedirs(folder, exist_ok=True)
            self.folders.add(folder)
        with open(path, "wb") as stream:
            stream.write(text.encode("utf-8"))

    def run(self) -> FleetSummary:
        for repo in self._plan():
            base = f"github/{self.org}/{repo.name}"
            for path, text in self._repository(repo).items():
                self._write(f"{base}/{path}", text)
            if repo.meta:
                self._write(f"{base}.json", json.dumps(repo.meta, indent=2, sort_keys=True) + "\n")
            self.tally["repositories"] += 1
            self.tally["outside_prefix"] += repo.outside
            self.tally["archived"] += bool(repo.meta.get("archived"))
            self.tally["forks"] += bool(repo.meta.get("fork"))
            self.tally["disabled"] += bool(repo.meta.get("disabled"))
            self.tally["ignored"] += IGNORE_TOPIC in repo.meta.get("topics", ())
        self._write("codeartifact.toml", self._codeartifact_toml())
        pypi = [_HEADER.format(seed=self.seed), *_toml_table("packages", self.catalog.pypi)]
        self._write("pypi.toml", "\n".join(pypi) + "\n")
        return FleetSummary(**{f.name: self.tally[f.name] for f in fields(FleetSummary)})

    def _codeartifact_toml(self) -> str:
        catalog = self.catalog
        lines = [
            _HEADER.format(seed=self.seed),
            f'domain = "{self.org.lower()}"',
            f'domain_owner = "{_DOMAIN_OWNER}"',
            f'region = "{_REGION}"',
            f'repository = "{_REPOSITORY}"',
            *_toml_table("internal", catalog.internal),
            *_toml_table("external", catalog.external),
            "",
            "[origin]",
            *(f'{name} = {{upstream = "{value}"}}' for name, value in catalog.origin.items()),
        ]
        return "\n".join(lines) + "\n"


def _hashes(name: str, version: str) -> list[str]:
    """Stand-ins for the sha256 of a release's wheel and sdist, stable per release."""
    return sorted(
        "sha256:" + hashlib.sha256(f"{name}-{version}{kind}".encode()).hexdigest()
        for kind in (".tar.gz", "-py3-none-any.whl")
    )


def _toml_table(table: str, packages: dict[str, list[str]]) -> list[str]:
    lines = ["", f"[{table}]"]
    for name in sorted(packages):
        lines.append(f"{name} = [{', '.join(json.dumps(v) for v in packages[name])}]")
    return lines


def make_fleet(out: Path, repos: int, seed: int = 0, org: str = "acme") -> FleetSummary:
    """Write a synthetic fleet of ``repos`` repositories into ``out`` (absent or empty)."""
    if repos < 1:
        raise UsageError("--repos must be at least 1")
    if not _ORG_NAME.fullmatch(org):
        raise UsageError(f"{org!r} is not a GitHub organisation name")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: exists and is not an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    return _Generator(out, repos, seed, org).run()
