"""Run the sandbox on a loopback port: in the foreground (CLI) or on a thread (tests)."""

from __future__ import annotations

from dataclasses import dataclass

from pipfleet.errors import UsageError
from pipfleet.loopback import ServedApp, bind, is_loopback
from pipfleet.sandbox.app import (
    CODEARTIFACT_API,
    CONTROL,
    GITHUB,
    PRIVATE_INDEX,
    PUBLIC_INDEX,
    create_app,
)
from pipfleet.sandbox.world import World

TOKEN_PLACEHOLDER = "${CODEARTIFACT_AUTH_TOKEN}"


@dataclass(frozen=True)
class SandboxURLs:
    base: str
    github_api: str  # PyGithub's base_url
    graphql: str
    codeartifact_endpoint: str  # boto3's endpoint_url
    private_index: str  # the CodeArtifact repository's simple index
    public_index: str  # public PyPI's simple index
    control: str

    def private_index_with_auth(self, token: str = TOKEN_PLACEHOLDER) -> str:
        """The private index URL with basic auth ``aws:<token>``, as a Pipfile source holds it."""
        scheme, rest = self.private_index.split("://", 1)
        return f"{scheme}://aws:{token}@{rest}"


def ensure_loopback(host: str) -> None:
    if not is_loopback(host):
        raise UsageError(f"the sandbox binds only loopback addresses, not {host!r}")


class SandboxServer(ServedApp):
    """The sandbox for one world. ``with SandboxServer(world) as server:`` in tests."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0):
        ensure_loopback(host)
        self.world = world
        super().__init__(create_app(world), bind(host, port), "sandbox")

    @property
    def urls(self) -> SandboxURLs:
        base = f"http://{self.netloc_host}:{self.port}"
        ca = self.world.codeartifact
        return SandboxURLs(
            base=base,
            github_api=base + GITHUB,
            graphql=base + GITHUB + "/graphql",
            codeartifact_endpoint=base + CODEARTIFACT_API,
            private_index=(
                f"{base}{PRIVATE_INDEX}/{ca.domain}-{ca.domain_owner}/pypi/{ca.repository}/simple/"
            ),
            public_index=f"{base}{PUBLIC_INDEX}/simple/",
            control=base + CONTROL,
        )
