"""The private-package listing: which names live in CodeArtifact, and their versions.

File format, one package a line::

    # comments and blank lines are ignored
    orb-common 2.0.0 2.1.0    # versions are optional
    orb-utils

A package listed without versions has unknown versions; ``version-not-found``
is only reported for packages whose versions are known.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipfleet.errors import ListingError

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@dataclass(frozen=True)
class Listing:
    """Private package names (PEP 503 normalised) mapped to known versions or None."""

    packages: Mapping[str, frozenset[str] | None] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name in self.packages or canonicalize_name(name) in self.packages

    def __len__(self) -> int:
        return len(self.packages)

    def versions(self, name: str) -> frozenset[str] | None:
        if name in self.packages:
            return self.packages[name]
        return self.packages.get(canonicalize_name(name))

    def has_version(self, name: str, spec: str) -> bool | None:
        """Whether an exact ``==x`` pin can be satisfied; None when that cannot be known.

        Unknown versions, specs that are not one exact pin, and wildcard pins
        (``==1.*``) give None: nothing is claimed about them.
        """
        known = self.versions(name)
        if known is None:
            return None
        try:
            specifiers = list(SpecifierSet(spec.strip()))
        except InvalidSpecifier:
            return None
        if len(specifiers) != 1:
            return None
        specifier = specifiers[0]
        if specifier.operator == "===":
            return specifier.version in known
        if specifier.operator != "==" or specifier.version.endswith(".*"):
            return None
        return any(specifier.contains(version, prereleases=True) for version in known)

    def digest(self) -> str:
        """A stable sha256 of the listing, so a scan can tell when it changed."""
        lines = (
            " ".join([name, *sorted(versions or ())])
            for name, versions in sorted(self.packages.items())
        )
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    @classmethod
    def of(cls, names: Iterable[str]) -> Listing:
        """A listing of names with unknown versions."""
        return cls({canonicalize_name(name): None for name in names})


def parse_listing(text: str, origin: str = "listing") -> Listing:
    """Parse the listing file format; raise ListingError naming the bad line."""
    packages: dict[str, frozenset[str] | None] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        name, *versions = words
        if not set(name) <= _NAME_CHARS or not name[0].isalnum() or not name[-1].isalnum():
            raise ListingError(f"{origin}:{number}: {name!r} is not a valid package name")
        for version in versions:
            try:
                Version(version)
            except InvalidVersion:
                raise ListingError(
                    f"{origin}:{number}: {version!r} is not a valid version of {name}"
                ) from None
        key = canonicalize_name(name)
        known = packages.get(key)
        if versions or known:
            packages[key] = frozenset(versions) | (known or frozenset())
        else:
            packages[key] = None
    return Listing(packages)
