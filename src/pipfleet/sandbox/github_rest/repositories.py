"""Organizations, repositories and the contents API."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.github_rest.common import (
    INSTALLED_AT,
    JSON,
    Call,
    fail,
    invalid,
    paginate,
    reply,
)
from pipfleet.sandbox.github_rest.git_helpers import blob_size, commit_on, decode_base64
from pipfleet.sandbox.gitstore import FILE_MODE, TREE_MODE, TreeEntry
from pipfleet.sandbox.world import Repository

# -- repositories --------------------------------------------------------------------------


def repo_body(call: Call, repo: Repository) -> JSON:
    tree = call.store.tree_of(repo.head)
    if tree and tree not in call.state.sizes:
        total = sum(blob_size(call.store, e) for e in call.store.files(tree).values())
        call.state.sizes[tree] = math.ceil(total / 1024)
    open_pulls = sum(1 for pr in repo.pulls.values() if pr.state == "open")
    return shapes.repository(call.site, repo, call.state.sizes.get(tree or "", 0), open_pulls)


def the_org(call: Call) -> tuple[str, dict[str, Repository]]:
    owner = call.arg("org").lower()
    for login, repos in call.world.orgs.items():
        if login.lower() == owner:
            return login, repos
    fail(404, "Not Found")


def get_org(call: Call) -> Response:
    login, repos = the_org(call)
    created = min((repo.created_at for repo in repos.values()), default=INSTALLED_AT)
    return reply(shapes.organization(call.site, login, list(repos.values()), created))


def list_org_repos(call: Call) -> Response:
    _, repos = the_org(call)
    filters: dict[str, Callable[[Repository], bool]] = {
        "all": lambda r: True,
        "public": lambda r: r.visibility == "public",
        "private": lambda r: r.visibility != "public",
        "forks": lambda r: r.fork,
        "sources": lambda r: not r.fork,
    }
    keep = filters.get(call.query("type") or "all", filters["all"])
    sort = call.query("sort") or "created"
    keys: dict[str, Callable[[Repository], Any]] = {
        "created": lambda r: r.created_at,
        "updated": lambda r: r.pushed_at or r.created_at,
        "pushed": lambda r: r.pushed_at or r.created_at,
        "full_name": lambda r: r.full_name.lower(),
    }
    direction = call.query("direction") or ("asc" if sort == "full_name" else "desc")
    chosen = sorted(
        (r for r in repos.values() if keep(r)),
        key=keys.get(sort, keys["created"]),
        reverse=direction == "desc",
    )
    page, headers = paginate(call, chosen)
    return reply([repo_body(call, r) for r in page], headers=headers)


def get_repo(call: Call) -> Response:
    return reply(repo_body(call, call.repo()))


def get_topics(call: Call) -> Response:
    return reply({"names": list(call.repo().topics)})


# -- contents ------------------------------------------------------------------------------


def get_contents(call: Call) -> Response:
    repo = call.repo()
    if not repo.refs:
        fail(404, "This repository is empty.")
    ref = call.query("ref") or repo.default_branch
    sha = call.world.resolve(repo, ref)
    if sha is None:
        fail(404, f"No commit found for the ref {ref}")
    path = str(call.request.path_params.get("path", "")).strip("/")
    entry = call.store.entry_at(call.commit(sha).tree, path)
    if entry is not None and entry.mode == TREE_MODE:
        listing = call.store.tree(entry.sha)
        return reply(
            [
                shapes.content_item(
                    call.site,
                    repo,
                    ref,
                    f"{path}/{e.name}".lstrip("/"),
                    e,
                    blob_size(call.store, e),
                )
                for e in (listing.entries if listing else ())
            ]
        )
    found = call.store.blob(entry.sha) if entry else None
    if entry is None or found is None:
        fail(404, "Not Found")
    return reply(shapes.content_file(call.site, repo, ref, path, entry, found.data))


def existing_file(call: Call, repo: Repository, branch: str, path: str) -> TreeEntry | None:
    tree = call.store.tree_of(repo.branch(branch))
    return call.store.entry_at(tree, path) if tree and path else None


def target_branch(call: Call, repo: Repository) -> str:
    branch = call.field("branch") or repo.default_branch
    if repo.refs and repo.branch(branch) is None:
        fail(404, f"Branch {branch} not found")
    return str(branch)


def file_commit(
    call: Call, repo: Repository, sha: str, content: JSON | None, status: int
) -> Response:
    body = {"content": content, "commit": shapes.git_commit(call.site, repo, sha, call.commit(sha))}
    return reply(body, status)


def put_contents(call: Call) -> Response:
    repo = call.writable_repo()
    path = call.arg("path").strip("/")
    message, content, sha = call.field("message"), call.field("content"), call.field("sha")
    if not isinstance(message, str):
        invalid('"message" wasn\'t supplied.')
    if not isinstance(content, str):
        invalid('"content" wasn\'t supplied.')
    data = decode_base64(content)
    branch = target_branch(call, repo)
    existing = existing_file(call, repo, branch, path)
    if existing is not None:
        if not sha:
            invalid('"sha" wasn\'t supplied.')
        if sha != existing.sha:
            fail(409, f"{path} does not match {sha}")
    mode = existing.mode if existing and existing.mode != TREE_MODE else FILE_MODE
    entry = TreeEntry(path.rsplit("/", 1)[-1], mode, call.store.put_blob(data))
    commit_sha = commit_on(call, repo, branch, {path: entry}, message)
    item = shapes.content_item(call.site, repo, branch, path, entry, len(data))
    return file_commit(call, repo, commit_sha, item, 201 if existing is None else 200)


def delete_contents(call: Call) -> Response:
    repo = call.writable_repo()
    path = call.arg("path").strip("/")
    message, sha = call.field("message"), call.field("sha")
    if not isinstance(message, str):
        invalid('"message" wasn\'t supplied.')
    branch = target_branch(call, repo)
    existing = existing_file(call, repo, branch, path)
    if existing is None:
        fail(404, "Not Found")
    if not sha:
        invalid('"sha" wasn\'t supplied.')
    if sha != existing.sha:
        fail(409, f"{path} does not match {sha}")
    return file_commit(call, repo, commit_on(call, repo, branch, {path: None}, message), None, 200)
