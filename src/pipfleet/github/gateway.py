"""GitHub through PyGithub: authentication, GraphQL batches, and errors a user can act on.

Reads go through GraphQL, many repositories a request; PyGithub provides the
authentication (token or GitHub App installation), retries and the requester.
Every GithubException is translated into a GitHubError here, so nothing above
this module sees PyGithub's types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from github import Auth, Github, GithubIntegration
from urllib3.util.retry import Retry

from pipfleet import __version__
from pipfleet.config import GitHubSettings, Secrets
from pipfleet.engine.requirementsincludes import missing_includes
from pipfleet.errors import (
    ConfigError,
    GitHubError,
    IncompleteAnswer,
    NotFound,
    Unauthorized,
    UnknownOrganization,
)
from pipfleet.github.limits import Patience, server_error_retry
from pipfleet.github.queries import (
    LIST_REPOSITORIES,
    Batch,
    BlobRead,
    Layout,
    PullRead,
    RepoFiles,
    blob_read,
    blobs_batch,
    discovery_batch,
    errors_by_alias,
    manifest_layout,
    parse_repositories,
    pull_read,
    pulls_batch,
)
from pipfleet.manifests import (
    LOCK_NAMES,
    PIPFILE_LOCK,
    PIPFILE_NAME,
    POETRY_LOCK,
    PYPROJECT_NAME,
    UV_LOCK,
    is_requirements,
    pyproject_kind,
    sibling,
)
from pipfleet.repositories import RepoSummary
from pipfleet.states import ManifestKind

USER_AGENT = f"pipfleet/{__version__}"
PAGE_SIZE = 100
# Rounds of reading what requirements files include: projects nest a level or two. An
# include still unread after them is audited as absent.
INCLUDE_ROUNDS = 5


def connect(
    settings: GitHubSettings,
    secrets: Secrets,
    *,
    writes: bool = False,
    retry: Retry | None = None,
) -> Github:
    """A PyGithub client for the configured API, with a token or as a GitHub App installation.

    PyGithub paces every POST as a write; GraphQL queries are POSTs that only read, so
    a client that will not write (``writes=False``) is not paced between them.
    """
    retry = server_error_retry(writes=writes) if retry is None else retry
    common: dict[str, Any] = {
        "base_url": settings.api_url,
        "user_agent": USER_AGENT,
        "per_page": PAGE_SIZE,
        "retry": retry,
        "seconds_between_requests": settings.request_pause,
        "seconds_between_writes": settings.write_pause if writes else 0,
    }
    if secrets.app_id and secrets.app_private_key:
        app = Auth.AppAuth(secrets.app_id, secrets.app_private_key.reveal())
        installation = secrets.app_installation_id
        if installation is None:
            integration = GithubIntegration(base_url=settings.api_url, auth=app, retry=retry)
            try:
                installation = Patience().call(
                    f"looking up the App installation on {settings.org}",
                    lambda: integration.get_org_installation(settings.org).id,
                    lambda: None,
                )
            except NotFound:
                raise UnknownOrganization(
                    f"the GitHub App {secrets.app_id} is not installed on {settings.org!r}: "
                    "install it on the org, or check github.org"
                ) from None
        return Github(auth=app.get_installation_auth(installation), **common)
    if secrets.github_token is None:
        raise ConfigError(
            "no GitHub credentials: set GITHUB_TOKEN, or PIPFLEET_GITHUB_APP_ID and "
            "PIPFLEET_GITHUB_APP_PRIVATE_KEY"
        )
    return Github(auth=Auth.Token(secrets.github_token.reveal()), **common)


class GitHubGateway:
    """The reads a fleet scan needs, in as few requests as GitHub allows."""

    def __init__(self, github: Github, settings: GitHubSettings, patience: Patience | None = None):
        self._github = github
        self._settings = settings
        self._patience = patience or Patience()
        self.requests = 0

    def _counted(self) -> None:
        self.requests += 1

    def graphql(
        self, query: str, variables: dict[str, Any], doing: str
    ) -> tuple[dict[str, Any], list[Any]]:
        """Data and errors of one GraphQL request: partial answers are not failures here."""
        requester = self._github.requester
        _, answer = self._patience.call(
            doing,
            lambda: requester.requestJsonAndCheck(
                "POST", requester.graphql_url, input={"query": query, "variables": variables}
            ),
            self._counted,
        )
        if not isinstance(answer, dict):
            raise IncompleteAnswer(f"GitHub sent an empty or unreadable answer while {doing}")
        data, errors = answer.get("data"), answer.get("errors")
        if not isinstance(data, dict | None) or not isinstance(errors, list | None):
            raise IncompleteAnswer(f"GitHub's answer while {doing} is not a GraphQL response")
        if data is None and not errors:
            raise IncompleteAnswer(f"GitHub's answer while {doing} has neither data nor errors")
        return data or {}, list(errors or ())

    def list_repositories(self) -> list[RepoSummary]:
        org = self._settings.org
        repos: list[RepoSummary] = []
        cursor: str | None = None
        while True:
            variables = {"org": org, "first": PAGE_SIZE, "after": cursor}
            data, errors = self.graphql(
                LIST_REPOSITORIES, variables, f"listing {org}'s repositories"
            )
            if errors and not data.get("organization"):
                raise _unlisted(org, errors)
            page = parse_repositories(data, org)
            repos.extend(page.repos)
            if not page.has_next:
                if len(repos) != page.total:
                    raise IncompleteAnswer(
                        f"GitHub listed {len(repos)} of {org}'s {page.total} repositories"
                    )
                return repos
            cursor = page.cursor

    def read_files(
        self, repos: Sequence[RepoSummary], on_batch: Callable[[int], None] | None = None
    ) -> list[RepoFiles]:
        """The manifests (and lock and opt-out files) of each repository at its head oid."""
        results: list[RepoFiles] = []
        size = self._settings.graphql_batch
        for start in range(0, len(repos), size):
            chunk = repos[start : start + size]
            results.extend(self._read_chunk(chunk))
            if on_batch is not None:
                on_batch(len(chunk))
        return results

    def read_texts(
        self, wanted: Sequence[tuple[RepoSummary, Sequence[str]]]
    ) -> dict[str, dict[str, str]]:
        """The text of given files at each repository's head: full name -> {path: text}.

        Missing, binary and truncated files are left out.
        """
        texts: dict[str, dict[str, str]] = {}
        size = self._settings.graphql_batch
        for start in range(0, len(wanted), size):
            batch = blobs_batch(wanted[start : start + size])
            data, _ = self.graphql(batch.query, batch.variables, "reading files")
            for (alias, key), path in batch.paths.items():
                read = blob_read(path, (data.get(alias) or {}).get(key))
                if read is not None and read.text is not None and not read.truncated:
                    repo = batch.aliases[alias]
                    texts.setdefault(repo.full_name, {})[path] = read.text
        return texts

    def read_pulls(
        self, wanted: Sequence[tuple[RepoSummary, int]]
    ) -> dict[tuple[str, int], PullRead]:
        """The state of given pull requests: (full name, number) -> what GitHub says now.

        A pull request GitHub cannot resolve is left out.
        """
        states: dict[tuple[str, int], PullRead] = {}
        size = self._settings.graphql_batch
        for start in range(0, len(wanted), size):
            batch = pulls_batch(wanted[start : start + size])
            data, _ = self.graphql(batch.query, batch.variables, "reading pull requests")
            for alias, repo in batch.aliases.items():
                read = pull_read((data.get(alias) or {}).get("pull"))
                if read is not None:
                    states[(repo.full_name, read.number)] = read
        return states

    def _read_chunk(self, repos: Sequence[RepoSummary]) -> list[RepoFiles]:
        explicit = self._settings.pipfiles
        depth = self._settings.discovery_depth
        batch = discovery_batch(repos, depth if explicit == "auto" else 0)
        data, errors = self.graphql(batch.query, batch.variables, "reading Pipfiles")
        failed = errors_by_alias(errors)
        found: dict[str, RepoFiles] = {}
        wanted: list[tuple[RepoSummary, list[str]]] = []
        for alias, repo in batch.aliases.items():
            node = data.get(alias)
            if node is None:
                found[alias] = RepoFiles(repo, error=failed.get(alias, "no answer from GitHub"))
                continue
            if problem := _incomplete(node, ("tree", "pipfile", "optout"), explicit == "auto"):
                found[alias] = RepoFiles(repo, error=problem)
                continue
            opt_out = (node.get("optout") or {}).get("text")
            layout = manifest_layout(node.get("tree"))
            if explicit == "auto":
                paths, locks = layout.pipfiles, layout.locks
            else:  # the configured Pipfiles, and no other manifest
                paths, locks = list(explicit), frozenset()
            root = blob_read(PIPFILE_NAME, node.get("pipfile"))
            pipfiles = (root,) if root and PIPFILE_NAME in paths else ()
            found[alias] = RepoFiles(repo, pipfiles, locks, opt_out)
            rest = [p for p in paths if p != PIPFILE_NAME]
            if explicit != "auto":  # explicit paths also say whether a lock sits beside them
                rest += [sibling(p, PIPFILE_LOCK) for p in paths]
            else:  # the other manifests and the locks beside them, read whole in one request
                rest += layout.pyprojects + layout.requirements
                rest += [
                    lock
                    for path, name in _lock_names(layout)
                    if (lock := sibling(path, name)) in locks
                ]
            if rest:
                wanted.append((repo, rest))
        if wanted:
            self._read_nested(wanted, batch, found)
        for _ in range(INCLUDE_ROUNDS):
            if not self._read_includes(found):
                break
        return [found[alias] for alias in batch.aliases]

    def _read_includes(self, found: dict[str, RepoFiles]) -> bool:
        """One round of reading what the requirements files read so far include (-r/-c),
        every repository of the chunk in one request; False when none wants more."""
        wanted: list[tuple[str, list[str]]] = []
        for alias, files in found.items():
            if files.error is not None:
                continue
            known = files.requirements_texts()
            roots = [m.path for m in files.manifests if m.kind is ManifestKind.REQUIREMENTS]
            missing = {path for root in roots for path in missing_includes(root, known)}
            if missing:
                wanted.append((alias, sorted(missing)))
        if not wanted:
            return False
        batch = blobs_batch([(found[alias].repo, paths) for alias, paths in wanted])
        data, errors = self.graphql(
            batch.query, batch.variables, "reading included requirements files"
        )
        failed = errors_by_alias(errors)
        for (alias, _), asked in zip(wanted, batch.aliases, strict=True):
            files, node = found[alias], data.get(asked)
            keys = [key for owner, key in batch.paths if owner == asked]
            if node is None or (problem := _incomplete(node, keys, False)):
                why = failed.get(asked, "no answer from GitHub") if node is None else problem
                found[alias] = RepoFiles(files.repo, error=why)
                continue
            read = {
                path: blob_read(path, node.get(key))
                for (owner, key), path in batch.paths.items()
                if owner == asked
            }
            texts = {
                path: None if r is None or r.truncated or r.binary else r.text
                for path, r in read.items()
            }
            found[alias] = replace(files, includes={**files.includes, **texts})
        return True

    def _read_nested(
        self, wanted: list[tuple[RepoSummary, list[str]]], first: Batch, found: dict[str, RepoFiles]
    ) -> None:
        batch = blobs_batch(wanted)
        data, errors = self.graphql(batch.query, batch.variables, "reading nested Pipfiles")
        failed = errors_by_alias(errors)
        alias_of = {repo.full_name: alias for alias, repo in first.aliases.items()}
        for alias, repo in batch.aliases.items():
            original = found[alias_of[repo.full_name]]
            node = data.get(alias)
            if node is None:
                found[alias_of[repo.full_name]] = RepoFiles(
                    repo, error=failed.get(alias, "no answer from GitHub")
                )
                continue
            asked = [key for owner_alias, key in batch.paths if owner_alias == alias]
            if problem := _incomplete(node, asked, False):
                found[alias_of[repo.full_name]] = RepoFiles(repo, error=problem)
                continue
            reads = [
                read
                for (owner_alias, key), path in batch.paths.items()
                if owner_alias == alias and (read := blob_read(path, node.get(key))) is not None
            ]
            found[alias_of[repo.full_name]] = _sorted_reads(original, reads)


def _lock_names(layout: Layout) -> list[tuple[str, str]]:
    """(manifest path, lock name) of each lock a manifest of the layout may have beside it."""
    return [(path, PIPFILE_LOCK) for path in layout.pipfiles] + [
        (path, name) for path in layout.pyprojects for name in (UV_LOCK, POETRY_LOCK)
    ]


def _sorted_reads(original: RepoFiles, reads: Sequence[BlobRead]) -> RepoFiles:
    """A repository's files with the second request's reads sorted in by their names.

    A pyproject.toml is kept only when it is uv's or Poetry's (see pipfleet.manifests),
    which may take the uv.lock beside it to tell.
    """
    pipfiles = list(original.pipfiles)
    locks = set(original.lockfiles)
    lock_texts: dict[str, str] = {}
    pyprojects: list[BlobRead] = []
    manifests: list[BlobRead] = []
    for read in reads:
        name = read.path.rpartition("/")[2]
        whole = read.text is not None and not (read.truncated or read.binary)
        if name in LOCK_NAMES:
            locks.add(read.path)
            if whole and read.text is not None:
                lock_texts[read.path] = read.text
        elif name == PYPROJECT_NAME:
            pyprojects.append(read)
        elif is_requirements(read.path):
            manifests.append(replace(read, kind=ManifestKind.REQUIREMENTS))
        else:
            pipfiles.append(read)
    for read in pyprojects:
        text = read.text if not (read.truncated or read.binary) else None
        if kind := pyproject_kind(text, sibling(read.path, UV_LOCK) in locks):
            manifests.append(replace(read, kind=kind))
    return RepoFiles(
        original.repo,
        tuple(pipfiles),
        frozenset(locks),
        original.opt_out,
        lock_texts=lock_texts,
        manifests=tuple(sorted(manifests, key=lambda m: (m.path.count("/"), m.path))),
    )


def _unlisted(org: str, errors: Sequence[Any]) -> GitHubError:
    """Why GitHub would not list the org's repositories, as the error a user can act on."""
    kinds = {error.get("type") for error in errors if isinstance(error, dict)}
    if "NOT_FOUND" in kinds:
        return UnknownOrganization(
            f"GitHub has no organisation {org!r} that these credentials can see: check "
            "github.org, and that the token or GitHub App has access to it"
        )
    reasons = "; ".join(dict.fromkeys(errors_by_alias(errors).values()))
    if "FORBIDDEN" in kinds:
        return Unauthorized(
            f"GitHub refused to list the repositories of {org} ({reasons}): check the "
            "token's or GitHub App's access to the org (SAML single sign-on included)"
        )
    return GitHubError(f"GitHub would not list the repositories of {org} ({reasons})")


def _incomplete(node: Any, keys: Sequence[str], tree_needed: bool) -> str | None:
    """Why a repository's answer cannot be believed, or None.

    GitHub answers every field asked for, null when the object does not exist; a field
    left out means a cut or forged answer, and reading it as "no Pipfile" would make a
    fix look done. The root tree of a non-empty repository always exists.
    """
    if not isinstance(node, dict) or any(key not in node for key in keys):
        return "GitHub's answer for this repository is incomplete"
    if tree_needed and not isinstance(node.get("tree"), dict):
        return "GitHub's answer has no root tree for this repository"
    return None
