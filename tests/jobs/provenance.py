"""A sandbox org with each lock-provenance case of issue 11, for the scan and fix tests.

orb-api 1.3.0 needs orb-common; orb-shop pins orb-http and orb-api to CodeArtifact and
its lock (current for the Pipfile) holds a foreign orb-http file; orb-feed pins the same
without a lock and does not list orb-common either.
"""

from __future__ import annotations

import hashlib
import tomllib

import httpx

from pipfleet.engine.lockfile import HashScheme, dump_lock, pipfile_hash
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import CodeArtifactPackage, PackageOrigin, World

PROVENANCE_PIPFILE = """\
[[source]]
name = "pypi"
url = "https://pypi.org/simple"
verify_ssl = true

[[source]]
name = "codeartifact"
url = "https://example.invalid/simple"
verify_ssl = true

[packages]
orb-http = {version = "==2.5.1", index = "codeartifact"}
orb-api = {version = "==1.3.0", index = "codeartifact"}
"""
FOREIGN = "sha256:" + "ab" * 32


def asset_hashes(world: World, name: str, version: str) -> list[str]:
    files = world.codeartifact_assets(name, version).values()
    return sorted(f"sha256:{hashlib.sha256(data).hexdigest()}" for data in files)


def version_requests(sandbox: SandboxServer) -> dict[str, int]:
    """ListPackageVersionAssets / ListPackageVersionDependencies calls since the last reset."""
    document = httpx.get(sandbox.urls.control + "/counters").json()
    httpx.post(sandbox.urls.control + "/counters/reset")
    found = {"assets": 0, "dependencies": 0}
    for row in document["requests"]:
        for kind in found:
            if row["route"].endswith(f"/v1/package/version/{kind}"):
                found[kind] += row["count"]
    return found


def provenance_lock(world: World) -> str:
    """orb-shop's lock, as pipenv would write it, but with orb-http from another index."""
    data = tomllib.loads(PROVENANCE_PIPFILE)

    def entry(version: str, hashes: list[str]) -> dict[str, object]:
        return {"hashes": hashes, "index": "codeartifact", "version": f"=={version}"}

    lock = {
        "_meta": {
            "hash": {"sha256": pipfile_hash(data, HashScheme.LEGACY)},
            "pipfile-spec": 6,
            "requires": {},
            "sources": data["source"],
        },
        "default": {
            "orb-http": entry("2.5.1", [FOREIGN]),
            "orb-api": entry("1.3.0", asset_hashes(world, "orb-api", "1.3.0")),
            "orb-common": entry("2.1.0", asset_hashes(world, "orb-common", "2.1.0")),
        },
        "develop": {},
    }
    return dump_lock(lock)


def plant_provenance(world: World) -> World:
    for name, version in (("orb-http", "2.5.1"), ("orb-api", "1.3.0")):
        world.codeartifact.packages[name] = CodeArtifactPackage(
            name, {version: "INTERNAL"}, PackageOrigin("ALLOW", "BLOCK")
        )
    world.codeartifact.packages["orb-api"].dependencies["1.3.0"] = ["orb-common>=2.0", "requests"]
    shop = {"Pipfile": PROVENANCE_PIPFILE, "Pipfile.lock": provenance_lock(world)}
    world.add_repository("acme", "orb-shop", {k: v.encode() for k, v in shop.items()})
    world.add_repository("acme", "orb-feed", {"Pipfile": PROVENANCE_PIPFILE.encode()})
    return world
