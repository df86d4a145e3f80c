"""GitHub's REST API, the subset pipfleet uses, served from the sandbox world.

Handlers follow GitHub's documented behaviour, including the failures a bot
must cope with: stale blob shas (409), duplicate refs and pull requests (422),
non-fast-forward ref updates, archived repositories refusing writes (403), head
filters without an owner being ignored, and GitHub App JWTs. One route per path
template answers every method, so an unsupported method gets GitHub's JSON 404
instead of a plain-text 405, and the middleware counts each template once.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.app import GITHUB, github_error, github_token
from pipfleet.sandbox.gitstore import (
    EXECUTABLE_MODE,
    FILE_MODE,
    SUBMODULE_MODE,
    SYMLINK_MODE,
    TREE_MODE,
    Commit,
    ObjectStore,
    Signature,
    TreeEntry,
    now,
)
from pipfleet.sandbox.world import BOT_LOGIN, Comment, GitHubApp, PullRequest, Repository, World

JSON = shapes.JSON
REPO = "/repos/{owner}/{repo}"
INSTALLED_AT = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN_LIFETIME = timedelta(hours=1)
JWT_MAX_LIFETIME = 600  # GitHub refuses app JWTs expiring more than ten minutes out
BAD_JWT = "A JSON web token could not be decoded"
EXPIRED_JWT = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time"
    " at which the assertion expires"
)
EMPTY_REPO = "Git Repository is empty."
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
MODES = {FILE_MODE, EXECUTABLE_MODE, SYMLINK_MODE, TREE_MODE, SUBMODULE_MODE}
T = TypeVar("T")


class Reply(Exception):
    """Ends a handler early with a finished response, an error mostly."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def fail(status: int, message: str, errors: list[JSON] | None = None) -> NoReturn:
    raise Reply(github_error(status, message, errors))


def invalid(detail: str) -> NoReturn:
    fail(422, f"Invalid request.\n\n{detail}")


def validation(resource: str, **error: str) -> NoReturn:
    fail(422, "Validation Failed", [{"resource": resource, **error}])


def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class Grant:
    """An installation access token: whose installation, which repositories, until when."""

    org: str
    repositories: list[str] | None
    expires: datetime


@dataclass
class State:
    """What the REST API remembers that the world has no field for."""

    drafts: dict[tuple[int, int], bool] = field(default_factory=dict)
    maintainer_can_modify: dict[tuple[int, int], bool] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # tree sha -> size in KB


@dataclass
class Call:
    """One request as a handler sees it; handlers run holding the world's lock."""

    request: Request
    world: World
    state: State
    site: shapes.Site
    body: Any

    @property
    def store(self) -> ObjectStore:
        return self.world.store

    def arg(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None

    def repo(self) -> Repository:
        repo = self.world.repository(self.arg("owner"), self.arg("repo"))
        if repo is None:
            fail(404, "Not Found")
        if repo.disabled:
            fail(403, "Repository access blocked")
        return repo

    def writable_repo(self) -> Repository:
        repo = self.repo()
        if repo.archived:
            fail(403, "Repository was archived so is read-only.")
        return repo

    def git_repo(self, writable: bool = False) -> Repository:
        """A repository for the git data API, which has nothing to show of an empty one."""
        repo = self.writable_repo() if writable else self.repo()
        if not repo.refs:
            fail(409, EMPTY_REPO)
        return repo

    def number(self, name: str) -> int:
        try:
            return int(self.arg(name))
        except ValueError:
            fail(404, "Not Found")

    def commit(self, sha: str) -> Commit:
        found = self.store.commit(sha)
        if found is None:
            fail(404, "Not Found")
        return found


Handler = Callable[[Call], Response]


# -- pagination, auth ----------------------------------------------------------------------


def paginate(call: Call, items: list[T]) -> tuple[list[T], dict[str, str]]:
    """One page of ``items`` and GitHub's ``Link`` header to the others."""

    def number(name: str, default: int) -> int:
        try:
            return int(call.query(name) or default)
        except ValueError:
            return default

    per_page = min(max(number("per_page", 30), 1), 100)
    page = max(number("page", 1), 1)
    last = max(math.ceil(len(items) / per_page), 1)
    rels = []
    if page > 1:
        rels.append(("prev", min(page - 1, last)))
    if page < last:
        rels += [("next", page + 1), ("last", last)]
    if page > 1:
        rels.append(("first", 1))
    url = call.request.url
    link = ", ".join(f'<{url.include_query_params(page=p)}>; rel="{rel}"' for rel, p in rels)
    start = (page - 1) * per_page
    return items[start : start + per_page], ({"Link": link} if link else {})


def check_token(call: Call) -> None:
    # The middleware lets anything shaped like a JWT through for the App endpoints, and
    # knows nothing of installation tokens expiring; everything else is checked here.
    token = github_token(call.request)
    grant = call.state.grants.get(token or "")
    if token not in call.world.github_tokens or (grant and grant.expires <= now()):
        fail(401, "Bad credentials")


def verify_app(call: Call) -> GitHubApp:
    """The GitHub App whose RS256 JWT authenticates this request, or a 401 like GitHub's."""
    app, token = call.world.github_app, github_token(call.request)
    if app is None or token is None:
        fail(401, BAD_JWT)
    try:
        claims = jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"require": ["exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        fail(401, EXPIRED_JWT)
    except jwt.PyJWTError:
        fail(401, BAD_JWT)
    if str(claims["iss"]) != str(app.app_id):
        fail(401, BAD_JWT)
    if claims["exp"] - time.time() > JWT_MAX_LIFETIME:
        fail(401, "'Expiration time' claim ('exp') is too far in the future")
    return app


def installations(world: World, app: GitHubApp) -> dict[int, str]:
    """Installation id -> org: the app is installed on every org, numbered from its id."""
    return {app.installation_id + i: org for i, org in enumerate(sorted(world.orgs))}


# -- git helpers ---------------------------------------------------------------------------


def ancestors(store: ObjectStore, sha: str) -> set[str]:
    seen: set[str] = set()
    todo = [sha]
    while todo:
        current = todo.pop()
        found = store.commit(current)
        if current in seen or found is None:
            continue
        seen.add(current)
        todo.extend(found.parents)
    return seen


def merge_base(store: ObjectStore, a: str, b: str) -> str | None:
    """The nearest commit of ``b``'s history that ``a`` also contains."""
    reachable = ancestors(store, a)
    queue, seen = deque([b]), set()
    while queue:
        current = queue.popleft()
        if current in reachable:
            return current
        found = store.commit(current)
        if current not in seen and found is not None:
            seen.add(current)
            queue.extend(found.parents)
    return None


def tree_of(store: ObjectStore, sha: str | None) -> str | None:
    found = store.commit(sha) if sha else None
    return found.tree if found else None


def three_way(store: ObjectStore, base: str | None, ours: str, theirs: str) -> str | None:
    """Merge two trees file by file; None when both sides changed a file differently."""
    old = shapes.tree_files(store, base) if base else {}
    left, right = shapes.tree_files(store, ours), shapes.tree_files(store, theirs)
    merged: dict[str, TreeEntry | None] = {}
    for path in old.keys() | left.keys() | right.keys():
        was, mine, other = old.get(path), left.get(path), right.get(path)
        if mine == other or other == was:
            merged[path] = mine
        elif mine == was:
            merged[path] = other
        else:
            return None
    kept = {path: entry for path, entry in merged.items() if entry is not None}
    return store.with_changes(None, kept)


def file_changes(
    call: Call, repo: Repository, old_tree: str | None, new_tree: str, sha: str
) -> list[JSON]:
    store = call.store
    before = shapes.tree_files(store, old_tree) if old_tree else {}
    after = shapes.tree_files(store, new_tree)
    entries = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old != new:
            old_blob = store.blob(old.sha) if old else None
            new_blob = store.blob(new.sha) if new else None
            entries.append(
                shapes.diff_entry(
                    call.site,
                    repo,
                    sha,
                    path,
                    old_blob.data if old_blob else None,
                    new_blob.data if new_blob else None,
                    new.sha if new else old.sha if old else None,
                )
            )
    return entries


def blob_size(store: ObjectStore, entry: TreeEntry) -> int:
    found = store.blob(entry.sha)
    return len(found.data) if found else 0


def bot_signature() -> Signature:
    return Signature(BOT_LOGIN, shapes.BOT_EMAIL, now())


def signature(value: Any, default: Signature) -> Signature:
    if value is None:
        return default
    if not isinstance(value, dict) or not all(
        isinstance(value.get(key), str) for key in ("name", "email")
    ):
        invalid("author and committer need a name and an email.")
    when = parse_time(value["date"]) if isinstance(value.get("date"), str) else default.date
    if when is None:
        invalid(f"{value['date']} is not a valid date.")
    return Signature(value["name"], value["email"], when)


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time; one without an offset is UTC, so commit shas never depend on TZ."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def commit_on(
    call: Call, repo: Repository, branch: str, changes: dict[str, TreeEntry | None], message: str
) -> str:
    """Commit ``changes`` on top of ``branch`` (creating it) and move the branch."""
    parent = repo.branch(branch)
    author = signature(call.field("author"), bot_signature())
    committer = signature(call.field("committer"), author)
    tree = call.store.with_changes(tree_of(call.store, parent), changes)
    sha = call.store.put_commit(
        Commit(tree, (parent,) if parent else (), message, author, committer)
    )
    repo.refs[f"heads/{branch}"] = sha
    repo.pushed_at = now()
    return sha


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        invalid("content is not valid Base64.")


# -- repositories --------------------------------------------------------------------------


def repo_body(call: Call, repo: Repository) -> JSON:
    tree = tree_of(call.store, repo.head)
    if tree and tree not in call.state.sizes:
        total = sum(blob_size(call.store, e) for e in shapes.tree_files(call.store, tree).values())
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
    tree = tree_of(call.store, repo.branch(branch))
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


# -- git data ------------------------------------------------------------------------------


def get_tree(call: Call) -> Response:
    repo = call.git_repo()
    name = call.arg("tree_sha")
    sha = name if call.store.tree(name) else tree_of(call.store, call.world.resolve(repo, name))
    if sha is None:
        fail(404, "Not Found")
    if call.query("recursive") is not None:  # any value asks for the whole tree, as on GitHub
        walked = list(call.store.walk(sha))
    else:
        found = call.store.tree(sha)
        walked = [(e.name, e) for e in (found.entries if found else ())]
    entries = [(path, e, blob_size(call.store, e)) for path, e in walked]
    return reply(shapes.tree(call.site, repo, sha, entries))


def tree_change(call: Call, item: Any) -> tuple[str, TreeEntry | None]:
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        invalid("tree entries need a path.")
    path, mode, kind = item["path"].strip("/"), item.get("mode"), item.get("type")
    expected = {TREE_MODE: "tree", SUBMODULE_MODE: "commit"}.get(str(mode), "blob")
    if not isinstance(mode, str) or mode not in MODES or kind != expected:
        validation("Tree", field="tree", code="invalid", message=f"tree.{path}: bad mode or type")
    name, sha, content = path.rsplit("/", 1)[-1], item.get("sha"), item.get("content")
    if isinstance(content, str) and sha is None and kind == "blob":
        return path, TreeEntry(name, mode, call.store.put_blob(content.encode()))
    if "sha" in item and sha is None and content is None:
        return path, None  # a null sha removes the path from base_tree
    if not isinstance(sha, str) or content is not None:
        invalid("Must supply either tree.sha or tree.content.")
    exists = {"blob": call.store.blob, "tree": call.store.tree}.get(kind)
    if exists is not None and exists(sha) is None:
        validation("Tree", field="tree.sha", code="invalid", message=f"{sha} is not a valid {kind}")
    return path, TreeEntry(name, mode, sha)


def create_tree(call: Call) -> Response:
    repo = call.git_repo(writable=True)
    items, base = call.field("tree"), call.field("base_tree")
    if not isinstance(items, list):
        invalid('"tree" wasn\'t supplied.')
    if base is not None and call.store.tree(str(base)) is None:
        validation("Tree", field="base_tree", code="invalid", message="base_tree is not a tree")
    changes = dict(tree_change(call, item) for item in items)
    sha = call.store.with_changes(str(base) if base else None, changes)
    found = call.store.tree(sha)
    entries = [(e.name, e, blob_size(call.store, e)) for e in (found.entries if found else ())]
    body = shapes.tree(call.site, repo, sha, entries)
    return reply(body, 201, {"Location": body["url"]})


def get_blob(call: Call) -> Response:
    repo = call.git_repo()
    sha = call.arg("file_sha")
    found = call.store.blob(sha)
    if found is None:
        fail(404, "Not Found")
    return reply(shapes.blob(call.site, repo, sha, found.data))


def create_blob(call: Call) -> Response:
    repo = call.git_repo(writable=True)
    content, encoding = call.field("content"), call.field("encoding") or "utf-8"
    if not isinstance(content, str):
        invalid('"content" wasn\'t supplied.')
    if encoding not in ("utf-8", "base64"):
        validation("Blob", field="encoding", code="invalid")
    data = decode_base64(content) if encoding == "base64" else content.encode()
    sha = call.store.put_blob(data)
    url = f"{call.site.repo_api(repo)}/git/blobs/{sha}"
    return reply({"sha": sha, "url": url}, 201, {"Location": url})


def get_git_commit(call: Call) -> Response:
    repo = call.git_repo()
    sha = call.arg("commit_sha")
    return reply(shapes.git_commit(call.site, repo, sha, call.commit(sha)))


def create_git_commit(call: Call) -> Response:
    repo = call.git_repo(writable=True)
    message, tree, parents = call.field("message"), call.field("tree"), call.field("parents")
    if not isinstance(message, str):
        invalid('"message" wasn\'t supplied.')
    if not isinstance(tree, str) or call.store.tree(tree) is None:
        validation("Commit", field="tree", code="invalid", message="Tree SHA does not exist")
    parents = parents if isinstance(parents, list) else []
    if not all(isinstance(p, str) and call.store.commit(p) for p in parents):
        validation("Commit", field="parents", code="invalid", message="Parent SHA does not exist")
    author = signature(call.field("author"), bot_signature())
    committer = signature(call.field("committer"), author)
    found = Commit(tree, tuple(parents), message, author, committer)
    sha = call.store.put_commit(found)
    body = shapes.git_commit(call.site, repo, sha, found)
    return reply(body, 201, {"Location": body["url"]})


def get_commit(call: Call) -> Response:
    repo = call.git_repo()
    ref = call.arg("ref")
    sha = call.world.resolve(repo, ref)
    if sha is None:
        fail(422, f"No commit found for SHA: {ref}")
    found = call.commit(sha)
    parent_tree = tree_of(call.store, found.parents[0]) if found.parents else None
    files = file_changes(call, repo, parent_tree, found.tree, sha)
    return reply(shapes.commit(call.site, repo, sha, found, files))


# -- refs and branches ---------------------------------------------------------------------


def get_ref(call: Call) -> Response:
    repo = call.git_repo()
    name = call.arg("ref")
    if name not in repo.refs:
        fail(404, "Not Found")
    return reply(shapes.ref(call.site, repo, name, repo.refs[name]))


def create_ref(call: Call) -> Response:
    repo = call.git_repo(writable=True)
    full, sha = call.field("ref"), call.field("sha")
    if not isinstance(full, str) or not full.startswith("refs/") or full.count("/") < 2:
        fail(422, "Reference name must start with 'refs/' and have at least two slashes.")
    if not isinstance(sha, str) or call.store.commit(sha) is None:
        fail(422, "Object does not exist")
    name = full.removeprefix("refs/")
    if name in repo.refs:
        fail(422, "Reference already exists")
    repo.refs[name] = sha
    body = shapes.ref(call.site, repo, name, sha)
    return reply(body, 201, {"Location": body["url"]})


def update_ref(call: Call) -> Response:
    repo = call.writable_repo()
    name, sha = call.arg("ref"), call.field("sha")
    if name not in repo.refs:
        fail(422, "Reference does not exist")
    if not isinstance(sha, str) or call.store.commit(sha) is None:
        fail(422, "Object does not exist")
    if not call.field("force") and repo.refs[name] not in ancestors(call.store, sha):
        fail(422, "Update is not a fast forward")
    repo.refs[name] = sha
    repo.pushed_at = now()
    return reply(shapes.ref(call.site, repo, name, sha))


def delete_ref(call: Call) -> Response:
    repo = call.writable_repo()
    name = call.arg("ref")
    if name not in repo.refs:
        fail(422, "Reference does not exist")
    if name == f"heads/{repo.default_branch}":
        fail(422, "Cannot delete the default branch.")
    del repo.refs[name]
    branch = name.removeprefix("heads/")
    for pr in repo.pulls.values():  # GitHub closes pull requests whose branch is gone
        if pr.state == "open" and branch in (pr.head, pr.base):
            pr.state, pr.closed_at, pr.updated_at = "closed", now(), now()
    return Response(status_code=204)


def get_branch(call: Call) -> Response:
    repo = call.repo()
    name = call.arg("branch")
    sha = repo.branch(name)
    if sha is None:
        fail(404, "Branch not found")
    return reply(shapes.branch(call.site, repo, name, sha, call.commit(sha)))


# -- pull requests -------------------------------------------------------------------------


def pull_body(call: Call, repo: Repository, pr: PullRequest, full: bool = True) -> JSON:
    store = call.store
    pr.head_sha = repo.branch(pr.head) or pr.head_sha
    base_sha = repo.branch(pr.base) or ""
    # A merged pull request is measured against the base as it was before the merge.
    merged = store.commit(pr.merge_commit_sha or "")
    before = merged.parents[0] if pr.merged and merged and merged.parents else base_sha
    commits = additions = deletions = changed = 0
    mergeable: bool | None = None
    if full and before and pr.head_sha:
        common = merge_base(store, before, pr.head_sha)
        head_tree = tree_of(store, pr.head_sha) or ""
        commits = len(ancestors(store, pr.head_sha) - ancestors(store, before))
        files = file_changes(call, repo, tree_of(store, common), head_tree, pr.head_sha)
        additions = sum(f["additions"] for f in files)
        deletions = sum(f["deletions"] for f in files)
        changed = len(files)
        if pr.state == "open":
            base_tree = tree_of(store, before) or ""
            mergeable = three_way(store, tree_of(store, common), base_tree, head_tree) is not None
    key = (repo.id, pr.number)
    facts = shapes.PullFacts(
        head_sha=pr.head_sha,
        base_sha=base_sha,
        repo=repo_body(call, repo),
        labels=repo.labels.get(pr.number, []),
        comments=len(repo.comments.get(pr.number, [])),
        draft=call.state.drafts.get(key, False),
        maintainer_can_modify=call.state.maintainer_can_modify.get(key, True),
        commits=commits,
        additions=additions,
        deletions=deletions,
        changed_files=changed,
        mergeable=mergeable,
    )
    return shapes.pull(call.site, repo, pr, facts, full)


def the_pull(call: Call, repo: Repository) -> PullRequest:
    pr = repo.pulls.get(call.number("pull_number"))
    if pr is None:
        fail(404, "Not Found")
    return pr


def duplicate(repo: Repository, head: str, base: str, other_than: int = 0) -> bool:
    return any(
        pr.state == "open" and pr.head == head and pr.base == base and pr.number != other_than
        for pr in repo.pulls.values()
    )


def already_exists(repo: Repository, head: str) -> NoReturn:
    message = f"A pull request already exists for {repo.owner}:{head}."
    validation("PullRequest", code="custom", message=message)


def list_pulls(call: Call) -> Response:
    repo = call.repo()
    state = call.query("state") or "open"
    if state not in ("open", "closed", "all"):
        validation("PullRequest", field="state", code="invalid")
    owner, colon, head = (call.query("head") or "").partition(":")
    base = call.query("base")
    chosen = [
        pr
        for pr in repo.pulls.values()
        if state in ("all", pr.state)
        # GitHub ignores a head filter without its "owner:" part.
        and (not colon or (owner.lower() == repo.owner.lower() and pr.head == head))
        and (base is None or pr.base == base)
    ]
    sort = call.query("sort") or "created"
    orders: dict[str, Callable[[PullRequest], Any]] = {
        "updated": lambda pr: pr.updated_at,
        "long-running": lambda pr: pr.created_at,
    }
    order = orders.get(sort, lambda pr: (pr.created_at, pr.number))
    default_direction = "asc" if sort == "long-running" else "desc"
    chosen.sort(key=order, reverse=(call.query("direction") or default_direction) == "desc")
    page, headers = paginate(call, chosen)
    return reply([pull_body(call, repo, pr, full=False) for pr in page], headers=headers)


def create_pull(call: Call) -> Response:
    repo = call.writable_repo()
    title, head, base = call.field("title"), call.field("head"), call.field("base")
    for name, value in (("title", title), ("head", head), ("base", base)):
        if not isinstance(value, str) or not value:
            validation("PullRequest", field=name, code="missing_field")
    owner, _, branch = head.rpartition(":")
    head_sha = repo.branch(branch)
    if (owner and owner.lower() != repo.owner.lower()) or head_sha is None:
        validation("PullRequest", field="head", code="invalid")
    base_sha = repo.branch(base)
    if base_sha is None:
        validation("PullRequest", field="base", code="invalid")
    if duplicate(repo, branch, base):
        already_exists(repo, branch)
    if head_sha in ancestors(call.store, base_sha):
        message = f"No commits between {base} and {branch}"
        validation("PullRequest", code="custom", message=message)
    body = call.field("body")
    moment = now()
    pr = PullRequest(
        id=call.world.new_id(),
        number=repo.next_number,
        title=title,
        body=body if isinstance(body, str) else "",
        head=branch,
        base=base,
        user=BOT_LOGIN,
        created_at=moment,
        updated_at=moment,
        head_sha=head_sha,
    )
    repo.next_number += 1
    repo.pulls[pr.number] = pr
    call.state.drafts[(repo.id, pr.number)] = bool(call.field("draft"))
    call.state.maintainer_can_modify[(repo.id, pr.number)] = (
        call.field("maintainer_can_modify") is not False
    )
    data = pull_body(call, repo, pr)
    return reply(data, 201, {"Location": data["url"]})


def get_pull(call: Call) -> Response:
    repo = call.repo()
    return reply(pull_body(call, repo, the_pull(call, repo)))


def update_pull(call: Call) -> Response:
    repo = call.writable_repo()
    pr = the_pull(call, repo)
    title, body, state, base = (call.field(k) for k in ("title", "body", "state", "base"))
    if state not in (None, "open", "closed"):
        validation("PullRequest", field="state", code="invalid")
    if base is not None and (not isinstance(base, str) or repo.branch(base) is None):
        validation("PullRequest", field="base", code="invalid")
    if state == "open" and pr.state == "closed" and (pr.merged or repo.branch(pr.head) is None):
        message = "state cannot be changed. The pull request cannot be reopened."
        validation("PullRequest", code="custom", field="state", message=message)
    if (state or pr.state) == "open" and duplicate(
        repo, pr.head, base or pr.base, other_than=pr.number
    ):
        already_exists(repo, pr.head)
    moment = now()
    if isinstance(title, str):
        pr.title = title
    if isinstance(body, str):
        pr.body = body
    if base is not None:
        pr.base = base
    if state is not None and state != pr.state:
        pr.state, pr.closed_at = state, (moment if state == "closed" else None)
    if isinstance(call.field("maintainer_can_modify"), bool):
        call.state.maintainer_can_modify[(repo.id, pr.number)] = call.field("maintainer_can_modify")
    pr.updated_at = moment
    return reply(pull_body(call, repo, pr))


def check_merged(call: Call) -> Response:
    repo = call.repo()
    if not the_pull(call, repo).merged:
        fail(404, "Not Found")
    return Response(status_code=204)


def merge_pull(call: Call) -> Response:
    repo = call.writable_repo()
    pr = the_pull(call, repo)
    method = call.field("merge_method") or "merge"
    if method not in ("merge", "squash", "rebase"):
        validation("PullRequest", field="merge_method", code="invalid")
    if method == "rebase":
        fail(405, "Rebase merges are not allowed on this repository.")
    head_sha, base_sha = repo.branch(pr.head), repo.branch(pr.base)
    if pr.state != "open" or head_sha is None or base_sha is None:
        fail(405, "Pull Request is not mergeable")
    if call.state.drafts.get((repo.id, pr.number)):
        fail(405, "Pull Request is still a draft")
    if call.field("sha") not in (None, head_sha):
        fail(409, "Head branch was modified. Review and try the merge again.")
    common = tree_of(call.store, merge_base(call.store, base_sha, head_sha))
    tree = three_way(
        call.store, common, tree_of(call.store, base_sha) or "", tree_of(call.store, head_sha) or ""
    )
    if tree is None:
        fail(405, "Pull Request is not mergeable")
    if method == "merge":
        title = f"Merge pull request #{pr.number} from {repo.owner}/{pr.head}"
        parents: tuple[str, ...] = (base_sha, head_sha)
    else:
        title, parents = f"{pr.title} (#{pr.number})", (base_sha,)
    title = call.field("commit_title") or title
    detail = call.field("commit_message") or (pr.title if method == "merge" else "")
    message = f"{title}\n\n{detail}".rstrip()
    me = bot_signature()
    sha = call.store.put_commit(Commit(tree, parents, message, me, me))
    repo.refs[f"heads/{pr.base}"] = sha
    moment = now()
    repo.pushed_at = moment
    pr.state, pr.merged, pr.merged_at, pr.closed_at = "closed", True, moment, moment
    pr.merge_commit_sha, pr.head_sha, pr.updated_at = sha, head_sha, moment
    return reply({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


# -- issues: comments and labels -----------------------------------------------------------


def the_issue(call: Call, repo: Repository) -> PullRequest:
    # Pull requests are the only issues the sandbox has; they share one numbering.
    pr = repo.pulls.get(call.number("issue_number"))
    if pr is None:
        fail(404, "Not Found")
    return pr


def list_comments(call: Call) -> Response:
    repo = call.repo()
    pr = the_issue(call, repo)
    comments = repo.comments.get(pr.number, [])
    since = call.query("since")
    if since:
        cutoff = parse_time(since)
        if cutoff is None:
            validation("IssueComment", field="since", code="invalid")
        comments = [c for c in comments if c.updated_at >= cutoff]
    page, headers = paginate(call, comments)
    body = [shapes.issue_comment(call.site, repo, pr.number, c) for c in page]
    return reply(body, headers=headers)


def create_comment(call: Call) -> Response:
    repo = call.writable_repo()
    pr = the_issue(call, repo)
    text = call.field("body")
    if not isinstance(text, str) or not text:
        validation("IssueComment", field="body", code="missing_field")
    moment = now()
    comment = Comment(call.world.new_id(), text, BOT_LOGIN, moment, moment)
    repo.comments.setdefault(pr.number, []).append(comment)
    pr.updated_at = moment
    body = shapes.issue_comment(call.site, repo, pr.number, comment)
    return reply(body, 201, {"Location": body["url"]})


def label_names(call: Call) -> list[str]:
    given = call.body.get("labels") if isinstance(call.body, dict) else call.body
    names: list[str] = []
    for item in given if isinstance(given, list) else [None]:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name:
            validation("Label", field="labels", code="invalid")
        names.append(name)
    return names


def labels_reply(call: Call, repo: Repository, number: int) -> Response:
    page, headers = paginate(call, repo.labels.get(number, []))
    return reply([shapes.label(call.site, repo, name) for name in page], headers=headers)


def list_labels(call: Call) -> Response:
    repo = call.repo()
    return labels_reply(call, repo, the_issue(call, repo).number)


def change_labels(call: Call) -> Response:
    repo = call.writable_repo()
    pr = the_issue(call, repo)
    names = label_names(call)
    kept = [] if call.request.method == "PUT" else repo.labels.get(pr.number, [])
    repo.labels[pr.number] = list(dict.fromkeys([*kept, *names]))
    pr.updated_at = now()
    return labels_reply(call, repo, pr.number)


def clear_labels(call: Call) -> Response:
    repo = call.writable_repo()
    pr = the_issue(call, repo)
    repo.labels.pop(pr.number, None)
    pr.updated_at = now()
    return Response(status_code=204)


# -- rate limit and the GitHub App ---------------------------------------------------------


def get_rate_limit(call: Call) -> Response:
    reset = (int(time.time()) // 3600 + 1) * 3600
    return reply(shapes.rate_limit(dict(call.world.rate_used), reset))


def list_installations(call: Call) -> Response:
    app = verify_app(call)
    found = installations(call.world, app)
    page, headers = paginate(call, sorted(found.items()))
    body = [shapes.installation(call.site, app, i, org, INSTALLED_AT) for i, org in page]
    return reply(body, headers=headers)


def within_app(permission: str, level: Any) -> bool:
    granted = shapes.APP_PERMISSIONS.get(permission)
    return level in ("read", "write") and granted in (level, "write")


def create_access_token(call: Call) -> Response:
    app = verify_app(call)
    org = installations(call.world, app).get(call.number("installation_id"))
    if org is None:
        fail(404, "Not Found")
    asked = call.field("permissions") or {}
    if not isinstance(asked, dict) or not all(within_app(k, v) for k, v in asked.items()):
        fail(422, "The permissions requested are not granted to this installation.")
    names = call.field("repositories")
    repos = call.world.orgs[org]
    if names is not None and not (isinstance(names, list) and all(n in repos for n in names)):
        fail(422, "There is at least one repository that does not exist or is not accessible.")
    token = "ghs_" + secrets.token_hex(18)
    grant = Grant(org, names, now() + TOKEN_LIFETIME)
    call.state.grants[token] = grant
    call.world.github_tokens.add(token)
    body: JSON = {
        "token": token,
        "expires_at": shapes.iso(grant.expires),
        "permissions": asked or dict(shapes.APP_PERMISSIONS),
        "repository_selection": "all" if names is None else "selected",
    }
    if names is not None:
        body["repositories"] = [repo_body(call, repos[n]) for n in names]
    return reply(body, 201)


def get_org_installation(call: Call) -> Response:
    app = verify_app(call)
    owner = call.arg("org").lower()
    for installation_id, org in installations(call.world, app).items():
        if org.lower() == owner:
            return reply(shapes.installation(call.site, app, installation_id, org, INSTALLED_AT))
    fail(404, "Not Found")


def installation_repositories(call: Call) -> Response:
    check_token(call)
    grant = call.state.grants.get(github_token(call.request) or "")
    if grant is None:
        fail(
            403,
            "You must authenticate with an installation access token in order to list"
            " repositories for an installation.",
        )
    repos = call.world.orgs.get(grant.org, {})
    names = grant.repositories if grant.repositories is not None else sorted(repos)
    page, headers = paginate(call, [repos[n] for n in names])
    body = {
        "total_count": len(names),
        "repository_selection": "all" if grant.repositories is None else "selected",
        "repositories": [repo_body(call, r) for r in page],
    }
    return reply(body, headers=headers)


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
]
# These take a GitHub App JWT or need an installation token, and check it themselves.
SELF_AUTHENTICATING = {
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
