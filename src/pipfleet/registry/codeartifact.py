"""The CodeArtifact API through boto3: which packages are private, and their origins.

A package counts as private under the ``internal`` policy when it has versions
of origin INTERNAL; with an external connection CodeArtifact also caches public
packages, whose versions are EXTERNAL only. ``listed`` counts everything listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from packaging.utils import canonicalize_name

from pipfleet.config import CodeArtifactSettings
from pipfleet.engine.confusion import Origin
from pipfleet.engine.listing import Listing
from pipfleet.errors import RegistryError


@dataclass(frozen=True)
class PackageRecord:
    name: str
    internal_versions: tuple[str, ...]
    external_versions: tuple[str, ...]
    upstream_allowed: bool

    @property
    def origin(self) -> Origin:
        if not self.internal_versions:
            return Origin.EXTERNAL
        return Origin.MIXED if self.external_versions else Origin.INTERNAL


@dataclass(frozen=True)
class RepositoryListing:
    packages: tuple[PackageRecord, ...]
    requests: int  # API calls it took

    def listing(self, policy: str) -> Listing:
        """The engine's listing of private names under ``policy`` ("internal" or "listed")."""
        chosen = [p for p in self.packages if policy == "listed" or p.origin is not Origin.EXTERNAL]
        return Listing(
            {
                canonicalize_name(p.name): frozenset(p.internal_versions + p.external_versions)
                for p in chosen
            }
        )


def _client(settings: CodeArtifactSettings) -> Any:
    return boto3.client(
        "codeartifact",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


def _explain(exc: Exception, settings: CodeArtifactSettings) -> RegistryError:
    where = f"{settings.domain}/{settings.repository} ({settings.region})"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Error")
        message = exc.response.get("Error", {}).get("Message", "")
        return RegistryError(f"CodeArtifact {where}: {code}: {message}".rstrip(": "))
    return RegistryError(f"CodeArtifact {where}: {exc}")


def _paged(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> tuple[list[Any], int]:
    items: list[Any] = []
    requests = 0
    token: str | None = None
    while True:
        page = call(**params, **({"nextToken": token} if token else {}))
        requests += 1
        items.extend(page.get(key, []))
        token = page.get("nextToken")
        if not token:
            return items, requests


def fetch_repository(settings: CodeArtifactSettings, client: Any = None) -> RepositoryListing:
    """Every PyPI package of the repository with its versions' origins (ListPackages + versions)."""
    client = client or _client(settings)
    where = {
        "domain": settings.domain,
        "domainOwner": settings.domain_owner,
        "repository": settings.repository,
        "format": "pypi",
    }
    try:
        summaries, requests = _paged(client.list_packages, "packages", **where)
        packages = []
        for summary in summaries:
            versions, calls = _paged(
                client.list_package_versions,
                "versions",
                package=summary["package"],
                **where,
            )
            requests += calls
            by_origin: dict[str, list[str]] = {"INTERNAL": [], "EXTERNAL": []}
            for version in versions:
                origin = version.get("origin", {}).get("originType", "UNKNOWN")
                by_origin.setdefault(origin, []).append(version["version"])
            restrictions = summary.get("originConfiguration", {}).get("restrictions", {})
            packages.append(
                PackageRecord(
                    name=summary["package"],
                    internal_versions=tuple(by_origin["INTERNAL"]),
                    external_versions=tuple(by_origin["EXTERNAL"]),
                    upstream_allowed=restrictions.get("upstream", "ALLOW") == "ALLOW",
                )
            )
    except (ClientError, BotoCoreError) as exc:
        raise _explain(exc, settings) from None
    return RepositoryListing(tuple(sorted(packages, key=lambda p: p.name)), requests)


def authorization_token(settings: CodeArtifactSettings, client: Any = None) -> str:
    """A fresh CodeArtifact token (GetAuthorizationToken); the caller keeps it secret."""
    client = client or _client(settings)
    try:
        answer = client.get_authorization_token(
            domain=settings.domain, domainOwner=settings.domain_owner
        )
    except (ClientError, BotoCoreError) as exc:
        raise _explain(exc, settings) from None
    return str(answer["authorizationToken"])
