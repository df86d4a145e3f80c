"""Pipfiles: what one says, then its text as people and tools write it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pipfleet.sandbox.makefleet.entries import _Entry, _EntryDraws
from pipfleet.sandbox.makefleet.names import (
    _CUSTOM,
    _DEV,
    _MAIN,
    _PRIVATE_DEV,
    _PRIVATE_DOCS,
    _PRIVATE_RUNTIME,
)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ALT_SOURCE_NAMES = ("private", "orb-private", "aws", "internal")
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
class _Pipfile:
    categories: dict[str, list[_Entry]]
    sources: list[tuple[str, str, bool]]  # name, url, whether verify_ssl = true is written
    private_source: str | None
    requires: tuple[str, str] | None
    scripts: list[tuple[str, str]]
    allow_prereleases: bool | None
    top_comment: str | None
    style: _Style


class _PipfileDraws(_EntryDraws):
    """Draws what a Pipfile says and renders its text."""

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
