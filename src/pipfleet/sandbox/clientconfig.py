"""The pipfleet configuration and environment that point every client at a sandbox."""

from __future__ import annotations

from pipfleet.engine.rewrite import quote
from pipfleet.sandbox.server import SandboxURLs
from pipfleet.sandbox.world import DEFAULT_TOKEN, World


def default_org(world: World) -> str:
    return next(iter(sorted(world.orgs)), "acme")


def config_text(
    urls: SandboxURLs,
    world: World,
    org: str,
    *,
    write_pause: float | None = None,
    database_url: str | None = None,
) -> str:
    """A pipfleet.toml for the sandbox. Like every pipfleet config, it holds no secret.

    ``write_pause`` and ``database_url`` are written when given, else left to the defaults.
    """
    ca = world.codeartifact
    pause = "" if write_pause is None else f"write_pause = {write_pause!r}\n"
    database = (
        ""
        if database_url is None
        else f"""
[database]
# A relative SQLite path is found from this file's folder, from wherever pipfleet runs.
url = {quote(database_url)}
"""
    )
    return f"""\
# Written by `pipfleet sandbox serve --write-config`: every client points at the sandbox.
# Secrets never live in this file: export GITHUB_TOKEN (the sandbox accepts its --token);
# the CodeArtifact token is fetched with GetAuthorizationToken.

[github]
{pause}api_url = {quote(urls.github_api)}
org = {quote(org)}
include = ["orb-*"]

[codeartifact]
domain = {quote(ca.domain)}
domain_owner = {quote(ca.domain_owner)}
region = {quote(ca.region)}
repository = {quote(ca.repository)}
endpoint_url = {quote(urls.codeartifact_endpoint)}
source_name = "codeartifact"
source_url = {quote(urls.private_index_with_auth())}

[pypi]
index_url = {quote(urls.public_index)}
{database}"""


def environment(urls: SandboxURLs, world: World, token: str = DEFAULT_TOKEN) -> dict[str, str]:
    """The environment variables a client needs besides the config file."""
    return {
        "GITHUB_TOKEN": token,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": world.codeartifact.region,
    }
