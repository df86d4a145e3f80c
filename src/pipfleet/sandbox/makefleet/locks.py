"""Pipfile.lock files, as ``pipenv lock`` would write them for a Pipfile."""

from __future__ import annotations

import hashlib
import tomllib
from typing import Any

from pipfleet.engine.lockfile import HashScheme, dump_lock, pipfile_hash
from pipfleet.engine.rewrite import IMPLICIT_SOURCE
from pipfleet.sandbox.distributions import placeholder_wheel
from pipfleet.sandbox.makefleet.catalog import _PackageDraws
from pipfleet.sandbox.makefleet.entries import _Entry
from pipfleet.sandbox.makefleet.names import _DEPENDS, PUBLIC
from pipfleet.sandbox.makefleet.pipfiles import _Pipfile

_LOCK_SECTION = {"packages": "default", "dev-packages": "develop"}
_LOCK_MARKERS = {
    "greenlet": "platform_machine == 'aarch64' or platform_machine == 'x86_64'",
    "typing-extensions": "python_version >= '3.8'",
    "tzdata": "python_version >= '2'",
    "urllib3": "python_version >= '3.8'",
}


class _LockWriter(_PackageDraws):
    """Writes the Pipfile.lock of a Pipfile that has one."""

    def _lock(self, text: str, pipfile: _Pipfile) -> str:
        data = tomllib.loads(text)
        sources = [dict(source) for source in data.get("source", [IMPLICIT_SOURCE])]
        for source in sources:
            source.setdefault("verify_ssl", "https://" in source["url"])
        default_index = pipfile.sources[0][0] if pipfile.sources else "pypi"
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
                section[entry.name] = self._locked(entry, default_index, pipfile.private_source)
                pending.extend(self._needs(entry.name))
            while pending:
                name = pending.pop()
                if name in section:
                    continue
                private = name in self.catalog.internal
                versions = self.catalog.internal[name] if private else PUBLIC[name]
                # pipenv takes a dependency the Pipfile does not list from the first
                # source. A private one is there only when that is CodeArtifact, or when
                # a developer's PIP_EXTRA_INDEX_URL found it there; a name public PyPI
                # also has came from PyPI: foreign hashes.
                from_codeartifact = private and (
                    default_index == pipfile.private_source or name not in self.catalog.pypi
                )
                section[name] = {
                    "hashes": self._hashes(name, versions[-1], from_codeartifact),
                    "index": default_index,
                    "version": f"=={versions[-1]}",
                }
                if name in _LOCK_MARKERS:
                    section[name]["markers"] = _LOCK_MARKERS[name]
                pending.extend(self._needs(name))
        return dump_lock(lock)

    def _needs(self, name: str) -> list[str]:
        """The packages ``name`` depends on: public ones by the table, private ones as
        CodeArtifact says (the fleet's [dependencies])."""
        private = [r.partition(">")[0] for r in self.catalog.dependencies.get(name, ())]
        return [*_DEPENDS.get(name, ()), *private]

    def _hashes(self, name: str, version: str, from_codeartifact: bool) -> list[str]:
        if not from_codeartifact:
            return _stand_in_hashes(name, version)
        requires = tuple(self.catalog.dependencies.get(name, ()))
        _, data = placeholder_wheel(name, version, requires)
        return ["sha256:" + hashlib.sha256(data).hexdigest()]

    def _locked(
        self, entry: _Entry, default_index: str, private_source: str | None
    ) -> dict[str, Any]:
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
        index = index if isinstance(index, str) else default_index
        # A private package resolved from CodeArtifact has its files' hashes; one resolved
        # from another index (no or a wrong index) has that index's: foreign hashes.
        from_codeartifact = entry.private and index == private_source
        locked: dict[str, Any] = {
            "hashes": self._hashes(entry.name, entry.locked, from_codeartifact),
            "index": index,
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


def _stand_in_hashes(name: str, version: str) -> list[str]:
    """Stand-ins for the sha256 of a release's wheel and sdist, stable per release."""
    return sorted(
        "sha256:" + hashlib.sha256(f"{name}-{version}{kind}".encode()).hexdigest()
        for kind in (".tar.gz", "-py3-none-any.whl")
    )
