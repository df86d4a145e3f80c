"""The private-package listing: which names live in CodeArtifact, and their versions.

File format, one package a line::

    # comments and blank lines are ignored
    orb-common 2.0.0 2.1.0    # versions are optional
    orb-utils

A package listed without versions has unknown versions; ``version-not-found``
is only reported for packages whose versions are known.

Two optional additions let ``pipfleet check`` judge a Pipfile.lock and private
transitive dependencies offline (a listing without them parses exactly as
before)::

    orb-http 2.5.1 sha256:<64 hex> sha256:<64 hex> 2.6.0 sha256:<64 hex>
    orb-api 1.3.0 1.4.0 -> orb-common>=2.0, orb-events

- ``sha256:<hex>`` words are the files (assets) CodeArtifact holds for the
  version written just before them. A version listed with at least one hash
  has known files; the lock's hashes for it are compared with them.
- ``->`` ends the versions: what follows is the comma-separated list of that
  line's private dependencies, as PEP 508 requirements (``name``, ``name>=2,<3``,
  ``name[extra]``), for every version on the line; ``->`` with nothing after it
  says those versions have no private dependencies. A ``->`` line needs at
  least one version. Only private dependencies need listing: the audit follows
  them through the listing and ignores names it does not list.

Repeated lines for one version add to its hashes and dependencies.
``listing_text`` writes a listing back in this format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from pipfleet.errors import ListingError

if TYPE_CHECKING:  # provenance imports this module
    from pipfleet.engine.pipfile import Pipfile
    from pipfleet.engine.provenance import LockedPackage

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_HASH = re.compile(r"^sha256:[0-9a-fA-F]{64}$")
# A comma at bracket depth 0 followed by a name starts the next requirement; any
# other comma belongs to a specifier (">=2,<3") or an extras list ("x[a,b]").
_NEXT_REQUIREMENT = re.compile(r"\s*[A-Za-z0-9]")

VersionKey = tuple[str, str]  # (PEP 503 name, canonical version: 1.4.0 and 1.4 are one)


def version_key(name: str, version: str) -> VersionKey:
    """The key of a (name, version) in ``Listing.dependencies`` and ``Listing.hashes``."""
    return canonicalize_name(name), canonicalize_version(version.strip())


@dataclass(frozen=True)
class Listing:
    """Private package names (PEP 503 normalised) mapped to known versions or None.

    ``dependencies`` holds, per (name, version) (see ``version_key``), the private
    requirements that version needs (PEP 508 strings); ``hashes`` the
    ``sha256:<hex>`` of every file CodeArtifact holds for that version. Both only
    hold what the listing says: a missing key means "not known", not "none".
    """

    packages: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    dependencies: Mapping[VersionKey, tuple[str, ...]] = field(default_factory=dict)
    hashes: Mapping[VersionKey, frozenset[str]] = field(default_factory=dict)

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

    def dependencies_of(self, name: str, version: str) -> tuple[str, ...] | None:
        """The private requirements of one version; None when the listing does not say."""
        return self.dependencies.get(version_key(name, version))

    def hashes_of(self, name: str, version: str) -> frozenset[str] | None:
        """The ``sha256:<hex>`` (lower case) of one version's files; None when unknown."""
        return self.hashes.get(version_key(name, version))

    def known_version(self, name: str, version: str) -> bool | None:
        """Whether ``version`` (a version, not a spec) is listed; None when versions are unknown."""
        known = self.versions(name)
        if known is None:
            return None
        wanted = version_key(name, version)[1]
        return any(version_key(name, v)[1] == wanted for v in known)

    def newest(self, name: str, spec: str) -> str | None:
        """The newest listed version satisfying ``spec`` ("*" or empty: any); None if none.

        Pre-releases count only when no final release satisfies the spec, as pip does.
        """
        known = self.versions(name)
        if not known:
            return None
        spec = spec.strip()
        try:
            specifiers = SpecifierSet("" if spec in ("", "*") else spec)
        except InvalidSpecifier:
            return None
        versions = []
        for raw in known:
            try:
                versions.append((Version(raw), raw))
            except InvalidVersion:
                continue
        matching = list(specifiers.filter([v for v, _ in versions]))
        if not matching:
            return None
        best = max(matching)
        return next(raw for version, raw in versions if version == best)

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
        """A stable sha256 of the listing, so a scan can tell when it changed.

        A listing without dependencies or hashes keeps the digest it always had.
        """
        import hashlib  # here: a text-mode check never digests, and hashlib loads OpenSSL

        lines = [
            " ".join([name, *sorted(versions or ())])
            for name, versions in sorted(self.packages.items())
        ]
        lines.extend(
            f"{name} {version} -> {', '.join(sorted(requirements))}"
            for (name, version), requirements in sorted(self.dependencies.items())
        )
        lines.extend(
            " ".join([name, version, *sorted(files)])
            for (name, version), files in sorted(self.hashes.items())
        )
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    @classmethod
    def of(cls, names: Iterable[str]) -> Listing:
        """A listing of names with unknown versions."""
        return cls({canonicalize_name(name): None for name in names})


def versions_used(
    pipfiles: Iterable[Pipfile], locks: Iterable[Iterable[LockedPackage]], listing: Listing
) -> set[tuple[str, str]]:
    """The private (package, version) pairs these Pipfiles and locks use.

    A lock's exact versions, and for each private Pipfile entry the version pipenv
    would pick (the newest listed one satisfying it): what provenance needs to know.
    """
    wanted: set[tuple[str, str]] = set()
    for locked in locks:
        for package in locked:
            if package.version is not None and package.name in listing:
                wanted.add((package.name, package.version))
    for pipfile in pipfiles:
        for entry in pipfile.entries():
            if entry.non_registry_key is not None or entry.name not in listing:
                continue
            chosen = listing.newest(entry.name, entry.version or "*")
            if chosen is not None:
                wanted.add((entry.name, chosen))
    return wanted


def split_requirements(text: str) -> list[str]:
    """``"a>=2,<3, b[x,y]"`` -> ``["a>=2,<3", "b[x,y]"]``."""
    parts: list[str] = []
    depth, start = 0, 0
    for at, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0 and _NEXT_REQUIREMENT.match(text, at + 1):
            parts.append(text[start:at])
            start = at + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def parse_listing(text: str, origin: str = "listing") -> Listing:
    """Parse the listing file format; raise ListingError naming the bad line."""
    packages: dict[str, frozenset[str] | None] = {}
    dependencies: dict[VersionKey, tuple[str, ...]] = {}
    hashes: dict[VersionKey, frozenset[str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        line, arrow, after = line.partition("->")
        words = line.split()
        if not words:
            if arrow:
                raise ListingError(f"{origin}:{number}: '->' needs a package and a version")
            continue
        name, *rest = words
        if not set(name) <= _NAME_CHARS or not name[0].isalnum() or not name[-1].isalnum():
            raise ListingError(f"{origin}:{number}: {name!r} is not a valid package name")
        versions: list[str] = []
        for word in rest:
            if word.lower().startswith("sha256:"):
                if not _HASH.match(word):
                    raise ListingError(f"{origin}:{number}: {word!r} is not sha256:<64 hex digits>")
                if not versions:
                    raise ListingError(
                        f"{origin}:{number}: hash {word[:15]}... follows no version of {name}"
                    )
                key = version_key(name, versions[-1])
                hashes[key] = hashes.get(key, frozenset()) | {word.lower()}
                continue
            try:
                Version(word)
            except InvalidVersion:
                raise ListingError(
                    f"{origin}:{number}: {word!r} is not a valid version of {name}"
                ) from None
            versions.append(word)
        if arrow:
            if not versions:
                raise ListingError(f"{origin}:{number}: '->' needs a version of {name} before it")
            requirements = []
            for part in split_requirements(after):
                try:
                    requirements.append(str(Requirement(part)))
                except InvalidRequirement:
                    raise ListingError(
                        f"{origin}:{number}: {part!r} is not a valid requirement"
                    ) from None
            for version in versions:
                key = version_key(name, version)
                merged = dict.fromkeys((*dependencies.get(key, ()), *requirements))
                dependencies[key] = tuple(merged)
        key_name = canonicalize_name(name)
        known = packages.get(key_name)
        if versions or known:
            packages[key_name] = frozenset(versions) | (known or frozenset())
        else:
            packages[key_name] = None
    return Listing(packages, dependencies, hashes)


def _valid(versions: Iterable[str]) -> list[str]:
    valid = []
    for version in versions:
        try:
            Version(version)
        except InvalidVersion:
            continue
        valid.append(version)
    return valid


def listing_text(listing: Listing, header: str = "") -> str:
    """``listing`` in the file format, so ``parse_listing`` reads the same listing back.

    One line a version, its hashes and its dependencies (when known) on that line;
    a name with unknown versions alone. ``header`` lines become comments. A version
    PEP 440 cannot read is left out: the parser would refuse the file, and pip never
    installs such a version anyway.
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for name, versions in sorted(listing.packages.items()):
        valid = _valid(versions or ())
        if not valid:  # no version known: the name is what counts
            lines.append(name)
        for version in sorted(valid, key=Version):
            words = [name, version, *sorted(listing.hashes_of(name, version) or ())]
            if (requirements := listing.dependencies_of(name, version)) is not None:
                words += ["->", ", ".join(requirements)]
            lines.append(" ".join(words).rstrip())
    return "\n".join(lines) + "\n"
