"""The web pages behind the ``html_url`` links the sandbox's API hands out.

GitHub's answers carry ``html_url`` values that a person follows from pipfleet's
dashboard; the sandbox serves a plain page for a repository and for a pull request
with its diff, so those links work while it runs. Everything a page shows from a
repository (names, paths, file texts, titles, bodies, comments, diffs) is escaped.
It also stands in for the page that takes a GitHub App manifest (the manifest flow's
browser half), answering as if its "Create GitHub App" button had been pressed.
"""

from __future__ import annotations

import json
import secrets
from html import escape
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pipfleet.engine.rewrite import unified_diff
from pipfleet.sandbox.app import HTML_PAGES
from pipfleet.sandbox.world import ManifestRequest, PullRequest, Repository, World

# Nothing on these pages runs or loads: a hostile file text stays text even if escaping slipped.
HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    "x-content-type-options": "nosniff",
}
STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "pre{background:#f6f8fa;padding:.75rem;overflow-x:auto}"
    ".add{color:#116329}.del{color:#82071e}.hunk{color:#6e7781}"
)
PIPFILE_NAMES = ("Pipfile",)  # shown in full on the repository page; locks are too long


def e(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, body: str, status: int = 200) -> Response:
    document = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
    return HTMLResponse(document, status_code=status, headers=HEADERS)


def pull_state(pull: PullRequest) -> str:
    return "merged" if pull.merged else pull.state


def text_of(world: World, sha: str | None) -> str | None:
    """A blob's text, or None for a missing or binary one (shown as "binary", like GitHub)."""
    blob = world.store.blob(sha or "")
    try:
        return None if blob is None else blob.data.decode()
    except UnicodeDecodeError:
        return None


def diff_html(diff: str) -> str:
    """A unified diff with its added, removed and hunk lines marked, every line escaped."""
    lines = []
    for line in diff.splitlines():
        kind = (
            "hunk"
            if line.startswith("@@")
            else "add"
            if line.startswith("+") and not line.startswith("+++")
            else "del"
            if line.startswith("-") and not line.startswith("---")
            else ""
        )
        lines.append(f'<span class="{kind}">{e(line)}</span>' if kind else e(line))
    return "<pre>" + "\n".join(lines) + "</pre>"


def pull_diff(world: World, repo: Repository, pull: PullRequest) -> str:
    """The pull request's files changed, measured from where its head left its base."""
    store = world.store
    head = world.pull_head(repo, pull)
    merge = store.commit(pull.merge_commit_sha or "")
    # A merged pull request is measured against the base as it was before the merge.
    before = merge.parents[0] if pull.merged and merge and merge.parents else repo.branch(pull.base)
    if not head or not before:
        return "<p>Nothing to compare: a branch of this pull request is gone.</p>"
    old = store.files(store.tree_of(store.merge_base(before, head)))
    new = store.files(store.tree_of(head))
    parts = []
    for path in sorted(old.keys() | new.keys()):
        was, now = old.get(path), new.get(path)
        if was == now:
            continue
        old_text = text_of(world, was.sha) if was else ""
        new_text = text_of(world, now.sha) if now else ""
        if old_text is None or new_text is None:
            shown = "<p>Binary file.</p>"
        else:
            shown = diff_html(unified_diff(old_text, new_text, path))
        parts.append(f"<h3>{e(path)}</h3>{shown}")
    return "".join(parts) or "<p>No files changed.</p>"


def home(repo: Repository) -> str:
    """The repository page's path: the ``html_url`` that github_shapes.Site hands out."""
    return f"{HTML_PAGES}/{quote(repo.owner)}/{quote(repo.name)}"


def repository_page(world: World, repo: Repository) -> Response:
    facts = [f"default branch <code>{e(repo.default_branch)}</code>", e(repo.visibility)]
    facts += [flag for flag, on in (("archived", repo.archived), ("fork", repo.fork)) if on]
    if repo.topics:
        facts.append("topics: " + ", ".join(f"<code>{e(t)}</code>" for t in repo.topics))
    pulls = "".join(
        f'<li><a href="{e(home(repo))}/pull/{n}">#{n} {e(pull.title)}</a> '
        f"({e(pull_state(pull))}, {e(pull.head)} into {e(pull.base)})</li>"
        for n, pull in sorted(repo.pulls.items())
    )
    files = world.store.files(world.store.tree_of(repo.head))
    listed = "".join(f"<li><code>{e(path)}</code></li>" for path in sorted(files))
    pipfiles = "".join(
        f"<h3>{e(path)}</h3><pre>{e(text)}</pre>"
        for path, entry in sorted(files.items())
        if path.rsplit("/", 1)[-1] in PIPFILE_NAMES
        and (text := text_of(world, entry.sha)) is not None
    )
    body = (
        f"<h1>{e(repo.full_name)}</h1><p>{' · '.join(facts)}</p>"
        f"<h2>Pull requests</h2>{f'<ul>{pulls}</ul>' if pulls else '<p>None.</p>'}"
        f"<h2>Files on {e(repo.default_branch)}</h2>"
        f"{f'<ul>{listed}</ul>' if listed else '<p>An empty repository.</p>'}{pipfiles}"
    )
    return page(repo.full_name, body)


def pull_page(world: World, repo: Repository, pull: PullRequest) -> Response:
    comments = "".join(
        f"<h3>{e(comment.user)}, {comment.created_at:%Y-%m-%d %H:%M} UTC</h3>"
        f"<pre>{e(comment.body)}</pre>"
        for comment in repo.comments.get(pull.number, [])
    )
    body = (
        f'<p><a href="{e(home(repo))}">{e(repo.full_name)}</a></p>'
        f"<h1>{e(pull.title)} #{pull.number}</h1>"
        f"<p><strong>{e(pull_state(pull))}</strong>: {e(pull.user)} wants to merge "
        f"<code>{e(pull.head)}</code> into <code>{e(pull.base)}</code></p>"
        f"{f'<pre>{e(pull.body)}</pre>' if pull.body else ''}"
        f"<h2>Files changed</h2>{pull_diff(world, repo, pull)}"
        f"{f'<h2>Comments</h2>{comments}' if comments else ''}"
    )
    return page(f"{pull.title} · {repo.full_name}#{pull.number}", body)


def new_app(world: World, org: str, form: dict[str, list[str]], state: str | None) -> Response:
    """github.com's "create a GitHub App from a manifest" page, with its button pressed:
    it keeps the manifest under a new code and sends the browser to ``redirect_url``."""
    if org not in world.orgs:
        return page("Not found", "<h1>No such organization</h1>", 404)
    try:
        manifest = json.loads(form.get("manifest", [""])[0])
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or not all(
        isinstance(manifest.get(key), str) for key in ("name", "url", "redirect_url")
    ):
        body = "<h1>Invalid manifest</h1><p>It needs a name, a url and a redirect_url.</p>"
        return page("Invalid manifest", body, 422)
    hook = manifest.get("hook_attributes")
    if hook is not None and not (isinstance(hook, dict) and isinstance(hook.get("url"), str)):
        # GitHub's words: the webhook block needs its URL even when inactive.
        body = '<h1>Invalid GitHub App configuration</h1><p>Error "url" wasn\'t supplied.</p>'
        return page("Invalid GitHub App configuration", body, 422)
    code = secrets.token_hex(10)
    world.manifest_codes[code] = ManifestRequest(org, manifest)
    redirect = manifest["redirect_url"]
    query = urlencode({"code": code} | ({"state": state} if state is not None else {}))
    joiner = "&" if urlsplit(redirect).query else "?"
    return RedirectResponse(f"{redirect}{joiner}{query}", status_code=302)


def routes(world: World) -> list[BaseRoute]:
    async def repository(request: Request) -> Response:
        with world.lock:
            repo = world.repository(request.path_params["owner"], request.path_params["repo"])
            if repo is None:
                return page("Not found", "<h1>No such repository</h1>", 404)
            return repository_page(world, repo)

    async def pull(request: Request) -> Response:
        with world.lock:
            repo = world.repository(request.path_params["owner"], request.path_params["repo"])
            found = repo.pulls.get(request.path_params["number"]) if repo else None
            if repo is None or found is None:
                return page("Not found", "<h1>No such pull request</h1>", 404)
            return pull_page(world, repo, found)

    async def create_app(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        with world.lock:
            return new_app(
                world, request.path_params["org"], form, request.query_params.get("state")
            )

    return [
        Route(HTML_PAGES + "/organizations/{org}/settings/apps/new", create_app, methods=["POST"]),
        Route(HTML_PAGES + "/{owner}/{repo}", repository, methods=["GET"]),
        Route(HTML_PAGES + "/{owner}/{repo}/pull/{number:int}", pull, methods=["GET"]),
    ]
