"""The CodeArtifact API through boto3: which packages are private, their origins, and
what one version holds (its files' SHA-256, its dependencies).

A package counts as private under the ``internal`` policy when it has versions
of origin INTERNAL; with an external connection CodeArtifact also caches public
packages, whose versions are EXTERNAL only. ``listed`` counts everything listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import SSLError as BotocoreSSLError
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipfleet.config import CodeArtifactSettings
from pipfleet.engine.confusion import Origin
from pipfleet.engine.listing import Listing
from pipfleet.errors import RegistryAccessError, RegistryError


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
    keys = settings.keys
    try:
        return boto3.client(
            "codeartifact",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
            aws_access_key_id=keys.access_key_id if keys else None,
            aws_secret_access_key=keys.secret_access_key.reveal() if keys else None,
        )
    except BotoCoreError as exc:  # a named profile that does not exist fails here
        raise _explain(exc, settings) from None


# Error codes that say the credentials are refused: a new key, profile or policy is
# needed, not another try.
_REFUSED = frozenset(
    {
        "AccessDeniedException",
        "ExpiredTokenException",
        "IncompleteSignatureException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "UnrecognizedClientException",
    }
)
# Failing to find or load credentials at all (botocore raises these before any request).
_NO_CREDENTIALS = (
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
)


def _host(exc: BotoCoreError) -> str:
    """The endpoint's host of a connection error: its query names the domain, not a secret,
    but a host is what a person checks."""
    url = exc.kwargs.get("endpoint_url")
    try:
        return urlsplit(url).netloc if isinstance(url, str) else ""
    except ValueError:
        return ""


def _explain(exc: Exception, settings: CodeArtifactSettings) -> RegistryError:
    where = f"{settings.domain}/{settings.repository} ({settings.region})"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Error")
        message = exc.response.get("Error", {}).get("Message", "")
        said = f"{code}: {message}".rstrip(": ")
        if code in _REFUSED:
            return RegistryAccessError(
                f"CodeArtifact {where} refused the AWS credentials ({said}): check AWS_PROFILE "
                "or the access keys, and the IAM permissions the README lists"
            )
        if code == "ResourceNotFoundException":
            return RegistryAccessError(
                f"CodeArtifact {where}: {said}: check codeartifact.domain, domain_owner, "
                "repository and region"
            )
        return RegistryError(f"CodeArtifact {where}: {said}")
    if isinstance(exc, _NO_CREDENTIALS):
        return RegistryAccessError(
            f"no usable AWS credentials for CodeArtifact {where} ({exc}): set AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where boto3 finds a role"
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        at = f" at {_host(exc)}" if _host(exc) else ""
        return RegistryError(
            f"cannot reach CodeArtifact {where}{at}: check codeartifact.region (and "
            "endpoint_url, if set), the network and any proxy"
        )
    if isinstance(exc, BotocoreSSLError):
        at = f" at {_host(exc)}" if _host(exc) else ""
        return RegistryError(
            f"TLS failed with CodeArtifact {where}{at}: check endpoint_url and the CA "
            "certificates (AWS_CA_BUNDLE)"
        )
    # botocore's parameter validation lists one problem a line: one line for the user.
    first, *rest = str(exc).splitlines() or [type(exc).__name__]
    return RegistryError(f"CodeArtifact {where}: {' '.join([first, '; '.join(rest)]).strip()}")


class _Malformed(Exception):
    """An answer that lacks what the API reference says it always has."""


def _field(page: Any, key: str, what: str) -> list[Any]:
    """``page[key]`` as a list: botocore turns an empty or cut 200 into ``{}``, never believe it."""
    if not isinstance(page, dict) or not isinstance(page.get(key), list):
        raise _Malformed(f"{what} answered without its '{key}' list (an empty or cut response)")
    return list(page[key])


# What botocore's parser raises, instead of an error of its own, for JSON of another shape
# than the model's: a number where it has a list, a list where it has a structure, a string
# that is no timestamp.
_MISSHAPEN = (AttributeError, TypeError, ValueError)


def _next_page(pages: Iterator[Any], what: str) -> Any:
    """The next page of ``pages``, or None after the last one."""
    try:
        return next(pages, None)
    except _MISSHAPEN:
        raise _Malformed(f"{what} answered with JSON of the wrong shape") from None


def _collect(pages: Iterable[Any], key: str, what: str) -> tuple[list[Any], int]:
    """The ``key`` items of every page and how many requests they took, each page checked.

    The next page is asked for only once this one has been believed: a cut answer or a
    repeated ``nextToken`` (a loop botocore's paginator catches only between two pages in
    a row) stops the listing with an error instead of another request.
    """
    items: list[Any] = []
    requests = 0
    seen: set[str] = set()
    pending = iter(pages)
    while (page := _next_page(pending, what)) is not None:
        requests += 1
        items.extend(_field(page, key, what))
        token = page.get("nextToken")
        if not token:
            break
        if not isinstance(token, str) or token in seen:
            raise _Malformed(f"{what} repeated or garbled its nextToken")
        seen.add(token)
    return items, requests


def _paginated(
    client: Any, operation: str, key: str, what: str, **params: Any
) -> tuple[list[Any], int]:
    """``_collect`` of an operation botocore's model can paginate (boto3's paginator)."""
    return _collect(client.get_paginator(operation).paginate(**params), key, what)


def _pages_by_hand(call: Callable[..., dict[str, Any]], **params: Any) -> Iterator[Any]:
    """The pages of an operation that takes a ``nextToken`` but that botocore's model
    gives no paginator (ListPackageVersionDependencies)."""
    token: str | None = None
    while True:
        page = call(**params, **({"nextToken": token} if token else {}))
        yield page
        token = page.get("nextToken") if isinstance(page, dict) else None
        if not token:
            return


def _repository_params(settings: CodeArtifactSettings) -> dict[str, str]:
    """The parameters naming the PyPI side of the configured repository, on every call."""
    return {
        "domain": settings.domain,
        "domainOwner": settings.domain_owner,
        "repository": settings.repository,
        "format": "pypi",
    }


def _package_name(summary: Any) -> str:
    if not isinstance(summary, dict) or not isinstance(summary.get("package"), str):
        raise _Malformed("ListPackages listed a package without a name")
    if summary.get("format", "pypi") != "pypi":
        raise _Malformed(f"ListPackages listed a {summary.get('format')} package for format pypi")
    return str(summary["package"])


def _version(package: str, summary: Any) -> tuple[str, str]:
    """(origin type, version) of one PackageVersionSummary, checked."""
    if not isinstance(summary, dict) or not isinstance(summary.get("version"), str):
        raise _Malformed(f"ListPackageVersions of {package} listed a version without a number")
    origin = summary.get("origin", {})
    kind = origin.get("originType", "UNKNOWN") if isinstance(origin, dict) else None
    if kind not in ("INTERNAL", "EXTERNAL", "UNKNOWN"):
        raise _Malformed(f"ListPackageVersions of {package} gave origin {kind!r}")
    return str(kind), str(summary["version"])


def fetch_repository(settings: CodeArtifactSettings, client: Any = None) -> RepositoryListing:
    """Every PyPI package of the repository with its versions' origins (ListPackages + versions).

    Every answer is checked against the API reference before it is believed: a listing
    built from a cut answer would make every private package look public.
    """
    client = client or _client(settings)
    where = _repository_params(settings)
    try:
        summaries, requests = _paginated(
            client, "list_packages", "packages", "ListPackages", **where
        )
        packages = []
        for summary in summaries:
            name = _package_name(summary)
            versions, calls = _paginated(
                client,
                "list_package_versions",
                "versions",
                f"ListPackageVersions of {name}",
                package=name,
                **where,
            )
            requests += calls
            by_origin: dict[str, list[str]] = {"INTERNAL": [], "EXTERNAL": []}
            for version in versions:
                origin, number = _version(name, version)
                by_origin.setdefault(origin, []).append(number)
            restrictions = (summary.get("originConfiguration") or {}).get("restrictions") or {}
            packages.append(
                PackageRecord(
                    name=name,
                    internal_versions=tuple(by_origin["INTERNAL"]),
                    external_versions=tuple(by_origin["EXTERNAL"]),
                    upstream_allowed=restrictions.get("upstream", "ALLOW") == "ALLOW",
                )
            )
    except (ClientError, BotoCoreError, _Malformed) as exc:
        raise _explain(exc, settings) from None
    return RepositoryListing(tuple(sorted(packages, key=lambda p: p.name)), requests)


@dataclass(frozen=True)
class VersionContents:
    """What CodeArtifact holds for one package version: it never changes once published."""

    hashes: tuple[str, ...]  # "sha256:<hex>" of every asset, sorted
    dependencies: tuple[str, ...]  # PEP 508 requirements, as CodeArtifact lists them
    requests: int  # API calls it took


def _asset_hash(where: str, asset: Any) -> str:
    hashes = asset.get("hashes") if isinstance(asset, dict) else None
    digest = hashes.get("SHA-256") if isinstance(hashes, dict) else None
    if not isinstance(digest, str) or len(digest) != 64:
        raise _Malformed(f"ListPackageVersionAssets of {where} listed an asset without a SHA-256")
    try:
        int(digest, 16)
    except ValueError:
        raise _Malformed(
            f"ListPackageVersionAssets of {where} gave a SHA-256 that is not hex"
        ) from None
    return f"sha256:{digest.lower()}"


def _requirement(where: str, dependency: Any) -> str:
    """A PackageDependency as a PEP 508 requirement string (``name`` + ``versionRequirement``)."""
    name = dependency.get("package") if isinstance(dependency, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise _Malformed(f"ListPackageVersionDependencies of {where} listed one without a name")
    spec = dependency.get("versionRequirement") or ""
    if not isinstance(spec, str):
        raise _Malformed(f"ListPackageVersionDependencies of {where} gave a garbled requirement")
    try:
        return str(Requirement(f"{name.strip()}{spec.strip()}"))
    except InvalidRequirement:
        try:  # a requirement CodeArtifact wrote its own way: the name still counts
            return str(Requirement(name.strip()))
        except InvalidRequirement:
            raise _Malformed(
                f"ListPackageVersionDependencies of {where} listed {name!r}, not a package name"
            ) from None


def fetch_version(
    settings: CodeArtifactSettings, package: str, version: str, client: Any = None
) -> VersionContents:
    """One version's asset hashes and dependencies (ListPackageVersionAssets and
    ListPackageVersionDependencies, every page).

    An empty or cut answer is a RegistryError, never "no files" or "no dependencies":
    either would make a lock look foreign or hide a private dependency.
    """
    client = client or _client(settings)
    params = {**_repository_params(settings), "package": package, "packageVersion": version}
    where = f"{package} {version}"
    try:
        assets, requests = _paginated(
            client,
            "list_package_version_assets",
            "assets",
            f"ListPackageVersionAssets of {where}",
            **params,
        )
        dependencies, calls = _collect(
            _pages_by_hand(client.list_package_version_dependencies, **params),
            "dependencies",
            f"ListPackageVersionDependencies of {where}",
        )
        hashes = tuple(sorted({_asset_hash(where, asset) for asset in assets}))
        requirements = tuple(
            dict.fromkeys(_requirement(where, dependency) for dependency in dependencies)
        )
    except (ClientError, BotoCoreError, _Malformed) as exc:
        raise _explain(exc, settings) from None
    return VersionContents(hashes, requirements, requests + calls)


def authorization_token(settings: CodeArtifactSettings, client: Any = None) -> str:
    """A fresh CodeArtifact token (GetAuthorizationToken); the caller keeps it secret."""
    client = client or _client(settings)
    try:
        answer = client.get_authorization_token(
            domain=settings.domain, domainOwner=settings.domain_owner
        )
    except (ClientError, BotoCoreError) as exc:
        raise _explain(exc, settings) from None
    except _MISSHAPEN:
        raise _explain(
            _Malformed("GetAuthorizationToken answered with JSON of the wrong shape"), settings
        ) from None
    token = answer.get("authorizationToken") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise _explain(_Malformed("GetAuthorizationToken answered without a token"), settings)
    return token
