"""The sandbox's mutable state: repositories, pull requests, packages, counters, faults.

Every handler reads and changes the world under its one lock, so a test or a
benchmark driving the server from several threads sees GitHub-like atomicity.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion

from pipfleet.sandbox.distributions import placeholder_wheel, requires_dist, same_version
from pipfleet.sandbox.gitstore import Commit, ObjectStore, Signature, TreeEntry, now

BOT_LOGIN = "pipfleet-sandbox-bot"
HUMAN = Signature("Sandbox Maintainer", "maintainer@sandbox.invalid", datetime(2026, 1, 5))
DEFAULT_TOKEN = "sandbox-token"
CORE_LIMIT = 5000
GRAPHQL_LIMIT = 5000


def node_id(kind: str, number: int) -> str:
    """A GitHub-style opaque global node id."""
    return base64.b64encode(f"0:{kind}{number}".encode()).decode().rstrip("=")


class MergeConflict(Exception):
    """A pull request cannot be merged as it stands."""


@dataclass
class Comment:
    id: int
    body: str
    user: str
    created_at: datetime
    updated_at: datetime


@dataclass
class PullRequest:
    id: int
    number: int
    title: str
    body: str
    head: str  # branch name in the same repository
    base: str
    user: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"  # "open" or "closed"
    merged: bool = False
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    merge_commit_sha: str | None = None
    head_sha: str = ""  # the head branch's commit when last seen (kept after deletion)


@dataclass
class Repository:
    id: int
    owner: str
    name: str
    default_branch: str
    created_at: datetime
    archived: bool = False
    fork: bool = False
    disabled: bool = False
    topics: list[str] = field(default_factory=list)
    visibility: str = "private"
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" -> commit sha
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    comments: dict[int, list[Comment]] = field(default_factory=dict)  # issue number -> comments
    labels: dict[int, list[str]] = field(default_factory=dict)  # issue number -> label names
    next_number: int = 1
    pushed_at: datetime | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def branch(self, name: str) -> str | None:
        return self.refs.get(f"heads/{name}")

    @property
    def head(self) -> str | None:
        return self.branch(self.default_branch)


@dataclass
class PackageOrigin:
    publish: str  # "ALLOW" or "BLOCK"
    upstream: str


@dataclass
class CodeArtifactPackage:
    name: str  # as published (CodeArtifact keeps the normalised PyPI name)
    versions: dict[str, str]  # version -> origin type, "INTERNAL" or "EXTERNAL"
    origin: PackageOrigin
    # version -> Requires-Dist lines; a version not in it has its files' Requires-Dist
    dependencies: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class CodeArtifactRepository:
    domain: str = "acme"
    domain_owner: str = "111122223333"
    region: str = "us-east-1"
    repository: str = "private"
    packages: dict[str, CodeArtifactPackage] = field(default_factory=dict)  # by PEP 503 name
    # A version with no file of its own is served with a generated placeholder wheel
    # (World.codeartifact_assets); the fleet loader turns this on.
    placeholders: bool = False


@dataclass
class Fault:
    """An injected failure: the next ``count`` requests matching it get it instead."""

    route: str  # regular expression searched in the request path
    status: int = 500
    count: int = 1
    method: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False  # close the connection without an answer
    body: str | None = None  # GitHub errors: the message; otherwise the whole body ("" empty)
    after: bool = False  # serve the request first, then answer with the fault: a lost answer
    skip: int = 0  # matching requests served normally before the fault starts

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return re.search(self.route, path) is not None


# What an installation is granted unless a test or the manifest flow says otherwise.
APP_PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}


@dataclass
class GitHubApp:
    """A GitHub App installed on every org of the sandbox, verified by its public key."""

    app_id: int
    public_key_pem: str  # RS256 JWTs signed with the matching private key are accepted
    installation_id: int = 4242
    slug: str = "pipfleet"
    # Each installation's permissions: what its tokens may ask for and what it lists.
    permissions: dict[str, str] = field(default_factory=lambda: dict(APP_PERMISSIONS))


@dataclass(frozen=True)
class ManifestRequest:
    """A manifest the stand-in for github.com's new-App page accepted, awaiting conversion."""

    org: str
    manifest: dict[str, object]


@dataclass
class World:
    store: ObjectStore = field(default_factory=ObjectStore)
    orgs: dict[str, dict[str, Repository]] = field(default_factory=dict)
    codeartifact: CodeArtifactRepository = field(default_factory=CodeArtifactRepository)
    pypi: dict[str, list[str]] = field(default_factory=dict)  # PEP 503 name -> versions
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # PEP 503 name -> files
    # Files only CodeArtifact holds: for their version they replace what ``files`` has.
    codeartifact_files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    github_tokens: set[str] = field(default_factory=lambda: {DEFAULT_TOKEN})
    github_app: GitHubApp | None = None  # installation tokens it issues join github_tokens
    # Codes the new-App page handed out: each converts once into the App (github_app).
    manifest_codes: dict[str, ManifestRequest] = field(default_factory=dict)
    codeartifact_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> expiry
    counters: Counter[tuple[str, str]] = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)
    rate_used: Counter[str] = field(default_factory=Counter)  # resource -> requests this hour
    latency: float = 0.0  # seconds every non-control answer waits (a slow network)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def new_id(self) -> int:
        return next(self._ids)

    def repository(self, owner: str, name: str) -> Repository | None:
        repos = self.orgs.get(owner) or self.orgs.get(owner.lower()) or {}
        return repos.get(name) or next(
            (repo for repo in repos.values() if repo.name.lower() == name.lower()), None
        )

    def add_repository(
        self, owner: str, name: str, files: dict[str, bytes], default_branch: str = "main"
    ) -> Repository:
        created = now() - timedelta(days=30)
        repo = Repository(self.new_id(), owner, name, default_branch, created, pushed_at=created)
        self.orgs.setdefault(owner, {})[name] = repo
        if files:  # an empty repository has no commit and no branch, as on GitHub
            tree = self.store.tree_from_files(files)
            author = Signature(HUMAN.name, HUMAN.email, created)
            sha = self.store.put_commit(Commit(tree, (), "Initial commit\n", author, author))
            repo.refs[f"heads/{default_branch}"] = sha
        return repo

    def commit_changes(
        self,
        repo: Repository,
        branch: str,
        changes: dict[str, bytes | None],
        message: str,
        author: Signature = HUMAN,
    ) -> str:
        """Commit file changes (None deletes) on top of ``branch`` and move the branch."""
        parent = repo.branch(branch)
        base_tree = None
        if parent is not None:
            parent_commit = self.store.commit(parent)
            base_tree = parent_commit.tree if parent_commit else None
        entries: dict[str, TreeEntry | None] = {
            path: None if data is None else TreeEntry(path, "100644", self.store.put_blob(data))
            for path, data in changes.items()
        }
        tree = self.store.with_changes(base_tree, entries)
        signature = Signature(author.name, author.email, now())
        sha = self.store.put_commit(
            Commit(tree, (parent,) if parent else (), message, signature, signature)
        )
        repo.refs[f"heads/{branch}"] = sha
        repo.pushed_at = signature.date
        return sha

    def file_at(self, repo: Repository, ref: str, path: str) -> bytes | None:
        commit = self.store.commit(self.resolve(repo, ref) or "")
        if commit is None:
            return None
        entry = self.store.entry_at(commit.tree, path)
        blob = self.store.blob(entry.sha) if entry else None
        return blob.data if blob else None

    def resolve(self, repo: Repository, ref: str) -> str | None:
        """A branch name, "heads/x", "refs/heads/x" or a commit sha, to a commit sha."""
        name = ref.removeprefix("refs/")
        for candidate in (name, f"heads/{name}", f"tags/{name}"):
            if candidate in repo.refs:
                return repo.refs[candidate]
        return ref if self.store.commit(ref) else None

    def merge_pull(self, repo: Repository, pull: PullRequest, by: str = HUMAN.name) -> str:
        """Merge a pull request with a merge commit, as GitHub's merge button does.

        The head's changes since the merge base are applied to the base branch;
        raises MergeConflict when the base changed the same files differently.
        """
        base = repo.branch(pull.base)
        head = self.pull_head(repo, pull)
        if pull.state != "open" or base is None or not head:
            raise MergeConflict("Pull Request is not mergeable")
        common = self.store.tree_of(self.store.merge_base(base, head))
        tree = self.store.three_way(
            common, self.store.tree_of(base) or "", self.store.tree_of(head) or ""
        )
        if tree is None:
            raise MergeConflict("Merge conflict: both branches changed the same file")
        signature = Signature(by, HUMAN.email, now())
        message = f"Merge pull request #{pull.number} from {repo.owner}/{pull.head}\n"
        sha = self.store.put_commit(Commit(tree, (base, head), message, signature, signature))
        repo.refs[f"heads/{pull.base}"] = sha
        stamp = signature.date
        pull.state, pull.merged, pull.merged_at, pull.closed_at = "closed", True, stamp, stamp
        pull.merge_commit_sha, pull.head_sha, pull.updated_at = sha, head, stamp
        repo.pushed_at = stamp
        return sha

    def pull_head(self, repo: Repository, pull: PullRequest) -> str:
        """The pull request's head commit: its branch's while it is open (or the last one
        seen, once the branch is gone), and the one it had when it closed after that.

        GitHub keeps a closed pull request's commits: a branch that moves on later (the
        same name reused for a new pull request) does not change what the old one shows.
        """
        if pull.state == "open":
            pull.head_sha = repo.branch(pull.head) or pull.head_sha
        return pull.head_sha

    def close_pull(self, repo: Repository, pull: PullRequest) -> None:
        self.pull_head(repo, pull)
        stamp = now()
        pull.state, pull.closed_at, pull.updated_at = "closed", stamp, stamp

    def issue_codeartifact_token(self, duration_seconds: int = 43200) -> tuple[str, datetime]:
        token = "sandbox-ca-" + secrets.token_urlsafe(24)
        expiry = now() + timedelta(seconds=duration_seconds)
        self.codeartifact_tokens[token] = expiry
        return token, expiry

    def codeartifact_token_valid(self, token: str) -> bool:
        expiry = self.codeartifact_tokens.get(token)
        return expiry is not None and expiry > now()

    def internal_names(self) -> list[str]:
        return sorted(
            name
            for name, package in self.codeartifact.packages.items()
            if "INTERNAL" in package.versions.values()
        )

    def add_file(self, filename: str, data: bytes, codeartifact_only: bool = False) -> None:
        """Serve a wheel or sdist from every index that lists its project.

        ``codeartifact_only``: from the private index alone, in place of the shared
        files of the same version (so public PyPI can serve an impostor of it).
        """
        project = canonicalize_name(re.split(r"-\d", filename, maxsplit=1)[0])
        store = self.codeartifact_files if codeartifact_only else self.files
        store.setdefault(project, {})[filename] = data

    def codeartifact_assets(self, project: str, version: str) -> dict[str, bytes]:
        """The files CodeArtifact holds for ``project`` ``version``, by filename.

        Both the private index and ListPackageVersionAssets serve exactly these: the
        version's wheels and sdists in ``files`` or, when there are none and the
        repository has placeholders on, one generated wheel carrying the version's
        dependencies. ``codeartifact_files`` of the version come first and replace the
        shared ones. Empty for a version CodeArtifact does not hold.
        """
        key = canonicalize_name(project)
        package = self.codeartifact.packages.get(key)
        if package is None or version not in package.versions:
            return {}
        for store in (self.codeartifact_files, self.files):
            held = {
                filename: data
                for filename, data in sorted(store.get(key, {}).items())
                if same_version(filename, version)
            }
            if held:
                return held
        if not self.codeartifact.placeholders:
            return {}
        try:
            requires = tuple(package.dependencies.get(version, ()))
            filename, data = placeholder_wheel(package.name, version, requires)
        except InvalidVersion:
            return {}
        return {filename: data}

    def codeartifact_dependencies(self, project: str, version: str) -> list[str]:
        """The Requires-Dist lines of a CodeArtifact version: as configured, else its files'."""
        package = self.codeartifact.packages.get(canonicalize_name(project))
        if package is None or version not in package.versions:
            return []
        if version in package.dependencies:
            return list(package.dependencies[version])
        for filename, data in self.codeartifact_assets(project, version).items():
            found = requires_dist(filename, data)
            if found:
                return found
        return []
