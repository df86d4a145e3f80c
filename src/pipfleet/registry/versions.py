"""What CodeArtifact holds per private version, asked once: a sibling of ``intel.gather``.

The scan names the private (package, version) pairs its Pipfiles and locks use;
``VersionIntel.complete`` reads each one CodeArtifact has not been asked about yet
(ListPackageVersionAssets and ListPackageVersionDependencies), follows private
dependencies to the versions pipenv would pick, and returns the listing with the
versions' hashes and private dependencies. Answers go to a cache (the database) so
a warm scan asks nothing: one request pair per distinct private version across the
fleet, ever, never one per repository.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipfleet.config import CodeArtifactSettings
from pipfleet.engine.listing import Listing, VersionKey, version_key
from pipfleet.registry.codeartifact import VersionContents, _client, fetch_version

Contents = tuple[tuple[str, ...], tuple[str, ...]]  # (sha256 hashes, PEP 508 dependencies)
Fetch = Callable[[str, str], VersionContents]
CONCURRENCY = 8  # CodeArtifact requests in flight at once


class VersionCache(Protocol):
    def load(self) -> dict[VersionKey, Contents]: ...
    def save(self, found: Mapping[VersionKey, Contents]) -> None: ...


def codeartifact_key(settings: CodeArtifactSettings) -> str:
    """The cache's name for a CodeArtifact repository."""
    return f"{settings.domain}/{settings.domain_owner}/{settings.repository}"


def _listed_version(listing: Listing, name: str, version: str) -> str | None:
    """The version as the listing (CodeArtifact) spells it, or None when it is not listed."""
    wanted = version_key(name, version)
    for raw in listing.versions(name) or ():
        if version_key(name, raw) == wanted:
            return raw
    return None


def _private(listing: Listing, requirement: str) -> Requirement | None:
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return None
    return parsed if parsed.name in listing else None


def with_contents(listing: Listing, known: Mapping[VersionKey, Contents]) -> Listing:
    """``listing`` with the hashes and private dependencies of its listed versions in ``known``.

    A version without any file keeps unknown hashes: nothing can be compared with none.
    """
    hashes: dict[VersionKey, frozenset[str]] = {}
    dependencies: dict[VersionKey, tuple[str, ...]] = {}
    for (name, version), (files, requirements) in known.items():
        if _listed_version(listing, name, version) is None:
            continue
        if files:
            hashes[(name, version)] = frozenset(files)
        private = (_private(listing, raw) for raw in requirements)
        dependencies[(name, version)] = tuple(sorted(str(r) for r in private if r is not None))
    return Listing(listing.packages, dependencies, hashes)


class VersionIntel:
    """Asks CodeArtifact about private versions once, keeps the answers in ``cache``.

    Without a cache (a dry run) answers live for this run only.
    """

    def __init__(
        self,
        settings: CodeArtifactSettings,
        cache: VersionCache | None = None,
        fetch: Fetch | None = None,
    ):
        self._settings = settings
        self._cache = cache
        self._fetch = fetch
        self._client: Any = None
        self.known: dict[VersionKey, Contents] = cache.load() if cache is not None else {}
        self.requests = 0  # CodeArtifact calls made by this object

    def _ask(self, package: str, version: str) -> VersionContents:
        if self._fetch is not None:
            return self._fetch(package, version)
        if self._client is None:
            self._client = _client(self._settings)
        return fetch_version(self._settings, package, version, self._client)

    def _ask_all(
        self, versions: Sequence[tuple[VersionKey, str]], found: dict[VersionKey, Contents]
    ) -> None:
        """Read the versions not known yet, ``CONCURRENCY`` at a time, into ``known`` and
        ``found``. Every answer that came is kept; then the first error is raised."""
        unknown = [(key, listed) for key, listed in versions if key not in self.known]
        if not unknown:
            return
        if len(unknown) > 1 and self._client is None and self._fetch is None:
            self._client = _client(self._settings)  # made once, before threads share it
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(unknown))) as pool:
            futures = [(key, pool.submit(self._ask, key[0], listed)) for key, listed in unknown]
            for key, future in futures:
                try:
                    contents = future.result()
                except Exception as exc:
                    error = error or exc
                    continue
                self.requests += contents.requests
                self.known[key] = found[key] = (contents.hashes, contents.dependencies)
        if error is not None:
            raise error

    def listing(self, listing: Listing) -> Listing:
        """The listing with what is already known (the cache): the scan's starting point."""
        return with_contents(listing, self.known)

    def complete(self, listing: Listing, wanted: Iterable[tuple[str, str]]) -> Listing:
        """The listing with the contents of every wanted (package, version) it lists, and of
        the private versions they depend on (the newest satisfying each requirement),
        asking CodeArtifact only about versions not known yet. A RegistryError stops it;
        what was read before it is kept in the cache.
        """
        round_ = {(canonicalize_name(n), v) for n, v in wanted if canonicalize_name(n) in listing}
        seen: set[VersionKey] = set()
        found: dict[VersionKey, Contents] = {}
        try:
            while round_:
                # Each round: the versions not seen yet, asked concurrently when unknown,
                # then the private versions they depend on make the next round.
                keys: dict[VersionKey, str] = {}
                for name, raw in sorted(round_):
                    listed = _listed_version(listing, name, raw)
                    if listed is None:
                        continue  # not in CodeArtifact: version-not-found, nothing to read
                    key = version_key(name, listed)
                    if key not in seen:
                        seen.add(key)
                        keys[key] = listed
                self._ask_all([(key, listed) for key, listed in keys.items()], found)
                round_ = set()
                for key in keys:
                    for requirement in self.known[key][1]:
                        private = _private(listing, requirement)
                        if private is None:
                            continue
                        chosen = listing.newest(private.name, str(private.specifier))
                        if chosen is not None:
                            round_.add((canonicalize_name(private.name), chosen))
        finally:
            if self._cache is not None and found:
                self._cache.save(found)
        return with_contents(listing, self.known)
