"""The package catalog: private and public versions, and the specifiers drawn over them."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pipfleet.sandbox.makefleet.names import _PRIVATE_RUNTIME, PRIVATE_NAMES, PUBLIC

_DOMAIN_OWNER = "111122223333"
_REGION = "us-east-1"
_REPOSITORY = "private"


def _codeartifact_url(domain: str) -> str:
    """The private index URL as Pipfiles write it, token left to the environment."""
    return (
        f"https://aws:${{CODEARTIFACT_AUTH_TOKEN}}@{domain}-{_DOMAIN_OWNER}.d.codeartifact."
        f"{_REGION}.amazonaws.com/pypi/{_REPOSITORY}/simple/"
    )


def _key_of(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class _Catalog:
    internal: dict[str, list[str]]
    external: dict[str, list[str]]
    origin: dict[str, str]  # name -> upstream setting that differs from the default
    pypi: dict[str, list[str]]
    url: str
    # name -> PEP 508 requirements on other private packages, the same for every version
    dependencies: dict[str, list[str]]


class _PackageDraws:
    """Draws over the catalog; the generator owns the state, one rng drawn in a fixed order."""

    rng: random.Random
    seed: int
    org: str
    tally: Counter[str]
    catalog: _Catalog

    # -- packages ------------------------------------------------------------

    def _catalog(self) -> _Catalog:
        rng = self.rng
        internal: dict[str, list[str]] = {}
        for name in PRIVATE_NAMES:
            major, minor, patch = rng.randint(0, 3), rng.randint(1, 5), 0
            versions = []
            for _ in range(rng.randint(2, 6)):
                versions.append(f"{major}.{minor}.{patch}")
                step = rng.random()
                if step < 0.5:
                    patch += 1
                elif step < 0.85:
                    minor, patch = minor + 1, 0
                else:
                    major, minor, patch = major + 1, 0, 0
            internal[name] = versions
        confusion = sorted(rng.sample(PRIVATE_NAMES, 5))
        pypi = {name: list(versions) for name, versions in PUBLIC.items()}
        for name in confusion:
            # An attacker's squat outbids every real version; an old name clash does not.
            pypi[name] = ["99.0.0"] if rng.random() < 0.6 else ["0.0.1", "0.0.2"]
        mixed = confusion[: rng.randint(1, 2)]
        external = {name: pypi[name][-1:] for name in mixed}
        for name in sorted(rng.sample(sorted(PUBLIC), 12)):
            cached = rng.sample(PUBLIC[name], 1 + (len(PUBLIC[name]) > 2))
            external[name] = sorted(cached, key=_key_of)
        drift = [mixed[0], *rng.sample([n for n in PRIVATE_NAMES if n not in mixed], 1)]
        origin = {name: "ALLOW" for name in drift[: rng.randint(1, 2)]}
        dependencies = self._private_dependencies(internal)
        self.tally["private_packages"] = len(internal)
        self.tally["confusion_candidates"] = len(confusion)
        self.tally["private_dependents"] = len(dependencies)
        return _Catalog(
            internal, external, origin, pypi, _codeartifact_url(self.org.lower()), dependencies
        )

    def _private_dependencies(self, internal: dict[str, list[str]]) -> dict[str, list[str]]:
        """Which private packages need others: a fifth need orb-common (the shared library
        an org grows), two need one of those (a chain of two), orb-testing needs orb-common
        half the time. No cycles, and every requirement is met by a CodeArtifact version.

        Drawn from an rng of its own, so adding this left every other draw, and so every
        Pipfile of a seed, as it was.
        """
        rng = random.Random(f"{self.seed}:private-dependencies")
        base = "orb-common"

        def on(name: str) -> str:
            return f"{name}>={internal[name][0]}"

        runtime = [name for name in _PRIVATE_RUNTIME if name != base]
        middle = sorted(rng.sample(runtime, max(1, len(runtime) // 5)))
        dependencies = {name: [on(base)] for name in middle}
        rest = [name for name in runtime if name not in middle]
        for name in sorted(rng.sample(rest, 2)):
            dependencies[name] = [on(rng.choice(middle))]
        if rng.random() < 0.5:
            dependencies["orb-testing"] = [on(base)]
        return dict(sorted(dependencies.items()))

    def _spec(self, versions: Sequence[str]) -> tuple[str, str]:
        """A specifier over ``versions`` and the version a lock would resolve for it."""
        rng = self.rng
        latest = versions[-1]
        pick = rng.choice(versions)
        kind = rng.random()
        if kind < 0.35:
            return f"=={pick}", pick
        if kind < 0.55:
            return "*", latest
        if kind < 0.7:
            return f">={pick}", latest
        major = pick.split(".")[0]
        same_major = [v for v in versions if v.split(".")[0] == major]
        if kind < 0.88:
            best = max((v for v in same_major if _key_of(v) >= _key_of(pick)), key=_key_of)
            sep = ", " if rng.random() < 0.15 else ","
            return f">={pick}{sep}<{int(major) + 1}", best
        floor = ".".join(pick.split(".")[:2])
        best = max((v for v in same_major if _key_of(v) >= _key_of(floor)), key=_key_of)
        return f"~={floor}", best

    def _distinct(self, pool: Sequence[str], count: int, taken: set[str]) -> list[str]:
        """``count`` names not yet taken, earlier names of ``pool`` favoured."""
        rng = self.rng
        names: list[str] = []
        free = [name for name in pool if name not in taken]
        while free and len(names) < count:
            name = free[min(int(rng.expovariate(1 / 6)), len(free) - 1)]
            free.remove(name)
            names.append(name)
            taken.add(name)
        return names
