"""A repository as the fleet knows it: what GitHub lists, what a scan reads and records.

Its own module, not the GitHub adapter's: the store records these facts and must not
depend on how they were fetched.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RepoSummary:
    owner: str
    name: str
    archived: bool
    fork: bool
    disabled: bool
    empty: bool
    visibility: str
    url: str
    topics: tuple[str, ...]
    default_branch: str | None
    head_oid: str | None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"
