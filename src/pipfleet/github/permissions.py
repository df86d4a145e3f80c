"""The GitHub permissions pipfleet needs: one definition, and everything said from it.

The App manifest, the lists in the README and the scheduler configs, and
``pipfleet github-app check`` all come from ``PERMISSIONS``; a test keeps the
written copies equal to it. Pure: no I/O here.

No *Issues* permission: pipfleet comments on and labels only its own pull requests,
and GitHub accepts *Pull requests: write* for the issue endpoints it calls on a pull
request (``/issues/{number}/comments`` and ``/issues/{number}/labels``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Access(StrEnum):
    READ = "read"
    WRITE = "write"

    @property
    def spoken(self) -> str:
        """As GitHub's App settings page says it."""
        return "read and write" if self is Access.WRITE else "read"

    def covers(self, needed: Access) -> bool:
        return self is Access.WRITE or needed is Access.READ


class Job(StrEnum):
    SCAN = "scan"
    FIX = "fix"


@dataclass(frozen=True)
class Permission:
    key: str  # GitHub's name, as in a manifest's default_permissions
    title: str  # GitHub's label on the App settings page
    scan: Access | None  # None: scan does not need it
    fix: Access
    why: str

    def needed_by(self, job: Job) -> Access | None:
        return self.scan if job is Job.SCAN else self.fix


PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "contents",
        "Contents",
        scan=Access.READ,
        fix=Access.WRITE,
        why="scan reads Pipfiles and locks; fix writes the fix's blobs, tree and commit "
        "and creates, moves and deletes its branch",
    ),
    Permission(
        "metadata",
        "Metadata",
        scan=Access.READ,
        fix=Access.READ,
        why="lists the org's repositories with their topics and default branches",
    ),
    Permission(
        "pull_requests",
        "Pull requests",
        scan=None,
        fix=Access.WRITE,
        why="fix finds, opens, updates and closes its pull requests, and comments on and "
        "labels them through the issue endpoints, which take this permission on a pull request",
    ),
)


def required(job: Job) -> dict[str, Access]:
    """Permission key -> the access ``job`` needs."""
    return {p.key: level for p in PERMISSIONS if (level := p.needed_by(job)) is not None}


def app_permissions() -> dict[str, Access]:
    """What the App asks for: the nightly run scans and fixes, so fix's needs (a superset)."""
    return {p.key: p.fix for p in PERMISSIONS}


@dataclass(frozen=True)
class Shortfall:
    permission: Permission
    needed: Access
    granted: Access | None


def missing(granted: Mapping[str, str], job: Job) -> list[Shortfall]:
    """What ``granted`` (an installation's permissions as GitHub lists them) lacks for ``job``."""
    gaps = []
    for permission in PERMISSIONS:
        needed = permission.needed_by(job)
        if needed is None:
            continue
        raw = granted.get(permission.key)
        has = Access(raw) if raw in (Access.READ, Access.WRITE) else None
        if has is None or not has.covers(needed):
            gaps.append(Shortfall(permission, needed, has))
    return gaps


def permission_list() -> str:
    """The list the docs and config comments carry, word for word."""
    return ", ".join(f"{p.title}: {p.fix.spoken}" for p in PERMISSIONS)


MANIFEST_URL = "https://pypi.org/project/pipfleet/"


def manifest(name: str = "pipfleet", redirect_url: str | None = None) -> dict[str, object]:
    """A GitHub App manifest: private, no webhook, no events, exactly ``app_permissions``.

    No ``hook_attributes`` at all: GitHub refuses the block without a webhook URL, even
    with ``active: false``, and makes an App without a webhook when it is absent.
    """
    document: dict[str, object] = {
        "name": name,
        "url": MANIFEST_URL,
        "description": "Keeps the org's Pipfiles resolving private packages from "
        "AWS CodeArtifact: scans them nightly and opens pull requests that fix them.",
        "public": False,
        "default_events": [],
        "default_permissions": {k: str(v) for k, v in app_permissions().items()},
    }
    if redirect_url is not None:
        document["redirect_url"] = redirect_url
    return document


def manifest_text() -> str:
    """config/github-app/manifest.json, as committed."""
    return json.dumps(manifest(), indent=2) + "\n"
