"""VersionIntel: each private version asked about once, dependencies followed, answers cached."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from pipfleet.config import CodeArtifactSettings
from pipfleet.engine.listing import Listing, VersionKey
from pipfleet.errors import RegistryError
from pipfleet.registry.codeartifact import VersionContents
from pipfleet.registry.versions import Contents, VersionIntel, with_contents
from pipfleet.store.db import make_engine, upgrade
from pipfleet.store.versions import VersionCacheStore

SETTINGS = CodeArtifactSettings("acme", "111122223333", "us-east-1", "private")
H = {name: "sha256:" + digit * 64 for name, digit in (("a", "a"), ("b", "b"), ("c", "c"))}
LISTING = Listing(
    {
        "orb-a": frozenset({"1.0.0", "1.1.0"}),
        "orb-b": frozenset({"2.0", "3.0"}),
        "orb-c": frozenset({"1.0"}),
    }
)
ANSWERS = {
    ("orb-a", "1.1.0"): VersionContents((H["a"],), ("orb-b<3", "requests>=2"), 2),
    ("orb-b", "2.0"): VersionContents((H["b"],), ("orb-a>=1",), 2),  # a cycle back to orb-a
    ("orb-c", "1.0"): VersionContents((), (), 2),
}


class MemoryCache:
    def __init__(self) -> None:
        self.rows: dict[VersionKey, Contents] = {}

    def load(self) -> dict[VersionKey, Contents]:
        return dict(self.rows)

    def save(self, found: Mapping[VersionKey, Contents]) -> None:
        self.rows.update(found)


def fetcher(asked: list[tuple[str, str]]) -> Callable[[str, str], VersionContents]:
    def fetch(package: str, version: str) -> VersionContents:
        asked.append((package, version))
        if (package, version) not in ANSWERS:
            raise RegistryError(f"no {package} {version}")
        return ANSWERS[(package, version)]

    return fetch


def test_dependencies_are_followed_once_through_a_cycle_and_cached() -> None:
    asked: list[tuple[str, str]] = []
    cache = MemoryCache()
    intel = VersionIntel(SETTINGS, cache, fetcher(asked))
    wanted = {("orb-a", "1.1.0"), ("ORB_A", "1.1"), ("orb-c", "1.0"), ("orb-c", "9.9")}
    listing = intel.complete(LISTING, wanted)
    # orb-b<3 is 2.0; its orb-a>=1 is 1.1.0 again: asked once. 9.9 is not listed: not asked.
    assert sorted(asked) == [("orb-a", "1.1.0"), ("orb-b", "2.0"), ("orb-c", "1.0")]
    assert intel.requests == 6
    assert listing.hashes_of("orb-a", "1.1") == frozenset({H["a"]})
    assert listing.hashes_of("orb-c", "1.0") is None  # no files: nothing to compare with
    assert listing.dependencies_of("orb-a", "1.1.0") == ("orb-b<3",)  # private ones only
    assert listing.dependencies_of("orb-c", "1.0") == ()

    again: list[tuple[str, str]] = []
    warm = VersionIntel(SETTINGS, cache, fetcher(again))
    assert warm.listing(LISTING).digest() == listing.digest()
    assert warm.complete(LISTING, wanted).digest() == listing.digest()
    assert again == [] and warm.requests == 0


def test_a_version_no_longer_listed_drops_out_of_the_listing() -> None:
    cache = MemoryCache()
    VersionIntel(SETTINGS, cache, fetcher([])).complete(LISTING, {("orb-a", "1.1.0")})
    shrunk = Listing({"orb-a": frozenset({"1.0.0"}), "orb-b": frozenset({"2.0"})})
    assert with_contents(shrunk, cache.rows).hashes == {("orb-b", "2"): frozenset({H["b"]})}


def test_what_was_read_before_an_error_is_kept() -> None:
    cache = MemoryCache()
    intel = VersionIntel(SETTINGS, cache, fetcher([]))
    listing = Listing({**LISTING.packages, "orb-d": frozenset({"1.0"})})
    with pytest.raises(RegistryError):
        intel.complete(listing, {("orb-a", "1.1.0"), ("orb-d", "1.0")})
    assert set(cache.rows) <= {("orb-a", "1.1"), ("orb-b", "2")}


def test_the_database_cache_round_trips(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    store = VersionCacheStore(engine, "acme/111122223333/private")
    rows = {("orb-a", "1.1"): ((H["a"],), ("orb-b<3",)), ("orb-c", "1"): ((), ())}
    store.save(rows)
    store.save(rows)  # a second write of the same versions adds nothing
    assert store.load() == rows
    assert VersionCacheStore(engine, "other/1/repo").load() == {}
