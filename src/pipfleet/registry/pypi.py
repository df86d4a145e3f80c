"""Ask the public package index whether a project name is taken (httpx, async).

200 means taken, 404 means free, anything else (errors, 5xx, 429, timeouts) is
unknown and is never read as free. Answers are cached by ETag, so a rescan asks
with ``If-None-Match`` and a 304 confirms the previous answer for free.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from packaging.utils import canonicalize_name

from pipfleet import __version__
from pipfleet.engine.confusion import PublicStatus
from pipfleet.errors import UsageError

USER_AGENT = f"pipfleet/{__version__} (dependency-confusion check; +https://github.com/pipfleet)"
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
HTML_ACCEPT = "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


@dataclass
class EtagCache:
    """Index answers by project URL: the ETag and what it meant. Optionally kept in a file."""

    entries: MutableMapping[str, tuple[str, str]] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, path: Path) -> EtagCache:
        if not path.is_file():  # nothing yet; or a device, which could be read for ever
            return cls({}, path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = {url: (etag, status) for url, (etag, status) in data.items()}
        except (OSError, ValueError, TypeError):
            entries = {}
        return cls(entries, path)

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(dict(sorted(self.entries.items())), indent=1))
        except OSError as exc:
            raise UsageError(
                f"cannot write the public index's ETag cache {self.path}: "
                f"{exc.strerror or exc}: check XDG_CACHE_HOME and the free space there"
            ) from None


@dataclass(frozen=True)
class PublicAnswer:
    name: str
    status: PublicStatus
    detail: str  # "200", "404", "304 (cached: taken)", "timeout", ...


# PEP 508's project name: what PyPI accepts, so nothing else can be asked about.
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


async def _ask(
    client: httpx.AsyncClient, index_url: str, name: str, cache: EtagCache, limit: asyncio.Semaphore
) -> PublicAnswer:
    if not _PROJECT_NAME.match(name):  # no index can hold it, and no URL can ask for it
        return PublicAnswer(name, PublicStatus.UNKNOWN, "not a valid project name")
    url = f"{index_url.rstrip('/')}/{canonicalize_name(name)}/"
    cached = cache.entries.get(url)
    headers = {"Accept": f"{JSON_ACCEPT}, {HTML_ACCEPT}"}
    if cached:
        headers["If-None-Match"] = cached[0]
    async with limit:
        try:
            response = await client.get(url, headers=headers, follow_redirects=True)
        except httpx.HTTPError as exc:
            return PublicAnswer(name, PublicStatus.UNKNOWN, type(exc).__name__)
    if response.status_code == 304 and cached:
        return PublicAnswer(name, PublicStatus(cached[1]), f"304 (cached: {cached[1]})")
    if response.status_code == 200:
        status = PublicStatus.TAKEN
    elif response.status_code == 404:
        status = PublicStatus.FREE
    else:
        return PublicAnswer(name, PublicStatus.UNKNOWN, str(response.status_code))
    if etag := response.headers.get("etag"):
        cache.entries[url] = (etag, status.value)
    return PublicAnswer(name, status, str(response.status_code))


async def check_names_async(
    names: Iterable[str],
    index_url: str,
    *,
    concurrency: int = 16,
    timeout: float = 20.0,
    cache: EtagCache | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, PublicAnswer]:
    """Each name's public status, asking at most ``concurrency`` questions at once."""
    cache = cache if cache is not None else EtagCache()
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT}, timeout=timeout, transport=transport
    ) as client:
        answers = await asyncio.gather(
            *(_ask(client, index_url, name, cache, limit) for name in sorted(set(names)))
        )
    return {answer.name: answer for answer in answers}


def check_names(
    names: Iterable[str],
    index_url: str,
    *,
    concurrency: int = 16,
    timeout: float = 20.0,
    cache: EtagCache | None = None,
) -> dict[str, PublicAnswer]:
    """The synchronous face of ``check_names_async`` for the scan job."""
    return asyncio.run(
        check_names_async(names, index_url, concurrency=concurrency, timeout=timeout, cache=cache)
    )
