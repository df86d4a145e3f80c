"""Put the registries' answers together: the private listing and what is known per name."""

from __future__ import annotations

from pipfleet.config import Settings
from pipfleet.engine.confusion import Origin, PackageIntel
from pipfleet.engine.listing import Listing
from pipfleet.registry.codeartifact import fetch_repository
from pipfleet.registry.pypi import EtagCache, check_names


def gather(
    settings: Settings, listing_override: Listing | None = None, cache: EtagCache | None = None
) -> tuple[Listing, dict[str, PackageIntel]]:
    """The private listing (CodeArtifact, or the given file) and each private name's intel.

    With a listing file instead of CodeArtifact, origins are unknown: names count as
    internal with upstream blocked, so no origin-drift is claimed without evidence.
    """
    if listing_override is not None:
        listing = listing_override
        origins = {name: (Origin.INTERNAL, False) for name in listing.packages}
    else:
        repository = fetch_repository(settings.codeartifact)
        listing = repository.listing(settings.policy.private)
        origins = {
            record.name: (record.origin, record.upstream_allowed)
            for record in repository.packages
            if record.name in listing.packages
        }
    answers = check_names(
        listing.packages,
        settings.pypi.index_url,
        concurrency=settings.pypi.concurrency,
        timeout=settings.pypi.timeout,
        cache=cache,
    )
    intel = {
        name: PackageIntel(
            name=name,
            origin=origins[name][0],
            upstream_allowed=origins[name][1],
            public=answers[name].status,
            versions=tuple(sorted(listing.packages[name] or ())),
        )
        for name in sorted(listing.packages)
    }
    return listing, intel
