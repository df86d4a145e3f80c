"""GitHub's REST API, the subset pipfleet uses, served from the sandbox world.

Handlers follow GitHub's documented behaviour, including the failures a bot
must cope with: stale blob shas (409), duplicate refs and pull requests (422),
non-fast-forward ref updates, archived repositories refusing writes (403), head
filters without an owner being ignored, and GitHub App JWTs. One route per path
template answers every method, so an unsupported method gets GitHub's JSON 404
instead of a plain-text 405, and the middleware counts each template once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.app import GITHUB, github_error
from pipfleet.sandbox.github_rest.app_auth import (
    create_access_token,
    get_org_installation,
    get_rate_limit,
    installation_repositories,
    list_installations,
)
from pipfleet.sandbox.github_rest.app_manifests import create_from_manifest
from pipfleet.sandbox.github_rest.common import Call, Handler, Reply, State, check_token
from pipfleet.sandbox.github_rest.git_data import (
    create_blob,
    create_git_commit,
    create_ref,
    create_tree,
    delete_ref,
    get_blob,
    get_branch,
    get_commit,
    get_git_commit,
    get_ref,
    get_tree,
    update_ref,
)
from pipfleet.sandbox.github_rest.issues import (
    change_labels,
    clear_labels,
    create_comment,
    list_comments,
    list_labels,
)
from pipfleet.sandbox.github_rest.pulls import (
    check_merged,
    create_pull,
    get_pull,
    list_pulls,
    merge_pull,
    update_pull,
)
from pipfleet.sandbox.github_rest.repositories import (
    delete_contents,
    get_contents,
    get_org,
    get_repo,
    get_topics,
    list_org_repos,
    put_contents,
)
from pipfleet.sandbox.world import World

REPO = "/repos/{owner}/{repo}"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


# -- routing -------------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, str, Handler]] = [
    ("GET", "/orgs/{org}", get_org),
    ("GET", "/orgs/{org}/repos", list_org_repos),
    ("GET", REPO, get_repo),
    ("GET", REPO + "/topics", get_topics),
    ("GET", REPO + "/contents", get_contents),  # the root, as "contents/" is too
    ("GET", REPO + "/contents/{path:path}", get_contents),
    ("PUT", REPO + "/contents/{path:path}", put_contents),
    ("DELETE", REPO + "/contents/{path:path}", delete_contents),
    ("GET", REPO + "/git/trees/{tree_sha:path}", get_tree),
    ("POST", REPO + "/git/trees", create_tree),
    ("GET", REPO + "/git/blobs/{file_sha}", get_blob),
    ("POST", REPO + "/git/blobs", create_blob),
    ("GET", REPO + "/git/commits/{commit_sha}", get_git_commit),
    ("POST", REPO + "/git/commits", create_git_commit),
    ("GET", REPO + "/commits/{ref:path}", get_commit),
    ("GET", REPO + "/git/ref/{ref:path}", get_ref),
    ("POST", REPO + "/git/refs", create_ref),
    ("PATCH", REPO + "/git/refs/{ref:path}", update_ref),
    ("DELETE", REPO + "/git/refs/{ref:path}", delete_ref),
    ("GET", REPO + "/branches/{branch:path}", get_branch),
    ("GET", REPO + "/pulls", list_pulls),
    ("POST", REPO + "/pulls", create_pull),
    ("GET", REPO + "/pulls/{pull_number}", get_pull),
    ("PATCH", REPO + "/pulls/{pull_number}", update_pull),
    ("GET", REPO + "/pulls/{pull_number}/merge", check_merged),
    ("PUT", REPO + "/pulls/{pull_number}/merge", merge_pull),
    ("GET", REPO + "/issues/{issue_number}/comments", list_comments),
    ("POST", REPO + "/issues/{issue_number}/comments", create_comment),
    ("GET", REPO + "/issues/{issue_number}/labels", list_labels),
    ("POST", REPO + "/issues/{issue_number}/labels", change_labels),
    ("PUT", REPO + "/issues/{issue_number}/labels", change_labels),
    ("DELETE", REPO + "/issues/{issue_number}/labels", clear_labels),
    ("GET", "/rate_limit", get_rate_limit),
    ("GET", "/app/installations", list_installations),
    ("POST", "/app/installations/{installation_id}/access_tokens", create_access_token),
    ("GET", "/orgs/{org}/installation", get_org_installation),
    ("GET", "/installation/repositories", installation_repositories),
    ("POST", "/app-manifests/{code}/conversions", create_from_manifest),
]
# These take a GitHub App JWT or need an installation token, and check it themselves;
# a manifest conversion takes none (its code is the secret).
SELF_AUTHENTICATING = {
    create_from_manifest,
    list_installations,
    create_access_token,
    get_org_installation,
    installation_repositories,
}


def routes(world: World) -> list[BaseRoute]:
    state = State()
    by_path: dict[str, dict[str, Handler]] = {}
    for method, path, handler in ENDPOINTS:
        by_path.setdefault(path, {})[method] = handler
        if method == "GET":
            by_path[path]["HEAD"] = handler

    def endpoint(methods: dict[str, Handler]) -> Callable[[Request], Any]:
        async def serve(request: Request) -> Response:
            handler = methods.get(request.method)
            if handler is None:
                return github_error(404, "Not Found")
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                return github_error(400, "Problems parsing JSON")
            call = Call(request, world, state, shapes.Site.of(request), body)
            with world.lock:
                try:
                    if handler not in SELF_AUTHENTICATING:
                        check_token(call)
                    return handler(call)
                except Reply as stop:
                    return stop.response

        return serve

    return [
        Route(GITHUB + path, endpoint(methods), methods=METHODS)
        for path, methods in by_path.items()
    ]
