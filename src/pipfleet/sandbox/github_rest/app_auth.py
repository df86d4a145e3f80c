"""The rate limit and the GitHub App: JWTs, installations and their access tokens."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

import jwt
from starlette.responses import Response

from pipfleet.sandbox import github_shapes as shapes
from pipfleet.sandbox.app import github_token
from pipfleet.sandbox.github_rest.common import (
    INSTALLED_AT,
    JSON,
    Call,
    Grant,
    check_token,
    fail,
    paginate,
    reply,
)
from pipfleet.sandbox.github_rest.repositories import repo_body
from pipfleet.sandbox.gitstore import now
from pipfleet.sandbox.world import GitHubApp, World

TOKEN_LIFETIME = timedelta(hours=1)
JWT_MAX_LIFETIME = 600  # GitHub refuses app JWTs expiring more than ten minutes out
BAD_JWT = "A JSON web token could not be decoded"
EXPIRED_JWT = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time"
    " at which the assertion expires"
)


# -- rate limit and the GitHub App ---------------------------------------------------------


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


def get_rate_limit(call: Call) -> Response:
    reset = (int(time.time()) // 3600 + 1) * 3600
    return reply(shapes.rate_limit(dict(call.world.rate_used), reset))


def list_installations(call: Call) -> Response:
    app = verify_app(call)
    found = installations(call.world, app)
    page, headers = paginate(call, sorted(found.items()))
    body = [shapes.installation(call.site, app, i, org, INSTALLED_AT) for i, org in page]
    return reply(body, headers=headers)


def within_app(app: GitHubApp, permission: str, level: Any) -> bool:
    granted = app.permissions.get(permission)
    return level in ("read", "write") and granted in (level, "write")


def create_access_token(call: Call) -> Response:
    app = verify_app(call)
    org = installations(call.world, app).get(call.number("installation_id"))
    if org is None:
        fail(404, "Not Found")
    asked = call.field("permissions") or {}
    if not isinstance(asked, dict) or not all(within_app(app, k, v) for k, v in asked.items()):
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
        "permissions": asked or dict(app.permissions),
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
