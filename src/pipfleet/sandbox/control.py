"""Control endpoints under /_sandbox/: counters, fault injection, and the humans' actions.

Tests and benchmarks read request counts here, make the next requests fail, and
play the maintainers who merge or close a bot's pull request, push to a default
branch or delete a branch, or the org owner who grants the App fewer permissions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pipfleet.sandbox.app import CONTROL, GITHUB
from pipfleet.sandbox.world import Fault, MergeConflict, PullRequest, Repository, World

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def counters_document(world: World) -> dict[str, Any]:
    """Request counts by method and route, with GitHub reads and writes totalled."""
    with world.lock:
        rows = sorted(world.counters.items())
    github = [
        (method, route, count) for (method, route), count in rows if route.startswith(GITHUB + "/")
    ]

    def is_read(method: str, route: str) -> bool:
        # A GraphQL query is POSTed but reads; pipfleet sends no mutation.
        return method in _READS or route.endswith("/graphql")

    return {
        "requests": [{"method": m, "route": r, "count": c} for (m, r), c in rows],
        "total": sum(count for _, count in rows),
        "github": {
            "total": sum(count for _, _, count in github),
            "reads": sum(count for method, route, count in github if is_read(method, route)),
            "writes": sum(count for method, route, count in github if not is_read(method, route)),
            "graphql": sum(count for _, route, count in github if route.endswith("/graphql")),
        },
    }


def routes(world: World) -> list[BaseRoute]:
    def repository(request: Request) -> Repository | None:
        return world.repository(request.path_params["owner"], request.path_params["repo"])

    def pull(request: Request) -> tuple[Repository, PullRequest] | None:
        """The repository and pull request a path names, or None when either is missing."""
        repo = repository(request)
        found = repo.pulls.get(int(request.path_params["number"])) if repo else None
        return (repo, found) if repo is not None and found is not None else None

    async def counters(request: Request) -> Response:
        return JSONResponse(counters_document(world))

    async def reset_counters(request: Request) -> Response:
        with world.lock:
            world.counters.clear()
        return Response(status_code=204)

    async def list_faults(request: Request) -> Response:
        with world.lock:
            return JSONResponse([asdict(fault) for fault in world.faults if fault.count > 0])

    async def add_fault(request: Request) -> Response:
        try:
            data = await _body(request)
            allowed = {f.name for f in fields(Fault)}
            if "route" not in data or not set(data) <= allowed:
                raise ValueError(f"a fault has 'route' and any of {', '.join(sorted(allowed))}")
            fault = Fault(**data)
        except (ValueError, TypeError) as exc:
            return _error(422, str(exc))
        with world.lock:
            world.faults.append(fault)
        return JSONResponse(asdict(fault), status_code=201)

    async def clear_faults(request: Request) -> Response:
        with world.lock:
            world.faults.clear()
        return Response(status_code=204)

    async def merge(request: Request) -> Response:
        with world.lock:
            named = pull(request)
            if named is None:
                return _error(404, "no such pull request")
            try:
                sha = world.merge_pull(*named)
            except MergeConflict as exc:
                return _error(409, str(exc))
        return JSONResponse({"merged": True, "sha": sha})

    async def close(request: Request) -> Response:
        with world.lock:
            named = pull(request)
            if named is None:
                return _error(404, "no such pull request")
            world.close_pull(*named)
        return JSONResponse({"state": "closed", "merged": False})

    async def push(request: Request) -> Response:
        try:
            data = await _body(request)
        except ValueError as exc:
            return _error(422, str(exc))
        files = data.get("files")
        if not isinstance(files, dict) or not all(
            isinstance(v, str | None) for v in files.values()
        ):
            return _error(422, "files maps paths to text (or null to delete)")
        with world.lock:
            repo = repository(request)
            if repo is None:
                return _error(404, "no such repository")
            branch = data.get("branch") or repo.default_branch
            changes = {
                path: None if text is None else text.encode() for path, text in files.items()
            }
            message = data.get("message") or "Update files\n"
            sha = world.commit_changes(repo, branch, changes, message)
        return JSONResponse({"sha": sha, "branch": branch}, status_code=201)

    async def delete_branch(request: Request) -> Response:
        with world.lock:
            repo = repository(request)
            if (
                repo is None
                or repo.refs.pop(f"heads/{request.path_params['branch']}", None) is None
            ):
                return _error(404, "no such branch")
        return Response(status_code=204)

    async def app_permissions(request: Request) -> Response:
        """Set what the App's installations are granted (``{"contents": "read", ...}``)."""
        try:
            data = await _body(request)
        except ValueError as exc:
            return _error(422, str(exc))
        if not all(level in ("read", "write") for level in data.values()):
            return _error(422, "permissions map names to read or write")
        with world.lock:
            if world.github_app is None:
                return _error(404, "the sandbox has no GitHub App")
            world.github_app.permissions = {str(k): str(v) for k, v in data.items()}
        return JSONResponse(data)

    repo_path = CONTROL + "/repos/{owner}/{repo}"
    return [
        Route(CONTROL + "/counters", counters, methods=["GET"]),
        Route(CONTROL + "/counters/reset", reset_counters, methods=["POST"]),
        Route(CONTROL + "/faults", list_faults, methods=["GET"]),
        Route(CONTROL + "/faults", add_fault, methods=["POST"]),
        Route(CONTROL + "/faults", clear_faults, methods=["DELETE"]),
        Route(CONTROL + "/app/permissions", app_permissions, methods=["PUT"]),
        Route(repo_path + "/pulls/{number:int}/merge", merge, methods=["POST"]),
        Route(repo_path + "/pulls/{number:int}/close", close, methods=["POST"]),
        Route(repo_path + "/commits", push, methods=["POST"]),
        Route(repo_path + "/branches/{branch:path}", delete_branch, methods=["DELETE"]),
    ]
