"""Shared by the REST handlers: the request as a handler sees it, errors, pagination, tokens."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.app import github_error, github_token
from pipfleet.sandbox.gitstore import Commit, ObjectStore, now
from pipfleet.sandbox.world import Repository, World

JSON = shapes.JSON
INSTALLED_AT = datetime(2026, 1, 1, tzinfo=UTC)
EMPTY_REPO = "Git Repository is empty."
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
