"""Pipfile entries: one package each, public or private, from an index, git or a path."""

from __future__ import annotations

from dataclasses import dataclass

from pipfleet.sandbox.makefleet.catalog import _key_of, _PackageDraws
from pipfleet.sandbox.makefleet.names import _PRIVATE_EXTRAS, _PUBLIC_EXTRAS, _SPELLING, PUBLIC

_MARKERS = (
    "sys_platform == 'linux'",
    "python_version < '3.12'",
    "platform_machine == 'x86_64'",
    "sys_platform != 'win32'",
)
_TRAILING_COMMENTS = (
    "# pinned, see INC-1432",
    "# bump after the 2.x migration",
    "# keep in sync with the worker",
    "# CVE-2024-35195",
    "# do not upgrade yet",
)


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


class _EntryDraws(_PackageDraws):
    """Draws the entries a Pipfile lists."""

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
