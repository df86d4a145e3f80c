"""Issue comments and labels, on pull requests, the sandbox's only issues."""

from __future__ import annotations

from starlette.responses import Response

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.github_rest.common import Call, fail, paginate, reply, validation
from pipfleet.sandbox.github_rest.git_helpers import parse_time
from pipfleet.sandbox.gitstore import now
from pipfleet.sandbox.world import BOT_LOGIN, Comment, PullRequest, Repository

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
