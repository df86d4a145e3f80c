"""Where pull requests are opened, updated and closed: GitHub writes through PyGithub.

A fix is one commit built with the git data API on the default branch's head:
one tree request (file contents inline, no blob requests), one commit, one ref,
one pull request and, when labels are configured, one labels request. Requests
go through PyGithub's requester (its authentication, retries and pacing between
writes) straight to the REST paths, so no request is spent fetching objects
only to learn their URLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github import Github, GithubException

from pipfleet.engine.prbody import fingerprint_in
from pipfleet.errors import GitHubError, IncompleteAnswer, NotFound
from pipfleet.github.limits import Patience


@dataclass(frozen=True)
class PullState:
    number: int
    state: str  # "open" or "closed"
    merged: bool
    head_branch: str
    html_url: str
    body: str


def _state(data: Any) -> PullState:
    if not isinstance(data, dict) or not isinstance(data.get("number"), int):
        raise IncompleteAnswer("GitHub's pull request answer lacks its number")
    if not isinstance(data.get("head"), dict) or "state" not in data:
        raise IncompleteAnswer(f"GitHub's answer for pull request #{data['number']} is incomplete")
    return PullState(
        number=int(data["number"]),
        state=str(data["state"]),
        merged=bool(data.get("merged") or data.get("merged_at")),
        head_branch=str(data["head"]["ref"]),
        html_url=str(data.get("html_url") or ""),
        body=str(data.get("body") or ""),
    )


def _sha(data: Any, what: str) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("sha"), str) or not data["sha"]:
        raise IncompleteAnswer(f"GitHub's answer for {what} lacks its sha")
    return str(data["sha"])


def _ref(data: Any, branch: str) -> None:
    if not isinstance(data, dict) or data.get("ref") != f"refs/heads/{branch}":
        raise IncompleteAnswer(f"GitHub's answer for branch {branch} is cut or names another ref")


def already_exists(exc: GithubException) -> bool:
    """Whether a 422 says the ref or pull request exists (a run that died halfway made it)."""
    if exc.status != 422 or not isinstance(exc.data, dict):
        return False
    messages = [str(exc.data.get("message", ""))]
    messages += [
        str(error.get("message", ""))
        for error in exc.data.get("errors", [])
        if isinstance(error, dict)
    ]
    return any(
        "already exists" in message or "Reference already exists" in message for message in messages
    )


class PullRequests:
    """The fix job's GitHub requests for one organisation, with rate-limit handling."""

    def __init__(
        self,
        github: Github,
        org: str,
        *,
        patience: Patience | None = None,
    ):
        self._requester = github.requester
        self._org = org
        self._patience = patience or Patience()
        self.writes = 0
        self.reads = 0

    def _url(self, repo: str, path: str) -> str:
        return f"/repos/{quote(self._org)}/{quote(repo)}{path}"

    def _request(
        self,
        verb: str,
        url: str,
        doing: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        *,
        exists_ok: bool = False,
    ) -> Any:
        """One request, rate limits handled by Patience.

        With ``exists_ok``, a 422 saying the object exists already answers None.
        """

        def count() -> None:
            if verb == "GET":
                self.reads += 1
            else:
                self.writes += 1

        def send() -> Any:
            return self._requester.requestJsonAndCheck(verb, url, parameters=params, input=body)[1]

        try:
            return self._patience.call(doing, send, count)
        except GitHubError as error:
            cause = error.__cause__
            if exists_ok and isinstance(cause, GithubException) and already_exists(cause):
                return None
            raise

    def find_open(self, repo: str, branch: str, base: str) -> PullState | None:
        pulls = self._request(
            "GET",
            self._url(repo, "/pulls"),
            f"listing pull requests of {repo}",
            params={"state": "open", "head": f"{self._org}:{branch}", "base": base},
        )
        if not isinstance(pulls, list):
            raise IncompleteAnswer(f"GitHub's list of {repo}'s open pull requests is not a list")
        return _state(pulls[0]) if pulls else None

    def commit_files(
        self, repo: str, base_sha: str, files: Sequence[tuple[str, str]], message: str
    ) -> str:
        """One commit on ``base_sha`` changing ``files`` (path, new text); its sha."""
        commit = self._request(
            "GET", self._url(repo, f"/git/commits/{base_sha}"), f"reading {repo}'s head"
        )
        if not isinstance(commit, dict) or not isinstance(commit.get("tree"), dict):
            raise IncompleteAnswer(f"GitHub's answer for {repo}'s head commit lacks its tree")
        tree = self._request(
            "POST",
            self._url(repo, "/git/trees"),
            f"writing the tree for {repo}",
            {
                "base_tree": _sha(commit["tree"], f"{repo}'s head tree"),
                "tree": [
                    {"path": path, "mode": "100644", "type": "blob", "content": text}
                    for path, text in files
                ],
            },
        )
        created = self._request(
            "POST",
            self._url(repo, "/git/commits"),
            f"committing to {repo}",
            {
                "message": message,
                "tree": _sha(tree, f"the tree written for {repo}"),
                "parents": [base_sha],
            },
        )
        return _sha(created, f"the commit written to {repo}")

    def point_branch(self, repo: str, branch: str, sha: str, *, exists: bool = False) -> None:
        """Point the branch at ``sha``: create it, or move it there (force) if it exists.

        ``exists`` says which to try first, so the usual case costs one request.
        """
        create = (
            "POST",
            self._url(repo, "/git/refs"),
            f"creating branch {branch} in {repo}",
            {"ref": f"refs/heads/{branch}", "sha": sha},
        )
        move = (
            "PATCH",
            self._url(repo, f"/git/refs/heads/{quote(branch)}"),
            f"updating branch {branch} in {repo}",
            {"sha": sha, "force": True},
        )
        if exists:
            try:
                _ref(self._request(*move), branch)
                return
            except GitHubError:  # deleted meanwhile (by a maintainer): create it again
                _ref(self._request(*create), branch)
                return
        created = self._request(*create, exists_ok=True)
        if created is None:
            _ref(self._request(*move), branch)
        else:
            _ref(created, branch)

    def open(self, repo: str, branch: str, base: str, title: str, body: str) -> PullState:
        """Open the pull request, or find the one a run that died halfway opened."""
        data = self._request(
            "POST",
            self._url(repo, "/pulls"),
            f"opening a pull request in {repo}",
            {"title": title, "head": branch, "base": base, "body": body},
            exists_ok=True,
        )
        if data is not None:
            return _state(data)
        existing = self.find_open(repo, branch, base)
        if existing is None:
            raise GitHubError(
                f"GitHub says a pull request for {branch} exists in {repo}, yet none is open"
            )
        return existing

    def find_fix(self, repo: str, branch: str, fingerprint: str) -> PullState | None:
        """The newest pull request, in any state, from ``branch`` carrying this fix.

        A run that died after GitHub opened the pull request, or whose answer was lost,
        recorded no number; the fingerprint in the body finds it, even if closed since.
        """
        page = 1
        while True:
            pulls = self._request(
                "GET",
                self._url(repo, "/pulls"),
                f"looking for the pull request of {branch} in {repo}",
                params={
                    "state": "all",
                    "head": f"{self._org}:{branch}",
                    "per_page": 100,
                    "page": page,
                },
            )
            if not isinstance(pulls, list):
                raise IncompleteAnswer(f"GitHub's list of {repo}'s pull requests is not a list")
            found = [
                state
                for state in map(_state, pulls)
                if state.head_branch == branch and fingerprint_in(state.body) == fingerprint
            ]
            if found:
                return max(found, key=lambda state: state.number)
            if len(pulls) < 100:
                return None
            page += 1

    def update(self, repo: str, number: int, title: str, body: str) -> None:
        _state(
            self._request(
                "PATCH",
                self._url(repo, f"/pulls/{number}"),
                f"updating #{number} of {repo}",
                {"title": title, "body": body},
            )
        )

    def comment(self, repo: str, number: int, text: str) -> None:
        made = self._request(
            "POST",
            self._url(repo, f"/issues/{number}/comments"),
            f"commenting on #{number} of {repo}",
            {"body": text},
        )
        if not isinstance(made, dict) or not isinstance(made.get("id"), int):
            raise IncompleteAnswer(f"GitHub's answer to the comment on #{number} of {repo} is cut")

    def label(self, repo: str, number: int, labels: Sequence[str]) -> None:
        if labels:
            answer = self._request(
                "POST",
                self._url(repo, f"/issues/{number}/labels"),
                f"labelling #{number} of {repo}",
                {"labels": list(labels)},
            )
            if not isinstance(answer, list):
                raise IncompleteAnswer(f"GitHub's answer to labelling #{number} of {repo} is cut")

    def close(self, repo: str, number: int) -> None:
        closed = _state(
            self._request(
                "PATCH",
                self._url(repo, f"/pulls/{number}"),
                f"closing #{number} of {repo}",
                {"state": "closed"},
            )
        )
        if closed.state != "closed":
            raise GitHubError(f"GitHub left #{number} of {repo} {closed.state} when asked to close")

    def has_comment(self, repo: str, number: int, marker: str) -> bool:
        """Whether a comment on #number contains ``marker`` (every page is read)."""
        page = 1
        while True:
            comments = self._request(
                "GET",
                self._url(repo, f"/issues/{number}/comments"),
                f"reading the comments of #{number} of {repo}",
                params={"per_page": 100, "page": page},
            )
            if not isinstance(comments, list):
                raise IncompleteAnswer(f"GitHub's comments of #{number} of {repo} are not a list")
            if any(isinstance(c, dict) and marker in str(c.get("body") or "") for c in comments):
                return True
            if len(comments) < 100:
                return False
            page += 1

    def delete_branch(self, repo: str, branch: str) -> None:
        """Delete the branch; one that is gone already (deleted by a maintainer or on merge)
        counts as deleted, any other failure is raised for the caller to retry later."""
        try:
            self._request(
                "DELETE",
                self._url(repo, f"/git/refs/heads/{quote(branch)}"),
                f"deleting branch {branch} of {repo}",
            )
        except GitHubError as error:
            cause = error.__cause__
            gone = isinstance(error, NotFound) or (
                isinstance(cause, GithubException) and cause.status == 422
            )
            if not gone:
                raise
