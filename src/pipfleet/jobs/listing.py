"""Where ``pipfleet check`` and ``pipfleet listing export`` get the private-package listing.

``check`` judges by a listing file when given one; otherwise by CodeArtifact, through
the config's ``[codeartifact]`` and the AWS credentials boto3 finds. CodeArtifact's
names and versions are kept on disk (``$XDG_CACHE_HOME/pipfleet``, beside the public
index's ETags) for ``[check] listing_cache`` seconds, so a pre-commit hook does not ask
AWS on every commit; what a version holds (its files' hashes, its dependencies) never
changes once published and is kept for good. ``check`` asks only about the versions
its Pipfiles, uv and Poetry projects and their locks use (as the scan does); ``export``
about every listed version, so the file it writes judges any lock offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pipfleet.assistant.fleetdata import FleetData
from pipfleet.config import DEFAULT_CONFIG, Settings, config_path, load_settings
from pipfleet.engine.listing import Listing, VersionKey, listing_text, parse_listing, versions_used
from pipfleet.engine.pipfile import Pipfile, parse
from pipfleet.engine.projects import project_versions
from pipfleet.engine.provenance import LOCK_NAME, LockedPackage, locked_packages
from pipfleet.errors import ListingError, PipfileError, RegistryError
from pipfleet.files import find_manifests, read_text, write_atomically
from pipfleet.jobs.check import is_other_manifest
from pipfleet.jobs.checkmanifests import projects_at
from pipfleet.registry.codeartifact import fetch_repository
from pipfleet.registry.versions import Contents, VersionIntel, codeartifact_key

Wanted = Callable[[Listing], Iterable[tuple[str, str]]]

HOW_TO_GET_ONE = (
    "give --listing FILE (`pipfleet listing export -o FILE` writes one where CodeArtifact "
    "or the nightly database can be read), or a config with [codeartifact] (--config FILE, "
    "$PIPFLEET_CONFIG or ./pipfleet.toml) and AWS credentials (AWS_PROFILE, `aws sso login`, "
    "or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables)"
)


class DiskCache:
    """One CodeArtifact repository's answers in a JSON file: the listing of private names
    with when it was read, and every version's contents read so far (a ``VersionCache``).

    A cache is an optimisation: one that cannot be read counts as empty, one that cannot
    be written is left as it was, and the answer is the same either way.
    """

    def __init__(self, path: Path, policy: str):
        self.path = path
        self._policy = policy

    @classmethod
    def for_settings(cls, settings: Settings) -> DiskCache:
        ca = settings.codeartifact
        # The endpoint too: a sandbox and AWS can name the same domain and repository.
        where = f"{codeartifact_key(ca)} {ca.region} {ca.endpoint_url or ''}"
        digest = hashlib.sha256(where.encode()).hexdigest()[:16]
        return cls(settings.cache / f"codeartifact-{digest}.json", settings.policy.private)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: Mapping[str, Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")
        except OSError:
            pass  # the next check asks CodeArtifact again: slower, never wrong

    def listing(self, max_age: float, now: float) -> Listing | None:
        """The cached listing when it is younger than ``max_age`` seconds, else None."""
        cached = self._read().get("listing")
        if not isinstance(cached, dict) or cached.get("policy") != self._policy:
            return None
        written, text = cached.get("written"), cached.get("text")
        if not isinstance(written, (int, float)) or not isinstance(text, str):
            return None
        if not 0 <= now - written < max_age:  # a clock set back counts as expired too
            return None
        try:
            return parse_listing(text)
        except ListingError:
            return None

    def save_listing(self, listing: Listing, now: float) -> None:
        data = self._read()
        data["listing"] = {"written": now, "policy": self._policy, "text": listing_text(listing)}
        self._write(data)

    def load(self) -> dict[VersionKey, Contents]:
        known: dict[VersionKey, Contents] = {}
        rows = self._read().get("versions")
        for row in rows if isinstance(rows, list) else ():
            try:
                name, version, hashes, dependencies = row
                known[(str(name), str(version))] = (
                    tuple(map(str, hashes)),
                    tuple(map(str, dependencies)),
                )
            except (TypeError, ValueError):
                continue  # a damaged row is asked about again
        return known

    def save(self, found: Mapping[VersionKey, Contents]) -> None:
        known = {**self.load(), **found}
        data = self._read()
        data["versions"] = [
            [name, version, list(hashes), list(dependencies)]
            for (name, version), (hashes, dependencies) in sorted(known.items())
        ]
        self._write(data)


def codeartifact_listing(
    settings: Settings,
    wanted: Wanted,
    *,
    max_age: float,
    now: Callable[[], float] = time.time,
) -> Listing:
    """The private listing from CodeArtifact (or the cache when younger than ``max_age``
    seconds), with the contents of the versions ``wanted`` names and of the private
    versions they depend on. A RegistryError when CodeArtifact cannot be read.
    """
    cache = DiskCache.for_settings(settings)
    started = now()
    listing = cache.listing(max_age, started)
    if listing is None:
        listing = fetch_repository(settings.codeartifact).listing(settings.policy.private)
        cache.save_listing(listing, started)
    return VersionIntel(settings.codeartifact, cache).complete(listing, wanted(listing))


def check_settings(config: Path | None, environ: Mapping[str, str] = os.environ) -> Settings:
    """The config ``check`` reads CodeArtifact through when no listing file is given.

    Without one (no --config, no $PIPFLEET_CONFIG, no ./pipfleet.toml) the error says
    both ways to give ``check`` a listing; a config named but broken is its own error.
    """
    if config_path(config, environ) == DEFAULT_CONFIG and not DEFAULT_CONFIG.exists():
        raise ListingError(f"no private-package listing: {HOW_TO_GET_ONE}")
    return load_settings(config, environ)


def _pipfiles(paths: Iterable[Path]) -> tuple[list[Pipfile], list[list[LockedPackage]]]:
    """The Pipfiles ``check`` will read and their locks, parsed; unreadable ones skipped
    (the check itself reports them)."""
    pipfiles, locks = [], []
    for path in paths:
        try:
            pipfiles.append(parse(read_text(path), str(path)))
        except PipfileError:
            continue
        lock = path.parent / LOCK_NAME
        try:
            locked = locked_packages(read_text(lock)) if lock.is_file() else None
        except PipfileError:
            locked = None
        if locked:
            locks.append(locked)
    return pipfiles, locks


def check_listing(settings: Settings, paths: Iterable[Path]) -> Listing:
    """The listing ``check`` judges ``paths`` by, from CodeArtifact: with the contents of
    the versions their Pipfiles, uv and Poetry projects and locks use, so lock provenance
    is judged too."""
    found = list(find_manifests(paths))
    pipfiles, locks = _pipfiles(p for p in found if not is_other_manifest(p))
    projects = projects_at(p for p in found if is_other_manifest(p))

    def wanted(listing: Listing) -> set[tuple[str, str]]:
        used = versions_used(pipfiles, locks, listing)
        for project, locked in projects:
            used |= project_versions(project, locked, listing)
        return used

    try:
        return codeartifact_listing(settings, wanted, max_age=settings.check.listing_cache)
    except RegistryError as exc:
        raise ListingError(f"no private-package listing: {exc}; {HOW_TO_GET_ONE}") from None


def every_version(listing: Listing) -> Iterable[tuple[str, str]]:
    """Every (name, version) the listing names: what ``export`` reads the contents of."""
    return ((name, v) for name, versions in listing.packages.items() for v in versions or ())


def export_listing(settings: Settings, *, from_database: bool) -> tuple[Listing, str]:
    """The listing ``listing export`` writes, and a header saying where it came from.

    From CodeArtifact it is read afresh (every version's contents, cached for good);
    from the database it is the newest scan's, with what scans read per version.
    """
    if from_database:
        recorded = FleetData(settings).recorded_listing()
        if recorded is None:
            raise ListingError(
                "no private-package listing in the database: no scan has recorded one "
                "(run pipfleet scan, or export from CodeArtifact without --from-database)"
            )
        return recorded.listing, f"pipfleet listing export: {recorded.origin}"
    listing = codeartifact_listing(settings, every_version, max_age=0)
    where = f"{codeartifact_key(settings.codeartifact)} ({settings.codeartifact.region})"
    return listing, f"pipfleet listing export: CodeArtifact {where}"
