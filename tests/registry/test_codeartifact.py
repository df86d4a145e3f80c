from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from botocore.config import Config

from pipfleet.config import AwsKeys, CodeArtifactSettings, Secret
from pipfleet.engine.confusion import Origin
from pipfleet.errors import RegistryAccessError, RegistryError
from pipfleet.registry.codeartifact import authorization_token, fetch_repository, fetch_version
from pipfleet.sandbox.server import SandboxServer
from pipfleet.sandbox.world import CodeArtifactPackage, PackageOrigin, World


def settings_for(server: SandboxServer, **overrides: str) -> CodeArtifactSettings:
    ca = server.world.codeartifact
    values = {
        "domain": ca.domain,
        "domain_owner": ca.domain_owner,
        "region": ca.region,
        "repository": ca.repository,
        "endpoint_url": server.urls.codeartifact_endpoint,
    } | overrides
    return CodeArtifactSettings(**values)


def add_generated_packages(world: World, count: int) -> list[str]:
    names = [f"orb-gen-{index:03d}" for index in range(count)]
    for name in names:
        world.codeartifact.packages[name] = CodeArtifactPackage(
            name, {"1.0": "INTERNAL"}, PackageOrigin("ALLOW", "BLOCK")
        )
    return names


def test_listing_classifies_origins_and_policies(sandbox: SandboxServer, world: World) -> None:
    add_generated_packages(world, 150)  # more than one page of ListPackages
    repository = fetch_repository(settings_for(sandbox))
    by_name = {p.name: p for p in repository.packages}
    assert by_name["orb-common"].origin is Origin.INTERNAL
    assert by_name["orb-events"].origin is Origin.MIXED and by_name["orb-events"].upstream_allowed
    assert (
        by_name["requests"].origin is Origin.EXTERNAL and not by_name["orb-common"].upstream_allowed
    )
    internal = repository.listing("internal")
    assert "orb-common" in internal and "orb-events" in internal and "requests" not in internal
    assert internal.versions("orb-common") == frozenset({"2.0.0", "2.1.0"})
    assert "requests" in repository.listing("listed")
    assert repository.requests >= 2 + len(by_name)  # two ListPackages pages, versions each


def test_a_listing_of_several_pages_comes_back_complete(
    sandbox: SandboxServer, world: World
) -> None:
    # The sandbox answers 100 a page, as CodeArtifact does without maxResults: 250 packages
    # take three ListPackages pages, and 230 versions three ListPackageVersions pages.
    generated = add_generated_packages(world, 250)
    versions = {f"1.{minor}": "INTERNAL" for minor in range(230)}
    world.codeartifact.packages["orb-big"] = CodeArtifactPackage(
        "orb-big", versions, PackageOrigin("ALLOW", "BLOCK")
    )
    repository = fetch_repository(settings_for(sandbox))
    by_name = {p.name: p for p in repository.packages}
    assert set(generated) | {"orb-big", "orb-common", "orb-events", "requests"} == set(by_name)
    assert set(by_name["orb-big"].internal_versions) == set(versions)
    calls = {route: n for (_, route), n in world.counters.items()}
    assert calls == {"/codeartifact/v1/packages": 3, "/codeartifact/v1/package/versions": 256}
    assert repository.requests == 3 + 256


def test_dependencies_of_several_pages_come_back_complete(
    sandbox: SandboxServer, world: World
) -> None:
    # ListPackageVersionDependencies has no paginator in botocore's model: paged by hand.
    required = [f"orb-dep-{index:03d}" for index in range(130)]
    world.codeartifact.packages["orb-events"].dependencies["1.0.0"] = required
    contents = fetch_version(settings_for(sandbox), "orb-events", "1.0.0")
    assert contents.dependencies == tuple(required)
    assert world.counters[("POST", "/codeartifact/v1/package/version/dependencies")] == 2
    assert contents.requests == 1 + 2


def test_token_comes_from_get_authorization_token(sandbox: SandboxServer) -> None:
    token = authorization_token(settings_for(sandbox))
    page = httpx.get(sandbox.urls.private_index + "orb-common/", auth=("aws", token))
    assert page.status_code == 200


def test_a_parameter_botocore_rejects_is_one_line() -> None:
    settings = CodeArtifactSettings("d", "111122223333", "us-east-1", "r")
    with pytest.raises(RegistryError) as raised:
        fetch_repository(settings, once(settings))
    assert str(raised.value) == (
        "CodeArtifact d/r (us-east-1): Parameter validation failed: Invalid length for parameter "
        "domain, value: 1, valid min length: 2; Invalid length for parameter repository, value: "
        "1, valid min length: 2"
    )


@pytest.mark.parametrize("override", [{"repository": "nope"}, {"domain": "other"}])
def test_wrong_repository_is_a_configuration_error(
    sandbox: SandboxServer, override: dict[str, str]
) -> None:
    with pytest.raises(RegistryAccessError, match="ResourceNotFoundException") as raised:
        fetch_repository(settings_for(sandbox, **override))
    assert raised.value.exit_code == 2
    assert str(raised.value).endswith(
        ": check codeartifact.domain, domain_owner, repository and region"
    )


def test_refused_credentials_are_a_configuration_error(sandbox: SandboxServer) -> None:
    said = "The security token included in the request is invalid."
    body = json.dumps({"__type": "UnrecognizedClientException", "message": said})
    fault = {"route": "^/codeartifact/", "status": 403, "body": body}
    httpx.post(sandbox.urls.control + "/faults", json=fault).raise_for_status()
    with pytest.raises(RegistryAccessError) as raised:
        fetch_repository(settings_for(sandbox))
    assert raised.value.exit_code == 2
    assert str(raised.value) == (
        f"CodeArtifact acme/private (us-east-1) refused the AWS credentials "
        f"(UnrecognizedClientException: {said}): check AWS_PROFILE or the access keys, and the "
        "IAM permissions the README lists"
    )


def once(settings: CodeArtifactSettings) -> Any:
    """A client that does not retry: botocore's backoff would make each case take seconds."""
    return boto3.client(
        "codeartifact",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=Config(retries={"max_attempts": 1}),
    )


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "endpoint",
    [f"http://127.0.0.1:{unused_port()}", "http://codeartifact.pipfleet.invalid"],
    # Fixed ids: every pytest-xdist worker picks its own port, and must collect the same ids.
    ids=["unused-loopback-port", "unknown-host"],
)
def test_an_unreachable_endpoint_is_one_line_naming_the_host(endpoint: str) -> None:
    settings = CodeArtifactSettings(
        "acme", "111122223333", "us-east-1", "private", endpoint_url=endpoint
    )
    with pytest.raises(RegistryError) as raised:
        fetch_repository(settings, once(settings))
    assert raised.value.exit_code == 3
    assert str(raised.value) == (
        f"cannot reach CodeArtifact acme/private (us-east-1) at {urlsplit(endpoint).netloc}: check "
        "codeartifact.region (and endpoint_url, if set), the network and any proxy"
    )


def test_a_tls_failure_is_one_line_naming_the_host(sandbox: SandboxServer) -> None:
    # The sandbox speaks plain HTTP: a TLS handshake with it fails.
    endpoint = sandbox.urls.codeartifact_endpoint.replace("http://", "https://")
    settings = settings_for(sandbox, endpoint_url=endpoint)
    with pytest.raises(RegistryError) as raised:
        fetch_repository(settings, once(settings))
    assert raised.value.exit_code == 3
    assert str(raised.value) == (
        f"TLS failed with CodeArtifact acme/private (us-east-1) at {urlsplit(endpoint).netloc}: "
        "check endpoint_url and the CA certificates (AWS_CA_BUNDLE)"
    )


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/packages$", ""),
        ("/v1/packages$", "{"),
        ("/v1/packages$", '{"nextToken": null}'),
        ("/v1/packages$", '{"packages": [{"format": "pypi"}]}'),
        ("/v1/package/versions$", ""),
        ("/v1/package/versions$", "{"),
        ("/v1/package/versions$", '{"package": "orb-common", "format": "pypi"}'),
        ("/v1/package/versions$", '{"versions": [{"status": "Published"}]}'),
    ],
)
def test_an_empty_or_cut_answer_is_an_error_never_an_empty_listing(
    sandbox: SandboxServer, route: str, body: str
) -> None:
    fault = {"route": route, "status": 200, "body": body}
    assert httpx.post(sandbox.urls.control + "/faults", json=fault).status_code == 201

    with pytest.raises(RegistryError, match="CodeArtifact .*(answered without|without a)"):
        fetch_repository(settings_for(sandbox))


@pytest.mark.parametrize("body", ["", "{", '{"nextToken": null}'])
def test_a_cut_later_page_is_an_error_never_a_shorter_listing(
    sandbox: SandboxServer, world: World, body: str
) -> None:
    add_generated_packages(world, 150)
    fault = {"route": "/v1/packages$", "status": 200, "body": body, "skip": 1}
    assert httpx.post(sandbox.urls.control + "/faults", json=fault).status_code == 201

    with pytest.raises(RegistryError, match="ListPackages answered without its 'packages' list"):
        fetch_repository(settings_for(sandbox))


def test_a_next_token_that_loops_back_is_an_error(sandbox: SandboxServer, world: World) -> None:
    # Page 3 sends the client back to page 2: a loop botocore's paginator does not catch, as
    # the token is not the one of the page just before.
    add_generated_packages(world, 250)
    settings = settings_for(sandbox)
    first = once(settings).list_packages(
        domain=settings.domain,
        domainOwner=settings.domain_owner,
        repository=settings.repository,
        format="pypi",
    )
    body = json.dumps({"packages": [], "nextToken": first["nextToken"]})
    fault = {"route": "/v1/packages$", "status": 200, "body": body, "skip": 2}
    assert httpx.post(sandbox.urls.control + "/faults", json=fault).status_code == 201

    with pytest.raises(RegistryError, match="ListPackages repeated or garbled its nextToken"):
        fetch_repository(settings)
    assert world.counters[("POST", "/codeartifact/v1/packages")] == 1 + 3


@pytest.mark.parametrize(
    ("route", "body", "call", "what"),
    [
        ("/v1/packages$", '{"packages": 5}', fetch_repository, "ListPackages"),
        ("/v1/packages$", '{"packages": [5]}', fetch_repository, "ListPackages"),
        ("/v1/packages$", "[1]", fetch_repository, "ListPackages"),
        (
            "/v1/package/versions$",
            '{"versions": "1.0"}',
            fetch_repository,
            "ListPackageVersions of orb-common",
        ),
        (
            "/v1/authorization-token$",
            '{"expiration": "soon"}',
            authorization_token,
            "GetAuthorizationToken",
        ),
    ],
)
def test_json_of_the_wrong_shape_is_one_line_not_a_traceback(
    sandbox: SandboxServer,
    route: str,
    body: str,
    call: Callable[[CodeArtifactSettings], object],
    what: str,
) -> None:
    fault = {"route": route, "status": 200, "body": body}
    assert httpx.post(sandbox.urls.control + "/faults", json=fault).status_code == 201

    with pytest.raises(RegistryError) as raised:
        call(settings_for(sandbox))
    assert str(raised.value) == (
        f"CodeArtifact acme/private (us-east-1): {what} answered with JSON of the wrong shape"
    )


def test_an_empty_token_answer_is_an_error(sandbox: SandboxServer) -> None:
    fault = {"route": "/v1/authorization-token$", "status": 200, "body": "{}"}
    assert httpx.post(sandbox.urls.control + "/faults", json=fault).status_code == 201

    with pytest.raises(RegistryError, match="without a token"):
        authorization_token(settings_for(sandbox))


def test_fetch_version_gives_sha256_of_each_asset_and_pep508_dependencies(
    sandbox: SandboxServer, world: World
) -> None:
    world.codeartifact.packages["orb-events"].dependencies["1.0.0"] = [
        "orb-common>=2.0,<3",
        "requests",
    ]
    contents = fetch_version(settings_for(sandbox), "orb-events", "1.0.0")
    files = world.codeartifact_assets("orb-events", "1.0.0")
    assert contents.hashes == tuple(
        sorted(f"sha256:{hashlib.sha256(data).hexdigest()}" for data in files.values())
    )
    assert contents.dependencies == ("orb-common<3,>=2.0", "requests")
    assert contents.requests == 2


def test_fetch_version_of_an_unknown_version_is_a_registry_error(sandbox: SandboxServer) -> None:
    with pytest.raises(RegistryError, match="ResourceNotFoundException"):
        fetch_version(settings_for(sandbox), "orb-common", "9.9.9")


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/package/version/assets$", ""),
        ("/v1/package/version/assets$", "{"),
        ("/v1/package/version/assets$", '{"assets": [{"name": "x.whl", "hashes": {}}]}'),
        ("/v1/package/version/dependencies$", ""),
        ("/v1/package/version/dependencies$", '{"package": "orb-common"}'),
        ("/v1/package/version/dependencies$", '{"dependencies": [{"versionRequirement": ">1"}]}'),
    ],
)
def test_a_cut_version_answer_is_an_error_never_no_files(
    sandbox: SandboxServer, route: str, body: str
) -> None:
    fault = {"route": route, "status": 200, "body": body}
    assert httpx.post(sandbox.urls.control + "/faults", json=fault).status_code == 201

    with pytest.raises(RegistryError, match="CodeArtifact .*without"):
        fetch_version(settings_for(sandbox), "orb-common", "2.1.0")


def test_keys_in_the_settings_are_used_without_any_in_the_environment(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo hands boto3 its sandbox's keys through the settings, not os.environ."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    # boto3's default session keeps the credentials an earlier test's client found.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with pytest.raises(RegistryAccessError, match="Unable to locate credentials"):
        fetch_repository(settings_for(sandbox))
    keys = AwsKeys("sandbox", Secret("sandbox"))
    repository = fetch_repository(replace(settings_for(sandbox), keys=keys))
    assert "orb-common" in repository.listing("internal")
