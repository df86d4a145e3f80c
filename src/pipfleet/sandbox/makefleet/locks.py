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
                section[entry.name] = self._locked(entry, default_index, pipfile.private_source)
                pending.extend(_DEPENDS.get(entry.name, ()))
                if entry.private and entry.name != "orb-common":
                    pending.append("orb-common")
            while pending:
                name = pending.pop()
                if name in section:
                    continue
                private = name in self.catalog.internal
                versions = self.catalog.internal[name] if private else PUBLIC[name]
                from_codeartifact = private and private_index == pipfile.private_source
                section[name] = {
                    "hashes": (_codeartifact_hashes if from_codeartifact else _hashes)(
                        name, versions[-1]
                    ),
                    "index": private_index if private else default_index,
                    "version": f"=={versions[-1]}",
                }
                if name in _LOCK_MARKERS:
                    section[name]["markers"] = _LOCK_MARKERS[name]
                pending.extend(_DEPENDS.get(name, ()))
        return dump_lock(lock)

    @staticmethod
    def _locked(entry: _Entry, default_index: str, private_source: str | None) -> dict[str, Any]:
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
            "hashes": (_codeartifact_hashes if from_codeartifact else _hashes)(
                entry.name, entry.locked
            ),
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


def _hashes(name: str, version: str) -> list[str]:
    """Stand-ins for the sha256 of a release's wheel and sdist, stable per release."""
    return sorted(
        "sha256:" + hashlib.sha256(f"{name}-{version}{kind}".encode()).hexdigest()
        for kind in (".tar.gz", "-py3-none-any.whl")
    )


def _codeartifact_hashes(name: str, version: str) -> list[str]:
    """The sha256 of the one file the sandbox's CodeArtifact serves for a generated version."""
    _, data = placeholder_wheel(name, version)
    return ["sha256:" + hashlib.sha256(data).hexdigest()]
