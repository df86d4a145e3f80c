"""The cache of what CodeArtifact holds per private package version (package_versions).

A published version's files and dependencies never change, so a row, once written, is
believed forever: a warm scan asks CodeArtifact nothing about a version it has seen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from pipfleet.engine.listing import VersionKey
from pipfleet.store.db import session_scope
from pipfleet.store.models import PackageVersionCache, utcnow

Contents = tuple[tuple[str, ...], tuple[str, ...]]  # (sha256 hashes, PEP 508 dependencies)


def _strings(raw: str) -> tuple[str, ...]:
    value = json.loads(raw)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"package_versions holds {raw[:60]!r}, not a JSON list of strings")
    return tuple(value)


class VersionCacheStore:
    """Rows of one CodeArtifact repository (``domain/owner/repository``)."""

    def __init__(self, engine: Engine, codeartifact: str):
        self._engine = engine
        self._codeartifact = codeartifact

    def load(self) -> dict[VersionKey, Contents]:
        with session_scope(self._engine) as session:
            rows = session.exec(
                select(PackageVersionCache).where(
                    col(PackageVersionCache.codeartifact) == self._codeartifact
                )
            ).all()
            return {
                (row.name, row.version): (_strings(row.hashes), _strings(row.dependencies))
                for row in rows
            }

    def save(self, found: Mapping[VersionKey, Contents]) -> None:
        """Add versions not cached yet (a row already there is the same forever)."""
        if not found:
            return
        try:
            self._add(found)
        except IntegrityError:
            # A run for another org sharing the database cached some of them meanwhile:
            # the same rows, so adding the rest is all that is left to do.
            self._add(found)

    def _add(self, found: Mapping[VersionKey, Contents]) -> None:
        with session_scope(self._engine) as session:
            present = {
                (row.name, row.version)
                for row in session.exec(
                    select(PackageVersionCache).where(
                        col(PackageVersionCache.codeartifact) == self._codeartifact
                    )
                ).all()
            }
            now = utcnow()
            for (name, version), (hashes, dependencies) in sorted(found.items()):
                if (name, version) in present:
                    continue
                session.add(
                    PackageVersionCache(
                        codeartifact=self._codeartifact,
                        name=name,
                        version=version,
                        hashes=json.dumps(list(hashes)),
                        dependencies=json.dumps(list(dependencies)),
                        fetched_at=now,
                    )
                )
