"""The git data API (trees, blobs, commits), refs and branches."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.github_rest.common import Call, fail, invalid, reply, validation
from pipfleet.sandbox.github_rest.git_helpers import (
    blob_size,
    bot_signature,
    decode_base64,
    file_changes,
    signature,
)
from pipfleet.sandbox.gitstore import (
    EXECUTABLE_MODE,
    FILE_MODE,
    SUBMODULE_MODE,
    SYMLINK_MODE,
    TREE_MODE,
    Commit,
    TreeEntry,
    now,
)

MODES = {FILE_MODE, EXECUTABLE_MODE, SYMLINK_MODE, TREE_MODE, SUBMODULE_MODE}


# -- git data ------------------------------------------------------------------------------


def get_tree(call: Call) -> Response:
    repo = call.git_repo()
    name = call.arg("tree_sha")
    sha = name if call.store.tree(name) else call.store.tree_of(call.world.resolve(repo, name))
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
    parent_tree = call.store.tree_of(found.parents[0]) if found.parents else None
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
    if not call.field("force") and repo.refs[name] not in call.store.ancestors(sha):
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
