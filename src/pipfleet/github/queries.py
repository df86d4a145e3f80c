"""The GraphQL pipfleet sends, and what it makes of the answers. Pure: no I/O here.

Every query is validated against GitHub's published schema in the tests. Values
from the fleet (owners, names, paths) travel as variables, never inside the
query text, so a repository name cannot change what is asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipfleet.errors import IncompleteAnswer
from pipfleet.manifests import LOCK_NAMES, PIPFILE_NAME, PYPROJECT_NAME, is_requirements
from pipfleet.repositories import RepoSummary
from pipfleet.states import ManifestKind

MAX_BLOB_BYTES = 1024 * 1024
OPT_OUT_FILE = ".pipfleet.toml"

LIST_REPOSITORIES = """\
query ListRepositories($org: String!, $first: Int!, $after: String) {
  organization(login: $org) {
    repositories(first: $first, after: $after, orderBy: {field: NAME, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        name
        nameWithOwner
        isArchived
        isFork
        isDisabled
        isEmpty
        visibility
        url
        pushedAt
        repositoryTopics(first: 20) { nodes { topic { name } } }
        defaultBranchRef { name target { oid } }
      }
    }
  }
  rateLimit { cost remaining resetAt }
}
"""

_BLOB = "fragment PipfileBlob on Blob { oid byteSize isBinary isTruncated text }"


@dataclass(frozen=True)
class BlobRead:
    path: str
    oid: str | None
    size: int
    binary: bool = False
    truncated: bool = False
    text: str | None = None
    kind: ManifestKind = ManifestKind.PIPFILE  # which engine audits it

    @property
    def too_large(self) -> bool:
        return self.size > MAX_BLOB_BYTES


@dataclass(frozen=True)
class RepoFiles:
    """What a repository's default branch holds that pipfleet reads.

    Pipfiles stay apart from the other manifests: their audit and fix read the
    Pipfile.lock beside them.
    """

    repo: RepoSummary
    pipfiles: tuple[BlobRead, ...] = ()
    # paths of the locks read beside a manifest: Pipfile.lock, uv.lock, poetry.lock
    lockfiles: frozenset[str] = frozenset()
    opt_out: str | None = None  # the text of .pipfleet.toml at the root, if any
    error: str | None = None
    # path -> text of each of those locks that GitHub gave whole (not binary or cut)
    lock_texts: Mapping[str, str] = field(default_factory=dict)
    # uv and Poetry pyproject.toml files and requirements files, each with its kind
    manifests: tuple[BlobRead, ...] = ()
    # path -> text of each file the requirements files include (-r/-c) and are not
    # manifests themselves, followed as pip follows them; None: absent, binary or cut
    includes: Mapping[str, str | None] = field(default_factory=dict)

    def requirements_texts(self) -> dict[str, str | None]:
        """The requirements manifests' texts (None where unreadable) and their includes."""
        texts: dict[str, str | None] = {
            m.path: m.text if m.text is not None and not (m.truncated or m.binary) else None
            for m in self.manifests
            if m.kind is ManifestKind.REQUIREMENTS
        }
        return {**self.includes, **texts}

    @property
    def all_manifests(self) -> tuple[BlobRead, ...]:
        return self.pipfiles + self.manifests


@dataclass(frozen=True)
class Page:
    repos: tuple[RepoSummary, ...]
    has_next: bool
    cursor: str | None
    total: int  # the org's repository count as GitHub gave it with this page


def _required(node: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    """``node[key]`` when it is there with the expected type: GitHub always sends it."""
    if not isinstance(node, dict) or not isinstance(node.get(key), kind):
        raise IncompleteAnswer(f"GitHub's answer lacks {what}: an empty or cut response")
    return node[key]


def parse_repositories(data: Mapping[str, Any], org: str) -> Page:
    """One page of the org's repositories, checked: a cut page is an error, not fewer repos."""
    organization = _required(data, "organization", dict, f"the organization {org}")
    connection = _required(organization, "repositories", dict, "the repository list")
    nodes = _required(connection, "nodes", list, "the repository list's nodes")
    info = _required(connection, "pageInfo", dict, "the repository list's page info")
    has_next = _required(info, "hasNextPage", bool, "hasNextPage")
    cursor = info.get("endCursor")
    if has_next and not isinstance(cursor, str):
        raise IncompleteAnswer("GitHub's answer lacks the cursor of the next page of repositories")
    total = _required(connection, "totalCount", int, "the repository count")
    repos = []
    for node in nodes:
        name = _required(node, "name", str, "a repository's name")
        full_name = _required(node, "nameWithOwner", str, f"the full name of {name}")
        branch = node.get("defaultBranchRef") or {}
        owner, _, _ = full_name.partition("/")
        repos.append(
            RepoSummary(
                owner=owner or org,
                name=name,
                archived=bool(node.get("isArchived")),
                fork=bool(node.get("isFork")),
                disabled=bool(node.get("isDisabled")),
                empty=bool(node.get("isEmpty")),
                visibility=str(node.get("visibility") or "").lower(),
                url=str(node.get("url") or ""),
                topics=tuple(
                    t["topic"]["name"]
                    for t in (node.get("repositoryTopics") or {}).get("nodes") or ()
                    if t
                ),
                default_branch=branch.get("name"),
                head_oid=(branch.get("target") or {}).get("oid"),
            )
        )
    return Page(tuple(repos), has_next, cursor, total)


def _entries_selection(depth: int) -> str:
    """Tree entries nested ``depth`` folders below the root (GraphQL has no recursion)."""
    selection = "entries { name type }"
    for _ in range(depth):
        selection = f"entries {{ name type object {{ ... on Tree {{ {selection} }} }} }}"
    return selection


@dataclass(frozen=True)
class Batch:
    """One GraphQL request reading several repositories, and how to read its answer."""

    query: str
    variables: dict[str, Any]
    aliases: dict[str, RepoSummary] = field(default_factory=dict)
    # (repository alias, object alias) -> the path that object was asked for
    paths: dict[tuple[str, str], str] = field(default_factory=dict)


def discovery_batch(repos: Sequence[RepoSummary], depth: int) -> Batch:
    """Read the root Pipfile, the opt-out file and the tree down to ``depth`` folders."""
    variables: dict[str, Any] = {}
    declarations, selections = [], []
    aliases, paths = {}, {}
    for index, repo in enumerate(repos):
        alias = f"r{index}"
        aliases[alias] = repo
        for key, value in (("o", repo.owner), ("n", repo.name)):
            variables[f"{key}{index}"] = value
        for key, path in (("t", ""), ("p", PIPFILE_NAME), ("x", OPT_OUT_FILE)):
            variables[f"{key}{index}"] = f"{repo.head_oid}:{path}"
        declarations.append(
            f"$o{index}: String!, $n{index}: String!, $t{index}: String!, "
            f"$p{index}: String!, $x{index}: String!"
        )
        paths[(alias, "pipfile")] = PIPFILE_NAME
        tree = f"... on Tree {{ {_entries_selection(depth)} }}"
        selections.append(
            f"{alias}: repository(owner: $o{index}, name: $n{index}) {{\n"
            f"    tree: object(expression: $t{index}) {{ {tree} }}\n"
            f"    pipfile: object(expression: $p{index}) {{ ...PipfileBlob }}\n"
            f"    optout: object(expression: $x{index}) {{ ... on Blob {{ text }} }}\n"
            "  }"
        )
    query = (
        f"query ReadRepositories({', '.join(declarations)}) {{\n  "
        + "\n  ".join(selections)
        + f"\n}}\n{_BLOB}\n"
    )
    return Batch(query, variables, aliases, paths)


def blobs_batch(wanted: Sequence[tuple[RepoSummary, Sequence[str]]]) -> Batch:
    """Read given files (e.g. nested Pipfiles) of several repositories in one request."""
    variables: dict[str, Any] = {}
    declarations, selections = [], []
    aliases, paths = {}, {}
    for index, (repo, files) in enumerate(wanted):
        alias = f"r{index}"
        aliases[alias] = repo
        variables[f"o{index}"], variables[f"n{index}"] = repo.owner, repo.name
        declarations.append(f"$o{index}: String!, $n{index}: String!")
        objects = []
        for number, path in enumerate(files):
            variable = f"e{index}_{number}"
            variables[variable] = f"{repo.head_oid}:{path}"
            declarations.append(f"${variable}: String!")
            paths[(alias, f"f{number}")] = path
            objects.append(f"f{number}: object(expression: ${variable}) {{ ...PipfileBlob }}")
        selections.append(
            f"{alias}: repository(owner: $o{index}, name: $n{index}) {{ {' '.join(objects)} }}"
        )
    query = (
        f"query ReadFiles({', '.join(declarations)}) {{\n  "
        + "\n  ".join(selections)
        + f"\n}}\n{_BLOB}\n"
    )
    return Batch(query, variables, aliases, paths)


def blob_read(path: str, node: Mapping[str, Any] | None) -> BlobRead | None:
    if not node or "byteSize" not in node:
        return None
    return BlobRead(
        path=path,
        oid=node.get("oid"),
        size=int(node.get("byteSize") or 0),
        binary=bool(node.get("isBinary")),
        truncated=bool(node.get("isTruncated")),
        text=node.get("text"),
    )


def tree_paths(node: Mapping[str, Any] | None, prefix: str = "") -> Iterable[tuple[str, str]]:
    """(path, type) of every entry of a nested tree answer."""
    for entry in (node or {}).get("entries") or ():
        path = f"{prefix}{entry['name']}"
        yield path, entry["type"]
        if entry["type"] == "tree":
            yield from tree_paths(entry.get("object"), path + "/")


@dataclass(frozen=True)
class Layout:
    """The files of a tree answer a scan reads, each list root first, then sorted."""

    pipfiles: list[str]
    locks: frozenset[str]  # Pipfile.lock, uv.lock and poetry.lock paths
    pyprojects: list[str]  # candidates: what they are is known once read
    requirements: list[str]


def manifest_layout(tree: Mapping[str, Any] | None) -> Layout:
    """The Pipfiles, locks, pyproject.toml files and requirements files of a tree answer."""
    files = sorted(
        (path for path, kind in tree_paths(tree) if kind == "blob"),
        key=lambda p: (p.count("/"), p),
    )

    def named(name: str) -> list[str]:
        return [p for p in files if p.rpartition("/")[2] == name]

    return Layout(
        named(PIPFILE_NAME),
        frozenset(p for p in files if p.rpartition("/")[2] in LOCK_NAMES),
        named(PYPROJECT_NAME),
        [p for p in files if is_requirements(p)],
    )


def errors_by_alias(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """GraphQL errors keyed by the top-level alias they concern ("" for the whole request)."""
    found: dict[str, str] = {}
    for error in errors:
        path = error.get("path") or [""]
        found.setdefault(str(path[0]), str(error.get("message") or error))
    return found


@dataclass(frozen=True)
class PullRead:
    number: int
    state: str  # "open", "closed" or "merged"
    merged: bool
    url: str


def pulls_batch(wanted: Sequence[tuple[RepoSummary, int]]) -> Batch:
    """Read the state of given pull requests of several repositories in one request."""
    variables: dict[str, Any] = {}
    declarations, selections = [], []
    aliases, paths = {}, {}
    for index, (repo, number) in enumerate(wanted):
        alias = f"r{index}"
        aliases[alias] = repo
        variables.update({f"o{index}": repo.owner, f"n{index}": repo.name, f"p{index}": number})
        declarations.append(f"$o{index}: String!, $n{index}: String!, $p{index}: Int!")
        paths[(alias, "pull")] = str(number)
        selections.append(
            f"{alias}: repository(owner: $o{index}, name: $n{index}) "
            f"{{ pull: pullRequest(number: $p{index}) {{ number state merged url }} }}"
        )
    query = f"query ReadPulls({', '.join(declarations)}) {{\n  " + "\n  ".join(selections) + "\n}\n"
    return Batch(query, variables, aliases, paths)


def pull_read(node: Mapping[str, Any] | None) -> PullRead | None:
    if not node:
        return None
    return PullRead(
        int(node["number"]), str(node["state"]).lower(), bool(node["merged"]), str(node["url"])
    )
