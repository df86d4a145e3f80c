"""Resolvers over the world: organizations, repositories, git objects, pulls, rate limit."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLResolveInfo

from pipfleet.sandbox.github_graphql.connections import _connection
from pipfleet.sandbox.github_graphql.cost import _Cost
from pipfleet.sandbox.github_graphql.errors import Fields, GitHubGraphQLError
from pipfleet.sandbox.github_shapes import Site, iso
from pipfleet.sandbox.gitstore import Blob, Commit, Tree, TreeEntry
from pipfleet.sandbox.world import BOT_LOGIN, GRAPHQL_LIMIT, Repository, World, node_id

TEXT_LIMIT = 1024 * 1024  # Blob.text is null (isTruncated) above this many bytes
BINARY_SNIFF = 8000  # git calls a blob binary if a NUL byte is among its first 8000 bytes
# Revision syntax git accepts and the sandbox does not follow: ancestry, reflog, peeling.
_UNSUPPORTED_REVISION = re.compile(r"[~^@{}]")


# Answers: one dict per GraphQL object, read by graphql-core's default resolver.
# Values that take arguments or cost work are callables, resolved only if selected.


@dataclass(frozen=True)
class _Answers:
    world: World
    site: Site
    cost: _Cost

    def query(self) -> Fields:
        return {
            "organization": lambda _info, login: self.organization(login),
            "rateLimit": lambda _info: self.rate_limit(),
            "repository": lambda _info, owner, name: self.repository(self.find(owner, name)),
            "viewer": {"login": BOT_LOGIN},
        }

    def find(self, owner: str, name: str) -> Repository:
        repo = self.world.repository(owner, name)
        if repo is None:
            raise GitHubGraphQLError(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        return repo

    def organization(self, login: str) -> Fields:
        owner = next((key for key in self.world.orgs if key.lower() == login.lower()), None)
        if owner is None:
            raise GitHubGraphQLError(
                "NOT_FOUND", f"Could not resolve to an Organization with the login of '{login}'."
            )
        return {
            "__typename": "Organization",
            "login": owner,
            "repositories": lambda info, **args: self.repositories(owner, info, args),
            "repository": lambda _info, name: self.repository(self.find(owner, name)),
            "url": f"{self.site.html}/{owner}",
        }

    def repositories(self, owner: str, info: GraphQLResolveInfo[Any], args: Fields) -> Fields:
        repos = [
            repo
            for repo in self.world.orgs[owner].values()
            if args.get("isArchived") in (None, repo.archived)
            and args.get("isFork") in (None, repo.fork)
            and args.get("visibility") in (None, repo.visibility.upper())
            and args.get("privacy")
            in (None, "PUBLIC" if repo.visibility == "public" else "PRIVATE")
        ]
        order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
        key = _ORDER_KEYS[order["field"]]
        repos.sort(key=lambda repo: (key(repo), repo.id), reverse=order["direction"] == "DESC")
        return _connection(repos, info, args, self.repository)

    def repository(self, repo: Repository) -> Fields:
        return {
            "createdAt": iso(repo.created_at),
            "databaseId": repo.id,
            "defaultBranchRef": lambda _info: self.ref(repo, f"refs/heads/{repo.default_branch}"),
            "id": node_id("Repository", repo.id),
            "isArchived": repo.archived,
            "isDisabled": repo.disabled,
            "isEmpty": not repo.refs,
            "isFork": repo.fork,
            "isPrivate": repo.visibility != "public",
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "object": lambda _info, expression=None, oid=None: self.object(repo, expression, oid),
            "owner": lambda _info: self.organization(repo.owner),
            "pullRequest": lambda _info, number: self.pull_request(repo, number),
            "pushedAt": iso(repo.pushed_at) if repo.pushed_at else None,
            "ref": lambda _info, qualifiedName: self.ref(repo, qualifiedName),
            "repositoryTopics": lambda info, **args: _connection(
                repo.topics, info, args, self.topic
            ),
            "url": self.site.repo_html(repo),
            "visibility": repo.visibility.upper(),
        }

    def pull_request(self, repo: Repository, number: int) -> Fields:
        pull = repo.pulls.get(number)
        if pull is None:
            raise GitHubGraphQLError(
                "NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}."
            )
        state = "MERGED" if pull.merged else pull.state.upper()
        return {
            "headRefName": pull.head,
            "merged": pull.merged,
            "number": pull.number,
            "state": state,
            "url": f"{self.site.repo_html(repo)}/pull/{pull.number}",
        }

    def topic(self, name: str) -> Fields:
        return {"topic": {"name": name}, "url": f"{self.site.html}/topics/{name}"}

    def ref(self, repo: Repository, qualified_name: str) -> Fields | None:
        # A full name matches exactly; a short one is a branch, else a tag, as on GitHub.
        candidates = (
            [qualified_name.removeprefix("refs/")]
            if qualified_name.startswith("refs/")
            else [f"heads/{qualified_name}", f"tags/{qualified_name}"]
        )
        name = next((candidate for candidate in candidates if candidate in repo.refs), None)
        if name is None:
            return None
        kind, _, short = name.partition("/")
        return {
            "name": short,
            "prefix": f"refs/{kind}/",
            "target": lambda _info: self.git_object(repo, repo.refs[name], ""),
        }

    def object(self, repo: Repository, expression: str | None, oid: str | None) -> Fields | None:
        """By ``oid``, or by ``expression`` "<rev>" or "<rev>:<path>" (HEAD: default branch)."""
        if oid is not None:
            return self.git_object(repo, oid, "")
        if expression is None:
            return None
        revision, colon, path = expression.partition(":")
        if _UNSUPPORTED_REVISION.search(revision):
            raise GitHubGraphQLError(
                "SANDBOX_UNSUPPORTED",
                f"The sandbox resolves HEAD, branch and tag names and full commit shas,"
                f" not '{revision}'.",
            )
        sha = repo.head if revision == "HEAD" else self.world.resolve(repo, revision)
        if sha is None or not colon:
            return self.git_object(repo, sha, "") if sha else None
        commit = self.world.store.commit(sha)
        entry = self.world.store.entry_at(commit.tree, path) if commit else None
        return self.git_object(repo, entry.sha, path.strip("/")) if entry else None

    def git_object(self, repo: Repository, sha: str, path: str) -> Fields | None:
        """A commit, tree or blob; ``path`` is where a tree sits, for its entries' paths."""
        found = self.world.store.get(sha)
        if isinstance(found, Commit):
            return self.commit(repo, sha, found)
        if isinstance(found, Tree):
            return self.tree(repo, sha, found, path)
        return _blob(sha, found.data) if isinstance(found, Blob) else None

    def commit(self, repo: Repository, sha: str, commit: Commit) -> Fields:
        return {
            "__typename": "Commit",
            "abbreviatedOid": sha[:7],
            "committedDate": iso(commit.committer.date),
            "message": commit.message,
            "oid": sha,
            "tree": lambda _info: self.git_object(repo, commit.tree, ""),
            "url": f"{self.site.repo_html(repo)}/commit/{sha}",
        }

    def tree(self, repo: Repository, sha: str, tree: Tree, path: str) -> Fields:
        return {
            "__typename": "Tree",
            "abbreviatedOid": sha[:7],
            "entries": lambda _info: [self.tree_entry(repo, entry, path) for entry in tree.entries],
            "oid": sha,
        }

    def tree_entry(self, repo: Repository, entry: TreeEntry, folder: str) -> Fields:
        path = f"{folder}/{entry.name}" if folder else entry.name
        return {
            "mode": int(entry.mode, 8),  # GitHub gives the octal git mode as a number
            "name": entry.name,
            "object": lambda _info: self.git_object(repo, entry.sha, path),
            "oid": entry.sha,
            "path": path,
            "size": self.world.store.size(entry.sha) if entry.type == "blob" else 0,
            "type": entry.type,
        }

    def rate_limit(self) -> Fields:
        # GitHub reports the budget with this query paid for; the middleware adds its
        # first point only once the answer is sent.
        used = self.world.rate_used["graphql"] + 1
        reset = (int(time.time()) // 3600 + 1) * 3600
        return {
            "cost": self.cost.points,
            "limit": GRAPHQL_LIMIT,
            "nodeCount": self.cost.node_count,
            "remaining": max(GRAPHQL_LIMIT - used, 0),
            "resetAt": iso(datetime.fromtimestamp(reset, UTC)),
            "used": used,
        }


# The world keeps one time for pushes and updates, and no stars.
_ORDER_KEYS: dict[str, Callable[[Repository], Any]] = {
    "CREATED_AT": lambda repo: repo.created_at,
    "NAME": lambda repo: repo.name.lower(),
    "PUSHED_AT": lambda repo: repo.pushed_at or repo.created_at,
    "STARGAZERS": lambda repo: 0,
    "UPDATED_AT": lambda repo: repo.pushed_at or repo.created_at,
}


def _blob(sha: str, data: bytes) -> Fields:
    binary = b"\0" in data[:BINARY_SNIFF]
    truncated = len(data) > TEXT_LIMIT
    return {
        "__typename": "Blob",
        "abbreviatedOid": sha[:7],
        "byteSize": len(data),
        "isBinary": binary,
        "isTruncated": truncated,
        "oid": sha,
        "text": None if binary or truncated else lambda _info: data.decode(errors="replace"),
    }
