"""Pull requests: listing, creating, updating and merging them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from starlette.responses import Response

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.github_rest.common import JSON, Call, fail, paginate, reply, validation
from pipfleet.sandbox.github_rest.git_helpers import (
    bot_signature,
    file_changes,
)
from pipfleet.sandbox.github_rest.repositories import repo_body
from pipfleet.sandbox.gitstore import Commit, now
from pipfleet.sandbox.world import BOT_LOGIN, PullRequest, Repository

# -- pull requests -------------------------------------------------------------------------


def pull_body(call: Call, repo: Repository, pr: PullRequest, full: bool = True) -> JSON:
    store = call.store
    call.world.pull_head(repo, pr)
    base_sha = repo.branch(pr.base) or ""
    # A merged pull request is measured against the base as it was before the merge.
    merged = store.commit(pr.merge_commit_sha or "")
    before = merged.parents[0] if pr.merged and merged and merged.parents else base_sha
    commits = additions = deletions = changed = 0
    mergeable: bool | None = None
    if full and before and pr.head_sha:
        common = store.merge_base(before, pr.head_sha)
        head_tree = store.tree_of(pr.head_sha) or ""
        commits = len(store.ancestors(pr.head_sha) - store.ancestors(before))
        files = file_changes(call, repo, store.tree_of(common), head_tree, pr.head_sha)
        additions = sum(f["additions"] for f in files)
        deletions = sum(f["deletions"] for f in files)
        changed = len(files)
        if pr.state == "open":
            base_tree = store.tree_of(before) or ""
            mergeable = store.three_way(store.tree_of(common), base_tree, head_tree) is not None
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
    if head_sha in call.store.ancestors(base_sha):
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
        call.world.pull_head(repo, pr)  # the head it closes with, or reopens to
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
    common = call.store.tree_of(call.store.merge_base(base_sha, head_sha))
    tree = call.store.three_way(
        common, call.store.tree_of(base_sha) or "", call.store.tree_of(head_sha) or ""
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
