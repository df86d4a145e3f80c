"""AWS CodeArtifact's REST-JSON API: the operations pipfleet calls, as botocore models them.

boto3 talks to it unmodified (``endpoint_url`` = the server's ``/codeartifact``), so
methods, request URIs, querystring names, response members and error shapes follow
botocore's ``codeartifact/2018-09-22/service-2.json``. The world holds one domain in
one account and region with one repository, and only PyPI packages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pipfleet.sandbox.app import CODEARTIFACT_API, PRIVATE_INDEX
from pipfleet.sandbox.index import version_key
from pipfleet.sandbox.world import CodeArtifactPackage, CodeArtifactRepository, World

FORMATS = frozenset({"npm", "pypi", "maven", "nuget", "generic", "ruby", "swift", "cargo"})
EXTERNAL_CONNECTION = "public:pypi"
MAX_TOKEN_SECONDS = 43200
DEFAULT_PAGE_SIZE = 100

_NAME = r"[^#/\s]{1,255}"
_PATTERNS = {
    "domain": r"[a-z][a-z0-9\-]{0,48}[a-z0-9]",
    "domain-owner": r"[0-9]{12}",
    "repository": r"[A-Za-z0-9][A-Za-z0-9._\-]{1,99}",
    "namespace": _NAME,
    "package": _NAME,
    "package-prefix": _NAME,
    "next-token": r"\S{1,2000}",
    "version": _NAME,
}
_ENUMS: dict[str, Collection[str]] = {
    "format": FORMATS,
    "status": ("Published", "Unfinished", "Unlisted", "Archived", "Disposed", "Deleted"),
    "originType": ("INTERNAL", "EXTERNAL", "UNKNOWN"),
    "sortBy": ("PUBLISHED_TIME",),
    "publish": ("ALLOW", "BLOCK"),
    "upstream": ("ALLOW", "BLOCK"),
    "endpointType": ("dualstack", "ipv4"),
}
_RANGES = {"max-results": (1, 1000), "duration": (0, MAX_TOKEN_SECONDS)}
# AWS names the model's members, not the querystring keys, in validation messages.
_MEMBERS = {
    "domain-owner": "domainOwner",
    "package-prefix": "packagePrefix",
    "max-results": "maxResults",
    "next-token": "nextToken",
    "duration": "durationSeconds",
    "version": "packageVersion",
}
_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


class AwsError(Exception):
    """An error botocore maps, by ``x-amzn-ErrorType``, to ``client.exceptions.<kind>``."""

    def __init__(self, status: int, kind: str, message: str, **members: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.body = {"message": message, **members}

    def response(self) -> Response:
        return _json(self.body, self.status, {"x-amzn-ErrorType": self.kind})


def _json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(
        body, status, headers={"x-amzn-RequestId": str(uuid.uuid4()), **(headers or {})}
    )


def _invalid(message: str) -> AwsError:
    return AwsError(400, "ValidationException", message, reason="FIELD_VALIDATION_FAILED")


def _not_found(resource_type: str, resource_id: str, message: str) -> AwsError:
    return AwsError(
        404,
        "ResourceNotFoundException",
        message,
        resourceId=resource_id,
        resourceType=resource_type,
    )


def _signed_region(request: Request) -> str:
    """The region of the request's SigV4 credential scope; any key and signature pass."""
    scheme, _, fields = request.headers.get("authorization", "").partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        raise AwsError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    scope = _CREDENTIAL.search(fields)
    if scope is None or "SignedHeaders=" not in fields or "Signature=" not in fields:
        raise AwsError(
            403,
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.",
        )
    if scope[2] != "codeartifact":
        raise AwsError(
            403,
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'codeartifact'.",
        )
    return scope[1]


def _query(request: Request, required: Collection[str]) -> dict[str, str]:
    params = dict(request.query_params)
    errors = [
        f"Value null at '{_MEMBERS.get(name, name)}' failed to satisfy constraint: "
        "Member must not be null"
        for name in required
        if name not in params
    ]
    for name, value in params.items():
        member = _MEMBERS.get(name, name)
        at = f"Value '{value}' at '{member}' failed to satisfy constraint: Member must"
        if name in _PATTERNS and not re.fullmatch(_PATTERNS[name], value):
            errors.append(f"{at} satisfy regular expression pattern: {_PATTERNS[name]}")
        elif name in _ENUMS and value not in _ENUMS[name]:
            errors.append(f"{at} satisfy enum value set: [{', '.join(_ENUMS[name])}]")
        elif name in _RANGES:
            low, high = _RANGES[name]
            if not value.isdigit() or not low <= int(value) <= high:
                errors.append(f"{at} have value between {low} and {high}")
    if errors:
        plural = "s" if len(errors) > 1 else ""
        raise _invalid(f"{len(errors)} validation error{plural} detected: " + "; ".join(errors))
    return params


def _page(items: list[dict[str, Any]], params: dict[str, str]) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and, when more follow, the ``nextToken`` member."""
    start = 0
    if "next-token" in params:
        try:
            start = int(base64.b64decode(params["next-token"], validate=True).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            start = -1
        if start < 0:
            raise _invalid("The pagination token is invalid.")
    end = start + int(params.get("max-results", DEFAULT_PAGE_SIZE))
    more = {"nextToken": base64.b64encode(str(end).encode()).decode()} if end < len(items) else {}
    return items[start:end], more


def _revision(package: str, version: str) -> str:
    return base64.b64encode(hashlib.sha256(f"{package}=={version}".encode()).digest()).decode()


def _origin_configuration(package: CodeArtifactPackage) -> dict[str, Any]:
    return {
        "restrictions": {"publish": package.origin.publish, "upstream": package.origin.upstream}
    }


@dataclass(frozen=True)
class _Call:
    world: World
    params: dict[str, str]
    region: str
    base_url: str

    def domain(self) -> CodeArtifactRepository:
        ca = self.world.codeartifact
        domain = self.params["domain"]
        owner = self.params.get("domain-owner", ca.domain_owner)
        # A domain lives in one region: a client configured for another cannot see it.
        if (domain, owner, self.region) != (ca.domain, ca.domain_owner, ca.region):
            raise _not_found(
                "domain", domain, f"Domain '{domain}' not found in account {owner} ({self.region})"
            )
        return ca

    def repository(self) -> CodeArtifactRepository:
        ca = self.domain()
        if self.params["repository"] != ca.repository:
            raise _not_found(
                "repository",
                self.params["repository"],
                f"Repository '{self.params['repository']}' not found in domain '{ca.domain}'",
            )
        return ca

    def package(self) -> CodeArtifactPackage:
        ca = self.repository()
        name = self.params["package"]
        # PyPI packages have no namespace; CodeArtifact finds any spelling of a PyPI name.
        found = self.params["format"] == "pypi" and "namespace" not in self.params
        package = ca.packages.get(canonicalize_name(name)) if found else None
        if package is None:
            raise _not_found(
                "package",
                name,
                f"Package '{name}' with format '{self.params['format']}' not found "
                f"in repository '{ca.repository}'",
            )
        return package

    def version(self) -> tuple[CodeArtifactPackage, str]:
        package = self.package()
        version = self.params["version"]
        if version not in package.versions:
            raise _not_found(
                "package-version",
                version,
                f"Package version '{version}' of package '{package.name}' with format "
                f"'pypi' not found in repository '{self.world.codeartifact.repository}'",
            )
        return package, version


def get_authorization_token(call: _Call) -> dict[str, Any]:
    call.domain()
    duration = int(call.params.get("duration", MAX_TOKEN_SECONDS))
    if 0 < duration < 900:
        raise _invalid("durationSeconds must be 0 or between 900 and 43200.")
    # 0 means "as long as the caller's role session"; sandbox credentials have none.
    token, expiry = call.world.issue_codeartifact_token(duration or MAX_TOKEN_SECONDS)
    return {"authorizationToken": token, "expiration": expiry.timestamp()}


def list_packages(call: _Call) -> dict[str, Any]:
    ca = call.repository()
    params = call.params
    prefix = canonicalize_name(params.get("package-prefix", ""))
    pypi = params.get("format", "pypi") == "pypi" and "namespace" not in params
    summaries = [
        {
            "format": "pypi",
            "package": package.name,
            "originConfiguration": _origin_configuration(package),
        }
        for key, package in sorted(ca.packages.items())
        if pypi
        and key.startswith(prefix)
        and params.get("publish", package.origin.publish) == package.origin.publish
        and params.get("upstream", package.origin.upstream) == package.origin.upstream
    ]
    page, more = _page(summaries, params)
    return {"packages": page, **more}


def list_package_versions(call: _Call) -> dict[str, Any]:
    package = call.package()
    params = call.params
    repository = call.world.codeartifact.repository
    published = list(package.versions.items())  # the world lists versions as published
    if params.get("sortBy") == "PUBLISHED_TIME":
        ordered = published[::-1]
    else:
        ordered = sorted(published, key=lambda item: version_key(item[0]), reverse=True)
    summaries = [
        {
            "version": version,
            "revision": _revision(package.name, version),
            "status": "Published",
            "origin": {
                "domainEntryPoint": (
                    {"repositoryName": repository}
                    if origin == "INTERNAL"
                    else {"externalConnectionName": EXTERNAL_CONNECTION}
                ),
                "originType": origin,
            },
        }
        for version, origin in ordered
        if params.get("originType", origin) == origin
        and params.get("status", "Published") == "Published"
    ]
    page, more = _page(summaries, params)
    latest = {"defaultDisplayVersion": published[-1][0]} if published else {}
    return {**latest, "format": "pypi", "package": package.name, "versions": page, **more}


def _version_answer(package: CodeArtifactPackage, version: str) -> dict[str, Any]:
    return {
        "format": "pypi",
        "package": package.name,
        "version": version,
        "versionRevision": _revision(package.name, version),
    }


def list_package_version_assets(call: _Call) -> dict[str, Any]:
    package, version = call.version()
    assets = [
        {
            "name": filename,
            "size": len(data),
            "hashes": {
                "MD5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                "SHA-1": hashlib.sha1(data, usedforsecurity=False).hexdigest(),
                "SHA-256": hashlib.sha256(data).hexdigest(),
                "SHA-512": hashlib.sha512(data).hexdigest(),
            },
        }
        for filename, data in sorted(call.world.codeartifact_assets(package.name, version).items())
    ]
    page, more = _page(assets, call.params)
    return {**_version_answer(package, version), "assets": page, **more}


def _dependency(requirement: str) -> dict[str, Any]:
    """A Requires-Dist line as a PackageDependency: the name and its specifier."""
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        name, _, rest = requirement.partition(" ")
        return {"dependencyType": "Requires-Dist", "package": name, "versionRequirement": rest}
    return {
        "dependencyType": "Requires-Dist",
        "package": parsed.name,
        "versionRequirement": str(parsed.specifier),
    }


def list_package_version_dependencies(call: _Call) -> dict[str, Any]:
    package, version = call.version()
    dependencies = [
        _dependency(line) for line in call.world.codeartifact_dependencies(package.name, version)
    ]
    # The operation takes no maxResults; CodeArtifact pages long lists all the same.
    page, more = _page(dependencies, {k: v for k, v in call.params.items() if k != "max-results"})
    return {**_version_answer(package, version), "dependencies": page, **more}


def describe_package(call: _Call) -> dict[str, Any]:
    package = call.package()
    return {
        "package": {
            "format": "pypi",
            "name": package.name,
            "originConfiguration": _origin_configuration(package),
        }
    }


def get_repository_endpoint(call: _Call) -> dict[str, Any]:
    ca = call.repository()
    path = f"{PRIVATE_INDEX}/{ca.domain}-{ca.domain_owner}/{call.params['format']}/{ca.repository}/"
    return {"repositoryEndpoint": call.base_url + path}


Operation = Callable[[_Call], dict[str, Any]]


def _endpoint(
    world: World, required: tuple[str, ...], operation: Operation
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            region = _signed_region(request)
            params = _query(request, required)
            base_url = str(request.base_url).rstrip("/")
            with world.lock:
                return _json(operation(_Call(world, params, region, base_url)))
        except AwsError as error:
            return error.response()

    return endpoint


def routes(world: World) -> list[BaseRoute]:
    repository = ("domain", "repository")
    package = (*repository, "format", "package")
    version = (*package, "version")
    operations: list[tuple[str, str, tuple[str, ...], Operation]] = [
        ("POST", "/v1/authorization-token", ("domain",), get_authorization_token),
        ("POST", "/v1/packages", repository, list_packages),
        ("POST", "/v1/package/versions", package, list_package_versions),
        ("GET", "/v1/package", package, describe_package),
        ("POST", "/v1/package/version/assets", version, list_package_version_assets),
        ("POST", "/v1/package/version/dependencies", version, list_package_version_dependencies),
        ("GET", "/v1/repository/endpoint", (*repository, "format"), get_repository_endpoint),
    ]
    return [
        Route(CODEARTIFACT_API + path, _endpoint(world, required, operation), methods=[method])
        for method, path, required, operation in operations
    ]
