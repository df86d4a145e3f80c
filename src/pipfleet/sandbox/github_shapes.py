"""JSON bodies in the shapes GitHub's REST API answers with.

Every builder takes a :class:`Site`, the sandbox's own absolute URLs as the
request reached it, so the ``url`` / ``*_url`` fields clients follow (PyGithub
completes lazy objects and pages through ``Link`` headers by them) point back
at this sandbox. Required properties of GitHub's OpenAPI schemas are always
present; counts GitHub keeps and the sandbox does not (stars, watchers) are 0.
"""

from __future__ import annotations

import base64
import difflib
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from pipfleet.sandbox.app import GITHUB, HTML_PAGES
from pipfleet.sandbox.gitstore import (
    SUBMODULE_MODE,
    SYMLINK_MODE,
    TREE_MODE,
    Commit,
    Signature,
    TreeEntry,
)
from pipfleet.sandbox.world import (
    BOT_LOGIN,
    CORE_LIMIT,
    GRAPHQL_LIMIT,
    Comment,
    GitHubApp,
    PullRequest,
    Repository,
    node_id,
)

JSON = dict[str, Any]
BOT_EMAIL = f"{BOT_LOGIN}@users.noreply.sandbox.invalid"
LARGE_FILE = 1024 * 1024  # the contents API stops inlining file bodies above 1 MB
UNSIGNED = {"verified": False, "reason": "unsigned", "signature": None, "payload": None}


@dataclass(frozen=True)
class Site:
    host: str  # "127.0.0.1:8123"
    api: str  # what PyGithub calls base_url
    html: str  # stands in for https://github.com

    @classmethod
    def of(cls, request: Request) -> Site:
        base = str(request.base_url).rstrip("/")
        return cls(request.url.netloc, base + GITHUB, base + HTML_PAGES)

    def repo_api(self, repo: Repository) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_html(self, repo: Repository) -> str:
        return f"{self.html}/{repo.full_name}"


def iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_or_none(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def opaque(text: str) -> str:
    """A node id for objects the world does not number (commits, refs, blobs)."""
    return base64.b64encode(f"0:{text}".encode()).decode()


def account_id(login: str) -> int:
    # Accounts are not part of the world; a stable id per login keeps node ids stable.
    return zlib.crc32(login.lower().encode()) % 100_000_000 + 1


def base64_lines(data: bytes) -> str:
    """Base64 the way the contents and blobs APIs send it: 60-character lines."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


def user(site: Site, login: str, kind: str = "User") -> JSON:
    uid = account_id(login)
    api = f"{site.api}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id(kind, uid),
        "avatar_url": f"{site.html}/avatars/u/{uid}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{site.html}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def org(site: Site, login: str) -> JSON:
    return user(site, login, "Organization")


def organization(site: Site, login: str, repos: list[Repository], created: datetime) -> JSON:
    """An organization-full, as ``GET /orgs/{org}`` answers (PyGithub fetches it eagerly)."""
    api = f"{site.api}/orgs/{login}"
    public = sum(1 for repo in repos if repo.visibility == "public")
    return {
        **{key: org(site, login)[key] for key in ("login", "id", "node_id", "avatar_url")},
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "description": None,
        "name": login,
        "company": None,
        "blog": None,
        "location": None,
        "email": None,
        "twitter_username": None,
        "is_verified": False,
        "has_organization_projects": True,
        "has_repository_projects": True,
        "public_repos": public,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": f"{site.html}/{login}",
        "type": "Organization",
        "total_private_repos": len(repos) - public,
        "owned_private_repos": len(repos) - public,
        "created_at": iso(created),
        "updated_at": iso(created),
        "archived_at": None,
    }


def repository(site: Site, repo: Repository, size_kb: int, open_issues: int) -> JSON:
    """A full-repository, which is also a valid repository and minimal-repository."""
    api, html, full = site.repo_api(repo), site.repo_html(repo), repo.full_name
    templates = {
        "archive_url": "/{archive_format}{/ref}",
        "assignees_url": "/assignees{/user}",
        "blobs_url": "/git/blobs{/sha}",
        "branches_url": "/branches{/branch}",
        "collaborators_url": "/collaborators{/collaborator}",
        "comments_url": "/comments{/number}",
        "commits_url": "/commits{/sha}",
        "compare_url": "/compare/{base}...{head}",
        "contents_url": "/contents/{+path}",
        "contributors_url": "/contributors",
        "deployments_url": "/deployments",
        "downloads_url": "/downloads",
        "events_url": "/events",
        "forks_url": "/forks",
        "git_commits_url": "/git/commits{/sha}",
        "git_refs_url": "/git/refs{/sha}",
        "git_tags_url": "/git/tags{/sha}",
        "hooks_url": "/hooks",
        "issue_comment_url": "/issues/comments{/number}",
        "issue_events_url": "/issues/events{/number}",
        "issues_url": "/issues{/number}",
        "keys_url": "/keys{/key_id}",
        "labels_url": "/labels{/name}",
        "languages_url": "/languages",
        "merges_url": "/merges",
        "milestones_url": "/milestones{/number}",
        "notifications_url": "/notifications{?since,all,participating}",
        "pulls_url": "/pulls{/number}",
        "releases_url": "/releases{/id}",
        "stargazers_url": "/stargazers",
        "statuses_url": "/statuses/{sha}",
        "subscribers_url": "/subscribers",
        "subscription_url": "/subscription",
        "tags_url": "/tags",
        "teams_url": "/teams",
        "trees_url": "/git/trees{/sha}",
    }
    pushed = repo.pushed_at or repo.created_at
    return {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": full,
        "owner": org(site, repo.owner),
        "organization": org(site, repo.owner),
        "private": repo.visibility != "public",
        "visibility": repo.visibility,
        "html_url": html,
        "description": None,
        "fork": repo.fork,
        "url": api,
        **{key: api + suffix for key, suffix in templates.items()},
        "git_url": f"git://{site.host}/{full}.git",
        "ssh_url": f"git@{site.host}:{full}.git",
        "clone_url": f"{html}.git",
        "svn_url": html,
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "license": None,
        "size": size_kb,
        "default_branch": repo.default_branch,
        "topics": list(repo.topics),
        "archived": repo.archived,
        "disabled": repo.disabled,
        "is_template": False,
        "has_issues": True,
        "has_projects": True,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "subscribers_count": 0,
        "network_count": 0,
        "open_issues": open_issues,
        "open_issues_count": open_issues,
        "pushed_at": iso(pushed),
        "created_at": iso(repo.created_at),
        "updated_at": iso(max(pushed, repo.created_at)),
        "permissions": {
            "admin": False,
            "maintain": False,
            "push": True,
            "triage": True,
            "pull": True,
        },
        "allow_merge_commit": True,
        "allow_squash_merge": True,
        "allow_rebase_merge": False,
        "allow_auto_merge": False,
        "allow_update_branch": False,
        "delete_branch_on_merge": False,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "custom_properties": {},
    }


def content_type(entry: TreeEntry) -> str:
    return {TREE_MODE: "dir", SYMLINK_MODE: "symlink", SUBMODULE_MODE: "submodule"}.get(
        entry.mode, "file"
    )


def content_item(
    site: Site, repo: Repository, ref: str, path: str, entry: TreeEntry, size: int
) -> JSON:
    """One entry as the contents API lists it (a file-commit's ``content`` too)."""
    kind = content_type(entry)
    api, html = site.repo_api(repo), site.repo_html(repo)
    url = f"{api}/contents/{quote(path)}?ref={quote(ref, safe='')}"
    git_url = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
    html_url = f"{html}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
    download = None if kind == "dir" else f"{html}/raw/{ref}/{path}"
    return {
        "type": kind,
        "size": 0 if kind == "dir" else size,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": entry.sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": download,
        "_links": {"self": url, "git": git_url, "html": html_url},
    }


def content_file(
    site: Site, repo: Repository, ref: str, path: str, entry: TreeEntry, data: bytes
) -> JSON:
    body = content_item(site, repo, ref, path, entry, len(data))
    if body["type"] == "symlink":
        body["target"] = data.decode(errors="replace")
    else:
        large = len(data) > LARGE_FILE
        body["encoding"] = "none" if large else "base64"
        body["content"] = "" if large else base64_lines(data)
    return body


def signature(sig: Signature) -> JSON:
    return {"name": sig.name, "email": sig.email, "date": iso(sig.date)}


def git_commit(site: Site, repo: Repository, sha: str, commit: Commit) -> JSON:
    api, html = site.repo_api(repo), site.repo_html(repo)
    return {
        "sha": sha,
        "node_id": opaque(f"Commit{repo.id}:{sha}"),
        "url": f"{api}/git/commits/{sha}",
        "html_url": f"{html}/commit/{sha}",
        "author": signature(commit.author),
        "committer": signature(commit.committer),
        "message": commit.message,
        "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
        "parents": [
            {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{html}/commit/{p}"}
            for p in commit.parents
        ],
        "verification": {**UNSIGNED, "verified_at": None},
    }


def _account_of(site: Site, sig: Signature) -> JSON:
    # GitHub links a commit to the account owning its email; only the bot has one here.
    return user(site, BOT_LOGIN) if sig.email == BOT_EMAIL else {}


def commit(
    site: Site, repo: Repository, sha: str, commit: Commit, files: list[JSON] | None = None
) -> JSON:
    """A commit as ``GET /repos/{o}/{r}/commits/{ref}`` and branches show it."""
    api, html = site.repo_api(repo), site.repo_html(repo)
    git = git_commit(site, repo, sha, commit)
    body: JSON = {
        "sha": sha,
        "node_id": git["node_id"],
        "url": f"{api}/commits/{sha}",
        "html_url": git["html_url"],
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": git["url"],
            "author": git["author"],
            "committer": git["committer"],
            "message": commit.message,
            "comment_count": 0,
            "tree": git["tree"],
            "verification": git["verification"],
        },
        "author": _account_of(site, commit.author),
        "committer": _account_of(site, commit.committer),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"}
            for p in commit.parents
        ],
    }
    if files is not None:
        additions = sum(f["additions"] for f in files)
        deletions = sum(f["deletions"] for f in files)
        body["stats"] = {
            "additions": additions,
            "deletions": deletions,
            "total": additions + deletions,
        }
        body["files"] = files
    return body


def branch(site: Site, repo: Repository, name: str, sha: str, tip: Commit) -> JSON:
    """A branch-with-protection; the sandbox has no branch protection."""
    api = f"{site.repo_api(repo)}/branches/{name}"
    return {
        "name": name,
        "commit": commit(site, repo, sha, tip),
        "_links": {"self": api, "html": f"{site.repo_html(repo)}/tree/{name}"},
        "protected": False,
        "protection": {
            "enabled": False,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{api}/protection",
    }


def ref(site: Site, repo: Repository, name: str, sha: str) -> JSON:
    """A git-ref; ``name`` without its "refs/" prefix, as Repository.refs keys it."""
    api = site.repo_api(repo)
    return {
        "ref": f"refs/{name}",
        "node_id": opaque(f"Ref{repo.id}:refs/{name}"),
        "url": f"{api}/git/refs/{name}",
        "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
    }


def tree(site: Site, repo: Repository, sha: str, entries: list[tuple[str, TreeEntry, int]]) -> JSON:
    api = site.repo_api(repo)
    items = []
    for path, entry, size in entries:
        item: JSON = {"path": path, "mode": entry.mode, "type": entry.type, "sha": entry.sha}
        if entry.type == "blob":
            item["size"] = size
        if entry.type != "commit":
            item["url"] = f"{api}/git/{entry.type}s/{entry.sha}"
        items.append(item)
    return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": items, "truncated": False}


def blob(site: Site, repo: Repository, sha: str, data: bytes) -> JSON:
    return {
        "sha": sha,
        "node_id": opaque(f"Blob{repo.id}:{sha}"),
        "url": f"{site.repo_api(repo)}/git/blobs/{sha}",
        "size": len(data),
        "content": base64_lines(data),
        "encoding": "base64",
    }


def diff_entry(
    site: Site,
    repo: Repository,
    commit_sha: str,
    path: str,
    old: bytes | None,
    new: bytes | None,
    sha: str | None,
) -> JSON:
    status = "added" if old is None else "removed" if new is None else "modified"
    body: JSON = {"sha": sha, "filename": path, "status": status}
    try:
        before = (old or b"").decode().splitlines()
        after = (new or b"").decode().splitlines()
    except UnicodeDecodeError:  # binary files get no patch and count no lines, as on GitHub
        before = after = []
        patch = None
    else:
        lines = list(difflib.unified_diff(before, after, lineterm="", n=3))[2:]
        patch = "\n".join(lines)
    added = sum(1 for line in (patch or "").splitlines() if line.startswith("+"))
    removed = sum(1 for line in (patch or "").splitlines() if line.startswith("-"))
    html = site.repo_html(repo)
    body |= {
        "additions": added,
        "deletions": removed,
        "changes": added + removed,
        "blob_url": f"{html}/blob/{commit_sha}/{quote(path)}",
        "raw_url": f"{html}/raw/{commit_sha}/{quote(path)}",
        "contents_url": f"{site.repo_api(repo)}/contents/{quote(path)}?ref={commit_sha}",
    }
    if patch:
        body["patch"] = patch
    return body


def label(site: Site, repo: Repository, name: str) -> JSON:
    lid = account_id(f"{repo.full_name}:{name}")
    return {
        "id": lid,
        "node_id": node_id("Label", lid),
        "url": f"{site.repo_api(repo)}/labels/{quote(name, safe='')}",
        "name": name,
        "description": None,
        "color": "ededed",  # the colour GitHub gives a label created by adding it to an issue
        "default": False,
    }


def issue_comment(site: Site, repo: Repository, number: int, comment: Comment) -> JSON:
    api = site.repo_api(repo)
    return {
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "url": f"{api}/issues/comments/{comment.id}",
        "html_url": f"{site.repo_html(repo)}/pull/{number}#issuecomment-{comment.id}",
        "issue_url": f"{api}/issues/{number}",
        "body": comment.body,
        "user": user(site, comment.user),
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
        "author_association": "MEMBER",
        "performed_via_github_app": None,
    }


@dataclass(frozen=True)
class PullFacts:
    """What a full pull-request body reports beyond the stored PullRequest."""

    head_sha: str
    base_sha: str
    repo: JSON
    labels: list[str]
    comments: int
    draft: bool
    maintainer_can_modify: bool
    commits: int
    additions: int
    deletions: int
    changed_files: int
    mergeable: bool | None


def _branch_end(site: Site, repo: Repository, branch: str, sha: str, repo_body: JSON) -> JSON:
    return {
        "label": f"{repo.owner}:{branch}",
        "ref": branch,
        "sha": sha,
        "user": org(site, repo.owner),
        "repo": repo_body,
    }


def pull(site: Site, repo: Repository, pr: PullRequest, facts: PullFacts, full: bool) -> JSON:
    """A pull-request (``full``) or the pull-request-simple the list endpoint returns."""
    api, html, n = site.repo_api(repo), site.repo_html(repo), pr.number
    links = {
        "self": f"{api}/pulls/{n}",
        "html": f"{html}/pull/{n}",
        "issue": f"{api}/issues/{n}",
        "comments": f"{api}/issues/{n}/comments",
        "review_comments": f"{api}/pulls/{n}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{api}/pulls/{n}/commits",
        "statuses": f"{api}/statuses/{facts.head_sha}",
    }
    body: JSON = {
        "url": links["self"],
        "id": pr.id,
        "node_id": node_id("PullRequest", pr.id),
        "html_url": links["html"],
        "diff_url": f"{links['html']}.diff",
        "patch_url": f"{links['html']}.patch",
        "issue_url": links["issue"],
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": n,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "user": user(site, pr.user),
        "body": pr.body or None,
        "labels": [label(site, repo, name) for name in facts.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "closed_at": iso_or_none(pr.closed_at),
        "merged_at": iso_or_none(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch_end(site, repo, pr.head, facts.head_sha, facts.repo),
        "base": _branch_end(site, repo, pr.base, facts.base_sha, facts.repo),
        "_links": {rel: {"href": href} for rel, href in links.items()},
        "author_association": "MEMBER",
        "auto_merge": None,
        "draft": facts.draft,
    }
    if full:
        if pr.merged or pr.state == "closed":
            state = "unknown"
        elif facts.mergeable is False:
            state = "dirty"
        else:
            state = "draft" if facts.draft else "clean"
        body |= {
            "merged": pr.merged,
            "mergeable": facts.mergeable,
            "rebaseable": False,
            "mergeable_state": state,
            "merged_by": user(site, BOT_LOGIN) if pr.merged else None,
            "comments": facts.comments,
            "review_comments": 0,
            "maintainer_can_modify": facts.maintainer_can_modify,
            "commits": facts.commits,
            "additions": facts.additions,
            "deletions": facts.deletions,
            "changed_files": facts.changed_files,
        }
    return body


def rate_limit(used: dict[str, int], reset: int) -> JSON:
    def bucket(limit: int, resource: str) -> JSON:
        spent = used.get(resource, 0)
        return {"limit": limit, "used": spent, "remaining": max(limit - spent, 0), "reset": reset}

    resources = {
        "core": bucket(CORE_LIMIT, "core"),
        "graphql": bucket(GRAPHQL_LIMIT, "graphql"),
        "search": bucket(30, "search"),
        "code_search": bucket(10, "code_search"),
        "integration_manifest": bucket(5000, "integration_manifest"),
        "source_import": bucket(100, "source_import"),
        "actions_runner_registration": bucket(10000, "actions_runner_registration"),
        "scim": bucket(15000, "scim"),
        "dependency_snapshots": bucket(100, "dependency_snapshots"),
        "code_scanning_autofix": bucket(10, "code_scanning_autofix"),
    }
    return {"resources": resources, "rate": resources["core"]}


def app_owner(site: Site, login: str, created: datetime) -> JSON:
    """An org as an App's or installation's account."""
    # The schemas say simple-user *or* enterprise, and the list endpoint's allOf both,
    # so the account carries the enterprise-only required fields too.
    return org(site, login) | {
        "name": login,
        "slug": login,
        "created_at": iso(created),
        "updated_at": iso(created),
    }


def app_from_manifest(
    site: Site,
    app: GitHubApp,
    login: str,
    manifest: JSON,
    secrets: tuple[str, str],  # the client secret and the private key's PEM
    created: datetime,
) -> JSON:
    """What ``POST /app-manifests/{code}/conversions`` answers: the App, its secrets and key."""
    return {
        "id": app.app_id,
        "slug": app.slug,
        "node_id": opaque(f"Integration{app.app_id}"),
        "client_id": f"Iv1.{app.app_id:016x}",
        "owner": app_owner(site, login, created),
        "name": manifest["name"],
        "description": manifest.get("description"),
        "external_url": manifest["url"],
        "html_url": f"{site.html}/apps/{app.slug}",
        "created_at": iso(created),
        "updated_at": iso(created),
        "permissions": dict(app.permissions),
        "events": list(manifest.get("default_events") or []),
        "installations_count": 0,
        "client_secret": secrets[0],
        # GitHub makes a webhook secret only for a manifest that configures a webhook.
        "webhook_secret": None,
        "pem": secrets[1],
    }


def installation(
    site: Site, app: GitHubApp, installation_id: int, login: str, created: datetime
) -> JSON:
    account = app_owner(site, login, created)
    return {
        "id": installation_id,
        "client_id": f"Iv1.{app.app_id:016x}",
        "account": account,
        "repository_selection": "all",
        "access_tokens_url": f"{site.api}/app/installations/{installation_id}/access_tokens",
        "repositories_url": f"{site.api}/installation/repositories",
        "html_url": f"{site.html}/organizations/{login}/settings/installations/{installation_id}",
        "app_id": app.app_id,
        "app_slug": app.slug,
        "target_id": account["id"],
        "target_type": "Organization",
        "permissions": dict(app.permissions),
        "events": [],
        "created_at": iso(created),
        "updated_at": iso(created),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }
