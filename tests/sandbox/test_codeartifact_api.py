"""boto3, unmodified, against the sandbox's CodeArtifact API."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from packaging.utils import canonicalize_name
from tests.distributions import sdist, wheel

from pipfleet.sandbox.distributions import placeholder_wheel
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import CodeArtifactPackage, PackageOrigin, World


def make_client(sandbox: SandboxServer, region: str | None = None) -> Any:
    return boto3.client(
        "codeartifact",
        region_name=region or sandbox.world.codeartifact.region,
        endpoint_url=sandbox.urls.codeartifact_endpoint,
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )


@pytest.fixture
def client(sandbox: SandboxServer) -> Any:
    return make_client(sandbox)


@pytest.fixture
def location(world: World) -> dict[str, str]:
    ca = world.codeartifact
    return {"domain": ca.domain, "domainOwner": ca.domain_owner, "repository": ca.repository}


def test_get_authorization_token(client: Any, world: World, location: dict[str, str]) -> None:
    answer = client.get_authorization_token(domain=location["domain"], durationSeconds=900)
    assert world.codeartifact_token_valid(answer["authorizationToken"])
    expected = datetime.now(UTC) + timedelta(seconds=900)
    assert abs(answer["expiration"] - expected) < timedelta(seconds=5)

    with pytest.raises(client.exceptions.ValidationException, match="durationSeconds"):
        client.get_authorization_token(domain=location["domain"], durationSeconds=60)


def test_list_packages_pages_through_every_package(
    client: Any, world: World, location: dict[str, str]
) -> None:
    for name in ("orb-widgets", "zeta"):
        world.codeartifact.packages[name] = CodeArtifactPackage(
            name, {"1.0": "INTERNAL"}, PackageOrigin("ALLOW", "BLOCK")
        )
    pages = list(
        client.get_paginator("list_packages").paginate(
            **location, format="pypi", PaginationConfig={"PageSize": 1}
        )
    )
    assert [len(page["packages"]) for page in pages] == [1] * 5
    assert all("nextToken" in page for page in pages[:-1]) and "nextToken" not in pages[-1]
    summaries = [page["packages"][0] for page in pages]
    assert [s["package"] for s in summaries] == [
        "orb-common",
        "orb-events",
        "orb-widgets",
        "requests",
        "zeta",
    ]
    assert summaries[1] == {
        "format": "pypi",
        "package": "orb-events",
        "originConfiguration": {"restrictions": {"publish": "ALLOW", "upstream": "ALLOW"}},
    }
    assert world.counters[("POST", "/codeartifact/v1/packages")] == 5


def test_list_packages_filters(client: Any, location: dict[str, str]) -> None:
    def names(**filters: str) -> list[str]:
        return [p["package"] for p in client.list_packages(**location, **filters)["packages"]]

    assert names(packagePrefix="ORB_") == ["orb-common", "orb-events"]
    assert names(upstream="BLOCK") == ["orb-common"]
    assert names(publish="BLOCK") == ["requests"]
    assert names(format="npm") == []


def test_list_package_versions_by_origin(client: Any, location: dict[str, str]) -> None:
    def versions(**filters: str) -> dict[str, Any]:
        return client.list_package_versions(
            **location, format="pypi", package="Orb_Events", **filters
        )

    internal = versions(originType="INTERNAL")
    assert internal["package"] == "orb-events"
    assert [(v["version"], v["status"]) for v in internal["versions"]] == [("1.0.0", "Published")]
    assert internal["versions"][0]["origin"] == {
        "domainEntryPoint": {"repositoryName": location["repository"]},
        "originType": "INTERNAL",
    }
    external = versions(originType="EXTERNAL")["versions"]
    assert [v["version"] for v in external] == ["0.1.0"]
    assert external[0]["origin"]["domainEntryPoint"] == {"externalConnectionName": "public:pypi"}
    assert versions(originType="UNKNOWN")["versions"] == []
    assert versions(status="Archived")["versions"] == []
    every = versions()
    assert [v["version"] for v in every["versions"]] == ["1.0.0", "0.1.0"]
    assert all(v["revision"] for v in every["versions"])

    pages = client.get_paginator("list_package_versions").paginate(
        **location, format="pypi", package="orb-events", PaginationConfig={"PageSize": 1}
    )
    assert [[v["version"] for v in page["versions"]] for page in pages] == [["1.0.0"], ["0.1.0"]]


def test_describe_package_origin_restrictions(client: Any, location: dict[str, str]) -> None:
    def restrictions(package: str) -> dict[str, str]:
        answer = client.describe_package(**location, format="pypi", package=package)["package"]
        assert answer["format"] == "pypi" and answer["name"] == canonicalize_name(package)
        return dict(answer["originConfiguration"]["restrictions"])

    assert restrictions("orb-events") == {"publish": "ALLOW", "upstream": "ALLOW"}
    assert restrictions("Orb.Common") == {"publish": "ALLOW", "upstream": "BLOCK"}
    assert restrictions("requests") == {"publish": "BLOCK", "upstream": "ALLOW"}


def test_get_repository_endpoint(
    client: Any, sandbox: SandboxServer, location: dict[str, str]
) -> None:
    endpoint = client.get_repository_endpoint(**location, format="pypi")["repositoryEndpoint"]
    assert endpoint == sandbox.urls.private_index.removesuffix("simple/")


def test_unknown_resources(client: Any, sandbox: SandboxServer, location: dict[str, str]) -> None:
    cases = [
        ({"repository": "elsewhere"}, "repository"),
        ({"domain": "other"}, "domain"),
        ({"domainOwner": "999988887777"}, "domain"),
        ({"package": "orb-nowhere"}, "package"),
        ({"format": "npm"}, "package"),
    ]
    for change, resource_type in cases:
        request = {**location, "format": "pypi", "package": "orb-events", **change}
        with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
            client.describe_package(**request)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404, change
        assert caught.value.response["resourceType"] == resource_type, change

    # A domain lives in one region: a client configured for another cannot find it.
    elsewhere = make_client(sandbox, region="eu-west-1")
    with pytest.raises(elsewhere.exceptions.ResourceNotFoundException):
        elsewhere.get_authorization_token(domain=location["domain"])


def test_invalid_parameters(client: Any, location: dict[str, str]) -> None:
    with pytest.raises(client.exceptions.ValidationException, match="format"):
        client.get_repository_endpoint(**location, format="wheelhouse")
    with pytest.raises(client.exceptions.ValidationException, match="pagination token"):
        client.list_packages(**location, nextToken="not-a-token")
    with pytest.raises(client.exceptions.ValidationException, match="repository"):
        client.list_packages(domain=location["domain"], repository="a" * 101)


def test_unsigned_requests_are_refused(sandbox: SandboxServer, world: World) -> None:
    endpoint = sandbox.urls.codeartifact_endpoint
    response = httpx.post(f"{endpoint}/v1/authorization-token", params={"domain": "acme"})
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.json() == {"message": "Missing Authentication Token"}
    assert world.codeartifact_tokens == {}

    response = httpx.get(
        f"{endpoint}/v1/package",
        params={"domain": "acme", "repository": "private", "format": "pypi", "package": "x"},
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=00"
        },
    )
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_list_package_version_assets(client: Any, world: World, location: dict[str, str]) -> None:
    answer = client.list_package_version_assets(
        **location, format="pypi", package="Orb.Common", packageVersion="2.1.0"
    )
    filename, data = placeholder_wheel("orb-common", "2.1.0")
    assert answer["format"] == "pypi" and answer["package"] == "orb-common"
    assert answer["version"] == "2.1.0" and "nextToken" not in answer
    assert answer["assets"] == [
        {
            "name": filename,
            "size": len(data),
            "hashes": {
                "MD5": hashlib.md5(data).hexdigest(),
                "SHA-1": hashlib.sha1(data).hexdigest(),
                "SHA-256": hashlib.sha256(data).hexdigest(),
                "SHA-512": hashlib.sha512(data).hexdigest(),
            },
        }
    ]
    versions = client.list_package_versions(**location, format="pypi", package="orb-common")
    revisions = {v["version"]: v["revision"] for v in versions["versions"]}
    assert answer["versionRevision"] == revisions["2.1.0"]

    # A version with files of its own is served with those, and no placeholder.
    built = dict(
        [wheel("orb-events", "1.0.0"), sdist("orb-events", "1.0.0"), wheel("orb-events", "1.1.0")]
    )
    for name, content in built.items():
        world.add_file(name, content)
    pages = list(
        client.get_paginator("list_package_version_assets").paginate(
            **location,
            format="pypi",
            package="orb-events",
            packageVersion="1.0.0",
            PaginationConfig={"PageSize": 1},
        )
    )
    assert [len(page["assets"]) for page in pages] == [1, 1]
    assert "nextToken" in pages[0] and "nextToken" not in pages[1]
    assets = [asset for page in pages for asset in page["assets"]]
    assert [a["name"] for a in assets] == [
        "orb_events-1.0.0-py3-none-any.whl",
        "orb_events-1.0.0.tar.gz",
    ]
    assert all(
        a["hashes"]["SHA-256"] == hashlib.sha256(built[a["name"]]).hexdigest() for a in assets
    )


def test_list_package_version_dependencies(
    client: Any, world: World, location: dict[str, str]
) -> None:
    package = world.codeartifact.packages["orb-events"]
    package.dependencies["1.0.0"] = [
        "orb-common>=2.0,<3",
        "requests",
        'Orb_Extras==1.0; python_version < "3.12"',
    ]
    answer = client.list_package_version_dependencies(
        **location, format="pypi", package="orb-events", packageVersion="1.0.0"
    )
    assert answer["format"] == "pypi" and answer["package"] == "orb-events"
    assert answer["version"] == "1.0.0" and answer["versionRevision"]
    assert answer["dependencies"] == [
        {
            "dependencyType": "Requires-Dist",
            "package": "orb-common",
            "versionRequirement": "<3,>=2.0",
        },
        {"dependencyType": "Requires-Dist", "package": "requests", "versionRequirement": ""},
        {"dependencyType": "Requires-Dist", "package": "Orb_Extras", "versionRequirement": "==1.0"},
    ]
    none = client.list_package_version_dependencies(
        **location, format="pypi", package="orb-common", packageVersion="2.0.0"
    )
    assert none["dependencies"] == [] and "nextToken" not in none

    # Long lists come in pages of 100, followed with nextToken (the operation has no maxResults).
    package.dependencies["1.0.0"] = [f"orb-dep-{n:03}" for n in range(150)]
    first = client.list_package_version_dependencies(
        **location, format="pypi", package="orb-events", packageVersion="1.0.0"
    )
    second = client.list_package_version_dependencies(
        **location,
        format="pypi",
        package="orb-events",
        packageVersion="1.0.0",
        nextToken=first["nextToken"],
    )
    names = [d["package"] for d in first["dependencies"] + second["dependencies"]]
    assert names == [f"orb-dep-{n:03}" for n in range(150)] and "nextToken" not in second


def test_unknown_package_versions(client: Any, location: dict[str, str]) -> None:
    operations = (client.list_package_version_assets, client.list_package_version_dependencies)
    cases = [
        ({"packageVersion": "9.9.9"}, "package-version"),
        ({"packageVersion": "2.1"}, "package-version"),  # CodeArtifact matches versions as written
        ({"package": "orb-nowhere"}, "package"),
        ({"repository": "elsewhere"}, "repository"),
    ]
    for operation in operations:
        for change, resource_type in cases:
            request = {
                **location,
                "format": "pypi",
                "package": "orb-common",
                "packageVersion": "2.1.0",
                **change,
            }
            with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
                operation(**request)
            assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404, change
            assert caught.value.response["resourceType"] == resource_type, change
        with pytest.raises(client.exceptions.ValidationException, match="packageVersion"):
            operation(**location, format="pypi", package="orb-common", packageVersion="a b")
