"""The people who own a sandbox fleet, played over its control endpoints.

Between two nightly runs they merge or close pipfleet's pull requests and push to
their default branches, as maintainers do on GitHub; pipfleet then finds out the way
it does there, through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx


class Maintainers:
    """``with Maintainers(server.urls.control) as people: people.merge("acme/orb-api", 1)``."""

    def __init__(self, control: str):
        self._client = httpx.Client(base_url=control + "/repos/", timeout=30.0)

    def __enter__(self) -> Maintainers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._client.close()

    def merge(self, repository: str, number: int) -> bool:
        """Press the merge button; False when the pull request cannot be merged as it stands."""
        answer = self._client.post(f"{repository}/pulls/{number}/merge")
        if answer.status_code == httpx.codes.CONFLICT:
            return False
        answer.raise_for_status()
        return True

    def decline(self, repository: str, number: int) -> None:
        """Close the pull request unmerged: a "no" pipfleet must respect."""
        self._client.post(f"{repository}/pulls/{number}/close").raise_for_status()

    def push(self, repository: str, files: Mapping[str, str], message: str) -> None:
        """Commit ``files`` (path to text) on the default branch, as someone fixing it by hand."""
        body = {"files": dict(files), "message": message}
        self._client.post(f"{repository}/commits", json=body).raise_for_status()
